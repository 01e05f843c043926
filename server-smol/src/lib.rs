//! The sansmail server: configuration, listeners, TLS, authentication and
//! the glue between sockets, the sans-IO protocol sessions and the store,
//! the HTTP API and the test rigs.
//!
//! The package is `server-smol`; the library it builds is `sansmail`:
//!
//! ```toml
//! [dev-dependencies]
//! server-smol = { version = "0.1", default-features = false }  # no CLI deps
//! ```
//!
//! and in code `use sansmail::{Server, TestServer, Config};` (not
//! `server_smol::...`). The embedding API is [`Server`] /
//! [`RunningServer`] / [`BoundListener`] / [`StartError`], [`Config`]
//! (with the types of its fields in [`config`]), and [`TestServer`] with
//! [`ReceivedMessage`], [`ReceivedEnvelope`] and [`WaitTimeout`]. The
//! default feature `cli` builds the `sansmail` command line; turn it off
//! and clap, rpassword, signal-hook and tracing-subscriber are not
//! compiled.
//!
//! # Testing your app's mail
//!
//! [`TestServer`] starts a whole server for a test in one line: a
//! temporary `data_dir` removed on drop, every listener on a free port,
//! `[testing] catch_all`, the HTTP API without a token, and password
//! hashing cheap enough that [`TestServer::add_user`] takes milliseconds in
//! a debug build. Servers are independent, so tests run in parallel.
//!
//! ```
//! use std::io::{BufRead, BufReader, Write};
//! use std::time::Duration;
//!
//! let server = sansmail::TestServer::start();
//! server.add_user("alice@localhost", "secret");
//!
//! // The application under test sends mail to server.addr("smtp") ...
//! # let s = std::net::TcpStream::connect(server.addr("smtp")).unwrap();
//! # let mut w = s.try_clone().unwrap();
//! # let mut r = BufReader::new(s);
//! # let mut line = String::new();
//! # for cmd in ["EHLO app", "MAIL FROM:<app@example.test>", "RCPT TO:<alice@localhost>", "DATA"] {
//! #     loop { line.clear(); r.read_line(&mut line).unwrap(); if line.as_bytes()[3] == b' ' { break; } }
//! #     write!(w, "{cmd}\r\n").unwrap();
//! # }
//! # loop { line.clear(); r.read_line(&mut line).unwrap(); if line.as_bytes()[3] == b' ' { break; } }
//! # write!(w, "Subject: Welcome\r\n\r\nHello Alice\r\n.\r\nQUIT\r\n").unwrap();
//!
//! // ... and the test asks what arrived.
//! let messages = server
//!     .wait_for_messages(1, Duration::from_secs(5))
//!     .expect("the welcome mail");
//! let m = &messages[0];
//! assert_eq!(m.envelope.mail_from.as_deref(), Some("app@example.test"));
//! assert_eq!(m.envelope.rcpt_to, "alice@localhost");
//! assert_eq!(m.subject.as_deref(), Some("Welcome"));
//! assert_eq!(m.text.as_deref(), Some("Hello Alice\r\n"));
//! assert!(m.raw.ends_with(b"Subject: Welcome\r\n\r\nHello Alice\r\n"));
//! server.purge();
//! assert!(server.messages().is_empty());
//! ```
//!
//! | GreenMail (Java)                                   | sansmail                                              |
//! |----------------------------------------------------|-------------------------------------------------------|
//! | `@RegisterExtension GreenMailExtension g = ...`    | `let server = TestServer::start();`                   |
//! | `g.getSmtp().getPort()`                            | `server.addr("smtp").port()`                          |
//! | `g.setUser("alice@localhost", "secret")`           | `server.add_user("alice@localhost", "secret")`        |
//! | `g.getReceivedMessages()`                          | `server.messages()`                                   |
//! | `g.waitForIncomingEmail(5000, 1)`                  | `server.wait_for_messages(1, Duration::from_secs(5))` |
//! | `g.purgeEmailFromAllMailboxes()`                   | `server.purge()`                                      |
//! | `msg.getSubject()`, `GreenMailUtil.getBody(msg)`   | `m.subject`, `m.text`, `m.html`, `m.raw`              |
//!
//! Other languages use the same server over HTTP (`GET
//! /api/v1/messages?wait=5`, docs/DESIGN.md §5.5).
//!
//! # Embedding with a full configuration
//!
//! [`Server::start`] takes any [`Config`]; give it its own directory and
//! port 0 (the defaults bind fixed ports):
//!
//! ```no_run
//! use sansmail::{Config, Server};
//!
//! let dir = tempfile::tempdir().expect("temporary directory");
//! let mut config = Config::default();
//! config.data_dir = dir.path().to_path_buf();
//! config.smtp.listen = vec!["127.0.0.1:0".into()];
//! config.submission = Default::default();
//! config.imap = Default::default();
//! config.pop3 = Default::default();
//! config.http.listen = vec![];
//! let server = Server::start(config).expect("server starts");
//! let smtp = server.addr("smtp").expect("smtp listener");
//! // ... talk SMTP to `smtp` ...
//! server.stop();
//! ```

// The embedding API is what this file re-exports; everything else is the
// server's own. `config` is public because `Config`'s fields are its types;
// `checks` and `outbound` are hidden: integration tests drive one outbound
// delivery attempt, the DNS layer and the receipt checks directly;
// `internals` is hidden for the same reason.
pub(crate) mod accounts;
pub(crate) mod auth;
#[doc(hidden)]
pub mod checks;
#[cfg(feature = "cli")]
#[doc(hidden)]
pub mod cli;
pub mod config;
pub(crate) mod control;
pub(crate) mod http;
pub(crate) mod imap;
pub(crate) mod lmtp;
pub(crate) mod message;
pub(crate) mod metrics;
pub(crate) mod net;
/// Internals that an integration test measures directly (the
/// COMPRESS=DEFLATE codec's memory, `tests/deflate_memory.rs`); not part
/// of the embedding API.
#[doc(hidden)]
pub mod internals {
    pub use crate::net::deflate::DeflateCodec;
}
#[doc(hidden)]
pub mod outbound;
pub(crate) mod pipeline;
pub(crate) mod pop3;
pub(crate) mod pump;
pub(crate) mod server;
pub(crate) mod shared;
pub(crate) mod smtp;
mod test_server;
pub(crate) mod testing;
pub(crate) mod tls;
pub(crate) mod trace;

pub use config::Config;
pub use server::{BoundListener, RunningServer, Server, StartError};
pub use test_server::{ReceivedEnvelope, ReceivedMessage, TestServer, WaitTimeout};
