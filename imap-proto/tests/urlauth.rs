//! URLAUTH (RFC 4467) through the session: the RFC's command and response
//! forms, the events the adapter answers, and refusals of bad input.

use bytes::{Bytes, BytesMut};
use imap_proto::response::RespText;
use imap_proto::session::{Event, ServerConfig, ServerSession};
use imap_proto::url::UrlAccess;
use imap_proto::{Response, Version};
use std::time::Instant;

fn drain(s: &mut ServerSession) -> String {
    let mut out = BytesMut::new();
    while s.poll_transmit(&mut out) {}
    String::from_utf8(out.to_vec()).unwrap()
}

fn logged_in() -> ServerSession {
    let mut s = ServerSession::new(ServerConfig::new("hi"), Instant::now());
    let greeting = drain(&mut s);
    assert!(!greeting.contains("URLAUTH"), "{greeting}");
    s.feed(b"a1 LOGIN alice secret\r\n");
    let Some(Event::Authenticate { id, .. }) = s.poll_event() else {
        panic!("no auth event");
    };
    s.respond_authenticate(id, Ok(())).unwrap();
    let out = drain(&mut s);
    assert!(out.contains(" URLAUTH "), "{out}");
    s
}

const RUMP: &str = "imap://joe@example.com/INBOX/;uid=20/;section=1.2;urlauth=submit+fred";
const FULL: &str = "imap://joe@example.com/INBOX/;uid=20/;section=1.2;urlauth=anonymous:internal:91354a473744909de610943775f92038";

#[test]
fn genurlauth_asks_the_adapter_and_formats_the_answer() {
    let mut s = logged_in();
    s.feed(format!("a2 GENURLAUTH \"{RUMP}\" INTERNAL\r\n").as_bytes());
    let Some(Event::GenUrlAuth { id, urls }) = s.poll_event() else {
        panic!("no GENURLAUTH event");
    };
    assert_eq!(urls.len(), 1);
    assert_eq!(urls[0].rump, RUMP);
    assert_eq!(urls[0].access, UrlAccess::Submit("fred".into()));
    let full = format!("{RUMP}:internal:91354a473744909de610943775f92038");
    s.respond_genurlauth(id, Ok(vec![full.clone()])).unwrap();
    assert_eq!(
        drain(&mut s),
        format!("* GENURLAUTH \"{full}\"\r\na2 OK GENURLAUTH completed\r\n")
    );
    // A refusal from the adapter is NO.
    s.feed(format!("a3 GENURLAUTH \"{RUMP}\" INTERNAL\r\n").as_bytes());
    let Some(Event::GenUrlAuth { id, .. }) = s.poll_event() else {
        panic!("no GENURLAUTH event");
    };
    // The wrong answer method hands the answer back.
    assert!(s.respond_resetkey(id, Ok(())).is_err());
    s.respond_genurlauth(id, Err(RespText::plain("Not your mailbox")))
        .unwrap();
    assert_eq!(drain(&mut s), "a3 NO Not your mailbox\r\n");
}

#[test]
fn bad_urls_and_mechanisms_are_bad_without_an_event() {
    let mut s = logged_in();
    for (line, want) in [
        (
            format!("b1 GENURLAUTH \"{RUMP}\" XSECRET\r\n"),
            "b1 BAD Unsupported URLAUTH mechanism\r\n",
        ),
        (
            format!("b2 GENURLAUTH \"{FULL}\" INTERNAL\r\n"),
            "b2 BAD Invalid URLAUTH rump URL\r\n",
        ),
        (
            "b3 GENURLAUTH \"imap://x/INBOX\" INTERNAL\r\n".into(),
            "b3 BAD Invalid URLAUTH rump URL\r\n",
        ),
        (
            "b4 RESETKEY INBOX XSECRET\r\n".into(),
            "b4 BAD Unsupported URLAUTH mechanism\r\n",
        ),
        (
            "b5 URLFETCH\r\n".into(),
            "b5 BAD Syntax error in command\r\n",
        ),
    ] {
        s.feed(line.as_bytes());
        assert_eq!(drain(&mut s), want);
        assert_eq!(s.poll_event(), None);
    }
    let mut pre = ServerSession::new(ServerConfig::new("hi"), Instant::now());
    drain(&mut pre);
    pre.feed(b"c1 URLFETCH \"x\"\r\n");
    assert_eq!(drain(&mut pre), "c1 BAD Log in first\r\n");
}

#[test]
fn resetkey_and_urlfetch() {
    let mut s = logged_in();
    s.feed(b"a2 RESETKEY\r\n");
    let Some(Event::ResetKey { id, mailbox: None }) = s.poll_event() else {
        panic!("no RESETKEY event");
    };
    s.respond_resetkey(id, Ok(())).unwrap();
    assert_eq!(drain(&mut s), "a2 OK RESETKEY completed\r\n");
    s.feed(b"a3 RESETKEY INBOX INTERNAL\r\n");
    let Some(Event::ResetKey { id, mailbox }) = s.poll_event() else {
        panic!("no RESETKEY event");
    };
    assert_eq!(mailbox.as_deref(), Some("INBOX"));
    s.respond_resetkey(id, Ok(())).unwrap();
    assert_eq!(drain(&mut s), "a3 OK RESETKEY completed\r\n");
    // RFC 4467 §6.3's example, plus a URL the adapter refuses (NIL).
    s.feed(
        format!("a4 URLFETCH \"{FULL}\" \"imap://x/INBOX/;uid=1;urlauth=anonymous\"\r\n")
            .as_bytes(),
    );
    let Some(Event::UrlFetch { id, urls }) = s.poll_event() else {
        panic!("no URLFETCH event");
    };
    assert_eq!(urls[0], FULL);
    s.respond_urlfetch(
        id,
        vec![
            Some(Bytes::from_static(b"Si vis pacem, para bellum.\r\n")),
            None,
        ],
    )
    .unwrap();
    let out = drain(&mut s);
    assert_eq!(
        out,
        format!(
            "* URLFETCH \"{FULL}\" {{28}}\r\nSi vis pacem, para bellum.\r\n \"imap://x/INBOX/;uid=1;urlauth=anonymous\" NIL\r\na4 OK URLFETCH completed\r\n"
        )
    );
    // The answer parses back (client side of the codec).
    let first = out.split_inclusive("NIL\r\n").next().unwrap();
    let r = Response::parse(first.as_bytes()).unwrap();
    assert_eq!(
        String::from_utf8(imap_proto::Encode::to_bytes(&r, Version::Rev1)).unwrap(),
        first
    );
}
