//! Shared by the outbound delivery tests: messages, envelopes, attempts.
#![allow(dead_code)]

use std::net::{SocketAddr, TcpListener};
use std::time::Duration;

use sansmail::config::OutboundTls;
use sansmail::outbound::transaction::{Attempt, AttemptResult, deliver};
use smtp_proto::BodyType;
use smtp_proto::client::{Envelope, Outcome, Recipient};

/// The envelope sender of every test message.
pub const FROM: &str = "sender@outbound.sansmail.test";

/// A message with dot lines, 8-bit text and `size` bytes of filler lines.
pub fn message(token: &str, size: usize) -> Vec<u8> {
    let mut m = format!(
        "From: <{FROM}>\r\nTo: <alice@localhost>\r\nSubject: {token}\r\n\
         Message-ID: <{token}@outbound.sansmail.test>\r\nMIME-Version: 1.0\r\n\
         Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n\
         Gr\u{fc}\u{df}e aus K\u{f6}ln\r\n.leading dot\r\n..two dots\r\n.\r\n"
    )
    .into_bytes();
    let mut i = 0;
    while m.len() < size {
        m.extend_from_slice(format!("{i:08} {}\r\n", "x".repeat(70)).as_bytes());
        i += 1;
    }
    m.extend_from_slice(b"end\r\n");
    m
}

/// An envelope from [`FROM`] to `recipients` for `body`.
pub fn envelope(recipients: &[&str], body: &[u8], kind: BodyType) -> Envelope {
    let mut e = Envelope::new(
        Some(FROM.into()),
        recipients.iter().map(|r| Recipient::new(*r)).collect(),
        body.len() as u64,
    );
    e.body = kind;
    e
}

/// An SMTP attempt to `addr` as the client `client.outbound.sansmail.test`.
pub fn attempt(addr: SocketAddr, tls: OutboundTls) -> Attempt {
    let mut a = Attempt::new(addr, "mx.sansmail.test", "client.outbound.sansmail.test");
    a.tls = tls;
    a.connect_timeout = Duration::from_secs(10);
    a
}

/// Runs one attempt with the body from memory.
pub fn run(a: &Attempt, e: Envelope, body: &[u8]) -> AttemptResult {
    smol::block_on(deliver(a, e, futures_lite::io::Cursor::new(body.to_vec())))
}

/// `delivered 250 2.0.0` style summaries, one per recipient.
pub fn kinds(result: &AttemptResult) -> Vec<String> {
    result
        .outcomes
        .iter()
        .map(|o| {
            let (kind, r) = match o {
                Outcome::Delivered(r) => ("delivered", r),
                Outcome::Temporary(r) => ("temporary", r),
                Outcome::Permanent(r) => ("permanent", r),
            };
            match r.enhanced {
                Some(e) => format!("{kind} {} {e}", r.code),
                None => format!("{kind} {}", r.code),
            }
        })
        .collect()
}

/// A loopback address nothing listens on (the port was free a moment ago).
pub fn free_port() -> SocketAddr {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap()
}
