//! The POP3 listener over raw sockets: the exact bytes of multi-line
//! answers, SASL, and hostile or malformed input. After each bad input the
//! session must still be correct (or closed cleanly) and the server must
//! keep serving new connections.

mod common;

use std::net::SocketAddr;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use common::*;

/// SMTP to deliver, POP3 plain + STLS; no delay after a failed login.
fn site() -> Site {
    let site = site_with_auth(
        Opts {
            listeners: vec!["smtp", "pop3"],
            ..Opts::default()
        },
        "failure_delay_ms = 0",
    );
    site.default_users();
    site
}

fn start() -> (Site, Server, SocketAddr) {
    let site = site();
    let srv = site.start();
    let addr = srv.addr("pop3");
    (site, srv, addr)
}

/// Delivers `message` to alice over SMTP (our own raw client: these tests
/// need no Python) and returns the stored file's bytes.
fn deliver(site: &Site, srv: &Server, token: &str) -> Vec<u8> {
    let (mut c, _) = RawSmtp::connect_ehlo(srv.addr("smtp"));
    let r = c
        .send_mail("sender@example.org", ALICE.0, &message(token))
        .expect("send mail");
    assert_eq!(r.0, 250, "{r:?}");
    c.expect("QUIT", 221);
    stored_with(site, ALICE.0, token).1
}

/// A new connection can still log in and use the maildrop.
fn assert_healthy(addr: SocketAddr) {
    let mut c = RawPop3::login(addr, ALICE.0, ALICE.1);
    c.ok("STAT");
    c.ok("QUIT");
    assert!(c.is_closed());
}

/// What RETR sends after its `+OK` line for a stored file: lines made
/// CRLF-terminated, dot-stuffed, then `.CRLF` (RFC 1939 §3).
fn wire(stored: &[u8]) -> Vec<u8> {
    dot_stuff(&crlf(stored))
}

#[test]
fn retr_and_top_send_exact_bytes() {
    let site = site();
    // Put into new/ before the server starts (it rescans at start).
    let no_crlf = b"Subject: a\r\n\r\n.\r\n..\r\n.x\r\nlast".to_vec();
    let lf = b"Subject: b\n\n.dot\n\nend\n".to_vec();
    let lone_dot = b"Subject: c\r\n\r\nbody\r\n.".to_vec();
    drop_into_new(&site.data_dir(), ALICE.0, "1700000000.M1P1.raw", &no_crlf);
    drop_into_new(&site.data_dir(), ALICE.0, "1700000001.M2P1.raw", &lf);
    drop_into_new(&site.data_dir(), ALICE.0, "1700000002.M3P1.raw", &lone_dot);
    let srv = site.start();
    let addr = srv.addr("pop3");
    let smtp = deliver(&site, &srv, "raw-wire");

    let mut c = RawPop3::login(addr, ALICE.0, ALICE.1);
    assert!(c.ok("STAT").starts_with("+OK 4 "));
    let mut got: Vec<(usize, Vec<u8>)> = (1..=4)
        .map(|n| (n, c.multiline(&format!("RETR {n}"))))
        .collect();
    let number = |got: &[(usize, Vec<u8>)], want: &[u8]| -> usize {
        let hits: Vec<usize> = got
            .iter()
            .filter(|(_, w)| w == want)
            .map(|(n, _)| *n)
            .collect();
        assert_eq!(
            hits.len(),
            1,
            "RETR answers {:?} do not contain exactly once {:?}",
            got.iter()
                .map(|(_, w)| String::from_utf8_lossy(w).into_owned())
                .collect::<Vec<_>>(),
            String::from_utf8_lossy(want)
        );
        hits[0]
    };
    // Explicit expectations, not only the helper's.
    assert_eq!(
        wire(&no_crlf),
        b"Subject: a\r\n\r\n..\r\n...\r\n..x\r\nlast\r\n.\r\n"
    );
    assert_eq!(wire(&lf), b"Subject: b\r\n\r\n..dot\r\n\r\nend\r\n.\r\n");
    assert_eq!(wire(&lone_dot), b"Subject: c\r\n\r\nbody\r\n..\r\n.\r\n");
    let n_a = number(&got, &wire(&no_crlf));
    number(&got, &wire(&lf));
    number(&got, &wire(&lone_dot));
    let n_smtp = number(&got, &wire(&smtp));
    got.clear();

    assert_eq!(
        c.multiline(&format!("TOP {n_a} 0")),
        b"Subject: a\r\n\r\n.\r\n"
    );
    assert_eq!(
        c.multiline(&format!("TOP {n_a} 2")),
        b"Subject: a\r\n\r\n..\r\n...\r\n.\r\n"
    );
    assert_eq!(c.multiline(&format!("TOP {n_a} 100")), wire(&no_crlf));
    assert_eq!(
        c.ok(&format!("LIST {n_smtp}")),
        format!("+OK {n_smtp} {}", smtp.len())
    );
    // Pipelined (RFC 2449 §6.6): answers come back in order.
    c.send(format!("NOOP\r\nRETR {n_smtp}\r\nNOOP\r\n").as_bytes())
        .unwrap();
    assert!(c.line().unwrap().starts_with("+OK"));
    assert!(c.line().unwrap().starts_with("+OK"));
    assert_eq!(c.multiline_raw().unwrap(), wire(&smtp));
    assert!(c.line().unwrap().starts_with("+OK"));
    c.ok("QUIT");
    assert!(c.is_closed());
    assert_eq!(site.inbox(ALICE.0).len(), 4);
}

#[test]
fn auth_plain_and_login_over_raw_socket() {
    let (_site, _srv, addr) = start();
    let plain = |authz: &str, user: &str, pass: &str| {
        B64.encode(format!("{authz}\0{user}\0{pass}").as_bytes())
    };
    // RFC 5034 §4 with an initial response.
    let mut c = RawPop3::connect(addr);
    c.ok(&format!("AUTH PLAIN {}", plain("", ALICE.0, ALICE.1)));
    assert_eq!(c.ok("STAT"), "+OK 0 0");
    c.ok("QUIT");

    // Without one: an empty challenge, then the response. Bob's password
    // has spaces.
    let mut c = RawPop3::connect(addr);
    let ch = c.cmd("AUTH PLAIN").unwrap();
    assert!(ch == "+ " || ch == "+", "challenge {ch:?}");
    c.ok(&plain("", BOB.0, BOB.1));
    assert_eq!(c.ok("STAT"), "+OK 0 0");
    c.ok("QUIT");

    // AUTH LOGIN: two challenges.
    let mut c = RawPop3::connect(addr);
    let ch = c.cmd("AUTH LOGIN").unwrap();
    assert!(ch.starts_with("+ "), "{ch:?}");
    let ch = c.cmd(&B64.encode(ALICE.0)).unwrap();
    assert!(ch.starts_with("+ "), "{ch:?}");
    c.ok(&B64.encode(ALICE.1));
    c.ok("STAT");
    c.ok("QUIT");

    // Failures, each answered -ERR while the session stays usable.
    let mut c = RawPop3::connect(addr);
    let r = c.err(&format!("AUTH PLAIN {}", plain("", ALICE.0, "wrong")));
    assert!(r.starts_with("-ERR [AUTH]"), "{r:?}");
    let ch = c.cmd("AUTH PLAIN").unwrap();
    assert!(ch.starts_with('+') && !ch.starts_with("+OK"), "{ch:?}");
    c.err("*"); // RFC 5034 §4: cancelled
    c.err("AUTH PLAIN !!!not-base64!!!");
    c.err("AUTH NO-SUCH-MECHANISM");
    c.err("STAT");
    c.ok(&format!("AUTH PLAIN {}", plain("", ALICE.0, ALICE.1)));
    c.ok("STAT");
    c.ok("QUIT");
    assert_healthy(addr);
}

#[test]
fn unknown_commands_and_wrong_arguments() {
    let (site, srv, addr) = start();
    let stored = deliver(&site, &srv, "raw-args");
    let stat = format!("+OK 1 {}", stored.len());

    // AUTHORIZATION state (RFC 1939 §4).
    let mut c = RawPop3::connect(addr);
    for bad in [
        "FOO",
        "",
        "STAT",
        "RETR 1",
        "USER",
        "PASS alice-secret",
        "NOOP",
    ] {
        c.err(bad);
    }
    c.ok(&format!("USER {}", ALICE.0));
    c.ok(&format!("PASS {}", ALICE.1));
    assert_eq!(c.ok("STAT"), stat);
    c.ok("QUIT");
    assert!(c.is_closed());

    // TRANSACTION state: each bad command leaves the maildrop as it was.
    // (A fresh session each time, below the bad-command limit.)
    let mut c = RawPop3::login(addr, ALICE.0, ALICE.1);
    for bad in [
        "FOO", "FOO BAR", "STAT 1", "RETR", "TOP", "TOP 1", "LIST 1 2", "UIDL 1 2", "DELE",
        "DELE x", "RSET 1", "NOOP 1", "QUIT 1",
    ] {
        c.err(bad);
        assert_eq!(c.ok("STAT"), stat, "after {bad:?}");
    }
    c.ok("QUIT");
    assert!(c.is_closed());

    let mut c = RawPop3::login(addr, ALICE.0, ALICE.1);
    for bad in [
        "RETR 0",
        "RETR 2",
        "RETR -1",
        "RETR 99999999999999999999999999",
        "TOP 1 x",
        "TOP 1 -1",
        "TOP 2 0",
        "LIST 2",
        "UIDL 0",
        "USER alice@localhost",
        "PASS alice-secret",
        "STLS",
        "APOP alice@localhost c4c9334bac560ecc979e58001b3e22fb",
    ] {
        c.err(bad);
        assert_eq!(c.ok("STAT"), stat, "after {bad:?}");
    }
    assert_eq!(c.multiline("RETR 1"), wire(&stored));
    c.ok("QUIT");
    assert_eq!(site.inbox(ALICE.0).len(), 1);
    assert_healthy(addr);
}

#[test]
fn deleted_and_out_of_range_messages() {
    let (site, srv, addr) = start();
    let one = deliver(&site, &srv, "raw-del-1");
    let two = deliver(&site, &srv, "raw-del-2");
    let mut c = RawPop3::login(addr, ALICE.0, ALICE.1);
    c.ok("DELE 1");
    for bad in [
        "RETR 1", "TOP 1 0", "LIST 1", "UIDL 1", "DELE 1", "RETR 3", "RETR 0",
    ] {
        c.err(bad);
    }
    assert_eq!(c.ok("STAT"), format!("+OK 1 {}", two.len()));
    assert_eq!(
        c.multiline("LIST"),
        format!("2 {}\r\n.\r\n", two.len()).into_bytes()
    );
    let uidl = c.multiline("UIDL");
    assert!(uidl.starts_with(b"2 ") && uidl.ends_with(b"\r\n.\r\n"));
    assert_eq!(uidl.iter().filter(|&&b| b == b'\n').count(), 2, "{uidl:?}");
    assert_eq!(c.multiline("RETR 2"), wire(&two));
    c.ok("RSET");
    assert_eq!(c.multiline("RETR 1"), wire(&one));
    assert_eq!(c.ok("STAT"), format!("+OK 2 {}", one.len() + two.len()));
    c.ok("QUIT");
    assert!(c.is_closed());
    assert_eq!(site.inbox(ALICE.0).len(), 2);
    assert_healthy(addr);
}

/// Sends `prefix` followed by `size` bytes of `fill`, then `tail`.
fn send_long(c: &mut RawPop3, prefix: &str, fill: u8, size: usize, tail: &[u8]) {
    c.send(prefix.as_bytes()).unwrap();
    let chunk = vec![fill; 64 * 1024];
    let mut left = size;
    while left > 0 {
        let n = left.min(chunk.len());
        c.send(&chunk[..n]).expect("the server reads a long line");
        left -= n;
    }
    c.send(tail).unwrap();
}

#[test]
fn ten_megabyte_lines() {
    let (site, srv, addr) = start();
    let stored = deliver(&site, &srv, "raw-long");
    let ten_mb = 10 * 1024 * 1024;

    let mut c = RawPop3::connect(addr);
    send_long(&mut c, "USER ", b'a', ten_mb, b"\r\n");
    let r = c.line().unwrap();
    assert!(r.starts_with("-ERR"), "{r:?}");
    // Exactly one answer for the long line: the next is CAPA's.
    c.ok("CAPA");
    let capa = c.multiline_raw().unwrap();
    assert!(capa.ends_with(b"\r\n.\r\n"));
    c.ok(&format!("USER {}", ALICE.0));
    c.ok(&format!("PASS {}", ALICE.1));
    send_long(&mut c, "RETR 1", b'1', ten_mb, b"\r\n");
    let r = c.line().unwrap();
    assert!(r.starts_with("-ERR"), "{r:?}");
    assert_eq!(c.ok("STAT"), format!("+OK 1 {}", stored.len()));
    assert_eq!(c.multiline("RETR 1"), wire(&stored));
    c.ok("QUIT");

    // 10 MB without a line feed, then the client goes away.
    let mut c = RawPop3::connect(addr);
    send_long(&mut c, "NOOP", b' ', ten_mb, b"");
    drop(c);
    assert_healthy(addr);
}

#[test]
fn too_many_bad_commands_close_the_connection() {
    let (_site, mut srv, addr) = start();
    // One at a time.
    let mut c = RawPop3::connect(addr);
    let mut answered = 0;
    let mut last = String::new();
    for i in 0..100 {
        if c.send(format!("BOGUS{i}\r\n").as_bytes()).is_err() {
            break;
        }
        match c.line() {
            Ok(l) => {
                assert!(l.starts_with("-ERR"), "{l:?}");
                answered += 1;
                last = l;
            }
            Err(_) => break,
        }
    }
    assert!(
        (2..=50).contains(&answered),
        "closed after {answered} bad commands (last {last:?})"
    );
    assert!(c.is_closed(), "still open after {answered} bad commands");

    // All at once, while logged in.
    let mut c = RawPop3::login(addr, ALICE.0, ALICE.1);
    let burst: String = (0..100).map(|i| format!("BOGUS{i}\r\n")).collect();
    let _ = c.send(burst.as_bytes());
    let mut lines = 0;
    while let Ok(l) = c.line() {
        assert!(l.starts_with("-ERR"), "{l:?}");
        lines += 1;
        assert!(lines <= 100);
    }
    assert!(
        (2..=50).contains(&lines),
        "{lines} answers before the close"
    );
    assert!(srv.is_running());
    assert_healthy(addr);
}

#[test]
#[cfg_attr(
    not(have_python3),
    ignore = "needs python3 (scripts/ci-deps.sh installs it)"
)]
fn stls_discards_pipelined_commands() {
    let (_site, srv, addr) = start();
    let port = srv.port("pop3").to_string();
    let out = python(
        "pop3_stls_inject.py",
        &["127.0.0.1", &port, ALICE.0, ALICE.1],
    );
    let r = results(&out);
    assert_eq!(r["greeting"], "+OK");
    assert!(r["stls"].starts_with("+OK"), "{r:#?}");
    assert_eq!(r["before_handshake"], "silent", "answered in clear text");
    // The injected USER/PASS were not executed: not logged in over TLS.
    assert!(r["after_tls.stat"].starts_with("-ERR"), "{r:#?}");
    assert!(r["after_tls.stls_again"].starts_with("-ERR"), "{r:#?}");
    assert!(r["after_tls.user"].starts_with("+OK"), "{r:#?}");
    assert!(r["after_tls.pass"].starts_with("+OK"), "{r:#?}");
    assert_eq!(r["after_tls.stat2"], "+OK 0 0");
    assert!(r["after_tls.quit"].starts_with("+OK"), "{r:#?}");
    assert_healthy(addr);
}

/// A message whose `<eol>.` sequence starts at `at`, the body filled with
/// `x` lines; `eol` is `\r\n` or `\n` (a bare-LF file).
fn straddling(token: &str, eol: &str, at: usize) -> Vec<u8> {
    let mut m = format!("Subject: {token}{eol}{eol}").into_bytes();
    let line = format!("{}{eol}", "x".repeat(78));
    while at - m.len() > line.len() + 10 {
        m.extend_from_slice(line.as_bytes());
    }
    m.resize(at, b'y');
    for l in [".", "..", ".z", "end"] {
        m.extend_from_slice(eol.as_bytes());
        m.extend_from_slice(l.as_bytes());
    }
    m.extend_from_slice(eol.as_bytes());
    m
}

/// The server copies a message in 64 KiB reads: dot-stuffing and LF to
/// CRLF conversion must carry across every split of `<eol>.`.
#[test]
fn dot_stuffing_across_read_boundaries() {
    let site = site();
    let mut files = Vec::new();
    for (i, eol) in ["\r\n", "\n"].iter().enumerate() {
        for d in 0..4usize {
            for base in [65536usize, 131072] {
                let token = format!("b{i}-{d}-{base}");
                let m = straddling(&token, eol, base - d);
                assert_eq!(&m[base - d..base - d + eol.len()], eol.as_bytes());
                let name = format!("17000000{:02}.M{d}P{i}.{base}", files.len());
                drop_into_new(&site.data_dir(), ALICE.0, &name, &m);
                files.push(m);
            }
        }
    }
    let srv = site.start();
    let mut c = RawPop3::login(srv.addr("pop3"), ALICE.0, ALICE.1);
    assert!(c.ok("STAT").starts_with(&format!("+OK {} ", files.len())));
    let mut got: Vec<Vec<u8>> = (1..=files.len())
        .map(|n| c.multiline(&format!("RETR {n}")))
        .collect();
    c.ok("QUIT");
    let mut want: Vec<Vec<u8>> = files.iter().map(|m| wire(m)).collect();
    got.sort();
    want.sort();
    for (g, w) in got.iter().zip(&want) {
        if g != w {
            let at = g.iter().zip(w).position(|(a, b)| a != b).unwrap_or(0);
            panic!(
                "RETR differs at {at}: got {:?} want {:?}",
                String::from_utf8_lossy(&g[at.saturating_sub(20)..g.len().min(at + 20)]),
                String::from_utf8_lossy(&w[at.saturating_sub(20)..w.len().min(at + 20)])
            );
        }
    }
    assert_eq!(got, want);
}

/// RFC 1939 §3: keywords are case-insensitive.
#[test]
fn keywords_are_case_insensitive() {
    let (site, srv, addr) = start();
    let stored = deliver(&site, &srv, "raw-case");
    let mut c = RawPop3::connect(addr);
    c.ok(&format!("user {}", ALICE.0));
    c.ok(&format!("Pass {}", ALICE.1));
    assert_eq!(c.ok("stat"), format!("+OK 1 {}", stored.len()));
    assert_eq!(c.multiline("rEtR 1"), wire(&stored));
    assert_eq!(
        c.multiline("top 1 0"),
        wire(&stored[..stored.len() - top_cut(&stored)])
    );
    c.ok("dele 1");
    c.ok("rset");
    c.ok("noop");
    c.ok("quit");
    assert_eq!(site.inbox(ALICE.0).len(), 1);
}

/// The length of the body (after the empty line) of a CRLF message.
fn top_cut(m: &[u8]) -> usize {
    let split = m
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map(|p| p + 4)
        .expect("empty line");
    m.len() - split
}

/// A LIST and a UIDL larger than the session's 64 KiB output limit are
/// sent whole, in order.
#[test]
fn large_maildrop_listing() {
    let site = site();
    let count = 3000;
    for i in 0..count {
        let m = format!("Subject: m{i}\r\n\r\nbody {i}\r\n");
        drop_into_new(
            &site.data_dir(),
            ALICE.0,
            &format!("1700000000.M{i}P1.bulk"),
            m.as_bytes(),
        );
    }
    let srv = site.start();
    let mut c = RawPop3::login(srv.addr("pop3"), ALICE.0, ALICE.1);
    assert!(c.ok("STAT").starts_with(&format!("+OK {count} ")));
    c.send(b"LIST\r\nUIDL\r\nNOOP\r\n").unwrap();
    assert!(c.line().unwrap().starts_with("+OK"));
    let list = String::from_utf8(c.multiline_raw().unwrap()).unwrap();
    assert!(c.line().unwrap().starts_with("+OK"));
    let uidl = String::from_utf8(c.multiline_raw().unwrap()).unwrap();
    assert!(uidl.len() > 64 * 1024, "{}", uidl.len());
    assert!(c.line().unwrap().starts_with("+OK"));
    let list: Vec<&str> = list.lines().collect();
    let uidl: Vec<&str> = uidl.lines().collect();
    assert_eq!(list.len(), count + 1);
    assert_eq!(uidl.len(), count + 1);
    for (n, (l, u)) in list.iter().zip(&uidl).take(count).enumerate() {
        assert!(l.starts_with(&format!("{} ", n + 1)), "{l:?}");
        assert!(u.starts_with(&format!("{} ", n + 1)), "{u:?}");
    }
    let ids: std::collections::BTreeSet<&str> = uidl[..count]
        .iter()
        .map(|u| u.split_once(' ').unwrap().1)
        .collect();
    assert_eq!(ids.len(), count, "unique-ids are not unique");
    // Dropped files are in new/, 3000 of them, each listed with its size.
    let sizes: u64 = list[..count]
        .iter()
        .map(|l| l.split_once(' ').unwrap().1.parse::<u64>().unwrap())
        .sum();
    let on_disk: u64 = site
        .inbox(ALICE.0)
        .iter()
        .map(|(_, b)| b.len() as u64)
        .sum();
    assert_eq!(sizes, on_disk);
    c.ok("QUIT");
}
