#![no_main]
//! A whole SMTP/LMTP server session driven by arbitrary client bytes at
//! arbitrary split points, with a canned-answer adapter whose answers also
//! come from the input. The session must never panic or get stuck, and its
//! output must always be a sequence of well-formed replies.

use std::time::{Duration, Instant};

use arbitrary::Arbitrary;
use bytes::BytesMut;
use libfuzzer_sys::fuzz_target;
use smtp_proto::{Event, Limits, Mode, Reply, ServerConfig, ServerSession};

#[derive(Debug, Arbitrary)]
struct Input {
    lmtp: bool,
    starttls: bool,
    tls_active: bool,
    require_auth: bool,
    auth_requires_tls: bool,
    small_limits: bool,
    /// Accept / reject decisions, used in turn.
    answers: Vec<u8>,
    steps: Vec<Step>,
}

#[derive(Debug, Arbitrary)]
enum Step {
    Bytes(Vec<u8>),
    Tokens(Vec<u8>),
    Wait(u16),
}

const TOKENS: &[&[u8]] = &[
    b"EHLO c.example\r\n", b"HELO c\r\n", b"LHLO c\r\n", b"MAIL FROM:<a@b.example>\r\n",
    b"MAIL FROM:<> SIZE=100 BODY=8BITMIME\r\n", b"MAIL FROM:<\xe7\x94\xa8@b> SMTPUTF8\r\n",
    b"RCPT TO:<r@mx.example>\r\n", b"RCPT TO:<s@mx> NOTIFY=NEVER ORCPT=rfc822;s@mx\r\n", b"DATA\r\n",
    b"BDAT 5\r\n", b"BDAT 0 LAST\r\n", b"BDAT 3 LAST\r\n", b"RSET\r\n", b"NOOP\r\n", b"QUIT\r\n",
    b"VRFY x\r\n", b"HELP\r\n", b"STARTTLS\r\n", b"AUTH PLAIN\r\n", b"AUTH LOGIN\r\n",
    b"AUTH PLAIN AGFsaWNlAHNlY3JldA==\r\n", b"AGFsaWNlAHNlY3JldA==\r\n", b"YWxpY2U=\r\n", b"*\r\n",
    b"=\r\n", b".\r\n", b"\r\n.\r\n", b"..", b"\r\n", b"\n", b"\r", b"x", b" ", b"hello world\r\n",
    b"\r\n..\r\n", b"\n.\r\n", b"AUTH CRAM-MD5\r\n", b"EXPN x\r\n", b"MAIL FROM:<a@b> FOO=1\r\n",
];

struct Adapter {
    answers: Vec<u8>,
    next: usize,
    now: Instant,
    recipients: usize,
}

impl Adapter {
    fn choice(&mut self) -> u8 {
        let value = self.answers.get(self.next).copied().unwrap_or(0);
        self.next += 1;
        value
    }

    fn reply(&mut self, positive: Reply) -> Reply {
        match self.choice() % 8 {
            0..=4 => positive,
            5 => Reply::new(450, "4.2.0", "later"),
            6 => Reply::new(550, "5.1.1", "no"),
            _ => Reply::new(421, "4.3.0", "bye"),
        }
    }

    fn answer(&mut self, session: &mut ServerSession, event: Event) {
        match event {
            Event::MailFrom { id, .. } => {
                self.recipients = 0;
                let reply = self.reply(Reply::new(250, "2.1.0", "Ok"));
                session.respond(id, reply).expect("MailFrom is pending");
            }
            Event::RcptTo { id, .. } => {
                let reply = self.reply(Reply::new(250, "2.1.5", "Ok"));
                if reply.is_positive() {
                    self.recipients += 1;
                }
                session.respond(id, reply).expect("RcptTo is pending");
            }
            Event::Auth { id, .. } => {
                let reply = self.reply(Reply::new(235, "2.7.0", "Ok"));
                session.respond(id, reply).expect("Auth is pending");
            }
            Event::DataEnd { id } => {
                if session.config().mode == Mode::Lmtp && self.choice() % 2 == 0 {
                    let replies = (0..self.recipients).map(|_| Reply::new(250, "2.0.0", "Ok")).collect();
                    session.respond_lmtp(id, replies).expect("one reply per recipient");
                } else {
                    let reply = self.reply(Reply::new(250, "2.0.0", "Ok"));
                    session.respond(id, reply).expect("DataEnd is pending");
                }
                self.recipients = 0;
            }
            Event::Reset => self.recipients = 0,
            Event::SwitchTransport { leftover, .. } => {
                assert!(leftover.is_empty());
                session.transport_switched(self.now);
            }
            _ => {}
        }
    }

    /// Drains until quiet; returns whether anything happened.
    fn drain(&mut self, session: &mut ServerSession, out: &mut BytesMut) -> bool {
        let mut any = false;
        loop {
            let mut progressed = false;
            while session.poll_transmit(out) {
                progressed = true;
            }
            while let Some(event) = session.poll_event() {
                progressed = true;
                self.answer(session, event);
            }
            if !progressed {
                return any;
            }
            any = true;
        }
    }
}

fuzz_target!(|input: Input| {
    let now = Instant::now();
    let mut limits = Limits::default();
    if input.small_limits {
        limits = Limits {
            max_line_length: 32,
            max_message_size: 20,
            max_recipients: 2,
            max_bad_commands: 5,
            max_auth_failures: 2,
            idle_timeout: Duration::from_secs(10),
            max_pending_output: 64,
        };
    }
    let config = ServerConfig {
        mode: if input.lmtp { Mode::Lmtp } else { Mode::Smtp },
        starttls: input.starttls,
        tls_active: input.tls_active,
        allow_plaintext: !input.auth_requires_tls,
        require_auth: input.require_auth,
        limits,
        ..ServerConfig::new("mx.example")
    };
    let mut session = ServerSession::new(config, now);
    let mut adapter = Adapter { answers: input.answers, next: 0, now, recipients: 0 };
    let mut out = BytesMut::new();
    let mut clock = now;
    adapter.drain(&mut session, &mut out);
    for step in input.steps.iter().take(64) {
        if session.is_closed() {
            break;
        }
        let bytes: Vec<u8> = match step {
            Step::Bytes(b) => b.clone(),
            Step::Tokens(t) => t.iter().flat_map(|&b| TOKENS[usize::from(b) % TOKENS.len()].iter().copied()).collect(),
            Step::Wait(secs) => {
                clock += Duration::from_secs(u64::from(*secs));
                if session.poll_timeout().is_some_and(|deadline| deadline <= clock) {
                    session.handle_timeout(clock);
                }
                adapter.drain(&mut session, &mut out);
                continue;
            }
        };
        let mut rest = bytes.as_slice();
        while !rest.is_empty() && !session.is_closed() {
            let used = session.feed(rest);
            rest = &rest[used..];
            let progressed = adapter.drain(&mut session, &mut out);
            assert!(used > 0 || progressed, "session stuck");
        }
    }
    // The output is a sequence of well-formed replies.
    let mut wire = &out[..];
    while !wire.is_empty() {
        let (_, used) = Reply::parse(wire).unwrap_or_else(|e| panic!("bad output {e}: {:?}", String::from_utf8_lossy(&out)));
        wire = &wire[used..];
    }
});
