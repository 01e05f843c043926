#![no_main]
//! From an `Arbitrary` value to bytes and back: every generated command and
//! response encodes (IMAP4rev1) to bytes that parse to the same value.
//! Needs imap-proto's `arbitrary` feature.

use imap_proto::{Command, Encode, Response, Version};
use libfuzzer_sys::arbitrary::{self, Arbitrary, Unstructured};
use libfuzzer_sys::fuzz_target;

#[derive(Debug)]
enum Input {
    Command(Command),
    Response(Response),
}

impl<'a> Arbitrary<'a> for Input {
    fn arbitrary(u: &mut Unstructured<'a>) -> arbitrary::Result<Self> {
        Ok(if u.arbitrary::<bool>()? {
            Input::Command(Command::arbitrary(u)?)
        } else {
            Input::Response(Response::arbitrary(u)?)
        })
    }
}

fuzz_target!(|input: Input| {
    match input {
        Input::Command(c) => {
            let bytes = c.to_bytes(Version::Rev1);
            assert_eq!(Command::parse(&bytes).as_ref(), Ok(&c));
        }
        Input::Response(r) => {
            let bytes = r.to_bytes(Version::Rev1);
            assert_eq!(Response::parse(&bytes).as_ref(), Ok(&r));
        }
    }
});
