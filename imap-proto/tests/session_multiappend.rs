//! MULTIAPPEND (RFC 3502) and CATENATE (RFC 4469) transcripts, replayed
//! through the session with the canned adapter (tests/session_common),
//! whole, byte by byte and at every split point, with exact output and
//! event logs.

mod session_common;

use imap_proto::session::ServerConfig;
use imap_proto::types::Capability;
use session_common::*;
use std::time::Instant;

fn replay_with(
    config: &ServerConfig,
    store: &Store,
    input: &[u8],
    pieces: &[usize],
) -> (String, Vec<String>, Store) {
    let mut h = Harness::with_store(config.clone(), store.clone(), Instant::now());
    h.run_split(input, pieces);
    let out = h.take_output();
    // The greeting and the login's capability list are not what these
    // transcripts are about.
    let out = out
        .split_inclusive("\r\n")
        .filter(|l| !l.starts_with("* OK [CAPABILITY") && !l.starts_with("a OK [CAPABILITY"))
        .collect();
    (out, h.log, h.store)
}

/// Replays whole, byte by byte, and split at every point; all must agree.
fn replay_all_splits_with(
    config: &ServerConfig,
    store: &Store,
    input: &[u8],
) -> (String, Vec<String>, Store) {
    let whole = replay_with(config, store, input, &[]);
    let key = |r: &(String, Vec<String>, Store)| (r.0.clone(), r.1.clone());
    let bytes: Vec<usize> = (1..input.len()).collect();
    assert_eq!(
        key(&replay_with(config, store, input, &bytes)),
        key(&whole),
        "byte by byte"
    );
    for i in 1..input.len() {
        assert_eq!(
            key(&replay_with(config, store, input, &[i])),
            key(&whole),
            "split at {i}"
        );
    }
    whole
}

fn replay_all_splits(store: &Store, input: &[u8]) -> (String, Vec<String>, Store) {
    replay_all_splits_with(&ServerConfig::new("sansmail ready"), store, input)
}

fn crlf(lines: &[&str]) -> String {
    lines.iter().map(|l| format!("{l}\r\n")).collect()
}

const M1: &str = "Subject: one\r\n\r\nfirst\r\n";
const M2: &str = "Subject: two\r\n\r\nsecond body\r\n";
const M3: &str = "Subject: three\r\n\r\n3\r\n";

/// RFC 3502 §6.3.11: three messages in one APPEND, the first two as
/// synchronising literals (each `+` comes only after the adapter accepted
/// that message), the third non-synchronising; one commit at the end,
/// `APPENDUID` with the UID range (RFC 4315 §3), EXISTS before the OK.
#[test]
fn three_messages_in_one_append() {
    let store = store_with_two();
    let input = format!(
        "a LOGIN alice secret\r\n\
         b SELECT INBOX\r\n\
         c APPEND INBOX (\\Seen) {{{}}}\r\n{M1} (\\Flagged) \" 5-Mar-2024 10:20:30 +0100\" {{{}}}\r\n{M2} {{{}+}}\r\n{M3}\r\n\
         d LOGOUT\r\n",
        M1.len(),
        M2.len(),
        M3.len()
    );
    let (out, log, after) = replay_all_splits(&store, input.as_bytes());
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
            "b OK [READ-WRITE] SELECT completed",
            "+ Ready for literal data",
            "+ Ready for literal data",
            "* 5 EXISTS",
            "* 3 RECENT",
            "c OK [APPENDUID 1700000000 3:5] APPEND completed",
            "* BYE Logging out",
            "d OK LOGOUT completed",
        ])
    );
    let appends: Vec<&String> = log.iter().filter(|l| l.starts_with("Append")).collect();
    assert_eq!(
        appends,
        [
            &format!("AppendBegin INBOX [Seen] {}", M1.len()),
            &format!("AppendMessage INBOX [Flagged] Some({})", M2.len()),
            &format!("AppendMessage INBOX [] Some({})", M3.len()),
            &format!("AppendEnd INBOX {} {} {}", M1.len(), M2.len(), M3.len()),
        ]
    );
    let inbox = &after.mailboxes["INBOX"];
    assert_eq!(inbox.messages[&3].bytes, M1.as_bytes());
    assert_eq!(inbox.messages[&4].bytes, M2.as_bytes());
    assert_eq!(inbox.messages[&5].bytes, M3.as_bytes());
}

/// A MULTIAPPEND whose literals are all small non-synchronising ones
/// arrives as one command; the same events, in order.
#[test]
fn inline_literals_in_one_command() {
    let store = store_with_two();
    let input = format!(
        "a LOGIN alice secret\r\n\
         c APPEND Drafts {{{}+}}\r\n{M1} (\\Draft) {{{}+}}\r\n{M2}\r\n\
         d LOGOUT\r\n",
        M1.len(),
        M2.len()
    );
    let (out, log, after) = replay_all_splits(&store, input.as_bytes());
    assert_eq!(
        out,
        crlf(&[
            "c OK [APPENDUID 1700000000 1:2] APPEND completed",
            "* BYE Logging out",
            "d OK LOGOUT completed",
        ])
    );
    assert!(
        log.contains(&format!("AppendEnd Drafts {} {}", M1.len(), M2.len())),
        "{log:?}"
    );
    assert_eq!(after.mailboxes["Drafts"].messages.len(), 2);
}

/// RFC 3502 §6.3.11: if a later message is refused the whole command
/// fails and nothing is stored; a synchronising literal the client waits
/// for is never requested, so the tagged NO comes at once and the
/// connection goes on.
#[test]
fn a_refused_message_fails_the_whole_command() {
    let store = store_with_two();
    let mut config = ServerConfig::new("sansmail ready");
    config.limits.max_message_size = 40;
    let big = "x".repeat(41);
    let input = format!(
        "a LOGIN alice secret\r\n\
         c APPEND INBOX {{{}}}\r\n{M1} {{{}}}\r\n\
         d APPEND INBOX {{{}+}}\r\n{M1} {{{}+}}\r\n{big}\r\n\
         e APPEND Nope {{{}}}\r\n\
         f APPEND INBOX (\\Seen) {{{}}}\r\n{M1} ~{{3}}\r\nab\x00\r\n\
         g LOGOUT\r\n",
        M1.len(),
        big.len(),
        M1.len(),
        big.len(),
        M1.len(),
        M1.len()
    );
    let (out, log, after) = replay_all_splits_with(&config, &store, input.as_bytes());
    assert_eq!(
        out,
        crlf(&[
            "+ Ready for literal data",
            "c NO [TOOBIG] Message too large",
            "d NO [TOOBIG] Message too large",
            "e NO [TRYCREATE] No such mailbox",
            "+ Ready for literal data",
            "+ Ready for literal data",
            "f OK [APPENDUID 1700000000 3:4] APPEND completed",
            "* BYE Logging out",
            "g OK LOGOUT completed",
        ])
    );
    let appends: Vec<&String> = log.iter().filter(|l| l.starts_with("Append")).collect();
    assert_eq!(
        appends,
        [
            &format!("AppendBegin INBOX [] {}", M1.len()),
            &"AppendAbort".to_owned(),
            &format!("AppendBegin INBOX [] {}", M1.len()),
            &"AppendAbort".to_owned(),
            &format!("AppendBegin Nope [] {}", M1.len()),
            &format!("AppendBegin INBOX [Seen] {}", M1.len()),
            &"AppendMessage INBOX [] Some(3)".to_owned(),
            &format!("AppendEnd INBOX {} 3", M1.len()),
        ]
    );
    assert_eq!(after.mailboxes["INBOX"].messages.len(), 4);
    assert_eq!(after.mailboxes["INBOX"].messages[&4].bytes, b"ab\x00");
}

/// Without MULTIAPPEND offered, a second message is BAD and what began is
/// dropped.
#[test]
fn second_message_is_bad_unless_offered() {
    let store = store_with_two();
    let mut config = ServerConfig::new("sansmail ready");
    config
        .capabilities
        .after_login
        .retain(|c| *c != Capability::MultiAppend);
    let input = format!(
        "a LOGIN alice secret\r\n\
         c APPEND INBOX {{{}}}\r\n{M1} {{{}}}\r\n\
         d NOOP\r\n",
        M1.len(),
        M2.len()
    );
    let (out, log, after) = replay_all_splits_with(&config, &store, input.as_bytes());
    assert_eq!(
        out,
        crlf(&[
            "+ Ready for literal data",
            "c BAD MULTIAPPEND not supported",
            "d OK NOOP completed",
        ])
    );
    assert!(log.contains(&"AppendAbort".to_owned()), "{log:?}");
    assert_eq!(after.mailboxes["INBOX"].messages.len(), 2);
}

/// RFC 4469 §3 (its examples, relative URLs): TEXT and URL parts in
/// order, URL sections (HEADER, TEXT, a part number, HEADER.FIELDS) and
/// a partial; a bad URL fails with `[BADURL url]` and the literal after
/// it is never requested.
#[test]
fn catenate_parts_and_bad_urls() {
    let store = store_with_two();
    let t1 = "From: new@example.com\r\n\r\n";
    let t2 = "tail\r\n";
    let url1 = "/INBOX;UIDVALIDITY=1700000000/;UID=1/;SECTION=TEXT";
    let url2 = "/INBOX/;UID=2/;SECTION=HEADER.FIELDS%20(Subject)";
    let url3 = "/INBOX/;UID=1/;PARTIAL=0.4";
    let bad = "/INBOX;UIDVALIDITY=12345/;UID=1/;SECTION=HEADER";
    let input = format!(
        "a LOGIN alice secret\r\n\
         b APPEND Drafts (\\Seen) CATENATE (TEXT {{{}}}\r\n{t1} URL \"{url1}\" URL \"{url2}\" TEXT {{{}+}}\r\n{t2} URL {url3})\r\n\
         c APPEND Drafts CATENATE (TEXT {{{}}}\r\n{t1} URL \"{bad}\" TEXT {{{}}}\r\n\
         d APPEND Drafts CATENATE (URL \"{bad}\")\r\n\
         e LOGOUT\r\n",
        t1.len(),
        t2.len(),
        t1.len(),
        t2.len(),
    );
    let (out, log, after) = replay_all_splits(&store, input.as_bytes());
    assert_eq!(
        out,
        crlf(&[
            "+ Ready for literal data",
            "b OK [APPENDUID 1700000000 1] APPEND completed",
            "+ Ready for literal data",
            &format!("c NO [BADURL {bad}] Bad URL"),
            &format!("d NO [BADURL {bad}] Bad URL"),
            "* BYE Logging out",
            "e OK LOGOUT completed",
        ])
    );
    let inbox = &store.mailboxes["INBOX"].messages;
    let text1 = {
        let b = &inbox[&1].bytes;
        let at = b.windows(4).position(|w| w == b"\r\n\r\n").unwrap() + 4;
        b[at..].to_vec()
    };
    let subject2 = {
        let b = String::from_utf8_lossy(&inbox[&2].bytes).into_owned();
        let line = b
            .lines()
            .find(|l| l.starts_with("Subject:"))
            .unwrap()
            .to_owned();
        format!("{line}\r\n\r\n")
    };
    let mut expected = t1.as_bytes().to_vec();
    expected.extend_from_slice(&text1);
    expected.extend_from_slice(subject2.as_bytes());
    expected.extend_from_slice(t2.as_bytes());
    expected.extend_from_slice(&inbox[&1].bytes[..4]);
    let drafts = &after.mailboxes["Drafts"].messages;
    assert_eq!(drafts.len(), 1);
    assert_eq!(
        String::from_utf8_lossy(&drafts[&1].bytes),
        String::from_utf8_lossy(&expected)
    );
    let appends: Vec<&String> = log.iter().filter(|l| l.starts_with("Append")).collect();
    assert_eq!(
        appends,
        [
            &"AppendMessage Drafts [Seen] None".to_owned(),
            &format!("AppendUrl {url1}"),
            &format!("AppendUrl {url2}"),
            &format!("AppendUrl {url3}"),
            &format!("AppendEnd Drafts {}", expected.len()),
            &"AppendMessage Drafts [] None".to_owned(),
            &format!("AppendUrl {bad}"),
            &"AppendAbort".to_owned(),
            &"AppendMessage Drafts [] None".to_owned(),
            &format!("AppendUrl {bad}"),
            &"AppendAbort".to_owned(),
        ]
    );
}

/// CATENATE and plain literals mixed in one MULTIAPPEND (RFC 4469 §5 with
/// RFC 3502), all committed together.
#[test]
fn catenate_with_multiappend() {
    let store = store_with_two();
    let url = "/INBOX/;UID=1";
    let input = format!(
        "a LOGIN alice secret\r\n\
         b APPEND Sent CATENATE (URL \"{url}\") (\\Answered) {{{}}}\r\n{M1} CATENATE (TEXT {{{}}}\r\n{M2})\r\n\
         c LOGOUT\r\n",
        M1.len(),
        M2.len()
    );
    let (out, log, after) = replay_all_splits(&store, input.as_bytes());
    assert_eq!(
        out,
        crlf(&[
            "+ Ready for literal data",
            "+ Ready for literal data",
            "b OK [APPENDUID 1700000000 1:3] APPEND completed",
            "* BYE Logging out",
            "c OK LOGOUT completed",
        ])
    );
    let sent = &after.mailboxes["Sent"].messages;
    assert_eq!(sent[&1].bytes, store.mailboxes["INBOX"].messages[&1].bytes);
    assert_eq!(sent[&2].bytes, M1.as_bytes());
    assert_eq!(sent[&2].flags, vec![imap_proto::types::Flag::Answered]);
    assert_eq!(sent[&3].bytes, M2.as_bytes());
    let appends: Vec<&String> = log.iter().filter(|l| l.starts_with("Append")).collect();
    assert_eq!(appends.len(), 5, "{appends:?}");
}

/// Syntax errors inside the command: BAD with the tag, the connection
/// goes on, nothing is stored.
#[test]
fn malformed_multiappend_and_catenate() {
    let store = store_with_two();
    let input = format!(
        "a LOGIN alice secret\r\n\
         b APPEND INBOX {{{}+}}\r\n{M1} junk\r\n\
         c APPEND INBOX CATENATE ()\r\n\
         d APPEND INBOX CATENATE (URL)\r\n\
         e APPEND INBOX CATENATE (TEXT {{2+}}\r\nab\r\n\
         f APPEND INBOX CATENATE (BOGUS \"x\")\r\n\
         g APPEND INBOX\r\n\
         h NOOP\r\n",
        M1.len()
    );
    let (out, _log, after) = replay_all_splits(&store, input.as_bytes());
    assert_eq!(
        out,
        crlf(&[
            "b BAD Unexpected data after the message",
            "c BAD Syntax error in command",
            "d BAD Syntax error in command",
            "e BAD Syntax error in command",
            "f BAD Syntax error in command",
            "g BAD Syntax error in command",
            "h OK NOOP completed",
        ])
    );
    assert_eq!(after.mailboxes["INBOX"].messages.len(), 2);
}
