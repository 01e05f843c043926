//! SMTP codec throughput: command-line parsing and DATA dot-unstuffing.
//!
//! Run with `cargo bench -p sansmail-benches --bench smtp`.

// criterion_group! generates an undocumented pub fn.
#![allow(missing_docs)]

use std::hint::black_box;

use bytes::BytesMut;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use sansmail_benches::message::{build_message, encode_data};
use smtp_proto::{Command, DataReceiver};

/// A realistic session's command lines (what a submission client or an MX
/// peer sends), CRLF included as on the wire.
const COMMANDS: &[&[u8]] = &[
    b"EHLO mail-ed1-f54.google.com\r\n",
    b"MAIL FROM:<bounces+12345-abcd-alice=example.org@em1234.mailer.example.net> SIZE=48213 BODY=8BITMIME\r\n",
    b"RCPT TO:<alice@localhost> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;alice@localhost\r\n",
    b"RCPT TO:<bob@localhost>\r\n",
    b"DATA\r\n",
    b"BDAT 65536\r\n",
    b"BDAT 1204 LAST\r\n",
    b"AUTH PLAIN AGFsaWNlQGxvY2FsaG9zdABhbGljZS1zZWNyZXQ=\r\n",
    b"MAIL FROM:<> BODY=7BIT\r\n",
    b"RSET\r\n",
    b"NOOP\r\n",
    b"QUIT\r\n",
];

fn command_parsing(c: &mut Criterion) {
    let bytes: usize = COMMANDS.iter().map(|l| l.len()).sum();
    let mut g = c.benchmark_group("smtp_command_parse");
    g.throughput(Throughput::Bytes(bytes as u64));
    g.bench_function("mix", |b| {
        b.iter(|| {
            for line in COMMANDS {
                let _ = black_box(Command::parse(black_box(line)));
            }
        });
    });
    g.finish();
}

/// A 1 MiB generated message (every 7th line starts with a dot).
fn realistic_body() -> Vec<u8> {
    build_message(
        1 << 20,
        "a@example.org",
        "alice@localhost",
        "bench@sansmail",
    )
    .expect("1 MiB is above the header size")
}

/// ~1 MiB where every line starts with a dot and most lines
/// are very short: the unstuffing state machine's worst case.
fn adversarial_body() -> Vec<u8> {
    let lines: [&[u8]; 4] = [b".\r\n", b"..\r\n", b".a.b.\r\n", b"...\r\n"];
    let mut m = Vec::with_capacity((1 << 20) + 16);
    let mut i = 0;
    while m.len() < 1 << 20 {
        m.extend_from_slice(lines[i % lines.len()]);
        i += 1;
    }
    m
}

fn unstuff(wire: &[u8], chunk: usize, out: &mut BytesMut) -> u64 {
    let mut rx = DataReceiver::new(u64::MAX);
    out.clear();
    for piece in wire.chunks(chunk) {
        let mut rest = piece;
        while !rest.is_empty() {
            let p = rx.feed(rest, out);
            rest = rest.get(p.consumed..).unwrap_or_default();
            if p.done {
                return rx.size();
            }
        }
    }
    panic!("the body has no terminator");
}

fn dot_unstuffing(c: &mut Criterion) {
    let mut g = c.benchmark_group("smtp_data_unstuff");
    let mut out = BytesMut::with_capacity(2 << 20);
    for (name, message) in [
        ("realistic_1MiB", realistic_body()),
        ("dot_heavy_1MiB", adversarial_body()),
    ] {
        let wire = encode_data(&message);
        // Sanity: unstuffing gives back the original message.
        assert_eq!(unstuff(&wire, 16 * 1024, &mut out), message.len() as u64);
        assert_eq!(&out[..], &message[..]);
        g.throughput(Throughput::Bytes(wire.len() as u64));
        g.bench_function(name, |b| {
            b.iter(|| black_box(unstuff(black_box(&wire), 16 * 1024, &mut out)));
        });
    }
    g.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default();
    targets = command_parsing, dot_unstuffing
}
criterion_main!(benches);
