//! End-to-end: IMAP COMPRESS=DEFLATE (RFC 4978) against the real binary.
//! The client is Python's zlib with raw DEFLATE (wbits=-15) over a raw
//! socket, plain and inside implicit TLS, and imaplib over the same
//! compressed stream (`tests/interop/imap_compress.py`); the measured test
//! prints the octets on the wire of `FETCH 1:1000 (BODY.PEEK[HEADER])`
//! with and without compression and asserts a reduction above 3x.

mod common;

use common::*;
use std::path::Path;

fn run(scenario: &str, extra: &[&str]) -> std::collections::BTreeMap<String, String> {
    run_on(&imap_site("loopback"), scenario, extra)
}

fn run_on(
    site: &Site,
    scenario: &str,
    extra: &[&str],
) -> std::collections::BTreeMap<String, String> {
    let server = site.start();
    let imap = server.port("imap").to_string();
    let imaps = server.port("imaps").to_string();
    let mut args = vec![scenario, "127.0.0.1", &imap, &imaps, ALICE.0, ALICE.1];
    args.extend_from_slice(extra);
    let out = python("imap_compress.py", &args);
    println!("{out}");
    let r = results(&out);
    assert_eq!(r.get("failed").map(String::as_str), Some("0"), "{out}");
    r
}

/// LOGIN, COMPRESS DEFLATE (with a command compressed in the same packet),
/// SELECT, FETCH of the exact stored bytes, `NO [COMPRESSIONACTIVE]`,
/// LOGOUT; over plain TCP and inside TLS.
#[test]
#[cfg_attr(
    not(have_python3),
    ignore = "needs python3 (scripts/ci-deps.sh installs it)"
)]
fn compress_deflate_over_plain_and_tls() {
    let r = run("session", &[]);
    let checks: u32 = r["checks"].parse().unwrap();
    assert!(checks >= 30, "too few checks ran: {r:?}");
}

/// imaplib (which knows no COMPRESS) with its socket wrapped after the OK.
#[test]
#[cfg_attr(
    not(have_python3),
    ignore = "needs python3 (scripts/ci-deps.sh installs it)"
)]
fn imaplib_over_a_compressed_connection() {
    let r = run("imaplib", &[]);
    let checks: u32 = r["checks"].parse().unwrap();
    assert!(checks >= 8, "too few checks ran: {r:?}");
}

/// The headers of the shared corpus (see its README), CRLF, with a short
/// body.
fn corpus_headers() -> Vec<Vec<u8>> {
    let root = Path::new("/work/shared/corpus/eml");
    let mut files = Vec::new();
    for sub in ["legacy", "rfc", "malformed", "thirdparty"] {
        let Ok(dir) = std::fs::read_dir(root.join(sub)) else {
            continue;
        };
        for e in dir.flatten() {
            if e.path().extension().is_some_and(|x| x == "eml") {
                files.push(e.path());
            }
        }
    }
    files.sort();
    let mut out = Vec::new();
    for f in files {
        let bytes = crlf(&std::fs::read(&f).expect("read corpus file"));
        let Some(end) = bytes.windows(4).position(|w| w == b"\r\n\r\n") else {
            continue;
        };
        let mut m = bytes[..end + 4].to_vec();
        m.extend_from_slice(b"body\r\n");
        out.push(m);
    }
    assert!(out.len() >= 50, "corpus not found under {}", root.display());
    out
}

/// The bench of issue 15: 1,000 messages with the corpus's real headers;
/// `FETCH 1:1000 (BODY.PEEK[HEADER])` costs more than 3x fewer octets on
/// the wire with COMPRESS=DEFLATE (the answer being identical). Prints
/// the figures (`cargo test -p server-smol --test imap_compress
/// fetch_of_1000_headers -- --nocapture`).
#[test]
#[cfg_attr(
    not(have_python3),
    ignore = "needs python3 (scripts/ci-deps.sh installs it)"
)]
fn fetch_of_1000_headers_is_3x_smaller() {
    let headers = corpus_headers();
    let site = imap_site("loopback");
    // Written into the Maildir before the start, as mutt or a script
    // would (docs/DESIGN.md §3): SELECT picks them up, which is much
    // faster than 1,000 fsynced APPENDs.
    let new = site.data_dir().join("mail/localhost/alice/new");
    std::fs::create_dir_all(&new).unwrap();
    for i in 0..1000 {
        let h = &headers[i % headers.len()];
        let name = format!("1700000000.bench{i:04}.localhost,S={}", h.len());
        std::fs::write(new.join(name), h).unwrap();
    }
    let r = run_on(&site, "bench", &["1000"]);
    let plain: f64 = r["plain_octets"].parse().unwrap();
    let compressed: f64 = r["compressed_octets"].parse().unwrap();
    println!(
        "FETCH 1:1000 (BODY.PEEK[HEADER]): {plain} octets plain, {compressed} octets with \
         COMPRESS=DEFLATE, {:.2}x fewer",
        plain / compressed
    );
    assert_eq!(r["messages"], "1000");
    assert!(
        plain / compressed > 3.0,
        "only {:.2}x: {r:?}",
        plain / compressed
    );
}
