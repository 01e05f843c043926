//! The POP3 server session (RFC 1939 with RFC 2449, RFC 2595, RFC 3206 and
//! RFC 5034): a state machine that reads command bytes, writes response
//! bytes, and asks the adapter for everything that needs the maildrop.

mod dispatch;
mod sasl;
mod types;

pub use types::{
    AuthAnswer, AuthMechanism, Event, MaildropEntry, RequestId, ServerConfig, SessionError,
    SessionState, TransportKind,
};

use std::collections::VecDeque;
use std::time::Instant;

use bytes::{Bytes, BytesMut};

use crate::{DotStuffer, MessageProgress, Response};

/// A logged-in maildrop: the listing and the deleted marks (RFC 1939 §5).
#[derive(Debug)]
struct Maildrop {
    entries: Vec<MaildropEntry>,
    deleted: Vec<bool>,
}

#[derive(Debug)]
enum Protocol {
    Authorization {
        user: Option<String>,
    },
    Transaction(Maildrop),
    /// Messages that remain once the deletions are applied.
    Update {
        remaining: usize,
    },
}

/// A SASL exchange waiting for the client's next line.
#[derive(Debug)]
enum SaslStep {
    PlainResponse,
    LoginUsername,
    LoginPassword { user: String },
}

/// What the session waits for before it reads the next command.
#[derive(Debug)]
enum Waiting {
    Nothing,
    Sasl(SaslStep),
    Authenticate(RequestId),
    Retrieve {
        id: RequestId,
        index: usize,
        top_lines: Option<u64>,
    },
    /// The answer to `id` is being streamed.
    Streaming {
        id: RequestId,
        stuffer: DotStuffer,
    },
    Update(RequestId),
    /// STLS answered; `emitted` once the event was handed out.
    Switch {
        emitted: bool,
    },
}

/// A POP3 server session.
///
/// Methods, grouped as in quinn-proto:
/// - getters: [`state`](Self::state), [`tls_active`](Self::tls_active),
///   [`authenticated`](Self::authenticated), [`is_closed`](Self::is_closed);
/// - input: [`feed`](Self::feed), [`handle_timeout`](Self::handle_timeout);
/// - answers: [`respond_authenticate`](Self::respond_authenticate),
///   [`respond_retrieve`](Self::respond_retrieve) with
///   [`send_external_chunk`](Self::send_external_chunk) /
///   [`finish_external`](Self::finish_external) /
///   [`abort_external`](Self::abort_external),
///   [`respond_update`](Self::respond_update),
///   [`transport_switched`](Self::transport_switched);
/// - output: [`poll_transmit`](Self::poll_transmit),
///   [`poll_event`](Self::poll_event), [`poll_timeout`](Self::poll_timeout).
///
/// After every input or answer, drain in this order: `poll_transmit` until
/// it returns false, then `poll_event` until `None`, then `poll_timeout`.
#[derive(Debug)]
pub struct ServerSession {
    config: ServerConfig,
    tls_active: bool,
    protocol: Protocol,
    waiting: Waiting,
    authenticated: Option<String>,
    input: Vec<u8>,
    /// Inside an over-long line: drop octets up to the next LF.
    discarding: bool,
    output: BytesMut,
    events: VecDeque<Event>,
    next_id: u64,
    bad_commands: u32,
    auth_failures: u32,
    /// Set once the last response is queued; closed when it is drained.
    closing: bool,
    deadline: Instant,
    /// Input arrived since the autologout timer was last armed.
    activity: bool,
}

impl ServerSession {
    /// A session for a new connection; the greeting is queued.
    pub fn new(config: ServerConfig, now: Instant) -> Self {
        let greeting = Response::ok(format!("{} POP3 sansmail ready", config.hostname));
        let mut session = Self::blank(config, now);
        session.queue(&greeting);
        session
    }

    /// A session that only sends `response` (for example `-ERR [SYS/TEMP]
    /// too many connections`) and then closes.
    pub fn refuse(config: ServerConfig, response: Response, now: Instant) -> Self {
        let mut session = Self::blank(config, now);
        session.queue(&response);
        session.closing = true;
        session
    }

    fn blank(config: ServerConfig, now: Instant) -> Self {
        let deadline = now + config.limits.autologout;
        Self {
            tls_active: config.tls_active,
            config,
            protocol: Protocol::Authorization { user: None },
            waiting: Waiting::Nothing,
            authenticated: None,
            input: Vec::new(),
            discarding: false,
            output: BytesMut::new(),
            events: VecDeque::new(),
            next_id: 0,
            bad_commands: 0,
            auth_failures: 0,
            closing: false,
            deadline,
            activity: false,
        }
    }

    /// The RFC 1939 state.
    pub fn state(&self) -> SessionState {
        match self.protocol {
            Protocol::Authorization { .. } => SessionState::Authorization,
            Protocol::Transaction(_) => SessionState::Transaction,
            Protocol::Update { .. } => SessionState::Update,
        }
    }

    /// Whether the connection is TLS (implicit, or after STLS).
    pub fn tls_active(&self) -> bool {
        self.tls_active
    }

    /// The user name of the successful login.
    pub fn authenticated(&self) -> Option<&str> {
        self.authenticated.as_deref()
    }

    /// True once the last response has been drained: drop the connection.
    pub fn is_closed(&self) -> bool {
        self.closing && self.output.is_empty()
    }

    /// Offers bytes read from the client; returns how many were taken.
    ///
    /// 0 means "stop reading": an answer from the adapter, a message
    /// stream, a transport switch or undrained output is pending, or the
    /// session is closing. Call again with the rest after draining the
    /// outputs and answering the events. The input buffer is bounded by
    /// [`Limits::max_sasl_line_length`](crate::Limits::max_sasl_line_length); an over-long line is skipped
    /// without being stored.
    pub fn feed(&mut self, data: &[u8]) -> usize {
        if !data.is_empty() {
            self.activity = true;
        }
        let capacity = self.input_capacity();
        let mut accepted = 0;
        while accepted < data.len() && !self.blocked() {
            let rest = &data[accepted..];
            if self.discarding && self.input.is_empty() {
                // Skip the over-long line in place: nothing is copied.
                match rest.iter().position(|b| *b == b'\n') {
                    Some(end) => {
                        accepted += end + 1;
                        self.discarding = false;
                        self.line_too_long();
                        self.process();
                    }
                    None => accepted = data.len(),
                }
                continue;
            }
            let room = capacity.saturating_sub(self.input.len());
            if room == 0 {
                break;
            }
            let take = room.min(rest.len());
            self.input.extend_from_slice(&rest[..take]);
            accepted += take;
            self.process();
        }
        accepted
    }

    /// Appends pending response bytes to `out`; true if anything was added.
    /// Call until it returns false; draining output may let the session
    /// read further pipelined commands, which queues more.
    #[must_use]
    pub fn poll_transmit(&mut self, out: &mut BytesMut) -> bool {
        if self.output.is_empty() {
            self.process();
            if self.output.is_empty() {
                return false;
            }
        }
        out.extend_from_slice(&self.output.split());
        true
    }

    /// The next event for the adapter. Call until `None` after draining
    /// [`poll_transmit`](Self::poll_transmit), and again after every input
    /// or answer.
    #[must_use]
    pub fn poll_event(&mut self) -> Option<Event> {
        if let Some(event) = self.events.pop_front() {
            return Some(event);
        }
        if let Waiting::Switch { emitted } = &mut self.waiting
            && !*emitted
            && self.output.is_empty()
        {
            *emitted = true;
            return Some(Event::SwitchTransport {
                kind: TransportKind::StartTls,
                leftover: Bytes::new(),
            });
        }
        None
    }

    /// When [`handle_timeout`](Self::handle_timeout) must be called next;
    /// also armed while the session waits for an answer (see
    /// `handle_timeout`), `None` during a TLS handshake (the adapter bounds
    /// that) and once closing. Ask again after every call into the session.
    #[must_use]
    pub fn poll_timeout(&self) -> Option<Instant> {
        if self.closing || matches!(self.waiting, Waiting::Switch { .. }) {
            None
        } else {
            Some(self.deadline)
        }
    }

    /// An answer, a message stream or a transport switch is pending.
    fn waiting_for_adapter(&self) -> bool {
        !matches!(self.waiting, Waiting::Nothing | Waiting::Sasl(_))
    }

    /// The configuration the session was created with.
    pub fn config(&self) -> &ServerConfig {
        &self.config
    }

    /// Runs the autologout timer (RFC 1939 §3).
    ///
    /// The timer is re-armed for another [`Limits::autologout`](crate::Limits::autologout) when input
    /// arrived, or the adapter answered or streamed a chunk, since it was
    /// last armed, so a silent client is logged out after between one and
    /// two periods. It also runs while the session waits for an answer: an
    /// adapter that never answers (a lost or misrouted answer) cannot hold
    /// the connection open forever. On expiry the session sends `-ERR` and
    /// closes without entering the UPDATE state: no message is removed. In
    /// the middle of a RETR/TOP stream it closes without a word, since
    /// POP3 cannot report an error inside a multi-line response.
    pub fn handle_timeout(&mut self, now: Instant) {
        if self.closing || now < self.deadline {
            return;
        }
        if self.activity || matches!(self.waiting, Waiting::Switch { .. }) {
            self.activity = false;
            self.deadline = now + self.config.limits.autologout;
            return;
        }
        if !matches!(self.waiting, Waiting::Streaming { .. }) {
            self.queue(&Response::err("Autologout; idle for too long"));
        }
        self.waiting = Waiting::Nothing;
        self.closing = true;
    }

    /// Answers an [`Event::Authenticate`]. Hands the answer back if `id` is
    /// not the pending authentication.
    pub fn respond_authenticate(
        &mut self,
        id: RequestId,
        answer: AuthAnswer,
    ) -> Result<(), AuthAnswer> {
        let Waiting::Authenticate(pending) = self.waiting else {
            return Err(answer);
        };
        if pending != id {
            return Err(answer);
        }
        self.waiting = Waiting::Nothing;
        // Time spent waiting for the adapter is not client idleness.
        self.activity = true;
        match answer {
            AuthAnswer::Accept(entries) => {
                let user = match std::mem::replace(
                    &mut self.protocol,
                    Protocol::Authorization { user: None },
                ) {
                    Protocol::Authorization { user } => user,
                    _ => None,
                };
                let deleted = vec![false; entries.len()];
                let maildrop = Maildrop { entries, deleted };
                self.queue(&Response::ok(maildrop.summary()));
                self.protocol = Protocol::Transaction(maildrop);
                self.authenticated = user;
            }
            AuthAnswer::Reject(mut response) => {
                response.status = crate::Status::Err;
                self.protocol = Protocol::Authorization { user: None };
                self.queue(&response);
                self.auth_failures += 1;
                if self.auth_failures >= self.config.limits.max_auth_failures {
                    self.closing = true;
                }
            }
        }
        self.process();
        Ok(())
    }

    /// Answers an [`Event::Retrieve`]: `Ok(())` sends `+OK` and starts the
    /// multi-line response, after which the adapter streams the message
    /// with [`send_external_chunk`](Self::send_external_chunk) and ends it
    /// with [`finish_external`](Self::finish_external), both with the same
    /// `id`; `Err(response)` sends
    /// the response (as `-ERR`, for example `-ERR [SYS/TEMP] ...` when the
    /// file cannot be opened). Hands the answer back if `id` is not the
    /// pending retrieval.
    pub fn respond_retrieve(
        &mut self,
        id: RequestId,
        answer: Result<(), Response>,
    ) -> Result<(), Result<(), Response>> {
        let Waiting::Retrieve {
            id: pending,
            index,
            top_lines,
        } = self.waiting
        else {
            return Err(answer);
        };
        if pending != id {
            return Err(answer);
        }
        match answer {
            Ok(()) => {
                let (status, stuffer) = match top_lines {
                    Some(lines) => (
                        Response::ok("top of message follows"),
                        DotStuffer::top(lines),
                    ),
                    None => {
                        let size = self.entry_size(index);
                        (Response::ok(format!("{size} octets")), DotStuffer::new())
                    }
                };
                self.queue(&status);
                self.waiting = Waiting::Streaming { id, stuffer };
                self.activity = true;
            }
            Err(mut response) => {
                response.status = crate::Status::Err;
                self.queue(&response);
                self.waiting = Waiting::Nothing;
                self.activity = true;
                self.process();
            }
        }
        Ok(())
    }

    /// Sends the next chunk of the message retrieved by `id`, dot-stuffed
    /// (see [`DotStuffer`]). Drain [`poll_transmit`](Self::poll_transmit)
    /// between chunks so that memory stays bounded by the chunk size.
    /// [`MessageProgress::Enough`] means a TOP has all its lines: stop
    /// reading and call [`finish_external`](Self::finish_external).
    pub fn send_external_chunk(
        &mut self,
        id: RequestId,
        chunk: &[u8],
    ) -> Result<MessageProgress, SessionError> {
        let Waiting::Streaming {
            id: streaming,
            stuffer,
        } = &mut self.waiting
        else {
            return Err(SessionError::NoMessageInProgress);
        };
        if *streaming != id {
            return Err(SessionError::NoMessageInProgress);
        }
        let progress = stuffer.encode(chunk, &mut self.output);
        // A stream in progress is not idleness.
        self.activity = true;
        Ok(progress)
    }

    /// Ends the message retrieved by `id`: the last CRLF if it was missing,
    /// then `.` CRLF. The session then reads the next command.
    pub fn finish_external(&mut self, id: RequestId) -> Result<(), SessionError> {
        let Waiting::Streaming {
            id: streaming,
            stuffer,
        } = &mut self.waiting
        else {
            return Err(SessionError::NoMessageInProgress);
        };
        if *streaming != id {
            return Err(SessionError::NoMessageInProgress);
        }
        stuffer.finish(&mut self.output);
        self.waiting = Waiting::Nothing;
        // Time spent streaming is not client idleness.
        self.activity = true;
        self.process();
        Ok(())
    }

    /// The message could not be read to its end (an I/O error after `+OK`
    /// was sent). POP3 has no way to report this inside a multi-line
    /// response, so the session closes without the terminator and without
    /// entering the UPDATE state; the client sees a truncated response.
    pub fn abort_external(&mut self, id: RequestId) -> Result<(), SessionError> {
        self.streaming(id)?;
        self.waiting = Waiting::Nothing;
        self.closing = true;
        Ok(())
    }

    /// Answers an [`Event::Update`]: `Ok(())` when the deletions are
    /// durable (the session sends `+OK ... signing off`), or a response
    /// such as `-ERR [SYS/TEMP] ...` (sent as `-ERR`) when some could not be
    /// removed (RFC 1939 §6). The session closes either way. Hands the
    /// answer back if `id` is not the pending update.
    pub fn respond_update(
        &mut self,
        id: RequestId,
        answer: Result<(), Response>,
    ) -> Result<(), Result<(), Response>> {
        let Waiting::Update(pending) = self.waiting else {
            return Err(answer);
        };
        if pending != id {
            return Err(answer);
        }
        self.waiting = Waiting::Nothing;
        let remaining = match self.protocol {
            Protocol::Update { remaining } => remaining,
            _ => 0,
        };
        let response = match answer {
            // The wording of the RFC 1939 §6 example.
            Ok(()) if remaining == 0 => Response::ok(format!(
                "{} POP3 server signing off (maildrop empty)",
                self.config.hostname
            )),
            Ok(()) => Response::ok(format!(
                "{} POP3 server signing off ({remaining} messages left)",
                self.config.hostname
            )),
            Err(mut response) => {
                response.status = crate::Status::Err;
                response
            }
        };
        self.queue(&response);
        self.closing = true;
        Ok(())
    }

    /// The adapter finished the TLS handshake after
    /// [`Event::SwitchTransport`]. The session is back in a fresh
    /// AUTHORIZATION state (no greeting is sent; RFC 2595 §4: the client
    /// must forget the capabilities it saw before). Does nothing if no
    /// switch was pending.
    pub fn transport_switched(&mut self, now: Instant) {
        if !matches!(self.waiting, Waiting::Switch { .. }) {
            return;
        }
        self.waiting = Waiting::Nothing;
        self.tls_active = true;
        self.protocol = Protocol::Authorization { user: None };
        self.input.clear();
        self.discarding = false;
        self.deadline = now + self.config.limits.autologout;
        self.activity = false;
    }

    /// Whether the stream answering `id` is in progress.
    fn streaming(&self, id: RequestId) -> Result<(), SessionError> {
        match &self.waiting {
            Waiting::Streaming { id: streaming, .. } if *streaming == id => Ok(()),
            _ => Err(SessionError::NoMessageInProgress),
        }
    }

    fn next_request_id(&mut self) -> RequestId {
        self.next_id += 1;
        RequestId(self.next_id)
    }

    fn queue(&mut self, response: &Response) {
        response.encode(&mut self.output);
    }

    fn entry_size(&self, index: usize) -> u64 {
        match &self.protocol {
            Protocol::Transaction(maildrop) => {
                maildrop.entries.get(index).map_or(0, |entry| entry.size)
            }
            _ => 0,
        }
    }

    fn input_capacity(&self) -> usize {
        self.config
            .limits
            .max_line_length
            .max(self.config.limits.max_sasl_line_length)
            .max(1)
    }

    fn line_limit(&self) -> usize {
        match self.waiting {
            Waiting::Sasl(_) => self.config.limits.max_sasl_line_length,
            _ => self.config.limits.max_line_length,
        }
        .max(1)
    }

    /// Whether the session reads no further command for now.
    fn blocked(&self) -> bool {
        self.closing
            || self.waiting_for_adapter()
            || self.output.len() >= self.config.limits.max_pending_output
    }

    /// Reads complete lines from the input buffer while nothing blocks.
    fn process(&mut self) {
        while !self.blocked() {
            let limit = self.line_limit();
            let newline = self.input.iter().position(|b| *b == b'\n');
            if self.discarding {
                match newline {
                    Some(end) => {
                        self.input.drain(..=end);
                        self.discarding = false;
                        self.line_too_long();
                    }
                    None => {
                        self.input.clear();
                        return;
                    }
                }
                continue;
            }
            match newline {
                Some(end) if end < limit => {
                    let line: Vec<u8> = self.input.drain(..=end).collect();
                    self.handle_line(&line);
                }
                Some(end) => {
                    self.input.drain(..=end);
                    self.line_too_long();
                }
                None if self.input.len() >= limit => {
                    self.input.clear();
                    self.discarding = true;
                    return;
                }
                None => return,
            }
        }
    }
}

impl Maildrop {
    fn summary(&self) -> String {
        let (count, octets) = self.totals();
        format!("maildrop has {count} messages ({octets} octets)")
    }

    /// Count and octets of the messages not marked as deleted.
    fn totals(&self) -> (usize, u64) {
        self.entries
            .iter()
            .zip(&self.deleted)
            .filter(|(_, deleted)| !**deleted)
            .fold((0, 0), |(count, octets), (entry, _)| {
                (count + 1, octets.saturating_add(entry.size))
            })
    }
}
