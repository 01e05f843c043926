#![no_main]
//! POP3 command and response parsers: never panic, and parse → encode →
//! parse agrees. Half of the inputs are mapped onto POP3 tokens so that
//! real commands appear often.

use bytes::BytesMut;
use libfuzzer_sys::fuzz_target;
use pop3_proto::{Command, Continuation, Response};

const TOKENS: &[&[u8]] = &[
    b"USER",
    b"PASS",
    b"APOP",
    b"AUTH",
    b"STAT",
    b"LIST",
    b"RETR",
    b"DELE",
    b"NOOP",
    b"RSET",
    b"QUIT",
    b"TOP",
    b"UIDL",
    b"CAPA",
    b"STLS",
    b"PLAIN",
    b"LOGIN",
    b" ",
    b"  ",
    b"0",
    b"1",
    b"42",
    b"18446744073709551616",
    b"=",
    b"*",
    b"dGVzdAB0ZXN0AHRlc3Q=",
    b"\r\n",
    b"\n",
    b"\r",
    b"+OK",
    b"-ERR",
    b"[IN-USE]",
    b"[SYS/TEMP]",
    b"[AUTH]",
    b"[",
    b"]",
    b"/",
    b".",
    b"\xc3\xa9",
    b"\xff",
    b"\0",
    b"+ ",
];

fn map_tokens(data: &[u8]) -> Vec<u8> {
    data.iter()
        .flat_map(|b| TOKENS[usize::from(*b) % TOKENS.len()].iter().copied())
        .collect()
}

fuzz_target!(|data: &[u8]| {
    let Some((mode, rest)) = data.split_first() else {
        return;
    };
    let line = if mode & 1 == 0 {
        rest.to_vec()
    } else {
        map_tokens(rest)
    };

    if let Ok(command) = Command::parse(&line) {
        let mut out = BytesMut::new();
        command.encode(&mut out);
        assert_eq!(Command::parse(&out).as_ref(), Ok(&command), "{line:?}");
    }

    if let Ok(response) = Response::parse(&line) {
        // One normalisation (CR/LF in text become spaces, extra spaces go),
        // then encoding is stable.
        let mut first = BytesMut::new();
        response.encode(&mut first);
        let again = Response::parse(&first).expect("encoded response parses");
        let mut second = BytesMut::new();
        again.encode(&mut second);
        assert_eq!(first, second, "{line:?}");
        assert!(first.ends_with(b"\r\n"));
        assert_eq!(first.iter().filter(|b| **b == b'\n').count(), 1);
    }

    if let Ok(continuation) = Continuation::parse(&line) {
        let mut out = BytesMut::new();
        continuation.encode(&mut out);
        assert_eq!(out.iter().filter(|b| **b == b'\n').count(), 1);
    }
});
