//! `type = "redis"` handlers on the real binary with a real `redis-server`
//! (Debian's, started on a free port): list contents byte-exact, Redis
//! down → 4xx and a later retry succeeds, a Redis that never answers → a
//! bounded wait and a 4xx with the server unaffected.

mod common;
mod pipeline_support;

use std::time::{Duration, Instant};

use base64::Engine;
use common::*;
use pipeline_support::*;

fn config(url: &str) -> String {
    format!(
        "[[routes]]\nrecipient = \"*@hooks.test\"\nto = [\"incoming\"]\n\n\
         [[routes]]\nrecipient = \"alice@localhost\"\nto = [\"local\", \"incoming\"]\n\n\
         [handlers.incoming]\ntype = \"redis\"\nurl = \"{url}\"\nlist = \"incoming_emails\"\n"
    )
}

fn site(url: &str) -> Site {
    let site = Site::new(Opts {
        extra: config(url),
        ..Opts::default()
    });
    site.default_users();
    site
}

fn decode(b64: &serde_json::Value) -> Vec<u8> {
    base64::engine::general_purpose::STANDARD
        .decode(b64.as_str().expect("raw_base64 is a string"))
        .expect("valid base64")
}

#[test]
fn one_json_object_per_recipient_byte_exact() {
    let redis = Redis::start();
    let site = site(&redis.url());
    let server = site.start();
    let (mut s, _) = RawSmtp::connect_ehlo(server.addr("smtp"));
    let sent = message("redis-exact");
    s.expect("MAIL FROM:<sender@example.org>", 250);
    // Not a local domain and no account: the route alone accepts it.
    s.expect("RCPT TO:<one@hooks.test>", 250);
    s.expect("RCPT TO:<alice@localhost>", 250);
    s.expect("DATA", 354);
    s.send(&dot_stuff(&sent)).unwrap();
    let r = s.reply().unwrap();
    assert_eq!(r.0, 250, "{r:?}");

    let items = redis.lrange("incoming_emails");
    assert_eq!(items.len(), 2, "one object per recipient");
    let objects: Vec<serde_json::Value> = items
        .iter()
        .map(|i| serde_json::from_slice(i).expect("JSON object"))
        .collect();
    assert_eq!(objects[0]["to"], "one@hooks.test");
    assert_eq!(objects[1]["to"], "alice@localhost");
    let stored = site.delivered_with(ALICE.0, "redis-exact");
    for o in &objects {
        assert_eq!(o["from"], "sender@example.org");
        assert_eq!(o["subject"], "redis-exact");
        assert_eq!(o["message_id"], "redis-exact@e2e.sansmail.test");
        assert_eq!(o["text"], "body of redis-exact\r\n.leading dot\r\nend\r\n");
        let at = o["received_at"].as_str().unwrap();
        assert!(
            at.len() == 20 && at.ends_with('Z') && at.as_bytes()[10] == b'T',
            "{at}"
        );
        // The stored bytes: our Received: trace field, then exactly what was sent
        // (the Maildir copy additionally starts with Return-Path:).
        let raw = decode(&o["raw_base64"]);
        // [smtp]: the checks' Authentication-Results, then our Received:.
        assert!(
            raw.starts_with(b"Authentication-Results: mx.sansmail.test; "),
            "{:?}",
            String::from_utf8_lossy(&raw)
        );
        let second = raw.windows(2).position(|w| w == b"\r\n").unwrap() + 2;
        assert!(
            raw[second..].starts_with(b"Received: from client.sansmail.test"),
            "{:?}",
            String::from_utf8_lossy(&raw)
        );
        assert!(raw.ends_with(&sent));
        assert_eq!(&stored[stored.len() - raw.len()..], &raw[..]);
        assert!(stored.starts_with(b"Return-Path: <sender@example.org>\r\n"));
        assert_eq!(
            stored.len(),
            "Return-Path: <sender@example.org>\r\n".len() + raw.len()
        );
    }
    s.expect("QUIT", 221);
    server.stop();
}

#[test]
fn redis_down_is_a_4xx_and_a_later_retry_succeeds() {
    let port = free_port();
    let site = site(&format!("redis://127.0.0.1:{port}"));
    let server = site.start();
    let (mut s, _) = RawSmtp::connect_ehlo(server.addr("smtp"));
    let sent = message("redis-down");
    let r = s
        .send_mail("sender@example.org", "two@hooks.test", &sent)
        .unwrap();
    assert_eq!(r.0, 451, "Redis down must not be acknowledged: {r:?}");
    assert_eq!(r.1, vec!["4.3.0 Handler unavailable, try again later"]);

    // The client retries once Redis is up.
    let redis = Redis::start_on(port);
    let r = s
        .send_mail("sender@example.org", "two@hooks.test", &sent)
        .unwrap();
    assert_eq!(r.0, 250, "{r:?}");
    let items = redis.lrange("incoming_emails");
    assert_eq!(items.len(), 1);
    let o: serde_json::Value = serde_json::from_slice(&items[0]).unwrap();
    assert!(decode(&o["raw_base64"]).ends_with(&sent));
    s.expect("QUIT", 221);
    server.stop();
}

#[test]
fn a_redis_that_never_answers_costs_a_bounded_wait_and_a_4xx() {
    // Accepts connections (the kernel completes the handshake) and never
    // reads or answers.
    let mute = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = mute.local_addr().unwrap().port();
    let site = site(&format!("redis://127.0.0.1:{port}"));
    let server = site.start();
    let (mut s, _) = RawSmtp::connect_ehlo(server.addr("smtp"));
    let started = Instant::now();
    let r = s
        .send_mail(
            "sender@example.org",
            "three@hooks.test",
            &message("redis-mute"),
        )
        .unwrap();
    let waited = started.elapsed();
    assert_eq!(r.0, 451, "{r:?}");
    assert!(waited < Duration::from_secs(12), "waited {waited:?}");
    // The server is unaffected: the same session goes on delivering.
    let r = s
        .send_mail(
            "sender@example.org",
            "bob@localhost",
            &message("after-mute"),
        )
        .unwrap();
    assert_eq!(r.0, 250, "{r:?}");
    site.delivered_with(BOB.0, "after-mute");
    s.expect("QUIT", 221);
    drop(mute);
    server.stop();
}
