//! One outbound delivery attempt against scripted peers on loopback
//! sockets that misbehave: a TLS handshake that breaks, per-recipient
//! 4xx/5xx and a close in the middle of DATA, a 10 MB reply line, a
//! greeting that never ends or trickles, silence after the data, a refused
//! connection. Each must end in bounded time with a clean outcome.

mod common;
mod outbound_util;

use std::io::{BufRead as _, Read as _, Write as _};
use std::net::{SocketAddr, TcpListener};
use std::time::{Duration, Instant};

use common::crlf;
use outbound_util::{FROM, attempt, envelope, free_port, kinds, message, run};
use sansmail::config::OutboundTls;
use smtp_proto::BodyType;

/// A peer on a loopback socket that runs `script` on the first connection.
fn peer(script: impl FnOnce(std::net::TcpStream) + Send + 'static) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        if let Ok((s, _)) = listener.accept() {
            s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
            s.set_write_timeout(Some(Duration::from_secs(10))).unwrap();
            script(s);
        }
    });
    addr
}

/// Reads one line (bounded), "" at the end of input.
fn read_line(r: &mut impl std::io::BufRead) -> String {
    let mut line = Vec::new();
    let _ = r.take(4096).read_until(b'\n', &mut line);
    String::from_utf8_lossy(&line).into_owned()
}

#[test]
fn a_broken_tls_handshake_falls_back_to_plain_text_when_opportunistic() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let script = std::thread::spawn(move || {
        // First connection: STARTTLS accepted, then bytes that are no TLS.
        let (mut s, _) = listener.accept().unwrap();
        s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        let mut r = std::io::BufReader::new(s.try_clone().unwrap());
        s.write_all(b"220 peer ESMTP\r\n").unwrap();
        assert!(read_line(&mut r).starts_with("EHLO "));
        s.write_all(b"250-peer\r\n250 STARTTLS\r\n").unwrap();
        assert_eq!(read_line(&mut r), "STARTTLS\r\n");
        s.write_all(b"220 2.0.0 go ahead\r\nthis is not a TLS record\r\n")
            .unwrap();
        drop((r, s));
        // Second connection: STARTTLS offered again but not used.
        let (mut s, _) = listener.accept().unwrap();
        s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        let mut r = std::io::BufReader::new(s.try_clone().unwrap());
        s.write_all(b"220 peer ESMTP\r\n").unwrap();
        assert!(read_line(&mut r).starts_with("EHLO "));
        s.write_all(b"250-peer\r\n250-PIPELINING\r\n250 STARTTLS\r\n")
            .unwrap();
        let mut commands = Vec::new();
        for _ in 0..3 {
            commands.push(read_line(&mut r));
        }
        s.write_all(b"250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n354 go\r\n")
            .unwrap();
        let mut body = Vec::new();
        while !body.ends_with(b"\r\n.\r\n") {
            let line = read_line(&mut r);
            assert!(!line.is_empty(), "body cut short");
            body.extend_from_slice(line.as_bytes());
        }
        s.write_all(b"250 2.0.0 Ok: queued\r\n").unwrap();
        assert_eq!(read_line(&mut r), "QUIT\r\n");
        let _ = s.write_all(b"221 2.0.0 Bye\r\n");
        (commands, body)
    });
    let body = b"Subject: fallback\r\n\r\nplain\r\n".to_vec();
    let result = run(
        &attempt(addr, OutboundTls::Opportunistic),
        envelope(&["a@peer"], &body, BodyType::SevenBit),
        &body,
    );
    assert_eq!(
        kinds(&result),
        ["delivered 250 2.0.0"],
        "{:?}",
        result.error
    );
    assert!(!result.tls);
    let (commands, wire) = script.join().expect("peer script");
    assert_eq!(
        commands,
        [
            format!("MAIL FROM:<{FROM}>\r\n"),
            "RCPT TO:<a@peer>\r\n".to_owned(),
            "DATA\r\n".to_owned()
        ]
    );
    assert_eq!(wire, b"Subject: fallback\r\n\r\nplain\r\n.\r\n");

    // Under `required` the same failure is final for this attempt.
    let addr = peer(|mut s| {
        let mut r = std::io::BufReader::new(s.try_clone().unwrap());
        s.write_all(b"220 peer ESMTP\r\n").unwrap();
        read_line(&mut r);
        s.write_all(b"250-peer\r\n250 STARTTLS\r\n").unwrap();
        read_line(&mut r);
        let _ = s.write_all(b"220 2.0.0 go ahead\r\nthis is not a TLS record\r\n");
    });
    let result = run(
        &attempt(addr, OutboundTls::Required),
        envelope(&["a@peer"], &body, BodyType::SevenBit),
        &body,
    );
    assert_eq!(kinds(&result), ["temporary 451 4.7.5"]);
}

#[test]
fn a_peer_with_mixed_rcpt_replies_that_closes_mid_data() {
    let addr = peer(|mut s| {
        let mut r = std::io::BufReader::new(s.try_clone().unwrap());
        s.write_all(b"220 peer ESMTP\r\n").unwrap();
        assert!(read_line(&mut r).starts_with("EHLO "));
        s.write_all(b"250-peer\r\n250 8BITMIME\r\n").unwrap();
        // No PIPELINING: one reply per command.
        for reply in [
            &b"250 2.1.0 Ok\r\n"[..],
            b"250 2.1.5 Ok\r\n",
            b"450 4.2.1 Mailbox busy\r\n",
            b"550 5.1.1 No such user\r\n",
            b"250 2.1.5 Ok\r\n",
            b"354 go ahead\r\n",
        ] {
            assert!(!read_line(&mut r).is_empty());
            s.write_all(reply).unwrap();
        }
        // Take a little of the body, then hang up.
        let mut buf = [0u8; 1000];
        let _ = r.read(&mut buf);
    });
    let body = message("peer-mid-data", 500_000);
    let started = Instant::now();
    let result = run(
        &attempt(addr, OutboundTls::Opportunistic),
        envelope(
            &["a@peer", "busy@peer", "nobody@peer", "b@peer"],
            &body,
            BodyType::SevenBit,
        ),
        &body,
    );
    assert_eq!(
        kinds(&result),
        [
            "temporary 451 4.4.2",
            "temporary 450 4.2.1",
            "permanent 550 5.1.1",
            "temporary 451 4.4.2"
        ],
        "{:?}",
        result.error
    );
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?} {:?}",
        started.elapsed(),
        result.error
    );
}

#[test]
fn a_ten_megabyte_reply_line_is_refused_at_the_line_limit() {
    let addr = peer(|mut s| {
        let _ = s.write_all(b"220 ");
        let junk = vec![b'x'; 1024 * 1024];
        for _ in 0..10 {
            if s.write_all(&junk).is_err() {
                return; // the client hung up, as it should
            }
        }
        let _ = s.write_all(b"\r\n");
    });
    let started = Instant::now();
    let result = run(
        &attempt(addr, OutboundTls::Opportunistic),
        envelope(&["a@peer"], b"x\r\n", BodyType::SevenBit),
        b"x\r\n",
    );
    assert_eq!(kinds(&result), ["temporary 451 4.5.0"]);
    assert_eq!(result.error.as_deref(), Some("reply line too long"));
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
}

#[test]
fn a_greeting_that_never_ends_hits_the_line_count_or_the_timeout() {
    // Endless continuation lines: the multi-line limit.
    let addr = peer(|mut s| {
        for _ in 0..100_000 {
            if s.write_all(b"220-still greeting you\r\n").is_err() {
                return;
            }
        }
    });
    let result = run(
        &attempt(addr, OutboundTls::Opportunistic),
        envelope(&["a@peer"], b"x\r\n", BodyType::SevenBit),
        b"x\r\n",
    );
    assert_eq!(kinds(&result), ["temporary 451 4.5.0"]);
    assert_eq!(result.error.as_deref(), Some("too many reply lines"));

    // A trickle, one byte every 100 ms: the greeting timeout, not the
    // bytes, ends it.
    let addr = peer(|mut s| {
        for _ in 0..200 {
            if s.write_all(b"2").is_err() {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    });
    let mut a = attempt(addr, OutboundTls::Opportunistic);
    a.limits.greeting = Duration::from_secs(1);
    let started = Instant::now();
    let result = run(
        &a,
        envelope(&["a@peer"], b"x\r\n", BodyType::SevenBit),
        b"x\r\n",
    );
    let took = started.elapsed();
    assert_eq!(kinds(&result), ["temporary 451 4.4.2"]);
    assert_eq!(
        result.error.as_deref(),
        Some("timeout waiting for the greeting reply")
    );
    assert!(
        took >= Duration::from_secs(1) && took < Duration::from_secs(4),
        "{took:?}"
    );
}

#[test]
fn a_silent_peer_after_data_times_out_at_the_data_end_timeout() {
    let addr = peer(|mut s| {
        let mut r = std::io::BufReader::new(s.try_clone().unwrap());
        s.write_all(b"220 peer\r\n").unwrap();
        read_line(&mut r);
        s.write_all(b"250-peer\r\n250 PIPELINING\r\n").unwrap();
        s.write_all(b"250 ok\r\n250 ok\r\n354 go\r\n").unwrap();
        // Read the whole body, then say nothing.
        let mut buf = [0u8; 4096];
        let mut seen = Vec::new();
        while !seen.ends_with(b"\r\n.\r\n") {
            match r.read(&mut buf) {
                Ok(0) | Err(_) => return,
                Ok(n) => seen.extend_from_slice(&buf[..n]),
            }
        }
        std::thread::sleep(Duration::from_secs(5));
    });
    let mut a = attempt(addr, OutboundTls::Opportunistic);
    a.limits.data_end = Duration::from_secs(1);
    let started = Instant::now();
    let body = crlf(b"Subject: silent\n\nhello\n");
    let result = run(&a, envelope(&["a@peer"], &body, BodyType::SevenBit), &body);
    assert_eq!(kinds(&result), ["temporary 451 4.4.2"]);
    assert_eq!(
        result.error.as_deref(),
        Some("timeout waiting for the end of data reply")
    );
    assert!(started.elapsed() < Duration::from_secs(4));
}

#[test]
fn a_refused_connection_is_a_temporary_failure() {
    let addr = free_port(); // nothing listens there any more
    let result = run(
        &attempt(addr, OutboundTls::Opportunistic),
        envelope(&["a@peer", "b@peer"], b"x\r\n", BodyType::SevenBit),
        b"x\r\n",
    );
    assert_eq!(
        kinds(&result),
        ["temporary 451 4.4.1", "temporary 451 4.4.1"]
    );
}
