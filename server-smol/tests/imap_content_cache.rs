//! The store's content cache seen from IMAP clients over real sockets: a
//! message read once (and so cached) is answered the same, item for item,
//! by the cache as by its file, in every session; and a mailbox name
//! reused after RENAME or DELETE never serves the old mailbox's messages
//! under the new one's UIDs (the cache is keyed by mailbox id, which
//! neither reuses).

mod common;

use common::*;

const MULTIPART: &str = "From: Alice <alice@localhost>\r\nTo: bob@example.org\r\n\
Subject: cached parts\r\nMessage-ID: <cache-1@e2e.sansmail.test>\r\n\
Date: Tue, 1 Dec 2026 10:00:00 +0000\r\nMIME-Version: 1.0\r\n\
Content-Type: multipart/mixed; boundary=\"b1\"\r\n\r\n\
preamble\r\n--b1\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nfirst part\r\n\
--b1\r\nContent-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n\r\n\
AAECAwQFBgcICQ==\r\n--b1--\r\n";

/// Every item a FETCH can take from a cached message, each in its own
/// command so a difference names the item.
const ITEMS: &[&str] = &[
    "ENVELOPE",
    "BODYSTRUCTURE",
    "BODY",
    "RFC822.SIZE",
    "BODY.PEEK[HEADER.FIELDS (Subject From)]",
    "BODY.PEEK[HEADER]",
    "BODY.PEEK[TEXT]",
    "BODY.PEEK[]",
    "BODY.PEEK[1]",
    "BODY.PEEK[2.MIME]",
    "BODY.PEEK[]<5.20>",
    "BINARY.PEEK[2]",
    "BINARY.SIZE[2]",
];

fn fetch_all(c: &mut RawImap) -> Vec<Vec<Vec<u8>>> {
    ITEMS
        .iter()
        .map(|item| c.ok(&format!("UID FETCH 1 ({item})")).raw)
        .collect()
}

#[test]
fn a_cached_message_is_answered_as_its_file_in_every_session() {
    let site = imap_site("loopback");
    let server = site.start();
    let mut a = RawImap::login(server.addr("imap"), ALICE.0, ALICE.1);
    assert!(a.append("INBOX", "", MULTIPART.as_bytes()).ok());
    a.ok("SELECT INBOX");
    // The first FETCH of the message reads its file (and caches it)...
    let first: Vec<_> = ITEMS
        .iter()
        .map(|item| a.ok(&format!("UID FETCH 1 ({item})")).raw)
        .collect();
    // ...the second session and the first one again are answered from
    // the cache: byte for byte the same.
    let mut b = RawImap::login(server.addr("imap"), ALICE.0, ALICE.1);
    b.ok("SELECT INBOX");
    assert_eq!(fetch_all(&mut b), first);
    assert_eq!(fetch_all(&mut a), first);
    // And the same as a fresh server, whose cache is empty.
    drop((a, b));
    drop(server);
    let server = site.start();
    let mut c = RawImap::login(server.addr("imap"), ALICE.0, ALICE.1);
    c.ok("SELECT INBOX");
    assert_eq!(fetch_all(&mut c), first);
    // The items are the message's: spot-check two of them.
    let text = String::from_utf8_lossy(&first[7][0]).into_owned();
    assert!(
        text.contains("first part") && text.contains("AAECAwQFBgcICQ=="),
        "{text}"
    );
    let binary = &first[11][0];
    assert!(
        binary
            .windows(10)
            .any(|w| w == [0u8, 1, 2, 3, 4, 5, 6, 7, 8, 9]),
        "BINARY[2] is the decoded part: {:?}",
        String::from_utf8_lossy(binary)
    );
}

fn body_of(c: &mut RawImap) -> String {
    let r = c.ok("UID FETCH 1 (BODY.PEEK[TEXT])");
    String::from_utf8_lossy(&r.raw.concat()).into_owned()
}

#[test]
fn a_reused_mailbox_name_never_serves_the_old_mailboxs_messages() {
    let site = imap_site("loopback");
    let server = site.start();
    let mut c = RawImap::login(server.addr("imap"), ALICE.0, ALICE.1);
    let mut other = RawImap::login(server.addr("imap"), ALICE.0, ALICE.1);
    c.ok("CREATE Box");
    assert!(
        c.append("Box", "", b"Subject: old\r\n\r\nthe old message\r\n")
            .ok()
    );
    c.ok("SELECT Box");
    assert!(body_of(&mut c).contains("the old message"));

    // RENAME, then a new mailbox of the old name: its UID 1 is its own.
    other.ok("RENAME Box Moved");
    other.ok("CREATE Box");
    assert!(
        other
            .append("Box", "", b"Subject: new\r\n\r\nthe new message\r\n")
            .ok()
    );
    c.ok("SELECT Box");
    let body = body_of(&mut c);
    assert!(body.contains("the new message"), "{body}");
    assert!(!body.contains("the old message"), "{body}");
    c.ok("SELECT Moved");
    assert!(body_of(&mut c).contains("the old message"));

    // DELETE and CREATE again: the same.
    c.ok("SELECT Box");
    assert!(body_of(&mut c).contains("the new message"));
    c.ok("UNSELECT");
    other.ok("DELETE Box");
    other.ok("CREATE Box");
    assert!(
        other
            .append("Box", "", b"Subject: third\r\n\r\nthe third message\r\n")
            .ok()
    );
    c.ok("SELECT Box");
    let body = body_of(&mut c);
    assert!(body.contains("the third message"), "{body}");
    assert!(!body.contains("the new message"), "{body}");
}
