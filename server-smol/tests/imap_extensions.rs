//! End-to-end: the IMAP extensions of RFC 5256 (SORT, THREAD) against the
//! real binary, over raw sockets (exact bytes) and through Python's
//! imaplib (`sort`, `thread`, `uid('SORT' ...)`), and over the message
//! corpus with independent oracles.

mod common;

use common::*;
use std::path::Path;

/// Messages whose SORT and THREAD answers are worked out by hand in the
/// test below (dates, sizes, subjects and references all differ).
const THREAD_MSGS: [&str; 6] = [
    "Message-ID: <a@x>\r\nFrom: Zoe <zoe@example.org>\r\nTo: team@example.org\r\nSubject: lunch\r\nDate: Tue, 5 Mar 2024 10:00:00 +0000\r\n\r\nwhere?\r\n",
    "Message-ID: <b@x>\r\nReferences: <a@x>\r\nFrom: adam@example.org\r\nTo: zoe@example.org\r\nSubject: Re: lunch\r\nDate: Tue, 5 Mar 2024 11:00:00 +0000\r\n\r\nthe usual place, at noon, as always\r\n",
    "Message-ID: <c@x>\r\nFrom: bob@example.org\r\nTo: all@example.org\r\nCc: zoe@example.org\r\nSubject: [team] agenda\r\nDate: Mon, 4 Mar 2024 09:00:00 +0000\r\n\r\n1. lunch\r\n",
    "Message-ID: <d@x>\r\nIn-Reply-To: <a@x>\r\nFrom: carl@example.org\r\nTo: zoe@example.org\r\nSubject: Re: lunch\r\nDate: Tue, 5 Mar 2024 12:00:00 +0000\r\n\r\nno\r\n",
    "Message-ID: <e@x>\r\nReferences: <a@x> <d@x>\r\nFrom: zoe@example.org\r\nTo: carl@example.org\r\nSubject: Re: Re: lunch\r\nDate: Tue, 5 Mar 2024 13:00:00 +0000\r\n\r\nwhy not?\r\n",
    "Message-ID: <f@x>\r\nFrom: dora@example.org\r\nTo: bob@example.org\r\nSubject: =?UTF-8?Q?Re=3A_=5Bteam=5D_Agenda?=\r\nDate: Mon, 4 Mar 2024 10:00:00 -0100\r\n\r\nadd item 2\r\n",
];

fn load(c: &mut RawImap) {
    for m in THREAD_MSGS {
        let r = c.append("INBOX", "", m.as_bytes());
        assert!(r.ok(), "APPEND {r:?}");
    }
}

/// CAPABILITY names the extensions; SORT and THREAD answer with the
/// exact lines of RFC 5256 §4's grammar; errors are tagged BAD/NO and the
/// session goes on.
#[test]
fn sort_and_thread_over_raw_socket() {
    let site = imap_site("loopback");
    let server = site.start();
    let mut c = RawImap::login(server.addr("imap"), ALICE.0, ALICE.1);
    let caps = c.ok("CAPABILITY");
    let caps = &caps.lines("CAPABILITY")[0];
    for want in [" SORT", " THREAD=ORDEREDSUBJECT", " THREAD=REFERENCES"] {
        assert!(caps.contains(want), "{want} missing from {caps}");
    }
    load(&mut c);
    c.ok("SELECT INBOX");
    let one = |c: &mut RawImap, cmd: &str, prefix: &str| -> String {
        let r = c.ok(cmd);
        let lines = r.lines(prefix);
        assert_eq!(lines.len(), 1, "{cmd}: {r:?}");
        lines[0].clone()
    };
    // Base subjects: "agenda" (3, 6), "lunch" (1, 2, 4, 5); DATE in UTC:
    // 3 (4 Mar 09:00), 6 (4 Mar 11:00 UTC), 1, 2, 4, 5 (5 Mar).
    assert_eq!(
        one(&mut c, "SORT (SUBJECT) UTF-8 ALL", "SORT"),
        "* SORT 3 6 1 2 4 5"
    );
    assert_eq!(
        one(&mut c, "SORT (SUBJECT REVERSE DATE) UTF-8 ALL", "SORT"),
        "* SORT 6 3 5 4 2 1"
    );
    assert_eq!(
        one(&mut c, "SORT (DATE) UTF-8 ALL", "SORT"),
        "* SORT 3 6 1 2 4 5"
    );
    // FROM sorts by the local part: adam bob carl dora zoe zoe.
    assert_eq!(
        one(&mut c, "SORT (FROM) US-ASCII ALL", "SORT"),
        "* SORT 2 3 4 6 1 5"
    );
    // TO: all bob carl team zoe zoe; CC: "" ... then zoe.
    assert_eq!(
        one(&mut c, "SORT (TO) UTF-8 ALL", "SORT"),
        "* SORT 3 6 5 1 2 4"
    );
    assert_eq!(
        one(&mut c, "SORT (CC) UTF-8 ALL", "SORT"),
        "* SORT 1 2 4 5 6 3"
    );
    // Sizes: each message's octets; ARRIVAL is APPEND order (same second:
    // ties go by sequence number).
    let mut by_size: Vec<(usize, usize)> = THREAD_MSGS
        .iter()
        .enumerate()
        .map(|(i, m)| (m.len(), i + 1))
        .collect();
    by_size.sort();
    let want: Vec<String> = by_size.iter().rev().map(|(_, s)| s.to_string()).collect();
    assert_eq!(
        one(&mut c, "SORT (REVERSE SIZE) UTF-8 ALL", "SORT"),
        format!("* SORT {}", want.join(" "))
    );
    assert_eq!(
        one(&mut c, "SORT (ARRIVAL) UTF-8 ALL", "SORT"),
        "* SORT 1 2 3 4 5 6"
    );
    // The search criteria narrow the set; UID SORT reports UIDs (1..6 here).
    assert_eq!(
        one(&mut c, "UID SORT (SUBJECT) UTF-8 FROM zoe", "SORT"),
        "* SORT 1 5"
    );
    assert_eq!(
        one(&mut c, "SORT (SUBJECT) UTF-8 TEXT nowhere", "SORT"),
        "* SORT"
    );
    // REFERENCES: 2 and 4 reply to 1, 5 to 4; 6 joins 3 by subject.
    assert_eq!(
        one(&mut c, "THREAD REFERENCES UTF-8 ALL", "THREAD"),
        "* THREAD (3 6)(1 (2)(4 5))"
    );
    // ORDEREDSUBJECT: by base subject, the earliest the parent of the rest.
    assert_eq!(
        one(&mut c, "UID THREAD ORDEREDSUBJECT UTF-8 ALL", "THREAD"),
        "* THREAD (3 6)(1 (2)(4)(5))"
    );
    assert_eq!(
        one(&mut c, "THREAD REFERENCES UTF-8 NOT FROM carl", "THREAD"),
        "* THREAD (3 6)(1 (2)(5))"
    );
    assert_eq!(
        one(&mut c, "THREAD REFERENCES UTF-8 TEXT nowhere", "THREAD"),
        "* THREAD"
    );
    let r = c.cmd("SORT (SUBJECT) KOI8-R ALL");
    assert!(r.status.starts_with("NO [BADCHARSET"), "{r:?}");
    for bad in [
        "SORT (SUBJECT) ALL",
        "SORT () UTF-8 ALL",
        "SORT (COLOR) UTF-8 ALL",
        "THREAD REFS UTF-8 ALL",
        "THREAD REFERENCES UTF-8",
    ] {
        let r = c.cmd(bad);
        assert!(r.status.starts_with("BAD"), "{bad}: {r:?}");
    }
    // Not in the selected state: BAD, and the session goes on.
    c.ok("UNSELECT");
    assert!(c.cmd("SORT (DATE) UTF-8 ALL").status.starts_with("BAD"));
    c.ok("NOOP");
}

/// Python's imaplib: `sort`, `thread` and `uid('SORT')`; the script
/// checks exact data (tests/interop/imap_sort_thread.py).
#[test]
#[cfg_attr(
    not(have_python3),
    ignore = "needs python3 (scripts/ci-deps.sh installs it)"
)]
fn sort_and_thread_with_imaplib() {
    let site = imap_site("loopback");
    let server = site.start();
    let mut c = RawImap::login(server.addr("imap"), ALICE.0, ALICE.1);
    load(&mut c);
    let imap = server.port("imap").to_string();
    let out = python(
        "imap_sort_thread.py",
        &["basic", "127.0.0.1", &imap, ALICE.0, ALICE.1],
    );
    let r = results(&out);
    assert_eq!(r.get("failed").map(String::as_str), Some("0"), "{out}");
    let checks: u32 = r.get("checks").and_then(|c| c.parse().ok()).unwrap_or(0);
    assert!(checks >= 6, "too few checks ran: {out}");
}

fn corpus_files() -> Vec<Vec<u8>> {
    // The shared corpus (see its README), as imap-proto's corpus tests use it.
    let root = Path::new("/work/shared/corpus/eml");
    let mut files: Vec<_> = tree(root)
        .into_iter()
        .map(|p| root.join(p))
        .filter(|p| p.extension().is_some_and(|e| e == "eml"))
        .collect();
    files.sort();
    assert!(
        files.len() >= 50,
        "corpus not found under {}",
        root.display()
    );
    files
        .iter()
        .map(|p| crlf(&std::fs::read(p).expect("read corpus file")))
        .collect()
}

/// The whole corpus: every SORT key and both algorithms answer, each
/// message appears exactly once, SIZE matches an oracle computed from the
/// files, and DATE order agrees with Python's own Date: parser
/// (email.utils), checked by tests/interop/imap_sort_thread.py.
#[test]
#[cfg_attr(
    not(have_python3),
    ignore = "needs python3 (scripts/ci-deps.sh installs it)"
)]
fn sort_and_thread_over_the_corpus() {
    let site = imap_site("loopback");
    let server = site.start();
    let mut c = RawImap::login(server.addr("imap"), ALICE.0, ALICE.1);
    let files = corpus_files();
    for f in &files {
        let r = c.append("INBOX", "", f);
        assert!(r.ok(), "APPEND {r:?}");
    }
    c.ok("SELECT INBOX");
    let n = files.len();
    let all: Vec<usize> = (1..=n).collect();
    let ids = |line: &str, prefix: &str| -> Vec<usize> {
        line.trim_start_matches(prefix)
            .split([' ', '(', ')'])
            .filter(|s| !s.is_empty())
            .map(|s| s.parse().expect("number"))
            .collect()
    };
    for key in [
        "ARRIVAL",
        "CC",
        "DATE",
        "FROM",
        "SIZE",
        "SUBJECT",
        "TO",
        "REVERSE SUBJECT",
    ] {
        let r = c.ok(&format!("SORT ({key}) UTF-8 ALL"));
        let got = ids(&r.lines("SORT")[0], "* SORT");
        let mut sorted = got.clone();
        sorted.sort();
        assert_eq!(sorted, all, "SORT ({key}) is not a permutation");
        if key == "SIZE" {
            let mut want: Vec<(usize, usize)> = files
                .iter()
                .enumerate()
                .map(|(i, f)| (f.len(), i + 1))
                .collect();
            want.sort();
            let want: Vec<usize> = want.into_iter().map(|(_, s)| s).collect();
            assert_eq!(got, want, "SORT (SIZE)");
        }
    }
    for alg in ["REFERENCES", "ORDEREDSUBJECT"] {
        let r = c.ok(&format!("THREAD {alg} UTF-8 ALL"));
        let mut got = ids(&r.lines("THREAD")[0], "* THREAD");
        got.sort();
        assert_eq!(got, all, "THREAD {alg} must hold every message once");
    }
    let imap = server.port("imap").to_string();
    let out = python(
        "imap_sort_thread.py",
        &["corpus", "127.0.0.1", &imap, ALICE.0, ALICE.1],
    );
    let r = results(&out);
    assert_eq!(r.get("failed").map(String::as_str), Some("0"), "{out}");
    println!("{out}");
}

/// A site whose accounts have `[limits] quota_bytes = 4096` and
/// `quota_messages = 3`.
fn quota_site() -> Site {
    let opts = Opts {
        listeners: vec!["smtp", "imap", "imaps", "pop3"],
        ..Opts::default()
    };
    let site = site_with_auth(opts, "failure_delay_ms = 0");
    let toml = std::fs::read_to_string(site.config()).expect("read config");
    let toml = toml.replacen(
        "[limits]\n",
        "[limits]\nquota_bytes = 4096\nquota_messages = 3\n",
        1,
    );
    std::fs::write(site.config(), toml).expect("write config");
    site.default_users();
    site
}

/// An APPEND the server may refuse before its `+` continuation (the byte
/// quota is checked when the literal is announced) or after the literal
/// (the message count).
fn append_refused(c: &mut RawImap, message: &[u8]) -> ImapReply {
    let tag = c.tag();
    c.send(format!("{tag} APPEND INBOX {{{}}}\r\n", message.len()).as_bytes())
        .expect("send APPEND");
    let first = c.line_str().expect("APPEND answer");
    if first.starts_with('+') {
        c.send(message).expect("send literal");
        c.send(b"\r\n").expect("send CRLF");
        return c.read_until_tagged(&tag).expect("APPEND reply");
    }
    let status = first
        .strip_prefix(&format!("{tag} "))
        .unwrap_or_else(|| panic!("APPEND answer {first:?}"))
        .to_owned();
    ImapReply {
        untagged: vec![],
        raw: vec![],
        status,
    }
}

/// QUOTA (RFC 9208) from `[limits]`: GETQUOTAROOT/GETQUOTA report the
/// STORAGE (KiB) and MESSAGE usage across all mailboxes, follow APPEND
/// and EXPUNGE, STATUS DELETED-STORAGE counts `\Deleted` messages, and
/// APPEND past a limit is `NO [OVERQUOTA]`; imaplib's getquotaroot and
/// getquota agree.
#[test]
fn quota_from_limits() {
    let site = quota_site();
    let server = site.start();
    let mut c = RawImap::login(server.addr("imap"), ALICE.0, ALICE.1);
    let caps = c.ok("CAPABILITY");
    let caps = &caps.lines("CAPABILITY")[0];
    for want in [" QUOTA ", " QUOTA=RES-STORAGE", " QUOTA=RES-MESSAGE"] {
        assert!(caps.contains(want), "{want} missing from {caps}");
    }
    let r = c.ok("GETQUOTAROOT INBOX");
    assert_eq!(
        r.untagged,
        vec![
            "* QUOTAROOT INBOX \"\"",
            "* QUOTA \"\" (STORAGE 0 4 MESSAGE 0 3)"
        ]
    );
    let big = format!("Subject: big\r\n\r\n{}\r\n", "x".repeat(1500));
    assert!(c.append("INBOX", "", big.as_bytes()).ok());
    assert!(
        c.append("Archive", "", b"Subject: small\r\n\r\nhi\r\n")
            .ok()
    );
    // 1517 + 23 octets = 1540: 2 KiB rounded up; 2 messages.
    let r = c.ok("GETQUOTA \"\"");
    assert_eq!(r.untagged, vec!["* QUOTA \"\" (STORAGE 2 4 MESSAGE 2 3)"]);
    let r = c.ok("GETQUOTAROOT Archive");
    assert_eq!(r.untagged[1], "* QUOTA \"\" (STORAGE 2 4 MESSAGE 2 3)");
    // The next 2,600 octets would pass 4,096: refused, nothing stored.
    let huge = format!("Subject: huge\r\n\r\n{}\r\n", "y".repeat(2600));
    let r = append_refused(&mut c, huge.as_bytes());
    assert!(r.status.starts_with("NO [OVERQUOTA]"), "{r:?}");
    assert!(c.append("INBOX", "", b"Subject: third\r\n\r\n3\r\n").ok());
    let r = append_refused(&mut c, b"Subject: fourth\r\n\r\n4\r\n");
    assert!(r.status.starts_with("NO [OVERQUOTA]"), "{r:?}");
    let r = c.ok("GETQUOTA \"\"");
    assert_eq!(r.untagged, vec!["* QUOTA \"\" (STORAGE 2 4 MESSAGE 3 3)"]);
    c.ok("SELECT INBOX");
    c.ok("STORE 1 +FLAGS.SILENT (\\Deleted)");
    let r = c.ok("STATUS Archive (DELETED DELETED-STORAGE)");
    assert_eq!(
        r.untagged,
        vec!["* STATUS Archive (DELETED 0 DELETED-STORAGE 0)"]
    );
    let r = c.ok("STATUS INBOX (MESSAGES DELETED DELETED-STORAGE)");
    assert_eq!(
        r.untagged,
        vec!["* STATUS INBOX (MESSAGES 2 DELETED 1 DELETED-STORAGE 2)"]
    );
    c.ok("EXPUNGE");
    let r = c.ok("GETQUOTA \"\"");
    assert_eq!(r.untagged, vec!["* QUOTA \"\" (STORAGE 1 4 MESSAGE 2 3)"]);
    let r = c.cmd("GETQUOTA \"user\"");
    assert!(r.status.starts_with("NO [NONEXISTENT]"), "{r:?}");
    let r = c.cmd("GETQUOTAROOT Nowhere");
    assert!(r.status.starts_with("NO [NONEXISTENT]"), "{r:?}");
    let r = c.cmd("SETQUOTA \"\" (STORAGE 100000)");
    assert!(r.status.starts_with("NO [NOPERM]"), "{r:?}");
    let imap = server.port("imap").to_string();
    let out = python(
        "imap_sort_thread.py",
        &["quota", "127.0.0.1", &imap, ALICE.0, ALICE.1],
    );
    let r = results(&out);
    assert_eq!(r.get("failed").map(String::as_str), Some("0"), "{out}");
}

/// Without `[limits]` quotas there is no quota root (RFC 9208 §4.3).
#[test]
fn quota_without_limits_has_no_root() {
    let site = imap_site("loopback");
    let server = site.start();
    let mut c = RawImap::login(server.addr("imap"), ALICE.0, ALICE.1);
    let r = c.ok("GETQUOTAROOT INBOX");
    assert_eq!(r.untagged, vec!["* QUOTAROOT INBOX"]);
    let r = c.cmd("GETQUOTA \"\"");
    assert!(r.status.starts_with("NO [NONEXISTENT]"), "{r:?}");
}
