//! End-to-end over raw sockets against the real binary: the IMAP faults of
//! issue 15, each asserted byte for byte. FETCH of sections at different
//! content levels, keywords announced before use (with several sessions),
//! `\Recent` in exactly one session, CREATE with a trailing delimiter,
//! LIST-EXTENDED options, atoms as mailbox names, a maximal ID, CONDSTORE
//! and ESEARCH mod-sequences, and resynchronisation after a session fell
//! more than 4,096 change notices behind.

mod common;

use std::net::SocketAddr;

use common::*;

const MULTI: &[u8] = b"From: a@example.org\r\nSubject: two parts\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"b\"\r\n\r\npre\r\n--b\r\nContent-Type: text/plain\r\n\r\nfirst\r\n--b\r\nContent-Type: text/html\r\n\r\n<p>second</p>\r\n--b--\r\n";
const HEADER: &str = "From: a@example.org\r\nSubject: two parts\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"b\"\r\n\r\n";
const TEXT: &str = "pre\r\n--b\r\nContent-Type: text/plain\r\n\r\nfirst\r\n--b\r\nContent-Type: text/html\r\n\r\n<p>second</p>\r\n--b--\r\n";

fn logged_in(addr: SocketAddr) -> RawImap {
    RawImap::login(addr, ALICE.0, ALICE.1)
}

/// A session with `mailbox` selected.
fn selected(addr: SocketAddr, mailbox: &str) -> RawImap {
    let mut c = logged_in(addr);
    c.ok(&format!("SELECT {mailbox}"));
    c
}

#[test]
fn fetch_of_sections_at_different_levels() {
    let site = imap_site("loopback");
    let server = site.start();
    let mut c = logged_in(server.addr("imap"));
    assert!(c.append("INBOX", "", MULTI).ok());
    c.ok("SELECT INBOX");

    let r = c.ok("FETCH 1 (BODY.PEEK[HEADER.FIELDS (SUBJECT)] BODY.PEEK[TEXT])");
    let want = format!(
        "* 1 FETCH (BODY[HEADER.FIELDS (SUBJECT)] {{22}}\r\nSubject: two parts\r\n\r\n BODY[TEXT] {{{}}}\r\n{TEXT})",
        TEXT.len()
    );
    assert_eq!(r.untagged, vec![want]);

    let r = c.ok("FETCH 1 (BODY.PEEK[1] BODY.PEEK[2] BODY.PEEK[2.MIME] BODY.PEEK[HEADER] BODY.PEEK[TEXT] RFC822.HEADER)");
    let want = format!(
        "* 1 FETCH (BODY[1] {{5}}\r\nfirst BODY[2] {{13}}\r\n<p>second</p> BODY[2.MIME] {{27}}\r\nContent-Type: text/html\r\n\r\n BODY[HEADER] {{{h}}}\r\n{HEADER} BODY[TEXT] {{{t}}}\r\n{TEXT} RFC822.HEADER {{{h}}}\r\n{HEADER})",
        h = HEADER.len(),
        t = TEXT.len()
    );
    assert_eq!(r.untagged, vec![want]);

    let r = c.ok("FETCH 1 (BODY.PEEK[TEXT]<0.20> BODY.PEEK[HEADER.FIELDS (FROM)])");
    assert_eq!(
        r.untagged,
        vec![
            "* 1 FETCH (BODY[TEXT]<0> {20}\r\npre\r\n--b\r\nContent-Ty BODY[HEADER.FIELDS (FROM)] {23}\r\nFrom: a@example.org\r\n\r\n)"
                .to_string()
        ]
    );

    let r = c.ok("FETCH 1 (ENVELOPE BODY.PEEK[2])");
    assert_eq!(r.untagged.len(), 1, "{r:?}");
    assert!(
        r.untagged[0].ends_with(" BODY[2] {13}\r\n<p>second</p>)"),
        "{r:?}"
    );
}

/// The keywords a `* FLAGS (...)` line lists.
fn flags_list(line: &str) -> Option<Vec<String>> {
    let rest = line.strip_prefix("* FLAGS (")?;
    let inner = rest.strip_suffix(')')?;
    Some(inner.split_whitespace().map(str::to_owned).collect())
}

/// The flags of a `* n FETCH (... FLAGS (...) ...)` line.
fn fetch_flags(line: &str) -> Option<Vec<String>> {
    if !line.starts_with("* ") || !line.contains(" FETCH (") {
        return None;
    }
    let at = line.find("FLAGS (")? + "FLAGS (".len();
    let end = line[at..].find(')')? + at;
    Some(
        line[at..end]
            .split_whitespace()
            .map(str::to_owned)
            .collect(),
    )
}

/// Checks that every flag a FETCH shows was announced by a FLAGS line
/// before it (RFC 9051 §7.3.5); returns the announced list.
fn check_announced(who: &str, lines: &[String], known: &mut Vec<String>) {
    for l in lines {
        if let Some(list) = flags_list(l) {
            *known = list;
        } else if let Some(flags) = fetch_flags(l) {
            for f in flags {
                assert!(
                    f == "\\Recent" || known.contains(&f),
                    "{who}: {l:?} uses {f} before a FLAGS announced it (known {known:?})"
                );
            }
        }
    }
}

#[test]
fn keywords_are_announced_before_any_fetch_uses_them() {
    let site = imap_site("loopback");
    let server = site.start();
    let addr = server.addr("imap");
    let mut a = logged_in(addr);
    assert!(a.append("INBOX", "", &message("kw-1")).ok());
    assert!(a.append("INBOX", "", &message("kw-2")).ok());
    a.ok("SELECT INBOX");
    let mut b = selected(addr, "INBOX");

    let r = a.ok("STORE 1 +FLAGS (\\Flagged $Label1)");
    assert_eq!(
        r.untagged,
        vec![
            "* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft $Label1)",
            "* OK [PERMANENTFLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft $Label1 \\*)] Flags permitted",
            "* 1 FETCH (FLAGS (\\Flagged $Label1 \\Recent))",
        ]
    );
    // B's connection takes the notice between commands.
    std::thread::sleep(std::time::Duration::from_millis(300));
    let r = b.ok("NOOP");
    assert_eq!(
        r.untagged,
        vec![
            "* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft $Label1)",
            "* OK [PERMANENTFLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft $Label1 \\*)] Flags permitted",
            "* 1 FETCH (FLAGS (\\Flagged $Label1))",
        ]
    );
    // A later SELECT lists the keyword in use at once.
    let mut c = logged_in(addr);
    let r = c.ok("EXAMINE INBOX");
    assert!(
        r.untagged
            .contains(&"* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft $Label1)".into()),
        "{r:?}"
    );

    // Concurrently: writers store fresh keywords while B polls and fetches;
    // no FETCH may show a keyword B was not told of.
    let writers: Vec<_> = (0..3)
        .map(|w| {
            std::thread::spawn(move || {
                let mut s = selected(addr, "INBOX");
                for i in 0..15 {
                    let r = s.cmd(&format!("STORE {} +FLAGS ($W{w}K{i})", 1 + (i % 2)));
                    assert!(r.ok(), "{r:?}");
                }
                s.ok("LOGOUT");
            })
        })
        .collect();
    let mut known: Vec<String> = [
        "\\Answered",
        "\\Flagged",
        "\\Deleted",
        "\\Seen",
        "\\Draft",
        "$Label1",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    for _ in 0..40 {
        let r = b.ok("NOOP");
        check_announced("B NOOP", &r.untagged, &mut known);
        let r = b.ok("FETCH 1:2 FLAGS");
        check_announced("B FETCH", &r.untagged, &mut known);
    }
    for w in writers {
        w.join().expect("writer");
    }
    let r = b.ok("NOOP");
    check_announced("B NOOP", &r.untagged, &mut known);
    for w in 0..3 {
        for i in 0..15 {
            assert!(known.contains(&format!("$W{w}K{i}")), "{known:?}");
        }
    }
}

/// The number of a `* n RECENT` line, if any.
fn recent_of(lines: &[String]) -> Option<u32> {
    lines
        .iter()
        .find_map(|l| l.strip_prefix("* ")?.strip_suffix(" RECENT")?.parse().ok())
}

#[test]
fn recent_goes_to_exactly_one_session() {
    let site = imap_site("loopback");
    let server = site.start();
    let addr = server.addr("imap");
    let mut a = selected(addr, "INBOX");
    let mut b = selected(addr, "INBOX");
    let mut other = logged_in(addr);

    // Delivered while A and B have INBOX selected: whichever is told first
    // claims it; the other never sees it \Recent.
    let (mut smtp, _) = RawSmtp::connect_ehlo(server.addr("smtp"));
    let r = smtp
        .send_mail("sender@example.org", ALICE.0, &message("recent-1"))
        .expect("SMTP");
    assert_eq!(r.0, 250, "{r:?}");
    // Both sessions' connections take the notice while idle between
    // commands; give them the moment to.
    std::thread::sleep(std::time::Duration::from_millis(300));
    let ra = a.ok("NOOP");
    let rb = b.ok("NOOP");
    for r in [&ra, &rb] {
        assert!(r.untagged.contains(&"* 1 EXISTS".into()), "{r:?}");
    }
    let fa = a.ok("FETCH 1 FLAGS");
    let fb = b.ok("FETCH 1 FLAGS");
    let recent_a = fa.untagged == vec!["* 1 FETCH (FLAGS (\\Recent))".to_string()];
    let recent_b = fb.untagged == vec!["* 1 FETCH (FLAGS (\\Recent))".to_string()];
    assert!(
        recent_a ^ recent_b,
        "\\Recent in exactly one session: A {ra:?} {fa:?}, B {rb:?} {fb:?}"
    );
    let (winner, loser) = if recent_a { (&ra, &rb) } else { (&rb, &ra) };
    assert_eq!(recent_of(&winner.untagged), Some(1), "{winner:?}");
    assert_eq!(recent_of(&loser.untagged), None, "{loser:?}");
    let (fw, fl) = if recent_a { (&fa, &fb) } else { (&fb, &fa) };
    assert_eq!(fw.untagged, vec!["* 1 FETCH (FLAGS (\\Recent))"]);
    assert_eq!(fl.untagged, vec!["* 1 FETCH (FLAGS ())"]);
    // STATUS from a third session agrees: claimed, so no longer recent.
    let r = other.ok("STATUS INBOX (MESSAGES RECENT)");
    assert_eq!(r.untagged, vec!["* STATUS INBOX (MESSAGES 1 RECENT 0)"]);
    // And a later SELECT does not see it \Recent either.
    let r = other.ok("SELECT INBOX");
    assert_eq!(recent_of(&r.untagged), Some(0), "{r:?}");
    other.ok("UNSELECT");

    // APPEND by a session that has the mailbox selected: EXISTS comes
    // before its tagged OK; it and B race to be told first, and exactly
    // one of them shows the message \Recent.
    let r = a.append("INBOX", "", &message("recent-2"));
    assert!(r.ok(), "{r:?}");
    assert!(r.untagged.contains(&"* 2 EXISTS".into()), "{r:?}");
    let fa = a.ok("FETCH 2 FLAGS");
    std::thread::sleep(std::time::Duration::from_millis(300));
    let rb = b.ok("NOOP");
    assert!(rb.untagged.contains(&"* 2 EXISTS".into()), "{rb:?}");
    let fb = b.ok("FETCH 2 FLAGS");
    let recent_a = fa.untagged == vec!["* 2 FETCH (FLAGS (\\Recent))".to_string()];
    let recent_b = fb.untagged == vec!["* 2 FETCH (FLAGS (\\Recent))".to_string()];
    assert!(recent_a ^ recent_b, "A {r:?} {fa:?}, B {rb:?} {fb:?}");
    for f in [&fa, &fb] {
        assert!(
            f.untagged == vec!["* 2 FETCH (FLAGS (\\Recent))".to_string()]
                || f.untagged == vec!["* 2 FETCH (FLAGS ())".to_string()],
            "{f:?}"
        );
    }
    assert_eq!(recent_of(&rb.untagged).is_some(), recent_b, "{rb:?}");

    // Delivered while nobody has INBOX selected: STATUS counts it, the
    // first SELECT gets it.
    a.ok("LOGOUT");
    b.ok("LOGOUT");
    std::thread::sleep(std::time::Duration::from_millis(200));
    let r = smtp
        .send_mail("sender@example.org", ALICE.0, &message("recent-3"))
        .expect("SMTP");
    assert_eq!(r.0, 250, "{r:?}");
    let r = other.ok("STATUS INBOX (MESSAGES RECENT)");
    assert_eq!(r.untagged, vec!["* STATUS INBOX (MESSAGES 3 RECENT 1)"]);
    let mut c = logged_in(addr);
    let r = c.ok("SELECT INBOX");
    assert_eq!(recent_of(&r.untagged), Some(1), "{r:?}");
    let mut d = logged_in(addr);
    let r = d.ok("SELECT INBOX");
    assert_eq!(recent_of(&r.untagged), Some(0), "{r:?}");
}

#[test]
fn create_list_and_names() {
    let site = imap_site("loopback");
    let server = site.start();
    let mut c = logged_in(server.addr("imap"));
    // RFC 9051 §6.3.4: a trailing delimiter declares children to come.
    // RFC 8474 §4.1: the OK carries the new mailbox's MAILBOXID.
    let status = c.cmd("CREATE foo/").status;
    assert!(
        status.starts_with("OK [MAILBOXID (M") && status.ends_with(")] Completed"),
        "{status}"
    );
    let r = c.ok("LIST \"\" foo");
    assert_eq!(r.untagged, vec!["* LIST (\\HasNoChildren) \"/\" foo"]);
    assert!(c.cmd("CREATE foo/bar").ok());
    assert!(c.cmd("SUBSCRIBE foo/bar").ok());

    assert_eq!(
        c.cmd("LIST (FOOBAR) \"\" *").status,
        "BAD Unknown LIST selection option"
    );
    assert_eq!(
        c.cmd("LIST \"\" * RETURN (FOOBAR)").status,
        "BAD Unknown LIST return option"
    );
    assert_eq!(
        c.cmd("LIST (RECURSIVEMATCH) \"\" *").status,
        "BAD RECURSIVEMATCH needs another selection option"
    );
    let r = c.ok("LIST (SUBSCRIBED RECURSIVEMATCH) \"\" f%");
    assert_eq!(
        r.untagged,
        vec!["* LIST (\\HasChildren) \"/\" foo (\"CHILDINFO\" (\"SUBSCRIBED\"))"]
    );
    let r = c.ok("LIST (SUBSCRIBED REMOTE) \"\" foo/%");
    assert_eq!(
        r.untagged,
        vec!["* LIST (\\HasNoChildren \\Subscribed) \"/\" foo/bar"]
    );
    // RFC 3501 §6.3.9: LSUB % returns the unsubscribed parent \Noselect.
    let r = c.ok("LSUB \"\" f%");
    assert_eq!(r.untagged, vec!["* LSUB (\\Noselect) \"/\" foo"]);

    // A valid atom that names no mailbox: NO, and LIST survives it.
    let atom = "!#$&'+,-.0123456789:;<=>?@^_`|}";
    let r = c.cmd(&format!("SELECT {atom}"));
    assert!(r.status.starts_with("NO "), "{r:?}");
    let r = c.cmd(&format!("LIST \"\" {atom}%*"));
    assert_eq!(r.status, "OK LIST completed");
    assert!(r.untagged.is_empty(), "{r:?}");
    assert!(c.cmd("NOOP").ok());
}

#[test]
fn id_with_thirty_maximal_pairs() {
    let site = imap_site("loopback");
    let server = site.start();
    let mut c = RawImap::connect(server.addr("imap"));
    let mut cmd = String::from("ID (");
    for i in 0..30 {
        if i > 0 {
            cmd.push(' ');
        }
        let field = format!("f{i:02}{}", "k".repeat(1021));
        cmd.push_str(&format!("\"{field}\" \"{}\"", "v".repeat(1024)));
    }
    cmd.push(')');
    assert!(cmd.len() > 60_000);
    let r = c.cmd(&cmd);
    assert_eq!(r.status, "OK ID completed", "{r:?}");
    assert_eq!(r.untagged, vec!["* ID (\"name\" \"sansmail\")"]);
}

#[test]
fn condstore_enabling_commands_and_esearch_modseq() {
    let site = imap_site("loopback");
    let server = site.start();
    let addr = server.addr("imap");
    let mut c = logged_in(addr);
    for i in 0..3 {
        assert!(c.append("INBOX", "", &message(&format!("cs-{i}"))).ok());
    }
    c.ok("SELECT INBOX");
    c.ok("STORE 2 +FLAGS (\\Flagged)");
    let mut d = selected(addr, "INBOX");
    let r = d.ok("FETCH 1:3 (MODSEQ)");
    // RFC 7162 §3.1: the first CONDSTORE-enabling command gets an
    // untagged OK [HIGHESTMODSEQ n] before its tagged OK.
    let highest_line = r.untagged.last().cloned().unwrap_or_default();
    let modseqs: Vec<u64> = r.untagged[..r.untagged.len().saturating_sub(1)]
        .iter()
        .map(|l| {
            let at = l.find("MODSEQ (").expect("MODSEQ") + 8;
            l[at..l.len() - 2].parse().expect("number")
        })
        .collect();
    assert_eq!(modseqs.len(), 3, "{r:?}");
    let highest = *modseqs.iter().max().unwrap();
    assert_eq!(
        highest_line,
        format!("* OK [HIGHESTMODSEQ {highest}] Highest")
    );
    assert_eq!(r.status, "OK FETCH completed");
    let r = d.ok("FETCH 1 (MODSEQ)");
    assert_eq!(r.status, "OK FETCH completed");

    let mut e = selected(addr, "INBOX");
    let r = e.ok("SEARCH MODSEQ 1");
    assert_eq!(
        r.untagged.last().map(String::as_str),
        Some(format!("* OK [HIGHESTMODSEQ {highest}] Highest").as_str()),
        "{r:?}"
    );
    assert_eq!(r.status, "OK SEARCH completed");
    let r = e.ok("SEARCH RETURN (MIN) MODSEQ 1");
    assert_eq!(
        r.untagged,
        vec![format!(
            "* ESEARCH (TAG \"a4\") MIN 1 MODSEQ {}",
            modseqs[0]
        )]
    );
    let r = e.ok("SEARCH RETURN (MAX) MODSEQ 1");
    assert_eq!(
        r.untagged,
        vec![format!(
            "* ESEARCH (TAG \"a5\") MAX 3 MODSEQ {}",
            modseqs[2]
        )]
    );
}

#[test]
fn session_behind_by_more_than_the_notice_queue_resynchronises() {
    let opts = Opts {
        listeners: vec!["smtp", "imap"],
        plaintext: "loopback",
        max_message_size: 64 * 1024 * 1024,
        ..Opts::default()
    };
    let site = site_with_auth(opts, "failure_delay_ms = 0");
    site.default_users();
    let server = site.start();
    let addr = server.addr("imap");

    // A large message: A's FETCH of it fills the socket buffers while A
    // does not read, so A's connection cannot take change notices.
    let mut big = b"Subject: big\r\n\r\n".to_vec();
    let line = [b'x'; 998];
    while big.len() < 40 * 1024 * 1024 {
        big.extend_from_slice(&line);
        big.extend_from_slice(b"\r\n");
    }
    let mut w = logged_in(addr);
    assert!(w.cmd("CREATE Shared").ok());
    assert!(w.append("Shared", "", &big).ok());
    assert!(w.append("Shared", "", &message("seed")).ok());
    let mut a = selected(addr, "Shared");
    a.send(b"f1 FETCH 1 BODY.PEEK[]\r\n").expect("send FETCH");
    std::thread::sleep(std::time::Duration::from_millis(300));

    // Meanwhile: COPY doubles the mailbox until well over 4,096 new
    // messages, then a STORE on all of them: every one a notice for A.
    w.ok("SELECT Shared");
    for _ in 0..12 {
        let r = w.cmd("UID COPY 2:* Shared");
        assert!(r.ok(), "{r:?}");
    }
    let r = w.ok("STORE 2:* +FLAGS.SILENT ($Resync)");
    let _ = r;
    let status = w.ok("STATUS Shared (MESSAGES)");
    let total: u32 = status.untagged[0]
        .trim_end_matches(')')
        .rsplit(' ')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(total, 1 + 4096);

    // A now reads its FETCH and asks what changed.
    let r = a.read_until_tagged("f1").expect("FETCH reply");
    assert_eq!(r.status, "OK FETCH completed");
    let r = a.ok("NOOP");
    assert!(
        r.untagged.contains(&format!("* {total} EXISTS")),
        "A missed messages: {:?}",
        &r.untagged[..r.untagged.len().min(5)]
    );
    let r = a.ok(&format!("FETCH {total} (UID FLAGS)"));
    assert!(
        r.untagged.len() == 1 && r.untagged[0].contains("$Resync"),
        "{r:?}"
    );
    let r = a.ok("SEARCH KEYWORD $Resync");
    assert_eq!(
        r.untagged[0].split(' ').count() - 2,
        4096,
        "every stored keyword is in A's view"
    );
    let log = server.output_text();
    assert!(
        log.contains("change notices overflowed; resynchronising from the index"),
        "{log}"
    );
}

#[test]
fn header_and_text_of_an_encoded_message_rfc822_part() {
    let site = imap_site("loopback");
    let server = site.start();
    let mut c = logged_in(server.addr("imap"));
    // rfc/008.eml of the corpus: part 2 is a message/rfc822 in base64.
    let raw = crlf(include_bytes!(
        "../../imap-proto/testdata/encoded_rfc822.eml"
    ));
    assert!(c.append("INBOX", "", &raw).ok());
    c.ok("SELECT INBOX");
    let head = "To: \"email@example.com\" <email@example.com>\r\nFrom: Name <email@example.com>\r\nSubject: HTML test\r\nMessage-ID: <random-message-id@example.com>\r\nDate: Tue, 14 Dec 2021 11:48:25 +0100\r\nMIME-Version: 1.0\r\nContent-Type: multipart/alternative;\r\n boundary=\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\"\r\nContent-Language: en-US\r\n\r\n";
    let r = c.ok("FETCH 1 (BODY.PEEK[2.HEADER])");
    assert_eq!(
        r.untagged,
        vec![format!(
            "* 1 FETCH (BODY[2.HEADER] {{{}}}\r\n{head})",
            head.len()
        )]
    );
    let r = c.ok("FETCH 1 (BODY.PEEK[2.TEXT])");
    assert_eq!(r.untagged.len(), 1, "{r:?}");
    assert!(
        r.untagged[0].starts_with(
            "* 1 FETCH (BODY[2.TEXT] {553}\r\nThis is a multi-part message in MIME format.\r\n--aaaa"
        ),
        "{r:?}"
    );
    // Part 1 is text/plain: it has no HEADER.
    let r = c.ok("FETCH 1 (BODY.PEEK[1.HEADER])");
    assert_eq!(r.untagged, vec!["* 1 FETCH (BODY[1.HEADER] NIL)"]);
}

/// EXPUNGE and UID EXPUNGE with nothing `\Deleted` answer OK with no
/// EXPUNGE response and remove nothing, and with `\Deleted` messages
/// remove exactly those, in a small mailbox (checked on the connection's
/// thread) and in one of more than 4,096 messages (checked on the pool).
#[test]
fn expunge_with_and_without_deleted_messages_in_small_and_large_mailboxes() {
    let site = imap_site("loopback");
    let server = site.start();
    let addr = server.addr("imap");
    let mut w = logged_in(addr);
    for (mailbox, doublings) in [("Small", 2), ("Large", 13)] {
        assert!(w.cmd(&format!("CREATE {mailbox}")).ok());
        assert!(w.append(mailbox, "", &message("seed")).ok());
        w.ok(&format!("SELECT {mailbox}"));
        for _ in 0..doublings {
            let r = w.cmd(&format!("UID COPY 1:* {mailbox}"));
            assert!(r.ok(), "{r:?}");
        }
        let total = 1u32 << doublings;
        w.ok("NOOP");
        // Nothing flagged: no EXPUNGE response, nothing gone.
        let r = w.ok("EXPUNGE");
        assert!(r.untagged.is_empty(), "{mailbox}: {:?}", r.untagged);
        let r = w.ok("UID EXPUNGE 1:3");
        assert!(r.untagged.is_empty(), "{mailbox}: {:?}", r.untagged);
        let status = w.ok(&format!("STATUS {mailbox} (MESSAGES)"));
        assert_eq!(
            status.untagged,
            [format!("* STATUS {mailbox} (MESSAGES {total})")]
        );
        // Flag 2 and 4; UID EXPUNGE 1:3 takes only 2, EXPUNGE then 4
        // (now message 3).
        w.ok("STORE 2,4 +FLAGS.SILENT (\\Deleted)");
        let r = w.ok("UID EXPUNGE 1:3");
        assert_eq!(r.untagged, ["* 2 EXPUNGE"], "{mailbox}");
        let r = w.ok("EXPUNGE");
        assert_eq!(r.untagged, ["* 3 EXPUNGE"], "{mailbox}");
        let r = w.ok("EXPUNGE");
        assert!(r.untagged.is_empty(), "{mailbox}: {:?}", r.untagged);
        let status = w.ok(&format!("STATUS {mailbox} (MESSAGES)"));
        assert_eq!(
            status.untagged,
            [format!("* STATUS {mailbox} (MESSAGES {})", total - 2)]
        );
    }
}
