//! Bad input, limits, timeouts and adapter misuse.

mod common;

use std::time::Instant;

use bytes::BytesMut;
use common::{MINUTE, check, config, run};
use pop3_proto::{
    AuthAnswer, Event, Limits, MaildropEntry, MessageProgress, Response, ResponseCode,
    ServerSession, SessionError, SessionState, TransportKind,
};

const GREETING: &str = "+OK dewey POP3 sansmail ready\r\n";
const LOGIN: &str = "USER a\r\nPASS secret\r\n";
const LOGGED_IN: &str = "+OK send PASS\r\n+OK maildrop has 2 messages (320 octets)\r\n";

fn transmit(session: &mut ServerSession) -> String {
    let mut out = BytesMut::new();
    while session.poll_transmit(&mut out) {}
    String::from_utf8(out.to_vec()).unwrap()
}

fn listing() -> Vec<MaildropEntry> {
    vec![
        MaildropEntry {
            size: 10,
            uid: "u1".into(),
        },
        MaildropEntry {
            size: 20,
            uid: "u 2\r\n".into(),
        },
    ]
}

/// A session logged in by hand (no canned adapter), greeting drained.
fn logged_in(now: Instant) -> ServerSession {
    let mut session = ServerSession::new(config(), now);
    assert_eq!(transmit(&mut session), GREETING);
    assert_eq!(session.feed(LOGIN.as_bytes()), LOGIN.len());
    assert_eq!(transmit(&mut session), "+OK send PASS\r\n");
    let Some(Event::Authenticate { id, .. }) = session.poll_event() else {
        panic!("no Authenticate");
    };
    session
        .respond_authenticate(id, AuthAnswer::Accept(listing()))
        .unwrap();
    assert_eq!(
        transmit(&mut session),
        "+OK maildrop has 2 messages (30 octets)\r\n"
    );
    assert_eq!(session.state(), SessionState::Transaction);
    assert_eq!(session.authenticated(), Some("a"));
    session
}

#[test]
fn unknown_commands_and_wrong_argument_counts() {
    check(
        config(),
        "
        S: +OK dewey POP3 sansmail ready
        C: STAT
        S: -ERR Command not valid in this state
        C: FOO
        S: -ERR Unknown command
        C: 
        S: -ERR Unknown command
        C: APOP mrose c4c9334bac560ecc979e58001b3e22fb
        S: -ERR APOP not supported
        C: AUTH CRAM-MD5
        S: -ERR Unsupported authentication mechanism
        C: AUTH PLAIN !!!
        S: -ERR Invalid base64 response
        C: AUTH PLAIN YWxpY2U=
        S: -ERR Invalid SASL response
        C: USER
        S: -ERR Missing argument
        C: USER mrose
        S: +OK send PASS
        C: PASS secret
        S: +OK maildrop has 2 messages (320 octets)
        C: USER mrose
        S: -ERR Command not valid in this state
        C: AUTH PLAIN
        S: -ERR Command not valid in this state
        C: STLS
        S: -ERR Command not valid in this state
        C: RETR
        S: -ERR Missing argument
        C: RETR 1 2
        S: -ERR Too many arguments
        C: RETR x
        S: -ERR Invalid argument
        C: RETR 99999999999999999999
        S: -ERR Invalid argument
        C: RETR 0
        S: -ERR no such message, only 2 messages in maildrop
        C: RETR 3
        S: -ERR no such message, only 2 messages in maildrop
        C: DELE 2
        S: +OK message 2 deleted
        C: RETR 2
        S: -ERR message 2 already deleted
        C: TOP 2 0
        S: -ERR message 2 already deleted
        C: UIDL 2
        S: -ERR message 2 already deleted
        C: STAT 1
        S: -ERR Too many arguments
        C: TOP 1
        S: -ERR Missing argument
        C: NOOP
        S: +OK
        C: QUIT
        S: +OK dewey POP3 server signing off (1 messages left)
    ",
    );
}

#[test]
fn ten_megabyte_line_is_skipped_not_buffered() {
    let mut session = ServerSession::new(config(), Instant::now());
    assert_eq!(transmit(&mut session), GREETING);
    let chunk = vec![b'A'; 64 * 1024];
    for _ in 0..160 {
        // Every octet is taken at once: nothing of the line is kept.
        assert_eq!(session.feed(&chunk), chunk.len());
        assert_eq!(transmit(&mut session), "");
    }
    let tail = b"AAAA\r\nCAPA\r\n";
    assert_eq!(session.feed(tail), tail.len());
    let out = transmit(&mut session);
    assert!(
        out.starts_with("-ERR Line too long\r\n+OK Capability list follows\r\n"),
        "{out}"
    );
}

#[test]
fn line_length_limit_is_255_octets_with_crlf() {
    // "NOOP" + spaces: 255 octets with CRLF is fine, 256 is too long.
    let fits = format!("PASS {}\r\n", "p".repeat(255 - 7));
    assert_eq!(fits.len(), 255);
    let long = format!("PASS {}\r\n", "p".repeat(256 - 7));
    let (out, _) = run(config(), format!("{fits}{long}").as_bytes());
    assert_eq!(
        String::from_utf8(out).unwrap(),
        format!("{GREETING}-ERR USER first\r\n-ERR Line too long\r\n")
    );
}

#[test]
fn over_long_sasl_response_aborts_the_exchange() {
    let long = "A".repeat(5000);
    let (out, log) = run(
        config(),
        format!("AUTH PLAIN\r\n{long}\r\nNOOP\r\n").as_bytes(),
    );
    assert_eq!(
        String::from_utf8(out).unwrap(),
        format!("{GREETING}+ \r\n-ERR Line too long\r\n-ERR Command not valid in this state\r\n")
    );
    assert!(log.is_empty());
}

#[test]
fn stls_discards_pipelined_commands() {
    let mut session = ServerSession::new(config(), Instant::now());
    assert_eq!(transmit(&mut session), GREETING);
    let input = b"STLS\r\nUSER evil\r\nCAPA\r\n";
    assert_eq!(session.feed(input), input.len());
    // No event before the +OK is drained.
    assert_eq!(session.poll_event(), None);
    assert_eq!(transmit(&mut session), "+OK Begin TLS negotiation\r\n");
    assert_eq!(
        session.poll_event(),
        Some(Event::SwitchTransport {
            kind: TransportKind::StartTls,
            leftover: bytes::Bytes::new(),
        })
    );
    assert_eq!(session.poll_event(), None);
    // Nothing is read until the switch is done.
    assert_eq!(session.feed(b"NOOP\r\n"), 0);
    session.transport_switched(Instant::now());
    assert!(session.tls_active());
    // "USER evil" was discarded: PASS has no user.
    assert_eq!(session.feed(b"PASS secret\r\n"), 13);
    assert_eq!(transmit(&mut session), "-ERR USER first\r\n");
    assert_eq!(session.poll_event(), None);
}

#[test]
fn too_many_bad_commands_close_the_session() {
    let input = "FOO\r\n".repeat(25);
    let (out, _) = run(config(), input.as_bytes());
    let expected = format!(
        "{GREETING}{}-ERR Too many bad commands, closing connection\r\n",
        "-ERR Unknown command\r\n".repeat(19)
    );
    assert_eq!(String::from_utf8(out).unwrap(), expected);
}

#[test]
fn too_many_auth_failures_close_the_session() {
    let input = "USER a\r\nPASS bad\r\n".repeat(4);
    let (out, log) = run(config(), input.as_bytes());
    assert_eq!(
        String::from_utf8(out).unwrap(),
        format!(
            "{GREETING}{}",
            "+OK send PASS\r\n-ERR [AUTH] Authentication failed\r\n".repeat(3)
        )
    );
    assert_eq!(log.len(), 3);
}

#[test]
fn answers_wait_and_feed_applies_backpressure() {
    let now = Instant::now();
    let mut session = logged_in(now);
    assert_eq!(session.feed(b"RETR 2\r\nNOOP\r\n"), 14);
    let Some(Event::Retrieve {
        id,
        index: 1,
        top_lines: None,
    }) = session.poll_event()
    else {
        panic!("no Retrieve");
    };
    // While the answer is pending nothing is read or answered.
    assert_eq!(session.feed(b"NOOP\r\n"), 0);
    assert_eq!(transmit(&mut session), "");
    // Misuse hands the argument back.
    assert_eq!(session.respond_update(id, Ok(())), Err(Ok(())));
    let reject = AuthAnswer::Reject(Response::err("x"));
    assert_eq!(
        session.respond_authenticate(id, reject.clone()),
        Err(reject)
    );
    assert_eq!(
        session.send_external_chunk(id, b"x"),
        Err(SessionError::NoMessageInProgress)
    );
    session.respond_retrieve(id, Ok(())).unwrap();
    assert_eq!(session.respond_retrieve(id, Ok(())), Err(Ok(())));
    assert_eq!(session.feed(b"NOOP\r\n"), 0);
    assert_eq!(
        session.send_external_chunk(id, b".a\nb"),
        Ok(MessageProgress::Continue)
    );
    session.finish_external(id).unwrap();
    assert_eq!(
        transmit(&mut session),
        "+OK 20 octets\r\n..a\r\nb\r\n.\r\n+OK\r\n"
    );
    assert_eq!(
        session.finish_external(id),
        Err(SessionError::NoMessageInProgress)
    );
}

#[test]
fn retrieve_failure_and_uid_sanitising() {
    let mut session = logged_in(Instant::now());
    assert_eq!(session.feed(b"TOP 1 5\r\n"), 9);
    let Some(Event::Retrieve {
        id,
        index: 0,
        top_lines: Some(5),
    }) = session.poll_event()
    else {
        panic!("no Retrieve");
    };
    // A `+OK` given as failure is still sent as -ERR.
    session
        .respond_retrieve(id, Err(Response::ok("[SYS/TEMP] cannot read")))
        .unwrap();
    assert_eq!(session.feed(b"UIDL\r\n"), 6);
    assert_eq!(
        transmit(&mut session),
        "-ERR [SYS/TEMP] cannot read\r\n+OK\r\n1 u1\r\n2 u_2__\r\n.\r\n"
    );
}

#[test]
fn update_failure_is_reported_and_closes() {
    let mut session = logged_in(Instant::now());
    assert_eq!(session.feed(b"DELE 1\r\nQUIT\r\nNOOP\r\n"), 20);
    assert_eq!(transmit(&mut session), "+OK message 1 deleted\r\n");
    let Some(Event::Update { id, deleted }) = session.poll_event() else {
        panic!("no Update");
    };
    assert_eq!(deleted, [0]);
    assert_eq!(session.state(), SessionState::Update);
    session
        .respond_update(
            id,
            Err(Response::err_with_code(
                ResponseCode::SysTemp,
                "some deleted messages not removed",
            )),
        )
        .unwrap();
    assert!(!session.is_closed());
    assert_eq!(
        transmit(&mut session),
        "-ERR [SYS/TEMP] some deleted messages not removed\r\n"
    );
    assert!(session.is_closed());
    assert_eq!(session.poll_event(), None);
    assert_eq!(session.feed(b"NOOP\r\n"), 0);
}

#[test]
fn abort_message_closes_without_update() {
    let mut session = logged_in(Instant::now());
    assert_eq!(session.feed(b"RETR 1\r\n"), 8);
    let Some(Event::Retrieve { id, .. }) = session.poll_event() else {
        panic!("no Retrieve");
    };
    session.respond_retrieve(id, Ok(())).unwrap();
    assert_eq!(
        session.send_external_chunk(id, b"partial"),
        Ok(MessageProgress::Continue)
    );
    session.abort_external(id).unwrap();
    assert_eq!(transmit(&mut session), "+OK 10 octets\r\npartial");
    assert!(session.is_closed());
    assert_eq!(session.poll_event(), None);
}

#[test]
fn autologout_after_ten_idle_minutes() {
    let start = Instant::now();
    let mut session = logged_in(start);
    assert_eq!(session.poll_timeout(), Some(start + 10 * MINUTE));
    // Early call: nothing happens.
    session.handle_timeout(start + 9 * MINUTE);
    assert_eq!(transmit(&mut session), "");
    // Input arrived since the timer was armed (the login): re-armed.
    session.handle_timeout(start + 10 * MINUTE);
    assert_eq!(session.poll_timeout(), Some(start + 20 * MINUTE));
    assert_eq!(transmit(&mut session), "");
    // Ten silent minutes: logged out, no UPDATE, nothing removed.
    session.handle_timeout(start + 20 * MINUTE);
    assert_eq!(
        transmit(&mut session),
        "-ERR Autologout; idle for too long\r\n"
    );
    assert!(session.is_closed());
    assert_eq!(session.poll_event(), None);
    assert_eq!(session.poll_timeout(), None);
}

#[test]
fn autologout_runs_while_an_answer_is_pending() {
    let start = Instant::now();
    let mut config = config();
    config.limits = Limits {
        autologout: MINUTE,
        ..Limits::default()
    };
    let mut session = ServerSession::new(config, start);
    assert_eq!(transmit(&mut session), GREETING);
    session.handle_timeout(start + MINUTE);
    assert_eq!(
        transmit(&mut session),
        "-ERR Autologout; idle for too long\r\n"
    );
    assert!(session.is_closed());

    // An adapter that never answers (a lost or misrouted answer) does not
    // hold the connection: the timer stays armed while the session waits.
    let mut session = logged_in(start);
    assert_eq!(session.feed(b"RETR 1\r\n"), 8);
    let Some(Event::Retrieve { id, .. }) = session.poll_event() else {
        panic!("no Retrieve");
    };
    assert_eq!(session.poll_timeout(), Some(start + 10 * MINUTE));
    // The RETR arrived since the timer was armed: re-armed once ...
    session.handle_timeout(start + 10 * MINUTE);
    assert!(!session.is_closed());
    assert_eq!(session.poll_timeout(), Some(start + 20 * MINUTE));
    // ... then ten minutes without the answer: logged out, nothing removed.
    session.handle_timeout(start + 20 * MINUTE);
    assert_eq!(
        transmit(&mut session),
        "-ERR Autologout; idle for too long\r\n"
    );
    assert!(session.is_closed());
    assert_eq!(session.poll_event(), None);
    assert_eq!(session.poll_timeout(), None);
    // The late answer is handed back.
    assert_eq!(session.respond_retrieve(id, Ok(())), Err(Ok(())));
}

#[test]
fn a_stream_in_progress_keeps_the_timer_alive() {
    let start = Instant::now();
    let mut session = logged_in(start);
    assert_eq!(session.feed(b"RETR 1\r\n"), 8);
    let Some(Event::Retrieve { id, .. }) = session.poll_event() else {
        panic!("no Retrieve");
    };
    session.handle_timeout(start + 10 * MINUTE);
    session.respond_retrieve(id, Ok(())).unwrap();
    // Each chunk counts as activity: a long stream is not idleness.
    for minutes in [20, 30, 40] {
        assert_eq!(
            session.send_external_chunk(id, b"x"),
            Ok(MessageProgress::Continue)
        );
        session.handle_timeout(start + minutes * MINUTE);
        assert!(!session.is_closed(), "closed at {minutes} minutes");
    }
    session.finish_external(id).unwrap();
    assert_eq!(transmit(&mut session), "+OK 10 octets\r\nxxx\r\n.\r\n");
    // The stream ended at 40 minutes: the client gets a full period.
    session.handle_timeout(start + 50 * MINUTE);
    assert!(!session.is_closed());
    assert_eq!(session.poll_timeout(), Some(start + 60 * MINUTE));
    session.handle_timeout(start + 60 * MINUTE);
    assert_eq!(
        transmit(&mut session),
        "-ERR Autologout; idle for too long\r\n"
    );
    assert!(session.is_closed());

    // A stall in the middle of a stream closes without a word: POP3 has no
    // way to report an error inside a multi-line response.
    let mut session = logged_in(start);
    assert_eq!(session.feed(b"RETR 1\r\n"), 8);
    let Some(Event::Retrieve { id, .. }) = session.poll_event() else {
        panic!("no Retrieve");
    };
    session.respond_retrieve(id, Ok(())).unwrap();
    assert_eq!(
        session.send_external_chunk(id, b"part"),
        Ok(MessageProgress::Continue)
    );
    session.handle_timeout(start + 10 * MINUTE);
    assert!(!session.is_closed());
    session.handle_timeout(start + 20 * MINUTE);
    assert_eq!(transmit(&mut session), "+OK 10 octets\r\npart");
    assert!(session.is_closed());
    assert_eq!(
        session.send_external_chunk(id, b"more"),
        Err(SessionError::NoMessageInProgress)
    );
}

#[test]
fn a_stream_answers_only_its_own_id() {
    let mut session = ServerSession::new(config(), Instant::now());
    assert_eq!(transmit(&mut session), GREETING);
    assert_eq!(session.feed(LOGIN.as_bytes()), LOGIN.len());
    let Some(Event::Authenticate { id: login, .. }) = session.poll_event() else {
        panic!("no Authenticate");
    };
    session
        .respond_authenticate(login, AuthAnswer::Accept(listing()))
        .unwrap();
    assert_eq!(session.feed(b"RETR 1\r\n"), 8);
    let Some(Event::Retrieve { id, .. }) = session.poll_event() else {
        panic!("no Retrieve");
    };
    assert_ne!(id, login);
    session.respond_retrieve(id, Ok(())).unwrap();
    // The id of another question is refused and changes nothing.
    assert_eq!(
        session.send_external_chunk(login, b"x"),
        Err(SessionError::NoMessageInProgress)
    );
    assert_eq!(
        session.finish_external(login),
        Err(SessionError::NoMessageInProgress)
    );
    assert_eq!(
        session.abort_external(login),
        Err(SessionError::NoMessageInProgress)
    );
    session.finish_external(id).unwrap();
    assert_eq!(
        transmit(&mut session),
        "+OK send PASS\r\n+OK maildrop has 2 messages (30 octets)\r\n+OK 10 octets\r\n.\r\n"
    );
    assert!(!session.is_closed());
}

#[test]
fn pending_output_limit_stops_reading() {
    let mut config = config();
    config.limits.max_pending_output = 16;
    let mut session = ServerSession::new(config, Instant::now());
    // The greeting alone is over the limit: nothing is read until drained.
    assert_eq!(session.feed(b"CAPA\r\n"), 0);
    assert_eq!(transmit(&mut session), GREETING);
    assert_eq!(session.feed(b"CAPA\r\nNOOP\r\n"), 12);
    let mut out = BytesMut::new();
    assert!(session.poll_transmit(&mut out));
    assert!(out.starts_with(b"+OK Capability list follows\r\n"));
    assert!(out.ends_with(b"STLS\r\n.\r\n"), "NOOP not answered yet");
    assert!(session.poll_transmit(&mut out));
    assert!(out.ends_with(b".\r\n-ERR Command not valid in this state\r\n"));
    assert!(!session.poll_transmit(&mut out));
}

#[test]
fn refuse_sends_one_response_and_closes() {
    let mut session = ServerSession::refuse(
        config(),
        Response::err_with_code(ResponseCode::SysTemp, "Too many connections"),
        Instant::now(),
    );
    assert_eq!(session.feed(b"USER a\r\n"), 0);
    assert_eq!(
        transmit(&mut session),
        "-ERR [SYS/TEMP] Too many connections\r\n"
    );
    assert!(session.is_closed());
}

#[test]
fn bare_lf_lines_and_lowercase_commands_are_accepted() {
    let (out, _) = run(config(), b"user a\npass secret\nstat\nquit\n");
    assert_eq!(
        String::from_utf8(out).unwrap(),
        format!(
            "{GREETING}{LOGGED_IN}+OK 2 320\r\n+OK dewey POP3 server signing off (2 messages left)\r\n"
        )
    );
}
