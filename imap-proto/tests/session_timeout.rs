//! The autologout timer keeps running while the session waits for the
//! adapter's answer, so a lost or misrouted answer cannot hang a
//! connection (issue "The house", 10.2).

use std::time::{Duration, Instant};

use bytes::BytesMut;
use imap_proto::session::{Event, ServerConfig, ServerSession};

fn transmit(s: &mut ServerSession) -> String {
    let mut out = BytesMut::new();
    while s.poll_transmit(&mut out) {}
    String::from_utf8(out.to_vec()).expect("UTF-8 output")
}

#[test]
fn a_session_waiting_for_an_answer_still_times_out() {
    let t0 = Instant::now();
    let mut s = ServerSession::new(ServerConfig::new("hi"), t0);
    assert!(transmit(&mut s).starts_with("* OK "));
    let login = b"a LOGIN alice secret\r\n";
    assert_eq!(s.feed(login), login.len());
    let Some(Event::Authenticate { id, .. }) = s.poll_event() else {
        panic!("no Authenticate");
    };
    // Armed while the answer is pending (the login timeout, 60 s).
    assert_eq!(s.poll_timeout(), Some(t0 + Duration::from_secs(60)));
    // Input arrived since the timer was armed: re-armed once ...
    s.handle_timeout(t0 + Duration::from_secs(60));
    assert_eq!(transmit(&mut s), "");
    assert!(!s.is_closed());
    let next = s.poll_timeout().expect("still armed");
    assert!(next > t0 + Duration::from_secs(60));
    // ... then a whole period without the answer: BYE and closed.
    s.handle_timeout(next);
    assert_eq!(transmit(&mut s), "* BYE Autologout; idle for too long\r\n");
    assert!(s.is_closed());
    assert_eq!(s.poll_timeout(), None);
    // The late answer is handed back; nothing more is sent.
    assert_eq!(s.respond_authenticate(id, Ok(())), Err(Ok(())));
    assert_eq!(transmit(&mut s), "");
}

#[test]
fn an_answer_in_time_keeps_the_session() {
    let t0 = Instant::now();
    let mut s = ServerSession::new(ServerConfig::new("hi"), t0);
    let _ = transmit(&mut s);
    let login = b"a LOGIN alice secret\r\n";
    assert_eq!(s.feed(login), login.len());
    let Some(Event::Authenticate { id, .. }) = s.poll_event() else {
        panic!("no Authenticate");
    };
    s.handle_timeout(t0 + Duration::from_secs(60));
    s.respond_authenticate(id, Ok(())).expect("pending login");
    assert!(transmit(&mut s).starts_with("a OK [CAPABILITY "));
    // The answer counts as activity: the next expiry only re-arms.
    let next = s.poll_timeout().expect("armed");
    s.handle_timeout(next);
    assert!(!s.is_closed());
    assert_eq!(transmit(&mut s), "");
}
