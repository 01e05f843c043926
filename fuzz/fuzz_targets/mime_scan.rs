#![no_main]
//! The MIME structure scanner (`mime-scan`) on hostile input: deep nesting
//! (a prefix of up to 60,000 `message/rfc822` or `multipart` levels), huge
//! header lines, broken and prefix-sharing boundaries (also in
//! `fuzz/dicts/mime_scan.dict`). It never panics; the tree is valid, ends
//! at the input's end and respects the limits; every split of the input
//! gives the same scan; and the IMAP helpers that walk the tree
//! (BODYSTRUCTURE, sections, BINARY, SEARCH BODY) never panic on it.

use arbitrary::Arbitrary;
use imap_proto::command::SearchKey;
use imap_proto::message::{MessageView, SearchMessage, SearchProgram, body_structure};
use imap_proto::types::AString;
use libfuzzer_sys::fuzz_target;
use mime_scan::{Limits, Part, Scanner};

#[derive(Debug, Arbitrary)]
struct Input {
    /// Levels of nesting put in front of the body.
    nest: u16,
    /// Which nesting: message/rfc822, multipart, or both alternating.
    nest_kind: u8,
    /// Small limits (exercise the cut-offs) or the defaults.
    small: Option<(u8, u8)>,
    /// Map the body bytes onto MIME tokens.
    tokens: bool,
    cuts: Vec<u16>,
    body: Vec<u8>,
}

const TOKENS: &[&[u8]] = &[
    b"\r\n",
    b"\n",
    b"\r",
    b"--",
    b"--b",
    b"--b--",
    b"--bb",
    b"--b\r\n\r\n",
    b"--c",
    b"--c--",
    b"\r\n\r\n",
    b"Content-Type: multipart/mixed; boundary=b\r\n",
    b"Content-Type: multipart/mixed; boundary=\"bb\"\r\n",
    b"Content-Type: multipart/digest; boundary=c\r\n",
    b"Content-Type: message/rfc822\r\n",
    b"Content-Type: text/plain; charset=utf-8\r\n",
    b"Content-Transfer-Encoding: base64\r\n",
    b"Content-Transfer-Encoding: quoted-printable\r\n",
    b" boundary=c",
    b"\t",
    b"Subject: x\r\n",
    b"x",
    b"=C3=A9",
    b"aGk=",
    b"\x00",
    b"\xff",
];

fn tokens(body: &[u8]) -> Vec<u8> {
    body.iter()
        .flat_map(|&b| TOKENS[usize::from(b) % TOKENS.len()].iter().copied())
        .collect()
}

fn scan(limits: Limits, chunks: &[&[u8]]) -> mime_scan::Scan {
    let mut s = Scanner::with_limits(limits);
    for c in chunks {
        s.feed(c);
    }
    s.finish()
}

fn check(p: &Part, limits: Limits, len: u64) {
    assert_eq!(p.header_start, 0);
    assert_eq!(p.end, len);
    assert!(p.count() <= limits.max_parts.max(1));
    // is_valid checks against the default limits; with the defaults the
    // scanner's output must pass it.
    if limits == Limits::default() {
        assert!(p.is_valid(len));
    }
    let mut stack = vec![(p, 0usize)];
    while let Some((n, d)) = stack.pop() {
        assert!(d <= limits.max_depth);
        assert!(n.header_start <= n.body_start && n.body_start <= n.end && n.end <= len);
        for c in &n.children {
            assert!(n.body_start <= c.header_start && c.end <= n.end);
            stack.push((c, d + 1));
        }
    }
}

fuzz_target!(|input: Input| {
    let mut msg = Vec::new();
    let level_msg: &[u8] = b"Content-Type: message/rfc822\r\n\r\n";
    // Mostly shallow (fast runs); one input in eight up to 60,000 levels.
    let levels = if input.nest_kind & 0x38 == 0 {
        input.nest % 60_001
    } else {
        input.nest % 40
    };
    for i in 0..usize::from(levels) {
        let multipart = match input.nest_kind % 3 {
            0 => false,
            1 => true,
            _ => i % 2 == 1,
        };
        if multipart {
            msg.extend_from_slice(
                format!(
                    "Content-Type: multipart/mixed; boundary=n{}\r\n\r\n--n{}\r\n",
                    i % 7,
                    i % 7
                )
                .as_bytes(),
            );
        } else {
            msg.extend_from_slice(level_msg);
        }
    }
    if input.tokens {
        msg.extend(tokens(&input.body));
    } else {
        msg.extend_from_slice(&input.body);
    }
    let limits = match input.small {
        Some((d, p)) => Limits {
            max_depth: usize::from(d % 40),
            max_parts: usize::from(p % 100) + 1,
        },
        None => Limits::default(),
    };
    let len = msg.len() as u64;
    let whole = scan(limits, &[&msg]);
    check(&whole.root, limits, len);
    let mut points: Vec<usize> = input
        .cuts
        .iter()
        .map(|&c| usize::from(c) % (msg.len() + 1))
        .collect();
    points.sort_unstable();
    points.dedup();
    let mut chunks = Vec::new();
    let mut last = 0;
    for p in points {
        chunks.push(&msg[last..p]);
        last = p;
    }
    chunks.push(&msg[last..]);
    assert_eq!(scan(limits, &chunks), whole);
    if limits == Limits::default() {
        // The consumers: bounded walks over the tree, never a panic.
        let view = MessageView::with_offsets(&msg, whole.root.clone());
        let _ = body_structure(&view);
        let key = SearchKey::Body(AString::from_bytes(b"hi").expect("astring"));
        let program = SearchProgram::new(&[key]);
        let _ = SearchMessage::new(&msg, program.needs());
    }
});
