//! End-to-end: ESORT, CONTEXT=SEARCH and CONTEXT=SORT (RFC 5267), PARTIAL
//! (RFC 9394) and SEARCHRES (RFC 5182) against the real binary over raw
//! sockets, with exact responses; live contexts are updated by a second
//! concurrent session's STORE, APPEND and EXPUNGE, and every update must
//! arrive within the read timeout.

mod common;

use common::*;

/// Five messages of distinct sizes; SIZE order is 2 4 3 1 5 and 1 and 3
/// are `\Seen`.
fn load(c: &mut RawImap) {
    for (size, flags) in [
        (400, "\\Seen"),
        (100, ""),
        (300, "\\Seen"),
        (200, ""),
        (500, ""),
    ] {
        let r = c.append("INBOX", flags, &message(size));
        assert!(r.ok(), "APPEND {r:?}");
    }
}

fn message(size: usize) -> Vec<u8> {
    let mut m = b"From: a@example.org\r\nSubject: sized\r\n\r\n".to_vec();
    m.resize(size - 2, b'y');
    m.extend_from_slice(b"\r\n");
    m
}

/// The untagged lines of `cmd`, which must answer OK.
fn untagged(c: &mut RawImap, cmd: &str) -> Vec<String> {
    c.ok(cmd).untagged
}

/// The UIDVALIDITY of `mailbox`, by STATUS.
fn uid_validity(c: &mut RawImap, mailbox: &str) -> String {
    let r = c.ok(&format!("STATUS {mailbox} (UIDVALIDITY)"));
    let line = r.untagged.first().cloned().unwrap_or_default();
    line.rsplit(' ')
        .next()
        .unwrap_or_default()
        .trim_end_matches(')')
        .to_string()
}

/// Reads `n` lines (each within the client's read timeout).
fn next_lines(c: &mut RawImap, n: usize) -> Vec<String> {
    (0..n)
        .map(|i| {
            c.line_str()
                .unwrap_or_else(|e| panic!("line {} of {n}: {e}", i + 1))
        })
        .collect()
}

#[test]
fn esort_partial_and_searchres_over_raw_socket() {
    let site = imap_site("loopback");
    let server = site.start();
    let mut c = RawImap::login(server.addr("imap"), ALICE.0, ALICE.1);
    let caps = c.ok("CAPABILITY");
    let caps = &caps.lines("CAPABILITY")[0];
    for want in [
        " ESORT",
        " CONTEXT=SEARCH",
        " CONTEXT=SORT",
        " PARTIAL",
        " SEARCHRES",
    ] {
        assert!(caps.contains(want), "{want} missing from {caps}");
    }
    load(&mut c);
    // This session is the first to see the messages: they are \Recent.
    c.ok("SELECT INBOX");
    let t = c.next_tag;
    assert_eq!(
        untagged(
            &mut c,
            "UID SORT RETURN (MIN MAX COUNT ALL) (SIZE) UTF-8 ALL"
        ),
        [format!(
            "* ESEARCH (TAG \"a{t}\") UID MIN 2 MAX 5 ALL 2,4,3,1,5 COUNT 5"
        )]
    );
    assert_eq!(
        untagged(&mut c, "SORT RETURN () (REVERSE SIZE) UTF-8 ALL"),
        [format!("* ESEARCH (TAG \"a{}\") ALL 5,1,3:4,2", t + 1)]
    );
    assert_eq!(
        untagged(&mut c, "UID SEARCH RETURN (PARTIAL 1:2) UNSEEN"),
        [format!(
            "* ESEARCH (TAG \"a{}\") UID PARTIAL (1:2 2,4)",
            t + 2
        )]
    );
    assert_eq!(
        untagged(&mut c, "SEARCH RETURN (PARTIAL -1:-2 COUNT) ALL"),
        [format!(
            "* ESEARCH (TAG \"a{}\") PARTIAL (-1:-2 4:5) COUNT 5",
            t + 3
        )]
    );
    assert_eq!(
        untagged(&mut c, "UID SORT RETURN (PARTIAL 2:3) (SIZE) UTF-8 ALL"),
        [format!(
            "* ESEARCH (TAG \"a{}\") UID PARTIAL (2:3 4,3)",
            t + 4
        )]
    );
    assert_eq!(
        untagged(&mut c, "UID SEARCH RETURN (PARTIAL 9:20) ALL"),
        [format!(
            "* ESEARCH (TAG \"a{}\") UID PARTIAL (9:20 NIL)",
            t + 5
        )]
    );
    // RFC 9394 §3.2: FETCH with the PARTIAL modifier.
    assert_eq!(
        untagged(&mut c, "UID FETCH 1:* (FLAGS) (PARTIAL -1:-2)"),
        [
            "* 4 FETCH (UID 4 FLAGS (\\Recent))",
            "* 5 FETCH (UID 5 FLAGS (\\Recent))"
        ]
    );
    let r = c.cmd("SEARCH RETURN (ALL PARTIAL 1:5) ALL");
    assert!(r.status.starts_with("BAD "), "{r:?}");
    let r = c.cmd("SEARCH RETURN (PARTIAL 0:5) ALL");
    assert!(r.status.starts_with("BAD "), "{r:?}");
    // SAVE with MIN of a SORT keeps the first sorted result (RFC 5182 §2.4).
    let t = c.next_tag;
    assert_eq!(
        untagged(
            &mut c,
            "UID SORT RETURN (SAVE MIN) (REVERSE SIZE) UTF-8 ALL"
        ),
        [format!("* ESEARCH (TAG \"a{t}\") UID MIN 5")]
    );
    assert_eq!(
        untagged(&mut c, "UID FETCH $ (FLAGS)"),
        ["* 5 FETCH (UID 5 FLAGS (\\Recent))"]
    );
    // SAVE alone answers nothing; `$` then works inside SEARCH criteria.
    assert!(untagged(&mut c, "UID SEARCH RETURN (SAVE) UNSEEN").is_empty());
    assert_eq!(untagged(&mut c, "SEARCH $"), ["* SEARCH 2 4 5"]);
    assert_eq!(
        untagged(&mut c, "UID SEARCH UID $ SMALLER 300"),
        ["* SEARCH 2 4"]
    );
    assert_eq!(
        untagged(&mut c, "UID SEARCH OR $ SEEN"),
        ["* SEARCH 1 2 3 4 5"]
    );
    // A failed SEARCH (SAVE) empties `$`.
    let r = c.cmd("SEARCH RETURN (SAVE) CHARSET KOI8-R ALL");
    assert!(r.status.starts_with("NO [BADCHARSET]"), "{r:?}");
    assert_eq!(untagged(&mut c, "SEARCH $"), ["* SEARCH"]);
    // The session goes on.
    c.ok("NOOP");
}

/// Two sessions on one mailbox: A keeps three contexts (UID SEARCH, SEARCH
/// by sequence number, UID SORT by REVERSE SIZE) and idles; B changes a
/// flag, appends, deletes and expunges. A receives REMOVEFROM before the
/// EXPUNGE and ADDTO after the EXISTS, with exact positions; after
/// CANCELUPDATE only the remaining context speaks.
#[test]
fn contexts_follow_another_session() {
    let site = imap_site("loopback");
    let server = site.start();
    let addr = server.addr("imap");
    let mut a = RawImap::login(addr, ALICE.0, ALICE.1);
    let mut b = RawImap::login(addr, ALICE.0, ALICE.1);
    load(&mut b);
    a.ok("SELECT INBOX");
    let t = a.next_tag;
    let (t1, t2, t3) = (
        format!("a{t}"),
        format!("a{}", t + 1),
        format!("a{}", t + 2),
    );
    assert_eq!(
        untagged(&mut a, "UID SEARCH RETURN (UPDATE COUNT) UNSEEN"),
        [format!("* ESEARCH (TAG \"{t1}\") UID COUNT 3")]
    );
    assert_eq!(
        untagged(&mut a, "SEARCH RETURN (UPDATE) UNSEEN"),
        [format!("* ESEARCH (TAG \"{t2}\") ALL 2,4:5")]
    );
    assert_eq!(
        untagged(
            &mut a,
            "UID SORT RETURN (UPDATE ALL) (REVERSE SIZE) UTF-8 UNSEEN"
        ),
        [format!("* ESEARCH (TAG \"{t3}\") UID ALL 5,4,2")]
    );
    // Criteria on content are kept live too (tests/imap_notify_context.rs
    // follows such contexts); this one is cancelled to keep the rest short.
    let t4 = format!("a{}", a.next_tag);
    assert_eq!(
        untagged(&mut a, "UID SEARCH RETURN (UPDATE) SUBJECT sized"),
        [format!("* ESEARCH (TAG \"{t4}\") UID ALL 1:5")]
    );
    a.ok(&format!("CANCELUPDATE \"{t4}\""));
    // A reused tag of a live context is BAD (RFC 5267 §4.3).
    a.send(format!("{t1} SEARCH RETURN (UPDATE) ALL\r\n").as_bytes())
        .unwrap();
    let r = a.read_until_tagged(&t1).unwrap();
    assert_eq!(r.status, "BAD Tag reuse");

    let idle = a.tag();
    a.send(format!("{idle} IDLE\r\n").as_bytes()).unwrap();
    assert_eq!(a.line_str().unwrap(), "+ idling");

    // B marks 2 seen: it leaves every context.
    b.ok("SELECT INBOX");
    b.ok("UID STORE 2 +FLAGS.SILENT (\\Seen)");
    assert_eq!(
        next_lines(&mut a, 4),
        [
            format!("* ESEARCH (TAG \"{t1}\") UID REMOVEFROM (0 2)"),
            format!("* ESEARCH (TAG \"{t2}\") REMOVEFROM (0 2)"),
            format!("* ESEARCH (TAG \"{t3}\") UID REMOVEFROM (3 2)"),
            "* 2 FETCH (FLAGS (\\Seen \\Recent))".to_string(),
        ]
    );
    // B appends a 600-octet message from outside the mailbox: it sorts
    // first by REVERSE SIZE.
    b.ok("UNSELECT");
    assert!(b.append("INBOX", "", &message(600)).ok());
    assert_eq!(
        next_lines(&mut a, 5),
        [
            "* 6 EXISTS".to_string(),
            // \Recent: all six (RFC 3501 §6.3.11, also 1 and 3, which
            // were appended \Seen).
            "* 6 RECENT".to_string(),
            format!("* ESEARCH (TAG \"{t1}\") UID ADDTO (0 6)"),
            format!("* ESEARCH (TAG \"{t2}\") ADDTO (0 6)"),
            format!("* ESEARCH (TAG \"{t3}\") UID ADDTO (1 6)"),
        ]
    );
    // B deletes and expunges 4: REMOVEFROM while sequence number 4 is
    // still valid, then the EXPUNGE.
    b.ok("SELECT INBOX");
    b.ok("UID STORE 4 +FLAGS.SILENT (\\Deleted)");
    assert_eq!(
        next_lines(&mut a, 1),
        ["* 4 FETCH (FLAGS (\\Deleted \\Recent))"]
    );
    b.ok("EXPUNGE");
    assert_eq!(
        next_lines(&mut a, 4),
        [
            format!("* ESEARCH (TAG \"{t1}\") UID REMOVEFROM (0 4)"),
            format!("* ESEARCH (TAG \"{t2}\") REMOVEFROM (0 4)"),
            format!("* ESEARCH (TAG \"{t3}\") UID REMOVEFROM (3 4)"),
            "* 4 EXPUNGE".to_string(),
        ]
    );
    // B makes 1 (400 octets) unseen: it joins at position 3 of the sort.
    b.ok("UID STORE 1 -FLAGS.SILENT (\\Seen)");
    assert_eq!(
        next_lines(&mut a, 4),
        [
            "* 1 FETCH (FLAGS (\\Recent))".to_string(),
            format!("* ESEARCH (TAG \"{t1}\") UID ADDTO (0 1)"),
            format!("* ESEARCH (TAG \"{t2}\") ADDTO (0 1)"),
            format!("* ESEARCH (TAG \"{t3}\") UID ADDTO (3 1)"),
        ]
    );
    a.send(b"DONE\r\n").unwrap();
    let r = a.read_until_tagged(&idle).unwrap();
    assert!(r.ok() && r.untagged.is_empty(), "{r:?}");

    // After CANCELUPDATE only the sequence-number context is left.
    assert!(untagged(&mut a, &format!("CANCELUPDATE \"{t1}\" \"{t3}\"")).is_empty());
    b.ok("UID STORE 3 -FLAGS.SILENT (\\Seen)");
    // Sequence numbers after the expunge: 1 2 3 5 6 -> 1 2 3 4 5.
    let lines = untagged(&mut a, "NOOP");
    assert_eq!(
        lines,
        [
            "* 3 FETCH (FLAGS (\\Recent))".to_string(),
            format!("* ESEARCH (TAG \"{t2}\") ADDTO (0 3)"),
        ]
    );
    // Contexts end with the selection.
    a.ok("UNSELECT");
    a.ok("SELECT INBOX");
    b.ok("UID STORE 5 +FLAGS.SILENT (\\Seen)");
    let lines = untagged(&mut a, "NOOP");
    assert_eq!(lines, ["* 4 FETCH (FLAGS (\\Seen))"]);
}

/// RFC 5267 §4.3.1: the server keeps at most 8 live contexts per
/// session; the ninth is refused with NOUPDATE and still answered.
#[test]
fn context_limit_over_raw_socket() {
    let site = imap_site("loopback");
    let server = site.start();
    let mut c = RawImap::login(server.addr("imap"), ALICE.0, ALICE.1);
    load(&mut c);
    c.ok("SELECT INBOX");
    for _ in 0..8 {
        let r = c.ok("SEARCH RETURN (UPDATE COUNT) SEEN");
        assert_eq!(r.untagged.len(), 1, "{r:?}");
    }
    let t = format!("a{}", c.next_tag);
    assert_eq!(
        untagged(&mut c, "SEARCH RETURN (UPDATE COUNT) SEEN"),
        [
            format!("* ESEARCH (TAG \"{t}\") COUNT 2"),
            format!("* NO [NOUPDATE \"{t}\"] Too many contexts"),
        ]
    );
}

/// NOTIFY (RFC 5465) outside IDLE: A asks for selected-mailbox events and
/// for every personal mailbox; B's APPEND, STORE and EXPUNGE in INBOX
/// reach A as EXISTS/FETCH/EXPUNGE without A sending a command, B's
/// APPEND to Sent as STATUS, and B's CREATE/RENAME/SUBSCRIBE/DELETE as
/// LIST; NOTIFY SET STATUS reports every mailbox but the selected one;
/// unsupported events get BADEVENT.
#[test]
fn notify_pushes_another_sessions_changes() {
    let site = imap_site("loopback");
    let server = site.start();
    let addr = server.addr("imap");
    let mut a = RawImap::login(addr, ALICE.0, ALICE.1);
    let mut b = RawImap::login(addr, ALICE.0, ALICE.1);
    let caps = a.ok("CAPABILITY");
    assert!(caps.lines("CAPABILITY")[0].contains(" NOTIFY"), "{caps:?}");
    a.ok("SELECT INBOX");
    let r = a.cmd("NOTIFY SET (personal (AnnotationChange))");
    assert_eq!(
        r.status,
        "NO [BADEVENT (MessageNew MessageExpunge FlagChange MailboxName SubscriptionChange)] Unsupported event"
    );
    // RFC 5465 §5: for the selected mailbox MessageNew needs MessageExpunge.
    let r = a.cmd("NOTIFY SET (selected (MessageNew))");
    assert!(r.status.starts_with("BAD "), "{r:?}");
    a.ok(
        "NOTIFY SET (selected (MessageNew (UID FLAGS) MessageExpunge FlagChange)) \
         (personal (MessageNew MessageExpunge MailboxName SubscriptionChange))",
    );

    assert!(b.append("INBOX", "", &message(100)).ok());
    assert_eq!(
        next_lines(&mut a, 3),
        [
            "* 1 EXISTS",
            "* 1 RECENT",
            "* 1 FETCH (UID 1 FLAGS (\\Recent))"
        ]
    );
    b.ok("SELECT INBOX");
    b.ok("UID STORE 1 +FLAGS.SILENT (\\Flagged)");
    assert_eq!(
        next_lines(&mut a, 1),
        ["* 1 FETCH (FLAGS (\\Flagged \\Recent))"]
    );
    b.ok("UID STORE 1 +FLAGS.SILENT (\\Deleted)");
    assert_eq!(
        next_lines(&mut a, 1),
        ["* 1 FETCH (FLAGS (\\Flagged \\Deleted \\Recent))"]
    );
    b.ok("EXPUNGE");
    assert_eq!(next_lines(&mut a, 1), ["* 1 EXPUNGE"]);
    // B leaves INBOX, so only A can claim the \Recent of what comes next.
    b.ok("UNSELECT");

    let v = |c: &mut RawImap, m: &str| uid_validity(c, m);
    assert!(b.append("Sent", "", &message(100)).ok());
    assert_eq!(
        next_lines(&mut a, 1),
        [format!(
            "* STATUS Sent (MESSAGES 1 UIDNEXT 2 UIDVALIDITY {} UNSEEN 1)",
            v(&mut b, "Sent")
        )]
    );
    b.ok("CREATE Lists");
    assert_eq!(next_lines(&mut a, 1), ["* LIST () \"/\" Lists"]);
    b.ok("RENAME Lists Projects");
    assert_eq!(
        next_lines(&mut a, 1),
        ["* LIST () \"/\" Projects (\"OLDNAME\" (\"Lists\"))"]
    );
    b.ok("SUBSCRIBE Projects");
    assert_eq!(
        next_lines(&mut a, 1),
        ["* LIST (\\Subscribed) \"/\" Projects"]
    );
    b.ok("UNSUBSCRIBE Projects");
    assert_eq!(next_lines(&mut a, 1), ["* LIST () \"/\" Projects"]);
    b.ok("DELETE Projects");
    assert_eq!(
        next_lines(&mut a, 1),
        ["* LIST (\\NonExistent) \"/\" Projects"]
    );

    // SET STATUS: every mailbox a message event is asked for, not INBOX.
    let r = a.ok("NOTIFY SET STATUS (personal (MessageNew MessageExpunge))");
    let mut lines = r.untagged.clone();
    lines.sort();
    let expected: Vec<String> = [
        ("Archive", "0 UIDNEXT 1", "0"),
        ("Drafts", "0 UIDNEXT 1", "0"),
        ("Junk", "0 UIDNEXT 1", "0"),
        ("Sent", "1 UIDNEXT 2", "1"),
        ("Trash", "0 UIDNEXT 1", "0"),
    ]
    .iter()
    .map(|(m, counts, unseen)| {
        format!(
            "* STATUS {m} (MESSAGES {counts} UIDVALIDITY {} UNSEEN {unseen})",
            v(&mut b, m)
        )
    })
    .collect();
    assert_eq!(lines, expected);
    // NOTIFY NONE: B's next APPEND is only told at A's next command.
    a.ok("NOTIFY NONE");
    assert!(b.append("Sent", "", &message(100)).ok());
    assert!(b.append("INBOX", "", &message(100)).ok());
    let r = a.ok("NOOP");
    assert_eq!(r.untagged, ["* 1 EXISTS", "* 1 RECENT"]);
}
