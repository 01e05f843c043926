//! Outbound delivery limits end to end (DESIGN.md §5.2): a null MX
//! (RFC 7505) bounces at once without any connection attempt, and the
//! global `[outbound] max_connections` caps concurrent connections, as a
//! receiver counting its concurrent sessions sees. DNS is a real dnsmasq.

mod common;
mod dnsmasq;
mod outbound_e2e_util;
mod outbound_sink;

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use dnsmasq::Dnsmasq;
use outbound_e2e_util::*;

/// An SMTP receiver on 127.0.0.2 that counts connections, the sessions
/// open at once and the highest such count, and holds every end of data
/// for `hold` before its 250 (so overlapping deliveries overlap here).
struct CountingSink {
    port: u16,
    connections: Arc<AtomicUsize>,
    open: Arc<AtomicUsize>,
    peak: Arc<AtomicUsize>,
    delivered: Arc<AtomicUsize>,
}

impl CountingSink {
    fn start(hold: Duration) -> CountingSink {
        let listener = TcpListener::bind("127.0.0.2:0").expect("bind 127.0.0.2");
        let sink = CountingSink {
            port: listener.local_addr().unwrap().port(),
            connections: Arc::default(),
            open: Arc::default(),
            peak: Arc::default(),
            delivered: Arc::default(),
        };
        let (connections, open, peak, delivered) = (
            sink.connections.clone(),
            sink.open.clone(),
            sink.peak.clone(),
            sink.delivered.clone(),
        );
        std::thread::spawn(move || {
            for s in listener.incoming().flatten() {
                connections.fetch_add(1, Ordering::SeqCst);
                let now = open.fetch_add(1, Ordering::SeqCst) + 1;
                peak.fetch_max(now, Ordering::SeqCst);
                let (open, delivered) = (open.clone(), delivered.clone());
                std::thread::spawn(move || {
                    let _ = serve(s, hold, &delivered);
                    open.fetch_sub(1, Ordering::SeqCst);
                });
            }
        });
        sink
    }
}

fn serve(s: TcpStream, hold: Duration, delivered: &AtomicUsize) -> std::io::Result<()> {
    s.set_read_timeout(Some(Duration::from_secs(20)))?;
    let mut w = s.try_clone()?;
    let mut r = BufReader::new(s);
    w.write_all(b"220 count.test ESMTP\r\n")?;
    loop {
        let mut line = String::new();
        if r.read_line(&mut line)? == 0 {
            return Ok(());
        }
        let upper = line.trim_end().to_ascii_uppercase();
        if upper.starts_with("EHLO") {
            w.write_all(b"250-count.test\r\n250-8BITMIME\r\n250 PIPELINING\r\n")?;
        } else if upper == "DATA" {
            w.write_all(b"354 go ahead\r\n")?;
            loop {
                let mut l = Vec::new();
                if r.read_until(b'\n', &mut l)? == 0 {
                    return Ok(());
                }
                if l == b".\r\n" {
                    break;
                }
            }
            std::thread::sleep(hold);
            delivered.fetch_add(1, Ordering::SeqCst);
            w.write_all(b"250 2.0.0 OK\r\n")?;
        } else if upper == "QUIT" {
            w.write_all(b"221 2.0.0 bye\r\n")?;
            return Ok(());
        } else {
            w.write_all(b"250 2.0.0 OK\r\n")?;
        }
    }
}

#[test]
fn a_null_mx_bounces_at_once_without_a_connection_attempt() {
    let sink = CountingSink::start(Duration::ZERO);
    let dns = Dnsmasq::start(&[
        // RFC 7505: `MX 0 .` (rdata 0000 00); the A record must not be
        // used as an implicit MX when a null MX is published.
        "--dns-rr=nullmx.test,15,000000".into(),
        "--host-record=nullmx.test,127.0.0.2".into(),
    ]);
    // Retries an hour apart: a DSN within the test comes from the first
    // attempt, never from a retry after a temporary failure.
    let site = common::Site::new(common::Opts {
        listeners: vec!["smtp", "submission"],
        extra: format!(
            "[outbound]\nresolvers = [\"{}\"]\nmx_port = {}\nretry = [\"1h\"]\n",
            dns.addr, sink.port
        ),
        ..common::Opts::default()
    });
    site.default_users();
    let server = site.start();
    assert_eq!(
        submit(
            server.addr("submission"),
            "alice@localhost",
            &["bob@nullmx.test"],
            &message("null-mx")
        ),
        "{}"
    );
    let dsn = wait_inbox(
        &site,
        "alice@localhost",
        "Undelivered Mail Returned to Sender",
        Duration::from_secs(30),
    );
    let text = String::from_utf8_lossy(&dsn).into_owned();
    assert!(text.starts_with("Return-Path: <>\r\n"), "{text}");
    assert!(
        text.contains(
            "Final-Recipient: rfc822; bob@nullmx.test\r\nAction: failed\r\nStatus: 5.1.10\r\n"
        ),
        "{text}"
    );
    assert!(
        text.contains(
            "Diagnostic-Code: smtp; 550 5.1.10 nullmx.test accepts no mail (null MX, RFC 7505)"
        ),
        "{text}"
    );
    wait_queue_empty(&site, Duration::from_secs(5));
    assert_eq!(
        sink.connections.load(Ordering::SeqCst),
        0,
        "no connection to the domain's A record"
    );
    server.stop();
}

#[test]
fn max_connections_caps_concurrent_outbound_connections() {
    const DOMAINS: usize = 8;
    let sink = CountingSink::start(Duration::from_millis(400));
    // One message to eight domains whose MX is the same sink: the worker
    // starts eight deliveries at once, the limit lets two through.
    let mut records = vec!["--host-record=mx1.remote.test,127.0.0.2".to_owned()];
    let mut rcpts = Vec::new();
    for i in 0..DOMAINS {
        records.push(format!("--mx-host=d{i}.test,mx1.remote.test,10"));
        rcpts.push(format!("bob@d{i}.test"));
    }
    let dns = Dnsmasq::start(&records);
    let site = site(&dns, sink.port, "max_connections = 2\n");
    let server = site.start();
    let rcpts: Vec<&str> = rcpts.iter().map(String::as_str).collect();
    assert_eq!(
        submit(
            server.addr("submission"),
            "alice@localhost",
            &rcpts,
            &message("limit")
        ),
        "{}"
    );
    wait_queue_empty(&site, Duration::from_secs(20));
    assert_eq!(sink.delivered.load(Ordering::SeqCst), DOMAINS);
    // Never more than the limit at once; and the limit was reached (the
    // deliveries did overlap, so the test measured something).
    assert_eq!(
        sink.peak.load(Ordering::SeqCst),
        2,
        "peak concurrent sessions"
    );
    server.stop();
}
