//! Hostile and unusual input over raw sockets.

mod common;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use common::*;

fn start(opts: Opts) -> (Site, Server, SocketAddr) {
    let site = Site::new(opts);
    site.default_users();
    let srv = site.start();
    let addr = srv.addr("smtp");
    (site, srv, addr)
}

fn mx_only() -> Opts {
    Opts {
        listeners: vec!["smtp"],
        ..Opts::default()
    }
}

/// A new client still gets a greeting and an EHLO answer.
fn assert_healthy(addr: SocketAddr) {
    let (mut c, _) = RawSmtp::connect_ehlo(addr);
    c.expect("NOOP", 250);
    c.expect("QUIT", 221);
}

#[test]
fn overlong_command_line_then_continue() {
    let (_site, _srv, addr) = start(mx_only());
    let (mut c, _) = RawSmtp::connect_ehlo(addr);
    // RFC 5321 §4.5.3.1.4: a command line is at most 512 octets.
    let line = format!("NOOP {}", "a".repeat(5000));
    let r = c.cmd(&line).unwrap();
    assert_eq!(r.0, 500, "{r:?}");
    c.expect("NOOP", 250);
    c.expect("MAIL FROM:<sender@example.org>", 250);
    c.expect("QUIT", 221);
}

#[test]
fn ten_megabyte_line_without_crlf() {
    let (_site, mut srv, addr) = start(mx_only());
    let mut c = RawSmtp::connect(addr);
    let chunk = vec![b'a'; 64 * 1024];
    let mut write_failed = false;
    for _ in 0..160 {
        if c.send(&chunk).is_err() {
            write_failed = true;
            break;
        }
    }
    if !write_failed {
        // Either an error reply (500) or a clean close; never a 2xx.
        match c.reply() {
            Ok(r) => assert_eq!(r.0 / 100, 5, "reply to a 10 MB line: {r:?}"),
            Err(e) => {
                let k = e.kind();
                assert!(
                    matches!(
                        k,
                        std::io::ErrorKind::UnexpectedEof
                            | std::io::ErrorKind::ConnectionReset
                            | std::io::ErrorKind::ConnectionAborted
                    ),
                    "neither a reply nor a close: {e}"
                );
            }
        }
    }
    drop(c);
    assert!(srv.is_running());
    assert_healthy(addr);
}

#[test]
fn binary_garbage_then_421() {
    let (_site, _srv, addr) = start(mx_only());
    let mut c = RawSmtp::connect(addr);
    let garbage: &[u8] = b"\x01\x02\xfe\xff\x7f GARBAGE \x00\x1b[31m\r\n";
    let mut codes = Vec::new();
    for _ in 0..200 {
        if c.send(garbage).is_err() {
            break;
        }
        match c.reply() {
            Ok(r) => {
                codes.push(r.0);
                if r.0 == 421 {
                    break;
                }
            }
            Err(_) => break,
        }
    }
    let (last, before) = codes.split_last().expect("at least one reply");
    assert_eq!(
        *last,
        421,
        "no 421 after {} bad commands: {codes:?}",
        codes.len()
    );
    assert!(!before.is_empty(), "421 without any 500 first");
    assert!(before.iter().all(|&c| c == 500), "{codes:?}");
    assert!(c.is_closed(), "connection not closed after 421");
    assert_healthy(addr);
}

#[test]
fn body_over_limit_552_without_size() {
    let (site, _srv, addr) = start(Opts {
        listeners: vec!["smtp"],
        max_message_size: 65_536,
        ..Opts::default()
    });
    let (mut c, _) = RawSmtp::connect_ehlo(addr);
    let mut big = message("raw-big-token");
    while big.len() <= 100_000 {
        big.extend_from_slice(&[b'x'; 998]);
        big.extend_from_slice(b"\r\n");
    }
    let r = c.send_mail("sender@example.org", ALICE.0, &big).unwrap();
    assert_eq!(r.0, 552, "{r:?}");
    c.expect("NOOP", 250);
    // The session continues: a normal message goes through.
    let small = message("raw-small-token");
    let r = c.send_mail("sender@example.org", ALICE.0, &small).unwrap();
    assert_eq!(r.0, 250, "{r:?}");
    c.expect("QUIT", 221);
    site.assert_not_delivered(ALICE.0, "raw-big-token");
    assert_stored(
        &site.delivered_with(ALICE.0, "raw-small-token"),
        "sender@example.org",
        &small,
    );
}

/// SMTP smuggling: only CRLF.CRLF ends DATA, bare LF/CR are refused, and the
/// commands after a fake terminator are never executed.
#[test]
fn bare_lf_smuggling_refused() {
    let (site, _srv, addr) = start(mx_only());
    for (i, fake) in ["\n.\n", "\n.\r\n", "\r.\r\n", "\r\n.\n", "\r\n.\r"]
        .iter()
        .enumerate()
    {
        let (mut c, _) = RawSmtp::connect_ehlo(addr);
        c.expect("MAIL FROM:<sender@example.org>", 250);
        c.expect(&format!("RCPT TO:<{}>", ALICE.0), 250);
        c.expect("DATA", 354);
        let body = format!(
            "Subject: smuggle-outer-{i}\r\n\r\nouter{fake}MAIL FROM:<evil@example.org>\r\n\
             RCPT TO:<{}>\r\nDATA\r\nSubject: smuggled-inner-{i}\r\n\r\ninner\r\n.\r\n",
            BOB.0
        );
        c.send(body.as_bytes()).unwrap();
        let r = c.reply().unwrap();
        assert_eq!(
            r.0 / 100,
            5,
            "variant {i} {fake:?}: body with bare CR/LF accepted: {r:?}"
        );
        // The next reply must answer our NOOP, not a smuggled command.
        let r = c.cmd("NOOP").unwrap();
        assert_eq!(r.0, 250, "variant {i}: {r:?}");
        c.expect("QUIT", 221);
        site.assert_not_delivered(ALICE.0, &format!("smuggle-outer-{i}"));
        site.assert_not_delivered(BOB.0, &format!("smuggled-inner-{i}"));
    }
}

/// RFC 3030 CHUNKING: BDAT chunks are stored exactly (swaks 20201014 has
/// no BDAT, so this is a raw client).
#[test]
fn bdat_chunks() {
    let (site, _srv, addr) = start(mx_only());
    let (mut c, ehlo) = RawSmtp::connect_ehlo(addr);
    assert!(
        ehlo.1.iter().any(|l| l.eq_ignore_ascii_case("CHUNKING")),
        "{ehlo:?}"
    );
    let m = message("bdat-token");
    let (a, b) = m.split_at(40);
    c.expect("MAIL FROM:<sender@example.org>", 250);
    c.expect(&format!("RCPT TO:<{}>", ALICE.0), 250);
    c.send(format!("BDAT {}\r\n", a.len()).as_bytes()).unwrap();
    c.send(a).unwrap();
    assert_eq!(c.reply().unwrap().0, 250);
    // A chunk of zero bytes ends a message too (RFC 3030 §2); here the
    // last chunk has data and LAST.
    c.send(format!("BDAT {} LAST\r\n", b.len()).as_bytes())
        .unwrap();
    c.send(b).unwrap();
    assert_eq!(c.reply().unwrap().0, 250);
    // BDAT bytes are not dot-stuffed: a leading dot stays single.
    c.expect("MAIL FROM:<sender@example.org>", 250);
    c.expect(&format!("RCPT TO:<{}>", ALICE.0), 250);
    let m2 = b"Subject: bdat-dot-token\r\n\r\n.\r\n..\r\n".to_vec();
    c.send(format!("BDAT {} LAST\r\n", m2.len()).as_bytes())
        .unwrap();
    c.send(&m2).unwrap();
    assert_eq!(c.reply().unwrap().0, 250);
    c.expect("QUIT", 221);
    assert_stored(
        &site.delivered_with(ALICE.0, "bdat-token"),
        "sender@example.org",
        &m,
    );
    assert_stored(
        &site.delivered_with(ALICE.0, "bdat-dot-token"),
        "sender@example.org",
        &m2,
    );
}

/// Pipelined MAIL/RCPT/DATA (RFC 2920) with a bad recipient in the middle.
#[test]
fn pipelining_replies_in_order() {
    let (site, _srv, addr) = start(mx_only());
    let (mut c, _) = RawSmtp::connect_ehlo(addr);
    let m = message("pipelined-token");
    let mut group = format!(
        "MAIL FROM:<sender@example.org>\r\nRCPT TO:<nobody@localhost>\r\nRCPT TO:<{}>\r\nDATA\r\n",
        ALICE.0
    )
    .into_bytes();
    c.send(&group).unwrap();
    let codes: Vec<u16> = (0..4).map(|_| c.reply().unwrap().0).collect();
    assert_eq!(codes, [250, 550, 250, 354]);
    group = dot_stuff(&m);
    group.extend_from_slice(b"NOOP\r\nQUIT\r\n");
    c.send(&group).unwrap();
    let codes: Vec<u16> = (0..3).map(|_| c.reply().unwrap().0).collect();
    assert_eq!(codes, [250, 250, 221]);
    assert_stored(
        &site.delivered_with(ALICE.0, "pipelined-token"),
        "sender@example.org",
        &m,
    );
}

fn nofile_soft_limit() -> Option<u64> {
    let limits = std::fs::read_to_string("/proc/self/limits").ok()?;
    let line = limits.lines().find(|l| l.starts_with("Max open files"))?;
    line.split_whitespace().nth(3)?.parse().ok()
}

#[test]
fn thousand_connections_from_one_address() {
    const N: usize = 1000;
    // Both ends of every connection live in this machine: the test process
    // needs N descriptors of its own. Raise the soft limit to the hard one.
    let _ = rlimit::increase_nofile_limit(u64::MAX);
    let limit = nofile_soft_limit();
    assert!(
        limit.is_some_and(|n| n >= 2 * N as u64 + 100),
        "RLIMIT_NOFILE {limit:?} is below {} even after raising it (ulimit -Hn)",
        2 * N + 100
    );
    let (_site, mut srv, addr) = start(mx_only());
    let mut conns = Vec::with_capacity(N);
    for _ in 0..N {
        match TcpStream::connect_timeout(&addr, Duration::from_secs(10)) {
            Ok(s) => conns.push(s),
            // A full accept backlog may refuse: that is a clean refusal.
            Err(e) => assert!(
                matches!(
                    e.kind(),
                    std::io::ErrorKind::ConnectionRefused | std::io::ErrorKind::TimedOut
                ),
                "connect: {e}"
            ),
        }
    }
    // Each connection is greeted (220), refused (421) or closed cleanly.
    let mut greeted = 0;
    for s in &mut conns {
        s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
        let mut buf = [0u8; 5];
        let mut got = 0;
        let res = loop {
            match s.read(&mut buf[got..]) {
                Ok(0) => break None,
                Ok(n) => {
                    got += n;
                    if got >= 4 {
                        break Some(buf);
                    }
                }
                Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => break None,
                Err(e) => panic!("no greeting and no close: {e}"),
            }
        };
        if let Some(b) = res {
            assert!(
                b.starts_with(b"220") || b.starts_with(b"421"),
                "{:?}",
                String::from_utf8_lossy(&b)
            );
            greeted += usize::from(b.starts_with(b"220"));
        }
    }
    assert!(greeted > 0, "no connection was greeted");
    for s in &mut conns {
        let _ = s.write_all(b"QUIT\r\n");
    }
    drop(conns);
    assert!(srv.is_running());
    assert_healthy(addr);
}
