//! Shared by the outbound end-to-end tests (outbound_e2e.rs,
//! outbound_dsn_e2e.rs): messages, smtplib submission, the site config
//! pointing `[outbound]` at dnsmasq and the sink, and waits.
#![allow(dead_code)]

use std::time::{Duration, Instant};

use crate::common::{self, ALICE, Opts, Site, describe};
use crate::dnsmasq::Dnsmasq;
use crate::outbound_sink::{Script, Sink};

/// A message with its own Message-ID and Date (so submission adds nothing),
/// 8-bit text and a dot line.
pub fn message(token: &str) -> Vec<u8> {
    format!(
        "From: <alice@localhost>\r\nTo: <bob@remote.test>\r\nSubject: {token}\r\n\
         Message-ID: <{token}@localhost>\r\nDate: Tue, 1 Dec 2026 10:00:00 +0000\r\n\
         MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\
         Content-Transfer-Encoding: 8bit\r\n\r\nGr\u{fc}\u{df}e\r\n.leading dot\r\nend\r\n"
    )
    .into_bytes()
}

/// Sends `msg` through submission as alice with smtplib; returns what
/// `sendmail` refused (empty: all accepted) or the exception.
pub fn submit(addr: std::net::SocketAddr, from: &str, to: &[&str], msg: &[u8]) -> String {
    let script = r#"
import smtplib, sys
host, port, user, pw, frm = sys.argv[1:6]
to = sys.argv[6].split(',')
msg = sys.stdin.buffer.read()
s = smtplib.SMTP(host, int(port), timeout=20)
s.ehlo('client.test')
s.login(user, pw)
try:
    print(s.sendmail(frm, to, msg))
except smtplib.SMTPException as e:
    print('ERR', e)
s.quit()
"#;
    let args = [
        addr.ip().to_string(),
        addr.port().to_string(),
        ALICE.0.to_owned(),
        ALICE.1.to_owned(),
        from.to_owned(),
        to.join(","),
    ];
    common::python_stdin(script, &args, msg)
}

/// [`submit`] through the server's submission listener, asserting that
/// every recipient was accepted.
pub fn submit_accepted(server: &common::Server, from: &str, to: &[&str], msg: &[u8]) {
    assert_eq!(submit(server.addr("submission"), from, to, msg), "{}");
}

/// dnsmasq answering `domain`'s MX with `mx1.<domain>` at 127.0.0.2, where
/// [`mx_sink`] listens.
pub fn mx_dns(domain: &str) -> Dnsmasq {
    Dnsmasq::start(&[
        format!("--mx-host={domain},mx1.{domain},10"),
        format!("--host-record=mx1.{domain},127.0.0.2"),
    ])
}

/// A sink on 127.0.0.2 answering RCPT with `rcpt(recipient, attempt)` and
/// the end of data with 250.
pub fn mx_sink(rcpt: impl Fn(&str, usize) -> String + Send + Sync + 'static) -> Sink {
    Sink::start(
        &["127.0.0.2"],
        Script {
            rcpt: Box::new(rcpt),
            data: Box::new(|_| "250 2.0.0 OK".into()),
        },
    )
}

/// A site with alice and bob, `[outbound]` pointed at dnsmasq and the
/// sink's port, plus `extra`.
pub fn site(dns: &Dnsmasq, port: u16, extra: &str) -> Site {
    let site = Site::new(Opts {
        listeners: vec!["smtp", "submission"],
        extra: format!(
            "[outbound]\nresolvers = [\"{}\"]\nmx_port = {port}\nretry = [\"1s\"]\n{extra}",
            dns.addr
        ),
        ..Opts::default()
    });
    site.default_users();
    site
}

/// Waits until `address` has a message whose text contains `needle`.
pub fn wait_inbox(site: &Site, address: &str, needle: &str, limit: Duration) -> Vec<u8> {
    let deadline = Instant::now() + limit;
    loop {
        for (_, b) in site.inbox(address) {
            if common::contains(&b, needle.as_bytes()) {
                return b;
            }
        }
        assert!(
            Instant::now() < deadline,
            "no message with {needle:?} for {address} within {limit:?}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Waits until `sansmail queue list` prints nothing.
pub fn wait_queue_empty(site: &Site, limit: Duration) {
    let deadline = Instant::now() + limit;
    loop {
        let out = site.run(&["queue", "list"], "");
        assert!(out.status.success(), "{}", describe(&out));
        if out.stdout.is_empty() {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "queue not empty: {}",
            String::from_utf8_lossy(&out.stdout)
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Splits the received bytes into our `Received:` field and the rest.
pub fn split_received(data: &[u8]) -> (&[u8], &[u8]) {
    assert!(
        data.starts_with(b"Received: from "),
        "no Received: first: {:?}",
        String::from_utf8_lossy(&data[..data.len().min(200)])
    );
    let mut pos = 0;
    loop {
        let end = pos + data[pos..].windows(2).position(|w| w == b"\r\n").unwrap() + 2;
        pos = end;
        if !matches!(data.get(pos), Some(b' ' | b'\t')) {
            return (&data[..pos], &data[pos..]);
        }
    }
}
