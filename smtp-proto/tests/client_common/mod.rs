//! The client transcript runner: a script of "S:" server replies, "C:"
//! expected client output, "E:" events, "A:" answers to `Ready` and "B:"
//! body lines, replayed at any chunking of the server input.
#![allow(dead_code)]

use std::collections::VecDeque;
use std::time::Instant;

use bytes::BytesMut;
use smtp_proto::client::{
    Action, ClientConfig, ClientEvent, ClientSession, Credentials, Envelope, Outcome, Recipient,
};
use smtp_proto::{BodyType, Mechanism, Notify, Ret, Secret};

use crate::common::{bytewise, split, whole};

/// A parsed client script.
pub struct Script {
    /// Server input, one segment per transport.
    pub segments: Vec<Vec<u8>>,
    /// The expected client output ("C:" lines with CRLF).
    pub output: String,
    /// The expected event log ("E:" lines).
    pub events: Vec<String>,
    /// Answers to `Ready`, in order ("A:" lines).
    pub actions: Vec<String>,
    /// The body sent after `SendBody` ("B:" lines with CRLF).
    pub body: Vec<u8>,
}

/// Parses a script.
pub fn script(text: &str) -> Script {
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
pub fn action(text: &str, body_len: usize) -> Action {
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

/// `delivered:250:2.0.0` for an outcome.
pub fn outcome(o: &Outcome) -> String {
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

/// One event-log line.
pub fn log(event: &ClientEvent) -> String {
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
pub fn run(
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

/// Runs the script whole, cut at every byte and byte by byte; all runs
/// must give the script's output and events.
pub fn check_all_splits(config: ClientConfig, text: &str) {
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
