//! End-to-end: Python's imaplib against the IMAP listener (plain, STARTTLS,
//! implicit TLS). The checks live in `tests/interop/imap_imaplib.py`; each
//! prints `ok <name>` or `FAIL <name>` with the exact values, and the script
//! exits non-zero when any check failed.

mod common;

use common::*;

/// Runs one scenario against a fresh server with [`ALICE`]'s account.
fn scenario(name: &str, plaintext: &'static str) {
    let site = imap_site(plaintext);
    let server = site.start();
    let imap = server.port("imap").to_string();
    let imaps = server.port("imaps").to_string();
    let out = python(
        "imap_imaplib.py",
        &[name, "127.0.0.1", &imap, &imaps, ALICE.0, ALICE.1],
    );
    let r = results(&out);
    assert_eq!(r.get("failed").map(String::as_str), Some("0"), "{out}");
    let checks: u32 = r.get("checks").and_then(|c| c.parse().ok()).unwrap_or(0);
    assert!(checks >= 5, "too few checks ran: {out}");
    println!("{out}");
}

#[test]
#[cfg_attr(
    not(have_python3),
    ignore = "needs python3 (scripts/ci-deps.sh installs it)"
)]
fn capability_namespace_list_create_rename_delete_subscribe() {
    scenario("mailboxes", "loopback");
}

#[test]
#[cfg_attr(
    not(have_python3),
    ignore = "needs python3 (scripts/ci-deps.sh installs it)"
)]
fn append_fetch_store_search_copy_move() {
    scenario("messages", "loopback");
}

#[test]
#[cfg_attr(
    not(have_python3),
    ignore = "needs python3 (scripts/ci-deps.sh installs it)"
)]
fn expunge_sequence_numbers_after_several_deletions() {
    scenario("expunge", "loopback");
}

#[test]
#[cfg_attr(
    not(have_python3),
    ignore = "needs python3 (scripts/ci-deps.sh installs it)"
)]
fn examine_is_read_only() {
    scenario("examine", "loopback");
}

#[test]
#[cfg_attr(
    not(have_python3),
    ignore = "needs python3 (scripts/ci-deps.sh installs it)"
)]
fn login_and_authenticate_plain() {
    scenario("auth", "loopback");
}

#[test]
#[cfg_attr(
    not(have_python3),
    ignore = "needs python3 (scripts/ci-deps.sh installs it)"
)]
fn starttls_and_imaps() {
    scenario("tls", "loopback");
}

#[test]
#[cfg_attr(
    not(have_python3),
    ignore = "needs python3 (scripts/ci-deps.sh installs it)"
)]
fn plaintext_never_logindisabled_and_privacyrequired() {
    scenario("never", "never");
}
