#![no_main]
//! The SMTP/LMTP client session fed arbitrary server replies at arbitrary
//! split points, with adapter answers (STARTTLS, AUTH, transactions with
//! DATA or BDAT bodies, QUIT) and clock jumps also taken from the input.
//! The session must never panic or get stuck, its memory must stay within
//! its limits, and whatever it sends must be commands the server-side
//! codec parses (outside of bodies).

use std::time::{Duration, Instant};

use arbitrary::Arbitrary;
use bytes::BytesMut;
use libfuzzer_sys::fuzz_target;
use smtp_proto::client::{
    Action, ClientConfig, ClientEvent, ClientLimits, ClientSession, Credentials, Envelope, Recipient,
};
use smtp_proto::{BodyType, Mechanism, Mode, Secret};

#[derive(Debug, Arbitrary)]
struct Input {
    lmtp: bool,
    chunking: bool,
    tls_active: bool,
    small_limits: bool,
    /// Adapter decisions, used in turn.
    answers: Vec<u8>,
    steps: Vec<Step>,
}

#[derive(Debug, Arbitrary)]
enum Step {
    Bytes(Vec<u8>),
    Tokens(Vec<u8>),
    Wait(u16),
    Eof,
}

/// Server replies and fragments, so the session sees real ones often.
const TOKENS: &[&[u8]] = &[
    b"220 mx.example ESMTP\r\n", b"220-mx\r\n", b"250-mx.example\r\n", b"250-PIPELINING\r\n",
    b"250-SIZE 100\r\n", b"250-SIZE\r\n", b"250-8BITMIME\r\n", b"250-SMTPUTF8\r\n", b"250-CHUNKING\r\n",
    b"250-BINARYMIME\r\n", b"250-DSN\r\n", b"250-STARTTLS\r\n", b"250-AUTH PLAIN LOGIN\r\n",
    b"250 ENHANCEDSTATUSCODES\r\n", b"250 2.1.0 Ok\r\n", b"250 ok\r\n", b"354 go\r\n",
    b"334 VXNlcm5hbWU6\r\n", b"334 \r\n", b"235 2.7.0 ok\r\n", b"535 5.7.8 no\r\n",
    b"220 2.0.0 Ready to start TLS\r\n", b"454 4.7.0 no TLS\r\n", b"421 4.3.0 bye\r\n",
    b"450 4.2.0 later\r\n", b"550 5.1.1 no\r\n", b"503 5.5.1 sequence\r\n", b"500 what\r\n",
    b"221 2.0.0 Bye\r\n", b"554 5.3.2 go away\r\n", b"\r\n", b"\n", b"2", b"25", b"250", b"-", b" ",
];

struct Adapter {
    answers: Vec<u8>,
    next: usize,
    body_left: usize,
}

impl Adapter {
    fn choice(&mut self) -> u8 {
        let value = self.answers.get(self.next).copied().unwrap_or(0);
        self.next += 1;
        value
    }

    fn action(&mut self) -> Action {
        // Out of answers: QUIT (a transaction refused before MAIL comes
        // straight back as Ready, so an endless supply would spin).
        if self.next >= self.answers.len() || self.next > 256 {
            return Action::Quit;
        }
        match self.choice() % 6 {
            0 => Action::StartTls,
            1 => Action::Auth(Credentials {
                mechanism: if self.choice() % 2 == 0 { Mechanism::Plain } else { Mechanism::Login },
                username: "alice".into(),
                password: Secret::new("secret".into()),
            }),
            2..=4 => {
                let count = usize::from(self.choice() % 4) + 1;
                let recipients =
                    (0..count).map(|i| Recipient::new(format!("r{i}@mx.example"))).collect();
                let mut envelope = Envelope::new(Some("a@c.example".into()), recipients, 50);
                envelope.body = match self.choice() % 4 {
                    0 => BodyType::EightBitMime,
                    1 => BodyType::BinaryMime,
                    _ => BodyType::SevenBit,
                };
                envelope.smtputf8 = self.choice() % 5 == 0;
                Action::Mail(envelope)
            }
            _ => Action::Quit,
        }
    }
}

/// Checks the queued output: command lines parse (bodies may follow DATA/BDAT).
fn check_output(out: &mut BytesMut, in_body: &mut bool) {
    if *in_body {
        out.clear();
        return;
    }
    let text = out.split().freeze();
    for line in text.split_inclusive(|&b| b == b'\n') {
        if line.starts_with(b"DATA") || line.starts_with(b"BDAT") {
            *in_body = true;
            return;
        }
        // SASL responses and "*" are not commands.
        let is_sasl = line.iter().all(|&b| b.is_ascii_alphanumeric() || b"+/=*\r\n".contains(&b));
        if !is_sasl {
            smtp_proto::Command::parse(line)
                .unwrap_or_else(|e| panic!("bad command {e}: {:?}", String::from_utf8_lossy(line)));
        }
    }
}

fuzz_target!(|input: Input| {
    let now = Instant::now();
    let mut limits = ClientLimits::default();
    if input.small_limits {
        limits.max_reply_line_length = 40;
        limits.max_reply_lines = 4;
        limits.max_pending_output = 64;
        limits.bdat_chunk_size = 16;
    }
    let config = ClientConfig {
        mode: if input.lmtp { Mode::Lmtp } else { Mode::Smtp },
        tls_active: input.tls_active,
        chunking: input.chunking,
        limits,
        ..ClientConfig::new("client.example")
    };
    let mut client = ClientSession::new(config, now);
    let mut adapter = Adapter { answers: input.answers, next: 0, body_left: 0 };
    let mut clock = now;
    let mut out = BytesMut::new();
    let mut in_body = false;
    let mut drain = |client: &mut ClientSession, adapter: &mut Adapter, clock: Instant| {
        for _ in 0..10_000 {
            let mut progressed = false;
            while client.poll_transmit(&mut out) {
                progressed = true;
                check_output(&mut out, &mut in_body);
            }
            while let Some(event) = client.poll_event(clock) {
                progressed = true;
                match event {
                    ClientEvent::Ready { id } => {
                        in_body = false;
                        let action = adapter.action();
                        // A refused answer (STARTTLS while TLS is on) is
                        // handed back: the Ready is still open.
                        if client.respond(id, action).is_err() {
                            client.respond(id, Action::Quit).expect("QUIT is always allowed");
                        }
                    }
                    ClientEvent::SwitchTransport { leftover, .. } => {
                        assert!(leftover.is_empty());
                        client.transport_switched(clock);
                    }
                    ClientEvent::SendBody => adapter.body_left = 50,
                    ClientEvent::TransactionDone(result) => in_body = result.outcomes.is_empty(),
                    _ => {}
                }
            }
            if client.wants_body() {
                if adapter.body_left == 0 {
                    assert!(client.end_body());
                    progressed = true;
                } else {
                    let piece = [b'.', b'\n', b'x', b'\r', 0xc3, 0xa9, b'y'];
                    let used = client.send_body(&piece[..piece.len().min(adapter.body_left)]);
                    adapter.body_left -= used;
                    progressed |= used > 0;
                }
            }
            if !progressed {
                return;
            }
        }
        panic!("client keeps producing output without input");
    };
    drain(&mut client, &mut adapter, clock);
    for step in input.steps.iter().take(64) {
        if client.is_closed() {
            break;
        }
        let bytes: Vec<u8> = match step {
            Step::Bytes(b) => b.clone(),
            Step::Tokens(t) => t
                .iter()
                .flat_map(|&b| TOKENS[usize::from(b) % TOKENS.len()].iter().copied())
                .collect(),
            Step::Wait(secs) => {
                clock += Duration::from_secs(u64::from(*secs));
                if client.poll_timeout().is_some_and(|deadline| deadline <= clock) {
                    client.handle_timeout(clock);
                }
                drain(&mut client, &mut adapter, clock);
                continue;
            }
            Step::Eof => {
                client.handle_eof();
                drain(&mut client, &mut adapter, clock);
                assert!(client.is_closed());
                continue;
            }
        };
        let mut rest = bytes.as_slice();
        while !rest.is_empty() && !client.is_closed() {
            let used = client.feed(rest);
            rest = &rest[used..];
            drain(&mut client, &mut adapter, clock);
            if used == 0 {
                // Only a body with no reply due may leave input unread, and
                // the drain just ended it; anything else is a stuck session.
                let used = client.feed(rest);
                rest = &rest[used..];
                drain(&mut client, &mut adapter, clock);
                assert!(used > 0 || client.is_closed() || rest.is_empty(), "client stuck");
            }
        }
    }
});
