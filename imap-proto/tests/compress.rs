//! COMPRESS=DEFLATE (RFC 4978): the command's answers, the transport
//! switch event, and that the session reads nothing past the command (the
//! adapter must inflate those octets).

mod session_common;

use bytes::BytesMut;
use imap_proto::session::{Event, ServerConfig, SessionState, TransportKind};
use imap_proto::{Command, Encode, Response, Version};
use session_common::*;
use std::time::Instant;

fn logged_in() -> Harness {
    let mut h = Harness::with_store(ServerConfig::new("hi"), store_with_two(), Instant::now());
    h.take_output();
    h.run(b"a1 LOGIN alice secret\r\n", 1000);
    let out = h.take_output();
    assert!(out.contains(" COMPRESS=DEFLATE"), "{out}");
    h.log.clear();
    h
}

#[test]
fn not_offered_nor_accepted_before_login() {
    let mut h = Harness::new(ServerConfig::new("hi"));
    let greeting = h.take_output();
    assert!(!greeting.contains("COMPRESS"), "{greeting}");
    h.run(b"a1 COMPRESS DEFLATE\r\n", 1000);
    assert_eq!(h.take_output(), "a1 BAD Log in first\r\n");
    assert!(h.log.is_empty(), "{:?}", h.log);
}

#[test]
fn compress_switches_once_and_then_reports_compressionactive() {
    let mut h = logged_in();
    h.run(b"a2 COMPRESS FOO\r\n", 1000);
    assert_eq!(h.take_output(), "a2 BAD Unknown compression algorithm\r\n");
    h.run(b"a3 compress deflate\r\n", 1000);
    assert_eq!(h.take_output(), "a3 OK DEFLATE active\r\n");
    assert_eq!(h.log, vec!["Switch Deflate 0"]);
    assert!(h.session.compress_active());
    // The session goes on in its state (unlike STARTTLS).
    assert_eq!(h.session.state(), SessionState::Authenticated);
    h.log.clear();
    h.run(b"a4 COMPRESS DEFLATE\r\na5 SELECT INBOX\r\n", 1000);
    let out = h.take_output();
    assert!(
        out.starts_with("a4 NO [COMPRESSIONACTIVE] DEFLATE active via COMPRESS\r\n"),
        "{out}"
    );
    assert!(
        out.ends_with("a5 OK [READ-WRITE] SELECT completed\r\n"),
        "{out}"
    );
    assert_eq!(h.log, vec!["Select INBOX false None"]);
}

#[test]
fn nothing_after_the_command_is_read_before_the_switch() {
    let mut h = logged_in();
    let input = b"a2 COMPRESS DEFLATE\r\n\x4b\x03\x00";
    let n = h.session.feed(input);
    assert_eq!(n, b"a2 COMPRESS DEFLATE\r\n".len());
    // Blocked until the switch: further input is refused.
    assert_eq!(h.session.feed(&input[n..]), 0);
    let mut out = BytesMut::new();
    while h.session.poll_transmit(&mut out) {}
    assert_eq!(&out[..], b"a2 OK DEFLATE active\r\n");
    assert_eq!(
        h.session.poll_event(),
        Some(Event::SwitchTransport {
            kind: TransportKind::Deflate,
            leftover: bytes::Bytes::new()
        })
    );
    assert_eq!(h.session.poll_event(), None);
    assert_eq!(
        h.session.feed(&input[n..]),
        0,
        "still waiting for the adapter"
    );
    h.session.transport_switched(Instant::now());
    assert!(h.session.compress_active());
    // Now the (inflated) commands are read again.
    assert_eq!(h.session.feed(b"a3 NOOP\r\n"), 9);
    let mut out = BytesMut::new();
    while h.session.poll_transmit(&mut out) {}
    assert_eq!(&out[..], b"a3 OK NOOP completed\r\n");
}

#[test]
fn command_and_code_round_trip() {
    let c = Command::parse(b"a COMPRESS DEFLATE\r\n").unwrap();
    assert_eq!(c.to_bytes(Version::Rev1), b"a COMPRESS DEFLATE\r\n");
    for line in [
        "a NO [COMPRESSIONACTIVE] DEFLATE active via TLS\r\n",
        "* CAPABILITY IMAP4rev1 COMPRESS=DEFLATE\r\n",
    ] {
        let r = Response::parse(line.as_bytes()).unwrap();
        assert_eq!(String::from_utf8(r.to_bytes(Version::Rev1)).unwrap(), line);
    }
}
