//! The outbound connection cache (issue 12): messages queued for the same
//! MX go over one kept-open SMTP connection, one transaction after the
//! other (RFC 5321 §3.3: a session carries any number of transactions),
//! and a kept connection that the peer closed costs neither a message nor
//! a retry delay: the message goes again at once over a fresh connection.
//! The real binary, Python's smtplib submitting, dnsmasq naming the sink
//! as MX, and the scripted sink counting TCP connections.

mod common;
mod dnsmasq;
mod outbound_e2e_util;
mod outbound_sink;

use std::collections::BTreeSet;
use std::process::Command;
use std::time::Duration;

use common::{ALICE, describe, require};
use dnsmasq::Dnsmasq;
use outbound_e2e_util::*;
use outbound_sink::{Script, Sink};

/// Submits `n` messages (Subject `<token>-<i>`) to bob@remote.test over one
/// authenticated smtplib session, one after the other.
fn submit_many(addr: std::net::SocketAddr, token: &str, n: usize) {
    require("python3");
    let script = r#"
import smtplib, sys
host, port, user, pw, token, n = sys.argv[1:7]
s = smtplib.SMTP(host, int(port), timeout=20)
s.ehlo('client.test')
s.login(user, pw)
for i in range(int(n)):
    msg = (f"From: <alice@localhost>\r\nTo: <bob@remote.test>\r\n"
           f"Subject: {token}-{i}\r\nMessage-ID: <{token}-{i}@localhost>\r\n"
           f"Date: Tue, 1 Dec 2026 10:00:00 +0000\r\n\r\nmessage {i}\r\n")
    refused = s.sendmail('alice@localhost', ['bob@remote.test'], msg.encode())
    assert refused == {}, refused
s.quit()
print('sent', n)
"#;
    let out = Command::new("python3")
        .arg("-c")
        .arg(script)
        .args([
            addr.ip().to_string(),
            addr.port().to_string(),
            ALICE.0.to_owned(),
            ALICE.1.to_owned(),
            token.to_owned(),
            n.to_string(),
        ])
        .output()
        .expect("python3");
    assert!(out.status.success(), "smtplib failed: {}", describe(&out));
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        format!("sent {n}")
    );
}

/// The subjects the sink received, each once (a duplicate fails).
fn subjects(sink: &Sink, token: &str) -> BTreeSet<String> {
    let mut seen = BTreeSet::new();
    for t in sink.received() {
        let text = String::from_utf8_lossy(&t.data).into_owned();
        let subject = text
            .lines()
            .find_map(|l| l.strip_prefix("Subject: "))
            .unwrap_or_default()
            .to_owned();
        assert!(subject.starts_with(token), "foreign message: {subject}");
        assert_eq!(t.rcpts, ["bob@remote.test"]);
        assert!(seen.insert(subject.clone()), "{subject} arrived twice");
    }
    seen
}

fn expected(token: &str, n: usize) -> BTreeSet<String> {
    (0..n).map(|i| format!("{token}-{i}")).collect()
}

fn remote_test_dns() -> Dnsmasq {
    Dnsmasq::start(&[
        "--mx-host=remote.test,mx1.remote.test,10".into(),
        "--host-record=mx1.remote.test,127.0.0.2".into(),
    ])
}

#[test]
fn messages_to_one_mx_share_a_kept_open_connection() {
    const N: usize = 20;
    let sink = Sink::start(&["127.0.0.2"], Script::accept());
    let dns = remote_test_dns();
    // At most two connections at once, so the count below does not depend
    // on how fast this machine delivers compared with smtplib submitting.
    let site = site(
        &dns,
        sink.port,
        "max_connections = 2\n[dkim]\nsign = false\n",
    );
    let server = site.start();
    submit_many(server.addr("submission"), "reuse", N);
    sink.wait_for(N, Duration::from_secs(20));
    assert_eq!(subjects(&sink, "reuse"), expected("reuse", N));
    wait_queue_empty(&site, Duration::from_secs(5));
    // One connection per message without the cache; with it, the
    // messages follow each other over the (at most two) connections kept
    // open. A connection idle for 2 s closes, so allow one more pair.
    let connections = sink.connection_count();
    assert!(
        (1..=4).contains(&connections),
        "{N} messages took {connections} connections"
    );
    drop(server);
}

#[test]
fn a_kept_connection_the_peer_closed_is_replaced_without_loss_or_delay() {
    const N: usize = 9;
    // Every connection ends, unannounced, after its second transaction:
    // the client finds out only when it sends the third message's MAIL.
    let sink = Sink::start_closing(&["127.0.0.2"], Script::accept(), Some(2));
    let dns = remote_test_dns();
    let site = site(&dns, sink.port, "[dkim]\nsign = false\n");
    let server = site.start();
    submit_many(server.addr("submission"), "closed", N);
    sink.wait_for(N, Duration::from_secs(20));
    wait_queue_empty(&site, Duration::from_secs(5));
    assert_eq!(subjects(&sink, "closed"), expected("closed", N));
    assert!(sink.connection_count() >= N.div_ceil(2));
    // The log lines come through a pipe: wait for the last one.
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while server.output_text().matches("outbound: delivered").count() < N
        && std::time::Instant::now() < deadline
    {
        std::thread::sleep(Duration::from_millis(50));
    }
    let log = server.output_text();
    // The dropped message went again at once over a new connection, not
    // after the retry delay of a deferral.
    assert!(
        !log.contains("outbound: deferred"),
        "a message was deferred:\n{log}"
    );
    assert_eq!(log.matches("outbound: delivered").count(), N, "{log}");
}

#[test]
fn a_domain_with_a_cached_connection_is_not_resolved_again() {
    // Postfix's connection cache is looked up by next-hop domain before
    // the DNS: while a connection to remote.test's MX is open, the next
    // message to remote.test goes over it without an MX lookup. The DNS
    // server is stopped after the first message, so the second can only
    // arrive without one; once that connection closed (2 s idle), the
    // third needs the DNS again and is deferred.
    let sink = Sink::start(&["127.0.0.2"], Script::accept());
    let dns = remote_test_dns();
    let site = site(&dns, sink.port, "[dkim]\nsign = false\n");
    let server = site.start();
    submit_many(server.addr("submission"), "cached-a", 1);
    sink.wait_for(1, Duration::from_secs(20));
    drop(dns);
    submit_many(server.addr("submission"), "cached-b", 1);
    sink.wait_for(2, Duration::from_secs(20));
    assert_eq!(
        sink.connection_count(),
        1,
        "the second message needed a new connection"
    );
    // The kept connection closes after 2 s without a message.
    std::thread::sleep(Duration::from_secs(4));
    submit_many(server.addr("submission"), "cached-c", 1);
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while !server.output_text().contains("outbound: deferred")
        && std::time::Instant::now() < deadline
    {
        std::thread::sleep(Duration::from_millis(100));
    }
    let log = server.output_text();
    assert!(
        log.contains("outbound: deferred"),
        "without a connection or a DNS answer the third message must wait:\n{log}"
    );
    assert_eq!(sink.received().len(), 2, "{log}");
}
