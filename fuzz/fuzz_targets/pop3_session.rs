#![no_main]
// Placeholder until the pop3_session target is written.
libfuzzer_sys::fuzz_target!(|_data: &[u8]| {});
