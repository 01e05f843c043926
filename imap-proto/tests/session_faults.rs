//! Faults found by conformance testing (issue 15), each replayed as a
//! transcript: FETCH of sections at different content levels, keywords
//! announced before use, CREATE with a trailing delimiter, LIST-EXTENDED
//! options, atoms as mailbox names, long ID lines, CONDSTORE/ESEARCH
//! mod-sequences and resynchronisation after lost change notices.

mod session_common;

use imap_proto::session::ServerConfig;
use imap_proto::types::{Atom, Flag};
use imap_proto::view::MessageSummary;
use session_common::*;
use std::time::Instant;

const MULTI: &[u8] = b"From: a@example.org\r\nSubject: two parts\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"b\"\r\n\r\npre\r\n--b\r\nContent-Type: text/plain\r\n\r\nfirst\r\n--b\r\nContent-Type: text/html\r\n\r\n<p>second</p>\r\n--b--\r\n";

fn logged_in(store: Store) -> Harness {
    let mut h = Harness::with_store(ServerConfig::new("hi"), store, Instant::now());
    h.run(b"L LOGIN alice secret\r\n", 1000);
    h.take_output();
    h
}

fn selected(store: Store) -> Harness {
    let mut h = logged_in(store);
    h.run(b"S SELECT INBOX\r\n", 1000);
    h.take_output();
    h.log.clear();
    h
}

fn multi_store() -> Store {
    let mut st = store_with_two();
    st.add("INBOX", MULTI, vec![]);
    for m in st.mailboxes.get_mut("INBOX").unwrap().messages.values_mut() {
        m.recent = false;
    }
    st
}

fn run(h: &mut Harness, input: &str) -> String {
    h.run(input.as_bytes(), 1000);
    h.take_output()
}

fn keyword(k: &str) -> Flag {
    Flag::Keyword(Atom::try_from(k).unwrap())
}

#[test]
fn fetch_header_fields_with_text() {
    let mut h = selected(multi_store());
    assert_eq!(
        run(
            &mut h,
            "f1 FETCH 2 (BODY.PEEK[HEADER.FIELDS (SUBJECT)] BODY.PEEK[TEXT])\r\n"
        ),
        "* 2 FETCH (BODY[HEADER.FIELDS (SUBJECT)] {18}\r\nSubject: Lunch\r\n\r\n BODY[TEXT] {7}\r\nNoon?\r\n)\r\nf1 OK FETCH completed\r\n"
    );
    assert_eq!(h.log, vec!["Read 2 Header", "WriteExternal 2 116..123"]);
}

#[test]
fn fetch_partial_text_with_header_fields() {
    let mut h = selected(multi_store());
    assert_eq!(
        run(
            &mut h,
            "f1 FETCH 1 (BODY.PEEK[TEXT]<0.20> BODY.PEEK[HEADER.FIELDS (FROM)])\r\n"
        ),
        "* 1 FETCH (BODY[TEXT]<0> {20}\r\nHello Joe, do you th BODY[HEADER.FIELDS (FROM)] {50}\r\nFrom: Fred Foobar <foobar@Blurdybloop.example>\r\n\r\n)\r\nf1 OK FETCH completed\r\n"
    );
}

#[test]
fn fetch_parts_header_text_and_rfc822_header_together() {
    let mut h = selected(multi_store());
    let out = run(
        &mut h,
        "f1 FETCH 3 (BODY.PEEK[1] BODY.PEEK[2] BODY.PEEK[2.MIME] BODY.PEEK[HEADER] BODY.PEEK[TEXT] RFC822.HEADER)\r\n",
    );
    let header = "From: a@example.org\r\nSubject: two parts\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"b\"\r\n\r\n";
    let text = "pre\r\n--b\r\nContent-Type: text/plain\r\n\r\nfirst\r\n--b\r\nContent-Type: text/html\r\n\r\n<p>second</p>\r\n--b--\r\n";
    let expected = format!(
        "* 3 FETCH (BODY[1] {{5}}\r\nfirst BODY[2] {{13}}\r\n<p>second</p> BODY[2.MIME] {{27}}\r\nContent-Type: text/html\r\n\r\n BODY[HEADER] {{{}}}\r\n{header} BODY[TEXT] {{{}}}\r\n{text} RFC822.HEADER {{{}}}\r\n{header})\r\nf3 OK FETCH completed\r\n",
        header.len(),
        text.len(),
        header.len()
    )
    .replace("f3 OK", "f1 OK");
    assert_eq!(out, expected);
    // One read of the offsets; every octet streamed from the "file".
    assert_eq!(h.log.first().map(String::as_str), Some("Read 3 Offsets"));
}

#[test]
fn fetch_envelope_with_a_part_reads_the_message() {
    let mut h = selected(multi_store());
    let out = run(&mut h, "f1 FETCH 3 (ENVELOPE BODY.PEEK[1])\r\n");
    assert!(out.contains(" BODY[1] {5}\r\nfirst)\r\n"), "{out}");
    assert_eq!(h.log, vec!["Read 3 Message"]);
}

#[test]
fn keyword_from_another_session_is_announced_before_fetch() {
    let mut h = selected(store_with_two());
    h.flags_other("INBOX", 2, vec![Flag::Flagged, keyword("$Label1")]);
    assert_eq!(
        run(&mut h, "n1 NOOP\r\n"),
        "* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft $Label1)\r\n\
         * OK [PERMANENTFLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft $Label1 \\*)] Flags permitted\r\n\
         * 2 FETCH (FLAGS (\\Flagged $Label1))\r\n\
         n1 OK NOOP completed\r\n"
    );
    // Known now: not announced again.
    h.flags_other("INBOX", 1, vec![keyword("$Label1")]);
    assert_eq!(
        run(&mut h, "n2 NOOP\r\n"),
        "* 1 FETCH (FLAGS ($Label1))\r\nn2 OK NOOP completed\r\n"
    );
}

#[test]
fn keyword_changed_during_fetch_is_announced_before_the_flags_item() {
    let mut h = selected(store_with_two());
    // The change arrives while the session is between commands; a FETCH
    // FLAGS (no flush before it) must still not show $Work unannounced.
    h.store
        .mailboxes
        .get_mut("INBOX")
        .unwrap()
        .messages
        .get_mut(&1)
        .unwrap()
        .flags = vec![keyword("$Work")];
    h.session
        .mailbox_changed(imap_proto::view::MailboxChange::Flags(vec![
            imap_proto::view::FlagUpdate {
                uid: nz(1),
                flags: vec![keyword("$Work")],
                mod_seq: 9,
            },
        ]));
    // The FETCH answer shows the new flags: the pending update is not
    // repeated after it.
    let out = run(&mut h, "f1 FETCH 1 FLAGS\r\n");
    assert_eq!(
        out,
        "* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft $Work)\r\n\
         * OK [PERMANENTFLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft $Work \\*)] Flags permitted\r\n\
         * 1 FETCH (FLAGS ($Work))\r\n\
         f1 OK FETCH completed\r\n"
    );
}

#[test]
fn own_store_of_a_new_keyword_announces_it_first() {
    let mut h = selected(store_with_two());
    assert_eq!(
        run(&mut h, "s1 STORE 1 +FLAGS ($Label2)\r\n"),
        "* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft $Label2)\r\n\
         * OK [PERMANENTFLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft $Label2 \\*)] Flags permitted\r\n\
         * 1 FETCH (FLAGS (\\Seen $Label2))\r\n\
         s1 OK STORE completed\r\n"
    );
}

#[test]
fn select_lists_keywords_in_use() {
    let mut st = store_with_two();
    st.add("INBOX", MSG2, vec![keyword("$Junk")]);
    let mut h = logged_in(st);
    let out = run(&mut h, "s1 EXAMINE INBOX\r\n");
    assert!(
        out.starts_with("* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft $Junk)\r\n"),
        "{out}"
    );
    // Read-only: PERMANENTFLAGS stays empty.
    assert!(
        out.contains("* OK [PERMANENTFLAGS ()] Limited\r\n"),
        "{out}"
    );
}

#[test]
fn new_message_with_a_keyword_is_announced_before_exists() {
    let mut h = selected(store_with_two());
    let s = h.store.add("INBOX", MSG2, vec![keyword("$Important")]);
    let s = MessageSummary { recent: false, ..s };
    h.session
        .mailbox_changed(imap_proto::view::MailboxChange::Added(vec![s]));
    let out = run(&mut h, "n1 NOOP\r\n");
    assert_eq!(
        out,
        "* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft $Important)\r\n\
         * OK [PERMANENTFLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft $Important \\*)] Flags permitted\r\n\
         * 3 EXISTS\r\n\
         n1 OK NOOP completed\r\n"
    );
}

#[test]
fn create_with_a_trailing_delimiter_creates_the_parent() {
    let mut h = logged_in(store_with_two());
    assert_eq!(run(&mut h, "c1 CREATE foo/\r\n"), "c1 OK Completed\r\n");
    assert!(h.store.mailboxes.contains_key("foo"));
    assert!(!h.store.mailboxes.contains_key("foo/"));
}

#[test]
fn list_extended_unknown_options_are_bad() {
    let mut h = logged_in(store_with_two());
    assert_eq!(
        run(&mut h, "l1 LIST (FOOBAR) \"\" *\r\n"),
        "l1 BAD Unknown LIST selection option\r\n"
    );
    assert_eq!(
        run(&mut h, "l2 LIST \"\" * RETURN (FOOBAR)\r\n"),
        "l2 BAD Unknown LIST return option\r\n"
    );
    assert_eq!(
        run(&mut h, "l3 LIST (RECURSIVEMATCH) \"\" *\r\n"),
        "l3 BAD RECURSIVEMATCH needs another selection option\r\n"
    );
    assert_eq!(
        run(&mut h, "l4 LIST (REMOTE RECURSIVEMATCH) \"\" *\r\n"),
        "l4 BAD RECURSIVEMATCH needs another selection option\r\n"
    );
    assert_eq!(
        run(&mut h, "l5 LIST (REMOTE) \"\" Sent\r\n"),
        "* LIST (\\Sent \\HasNoChildren) \"/\" Sent\r\nl5 OK LIST completed\r\n"
    );
}

fn tree_store() -> Store {
    let mut st = store_with_two();
    for name in ["Fruit", "Fruit/Banana", "Fruit/Apple", "Veg", "Veg/Leek"] {
        st.mailboxes
            .insert(name.into(), st.mailboxes["Sent"].clone_empty());
    }
    st.subscribed = ["Fruit/Banana", "Veg", "Veg/Leek"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    st
}

trait CloneEmpty {
    fn clone_empty(&self) -> Self;
}

impl CloneEmpty for Mbox {
    fn clone_empty(&self) -> Self {
        let mut m = self.clone();
        m.attributes.clear();
        m.messages.clear();
        m
    }
}

#[test]
fn list_recursivematch_reports_childinfo() {
    let mut h = logged_in(tree_store());
    assert_eq!(
        run(&mut h, "l1 LIST (SUBSCRIBED RECURSIVEMATCH) \"\" %\r\n"),
        "* LIST (\\HasChildren) \"/\" Fruit (\"CHILDINFO\" (\"SUBSCRIBED\"))\r\n\
         * LIST (\\HasChildren \\Subscribed) \"/\" Veg (\"CHILDINFO\" (\"SUBSCRIBED\"))\r\n\
         l1 OK LIST completed\r\n"
    );
    // Without RECURSIVEMATCH only the subscribed mailbox itself.
    assert_eq!(
        run(&mut h, "l2 LIST (SUBSCRIBED) \"\" %\r\n"),
        "* LIST (\\HasChildren \\Subscribed) \"/\" Veg\r\nl2 OK LIST completed\r\n"
    );
    // `*` reaches the children: no CHILDINFO needed.
    assert_eq!(
        run(&mut h, "l3 LIST (SUBSCRIBED RECURSIVEMATCH) \"\" *\r\n"),
        "* LIST (\\HasNoChildren \\Subscribed) \"/\" Fruit/Banana\r\n\
         * LIST (\\HasChildren \\Subscribed) \"/\" Veg\r\n\
         * LIST (\\HasNoChildren \\Subscribed) \"/\" Veg/Leek\r\n\
         l3 OK LIST completed\r\n"
    );
}

#[test]
fn lsub_percent_returns_noselect_parents() {
    let mut h = logged_in(tree_store());
    assert_eq!(
        run(&mut h, "l1 LSUB \"\" %\r\n"),
        "* LSUB () \"/\" Veg\r\n* LSUB (\\Noselect) \"/\" Fruit\r\nl1 OK LSUB completed\r\n"
    );
    assert_eq!(
        run(&mut h, "l2 LSUB \"\" Fruit/%\r\n"),
        "* LSUB () \"/\" Fruit/Banana\r\nl2 OK LSUB completed\r\n"
    );
}

const ATOM: &str = "!#$&'+,-.0123456789:;<=>?@^_`|}";

#[test]
fn select_of_an_unknown_atom_is_no() {
    let mut h = logged_in(store_with_two());
    assert_eq!(
        run(&mut h, &format!("s1 SELECT {ATOM}\r\n")),
        "s1 NO [NONEXISTENT] No such mailbox\r\n"
    );
    let out = run(&mut h, &format!("l1 LIST \"\" {ATOM}%*\r\n"));
    assert_eq!(out, "l1 OK LIST completed\r\n");
    assert_eq!(run(&mut h, "n1 NOOP\r\n"), "n1 OK NOOP completed\r\n");
}

#[test]
fn id_with_thirty_long_pairs() {
    let mut h = logged_in(store_with_two());
    let mut cmd = String::from("i1 ID (");
    for i in 0..30 {
        if i > 0 {
            cmd.push(' ');
        }
        let field = format!("f{i:02}{}", "k".repeat(1021));
        let value = "v".repeat(1024);
        cmd.push_str(&format!("\"{field}\" \"{value}\""));
    }
    cmd.push_str(")\r\n");
    assert!(cmd.len() > 60_000);
    assert_eq!(
        run(&mut h, &cmd),
        "* ID (\"name\" \"sansmail\")\r\ni1 OK ID completed\r\n"
    );
}

/// RFC 7162 §3.1: the first CONDSTORE-enabling command while a mailbox is
/// selected gets an untagged `OK [HIGHESTMODSEQ n]` before its tagged OK.
#[test]
fn first_condstore_fetch_and_search_carry_highestmodseq() {
    let mut h = selected(store_with_two());
    // store_with_two: mod-sequences 2 and 3, HIGHESTMODSEQ 3.
    assert_eq!(
        run(&mut h, "f1 FETCH 1 (MODSEQ)\r\n"),
        "* 1 FETCH (MODSEQ (2))\r\n* OK [HIGHESTMODSEQ 3] Highest\r\nf1 OK FETCH completed\r\n"
    );
    assert_eq!(
        run(&mut h, "f2 FETCH 1 (MODSEQ)\r\n"),
        "* 1 FETCH (MODSEQ (2))\r\nf2 OK FETCH completed\r\n"
    );
    let mut h = selected(store_with_two());
    assert_eq!(
        run(&mut h, "s1 SEARCH MODSEQ 1\r\n"),
        "* SEARCH 1 2 (MODSEQ 3)\r\n* OK [HIGHESTMODSEQ 3] Highest\r\ns1 OK SEARCH completed\r\n"
    );
}

#[test]
fn esearch_min_max_report_the_returned_messages_modseq() {
    let mut h = selected(store_with_two());
    h.run(b"e0 ENABLE CONDSTORE\r\n", 1000);
    h.take_output();
    assert_eq!(
        run(&mut h, "s1 SEARCH RETURN (MIN) MODSEQ 1\r\n"),
        "* ESEARCH (TAG \"s1\") MIN 1 MODSEQ 2\r\ns1 OK SEARCH completed\r\n"
    );
    assert_eq!(
        run(&mut h, "s2 SEARCH RETURN (MAX) MODSEQ 1\r\n"),
        "* ESEARCH (TAG \"s2\") MAX 2 MODSEQ 3\r\ns2 OK SEARCH completed\r\n"
    );
    assert_eq!(
        run(&mut h, "s3 SEARCH RETURN (MIN COUNT) MODSEQ 1\r\n"),
        "* ESEARCH (TAG \"s3\") MIN 1 COUNT 2 MODSEQ 3\r\ns3 OK SEARCH completed\r\n"
    );
}

#[test]
fn resync_after_lost_notices_announces_the_differences() {
    let mut h = selected(multi_store());
    let summaries: Vec<MessageSummary> = {
        let mb = h.store.mailboxes.get_mut("INBOX").unwrap();
        mb.messages.remove(&1);
        mb.messages.get_mut(&2).unwrap().flags = vec![Flag::Seen];
        mb.messages.get_mut(&2).unwrap().mod_seq = 20;
        let mut v: Vec<MessageSummary> = mb.messages.iter().map(|(u, m)| summary(*u, m)).collect();
        let mut added = summary(3, &mb.messages[&3]);
        added.uid = nz(4);
        added.recent = true;
        v.push(added);
        v
    };
    h.session.mailbox_resync(summaries.clone());
    // FETCH, STORE and SEARCH hold EXPUNGE back; NOOP sends everything.
    assert_eq!(
        run(&mut h, "n1 NOOP\r\n"),
        "* 1 EXPUNGE\r\n* 3 EXISTS\r\n* 1 RECENT\r\n* 1 FETCH (FLAGS (\\Seen))\r\nn1 OK NOOP completed\r\n"
    );
    // Fed again, the same list changes nothing.
    h.session.mailbox_resync(summaries);
    assert_eq!(run(&mut h, "n2 NOOP\r\n"), "n2 OK NOOP completed\r\n");
}

/// rfc/008.eml of the corpus (testdata/encoded_rfc822.eml): a `message/rfc822` part in base64.
const ENCODED_RFC822: &[u8] = include_bytes!("../testdata/encoded_rfc822.eml");

/// The encapsulated message of [`ENCODED_RFC822`], decoded.
fn encapsulated() -> Vec<u8> {
    let text = String::from_utf8_lossy(ENCODED_RFC822);
    let start = text.find("base64\n\n").unwrap() + "base64\n\n".len();
    let end = text[start..].find("\n--").unwrap() + start;
    let b64: String = text[start..end].split_whitespace().collect();
    decode_base64(&b64)
}

fn decode_base64(s: &str) -> Vec<u8> {
    let val = |c: u8| match c {
        b'A'..=b'Z' => c - b'A',
        b'a'..=b'z' => c - b'a' + 26,
        b'0'..=b'9' => c - b'0' + 52,
        b'+' => 62,
        _ => 63,
    };
    let mut out = Vec::new();
    let bytes: Vec<u8> = s.bytes().filter(|b| *b != b'=').collect();
    for chunk in bytes.chunks(4) {
        let mut n = 0u32;
        for (i, c) in chunk.iter().enumerate() {
            n |= u32::from(val(*c)) << (18 - 6 * i);
        }
        let k = chunk.len() * 6 / 8;
        for i in 0..k {
            out.push((n >> (16 - 8 * i)) as u8);
        }
    }
    out
}

#[test]
fn header_and_text_of_a_base64_message_rfc822_part() {
    let mut st = store_with_two();
    st.add("INBOX", ENCODED_RFC822, vec![]);
    let mut h = selected(st);
    let inner = encapsulated();
    let split = inner.windows(4).position(|w| w == b"\r\n\r\n").unwrap() + 4;
    let (head, text) = inner.split_at(split);
    assert!(head.starts_with(b"To: \"email@example.com\""));
    let out = run(
        &mut h,
        "f1 FETCH 3 (BODY.PEEK[2.HEADER] BODY.PEEK[2.TEXT])\r\n",
    );
    let want = format!(
        "* 3 FETCH (BODY[2.HEADER] {{{}}}\r\n{} BODY[2.TEXT] {{{}}}\r\n{})\r\nf1 OK FETCH completed\r\n",
        head.len(),
        String::from_utf8_lossy(head),
        text.len(),
        String::from_utf8_lossy(text)
    );
    assert_eq!(out, want);
    // The offsets showed an encoded part: the message was read again whole.
    assert_eq!(h.log, vec!["Read 3 Offsets", "Read 3 Message"]);
    // A part that is no message has no HEADER: NIL, as before.
    let out = run(&mut h, "f2 FETCH 3 (BODY.PEEK[1.HEADER])\r\n");
    assert_eq!(
        out,
        "* 3 FETCH (BODY[1.HEADER] NIL)\r\nf2 OK FETCH completed\r\n"
    );
}

/// Two sessions on one store, with INBOX selected in both: the test plays
/// the adapter, turning what one session's commands changed in the store
/// into [`MailboxChange`]s for the other. As the server glue does, the
/// first session told of a new message claims its `\Recent`.
struct Pair {
    sessions: [Harness; 2],
    store: Store,
}

type Snapshot = std::collections::BTreeMap<u32, (Vec<Flag>, u64)>;

fn snapshot(store: &Store) -> Snapshot {
    store.mailboxes["INBOX"]
        .messages
        .iter()
        .map(|(u, m)| (*u, (m.flags.clone(), m.mod_seq)))
        .collect()
}

impl Pair {
    fn new(store: Store) -> Self {
        let a = selected(store.clone());
        let mut b = selected(store.clone());
        b.store = Store::default();
        let mut store = store;
        // Both SELECTs claimed what was \Recent.
        for m in store
            .mailboxes
            .get_mut("INBOX")
            .unwrap()
            .messages
            .values_mut()
        {
            m.recent = false;
        }
        Pair {
            sessions: [a, b],
            store,
        }
    }

    /// Runs `input` in session `who`, then tells the other one.
    fn run(&mut self, who: usize, input: &str) -> String {
        let before = snapshot(&self.store);
        let s = &mut self.sessions[who];
        std::mem::swap(&mut s.store, &mut self.store);
        s.run(input.as_bytes(), 1000);
        std::mem::swap(&mut s.store, &mut self.store);
        let out = s.take_output();
        // The harness fed this session its own APPEND (claimed by it).
        for m in self
            .store
            .mailboxes
            .get_mut("INBOX")
            .unwrap()
            .messages
            .values_mut()
        {
            m.recent = false;
        }
        self.notify(1 - who, &before);
        out
    }

    /// Someone else delivers to INBOX; session `first` is told first.
    fn deliver(&mut self, first: usize, bytes: &[u8]) {
        let before = snapshot(&self.store);
        self.store.add("INBOX", bytes, vec![]);
        self.notify(first, &before);
        self.notify(1 - first, &before);
    }

    fn notify(&mut self, who: usize, before: &Snapshot) {
        let after = snapshot(&self.store);
        let mb = self.store.mailboxes.get_mut("INBOX").unwrap();
        let mut added = Vec::new();
        let mut flags = Vec::new();
        for (uid, (f, ms)) in &after {
            match before.get(uid) {
                None => {
                    let m = mb.messages.get_mut(uid).unwrap();
                    added.push(summary(*uid, m));
                    m.recent = false;
                }
                Some((old, _)) if old != f => flags.push(imap_proto::view::FlagUpdate {
                    uid: nz(*uid),
                    flags: f.clone(),
                    mod_seq: *ms,
                }),
                _ => {}
            }
        }
        let gone: Vec<_> = before
            .keys()
            .filter(|u| !after.contains_key(u))
            .map(|u| nz(*u))
            .collect();
        let s = &mut self.sessions[who];
        use imap_proto::view::MailboxChange as C;
        s.session.mailbox_changed(C::Expunged(gone));
        s.session.mailbox_changed(C::Flags(flags));
        s.session.mailbox_changed(C::Added(added));
        s.drain();
    }
}

#[test]
fn two_sessions_keywords_are_announced_in_both() {
    let mut p = Pair::new(store_with_two());
    assert_eq!(
        p.run(0, "a1 STORE 1 +FLAGS ($Label1)\r\n"),
        "* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft $Label1)\r\n\
         * OK [PERMANENTFLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft $Label1 \\*)] Flags permitted\r\n\
         * 1 FETCH (FLAGS (\\Seen $Label1))\r\n\
         a1 OK STORE completed\r\n"
    );
    assert_eq!(
        p.run(1, "b1 FETCH 1 FLAGS\r\n"),
        "* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft $Label1)\r\n\
         * OK [PERMANENTFLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft $Label1 \\*)] Flags permitted\r\n\
         * 1 FETCH (FLAGS (\\Seen $Label1))\r\n\
         b1 OK FETCH completed\r\n"
    );
    // B stores a second keyword on message 2: A learns the grown list first.
    let out = p.run(1, "b2 STORE 2 +FLAGS.SILENT ($Label2)\r\n");
    assert!(
        out.starts_with(
            "* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft $Label1 $Label2)\r\n"
        ),
        "{out}"
    );
    assert_eq!(
        p.run(0, "a2 NOOP\r\n"),
        "* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft $Label1 $Label2)\r\n\
         * OK [PERMANENTFLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft $Label1 $Label2 \\*)] Flags permitted\r\n\
         * 2 FETCH (FLAGS ($Label2))\r\n\
         a2 OK NOOP completed\r\n"
    );
}

#[test]
fn two_sessions_recent_in_exactly_one() {
    let mut p = Pair::new(store_with_two());
    // A delivery both are told of: A first, so A shows it \Recent.
    p.deliver(0, MSG2);
    assert_eq!(
        p.run(0, "a1 NOOP\r\n"),
        "* 3 EXISTS\r\n* 1 RECENT\r\na1 OK NOOP completed\r\n"
    );
    assert_eq!(
        p.run(1, "b1 NOOP\r\n"),
        "* 3 EXISTS\r\nb1 OK NOOP completed\r\n"
    );
    assert_eq!(
        p.run(0, "a2 FETCH 3 FLAGS\r\n"),
        "* 3 FETCH (FLAGS (\\Recent))\r\na2 OK FETCH completed\r\n"
    );
    assert_eq!(
        p.run(1, "b2 FETCH 3 FLAGS\r\n"),
        "* 3 FETCH (FLAGS ())\r\nb2 OK FETCH completed\r\n"
    );
    // B's own APPEND: B is told first (EXISTS before its OK) and claims it.
    let out = p.run(1, "b3 APPEND INBOX {6}\r\nHello!\r\n");
    assert!(
        out.ends_with(
            "* 4 EXISTS\r\n* 1 RECENT\r\nb3 OK [APPENDUID 1700000000 4] APPEND completed\r\n"
        ),
        "{out}"
    );
    assert_eq!(
        p.run(0, "a3 NOOP\r\n"),
        "* 4 EXISTS\r\na3 OK NOOP completed\r\n"
    );
    // STATUS agrees: nothing left to claim.
    assert_eq!(
        p.run(0, "a4 STATUS INBOX (MESSAGES RECENT)\r\n"),
        "* STATUS INBOX (MESSAGES 4 RECENT 0)\r\na4 OK STATUS completed\r\n"
    );
}

#[test]
fn first_condstore_store_carries_highestmodseq() {
    let mut h = selected(store_with_two());
    // UNCHANGEDSINCE 3 passes for both (mod-sequences 2 and 3): new 4, 5.
    assert_eq!(
        run(
            &mut h,
            "s1 STORE 1:2 (UNCHANGEDSINCE 3) +FLAGS.SILENT (\\Flagged)\r\n"
        ),
        "* OK [HIGHESTMODSEQ 5] Highest\r\ns1 OK STORE completed\r\n"
    );
    let mut h = selected(store_with_two());
    // Message 2 (mod-sequence 3) fails UNCHANGEDSINCE 2: MODIFIED in the
    // tagged OK, HIGHESTMODSEQ untagged before it.
    assert_eq!(
        run(
            &mut h,
            "s1 STORE 1:2 (UNCHANGEDSINCE 2) +FLAGS.SILENT (\\Flagged)\r\n"
        ),
        "* OK [HIGHESTMODSEQ 4] Highest\r\ns1 OK [MODIFIED 2] Conditional STORE failed\r\n"
    );
}
