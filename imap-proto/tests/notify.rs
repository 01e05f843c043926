//! NOTIFY (RFC 5465) through the session with the canned-answer adapter:
//! the grammar of the RFC's examples, selected-mailbox updates pushed
//! without a command (and held back under `selected-delayed`), STATUS and
//! LIST notifications for other mailboxes, NOTIFY SET STATUS, BADEVENT,
//! the event combination rules, and the overflow of the bounded queue.
//! Every scenario gives the same output whatever the input's chunking.

mod session_common;

use imap_proto::session::{MailboxNotice, ServerConfig, StatusAnswer};
use imap_proto::types::Flag;
use imap_proto::{Command, Encode, Response, Version};
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

fn status(messages: u32, uid_next: u32, unseen: u32) -> StatusAnswer {
    StatusAnswer {
        messages,
        recent: 0,
        uid_next: nz(uid_next),
        uid_validity: nz(7),
        unseen,
        deleted: 0,
        size: 0,
        highest_mod_seq: 9,
        append_limit: None,
        deleted_storage: 0,
        mailbox_id: None,
    }
}

enum Step<'a> {
    Input(&'a [u8]),
    Deliver,
    Flags(u32, Vec<Flag>),
    Expunge(u32),
    Status(&'a str, bool, StatusAnswer),
    Mailbox(MailboxNotice, bool),
}

fn run(config: ServerConfig, steps: &[Step<'_>], chunk: usize) -> String {
    let mut h = Harness::with_store(config, store_with_two(), Instant::now());
    for step in steps {
        match step {
            Step::Input(b) => h.run(b, chunk),
            Step::Deliver => {
                h.deliver("INBOX", b"Subject: new\r\n\r\nhi\r\n");
            }
            Step::Flags(uid, f) => h.flags_other("INBOX", *uid, f.clone()),
            Step::Expunge(uid) => h.expunge_other("INBOX", *uid),
            Step::Status(name, sub, a) => {
                h.session.notify_status(name, *sub, a);
                h.drain();
            }
            Step::Mailbox(n, sub) => {
                h.session.notify_mailbox(n.clone(), *sub);
                h.drain();
            }
        }
    }
    let out = h.take_output();
    let at = out.find("a2 OK [READ-WRITE] SELECT completed\r\n").unwrap();
    out[at + "a2 OK [READ-WRITE] SELECT completed\r\n".len()..].to_string()
}

fn run_all_chunks(config: &ServerConfig, steps: &[Step<'_>]) -> String {
    let whole = run(config.clone(), steps, usize::MAX);
    for chunk in [1, 2, 5, 11] {
        assert_eq!(run(config.clone(), steps, chunk), whole, "chunk {chunk}");
    }
    whole
}

#[test]
fn rfc_examples_round_trip() {
    for line in [
        "a NOTIFY SET (selected (MessageNew (UID BODY.PEEK[HEADER.FIELDS (From To)]) MessageExpunge)) (subtree Lists (MessageNew MessageExpunge))\r\n",
        "a NOTIFY SET STATUS (selected (MessageNew (UID) MessageExpunge FlagChange)) (personal (MessageNew MessageExpunge MailboxName SubscriptionChange))\r\n",
        "a NOTIFY SET (selected-delayed (MessageNew MessageExpunge)) (mailboxes (INBOX Lists) NONE)\r\n",
        "a NOTIFY NONE\r\n",
    ] {
        let c = Command::parse(line.as_bytes()).unwrap_or_else(|e| panic!("{line}: {e:?}"));
        assert_eq!(String::from_utf8(c.to_bytes(Version::Rev2)).unwrap(), line);
    }
    for line in [
        "* OK [NOTIFICATIONOVERFLOW] ...\r\n",
        "a NO [BADEVENT (MessageNew MessageExpunge)] Unsupported event\r\n",
        "* LIST () \"/\" New (\"OLDNAME\" (\"Lists\"))\r\n",
    ] {
        let r = Response::parse(line.as_bytes()).unwrap_or_else(|e| panic!("{line}: {e:?}"));
        assert_eq!(String::from_utf8(r.to_bytes(Version::Rev1)).unwrap(), line);
    }
    for bad in [
        &b"a NOTIFY\r\n"[..],
        b"a NOTIFY SET\r\n",
        b"a NOTIFY SET (selected)\r\n",
        b"a NOTIFY SET (nowhere (MessageNew))\r\n",
        b"a NOTIFY SET (selected (MessageNew ()))\r\n",
    ] {
        assert!(
            Command::parse(bad).is_err(),
            "{:?}",
            String::from_utf8_lossy(bad)
        );
    }
}

/// Updates of the selected mailbox arrive without any command; other
/// mailboxes' changes come as STATUS and LIST; `selected-delayed` keeps
/// EXPUNGE for the next command; NOTIFY NONE stops it all.
#[test]
fn notifications_without_a_command() {
    let steps = [
        Step::Input(
            b"a1 LOGIN alice secret\r\na2 SELECT INBOX\r\n\
a3 NOTIFY SET (selected (MessageNew (UID FLAGS) MessageExpunge FlagChange)) (personal (MessageNew MessageExpunge MailboxName SubscriptionChange))\r\n",
        ),
        Step::Deliver,
        Step::Flags(1, vec![]),
        Step::Expunge(2),
        Step::Status("Sent", true, status(4, 9, 1)),
        // The selected mailbox is never reported by STATUS.
        Step::Status("INBOX", true, status(4, 9, 1)),
        Step::Mailbox(MailboxNotice::Created("Lists".into()), false),
        Step::Mailbox(
            MailboxNotice::Renamed {
                from: "Lists".into(),
                to: "Old".into(),
            },
            false,
        ),
        Step::Mailbox(MailboxNotice::Deleted("Old".into()), false),
        Step::Mailbox(
            MailboxNotice::Subscription {
                name: "Sent".into(),
                subscribed: false,
            },
            false,
        ),
        Step::Input(
            b"a4 NOTIFY SET (selected-delayed (MessageNew MessageExpunge)) (inboxes (MessageNew MessageExpunge)) (subtree Lists (MailboxName))\r\n",
        ),
        Step::Expunge(1),
        Step::Status("Sent", true, status(4, 9, 1)),
        Step::Mailbox(MailboxNotice::Created("Lists/a".into()), false),
        Step::Mailbox(MailboxNotice::Created("Listsx".into()), false),
        Step::Input(b"a5 NOOP\r\na6 NOTIFY NONE\r\n"),
        Step::Deliver,
        Step::Mailbox(MailboxNotice::Created("Lists".into()), false),
        Step::Input(b"a7 NOOP\r\n"),
    ];
    let out = run_all_chunks(&config(), &steps);
    let expected = crlf(&[
        "a3 OK NOTIFY completed",
        "* 3 EXISTS",
        "* 1 RECENT",
        "* 3 FETCH (UID 3 FLAGS (\\Recent))",
        "* 1 FETCH (FLAGS ())",
        "* 2 EXPUNGE",
        "* STATUS Sent (MESSAGES 4 UIDNEXT 9 UIDVALIDITY 7 UNSEEN 1)",
        "* LIST () \"/\" Lists",
        "* LIST () \"/\" Old (\"OLDNAME\" (\"Lists\"))",
        "* LIST (\\NonExistent) \"/\" Old",
        "* LIST () \"/\" Sent",
        "a4 OK NOTIFY completed",
        // selected-delayed: no EXPUNGE until a command; Sent is not an
        // inbox; Lists/a is in the subtree, Listsx is not.
        "* LIST () \"/\" Lists/a",
        "* 1 EXPUNGE",
        "a5 OK NOOP completed",
        "a6 OK NOTIFY completed",
        "* 2 EXISTS",
        "* 2 RECENT",
        "a7 OK NOOP completed",
    ]);
    assert_eq!(out, expected);
}

/// BADEVENT lists what is supported; for the selected mailbox MessageNew
/// needs MessageExpunge and FlagChange both (RFC 5465 §5);
/// FETCH items beyond the view's are refused; NOTIFY SET STATUS reports
/// every mailbox but the selected one before the tagged OK; a refused
/// NOTIFY leaves the previous one in place.
#[test]
fn notify_checks_and_status() {
    let steps = [
        Step::Input(
            b"a1 LOGIN alice secret\r\na2 SELECT INBOX\r\n\
a3 NOTIFY SET (personal (MessageNew MessageExpunge AnnotationChange))\r\n\
a4 NOTIFY SET (selected (MessageNew))\r\n\
a5 NOTIFY SET (selected-delayed (FlagChange MessageNew))\r\n\
a6 NOTIFY SET (selected (MessageNew (ENVELOPE) MessageExpunge))\r\n\
a7 NOTIFY SET (personal (MessageNew (UID) MessageExpunge))\r\n\
a8 NOTIFY SET STATUS (personal (MessageNew MessageExpunge))\r\n\
a9 NOTIFY SET (subscribed (MailboxName))\r\n\
b1 NOTIFY SET (personal (MessageNew MessageExpunge X-Thing))\r\n",
        ),
        Step::Mailbox(MailboxNotice::Created("Lists".into()), false),
        Step::Mailbox(MailboxNotice::Created("Sent".into()), true),
    ];
    let out = run_all_chunks(&config(), &steps);
    let badevent = "NO [BADEVENT (MessageNew MessageExpunge FlagChange MailboxName SubscriptionChange)] Unsupported event";
    let expected = crlf(&[
        &format!("a3 {badevent}"),
        "a4 BAD MessageNew, MessageExpunge and FlagChange go together",
        "a5 BAD MessageNew, MessageExpunge and FlagChange go together",
        "a6 BAD MessageNew items: UID, FLAGS, INTERNALDATE, RFC822.SIZE, MODSEQ",
        "a7 BAD MessageNew items are for the selected mailbox only",
        "* STATUS Drafts (MESSAGES 0 UIDNEXT 1 UIDVALIDITY 1700000000 UNSEEN 0)",
        "* STATUS Sent (MESSAGES 0 UIDNEXT 1 UIDVALIDITY 1700000000 UNSEEN 0)",
        "* STATUS Trash (MESSAGES 0 UIDNEXT 1 UIDVALIDITY 1700000000 UNSEEN 0)",
        "a8 OK NOTIFY completed",
        "a9 OK NOTIFY completed",
        &format!("b1 {badevent}"),
        // b1 changed nothing: only the subscribed mailbox is reported.
        "* LIST () \"/\" Sent",
    ]);
    assert_eq!(out, expected);
}

/// For mailboxes other than the selected one each message event may be
/// asked for alone (as Dovecot accepts; imaptest's `notify` script does),
/// and each brings the STATUS after its own kind of change only:
/// FlagChange adds HIGHESTMODSEQ. NOTIFY SET without STATUS sends none.
#[test]
fn single_events_for_other_mailboxes() {
    let steps = [
        Step::Input(
            b"a1 LOGIN alice secret\r\na2 SELECT INBOX\r\n\
a3 NOTIFY SET STATUS (mailboxes Sent (MessageExpunge))\r\n\
a4 NOTIFY SET STATUS (mailboxes Sent (MessageNew))\r\n\
a5 NOTIFY SET STATUS (mailboxes Sent (FlagChange))\r\n\
a6 NOTIFY SET (mailboxes Sent (MessageNew MessageExpunge FlagChange))\r\n",
        ),
        Step::Status("Sent", false, status(3, 5, 2)),
    ];
    let out = run_all_chunks(&config(), &steps);
    let expected = crlf(&[
        "* STATUS Sent (MESSAGES 0 UIDNEXT 1 UIDVALIDITY 1700000000 UNSEEN 0)",
        "a3 OK NOTIFY completed",
        "* STATUS Sent (MESSAGES 0 UIDNEXT 1 UIDVALIDITY 1700000000 UNSEEN 0)",
        "a4 OK NOTIFY completed",
        "* STATUS Sent (MESSAGES 0 UIDNEXT 1 UIDVALIDITY 1700000000 UNSEEN 0 HIGHESTMODSEQ 1)",
        "a5 OK NOTIFY completed",
        "a6 OK NOTIFY completed",
        "* STATUS Sent (MESSAGES 3 UIDNEXT 5 UIDVALIDITY 7 UNSEEN 2 HIGHESTMODSEQ 9)",
    ]);
    assert_eq!(out, expected);

    // What the adapter is told to report, per kind of change.
    let mut h = Harness::with_store(config(), store_with_two(), Instant::now());
    h.run(
        b"a1 LOGIN alice secret\r\na2 NOTIFY SET (mailboxes Sent (MessageExpunge))\r\n",
        usize::MAX,
    );
    let i = h.session.notify_interest("Sent", false);
    assert!(i.status && i.message_expunge && !i.message_new && !i.flag_change);
    assert_eq!(
        h.session.notify_interest("Trash", false),
        Default::default()
    );
}

/// RFC 5465 §5.8: notifications queued while a command runs are bounded;
/// one too many turns NOTIFY off with NOTIFICATIONOVERFLOW.
#[test]
fn queue_overflow() {
    let mut cfg = config();
    cfg.limits.max_queued_notifications = 1;
    let mut h = Harness::with_store(cfg, store_with_two(), Instant::now());
    h.run(
        b"a1 LOGIN alice secret\r\na2 SELECT INBOX\r\na3 NOTIFY SET (personal (MessageNew MessageExpunge))\r\n",
        usize::MAX,
    );
    h.take_output();
    // A STATUS command waits for the adapter: notifications queue.
    assert_eq!(h.session.feed(b"a4 STATUS Sent (MESSAGES)\r\n"), 27);
    h.session.notify_status("Trash", false, &status(1, 2, 1));
    let mut buf = bytes::BytesMut::new();
    assert!(!h.session.poll_transmit(&mut buf), "{buf:?}");
    h.session.notify_status("Drafts", false, &status(1, 2, 1));
    h.drain();
    // Off now: nothing more is reported.
    h.session.notify_status("Trash", false, &status(2, 3, 2));
    h.drain();
    assert_eq!(
        h.take_output(),
        crlf(&[
            "* OK [NOTIFICATIONOVERFLOW] Too many notifications; NOTIFY is off",
            "* STATUS Sent (MESSAGES 0)",
            "a4 OK STATUS completed",
        ])
    );
}
