#![no_main]
//! `DataReceiver` and `BdatReceiver` fed at arbitrary split points give the
//! same output as fed whole, and `DataReceiver` agrees with a naive
//! reference unstuffer on bodies without bare CR/LF.

use arbitrary::Arbitrary;
use bytes::BytesMut;
use libfuzzer_sys::fuzz_target;
use smtp_proto::{BdatReceiver, DataReceiver};

#[derive(Debug, Arbitrary)]
struct Input {
    max_size: Option<u16>,
    bdat_size: u16,
    discard: bool,
    cuts: Vec<u16>,
    tokens: bool,
    body: Vec<u8>,
}

const TOKENS: &[&[u8]] = &[
    b"\r\n", b".", b"\r", b"\n", b"..", b"\r\n.\r\n", b"\r\n..\r\n", b"\n.\r\n", b"\r.\r", b"a", b"xyz ",
    b"\r\n.", b".\r\n", b"\x00", b"\xff",
];

#[derive(Debug, PartialEq)]
struct DataResult {
    out: Vec<u8>,
    consumed: usize,
    done: bool,
    bare: bool,
    exceeded: bool,
    size: u64,
}

fn chunks<'a>(body: &'a [u8], cuts: &[u16]) -> Vec<&'a [u8]> {
    let mut points: Vec<usize> = cuts.iter().map(|&c| usize::from(c) % (body.len() + 1)).collect();
    points.sort_unstable();
    points.dedup();
    let mut out = Vec::new();
    let mut last = 0;
    for p in points {
        out.push(&body[last..p]);
        last = p;
    }
    out.push(&body[last..]);
    out
}

fn data(body: &[u8], max: u64, cuts: &[u16]) -> DataResult {
    let mut rx = DataReceiver::new(max);
    let mut out = BytesMut::new();
    let mut consumed = 0;
    let mut done = false;
    for chunk in chunks(body, cuts) {
        if done {
            break;
        }
        let progress = rx.feed(chunk, &mut out);
        assert!(progress.consumed <= chunk.len());
        assert!(progress.done || progress.consumed == chunk.len());
        consumed += progress.consumed;
        done = progress.done;
    }
    DataResult { out: out.to_vec(), consumed, done, bare: rx.bare_line_ending(), exceeded: rx.size_exceeded(), size: rx.size() }
}

/// Naive reference: the body ends at the first CRLF.CRLF (counting the CRLF
/// before the body); `None` if it has not ended or holds a bare CR/LF.
fn reference(body: &[u8]) -> Option<(Vec<u8>, usize)> {
    let hay = [b"\r\n".as_slice(), body].concat();
    let end = hay.windows(5).position(|w| w == b"\r\n.\r\n")?;
    let content = &body[..end];
    for (i, &b) in content.iter().enumerate() {
        let bare_cr = b == b'\r' && content.get(i + 1) != Some(&b'\n');
        let bare_lf = b == b'\n' && (i == 0 || content[i - 1] != b'\r');
        if bare_cr || bare_lf {
            return None;
        }
    }
    let mut out = Vec::new();
    for line in content.split_inclusive(|&b| b == b'\n') {
        out.extend_from_slice(line.strip_prefix(b".").unwrap_or(line));
    }
    Some((out, end + 3))
}

fuzz_target!(|input: Input| {
    let body = if input.tokens {
        input.body.iter().flat_map(|&b| TOKENS.get(usize::from(b)).copied().unwrap_or(&[b'q'][..]).iter().copied()).collect()
    } else {
        input.body.clone()
    };
    let max = input.max_size.map_or(u64::MAX, u64::from);
    let whole = data(&body, max, &[]);
    assert_eq!(data(&body, max, &input.cuts), whole);
    assert!(whole.out.len() as u64 <= max);
    if whole.done {
        assert!(body[..whole.consumed].ends_with(b".\r\n"));
    }
    if max == u64::MAX {
        if let Some((out, consumed)) = reference(&body) {
            assert_eq!((whole.out.as_slice(), whole.consumed, whole.done), (out.as_slice(), consumed, true));
            assert!(!whole.bare);
        }
    }

    let size = u64::from(input.bdat_size);
    let run = |cuts: &[u16]| {
        let mut rx = BdatReceiver::new(size, input.discard);
        let mut out = BytesMut::new();
        let mut consumed = 0;
        for chunk in chunks(&body, cuts) {
            let progress = rx.feed(chunk, &mut out);
            consumed += progress.consumed;
            if progress.done {
                break;
            }
        }
        (out.to_vec(), consumed, rx.remaining())
    };
    let whole = run(&[]);
    assert_eq!(run(&input.cuts), whole);
    let expect = body.len().min(usize::from(input.bdat_size));
    assert_eq!(whole.1, expect);
    assert_eq!(whole.0, if input.discard { Vec::new() } else { body[..expect].to_vec() });
});
