//! Encode → parse round trips of generated values (proptest drives the
//! bytes the generators draw from, so failures shrink).

use super::*;
use crate::encode::{Encode, Version};
use crate::framer::{Frame, Framer, Role};
use crate::limits::Limits;
use crate::response::Response;
use proptest::prelude::*;

/// Frames `bytes` whole, accepting every literal; returns the complete frames.
fn frame_all(role: Role, bytes: &[u8]) -> Vec<Vec<u8>> {
    let limits = Limits {
        max_literal_size: 1 << 20,
        ..Limits::default()
    };
    let mut f = Framer::new(role, limits);
    f.set_literal_plus(true);
    let mut input = bytes;
    let mut out = Vec::new();
    loop {
        let (used, frame) = f.feed(input);
        input = &input[used..];
        match frame {
            Some(Frame::Complete(c)) => out.push(c),
            Some(Frame::LiteralAnnounced { .. }) => f.accept_literal().unwrap(),
            Some(other) => panic!("unexpected {other:?}"),
            None => break,
        }
    }
    assert!(input.is_empty());
    out
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn command_round_trip(seed in proptest::collection::vec(any::<u8>(), 0..400)) {
        let mut u = Unstructured::new(&seed);
        let Ok(cmd) = arbitrary_command(&mut u) else { return Ok(()) };
        let bytes = cmd.to_bytes(Version::Rev1);
        let parsed = crate::command::Command::parse(&bytes);
        prop_assert_eq!(parsed.as_ref(), Ok(&cmd), "{}", String::from_utf8_lossy(&bytes));
        // The framer delimits the encoding as exactly one command.
        prop_assert_eq!(frame_all(Role::Server, &bytes), vec![bytes.clone()]);
    }

    #[test]
    fn response_round_trip(seed in proptest::collection::vec(any::<u8>(), 0..600)) {
        let mut u = Unstructured::new(&seed);
        let Ok(resp) = arbitrary_response(&mut u) else { return Ok(()) };
        let bytes = resp.to_bytes(Version::Rev1);
        let parsed = Response::parse(&bytes);
        prop_assert_eq!(parsed.as_ref(), Ok(&resp), "{}", String::from_utf8_lossy(&bytes));
        prop_assert_eq!(frame_all(Role::Client, &bytes), vec![bytes.clone()]);
        // IMAP4rev2 output parses too and is stable.
        let rev2 = resp.to_bytes(Version::Rev2);
        if !rev2.is_empty() {
            let again = Response::parse(&rev2).map(|r| r.to_bytes(Version::Rev2));
            prop_assert_eq!(again, Ok(rev2));
        }
    }
}
