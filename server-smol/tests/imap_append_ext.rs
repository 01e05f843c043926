//! End-to-end: the per-message attributes and APPEND extensions of issue 15
//! against the real binary over raw sockets, with exact responses:
//! UTF8=ACCEPT in an IMAP4rev1 session (RFC 6855), OBJECTID (RFC 8474) and
//! SAVEDATE (RFC 8514), including stability across RENAME, COPY and a
//! restart of the server.

mod common;

use common::*;

/// The value inside `NAME (value)` in `line` (a MAILBOXID or EMAILID).
fn paren_value(line: &str, name: &str) -> String {
    let at = line
        .find(&format!("{name} ("))
        .unwrap_or_else(|| panic!("{name} missing in {line:?}"));
    let rest = &line[at + name.len() + 2..];
    rest[..rest.find(')').expect("closing parenthesis")].to_owned()
}

/// The MAILBOXID of a mailbox, asked with STATUS.
fn status_mailbox_id(c: &mut RawImap, mailbox: &str) -> String {
    let r = c.ok(&format!("STATUS {mailbox} (MAILBOXID)"));
    let lines = r.lines("STATUS");
    assert_eq!(lines.len(), 1, "{r:?}");
    paren_value(&lines[0], "MAILBOXID")
}

/// RFC 6855 under IMAP4rev1: modified UTF-7 before ENABLE, UTF-8 after it
/// (LIST, STATUS, SELECT names), the UTF8 APPEND data item stored byte for
/// byte, and SEARCH CHARSET refused.
#[test]
fn utf8_accept_in_imap4rev1() {
    let site = imap_site("loopback");
    let server = site.start();
    let mut c = RawImap::login(server.addr("imap"), ALICE.0, ALICE.1);
    let caps = c.ok("CAPABILITY").lines("CAPABILITY")[0].clone();
    assert!(caps.contains(" UTF8=ACCEPT"), "{caps}");
    c.ok("CREATE Entw&APw-rfe");
    let r = c.ok("LIST \"\" Entw*");
    assert_eq!(r.untagged, ["* LIST (\\HasNoChildren) \"/\" Entw&APw-rfe"]);
    // Before ENABLE the UTF8 data item is not defined: BAD, nothing stored.
    let r = c.cmd("APPEND INBOX UTF8 (~{5}");
    assert_eq!(r.status, "BAD UTF8 APPEND needs ENABLE UTF8=ACCEPT");
    let r = c.ok("ENABLE UTF8=ACCEPT");
    assert_eq!(r.untagged, ["* ENABLED UTF8=ACCEPT"]);
    let r = c.ok("LIST \"\" Entw*");
    assert_eq!(r.untagged, ["* LIST (\\HasNoChildren) \"/\" \"Entwürfe\""]);
    let r = c.ok("STATUS \"Entwürfe\" (MESSAGES)");
    assert_eq!(r.untagged, ["* STATUS \"Entwürfe\" (MESSAGES 0)"]);
    // RFC 6855 §4: a message with UTF-8 header fields, as a literal8.
    let msg = "From: Jörg <jörg@example.org>\r\nSubject: Grüße\r\n\r\nHallo\r\n".as_bytes();
    let tag = c.tag();
    c.send(
        format!(
            "{tag} APPEND \"Entwürfe\" (\\Seen) UTF8 (~{{{}}}\r\n",
            msg.len()
        )
        .as_bytes(),
    )
    .unwrap();
    let cont = c.line_str().unwrap();
    assert!(cont.starts_with("+ "), "{cont}");
    c.send(msg).unwrap();
    c.send(b")\r\n").unwrap();
    let r = c.read_until_tagged(&tag).unwrap();
    assert!(r.status.starts_with("OK [APPENDUID "), "{r:?}");
    assert!(r.status.ends_with(" 1] APPEND completed"), "{r:?}");
    let r = c.ok("SELECT \"Entwürfe\"");
    assert!(r.untagged.contains(&"* 1 EXISTS".to_owned()), "{r:?}");
    let r = c.ok("FETCH 1 (FLAGS BODY.PEEK[])");
    // RFC 3501 §6.3.11: the appended message is \Recent (SELECT claimed it).
    let mut want = format!(
        "* 1 FETCH (FLAGS (\\Seen \\Recent) BODY[] {{{}}}\r\n",
        msg.len()
    )
    .into_bytes();
    want.extend_from_slice(msg);
    want.push(b')');
    assert_eq!(r.raw, [want]);
    // RFC 6855 §3: no CHARSET once UTF-8 is enabled.
    let r = c.cmd("SEARCH CHARSET UTF-8 ALL");
    assert_eq!(r.status, "BAD No CHARSET after ENABLE UTF8=ACCEPT");
    let r = c.ok("SEARCH SUBJECT \"Grüße\"");
    assert_eq!(r.untagged, ["* SEARCH 1"]);
    c.ok("LOGOUT");
}

/// RFC 8474 and RFC 8514: MAILBOXID from CREATE, SELECT and STATUS, kept
/// by RENAME and a restart, new after DELETE and CREATE; EMAILID kept by
/// COPY and a restart; THREADID NIL; SAVEDATE is when the message was
/// stored (not its INTERNALDATE), and the SAVED* and EMAILID search keys.
#[test]
fn objectid_and_savedate() {
    let site = imap_site("loopback");
    let server = site.start();
    let mut c = RawImap::login(server.addr("imap"), ALICE.0, ALICE.1);
    let caps = c.ok("CAPABILITY").lines("CAPABILITY")[0].clone();
    for want in [" OBJECTID", " SAVEDATE"] {
        assert!(caps.contains(want), "{want} missing from {caps}");
    }
    let r = c.ok("CREATE Projects");
    let created = resp_code(&r.status, "MAILBOXID").expect("MAILBOXID code")[0]
        .trim_matches(|ch| ch == '(' || ch == ')')
        .to_owned();
    assert!(
        created.len() > 1 && created.starts_with('M'),
        "{created:?} in {r:?}"
    );
    assert_eq!(r.status, format!("OK [MAILBOXID ({created})] Completed"));
    assert_eq!(status_mailbox_id(&mut c, "Projects"), created);
    let inbox_id = status_mailbox_id(&mut c, "INBOX");
    assert_ne!(inbox_id, created);
    let r = c.ok("EXAMINE Projects");
    assert!(
        r.untagged
            .contains(&format!("* OK [MAILBOXID ({created})] Mailbox id")),
        "{r:?}"
    );

    // An old internal date: the save date must still be today.
    let msg = b"Subject: saved\r\n\r\nbody\r\n";
    let tag = c.tag();
    c.send(
        format!(
            "{tag} APPEND INBOX \"01-Feb-2001 10:00:00 +0000\" {{{}}}\r\n",
            msg.len()
        )
        .as_bytes(),
    )
    .unwrap();
    assert!(c.line_str().unwrap().starts_with('+'));
    c.send(msg).unwrap();
    c.send(b"\r\n").unwrap();
    assert!(c.read_until_tagged(&tag).unwrap().ok());
    c.ok("SELECT INBOX");
    let r = c.ok("FETCH 1 (INTERNALDATE EMAILID THREADID SAVEDATE)");
    assert_eq!(r.untagged.len(), 1, "{r:?}");
    let line = r.untagged[0].clone();
    let email_id = paren_value(&line, "EMAILID");
    assert!(email_id.starts_with('E') && email_id.len() == 17, "{line}");
    let saved = line
        .split("SAVEDATE \"")
        .nth(1)
        .and_then(|s| s.split('"').next())
        .expect("SAVEDATE value")
        .to_owned();
    assert_eq!(
        line,
        format!(
            "* 1 FETCH (INTERNALDATE \" 1-Feb-2001 10:00:00 +0000\" EMAILID ({email_id}) \
             THREADID NIL SAVEDATE \"{saved}\")"
        )
    );
    let saved_day = saved.trim_start().split(' ').next().unwrap().to_owned();
    let year: u32 = saved_day.rsplit('-').next().unwrap().parse().unwrap();
    assert!(year >= 2025 && saved.ends_with("+0000"), "{saved}");
    let one = |c: &mut RawImap, cmd: &str| c.ok(cmd).lines("SEARCH")[0].clone();
    assert_eq!(one(&mut c, "SEARCH BEFORE 1-Jan-2002"), "* SEARCH 1");
    assert_eq!(one(&mut c, "SEARCH SAVEDBEFORE 1-Jan-2002"), "* SEARCH");
    assert_eq!(
        one(&mut c, &format!("SEARCH SAVEDON {saved_day}")),
        "* SEARCH 1"
    );
    assert_eq!(
        one(&mut c, &format!("SEARCH SAVEDSINCE {saved_day}")),
        "* SEARCH 1"
    );
    assert_eq!(one(&mut c, "SEARCH SAVEDATESUPPORTED"), "* SEARCH 1");
    assert_eq!(
        one(&mut c, &format!("SEARCH EMAILID {email_id}")),
        "* SEARCH 1"
    );
    assert_eq!(one(&mut c, "SEARCH EMAILID E0"), "* SEARCH");
    assert_eq!(one(&mut c, "SEARCH THREADID T1"), "* SEARCH");

    // COPY keeps the EMAILID (RFC 8474 §5.1); a second APPEND of the same
    // bytes is another message with another EMAILID.
    c.ok("COPY 1 Projects");
    assert!(c.append("INBOX", "", msg).ok());
    let r = c.ok("FETCH 2 (EMAILID)");
    assert_ne!(paren_value(&r.untagged[0], "EMAILID"), email_id);
    c.ok("SELECT Projects");
    let r = c.ok("UID FETCH 1:* (UID EMAILID)");
    assert_eq!(
        r.untagged,
        [format!("* 1 FETCH (UID 1 EMAILID ({email_id}))")]
    );
    // The copy's SAVEDATE is when it was saved into Projects (RFC 8514
    // §2), the COPY, which may be a second after the APPEND's.
    let r = c.ok("FETCH 1 (SAVEDATE)");
    let copy_saved = r.untagged[0]
        .split('"')
        .nth(1)
        .expect("SAVEDATE is a quoted date-time")
        .to_owned();

    // RENAME keeps the MAILBOXID (RFC 8474 §4.2).
    c.ok("UNSELECT");
    c.ok("RENAME Projects Work");
    assert_eq!(status_mailbox_id(&mut c, "Work"), created);
    c.ok("LOGOUT");

    // Ids are stable across a restart (derived from the index).
    drop(c);
    assert_eq!(server.stop().code(), Some(0));
    let server = site.start();
    let mut c = RawImap::login(server.addr("imap"), ALICE.0, ALICE.1);
    assert_eq!(status_mailbox_id(&mut c, "Work"), created);
    assert_eq!(status_mailbox_id(&mut c, "INBOX"), inbox_id);
    c.ok("SELECT Work");
    let r = c.ok("FETCH 1 (EMAILID SAVEDATE)");
    assert_eq!(
        r.untagged,
        [format!(
            "* 1 FETCH (EMAILID ({email_id}) SAVEDATE \"{copy_saved}\")"
        )]
    );
    // A mailbox deleted and created again is a new mailbox (RFC 8474 §4).
    c.ok("UNSELECT");
    c.ok("DELETE Work");
    let r = c.ok("CREATE Work");
    let again = resp_code(&r.status, "MAILBOXID").expect("MAILBOXID code")[0]
        .trim_matches(|ch| ch == '(' || ch == ')')
        .to_owned();
    assert_ne!(again, created);
    c.ok("LOGOUT");
}

/// RFC 3516 §4.4 on the real binary: a literal8 APPEND with NUL octets is
/// stored byte for byte (BINARY.PEEK[] returns them as a literal8); the
/// same octets in a plain literal are stored as sent too (real mail carries
/// NULs and copying clients send plain literals).
#[test]
fn binary_append() {
    let site = imap_site("loopback");
    let server = site.start();
    let mut c = RawImap::login(server.addr("imap"), ALICE.0, ALICE.1);
    let msg: &[u8] =
        b"Subject: bin\r\nContent-Transfer-Encoding: binary\r\n\r\n\x00\x01\xfe\xff\r\n";
    for literal in ["~{", "{"] {
        let tag = c.tag();
        c.send(format!("{tag} APPEND INBOX {literal}{}}}\r\n", msg.len()).as_bytes())
            .unwrap();
        assert!(c.line_str().unwrap().starts_with('+'));
        c.send(msg).unwrap();
        c.send(b"\r\n").unwrap();
        let r = c.read_until_tagged(&tag).unwrap();
        assert!(r.status.starts_with("OK [APPENDUID "), "{literal}: {r:?}");
    }
    let r = c.ok("SELECT INBOX");
    assert!(r.untagged.contains(&"* 2 EXISTS".to_owned()), "{r:?}");
    let r = c.ok("FETCH 2 (RFC822.SIZE BINARY.PEEK[])");
    let mut want = format!(
        "* 2 FETCH (RFC822.SIZE {n} BINARY[] ~{{{n}}}\r\n",
        n = msg.len()
    )
    .into_bytes();
    want.extend_from_slice(msg);
    want.push(b')');
    assert_eq!(
        r.raw,
        [want.clone()],
        "{:?}",
        r.raw
            .iter()
            .map(|l| String::from_utf8_lossy(l))
            .collect::<Vec<_>>()
    );
    c.ok("LOGOUT");
}
