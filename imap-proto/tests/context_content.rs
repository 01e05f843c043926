//! Live search contexts (RFC 5267 §4.3) whose criteria read message
//! content (SUBJECT, BODY), through the session with the canned-answer
//! adapter: flag changes are re-evaluated against the content answers
//! kept from the searching command, a message delivered later is read
//! once and added after its EXISTS and before the tagged answer (while
//! idling: at DONE), an expunge is removed before its EXPUNGE, and more
//! content keys than a context can keep answers for get NOUPDATE. The
//! output is the same whatever the chunking of the input.

mod session_common;

use imap_proto::session::ServerConfig;
use imap_proto::types::Flag;
use session_common::*;
use std::time::Instant;

fn config() -> ServerConfig {
    ServerConfig::new("sansmail ready")
}

fn crlf(lines: &[&str]) -> String {
    let mut s = String::new();
    for l in lines {
        s.push_str(l);
        s.push_str("\r\n");
    }
    s
}

/// INBOX: 1 "alpha report", 2 "beta" with "needle" in its body, 3 "alpha
/// notes", 4 "gamma"; none seen or recent.
fn store() -> Store {
    let mut st = Store::default();
    for (subject, body) in [
        ("alpha report", "nothing"),
        ("beta", "a needle here"),
        ("alpha notes", "nothing"),
        ("gamma", "nothing"),
    ] {
        st.add("INBOX", &message(subject, body), vec![]);
    }
    for m in st.mailboxes.get_mut("INBOX").unwrap().messages.values_mut() {
        m.recent = false;
    }
    st
}

fn message(subject: &str, body: &str) -> Vec<u8> {
    format!("Subject: {subject}\r\n\r\n{body}\r\n").into_bytes()
}

enum Step<'a> {
    Input(&'a [u8]),
    Flags(u32, Vec<Flag>),
    Deliver(&'a str, &'a str),
    Expunge(u32),
}

fn scenario(steps: &[Step<'_>], chunk: usize) -> String {
    let mut h = Harness::with_store(config(), store(), Instant::now());
    for step in steps {
        match step {
            Step::Input(b) => h.run(b, chunk),
            Step::Flags(uid, f) => h.flags_other("INBOX", *uid, f.clone()),
            Step::Deliver(subject, body) => {
                h.deliver("INBOX", &message(subject, body));
            }
            Step::Expunge(uid) => h.expunge_other("INBOX", *uid),
        }
    }
    h.take_output()
}

fn scenario_all_chunks(steps: &[Step<'_>]) -> String {
    let whole = scenario(steps, usize::MAX);
    for chunk in [1, 2, 5, 11] {
        assert_eq!(scenario(steps, chunk), whole, "chunk {chunk}");
    }
    let at = whole
        .find("a2 OK [READ-WRITE] SELECT completed\r\n")
        .unwrap();
    whole[at + "a2 OK [READ-WRITE] SELECT completed\r\n".len()..].to_string()
}

#[test]
fn contexts_on_subject_and_body() {
    let steps = [
        Step::Input(
            b"a1 LOGIN alice secret\r\na2 SELECT INBOX\r\n\
a3 UID SEARCH RETURN (UPDATE) SUBJECT alpha UNSEEN\r\n\
a4 SEARCH RETURN (UPDATE ALL) BODY needle\r\n\
a5 STORE 1 +FLAGS (\\Seen)\r\n",
        ),
        // Another session: uid 3 seen, then unseen again.
        Step::Flags(3, vec![Flag::Seen]),
        Step::Input(b"a6 NOOP\r\n"),
        Step::Flags(3, vec![]),
        Step::Input(b"a7 NOOP\r\n"),
        Step::Deliver("alpha three", "with a needle"),
        Step::Input(b"a8 NOOP\r\n"),
        Step::Input(b"a9 IDLE\r\n"),
        Step::Deliver("alpha four", "hay"),
        Step::Input(b"DONE\r\n"),
        Step::Expunge(3),
        Step::Input(b"b1 NOOP\r\nb2 STORE 2 +FLAGS.SILENT (\\Seen)\r\n"),
    ];
    let out = scenario_all_chunks(&steps);
    let expected = crlf(&[
        "* ESEARCH (TAG \"a3\") UID ALL 1,3",
        "a3 OK SEARCH completed",
        "* ESEARCH (TAG \"a4\") ALL 2",
        "a4 OK SEARCH completed",
        // This session's own STORE: uid 1 leaves the SUBJECT context.
        "* 1 FETCH (FLAGS (\\Seen))",
        "* ESEARCH (TAG \"a3\") UID REMOVEFROM (0 1)",
        "a5 OK STORE completed",
        "* ESEARCH (TAG \"a3\") UID REMOVEFROM (0 3)",
        "* 3 FETCH (FLAGS (\\Seen))",
        "a6 OK NOOP completed",
        "* 3 FETCH (FLAGS ())",
        "* ESEARCH (TAG \"a3\") UID ADDTO (0 3)",
        "a7 OK NOOP completed",
        // Read once, after its EXISTS, for both contexts.
        "* 5 EXISTS",
        "* 1 RECENT",
        "* ESEARCH (TAG \"a3\") UID ADDTO (0 5)",
        "* ESEARCH (TAG \"a4\") ADDTO (0 5)",
        "a8 OK NOOP completed",
        "+ idling",
        "* 6 EXISTS",
        "* 2 RECENT",
        // Read when IDLE ends, before its tagged answer.
        "* ESEARCH (TAG \"a3\") UID ADDTO (0 6)",
        "a9 OK IDLE terminated",
        "* ESEARCH (TAG \"a3\") UID REMOVEFROM (0 3)",
        "* 3 EXPUNGE",
        "b1 OK NOOP completed",
        // The BODY context is untouched by flags: no update.
        "b2 OK STORE completed",
    ]);
    assert_eq!(out, expected);
}

/// A context keeps one answer per content key and message in 64 bits:
/// with 65 content keys the update is refused, the result still sent.
#[test]
fn too_many_content_keys_get_noupdate() {
    let mut cmd =
        b"a1 LOGIN alice secret\r\na2 SELECT INBOX\r\na3 SEARCH RETURN (UPDATE COUNT)".to_vec();
    for _ in 0..65 {
        cmd.extend_from_slice(b" SUBJECT a");
    }
    cmd.extend_from_slice(b"\r\na4 SEARCH RETURN (UPDATE COUNT)");
    for _ in 0..64 {
        cmd.extend_from_slice(b" SUBJECT a");
    }
    cmd.extend_from_slice(b"\r\n");
    let out = scenario_all_chunks(&[Step::Input(&cmd)]);
    let expected = crlf(&[
        "* ESEARCH (TAG \"a3\") COUNT 4",
        "* NO [NOUPDATE \"a3\"] Too many header and body criteria for updates",
        "a3 OK SEARCH completed",
        "* ESEARCH (TAG \"a4\") COUNT 4",
        "a4 OK SEARCH completed",
    ]);
    assert_eq!(out, expected);
}
