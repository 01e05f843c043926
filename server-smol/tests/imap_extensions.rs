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
