//! Test harness: a canned-answer adapter and a transcript runner.
#![allow(dead_code)]

use std::time::Instant;

use bytes::BytesMut;
use smtp_proto::{Event, Mode, Reply, ServerConfig, ServerSession};

/// The adapter's canned policy.
#[derive(Default)]
pub struct Adapter {
    /// Log of events, BodyChunk merged into one `Body` entry.
    pub events: Vec<String>,
    /// Recipients accepted in the current transaction.
    pub recipients: Vec<String>,
    pub switches: usize,
}

fn rcpt_reply(path: &str) -> Reply {
    if path.starts_with("Green") || path.contains("unknown") {
        Reply::new(550, "5.1.1", "No such user here")
    } else if path.contains("later") {
        Reply::new(450, "4.2.1", "Try again later")
    } else {
        Reply::new(250, "2.1.5", "Ok")
    }
}

impl Adapter {
    fn log(&mut self, entry: String) {
        self.events.push(entry);
    }

    /// Drains transmit, then events, answering them; repeats until quiet.
    /// Returns whether anything happened.
    pub fn drain(&mut self, session: &mut ServerSession, out: &mut BytesMut, now: Instant) -> bool {
        let mut any = false;
        loop {
            let mut progressed = false;
            while session.poll_transmit(out) {
                progressed = true;
            }
            while let Some(event) = session.poll_event() {
                progressed = true;
                self.handle(session, event, now);
            }
            if !progressed {
                return any;
            }
            any = true;
        }
    }

    fn handle(&mut self, session: &mut ServerSession, event: Event, now: Instant) {
        match event {
            Event::MailFrom {
                id,
                reverse_path,
                params,
            } => {
                let path = reverse_path.unwrap_or_default();
                if params == Default::default() {
                    self.log(format!("MailFrom <{path}>"));
                } else {
                    self.log(format!("MailFrom <{path}> {params:?}"));
                }
                let reply = if path.contains("reject") {
                    Reply::new(550, "5.7.1", "Sender rejected")
                } else {
                    Reply::new(250, "2.1.0", "Ok")
                };
                session.respond(id, reply).unwrap();
            }
            Event::RcptTo {
                id,
                forward_path,
                params,
            } => {
                if params == Default::default() {
                    self.log(format!("RcptTo <{forward_path}>"));
                } else {
                    self.log(format!("RcptTo <{forward_path}> {params:?}"));
                }
                let reply = rcpt_reply(&forward_path);
                if reply.is_positive() {
                    self.recipients.push(forward_path);
                }
                session.respond(id, reply).unwrap();
            }
            Event::Auth {
                id,
                mechanism,
                authzid,
                username: authcid,
                password,
            } => {
                self.log(format!(
                    "Auth {} authzid={} authcid={authcid} password={}",
                    mechanism.as_str(),
                    authzid.as_deref().unwrap_or("-"),
                    password.expose()
                ));
                let reply = if authcid == "alice" && password.expose() == "secret" {
                    Reply::new(235, "2.7.0", "Authentication successful")
                } else {
                    Reply::new(535, "5.7.8", "Authentication credentials invalid")
                };
                session.respond(id, reply).unwrap();
            }
            Event::DataStart => self.log("DataStart".into()),
            Event::BodyChunk(chunk) => {
                let text = String::from_utf8_lossy(&chunk).into_owned();
                match self.events.last_mut() {
                    Some(last) if last.starts_with("Body ") => last.push_str(&text),
                    _ => self.events.push(format!("Body {text}")),
                }
            }
            Event::DataEnd { id } => {
                self.log("DataEnd".into());
                let recipients = std::mem::take(&mut self.recipients);
                if session.config().mode == Mode::Lmtp {
                    let replies = recipients
                        .iter()
                        .map(|r| {
                            if r.contains("full") {
                                Reply::new(452, "4.2.2", &format!("<{r}> Mailbox full"))
                            } else {
                                Reply::new(250, "2.0.0", &format!("<{r}> Ok: delivered"))
                            }
                        })
                        .collect();
                    session.respond_lmtp(id, replies).unwrap();
                } else {
                    session
                        .respond(id, Reply::new(250, "2.0.0", "Ok: queued"))
                        .unwrap();
                }
            }
            Event::DataAborted { reason } => self.log(format!("DataAborted {reason:?}")),
            Event::Reset => {
                self.recipients.clear();
                self.log("Reset".into());
            }
            Event::SwitchTransport { kind, leftover } => {
                assert!(leftover.is_empty());
                self.log(format!("SwitchTransport {kind:?}"));
                self.switches += 1;
                session.transport_switched(now);
            }
            other => panic!("unexpected event {other:?}"),
        }
    }
}

/// What a run produced.
#[derive(Debug, PartialEq, Eq)]
pub struct Outcome {
    pub output: String,
    pub events: Vec<String>,
    pub closed: bool,
}

/// Runs a session over `segments`, each a list of chunks fed in turn. A
/// transport switch drops the rest of the current segment (in real life those
/// bytes would reach the TLS layer, not the session).
pub fn run(config: ServerConfig, segments: &[Vec<Vec<u8>>]) -> Outcome {
    let now = Instant::now();
    let mut session = ServerSession::new(config, now);
    let mut adapter = Adapter::default();
    let mut out = BytesMut::new();
    adapter.drain(&mut session, &mut out, now);
    'segments: for segment in segments {
        for chunk in segment {
            let mut rest: &[u8] = chunk;
            while !rest.is_empty() && !session.is_closed() {
                let switches = adapter.switches;
                let used = session.feed(rest);
                rest = &rest[used..];
                let progressed = adapter.drain(&mut session, &mut out, now);
                if adapter.switches != switches {
                    continue 'segments;
                }
                assert!(used > 0 || progressed, "session stuck");
            }
        }
    }
    Outcome {
        output: String::from_utf8(out.to_vec()).unwrap(),
        events: adapter.events,
        closed: session.is_closed(),
    }
}

/// A parsed transcript: client segments, expected output and events.
pub struct Transcript {
    pub segments: Vec<Vec<u8>>,
    pub output: String,
    pub events: Vec<String>,
}

/// Parses "C: " (client), "S: " (server), "E: " (event) lines; a line
/// "--- TLS ---" starts a new client segment (after a transport switch).
/// `\r\n` in E lines stands for CRLF.
pub fn transcript(text: &str) -> Transcript {
    let mut segments = vec![Vec::new()];
    let mut output = String::new();
    let mut events = Vec::new();
    for line in text.lines() {
        let line = line.trim_start();
        if line.is_empty() {
            continue;
        }
        if line == "--- TLS ---" {
            segments.push(Vec::new());
        } else if let Some(c) = line.strip_prefix("C:") {
            let c = c.strip_prefix(' ').unwrap_or(c);
            let segment = segments.last_mut().unwrap();
            segment.extend_from_slice(c.as_bytes());
            segment.extend_from_slice(b"\r\n");
        } else if let Some(s) = line.strip_prefix("S: ") {
            output.push_str(s);
            output.push_str("\r\n");
        } else if let Some(e) = line.strip_prefix("E: ") {
            events.push(e.replace("\\r\\n", "\r\n"));
        } else {
            panic!("bad transcript line {line:?}");
        }
    }
    Transcript {
        segments,
        output,
        events,
    }
}

/// Splits every segment into chunks at the given cut points (byte offsets
/// into the whole client input).
pub fn split(segments: &[Vec<u8>], cuts: &[usize]) -> Vec<Vec<Vec<u8>>> {
    let mut offset = 0;
    segments
        .iter()
        .map(|segment| {
            let start = offset;
            offset += segment.len();
            let mut points: Vec<usize> = cuts
                .iter()
                .filter(|&&c| c > start && c < offset)
                .map(|&c| c - start)
                .collect();
            points.sort_unstable();
            points.dedup();
            let mut chunks = Vec::new();
            let mut last = 0;
            for p in points {
                chunks.push(segment[last..p].to_vec());
                last = p;
            }
            chunks.push(segment[last..].to_vec());
            chunks
        })
        .collect()
}

/// Feeds every segment whole.
pub fn whole(segments: &[Vec<u8>]) -> Vec<Vec<Vec<u8>>> {
    segments.iter().map(|s| vec![s.clone()]).collect()
}

/// Feeds every segment byte by byte.
pub fn bytewise(segments: &[Vec<u8>]) -> Vec<Vec<Vec<u8>>> {
    segments
        .iter()
        .map(|s| s.iter().map(|&b| vec![b]).collect())
        .collect()
}

/// The configuration most transcripts use.
pub fn config(hostname: &str) -> ServerConfig {
    ServerConfig::new(hostname)
}
