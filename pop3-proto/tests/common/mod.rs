//! A canned-answer adapter and a transcript runner shared by the tests.
#![allow(dead_code)]

use std::time::{Duration, Instant};

use bytes::BytesMut;
use pop3_proto::{
    AuthAnswer, Event, MaildropEntry, MessageProgress, Response, ResponseCode, ServerConfig,
    ServerSession,
};

/// The maildrop every canned login sees.
pub fn messages() -> Vec<(Vec<u8>, String)> {
    vec![
        (
            sized(b"Subject: one\r\n\r\n.dot line\r\nbody\r\n", 120),
            "whqtswO00WBw418f9t5JxYwZ".into(),
        ),
        (
            sized(
                b"Subject: two\r\nX: y\r\n\r\nfirst\r\n..two dots\r\nthird\r\n",
                200,
            ),
            "QhdPYR:00WBw1Ph7x7".into(),
        ),
    ]
}

/// `prefix` padded with `x` lines to exactly `size` octets.
fn sized(prefix: &[u8], size: usize) -> Vec<u8> {
    let mut message = prefix.to_vec();
    while message.len() < size {
        let room = size - message.len();
        let line = room.min(60);
        if line <= 2 {
            message.extend(std::iter::repeat_n(b'z', room));
            break;
        }
        message.extend(std::iter::repeat_n(b'x', line - 2));
        message.extend_from_slice(b"\r\n");
    }
    message
}

/// What a client sees for a message: lines starting with `.` get another.
pub fn stuffed(message: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    for line in message.split_inclusive(|b| *b == b'\n') {
        if line.first() == Some(&b'.') {
            out.push(b'.');
        }
        out.extend_from_slice(line);
    }
    if !out.ends_with(b"\r\n") {
        out.extend_from_slice(b"\r\n");
    }
    out
}

/// The adapter: answers every event from fixed data and logs the events.
pub struct Adapter {
    pub messages: Vec<(Vec<u8>, String)>,
    /// Size of the chunks handed to `send_external_chunk`.
    pub chunk: usize,
    pub log: Vec<String>,
    pub now: Instant,
}

impl Adapter {
    pub fn new() -> Self {
        Self {
            messages: messages(),
            chunk: 7,
            log: Vec::new(),
            now: start(),
        }
    }

    fn listing(&self) -> Vec<MaildropEntry> {
        self.messages
            .iter()
            .map(|(body, uid)| MaildropEntry {
                size: body.len() as u64,
                uid: uid.clone(),
            })
            .collect()
    }

    /// Answers one event.
    pub fn answer(&mut self, session: &mut ServerSession, event: Event, out: &mut BytesMut) {
        self.log.push(format!("{event:?}"));
        match event {
            Event::Authenticate {
                id,
                username: user,
                password,
                ..
            } => {
                let answer = match (user.as_str(), password.expose().as_str()) {
                    (_, "secret") if user == "locked" => {
                        AuthAnswer::Reject(Response::err_with_code(
                            ResponseCode::InUse,
                            "Do you have another POP session running?",
                        ))
                    }
                    ("broken", _) => AuthAnswer::Reject(Response::err_with_code(
                        ResponseCode::SysTemp,
                        "Storage unavailable",
                    )),
                    (_, "secret" | "test") => AuthAnswer::Accept(self.listing()),
                    _ => AuthAnswer::Reject(Response::err_with_code(
                        ResponseCode::Auth,
                        "Authentication failed",
                    )),
                };
                session.respond_authenticate(id, answer).unwrap();
            }
            Event::Retrieve { id, index, .. } => {
                session.respond_retrieve(id, Ok(())).unwrap();
                let body = self.messages[index].0.clone();
                for chunk in body.chunks(self.chunk.max(1)) {
                    let progress = session.send_external_chunk(id, chunk).unwrap();
                    while session.poll_transmit(out) {}
                    if progress == MessageProgress::Enough {
                        break;
                    }
                }
                session.finish_external(id).unwrap();
            }
            Event::Update { id, .. } => session.respond_update(id, Ok(())).unwrap(),
            Event::SwitchTransport { .. } => session.transport_switched(self.now),
            other => panic!("unexpected event {other:?}"),
        }
    }

    /// Drains output and events until there is nothing left.
    pub fn drain(&mut self, session: &mut ServerSession, out: &mut BytesMut) {
        loop {
            while session.poll_transmit(out) {}
            match session.poll_event() {
                Some(event) => self.answer(session, event, out),
                None => break,
            }
        }
    }
}

pub fn start() -> Instant {
    // A fixed base so that runs are comparable; only differences matter.
    Instant::now()
}

pub fn config() -> ServerConfig {
    let mut config = ServerConfig::new("dewey");
    config.starttls = true;
    config
}

/// Feeds `chunks` one after the other, draining after every call; returns
/// the output and the event log.
pub fn run_chunks(config: ServerConfig, chunks: &[&[u8]]) -> (Vec<u8>, Vec<String>) {
    run_with(config, chunks, 7)
}

/// [`run_chunks`] with the adapter streaming messages in `message_chunk`
/// octet pieces.
pub fn run_with(
    config: ServerConfig,
    chunks: &[&[u8]],
    message_chunk: usize,
) -> (Vec<u8>, Vec<String>) {
    let mut adapter = Adapter::new();
    adapter.chunk = message_chunk;
    let mut session = ServerSession::new(config, adapter.now);
    let mut out = BytesMut::new();
    adapter.drain(&mut session, &mut out);
    'chunks: for chunk in chunks {
        let mut rest = *chunk;
        while !rest.is_empty() {
            let taken = session.feed(rest);
            rest = &rest[taken..];
            adapter.drain(&mut session, &mut out);
            if session.is_closed() {
                break 'chunks;
            }
            // The adapter answers everything at once, so a drained session
            // always takes input unless it is closing.
            assert!(taken > 0, "session stuck");
        }
    }
    (out.to_vec(), adapter.log)
}

pub fn run(config: ServerConfig, input: &[u8]) -> (Vec<u8>, Vec<String>) {
    run_chunks(config, &[input])
}

/// A transcript: `C: ` lines are client input, `S: ` lines expected
/// output, `S: <message N>` expands to message N (1-based) dot-stuffed.
pub struct Transcript {
    pub client: Vec<u8>,
    pub server: Vec<u8>,
}

pub fn transcript(text: &str) -> Transcript {
    let messages = messages();
    let mut client = Vec::new();
    let mut server = Vec::new();
    for line in text.lines().map(str::trim_start).filter(|l| !l.is_empty()) {
        if let Some(c) = line.strip_prefix("C: ") {
            client.extend_from_slice(c.as_bytes());
            client.extend_from_slice(b"\r\n");
        } else if let Some(s) = line.strip_prefix("S: ") {
            if let Some(n) = s
                .strip_prefix("<message ")
                .and_then(|s| s.strip_suffix('>'))
            {
                let n: usize = n.parse().unwrap();
                server.extend_from_slice(&stuffed(&messages[n - 1].0));
            } else {
                server.extend_from_slice(s.as_bytes());
                server.extend_from_slice(b"\r\n");
            }
        } else {
            panic!("bad transcript line {line:?}");
        }
    }
    Transcript { client, server }
}

/// Replays a transcript line by line (in lockstep, as the RFC examples
/// run) and checks the output exactly.
pub fn check(config: ServerConfig, text: &str) -> (Vec<u8>, Vec<String>) {
    let t = transcript(text);
    let lines: Vec<&[u8]> = t.client.split_inclusive(|b| *b == b'\n').collect();
    let (out, log) = run_chunks(config, &lines);
    assert_eq!(
        String::from_utf8_lossy(&out),
        String::from_utf8_lossy(&t.server)
    );
    (out, log)
}

pub const MINUTE: Duration = Duration::from_secs(60);
