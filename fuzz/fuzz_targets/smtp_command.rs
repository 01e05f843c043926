#![no_main]
//! `Command::parse` and `Reply::parse` never panic, and whatever parses
//! survives encode → parse unchanged. Half of the inputs are mapped onto SMTP
//! tokens (as stalwartlabs' smtp-proto fuzz does) so real commands are common.

use bytes::BytesMut;
use libfuzzer_sys::fuzz_target;
use smtp_proto::{Command, Reply};

const TOKENS: &[&[u8]] = &[
    b"HELO ", b"EHLO ", b"LHLO ", b"MAIL FROM:", b"RCPT TO:", b"DATA", b"BDAT ", b"RSET", b"NOOP",
    b"QUIT", b"VRFY ", b"EXPN ", b"HELP", b"STARTTLS", b"AUTH ", b"PLAIN", b"LOGIN", b" LAST", b"<",
    b">", b"<>", b"@", b".", b"\"", b"\\", b"[", b"]", b"IPv6:", b"::1", b"192.0.2.1", b":", b",",
    b" ", b"\t", b"=", b"+2B", b"SIZE=", b"BODY=", b"8BITMIME", b"7BIT", b"BINARYMIME", b"SMTPUTF8",
    b"RET=", b"FULL", b"HDRS", b"ENVID=", b"AUTH=", b"NOTIFY=", b"NEVER", b"SUCCESS,FAILURE",
    b"DELAY", b"ORCPT=", b"rfc822;", b"user", b"example.org", b"postmaster", b"0", b"123",
    b"99999999999999999999", b"\r\n", b"\n", b"\r", "用户".as_bytes(), b"\xff", b"-", b"250", b"2.1.0",
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

fn check(data: &[u8]) {
    if let Ok(command) = Command::parse(data) {
        let mut wire = BytesMut::new();
        command.encode(&mut wire);
        let again = Command::parse(&wire).unwrap_or_else(|e| panic!("{command:?} encoded as {wire:?}: {e}"));
        assert_eq!(again, command, "{wire:?}");
    }
    if let Ok((reply, used)) = Reply::parse(data) {
        assert!(used <= data.len());
        // Encoding replaces CR/LF in text; compare only when none were there.
        if !reply.lines.iter().any(|l| l.contains(['\r', '\n'])) {
            let mut wire = BytesMut::new();
            reply.encode(&mut wire);
            let (again, again_used) = Reply::parse(&wire).expect("encoded reply parses");
            assert_eq!(again, reply);
            assert_eq!(again_used, wire.len());
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else { return };
    if mode & 1 == 0 { check(rest) } else { check(&tokens(rest)) }
});
