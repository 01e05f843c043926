//! ESORT, CONTEXT=SEARCH/SORT (RFC 5267), PARTIAL (RFC 9394) and SEARCHRES
//! (RFC 5182) through the session with the canned-answer adapter
//! (tests/session_common): the RFC examples' grammar, exact transcripts,
//! and live contexts updated by other sessions' changes. Every transcript
//! is replayed whole, byte by byte and at every split point (or, with
//! other sessions' changes in between, in several chunk sizes) and must
//! give the same output.

mod session_common;

use imap_proto::session::ServerConfig;
use imap_proto::types::Flag;
use imap_proto::{Command, Encode, Response, Version};
use session_common::*;
use std::time::Instant;

fn config() -> ServerConfig {
    ServerConfig::new("sansmail ready")
}

/// INBOX with five messages of sizes 40, 10, 30, 20 and 50 octets (UIDs
/// 1 to 5), 1 and 3 `\Seen`: SIZE order is 2 4 3 1 5.
fn store_five() -> Store {
    let mut st = Store::default();
    for (size, seen) in [
        (40, true),
        (10, false),
        (30, true),
        (20, false),
        (50, false),
    ] {
        let flags = if seen { vec![Flag::Seen] } else { vec![] };
        st.add("INBOX", &message(size), flags);
    }
    for m in st.mailboxes.get_mut("INBOX").unwrap().messages.values_mut() {
        m.recent = false;
    }
    st
}

fn message(size: usize) -> Vec<u8> {
    let mut m = b"Subject: x\r\n\r\n".to_vec();
    m.resize(size, b'y');
    m
}

fn replay(store: &Store, input: &[u8], pieces: &[usize]) -> String {
    let mut h = Harness::with_store(config(), store.clone(), Instant::now());
    h.run_split(input, pieces);
    h.take_output()
}

/// Replays whole, byte by byte, and split at every point; all must agree.
fn replay_all_splits(store: &Store, input: &[u8]) -> String {
    let whole = replay(store, input, &[]);
    let mut h = Harness::with_store(config(), store.clone(), Instant::now());
    h.run(input, 1);
    assert_eq!(h.take_output(), whole, "byte by byte");
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

/// The output after the greeting and the LOGIN/SELECT answers.
fn after_select(out: &str) -> &str {
    let at = out.find("a2 OK [READ-WRITE] SELECT completed\r\n").unwrap();
    &out[at + "a2 OK [READ-WRITE] SELECT completed\r\n".len()..]
}

/// The commands and responses of the RFC 5267 and RFC 9394 examples (with
/// elided results filled in) parse and are written back octet for octet.
#[test]
fn rfc_examples_round_trip() {
    let commands = [
        "E01 UID SORT RETURN () (REVERSE DATE) UTF-8 UNDELETED UNKEYWORD $Junk\r\n",
        "A01 SEARCH RETURN (CONTEXT COUNT) UNDELETED UNKEYWORD $Junk\r\n",
        "B01 UID SEARCH RETURN (UPDATE COUNT) DELETED KEYWORD $Junk\r\n",
        "B02 UID SORT RETURN (UPDATE COUNT) (DATE) UTF-8 KEYWORD $Junk\r\n",
        "B04 CANCELUPDATE \"B01\"\r\n",
        "B05 CANCELUPDATE \"B01\" \"B02\"\r\n",
        "A02 UID SEARCH RETURN (PARTIAL 23500:24000) UNDELETED UNKEYWORD $Junk\r\n",
        "A03 UID SEARCH RETURN (PARTIAL -1:-100 COUNT) UNDELETED\r\n",
        "A04 UID SORT RETURN (PARTIAL 1:10 SAVE) (ARRIVAL) UTF-8 ALL\r\n",
        "A05 UID FETCH 1:* (FLAGS) (PARTIAL -1:-30)\r\n",
        "A06 UID FETCH 1:* (UID) (CHANGEDSINCE 5 PARTIAL 1:5)\r\n",
    ];
    for line in commands {
        let c = Command::parse(line.as_bytes()).unwrap_or_else(|e| panic!("{line}: {e:?}"));
        assert_eq!(String::from_utf8(c.to_bytes(Version::Rev2)).unwrap(), line);
    }
    let responses = [
        "* ESEARCH (TAG \"E01\") UID ALL 23765,23764,23763,23761\r\n",
        "* ESEARCH (TAG \"B01\") UID ADDTO (0 32768:32769)\r\n",
        "* ESEARCH (TAG \"C01\") UID ADDTO (1 2733 1 2732 1 2731)\r\n",
        "* ESEARCH (TAG \"C01\") UID ADDTO (1 2733) ADDTO (1 2731:2732)\r\n",
        "* ESEARCH (TAG \"B01\") UID REMOVEFROM (0 32768)\r\n",
        "* ESEARCH (TAG \"A02\") UID PARTIAL (23500:24000 67,100:120)\r\n",
        "* ESEARCH (TAG \"A04\") UID PARTIAL (24000:24500 NIL)\r\n",
        "* ESEARCH (TAG \"A05\") UID PARTIAL (-1:-100 5:7) COUNT 3\r\n",
        "* NO [NOUPDATE \"B02\"] Too many contexts\r\n",
    ];
    for line in responses {
        let r = Response::parse(line.as_bytes()).unwrap_or_else(|e| panic!("{line}: {e:?}"));
        assert_eq!(String::from_utf8(r.to_bytes(Version::Rev2)).unwrap(), line);
    }
    for bad in [
        &b"a SEARCH RETURN (PARTIAL 0:5) ALL\r\n"[..],
        b"a SEARCH RETURN (PARTIAL 1:*) ALL\r\n",
        b"a SEARCH RETURN (PARTIAL -1:5) ALL\r\n",
        b"a SEARCH RETURN (PARTIAL) ALL\r\n",
        b"a CANCELUPDATE\r\n",
        b"a CANCELUPDATE B01\r\n",
        b"a SORT RETURN (MIN) UTF-8 ALL\r\n",
    ] {
        assert!(
            Command::parse(bad).is_err(),
            "{:?}",
            String::from_utf8_lossy(bad)
        );
    }
}

/// ESORT answers (RFC 5267 §3), PARTIAL windows from either end
/// (RFC 9394) for SEARCH, UID SEARCH and SORT, and what SAVE keeps for `$`
/// (RFC 5182 §2.4) used in FETCH and in SEARCH criteria.
#[test]
fn esort_partial_and_saved_results() {
    let input = b"a1 LOGIN alice secret\r\na2 SELECT INBOX\r\n\
a3 UID SORT RETURN (MIN MAX COUNT ALL) (SIZE) UTF-8 ALL\r\n\
a4 SORT RETURN () (REVERSE SIZE) UTF-8 ALL\r\n\
a5 UID SEARCH RETURN (PARTIAL 1:2) UNSEEN\r\n\
a6 UID SEARCH RETURN (PARTIAL -1:-2 COUNT) ALL\r\n\
a7 SEARCH RETURN (PARTIAL 6:10) ALL\r\n\
a7b SEARCH RETURN (PARTIAL 4:2) ALL\r\n\
a8 UID SORT RETURN (PARTIAL 3:2) (SIZE) UTF-8 ALL\r\n\
a9 UID SORT RETURN (PARTIAL -1:-1) (SIZE) UTF-8 UNSEEN\r\n\
b0 SEARCH RETURN (PARTIAL 1:2 ALL) ALL\r\n\
b1 UID SORT RETURN (SAVE MIN) (REVERSE SIZE) UTF-8 ALL\r\n\
b2 UID FETCH $ (FLAGS)\r\n\
b3 UID SEARCH RETURN (SAVE PARTIAL 1:2) UNSEEN\r\n\
b4 SEARCH $\r\n\
b5 UID SEARCH UID $ SEEN\r\n\
b6 UID SEARCH RETURN (SAVE) OR $ 3\r\n\
b7 SEARCH $\r\n\
b8 UID SEARCH RETURN (SAVE) CHARSET KOI8-R ALL\r\n\
b9 SEARCH $\r\n\
c1 SORT (SIZE) UTF-8 ALL\r\n\
c2 SEARCH RETURN (X-FOO) ALL\r\n\
c3 UID FETCH 1:* (FLAGS) (PARTIAL -1:-2)\r\n\
c4 FETCH 2:* (UID) (PARTIAL 1:1)\r\n\
c5 UID FETCH 1:* (UID) (PARTIAL 6:9)\r\n";
    let out = replay_all_splits(&store_five(), input);
    let expected = crlf(&[
        "* ESEARCH (TAG \"a3\") UID MIN 2 MAX 5 ALL 2,4,3,1,5 COUNT 5",
        "a3 OK SORT completed",
        "* ESEARCH (TAG \"a4\") ALL 5,1,3:4,2",
        "a4 OK SORT completed",
        "* ESEARCH (TAG \"a5\") UID PARTIAL (1:2 2,4)",
        "a5 OK SEARCH completed",
        "* ESEARCH (TAG \"a6\") UID PARTIAL (-1:-2 4:5) COUNT 5",
        "a6 OK SEARCH completed",
        "* ESEARCH (TAG \"a7\") PARTIAL (6:10 NIL)",
        "a7 OK SEARCH completed",
        "* ESEARCH (TAG \"a7b\") PARTIAL (2:4 2:4)",
        "a7b OK SEARCH completed",
        // RFC 9394 §3.1: the range comes back as used, ascending.
        "* ESEARCH (TAG \"a8\") UID PARTIAL (2:3 4,3)",
        "a8 OK SORT completed",
        "* ESEARCH (TAG \"a9\") UID PARTIAL (-1:-1 5)",
        "a9 OK SORT completed",
        "b0 BAD PARTIAL and ALL exclude each other",
        "* ESEARCH (TAG \"b1\") UID MIN 5",
        "b1 OK SORT completed",
        "* 5 FETCH (UID 5 FLAGS ())",
        "b2 OK FETCH completed",
        "* ESEARCH (TAG \"b3\") UID PARTIAL (1:2 2,4)",
        "b3 OK SEARCH completed",
        "* SEARCH 2 4",
        "b4 OK SEARCH completed",
        "* SEARCH",
        "b5 OK SEARCH completed",
        "b6 OK SEARCH completed",
        "* SEARCH 2 3 4",
        "b7 OK SEARCH completed",
        "b8 NO [BADCHARSET] Only UTF-8 and US-ASCII",
        "* SEARCH",
        "b9 OK SEARCH completed",
        "* SORT 2 4 3 1 5",
        "c1 OK SORT completed",
        "c2 BAD Unknown RETURN option",
        // RFC 9394 §3.2: the FETCH PARTIAL modifier.
        "* 4 FETCH (UID 4 FLAGS ())",
        "* 5 FETCH (UID 5 FLAGS ())",
        "c3 OK FETCH completed",
        "* 2 FETCH (UID 2)",
        "c4 OK FETCH completed",
        "c5 OK FETCH completed",
    ]);
    assert_eq!(after_select(&out), expected);
}

/// One step of a scenario: client input, or another session's change.
enum Step<'a> {
    Input(&'a [u8]),
    Flags(u32, Vec<Flag>),
    Deliver(usize),
    Expunge(u32),
}

/// Runs the scenario feeding input in pieces of `chunk` octets.
fn scenario(config: ServerConfig, steps: &[Step<'_>], chunk: usize) -> String {
    let mut h = Harness::with_store(config, store_five(), Instant::now());
    for step in steps {
        match step {
            Step::Input(b) => h.run(b, chunk),
            Step::Flags(uid, f) => h.flags_other("INBOX", *uid, f.clone()),
            Step::Deliver(size) => {
                h.deliver("INBOX", &message(*size));
            }
            Step::Expunge(uid) => h.expunge_other("INBOX", *uid),
        }
    }
    h.take_output()
}

/// The same output whatever the chunking of the input.
fn scenario_all_chunks(config: &ServerConfig, steps: &[Step<'_>]) -> String {
    let whole = scenario(config.clone(), steps, usize::MAX);
    for chunk in [1, 2, 3, 7, 13] {
        assert_eq!(
            scenario(config.clone(), steps, chunk),
            whole,
            "chunk {chunk}"
        );
    }
    whole
}

/// CONTEXT=SEARCH and CONTEXT=SORT (RFC 5267 §4.3): three live contexts
/// (UID SEARCH, SEARCH with sequence numbers, UID SORT by REVERSE SIZE)
/// follow another session's flag changes, a delivery and an expunge, at
/// the next command or at once while idling; REMOVEFROM precedes the
/// EXPUNGE and ADDTO follows the EXISTS; CANCELUPDATE stops a context; a
/// reused tag is BAD; a context on content (SUBJECT) follows the
/// delivery and the expunge too.
#[test]
fn contexts_follow_other_sessions() {
    let steps = [
        Step::Input(
            b"a1 LOGIN alice secret\r\na2 SELECT INBOX\r\n\
a3 UID SEARCH RETURN (UPDATE COUNT) UNSEEN\r\n\
a4 SEARCH RETURN (UPDATE) UNSEEN\r\n\
a5 UID SORT RETURN (UPDATE ALL) (REVERSE SIZE) UTF-8 UNSEEN\r\n\
a6 UID SEARCH RETURN (UPDATE) SUBJECT x\r\n\
a3 UID SEARCH RETURN (UPDATE) ALL\r\n\
a7 SEARCH RETURN (UPDATE) 1:3\r\n",
        ),
        Step::Flags(2, vec![Flag::Seen]),
        Step::Input(b"a8 NOOP\r\n"),
        Step::Deliver(60),
        Step::Input(b"a9 NOOP\r\n"),
        Step::Expunge(4),
        Step::Input(b"b1 IDLE\r\n"),
        Step::Flags(1, vec![]),
        Step::Input(b"DONE\r\nb2 CANCELUPDATE \"a3\" \"a5\"\r\n"),
        Step::Flags(3, vec![]),
        Step::Input(b"b3 STORE 2 -FLAGS.SILENT (\\Seen)\r\nb4 UNSELECT\r\n"),
        Step::Flags(5, vec![Flag::Seen]),
        Step::Input(b"b5 SELECT INBOX\r\nb6 NOOP\r\n"),
    ];
    let out = scenario_all_chunks(&config(), &steps);
    let b5 = out.find("b5 OK").unwrap();
    let expected = crlf(&[
        "* ESEARCH (TAG \"a3\") UID COUNT 3",
        "a3 OK SEARCH completed",
        "* ESEARCH (TAG \"a4\") ALL 2,4:5",
        "a4 OK SEARCH completed",
        "* ESEARCH (TAG \"a5\") UID ALL 5,4,2",
        "a5 OK SORT completed",
        "* ESEARCH (TAG \"a6\") UID ALL 1:5",
        "a6 OK SEARCH completed",
        "a3 BAD Tag reuse",
        "* ESEARCH (TAG \"a7\") ALL 1:3",
        "* NO [NOUPDATE \"a7\"] Updates need UIDs, not sequence numbers",
        "a7 OK SEARCH completed",
        // uid 2 seen by another session
        "* ESEARCH (TAG \"a3\") UID REMOVEFROM (0 2)",
        "* ESEARCH (TAG \"a4\") REMOVEFROM (0 2)",
        "* ESEARCH (TAG \"a5\") UID REMOVEFROM (3 2)",
        "* 2 FETCH (FLAGS (\\Seen))",
        "a8 OK NOOP completed",
        // uid 6 (60 octets) delivered
        "* 6 EXISTS",
        "* 1 RECENT",
        "* ESEARCH (TAG \"a3\") UID ADDTO (0 6)",
        "* ESEARCH (TAG \"a4\") ADDTO (0 6)",
        "* ESEARCH (TAG \"a5\") UID ADDTO (1 6)",
        "* ESEARCH (TAG \"a6\") UID ADDTO (0 6)",
        "a9 OK NOOP completed",
        // uid 4 expunged: REMOVEFROM while its number is still valid
        "* ESEARCH (TAG \"a3\") UID REMOVEFROM (0 4)",
        "* ESEARCH (TAG \"a4\") REMOVEFROM (0 4)",
        "* ESEARCH (TAG \"a5\") UID REMOVEFROM (3 4)",
        "* ESEARCH (TAG \"a6\") UID REMOVEFROM (0 4)",
        "* 4 EXPUNGE",
        "+ idling",
        // uid 1 (40 octets) unseen again, pushed during IDLE
        "* 1 FETCH (FLAGS ())",
        "* ESEARCH (TAG \"a3\") UID ADDTO (0 1)",
        "* ESEARCH (TAG \"a4\") ADDTO (0 1)",
        "* ESEARCH (TAG \"a5\") UID ADDTO (3 1)",
        "b1 OK IDLE terminated",
        "b2 OK No further updates",
        // only a4 is left: uid 3 (now seq 3, changed by another session)
        // and uid 2 (this session's own STORE) are added
        "* 3 FETCH (FLAGS ())",
        "* ESEARCH (TAG \"a4\") ADDTO (0 2:3)",
        "b3 OK STORE completed",
    ]);
    let got = after_select(&out[..b5]);
    let got = &got[..got.find("b4 OK").unwrap()];
    assert_eq!(got, expected);
    // The contexts ended with the selection: nothing after b5.
    let tail = &out[b5..];
    assert!(!tail.contains("ESEARCH"), "{tail}");
}

/// RFC 5267 §4.3.1: past the limit of live contexts the update is refused
/// with NOUPDATE and the other return options still answered; cancelling
/// a context makes room again.
#[test]
fn context_limit() {
    let mut cfg = config();
    cfg.limits.max_update_contexts = 1;
    let steps = [
        Step::Input(
            b"a1 LOGIN alice secret\r\na2 SELECT INBOX\r\n\
a3 UID SEARCH RETURN (UPDATE MIN) UNSEEN\r\n\
a4 UID SORT RETURN (UPDATE COUNT) (SIZE) UTF-8 SEEN\r\n\
a5 CANCELUPDATE \"a3\"\r\n\
a6 UID SORT RETURN (UPDATE COUNT) (SIZE) UTF-8 SEEN\r\n",
        ),
        Step::Flags(2, vec![Flag::Seen]),
        Step::Input(b"a7 NOOP\r\n"),
    ];
    let out = scenario_all_chunks(&cfg, &steps);
    let expected = crlf(&[
        "* ESEARCH (TAG \"a3\") UID MIN 2",
        "a3 OK SEARCH completed",
        "* ESEARCH (TAG \"a4\") UID COUNT 2",
        "* NO [NOUPDATE \"a4\"] Too many contexts",
        "a4 OK SORT completed",
        "a5 OK No further updates",
        "* ESEARCH (TAG \"a6\") UID COUNT 2",
        "a6 OK SORT completed",
        // SIZE order of the seen messages 1 (40), 2 (10), 3 (30): 2 3 1
        "* 2 FETCH (FLAGS (\\Seen))",
        "* ESEARCH (TAG \"a6\") UID ADDTO (1 2)",
        "a7 OK NOOP completed",
    ]);
    assert_eq!(after_select(&out), expected);
}
