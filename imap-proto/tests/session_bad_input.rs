//! Bad input: each is answered with a tagged BAD or NO, and the session
//! stays usable (the next command works).

mod session_common;

use imap_proto::session::{ServerConfig, SessionState};
use session_common::*;
use std::time::Instant;

fn logged_in() -> Harness {
    let mut h = Harness::with_store(ServerConfig::new("hi"), store_with_two(), Instant::now());
    h.run(b"L LOGIN alice secret\r\n", 1000);
    h.take_output();
    h
}

fn selected() -> Harness {
    let mut h = logged_in();
    h.run(b"S SELECT INBOX\r\n", 1000);
    h.take_output();
    h
}

/// Runs `input`, then `z NOOP`; returns the output of `input` alone and
/// checks the NOOP completed.
fn answer(h: &mut Harness, input: &[u8]) -> String {
    h.run(input, 4096);
    h.run(b"z NOOP\r\n", 1000);
    let out = h.take_output();
    let (before, noop) = out.split_at(out.rfind("z OK").expect("session still usable"));
    assert_eq!(noop, "z OK NOOP completed\r\n");
    before.to_owned()
}

#[test]
fn commands_in_the_wrong_state() {
    let mut h = Harness::with_store(ServerConfig::new("hi"), store_with_two(), Instant::now());
    h.take_output();
    assert_eq!(
        answer(&mut h, b"a1 SELECT INBOX\r\n"),
        "a1 BAD Log in first\r\n"
    );
    assert_eq!(
        answer(&mut h, b"a2 FETCH 1 FLAGS\r\n"),
        "a2 BAD Log in first\r\n"
    );
    let mut h = logged_in();
    assert_eq!(
        answer(&mut h, b"a3 FETCH 1 FLAGS\r\n"),
        "a3 BAD No mailbox selected\r\n"
    );
    assert_eq!(
        answer(&mut h, b"a4 EXPUNGE\r\n"),
        "a4 BAD No mailbox selected\r\n"
    );
    assert_eq!(
        answer(&mut h, b"a5 LOGIN alice secret\r\n"),
        "a5 BAD Already authenticated\r\n"
    );
    assert_eq!(
        answer(&mut h, b"a6 AUTHENTICATE PLAIN\r\n"),
        "a6 BAD Already authenticated\r\n"
    );
    assert_eq!(h.session.state(), SessionState::Authenticated);
    let mut h = selected();
    assert_eq!(
        answer(&mut h, b"a7 FETCH 3 FLAGS\r\n"),
        "a7 BAD Invalid message sequence number\r\n"
    );
    assert_eq!(
        answer(&mut h, b"a8 STORE 1:9 +FLAGS (\\Seen)\r\n"),
        "a8 BAD Invalid message sequence number\r\n"
    );
    // UIDs that do not exist are not an error (RFC 9051 §6.4.8).
    assert_eq!(
        answer(&mut h, b"a9 UID FETCH 7:9 FLAGS\r\n"),
        "a9 OK FETCH completed\r\n"
    );
}

#[test]
fn huge_literal_announcements() {
    let mut h = logged_in();
    // 2^63 as a synchronising literal: refused before any octet is sent.
    assert_eq!(
        answer(&mut h, b"a1 LOGIN {9223372036854775808}\r\n"),
        "a1 BAD [TOOBIG] Literal too large\r\n"
    );
    // 2^63 is above number64 (RFC 9051 §9): not an APPEND head.
    assert_eq!(
        answer(&mut h, b"a2 APPEND INBOX {9223372036854775808}\r\n"),
        "a2 BAD [TOOBIG] Literal too large\r\n"
    );
    assert_eq!(
        answer(&mut h, b"a2b APPEND INBOX {9223372036854775807}\r\n"),
        "a2b NO [TOOBIG] Message too large\r\n"
    );
    // 2^64 does not fit a number64: not a literal at all, a syntax error.
    assert_eq!(
        answer(&mut h, b"a3 APPEND INBOX {18446744073709551616}\r\n"),
        "a3 BAD Syntax error in command\r\n"
    );
    // A non-synchronising literal too large to buffer (LITERAL+, RFC
    // 7888 §3): its octets are skipped, then answered (more in
    // tests/literal_plus.rs).
    let mut input = b"a4 LOGIN alice {70000+}\r\n".to_vec();
    input.extend(std::iter::repeat_n(b'x', 70000));
    input.extend_from_slice(b"\r\n");
    assert_eq!(
        answer(&mut h, &input),
        "a4 BAD [TOOBIG] Literal too large\r\n"
    );
}

#[test]
fn malformed_commands() {
    let mut h = selected();
    assert_eq!(
        answer(&mut h, b"a1 FETCH 1 (FLAGS\r\n"),
        "a1 BAD Syntax error in command\r\n"
    );
    assert_eq!(
        answer(&mut h, b"a2 SEARCH (OR SEEN\r\n"),
        "a2 BAD Syntax error in command\r\n"
    );
    assert_eq!(
        answer(&mut h, b"a3 FETCH 1 FLAGS)\r\n"),
        "a3 BAD Syntax error in command\r\n"
    );
    assert_eq!(
        answer(&mut h, b"a4 FROBNICATE\r\n"),
        "a4 BAD Syntax error in command\r\n"
    );
    assert_eq!(answer(&mut h, b"\r\n"), "* BAD Missing or invalid tag\r\n");
    assert_eq!(
        answer(&mut h, b"+++ NOOP\r\n"),
        "* BAD Missing or invalid tag\r\n"
    );
    let deep = format!("a5 SEARCH {}ALL{}\r\n", "(".repeat(1000), ")".repeat(1000));
    assert_eq!(
        answer(&mut h, deep.as_bytes()),
        "a5 BAD Syntax error in command\r\n"
    );
    let nots = format!("a6 SEARCH {}ALL\r\n", "NOT ".repeat(1000));
    assert_eq!(
        answer(&mut h, nots.as_bytes()),
        "a6 BAD Syntax error in command\r\n"
    );
    assert_eq!(
        answer(&mut h, b"a7 SEARCH CHARSET KOI8-R ALL\r\n"),
        "a7 NO [BADCHARSET] Only UTF-8 and US-ASCII\r\n"
    );
}

#[test]
fn hundred_kilobyte_line() {
    let mut h = selected();
    let mut line = b"a1 NOOP ".to_vec();
    line.extend(std::iter::repeat_n(b'x', 100 * 1024));
    line.extend_from_slice(b"\r\n");
    assert_eq!(answer(&mut h, &line), "a1 BAD Line too long\r\n");
}

#[test]
fn authenticate_garbage() {
    let mut h = Harness::with_store(ServerConfig::new("hi"), store_with_two(), Instant::now());
    h.take_output();
    assert_eq!(
        answer(&mut h, b"a1 AUTHENTICATE PLAIN\r\n!!!not base64\r\n"),
        "+ \r\na1 BAD Invalid base64 in SASL response\r\n"
    );
    assert_eq!(
        answer(&mut h, b"a2 AUTHENTICATE PLAIN\r\n*\r\n"),
        "+ \r\na2 BAD Authentication cancelled\r\n"
    );
    // "garbage" has no NUL separators.
    assert_eq!(
        answer(&mut h, b"a3 AUTHENTICATE PLAIN Z2FyYmFnZQ==\r\n"),
        "a3 BAD Malformed PLAIN response\r\n"
    );
    assert_eq!(
        answer(&mut h, b"a4 AUTHENTICATE X-UNKNOWN\r\n"),
        "a4 NO Unsupported authentication mechanism\r\n"
    );
    assert_eq!(
        answer(&mut h, b"a5 AUTHENTICATE LOGIN\r\nYWxpY2U=\r\nd3Jvbmc=\r\n"),
        "+ VXNlcm5hbWU6\r\n+ UGFzc3dvcmQ6\r\na5 NO [AUTHENTICATIONFAILED] Invalid credentials\r\n"
    );
    h.run(b"a6 LOGIN alice secret\r\n", 100);
    assert!(h.take_output().starts_with("a6 OK [CAPABILITY "));
    assert_eq!(h.session.user(), Some("alice"));
}

#[test]
fn too_many_failures_end_the_session() {
    let mut h = Harness::with_store(ServerConfig::new("hi"), store_with_two(), Instant::now());
    h.take_output();
    h.run(
        b"a1 LOGIN alice x\r\na2 LOGIN alice y\r\na3 LOGIN alice z\r\na4 NOOP\r\n",
        1000,
    );
    assert_eq!(
        h.take_output(),
        "a1 NO [AUTHENTICATIONFAILED] Invalid credentials\r\n\
         a2 NO [AUTHENTICATIONFAILED] Invalid credentials\r\n\
         a3 NO [AUTHENTICATIONFAILED] Invalid credentials\r\n\
         * BYE Too many failed logins\r\n"
    );
    assert!(h.session.is_closed());

    let mut h = Harness::with_store(ServerConfig::new("hi"), store_with_two(), Instant::now());
    h.take_output();
    h.run(&b"x BOGUS\r\n".repeat(25), 1000);
    let out = h.take_output();
    assert_eq!(out.matches("x BAD").count(), 20);
    assert!(out.ends_with("* BYE Too many invalid commands\r\n"));
    assert!(h.session.is_closed());
}

#[test]
fn over_long_lines_end_sasl_and_idle() {
    let mut h = Harness::with_store(ServerConfig::new("hi"), store_with_two(), Instant::now());
    h.take_output();
    let mut input = b"a1 AUTHENTICATE PLAIN\r\n".to_vec();
    input.extend(std::iter::repeat_n(b'A', 20_000));
    input.extend_from_slice(b"\r\n");
    assert_eq!(
        answer(&mut h, &input),
        "+ \r\na1 BAD SASL response too long\r\n"
    );
    let mut h = selected();
    let mut input = b"i1 IDLE\r\n".to_vec();
    input.extend(std::iter::repeat_n(b'D', 20_000));
    input.extend_from_slice(b"\r\n");
    assert_eq!(
        answer(&mut h, &input),
        "+ idling\r\ni1 BAD Expected DONE\r\n"
    );
}
