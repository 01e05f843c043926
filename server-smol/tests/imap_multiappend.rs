//! End-to-end: MULTIAPPEND (RFC 3502) and CATENATE (RFC 4469) against the
//! real binary over raw sockets, with exact responses: several messages
//! in one APPEND committed together with consecutive UIDs, a refused
//! message failing the whole command (nothing stored, also after a
//! restart), CATENATE with TEXT and URL parts (relative and absolute
//! URLs, sections, partial), `[BADURL]`, `[TOOBIG]`, and the two combined.

mod common;

use common::*;

const M1: &[u8] = b"From: a@example.org\r\nSubject: one\r\n\r\nfirst body\r\n";
const M2: &[u8] = b"From: b@example.org\r\nSubject: two\r\n\r\nsecond body\r\n";
const M3: &[u8] = b"Subject: three\r\n\r\n3\r\n";

/// Sends `parts` in order: a `&[u8]` after a synchronising `{N}`
/// announcement is sent only once the server answered `+`.
fn send_sync(c: &mut RawImap, pieces: &[&[u8]]) {
    for p in pieces {
        c.send(p).unwrap();
        if p.ends_with(b"}\r\n") && !p.ends_with(b"+}\r\n") {
            let cont = c.line_str().unwrap();
            assert!(
                cont.starts_with("+ "),
                "expected a continuation, got {cont:?}"
            );
        }
    }
}

/// `FETCH 1:* BODY.PEEK[]` of the selected mailbox: the exact bodies.
fn bodies(c: &mut RawImap) -> Vec<Vec<u8>> {
    let r = c.ok("FETCH 1:* BODY.PEEK[]");
    r.raw
        .iter()
        .map(|line| {
            let at = line.iter().position(|b| *b == b'\n').expect("a literal") + 1;
            line[at..line.len() - 1].to_vec()
        })
        .collect()
}

fn lit(n: usize) -> Vec<u8> {
    format!("{{{n}}}\r\n").into_bytes()
}

#[test]
fn three_messages_in_one_append_get_consecutive_uids() {
    let site = imap_site("loopback");
    let server = site.start();
    let mut c = RawImap::login(server.addr("imap"), ALICE.0, ALICE.1);
    let caps = c.ok("CAPABILITY").lines("CAPABILITY")[0].clone();
    assert!(caps.contains(" MULTIAPPEND"), "{caps}");
    assert!(caps.contains(" CATENATE"), "{caps}");
    c.append("INBOX", "", b"Subject: before\r\n\r\nx\r\n");
    let r = c.ok("SELECT INBOX");
    let validity = resp_code(
        r.untagged
            .iter()
            .find(|l| l.contains("UIDVALIDITY"))
            .unwrap(),
        "UIDVALIDITY",
    )
    .unwrap()[0]
        .to_owned();
    let tag = c.tag();
    let head = format!("{tag} APPEND INBOX (\\Seen) {{{}}}\r\n", M1.len());
    let second = format!(
        " (\\Flagged) \"05-Mar-2024 10:20:30 +0100\" {{{}}}\r\n",
        M2.len()
    );
    let third = format!(" {{{}+}}\r\n", M3.len());
    send_sync(
        &mut c,
        &[
            head.as_bytes(),
            M1,
            second.as_bytes(),
            M2,
            third.as_bytes(),
            M3,
            b"\r\n",
        ],
    );
    let r = c.read_until_tagged(&tag).unwrap();
    assert_eq!(
        r.status,
        format!("OK [APPENDUID {validity} 2:4] APPEND completed")
    );
    // RFC 3501 §6.3.11: every appended message is \Recent (flagged or
    // not) for the first session told of it, here this one.
    assert_eq!(r.untagged, ["* 4 EXISTS", "* 4 RECENT"]);
    let r = c.ok("FETCH 2:4 (UID FLAGS INTERNALDATE)");
    assert_eq!(r.untagged.len(), 3, "{r:?}");
    // Flagged or not, each is \Recent here (maildir/src/append.rs); the
    // INTERNALDATE keeps the zone it was given in.
    assert!(
        r.untagged[0].starts_with("* 2 FETCH (UID 2 FLAGS (\\Seen \\Recent) INTERNALDATE "),
        "{r:?}"
    );
    assert_eq!(
        r.untagged[1],
        "* 3 FETCH (UID 3 FLAGS (\\Flagged \\Recent) INTERNALDATE \" 5-Mar-2024 10:20:30 +0100\")"
    );
    assert!(
        r.untagged[2].starts_with("* 4 FETCH (UID 4 FLAGS (\\Recent) INTERNALDATE "),
        "{r:?}"
    );
    let b = bodies(&mut c);
    assert_eq!(b[1..], [M1.to_vec(), M2.to_vec(), M3.to_vec()]);
    c.ok("LOGOUT");
}

/// RFC 3502 §6.3.11: a message refused in the middle (over the size limit,
/// announced before its `+`) fails the whole command; the messages before
/// it are not stored, also not after a restart, and the UIDs they would
/// have had are not visible.
#[test]
fn a_refused_message_stores_none_of_the_command() {
    let opts = Opts {
        listeners: vec!["smtp", "imap", "imaps", "pop3"],
        max_message_size: 1000,
        ..Opts::default()
    };
    let site = site_with_auth(opts, "failure_delay_ms = 0");
    site.default_users();
    let server = site.start();
    let mut c = RawImap::login(server.addr("imap"), ALICE.0, ALICE.1);
    let tag = c.tag();
    let head = format!("{tag} APPEND INBOX {{{}}}\r\n", M1.len());
    send_sync(&mut c, &[head.as_bytes(), M1]);
    c.send(b" {1001}\r\n").unwrap();
    let r = c.read_until_tagged(&tag).unwrap();
    assert_eq!(r.status, "NO [TOOBIG] Message too large");
    // Non-synchronising: the octets come anyway and are skipped.
    let tag = c.tag();
    let big = vec![b'x'; 1001];
    let mut cmd = format!("{tag} APPEND INBOX {{{}+}}\r\n", M1.len()).into_bytes();
    cmd.extend_from_slice(M1);
    cmd.extend_from_slice(format!(" {{{}+}}\r\n", big.len()).as_bytes());
    cmd.extend_from_slice(&big);
    cmd.extend_from_slice(b"\r\n");
    c.send(&cmd).unwrap();
    let r = c.read_until_tagged(&tag).unwrap();
    assert_eq!(r.status, "NO [TOOBIG] Message too large");
    // A mailbox that does not exist: refused before the first `+`.
    let r = c.cmd(&format!("APPEND Nope {{{}}}", M1.len()));
    assert_eq!(r.status, "NO [TRYCREATE] Mailbox does not exist");
    let r = c.ok("STATUS INBOX (MESSAGES UIDNEXT)");
    assert_eq!(r.untagged, ["* STATUS INBOX (MESSAGES 0 UIDNEXT 1)"]);
    c.ok("LOGOUT");
    server.stop();
    let server = site.start();
    let mut c = RawImap::login(server.addr("imap"), ALICE.0, ALICE.1);
    let r = c.ok("STATUS INBOX (MESSAGES)");
    assert_eq!(r.untagged, ["* STATUS INBOX (MESSAGES 0)"]);
    let inbox = maildir_of(&site.data_dir(), ALICE.0);
    for sub in ["new", "cur", "tmp"] {
        let n = std::fs::read_dir(inbox.join(sub)).unwrap().count();
        assert_eq!(n, 0, "{sub}/ is not empty");
    }
}

/// `[limits] quota_messages = 2`: the third message of a MULTIAPPEND is
/// refused with `[OVERQUOTA]` before its `+` (the client never sends
/// it), and the two before it are not stored either.
#[test]
fn quota_refuses_the_message_that_does_not_fit() {
    let opts = Opts {
        listeners: vec!["smtp", "imap", "imaps", "pop3"],
        extra: "quota_messages = 2".to_owned(),
        ..Opts::default()
    };
    let site = site_with_auth(opts, "failure_delay_ms = 0");
    site.default_users();
    let server = site.start();
    let mut c = RawImap::login(server.addr("imap"), ALICE.0, ALICE.1);
    let tag = c.tag();
    let head = format!("{tag} APPEND INBOX {{{}}}\r\n", M1.len());
    let second = format!(" {{{}}}\r\n", M2.len());
    send_sync(&mut c, &[head.as_bytes(), M1, second.as_bytes(), M2]);
    c.send(format!(" {{{}}}\r\n", M3.len()).as_bytes()).unwrap();
    let r = c.read_until_tagged(&tag).unwrap();
    assert_eq!(r.status, "NO [OVERQUOTA] Quota exceeded");
    let r = c.ok("STATUS INBOX (MESSAGES)");
    assert_eq!(r.untagged, ["* STATUS INBOX (MESSAGES 0)"]);
    // Two fit.
    let tag = c.tag();
    let head = format!("{tag} APPEND INBOX {{{}}}\r\n", M1.len());
    send_sync(
        &mut c,
        &[head.as_bytes(), M1, second.as_bytes(), M2, b"\r\n"],
    );
    let r = c.read_until_tagged(&tag).unwrap();
    assert!(r.status.ends_with(" 1:2] APPEND completed"), "{r:?}");
    c.ok("LOGOUT");
}

/// A client that disconnects in the middle of a MULTIAPPEND leaves
/// nothing behind.
#[test]
fn disconnect_mid_command_stores_nothing() {
    let site = imap_site("loopback");
    let server = site.start();
    let mut c = RawImap::login(server.addr("imap"), ALICE.0, ALICE.1);
    let tag = c.tag();
    let head = format!("{tag} APPEND INBOX {{{}}}\r\n", M1.len());
    let second = format!(" {{{}}}\r\n", M2.len());
    send_sync(&mut c, &[head.as_bytes(), M1, second.as_bytes(), &M2[..10]]);
    drop(c);
    let mut c = RawImap::login(server.addr("imap"), ALICE.0, ALICE.1);
    // The server notices the disconnect at once; give it a moment.
    let mut messages = String::new();
    for _ in 0..50 {
        let r = c.ok("STATUS INBOX (MESSAGES)");
        messages = r.untagged[0].clone();
        let tmp = maildir_of(&site.data_dir(), ALICE.0).join("tmp");
        if std::fs::read_dir(tmp).unwrap().count() == 0 {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    assert_eq!(messages, "* STATUS INBOX (MESSAGES 0)");
    let inbox = maildir_of(&site.data_dir(), ALICE.0);
    for sub in ["new", "cur", "tmp"] {
        let n = std::fs::read_dir(inbox.join(sub)).unwrap().count();
        assert_eq!(n, 0, "{sub}/ is not empty");
    }
}

/// RFC 4469 §3-§5 (after imaptest's catenate scripts): TEXT and URL
/// parts with relative and absolute URLs, HEADER / TEXT / part-number /
/// HEADER.FIELDS sections and a partial past the end; `[BADURL url]` for
/// a wrong UIDVALIDITY, someone else's mailbox or a missing message, with
/// nothing stored.
#[test]
fn catenate_text_and_url_parts() {
    let site = imap_site("loopback");
    let server = site.start();
    let mut c = RawImap::login(server.addr("imap"), ALICE.0, ALICE.1);
    c.append("INBOX", "", M1);
    c.append("INBOX", "", M2);
    let r = c.ok("SELECT INBOX");
    let validity = resp_code(
        r.untagged
            .iter()
            .find(|l| l.contains("UIDVALIDITY"))
            .unwrap(),
        "UIDVALIDITY",
    )
    .unwrap()[0]
        .to_owned();
    c.ok("CREATE Out");
    let t1 = b"X-Part: text\r\n";
    let t2 = b"\r\nsuffix\r\n";
    let head = format!(
        "{{tag}} APPEND Out (\\Seen) CATENATE (URL \"/INBOX;UIDVALIDITY={validity}/;UID=1/;SECTION=HEADER.FIELDS%20(From)\" TEXT {{{}}}\r\n",
        t1.len()
    );
    let tag = c.tag();
    let head = head.replace("{tag}", &tag);
    let mid = format!(
        " URL \"imap://alice@localhost@localhost/INBOX/;UID=2/;SECTION=TEXT\" URL \"/INBOX/;UID=1/;PARTIAL=100000.1\" TEXT {{{}}}\r\n",
        t2.len()
    );
    send_sync(&mut c, &[head.as_bytes(), t1, mid.as_bytes(), t2, b")\r\n"]);
    let r = c.read_until_tagged(&tag).unwrap();
    assert!(
        r.status.starts_with("OK [APPENDUID ") && r.status.ends_with(" 1] APPEND completed"),
        "{r:?}"
    );
    // A whole message, its HEADER and section 1 (the body of a
    // single-part message).
    let tag = c.tag();
    let cmd = format!(
        "{tag} APPEND Out CATENATE (URL \"/INBOX/;UID=2\" URL /INBOX/;UID=1/;SECTION=HEADER URL \"/INBOX/;UID=2/;SECTION=1\")\r\n"
    );
    c.send(cmd.as_bytes()).unwrap();
    let r = c.read_until_tagged(&tag).unwrap();
    assert!(r.status.ends_with(" 2] APPEND completed"), "{r:?}");

    // Refusals: nothing of them is stored.
    for (url, _why) in [
        (
            "/INBOX;UIDVALIDITY=12345/;UID=1/;SECTION=HEADER".to_owned(),
            "UIDVALIDITY",
        ),
        ("/INBOX/;UID=99".to_owned(), "no message"),
        (
            "imap://bob@localhost@localhost/INBOX/;UID=1".to_owned(),
            "someone else",
        ),
        ("/Nope/;UID=1".to_owned(), "no mailbox"),
        ("/INBOX/;UID=1/;SECTION=7".to_owned(), "no part"),
    ] {
        let tag = c.tag();
        let head = format!("{tag} APPEND Out CATENATE (TEXT {{2}}\r\n");
        send_sync(&mut c, &[head.as_bytes(), b"ab"]);
        c.send(format!(" URL \"{url}\" TEXT {{3}}\r\n").as_bytes())
            .unwrap();
        // The server answers instead of sending `+` for the last literal.
        let r = c.read_until_tagged(&tag).unwrap();
        assert!(
            r.status.starts_with(&format!("NO [BADURL {url}] ")),
            "{url}: {r:?}"
        );
    }
    let r = c.ok("SELECT Out");
    assert!(r.untagged.contains(&"* 2 EXISTS".to_owned()), "{r:?}");
    let b = bodies(&mut c);
    let mut want1 = b"From: a@example.org\r\n\r\n".to_vec();
    want1.extend_from_slice(t1);
    want1.extend_from_slice(b"second body\r\n");
    want1.extend_from_slice(t2);
    assert_eq!(
        String::from_utf8_lossy(&b[0]),
        String::from_utf8_lossy(&want1)
    );
    let mut want2 = M2.to_vec();
    want2.extend_from_slice(b"From: a@example.org\r\nSubject: one\r\n\r\n");
    want2.extend_from_slice(b"second body\r\n");
    assert_eq!(
        String::from_utf8_lossy(&b[1]),
        String::from_utf8_lossy(&want2)
    );
    let r = c.ok("FETCH 1 FLAGS");
    assert_eq!(r.untagged, ["* 1 FETCH (FLAGS (\\Seen \\Recent))"]);
    c.ok("LOGOUT");
}

/// RFC 4469 §5: a CATENATE grown over the size limit (90 octets) by its
/// URL parts (50 octets each) is `[TOOBIG]`.
#[test]
fn catenate_over_the_size_limit_is_toobig() {
    let opts = Opts {
        listeners: vec!["smtp", "imap", "imaps", "pop3"],
        max_message_size: 90,
        ..Opts::default()
    };
    let site = site_with_auth(opts, "failure_delay_ms = 0");
    site.default_users();
    let server = site.start();
    let mut c = RawImap::login(server.addr("imap"), ALICE.0, ALICE.1);
    c.append("INBOX", "", M2);
    let r = c.cmd("APPEND INBOX CATENATE (URL \"/INBOX/;UID=1\" URL \"/INBOX/;UID=1\")");
    c.ok("SELECT INBOX");
    assert_eq!(r.status, "NO [TOOBIG] Message too large");
    let r = c.ok("STATUS INBOX (MESSAGES)");
    assert_eq!(r.untagged, ["* STATUS INBOX (MESSAGES 1)"]);
    c.ok("LOGOUT");
}

/// CATENATE messages and plain literals in one MULTIAPPEND (imaptest's
/// catenate-multiappend): committed together, in order.
#[test]
fn catenate_combined_with_multiappend() {
    let site = imap_site("loopback");
    let server = site.start();
    let mut c = RawImap::login(server.addr("imap"), ALICE.0, ALICE.1);
    c.append("INBOX", "", M1);
    let tag = c.tag();
    let head = format!(
        "{tag} APPEND INBOX CATENATE (URL \"/INBOX/;UID=1/;SECTION=HEADER\" TEXT {{6}}\r\n"
    );
    let second = format!(") (\\Answered) {{{}}}\r\n", M3.len());
    send_sync(
        &mut c,
        &[head.as_bytes(), b"body1\n", second.as_bytes(), M3, b"\r\n"],
    );
    let r = c.read_until_tagged(&tag).unwrap();
    assert!(r.status.ends_with(" 2:3] APPEND completed"), "{r:?}");
    c.ok("SELECT INBOX");
    let b = bodies(&mut c);
    let mut want = b"From: a@example.org\r\nSubject: one\r\n\r\n".to_vec();
    want.extend_from_slice(b"body1\n");
    assert_eq!(b[1], want);
    assert_eq!(b[2], M3);
    // A bad URL in the first CATENATE fails the plain literal after it too.
    let tag = c.tag();
    let cmd = format!(
        "{tag} APPEND INBOX CATENATE (URL \"/INBOX;UIDVALIDITY=1/;UID=1\") {}",
        String::from_utf8_lossy(&lit(M3.len()))
    );
    c.send(cmd.as_bytes()).unwrap();
    let r = c.read_until_tagged(&tag).unwrap();
    assert!(r.status.starts_with("NO [BADURL "), "{r:?}");
    let r = c.ok("STATUS INBOX (MESSAGES)");
    assert_eq!(r.untagged, ["* STATUS INBOX (MESSAGES 3)"]);
    c.ok("LOGOUT");
}

/// The same through Python's imaplib (`tests/interop/imap_multiappend.py`).
#[test]
#[cfg_attr(
    not(have_python3),
    ignore = "needs python3 (scripts/ci-deps.sh installs it)"
)]
fn python_imaplib_multiappend_and_catenate() {
    let site = imap_site("loopback");
    let server = site.start();
    let imap = server.port("imap").to_string();
    let out = python(
        "imap_multiappend.py",
        &["127.0.0.1", &imap, ALICE.0, ALICE.1],
    );
    println!("{out}");
    let r = results(&out);
    assert_eq!(r.get("failed").map(String::as_str), Some("0"), "{out}");
    assert_eq!(r.get("checks").map(String::as_str), Some("9"), "{out}");
}
