//! Bad HTTP peers: 10,000 header fields, slowloris heads and bodies, SSE
//! clients that never read. The server answers with the right status or
//! closes, its memory stays bounded, and SMTP/IMAP stay unaffected.

mod common;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use common::*;

fn site() -> Site {
    let site = Site::new(Opts {
        listeners: vec!["smtp", "imap", "http"],
        ..Opts::default()
    });
    http_keys(
        &site,
        "auth = \"none\"\nheader_timeout_ms = 1000\nbody_timeout_ms = 1000",
    );
    site
}

fn connect(addr: SocketAddr) -> TcpStream {
    let s = TcpStream::connect_timeout(&addr, IO_TIMEOUT).expect("connect");
    s.set_read_timeout(Some(IO_TIMEOUT)).unwrap();
    s.set_write_timeout(Some(IO_TIMEOUT)).unwrap();
    s
}

/// Reads until the peer closes (or `limit` bytes): what the server sent.
fn read_all(s: &mut TcpStream, limit: usize) -> Vec<u8> {
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    while out.len() < limit {
        match s.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => out.extend_from_slice(&buf[..n]),
        }
    }
    out
}

fn healthz_fast(addr: SocketAddr) {
    let started = Instant::now();
    let mut s = connect(addr);
    s.write_all(b"GET /healthz HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
        .unwrap();
    let got = read_all(&mut s, 1 << 16);
    assert!(
        got.starts_with(b"HTTP/1.1 200 OK\r\n"),
        "{}",
        String::from_utf8_lossy(&got)
    );
    assert!(got.ends_with(b"\r\n\r\nok"));
    assert!(
        started.elapsed() < Duration::from_secs(1),
        "{:?}",
        started.elapsed()
    );
}

fn smtp_and_imap_fast(server: &Server) {
    let started = Instant::now();
    let _ = RawSmtp::connect_ehlo(server.addr("smtp"));
    let _ = RawImap::connect(server.addr("imap"));
    assert!(
        started.elapsed() < Duration::from_secs(1),
        "{:?}",
        started.elapsed()
    );
}

fn rss_kib(server: &Server) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{}/status", server.child.id())).unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmRSS")
}

#[test]
fn ten_thousand_headers_and_oversized_heads() {
    let site = site();
    let server = site.start();
    let http = server.addr("http");
    // 10,000 small header fields: more than MAX_HEADERS (and a head over
    // 64 KiB): 431, then the connection closes.
    let mut req = b"GET /healthz HTTP/1.1\r\nHost: t\r\n".to_vec();
    for i in 0..10_000 {
        req.extend_from_slice(format!("X-H-{i}: v\r\n").as_bytes());
    }
    req.extend_from_slice(b"\r\n");
    let mut s = connect(http);
    // The server may close before everything is written.
    let _ = s.write_all(&req);
    let got = read_all(&mut s, 1 << 16);
    assert!(
        got.starts_with(b"HTTP/1.1 431 "),
        "{}",
        String::from_utf8_lossy(&got)
    );
    // 101 fields in a small head: 431 too.
    let mut req = b"GET /healthz HTTP/1.1\r\nHost: t\r\n".to_vec();
    for i in 0..101 {
        req.extend_from_slice(format!("X-{i}: v\r\n").as_bytes());
    }
    req.extend_from_slice(b"\r\n");
    let mut s = connect(http);
    s.write_all(&req).unwrap();
    assert!(read_all(&mut s, 1 << 16).starts_with(b"HTTP/1.1 431 "));
    // One 100 KiB header line.
    let mut s = connect(http);
    let _ = s.write_all(
        format!(
            "GET /healthz HTTP/1.1\r\nX: {}\r\n\r\n",
            "a".repeat(100 * 1024)
        )
        .as_bytes(),
    );
    let got = read_all(&mut s, 1 << 16);
    assert!(
        got.starts_with(b"HTTP/1.1 431 "),
        "{:?}",
        String::from_utf8_lossy(&got)
    );
    healthz_fast(http);
    smtp_and_imap_fast(&server);
}

#[test]
fn slowloris_heads_and_bodies_are_cut_off() {
    let site = site();
    site.user_add("a@localhost", "pw");
    let server = site.start();
    let http = server.addr("http");
    // 200 clients that send a head one byte at a time, never finishing.
    let mut slow: Vec<(TcpStream, Instant)> = (0..200)
        .map(|_| {
            let mut s = connect(http);
            s.write_all(b"GET /healthz HTTP/1.1\r\nX-Slow: ").unwrap();
            (s, Instant::now())
        })
        .collect();
    let started = Instant::now();
    let mut open_for = vec![None; slow.len()];
    while open_for.iter().any(Option::is_none) && started.elapsed() < Duration::from_secs(6) {
        for (i, (s, opened)) in slow.iter_mut().enumerate() {
            if open_for[i].is_none() && s.write_all(b"a").is_err() {
                open_for[i] = Some(opened.elapsed());
            }
        }
        // Meanwhile everyone else is served at once.
        healthz_fast(http);
        smtp_and_imap_fast(&server);
        std::thread::sleep(Duration::from_millis(100));
    }
    // Every slow client was cut off by the 1 s header timeout (a write
    // fails once the server has closed; allow for the RST to arrive and
    // for this loop's own pace).
    for (i, c) in open_for.iter().enumerate() {
        let at = c.unwrap_or_else(|| panic!("slow client {i} still open after 6 s"));
        assert!(
            at >= Duration::from_millis(900) && at < Duration::from_secs(5),
            "client {i} closed after {at:?}"
        );
    }
    drop(slow);

    // A body that never comes: 408 after body_timeout_ms.
    let mut s = connect(http);
    s.write_all(b"POST /api/v1/messages?user=a%40localhost HTTP/1.1\r\nHost: t\r\nContent-Length: 100\r\n\r\nabc")
        .unwrap();
    let started = Instant::now();
    let got = read_all(&mut s, 1 << 16);
    let text = String::from_utf8_lossy(&got);
    assert!(text.starts_with("HTTP/1.1 408 "), "{text}");
    assert!(
        text.contains("{\"error\":\"request body not received in time\"}"),
        "{text}"
    );
    assert!(started.elapsed() < Duration::from_secs(3));
    // A body over max_message_size announced by Content-Length: 413 at
    // once, without reading it.
    let mut s = connect(http);
    s.write_all(b"POST /api/v1/messages?user=a%40localhost HTTP/1.1\r\nHost: t\r\nContent-Length: 99999999\r\n\r\n")
        .unwrap();
    let got = read_all(&mut s, 1 << 16);
    assert!(
        got.starts_with(b"HTTP/1.1 413 "),
        "{}",
        String::from_utf8_lossy(&got)
    );
    healthz_fast(http);
}

#[test]
fn sse_clients_that_never_read_stay_bounded() {
    let site = site();
    site.user_add("alice@localhost", "pw");
    let server = site.start();
    let http = server.addr("http");
    // 10 event streams whose clients never read a byte.
    let stuck: Vec<TcpStream> = (0..10)
        .map(|_| {
            let mut s = connect(http);
            s.write_all(b"GET /api/v1/events HTTP/1.1\r\nHost: t\r\n\r\n")
                .unwrap();
            s
        })
        .collect();
    // One reader that does read.
    let mut reader = connect(http);
    reader
        .write_all(b"GET /api/v1/events HTTP/1.1\r\nHost: t\r\n\r\n")
        .unwrap();
    std::thread::sleep(Duration::from_millis(300));
    let before = rss_kib(&server);
    // 150 messages of 8 KiB each over one keep-alive HTTP connection.
    let body = format!(
        "Subject: flood\r\nFrom: f@example.test\r\n\r\n{}\r\n",
        "x".repeat(8 * 1024)
    );
    let mut w = connect(http);
    let mut r = std::io::BufReader::new(w.try_clone().unwrap());
    let n = 150;
    for _ in 0..n {
        write!(
            w,
            "POST /api/v1/messages?user=alice%40localhost HTTP/1.1\r\nHost: t\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        )
        .unwrap();
        let mut status = String::new();
        std::io::BufRead::read_line(&mut r, &mut status).unwrap();
        assert!(status.starts_with("HTTP/1.1 201"), "{status}");
        let mut len = 0usize;
        loop {
            let mut line = String::new();
            std::io::BufRead::read_line(&mut r, &mut line).unwrap();
            if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length: ") {
                len = v.trim().parse().unwrap();
            }
            if line == "\r\n" {
                break;
            }
        }
        let mut skip = vec![0u8; len];
        r.read_exact(&mut skip).unwrap();
    }
    // The reading client got one event per message.
    reader
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let mut seen = 0;
    let mut buf = Vec::new();
    let mut chunk = [0u8; 65536];
    while seen < n {
        let k = reader.read(&mut chunk).expect("events");
        assert!(k > 0, "event stream closed after {seen} events");
        buf.extend_from_slice(&chunk[..k]);
        seen = buf
            .windows(b"event: message\n".len())
            .filter(|w| w == b"event: message\n")
            .count();
    }
    assert_eq!(seen, n);
    let after = rss_kib(&server);
    // This checks that unread streams do not stall delivery or the other
    // protocols and that memory does not run away; the hard bound is by
    // construction (a stream holds at most SUBSCRIPTION_QUEUE notices,
    // tested in maildir::notify), so allow generous allocator slack.
    assert!(
        after < before + 40 * 1024,
        "RSS grew from {before} KiB to {after} KiB"
    );
    smtp_and_imap_fast(&server);
    healthz_fast(http);
    drop(stuck);
    // The server stops promptly with streams open.
    let status = server.stop();
    assert!(status.success(), "{status:?}");
}
