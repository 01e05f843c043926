#![no_main]
// Placeholder until the imap_arbitrary target is written.
libfuzzer_sys::fuzz_target!(|_data: &[u8]| {});
