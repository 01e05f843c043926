//! BURL (RFC 4468) through the server session: the EHLO keyword before
//! and after AUTH, the event and its answers, LAST handing over to
//! DataEnd, and a refused URL ending the transaction.

use bytes::BytesMut;
use smtp_proto::{Command, Event, Reply, ServerConfig, ServerSession};
use std::time::Instant;

fn drain(s: &mut ServerSession) -> String {
    let mut out = BytesMut::new();
    while s.poll_transmit(&mut out) {}
    String::from_utf8(out.to_vec()).unwrap()
}

fn answer(s: &mut ServerSession, reply: Reply) {
    let id = match s.poll_event() {
        Some(Event::MailFrom { id, .. } | Event::RcptTo { id, .. } | Event::Auth { id, .. }) => id,
        other => panic!("unexpected {other:?}"),
    };
    s.respond(id, reply).unwrap();
}

fn submission() -> ServerSession {
    let config = ServerConfig {
        tls_active: true,
        require_auth: true,
        burl: true,
        ..ServerConfig::new("mx.example")
    };
    let mut s = ServerSession::new(config, Instant::now());
    drain(&mut s);
    s.feed(b"EHLO c\r\n");
    let ehlo = drain(&mut s);
    assert!(
        ehlo.contains("250-AUTH PLAIN LOGIN\r\n250 BURL\r\n"),
        "{ehlo}"
    );
    s.feed(b"BURL imap://x/INBOX;UID=1;URLAUTH=anonymous:internal:00000000000000000000000000000000 LAST\r\n");
    assert_eq!(drain(&mut s), "530 5.7.0 Authentication required\r\n");
    s.feed(b"AUTH PLAIN AGFsaWNlAHNlY3JldA==\r\n");
    answer(&mut s, Reply::new(235, "2.7.0", "OK"));
    drain(&mut s);
    s.feed(b"EHLO c\r\n");
    let ehlo = drain(&mut s);
    assert!(ehlo.ends_with("250 BURL imap\r\n"), "{ehlo}");
    s
}

#[test]
fn burl_chunks_then_last_asks_for_data_end() {
    let mut s = submission();
    s.feed(b"BURL imap://u LAST\r\n");
    assert_eq!(drain(&mut s), "503 5.5.1 Error: need MAIL command\r\n");
    s.feed(b"MAIL FROM:<alice@x>\r\n");
    answer(&mut s, Reply::new(250, "2.1.0", "OK"));
    s.feed(b"RCPT TO:<bob@x>\r\n");
    answer(&mut s, Reply::new(250, "2.1.5", "OK"));
    drain(&mut s);
    s.feed(b"BURL imap://one\r\nBURL imap://two LAST\r\n");
    assert_eq!(s.poll_event(), Some(Event::DataStart));
    let Some(Event::Burl {
        id,
        url,
        last: false,
    }) = s.poll_event()
    else {
        panic!("no BURL event");
    };
    assert_eq!(url, "imap://one");
    // Nothing more is read until the answer.
    assert_eq!(s.poll_event(), None);
    s.respond(id, Reply::new(250, "2.5.0", "100 octets received"))
        .unwrap();
    assert_eq!(drain(&mut s), "250 2.5.0 100 octets received\r\n");
    s.feed(b"BURL imap://two LAST\r\n");
    let Some(Event::Burl {
        id,
        url,
        last: true,
    }) = s.poll_event()
    else {
        panic!("no second BURL event");
    };
    assert_eq!(url, "imap://two");
    s.respond(id, Reply::new(250, "2.5.0", "ok")).unwrap();
    assert_eq!(drain(&mut s), "", "the LAST chunk's reply is DataEnd's");
    let Some(Event::DataEnd { id }) = s.poll_event() else {
        panic!("no DataEnd");
    };
    s.respond(id, Reply::new(250, "2.0.0", "OK: queued as 1"))
        .unwrap();
    assert_eq!(drain(&mut s), "250 2.0.0 OK: queued as 1\r\n");
    // DATA after BURL in the same transaction is refused like after BDAT.
    s.feed(b"MAIL FROM:<alice@x>\r\n");
    answer(&mut s, Reply::new(250, "2.1.0", "OK"));
    s.feed(b"RCPT TO:<bob@x>\r\n");
    answer(&mut s, Reply::new(250, "2.1.5", "OK"));
    drain(&mut s);
    s.feed(b"BURL imap://one\r\n");
    assert_eq!(s.poll_event(), Some(Event::DataStart));
    let Some(Event::Burl { id, .. }) = s.poll_event() else {
        panic!("no BURL event");
    };
    s.respond(id, Reply::new(250, "2.5.0", "ok")).unwrap();
    drain(&mut s);
    s.feed(b"DATA\r\n");
    assert_eq!(drain(&mut s), "503 5.5.1 Error: DATA after BDAT\r\n");
}

#[test]
fn refused_url_ends_the_transaction() {
    let mut s = submission();
    s.feed(b"MAIL FROM:<alice@x>\r\n");
    answer(&mut s, Reply::new(250, "2.1.0", "OK"));
    s.feed(b"RCPT TO:<bob@x>\r\n");
    answer(&mut s, Reply::new(250, "2.1.5", "OK"));
    drain(&mut s);
    s.feed(b"BURL imap://forged LAST\r\n");
    assert_eq!(s.poll_event(), Some(Event::DataStart));
    let Some(Event::Burl { id, .. }) = s.poll_event() else {
        panic!("no BURL event");
    };
    s.respond(id, Reply::new(554, "5.7.0", "Invalid URLAUTH token"))
        .unwrap();
    assert_eq!(drain(&mut s), "554 5.7.0 Invalid URLAUTH token\r\n");
    assert_eq!(s.poll_event(), Some(Event::Reset));
    s.feed(b"BURL imap://x LAST\r\n");
    assert_eq!(drain(&mut s), "503 5.5.1 Error: need MAIL command\r\n");
}

#[test]
fn not_offered_means_not_recognized_and_the_command_round_trips() {
    let mut s = ServerSession::new(ServerConfig::new("mx"), Instant::now());
    drain(&mut s);
    s.feed(b"EHLO c\r\n");
    assert!(!drain(&mut s).contains("BURL"));
    s.feed(b"BURL imap://x LAST\r\n");
    assert_eq!(drain(&mut s), "500 5.5.2 Error: command not recognized\r\n");
    for line in [
        "BURL imap://a/INBOX;UID=1 LAST\r\n",
        "BURL imap://a/INBOX;UID=1\r\n",
    ] {
        let c = Command::parse(line.as_bytes()).unwrap();
        let mut out = BytesMut::new();
        c.encode(&mut out);
        assert_eq!(&out[..], line.as_bytes());
    }
    for bad in [
        &b"BURL\r\n"[..],
        b"BURL x\r\n",
        b"BURL imap://a FIRST\r\n",
        b"BURL imap://a LAST x\r\n",
    ] {
        assert!(Command::parse(bad).is_err(), "{bad:?}");
    }
}
