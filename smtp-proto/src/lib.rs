//! Sans-IO SMTP/ESMTP/LMTP: codec, server session and client session.
//!
//! The crate has no sockets, no async, no clock: bytes and time come in as
//! arguments, replies and events go out through `poll_*` methods.
//!
//! - Codec, both directions: [`Command::parse`] / [`Command::encode`],
//!   [`Reply::parse`] / [`Reply::encode`], plus the RFC 5321 path grammar in
//!   [`address`].
//! - Body receivers: [`DataReceiver`] (dot-unstuffing, SMTP smuggling
//!   defence) and [`BdatReceiver`] (RFC 3030 chunks).
//! - [`ServerSession`]: a receiving SMTP (RFC 5321) or LMTP (RFC 2033)
//!   server with PIPELINING, SIZE, 8BITMIME, SMTPUTF8, ENHANCEDSTATUSCODES,
//!   CHUNKING, STARTTLS, AUTH PLAIN/LOGIN and, when configured, BURL
//!   (RFC 4468: the adapter fetches the URL, [`Event::Burl`]). DSN
//!   parameters (RFC 3461) are parsed and handed on but DSN is not
//!   advertised.
//!
//! - [`ClientSession`] (module [`client`]): the sending side, for relaying
//!   and delivery to an MX, a smarthost or an LMTP server: greeting, EHLO
//!   with HELO fallback, STARTTLS, AUTH PLAIN/LOGIN, PIPELINING, SIZE,
//!   8BITMIME, SMTPUTF8, CHUNKING/BDAT, DSN parameters and per-recipient
//!   outcomes; bodies are streamed through [`DotStuffer`]. Its run loop is in
//!   the [`client`] module docs.
//!
//! # The run loop (server)
//!
//! The session asks, the adapter answers. After **every** `feed`, `respond`,
//! `respond_lmtp`, `transport_switched` or `handle_timeout` call, drain in
//! this order: `poll_transmit` until it returns false (write the bytes), then
//! `poll_event` until `None` (answer the events that carry an id), then
//! `poll_timeout` (re-arm the timer). `feed` returns how many bytes it took:
//! keep the rest and offer it again after answering; 0 means "stop reading".
//!
//! ```
//! use std::time::Instant;
//! use bytes::BytesMut;
//! use smtp_proto::{Event, Reply, ServerConfig, ServerSession};
//!
//! let mut session = ServerSession::new(ServerConfig::new("mx.example.org"), Instant::now());
//! let mut input: &[u8] = b"EHLO c.example\r\nMAIL FROM:<a@c.example>\r\nRCPT TO:<b@mx.example.org>\r\n\
//!     DATA\r\nSubject: hi\r\n\r\n..dot\r\n.\r\nQUIT\r\n";
//! let mut wire = BytesMut::new();
//! let mut body = Vec::new();
//! while !session.is_closed() {
//!     let used = session.feed(input);
//!     input = &input[used..];
//!     let mut progressed = used > 0;
//!     while session.poll_transmit(&mut wire) {
//!         progressed = true; // write `wire` to the socket
//!     }
//!     while let Some(event) = session.poll_event() {
//!         progressed = true;
//!         let answer = match event {
//!             Event::MailFrom { id, .. } => Some((id, Reply::new(250, "2.1.0", "Ok"))),
//!             Event::RcptTo { id, .. } => Some((id, Reply::new(250, "2.1.5", "Ok"))),
//!             Event::BodyChunk(chunk) => { body.extend_from_slice(&chunk); None }
//!             Event::DataEnd { id } => Some((id, Reply::new(250, "2.0.0", "Ok: queued"))),
//!             _ => None,
//!         };
//!         if let Some((id, reply)) = answer {
//!             session.respond(id, reply).expect("answers the pending event");
//!         }
//!     }
//!     let _deadline = session.poll_timeout(); // race the socket against it
//!     if !progressed { break; }
//! }
//! assert_eq!(body, b"Subject: hi\r\n\r\n.dot\r\n");
//! assert!(String::from_utf8_lossy(&wire).ends_with("250 2.0.0 Ok: queued\r\n221 2.0.0 Bye\r\n"));
//! ```
//!
//! # Choices worth knowing
//!
//! - Command lines may end in a bare LF (as Postfix accepts); inside DATA
//!   only CRLF counts, and a bare CR or LF makes the message refused with
//!   `550 5.6.0` after the real CRLF.CRLF (RFC 5321 §2.3.8, SMTP smuggling).
//! - `MAIL FROM: <a@b>` (space after the colon) and lower-case verbs are
//!   accepted; a source route `<@a,@b:u@d>` is accepted and dropped
//!   (RFC 5321 §4.1.1.3). Addresses are kept as sent, without `<>`.
//! - Enhanced status codes (RFC 2034) are on every reply the session makes,
//!   except the greeting, HELO/EHLO/LHLO replies and 3xx intermediate replies,
//!   which RFC 2034 §3 and RFC 3463 exclude.
//! - The idle deadline is re-armed lazily, because `feed` takes no time: when
//!   it expires and input arrived meanwhile, it moves to `now + idle_timeout`.
//!   A silent client is therefore dropped after between one and two idle
//!   timeouts. While the session waits for an answer there is no deadline.
#![forbid(unsafe_code)]

/// The `bytes` crate, re-exported: `Bytes` and `BytesMut` appear in this
/// crate's API.
pub use bytes;

pub mod address;
pub mod client;
mod command;
mod config;
mod data;
mod dot_stuff;
mod error;
mod event;
mod params;
mod reply;
mod secret;
mod server;

pub use client::{ClientConfig, ClientEvent, ClientSession};
pub use command::Command;
pub use config::{Limits, Mechanism, Mode, ServerConfig};
pub use data::{BdatReceiver, DataProgress, DataReceiver};
pub use dot_stuff::DotStuffer;
pub use error::ParseError;
pub use event::{AbortReason, Event, RequestId, TransportKind};
pub use params::{BodyType, MailParams, Notify, RcptParams, Ret, xtext_decode, xtext_encode};
pub use reply::{EnhancedCode, Reply};
pub use secret::Secret;
pub use server::ServerSession;
