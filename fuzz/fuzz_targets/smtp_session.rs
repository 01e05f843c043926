#![no_main]
// Placeholder until the smtp_session target is written.
libfuzzer_sys::fuzz_target!(|_data: &[u8]| {});
