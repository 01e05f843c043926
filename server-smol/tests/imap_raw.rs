//! End-to-end over raw sockets: SMTP delivery into INBOX, IDLE pushes from
//! SMTP, other IMAP sessions and POP3, UIDs across a restart, and bad input
//! (each gets a tagged BAD or NO and the server stays healthy, with nothing
//! created outside the account's directory).

mod common;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use common::*;

/// Delivers `message(token)` to alice over SMTP; returns the instant the
/// final 250 arrived.
fn deliver(smtp: SocketAddr, token: &str) -> Instant {
    let (mut s, _) = RawSmtp::connect_ehlo(smtp);
    let r = s
        .send_mail("sender@example.org", ALICE.0, &message(token))
        .expect("SMTP transaction");
    let at = Instant::now();
    assert_eq!(r.0, 250, "DATA reply {r:?}");
    let _ = s.cmd("QUIT");
    at
}

/// Reads lines until one equals `want`; returns the lines before it.
fn read_until_line(c: &mut RawImap, want: &str) -> Vec<String> {
    let mut seen = Vec::new();
    loop {
        let l = c
            .line_str()
            .unwrap_or_else(|e| panic!("waiting for {want:?} after {seen:?}: {e}"));
        if l == want {
            return seen;
        }
        seen.push(l);
    }
}

/// Starts IDLE and asserts the continuation.
fn idle(c: &mut RawImap) -> String {
    let tag = c.tag();
    c.send(format!("{tag} IDLE\r\n").as_bytes()).expect("IDLE");
    let l = c.line_str().expect("IDLE continuation");
    assert!(l.starts_with("+ "), "IDLE continuation: {l:?}");
    tag
}

/// Ends IDLE with DONE and asserts the tagged OK.
fn done(c: &mut RawImap, tag: &str) -> Vec<String> {
    c.send(b"DONE\r\n").expect("DONE");
    let r = c.read_until_tagged(tag).expect("IDLE end");
    assert!(r.ok(), "IDLE end: {r:?}");
    r.untagged
}

#[test]
fn smtp_delivery_appears_in_inbox_with_exact_bytes_and_recent() {
    let site = imap_site("loopback");
    let server = site.start();
    deliver(server.addr("smtp"), "imap-raw-1");
    let stored = site.delivered_with(ALICE.0, "imap-raw-1");
    assert_stored(&stored, "sender@example.org", &message("imap-raw-1"));

    let mut c = RawImap::login(server.addr("imap"), ALICE.0, ALICE.1);
    let select = c.ok("SELECT INBOX");
    assert!(select.untagged.contains(&"* 1 EXISTS".into()), "{select:?}");
    let r = c.ok("UID FETCH 1 BODY.PEEK[]");
    let mut want = format!("* 1 FETCH (UID 1 BODY[] {{{}}}\r\n", stored.len()).into_bytes();
    want.extend_from_slice(&stored);
    want.push(b')');
    assert_eq!(r.raw, vec![want], "BODY[] is the stored file");
    let r = c.ok("UID FETCH 1 (RFC822.SIZE)");
    assert_eq!(
        r.untagged,
        vec![format!("* 1 FETCH (UID 1 RFC822.SIZE {})", stored.len())]
    );
    // RFC 3501 §2.3.2: the first session to select sees the message \Recent.
    assert!(select.untagged.contains(&"* 1 RECENT".into()), "{select:?}");
    let r = c.ok("UID FETCH 1 (FLAGS)");
    assert_eq!(r.untagged, vec!["* 1 FETCH (UID 1 FLAGS (\\Recent))"]);

    // A second session does not see \Recent any more.
    let mut d = RawImap::login(server.addr("imap"), ALICE.0, ALICE.1);
    let r = d.ok("SELECT INBOX");
    assert!(r.untagged.contains(&"* 0 RECENT".into()), "{r:?}");
}

#[test]
fn idle_gets_exists_within_a_second_of_smtp_delivery() {
    let site = imap_site("loopback");
    let server = site.start();
    let mut c = RawImap::login(server.addr("imap"), ALICE.0, ALICE.1);
    let r = c.ok("SELECT INBOX");
    assert!(r.untagged.contains(&"* 0 EXISTS".into()), "{r:?}");
    let tag = idle(&mut c);
    for n in 1..=3 {
        let at = deliver(server.addr("smtp"), &format!("idle-{n}"));
        let before = read_until_line(&mut c, &format!("* {n} EXISTS"));
        let waited = at.elapsed();
        assert!(
            waited < Duration::from_secs(1),
            "EXISTS {n} came {waited:?} after the 250"
        );
        for l in before {
            assert!(l.ends_with(" RECENT"), "unexpected line in IDLE: {l:?}");
        }
    }
    let rest = done(&mut c, &tag);
    for l in rest {
        assert!(l.ends_with(" RECENT"), "unexpected line at DONE: {l:?}");
    }
    let r = c.ok("UID SEARCH ALL");
    assert_eq!(r.untagged, vec!["* SEARCH 1 2 3"]);
}

#[test]
fn idle_gets_expunge_from_another_imap_session_and_from_pop3() {
    let site = imap_site("loopback");
    let server = site.start();
    for n in 1..=3 {
        deliver(server.addr("smtp"), &format!("exp-{n}"));
    }
    let mut a = RawImap::login(server.addr("imap"), ALICE.0, ALICE.1);
    a.ok("SELECT INBOX");
    let tag = idle(&mut a);

    // Another IMAP session expunges message 2.
    let mut b = RawImap::login(server.addr("imap"), ALICE.0, ALICE.1);
    b.ok("SELECT INBOX");
    b.ok("UID STORE 2 +FLAGS.SILENT (\\Deleted)");
    let r = b.ok("EXPUNGE");
    assert_eq!(r.untagged, vec!["* 2 EXPUNGE"]);
    let at = Instant::now();
    let before = read_until_line(&mut a, "* 2 EXPUNGE");
    assert!(at.elapsed() < Duration::from_secs(1), "EXPUNGE late");
    for l in before {
        assert!(
            l.starts_with("* 2 FETCH (") && l.contains("\\Deleted"),
            "unexpected line before EXPUNGE: {l:?}"
        );
    }
    b.ok("LOGOUT");

    // POP3: DELE of the first message in the maildrop (UID 1), then QUIT.
    let mut p = RawPop3::login(server.addr("pop3"), ALICE.0, ALICE.1);
    let stat = p.ok("STAT");
    assert!(stat.starts_with("+OK 2 "), "STAT {stat:?}");
    let uidl = p.multiline("UIDL");
    let uidl = String::from_utf8_lossy(&uidl).into_owned();
    assert!(uidl.starts_with("1 "), "UIDL {uidl:?}");
    p.ok("DELE 1");
    p.ok("QUIT");
    let at = Instant::now();
    let before = read_until_line(&mut a, "* 1 EXPUNGE");
    assert!(
        at.elapsed() < Duration::from_secs(1),
        "EXPUNGE after POP3 QUIT late"
    );
    for l in before {
        assert!(
            l.starts_with("* 1 FETCH (") && l.contains("\\Deleted"),
            "unexpected line before EXPUNGE: {l:?}"
        );
    }
    let rest = done(&mut a, &tag);
    assert!(rest.is_empty(), "lines at DONE: {rest:?}");
    let r = a.ok("UID FETCH 1:* (UID)");
    assert_eq!(r.untagged, vec!["* 1 FETCH (UID 3)"]);
}

/// The UID in `[APPENDUID v uid]`.
fn appended_uid(r: &ImapReply) -> u32 {
    assert!(r.ok(), "APPEND {r:?}");
    let words = resp_code(&r.status, "APPENDUID").expect("APPENDUID");
    assert_eq!(words.len(), 2, "{r:?}");
    words[1].parse().expect("uid")
}

#[test]
fn uids_are_never_reused_after_a_restart() {
    let site = imap_site("loopback");
    let server = site.start();
    let mut c = RawImap::login(server.addr("imap"), ALICE.0, ALICE.1);
    c.ok("CREATE Keep");
    let u1 = appended_uid(&c.append("Keep", "", &message("r1")));
    let u2 = appended_uid(&c.append("Keep", "", &message("r2")));
    assert_eq!((u1, u2), (1, 2));
    c.ok("SELECT Keep");
    c.ok("UID STORE 2 +FLAGS.SILENT (\\Deleted)");
    let r = c.ok("EXPUNGE");
    assert_eq!(r.untagged, vec!["* 2 EXPUNGE"]);
    let status_before = c.ok("STATUS Keep (UIDNEXT UIDVALIDITY)").untagged;
    drop(c);
    assert!(server.stop().success(), "clean shutdown");

    let server = site.start();
    let mut c = RawImap::login(server.addr("imap"), ALICE.0, ALICE.1);
    assert_eq!(
        c.ok("STATUS Keep (UIDNEXT UIDVALIDITY)").untagged,
        status_before,
        "UIDNEXT and UIDVALIDITY survive the restart"
    );
    let u3 = appended_uid(&c.append("Keep", "", &message("r3")));
    assert_eq!(u3, 3, "UID 2 was expunged and must not be reused");
    c.ok("SELECT Keep");
    let r = c.ok("UID FETCH 1:* (UID)");
    assert_eq!(r.untagged, vec!["* 1 FETCH (UID 1)", "* 2 FETCH (UID 3)"]);

    // Also after a kill -9: the APPEND was acknowledged, so it is durable.
    drop(c);
    server.kill9();
    let server = site.start();
    let mut c = RawImap::login(server.addr("imap"), ALICE.0, ALICE.1);
    let u4 = appended_uid(&c.append("Keep", "", &message("r4")));
    assert_eq!(u4, 4);
}

// ---------------------------------------------------------------------------
// Bad input.

/// Every path below the site directory that is not inside alice's Maildir.
fn outside_alice(site: &Site) -> Vec<PathBuf> {
    let alice = maildir_of(&site.data_dir(), ALICE.0);
    let rel = alice
        .strip_prefix(site.dir())
        .expect("below site")
        .to_path_buf();
    tree(site.dir())
        .into_iter()
        .filter(|p| !p.starts_with(&rel))
        // The index and logs change on their own; directories are what a
        // path trick would create.
        .filter(|p| site.dir().join(p).is_dir())
        .collect()
}

/// Asserts a tagged BAD or NO.
fn refused(r: &ImapReply, what: &str) {
    assert!(
        r.status.starts_with("BAD") || r.status.starts_with("NO"),
        "{what}: expected a tagged BAD/NO, got {r:?}"
    );
}

/// A new connection logs in and runs a command; the process still runs.
fn assert_healthy(server: &mut Server) {
    assert!(server.is_running(), "server exited");
    let mut c = RawImap::login(server.addr("imap"), ALICE.0, ALICE.1);
    let r = c.ok("SELECT INBOX");
    assert!(r.status.contains("[READ-WRITE]"), "{r:?}");
    c.ok("LOGOUT");
}

#[test]
fn mailbox_name_path_tricks_are_refused() {
    let site = imap_site("loopback");
    let mut server = site.start();
    let mut c = RawImap::login(server.addr("imap"), ALICE.0, ALICE.1);
    c.ok("CREATE a");
    let before = outside_alice(&site);
    let alice = maildir_of(&site.data_dir(), ALICE.0);
    let inside_before = tree(&alice);
    for name in [
        "\"../x\"",
        "\"a/../../b\"",
        "\"..\"",
        "\"a/..\"",
        "\"../../../../tmp/sansmail-escape\"",
        "\"x\x01y\"",
        "\"x\x7fy\"",
        "\"tab\there\"",
        "\".hidden\"",
        "\"a/.hidden\"",
        "\"a/\"",
        "\"\"",
    ] {
        for cmd in ["CREATE", "SELECT", "DELETE", "SUBSCRIBE"] {
            let r = c.cmd(&format!("{cmd} {name}"));
            refused(&r, &format!("{cmd} {name:?}"));
        }
        let r = c.cmd(&format!("RENAME a {name}"));
        refused(&r, &format!("RENAME a {name:?}"));
        let r = c.cmd(&format!("APPEND {name} {{3}}"));
        refused(&r, &format!("APPEND {name:?}"));
    }
    let r = c.cmd("RENAME \"../x\" b");
    refused(&r, "RENAME from ../x");
    // LIST with a relative reference must not list anything outside.
    let r = c.ok("LIST \"../\" \"*\"");
    assert!(r.untagged.is_empty(), "LIST ../ *: {r:?}");
    let r = c.ok("LIST \"\" \"../*\"");
    assert!(r.untagged.is_empty(), "LIST \"\" ../*: {r:?}");
    assert_eq!(outside_alice(&site), before, "nothing created outside");
    assert_eq!(tree(&alice), inside_before, "nothing created inside either");
    assert!(
        !std::path::Path::new("/tmp/sansmail-escape").exists(),
        "escaped to /tmp"
    );
    assert_healthy(&mut server);
}

#[test]
fn hundred_kilobyte_command_lines_are_refused() {
    let site = imap_site("loopback");
    let mut server = site.start();
    let mut c = RawImap::login(server.addr("imap"), ALICE.0, ALICE.1);
    c.ok("SELECT INBOX");
    let r = c.cmd(&format!("NOOP {}", "x".repeat(100_000)));
    refused(&r, "100 KB NOOP");
    let r = c.cmd(&format!("SELECT \"{}\"", "y".repeat(100_000)));
    refused(&r, "100 KB mailbox name");
    let r = c.cmd(&format!("LIST \"\" \"{}\"", "*%".repeat(50_000)));
    assert!(
        r.status.starts_with("BAD") || (r.ok() && r.untagged.is_empty()),
        "100 KB LIST pattern: {r:?}"
    );
    // The session is still in the selected state and usable.
    let r = c.ok("NOOP");
    assert!(r.untagged.is_empty(), "{r:?}");
    assert_healthy(&mut server);
}

#[test]
fn synchronizing_literals_of_2_pow_63_are_refused_without_continuation() {
    let site = imap_site("loopback");
    let mut server = site.start();
    for lit in [
        "{9223372036854775808}",
        "{18446744073709551616}",
        "{99999999999999999999999999}",
    ] {
        let mut d = RawImap::login(server.addr("imap"), ALICE.0, ALICE.1);
        let tag = d.tag();
        d.send(format!("{tag} APPEND INBOX {lit}\r\n").as_bytes())
            .expect("send");
        let r = d
            .read_until_tagged(&tag)
            .unwrap_or_else(|e| panic!("no reply to APPEND INBOX {lit}: {e}"));
        assert!(
            r.untagged.iter().all(|l| !l.starts_with('+')),
            "continuation for {lit}: {r:?}"
        );
        refused(&r, lit);
        let mut e = RawImap::connect(server.addr("imap"));
        let tag = e.tag();
        e.send(format!("{tag} LOGIN {lit}\r\n").as_bytes())
            .expect("send");
        let r = e
            .read_until_tagged(&tag)
            .unwrap_or_else(|e| panic!("no reply to LOGIN {lit}: {e}"));
        refused(&r, &format!("LOGIN {lit}"));
    }
    assert_healthy(&mut server);
}

/// RFC 7888 §4: a non-synchronizing literal the server will not take
/// (here an APPEND of 2^63 - 1 octets, far over `max_message_size`) is
/// refused with a tagged `NO [TOOBIG]` (or BAD). The client must get that
/// answer instead of the server waiting for 2^63 octets to skip.
#[test]
fn non_synchronizing_literal_of_2_pow_63_gets_an_answer() {
    let site = imap_site("loopback");
    let mut server = site.start();
    let mut d = RawImap::login(server.addr("imap"), ALICE.0, ALICE.1);
    d.writer
        .set_read_timeout(Some(Duration::from_secs(5)))
        .expect("timeout");
    let tag = d.tag();
    d.send(format!("{tag} APPEND INBOX {{9223372036854775807+}}\r\nabc\r\n").as_bytes())
        .expect("send");
    match d.read_until_tagged(&tag) {
        Ok(r) => assert!(
            r.status.starts_with("NO [TOOBIG]") || r.status.starts_with("BAD"),
            "{r:?}"
        ),
        // Closing the connection is also an answer the client can act on.
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => {}
        Err(e) => panic!(
            "no tagged answer within 5 s to a {{9223372036854775807+}} literal \
             (the server waits to skip 2^63 octets): {e}"
        ),
    }
    assert_healthy(&mut server);
}

#[test]
fn unbalanced_parentheses_are_bad() {
    let site = imap_site("loopback");
    let mut server = site.start();
    let mut c = RawImap::login(server.addr("imap"), ALICE.0, ALICE.1);
    c.append("INBOX", "", &message("parens"));
    c.ok("SELECT INBOX");
    for cmd in [
        "FETCH 1 (FLAGS",
        "FETCH 1 FLAGS)",
        "FETCH 1 ((FLAGS)",
        "SEARCH ((ALL)",
        "SEARCH ALL)",
        "STORE 1 +FLAGS (\\Seen",
        "LIST (SUBSCRIBED \"\" *",
        "STATUS INBOX (MESSAGES",
        "SELECT INBOX (CONDSTORE",
        "FETCH 1 BODY[HEADER.FIELDS (From]",
    ] {
        let r = c.cmd(cmd);
        assert!(r.status.starts_with("BAD"), "{cmd}: {r:?}");
    }
    let tag = c.tag();
    c.send(format!("{tag} APPEND INBOX (\\Seen {{3}}\r\n").as_bytes())
        .expect("send");
    // The server may refuse at once or take the literal and then refuse.
    let first = c.line_str().expect("APPEND answer");
    let r = if first.starts_with('+') {
        c.send(b"abc\r\n").expect("send literal");
        c.read_until_tagged(&tag).expect("APPEND reply")
    } else {
        assert!(first.starts_with(&format!("{tag} BAD")), "{first:?}");
        ImapReply {
            untagged: Vec::new(),
            raw: Vec::new(),
            status: first[tag.len() + 1..].to_owned(),
        }
    };
    assert!(r.status.starts_with("BAD"), "APPEND (\\Seen {{3}}: {r:?}");
    let r = c.ok("FETCH 1 (FLAGS)");
    // This IMAP4rev1 session was the first to see the message, so it is
    // \Recent (RFC 3501 §2.3.2); nothing else was set.
    assert_eq!(
        r.untagged,
        vec!["* 1 FETCH (FLAGS (\\Recent))"],
        "nothing changed"
    );
    assert_healthy(&mut server);
}

#[test]
fn deeply_nested_search_is_refused() {
    let site = imap_site("loopback");
    let mut server = site.start();
    let mut c = RawImap::login(server.addr("imap"), ALICE.0, ALICE.1);
    c.append("INBOX", "", &message("nested"));
    c.ok("SELECT INBOX");
    for depth in [1_000, 10_000, 50_000] {
        let r = c.cmd(&format!(
            "SEARCH {}ALL{}",
            "(".repeat(depth),
            ")".repeat(depth)
        ));
        refused(&r, &format!("SEARCH nested {depth}"));
        let r = c.cmd(&format!("SEARCH {}ALL", "NOT ".repeat(depth)));
        refused(&r, &format!("SEARCH NOT x{depth}"));
        let r = c.cmd(&format!("UID SEARCH {}ALL ALL", "OR ".repeat(depth)));
        refused(&r, &format!("SEARCH OR x{depth}"));
    }
    // A reasonable nesting still works.
    let r = c.ok("SEARCH ((((NOT DELETED))))");
    assert_eq!(r.untagged, vec!["* SEARCH 1"]);
    assert_healthy(&mut server);
}

#[test]
fn authenticate_garbage_is_refused() {
    let site = imap_site("loopback");
    let mut server = site.start();
    let addr = server.addr("imap");
    // Each case: the command line, then (optionally) the response to `+`.
    let cases: &[(&str, Option<&str>)] = &[
        ("AUTHENTICATE PLAIN", Some("!!!not base64!!!")),
        ("AUTHENTICATE PLAIN", Some("AAAA")),
        ("AUTHENTICATE PLAIN", Some("*")),
        ("AUTHENTICATE PLAIN =", None),
        ("AUTHENTICATE PLAIN bm9udWxz", None),
        ("AUTHENTICATE LOGIN", Some("%%%%")),
        ("AUTHENTICATE XOAUTH2 AAAA", None),
        ("AUTHENTICATE", None),
        ("AUTHENTICATE CRAM-MD5", None),
        ("LOGIN", None),
        ("LOGIN onlyuser", None),
        ("LOGIN a b c", None),
    ];
    for (line, answer) in cases {
        let mut c = RawImap::connect(addr);
        let tag = c.tag();
        c.send(format!("{tag} {line}\r\n").as_bytes())
            .expect("send");
        if let Some(a) = answer {
            let l = c.line_str().expect("continuation");
            assert!(l.starts_with('+'), "{line}: expected +, got {l:?}");
            c.send(format!("{a}\r\n").as_bytes()).expect("send");
        }
        let r = c.read_until_tagged(&tag).expect("tagged reply");
        refused(&r, &format!("{line} / {answer:?}"));
        // Still not authenticated.
        let r = c.cmd("SELECT INBOX");
        refused(&r, "SELECT after failed AUTHENTICATE");
    }
    // A very long SASL response.
    let mut c = RawImap::connect(addr);
    let tag = c.tag();
    c.send(format!("{tag} AUTHENTICATE PLAIN\r\n").as_bytes())
        .expect("send");
    assert!(c.line_str().expect("+").starts_with('+'));
    c.send(format!("{}\r\n", "A".repeat(300_000)).as_bytes())
        .expect("send");
    let r = c.read_until_tagged(&tag);
    if let Ok(r) = r {
        refused(&r, "300 KB SASL response");
    }
    assert_healthy(&mut server);
}

#[test]
fn commands_in_the_wrong_state_are_refused() {
    let site = imap_site("loopback");
    let mut server = site.start();
    let addr = server.addr("imap");
    let mut c = RawImap::connect(addr);
    for cmd in [
        "SELECT INBOX",
        "EXAMINE INBOX",
        "LIST \"\" *",
        "STATUS INBOX (MESSAGES)",
        "APPEND INBOX {3}",
        "FETCH 1 FLAGS",
        "UID SEARCH ALL",
        "EXPUNGE",
        "IDLE",
        "CREATE x",
        "ENABLE IMAP4rev2",
        "CLOSE",
        "UNSELECT",
        "DONE",
    ] {
        let r = c.cmd(cmd);
        refused(&r, &format!("not authenticated: {cmd}"));
    }
    let r = c.ok("NOOP");
    assert!(r.untagged.is_empty());
    let r = c.cmd(&format!("LOGIN {} {}", quote(ALICE.0), quote(ALICE.1)));
    assert!(r.ok(), "{r:?}");
    for cmd in [
        "FETCH 1 FLAGS",
        "UID FETCH 1 FLAGS",
        "STORE 1 +FLAGS (\\Seen)",
        "SEARCH ALL",
        "COPY 1 INBOX",
        "MOVE 1 INBOX",
        "EXPUNGE",
        "UID EXPUNGE 1",
        "CLOSE",
        "CHECK",
        "LOGIN a b",
        "AUTHENTICATE PLAIN",
        "STARTTLS",
        "DONE",
    ] {
        let r = c.cmd(cmd);
        refused(&r, &format!("authenticated: {cmd}"));
    }
    c.ok("SELECT INBOX");
    for cmd in ["LOGIN a b", "STARTTLS", "FETCH 1 FLAGS", "FETCH 1:* FOO"] {
        let r = c.cmd(cmd);
        refused(&r, &format!("selected: {cmd}"));
    }
    let r = c.ok("LOGOUT");
    assert!(r.untagged.iter().any(|l| l.starts_with("* BYE")), "{r:?}");
    assert!(c.is_closed(), "closed after LOGOUT");
    assert_healthy(&mut server);
}
