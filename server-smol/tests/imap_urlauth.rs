//! End-to-end: URLAUTH (RFC 4467) against the real binary over raw
//! sockets: GENURLAUTH's `:internal:<token>` URLs, URLFETCH of the exact
//! stored bytes, the access identifiers (user+, authuser, anonymous,
//! submit+ which only the submission server may use), a forged token,
//! `;EXPIRE=`, and RESETKEY invalidating what was authorized.

mod common;

use common::*;

const MSG: &[u8] = b"From: Alice <alice@localhost>\r\nTo: Bob <bob@localhost>\r\nSubject: urlauth\r\n\r\nSi vis pacem, para bellum.\r\n";

/// Appends [`MSG`]; returns (UIDVALIDITY, UID).
fn append(c: &mut RawImap) -> (String, String) {
    let r = c.append("INBOX", "", MSG);
    assert!(r.ok(), "{r:?}");
    let code = resp_code(&r.status, "APPENDUID").expect("APPENDUID");
    (code[0].to_owned(), code[1].to_owned())
}

/// GENURLAUTH of one rump: the authorized URL.
fn generate(c: &mut RawImap, rump: &str) -> String {
    let r = c.ok(&format!("GENURLAUTH {} INTERNAL", quote(rump)));
    let lines = r.lines("GENURLAUTH ");
    assert_eq!(lines.len(), 1, "{r:?}");
    let url = lines[0]
        .strip_prefix("* GENURLAUTH \"")
        .and_then(|l| l.strip_suffix('"'))
        .unwrap_or_else(|| panic!("{lines:?}"))
        .to_owned();
    let token = url
        .strip_prefix(&format!("{rump}:internal:"))
        .unwrap_or_else(|| panic!("{url} does not extend {rump}"));
    assert_eq!(token.len(), 40, "HMAC-SHA1 in hex: {url}");
    assert!(token.bytes().all(|b| b.is_ascii_hexdigit()), "{url}");
    url
}

/// URLFETCH of one URL: the raw answer line (literal inlined).
fn fetch(c: &mut RawImap, url: &str) -> Vec<u8> {
    let r = c.ok(&format!("URLFETCH {}", quote(url)));
    assert_eq!(r.raw.len(), 1, "{r:?}");
    r.raw[0].clone()
}

fn data(url: &str) -> Vec<u8> {
    let mut want = format!("* URLFETCH {} {{{}}}\r\n", quote(url), MSG.len()).into_bytes();
    want.extend_from_slice(MSG);
    want
}

fn nil(url: &str) -> Vec<u8> {
    format!("* URLFETCH {} NIL", quote(url)).into_bytes()
}

#[test]
fn genurlauth_urlfetch_access_and_resetkey() {
    let site = imap_site("loopback");
    let server = site.start();
    let mut alice = RawImap::login(server.addr("imap"), ALICE.0, ALICE.1);
    let caps = alice.ok("CAPABILITY");
    assert!(caps.lines("CAPABILITY")[0].contains(" URLAUTH"), "{caps:?}");
    let (validity, uid) = append(&mut alice);
    let base =
        format!("imap://alice%40localhost@localhost/INBOX;UIDVALIDITY={validity}/;UID={uid}");

    // user+alice: only alice herself.
    let mine = generate(
        &mut alice,
        &format!("{base};URLAUTH=user+alice%40localhost"),
    );
    assert_eq!(fetch(&mut alice, &mine), data(&mine));
    // A forged token (last hex digit changed) gives NIL.
    let mut forged = mine.clone();
    let last = forged.pop().unwrap();
    forged.push(if last == '0' { '1' } else { '0' });
    assert_eq!(fetch(&mut alice, &forged), nil(&forged));
    // So does an unauthorized rump and a URL for a message that is not there.
    let rump = format!("{base};URLAUTH=anonymous");
    assert_eq!(fetch(&mut alice, &rump), nil(&rump));

    let anon = generate(&mut alice, &rump);
    let authuser = generate(&mut alice, &format!("{base};URLAUTH=authuser"));
    let submit = generate(
        &mut alice,
        &format!("{base};URLAUTH=submit+alice%40localhost"),
    );
    // submit+ is for the submission server (BURL), never URLFETCH.
    assert_eq!(fetch(&mut alice, &submit), nil(&submit));
    // Several URLs in one command, answered in order.
    let r = alice.ok(&format!("URLFETCH {} {}", quote(&anon), quote(&forged)));
    let mut want = data(&anon);
    want.extend_from_slice(format!(" {} NIL", quote(&forged)).as_bytes());
    assert_eq!(r.raw, vec![want]);

    // Expiry (RFC 4467 §3): past is NIL, future works.
    let past = generate(
        &mut alice,
        &format!("{base};EXPIRE=2001-01-01T00:00:00Z;URLAUTH=anonymous"),
    );
    assert_eq!(fetch(&mut alice, &past), nil(&past));
    let future = generate(
        &mut alice,
        &format!("{base};EXPIRE=2999-01-01T00:00:00+01:00;URLAUTH=anonymous"),
    );
    assert_eq!(fetch(&mut alice, &future), data(&future));

    // Bob: anonymous and authuser work, user+alice does not, and he cannot
    // authorize URLs into alice's mailbox.
    let mut bob = RawImap::login(server.addr("imap"), BOB.0, BOB.1);
    assert_eq!(fetch(&mut bob, &anon), data(&anon));
    assert_eq!(fetch(&mut bob, &authuser), data(&authuser));
    assert_eq!(fetch(&mut bob, &mine), nil(&mine));
    let r = bob.cmd(&format!(
        "GENURLAUTH {} INTERNAL",
        quote(&format!("{base};URLAUTH=anonymous"))
    ));
    assert!(r.status.starts_with("NO [NOPERM]"), "{r:?}");

    // Syntax: a URL that already has a token, an unknown mechanism.
    let r = alice.cmd(&format!("GENURLAUTH {} INTERNAL", quote(&anon)));
    assert_eq!(r.status, "BAD Invalid URLAUTH rump URL");
    let r = alice.cmd(&format!("GENURLAUTH {} XSECRET", quote(&rump)));
    assert_eq!(r.status, "BAD Unsupported URLAUTH mechanism");
    // A message that does not exist.
    let r = alice.cmd(&format!(
        "GENURLAUTH {} INTERNAL",
        quote("imap://alice%40localhost@localhost/INBOX/;UID=999;URLAUTH=anonymous")
    ));
    assert!(r.status.starts_with("NO [NONEXISTENT]"), "{r:?}");

    // RESETKEY: every URL made with the old key stops working; a new
    // one has another token.
    alice.ok("RESETKEY INBOX INTERNAL");
    assert_eq!(fetch(&mut alice, &anon), nil(&anon));
    assert_eq!(fetch(&mut bob, &authuser), nil(&authuser));
    let again = generate(&mut alice, &rump);
    assert_ne!(again, anon);
    assert_eq!(fetch(&mut bob, &again), data(&again));
    alice.ok("RESETKEY");
    assert_eq!(fetch(&mut bob, &again), nil(&again));
    let r = alice.cmd("RESETKEY Nonexistent");
    assert!(r.status.starts_with("NO"), "{r:?}");
}

/// The keys are in the index: URLs survive a restart of the server.
#[test]
fn authorized_urls_survive_a_restart() {
    let site = imap_site("loopback");
    let server = site.start();
    let mut alice = RawImap::login(server.addr("imap"), ALICE.0, ALICE.1);
    let (validity, uid) = append(&mut alice);
    let url = generate(
        &mut alice,
        &format!(
            "imap://alice%40localhost@localhost/INBOX;UIDVALIDITY={validity}/;UID={uid};URLAUTH=authuser"
        ),
    );
    drop(alice);
    assert!(server.stop().success());
    let server = site.start();
    let mut bob = RawImap::login(server.addr("imap"), BOB.0, BOB.1);
    assert_eq!(fetch(&mut bob, &url), data(&url));
}

/// A mailbox deleted and created again starts its UIDs again: URLs made
/// for the old one (even without `;UIDVALIDITY=`) must not open the new
/// one's messages.
#[test]
fn urls_do_not_outlive_their_mailbox() {
    let site = imap_site("loopback");
    let server = site.start();
    let mut alice = RawImap::login(server.addr("imap"), ALICE.0, ALICE.1);
    alice.ok("CREATE Box");
    let r = alice.append("Box", "", MSG);
    assert!(r.ok(), "{r:?}");
    let url = generate(
        &mut alice,
        "imap://alice%40localhost@localhost/Box/;UID=1;URLAUTH=authuser",
    );
    assert_eq!(fetch(&mut alice, &url), data(&url));
    alice.ok("DELETE Box");
    alice.ok("CREATE Box");
    let r = alice.append("Box", "", MSG);
    assert!(r.ok(), "{r:?}");
    assert_eq!(resp_code(&r.status, "APPENDUID").unwrap()[1], "1");
    assert_eq!(fetch(&mut alice, &url), nil(&url));
}

/// imaptest's urlauth script writes `imap://$username@$domain/...` with
/// the local part as user (`imap://alice@localhost/`): for a server whose
/// logins are addresses that is alice@localhost's mailbox, and
/// `user+alice` names her too. URLFETCH serves any RFC 3501 section
/// (part numbers, HEADER.FIELDS), as CATENATE's URL parts do.
#[test]
fn local_part_user_and_sections() {
    let site = imap_site("loopback");
    let server = site.start();
    let mut alice = RawImap::login(server.addr("imap"), ALICE.0, ALICE.1);
    let (validity, uid) = append(&mut alice);
    let base = format!("imap://alice@localhost/INBOX;UIDVALIDITY={validity}/;UID={uid}");
    let whole = generate(&mut alice, &format!("{base};URLAUTH=user+alice"));
    assert_eq!(fetch(&mut alice, &whole), data(&whole));
    // Bob may not authorize (or fetch) alice's URLs.
    let mut bob = RawImap::login(server.addr("imap"), BOB.0, BOB.1);
    let r = bob.cmd(&format!(
        "GENURLAUTH {} INTERNAL",
        quote(&format!("{base};URLAUTH=user+alice"))
    ));
    assert!(r.status.starts_with("NO [NOPERM] "), "{r:?}");
    assert_eq!(fetch(&mut bob, &whole), nil(&whole));
    // Sections: a part number (the body of a single-part message) and
    // HEADER.FIELDS.
    let cases: [(&str, &[u8]); 2] = [
        ("1", b"Si vis pacem, para bellum.\r\n"),
        ("HEADER.FIELDS%20(Subject)", b"Subject: urlauth\r\n\r\n"),
    ];
    for (section, want) in cases {
        let url = generate(
            &mut alice,
            &format!("{base}/;SECTION={section};URLAUTH=user+alice"),
        );
        let mut expected =
            format!("* URLFETCH {} {{{}}}\r\n", quote(&url), want.len()).into_bytes();
        expected.extend_from_slice(want);
        assert_eq!(
            String::from_utf8_lossy(&fetch(&mut alice, &url)),
            String::from_utf8_lossy(&expected),
            "{section}"
        );
    }
    alice.ok("LOGOUT");
}
