//! End-to-end: BURL (RFC 4468) on `[submission]`. A message APPENDed over
//! IMAP is authorized with GENURLAUTH (`submit+alice`), then Python's
//! smtplib sends it with `BURL <url> LAST` to a local recipient, who gets
//! the exact stored bytes after our trace fields; forged tokens, URLs for
//! another submitter or a missing message, and non-submit URLs are refused
//! with the codes of RFC 4468 §6.

mod common;

use common::*;

const MSG: &[u8] = b"From: Alice <alice@localhost>\r\nTo: Bob <bob@localhost>\r\nSubject: burl-e2e\r\nDate: Tue, 5 Mar 2024 10:20:30 +0000\r\nMessage-ID: <burl-e2e@localhost>\r\n\r\nSent without uploading it again.\r\n";

fn generate(c: &mut RawImap, rump: &str) -> String {
    let r = c.ok(&format!("GENURLAUTH {} INTERNAL", quote(rump)));
    let line = &r.lines("GENURLAUTH ")[0];
    line.strip_prefix("* GENURLAUTH \"")
        .and_then(|l| l.strip_suffix('"'))
        .unwrap_or_else(|| panic!("{line}"))
        .to_owned()
}

#[test]
#[cfg_attr(
    not(have_python3),
    ignore = "needs python3 (scripts/ci-deps.sh installs it)"
)]
fn burl_sends_a_stored_message_without_uploading_it() {
    let opts = Opts {
        listeners: vec!["imap", "submission"],
        plaintext: "loopback",
        ..Opts::default()
    };
    let site = site_with_auth(opts, "failure_delay_ms = 0");
    site.default_users();
    let server = site.start();
    let mut imap = RawImap::login(server.addr("imap"), ALICE.0, ALICE.1);
    let r = imap.append("Sent", "\\Seen", MSG);
    assert!(r.ok(), "{r:?}");
    let code = resp_code(&r.status, "APPENDUID").expect("APPENDUID");
    let base = format!(
        "imap://alice%40localhost@localhost/Sent;UIDVALIDITY={}/;UID={}",
        code[0], code[1]
    );
    let submit = generate(
        &mut imap,
        &format!("{base};URLAUTH=submit+alice%40localhost"),
    );
    let for_bob = generate(&mut imap, &format!("{base};URLAUTH=submit+bob%40localhost"));
    let user = generate(&mut imap, &format!("{base};URLAUTH=user+alice%40localhost"));
    let mut forged = submit.clone();
    let last = forged.pop().unwrap();
    forged.push(if last == 'a' { 'b' } else { 'a' });
    let missing = generate(
        &mut imap,
        &format!("{base};URLAUTH=submit+alice%40localhost"),
    )
    .replace(&format!(";UID={}", code[1]), ";UID=999");
    let port = server.port("submission").to_string();
    let out = python(
        "smtp_burl.py",
        &[
            "127.0.0.1",
            &port,
            ALICE.0,
            ALICE.1,
            ALICE.0,
            BOB.0,
            &forged,
            &for_bob,
            &user,
            &missing,
            &submit,
        ],
    );
    println!("{out}");
    let r = results(&out);
    assert_eq!(r["ehlo_before"], "(bare)");
    assert_eq!(r["ehlo_after"], "imap");
    for i in 0..5 {
        assert_eq!(r[&format!("mail{i}")], "250", "{out}");
        assert_eq!(r[&format!("rcpt{i}")], "250", "{out}");
    }
    assert!(r["burl0"].starts_with("554 5.7.0 "), "forged token: {out}");
    assert!(
        r["burl1"].starts_with("554 5.7.0 "),
        "another submitter: {out}"
    );
    assert!(
        r["burl2"].starts_with("554 5.7.0 "),
        "user+ is not submit+: {out}"
    );
    // The token covers the UID: changing it breaks the token first.
    assert!(r["burl3"].starts_with("554 5.7.0 "), "edited URL: {out}");
    assert!(r["burl4"].starts_with("250 2.0.0 OK: queued as "), "{out}");
    let stored = site.delivered_with(BOB.0, "burl-e2e");
    assert_stored(&stored, ALICE.0, MSG);
}

/// A valid token for a message that was expunged since: 554 5.6.3.
#[test]
#[cfg_attr(
    not(have_python3),
    ignore = "needs python3 (scripts/ci-deps.sh installs it)"
)]
fn burl_of_an_expunged_message_is_5_6_3() {
    let opts = Opts {
        listeners: vec!["imap", "submission"],
        plaintext: "loopback",
        ..Opts::default()
    };
    let site = site_with_auth(opts, "failure_delay_ms = 0");
    site.default_users();
    let server = site.start();
    let mut imap = RawImap::login(server.addr("imap"), ALICE.0, ALICE.1);
    let r = imap.append("INBOX", "", MSG);
    let code = resp_code(&r.status, "APPENDUID").expect("APPENDUID");
    let url = generate(
        &mut imap,
        &format!(
            "imap://alice%40localhost@localhost/INBOX/;UID={};URLAUTH=submit+alice%40localhost",
            code[1]
        ),
    );
    imap.ok("SELECT INBOX");
    imap.ok("STORE 1 +FLAGS (\\Deleted)");
    imap.ok("EXPUNGE");
    let port = server.port("submission").to_string();
    let out = python(
        "smtp_burl.py",
        &["127.0.0.1", &port, ALICE.0, ALICE.1, ALICE.0, BOB.0, &url],
    );
    let r = results(&out);
    assert!(r["burl0"].starts_with("554 5.6.3 "), "{out}");
    site.assert_not_delivered(BOB.0, "burl-e2e");
}
