#![no_main]
//! decode → encode → decode agreement: a command or response that parses
//! encodes to bytes that parse back to the very same value (the first
//! decode equals the second), in both revisions. Comparing the second
//! decode with a third would only show that the encoder is stable on its
//! own output, not that it kept what the client sent.

use imap_proto::{Command, Encode, Response, Version};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&which, input)) = data.split_first() else {
        return;
    };
    let version = if which & 2 == 0 {
        Version::Rev1
    } else {
        Version::Rev2
    };
    if which & 1 == 0 {
        let Ok(first) = Command::parse(input) else {
            return;
        };
        let second = Command::parse(&first.to_bytes(version)).expect("re-encoded command parses");
        assert_eq!(first, second, "decode(encode(decode(input))) differs from decode(input)");
    } else {
        let Ok(first) = Response::parse(input) else {
            return;
        };
        let bytes = first.to_bytes(version);
        if bytes.is_empty() {
            return;
        }
        let second = Response::parse(&bytes).expect("re-encoded response parses");
        assert_eq!(first, second, "decode(encode(decode(input))) differs from decode(input)");
    }
});
