//! The client session state machine (RFC 5321 sender, RFC 2033 LMTP client).
//!
//! # The run loop
//!
//! After **every** input (`feed`, `handle_eof`, `handle_timeout`), answer
//! (`respond`, `transport_switched`) or body call (`send_body`, `end_body`),
//! drain in this order: `poll_transmit` until false (write the bytes),
//! `poll_event(now)` until `None` (answer `Ready`, stream the body after
//! `SendBody`, upgrade after `SwitchTransport`), then `poll_timeout` (race
//! the socket against it). `feed` returns 0 while a `Ready` waits for its
//! answer: keep the bytes and offer them again.
//!
//! ```
//! use std::time::Instant;
//! use bytes::BytesMut;
//! use smtp_proto::client::{Action, ClientConfig, ClientEvent, ClientSession, Envelope, Outcome, Recipient};
//!
//! let now = Instant::now();
//! let mut client = ClientSession::new(ClientConfig::new("client.example"), now);
//! let mut server: &[u8] = b"220 mx ESMTP\r\n250-mx\r\n250 PIPELINING\r\n\
//!     250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n354 Go ahead\r\n250 2.0.0 Queued\r\n221 2.0.0 Bye\r\n";
//! let mut wire = BytesMut::new();
//! let mut mail = Some(Envelope::new(Some("a@client.example".into()), vec![Recipient::new("b@mx")], 5));
//! let mut done = None;
//! while !client.is_closed() {
//!     let used = client.feed(server);
//!     server = &server[used..];
//!     while client.poll_transmit(&mut wire) {} // write `wire` to the socket
//!     while let Some(event) = client.poll_event(now) {
//!         match event {
//!             ClientEvent::Ready { id } => {
//!                 let action = mail.take().map_or(Action::Quit, Action::Mail);
//!                 client.respond(id, action).expect("Ready is pending");
//!             }
//!             ClientEvent::SendBody => {
//!                 assert_eq!(client.send_body(b".hi\r\n"), 5);
//!                 client.end_body();
//!             }
//!             ClientEvent::TransactionDone(result) => done = Some(result),
//!             _ => {}
//!         }
//!     }
//!     while client.poll_transmit(&mut wire) {}
//! }
//! assert_eq!(&wire[..], &b"EHLO client.example\r\nMAIL FROM:<a@client.example>\r\n\
//!     RCPT TO:<b@mx>\r\nDATA\r\n..hi\r\n.\r\nQUIT\r\n"[..]);
//! assert!(matches!(done.unwrap().outcomes[0], Outcome::Delivered(_)));
//! ```
//!
//! # Choices worth knowing
//!
//! - The session runs whole transactions: MAIL parameters are sent only
//!   when the server offers their extension (SIZE, BODY=, SMTPUTF8, DSN's
//!   RET/ENVID/NOTIFY/ORCPT); what cannot be dropped is refused before
//!   MAIL, per recipient: an 8-bit body without 8BITMIME is `554 5.6.3`
//!   (RFC 6152 §3 allows returning it; we never down-convert), a binary one
//!   without BINARYMIME and CHUNKING too, an internationalized envelope or
//!   header without SMTPUTF8 `553 5.6.7` (RFC 6531 §3.2), and a size over
//!   the server's SIZE `552 5.3.4` (RFC 1870).
//! - Outcomes: a RCPT refusal is final for its recipient; MAIL's refusal
//!   is every recipient's; after the data, SMTP's one reply is every
//!   accepted recipient's and LMTP's replies are one each (RFC 2033 §4.2).
//!   A lost connection, a timeout or a `421` leaves every open recipient
//!   with a temporary failure, even after the final dot (RFC 5321 §6.1
//!   prefers a duplicate to a loss).
//! - After STARTTLS's 220 anything the server already sent is discarded
//!   (RFC 3207 §6, response injection) and EHLO is sent again.
//! - EHLO refused with 5xx falls back to HELO (RFC 5321 §4.1.4); a refused
//!   greeting or HELO ends the session with QUIT.
//! - Reply text that is not UTF-8 is read lossily rather than refused.
//! - A multi-line reply is parsed only once complete, and only within
//!   [`ClientLimits`]; each timeout bounds one whole reply, so partial input
//!   never extends it.

mod reader;
mod transaction;
mod types;

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use base64::Engine;
use bytes::BytesMut;

use crate::{Command, Mechanism, Mode, Reply, RequestId, Secret, TransportKind};
use reader::{Read, ReplyReader};
use transaction::Transaction;
pub use types::{
    Action, ClientConfig, ClientError, ClientEvent, ClientLimits, Credentials, Envelope,
    Extensions, Outcome, Recipient, Stage, TransactionResult,
};

/// The reply a sent command waits for, in the order the server answers.
#[derive(Debug)]
enum Expect {
    Greeting,
    Ehlo,
    Helo,
    StartTls,
    /// `AUTH LOGIN` sent: the 334 asking for the user name.
    LoginUser {
        username: String,
        password: Secret<String>,
    },
    /// The user name sent: the 334 asking for the password.
    LoginPassword(Secret<String>),
    /// The credentials are out: 235 or a refusal.
    AuthDone,
    Mail,
    Rcpt(usize),
    Data,
    /// A BDAT chunk that is not the last.
    Bdat,
    /// The reply to the end of data (DATA's `.` or `BDAT LAST`): for SMTP
    /// one for all accepted recipients (`None`), for LMTP one per accepted
    /// recipient (RFC 2033 §4.2).
    DataEnd(Option<usize>),
    Rset,
    Quit,
}

impl Expect {
    fn stage(&self) -> Stage {
        match self {
            Expect::Greeting => Stage::Greeting,
            Expect::Ehlo | Expect::Helo => Stage::Hello,
            Expect::StartTls => Stage::StartTls,
            Expect::LoginUser { .. } | Expect::LoginPassword(_) | Expect::AuthDone => Stage::Auth,
            Expect::Mail => Stage::Mail,
            Expect::Rcpt(_) => Stage::Rcpt,
            Expect::Data => Stage::Data,
            Expect::Bdat | Expect::DataEnd(_) => Stage::DataEnd,
            Expect::Rset => Stage::Rset,
            Expect::Quit => Stage::Quit,
        }
    }

    fn timeout(&self, limits: &ClientLimits) -> Duration {
        match self {
            Expect::Greeting => limits.greeting,
            Expect::Mail => limits.mail,
            Expect::Rcpt(_) => limits.rcpt,
            Expect::Data => limits.data_init,
            Expect::Bdat => limits.data_block,
            Expect::DataEnd(_) => limits.data_end,
            Expect::Quit => limits.quit,
            _ => limits.command,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// Commands are in flight (or the greeting is awaited).
    Talking,
    /// `Ready` was emitted; nothing is read until the adapter answers.
    Ready(RequestId),
    /// The adapter streams the body (`send_body`/`end_body`).
    Body,
    /// `SwitchTransport` was emitted; input is discarded until `transport_switched`.
    Switching,
    /// Over: QUIT answered, or the session failed.
    Closed,
}

/// A sans-IO SMTP/LMTP client session: one connection, any number of
/// transactions.
///
/// Method groups, as in quinn-proto: getters ([`extensions`](Self::extensions),
/// [`tls_active`](Self::tls_active), ...), inputs ([`feed`](Self::feed),
/// [`handle_eof`](Self::handle_eof), [`handle_timeout`](Self::handle_timeout)),
/// answers and body ([`respond`](Self::respond),
/// [`transport_switched`](Self::transport_switched),
/// [`send_body`](Self::send_body), [`end_body`](Self::end_body)) and outputs
/// ([`poll_transmit`](Self::poll_transmit), [`poll_event`](Self::poll_event),
/// [`poll_timeout`](Self::poll_timeout)). See the module docs for the loop.
///
/// With PIPELINING (RFC 2920) MAIL, every RCPT and DATA go out in one
/// write; without it one command waits for the previous reply. With
/// CHUNKING (RFC 3030, if [`ClientConfig::chunking`]) the body goes as BDAT
/// chunks after the RCPT replies, otherwise as dot-stuffed DATA.
pub struct ClientSession {
    config: ClientConfig,
    phase: Phase,
    out: BytesMut,
    events: VecDeque<ClientEvent>,
    reader: ReplyReader,
    expect: VecDeque<Expect>,
    extensions: Option<Extensions>,
    tls_active: bool,
    authenticated: bool,
    transaction: Option<Transaction>,
    next_id: u64,
    deadline: Option<Instant>,
    /// The state changed since the deadline was armed: re-arm from the next `now`.
    rearm: bool,
}

/// Shows the state but not the queued output, which may hold an AUTH
/// response (base64 credentials).
impl std::fmt::Debug for ClientSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientSession")
            .field("phase", &self.phase)
            .field("expect", &self.expect)
            .field("pending_output", &self.out.len())
            .field("extensions", &self.extensions)
            .field("tls_active", &self.tls_active)
            .field("authenticated", &self.authenticated)
            .field("transaction", &self.transaction)
            .field("deadline", &self.deadline)
            .finish_non_exhaustive()
    }
}

impl ClientSession {
    /// A session for a freshly connected socket; it waits for the greeting.
    pub fn new(config: ClientConfig, now: Instant) -> Self {
        let mut expect = VecDeque::new();
        expect.push_back(Expect::Greeting);
        let mut session = ClientSession {
            tls_active: config.tls_active,
            config,
            phase: Phase::Talking,
            out: BytesMut::new(),
            events: VecDeque::new(),
            reader: ReplyReader::default(),
            expect,
            extensions: None,
            authenticated: false,
            transaction: None,
            next_id: 0,
            deadline: None,
            rearm: true,
        };
        session.arm(now);
        session
    }

    // ----- getters -----

    /// What the last EHLO/LHLO reply offered; `None` before it (and right
    /// after STARTTLS, until the new EHLO reply).
    pub fn extensions(&self) -> Option<&Extensions> {
        self.extensions.as_ref()
    }

    /// The transport is TLS (implicit, or after STARTTLS).
    pub fn tls_active(&self) -> bool {
        self.tls_active
    }

    /// AUTH succeeded on this transport.
    pub fn is_authenticated(&self) -> bool {
        self.authenticated
    }

    /// The configuration.
    pub fn config(&self) -> &ClientConfig {
        &self.config
    }

    /// True between `SendBody` and `end_body` (false again if the server
    /// refused a BDAT chunk meanwhile: stop sending).
    pub fn wants_body(&self) -> bool {
        self.phase == Phase::Body
    }

    /// True once the session is over and its last output was drained:
    /// close the connection.
    pub fn is_closed(&self) -> bool {
        self.phase == Phase::Closed && self.out.is_empty()
    }

    // ----- inputs -----

    /// Offers bytes read from the server; returns how many were taken.
    ///
    /// Fewer than `data.len()` means a `Ready` waits for its answer, or the
    /// body is being sent and no reply is due yet: keep the rest and offer it
    /// again after answering (or after `end_body`). After a failure, and
    /// between `SwitchTransport` and `transport_switched`, input is taken
    /// and discarded.
    pub fn feed(&mut self, data: &[u8]) -> usize {
        let mut pos = 0;
        loop {
            match self.phase {
                Phase::Closed | Phase::Switching => return data.len(),
                Phase::Ready(_) => return pos,
                // While the body streams and no reply is due, a server has
                // nothing to say (RFC 5321 §4.1.1.4): leave its bytes unread
                // until the end of data, whose reply they then are.
                Phase::Body if self.expect.is_empty() => return pos,
                Phase::Talking | Phase::Body => {}
            }
            let Some(rest) = data.get(pos..).filter(|r| !r.is_empty()) else {
                return pos;
            };
            let limits = &self.config.limits;
            match self
                .reader
                .read(rest, limits.max_reply_line_length, limits.max_reply_lines)
            {
                Err(error) => {
                    self.fail(error);
                    return data.len();
                }
                Ok(Read::More) => return data.len(),
                Ok(Read::Reply(reply, used)) => {
                    pos += used;
                    self.on_reply(reply);
                }
            }
        }
    }

    /// The server closed the connection (or reading failed). After QUIT this
    /// is the normal end; anywhere else the session fails with
    /// [`ClientError::ConnectionClosed`].
    pub fn handle_eof(&mut self) {
        match self.phase {
            Phase::Closed => {}
            _ if matches!(self.expect.front(), Some(Expect::Quit)) => self.close(),
            _ => {
                let stage = self.stage();
                self.fail(ClientError::ConnectionClosed(stage));
            }
        }
    }

    /// Call when `poll_timeout` expires: the session fails with
    /// [`ClientError::Timeout`] if its deadline has passed.
    pub fn handle_timeout(&mut self, now: Instant) {
        self.arm(now);
        if !self.timer_running() {
            return;
        }
        if self.deadline.is_some_and(|d| now >= d) {
            let stage = self.stage();
            self.fail(ClientError::Timeout(stage));
        }
    }

    // ----- answers and body -----

    /// Answers [`ClientEvent::Ready`] `id`. Hands the action back if `id` is
    /// not the question waited on, for STARTTLS while TLS is on, and for a
    /// transaction without recipients.
    pub fn respond(&mut self, id: RequestId, action: Action) -> Result<(), Action> {
        if self.phase != Phase::Ready(id) {
            return Err(action);
        }
        match action {
            Action::StartTls if self.tls_active => return Err(Action::StartTls),
            Action::Mail(envelope) if envelope.recipients.is_empty() => {
                return Err(Action::Mail(envelope));
            }
            Action::StartTls => self.command(&Command::StartTls, Expect::StartTls),
            Action::Auth(credentials) => self.auth(credentials),
            Action::Mail(envelope) => self.start_transaction(envelope),
            Action::Quit => self.command(&Command::Quit, Expect::Quit),
        }
        if self.phase == Phase::Ready(id) {
            self.phase = Phase::Talking;
        }
        Ok(())
    }

    /// The adapter finished the TLS handshake after `SwitchTransport`. The
    /// session forgets the extensions and any AUTH and sends EHLO again
    /// (RFC 3207 §4.2). Ignored in any other state.
    pub fn transport_switched(&mut self, now: Instant) {
        if self.phase != Phase::Switching {
            return;
        }
        self.tls_active = true;
        self.extensions = None;
        self.authenticated = false;
        self.reader.clear();
        self.phase = Phase::Talking;
        self.hello();
        self.arm(now);
    }

    /// Offers message bytes after `SendBody`; returns how many were taken
    /// (0: drain `poll_transmit` and, with BDAT, read replies first).
    /// DATA bodies are dot-stuffed as they go ([`DotStuffer`](crate::DotStuffer));
    /// BDAT bodies are sent as they are.
    pub fn send_body(&mut self, data: &[u8]) -> usize {
        if self.phase != Phase::Body || data.is_empty() {
            return 0;
        }
        let limits = self.config.limits.clone();
        let pipelining = self.pipelining();
        let Some(tx) = self.transaction.as_mut() else {
            return 0;
        };
        let taken = tx.send_body(data, &mut self.out, &limits);
        if let Some(expect) = tx.flush_chunk(&mut self.out, &limits, pipelining) {
            self.expect.push_back(expect);
        }
        if taken > 0 {
            self.rearm = true;
        }
        taken
    }

    /// The whole body was offered: sends the end of data (`.` CRLF, or the
    /// last BDAT chunk once allowed). False outside the body phase.
    pub fn end_body(&mut self) -> bool {
        if self.phase != Phase::Body {
            return false;
        }
        self.phase = Phase::Talking;
        self.rearm = true;
        let lmtp = self.config.mode == Mode::Lmtp;
        let pipelining = self.pipelining();
        if let Some(tx) = self.transaction.as_mut() {
            let ends = tx.end_body(&mut self.out, lmtp, pipelining);
            self.expect.extend(ends);
        }
        true
    }

    // ----- outputs -----

    /// Appends all pending output to `out`; true if anything was appended.
    /// Call after every input, answer or body call until it returns false.
    #[must_use]
    pub fn poll_transmit(&mut self, out: &mut BytesMut) -> bool {
        if self.out.is_empty() {
            return false;
        }
        out.extend_from_slice(&self.out);
        self.out.clear();
        true
    }

    /// The next event; call after `poll_transmit` until it returns `None`.
    /// `now` starts the timeout of the command that was just sent.
    #[must_use]
    pub fn poll_event(&mut self, now: Instant) -> Option<ClientEvent> {
        self.arm(now);
        self.events.pop_front()
    }

    /// When to call `handle_timeout`: the deadline of the awaited reply, or
    /// of the next body piece; `None` while a `Ready` or the TLS handshake
    /// waits on the adapter. Call again after every `poll_event`.
    #[must_use]
    pub fn poll_timeout(&self) -> Option<Instant> {
        if self.timer_running() {
            self.deadline
        } else {
            None
        }
    }

    // ----- internals -----

    fn timer_running(&self) -> bool {
        matches!(self.phase, Phase::Talking | Phase::Body)
    }

    /// Re-arms the deadline from `now` if the awaited step changed.
    fn arm(&mut self, now: Instant) {
        if !std::mem::take(&mut self.rearm) {
            return;
        }
        let limits = &self.config.limits;
        let wait = match (self.expect.front(), self.phase) {
            (Some(expect), _) => Some(expect.timeout(limits)),
            (None, Phase::Body) => Some(limits.data_block),
            _ => None,
        };
        self.deadline = wait.and_then(|w| now.checked_add(w));
    }

    /// Where the session is, for errors.
    fn stage(&self) -> Stage {
        match (self.expect.front(), self.phase) {
            (Some(expect), _) => expect.stage(),
            (None, Phase::Body) => Stage::Body,
            (None, Phase::Switching) => Stage::StartTls,
            _ => Stage::Idle,
        }
    }

    fn pipelining(&self) -> bool {
        self.extensions.as_ref().is_some_and(|e| e.pipelining)
    }

    fn command(&mut self, command: &Command, expect: Expect) {
        command.encode(&mut self.out);
        self.expect.push_back(expect);
        self.rearm = true;
    }

    fn hello(&mut self) {
        let name = self.config.hostname.clone();
        match self.config.mode {
            Mode::Smtp => self.command(&Command::Ehlo(name), Expect::Ehlo),
            Mode::Lmtp => self.command(&Command::Lhlo(name), Expect::Ehlo),
        }
    }

    fn ready(&mut self) {
        self.next_id += 1;
        let id = RequestId(self.next_id);
        self.phase = Phase::Ready(id);
        self.events.push_back(ClientEvent::Ready { id });
    }

    fn close(&mut self) {
        self.phase = Phase::Closed;
        self.expect.clear();
        self.transaction = None;
    }

    /// Gives up: settles an open transaction (unresolved recipients get a
    /// temporary failure), reports the error and closes without QUIT.
    fn fail(&mut self, error: ClientError) {
        if let Some(tx) = self.transaction.take() {
            let result = tx.finish(Some(error.reply()));
            self.events.push_back(ClientEvent::TransactionDone(result));
        }
        self.events.push_back(ClientEvent::Failed(error));
        self.out.clear();
        self.close();
    }

    /// No session is possible (greeting or HELO refused): QUIT, as RFC 5321
    /// §3.1 asks, without waiting for its reply.
    fn fail_with_quit(&mut self, stage: Stage, reply: Reply) {
        self.fail(ClientError::Refused(stage, reply));
        Command::Quit.encode(&mut self.out);
    }

    fn auth(&mut self, credentials: Credentials) {
        let b64 = |s: &[u8]| base64::engine::general_purpose::STANDARD.encode(s);
        match credentials.mechanism {
            // RFC 4616 §2: message = [authzid] UTF8NUL authcid UTF8NUL passwd,
            // sent as the initial response (RFC 4954 §4).
            Mechanism::Plain => {
                let mut message = vec![0u8];
                message.extend_from_slice(credentials.username.as_bytes());
                message.push(0);
                message.extend_from_slice(credentials.password.expose().as_bytes());
                let command = Command::Auth {
                    mechanism: "PLAIN".into(),
                    initial_response: Some(b64(&message)),
                };
                self.command(&command, Expect::AuthDone);
            }
            _ => {
                let command = Command::Auth {
                    mechanism: "LOGIN".into(),
                    initial_response: None,
                };
                let expect = Expect::LoginUser {
                    username: credentials.username,
                    password: credentials.password,
                };
                self.command(&command, expect);
            }
        }
    }

    /// Sends one SASL response line.
    fn sasl_line(&mut self, line: &[u8], expect: Expect) {
        let encoded = base64::engine::general_purpose::STANDARD.encode(line);
        self.out.extend_from_slice(encoded.as_bytes());
        self.out.extend_from_slice(b"\r\n");
        self.expect.push_back(expect);
        self.rearm = true;
    }

    fn on_reply(&mut self, reply: Reply) {
        self.rearm = true;
        let Some(expect) = self.expect.pop_front() else {
            // RFC 5321 §3.8: a server may send 421 at any time.
            return self.fail(if reply.code == 421 {
                ClientError::ServiceClosing(reply)
            } else {
                ClientError::UnexpectedReply(reply)
            });
        };
        if reply.code == 421 && !matches!(expect, Expect::Quit) {
            return self.fail(ClientError::ServiceClosing(reply));
        }
        match expect {
            Expect::Greeting if reply.code == 220 => self.hello(),
            Expect::Greeting => self.fail_with_quit(Stage::Greeting, reply),
            Expect::Ehlo if reply.is_positive() => {
                self.extensions = Some(Extensions::from_ehlo(&reply));
                self.ready();
            }
            // RFC 5321 §4.1.4: a server that does not know EHLO gets HELO.
            Expect::Ehlo if reply.is_permanent() && self.config.mode == Mode::Smtp => {
                let name = self.config.hostname.clone();
                self.command(&Command::Helo(name), Expect::Helo);
            }
            Expect::Helo if reply.is_positive() => {
                self.extensions = Some(Extensions {
                    domain: reply.lines.first().cloned().unwrap_or_default(),
                    ..Extensions::default()
                });
                self.ready();
            }
            Expect::Ehlo | Expect::Helo => self.fail_with_quit(Stage::Hello, reply),
            Expect::StartTls if reply.code == 220 => {
                self.phase = Phase::Switching;
                self.events.push_back(ClientEvent::SwitchTransport {
                    kind: TransportKind::StartTls,
                    leftover: bytes::Bytes::new(),
                });
            }
            Expect::StartTls => self.refused(Stage::StartTls, reply),
            Expect::LoginUser { username, password } if reply.code == 334 => {
                self.sasl_line(username.as_bytes(), Expect::LoginPassword(password));
            }
            Expect::LoginPassword(password) if reply.code == 334 => {
                self.sasl_line(password.expose().as_bytes(), Expect::AuthDone);
            }
            // A challenge after all credentials are out: cancel (RFC 4954 §4).
            Expect::AuthDone if reply.code == 334 => {
                self.out.extend_from_slice(b"*\r\n");
                self.expect.push_back(Expect::AuthDone);
            }
            Expect::LoginUser { .. } | Expect::LoginPassword(_) | Expect::AuthDone => {
                if reply.code == 235 {
                    self.authenticated = true;
                    self.events.push_back(ClientEvent::Authenticated);
                    self.ready();
                } else {
                    self.refused(Stage::Auth, reply);
                }
            }
            Expect::Quit => self.close(),
            Expect::Mail
            | Expect::Rcpt(_)
            | Expect::Data
            | Expect::Bdat
            | Expect::DataEnd(_)
            | Expect::Rset => self.transaction_reply(expect, reply),
        }
    }

    fn refused(&mut self, stage: Stage, reply: Reply) {
        self.events.push_back(ClientEvent::Refused { stage, reply });
        self.ready();
    }
}
