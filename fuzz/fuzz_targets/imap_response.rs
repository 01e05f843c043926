#![no_main]
// Placeholder until the imap_response target is written.
libfuzzer_sys::fuzz_target!(|_data: &[u8]| {});
