//! One delivery attempt: connect to one address, speak SMTP with the
//! sans-IO [`ClientSession`], stream the message from a reader, and report
//! one outcome per recipient. The queue worker decides what to retry.
//!
//! The loop follows the client session's drain order: write what
//! `poll_transmit` produced, answer every `poll_event`, hand the session
//! body bytes while it wants them, and only then read, racing the socket
//! against `poll_timeout`. Every wait is bounded: the connect and TLS
//! handshake by [`Attempt::connect_timeout`], each reply by the RFC 5321
//! §4.5.3.2 timeouts in [`ClientLimits`], each write by `data_block`.
//!
//! Choices worth knowing:
//! - TLS policy (`[outbound] tls`): `opportunistic` uses STARTTLS when
//!   offered without checking the certificate (RFC 7435: encryption against
//!   passive listeners; when the handshake fails, the message goes over a
//!   second, plain-text connection that does not try STARTTLS again, as
//!   RFC 7435 asks); `required` needs STARTTLS and a
//!   certificate valid for [`Attempt::server_name`] under the system trust
//!   store (plus [`Attempt::extra_roots`]), else every recipient fails
//!   temporarily with `4.7.4`/`4.7.5`; `none` never starts TLS.
//!   Implicit TLS (`smtps://`) follows the same verification rule.
//! - AUTH (smarthost): PLAIN when offered, else LOGIN; a server that offers
//!   neither, or refuses the credentials, fails the attempt temporarily, as
//!   Postfix defers on SASL failures. Credentials go only over TLS, or in
//!   clear text to a loopback address (a local relay).
//! - An 8-bit body to a server without 8BITMIME is a permanent `554 5.6.3`
//!   and an internationalized envelope to one without SMTPUTF8 a permanent
//!   `553 5.6.7` ([`smtp_proto::client`] decides; we never down-convert, so
//!   the bytes — and DKIM signatures — stay intact).
//! - A read error on the message aborts the connection without sending the
//!   end of data, so a truncated message is never accepted.

use std::io;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use async_io::Timer;
use bytes::BytesMut;
use futures_lite::{AsyncRead, AsyncReadExt, AsyncWriteExt, FutureExt};
use futures_rustls::TlsConnector;
use futures_rustls::client::TlsStream;
use rustls_pki_types::{CertificateDer, ServerName};
use smol::net::TcpStream;
use smtp_proto::client::{
    Action, ClientConfig, ClientError, ClientEvent, ClientLimits, ClientSession, Credentials,
    Envelope, Outcome, Stage,
};
use smtp_proto::{Mechanism, Mode, Reply, Secret};

use super::tls_client::tls_config;
use crate::config::OutboundTls;

/// How many bytes one socket read may bring in.
const READ_CHUNK: usize = 16 * 1024;
/// How many message bytes are read from the file at a time.
const BODY_CHUNK: usize = 64 * 1024;

/// Everything one attempt needs besides the message.
#[derive(Clone, Debug)]
pub struct Attempt {
    /// Where to connect (one MX address, or the smarthost).
    pub addr: SocketAddr,
    /// The peer's host name: the TLS SNI and the name its certificate must
    /// carry under `tls = "required"` (an IP literal is allowed).
    pub server_name: String,
    /// Our host name for EHLO (`hostname` of the config).
    pub hostname: String,
    /// The STARTTLS policy.
    pub tls: OutboundTls,
    /// The connection is TLS from the first byte (`smtps://`, RFC 8314).
    pub implicit_tls: bool,
    /// AUTH user and password (smarthost).
    pub auth: Option<(String, Secret<String>)>,
    /// SMTP or LMTP.
    pub mode: Mode,
    /// Use BDAT when the server offers CHUNKING.
    pub chunking: bool,
    /// Trust anchors added to the system store for verified TLS (a private
    /// CA, or a test server's self-signed certificate).
    pub extra_roots: Vec<CertificateDer<'static>>,
    /// Bound on the TCP connect and on the TLS handshake. Default 30 s
    /// (Postfix's `smtp_connect_timeout`).
    pub connect_timeout: Duration,
    /// Reply limits and the RFC 5321 §4.5.3.2 timeouts.
    pub limits: ClientLimits,
}

impl Attempt {
    /// An SMTP attempt with opportunistic STARTTLS, no AUTH and the
    /// default limits and timeouts.
    pub fn new(
        addr: SocketAddr,
        server_name: impl Into<String>,
        hostname: impl Into<String>,
    ) -> Self {
        Attempt {
            addr,
            server_name: server_name.into(),
            hostname: hostname.into(),
            tls: OutboundTls::Opportunistic,
            implicit_tls: false,
            auth: None,
            mode: Mode::Smtp,
            chunking: true,
            extra_roots: Vec::new(),
            connect_timeout: Duration::from_secs(30),
            limits: ClientLimits::default(),
        }
    }
}

/// What one attempt achieved.
#[derive(Clone, Debug)]
pub struct AttemptResult {
    /// One outcome per envelope recipient, in order.
    pub outcomes: Vec<Outcome>,
    /// The message (or the attempt) ran over TLS.
    pub tls: bool,
    /// The TLS certificate was verified.
    pub verified: bool,
    /// The server offered DSN (RFC 3461), so NOTIFY/RET/ENVID went on.
    pub dsn: bool,
    /// Why the connection failed, when it did (for the log; the
    /// recipients' outcomes already say it).
    pub error: Option<String>,
}

/// Runs one delivery attempt of `envelope` with the body read from `body`
/// (exactly the bytes to send; `envelope.size` should be its length) over
/// a connection of its own, closed (QUIT) afterwards.
///
/// Never fails as a whole: connection problems become a temporary outcome
/// for every recipient that has no final one.
pub async fn deliver<R: AsyncRead + Unpin + Send>(
    attempt: &Attempt,
    envelope: Envelope,
    body: R,
) -> AttemptResult {
    let count = envelope.recipients.len();
    let mut one = OneShot(None);
    run_connection(attempt, (envelope, body), &mut one).await;
    one.0
        .unwrap_or_else(|| AttemptResult::failed(count, None, "connection ended without a result"))
}

/// Where an open connection gets its further messages (the connection
/// cache of the queue worker): after each transaction the session asks for
/// the next one instead of sending QUIT.
pub trait Jobs<R>: Send {
    /// The next message for this connection, waiting as long as the
    /// connection may stay idle; `None` sends QUIT.
    fn next(&mut self) -> impl Future<Output = Option<(Envelope, R)>> + Send;
    /// The result of one message (the first one given, or one from `next`).
    fn done(&mut self, result: AttemptResult);
}

/// [`deliver`]'s single message: no further ones.
struct OneShot(Option<AttemptResult>);

impl<R: Send> Jobs<R> for OneShot {
    async fn next(&mut self) -> Option<(Envelope, R)> {
        None
    }
    fn done(&mut self, result: AttemptResult) {
        self.0 = Some(result);
    }
}

/// How [`run_connection`] ended.
#[derive(Debug)]
pub enum Ended {
    /// The TCP connect (or the implicit-TLS handshake) failed with this
    /// reply; the first message got it as its result.
    ConnectFailed(Reply),
    /// The session ran and is closed.
    Closed,
}

/// Delivers `first`, then what `jobs` hands out, over one connection to
/// `attempt.addr`; every message gets exactly one `jobs.done` result.
///
/// A reused connection that the peer closed (or answered 421 on) before
/// it answered anything of a message's transaction gets that message
/// retried at once on a fresh connection: nothing of it was accepted, so the
/// retry cannot duplicate it (RFC 5321 §4.1.1.5: the transaction state is
/// per connection). An opportunistic STARTTLS whose handshake failed is
/// retried in plain text (RFC 7435).
pub async fn run_connection<R: AsyncRead + Unpin + Send, J: Jobs<R>>(
    attempt: &Attempt,
    first: (Envelope, R),
    jobs: &mut J,
) -> Ended {
    let mut waiting = Some(first);
    let mut plain_only = false;
    loop {
        let Some(job) = waiting.take() else {
            return Ended::Closed;
        };
        let count = job.0.recipients.len();
        let mut run = Run::new(attempt, jobs, job);
        run.starttls_tried = plain_only;
        let stream = match run.connect().await {
            Ok(stream) => stream,
            Err(reply) => {
                let text = reply.text();
                let result = AttemptResult {
                    outcomes: (0..count)
                        .map(|_| Outcome::Temporary(reply.clone()))
                        .collect(),
                    tls: false,
                    verified: false,
                    dsn: false,
                    error: Some(text),
                };
                run.jobs.done(result);
                return Ended::ConnectFailed(reply);
            }
        };
        run.converse(stream).await;
        let stale = run.stale;
        let handshake_failed = run.starttls_handshake_failed && run.transactions == 0;
        let leftover = run.finish();
        if let Some(job) = leftover {
            if handshake_failed && attempt.tls == OutboundTls::Opportunistic && !plain_only {
                // RFC 7435 §1: opportunistic security must never do worse
                // than no security. A receiver whose TLS is broken still
                // gets the message, over a new connection that does not
                // try STARTTLS again.
                plain_only = true;
                waiting = Some(job.0);
                continue;
            }
            if stale {
                // Bounded: a stale message is never the first on its
                // connection, and the retry makes it the first on a
                // fresh one.
                waiting = Some(job.0);
                continue;
            }
            jobs.done(job.1);
        }
        return Ended::Closed;
    }
}

/// A plain or TLS client connection.
enum Conn {
    Plain(TcpStream),
    Tls(Box<TlsStream<TcpStream>>),
    Gone,
}

impl Conn {
    async fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Conn::Plain(s) => s.read(buf).await,
            Conn::Tls(s) => s.read(buf).await,
            Conn::Gone => Ok(0),
        }
    }

    async fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        match self {
            Conn::Plain(s) => s.write_all(buf).await,
            Conn::Tls(s) => {
                s.write_all(buf).await?;
                s.flush().await
            }
            Conn::Gone => Err(io::ErrorKind::NotConnected.into()),
        }
    }
}

/// Races `future` against `deadline`.
async fn before<T>(
    deadline: Instant,
    future: impl Future<Output = io::Result<T>>,
) -> io::Result<T> {
    future
        .or(async {
            Timer::at(deadline).await;
            Err(io::ErrorKind::TimedOut.into())
        })
        .await
}

impl AttemptResult {
    /// Every one of `count` recipients failed temporarily with `reply`
    /// (451 4.4.2 `text` when there is none).
    fn failed(count: usize, reply: Option<Reply>, text: &str) -> AttemptResult {
        let reply = reply.unwrap_or_else(|| Reply::new(451, "4.4.2", text));
        AttemptResult {
            outcomes: (0..count)
                .map(|_| Outcome::Temporary(reply.clone()))
                .collect(),
            tls: false,
            verified: false,
            dsn: false,
            error: Some(reply.text()),
        }
    }
}

/// The message whose transaction runs: its body, and a copy of the
/// envelope for a retry on a fresh connection.
struct Current<R> {
    envelope: Envelope,
    body: R,
    /// Bytes of the body were read (a retry would need them again).
    body_started: bool,
    body_buf: BytesMut,
    body_eof: bool,
}

/// One connection's conversation.
struct Run<'a, R, J> {
    attempt: &'a Attempt,
    jobs: &'a mut J,
    /// The message not yet handed to the session (the first one).
    waiting: Option<(Envelope, R)>,
    current: Option<Current<R>>,
    /// A transaction's result, held until the session says whether the
    /// connection survived it (a reused connection closed before any
    /// answer makes it a retry instead).
    finished: Option<(Current<R>, AttemptResult)>,
    /// The message to retry on a fresh connection, with the result it
    /// gets if it is not retried.
    leftover: Option<((Envelope, R), AttemptResult)>,
    /// Transactions completed on this connection.
    transactions: usize,
    /// The leftover is a message a reused connection dropped unanswered.
    stale: bool,
    /// A failure of the whole connection (every message without an
    /// outcome fails temporarily with it).
    failure: Option<Reply>,
    starttls_tried: bool,
    /// The TLS handshake after STARTTLS failed (opportunistic: retry plain).
    starttls_handshake_failed: bool,
    auth_tried: bool,
    tls: bool,
    verified: bool,
    error: Option<String>,
}

impl<'a, R: AsyncRead + Unpin + Send, J: Jobs<R>> Run<'a, R, J> {
    fn new(attempt: &'a Attempt, jobs: &'a mut J, first: (Envelope, R)) -> Self {
        Run {
            attempt,
            jobs,
            waiting: Some(first),
            current: None,
            finished: None,
            leftover: None,
            transactions: 0,
            stale: false,
            failure: None,
            starttls_tried: false,
            starttls_handshake_failed: false,
            auth_tried: false,
            tls: false,
            verified: false,
            error: None,
        }
    }

    /// The failure result for `count` recipients without an outcome.
    fn failure_result(&self, count: usize) -> AttemptResult {
        let mut r = AttemptResult::failed(
            count,
            self.failure.clone(),
            "connection ended without a result",
        );
        r.tls = self.tls;
        r.verified = self.verified;
        if self.error.is_some() {
            r.error.clone_from(&self.error);
        }
        r
    }

    /// Hands out every result still held; returns the message to retry
    /// (or that never started) with the result it gets otherwise.
    fn finish(mut self) -> Option<((Envelope, R), AttemptResult)> {
        if let Some((_, result)) = self.finished.take() {
            self.jobs.done(result);
        }
        if let Some(current) = self.current.take() {
            // A transaction without a TransactionDone (never expected).
            let result = self.failure_result(current.envelope.recipients.len());
            self.jobs.done(result);
        }
        if let Some(job) = self.waiting.take() {
            let result = self.failure_result(job.0.recipients.len());
            return Some((job, result));
        }
        self.leftover.take()
    }

    /// A transaction ended: its result waits for what the session does
    /// next (Ready: the connection lives; Failed: maybe a retry).
    fn transaction_done(&mut self, outcomes: Vec<Outcome>, dsn: bool) {
        let Some(current) = self.current.take() else {
            return;
        };
        let result = AttemptResult {
            outcomes,
            tls: self.tls,
            verified: self.verified,
            dsn,
            error: None,
        };
        self.finished = Some((current, result));
    }

    /// The session failed: a message held since its transaction ended is
    /// retried when the connection was a reused one that closed before
    /// answering anything of it.
    fn connection_failed(&mut self, error: &ClientError) {
        let Some((current, mut result)) = self.finished.take() else {
            return;
        };
        let closed = matches!(
            error,
            ClientError::ConnectionClosed(_) | ClientError::ServiceClosing(_)
        );
        let untouched = result
            .outcomes
            .iter()
            .all(|o| matches!(o, Outcome::Temporary(_)));
        result.error = Some(error.to_string());
        if closed && self.transactions > 0 && !current.body_started && untouched {
            self.stale = true;
            self.leftover = Some(((current.envelope, current.body), result));
        } else {
            self.jobs.done(result);
        }
    }

    fn verify(&self) -> bool {
        self.attempt.tls == OutboundTls::Required
    }

    async fn connect(&mut self) -> Result<Conn, Reply> {
        let a = self.attempt;
        let deadline = Instant::now() + a.connect_timeout;
        let tcp = before(deadline, TcpStream::connect(a.addr))
            .await
            .map_err(|e| {
                // RFC 3463 §3.5: X.4.1 no answer from host.
                Reply::new(451, "4.4.1", &format!("connect to {} failed: {e}", a.addr))
            })?;
        let _ = tcp.set_nodelay(true);
        if !a.implicit_tls {
            return Ok(Conn::Plain(tcp));
        }
        self.handshake(tcp)
            .await
            .map(|tls| Conn::Tls(Box::new(tls)))
    }

    async fn handshake(&mut self, tcp: TcpStream) -> Result<TlsStream<TcpStream>, Reply> {
        let a = self.attempt;
        let verify = self.verify();
        let failed = |what: String| Reply::new(451, "4.7.5", &what);
        let config = tls_config(verify, &a.extra_roots).map_err(failed)?;
        let name = ServerName::try_from(a.server_name.clone())
            .map_err(|e| failed(format!("bad TLS server name {}: {e}", a.server_name)))?;
        let deadline = Instant::now() + a.connect_timeout;
        let tls = before(deadline, TlsConnector::from(config).connect(name, tcp))
            .await
            .map_err(|e| {
                failed(format!(
                    "TLS handshake with {} ({}) failed: {e}",
                    a.server_name, a.addr
                ))
            })?;
        self.tls = true;
        self.verified = verify;
        Ok(tls)
    }

    /// Stops the conversation with a failure for every open recipient.
    fn give_up(&mut self, reply: Reply) {
        self.error.get_or_insert_with(|| reply.text());
        self.failure.get_or_insert(reply);
    }

    /// What to do when the session is idle; `None` when it is ready for
    /// the next message.
    fn next_action(&mut self, session: &ClientSession) -> Option<Action> {
        if self.failure.is_some() {
            return Some(Action::Quit);
        }
        let ext = session.extensions().cloned().unwrap_or_default();
        if !session.tls_active() && self.attempt.tls != OutboundTls::None && !self.starttls_tried {
            if ext.starttls {
                self.starttls_tried = true;
                return Some(Action::StartTls);
            }
            if self.attempt.tls == OutboundTls::Required {
                self.give_up(Reply::new(
                    451,
                    "4.7.4",
                    &format!(
                        "TLS is required but {} does not offer STARTTLS",
                        self.attempt.server_name
                    ),
                ));
                return Some(Action::Quit);
            }
        }
        if let Some((user, password)) = &self.attempt.auth
            && !session.is_authenticated()
        {
            if self.auth_tried {
                return Some(Action::Quit);
            }
            // Credentials never cross a network in clear text (RFC 4954
            // §14); only a smarthost on this machine may get them without TLS.
            if !session.tls_active() && !self.attempt.addr.ip().is_loopback() {
                self.give_up(Reply::new(
                    451,
                    "4.7.0",
                    &format!(
                        "refusing to send AUTH credentials to {} without TLS",
                        self.attempt.server_name
                    ),
                ));
                return Some(Action::Quit);
            }
            let mechanism = if ext.offers_auth(Mechanism::Plain) {
                Mechanism::Plain
            } else if ext.offers_auth(Mechanism::Login) {
                Mechanism::Login
            } else {
                self.give_up(Reply::new(
                    451,
                    "4.7.0",
                    &format!("{} offers no AUTH PLAIN or LOGIN", self.attempt.server_name),
                ));
                return Some(Action::Quit);
            };
            self.auth_tried = true;
            return Some(Action::Auth(Credentials {
                mechanism,
                username: user.clone(),
                password: password.clone(),
            }));
        }
        None
    }

    /// The next message's envelope (the first one, else from `jobs`),
    /// which becomes the current transaction; `None`: QUIT.
    async fn next_message(&mut self) -> Option<Envelope> {
        let (envelope, body) = match self.waiting.take() {
            Some(job) => job,
            None => self.jobs.next().await?,
        };
        self.current = Some(Current {
            envelope: envelope.clone(),
            body,
            body_started: false,
            body_buf: BytesMut::new(),
            body_eof: false,
        });
        Some(envelope)
    }

    async fn converse(&mut self, mut conn: Conn) {
        let a = self.attempt;
        let config = ClientConfig {
            hostname: a.hostname.clone(),
            mode: a.mode,
            tls_active: a.implicit_tls,
            chunking: a.chunking,
            limits: a.limits.clone(),
        };
        let mut session = ClientSession::new(config, Instant::now());
        let mut out = BytesMut::new();
        let mut input = BytesMut::new();
        let mut read_buf = vec![0u8; READ_CHUNK];
        loop {
            while session.poll_transmit(&mut out) {}
            if !out.is_empty() {
                let deadline = Instant::now() + a.limits.data_block;
                if let Err(e) = before(deadline, conn.write_all(&out)).await {
                    self.error
                        .get_or_insert_with(|| format!("write to {}: {e}", a.addr));
                    session.handle_eof();
                }
                out.clear();
            }
            let mut switch = false;
            let mut answered = false;
            while let Some(event) = session.poll_event(Instant::now()) {
                answered = true;
                match event {
                    ClientEvent::Ready { id } => {
                        if let Some((_, result)) = self.finished.take() {
                            self.transactions += 1;
                            self.jobs.done(result);
                        }
                        let action = match self.next_action(&session) {
                            Some(action) => action,
                            None => match self.next_message().await {
                                Some(envelope) => Action::Mail(envelope),
                                None => Action::Quit,
                            },
                        };
                        // Only a STARTTLS while TLS is on or an empty
                        // envelope come back; neither is sent above.
                        if session.respond(id, action).is_err() {
                            self.give_up(Reply::new(
                                451,
                                "4.3.0",
                                "internal error: answer refused",
                            ));
                            return;
                        }
                    }
                    ClientEvent::Refused { stage, reply } => {
                        if stage == Stage::StartTls && a.tls == OutboundTls::Required {
                            self.give_up(Reply::new(
                                451,
                                "4.7.4",
                                &format!(
                                    "TLS is required but STARTTLS was refused: {} {}",
                                    reply.code,
                                    reply.text()
                                ),
                            ));
                        } else if stage == Stage::Auth {
                            // A temporary outcome with the server's own
                            // words: retrying helps once the credentials
                            // are fixed (Postfix defers too).
                            self.give_up(reply);
                        }
                    }
                    ClientEvent::SwitchTransport { .. } => switch = true,
                    ClientEvent::TransactionDone(result) => {
                        self.transaction_done(result.outcomes, result.dsn);
                    }
                    ClientEvent::Failed(error) => {
                        self.error.get_or_insert_with(|| error.to_string());
                        self.failure.get_or_insert_with(|| error.reply());
                        self.connection_failed(&error);
                    }
                    _ => {}
                }
            }
            if switch {
                let Conn::Plain(tcp) = std::mem::replace(&mut conn, Conn::Gone) else {
                    self.give_up(Reply::new(451, "4.7.5", "STARTTLS on a TLS connection"));
                    return;
                };
                match self.handshake(tcp).await {
                    Ok(tls) => {
                        conn = Conn::Tls(Box::new(tls));
                        // Plaintext read after the 220 is never fed again
                        // (RFC 3207 §5).
                        input.clear();
                        session.transport_switched(Instant::now());
                    }
                    Err(reply) => {
                        self.starttls_handshake_failed = true;
                        self.give_up(reply);
                        return;
                    }
                }
                continue;
            }
            if answered {
                // An answer may have queued commands: write them first.
                continue;
            }
            if session.is_closed() {
                // Flush a last QUIT the session may have queued.
                while session.poll_transmit(&mut out) {}
                if !out.is_empty() {
                    let deadline = Instant::now() + Duration::from_secs(5);
                    let _ = before(deadline, conn.write_all(&out)).await;
                }
                return;
            }
            if session.wants_body()
                && let Some(current) = self.current.as_mut()
            {
                let body = &mut current.body_buf;
                if body.is_empty() && !current.body_eof {
                    body.resize(BODY_CHUNK, 0);
                    current.body_started = true;
                    match current.body.read(body).await {
                        Ok(0) => {
                            body.clear();
                            current.body_eof = true;
                        }
                        Ok(n) => body.truncate(n),
                        Err(e) => {
                            // Never send the end of data for a message we
                            // could not read whole.
                            self.give_up(Reply::new(
                                451,
                                "4.3.0",
                                &format!("local error reading the message: {e}"),
                            ));
                            return;
                        }
                    }
                }
                if body.is_empty() {
                    session.end_body();
                    continue;
                }
                let used = session.send_body(body);
                let _ = body.split_to(used);
                if used > 0 {
                    continue;
                }
                // 0 with the output written: BDAT waits for a reply.
            }
            if !input.is_empty() {
                let used = session.feed(&input);
                let _ = input.split_to(used);
                if used > 0 {
                    continue;
                }
                // The session leaves input unread only while a Ready waits
                // (answered above) or a DATA body streams (which never gets
                // here); reading more would only grow `input`.
                self.give_up(Reply::new(451, "4.5.0", "client session stalled"));
                return;
            }
            let now = Instant::now();
            let deadline = session.poll_timeout().unwrap_or(now + a.limits.command);
            match before(deadline, conn.read(&mut read_buf)).await {
                Ok(0) => session.handle_eof(),
                Ok(n) => {
                    let fresh = read_buf.get(..n).unwrap_or_default();
                    let used = session.feed(fresh);
                    if let Some(rest) = fresh.get(used..) {
                        input.extend_from_slice(rest);
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::TimedOut => {
                    session.handle_timeout(Instant::now());
                }
                Err(e) => {
                    self.error
                        .get_or_insert_with(|| format!("read from {}: {e}", a.addr));
                    session.handle_eof();
                }
            }
        }
    }
}
