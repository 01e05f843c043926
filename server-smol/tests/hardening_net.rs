//! Hardening, connections (issue 9, items 3 and 9), against the real binary:
//! - a client that goes silent after STARTTLS/STLS (SMTP, submission, IMAP,
//!   POP3) or after connecting to an implicit-TLS port is disconnected
//!   after `[limits] tls_handshake_timeout_ms`;
//! - with the descriptors exhausted by such clients, `accept` fails with
//!   EMFILE: the server backs off (one log line, not ten a second),
//!   refuses waiting clients promptly, and serves new clients again once
//!   the silent ones have timed out;
//! - SIGTERM exits 0 within 10 s even when `data_dir/control.sock` was
//!   removed.

mod common;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::Command;
use std::time::{Duration, Instant};

use common::*;

/// The handshake limit these tests configure.
const HANDSHAKE_MS: u64 = 700;

/// A site whose `[limits]` table also holds `limits`.
fn site_with_limits(opts: Opts, limits: &str) -> Site {
    let site = site_with_auth(opts, "failure_delay_ms = 0");
    let toml = std::fs::read_to_string(site.config()).expect("read config");
    let toml = toml.replacen("[limits]\n", &format!("[limits]\n{limits}\n"), 1);
    std::fs::write(site.config(), toml).expect("write config");
    site
}

/// Waits until the server closes `s`; returns how long that took (panics
/// after 20 s).
fn time_until_closed(s: &mut TcpStream) -> Duration {
    let start = Instant::now();
    s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    let mut buf = [0u8; 256];
    match s.read(&mut buf) {
        Ok(0) => start.elapsed(),
        Ok(n) => panic!(
            "unexpected bytes while waiting for the close: {:?}",
            String::from_utf8_lossy(&buf[..n])
        ),
        Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => start.elapsed(),
        Err(e) => panic!("the server did not close the connection: {e}"),
    }
}

fn line(r: &mut impl std::io::BufRead) -> String {
    let mut l = String::new();
    r.read_line(&mut l).expect("read line");
    l.trim_end_matches(['\r', '\n']).to_string()
}

/// SMTP up to the `220` answer to STARTTLS; the raw stream, now silent.
fn smtp_starttls(addr: SocketAddr) -> TcpStream {
    let (mut c, _) = RawSmtp::connect_ehlo(addr);
    let r = c.cmd("STARTTLS").expect("STARTTLS");
    assert_eq!(r, (220, vec!["2.0.0 Ready to start TLS".to_string()]));
    c.writer
}

fn imap_starttls(addr: SocketAddr) -> TcpStream {
    let mut c = RawImap::connect(addr);
    let r = c.cmd("STARTTLS");
    assert_eq!(r.status, "OK Begin TLS negotiation now", "{r:?}");
    c.writer
}

fn pop3_stls(addr: SocketAddr) -> TcpStream {
    let mut c = RawPop3::connect(addr);
    assert_eq!(c.cmd("STLS").unwrap(), "+OK Begin TLS negotiation");
    c.writer
}

fn assert_timed_out(what: &str, took: Duration) {
    let ms = took.as_millis() as u64;
    println!("{what}: closed {ms} ms after the last byte");
    assert!(
        ms + 50 >= HANDSHAKE_MS && ms < HANDSHAKE_MS + 4000,
        "{what}: closed after {ms} ms, want about {HANDSHAKE_MS} ms"
    );
}

/// Silence after STARTTLS/STLS on every plain listener, and silence on an
/// implicit-TLS listener, ends the connection after the handshake limit;
/// the server goes on serving.
#[test]
fn silent_tls_handshakes_time_out_on_every_listener() {
    let opts = Opts {
        listeners: vec!["smtp", "submission", "imap", "pop3", "smtps", "imaps"],
        ..Opts::default()
    };
    let site = site_with_limits(opts, &format!("tls_handshake_timeout_ms = {HANDSHAKE_MS}"));
    site.default_users();
    let server = site.start();
    let mut held = vec![
        ("smtp STARTTLS", smtp_starttls(server.addr("smtp"))),
        (
            "submission STARTTLS",
            smtp_starttls(server.addr("submission")),
        ),
        ("imap STARTTLS", imap_starttls(server.addr("imap"))),
        ("pop3 STLS", pop3_stls(server.addr("pop3"))),
        (
            "smtps, nothing sent",
            TcpStream::connect(server.addr("smtps")).unwrap(),
        ),
        (
            "imaps, half a ClientHello",
            TcpStream::connect(server.addr("imaps")).unwrap(),
        ),
    ];
    // A TLS record header announcing 512 bytes, then silence.
    held[5]
        .1
        .write_all(&[0x16, 0x03, 0x01, 0x02, 0x00, 0x01])
        .unwrap();
    let handles: Vec<_> = held
        .drain(..)
        .map(|(what, mut s)| std::thread::spawn(move || (what, time_until_closed(&mut s))))
        .collect();
    for h in handles {
        let (what, took) = h.join().unwrap();
        assert_timed_out(what, took);
    }
    // Everything else still works.
    let (mut c, _) = RawSmtp::connect_ehlo(server.addr("smtp"));
    c.expect("NOOP", 250);
    let mut i = RawImap::login(server.addr("imap"), ALICE.0, ALICE.1);
    i.ok("NOOP");
    assert_eq!(server.stop().code(), Some(0));
}

/// The denial of service, scaled down: with 64 descriptors, silent
/// STARTTLS clients take every free one and `accept` fails with EMFILE.
/// The server must log that once (not ten times a second), refuse the
/// clients waiting in the backlog at once, and serve new clients again as
/// soon as the silent ones time out.
#[test]
fn descriptor_exhaustion_backs_off_and_recovers() {
    let opts = Opts {
        listeners: vec!["smtp"],
        ..Opts::default()
    };
    let site = site_with_limits(opts, "tls_handshake_timeout_ms = 10000");
    // `ulimit -n` in sh sets the soft and the hard limit, so the server
    // cannot raise it again.
    let mut c = Command::new("sh");
    c.current_dir(site.dir())
        .env_remove("SANSMAIL_CONFIG")
        .arg("-c")
        .arg("ulimit -n 64 && exec \"$0\" serve --config \"$1\"")
        .arg(bin())
        .arg(site.config());
    let server = Server::spawn(c, &["smtp"]);
    let addr = server.addr("smtp");

    let mut held = Vec::new();
    let mut refused = 0;
    let fill_started = Instant::now();
    for _ in 0..120 {
        let s = TcpStream::connect(addr).expect("connect (the backlog accepts)");
        s.set_read_timeout(Some(Duration::from_secs(3))).unwrap();
        let mut r = std::io::BufReader::new(s.try_clone().unwrap());
        let greeting = line(&mut r);
        if greeting.is_empty() {
            // Closed without a greeting: refused for lack of descriptors.
            refused += 1;
            if refused >= 5 {
                break;
            }
            continue;
        }
        assert!(greeting.starts_with("220 "), "greeting {greeting:?}");
        let mut w = s;
        w.write_all(b"EHLO flood.test\r\n").unwrap();
        while !line(&mut r).starts_with("250 ") {}
        w.write_all(b"STARTTLS\r\n").unwrap();
        assert_eq!(line(&mut r), "220 2.0.0 Ready to start TLS");
        held.push(w);
    }
    println!(
        "held {} silent STARTTLS connections, {refused} refused, in {:?}",
        held.len(),
        fill_started.elapsed()
    );
    assert!(
        refused >= 5,
        "the descriptors never ran out (held {})",
        held.len()
    );
    assert!(held.len() >= 20, "only {} connections fit", held.len());
    // Stay exhausted for a while: the old loop logged ten lines a second.
    std::thread::sleep(Duration::from_secs(2));
    let log = server.output_text();
    let failures = log.matches("accept failed").count();
    assert!(
        (1..=2).contains(&failures),
        "{failures} accept failure lines:\n{log}"
    );
    // The silent clients are dropped after the handshake limit (10 s here)...
    let handles: Vec<_> = held
        .into_iter()
        .map(|mut s| std::thread::spawn(move || time_until_closed(&mut s)))
        .collect();
    for h in handles {
        let took = h.join().unwrap();
        assert!(took < Duration::from_secs(12), "held for {took:?} more");
    }
    // ...and a new client is served again.
    let (mut c, _) = RawSmtp::connect_ehlo(addr);
    c.expect("NOOP", 250);
    let mut server = server;
    server.signal("TERM");
    let st = server.wait_timeout(Duration::from_secs(10)).expect("exit");
    assert_eq!(st.code(), Some(0));
}

/// Item 9: SIGTERM still exits 0 within 10 s after someone removed
/// `data_dir/control.sock` (shutdown used to wake the control thread by
/// connecting to that path, and hung without it), with an idle IMAP
/// session and a silent control client open.
#[test]
fn sigterm_exits_even_without_the_control_socket() {
    let opts = Opts {
        listeners: vec!["imap"],
        ..Opts::default()
    };
    let site = site_with_limits(opts, "");
    site.default_users();
    let server = site.start();
    let mut idle = RawImap::login(server.addr("imap"), ALICE.0, ALICE.1);
    idle.ok("SELECT INBOX");
    let sock = site.data_dir().join("control.sock");
    assert!(sock.exists(), "no control socket at {}", sock.display());
    // A control client that never sends its request holds the control
    // thread; shutdown must not wait for it either.
    let _silent = std::os::unix::net::UnixStream::connect(&sock).unwrap();
    std::thread::sleep(Duration::from_millis(100));
    std::fs::remove_file(&sock).unwrap();
    let start = Instant::now();
    let st = server.stop();
    let took = start.elapsed();
    println!("exited {took:?} after SIGTERM");
    assert_eq!(st.code(), Some(0));
    assert!(took < Duration::from_secs(5), "exit took {took:?}");
    assert_eq!(
        idle.line_str().unwrap(),
        "* BYE [UNAVAILABLE] Server shutting down"
    );
}
