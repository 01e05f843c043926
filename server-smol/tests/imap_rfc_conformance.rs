//! End-to-end over raw sockets: IMAP details the RFCs pin down exactly
//! (LITERAL+, \Recent, SEARCH dates, CONDSTORE's first HIGHESTMODSEQ,
//! message/rfc822 sections, PARTIAL ranges, SORT by address, URLAUTH
//! user forms). Each test states the rule it checks.

mod common;

use common::*;

/// A message of `size` octets with `token` in its subject.
fn sized_message(token: &str, size: usize) -> Vec<u8> {
    let mut m = format!("From: a@example.org\r\nSubject: {token}\r\n\r\n").into_bytes();
    while m.len() + 2 < size {
        m.extend_from_slice(b"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcd\r\n");
    }
    m.truncate(size - 2);
    m.extend_from_slice(b"\r\n");
    m
}

/// RFC 7888 §3: with LITERAL+ advertised, `{N+}` and `~{N+}` literals of
/// any size are sent without waiting for `+`; an APPEND of one over
/// `max_message_size` (1 MiB here) is read, dropped, and answered
/// `NO [TOOBIG]` (RFC 7889 §4), and the connection goes on.
#[test]
fn literal_plus_appends_stream_and_oversized_ones_are_refused_after_skipping() {
    let site = imap_site("loopback");
    let server = site.start();
    let mut c = RawImap::connect(server.addr("imap"));
    let caps = c.ok("CAPABILITY");
    assert!(
        caps.untagged[0].contains(" LITERAL+ ") && !caps.untagged[0].contains("LITERAL-"),
        "{caps:?}"
    );
    c.ok(&format!("LOGIN {} {}", quote(ALICE.0), quote(ALICE.1)));
    // Three commands in one write: no continuation is awaited.
    let big = sized_message("literal-plus", 300_000);
    let mut bin = b"Subject: bin\r\nContent-Type: application/octet-stream\r\n\r\n".to_vec();
    bin.extend_from_slice(b"\x00\x01\xff\r\n");
    let mut w = format!("p1 APPEND INBOX {{{}+}}\r\n", big.len()).into_bytes();
    w.extend_from_slice(&big);
    w.extend_from_slice(format!("\r\np2 APPEND INBOX ~{{{}+}}\r\n", bin.len()).as_bytes());
    w.extend_from_slice(&bin);
    w.extend_from_slice(b"\r\np3 NOOP\r\n");
    c.send(&w).expect("send");
    for t in ["p1", "p2"] {
        let r = c.read_until_tagged(t).expect("APPEND reply");
        assert!(r.status.starts_with("OK [APPENDUID "), "{t}: {r:?}");
        assert!(r.untagged.iter().all(|l| !l.starts_with('+')), "{r:?}");
    }
    assert!(c.read_until_tagged("p3").expect("NOOP").ok());
    c.ok("SELECT INBOX");
    let r = c.ok("FETCH 1:2 (RFC822.SIZE BINARY.PEEK[])");
    assert_eq!(r.raw.len(), 2, "{r:?}");
    // RFC 3516 §4.2: literal8 only where the octets need it (a NUL).
    let mut want = format!(
        "* 1 FETCH (RFC822.SIZE {} BINARY[] {{{}}}\r\n",
        big.len(),
        big.len()
    )
    .into_bytes();
    want.extend_from_slice(&big);
    want.push(b')');
    assert!(
        r.raw[0] == want,
        "message 1 differs from what was sent: {:?}",
        String::from_utf8_lossy(&r.raw[0][..80])
    );
    let mut want = format!(
        "* 2 FETCH (RFC822.SIZE {} BINARY[] ~{{{}}}\r\n",
        bin.len(),
        bin.len()
    )
    .into_bytes();
    want.extend_from_slice(&bin);
    want.push(b')');
    assert_eq!(
        String::from_utf8_lossy(&r.raw[1]),
        String::from_utf8_lossy(&want)
    );
    // Over max_message_size: skipped, then NO [TOOBIG]; nothing stored.
    let huge = sized_message("too-big", 1_500_000);
    let mut w = format!("q1 APPEND INBOX {{{}+}}\r\n", huge.len()).into_bytes();
    w.extend_from_slice(&huge);
    w.extend_from_slice(b"\r\nq2 NOOP\r\n");
    c.send(&w).expect("send");
    let r = c.read_until_tagged("q1").expect("APPEND reply");
    assert!(r.status.starts_with("NO [TOOBIG]"), "{r:?}");
    assert!(c.read_until_tagged("q2").expect("NOOP").ok());
    let r = c.ok("STATUS INBOX (MESSAGES)");
    assert_eq!(r.untagged, vec!["* STATUS INBOX (MESSAGES 2)".to_owned()]);
    assert!(server.stop().success());
}

/// `* GENURLAUTH "<url>"` -> the URL.
fn genurlauth(c: &mut RawImap, rump: &str) -> String {
    let r = c.ok(&format!("GENURLAUTH {} INTERNAL", quote(rump)));
    let line = &r.lines("GENURLAUTH ")[0];
    line.strip_prefix("* GENURLAUTH \"")
        .and_then(|l| l.strip_suffix('"'))
        .unwrap_or_else(|| panic!("{line}"))
        .to_owned()
}

/// RFC 5092 §3.2 / RFC 4467: the URL's iuserinfo is the user name on the
/// server. With logins that are addresses, `imap://alice@localhost/...`
/// (local part at the URL's host, what Dovecot's imaptest and clients
/// build) names the login `alice@localhost` just as the percent-encoded
/// `alice%40localhost@localhost` does, for GENURLAUTH, URLFETCH and SMTP
/// BURL (RFC 4468) alike; other accounts stay refused.
#[test]
fn urlauth_accepts_the_local_part_at_host_form_of_the_login() {
    use base64::Engine as _;
    let opts = Opts {
        listeners: vec!["imap", "submission"],
        plaintext: "loopback",
        ..Opts::default()
    };
    let site = site_with_auth(opts, "failure_delay_ms = 0");
    site.default_users();
    let server = site.start();
    let msg = b"From: alice@localhost\r\nTo: bob@localhost\r\nSubject: url-forms\r\n\r\nbody\r\n";
    let mut alice = RawImap::login(server.addr("imap"), ALICE.0, ALICE.1);
    assert!(alice.append("INBOX", "", msg).ok());
    let base = "imap://alice@localhost/INBOX/;uid=1";
    let url = genurlauth(&mut alice, &format!("{base};urlauth=user+alice@localhost"));
    assert!(
        url.starts_with(&format!("{base};urlauth=user+alice@localhost:internal:")),
        "{url}"
    );
    let r = alice.ok(&format!("URLFETCH {}", quote(&url)));
    let mut want = format!("* URLFETCH \"{url}\" {{{}}}\r\n", msg.len()).into_bytes();
    want.extend_from_slice(msg);
    assert_eq!(
        String::from_utf8_lossy(&r.raw[0]),
        String::from_utf8_lossy(&want)
    );
    // The encoded full login still works.
    let enc = genurlauth(
        &mut alice,
        "imap://alice%40localhost@localhost/INBOX/;uid=1;urlauth=user+alice%40localhost",
    );
    let r = alice.ok(&format!("URLFETCH {}", quote(&enc)));
    assert!(r.raw[0].ends_with(msg), "{r:?}");
    // Bob may neither authorize alice's mailbox nor use her user+ URL.
    let mut bob = RawImap::login(server.addr("imap"), BOB.0, BOB.1);
    let r = bob.cmd(&format!(
        "GENURLAUTH {} INTERNAL",
        quote(&format!("{base};urlauth=anonymous"))
    ));
    assert!(r.status.starts_with("NO [NOPERM]"), "{r:?}");
    let r = bob.ok(&format!("URLFETCH {}", quote(&url)));
    assert_eq!(r.untagged, vec![format!("* URLFETCH \"{url}\" NIL")]);
    // BURL on submission with the same URL form, submit+alice@localhost.
    let submit = genurlauth(
        &mut alice,
        &format!("{base};urlauth=submit+alice@localhost"),
    );
    let mut s = RawSmtp::connect(server.addr("submission"));
    s.expect("EHLO client.example", 250);
    let plain =
        base64::engine::general_purpose::STANDARD.encode(format!("\0{}\0{}", ALICE.0, ALICE.1));
    s.expect(&format!("AUTH PLAIN {plain}"), 235);
    s.expect(&format!("MAIL FROM:<{}>", ALICE.0), 250);
    s.expect(&format!("RCPT TO:<{}>", BOB.0), 250);
    s.expect(&format!("BURL {submit} LAST"), 250);
    let got = site.delivered_with(BOB.0, "url-forms");
    assert!(got.ends_with(msg), "{}", String::from_utf8_lossy(&got));
    assert!(server.stop().success());
}

/// The FLAGS of `* n FETCH (FLAGS (...))` lines, in order.
fn flag_lists(r: &ImapReply) -> Vec<String> {
    r.lines("")
        .iter()
        .filter_map(|l| {
            let at = l.find("FLAGS (")? + 7;
            Some(l[at..at + l[at..].find(')')?].to_owned())
        })
        .collect()
}

/// RFC 3501 §2.3.2, §6.3.11, §6.4.7 (IMAP4rev1): a message appended or
/// copied into a mailbox is \Recent in exactly one session, the first
/// told of it (an untagged EXISTS while selected counts, not only
/// SELECT), whatever flags it carries; STATUS RECENT from another
/// session agrees, and a COPY into the selected mailbox itself is
/// reported with `* n RECENT` by the next NOOP.
#[test]
fn recent_goes_to_the_first_session_told_also_with_flags() {
    let site = imap_site("loopback");
    let server = site.start();
    let addr = server.addr("imap");
    let mut a = RawImap::login(addr, ALICE.0, ALICE.1);
    a.ok("CREATE Dest");
    for (i, flags) in ["\\Seen", "\\Answered \\Flagged", ""].iter().enumerate() {
        assert!(a.append("INBOX", flags, &message(&format!("r{i}"))).ok());
    }
    a.ok("SELECT INBOX");
    let mut b = RawImap::login(addr, ALICE.0, ALICE.1);
    b.ok("SELECT Dest");
    a.ok("COPY 1:3 Dest");
    let r = b.ok("NOOP");
    assert_eq!(r.untagged, vec!["* 3 EXISTS", "* 3 RECENT"]);
    let r = b.ok("FETCH 1:3 (FLAGS)");
    assert_eq!(
        flag_lists(&r),
        vec![
            "\\Seen \\Recent",
            "\\Answered \\Flagged \\Recent",
            "\\Recent"
        ]
    );
    // b claimed them: nobody else sees them \Recent.
    let r = a.ok("STATUS Dest (MESSAGES RECENT)");
    assert_eq!(r.untagged, vec!["* STATUS Dest (MESSAGES 3 RECENT 0)"]);
    let mut c = RawImap::login(addr, ALICE.0, ALICE.1);
    let r = c.ok("EXAMINE Dest");
    assert!(r.untagged.contains(&"* 0 RECENT".to_owned()), "{r:?}");
    // An APPEND with flags by another session: b is told first.
    let tag = "ap";
    let msg = message("r-append");
    c.send(format!("{tag} APPEND Dest (\\Seen) {{{}+}}\r\n", msg.len()).as_bytes())
        .expect("send");
    c.send(&msg).expect("send");
    c.send(b"\r\n").expect("send");
    assert!(c.read_until_tagged(tag).expect("APPEND").ok());
    let r = b.ok("NOOP");
    assert_eq!(r.untagged, vec!["* 4 EXISTS", "* 4 RECENT"]);
    let r = b.ok("FETCH 4 (FLAGS)");
    assert_eq!(flag_lists(&r), vec!["\\Seen \\Recent"]);
    // COPY into the selected mailbox itself.
    // The copy is announced by the COPY's answer or by the next NOOP
    // (RFC 3501 §7.3.2: EXISTS, then RECENT).
    let copy = b.ok("COPY 2 Dest");
    let noop = b.ok("NOOP");
    let told: Vec<String> = copy.untagged.into_iter().chain(noop.untagged).collect();
    assert_eq!(told, vec!["* 5 EXISTS", "* 5 RECENT"]);
    let r = b.ok("FETCH 5 (FLAGS)");
    assert_eq!(flag_lists(&r), vec!["\\Answered \\Flagged \\Recent"]);
    let r = a.ok("STATUS Dest (MESSAGES RECENT)");
    assert_eq!(r.untagged, vec!["* STATUS Dest (MESSAGES 5 RECENT 0)"]);
    // An APPEND by the session that has the mailbox selected: that
    // session is the one told first, and takes its \Recent (stored in
    // cur/ straight away, so nobody else can claim it).
    let own = b.append("Dest", "", &message("r-own"));
    assert!(own.ok(), "{own:?}");
    let noop = b.ok("NOOP");
    let told: Vec<String> = own.untagged.into_iter().chain(noop.untagged).collect();
    assert_eq!(told, vec!["* 6 EXISTS", "* 6 RECENT"]);
    let r = b.ok("FETCH 6 (FLAGS)");
    assert_eq!(flag_lists(&r), vec!["\\Recent"]);
    let r = a.ok("STATUS Dest (MESSAGES RECENT)");
    assert_eq!(r.untagged, vec!["* STATUS Dest (MESSAGES 6 RECENT 0)"]);
    let mut d = RawImap::login(addr, ALICE.0, ALICE.1);
    let r = d.ok("SELECT Dest");
    assert!(r.untagged.contains(&"* 0 RECENT".to_owned()), "{r:?}");
    // Read-only (EXAMINE) takes no \Recent: its APPEND waits in new/ for
    // the next session to select the mailbox.
    let mut e = RawImap::login(addr, ALICE.0, ALICE.1);
    e.ok("CREATE Other");
    e.ok("EXAMINE Other");
    assert!(e.append("Other", "", &message("r-ro")).ok());
    let r = d.ok("SELECT Other");
    assert!(r.untagged.contains(&"* 1 RECENT".to_owned()), "{r:?}");
    assert!(server.stop().success());
}

/// RFC 3516 §4.4: a message APPENDed as a literal8 (`~{N}`) may carry
/// binary parts. A Maildir file is RFC 5322 text, so such a part is stored
/// base64-encoded (as Dovecot does): BODY[n] is then 7-bit text with no
/// NUL, its MIME header says base64, and BINARY[n] / BINARY.SIZE[n] give
/// the original octets back. Small (buffered) and large (streamed)
/// literals agree; a plain `{N}` literal is stored exactly as sent.
#[test]
fn literal8_append_stores_binary_parts_as_base64() {
    let site = imap_site("loopback");
    let server = site.start();
    let mut c = RawImap::login(server.addr("imap"), ALICE.0, ALICE.1);
    let head = "From: a@example.org\r\nSubject: bin\r\nMIME-Version: 1.0\r\n\
                Content-Type: multipart/mixed; boundary=\"zz\"\r\n\r\n\
                --zz\r\nContent-Type: text/plain\r\n\r\nhello\r\n\
                --zz\r\nContent-Type: application/octet-stream\r\n\
                Content-Transfer-Encoding: binary\r\n\r\n";
    let tail = "\r\n--zz--\r\n";
    for (i, len) in [7usize, 100_000].into_iter().enumerate() {
        let content: Vec<u8> = (0..len).map(|n| (n * 7 % 256) as u8).collect();
        let mut msg = head.as_bytes().to_vec();
        msg.extend_from_slice(&content);
        msg.extend_from_slice(tail.as_bytes());
        let tag = c.tag();
        c.send(format!("{tag} APPEND INBOX ~{{{}}}\r\n", msg.len()).as_bytes())
            .expect("send");
        let cont = c.line_str().expect("continuation");
        assert!(cont.starts_with('+'), "{cont}");
        c.send(&msg).expect("send");
        c.send(b"\r\n").expect("send");
        let r = c.read_until_tagged(&tag).expect("APPEND");
        assert!(r.ok(), "{r:?}");
        c.ok("SELECT INBOX");
        let n = i + 1;
        let r = c.ok(&format!("FETCH {n} (BODY.PEEK[2.MIME] BINARY.SIZE[2])"));
        let mime = "Content-Type: application/octet-stream\r\n\
                    Content-Transfer-Encoding: base64\r\n\r\n";
        assert_eq!(
            r.untagged,
            vec![format!(
                "* {n} FETCH (BODY[2.MIME] {{{}}}\r\n{mime} BINARY.SIZE[2] {len})",
                mime.len()
            )]
        );
        let r = c.ok(&format!("FETCH {n} (BODY.PEEK[2] BODY.PEEK[1])"));
        let raw = &r.raw[0];
        assert!(!raw.contains(&0), "a NUL in a non-literal8 response");
        let text = String::from_utf8(raw.clone()).expect("7-bit");
        assert!(text.ends_with(" BODY[1] {5}\r\nhello)"), "{text}");
        assert!(
            text.lines()
                .skip(1)
                .all(|l| l.len() <= 76 || l.contains("BODY[1]")),
            "base64 lines over 76 characters"
        );
        let r = c.ok(&format!("FETCH {n} (BINARY.PEEK[2])"));
        let mut want = format!("* {n} FETCH (BINARY[2] ~{{{len}}}\r\n").into_bytes();
        want.extend_from_slice(&content);
        want.push(b')');
        assert!(r.raw[0] == want, "BINARY[2] differs from the octets sent");
    }
    // A plain literal (no NUL allowed in it) is stored byte for byte.
    let mut msg = head.as_bytes().to_vec();
    msg.extend_from_slice(b"\x01\xff\x80 8-bit\r\n");
    msg.extend_from_slice(tail.as_bytes());
    assert!(c.append("INBOX", "", &msg).ok());
    let r = c.ok("FETCH 3 (BODY.PEEK[])");
    let mut want = format!("* 3 FETCH (BODY[] {{{}}}\r\n", msg.len()).into_bytes();
    want.extend_from_slice(&msg);
    want.push(b')');
    assert!(r.raw[0] == want, "a {{N}} APPEND was changed");
    assert!(server.stop().success());
}

/// RFC 3501 §6.4.4: SEARCH BEFORE/ON/SINCE compare the internal date's
/// date "disregarding time and timezone", which is the date in the zone
/// the INTERNALDATE is kept in: here the APPEND's own zone (RFC 9051
/// §6.3.12), shown back as written by FETCH, kept by COPY and by a
/// restart. 25-Mar-2007 00:00 +0200 is 24-Mar 22:00 UTC, yet it is ON
/// 25-Mar; 25-Mar 23:00 +0300 is ON 25-Mar, not 26-Mar.
#[test]
fn internal_dates_keep_their_zone_for_fetch_and_search() {
    let site = imap_site("loopback");
    let server = site.start();
    let mut c = RawImap::login(server.addr("imap"), ALICE.0, ALICE.1);
    let dates = [
        "24-Mar-2007 23:00:00 +0200",
        "25-Mar-2007 00:00:00 +0200",
        "25-Mar-2007 23:00:00 +0300",
        "26-Mar-2007 00:00:00 -0430",
    ];
    for (i, d) in dates.iter().enumerate() {
        let msg = message(&format!("zone-{i}"));
        let tag = c.tag();
        c.send(format!("{tag} APPEND INBOX \"{d}\" {{{}+}}\r\n", msg.len()).as_bytes())
            .expect("send");
        c.send(&msg).expect("send");
        c.send(b"\r\n").expect("send");
        assert!(c.read_until_tagged(&tag).expect("APPEND").ok());
    }
    c.ok("CREATE Other");
    c.ok("SELECT INBOX");
    c.ok("COPY 1:4 Other");
    let check = |c: &mut RawImap, mailbox: &str| {
        c.ok(&format!("SELECT {mailbox}"));
        let r = c.ok("FETCH 1:4 (INTERNALDATE)");
        let want: Vec<String> = dates
            .iter()
            .enumerate()
            .map(|(i, d)| format!("* {} FETCH (INTERNALDATE \"{d}\")", i + 1))
            .collect();
        assert_eq!(r.untagged, want, "{mailbox}");
        for (key, hits) in [
            ("ON 24-Mar-2007", "* SEARCH 1"),
            ("ON 25-Mar-2007", "* SEARCH 2 3"),
            ("ON 26-Mar-2007", "* SEARCH 4"),
            ("BEFORE 25-Mar-2007", "* SEARCH 1"),
            ("BEFORE 26-Mar-2007", "* SEARCH 1 2 3"),
            ("SINCE 25-Mar-2007", "* SEARCH 2 3 4"),
            ("SINCE 26-Mar-2007", "* SEARCH 4"),
            ("NOT ON 25-Mar-2007", "* SEARCH 1 4"),
        ] {
            let r = c.ok(&format!("SEARCH {key}"));
            assert_eq!(r.lines("SEARCH"), vec![hits.to_owned()], "{mailbox} {key}");
        }
    };
    check(&mut c, "INBOX");
    check(&mut c, "Other");
    drop(c);
    assert!(server.stop().success());
    let server = site.start();
    let mut c = RawImap::login(server.addr("imap"), ALICE.0, ALICE.1);
    check(&mut c, "INBOX");
    check(&mut c, "Other");
    assert!(server.stop().success());
}

/// RFC 9051 §5.2 / §7.4.1: once another session's COPY into the mailbox
/// this session has selected is answered, the next command here (NOOP)
/// reports the new message. The change notice is already queued when
/// the NOOP arrives; it must be applied before the NOOP is read, every
/// time (a race between the socket and the change channel lost it in
/// about one run in four when this session had just done a STORE).
#[test]
fn a_noop_after_another_sessions_copy_always_reports_it() {
    let site = imap_site("loopback");
    let server = site.start();
    let addr = server.addr("imap");
    let mut a = RawImap::login(addr, ALICE.0, ALICE.1);
    a.ok("CREATE Dest");
    assert!(a.append("INBOX", "\\Flagged", &message("race")).ok());
    a.ok("SELECT INBOX");
    let mut b = RawImap::login(addr, ALICE.0, ALICE.1);
    b.ok("SELECT Dest");
    a.ok("COPY 1 Dest");
    b.ok("NOOP");
    for n in 2..=25 {
        // This session's own STORE queues a notice of its own just before
        // the COPY's (the order imaptest's `copy` test has).
        b.ok(&format!("STORE 1 +FLAGS.SILENT ($k{n})"));
        a.ok("COPY 1 Dest");
        let r = b.ok("NOOP");
        assert_eq!(
            r.untagged,
            vec![format!("* {n} EXISTS"), format!("* {n} RECENT")],
            "copy {n}"
        );
    }
    assert!(server.stop().success());
}
