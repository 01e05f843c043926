//! LITERAL+ (RFC 7888 §3): non-synchronising literals `{N+}` and
//! `~{N+}` of any size, with bounded memory. A literal the session takes
//! into a command is buffered only up to the framer's limit; an APPEND
//! message streams; anything refused is read and dropped in bounded
//! chunks before its tagged answer, and a literal too large to skip is
//! answered at once and the connection closed (RFC 7888 §4).

mod session_common;

use imap_proto::session::{Capabilities, ServerConfig};
use imap_proto::types::Capability;
use session_common::*;
use std::time::Instant;

fn config() -> ServerConfig {
    let mut c = ServerConfig::new("hi");
    c.limits.max_message_size = 100_000;
    c
}

fn logged_in(config: ServerConfig) -> Harness {
    let mut h = Harness::with_store(config, store_with_two(), Instant::now());
    h.run(b"L LOGIN alice secret\r\n", 1000);
    h.take_output();
    h
}

/// `literal` as a non-synchronising literal of `n` octets of `x`.
fn lit(n: usize) -> Vec<u8> {
    let mut v = format!("{{{n}+}}\r\n").into_bytes();
    v.extend(std::iter::repeat_n(b'x', n));
    v
}

#[test]
fn literal_plus_is_advertised_before_and_after_login() {
    let mut h = Harness::with_store(config(), store_with_two(), Instant::now());
    let greeting = h.take_output();
    assert!(greeting.contains(" LITERAL+ "), "{greeting}");
    assert!(!greeting.contains("LITERAL-"), "{greeting}");
    h.run(b"L LOGIN alice secret\r\nC CAPABILITY\r\n", 1000);
    let out = h.take_output();
    assert!(
        out.contains("* CAPABILITY IMAP4rev1 IMAP4rev2 LITERAL+ "),
        "{out}"
    );
}

#[test]
fn non_sync_literal_above_4096_is_accepted_in_any_command() {
    // A LOGIN whose password is a 5000-octet non-synchronising literal:
    // with LITERAL- it would be BAD [TOOBIG]; with LITERAL+ it is read.
    let mut h = Harness::with_store(config(), store_with_two(), Instant::now());
    h.take_output();
    let mut cmd = b"a1 LOGIN alice ".to_vec();
    cmd.extend(lit(5000));
    cmd.extend_from_slice(b"\r\n");
    h.run(&cmd, 777);
    assert_eq!(
        h.take_output(),
        "a1 NO [AUTHENTICATIONFAILED] Invalid credentials\r\n"
    );
    // No `+` continuation went out for the non-synchronising literal.
    let mut cmd = b"a2 LOGIN ".to_vec();
    cmd.extend(b"{5+}\r\nalice {6+}\r\nsecret\r\n");
    h.run(&cmd, 3);
    let out = h.take_output();
    assert!(out.starts_with("a2 OK [CAPABILITY "), "{out}");
    assert!(!out.lines().any(|l| l.starts_with('+')), "{out}");
}

#[test]
fn append_non_sync_and_literal8_stream_without_continuation() {
    let mut h = logged_in(config());
    // 70 000 octets: above the framer's 64 KiB buffered-literal limit, so
    // the message streams (AppendChunk), below max_message_size.
    let mut msg = b"Subject: big\r\n\r\n".to_vec();
    msg.resize(70_000, b'y');
    let mut cmd = format!("a1 APPEND INBOX {{{}+}}\r\n", msg.len()).into_bytes();
    cmd.extend_from_slice(&msg);
    cmd.extend_from_slice(b"\r\n");
    h.run(&cmd, 4096);
    let out = h.take_output();
    assert!(out.starts_with("a1 OK [APPENDUID "), "{out}");
    assert!(!out.lines().any(|l| l.starts_with('+')), "{out}");
    assert!(
        h.log.contains(&"AppendEnd INBOX 70000".to_owned()),
        "{:?}",
        h.log
    );
    // A literal8 (RFC 3516) non-synchronising: `~{N+}`.
    let mut cmd = b"a2 APPEND INBOX ~{12+}\r\n".to_vec();
    cmd.extend_from_slice(b"\r\nab\x00cd\r\nefg\r\n");
    h.run(&cmd, 5);
    let out = h.take_output();
    assert!(out.starts_with("a2 OK [APPENDUID "), "{out}");
    assert!(
        h.log.contains(&"AppendEnd INBOX 12".to_owned()),
        "{:?}",
        h.log
    );
}

#[test]
fn refused_non_sync_literals_are_skipped_then_answered() {
    let mut h = logged_in(config());
    // APPEND over max_message_size (100 000): its octets are skipped in
    // bounded chunks, then NO [TOOBIG]; the connection goes on.
    let mut cmd = b"a1 APPEND INBOX ".to_vec();
    cmd.extend(lit(150_000));
    cmd.extend_from_slice(b"\r\na2 NOOP\r\n");
    h.run(&cmd, 8192);
    assert_eq!(
        h.take_output(),
        "a1 NO [TOOBIG] Message too large\r\na2 OK NOOP completed\r\n"
    );
    // A literal too large to buffer in a command that cannot stream it.
    let mut cmd = b"a3 LOGIN alice ".to_vec();
    cmd.extend(lit(70_000));
    cmd.extend_from_slice(b"\r\na4 NOOP\r\n");
    h.run(&cmd, 8192);
    assert_eq!(
        h.take_output(),
        "a3 BAD [TOOBIG] Literal too large\r\na4 OK NOOP completed\r\n"
    );
    // Nothing of the skipped octets was buffered: the session's pending
    // command buffer stays within the framer's limits.
    assert!(!h.session.is_closed());
}

#[test]
fn non_sync_literal_too_large_to_skip_is_answered_at_once_and_closes() {
    let mut h = logged_in(config());
    h.run(b"a1 APPEND INBOX {9223372036854775807+}\r\nabc", 1000);
    assert_eq!(h.take_output(), "a1 NO [TOOBIG] Message too large\r\n");
    assert!(h.session.is_closed());
    let mut h = logged_in(config());
    h.run(b"a2 SEARCH TEXT {9223372036854775807+}\r\nabc", 1000);
    assert_eq!(h.take_output(), "a2 BAD [TOOBIG] Literal too large\r\n");
    assert!(h.session.is_closed());
}

#[test]
fn without_literal_plus_literal_minus_rules_apply() {
    // An adapter that offers LITERAL- instead: RFC 7888 §4.
    let mut c = config();
    let swap = |v: &mut Vec<Capability>| {
        for cap in v.iter_mut() {
            if *cap == Capability::LiteralPlus {
                *cap = Capability::LiteralMinus;
            }
        }
    };
    let mut caps = Capabilities::default();
    swap(&mut caps.before_login);
    swap(&mut caps.before_login_tls);
    swap(&mut caps.after_login);
    c.capabilities = caps;
    let mut h = logged_in(c);
    let mut cmd = b"a4 LOGIN alice ".to_vec();
    cmd.extend(lit(5000));
    cmd.extend_from_slice(b"\r\na5 NOOP\r\n");
    h.run(&cmd, 4096);
    assert_eq!(
        h.take_output(),
        "a4 BAD [TOOBIG] Literal too large\r\na5 OK NOOP completed\r\n"
    );
}
