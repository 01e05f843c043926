#![no_main]
//! A whole POP3 server session driven by arbitrary client bytes at
//! arbitrary split points, with a canned-answer adapter whose answers also
//! come from the input. The session must never panic or get stuck, and its
//! output must be CRLF-terminated lines.

use std::time::{Duration, Instant};

use arbitrary::Arbitrary;
use bytes::BytesMut;
use libfuzzer_sys::fuzz_target;
use pop3_proto::{
    AuthAnswer, Event, Limits, MaildropEntry, MessageProgress, Response, ResponseCode,
    ServerConfig, ServerSession,
};

#[derive(Debug, Arbitrary)]
struct Input {
    stls: bool,
    tls_active: bool,
    allow_plaintext: bool,
    small_limits: bool,
    /// Accept / reject decisions and chunk sizes, used in turn.
    answers: Vec<u8>,
    messages: Vec<Vec<u8>>,
    steps: Vec<Step>,
}

#[derive(Debug, Arbitrary)]
enum Step {
    Bytes(Vec<u8>),
    Tokens(Vec<u8>),
    Wait(u16),
}

const TOKENS: &[&[u8]] = &[
    b"USER a\r\n",
    b"PASS secret\r\n",
    b"PASS x\r\n",
    b"AUTH PLAIN\r\n",
    b"AUTH LOGIN\r\n",
    b"AUTH PLAIN AGEAc2VjcmV0\r\n",
    b"AGEAc2VjcmV0\r\n",
    b"YQ==\r\n",
    b"c2VjcmV0\r\n",
    b"*\r\n",
    b"STAT\r\n",
    b"LIST\r\n",
    b"LIST 1\r\n",
    b"RETR 1\r\n",
    b"RETR 2\r\n",
    b"RETR 9\r\n",
    b"DELE 1\r\n",
    b"DELE 2\r\n",
    b"NOOP\r\n",
    b"RSET\r\n",
    b"QUIT\r\n",
    b"TOP 1 0\r\n",
    b"TOP 2 3\r\n",
    b"UIDL\r\n",
    b"UIDL 1\r\n",
    b"CAPA\r\n",
    b"STLS\r\n",
    b"AUTH\r\n",
    b"\r\n",
    b"\n",
    b"x",
    b" ",
    b"1",
];

struct Adapter {
    answers: Vec<u8>,
    next: usize,
    messages: Vec<Vec<u8>>,
    now: Instant,
}

impl Adapter {
    fn choice(&mut self) -> u8 {
        let value = self.answers.get(self.next).copied().unwrap_or(0);
        self.next += 1;
        value
    }

    fn answer(&mut self, session: &mut ServerSession, event: Event, out: &mut BytesMut) {
        match event {
            Event::Authenticate { id, .. } => {
                let answer = if self.choice() % 4 == 0 {
                    AuthAnswer::Reject(Response::err_with_code(ResponseCode::Auth, "no"))
                } else {
                    AuthAnswer::Accept(
                        self.messages
                            .iter()
                            .enumerate()
                            .map(|(i, m)| MaildropEntry {
                                size: m.len() as u64,
                                uid: format!("u{i}"),
                            })
                            .collect(),
                    )
                };
                session
                    .respond_authenticate(id, answer)
                    .expect("pending Authenticate");
            }
            Event::Retrieve { id, index, .. } => {
                if self.choice() % 8 == 0 {
                    let failure = Err(Response::err_with_code(ResponseCode::SysTemp, "io"));
                    session
                        .respond_retrieve(id, failure)
                        .expect("pending Retrieve");
                    return;
                }
                session
                    .respond_retrieve(id, Ok(()))
                    .expect("pending Retrieve");
                let chunk = usize::from(self.choice()).max(1);
                let message = self.messages.get(index).cloned().expect("index in listing");
                for piece in message.chunks(chunk) {
                    let progress = session.send_external_chunk(id, piece).expect("streaming");
                    while session.poll_transmit(out) {}
                    if progress == MessageProgress::Enough {
                        break;
                    }
                }
                session.finish_external(id).expect("streaming");
            }
            Event::Update { id, .. } => {
                let answer = if self.choice() % 4 == 0 {
                    Err(Response::err_with_code(ResponseCode::SysTemp, "later"))
                } else {
                    Ok(())
                };
                session.respond_update(id, answer).expect("pending Update");
            }
            Event::SwitchTransport { leftover, .. } => {
                assert!(leftover.is_empty());
                session.transport_switched(self.now);
            }
            _ => {}
        }
    }

    fn drain(&mut self, session: &mut ServerSession, out: &mut BytesMut) {
        loop {
            while session.poll_transmit(out) {}
            match session.poll_event() {
                Some(event) => self.answer(session, event, out),
                None => break,
            }
        }
    }
}

fn steps_to_actions(steps: &[Step]) -> Vec<Action> {
    steps
        .iter()
        .map(|step| match step {
            Step::Bytes(bytes) => Action::Feed(bytes.clone()),
            Step::Tokens(tokens) => Action::Feed(
                tokens
                    .iter()
                    .flat_map(|t| TOKENS[usize::from(*t) % TOKENS.len()].iter().copied())
                    .collect(),
            ),
            Step::Wait(minutes) => Action::Wait(*minutes),
        })
        .collect()
}

enum Action {
    Feed(Vec<u8>),
    Wait(u16),
}

/// Runs one session; returns everything it wrote.
fn drive(config: ServerConfig, input: &Input, actions: &[Action]) -> Vec<u8> {
    let start = Instant::now();
    let mut adapter = Adapter {
        answers: input.answers.clone(),
        next: 0,
        messages: input.messages.iter().take(8).cloned().collect(),
        now: start,
    };
    let mut session = ServerSession::new(config, start);
    let mut out = BytesMut::new();
    adapter.drain(&mut session, &mut out);
    for action in actions {
        if session.is_closed() {
            break;
        }
        match action {
            Action::Wait(minutes) => {
                adapter.now += Duration::from_secs(u64::from(*minutes) * 60);
                session.handle_timeout(adapter.now);
                adapter.drain(&mut session, &mut out);
            }
            Action::Feed(bytes) => {
                let mut rest = &bytes[..];
                while !rest.is_empty() && !session.is_closed() {
                    let taken = session.feed(rest);
                    rest = &rest[taken..];
                    adapter.drain(&mut session, &mut out);
                    assert!(taken > 0 || session.is_closed(), "session stuck");
                }
            }
        }
    }
    out.to_vec()
}

fuzz_target!(|input: Input| {
    let mut limits = Limits::default();
    if input.small_limits {
        limits.max_line_length = 16;
        limits.max_sasl_line_length = 24;
        limits.max_pending_output = 8;
        limits.max_bad_commands = 4;
    }
    let config = ServerConfig {
        hostname: "fuzz".into(),
        starttls: input.stls,
        tls_active: input.tls_active,
        allow_plaintext: input.allow_plaintext,
        limits,
    };
    let actions = steps_to_actions(&input.steps);
    let out = drive(config.clone(), &input, &actions);
    // Every line the server wrote ends in CRLF (message bodies included:
    // bare LF is converted).
    for (i, byte) in out.iter().enumerate() {
        if *byte == b'\n' {
            assert!(i > 0 && out[i - 1] == b'\r', "bare LF in output");
        }
    }
    // Without timers and without STLS (whose pipelined-byte discard depends
    // on what arrived before the switch), the split points must not matter.
    let no_waits = actions.iter().all(|a| matches!(a, Action::Feed(_)));
    if no_waits && (!input.stls || input.tls_active) {
        let whole: Vec<u8> = actions
            .iter()
            .flat_map(|a| match a {
                Action::Feed(bytes) => bytes.clone(),
                Action::Wait(_) => Vec::new(),
            })
            .collect();
        let bytewise: Vec<Action> = whole.iter().map(|b| Action::Feed(vec![*b])).collect();
        assert_eq!(drive(config.clone(), &input, &[Action::Feed(whole)]), out);
        assert_eq!(drive(config, &input, &bytewise), out);
    }
});
