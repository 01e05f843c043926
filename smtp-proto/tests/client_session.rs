//! Client session failure modes outside transcripts: malformed and
//! oversized replies, endless greetings, per-stage timeouts, answers in the
//! wrong state.

use std::time::{Duration, Instant};

use smtp_proto::client::{
    Action, ClientConfig, ClientError, ClientEvent, ClientSession, Envelope, Outcome, Recipient,
    Stage,
};

fn cfg() -> ClientConfig {
    ClientConfig::new("client.example")
}

#[test]
fn malformed_and_oversized_replies_fail_cleanly() {
    let cases: &[(&[u8], ClientError)] = &[
        (b"hello there\r\n", ClientError::InvalidReply),
        (b"220-a\r\n250 b\r\n", ClientError::InvalidReply),
        (&[b'2'; 5000], ClientError::ReplyTooLong),
    ];
    for (input, want) in cases {
        let now = Instant::now();
        let mut c = ClientSession::new(cfg(), now);
        assert_eq!(c.feed(input), input.len());
        let mut events = Vec::new();
        while let Some(e) = c.poll_event(now) {
            events.push(e);
        }
        assert_eq!(events, vec![ClientEvent::Failed(want.clone())]);
        assert!(c.is_closed());
        assert_eq!(c.poll_timeout(), None);
    }
    // A greeting that never ends: the line count limit, fed in small pieces.
    let now = Instant::now();
    let mut c = ClientSession::new(cfg(), now);
    let mut fed = 0;
    while !c.is_closed() {
        fed += c.feed(b"220-still greeting\r\n");
        assert!(fed < 100_000, "no limit hit");
    }
    assert_eq!(
        c.poll_event(now),
        Some(ClientEvent::Failed(ClientError::TooManyReplyLines))
    );
    assert_eq!(fed, 64 * 20);
    // A 10 MB line, fed in 64 KiB reads: refused at the first read.
    let mut c = ClientSession::new(cfg(), now);
    let junk = vec![b'x'; 64 * 1024];
    assert_eq!(c.feed(&junk), junk.len());
    assert!(c.is_closed());
    assert_eq!(
        c.poll_event(now),
        Some(ClientEvent::Failed(ClientError::ReplyTooLong))
    );
}

#[test]
fn timeouts_per_stage_do_not_move_with_partial_input() {
    let mut config = cfg();
    config.limits.greeting = Duration::from_secs(30);
    config.limits.data_init = Duration::from_secs(7);
    let t0 = Instant::now();
    let mut c = ClientSession::new(config, t0);
    assert_eq!(c.poll_timeout(), Some(t0 + Duration::from_secs(30)));
    // A trickled greeting does not extend the deadline.
    assert_eq!(c.feed(b"220 mx"), 6);
    assert_eq!(c.poll_event(t0 + Duration::from_secs(20)), None);
    assert_eq!(c.poll_timeout(), Some(t0 + Duration::from_secs(30)));
    c.handle_timeout(t0 + Duration::from_secs(29));
    assert!(!c.is_closed());
    c.handle_timeout(t0 + Duration::from_secs(30));
    assert!(c.is_closed());
    assert_eq!(
        c.poll_event(t0),
        Some(ClientEvent::Failed(ClientError::Timeout(Stage::Greeting)))
    );

    // The DATA 354 has its own (shorter) timeout, armed when DATA goes out.
    let mut config = cfg();
    config.limits.data_init = Duration::from_secs(7);
    let mut c = ClientSession::new(config, t0);
    c.feed(b"220 mx\r\n250 mx\r\n");
    let t1 = t0 + Duration::from_secs(1);
    let Some(ClientEvent::Ready { id }) = c.poll_event(t1) else {
        panic!("ready")
    };
    let env = Envelope::new(None, vec![Recipient::new("b@mx")], 1);
    c.respond(id, Action::Mail(env)).unwrap();
    assert_eq!(c.poll_event(t1), None);
    c.feed(b"250 ok\r\n250 ok\r\n");
    let t2 = t0 + Duration::from_secs(2);
    while c.poll_event(t2).is_some() {}
    assert_eq!(c.poll_timeout(), Some(t2 + Duration::from_secs(7)));
    c.handle_timeout(t2 + Duration::from_secs(7));
    let events: Vec<_> = std::iter::from_fn(|| c.poll_event(t2)).collect();
    assert_eq!(events.len(), 2, "{events:?}");
    let ClientEvent::TransactionDone(done) = &events[0] else {
        panic!("{events:?}")
    };
    assert!(matches!(&done.outcomes[0], Outcome::Temporary(r) if r.code == 451));
    assert_eq!(
        events[1],
        ClientEvent::Failed(ClientError::Timeout(Stage::Data))
    );
}

#[test]
fn answers_in_the_wrong_state_are_handed_back() {
    let now = Instant::now();
    let mut config = cfg();
    config.tls_active = true;
    let mut c = ClientSession::new(config, now);
    c.feed(b"220 mx\r\n250-mx\r\n250 STARTTLS\r\n");
    let Some(ClientEvent::Ready { id }) = c.poll_event(now) else {
        panic!("ready")
    };
    assert_eq!(c.respond(id, Action::StartTls), Err(Action::StartTls));
    let empty = Envelope::new(None, Vec::new(), 0);
    assert_eq!(
        c.respond(id, Action::Mail(empty.clone())),
        Err(Action::Mail(empty))
    );
    assert_eq!(
        c.feed(b"250 early\r\n"),
        0,
        "nothing is read while Ready waits"
    );
    c.respond(id, Action::Quit).unwrap();
    assert_eq!(c.respond(id, Action::Quit), Err(Action::Quit));
    assert_eq!(c.send_body(b"x"), 0);
    assert!(!c.end_body());
}
