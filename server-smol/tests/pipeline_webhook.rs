//! `type = "webhook"` handlers on the real binary against a Python
//! http.server receiver (tests/interop/http_receiver.py) that verifies
//! `X-Sansmail-Signature`: the message is acknowledged once it is in the
//! durable outbox, retried after 500s with backoff, and resumed after the
//! server was killed.

mod common;
mod pipeline_support;

use std::time::Duration;

use base64::Engine;
use common::*;
use pipeline_support::*;

const SECRET: &str = "change-me too";

fn site(receiver: &Receiver) -> Site {
    let site = Site::new(Opts {
        extra: format!(
            "[[routes]]\nrecipient = \"*@hooks.test\"\nto = [\"notify\"]\n\n\
             [handlers.notify]\ntype = \"webhook\"\nurl = \"{}\"\nsecret = \"{SECRET}\"\n",
            receiver.url("/hook")
        ),
        ..Opts::default()
    });
    site.default_users();
    site
}

#[test]
fn signed_post_retried_after_500s_until_2xx() {
    let receiver = Receiver::start(SECRET, 2);
    let site = site(&receiver);
    let server = site.start();
    let (mut s, _) = RawSmtp::connect_ehlo(server.addr("smtp"));
    let sent = message("webhook-retry");
    let r = s
        .send_mail("sender@example.org", "hook@hooks.test", &sent)
        .unwrap();
    assert_eq!(r.0, 250, "taken once in the outbox: {r:?}");
    // Attempt 1 fails at once, retry 1 after 2 s fails, retry 2 after 4 s more succeeds.
    let records = wait_for(Duration::from_secs(20), || {
        let r = receiver.records("hook");
        (r.len() >= 3).then_some(r)
    })
    .unwrap_or_else(|| panic!("3 posts expected, got {:?}", receiver.records("hook")));
    std::thread::sleep(Duration::from_secs(3));
    assert_eq!(receiver.records("hook").len(), 3, "no post after the 2xx");
    // The entry named a link to the spooled message (the outbox holds no
    // copy of it); delivered, the link is gone and nothing is left over.
    for dir in ["webhook", "spool"] {
        let left: Vec<_> = std::fs::read_dir(site.data_dir().join(dir))
            .map(|d| d.flatten().map(|e| e.path()).collect())
            .unwrap_or_default();
        assert!(left.is_empty(), "{dir}: {left:?}");
    }
    // First retry within 5 s (2 s), then doubling (4 s).
    let t: Vec<f64> = records.iter().map(|r| r["t"].as_f64().unwrap()).collect();
    let (first, second) = (t[1] - t[0], t[2] - t[1]);
    assert!(
        (1.5..5.0).contains(&first),
        "first retry after {first:.2} s"
    );
    assert!(
        (3.5..8.0).contains(&second),
        "second retry after {second:.2} s"
    );
    for rec in &records {
        assert_eq!(rec["sig_ok"], true, "signature mismatch: {rec}");
        assert_eq!(
            rec["body"], records[0]["body"],
            "every attempt posts the same body"
        );
    }
    let body: serde_json::Value =
        serde_json::from_str(records[0]["body"].as_str().unwrap()).unwrap();
    assert_eq!(body["to"], "hook@hooks.test");
    assert_eq!(body["from"], "sender@example.org");
    assert_eq!(body["subject"], "webhook-retry");
    assert_eq!(body["message_id"], "webhook-retry@e2e.sansmail.test");
    let raw = base64::engine::general_purpose::STANDARD
        .decode(body["raw_base64"].as_str().unwrap())
        .unwrap();
    // [smtp]: the checks' Authentication-Results, then our Received:.
    assert!(raw.starts_with(b"Authentication-Results: mx.sansmail.test; spf="));
    let second = raw.windows(2).position(|w| w == b"\r\n").unwrap() + 2;
    assert!(raw[second..].starts_with(b"Received: "));
    assert!(raw.ends_with(&sent));
    s.expect("QUIT", 221);
    server.stop();
}

#[test]
fn pending_entries_resume_after_a_kill() {
    let receiver = Receiver::start(SECRET, 1);
    let site = site(&receiver);
    let server = site.start();
    let (mut s, _) = RawSmtp::connect_ehlo(server.addr("smtp"));
    let r = s
        .send_mail(
            "sender@example.org",
            "hook@hooks.test",
            &message("webhook-restart"),
        )
        .unwrap();
    assert_eq!(r.0, 250, "{r:?}");
    // The first attempt is answered 500; kill the server before its retry.
    wait_for(Duration::from_secs(10), || {
        (!receiver.records("hook").is_empty()).then_some(())
    })
    .expect("first attempt");
    server.kill9();
    assert_eq!(receiver.records("hook").len(), 1);

    let server = site.start();
    let records = wait_for(Duration::from_secs(30), || {
        let r = receiver.records("hook");
        (r.len() >= 2).then_some(r)
    })
    .expect("the pending entry is posted again within 30 s of the restart");
    assert_eq!(records[1]["sig_ok"], true);
    assert_eq!(records[1]["body"], records[0]["body"]);
    let body: serde_json::Value =
        serde_json::from_str(records[1]["body"].as_str().unwrap()).unwrap();
    assert_eq!(body["subject"], "webhook-restart");
    std::thread::sleep(Duration::from_secs(3));
    assert_eq!(
        receiver.records("hook").len(),
        2,
        "delivered once it got a 2xx"
    );
    server.stop();
}
