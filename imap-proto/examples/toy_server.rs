//! A toy IMAP server over `std::net`: one account (`alice` / `secret`) with
//! one mailbox, INBOX, holding two messages in memory. It serves one client
//! at a time with the crate's sans-IO [`ServerSession`] and shows the whole
//! adapter: the drain order, answering events, streaming large literals.
//!
//! ```text
//! cargo run -p imap-proto --example toy_server -- 127.0.0.1:1143
//! curl -v 'imap://127.0.0.1:1143/INBOX;UID=1' --user alice:secret
//! ```

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::num::NonZeroU32;
use std::time::Instant;

use bytes::{Bytes, BytesMut};
use imap_proto::message::PartOffsets;
use imap_proto::response::{Code, RespText, UnitCode};
use imap_proto::session::{
    ContentNeed, Event, MailboxInfo, MessageContent, SelectAnswer, ServerConfig, ServerSession,
};
use imap_proto::types::{Date, DateTime, Flag, FlagPerm};
use imap_proto::view::MessageSummary;

const MESSAGES: [&[u8]; 2] = [
    b"From: bob@example.org\r\nSubject: hello\r\n\r\nFirst message.\r\n",
    b"From: carol@example.org\r\nSubject: again\r\n\r\nSecond message.\r\n",
];

fn main() -> std::io::Result<()> {
    let addr = std::env::args().nth(1).unwrap_or("127.0.0.1:1143".into());
    let listener = TcpListener::bind(&addr)?;
    println!("listening imap {}", listener.local_addr()?);
    for stream in listener.incoming() {
        if let Err(e) = serve(stream?) {
            eprintln!("connection ended: {e}");
        }
    }
    Ok(())
}

fn serve(mut stream: TcpStream) -> std::io::Result<()> {
    let mut session = ServerSession::new(ServerConfig::new("toy IMAP ready"), Instant::now());
    let mut out = BytesMut::new();
    let mut buf = vec![0u8; 16 * 1024];
    let (mut pending, mut taken) = (0usize, 0usize);
    loop {
        // 1. Write everything queued, then answer every event; repeat until
        //    the session has nothing more to say.
        loop {
            while session.poll_transmit(&mut out) {}
            stream.write_all(&out)?;
            out.clear();
            let Some(event) = session.poll_event() else {
                break;
            };
            answer(&mut session, event, &mut stream)?;
        }
        if session.is_closed() {
            return Ok(());
        }
        // 2. Offer input the session has not taken yet.
        if taken < pending {
            let n = session.feed(&buf[taken..pending]);
            taken += n;
            if n > 0 {
                continue;
            }
        }
        // 3. Read more (a real adapter races this against
        //    `session.poll_timeout()` and the store's change channel).
        if taken == pending {
            pending = stream.read(&mut buf)?;
            taken = 0;
            if pending == 0 {
                return Ok(());
            }
        }
    }
}

fn answer(
    session: &mut ServerSession,
    event: Event,
    stream: &mut TcpStream,
) -> std::io::Result<()> {
    match event {
        Event::Authenticate {
            id,
            username,
            password,
            ..
        } => {
            let ok = username == "alice" && password.expose() == "secret";
            let answer = if ok {
                Ok(())
            } else {
                let code = Code::Unit(UnitCode::AuthenticationFailed);
                Err(RespText::with_code(code, "Invalid credentials"))
            };
            session.respond_authenticate(id, answer).expect("pending");
        }
        Event::List { id, .. } => {
            let inbox = MailboxInfo {
                name: "INBOX".into(),
                attributes: vec![],
                subscribed: true,
            };
            session.respond_list(id, Ok(vec![inbox])).expect("pending");
        }
        Event::Select { id, mailbox, .. } => {
            let answer = if mailbox == "INBOX" {
                Ok(inbox())
            } else {
                let code = Code::Unit(UnitCode::NonExistent);
                Err(RespText::with_code(code, "No such mailbox"))
            };
            session.respond_select(id, answer).expect("pending");
        }
        Event::ReadMessage { id, uid, need } => {
            let content = match MESSAGES.get(uid.get() as usize - 1) {
                None => MessageContent::Gone,
                // Offsets are enough for BODY[] and BODY[TEXT]: the octets
                // then come from us through WriteExternal.
                Some(m) if need == ContentNeed::Offsets => {
                    MessageContent::Offsets(PartOffsets::parse(m))
                }
                Some(m) => MessageContent::Message {
                    bytes: Bytes::from_static(m),
                    offsets: None,
                },
            };
            session.respond_message(id, content).expect("pending");
        }
        Event::WriteExternal { id, uid, range } => {
            let m = MESSAGES[uid.get() as usize - 1];
            // Stream the octets in chunks, writing between chunks, so memory
            // stays bounded by a chunk whatever the message size.
            for chunk in m[range.start as usize..range.end as usize].chunks(4096) {
                session.send_external_chunk(id, chunk).expect("streaming");
                let mut out = BytesMut::new();
                while session.poll_transmit(&mut out) {}
                stream.write_all(&out)?;
            }
            session.finish_external(id).expect("streaming");
        }
        // A real server answers the rest from its store; the toy refuses
        // what changes state (the session turns these into NO).
        other => refuse(session, other),
    }
    Ok(())
}

fn refuse(session: &mut ServerSession, event: Event) {
    let no = || RespText::plain("read-only toy server");
    // Each answer hands its argument back on misuse; here every id is the
    // one just received, so misuse is a bug in this program.
    let answered = match event {
        Event::Mailbox { id, .. } => session.respond_mailbox(id, Err(no())).is_ok(),
        Event::Status { id, .. } => session.respond_status(id, Err(no())).is_ok(),
        Event::AppendBegin { id, .. } => session.respond_append_begin(id, Err(no())).is_ok(),
        Event::Store { id, .. } => session.respond_store(id, Err(no())).is_ok(),
        Event::Copy { id, .. } => session.respond_copy(id, Err(no())).is_ok(),
        // Nothing of this toy's is published elsewhere: no changes to hand in.
        Event::Sync { id } => session.respond_sync(id).is_ok(),
        Event::Expunge { id, .. } => session.respond_expunge(id, Err(no())).is_ok(),
        _ => true,
    };
    assert!(answered, "answer refused");
}

fn inbox() -> SelectAnswer {
    let nz = |n| NonZeroU32::new(n).expect("non-zero");
    let date = DateTime::new(Date::new(2024, 3, 5).expect("date"), 10, 20, 30, 0).expect("time");
    let messages = (1..=MESSAGES.len() as u32)
        .map(|uid| MessageSummary {
            uid: nz(uid),
            flags: vec![],
            mod_seq: 1,
            internal_date: date,
            size: MESSAGES[uid as usize - 1].len() as u64,
            recent: false,
            email_id: None,
            save_date: None,
        })
        .collect();
    let flags = vec![
        Flag::Answered,
        Flag::Flagged,
        Flag::Deleted,
        Flag::Seen,
        Flag::Draft,
    ];
    SelectAnswer {
        uid_validity: nz(1),
        uid_next: nz(MESSAGES.len() as u32 + 1),
        highest_mod_seq: Some(1),
        permanent_flags: flags.iter().cloned().map(FlagPerm::Flag).collect(),
        flags,
        read_only: true,
        messages,
        vanished: vec![],
        mailbox_id: None,
    }
}
