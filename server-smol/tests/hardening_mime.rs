//! Hostile MIME structure (issue 9 item 1): a message nested 40,000 levels
//! deep as `message/rfc822` once killed the server with a stack overflow
//! at delivery. Now it is stored with its structure truncated at the
//! nesting limit: SMTP answers 250, IMAP APPEND answers OK, the server
//! keeps serving, and FETCH BODYSTRUCTURE / SEARCH work on it.

mod common;

use common::*;

/// python3 is a hard requirement here (scripts/ci-deps.sh installs it):
/// a missing client must fail the test, not skip it.
fn require_python() {
    assert!(
        have("python3"),
        "python3 is required for this test (see scripts/ci-deps.sh)"
    );
}

#[test]
fn deep_message_rfc822_over_smtp_and_append() {
    require_python();
    let opts = Opts {
        listeners: vec!["smtp", "imap"],
        max_message_size: 8 << 20,
        ..Opts::default()
    };
    let site = site_with_auth(opts, "failure_delay_ms = 0");
    site.default_users();
    let mut server = site.start();
    let smtp = server.port("smtp").to_string();
    let imap = server.port("imap").to_string();
    let out = python(
        "mime_deep.py",
        &["127.0.0.1", &smtp, &imap, ALICE.0, ALICE.1],
    );
    println!("{out}");
    let r = results(&out);
    assert!(r["deep data"].starts_with("250 "), "{:?}", r["deep data"]);
    assert!(r["append"].starts_with("OK "), "{:?}", r["append"]);
    // The process is still the one we started (no crash and restart).
    assert!(server.is_running(), "server exited");
}
