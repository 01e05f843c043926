//! Transcripts replayed through the session with a canned-answer adapter
//! (tests/session_common), each checked for exact output and events, and
//! re-run byte by byte and at every split point with identical results.

mod session_common;

use imap_proto::session::ServerConfig;
use session_common::*;
use std::time::Instant;

fn config() -> ServerConfig {
    let mut c = ServerConfig::new("imap.example.org");
    c.starttls = true;
    c
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
        "* OK [CAPABILITY IMAP4rev1 IMAP4rev2 STARTTLS LITERAL+ SASL-IR ID ENABLE IDLE AUTH=PLAIN AUTH=LOGIN] imap.example.org IMAP sansmail ready",
        "* CAPABILITY IMAP4rev1 IMAP4rev2 STARTTLS LITERAL+ SASL-IR ID ENABLE IDLE AUTH=PLAIN AUTH=LOGIN",
        "a1 OK CAPABILITY completed",
        "a2 OK [CAPABILITY IMAP4rev1 IMAP4rev2 LITERAL+ ID ENABLE IDLE NAMESPACE UIDPLUS MOVE UNSELECT CHILDREN SPECIAL-USE LIST-EXTENDED LIST-STATUS ESEARCH SEARCHRES STATUS=SIZE BINARY CREATE-SPECIAL-USE CONDSTORE QRESYNC SORT THREAD=ORDEREDSUBJECT THREAD=REFERENCES ESORT CONTEXT=SEARCH CONTEXT=SORT PARTIAL NOTIFY QUOTA QUOTA=RES-STORAGE QUOTA=RES-MESSAGE UTF8=ACCEPT OBJECTID SAVEDATE COMPRESS=DEFLATE URLAUTH MULTIAPPEND CATENATE] Logged in",
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
            // BODY[] checks the file before its literal is announced.
            "Read 2 Offsets",
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

const THUNDERBIRD: &[u8] = b"1 capability\r\n\
2 ID (\"name\" \"Thunderbird\" \"version\" \"115.3.1\")\r\n\
3 authenticate PLAIN AGFsaWNlAHNlY3JldA==\r\n\
4 namespace\r\n\
5 list (subscribed) \"\" \"*\" return (special-use)\r\n\
6 list \"\" \"INBOX\"\r\n\
7 select \"INBOX\" (CONDSTORE)\r\n\
8 UID fetch 1:* (FLAGS)\r\n\
9 UID fetch 2 (UID RFC822.SIZE FLAGS BODY.PEEK[HEADER.FIELDS (From To Cc Bcc Subject Date Message-ID Priority X-Priority References Newsgroups In-Reply-To Content-Type Reply-To)])\r\n\
10 IDLE\r\n\
DONE\r\n\
11 APPEND \"Sent\" (\\Seen) {18}\r\n\
Subject: hi\r\n\r\nyo\r\n\
12 logout\r\n";

#[test]
fn thunderbird_like_session_at_every_split_point() {
    let (out, log) = replay_all_splits(&store_with_two(), THUNDERBIRD);
    let expected = crlf(&[
        "* OK [CAPABILITY IMAP4rev1 IMAP4rev2 STARTTLS LITERAL+ SASL-IR ID ENABLE IDLE AUTH=PLAIN AUTH=LOGIN] imap.example.org IMAP sansmail ready",
        "* CAPABILITY IMAP4rev1 IMAP4rev2 STARTTLS LITERAL+ SASL-IR ID ENABLE IDLE AUTH=PLAIN AUTH=LOGIN",
        "1 OK CAPABILITY completed",
        "* ID (\"name\" \"sansmail\")",
        "2 OK ID completed",
        "3 OK [CAPABILITY IMAP4rev1 IMAP4rev2 LITERAL+ ID ENABLE IDLE NAMESPACE UIDPLUS MOVE UNSELECT CHILDREN SPECIAL-USE LIST-EXTENDED LIST-STATUS ESEARCH SEARCHRES STATUS=SIZE BINARY CREATE-SPECIAL-USE CONDSTORE QRESYNC SORT THREAD=ORDEREDSUBJECT THREAD=REFERENCES ESORT CONTEXT=SEARCH CONTEXT=SORT PARTIAL NOTIFY QUOTA QUOTA=RES-STORAGE QUOTA=RES-MESSAGE UTF8=ACCEPT OBJECTID SAVEDATE COMPRESS=DEFLATE URLAUTH MULTIAPPEND CATENATE] Logged in",
        "* NAMESPACE ((\"\" \"/\")) NIL NIL",
        "4 OK NAMESPACE completed",
        "* LIST (\\HasNoChildren \\Subscribed) \"/\" INBOX",
        "* LIST (\\Sent \\HasNoChildren \\Subscribed) \"/\" Sent",
        "5 OK LIST completed",
        "* LIST (\\HasNoChildren) \"/\" INBOX",
        "6 OK LIST completed",
        "* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft)",
        "* 2 EXISTS",
        "* 0 RECENT",
        "* OK [UNSEEN 2] First unseen",
        "* OK [PERMANENTFLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft \\*)] Limited",
        "* OK [UIDVALIDITY 1700000000] UIDs valid",
        "* OK [UIDNEXT 3] Predicted next UID",
        "* OK [HIGHESTMODSEQ 3] Highest",
        "7 OK [READ-WRITE] SELECT completed",
        "* 1 FETCH (UID 1 FLAGS (\\Seen))",
        "* 2 FETCH (UID 2 FLAGS ())",
        "8 OK FETCH completed",
        "* 2 FETCH (UID 2 RFC822.SIZE 123 FLAGS () BODY[HEADER.FIELDS (From To Cc Bcc Subject Date Message-ID Priority X-Priority References Newsgroups In-Reply-To Content-Type Reply-To)] {116}",
        "From: Alice <alice@example.org>",
        "To: Bob <bob@example.org>",
        "Subject: Lunch",
        "Date: Tue, 5 Mar 2024 10:20:30 +0100",
        "",
        ")",
        "9 OK FETCH completed",
        "+ idling",
        "10 OK IDLE terminated",
        "+ Ready for literal data",
        "11 OK [APPENDUID 1700000000 1] APPEND completed",
        "* BYE Logging out",
        "12 OK LOGOUT completed",
    ]);
    assert_eq!(out, expected);
    assert_eq!(
        log,
        vec![
            "Authenticate Plain None alice",
            "List",
            "List",
            "Select INBOX false None",
            "Read 2 Header",
            "IdleStarted",
            "IdleDone",
            "AppendBegin Sent [Seen] 18",
            "AppendEnd Sent 18",
        ]
    );
}

/// RFC 3501 §8 (the sample session), with this store's user and message
/// numbers; the LOGIN uses synchronising literals as RFC 3501 §6.2.3's
/// example does.
const RFC3501: &[u8] = b"a001 login {5}\r\nalice {6}\r\nsecret\r\n\
a002 select inbox\r\n\
a003 fetch 1 full\r\n\
a004 fetch 1 body[header]\r\n\
a005 store 1 +flags \\deleted\r\n\
a006 logout\r\n";

#[test]
fn rfc3501_sample_session_at_every_split_point() {
    let (out, log) = replay_all_splits(&store_with_two(), RFC3501);
    let expected = crlf(&[
        "* OK [CAPABILITY IMAP4rev1 IMAP4rev2 STARTTLS LITERAL+ SASL-IR ID ENABLE IDLE AUTH=PLAIN AUTH=LOGIN] imap.example.org IMAP sansmail ready",
        "+ Ready",
        "+ Ready",
        "a001 OK [CAPABILITY IMAP4rev1 IMAP4rev2 LITERAL+ ID ENABLE IDLE NAMESPACE UIDPLUS MOVE UNSELECT CHILDREN SPECIAL-USE LIST-EXTENDED LIST-STATUS ESEARCH SEARCHRES STATUS=SIZE BINARY CREATE-SPECIAL-USE CONDSTORE QRESYNC SORT THREAD=ORDEREDSUBJECT THREAD=REFERENCES ESORT CONTEXT=SEARCH CONTEXT=SORT PARTIAL NOTIFY QUOTA QUOTA=RES-STORAGE QUOTA=RES-MESSAGE UTF8=ACCEPT OBJECTID SAVEDATE COMPRESS=DEFLATE URLAUTH MULTIAPPEND CATENATE] Logged in",
        "* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft)",
        "* 2 EXISTS",
        "* 0 RECENT",
        "* OK [UNSEEN 2] First unseen",
        "* OK [PERMANENTFLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft \\*)] Limited",
        "* OK [UIDVALIDITY 1700000000] UIDs valid",
        "* OK [UIDNEXT 3] Predicted next UID",
        "a002 OK [READ-WRITE] SELECT completed",
        "* 1 FETCH (FLAGS (\\Seen) INTERNALDATE \" 5-Mar-2024 10:20:30 +0100\" RFC822.SIZE 282 ENVELOPE (NIL \"afternoon meeting\" ((\"Fred Foobar\" NIL \"foobar\" \"Blurdybloop.example\")) ((\"Fred Foobar\" NIL \"foobar\" \"Blurdybloop.example\")) ((\"Fred Foobar\" NIL \"foobar\" \"Blurdybloop.example\")) ((NIL NIL \"mooch\" \"owatagu.siam.edu.example\")) NIL NIL NIL \"<B27397-0100000@Blurdybloop.example>\") BODY (\"text\" \"plain\" (\"charset\" \"US-ASCII\") NIL NIL \"7bit\" 55 1))",
        "a003 OK FETCH completed",
        "* 1 FETCH (BODY[HEADER] {227}",
        "From: Fred Foobar <foobar@Blurdybloop.example>",
        "Subject: afternoon meeting",
        "To: mooch@owatagu.siam.edu.example",
        "Message-Id: <B27397-0100000@Blurdybloop.example>",
        "MIME-Version: 1.0",
        "Content-Type: TEXT/PLAIN; CHARSET=US-ASCII",
        "",
        ")",
        "a004 OK FETCH completed",
        "* 1 FETCH (FLAGS (\\Seen \\Deleted))",
        "a005 OK STORE completed",
        "* BYE Logging out",
        "a006 OK LOGOUT completed",
    ]);
    assert_eq!(out, expected);
    assert_eq!(
        log,
        vec![
            "Authenticate Login None alice",
            "Select INBOX false None",
            "Read 1 Message",
            "Read 1 Offsets",
            "WriteExternal 1 0..227",
            "Store [1] Add [Deleted] None",
        ] as Vec<&str>
    );
}

/// RFC 9051 flavour: ENABLE IMAP4rev2, then mailbox management, STATUS,
/// SEARCH answered with ESEARCH, COPY/MOVE with COPYUID, UID EXPUNGE.
const RFC9051: &[u8] = b"A1 AUTHENTICATE PLAIN\r\n\
AGFsaWNlAHNlY3JldA==\r\n\
A2 ENABLE IMAP4rev2 CONDSTORE\r\n\
A3 CREATE Archive/2024\r\n\
A4 LIST \"\" %\r\n\
A5 STATUS INBOX (MESSAGES UIDNEXT UNSEEN SIZE HIGHESTMODSEQ RECENT)\r\n\
A6 SELECT INBOX\r\n\
A7 SEARCH RETURN (MIN MAX COUNT) ALL\r\n\
A8 UID SEARCH FROM alice\r\n\
A9 COPY 1 Trash\r\n\
B1 MOVE 2 Archive/2024\r\n\
B2 STORE 1 +FLAGS.SILENT (\\Deleted)\r\n\
B3 UID EXPUNGE 1\r\n\
B4 RENAME Archive/2024 Archive/Y2024\r\n\
B5 DELETE Archive/Y2024\r\n\
B6 UNSELECT\r\n\
B7 LOGOUT\r\n";

#[test]
fn rfc9051_session_at_every_split_point() {
    let (out, log) = replay_all_splits(&store_with_two(), RFC9051);
    let expected = crlf(&[
        "* OK [CAPABILITY IMAP4rev1 IMAP4rev2 STARTTLS LITERAL+ SASL-IR ID ENABLE IDLE AUTH=PLAIN AUTH=LOGIN] imap.example.org IMAP sansmail ready",
        "+ ",
        "A1 OK [CAPABILITY IMAP4rev1 IMAP4rev2 LITERAL+ ID ENABLE IDLE NAMESPACE UIDPLUS MOVE UNSELECT CHILDREN SPECIAL-USE LIST-EXTENDED LIST-STATUS ESEARCH SEARCHRES STATUS=SIZE BINARY CREATE-SPECIAL-USE CONDSTORE QRESYNC SORT THREAD=ORDEREDSUBJECT THREAD=REFERENCES ESORT CONTEXT=SEARCH CONTEXT=SORT PARTIAL NOTIFY QUOTA QUOTA=RES-STORAGE QUOTA=RES-MESSAGE UTF8=ACCEPT OBJECTID SAVEDATE COMPRESS=DEFLATE URLAUTH MULTIAPPEND CATENATE] Logged in",
        "* ENABLED IMAP4rev2 CONDSTORE",
        "A2 OK ENABLE completed",
        "A3 OK Completed",
        "* LIST (\\Drafts \\HasNoChildren) \"/\" Drafts",
        "* LIST (\\HasNoChildren) \"/\" INBOX",
        "* LIST (\\Sent \\HasNoChildren) \"/\" Sent",
        "* LIST (\\Trash \\HasNoChildren) \"/\" Trash",
        "* LIST (\\NonExistent \\HasChildren) \"/\" Archive",
        "A4 OK LIST completed",
        "* STATUS INBOX (MESSAGES 2 UIDNEXT 3 UNSEEN 1 SIZE 405 HIGHESTMODSEQ 3)",
        "A5 OK STATUS completed",
        "* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft)",
        "* 2 EXISTS",
        "* OK [PERMANENTFLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft \\*)] Limited",
        "* OK [UIDVALIDITY 1700000000] UIDs valid",
        "* OK [UIDNEXT 3] Predicted next UID",
        "* OK [HIGHESTMODSEQ 3] Highest",
        "A6 OK [READ-WRITE] SELECT completed",
        "* ESEARCH (TAG \"A7\") MIN 1 MAX 2 COUNT 2",
        "A7 OK SEARCH completed",
        "* ESEARCH (TAG \"A8\") UID ALL 2",
        "A8 OK SEARCH completed",
        "A9 OK [COPYUID 1700000000 1 1] COPY completed",
        "* OK [COPYUID 1700000000 2 1] Moved UIDs",
        "* 2 EXPUNGE",
        "B1 OK MOVE completed",
        "B2 OK STORE completed",
        "* 1 EXPUNGE",
        "B3 OK EXPUNGE completed",
        "B4 OK Completed",
        "B5 OK Completed",
        "B6 OK UNSELECT completed",
        "* BYE Logging out",
        "B7 OK LOGOUT completed",
    ]);
    assert_eq!(out, expected);
    assert_eq!(
        log,
        vec![
            "Authenticate Plain None alice",
            "Mailbox Create { name: \"Archive/2024\", special_use: [] }",
            "List",
            "Status INBOX",
            "Select INBOX false None",
            "Read 1 Header",
            "Read 2 Header",
            "Copy [1] Trash false",
            "Copy [2] Archive/2024 true",
            "Store [1] Add [Deleted] None",
            "Expunge [1]",
            "Mailbox Rename { from: \"Archive/2024\", to: \"Archive/Y2024\" }",
            "Mailbox Delete { name: \"Archive/Y2024\" }",
        ] as Vec<&str>
    );
}

/// SORT and THREAD (RFC 5256) over four messages: the keys that need the
/// header ask for it once per message, ARRIVAL/SIZE ask for nothing, a
/// charset other than UTF-8/US-ASCII is `[BADCHARSET]`, and the whole
/// exchange is identical at every split point. The four messages get
/// mod-sequences 2..=5; a MODSEQ criterion adds `(MODSEQ n)` to SORT
/// (RFC 7162 §3.1.5) and, enabling CONDSTORE, an untagged HIGHESTMODSEQ
/// before the OK (§3.1).
#[test]
fn sort_and_thread_at_every_split_point() {
    let mut store = Store::default();
    let msgs: [&[u8]; 4] = [
        b"Message-ID: <a@x>\r\nFrom: zoe@example.org\r\nSubject: lunch\r\nDate: Tue, 5 Mar 2024 10:00:00 +0000\r\n\r\nhi\r\n",
        b"Message-ID: <b@x>\r\nReferences: <a@x>\r\nFrom: Adam <adam@example.org>\r\nSubject: Re: lunch\r\nDate: Tue, 5 Mar 2024 11:00:00 +0000\r\n\r\nyes, and more text\r\n",
        b"Message-ID: <c@x>\r\nFrom: bob@example.org\r\nSubject: [team] agenda\r\nDate: Mon, 4 Mar 2024 09:00:00 +0000\r\n\r\nx\r\n",
        b"Message-ID: <d@x>\r\nIn-Reply-To: <a@x>\r\nFrom: carl@example.org\r\nSubject: Re: lunch\r\nDate: Tue, 5 Mar 2024 12:00:00 +0000\r\n\r\nno\r\n",
    ];
    for m in msgs {
        store.add("INBOX", m, vec![]);
    }
    let input = b"a LOGIN alice secret\r\nb SELECT INBOX\r\n\
c SORT (SUBJECT DATE) UTF-8 ALL\r\n\
d UID SORT (REVERSE FROM) US-ASCII NOT 1\r\n\
e SORT (REVERSE SIZE) UTF-8 ALL\r\n\
f THREAD REFERENCES UTF-8 ALL\r\n\
g UID THREAD ORDEREDSUBJECT UTF-8 ALL\r\n\
h SORT (DATE) KOI8-R ALL\r\n\
i SORT (ARRIVAL) UTF-8 BODY nothing-matches\r\n\
j THREAD REFS UTF-8 ALL\r\n\
k SORT (REVERSE SIZE) UTF-8 MODSEQ 3\r\n";
    let (out, log) = replay_all_splits(&store, input);
    let tail: Vec<&str> = out
        .split("\r\n")
        .skip_while(|l| !l.starts_with("b OK"))
        .skip(1)
        .collect();
    assert_eq!(
        tail,
        vec![
            "* SORT 3 1 2 4",
            "c OK SORT completed",
            "* SORT 4 3 2",
            "d OK SORT completed",
            "* SORT 2 4 3 1",
            "e OK SORT completed",
            "* THREAD (3)(1 (2)(4))",
            "f OK THREAD completed",
            "* THREAD (3)(1 (2)(4))",
            "g OK THREAD completed",
            "h NO [BADCHARSET] Only UTF-8 and US-ASCII",
            "* SORT",
            "i OK SORT completed",
            "j BAD Syntax error in command",
            "* SORT 2 4 3 (MODSEQ 5)",
            "* OK [HIGHESTMODSEQ 5] Highest",
            "k OK SORT completed",
            "",
        ]
    );
    let reads: Vec<&str> = log
        .iter()
        .map(String::as_str)
        .filter(|l| l.starts_with("Read"))
        .collect();
    // c, d, f and g read each header once (d's NOT 1 is decided after
    // the read); e (SIZE) reads nothing; i's BODY streams the messages.
    let mut want = Vec::new();
    for _ in 0..4 {
        want.extend((1..=4).map(|uid| format!("Read {uid} Header")));
    }
    want.extend((1..=4).map(|uid| format!("Read {uid} Stream")));
    assert_eq!(reads, want);
}

/// QUOTA (RFC 9208): GETQUOTAROOT and GETQUOTA over the one root `""`,
/// STORAGE in KiB (rounded up) and MESSAGE, an unknown root or mailbox,
/// SETQUOTA refused, STATUS DELETED-STORAGE; at every split point.
#[test]
fn quota_at_every_split_point() {
    let mut store = store_with_two();
    store.quota = (Some(10 * 1024 * 1024), Some(1000));
    let input = b"a LOGIN alice secret\r\n\
b GETQUOTAROOT INBOX\r\n\
c GETQUOTA \"\"\r\n\
d GETQUOTA \"other\"\r\n\
e GETQUOTAROOT Nowhere\r\n\
f SETQUOTA \"\" (STORAGE 512)\r\n\
g STATUS INBOX (MESSAGES DELETED DELETED-STORAGE)\r\n\
h GETQUOTA\r\n";
    let (out, log) = replay_all_splits(&store, input);
    let tail: Vec<&str> = out
        .split("\r\n")
        .skip_while(|l| !l.starts_with("a OK"))
        .skip(1)
        .collect();
    // The two messages hold 282 + 123 octets: 1 KiB rounded up.
    assert_eq!(
        tail,
        vec![
            "* QUOTAROOT INBOX \"\"",
            "* QUOTA \"\" (STORAGE 1 10240 MESSAGE 2 1000)",
            "b OK GETQUOTAROOT completed",
            "* QUOTA \"\" (STORAGE 1 10240 MESSAGE 2 1000)",
            "c OK GETQUOTA completed",
            "d NO [NONEXISTENT] No such quota root",
            "e NO [NONEXISTENT] No such mailbox",
            "f NO [NOPERM] Quota limits are set in the server configuration",
            "* STATUS INBOX (MESSAGES 2 DELETED 0 DELETED-STORAGE 0)",
            "g OK STATUS completed",
            "h BAD Syntax error in command",
            "",
        ]
    );
    assert_eq!(
        log,
        vec![
            "Authenticate Login None alice",
            "Quota Some(\"INBOX\")",
            "Quota None",
            "Quota Some(\"Nowhere\")",
            "Status INBOX",
        ] as Vec<&str>
    );
    // Without limits there is no quota root.
    let (out, _) = replay_all_splits(
        &store_with_two(),
        b"a LOGIN alice secret\r\nb GETQUOTAROOT INBOX\r\nc GETQUOTA \"\"\r\n",
    );
    assert!(
        out.ends_with("* QUOTAROOT INBOX\r\nb OK GETQUOTAROOT completed\r\nc NO [NONEXISTENT] No such quota root\r\n"),
        "{out}"
    );
}
