//! Transcripts for the per-message attributes and APPEND extensions
//! (UTF8=ACCEPT, OBJECTID, SAVEDATE), replayed through the session with the
//! canned adapter (tests/session_common), whole, byte by byte and at every
//! split point, with exact output and event logs.

mod session_common;

use imap_proto::session::ServerConfig;
use imap_proto::types::Capability;
use session_common::*;
use std::time::Instant;

fn config() -> ServerConfig {
    let mut c = ServerConfig::new("sansmail ready");
    for cap in [Capability::ObjectId, Capability::SaveDate] {
        if !c.capabilities.after_login.contains(&cap) {
            c.capabilities.after_login.push(cap);
        }
    }
    c
}

fn replay(store: &Store, input: &[u8], pieces: &[usize]) -> (String, Vec<String>) {
    let mut h = Harness::with_store(config(), store.clone(), Instant::now());
    h.run_split(input, pieces);
    let out = h.take_output();
    // The greeting and the login's capability list are not what these
    // transcripts are about.
    let out = out
        .split_inclusive("\r\n")
        .filter(|l| !l.starts_with("* OK [CAPABILITY") && !l.starts_with("a OK [CAPABILITY"))
        .collect();
    (out, h.log)
}

/// Replays whole, byte by byte, and split at every point; all must agree.
fn replay_all_splits(store: &Store, input: &[u8]) -> (String, Vec<String>) {
    let whole = replay(store, input, &[]);
    let bytes: Vec<usize> = (1..input.len()).collect();
    assert_eq!(replay(store, input, &bytes), whole, "byte by byte");
    for i in 1..input.len() {
        assert_eq!(replay(store, input, &[i]), whole, "split at {i}");
    }
    whole
}

fn crlf(lines: &[&str]) -> String {
    lines.iter().map(|l| format!("{l}\r\n")).collect()
}

/// RFC 6855 §3 under IMAP4rev1: before ENABLE names are modified UTF-7,
/// after it UTF-8 both ways; a SEARCH with CHARSET is then BAD.
#[test]
fn utf8_accept_in_an_imap4rev1_session() {
    let mut store = store_with_two();
    store.add("Drafts", MSG2, vec![]);
    let input = "a LOGIN alice secret\r\n\
        b CREATE Entw&APw-rfe\r\n\
        c LIST \"\" Entw*\r\n\
        d ENABLE UTF8=ACCEPT\r\n\
        e LIST \"\" Entw*\r\n\
        f CREATE \"Caf\u{e9}\"\r\n\
        g STATUS \"Caf\u{e9}\" (MESSAGES)\r\n\
        h SELECT INBOX\r\n\
        i SEARCH CHARSET UTF-8 ALL\r\n\
        j SEARCH SUBJECT \"Lunch\"\r\n\
        k LOGOUT\r\n";
    let (out, log) = replay_all_splits(&store, input.as_bytes());
    assert_eq!(
        out,
        crlf(&[
            "b OK Completed",
            "* LIST (\\HasNoChildren) \"/\" Entw&APw-rfe",
            "c OK LIST completed",
            "* ENABLED UTF8=ACCEPT",
            "d OK ENABLE completed",
            "* LIST (\\HasNoChildren) \"/\" \"Entw\u{fc}rfe\"",
            "e OK LIST completed",
            "f OK Completed",
            "* STATUS \"Caf\u{e9}\" (MESSAGES 0)",
            "g OK STATUS completed",
            "* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft)",
            "* 2 EXISTS",
            "* 0 RECENT",
            "* OK [UNSEEN 2] First unseen",
            "* OK [PERMANENTFLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft \\*)] Limited",
            "* OK [UIDVALIDITY 1700000000] UIDs valid",
            "* OK [UIDNEXT 3] Predicted next UID",
            "h OK [READ-WRITE] SELECT completed",
            "i BAD No CHARSET after ENABLE UTF8=ACCEPT",
            "* SEARCH 2",
            "j OK SEARCH completed",
            "* BYE Logging out",
            "k OK LOGOUT completed",
        ])
    );
    // The store saw Unicode names both times.
    assert!(log.contains(&"Mailbox Create { name: \"Entwürfe\", special_use: [] }".to_owned()));
    assert!(log.contains(&"Mailbox Create { name: \"Café\", special_use: [] }".to_owned()));
}

/// RFC 6855 §4: `APPEND box UTF8 (~{N}...)` stores the literal as sent;
/// before ENABLE UTF8=ACCEPT it is BAD and nothing is stored.
#[test]
fn utf8_append_data_extension() {
    let store = store_with_two();
    let msg = "Subject: Gr\u{fc}\u{df}e\r\n\r\nHallo\r\n";
    let input = format!(
        "a LOGIN alice secret\r\n\
         b APPEND INBOX UTF8 (~{{{n}}}\r\n\
         c ENABLE UTF8=ACCEPT\r\n\
         d APPEND INBOX (\\Seen) UTF8 (~{{{n}}}\r\n{msg})\r\n\
         e APPEND INBOX UTF8 (~{{{n}}}\r\n{msg}x\r\n\
         f LOGOUT\r\n",
        n = msg.len()
    );
    let (out, log) = replay_all_splits(&store, input.as_bytes());
    assert_eq!(
        out,
        crlf(&[
            "b BAD UTF8 APPEND needs ENABLE UTF8=ACCEPT",
            "* ENABLED UTF8=ACCEPT",
            "c OK ENABLE completed",
            "+ Ready for literal data",
            "d OK [APPENDUID 1700000000 3] APPEND completed",
            "+ Ready for literal data",
            "e BAD Unexpected data after the message",
            "* BYE Logging out",
            "f OK LOGOUT completed",
        ])
    );
    let n = msg.len();
    assert!(log.contains(&format!("AppendEnd INBOX {n}")), "{log:?}");
    let inbox = &store_after(&store, input.as_bytes()).mailboxes["INBOX"];
    assert_eq!(inbox.messages.len(), 3);
    assert_eq!(inbox.messages[&3].bytes, msg.as_bytes());
}

fn store_after(store: &Store, input: &[u8]) -> Store {
    let mut h = Harness::with_store(config(), store.clone(), Instant::now());
    h.run(input, 1000);
    h.store
}

/// RFC 8474 §4-§6 and RFC 8514 §4-§5: MAILBOXID in SELECT, STATUS and
/// CREATE; EMAILID, THREADID (NIL: no threading) and SAVEDATE in FETCH;
/// the EMAILID, THREADID and SAVED* search keys.
#[test]
fn objectid_and_savedate() {
    let mut store = store_with_two();
    store.object_ids = true;
    let input = "a LOGIN alice secret\r\n\
        b SELECT INBOX\r\n\
        c STATUS INBOX (MESSAGES MAILBOXID)\r\n\
        d CREATE Projects\r\n\
        e FETCH 1:2 (EMAILID THREADID SAVEDATE)\r\n\
        f UID SEARCH EMAILID E2\r\n\
        g SEARCH THREADID T1\r\n\
        h SEARCH SAVEDATESUPPORTED\r\n\
        i SEARCH SAVEDON 5-Mar-2024\r\n\
        j SEARCH SAVEDBEFORE 5-Mar-2024\r\n\
        k SEARCH OR SAVEDSINCE 6-Mar-2024 EMAILID E1\r\n\
        l LOGOUT\r\n";
    let (out, _) = replay_all_splits(&store, input.as_bytes());
    assert_eq!(
        out,
        crlf(&[
            "* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft)",
            "* 2 EXISTS",
            "* 0 RECENT",
            "* OK [UNSEEN 2] First unseen",
            "* OK [PERMANENTFLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft \\*)] Limited",
            "* OK [UIDVALIDITY 1700000000] UIDs valid",
            "* OK [UIDNEXT 3] Predicted next UID",
            "* OK [MAILBOXID (M2)] Mailbox id",
            "b OK [READ-WRITE] SELECT completed",
            "* STATUS INBOX (MESSAGES 2 MAILBOXID (M2))",
            "c OK STATUS completed",
            "d OK [MAILBOXID (M5)] Completed",
            "* 1 FETCH (EMAILID (E1) THREADID NIL SAVEDATE \" 5-Mar-2024 10:20:30 +0100\")",
            "* 2 FETCH (EMAILID (E2) THREADID NIL SAVEDATE \" 5-Mar-2024 10:20:30 +0100\")",
            "e OK FETCH completed",
            "* SEARCH 2",
            "f OK SEARCH completed",
            "* SEARCH",
            "g OK SEARCH completed",
            "* SEARCH 1 2",
            "h OK SEARCH completed",
            "* SEARCH 1 2",
            "i OK SEARCH completed",
            "* SEARCH",
            "j OK SEARCH completed",
            "* SEARCH 1",
            "k OK SEARCH completed",
            "* BYE Logging out",
            "l OK LOGOUT completed",
        ])
    );
}

/// RFC 3516 §4.4: a literal8 APPEND may carry NUL octets and is stored as
/// sent; the same octets in a plain literal (RFC 9051 §9 `CHAR8`) are BAD
/// and nothing is stored, streamed or sent whole.
#[test]
fn binary_append_and_nul_in_a_plain_literal() {
    let store = store_with_two();
    let msg = b"Content-Type: application/octet-stream\r\nContent-Transfer-Encoding: binary\r\n\r\n\x00\x01\xff\r\n";
    let mut input = Vec::new();
    input.extend_from_slice(b"a LOGIN alice secret\r\n");
    input.extend_from_slice(format!("b APPEND INBOX ~{{{}}}\r\n", msg.len()).as_bytes());
    input.extend_from_slice(msg);
    input.extend_from_slice(b"\r\n");
    input.extend_from_slice(format!("c APPEND INBOX {{{}}}\r\n", msg.len()).as_bytes());
    input.extend_from_slice(msg);
    input.extend_from_slice(b"\r\n");
    input.extend_from_slice(format!("d APPEND INBOX {{{}+}}\r\n", msg.len()).as_bytes());
    input.extend_from_slice(msg);
    input.extend_from_slice(b"\r\ne LOGOUT\r\n");
    let (out, log) = replay_all_splits(&store, &input);
    assert_eq!(
        out,
        crlf(&[
            "+ Ready for literal data",
            "b OK [APPENDUID 1700000000 3] APPEND completed",
            "+ Ready for literal data",
            "c OK [APPENDUID 1700000000 4] APPEND completed",
            "d BAD Syntax error in command",
            "* BYE Logging out",
            "e OK LOGOUT completed",
        ])
    );
    assert_eq!(
        log.iter().filter(|l| *l == "AppendAbort").count(),
        0,
        "{log:?}"
    );
    let inbox = &store_after(&store, &input).mailboxes["INBOX"];
    assert_eq!(inbox.messages.len(), 4);
    assert_eq!(inbox.messages[&3].bytes, msg);
    // The same octets in a plain streamed literal are stored as sent.
    assert_eq!(inbox.messages[&4].bytes, msg);
}
