//! `BODY[n.TEXT]` of a `message/rfc822` part whose message is multipart
//! (RFC 9051 §6.4.5, RFC 2046 §5.2.1): the text is the encapsulated
//! message's whole body, prologue to epilogue, the same octets as
//! `BODY[n]` minus the header. Checked on the in-memory path (parsed
//! here) and on the session path (offsets from the store, streamed
//! ranges) at once.

mod session_common;

use imap_proto::command::{Part, Section};
use imap_proto::message::{MessageView, body_section};
use imap_proto::session::ServerConfig;
use session_common::*;
use std::num::NonZeroU32;
use std::time::Instant;

const INNER_HEADER: &str = "From: sub@domain.org\r\n\
Subject: submsg\r\n\
Content-Type: multipart/digest; boundary=\"foo\"\r\n\
\r\n";

const INNER_TEXT: &str = "prologue\r\n\
\r\n\
--foo \r\n\
\r\n\
From: m1@example.com\r\n\
Subject: m1\r\n\
\r\n\
m1 body\r\n\
\r\n\
--foo--\r\n\
\r\n\
epilogue\r\n";

fn message() -> String {
    format!(
        "From: user@domain.org\r\nMime-Version: 1.0\r\nContent-Type: message/rfc822\r\n\r\n{INNER_HEADER}{INNER_TEXT}"
    )
}

fn part(p: &[u32]) -> Part {
    Part::new(p.iter().map(|n| NonZeroU32::new(*n).unwrap()).collect()).unwrap()
}

#[test]
fn text_of_an_encapsulated_multipart_keeps_its_epilogue() {
    let raw = message();
    let view = MessageView::parse(raw.as_bytes());
    let text = body_section(&view, Some(&Section::Text(Some(part(&[1])))), None);
    assert_eq!(
        String::from_utf8_lossy(text.bytes(&view).unwrap()),
        INNER_TEXT
    );
    let whole = body_section(&view, Some(&Section::Part(part(&[1]))), None);
    assert_eq!(
        String::from_utf8_lossy(whole.bytes(&view).unwrap()),
        format!("{INNER_HEADER}{INNER_TEXT}")
    );
    // The root's TEXT is the same octets here (the whole inner message).
    let root_text = body_section(&view, Some(&Section::Text(None)), None);
    assert_eq!(
        String::from_utf8_lossy(root_text.bytes(&view).unwrap()),
        format!("{INNER_HEADER}{INNER_TEXT}")
    );
}

#[test]
fn session_fetch_of_n_text_agrees() {
    let raw = message();
    let mut store = Store::default();
    store.add("INBOX", raw.as_bytes(), vec![]);
    for no_offsets in [false, true] {
        let mut h = Harness::with_store(ServerConfig::new("hi"), store.clone(), Instant::now());
        h.no_offsets = no_offsets;
        h.run(b"L LOGIN alice secret\r\nS SELECT INBOX\r\n", 1000);
        h.take_output();
        h.run(
            b"f FETCH 1 (BODY.PEEK[1.TEXT] BODY.PEEK[1.HEADER])\r\n",
            1000,
        );
        assert_eq!(
            h.take_output(),
            format!(
                "* 1 FETCH (BODY[1.TEXT] {{{}}}\r\n{INNER_TEXT} BODY[1.HEADER] {{{}}}\r\n{INNER_HEADER})\r\nf OK FETCH completed\r\n",
                INNER_TEXT.len(),
                INNER_HEADER.len()
            ),
            "no_offsets = {no_offsets}"
        );
    }
}
