#![no_main]
//! `Response::parse` never panics, and whatever parses survives
//! encode → parse (IMAP4rev1 and IMAP4rev2 output). Half of the inputs are
//! mapped onto IMAP response tokens.

use imap_proto::{Encode, Response, Version};
use libfuzzer_sys::fuzz_target;

const TOKENS: &[&[u8]] = &[
    b"* ",
    b"+ ",
    b"a1 ",
    b"OK ",
    b"NO ",
    b"BAD ",
    b"BYE ",
    b"PREAUTH ",
    b"[",
    b"] ",
    b"ALERT",
    b"CAPABILITY ",
    b"IMAP4rev2",
    b"AUTH=PLAIN",
    b"PERMANENTFLAGS ",
    b"\\*",
    b"UIDNEXT ",
    b"UIDVALIDITY ",
    b"APPENDUID ",
    b"COPYUID ",
    b"HIGHESTMODSEQ ",
    b"MODIFIED ",
    b"FETCH ",
    b"EXISTS",
    b"EXPUNGE",
    b"RECENT",
    b"FLAGS ",
    b"LIST ",
    b"LSUB ",
    b"STATUS ",
    b"SEARCH",
    b"ESEARCH ",
    b"(TAG \"a1\") ",
    b"ENABLED",
    b"NAMESPACE ",
    b"ID ",
    b"VANISHED ",
    b"(EARLIER) ",
    b"BODY",
    b"BODYSTRUCTURE ",
    b"ENVELOPE ",
    b"INTERNALDATE ",
    b"RFC822.SIZE ",
    b"UID ",
    b"MODSEQ ",
    // RFC 8474, RFC 8514.
    b"MAILBOXID (",
    b"EMAILID (",
    b"THREADID NIL",
    b"SAVEDATE NIL",
    b"Mab-1_2)",
    b"BINARY",
    b"[HEADER]",
    b"<0>",
    b"(",
    b")",
    b"\"",
    b"\\",
    b"NIL",
    b"\"TEXT\"",
    b"\"PLAIN\"",
    b"\"MESSAGE\"",
    b"\"RFC822\"",
    b"\"7BIT\"",
    b"{3}\r\n",
    b"~{2}\r\n",
    b" ",
    b"\r\n",
    b"1",
    b"42",
    b"1:*",
    b",",
    b"\"/\"",
    b"\\HasNoChildren",
    b"\\Seen",
    b"\\Recent",
    b"\"17-Jul-1996 02:44:25 -0700\"",
    b"MESSAGES ",
    b"CHILDINFO ",
    // RFC 5267 / RFC 9394 ESEARCH data and the NOUPDATE code.
    b"ADDTO (",
    b"REMOVEFROM (",
    b"PARTIAL (",
    b"-1:-100 ",
    b"NOUPDATE ",
    b"BADEVENT (MessageNew) ",
    b"NOTIFICATIONOVERFLOW",
    b"(\"OLDNAME\" (\"a\"))",
    b"\xff",
    b"\0",
];

fn tokens(data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    for &b in data {
        match TOKENS.get(usize::from(b)) {
            Some(token) => out.extend_from_slice(token),
            None => out.push(b),
        }
    }
    out
}

fn check(input: &[u8]) {
    let Ok(resp) = Response::parse(input) else {
        return;
    };
    for version in [Version::Rev1, Version::Rev2] {
        let bytes = resp.to_bytes(version);
        if bytes.is_empty() {
            continue; // `* n RECENT` has no IMAP4rev2 form.
        }
        let again = Response::parse(&bytes).expect("encoder output must parse");
        assert_eq!(again.to_bytes(version), bytes);
    }
}

fuzz_target!(|data: &[u8]| {
    match data.split_first() {
        Some((0, rest)) => check(&tokens(rest)),
        _ => check(data),
    }
});
