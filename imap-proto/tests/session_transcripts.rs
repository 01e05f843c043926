//! Transcripts replayed through the session with a canned-answer adapter
//! (tests/session_common), each checked for exact output and events, and
//! re-run byte by byte and at every split point with identical results.

mod session_common;

use imap_proto::session::ServerConfig;
use session_common::*;
use std::time::Instant;

fn config() -> ServerConfig {
    ServerConfig::new("sansmail ready")
}

/// Output and event log of `input` fed in one piece.
fn replay(store: &Store, input: &[u8], pieces: &[usize]) -> (String, Vec<String>) {
    let mut h = Harness::with_store(config(), store.clone(), Instant::now());
    h.run_split(input, pieces);
    (h.take_output(), h.log)
}

/// Replays whole, byte by byte, and split at every point; all must agree.
fn replay_all_splits(store: &Store, input: &[u8]) -> (String, Vec<String>) {
    let whole = replay(store, input, &[]);
    let mut h = Harness::with_store(config(), store.clone(), Instant::now());
    h.run(input, 1);
    assert_eq!((h.take_output(), h.log), whole, "byte by byte");
    for i in 1..input.len() {
        assert_eq!(replay(store, input, &[i]), whole, "split at {i}");
    }
    whole
}

fn crlf(lines: &[&str]) -> String {
    let mut s = String::new();
    for l in lines {
        s.push_str(l);
        s.push_str("\r\n");
    }
    s
}

/// Dumps output as Rust string lines (used while writing expectations).
#[allow(dead_code)]
fn dump(s: &str) {
    for l in s.split_inclusive("\r\n") {
        println!("        {:?},", l.trim_end_matches("\r\n"));
    }
}

#[test]
fn basic_session_with_idle_push() {
    let mut h = Harness::with_store(config(), store_with_two(), Instant::now());
    h.run(b"a1 CAPABILITY\r\na2 LOGIN alice secret\r\na3 LIST \"\" \"*\"\r\na4 SELECT INBOX\r\na5 FETCH 1:* (FLAGS UID RFC822.SIZE)\r\na6 UID FETCH 1:* (BODY.PEEK[HEADER.FIELDS (From Subject)] ENVELOPE)\r\na7 FETCH 2 BODY[]\r\na8 FETCH 1 BODYSTRUCTURE\r\na9 SEARCH UNSEEN\r\nb1 UID SEARCH SUBJECT lunch\r\nb2 STORE 1 +FLAGS (\\Deleted)\r\nb3 EXPUNGE\r\nb4 IDLE\r\n", 1000);
    h.deliver("INBOX", b"Subject: x\r\n\r\nbody\r\n");
    h.run(b"DONE\r\nb5 LOGOUT\r\n", 1000);
    let expected = crlf(&[
        "* OK [CAPABILITY IMAP4rev1 IMAP4rev2 STARTTLS LITERAL- SASL-IR ID ENABLE IDLE AUTH=PLAIN AUTH=LOGIN] sansmail ready",
        "* CAPABILITY IMAP4rev1 IMAP4rev2 STARTTLS LITERAL- SASL-IR ID ENABLE IDLE AUTH=PLAIN AUTH=LOGIN",
        "a1 OK CAPABILITY completed",
        "a2 OK [CAPABILITY IMAP4rev1 IMAP4rev2 LITERAL- ID ENABLE IDLE NAMESPACE UIDPLUS MOVE UNSELECT CHILDREN SPECIAL-USE LIST-EXTENDED ESEARCH STATUS=SIZE CONDSTORE QRESYNC] Logged in",
        "* LIST (\\Drafts \\HasNoChildren) \"/\" Drafts",
        "* LIST (\\HasNoChildren) \"/\" INBOX",
        "* LIST (\\Sent \\HasNoChildren) \"/\" Sent",
        "* LIST (\\Trash \\HasNoChildren) \"/\" Trash",
        "a3 OK LIST completed",
        "* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft)",
        "* 2 EXISTS",
        "* 0 RECENT",
        "* OK [UNSEEN 2] First unseen",
        "* OK [PERMANENTFLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft \\*)] Limited",
        "* OK [UIDVALIDITY 1700000000] UIDs valid",
        "* OK [UIDNEXT 3] Predicted next UID",
        "a4 OK [READ-WRITE] SELECT completed",
        "* 1 FETCH (FLAGS (\\Seen) UID 1 RFC822.SIZE 282)",
        "* 2 FETCH (FLAGS () UID 2 RFC822.SIZE 123)",
        "a5 OK FETCH completed",
        "* 1 FETCH (UID 1 BODY[HEADER.FIELDS (From Subject)] {78}",
        "From: Fred Foobar <foobar@Blurdybloop.example>",
        "Subject: afternoon meeting",
        "",
        " ENVELOPE (NIL \"afternoon meeting\" ((\"Fred Foobar\" NIL \"foobar\" \"Blurdybloop.example\")) ((\"Fred Foobar\" NIL \"foobar\" \"Blurdybloop.example\")) ((\"Fred Foobar\" NIL \"foobar\" \"Blurdybloop.example\")) ((NIL NIL \"mooch\" \"owatagu.siam.edu.example\")) NIL NIL NIL \"<B27397-0100000@Blurdybloop.example>\"))",
        "* 2 FETCH (UID 2 BODY[HEADER.FIELDS (From Subject)] {51}",
        "From: Alice <alice@example.org>",
        "Subject: Lunch",
        "",
        " ENVELOPE (\"Tue, 5 Mar 2024 10:20:30 +0100\" \"Lunch\" ((\"Alice\" NIL \"alice\" \"example.org\")) ((\"Alice\" NIL \"alice\" \"example.org\")) ((\"Alice\" NIL \"alice\" \"example.org\")) ((\"Bob\" NIL \"bob\" \"example.org\")) NIL NIL NIL NIL))",
        "a6 OK FETCH completed",
        "* 2 FETCH (BODY[] {123}",
        "From: Alice <alice@example.org>",
        "To: Bob <bob@example.org>",
        "Subject: Lunch",
        "Date: Tue, 5 Mar 2024 10:20:30 +0100",
        "",
        "Noon?",
        " FLAGS (\\Seen))",
        "a7 OK FETCH completed",
        "* 1 FETCH (BODYSTRUCTURE (\"text\" \"plain\" (\"charset\" \"US-ASCII\") NIL NIL \"7bit\" 55 1 NIL NIL NIL NIL))",
        "a8 OK FETCH completed",
        "* SEARCH",
        "a9 OK SEARCH completed",
        "* SEARCH 2",
        "b1 OK SEARCH completed",
        "* 1 FETCH (FLAGS (\\Seen \\Deleted))",
        "b2 OK STORE completed",
        "* 1 EXPUNGE",
        "b3 OK EXPUNGE completed",
        "+ idling",
        "* 2 EXISTS",
        "* 1 RECENT",
        "b4 OK IDLE terminated",
        "* BYE Logging out",
        "b5 OK LOGOUT completed",
    ]);
    assert_eq!(h.take_output(), expected);
    assert_eq!(
        h.log,
        vec![
            "Authenticate Login None alice",
            "List",
            "Select INBOX false None",
            "Read 1 Header",
            "Read 2 Header",
            "Store [2] Add [Seen] None",
            "WriteExternal 2 0..123",
            "Read 1 Message",
            "Read 1 Header",
            "Read 2 Header",
            "Store [1] Add [Deleted] None",
            "Expunge [1]",
            "IdleStarted",
            "IdleDone",
        ]
    );
    assert!(h.session.is_closed());
}
