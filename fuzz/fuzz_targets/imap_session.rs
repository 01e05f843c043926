#![no_main]
//! The IMAP server session driven by arbitrary bytes with a canned-answer
//! adapter: it never panics, every answer it asks for is accepted, and
//! every response it writes parses with the crate's response parser.
//! The first byte picks the configuration, later bytes the input chunks
//! and when "another session" changes the mailbox.

use bytes::{Bytes, BytesMut};
use imap_proto::Response;
use imap_proto::framer::{Frame, Framer, Role};
use imap_proto::message::PartOffsets;
use imap_proto::response::RespText;
use imap_proto::session::{
    AppendAnswer, ContentNeed, CopyAnswer, Event, Limits, MailboxInfo, MessageContent,
    SelectAnswer, ServerConfig, ServerSession, StatusAnswer, StoreAnswer,
};
use imap_proto::types::{Date, DateTime, Flag, FlagPerm, MailboxAttribute};
use imap_proto::view::{FlagUpdate, MailboxChange, MessageSummary};
use libfuzzer_sys::fuzz_target;
use std::num::NonZeroU32;
use std::time::{Duration, Instant};

const MSG: &[u8] = b"From: A <a@b.example>\r\nSubject: hi\r\nContent-Type: multipart/mixed; boundary=x\r\n\r\n--x\r\nContent-Type: text/plain\r\n\r\nhello\r\n--x\r\nContent-Transfer-Encoding: base64\r\n\r\naGVsbG8=\r\n--x--\r\n";

fn nz(n: u32) -> NonZeroU32 {
    NonZeroU32::new(n.max(1)).unwrap_or(NonZeroU32::MIN)
}

fn summary(uid: u32) -> MessageSummary {
    MessageSummary {
        uid: nz(uid),
        flags: if uid % 2 == 0 {
            vec![Flag::Seen]
        } else {
            vec![Flag::Deleted]
        },
        mod_seq: u64::from(uid),
        internal_date: DateTime::new(Date::new(2024, 1, 2).expect("date"), 3, 4, 5, 0)
            .expect("time"),
        size: MSG.len() as u64,
        recent: uid > 2,
        email_id: None,
        save_date: None,
    }
}

struct Adapter {
    s: ServerSession,
    out: Vec<u8>,
    next_uid: u32,
    now: Instant,
}

impl Adapter {
    fn drain(&mut self) {
        loop {
            let mut buf = BytesMut::new();
            let mut progress = false;
            while self.s.poll_transmit(&mut buf) {
                progress = true;
            }
            self.out.extend_from_slice(&buf);
            if let Some(ev) = self.s.poll_event() {
                progress = true;
                self.answer(ev);
            }
            if !progress {
                return;
            }
        }
    }

    fn answer(&mut self, ev: Event) {
        let s = &mut self.s;
        let ok = match ev {
            Event::Authenticate { id, username, .. } => {
                let a = if username.len() % 2 == 1 {
                    Ok(())
                } else {
                    Err(RespText::plain("no"))
                };
                s.respond_authenticate(id, a).is_ok()
            }
            Event::Select { id, mailbox, .. } => {
                let a = if mailbox.len() > 8 {
                    Err(RespText::plain("no such mailbox"))
                } else {
                    Ok(SelectAnswer {
                        uid_validity: nz(7),
                        uid_next: nz(self.next_uid),
                        highest_mod_seq: Some(9),
                        flags: vec![Flag::Seen, Flag::Deleted],
                        permanent_flags: vec![FlagPerm::Asterisk],
                        read_only: mailbox.len() == 5,
                        messages: (1..self.next_uid).map(summary).collect(),
                        vanished: vec![nz(1)],
                        mailbox_id: None,
                    })
                };
                s.respond_select(id, a).is_ok()
            }
            Event::Mailbox { id, .. } => s.respond_mailbox(id, Ok(())).is_ok(),
            Event::List { id } => {
                let list = ["INBOX", "a/b/c", "Sent", "é/x"]
                    .iter()
                    .map(|n| MailboxInfo {
                        name: n.to_string(),
                        attributes: vec![MailboxAttribute::Sent],
                        subscribed: n.len() % 2 == 1,
                    })
                    .collect();
                s.respond_list(id, Ok(list)).is_ok()
            }
            Event::Status { id, .. } => s
                .respond_status(
                    id,
                    Ok(StatusAnswer {
                        messages: 3,
                        recent: 1,
                        uid_next: nz(4),
                        uid_validity: nz(7),
                        unseen: 1,
                        deleted: 0,
                        size: 300,
                        deleted_storage: 0,
                        mailbox_id: None,
                        highest_mod_seq: 9,
                        append_limit: Some(1000),
                    }),
                )
                .is_ok(),
            Event::AppendBegin { id, size, .. } => {
                let a = if size % 5 == 4 {
                    Err(RespText::plain("quota"))
                } else {
                    Ok(())
                };
                s.respond_append_begin(id, a).is_ok()
            }
            Event::AppendMessage { id, size, .. } => {
                let a = if size.is_some_and(|n| n % 5 == 4) {
                    Err(RespText::plain("quota"))
                } else {
                    Ok(())
                };
                s.respond_append_begin(id, a).is_ok()
            }
            Event::AppendUrl { id, url } => {
                let a = if url.len() % 3 == 0 {
                    Err(RespText::plain("bad url"))
                } else {
                    Ok(())
                };
                s.respond_append_url(id, a).is_ok()
            }
            Event::AppendChunk { .. } | Event::AppendAbort { .. } => true,
            Event::AppendEnd { id } => {
                self.next_uid += 1;
                s.respond_append_end(
                    id,
                    Ok(AppendAnswer {
                        uid_validity: nz(7),
                        uid: nz(self.next_uid - 1),
                    }),
                )
                .is_ok()
            }
            Event::ReadMessage { id, uid, need } => {
                let c = match (need, uid.get() % 4) {
                    (_, 0) => MessageContent::Gone,
                    (_, 1) if uid.get() % 8 == 1 => MessageContent::Unreadable,
                    (ContentNeed::Stream, _) => {
                        // The offsets, then the octets in chunks of 5.
                        let streamed = s.message_begin(id, PartOffsets::parse(MSG)).is_ok()
                            && MSG.chunks(5).all(|c| s.message_chunk(id, c).is_ok());
                        assert!(streamed, "the session refused a streamed message");
                        MessageContent::Streamed
                    }
                    (ContentNeed::Offsets, _) => MessageContent::Offsets(PartOffsets::parse(MSG)),
                    (ContentNeed::Header, _) => {
                        MessageContent::Header(Bytes::from_static(&MSG[..80]))
                    }
                    _ => MessageContent::Message {
                        bytes: Bytes::from_static(MSG),
                        offsets: None,
                    },
                };
                s.respond_message(id, c).is_ok()
            }
            Event::WriteExternal { id, range, .. } => {
                let data = MSG
                    .get(range.start as usize..range.end as usize)
                    .expect("external ranges lie within the message");
                for c in data.chunks(5) {
                    s.send_external_chunk(id, c).expect("chunk accepted");
                }
                s.finish_external(id).is_ok()
            }
            Event::Store {
                id, uids, flags, ..
            } => {
                let updated = uids
                    .iter()
                    .map(|u| FlagUpdate {
                        uid: *u,
                        flags: flags.clone(),
                        mod_seq: 10,
                    })
                    .collect();
                s.respond_store(
                    id,
                    Ok(StoreAnswer {
                        updated,
                        modified: vec![nz(2)],
                    }),
                )
                .is_ok()
            }
            Event::Copy { id, uids, .. } => {
                let destination = (0..uids.len() as u32).map(|i| nz(100 + i)).collect();
                s.respond_copy(
                    id,
                    Ok(CopyAnswer {
                        uid_validity: nz(8),
                        source: uids,
                        destination,
                    }),
                )
                .is_ok()
            }
            Event::Expunge { id, uids } => s.respond_expunge(id, Ok(uids)).is_ok(),
            Event::Sync { id } => s.respond_sync(id).is_ok(),
            Event::IdleStarted | Event::IdleDone => true,
            Event::SwitchTransport { .. } => {
                s.transport_switched(self.now);
                true
            }
            _ => true,
        };
        assert!(ok, "the session refused an answer to its own event");
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&cfg, rest)) = data.split_first() else {
        return;
    };
    let mut config = ServerConfig::new("fuzz");
    config.allow_plaintext = cfg & 1 == 0;
    config.tls_active = cfg & 2 != 0;
    config.limits = Limits {
        max_line_length: 256,
        max_literal_size: 512,
        max_command_size: 2048,
        max_depth: 8,
        max_pending_output: 512,
        inline_section_max: 16,
        ..Limits::default()
    };
    let now = Instant::now();
    let mut a = Adapter {
        s: ServerSession::new(config, now),
        out: Vec::new(),
        next_uid: 4,
        now,
    };
    a.drain();
    let chunk = usize::from(cfg >> 3).max(1);
    let mut pending: Vec<u8> = Vec::new();
    if cfg & 4 != 0 {
        // Start in the Selected state so that random bytes reach FETCH,
        // STORE, SEARCH and friends.
        pending.extend_from_slice(b"0 LOGIN a secret\r\n1 SELECT INBOX\r\n");
    }
    for piece in rest.chunks(chunk) {
        pending.extend_from_slice(piece);
        if piece.first().is_some_and(|b| *b == b'!') {
            let uid = a.next_uid;
            a.next_uid += 1;
            a.s.mailbox_changed(MailboxChange::Added(vec![summary(uid)]));
            a.s.mailbox_changed(MailboxChange::Expunged(vec![nz(uid / 2)]));
        }
        loop {
            a.drain();
            if a.s.is_closed() {
                break;
            }
            let n = a.s.feed(&pending);
            pending.drain(..n);
            if n == 0 {
                break;
            }
        }
        if a.s.is_closed() {
            break;
        }
    }
    a.now += Duration::from_secs(4000);
    a.s.handle_timeout(a.now);
    a.drain();
    // Every response parses.
    let mut f = Framer::new(
        Role::Client,
        imap_proto::Limits {
            max_line_length: usize::MAX / 2,
            max_literal_size: u64::MAX / 2,
            max_command_size: usize::MAX / 2,
            max_depth: 64,
            ..imap_proto::Limits::default()
        },
    );
    let mut input = &a.out[..];
    while !input.is_empty() {
        let (used, frame) = f.feed(input);
        input = &input[used..];
        match frame {
            Some(Frame::Complete(bytes)) => {
                if let Err(e) = Response::parse(&bytes) {
                    panic!(
                        "malformed response {:?}: {e:?}",
                        String::from_utf8_lossy(&bytes)
                    );
                }
            }
            Some(other) => panic!("unexpected frame {other:?}"),
            None => assert!(used > 0, "output ends inside a response"),
        }
    }
});
