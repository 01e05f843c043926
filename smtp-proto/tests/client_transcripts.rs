//! Client transcripts: the server's replies ("S:") fed to the client
//! session whole, split at every byte, byte by byte and at random split
//! points (proptest); the client's output must be the "C:" lines and its
//! events the "E:" lines every time. "A:" lines are the adapter's answers
//! to `Ready`, in order; "B:" lines are the body (CRLF added) sent after
//! `SendBody`; "--- TLS ---" marks where the transport switches.

mod common;

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use bytes::BytesMut;
use common::{bytewise, split, whole};
use proptest::prelude::*;
use smtp_proto::client::{
    Action, ClientConfig, ClientError, ClientEvent, ClientSession, Credentials, Envelope, Outcome,
    Recipient, Stage,
};
use smtp_proto::{BodyType, Mechanism, Mode, Notify, Ret, Secret};

struct Script {
    /// Server input, one segment per transport.
    segments: Vec<Vec<u8>>,
    output: String,
    events: Vec<String>,
    actions: Vec<String>,
    body: Vec<u8>,
}

fn script(text: &str) -> Script {
    let mut s = Script {
        segments: vec![Vec::new()],
        output: String::new(),
        events: Vec::new(),
        actions: Vec::new(),
        body: Vec::new(),
    };
    for line in text.lines() {
        let line = line.trim_start();
        if line.is_empty() {
            continue;
        }
        if line == "--- TLS ---" {
            s.segments.push(Vec::new());
        } else if let Some(r) = line.strip_prefix("S: ") {
            let seg = s.segments.last_mut().unwrap();
            seg.extend_from_slice(r.as_bytes());
            seg.extend_from_slice(b"\r\n");
        } else if let Some(c) = line.strip_prefix("C: ") {
            s.output.push_str(c);
            s.output.push_str("\r\n");
        } else if let Some(e) = line.strip_prefix("E: ") {
            s.events.push(e.to_owned());
        } else if let Some(a) = line.strip_prefix("A: ") {
            s.actions.push(a.to_owned());
        } else if let Some(b) = line.strip_prefix("B: ") {
            s.body.extend_from_slice(b.as_bytes());
            s.body.extend_from_slice(b"\r\n");
        } else {
            panic!("bad script line {line:?}");
        }
    }
    s
}

/// `MAIL <from> <to>... [size=N] [8bit] [binary] [utf8] [dsn]`, `AUTH
/// PLAIN|LOGIN user pass`, `STARTTLS`, `QUIT`.
fn action(text: &str, body_len: usize) -> Action {
    let words: Vec<&str> = text.split(' ').collect();
    match words[0] {
        "STARTTLS" => Action::StartTls,
        "QUIT" => Action::Quit,
        "AUTH" => Action::Auth(Credentials {
            mechanism: Mechanism::from_name(words[1]).unwrap(),
            username: words[2].into(),
            password: Secret::new(words[3].into()),
        }),
        "MAIL" => {
            let from = words[1].trim_matches(['<', '>']);
            let mut env = Envelope::new(
                (!from.is_empty()).then(|| from.to_owned()),
                Vec::new(),
                body_len as u64,
            );
            for w in &words[2..] {
                if let Some(n) = w.strip_prefix("size=") {
                    env.size = n.parse().unwrap();
                } else if *w == "8bit" {
                    env.body = BodyType::EightBitMime;
                } else if *w == "binary" {
                    env.body = BodyType::BinaryMime;
                } else if *w == "utf8" {
                    env.smtputf8 = true;
                } else if *w == "dsn" {
                    env.ret = Some(Ret::Hdrs);
                    env.envid = Some("QQ 314".into());
                    for r in &mut env.recipients {
                        r.notify = Some(vec![Notify::Success, Notify::Failure]);
                        r.orcpt = Some(format!("rfc822;{}", r.forward_path));
                    }
                } else {
                    env.recipients
                        .push(Recipient::new(w.trim_matches(['<', '>'])));
                }
            }
            Action::Mail(env)
        }
        other => panic!("bad action {other}"),
    }
}

fn outcome(o: &Outcome) -> String {
    let (kind, r) = match o {
        Outcome::Delivered(r) => ("delivered", r),
        Outcome::Temporary(r) => ("temporary", r),
        Outcome::Permanent(r) => ("permanent", r),
    };
    match r.enhanced {
        Some(e) => format!("{kind}:{}:{e}", r.code),
        None => format!("{kind}:{}", r.code),
    }
}

fn log(event: &ClientEvent) -> String {
    match event {
        ClientEvent::Ready { .. } => "Ready".into(),
        ClientEvent::Refused { stage, reply } => format!("Refused {stage} {}", reply.code),
        ClientEvent::Authenticated => "Authenticated".into(),
        ClientEvent::SwitchTransport { kind, leftover } => {
            assert!(leftover.is_empty());
            format!("SwitchTransport {kind:?}")
        }
        ClientEvent::RcptReply { index, reply } => format!("Rcpt {index} {}", reply.code),
        ClientEvent::SendBody => "SendBody".into(),
        ClientEvent::TransactionDone(r) => {
            let list: Vec<String> = r.outcomes.iter().map(outcome).collect();
            format!("Done {}{}", list.join(" "), if r.dsn { " dsn" } else { "" })
        }
        ClientEvent::Failed(e) => format!("Failed {e:?}"),
        other => format!("{other:?}"),
    }
}

/// Runs the script with the server input in the given chunks, and the body
/// offered in pieces of `body_piece` bytes. Returns (output, events).
fn run(
    config: &ClientConfig,
    s: &Script,
    chunks: &[Vec<Vec<u8>>],
    body_piece: usize,
) -> (String, Vec<String>) {
    let now = Instant::now();
    let mut client = ClientSession::new(config.clone(), now);
    let mut actions: VecDeque<&String> = s.actions.iter().collect();
    let mut out = BytesMut::new();
    let mut events = Vec::new();
    let mut segments = chunks.iter();
    let mut pending: VecDeque<Vec<u8>> = segments.next().unwrap().iter().cloned().collect();
    let mut body_left: Option<&[u8]> = None;
    for _round in 0..100_000 {
        let mut progressed = false;
        loop {
            let mut any = false;
            while client.poll_transmit(&mut out) {
                any = true;
            }
            while let Some(event) = client.poll_event(now) {
                any = true;
                events.push(log(&event));
                match event {
                    ClientEvent::Ready { id } => {
                        let a = actions.pop_front().expect("an action for Ready");
                        client.respond(id, action(a, s.body.len())).unwrap();
                    }
                    ClientEvent::SwitchTransport { .. } => {
                        pending = segments
                            .next()
                            .expect("a segment after TLS")
                            .iter()
                            .cloned()
                            .collect();
                        client.transport_switched(now);
                    }
                    ClientEvent::SendBody => body_left = Some(&s.body),
                    _ => {}
                }
            }
            if !any {
                break;
            }
            progressed = true;
        }
        if client.is_closed() {
            break;
        }
        if let Some(body) = body_left.as_mut() {
            if client.wants_body() {
                let piece = &body[..body.len().min(body_piece.max(1))];
                if piece.is_empty() {
                    assert!(client.end_body());
                    body_left = None;
                    progressed = true;
                } else {
                    let used = client.send_body(piece);
                    *body = &body[used..];
                    progressed |= used > 0;
                }
            } else {
                body_left = None;
            }
        }
        if let Some(chunk) = pending.front_mut() {
            let used = client.feed(chunk);
            chunk.drain(..used);
            if chunk.is_empty() {
                pending.pop_front();
            }
            progressed |= used > 0;
        }
        if !progressed && pending.is_empty() {
            // The server said everything: the connection ends.
            client.handle_eof();
            progressed = true;
        }
        assert!(progressed, "client stuck; events so far {events:?}");
    }
    assert!(
        client.is_closed(),
        "client did not finish; events {events:?}"
    );
    (String::from_utf8(out.to_vec()).unwrap(), events)
}

fn check_all_splits(config: ClientConfig, text: &str) {
    let s = script(text);
    let want = (s.output.clone(), s.events.clone());
    let got = run(&config, &s, &whole(&s.segments), usize::MAX);
    assert_eq!(got.0, want.0, "output, whole");
    assert_eq!(got.1, want.1, "events, whole");
    let total: usize = s.segments.iter().map(Vec::len).sum();
    for cut in 0..=total {
        let got = run(&config, &s, &split(&s.segments, &[cut]), cut.max(1));
        assert_eq!(got, want, "cut at {cut}");
    }
    assert_eq!(
        run(&config, &s, &bytewise(&s.segments), 1),
        want,
        "byte by byte"
    );
}

const EHLO_FULL: &str = "S: 250-mx.example
S: 250-PIPELINING
S: 250-SIZE 1000000
S: 250-8BITMIME
S: 250-SMTPUTF8
S: 250-ENHANCEDSTATUSCODES
S: 250 DSN";

fn cfg() -> ClientConfig {
    ClientConfig::new("client.example")
}

#[test]
fn pipelined_transaction_with_a_refused_recipient() {
    // RFC 2920 §3.2 shape: MAIL, RCPTs and DATA in one group.
    check_all_splits(
        cfg(),
        &format!(
            "S: 220 mx.example ESMTP
C: EHLO client.example
{EHLO_FULL}
E: Ready
A: MAIL <Smith@bar.com> <Jones@foo.com> <Green@foo.com> <Brown@foo.com>
C: MAIL FROM:<Smith@bar.com> SIZE=38
C: RCPT TO:<Jones@foo.com>
C: RCPT TO:<Green@foo.com>
C: RCPT TO:<Brown@foo.com>
C: DATA
S: 250 2.1.0 Ok
S: 250 2.1.5 Ok
E: Rcpt 0 250
S: 550 5.1.1 No such user here
E: Rcpt 1 550
S: 250 2.1.5 Ok
E: Rcpt 2 250
S: 354 End data with <CR><LF>.<CR><LF>
E: SendBody
B: Blah blah blah...
B: ...etc. etc. etc.
C: Blah blah blah...
C: ....etc. etc. etc.
C: .
S: 250 2.0.0 Ok: queued
E: Done delivered:250:2.0.0 permanent:550:5.1.1 delivered:250:2.0.0 dsn
E: Ready
A: QUIT
C: QUIT
S: 221 2.0.0 Bye"
        ),
    );
}

#[test]
fn without_pipelining_one_command_at_a_time_and_helo_fallback() {
    check_all_splits(
        cfg(),
        "S: 220 old.example SMTP
C: EHLO client.example
S: 500 Command unrecognized
C: HELO client.example
S: 250 old.example
E: Ready
A: MAIL <a@client.example> <x@old.example> <y@old.example>
C: MAIL FROM:<a@client.example>
S: 250 ok
C: RCPT TO:<x@old.example>
S: 450 try later
E: Rcpt 0 450
C: RCPT TO:<y@old.example>
S: 250 ok
E: Rcpt 1 250
C: DATA
S: 354 go
E: SendBody
B: .
C: ..
C: .
S: 250 accepted
E: Done temporary:450 delivered:250
E: Ready
A: MAIL <> <z@old.example>
C: MAIL FROM:<>
S: 250 ok
C: RCPT TO:<z@old.example>
S: 550 no
E: Rcpt 0 550
C: RSET
S: 250 ok
E: Done permanent:550
E: Ready
A: QUIT
C: QUIT
S: 221 bye",
    );
}

#[test]
fn starttls_then_auth_plain_and_login() {
    check_all_splits(
        cfg(),
        "S: 220 mx.example ESMTP
C: EHLO client.example
S: 250-mx.example
S: 250-STARTTLS
S: 250 AUTH PLAIN LOGIN
E: Ready
A: STARTTLS
C: STARTTLS
S: 220 2.0.0 Ready to start TLS
S: 250 injected-after-220
E: SwitchTransport StartTls
--- TLS ---
C: EHLO client.example
S: 250-mx.example
S: 250 AUTH PLAIN LOGIN
E: Ready
A: AUTH PLAIN alice wrong
C: AUTH PLAIN AGFsaWNlAHdyb25n
S: 535 5.7.8 Authentication credentials invalid
E: Refused AUTH 535
E: Ready
A: AUTH LOGIN alice secret
C: AUTH LOGIN
S: 334 VXNlcm5hbWU6
C: YWxpY2U=
S: 334 UGFzc3dvcmQ6
C: c2VjcmV0
S: 235 2.7.0 Authentication successful
E: Authenticated
E: Ready
A: QUIT
C: QUIT
S: 221 2.0.0 Bye",
    );
}

#[test]
fn refused_starttls_leaves_the_session_usable() {
    check_all_splits(
        cfg(),
        "S: 220 mx.example ESMTP
C: EHLO client.example
S: 250-mx.example
S: 250 STARTTLS
E: Ready
A: STARTTLS
C: STARTTLS
S: 454 4.7.0 TLS not available due to temporary reason
E: Refused STARTTLS 454
E: Ready
A: QUIT
C: QUIT
S: 221 2.0.0 Bye",
    );
}

#[test]
fn chunking_pipelined_in_several_chunks() {
    let mut config = cfg();
    config.limits.bdat_chunk_size = 10;
    check_all_splits(
        config,
        "S: 220 mx.example ESMTP
C: EHLO client.example
S: 250-mx.example
S: 250-PIPELINING
S: 250-8BITMIME
S: 250 CHUNKING
E: Ready
A: MAIL <a@c> <b@mx> 8bit
C: MAIL FROM:<a@c> BODY=8BITMIME
C: RCPT TO:<b@mx>
S: 250 2.1.0 Ok
S: 250 2.1.5 Ok
E: Rcpt 0 250
E: SendBody
B: 0123456789abcd
B: .x
C: BDAT 10
C: 0123456789BDAT 10
C: abcd
C: .x
C: BDAT 0 LAST
S: 250 2.0.0 10 octets received
S: 250 2.0.0 10 octets received
S: 250 2.0.0 Ok: queued
E: Done delivered:250:2.0.0
E: Ready
A: QUIT
C: QUIT
S: 221 2.0.0 Bye",
    );
}

#[test]
fn chunking_without_pipelining_waits_for_each_chunk() {
    let mut config = cfg();
    config.limits.bdat_chunk_size = 8;
    check_all_splits(
        config,
        "S: 220 mx.example ESMTP
C: EHLO client.example
S: 250-mx.example
S: 250 CHUNKING
E: Ready
A: MAIL <a@c> <b@mx>
C: MAIL FROM:<a@c>
S: 250 2.1.0 Ok
C: RCPT TO:<b@mx>
S: 250 2.1.5 Ok
E: Rcpt 0 250
E: SendBody
B: 0123456789
C: BDAT 8
C: 01234567BDAT 4 LAST
C: 89
S: 250 2.0.0 8 octets received
S: 554 5.6.0 Rejected
E: Done permanent:554:5.6.0
E: Ready
A: QUIT
C: QUIT
S: 221 2.0.0 Bye",
    );
}

#[test]
fn a_refused_chunk_stops_the_body() {
    let mut config = cfg();
    config.limits.bdat_chunk_size = 4;
    check_all_splits(
        config,
        "S: 220 mx.example ESMTP
C: EHLO client.example
S: 250-mx.example
S: 250 CHUNKING
E: Ready
A: MAIL <a@c> <b@mx>
C: MAIL FROM:<a@c>
S: 250 2.1.0 Ok
C: RCPT TO:<b@mx>
S: 250 2.1.5 Ok
E: Rcpt 0 250
E: SendBody
B: 0123456789
C: BDAT 4
C: 0123RSET
S: 452 4.3.1 Insufficient system storage
S: 250 2.0.0 Ok
E: Done temporary:452:4.3.1
E: Ready
A: QUIT
C: QUIT
S: 221 2.0.0 Bye",
    );
}

#[test]
fn lmtp_gives_one_reply_per_accepted_recipient() {
    let mut config = cfg();
    config.mode = Mode::Lmtp;
    check_all_splits(
        config,
        "S: 220 lmtp.example LMTP
C: LHLO client.example
S: 250-lmtp.example
S: 250-PIPELINING
S: 250 ENHANCEDSTATUSCODES
E: Ready
A: MAIL <a@c> <one@l> <nobody@l> <full@l> <two@l>
C: MAIL FROM:<a@c>
C: RCPT TO:<one@l>
C: RCPT TO:<nobody@l>
C: RCPT TO:<full@l>
C: RCPT TO:<two@l>
C: DATA
S: 250 2.1.0 Ok
S: 250 2.1.5 Ok
E: Rcpt 0 250
S: 550 5.1.1 No such user
E: Rcpt 1 550
S: 250 2.1.5 Ok
E: Rcpt 2 250
S: 250 2.1.5 Ok
E: Rcpt 3 250
S: 354 go
E: SendBody
B: hi
C: hi
C: .
S: 250 2.0.0 <one@l> delivered
S: 452 4.2.2 <full@l> Mailbox full
S: 250 2.0.0 <two@l> delivered
E: Done delivered:250:2.0.0 permanent:550:5.1.1 temporary:452:4.2.2 delivered:250:2.0.0
E: Ready
A: QUIT
C: QUIT
S: 221 2.0.0 Bye",
    );
}

#[test]
fn dsn_smtputf8_and_size_parameters_when_offered() {
    check_all_splits(
        cfg(),
        &format!(
            "S: 220 mx.example ESMTP
C: EHLO client.example
{EHLO_FULL}
E: Ready
A: MAIL <用户@例子.广告> <b@mx> 8bit dsn
C: MAIL FROM:<用户@例子.广告> SIZE=5 BODY=8BITMIME SMTPUTF8 RET=HDRS ENVID=QQ+20314
C: RCPT TO:<b@mx> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;b@mx
C: DATA
S: 250 2.1.0 Ok
S: 250 2.1.5 Ok
E: Rcpt 0 250
S: 354 go
E: SendBody
B: hé
C: hé
C: .
S: 250 2.0.0 Ok
E: Done delivered:250:2.0.0 dsn
E: Ready
A: QUIT
C: QUIT
S: 221 2.0.0 Bye"
        ),
    );
}

#[test]
fn requirements_the_server_cannot_meet_fail_without_mail() {
    // No 8BITMIME, no SMTPUTF8, SIZE 100, no DSN: parameters are dropped.
    check_all_splits(
        cfg(),
        "S: 220 mx.example ESMTP
C: EHLO client.example
S: 250-mx.example
S: 250-PIPELINING
S: 250 SIZE 100
E: Ready
A: MAIL <a@c> <b@mx> <c@mx> 8bit
E: Done permanent:554:5.6.3 permanent:554:5.6.3
E: Ready
A: MAIL <a@c> <ü@mx>
E: Done permanent:553:5.6.7
E: Ready
A: MAIL <a@c> <b@mx> utf8
E: Done permanent:553:5.6.7
E: Ready
A: MAIL <a@c> <b@mx> size=101
E: Done permanent:552:5.3.4
E: Ready
A: MAIL <a@c> <b@mx> binary
E: Done permanent:554:5.6.3
E: Ready
A: MAIL <a@c> <b@mx> dsn
C: MAIL FROM:<a@c> SIZE=4
C: RCPT TO:<b@mx>
C: DATA
S: 250 ok
S: 250 ok
E: Rcpt 0 250
S: 354 go
E: SendBody
B: hi
C: hi
C: .
S: 250 ok
E: Done delivered:250
E: Ready
A: QUIT
C: QUIT
S: 221 bye",
    );
}

#[test]
fn refused_mail_from_is_every_recipients_outcome() {
    check_all_splits(
        cfg(),
        "S: 220 mx.example ESMTP
C: EHLO client.example
S: 250-mx.example
S: 250 PIPELINING
E: Ready
A: MAIL <spam@c> <b@mx> <c@mx>
C: MAIL FROM:<spam@c>
C: RCPT TO:<b@mx>
C: RCPT TO:<c@mx>
C: DATA
S: 550 5.7.1 Sender rejected
S: 503 5.5.1 Error: need MAIL command
E: Rcpt 0 503
S: 503 5.5.1 Error: need MAIL command
E: Rcpt 1 503
S: 503 5.5.1 Error: need MAIL command
E: Done permanent:550:5.7.1 permanent:550:5.7.1
E: Ready
A: MAIL <a@c> <x@mx>
C: MAIL FROM:<a@c>
C: RCPT TO:<x@mx>
C: DATA
S: 250 ok
S: 550 5.1.1 unknown
E: Rcpt 0 550
S: 554 5.5.1 Error: no valid recipients
C: RSET
S: 250 ok
E: Done permanent:550:5.1.1
E: Ready
A: QUIT
C: QUIT
S: 221 bye",
    );
}

#[test]
fn greeting_refused_sends_quit_and_fails() {
    check_all_splits(
        cfg(),
        "S: 554 5.3.2 No SMTP service here
C: QUIT
E: Failed Refused(Greeting, Reply { code: 554, enhanced: Some(EnhancedCode { class: 5, subject: 3, detail: 2 }), lines: [\"No SMTP service here\"] })",
    );
}

#[test]
fn service_closing_mid_transaction_is_temporary_for_open_recipients() {
    check_all_splits(
        cfg(),
        "S: 220 mx.example ESMTP
C: EHLO client.example
S: 250-mx.example
S: 250 PIPELINING
E: Ready
A: MAIL <a@c> <b@mx> <bad@mx>
C: MAIL FROM:<a@c>
C: RCPT TO:<b@mx>
C: RCPT TO:<bad@mx>
C: DATA
S: 250 ok
S: 250 ok
E: Rcpt 0 250
S: 550 5.1.1 unknown
E: Rcpt 1 550
S: 421 4.3.2 Shutting down
E: Done temporary:421:4.3.2 permanent:550:5.1.1
E: Failed ServiceClosing(Reply { code: 421, enhanced: Some(EnhancedCode { class: 4, subject: 3, detail: 2 }), lines: [\"Shutting down\"] })",
    );
}

#[test]
fn connection_lost_mid_data_is_temporary() {
    check_all_splits(
        cfg(),
        "S: 220 mx.example ESMTP
C: EHLO client.example
S: 250-mx.example
S: 250 PIPELINING
E: Ready
A: MAIL <a@c> <b@mx>
C: MAIL FROM:<a@c>
C: RCPT TO:<b@mx>
C: DATA
S: 250 ok
S: 250 ok
E: Rcpt 0 250
S: 354 go
E: SendBody
B: some body
C: some body
C: .
E: Done temporary:451:4.4.2
E: Failed ConnectionClosed(DataEnd)",
    );
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

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]
    #[test]
    fn random_split_points_give_the_same_run(cuts in proptest::collection::vec(0usize..400, 0..6), piece in 1usize..20) {
        let text = format!(
            "S: 220 mx.example ESMTP
C: EHLO client.example
{EHLO_FULL}
E: Ready
A: MAIL <Smith@bar.com> <Jones@foo.com> <Green@foo.com>
C: MAIL FROM:<Smith@bar.com> SIZE=9
C: RCPT TO:<Jones@foo.com>
C: RCPT TO:<Green@foo.com>
C: DATA
S: 250 2.1.0 Ok
S: 250 2.1.5 Ok
E: Rcpt 0 250
S: 550 5.1.1 No
E: Rcpt 1 550
S: 354 go
E: SendBody
B: .a
B: ..b
C: ..a
C: ...b
C: .
S: 250 2.0.0 Ok
E: Done delivered:250:2.0.0 permanent:550:5.1.1 dsn
E: Ready
A: QUIT
C: QUIT
S: 221 2.0.0 Bye");
        let s = script(&text);
        let got = run(&cfg(), &s, &split(&s.segments, &cuts), piece);
        prop_assert_eq!(got, (s.output.clone(), s.events.clone()));
    }
}
