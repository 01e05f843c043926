//! Flows: STARTTLS and plaintext policy, autologout, untagged update
//! rules, CONDSTORE/QRESYNC, large bodies, streamed APPEND; every output
//! parses with the crate's response parser.

mod session_common;

use imap_proto::framer::{Frame, Framer, Role};
use imap_proto::session::{Limits, ServerConfig, SessionState};
use imap_proto::{Limits as CodecLimits, Response};
use session_common::*;
use std::time::{Duration, Instant};

/// Every response in `out` parses (the client-role framer cuts them).
fn assert_parses(out: &[u8]) -> usize {
    let limits = CodecLimits {
        max_literal_size: u64::MAX / 2,
        max_command_size: usize::MAX / 2,
        max_line_length: usize::MAX / 2,
        ..Default::default()
    };
    let mut f = Framer::new(Role::Client, limits);
    let mut input = out;
    let mut n = 0;
    while !input.is_empty() {
        let (used, frame) = f.feed(input);
        input = &input[used..];
        match frame {
            Some(Frame::Complete(bytes)) => {
                Response::parse(&bytes).unwrap_or_else(|e| {
                    panic!("unparsable {:?}: {e:?}", String::from_utf8_lossy(&bytes))
                });
                n += 1;
            }
            Some(other) => panic!("unexpected frame {other:?}"),
            None => assert!(used > 0, "incomplete output"),
        }
    }
    n
}

fn selected(config: ServerConfig) -> Harness {
    let mut h = Harness::with_store(config, store_with_two(), Instant::now());
    h.run(b"L LOGIN alice secret\r\nS SELECT INBOX\r\n", 1000);
    h.take_output();
    h
}

/// STARTTLS is offered only when the embedder enables it (it needs a TLS
/// acceptor); without it the greeting leaves it out and the command is
/// refused (RFC 9051 §6.2.1: STARTTLS is for servers that offer it). The
/// greeting is built from the hostname, as in smtp-proto and pop3-proto.
#[test]
fn starttls_is_off_by_default_and_the_greeting_names_the_host() {
    let config = ServerConfig::new("imap.example.org");
    assert!(!config.starttls);
    let mut h = Harness::with_store(config, store_with_two(), Instant::now());
    assert_eq!(
        h.take_output(),
        "* OK [CAPABILITY IMAP4rev1 IMAP4rev2 LITERAL+ SASL-IR ID ENABLE IDLE AUTH=PLAIN AUTH=LOGIN] imap.example.org IMAP sansmail ready\r\n"
    );
    h.run(b"a1 CAPABILITY\r\na2 STARTTLS\r\n", 1000);
    assert_eq!(
        h.take_output(),
        "* CAPABILITY IMAP4rev1 IMAP4rev2 LITERAL+ SASL-IR ID ENABLE IDLE AUTH=PLAIN AUTH=LOGIN\r\na1 OK CAPABILITY completed\r\na2 BAD STARTTLS not available\r\n"
    );
}

#[test]
fn starttls_discards_pipelined_input_and_changes_capabilities() {
    let mut config = ServerConfig::new("hi");
    config.starttls = true;
    config.allow_plaintext = false;
    let mut h = Harness::with_store(config, store_with_two(), Instant::now());
    assert_eq!(
        h.take_output(),
        "* OK [CAPABILITY IMAP4rev1 IMAP4rev2 STARTTLS LITERAL+ SASL-IR ID ENABLE IDLE LOGINDISABLED] hi IMAP sansmail ready\r\n"
    );
    h.run(b"a1 LOGIN alice secret\r\n", 1000);
    assert_eq!(
        h.take_output(),
        "a1 NO [PRIVACYREQUIRED] Authentication requires TLS\r\n"
    );
    h.run(b"a2 AUTHENTICATE PLAIN AGFsaWNlAHNlY3JldA==\r\n", 1000);
    assert_eq!(
        h.take_output(),
        "a2 NO [PRIVACYREQUIRED] Authentication requires TLS\r\n"
    );
    // The LOGIN pipelined after STARTTLS is injected plaintext: dropped.
    h.run(b"a3 STARTTLS\r\na4 LOGIN alice secret\r\n", 1000);
    assert_eq!(h.take_output(), "a3 OK Begin TLS negotiation now\r\n");
    assert_eq!(h.log, vec!["Switch StartTls 0"]);
    assert!(h.session.tls_active());
    assert_eq!(h.session.state(), SessionState::NotAuthenticated);
    h.run(
        b"a5 CAPABILITY\r\na6 STARTTLS\r\na7 LOGIN alice secret\r\n",
        1000,
    );
    let out = h.take_output();
    assert!(out.starts_with(
        "* CAPABILITY IMAP4rev1 IMAP4rev2 LITERAL+ SASL-IR ID ENABLE IDLE AUTH=PLAIN AUTH=LOGIN\r\na5 OK CAPABILITY completed\r\na6 BAD STARTTLS not available\r\na7 OK [CAPABILITY IMAP4rev1 "
    ));
    assert_eq!(h.session.state(), SessionState::Authenticated);
}

#[test]
fn autologout_before_and_after_login() {
    let mut h = Harness::with_store(ServerConfig::new("hi"), store_with_two(), Instant::now());
    h.take_output();
    let t0 = h.now;
    assert_eq!(h.session.poll_timeout(), Some(t0 + Duration::from_secs(60)));
    h.advance(Duration::from_secs(61));
    assert_eq!(h.take_output(), "* BYE Autologout; idle for too long\r\n");
    assert!(h.session.is_closed());

    let mut h = Harness::with_store(ServerConfig::new("hi"), store_with_two(), Instant::now());
    h.run(b"a LOGIN alice secret\r\n", 100);
    h.take_output();
    // Input arrived: the first expiry only re-arms, now with 30 minutes.
    h.advance(Duration::from_secs(61));
    assert_eq!(h.take_output(), "");
    assert_eq!(
        h.session.poll_timeout(),
        Some(h.now + Limits::default().autologout)
    );
    h.advance(Duration::from_secs(29 * 60));
    assert_eq!(h.take_output(), "");
    h.advance(Duration::from_secs(61));
    assert_eq!(h.take_output(), "* BYE Autologout; idle for too long\r\n");
    assert!(h.session.is_closed());
}

#[test]
fn no_expunge_during_fetch_store_search_but_at_noop() {
    let mut h = selected(ServerConfig::new("hi"));
    h.expunge_other("INBOX", 1);
    let uid3 = h.deliver("INBOX", b"Subject: new\r\n\r\nx\r\n");
    assert_eq!(uid3, 3);
    assert_eq!(h.take_output(), "");
    // RFC 9051 §7.5.1: no EXPUNGE during FETCH; EXISTS may be sent.
    h.run(b"f1 FETCH 1:* (FLAGS)\r\n", 1000);
    assert_eq!(
        h.take_output(),
        "* 1 FETCH (FLAGS (\\Seen))\r\n* 2 FETCH (FLAGS ())\r\n* 3 EXISTS\r\n* 1 RECENT\r\nf1 OK FETCH completed\r\n"
    );
    h.run(b"f2 SEARCH ALL\r\n", 1000);
    assert_eq!(
        h.take_output(),
        "* SEARCH 1 2 3\r\nf2 OK SEARCH completed\r\n"
    );
    h.run(b"f3 NOOP\r\n", 1000);
    assert_eq!(h.take_output(), "* 1 EXPUNGE\r\nf3 OK NOOP completed\r\n");
    h.run(b"f4 FETCH 1:* (UID)\r\n", 1000);
    assert_eq!(
        h.take_output(),
        "* 1 FETCH (UID 2)\r\n* 2 FETCH (UID 3)\r\nf4 OK FETCH completed\r\n"
    );
    // Flag changes by others become FETCH FLAGS at the next command.
    h.flags_other("INBOX", 3, vec![imap_proto::types::Flag::Flagged]);
    h.run(b"f5 UID SEARCH FLAGGED\r\n", 1000);
    assert_eq!(
        h.take_output(),
        "* SEARCH 3\r\n* 2 FETCH (FLAGS (\\Flagged \\Recent))\r\nf5 OK SEARCH completed\r\n"
    );
}

#[test]
fn idle_pushes_updates_at_once() {
    let mut h = selected(ServerConfig::new("hi"));
    h.run(b"i1 IDLE\r\n", 1000);
    assert_eq!(h.take_output(), "+ idling\r\n");
    h.deliver("INBOX", b"Subject: a\r\n\r\nb\r\n");
    assert_eq!(h.take_output(), "* 3 EXISTS\r\n* 1 RECENT\r\n");
    h.expunge_other("INBOX", 2);
    assert_eq!(h.take_output(), "* 2 EXPUNGE\r\n");
    h.run(b"DONE\r\n", 1000);
    assert_eq!(h.take_output(), "i1 OK IDLE terminated\r\n");
    h.run(b"i2 IDLE\r\nNOPE\r\n", 1000);
    assert_eq!(h.take_output(), "+ idling\r\ni2 BAD Expected DONE\r\n");
}

#[test]
fn condstore_and_qresync() {
    let mut h = Harness::with_store(ServerConfig::new("hi"), store_with_two(), Instant::now());
    h.run(
        b"a LOGIN alice secret\r\nb ENABLE QRESYNC\r\nc SELECT INBOX\r\n",
        1000,
    );
    let out = h.take_output();
    assert!(out.contains("* ENABLED QRESYNC\r\n"));
    assert!(out.contains("* OK [HIGHESTMODSEQ 3] Highest\r\n"));
    h.run(b"d STORE 1 +FLAGS (\\Answered)\r\n", 1000);
    assert_eq!(
        h.take_output(),
        "* 1 FETCH (FLAGS (\\Seen \\Answered) MODSEQ (4))\r\nd OK STORE completed\r\n"
    );
    // UNCHANGEDSINCE below the message's mod-sequence fails for it.
    h.run(
        b"e UID STORE 1:2 (UNCHANGEDSINCE 3) +FLAGS.SILENT (\\Flagged)\r\n",
        1000,
    );
    assert_eq!(
        h.take_output(),
        "e OK [MODIFIED 1] Conditional STORE failed\r\n"
    );
    h.run(b"f FETCH 1:* (FLAGS) (CHANGEDSINCE 3)\r\n", 1000);
    assert_eq!(
        h.take_output(),
        "* 1 FETCH (FLAGS (\\Seen \\Answered) MODSEQ (4))\r\n* 2 FETCH (FLAGS (\\Flagged) MODSEQ (5))\r\nf OK FETCH completed\r\n"
    );
    // Others' expunges are VANISHED under QRESYNC; FETCH carries UID.
    h.expunge_other("INBOX", 1);
    h.flags_other("INBOX", 2, vec![]);
    h.run(b"g NOOP\r\n", 1000);
    assert_eq!(
        h.take_output(),
        "* VANISHED 1\r\n* 1 FETCH (UID 2 FLAGS () MODSEQ (6))\r\ng OK NOOP completed\r\n"
    );
}

#[test]
fn large_bodies_are_written_by_the_adapter_or_shared() {
    let mut body = b"Subject: big\r\n\r\n".to_vec();
    for i in 0..20_000 {
        body.extend_from_slice(format!("line {i:06}\r\n").as_bytes());
    }
    let mut store = store_with_two();
    store.add("INBOX", &body, vec![]);
    for no_offsets in [false, true] {
        let mut h = Harness::with_store(ServerConfig::new("hi"), store.clone(), Instant::now());
        h.no_offsets = no_offsets;
        h.run(
            b"a LOGIN alice secret\r\nb SELECT INBOX\r\nc FETCH 3 (BODY.PEEK[TEXT] BODY.PEEK[])\r\n",
            1000,
        );
        let out = std::mem::take(&mut h.out);
        let text = &body[16..];
        let mut expected = format!("* 3 FETCH (BODY[TEXT] {{{}}}\r\n", text.len()).into_bytes();
        expected.extend_from_slice(text);
        expected.extend_from_slice(format!(" BODY[] {{{}}}\r\n", body.len()).as_bytes());
        expected.extend_from_slice(&body);
        expected.extend_from_slice(b")\r\nc OK FETCH completed\r\n");
        assert!(out.ends_with(&expected), "no_offsets={no_offsets}");
        assert_parses(&out);
        let externals = h
            .log
            .iter()
            .filter(|l| l.starts_with("WriteExternal"))
            .count();
        assert_eq!(externals, if no_offsets { 0 } else { 2 });
    }
}

#[test]
fn append_streams_in_chunks() {
    let mut h = Harness::with_store(ServerConfig::new("hi"), store_with_two(), Instant::now());
    h.run(b"a LOGIN alice secret\r\nb SELECT INBOX\r\n", 1000);
    h.take_output();
    let mut msg = b"Subject: big\r\n\r\n".to_vec();
    msg.extend(std::iter::repeat_n(b'z', 300_000));
    let mut input = format!("c APPEND INBOX (\\Flagged) {{{}}}\r\n", msg.len()).into_bytes();
    input.extend_from_slice(&msg);
    input.extend_from_slice(b"\r\nd APPEND Nowhere {3}\r\nabc\r\ne NOOP\r\n");
    h.run(&input, 4096);
    assert_eq!(
        h.take_output(),
        "+ Ready for literal data\r\n* 3 EXISTS\r\n* 1 RECENT\r\nc OK [APPENDUID 1700000000 3] APPEND completed\r\n\
         d NO [TRYCREATE] No such mailbox\r\n\
         * BAD Missing or invalid tag\r\ne OK NOOP completed\r\n"
    );
    assert_eq!(h.store.mailboxes["INBOX"].messages[&3].bytes, msg);
    assert_eq!(
        h.log[2..],
        [
            "AppendBegin INBOX [Flagged] 300016",
            "AppendEnd INBOX 300016",
            "AppendBegin Nowhere [] 3"
        ]
    );
}

#[test]
fn every_transcript_output_parses() {
    let mut h = selected(ServerConfig::new("hi"));
    h.run(
        b"a FETCH 1:* (FLAGS INTERNALDATE RFC822.SIZE ENVELOPE BODYSTRUCTURE BODY UID RFC822.HEADER BINARY.SIZE[1] BINARY.PEEK[1] BODY.PEEK[1.MIME] BODY.PEEK[TEXT]<2.5>)\r\n\
          b LIST (SPECIAL-USE) \"\" * RETURN (SUBSCRIBED CHILDREN STATUS (MESSAGES UNSEEN))\r\n\
          c LSUB \"\" *\r\nd NAMESPACE\r\ne ID NIL\r\nf STATUS INBOX (MESSAGES RECENT SIZE)\r\ng CLOSE\r\n",
        1000,
    );
    let out = std::mem::take(&mut h.out);
    assert_eq!(assert_parses(&out), 20);
    let text = String::from_utf8_lossy(&out);
    assert!(text.contains(
        "* LIST (\\Sent \\HasNoChildren \\Subscribed) \"/\" Sent\r\n* STATUS Sent (MESSAGES 0 UNSEEN 0)\r\n"
    ));
    assert!(text.contains("* LSUB () \"/\" INBOX\r\n"));
    assert!(text.contains("BINARY[1] {55}\r\n"));
    assert!(text.contains("BODY[TEXT]<2> {5}\r\nllo J"));
    assert!(text.ends_with("g OK CLOSE completed\r\n"));
    assert_eq!(h.session.state(), SessionState::Authenticated);
}

#[test]
fn qresync_select_reports_changes_since() {
    let mut h = Harness::with_store(ServerConfig::new("hi"), store_with_two(), Instant::now());
    h.run(
        b"a LOGIN alice secret\r\nb ENABLE QRESYNC\r\nc SELECT INBOX (QRESYNC (1700000000 2))\r\n",
        1000,
    );
    let out = h.take_output();
    assert!(out.ends_with(
        "* OK [HIGHESTMODSEQ 3] Highest\r\n* 2 FETCH (UID 2 FLAGS () MODSEQ (3))\r\nc OK [READ-WRITE] SELECT completed\r\n"
    ));
    assert_eq!(
        h.log[1],
        "Select INBOX false Some(QResyncParams { uid_validity: 1700000000, mod_seq: 2 })"
    );
    // Another UIDVALIDITY: the client must resynchronise from scratch.
    h.run(b"d SELECT INBOX (QRESYNC (99 2))\r\n", 1000);
    assert!(
        h.take_output()
            .ends_with("* OK [HIGHESTMODSEQ 3] Highest\r\nd OK [READ-WRITE] SELECT completed\r\n")
    );
    // QRESYNC parameters without ENABLE QRESYNC are an error.
    let mut h = Harness::with_store(ServerConfig::new("hi"), store_with_two(), Instant::now());
    h.run(
        b"a LOGIN alice secret\r\nc SELECT INBOX (QRESYNC (1 2))\r\n",
        1000,
    );
    assert!(
        h.take_output()
            .ends_with("c BAD QRESYNC is not enabled\r\n")
    );
}

#[test]
fn examine_is_read_only() {
    let mut h = Harness::with_store(ServerConfig::new("hi"), store_with_two(), Instant::now());
    h.run(b"a LOGIN alice secret\r\nb EXAMINE INBOX\r\n", 1000);
    let out = h.take_output();
    assert!(out.contains("* OK [PERMANENTFLAGS ()] Limited\r\n"));
    assert!(out.ends_with("b OK [READ-ONLY] SELECT completed\r\n"));
    assert_eq!(h.session.selected(), Some(("INBOX", true)));
    // FETCH BODY[] does not set \Seen in a read-only mailbox.
    h.run(
        b"c FETCH 2 BODY[TEXT]\r\nd STORE 1 +FLAGS (\\Deleted)\r\ne EXPUNGE\r\nf MOVE 1 Trash\r\ng CLOSE\r\n",
        1000,
    );
    assert_eq!(
        h.take_output(),
        "* 2 FETCH (BODY[TEXT] {7}\r\nNoon?\r\n)\r\nc OK FETCH completed\r\n\
         d NO [READ-ONLY] Mailbox is read-only\r\n\
         e NO [READ-ONLY] Mailbox is read-only\r\n\
         f NO [READ-ONLY] Mailbox is read-only\r\n\
         g OK CLOSE completed\r\n"
    );
    assert!(
        !h.log
            .iter()
            .any(|l| l.starts_with("Store") || l.starts_with("Expunge"))
    );
    // SELECT of a missing mailbox leaves nothing selected, after [CLOSED].
    h.run(
        b"h SELECT INBOX\r\ni SELECT Nope\r\nj FETCH 1 UID\r\n",
        1000,
    );
    assert!(h.take_output().ends_with(
        "h OK [READ-WRITE] SELECT completed\r\n* OK [CLOSED] Previous mailbox closed\r\ni NO [NONEXISTENT] No such mailbox\r\nj BAD No mailbox selected\r\n"
    ));
}

#[test]
fn search_save_and_dollar() {
    let mut h = selected(ServerConfig::new("hi"));
    h.run(
        b"a SEARCH RETURN (SAVE) UNSEEN\r\nb FETCH $ (UID)\r\nc UID SEARCH RETURN (COUNT SAVE) ALL\r\nd UID STORE $ +FLAGS.SILENT (\\Flagged)\r\ne SEARCH FLAGGED\r\n",
        1000,
    );
    assert_eq!(
        h.take_output(),
        "a OK SEARCH completed\r\n\
         * 2 FETCH (UID 2)\r\nb OK FETCH completed\r\n\
         * ESEARCH (TAG \"c\") UID COUNT 2\r\nc OK SEARCH completed\r\n\
         d OK STORE completed\r\n\
         * SEARCH 1 2\r\ne OK SEARCH completed\r\n"
    );
}

/// A refusal with an RFC 5530 code, as the server sends when an address
/// has too many connections (RFC 9051 §7.1.5: BYE instead of the greeting).
#[test]
fn refused_connection_says_bye_with_a_code() {
    use imap_proto::response::{Code, RespText, UnitCode};
    let text = RespText::with_code(
        Code::Unit(UnitCode::Unavailable),
        "Too many connections from your address",
    );
    let mut s =
        imap_proto::session::ServerSession::refuse(ServerConfig::new("hi"), text, Instant::now());
    let mut out = bytes::BytesMut::new();
    assert!(s.poll_transmit(&mut out));
    assert_eq!(
        &out[..],
        b"* BYE [UNAVAILABLE] Too many connections from your address\r\n"
    );
    assert!(s.is_closed());
}

#[test]
fn refused_connection_says_bye() {
    let mut s = imap_proto::session::ServerSession::refuse(
        ServerConfig::new("hi"),
        "Too many connections",
        Instant::now(),
    );
    let mut out = bytes::BytesMut::new();
    assert!(s.poll_transmit(&mut out));
    assert_eq!(&out[..], b"* BYE Too many connections\r\n");
    assert!(s.is_closed());
    assert_eq!(s.feed(b"a NOOP\r\n"), 0);
}

#[test]
fn small_output_limit_pauses_and_resumes_fetch() {
    let mut config = ServerConfig::new("hi");
    config.limits.max_pending_output = 64;
    config.limits.inline_section_max = 8;
    let mut store = store_with_two();
    for i in 0..5 {
        store.add(
            "INBOX",
            format!("Subject: {i}\r\n\r\nbody {i}\r\n").as_bytes(),
            vec![],
        );
    }
    let mut h = Harness::with_store(config, store.clone(), Instant::now());
    h.run(
        b"a LOGIN alice secret\r\nb SELECT INBOX\r\nc FETCH 1:* (UID BODY.PEEK[] FLAGS)\r\nd NOOP\r\n",
        3,
    );
    let out = String::from_utf8(std::mem::take(&mut h.out)).unwrap();
    let mut expected = String::new();
    for (seq, (uid, m)) in store.mailboxes["INBOX"].messages.iter().enumerate() {
        let flags = match uid {
            1 => "\\Seen",
            2 => "",
            _ => "\\Recent",
        };
        expected.push_str(&format!(
            "* {} FETCH (UID {uid} BODY[] {{{}}}\r\n{} FLAGS ({flags}))\r\n",
            seq + 1,
            m.bytes.len(),
            String::from_utf8_lossy(&m.bytes)
        ));
    }
    expected.push_str("c OK FETCH completed\r\nd OK NOOP completed\r\n");
    assert!(out.ends_with(&expected), "{out}");
    assert_eq!(
        h.log
            .iter()
            .filter(|l| l.starts_with("WriteExternal"))
            .count(),
        7
    );
}
