//! Sans-IO POP3: codec and server session.
//!
//! This crate parses and encodes POP3 commands and responses (RFC 1939,
//! RFC 2449 CAPA and response codes, RFC 2595 STLS, RFC 3206 codes, RFC 5034
//! SASL AUTH with PLAIN and LOGIN) and runs the server side of a POP3
//! session as a state machine. It does no I/O, reads no clock and spawns no
//! thread: bytes, time and answers come in as arguments (docs/DESIGN.md §2).
//!
//! # The run loop an adapter writes
//!
//! ```
//! use std::time::Instant;
//! use bytes::BytesMut;
//! use pop3_proto::{AuthAnswer, Event, MaildropEntry, Response, ResponseCode, ServerConfig, ServerSession};
//!
//! let message = b"Subject: hi\r\n\r\n.hello\r\n";
//! let mut session = ServerSession::new(ServerConfig::new("mail.example"), Instant::now());
//! let mut input: &[u8] = b"USER alice\r\nPASS secret\r\nRETR 1\r\nQUIT\r\n";
//! let mut wire = BytesMut::new();
//! while !session.is_closed() {
//!     // 1. Input: a real adapter reads the socket here.
//!     let taken = session.feed(input);
//!     input = &input[taken..];
//!     // 2. Output, in this order: transmit until false, events until None.
//!     while session.poll_transmit(&mut wire) {}
//!     while let Some(event) = session.poll_event() {
//!         match event {
//!             Event::Authenticate { id, password, .. } => {
//!                 let answer = if password.expose() == "secret" {
//!                     let uid = "1.1".to_owned();
//!                     AuthAnswer::Accept(vec![MaildropEntry { size: message.len() as u64, uid }])
//!                 } else {
//!                     AuthAnswer::Reject(Response::err_with_code(ResponseCode::Auth, "Bad login"))
//!                 };
//!                 session.respond_authenticate(id, answer).unwrap();
//!             }
//!             Event::Retrieve { id, .. } => {
//!                 session.respond_retrieve(id, Ok(())).unwrap();
//!                 // Stream the file in chunks, draining between chunks.
//!                 for chunk in message.chunks(8) {
//!                     let _ = session.send_external_chunk(id, chunk).unwrap();
//!                     while session.poll_transmit(&mut wire) {}
//!                 }
//!                 session.finish_external(id).unwrap();
//!             }
//!             Event::Update { id, deleted } => {
//!                 assert!(deleted.is_empty());
//!                 session.respond_update(id, Ok(())).unwrap();
//!             }
//!             _ => unreachable!("STLS is not offered here"),
//!         }
//!         while session.poll_transmit(&mut wire) {}
//!     }
//!     // 3. Timer: a real adapter races the socket against this deadline
//!     //    and calls `handle_timeout(now)` when it passes.
//!     let _deadline = session.poll_timeout();
//! }
//! assert_eq!(
//!     &wire[..],
//!     &b"+OK mail.example POP3 sansmail ready\r\n\
//!        +OK send PASS\r\n\
//!        +OK maildrop has 1 messages (23 octets)\r\n\
//!        +OK 23 octets\r\nSubject: hi\r\n\r\n..hello\r\n.\r\n\
//!        +OK mail.example POP3 server signing off (1 messages left)\r\n"[..]
//! );
//! ```
//!
//! # The flow of a session
//!
//! - AUTHORIZATION: `USER`/`PASS`, `AUTH PLAIN` (with or without initial
//!   response) and `AUTH LOGIN` end in [`Event::Authenticate`]. The adapter
//!   checks the password, locks the maildrop and answers
//!   [`AuthAnswer::Accept`] with the listing, or [`AuthAnswer::Reject`] with
//!   `-ERR [AUTH]`, `-ERR [IN-USE]` or `-ERR [SYS/TEMP]`.
//! - TRANSACTION: STAT, LIST, UIDL, DELE, RSET, NOOP and CAPA are answered
//!   by the session from the listing; deleted marks live in the session.
//!   RETR and TOP emit [`Event::Retrieve`]; after
//!   [`respond_retrieve`](ServerSession::respond_retrieve) the adapter
//!   copies the file through
//!   [`send_external_chunk`](ServerSession::send_external_chunk) (dot-stuffing
//!   by [`DotStuffer`]) and ends with
//!   [`finish_external`](ServerSession::finish_external).
//! - UPDATE: QUIT emits [`Event::Update`] with the deleted indexes; the
//!   adapter removes them durably, releases the lock and answers
//!   [`respond_update`](ServerSession::respond_update). QUIT in
//!   AUTHORIZATION just closes. A session that ends any other way
//!   (autologout, too many errors, the peer disconnecting, a failed message
//!   stream) must remove nothing and only release the lock.
//! - STLS: the `+OK` is queued, bytes pipelined after STLS are discarded,
//!   and once the `+OK` is drained [`Event::SwitchTransport`] asks for the
//!   TLS handshake; the adapter must also drop bytes it read but did not
//!   feed, then call [`transport_switched`](ServerSession::transport_switched).
//!
//! Each question blocks input (`feed` returns 0) until it is answered, so
//! answers stay in order under PIPELINING (RFC 2449 §6.6). An answer with a
//! wrong [`RequestId`] or in the wrong state is handed back as `Err`.
//!
//! # Choices
//!
//! - Message numbers in events are 0-based indexes into the listing the
//!   adapter returned at login ([`AuthAnswer::Accept`]).
//! - CAPA lists TOP, USER and `SASL PLAIN LOGIN` (only while a login is
//!   allowed on this connection), RESP-CODES, AUTH-RESP-CODE, PIPELINING,
//!   `EXPIRE NEVER` (the server never removes messages by policy),
//!   UIDL, `IMPLEMENTATION sansmail` and STLS (when configured and not yet
//!   TLS). APOP is not offered and the greeting has no timestamp.
//! - Lines may end in CRLF or a bare LF. Command lines are capped at 255
//!   octets (RFC 2449 §4), SASL response lines at 4096.
//! - Message bodies are sent with bare LF converted to CRLF; sizes in
//!   STAT/LIST are the adapter's, and [`WireSize`] counts them as sent
//!   (RFC 1939 §11).
//! - An `AUTH` command line is a command line: an initial response that
//!   would make it longer than 255 octets is refused as too long (RFC 5034
//!   §4 tells clients not to send one).
//! - Every refused login counts toward [`Limits::max_auth_failures`],
//!   whatever the response code; every unknown, malformed, over-long or
//!   out-of-state command counts toward [`Limits::max_bad_commands`]. A
//!   valid command with a negative answer (RETR of a deleted message) does
//!   not count.
//! - The autologout timer (RFC 1939 §3) is re-armed lazily, since `feed`
//!   takes no time argument: a silent client is logged out after between
//!   one and two [`Limits::autologout`] periods, never earlier than one.
//!
//! The client side of the codec: [`Command::encode`], [`Response::parse`],
//! [`Continuation::parse`] and the [`DotUnstuffer`] for multi-line
//! responses.
#![forbid(unsafe_code)]

/// The `bytes` crate, re-exported: `Bytes` and `BytesMut` appear in this
/// crate's API.
pub use bytes;

mod command;
mod dotstuff;
mod limits;
mod multiline;
mod response;
mod secret;
mod session;
mod wire_size;

pub use command::Command;
pub use dotstuff::{DotStuffer, MessageProgress};
pub use limits::Limits;
pub use multiline::{DotUnstuffer, Unstuffed};
pub use response::{Continuation, Response, ResponseCode, Status};
pub use secret::Secret;
pub use session::{
    AuthAnswer, AuthMechanism, Event, MaildropEntry, RequestId, ServerConfig, ServerSession,
    SessionError, SessionState, TransportKind,
};
pub use wire_size::WireSize;

/// Why a command or response line did not parse.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ParseError {
    /// The line is empty or only spaces.
    Empty,
    /// The keyword is not a POP3 command this crate knows.
    UnknownCommand,
    /// A required argument is missing.
    MissingArgument,
    /// More arguments than the command takes.
    TooManyArguments,
    /// An argument has the wrong form (a message number that is not a
    /// number, a control character).
    InvalidArgument,
    /// An argument or text is not UTF-8.
    InvalidUtf8,
    /// The line does not follow the grammar (CR or LF inside it, a
    /// response without `+OK`/`-ERR`).
    Malformed,
}

impl std::fmt::Display for ParseError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Empty => "empty line",
            Self::UnknownCommand => "unknown command",
            Self::MissingArgument => "missing argument",
            Self::TooManyArguments => "too many arguments",
            Self::InvalidArgument => "invalid argument",
            Self::InvalidUtf8 => "not UTF-8",
            Self::Malformed => "malformed line",
        })
    }
}

impl std::error::Error for ParseError {}
