//! The server session state machine (RFC 5321 receiver, RFC 2033 LMTP server).

mod auth;
mod burl;
mod commands;

use std::collections::VecDeque;
use std::time::Instant;

use bytes::BytesMut;

use crate::{
    AbortReason, BdatReceiver, DataReceiver, Event, MailParams, Mode, Reply, RequestId,
    ServerConfig, TransportKind,
};

/// A question the session waits on.
#[derive(Debug)]
enum Pending {
    MailFrom {
        reverse_path: Option<String>,
        params: MailParams,
    },
    RcptTo,
    Auth {
        authcid: String,
    },
    DataEnd,
    Burl {
        last: bool,
    },
}

/// Where in an AUTH exchange we are (RFC 4954 §4).
#[derive(Debug)]
enum AuthStep {
    /// `AUTH PLAIN` without initial response: waiting for the response line.
    PlainResponse,
    /// `AUTH LOGIN`: waiting for the user name.
    LoginUsername,
    /// `AUTH LOGIN`: waiting for the password.
    LoginPassword { username: String },
}

/// What happens at the end of a BDAT chunk.
#[derive(Debug)]
enum BdatOutcome {
    Accept,
    TooLarge,
    Refuse(Reply),
}

#[derive(Debug)]
enum Phase {
    /// Reading command lines.
    Command,
    /// Waiting for the adapter's answer; no input is consumed.
    Awaiting { id: RequestId, pending: Pending },
    /// Waiting for a SASL response line after a 334.
    AuthResponse(AuthStep),
    /// Reading a DATA body.
    Data(DataReceiver),
    /// Reading a BDAT chunk.
    Bdat {
        receiver: BdatReceiver,
        size: u64,
        last: bool,
        outcome: BdatOutcome,
    },
    /// `220 Ready to start TLS` queued; input is discarded.
    StartTls,
    /// `SwitchTransport` emitted; waiting for `transport_switched`.
    Switching,
    /// The final reply is queued.
    Closing,
    /// The final reply was drained.
    Closed,
}

/// The state of one mail transaction (RFC 5321 §3.3).
#[derive(Debug)]
struct Transaction {
    /// MAIL FROM's reverse path; `None` for the null path `<>`.
    reverse_path: Option<String>,
    params: MailParams,
    /// Accepted recipients.
    recipients: usize,
    /// `DataStart` was emitted (first BDAT chunk).
    body_started: bool,
    /// BDAT was used; DATA is no longer allowed (RFC 3030 §2).
    bdat: bool,
    /// Octets announced by accepted BDAT chunks so far.
    bdat_size: u64,
}

/// A sans-IO SMTP/LMTP server session.
///
/// Method groups, as in quinn-proto: getters ([`helo`](Self::helo),
/// [`authenticated`](Self::authenticated), ...), inputs ([`feed`](Self::feed),
/// [`handle_timeout`](Self::handle_timeout)), answers
/// ([`respond`](Self::respond), [`respond_lmtp`](Self::respond_lmtp),
/// [`transport_switched`](Self::transport_switched)) and outputs
/// ([`poll_transmit`](Self::poll_transmit), [`poll_event`](Self::poll_event),
/// [`poll_timeout`](Self::poll_timeout)). See the crate docs for the loop.
#[derive(Debug)]
pub struct ServerSession {
    config: ServerConfig,
    phase: Phase,
    out: BytesMut,
    events: VecDeque<Event>,
    /// Bytes in queued `BodyChunk` events.
    queued_body: usize,
    /// The partial command line.
    line: Vec<u8>,
    /// Inside an over-long line, discarding up to its LF.
    discarding_line: bool,
    helo: Option<String>,
    esmtp: bool,
    tls_active: bool,
    authenticated: Option<String>,
    transaction: Option<Transaction>,
    next_id: u64,
    bad_commands: u32,
    auth_failures: u32,
    deadline: Option<Instant>,
    /// Input or an answer arrived since the deadline was armed.
    activity: bool,
    body: BytesMut,
}

impl ServerSession {
    /// A session for a new connection; queues the 220 greeting
    /// (RFC 5321 §4.3.1; no enhanced code, RFC 2034 §3).
    pub fn new(config: ServerConfig, now: Instant) -> Self {
        let greeting = match config.mode {
            Mode::Smtp => format!("{} ESMTP sansmail", config.hostname),
            Mode::Lmtp => format!("{} LMTP sansmail", config.hostname),
        };
        let mut session = Self::blank(config, now);
        session.send(Reply::new(220, "", &greeting));
        session
    }

    /// A session that only sends `reply` (e.g. `421 4.7.0 Too many
    /// connections`) and then closes.
    pub fn refuse(config: ServerConfig, reply: Reply, now: Instant) -> Self {
        let mut session = Self::blank(config, now);
        session.send(reply);
        session.phase = Phase::Closing;
        session
    }

    fn blank(config: ServerConfig, now: Instant) -> Self {
        let deadline = now.checked_add(config.limits.idle_timeout);
        ServerSession {
            tls_active: config.tls_active,
            config,
            phase: Phase::Command,
            out: BytesMut::new(),
            events: VecDeque::new(),
            queued_body: 0,
            line: Vec::new(),
            discarding_line: false,
            helo: None,
            esmtp: false,
            authenticated: None,
            transaction: None,
            next_id: 0,
            bad_commands: 0,
            auth_failures: 0,
            deadline,
            activity: false,
            body: BytesMut::new(),
        }
    }

    // ----- getters -----

    /// The authentication identity of a successful AUTH.
    pub fn authenticated(&self) -> Option<&str> {
        self.authenticated.as_deref()
    }

    /// The transport is TLS (implicit, or after STARTTLS).
    pub fn tls_active(&self) -> bool {
        self.tls_active
    }

    /// The argument of the last accepted HELO/EHLO/LHLO.
    pub fn helo(&self) -> Option<&str> {
        self.helo.as_deref()
    }

    /// The client greeted with EHLO or LHLO.
    pub fn is_esmtp(&self) -> bool {
        self.esmtp
    }

    /// The open mail transaction's reverse path (RFC 5321 §3.3), once
    /// MAIL FROM was accepted: `Some(None)` for the null path `<>`, `None`
    /// outside a transaction.
    pub fn reverse_path(&self) -> Option<Option<&str>> {
        self.transaction
            .as_ref()
            .map(|tx| tx.reverse_path.as_deref())
    }

    /// The open mail transaction's MAIL FROM parameters, once MAIL FROM
    /// was accepted; `None` outside a transaction.
    pub fn mail_params(&self) -> Option<&MailParams> {
        self.transaction.as_ref().map(|tx| &tx.params)
    }

    /// The configuration.
    pub fn config(&self) -> &ServerConfig {
        &self.config
    }

    /// True once the final reply (221, 421, a refusal) was drained by
    /// `poll_transmit`: close the connection.
    pub fn is_closed(&self) -> bool {
        matches!(self.phase, Phase::Closed)
    }

    // ----- inputs -----

    /// Offers bytes read from the client; returns how many were accepted.
    ///
    /// Fewer than `data.len()` (possibly 0) means "stop reading": an event
    /// waits for its answer, or output is pending. Keep the rest, drain the
    /// outputs, answer, and feed the rest again. Bytes after STARTTLS, QUIT or
    /// a 421 are accepted and discarded.
    pub fn feed(&mut self, data: &[u8]) -> usize {
        let limit = self.config.limits.max_pending_output;
        let mut pos = 0;
        while let Some(rest) = data.get(pos..).filter(|r| !r.is_empty()) {
            match self.phase {
                Phase::StartTls | Phase::Switching | Phase::Closing | Phase::Closed => {
                    pos = data.len();
                    break;
                }
                Phase::Awaiting { .. } => break,
                _ => {}
            }
            if self.out.len() >= limit || self.queued_body >= limit {
                break;
            }
            pos += match self.phase {
                Phase::Data(_) => self.feed_data(rest),
                Phase::Bdat { .. } => self.feed_bdat(rest),
                _ => self.feed_line(rest),
            };
        }
        if pos > 0 {
            self.activity = true;
        }
        pos
    }

    /// Call when `poll_timeout` expires. If input or an answer arrived since
    /// the deadline was armed, the deadline moves to `now + idle_timeout`;
    /// otherwise the session queues `421 4.4.2 <hostname> Error: timeout
    /// exceeded` and closes. The timer also runs while the session waits for
    /// an answer: an adapter that never answers (a lost or misrouted
    /// answer) cannot hold the connection open forever.
    pub fn handle_timeout(&mut self, now: Instant) {
        if !self.timer_running() {
            return;
        }
        let Some(deadline) = self.deadline else {
            return;
        };
        if now < deadline {
            return;
        }
        if self.activity {
            self.activity = false;
            self.deadline = now.checked_add(self.config.limits.idle_timeout);
            return;
        }
        let in_body = match &self.phase {
            Phase::Data(_) => true,
            Phase::Bdat { outcome, .. } => matches!(outcome, BdatOutcome::Accept),
            _ => false,
        };
        if in_body {
            self.events.push_back(Event::DataAborted {
                reason: AbortReason::Timeout,
            });
        }
        let text = format!("{} Error: timeout exceeded", self.config.hostname);
        self.send(Reply::new(421, "4.4.2", &text));
        self.close();
    }

    // ----- answers -----

    /// Answers the event `id` with `reply`, sent to the client as-is. In LMTP
    /// mode an answer to `DataEnd` is sent once per accepted recipient.
    ///
    /// Returns the reply if `id` is not the question the session waits on.
    pub fn respond(&mut self, id: RequestId, reply: Reply) -> Result<(), Reply> {
        let pending = match std::mem::replace(&mut self.phase, Phase::Command) {
            Phase::Awaiting { id: want, pending } if want == id => pending,
            other => {
                self.phase = other;
                return Err(reply);
            }
        };
        self.activity = true;
        let closing = reply.code == 421;
        match pending {
            Pending::MailFrom {
                reverse_path,
                params,
            } => {
                if reply.is_positive() {
                    self.transaction = Some(Transaction {
                        reverse_path,
                        params,
                        recipients: 0,
                        body_started: false,
                        bdat: false,
                        bdat_size: 0,
                    });
                }
                self.send(reply);
            }
            Pending::RcptTo => {
                if let (true, Some(tx)) = (reply.is_positive(), self.transaction.as_mut()) {
                    tx.recipients += 1;
                }
                self.send(reply);
            }
            Pending::Auth { authcid } => {
                let positive = reply.is_positive();
                self.send(reply);
                if positive {
                    self.authenticated = Some(authcid);
                } else {
                    self.auth_failed();
                }
            }
            Pending::Burl { last } => self.burl_answered(reply, last),
            Pending::DataEnd => {
                let copies = match self.config.mode {
                    Mode::Smtp => 1,
                    Mode::Lmtp => self
                        .transaction
                        .as_ref()
                        .map_or(1, |tx| tx.recipients.max(1)),
                };
                for _ in 1..copies {
                    self.send(reply.clone());
                }
                self.send(reply);
                self.transaction = None;
            }
        }
        if closing && !matches!(self.phase, Phase::Closing) {
            self.close();
        }
        Ok(())
    }

    /// Answers an LMTP `DataEnd` with one reply per accepted recipient, in
    /// RCPT order (RFC 2033 §4.2). Returns the replies if `id` is not the
    /// question waited on, or their number is wrong.
    pub fn respond_lmtp(&mut self, id: RequestId, replies: Vec<Reply>) -> Result<(), Vec<Reply>> {
        let expected = self.transaction.as_ref().map_or(0, |tx| tx.recipients);
        let waiting = matches!(
            self.phase,
            Phase::Awaiting { id: want, pending: Pending::DataEnd } if want == id
        );
        if !waiting || self.config.mode != Mode::Lmtp || replies.len() != expected {
            return Err(replies);
        }
        self.phase = Phase::Command;
        self.activity = true;
        for reply in replies {
            self.send(reply);
        }
        self.transaction = None;
        Ok(())
    }

    /// The adapter finished the TLS handshake after
    /// `SwitchTransport { kind: StartTls, .. }`. The session forgets the
    /// greeting and any AUTH (RFC 3207 §4.2): the client must EHLO again, and
    /// STARTTLS is no longer offered. Ignored in any other state.
    pub fn transport_switched(&mut self, now: Instant) {
        if !matches!(self.phase, Phase::Switching) {
            return;
        }
        self.tls_active = true;
        self.helo = None;
        self.esmtp = false;
        self.authenticated = None;
        self.transaction = None;
        self.line.clear();
        self.discarding_line = false;
        self.phase = Phase::Command;
        self.activity = false;
        self.deadline = now.checked_add(self.config.limits.idle_timeout);
    }

    // ----- outputs -----

    /// Appends all pending output to `out`; true if anything was appended.
    /// Call after every input or answer until it returns false.
    #[must_use]
    pub fn poll_transmit(&mut self, out: &mut BytesMut) -> bool {
        if self.out.is_empty() {
            return false;
        }
        out.extend_from_slice(&self.out);
        self.out.clear();
        match self.phase {
            Phase::Closing => self.phase = Phase::Closed,
            Phase::StartTls => {
                self.phase = Phase::Switching;
                self.events.push_back(Event::SwitchTransport {
                    kind: TransportKind::StartTls,
                    leftover: bytes::Bytes::new(),
                });
            }
            _ => {}
        }
        true
    }

    /// The next event; call after `poll_transmit` until it returns `None`.
    #[must_use]
    pub fn poll_event(&mut self) -> Option<Event> {
        let event = self.events.pop_front()?;
        if let Event::BodyChunk(chunk) = &event {
            self.queued_body = self.queued_body.saturating_sub(chunk.len());
        }
        Some(event)
    }

    /// When to call `handle_timeout`; also armed while the session waits for
    /// an answer (see [`handle_timeout`](Self::handle_timeout)), `None` during
    /// a TLS handshake (the adapter bounds that) or once closing. Call again
    /// after every input or answer.
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
        !matches!(
            self.phase,
            Phase::StartTls | Phase::Switching | Phase::Closing | Phase::Closed
        )
    }

    fn next_id(&mut self) -> RequestId {
        self.next_id += 1;
        RequestId(self.next_id)
    }

    fn send(&mut self, reply: Reply) {
        reply.encode(&mut self.out);
    }

    fn reply(&mut self, code: u16, enhanced: &str, text: &str) {
        self.send(Reply::new(code, enhanced, text));
    }

    /// Sends an error reply that counts towards `max_bad_commands`.
    fn error(&mut self, code: u16, enhanced: &str, text: &str) {
        self.reply(code, enhanced, text);
        self.bad_commands = self.bad_commands.saturating_add(1);
        if self.bad_commands >= self.config.limits.max_bad_commands {
            self.reply(
                421,
                "4.7.0",
                &format!("{} Error: too many errors", self.config.hostname),
            );
            self.close();
        }
    }

    /// Counts a failed AUTH; closes at `max_auth_failures`.
    fn auth_failed(&mut self) {
        self.auth_failures = self.auth_failures.saturating_add(1);
        if self.auth_failures >= self.config.limits.max_auth_failures {
            let text = format!(
                "{} Error: too many authentication failures",
                self.config.hostname
            );
            self.reply(421, "4.7.0", &text);
            self.close();
        }
    }

    /// The final reply is queued: drop the transaction, discard further input.
    fn close(&mut self) {
        self.reset_transaction();
        self.line.clear();
        self.phase = Phase::Closing;
    }

    /// Ends an open transaction, telling the adapter.
    fn reset_transaction(&mut self) {
        if self.transaction.take().is_some() {
            self.events.push_back(Event::Reset);
        }
    }

    fn await_answer(&mut self, event: impl FnOnce(RequestId) -> Event, pending: Pending) {
        let id = self.next_id();
        self.events.push_back(event(id));
        self.phase = Phase::Awaiting { id, pending };
    }

    /// Moves `self.body` into a `BodyChunk` event.
    fn flush_body(&mut self) {
        if !self.body.is_empty() {
            let chunk = self.body.split().freeze();
            self.queued_body += chunk.len();
            self.events.push_back(Event::BodyChunk(chunk));
        }
    }

    fn feed_line(&mut self, rest: &[u8]) -> usize {
        let (chunk, complete) = match rest.iter().position(|&b| b == b'\n') {
            Some(lf) => (rest.get(..=lf).unwrap_or(rest), true),
            None => (rest, false),
        };
        let used = chunk.len();
        if self.discarding_line {
            self.discarding_line = !complete;
            return used;
        }
        if self.line.len() + chunk.len() > self.config.limits.max_line_length {
            // RFC 5321 §4.5.3.1.4: answer as soon as the limit is crossed (a
            // client that never sends LF still hears back), then keep framing
            // by discarding up to the line's LF.
            self.line.clear();
            self.discarding_line = !complete;
            if matches!(self.phase, Phase::AuthResponse(_)) {
                self.phase = Phase::Command;
            }
            self.error(500, "5.5.2", "Line too long");
            return used;
        }
        self.line.extend_from_slice(chunk);
        if complete {
            let mut line = std::mem::take(&mut self.line);
            match std::mem::replace(&mut self.phase, Phase::Command) {
                Phase::AuthResponse(step) => self.auth_response(step, &line),
                other => {
                    self.phase = other;
                    self.command(&line);
                }
            }
            if self.line.is_empty() && !matches!(self.phase, Phase::Closing) {
                line.clear();
                self.line = line;
            }
        }
        used
    }

    fn feed_data(&mut self, rest: &[u8]) -> usize {
        let Phase::Data(receiver) = &mut self.phase else {
            return 0;
        };
        let progress = receiver.feed(rest, &mut self.body);
        let bare = receiver.bare_line_ending();
        let too_large = receiver.size_exceeded();
        self.flush_body();
        if progress.done {
            self.phase = Phase::Command;
            if bare {
                self.body_refused(AbortReason::BareLineEnding, true);
            } else if too_large {
                self.body_refused(AbortReason::TooLarge, true);
            } else {
                self.await_answer(|id| Event::DataEnd { id }, Pending::DataEnd);
            }
        }
        progress.consumed
    }

    fn feed_bdat(&mut self, rest: &[u8]) -> usize {
        let Phase::Bdat { receiver, .. } = &mut self.phase else {
            return 0;
        };
        let progress = receiver.feed(rest, &mut self.body);
        self.flush_body();
        if progress.done {
            self.finish_bdat();
        }
        progress.consumed
    }

    /// The end of a BDAT chunk (RFC 3030 §2): 250 for a middle chunk,
    /// `DataEnd` for the last.
    fn finish_bdat(&mut self) {
        let Phase::Bdat {
            size,
            last,
            outcome,
            ..
        } = std::mem::replace(&mut self.phase, Phase::Command)
        else {
            return;
        };
        match outcome {
            BdatOutcome::Accept if last => {
                self.await_answer(|id| Event::DataEnd { id }, Pending::DataEnd);
            }
            BdatOutcome::Accept => self.reply(250, "2.0.0", &format!("{size} octets received")),
            BdatOutcome::TooLarge => self.body_refused(AbortReason::TooLarge, last),
            BdatOutcome::Refuse(reply) => {
                self.send(reply);
                self.bad_commands = self.bad_commands.saturating_add(1);
                if self.bad_commands >= self.config.limits.max_bad_commands {
                    self.reply(
                        421,
                        "4.7.0",
                        &format!("{} Error: too many errors", self.config.hostname),
                    );
                    self.close();
                }
            }
        }
    }

    /// A body the session itself refuses: `DataAborted`, `Reset`, and the
    /// error reply (once per recipient in LMTP at the end of the message).
    fn body_refused(&mut self, reason: AbortReason, end_of_message: bool) {
        self.events.push_back(Event::DataAborted { reason });
        let copies = match (self.config.mode, end_of_message) {
            (Mode::Lmtp, true) => self
                .transaction
                .as_ref()
                .map_or(1, |tx| tx.recipients.max(1)),
            _ => 1,
        };
        self.reset_transaction();
        let reply = match reason {
            AbortReason::BareLineEnding => Reply::new(
                550,
                "5.6.0",
                "Bare LF/CR in message data refused (RFC 5321 2.3.8)",
            ),
            _ => Reply::new(
                552,
                "5.3.4",
                "Message size exceeds fixed maximum message size",
            ),
        };
        for _ in 0..copies {
            self.send(reply.clone());
        }
    }
}
