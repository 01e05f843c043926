//! `[hooks] pre_receive` on the real binary against the Python receiver
//! (tests/interop/http_receiver.py): accept, reject (with an enhanced
//! status code in the text), tempfail, and fail-closed 451 for a slow,
//! unreachable, malformed or huge answer, each a bounded wait with the
//! server unaffected.

mod common;
mod pipeline_support;

use std::time::{Duration, Instant};

use common::*;
use pipeline_support::*;

fn site(hook: &str) -> Site {
    let site = Site::new(Opts {
        extra: format!("[hooks]\npre_receive = \"{hook}\"\npre_receive_timeout_ms = 1500\n"),
        ..Opts::default()
    });
    site.default_users();
    site
}

/// Sends one message to alice; returns the final reply and how long it took.
fn send(server: &Server, token: &str) -> (Reply, Duration) {
    let (mut s, _) = RawSmtp::connect_ehlo(server.addr("smtp"));
    let started = Instant::now();
    let r = s
        .send_mail("sender@example.org", "alice@localhost", &message(token))
        .unwrap();
    let took = started.elapsed();
    // The connection survives whatever the hook did.
    s.expect("NOOP", 250);
    s.expect("QUIT", 221);
    (r, took)
}

#[test]
fn the_hook_decides_accept_reject_tempfail() {
    let receiver = Receiver::start("unused", 0);
    for (mode, code, text) in [
        ("accept", 250, None),
        ("reject", 554, Some("5.7.1 Spam detected")),
        ("tempfail", 452, Some("4.7.1 Greylisted, come back later")),
    ] {
        let site = site(&receiver.url(&format!("/check/{mode}")));
        let server = site.start();
        let token = format!("hook-{mode}");
        let (r, _) = send(&server, &token);
        assert_eq!(r.0, code, "{mode}: {r:?}");
        match text {
            None => {
                site.delivered_with(ALICE.0, &token);
            }
            Some(t) => {
                assert_eq!(r.1, vec![t.to_owned()], "{mode}");
                site.assert_not_delivered(ALICE.0, &token);
            }
        }
        server.stop();
    }
    // What the hook was told.
    let checks = receiver.records("check");
    assert_eq!(checks.len(), 3);
    let c = &checks[0];
    assert_eq!(c["from"], "sender@example.org");
    assert_eq!(c["to"], serde_json::json!(["alice@localhost"]));
    assert_eq!(c["helo"], "client.sansmail.test");
    assert_eq!(c["client_ip"], "127.0.0.1");
    let headers = c["headers"].as_array().unwrap();
    assert!(
        headers.contains(&serde_json::json!(["Subject", "hook-accept"])),
        "{headers:?}"
    );
    assert!(headers.contains(&serde_json::json!(["To", "<alice@localhost>"])));
}

#[test]
fn slow_unreachable_malformed_or_huge_is_exactly_451() {
    let receiver = Receiver::start("unused", 0);
    let closed = format!("http://127.0.0.1:{}/check", free_port());
    for (url, token) in [
        (receiver.url("/check/slow"), "hook-slow"),
        (closed, "hook-unreachable"),
        (receiver.url("/check/malformed"), "hook-malformed"),
        (receiver.url("/check/huge"), "hook-huge"),
        (receiver.url("/check/error"), "hook-error"),
    ] {
        let site = site(&url);
        let server = site.start();
        let (r, took) = send(&server, token);
        assert_eq!(r.0, 451, "{token}: {r:?}");
        assert_eq!(
            r.1,
            vec!["4.3.0 Pre-receive check unavailable, try again later"],
            "{token}"
        );
        assert!(took < Duration::from_secs(8), "{token} took {took:?}");
        site.assert_not_delivered(ALICE.0, token);
        server.stop();
    }
}
