//! Limits, SMTP smuggling, STARTTLS, timeouts and the answer API of the
//! server session.

mod common;

use std::time::{Duration, Instant};

use bytes::BytesMut;
use common::{Outcome, bytewise, config, run, split, whole};
use smtp_proto::{
    AbortReason, Event, Limits, Mode, Reply, ServerConfig, ServerSession, TransportKind,
};

/// Runs `input` whole and checks that every split and byte-by-byte feeding
/// give the same outcome.
fn run_all_splits(config: ServerConfig, input: &[u8]) -> Outcome {
    let segments = vec![input.to_vec()];
    let want = run(config.clone(), &whole(&segments));
    for cut in 0..=input.len() {
        assert_eq!(
            run(config.clone(), &split(&segments, &[cut])),
            want,
            "cut at {cut}"
        );
    }
    assert_eq!(run(config, &bytewise(&segments)), want, "byte by byte");
    want
}

const GREETING: &str = "220 mx.example ESMTP sansmail\r\n";
const EHLO_REPLY: &str = "250-mx.example\r\n250-PIPELINING\r\n250-SIZE 52428800\r\n250-8BITMIME\r\n\
    250-SMTPUTF8\r\n250-ENHANCEDSTATUSCODES\r\n250 CHUNKING\r\n";
const ENVELOPE: &[u8] =
    b"EHLO c.example\r\nMAIL FROM:<a@c.example>\r\nRCPT TO:<b@mx.example>\r\nDATA\r\n";
const ENVELOPE_REPLIES: &str =
    "250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n354 End data with <CR><LF>.<CR><LF>\r\n";
const BARE: &str = "550 5.6.0 Bare LF/CR in message data refused (RFC 5321 2.3.8)\r\n";

fn strings(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

#[test]
fn smuggling_attempts_never_end_data() {
    // Each body hides a second transaction behind a fake terminator; only the
    // real CRLF.CRLF at the end ends DATA, and the message is refused.
    let fakes: &[&[u8]] = &[
        b"\n.\r\n", b"\r.\r", b"\r\n.\n", b"\n.\n", b"\r\n.\r", b"\r.\r\n",
    ];
    for fake in fakes {
        let mut input = ENVELOPE.to_vec();
        input.extend_from_slice(b"body");
        input.extend_from_slice(fake);
        input.extend_from_slice(b"MAIL FROM:<evil@x.example>\r\nRCPT TO:<victim@mx.example>\r\nDATA\r\nsmuggled\r\n.\r\nQUIT\r\n");
        let got = run_all_splits(config("mx.example"), &input);
        let want_body = if fake.starts_with(b"\r\n") {
            "Body body\r\n"
        } else {
            "Body body"
        };
        assert_eq!(
            got.events,
            strings(&[
                "MailFrom <a@c.example>",
                "RcptTo <b@mx.example>",
                "DataStart",
                want_body,
                "DataAborted BareLineEnding",
                "Reset"
            ]),
            "{fake:?}"
        );
        assert_eq!(
            got.output,
            format!("{GREETING}{EHLO_REPLY}{ENVELOPE_REPLIES}{BARE}221 2.0.0 Bye\r\n")
        );
    }
}

#[test]
fn bare_lf_in_lmtp_is_refused_once_per_recipient() {
    let cfg = ServerConfig {
        mode: Mode::Lmtp,
        ..config("mx.example")
    };
    let got = run_all_splits(
        cfg,
        b"LHLO c\r\nMAIL FROM:<>\r\nRCPT TO:<a@mx.example>\r\nRCPT TO:<b@mx.example>\r\nDATA\r\nx\ny\r\n.\r\nQUIT\r\n",
    );
    assert!(got.output.ends_with(&format!(
        "354 End data with <CR><LF>.<CR><LF>\r\n{BARE}{BARE}221 2.0.0 Bye\r\n"
    )));
    assert_eq!(got.events[0], "MailFrom <>");
}

#[test]
fn long_line_is_discarded_and_answered_once() {
    // Exactly max_line_length (4096, CRLF included) is fine, one more is not.
    let mut input = format!("NOOP {}\r\n", "x".repeat(4096 - 7)).into_bytes();
    input.extend_from_slice(format!("NOOP {}\r\n", "x".repeat(4096 - 6)).as_bytes());
    input.extend_from_slice(b"NOOP\r\nQUIT\r\n");
    let got = run_all_splits(config("mx.example"), &input);
    assert_eq!(
        got.output,
        format!(
            "{GREETING}250 2.0.0 OK\r\n500 5.5.2 Line too long\r\n250 2.0.0 OK\r\n221 2.0.0 Bye\r\n"
        )
    );
}

#[test]
fn line_without_lf_is_answered_at_once() {
    let mut s = ServerSession::new(config("mx.example"), Instant::now());
    let _ = transmit(&mut s);
    let junk = vec![b'x'; 10_000];
    assert_eq!(s.feed(&junk), 10_000);
    assert_eq!(transmit(&mut s), "500 5.5.2 Line too long\r\n");
    assert_eq!(s.feed(&junk), 10_000);
    assert_eq!(transmit(&mut s), "");
    assert_eq!(s.feed(b"\r\nNOOP\r\n"), 8);
    assert_eq!(transmit(&mut s), "250 2.0.0 OK\r\n");
}

#[test]
fn too_many_recipients() {
    let cfg = ServerConfig {
        limits: Limits {
            max_recipients: 2,
            ..Limits::default()
        },
        ..config("mx.example")
    };
    let got = run_all_splits(
        cfg,
        b"HELO c\r\nMAIL FROM:<a@c>\r\nRCPT TO:<b1@mx>\r\nRCPT TO:<b2@mx>\r\nRCPT TO:<b3@mx>\r\nQUIT\r\n",
    );
    assert_eq!(
        got.output,
        format!(
            "{GREETING}250 mx.example\r\n250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n250 2.1.5 Ok\r\n452 4.5.3 Too many recipients\r\n221 2.0.0 Bye\r\n"
        )
    );
    assert_eq!(
        got.events,
        strings(&[
            "MailFrom <a@c>",
            "RcptTo <b1@mx>",
            "RcptTo <b2@mx>",
            "Reset"
        ])
    );
}

fn small(max: u64) -> ServerConfig {
    ServerConfig {
        limits: Limits {
            max_message_size: max,
            ..Limits::default()
        },
        ..config("mx.example")
    }
}

#[test]
fn oversize_data_is_framed_to_its_end_then_refused() {
    let got = run_all_splits(
        small(10),
        b"HELO c\r\nMAIL FROM:<a@c> SIZE=11\r\nMAIL FROM:<a@c> SIZE=10\r\nRCPT TO:<b@mx>\r\nDATA\r\n0123456789\r\nQUIT\r\n.\r\nNOOP\r\nQUIT\r\n",
    );
    assert_eq!(
        got.output,
        format!(
            "{GREETING}250 mx.example\r\n552 5.3.4 Message size exceeds fixed maximum message size\r\n250 2.1.0 Ok\r\n\
             250 2.1.5 Ok\r\n354 End data with <CR><LF>.<CR><LF>\r\n552 5.3.4 Message size exceeds fixed maximum message size\r\n\
             250 2.0.0 OK\r\n221 2.0.0 Bye\r\n"
        )
    );
    assert_eq!(
        got.events,
        strings(&[
            "MailFrom <a@c> MailParams { size: Some(10), body: None, smtputf8: false, ret: None, envid: None, auth: None }",
            "RcptTo <b@mx>",
            "DataStart",
            "Body 0123456789",
            "DataAborted TooLarge",
            "Reset"
        ])
    );
}

#[test]
fn body_of_exactly_the_limit_is_accepted() {
    let got = run_all_splits(
        small(10),
        b"HELO c\r\nMAIL FROM:<a@c>\r\nRCPT TO:<b@mx>\r\nDATA\r\n01234567\r\n.\r\nQUIT\r\n",
    );
    assert!(
        got.output
            .ends_with("250 2.0.0 Ok: queued\r\n221 2.0.0 Bye\r\n"),
        "{}",
        got.output
    );
}

#[test]
fn oversize_bdat_is_discarded_then_refused() {
    let got = run_all_splits(
        small(10),
        b"EHLO c\r\nMAIL FROM:<a@c>\r\nRCPT TO:<b@mx>\r\nBDAT 8\r\n12345678BDAT 8 LAST\r\nQUIT\r\nxxBDAT 1 LAST\r\nzNOOP\r\n",
    );
    assert!(
        got.output.ends_with(
            "250 2.0.0 8 octets received\r\n552 5.3.4 Message size exceeds fixed maximum message size\r\n\
             503 5.5.1 Error: need MAIL command\r\n250 2.0.0 OK\r\n"
        ),
        "{}",
        got.output
    );
    assert_eq!(
        got.events,
        strings(&[
            "MailFrom <a@c>",
            "RcptTo <b@mx>",
            "DataStart",
            "Body 12345678",
            "DataAborted TooLarge",
            "Reset"
        ])
    );
    assert!(!got.closed);
}

#[test]
fn bad_commands_disconnect() {
    let cfg = ServerConfig {
        limits: Limits {
            max_bad_commands: 3,
            ..Limits::default()
        },
        ..config("mx.example")
    };
    let got = run_all_splits(cfg, b"FOO\r\nNOOP\r\nBAR\r\nBAZ\r\nNOOP\r\n");
    assert_eq!(
        got.output,
        format!(
            "{GREETING}500 5.5.2 Error: command not recognized\r\n250 2.0.0 OK\r\n500 5.5.2 Error: command not recognized\r\n\
             500 5.5.2 Error: command not recognized\r\n421 4.7.0 mx.example Error: too many errors\r\n"
        )
    );
    assert!(got.closed);
}

#[test]
fn failed_auth_disconnects() {
    let cfg = ServerConfig {
        tls_active: true,
        ..config("mx.example")
    };
    // alice/wrong three times (default max_auth_failures = 3).
    let got = run_all_splits(
        cfg,
        b"EHLO c\r\nAUTH PLAIN AGFsaWNlAHdyb25n\r\nAUTH LOGIN YWxpY2U=\r\nd3Jvbmc=\r\nAUTH PLAIN AGFsaWNlAHdyb25n\r\nNOOP\r\n",
    );
    assert!(
        got.output.ends_with(
            "535 5.7.8 Authentication credentials invalid\r\n334 UGFzc3dvcmQ6\r\n535 5.7.8 Authentication credentials invalid\r\n\
             535 5.7.8 Authentication credentials invalid\r\n421 4.7.0 mx.example Error: too many authentication failures\r\n"
        ),
        "{}",
        got.output
    );
    assert!(got.closed);
    assert_eq!(got.events.len(), 3);
}

#[test]
fn auth_refusals() {
    let cfg = ServerConfig {
        tls_active: true,
        ..config("mx.example")
    };
    let got = run_all_splits(
        cfg,
        b"EHLO c\r\nMAIL FROM:<a@c>\r\nAUTH PLAIN\r\nRSET\r\nAUTH PLAIN =\r\nAUTH LOGIN !!\r\nQUIT\r\n",
    );
    assert!(
        got.output.ends_with(
            "250 2.1.0 Ok\r\n503 5.5.1 Error: AUTH not allowed during a mail transaction\r\n250 2.0.0 OK\r\n\
             501 5.5.2 Cannot decode response\r\n501 5.5.2 Cannot decode response\r\n221 2.0.0 Bye\r\n"
        ),
        "{}",
        got.output
    );
    let none = ServerConfig {
        auth_mechanisms: vec![],
        ..config("mx.example")
    };
    let got = run(none, &whole(&[b"EHLO c\r\nAUTH PLAIN\r\n".to_vec()]));
    assert!(
        got.output
            .ends_with("250 CHUNKING\r\n502 5.5.1 Error: authentication not enabled\r\n")
    );
}

/// Drains output into a string.
fn transmit(session: &mut ServerSession) -> String {
    let mut out = BytesMut::new();
    while session.poll_transmit(&mut out) {}
    String::from_utf8(out.to_vec()).unwrap()
}

#[test]
fn starttls_discards_pipelined_bytes_and_resets() {
    let now = Instant::now();
    let cfg = ServerConfig {
        starttls: true,
        ..config("mx.example")
    };
    let mut s = ServerSession::new(cfg, now);
    assert_eq!(transmit(&mut s), GREETING);
    let input = b"EHLO c\r\nSTARTTLS\r\nMAIL FROM:<evil@x>\r\nRCPT TO:<";
    assert_eq!(s.feed(input), input.len());
    assert!(transmit(&mut s).ends_with("250 STARTTLS\r\n220 2.0.0 Ready to start TLS\r\n"));
    assert_eq!(
        s.poll_event(),
        Some(Event::SwitchTransport {
            kind: TransportKind::StartTls,
            leftover: bytes::Bytes::new()
        })
    );
    assert_eq!(s.poll_event(), None);
    assert_eq!(s.poll_timeout(), None);
    // Plaintext still arriving before the switch is dropped too.
    assert_eq!(s.feed(b"victim@x>\r\n"), 11);
    assert_eq!(transmit(&mut s), "");
    assert!(!s.tls_active());
    s.transport_switched(now);
    assert!(s.tls_active());
    assert_eq!(s.helo(), None);
    assert_eq!(s.poll_timeout(), Some(now + Duration::from_secs(300)));
    assert_eq!(s.feed(b"EHLO c\r\n"), 8);
    assert_eq!(s.helo(), Some("c"));
    assert!(s.is_esmtp());
    let ehlo = transmit(&mut s);
    assert!(!ehlo.contains("STARTTLS"));
    assert!(ehlo.ends_with("250-CHUNKING\r\n250 AUTH PLAIN LOGIN\r\n"));
    assert_eq!(s.feed(b"STARTTLS\r\n"), 10);
    assert_eq!(transmit(&mut s), "503 5.5.1 Error: TLS already active\r\n");
}

#[test]
fn idle_timeout() {
    let t0 = Instant::now();
    let mut s = ServerSession::new(config("mx.example"), t0);
    let _ = transmit(&mut s);
    assert_eq!(s.poll_timeout(), Some(t0 + Duration::from_secs(300)));
    s.handle_timeout(t0 + Duration::from_secs(299));
    assert_eq!(transmit(&mut s), "");
    // Input since the deadline was armed: re-armed, not expired.
    assert_eq!(s.feed(b"NOOP\r\n"), 6);
    assert_eq!(transmit(&mut s), "250 2.0.0 OK\r\n");
    s.handle_timeout(t0 + Duration::from_secs(300));
    assert_eq!(transmit(&mut s), "");
    assert_eq!(s.poll_timeout(), Some(t0 + Duration::from_secs(600)));
    s.handle_timeout(t0 + Duration::from_secs(600));
    assert!(!s.is_closed());
    assert_eq!(
        transmit(&mut s),
        "421 4.4.2 mx.example Error: timeout exceeded\r\n"
    );
    assert!(s.is_closed());
    assert_eq!(s.poll_timeout(), None);
}

#[test]
fn timeout_in_the_middle_of_a_body() {
    let t0 = Instant::now();
    let mut s = ServerSession::new(config("mx.example"), t0);
    let _ = transmit(&mut s);
    assert_eq!(s.feed(b"HELO c\r\nMAIL FROM:<a@c>\r\n"), 25);
    let Some(Event::MailFrom { id, .. }) = s.poll_event() else {
        panic!()
    };
    // The deadline stays armed while the session waits for the adapter.
    assert_eq!(s.poll_timeout(), Some(t0 + Duration::from_secs(300)));
    s.respond(id, Reply::new(250, "2.1.0", "Ok")).unwrap();
    assert_eq!(s.feed(b"RCPT TO:<b@mx>\r\n"), 16);
    let Some(Event::RcptTo { id, .. }) = s.poll_event() else {
        panic!()
    };
    s.respond(id, Reply::new(250, "2.1.5", "Ok")).unwrap();
    assert_eq!(s.feed(b"DATA\r\npartial"), 13);
    let _ = transmit(&mut s);
    assert_eq!(s.poll_event(), Some(Event::DataStart));
    assert_eq!(
        s.poll_event(),
        Some(Event::BodyChunk(bytes::Bytes::from_static(b"partial")))
    );
    s.handle_timeout(t0 + Duration::from_secs(300)); // re-armed: input arrived
    s.handle_timeout(t0 + Duration::from_secs(600));
    assert_eq!(
        s.poll_event(),
        Some(Event::DataAborted {
            reason: AbortReason::Timeout
        })
    );
    assert_eq!(s.poll_event(), Some(Event::Reset));
    assert_eq!(
        transmit(&mut s),
        "421 4.4.2 mx.example Error: timeout exceeded\r\n"
    );
    assert!(s.is_closed());
}

#[test]
fn a_session_waiting_for_an_answer_still_times_out() {
    // A lost or misrouted answer must not hold the connection forever: the
    // idle timer runs while the session waits, and an answer counts as
    // activity like input does.
    let t0 = Instant::now();
    let mut s = ServerSession::new(config("mx.example"), t0);
    let _ = transmit(&mut s);
    assert_eq!(s.feed(b"HELO c\r\nMAIL FROM:<a@c>\r\n"), 25);
    let Some(Event::MailFrom { id, .. }) = s.poll_event() else {
        panic!("no MailFrom")
    };
    let _ = transmit(&mut s);
    s.respond(id, Reply::new(250, "2.1.0", "Ok")).unwrap();
    assert_eq!(transmit(&mut s), "250 2.1.0 Ok\r\n");
    assert_eq!(s.feed(b"RCPT TO:<b@mx>\r\n"), 16);
    let Some(Event::RcptTo { id, .. }) = s.poll_event() else {
        panic!("no RcptTo")
    };
    assert_eq!(s.poll_timeout(), Some(t0 + Duration::from_secs(300)));
    // Input arrived since the deadline was armed: re-armed once ...
    s.handle_timeout(t0 + Duration::from_secs(300));
    assert_eq!(transmit(&mut s), "");
    assert_eq!(s.poll_timeout(), Some(t0 + Duration::from_secs(600)));
    // ... then a whole idle period without the answer: 421 and closed.
    s.handle_timeout(t0 + Duration::from_secs(600));
    assert_eq!(s.poll_event(), Some(Event::Reset));
    assert_eq!(
        transmit(&mut s),
        "421 4.4.2 mx.example Error: timeout exceeded\r\n"
    );
    assert!(s.is_closed());
    assert_eq!(s.poll_timeout(), None);
    // The late answer is handed back.
    assert_eq!(
        s.respond(id, Reply::new(250, "2.1.5", "Ok")),
        Err(Reply::new(250, "2.1.5", "Ok"))
    );
}

#[test]
fn answers_in_the_wrong_state_are_handed_back() {
    let now = Instant::now();
    let mut s = ServerSession::new(config("mx.example"), now);
    let _ = transmit(&mut s);
    let input = b"EHLO c\r\nMAIL FROM:<a@c>\r\nRCPT TO:<b@mx>\r\n";
    // Stops right after MAIL: the RCPT line waits for the answer.
    assert_eq!(s.feed(input), 25);
    assert_eq!(s.feed(&input[25..]), 0);
    let Some(Event::MailFrom {
        id, reverse_path, ..
    }) = s.poll_event()
    else {
        panic!()
    };
    assert_eq!(reverse_path.as_deref(), Some("a@c"));
    let wrong = smtp_proto::RequestId::clone(&id);
    assert_eq!(s.respond_lmtp(wrong, vec![]), Err(vec![]));
    s.respond(id, Reply::new(250, "2.1.0", "Ok")).unwrap();
    let again = Reply::new(250, "2.1.0", "again");
    assert_eq!(s.respond(id, again.clone()), Err(again));
    assert_eq!(s.feed(&input[25..]), 16);
    let Some(Event::RcptTo { id: rcpt, .. }) = s.poll_event() else {
        panic!()
    };
    assert_ne!(rcpt, id);
    assert_eq!(
        s.respond(id, Reply::new(250, "", "x")).map_err(|r| r.code),
        Err(250)
    );
    // An adapter's 421 closes the session.
    s.respond(rcpt, Reply::new(421, "4.3.0", "mx.example shutting down"))
        .unwrap();
    assert_eq!(s.poll_event(), Some(Event::Reset));
    assert!(transmit(&mut s).ends_with("421 4.3.0 mx.example shutting down\r\n"));
    assert!(s.is_closed());
}

#[test]
fn lmtp_answer_count_is_checked() {
    let now = Instant::now();
    let cfg = ServerConfig {
        mode: Mode::Lmtp,
        ..config("mx.example")
    };
    let mut s = ServerSession::new(cfg, now);
    let _ = transmit(&mut s);
    let mut input: &[u8] =
        b"LHLO c\r\nMAIL FROM:<a@c>\r\nRCPT TO:<b@mx>\r\nRCPT TO:<c@mx>\r\nDATA\r\nhi\r\n.\r\n";
    let mut data_end = None;
    while data_end.is_none() {
        let used = s.feed(input);
        input = &input[used..];
        while let Some(event) = s.poll_event() {
            match event {
                Event::MailFrom { id, .. } | Event::RcptTo { id, .. } => {
                    s.respond(id, Reply::new(250, "2.0.0", "Ok")).unwrap()
                }
                Event::DataEnd { id } => data_end = Some(id),
                _ => {}
            }
        }
    }
    let id = data_end.unwrap();
    let one = vec![Reply::new(250, "2.0.0", "a")];
    assert_eq!(s.respond_lmtp(id, one.clone()), Err(one));
    s.respond_lmtp(
        id,
        vec![
            Reply::new(250, "2.0.0", "b ok"),
            Reply::new(452, "4.2.2", "c full"),
        ],
    )
    .unwrap();
    assert!(transmit(&mut s).ends_with(
        "354 End data with <CR><LF>.<CR><LF>\r\n250 2.0.0 b ok\r\n452 4.2.2 c full\r\n"
    ));
}

#[test]
fn backpressure_on_pending_output() {
    let cfg = ServerConfig {
        limits: Limits {
            max_pending_output: 10,
            ..Limits::default()
        },
        ..config("mx.example")
    };
    let mut s = ServerSession::new(cfg, Instant::now());
    let input = b"NOOP\r\nNOOP\r\n";
    assert_eq!(s.feed(input), 0, "greeting not drained");
    assert_eq!(transmit(&mut s), GREETING);
    assert_eq!(s.feed(input), 6);
    assert_eq!(s.feed(&input[6..]), 0);
    assert_eq!(transmit(&mut s), "250 2.0.0 OK\r\n");
    assert_eq!(s.feed(&input[6..]), 6);
}

#[test]
fn backpressure_on_queued_body() {
    let cfg = ServerConfig {
        limits: Limits {
            max_pending_output: 64,
            ..Limits::default()
        },
        ..config("mx.example")
    };
    let mut s = ServerSession::new(cfg, Instant::now());
    let _ = transmit(&mut s);
    let mut input: &[u8] = b"HELO c\r\nMAIL FROM:<a@c>\r\nRCPT TO:<b@mx>\r\nDATA\r\n";
    while !input.is_empty() {
        input = &input[s.feed(input)..];
        let _ = transmit(&mut s);
        while let Some(event) = s.poll_event() {
            if let Event::MailFrom { id, .. } | Event::RcptTo { id, .. } = event {
                s.respond(id, Reply::new(250, "2.0.0", "Ok")).unwrap();
            }
        }
    }
    let body = vec![b'x'; 100];
    assert_eq!(s.feed(&body), 100);
    assert_eq!(s.feed(&body), 0, "100 body bytes are queued, above 64");
    assert_eq!(
        s.poll_event(),
        Some(Event::BodyChunk(bytes::Bytes::from(body.clone())))
    );
    assert_eq!(s.feed(&body), 100);
}

#[test]
fn refuse_sends_one_reply_and_closes() {
    let mut s = ServerSession::refuse(
        config("mx.example"),
        Reply::new(421, "4.7.0", "mx.example Too many connections"),
        Instant::now(),
    );
    assert!(!s.is_closed());
    assert_eq!(s.feed(b"EHLO c\r\n"), 8);
    assert_eq!(
        transmit(&mut s),
        "421 4.7.0 mx.example Too many connections\r\n"
    );
    assert!(s.is_closed());
    assert_eq!(s.poll_event(), None);
}

#[test]
fn resets_on_rset_and_helo() {
    let got = run_all_splits(
        config("mx.example"),
        b"HELO c\r\nRSET\r\nMAIL FROM:<a@c>\r\nEHLO c\r\nMAIL FROM:<a@c>\r\nQUIT\r\n",
    );
    assert_eq!(
        got.events,
        strings(&[
            "Reset",
            "MailFrom <a@c>",
            "Reset",
            "MailFrom <a@c>",
            "Reset"
        ])
    );
}

#[test]
fn secret_never_in_debug_of_events() {
    let now = Instant::now();
    let cfg = ServerConfig {
        tls_active: true,
        ..config("mx.example")
    };
    let mut s = ServerSession::new(cfg, now);
    let _ = s.feed(b"EHLO c\r\nAUTH PLAIN AGFsaWNlAHNlY3JldA==\r\n");
    let event = s.poll_event().unwrap();
    let debug = format!("{event:?}");
    assert!(!debug.contains("secret"), "{debug}");
    assert!(debug.contains("Secret(***)"), "{debug}");
}
