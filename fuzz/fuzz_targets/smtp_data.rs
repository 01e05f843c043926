#![no_main]
// Placeholder until the smtp_data target is written.
libfuzzer_sys::fuzz_target!(|_data: &[u8]| {});
