//! The protocol trace (issue "The house"): with `SANSMAIL_LOG=debug` every
//! command and reply line of SMTP, IMAP and POP3 is logged, message bodies
//! and literals only by size, and no password — plain or base64, from
//! LOGIN, PASS, AUTH PLAIN/LOGIN or AUTHENTICATE — ever reaches the log.

mod common;

use base64::Engine as _;
use common::{ALICE, Opts, Site, python, results};

/// Every log line of the given connection kind and direction.
fn trace_lines<'a>(log: &'a str, proto: &str, side: &str) -> Vec<&'a str> {
    let proto = format!(" {proto} 127.0.0.1:");
    let side = format!(" {side}: ");
    log.lines()
        .filter(|l| l.contains(&proto) && l.contains(&side))
        .collect()
}

fn has(lines: &[&str], suffix: &str) -> bool {
    lines.iter().any(|l| l.ends_with(suffix))
}

#[test]
fn debug_trace_logs_lines_and_never_a_password() {
    let site = Site::new(Opts {
        listeners: vec!["submission", "imap", "pop3", "lmtp"],
        ..Opts::default()
    });
    site.user_add(ALICE.0, ALICE.1);
    let mut c = site.cmd();
    c.arg("serve")
        .arg("--config")
        .arg(site.config())
        .env("SANSMAIL_LOG", "debug");
    let server = common::Server::spawn(c, &site.opts.listeners);
    let port = |n: &str| server.port(n).to_string();
    let r = results(&python(
        "trace_logins.py",
        &[
            "127.0.0.1",
            &port("submission"),
            &port("imap"),
            &port("pop3"),
            ALICE.0,
            ALICE.1,
        ],
    ));
    for (label, want) in [
        ("smtp.plain_ir", "235 2.7.0"),
        ("smtp.plain", "235 2.7.0"),
        ("smtp.login_ir", "235 2.7.0"),
        ("smtp.login", "235 2.7.0"),
        ("smtp.data", "250 2.0.0"),
        ("imap.login", "OK"),
        ("imap.append", "OK"),
        ("imap.fetch", "OK"),
        ("imap.authenticate", "OK"),
        ("pop3.pass", "+OK"),
        ("pop3.retr", "+OK"),
        ("pop3.challenge", "+ "),
        ("pop3.auth", "+OK"),
    ] {
        assert_eq!(
            r.get(label).map(String::as_str),
            Some(want),
            "{label}: {r:?}"
        );
    }
    // LMTP (RFC 2033): one reply per recipient after the body.
    let mut lmtp = common::RawSmtp::connect(server.addr("lmtp"));
    lmtp.expect("LHLO client.sansmail.test", 250);
    lmtp.expect(&format!("MAIL FROM:<{}>", ALICE.0), 250);
    lmtp.expect(&format!("RCPT TO:<{}>", ALICE.0), 250);
    lmtp.expect("DATA", 354);
    lmtp.send(b"Subject: lmtp\r\n\r\nTRACE-LMTP-MARKER\r\n.\r\n")
        .expect("send body");
    assert_eq!(lmtp.reply().expect("reply").0, 250);
    lmtp.expect("QUIT", 221);
    drop(lmtp);
    // The session's last lines are traced as it ends, so wait for them.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    // Submission's QUIT also answers 221: wait for the LMTP one.
    let lmtp_quit_traced = |log: &str| {
        log.lines()
            .any(|l| l.contains(" lmtp 127.0.0.1:") && l.contains(" S: 221 "))
    };
    while !lmtp_quit_traced(&server.output_text()) {
        assert!(
            std::time::Instant::now() < deadline,
            "no LMTP QUIT reply traced"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let log = server.output_text();
    assert_eq!(server.stop().code(), Some(0));

    let c = trace_lines(&log, "lmtp", "C");
    let s = trace_lines(&log, "lmtp", "S");
    assert!(has(&c, "C: LHLO client.sansmail.test"), "{c:#?}");
    assert!(has(&c, &format!("C: RCPT TO:<{}>", ALICE.0)), "{c:#?}");
    // 15 + 2 + 19 + 3.
    assert!(has(&c, "C: <39 bytes of message data>"), "{c:#?}");
    assert!(has(&c, "C: QUIT"), "{c:#?}");
    assert!(s.iter().any(|l| l.contains("S: 354 ")), "{s:#?}");
    assert!(s.iter().any(|l| l.contains("S: 221 ")), "{s:#?}");

    // No secret in any form, and no message text.
    let b64 = |s: &str| base64::engine::general_purpose::STANDARD.encode(s);
    let plain_blob = b64(&format!("\0{}\0{}", ALICE.0, ALICE.1));
    for secret in [
        ALICE.1.to_owned(),
        b64(ALICE.1),
        plain_blob.clone(),
        // smtplib's AUTH PLAIN without an initial response sends the same
        // blob; AUTH LOGIN sends the user and the password separately.
        plain_blob.trim_end_matches('=').to_owned(),
    ] {
        assert!(!log.contains(&secret), "`{secret}` in the log:\n{log}");
    }
    for text in [
        "TRACE-DATA-MARKER",
        "TRACE-APPEND-MARKER",
        "TRACE-LMTP-MARKER",
        "leading dot",
    ] {
        assert!(
            !log.contains(text),
            "message text `{text}` in the log:\n{log}"
        );
    }

    // SMTP: the AUTH lines without their arguments, the SASL lines as ***.
    let c = trace_lines(&log, "submission", "C");
    let s = trace_lines(&log, "submission", "S");
    assert!(has(&c, "C: ehlo client.sansmail.test"), "{c:#?}");
    assert!(has(&c, "C: AUTH PLAIN ***"), "{c:#?}");
    assert!(has(&c, "C: AUTH PLAIN"), "{c:#?}");
    assert!(has(&c, "C: AUTH LOGIN ***"), "{c:#?}");
    assert!(has(&c, "C: AUTH LOGIN"), "{c:#?}");
    assert!(
        c.iter().filter(|l| l.ends_with("C: ***")).count() >= 4,
        "SASL responses: {c:#?}"
    );
    assert!(has(&s, "S: 334 VXNlcm5hbWU6"), "{s:#?}");
    assert!(s.iter().any(|l| l.contains("S: 354 ")), "{s:#?}");
    // 17 + 2 + 24 + 15 (dot-stuffed by smtplib) + 3 (CRLF.CRLF).
    assert!(
        has(&c, "C: <61 bytes of message data>"),
        "DATA body by size: {c:#?}"
    );
    assert!(has(&c, &format!("C: mail FROM:<{}>", ALICE.0)), "{c:#?}");

    // IMAP: LOGIN keeps the user, AUTHENTICATE's response is ***, literals
    // by size in both directions.
    let c = trace_lines(&log, "imap", "C");
    let s = trace_lines(&log, "imap", "S");
    assert!(
        c.iter()
            .any(|l| l.ends_with(&format!(" LOGIN {} ***", ALICE.0))),
        "{c:#?}"
    );
    assert!(
        c.iter().any(|l| l.ends_with(" AUTHENTICATE PLAIN")),
        "{c:#?}"
    );
    assert!(has(&c, "C: ***"), "{c:#?}");
    assert!(
        has(&c, "C: <42 bytes of message data>"),
        "APPEND literal: {c:#?}"
    );
    assert!(c.iter().any(|l| l.contains(" APPEND INBOX {42}")), "{c:#?}");
    // FETCH 1 is the SMTP message (with its trace fields): whatever its
    // size, the literal is logged as that size and nothing else.
    let fetch = s
        .iter()
        .find_map(|l| l.split_once("S: * 1 FETCH (BODY[] {"))
        .and_then(|(_, n)| n.strip_suffix('}'))
        .unwrap_or_else(|| panic!("no FETCH literal line: {s:#?}"));
    assert!(
        has(&s, &format!("S: <{fetch} bytes of message data>")),
        "FETCH literal: {s:#?}"
    );
    assert!(has(&s, "S: )"), "{s:#?}");
    assert!(s.iter().any(|l| l.contains("S: * OK ")), "{s:#?}");

    // POP3: PASS and AUTH redacted, RETR's body by size.
    let c = trace_lines(&log, "pop3", "C");
    let s = trace_lines(&log, "pop3", "S");
    assert!(has(&c, &format!("C: USER {}", ALICE.0)), "{c:#?}");
    assert!(has(&c, "C: PASS ***"), "{c:#?}");
    assert!(has(&c, "C: AUTH PLAIN"), "{c:#?}");
    assert!(has(&c, "C: ***"), "{c:#?}");
    assert!(has(&c, "C: RETR 1"), "{c:#?}");
    assert!(
        s.iter()
            .any(|l| l.contains("S: <") && l.ends_with(" bytes of message data>")),
        "RETR body by size: {s:#?}"
    );
}

#[test]
fn without_debug_there_is_no_trace() {
    let site = Site::new(Opts {
        listeners: vec!["imap"],
        ..Opts::default()
    });
    site.user_add(ALICE.0, ALICE.1);
    let server = site.start();
    drop(common::RawImap::login(
        server.addr("imap"),
        ALICE.0,
        ALICE.1,
    ));
    let log = server.output_text();
    assert_eq!(server.stop().code(), Some(0));
    assert!(!log.contains(" C: "), "{log}");
    assert!(!log.contains(" S: "), "{log}");
}
