//! Sans-IO IMAP4rev2 (RFC 9051) and IMAP4rev1 (RFC 3501) for servers: a
//! server session state machine ([`session::ServerSession`]), the mailbox
//! view (sequence numbers, pending EXPUNGEs), message helpers (ENVELOPE,
//! BODYSTRUCTURE, sections, SEARCH), the command and response grammar in
//! both directions, and the framer. No sockets, no runtime, no storage:
//! bytes in, bytes and questions out; the adapter answers from its store.
//!
//! # The loop a server writes
//!
//! After every input or answer, drain in this order: `poll_transmit` until
//! false (write the bytes), `poll_event` until `None` (answer each event
//! that carries an id), then `poll_timeout`. `feed` returns how many bytes
//! it took; offer the rest again after the next drain. A whole server over
//! `std::net` is `examples/toy_server.rs`.
//!
//! ```
//! use std::num::NonZeroU32;
//! use std::time::Instant;
//! use bytes::{Bytes, BytesMut};
//! use imap_proto::message::PartOffsets;
//! use imap_proto::session::{ContentNeed, Event, MessageContent, SelectAnswer, ServerConfig, ServerSession};
//! use imap_proto::types::{Date, DateTime, Flag, FlagPerm};
//! use imap_proto::view::MessageSummary;
//!
//! let message: &[u8] = b"Subject: hi\r\n\r\nhello\r\n";
//! let mut session = ServerSession::new(ServerConfig::new("imap.example.org"), Instant::now());
//! let mut input: &[u8] = b"a LOGIN alice secret\r\nb SELECT INBOX\r\nc FETCH 1 (FLAGS BODY.PEEK[])\r\nd LOGOUT\r\n";
//! let mut wire = BytesMut::new();
//! while !session.is_closed() {
//!     let taken = session.feed(input); // a real adapter reads the socket
//!     input = &input[taken..];
//!     while session.poll_transmit(&mut wire) {}
//!     while let Some(event) = session.poll_event() {
//!         match event {
//!             Event::Authenticate { id, password, .. } => {
//!                 let ok = password.expose() == "secret";
//!                 let answer = if ok { Ok(()) } else { Err(imap_proto::response::RespText::plain("no")) };
//!                 session.respond_authenticate(id, answer).unwrap();
//!             }
//!             Event::Select { id, .. } => {
//!                 let nz = |n| NonZeroU32::new(n).unwrap();
//!                 let date = DateTime::new(Date::new(2024, 3, 5).unwrap(), 10, 0, 0, 0).unwrap();
//!                 let flags = vec![Flag::Seen, Flag::Deleted];
//!                 let summary = MessageSummary {
//!                     uid: nz(1), flags: vec![], mod_seq: 1, internal_date: date,
//!                     size: message.len() as u64, recent: false, email_id: None, save_date: None,
//!                 };
//!                 let answer = SelectAnswer {
//!                     uid_validity: nz(7), uid_next: nz(2), highest_mod_seq: Some(1),
//!                     permanent_flags: flags.iter().cloned().map(FlagPerm::Flag).collect(),
//!                     flags, read_only: false, messages: vec![summary], vanished: vec![],
//!                     mailbox_id: None,
//!                 };
//!                 session.respond_select(id, Ok(answer)).unwrap();
//!             }
//!             // FLAGS come from the summaries; BODY[] needs the message.
//!             Event::ReadMessage { id, need, .. } => {
//!                 let content = match need {
//!                     ContentNeed::Offsets => MessageContent::Offsets(PartOffsets::parse(message)),
//!                     _ => MessageContent::Message { bytes: Bytes::from_static(message), offsets: None },
//!                 };
//!                 session.respond_message(id, content).unwrap();
//!             }
//!             // Large sections are copied by the adapter from its file.
//!             Event::WriteExternal { id, range, .. } => {
//!                 session.send_external_chunk(id, &message[range.start as usize..range.end as usize]).unwrap();
//!                 session.finish_external(id).unwrap();
//!             }
//!             other => unreachable!("not used by this client: {other:?}"),
//!         }
//!         while session.poll_transmit(&mut wire) {}
//!     }
//!     let _deadline = session.poll_timeout(); // race the socket against it
//! }
//! let wire = String::from_utf8(wire.to_vec()).unwrap();
//! assert!(wire.contains("* 1 EXISTS\r\n"));
//! assert!(wire.contains("* 1 FETCH (FLAGS () BODY[] {22}\r\nSubject: hi\r\n\r\nhello\r\n)\r\n"));
//! assert!(wire.ends_with("d OK LOGOUT completed\r\n"));
//! ```
//!
//! # The codec and framer on their own
//!
//! Bytes from the socket go through a [`framer::Framer`], which cuts them
//! into whole commands (lines plus literals) *before* any detailed parsing,
//! asks before a synchronising literal is read, and enforces the
//! [`Limits`]. Each complete frame is parsed with [`Command::parse`];
//! answers are built as [`Response`] values and encoded for the
//! connection's [`Version`].
//!
//! ```
//! use imap_proto::framer::{Frame, Framer, Role};
//! use imap_proto::response::{Condition, RespText, Status};
//! use imap_proto::{Command, CommandBody, Limits, Response, Version};
//!
//! let mut framer = Framer::new(Role::Server, Limits::default());
//! let mut input: &[u8] = b"a1 LOGIN {5}\r\nalice secret\r\na2 NOOP\r\n";
//! let mut out = Vec::new();
//! loop {
//!     let (used, frame) = framer.feed(input);
//!     input = &input[used..];
//!     match frame {
//!         // Decide before the client sends the literal (size, state, quota).
//!         Some(Frame::LiteralAnnounced { .. }) => {
//!             framer.accept_literal().unwrap();
//!             out.extend_from_slice(b"+ Ready\r\n");
//!         }
//!         Some(Frame::Complete(bytes)) => {
//!             let reply = match Command::parse(&bytes) {
//!                 Ok(cmd) => {
//!                     if let CommandBody::Login { username, .. } = &cmd.body {
//!                         assert_eq!(username.as_bytes(), b"alice");
//!                     }
//!                     let text = RespText::plain("done");
//!                     Status::Tagged { tag: cmd.tag, condition: Condition::Ok, text }
//!                 }
//!                 // A malformed command is answered with its own tag.
//!                 Err(e) => match e.tag {
//!                     Some(tag) => Status::Tagged { tag, condition: Condition::Bad, text: RespText::plain("syntax") },
//!                     None => Status::Untagged { condition: Condition::Bad, text: RespText::plain("syntax") },
//!                 },
//!             };
//!             out.extend(Response::Status(reply).encode(Version::Rev2).into_bytes());
//!         }
//!         Some(_) => unreachable!("no limit is hit in this example"),
//!         None => break,
//!     }
//! }
//! assert_eq!(out, b"+ Ready\r\na1 OK done\r\na2 OK done\r\n");
//! ```
//!
//! # The client side
//!
//! The same types encode commands and parse responses. Encoding yields
//! [`Fragment`]s so a client sends a line, waits for `+` before a
//! synchronising literal, and goes on:
//!
//! ```
//! use imap_proto::{Command, Fragment, Response, Version};
//!
//! let cmd = Command::parse(b"a1 LOGIN {5}\r\nalice {6}\r\nsecret\r\n").unwrap();
//! let fragments = cmd.encode(Version::Rev1).into_fragments();
//! assert_eq!(fragments[0], Fragment::Line(b"a1 LOGIN {5}\r\n".to_vec()));
//! assert!(matches!(fragments[1], Fragment::Literal { .. })); // after "+"
//!
//! let resp = Response::parse(b"* 3 FETCH (UID 9 FLAGS (\\Seen))\r\n").unwrap();
//! assert_eq!(resp.encode(Version::Rev1).into_bytes(), b"* 3 FETCH (UID 9 FLAGS (\\Seen))\r\n");
//! ```
//!
//! # What is covered
//!
//! Every command and response of RFC 9051 and RFC 3501, and the syntax of
//! LITERAL+/LITERAL- (RFC 7888), IDLE (2177), UIDPLUS (4315), MOVE (6851),
//! ENABLE (5161), NAMESPACE (2342), SPECIAL-USE and CREATE-SPECIAL-USE
//! (6154), UNSELECT (3691), ID (2971), CHILDREN (3348), LIST-EXTENDED
//! (5258), LIST-STATUS (5819), ESEARCH (4731), SEARCHRES `$` (5182),
//! SASL-IR (4959), APPENDLIMIT (7889), STATUS=SIZE (8438), BINARY (3516),
//! CONDSTORE/QRESYNC (7162), SORT and THREAD=ORDEREDSUBJECT/REFERENCES
//! (5256; the algorithms in [`message::sort`] and [`message::thread`]),
//! QUOTA with the STORAGE and MESSAGE resources (9208), ESORT and
//! CONTEXT=SEARCH/SORT (5267), PARTIAL (9394), NOTIFY (5465),
//! COMPRESS=DEFLATE (4978: the command and the transport switch; the
//! adapter compresses), and URLAUTH (4467) with the IMAP URLs it
//! authorizes ([`url`], a subset of RFC 5092).
//!
//! - [`types`]: values that cannot be invalid (tags, atoms, strings,
//!   literals, mailbox names with modified UTF-7, sequence sets, flags,
//!   dates, [`types::Secret`]).
//! - [`command`] / [`response`]: the grammar, one nom function per ABNF
//!   rule (quoted in its doc comment), recursion-depth limited.
//! - [`framer`]: lines and literals, literal decisions, streaming, limits.
//! - [`encode`]: fragments and the [`Version`] switch (IMAP4rev2 drops
//!   `\Recent` and `RECENT`, turns LSUB into LIST `\Subscribed`, sends
//!   mailbox names in UTF-8 rather than modified UTF-7;
//!   [`response::Data::search_result`] picks SEARCH or ESEARCH).
//!
//! Parsing is strict where RFC 9051 is and lenient where widely deployed
//! servers differ (a bare `+`, missing text after a status, SP between
//! BODYSTRUCTURE parts or envelope addresses); the encoder always writes
//! the strict form.
#![forbid(unsafe_code)]

/// The `bytes` crate, re-exported: `Bytes` and `BytesMut` appear in this
/// crate's API.
pub use bytes;

#[cfg(any(test, feature = "arbitrary"))]
pub mod arbitrary;
pub mod command;
mod core;
pub mod encode;
pub mod error;
pub mod framer;
pub mod limits;
pub mod message;
pub mod response;
pub mod session;
pub mod types;
pub mod url;
pub mod view;

pub use encode::{Encode, Encoded, Encoder, Fragment, Version};
pub use limits::Limits;

pub use command::{Command, CommandBody};
pub use error::{ParseError, ParseErrorKind};
pub use response::Response;
