#![no_main]
//! decode → encode → decode agreement: a command or response that parses
//! encodes to bytes that parse back to the very same value (the first
//! decode equals the second), in both revisions. Comparing the second
//! decode with a third would only show that the encoder is stable on its
//! own output, not that it kept what the client sent.
//!
//! One difference is by design. IMAP4rev1 carries a mailbox name with
//! non-ASCII characters only in modified UTF-7 (RFC 3501 §5.1.3), so the
//! Rev1 encoder converts a name it holds in UTF-8, while the parser keeps
//! names in their wire form: the second decode then holds the UTF-7
//! spelling of the name the first holds in UTF-8. That is allowed only
//! when the input carried 8-bit text (its Rev2 encoding is not ASCII) and
//! both decodes encode to the very same Rev1 octets.

use imap_proto::{Command, Encode, Response, Version};
use libfuzzer_sys::fuzz_target;

fn agree<T: Encode + PartialEq + std::fmt::Debug>(first: &T, second: &T, version: Version) {
    if first == second {
        return;
    }
    let utf7_only = version == Version::Rev1
        && !first.to_bytes(Version::Rev2).is_ascii()
        && first.to_bytes(version) == second.to_bytes(version);
    assert!(
        utf7_only,
        "decode(encode(decode(input))) differs from decode(input)\n first: {first:?}\nsecond: {second:?}"
    );
}

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
        agree(&first, &second, version);
    } else {
        let Ok(first) = Response::parse(input) else {
            return;
        };
        let bytes = first.to_bytes(version);
        if bytes.is_empty() {
            return;
        }
        let second = Response::parse(&bytes).expect("re-encoded response parses");
        agree(&first, &second, version);
    }
});
