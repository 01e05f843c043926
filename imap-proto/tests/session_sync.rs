//! The session owns "the new message is announced before the tagged OK":
//! after this session's APPEND or COPY/MOVE it asks the adapter for the
//! changes the store published ([`Event::Sync`]) and holds the tagged
//! answer until `respond_sync` (RFC 9051 §6.3.12: an APPEND to the
//! selected mailbox should be told with EXISTS at once; §6.4.7 for COPY).

use std::num::NonZeroU32;
use std::time::Instant;

use bytes::BytesMut;
use imap_proto::response::{Code, RespText};
use imap_proto::session::{
    AppendAnswer, CopyAnswer, Event, SelectAnswer, ServerConfig, ServerSession,
};
use imap_proto::types::DateTime;
use imap_proto::view::{MailboxChange, MessageSummary};

fn transmit(s: &mut ServerSession) -> String {
    let mut out = BytesMut::new();
    while s.poll_transmit(&mut out) {}
    String::from_utf8(out.to_vec()).expect("UTF-8 output")
}

fn nz(n: u32) -> NonZeroU32 {
    NonZeroU32::new(n).expect("non-zero")
}

fn summary(uid: u32) -> MessageSummary {
    MessageSummary {
        uid: nz(uid),
        flags: vec![],
        mod_seq: 1,
        internal_date: DateTime::from_unix_seconds(0),
        size: 5,
        recent: false,
        email_id: None,
        save_date: None,
    }
}

/// A session logged in with INBOX selected (empty, UIDVALIDITY 7).
fn selected() -> ServerSession {
    let mut s = ServerSession::new(ServerConfig::new("imap.example.org"), Instant::now());
    transmit(&mut s);
    let login = b"a LOGIN alice secret\r\n";
    assert_eq!(s.feed(login), login.len());
    let Some(Event::Authenticate { id, .. }) = s.poll_event() else {
        panic!("no Authenticate");
    };
    s.respond_authenticate(id, Ok(())).unwrap();
    let select = b"b SELECT INBOX\r\n";
    assert_eq!(s.feed(select), select.len());
    let Some(Event::Select { id, .. }) = s.poll_event() else {
        panic!("no Select");
    };
    let (flags, permanent_flags) = SelectAnswer::system_flags();
    s.respond_select(
        id,
        Ok(SelectAnswer {
            uid_validity: nz(7),
            uid_next: nz(1),
            highest_mod_seq: Some(1),
            flags,
            permanent_flags,
            read_only: false,
            messages: vec![],
            vanished: vec![],
            mailbox_id: None,
        }),
    )
    .unwrap();
    let out = transmit(&mut s);
    assert!(
        out.ends_with("b OK [READ-WRITE] SELECT completed\r\n"),
        "{out}"
    );
    s
}

/// Runs `c APPEND INBOX {5}` up to the store's answer.
fn append(s: &mut ServerSession, answer: Result<AppendAnswer, RespText>) {
    let head = b"c APPEND INBOX {5}\r\n";
    assert_eq!(s.feed(head), head.len());
    let Some(Event::AppendBegin { id, .. }) = s.poll_event() else {
        panic!("no AppendBegin");
    };
    s.respond_append_begin(id, Ok(())).unwrap();
    assert_eq!(transmit(s), "+ Ready for literal data\r\n");
    let mut body: &[u8] = b"hello\r\n";
    // The literal and the closing CRLF may take more than one feed.
    let mut end = None;
    for _ in 0..8 {
        let n = s.feed(body);
        body = &body[n..];
        match s.poll_event() {
            Some(Event::AppendChunk { .. }) | None => {}
            Some(Event::AppendEnd { id }) => {
                end = Some(id);
                break;
            }
            Some(other) => panic!("unexpected {other:?}"),
        }
    }
    assert!(body.is_empty());
    let id = end.expect("no AppendEnd");
    s.respond_append_end(id, answer).unwrap();
}

#[test]
fn append_waits_for_the_changes_then_says_exists_before_ok() {
    let mut s = selected();
    append(
        &mut s,
        Ok(AppendAnswer {
            uid_validity: nz(7),
            uid: nz(1),
        }),
    );
    // Nothing yet: the tagged OK waits for the changes.
    assert_eq!(transmit(&mut s), "");
    assert_eq!(s.feed(b"d NOOP\r\n"), 0, "no input while waiting");
    let Some(Event::Sync { id }) = s.poll_event() else {
        panic!("no Sync");
    };
    // A wrong id is refused and changes nothing.
    let other = {
        let mut t = selected();
        append(
            &mut t,
            Ok(AppendAnswer {
                uid_validity: nz(7),
                uid: nz(1),
            }),
        );
        let Some(Event::Sync { id }) = t.poll_event() else {
            panic!("no Sync");
        };
        id
    };
    if other != id {
        assert_eq!(s.respond_sync(other), Err(()));
    }
    s.mailbox_changed(MailboxChange::Added(vec![summary(1)]));
    assert_eq!(transmit(&mut s), "", "changes wait for the answer");
    s.respond_sync(id).unwrap();
    assert_eq!(
        transmit(&mut s),
        "* 1 EXISTS\r\nc OK [APPENDUID 7 1] APPEND completed\r\n"
    );
    assert_eq!(s.respond_sync(id), Err(()), "answered once");
}

#[test]
fn a_refused_append_also_syncs_before_its_no() {
    let mut s = selected();
    append(
        &mut s,
        Err(RespText::with_code(Code::TryCreate, "No such mailbox")),
    );
    assert_eq!(transmit(&mut s), "");
    let Some(Event::Sync { id }) = s.poll_event() else {
        panic!("no Sync");
    };
    s.respond_sync(id).unwrap();
    assert_eq!(transmit(&mut s), "c NO [TRYCREATE] No such mailbox\r\n");
}

#[test]
fn copy_into_the_selected_mailbox_announces_the_copy_before_ok() {
    let mut s = selected();
    s.mailbox_changed(MailboxChange::Added(vec![summary(1)]));
    assert_eq!(s.feed(b"e NOOP\r\n"), 8);
    assert_eq!(transmit(&mut s), "* 1 EXISTS\r\ne OK NOOP completed\r\n");
    let copy = b"f COPY 1 INBOX\r\n";
    assert_eq!(s.feed(copy), copy.len());
    let Some(Event::Copy { id, .. }) = s.poll_event() else {
        panic!("no Copy");
    };
    s.respond_copy(
        id,
        Ok(CopyAnswer {
            uid_validity: nz(7),
            source: vec![nz(1)],
            destination: vec![nz(2)],
        }),
    )
    .unwrap();
    assert_eq!(transmit(&mut s), "");
    let Some(Event::Sync { id }) = s.poll_event() else {
        panic!("no Sync");
    };
    s.mailbox_changed(MailboxChange::Added(vec![summary(2)]));
    s.respond_sync(id).unwrap();
    assert_eq!(
        transmit(&mut s),
        "* 2 EXISTS\r\nf OK [COPYUID 7 1 2] COPY completed\r\n"
    );
}
