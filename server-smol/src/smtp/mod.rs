//! SMTP glue: a thin translator between `smtp-proto` session events and
//! the delivery pipeline ([`crate::pipeline`]). Used by the `[smtp]`
//! (MX-style), `[submission]` and `[lmtp]` listeners.
//!
//! The policy lives in the pipeline (rules, routes, handlers); what stays
//! here is the session side:
//! - `[submission]`: AUTH before MAIL FROM (`530 5.7.0`, enforced by the
//!   session);
//! - the `Received:` trace field (RFC 5321 §4.4);
//! - the reply at end of data: one for SMTP (250 only when every
//!   recipient's handlers took the message), one per recipient for LMTP
//!   (RFC 2033 §4.2), each sent only after the pipeline returned.
//! - BURL (RFC 4468) on `[submission]`: the URLAUTH URL is checked
//!   in-process against our own store for the authenticated submitter
//!   ([`crate::imap::urlauth`], access `submit+<user>` or `anonymous`)
//!   and the stored file is streamed into the same pipeline message as
//!   DATA would fill; `554 5.7.0` for a refused token or access, `554
//!   5.6.3` for a URL that names nothing we can fetch.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use smtp_proto::{Event, Mechanism, Reply, ServerConfig, ServerSession};

use crate::pipeline::{Message, Origin, Rcpt, Recipient, Source, Verdict};

use crate::pump::{Handler, Next, Output};
use crate::shared::Shared;

/// Which SMTP listener a connection came in on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SmtpRole {
    /// `[smtp]`: MX-style receiving.
    Mx,
    /// `[submission]`: authenticated clients submit mail.
    Submission,
    /// `[lmtp]`: an MTA in front delivers (RFC 2033).
    Lmtp,
}

impl SmtpRole {
    /// The listener's name, as in `listening` lines and metrics.
    pub fn listener(self) -> &'static str {
        match self {
            SmtpRole::Mx => "smtp",
            SmtpRole::Submission => "submission",
            SmtpRole::Lmtp => "lmtp",
        }
    }
}

/// Hands an answer to the session. A refused answer (a wrong id or state)
/// is a bug in this glue: it is logged and the connection closed, never
/// ignored (the session would wait for an answer that never comes).
macro_rules! answered {
    ($call:expr) => {
        if $call.is_err() {
            tracing::error!("smtp: the session refused an answer (wrong id or state); closing");
            return Next::Close;
        }
    };
}

crate::pump::session_io!(ServerSession, Event);

/// The session configuration for a new connection.
pub fn session_config(
    shared: &Shared,
    role: SmtpRole,
    peer: &SocketAddr,
    tls: bool,
) -> ServerConfig {
    let config = &shared.config;
    let mut limits = smtp_proto::Limits::default();
    limits.max_message_size = config.limits.max_message_size;
    let lmtp = role == SmtpRole::Lmtp;
    ServerConfig {
        hostname: config.hostname.clone(),
        mode: if lmtp {
            smtp_proto::Mode::Lmtp
        } else {
            smtp_proto::Mode::Smtp
        },
        // LMTP (RFC 2033) serves an MTA in front: no TLS upgrade, no AUTH.
        starttls: shared.acceptor.is_some() && !lmtp,
        tls_active: tls,
        auth_mechanisms: if lmtp {
            Vec::new()
        } else {
            vec![Mechanism::Plain, Mechanism::Login]
        },
        allow_plaintext: config.auth.plaintext.allows_plaintext(peer),
        require_auth: role == SmtpRole::Submission,
        // RFC 4468: submission fetches URLAUTH URLs from our own store.
        burl: role == SmtpRole::Submission,
        limits,
    }
}

/// Per-connection state of the SMTP glue. The transaction itself (reverse
/// path, MAIL parameters, recipient count) is the session's; the glue keeps
/// only what the pipeline decided for each accepted recipient.
pub struct SmtpHandler {
    shared: Arc<Shared>,
    peer: SocketAddr,
    role: SmtpRole,
    /// The pipeline's decision for each recipient the session accepted, in
    /// RCPT order.
    recipients: Vec<Recipient>,
    /// The message being received, from `DataStart` to `DataEnd`.
    message: Option<Message>,
    queue_id: String,
    /// After AUTH: revoked when the account is deleted or its password
    /// changes.
    login: Option<crate::auth::LoginTicket>,
    /// Octets BURL added to the current message (for `max_message_size`).
    burl_octets: u64,
}

impl SmtpHandler {
    /// Glue for a new connection from `peer`.
    pub fn new(shared: Arc<Shared>, peer: SocketAddr, role: SmtpRole) -> Self {
        SmtpHandler {
            shared,
            peer,
            role,
            recipients: Vec::new(),
            message: None,
            queue_id: String::new(),
            login: None,
            burl_octets: 0,
        }
    }

    fn origin(&self, session: &ServerSession) -> Origin {
        Origin {
            source: match self.role {
                SmtpRole::Mx => Source::Smtp,
                SmtpRole::Submission => Source::Submission,
                SmtpRole::Lmtp => Source::Lmtp,
            },
            authenticated: session.authenticated().map(str::to_owned),
            helo: session.helo().map(str::to_owned),
            client_ip: Some(self.peer.ip()),
        }
    }

    async fn drop_message(&mut self) {
        self.burl_octets = 0;
        if let Some(m) = self.message.take() {
            m.abort().await;
        }
    }

    async fn reset(&mut self) {
        self.drop_message().await;
        self.recipients.clear();
    }

    async fn rcpt(
        &mut self,
        session: &ServerSession,
        forward_path: &str,
        params: &smtp_proto::RcptParams,
    ) -> Reply {
        let origin = self.origin(session);
        match self
            .shared
            .pipeline
            .recipient(&origin, session.reverse_path().flatten(), forward_path)
            .await
        {
            Rcpt::Accept(mut r) => {
                r.set_dsn(params);
                self.recipients.push(r);
                Reply::new(250, "2.1.5", "OK")
            }
            Rcpt::Refuse(v) => {
                // Relay attempts and unknown users, at info: the first thing
                // an operator looks for when mail does not arrive.
                tracing::info!(
                    peer = %self.peer,
                    from = %session.reverse_path().flatten().unwrap_or(""),
                    to = %forward_path,
                    code = v.code,
                    "recipient refused: {}",
                    v.text
                );
                v.to_reply()
            }
        }
    }

    async fn auth(
        &mut self,
        authzid: Option<String>,
        username: String,
        password: smtp_proto::Secret<String>,
    ) -> Reply {
        let ticket = self
            .shared
            .auth
            .authenticate(
                "smtp",
                &self.peer,
                authzid.as_deref(),
                &username,
                password.expose(),
            )
            .await;
        let Some(ticket) = ticket else {
            return Reply::new(535, "5.7.8", "Authentication credentials invalid");
        };
        tracing::info!(
            peer = %self.peer,
            user = %username,
            role = %self.role.listener(),
            "smtp login"
        );
        self.login = Some(ticket);
        Reply::new(235, "2.7.0", "Authentication successful")
    }

    /// `DataEnd`: the pipeline's verdicts, logged and turned into the
    /// reply (SMTP) or replies (LMTP).
    async fn end_of_data(&mut self) -> Vec<Verdict> {
        let Some(message) = self.message.take() else {
            return vec![
                Verdict::new(451, "4.3.0", "Local delivery failed, try again later");
                self.recipients.len().max(1)
            ];
        };
        let listener = self.role.listener();
        self.shared.metrics.message_received(listener);
        let started = Instant::now();
        let verdicts = message.finish().await;
        let delivered = verdicts.iter().filter(|v| v.is_positive()).count();
        if delivered > 0 {
            self.shared
                .metrics
                .message_delivered(listener, started.elapsed());
        }
        if verdicts.iter().any(|v| v.code >= 500) {
            self.shared.metrics.message_bounced(listener);
        }
        if delivered > 0 {
            tracing::info!(
                peer = %self.peer,
                id = %self.queue_id,
                recipients = delivered,
                "message delivered"
            );
        }
        verdicts
    }

    /// The `Received:` trace header of RFC 5321 §4.4, with the protocol
    /// keywords of RFC 3848 and RFC 6531 (`with ESMTPSA`, `LMTP`, ...).
    fn received_header(&mut self, session: &ServerSession) -> String {
        self.queue_id = new_queue_id();
        let config = &self.shared.config;
        let helo = session.helo().unwrap_or("unknown");
        let helo = sanitize_header_text(helo);
        let mut with = String::from(match self.role {
            SmtpRole::Lmtp => "LMTP",
            _ if session.is_esmtp() => "ESMTP",
            _ => "SMTP",
        });
        if session.tls_active() {
            with.push('S');
        }
        if session.authenticated().is_some() {
            with.push('A');
        }
        let ip = match self.peer {
            SocketAddr::V4(a) => a.ip().to_string(),
            SocketAddr::V6(a) => format!("IPv6:{}", a.ip()),
        };
        let mut header = format!(
            "Received: from {helo} ([{ip}])\r\n\tby {} (sansmail) with {with} id {}",
            config.hostname, self.queue_id
        );
        if let [only] = self.recipients.as_slice() {
            header.push_str(&format!(
                "\r\n\tfor <{}>",
                sanitize_header_text(&only.address)
            ));
        }
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs() as i64)
            .unwrap_or(0);
        header.push_str(&format!(
            ";\r\n\t{}\r\n",
            mail_parser::DateTime::from_timestamp(now).to_rfc822()
        ));
        header
    }
}

impl SmtpHandler {
    /// BURL (RFC 4468): checks the URLAUTH URL for the authenticated
    /// submitter (`submit+<user>`, or `anonymous`), then copies what it
    /// names from the store into the message, streamed from the file.
    async fn burl(&mut self, session: &ServerSession, url: &str) -> Reply {
        use crate::imap::urlauth::{self, Refusal, Requester};
        let Some(user) = session.authenticated().map(str::to_owned) else {
            return Reply::new(530, "5.7.0", "Authentication required");
        };
        if self.message.is_none() {
            return Reply::new(451, "4.3.0", "Local error, try again later");
        }
        let store = self.shared.store.clone();
        let url = url.to_owned();
        let opened = blocking::unblock(move || {
            let a = urlauth::verify(&store, &url, Requester::Submit(&user))?;
            urlauth::open(&store, &a)
        })
        .await;
        let (mut file, start, end) = match opened {
            Ok(f) => f,
            Err(Refusal::NotAuthorized(text)) => {
                tracing::info!(peer = %self.peer, "BURL refused: {text}");
                return Reply::new(554, "5.7.0", &format!("URLAUTH refused: {text}"));
            }
            Err(Refusal::BadUrl(text)) => {
                tracing::info!(peer = %self.peer, "BURL bad URL: {text}");
                return Reply::new(554, "5.6.3", &format!("Cannot fetch the URL: {text}"));
            }
            Err(Refusal::Temporary(text)) => {
                tracing::warn!("BURL: {text}");
                return Reply::new(451, "4.4.1", "Cannot fetch the URL now, try again later");
            }
        };
        let size = end - start;
        let max = self.shared.config.limits.max_message_size;
        if max > 0 && self.burl_octets.saturating_add(size) > max {
            return Reply::new(
                552,
                "5.3.4",
                "Message size exceeds fixed maximum message size",
            );
        }
        let mut remaining = size;
        while remaining > 0 {
            let want = remaining.min(BURL_CHUNK as u64) as usize;
            let (f, read) = blocking::unblock(move || {
                use std::io::Read;
                let mut buf = vec![0u8; want];
                let r = file.read(&mut buf).map(|n| {
                    buf.truncate(n);
                    buf
                });
                (file, r)
            })
            .await;
            file = f;
            let chunk = match read {
                Ok(c) if !c.is_empty() => c,
                // The file shrank behind our back: the message would be cut.
                _ => return Reply::new(451, "4.4.1", "The message changed while read, try again"),
            };
            remaining -= chunk.len() as u64;
            if let Some(m) = self.message.as_mut() {
                m.write(&chunk).await;
            }
        }
        self.burl_octets += size;
        Reply::new(250, "2.5.0", &format!("{size} octets received"))
    }
}

/// BURL copies the stored message in reads of this size.
const BURL_CHUNK: usize = 64 * 1024;

/// Keeps peer-supplied text from breaking the header: no CR, LF or other
/// control characters.
pub(crate) fn sanitize_header_text(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_control() { '?' } else { c })
        .collect()
}

/// The reply for one recipient after DATA (RFC 2033 §4.2): `250 2.0.0
/// <address> OK: queued as <id>` when its handlers took the message,
/// else its own failure.
fn lmtp_reply(v: &Verdict, address: &str, queue_id: &str) -> Reply {
    if v.is_positive() {
        Reply::new(
            250,
            "2.0.0",
            &format!(
                "<{}> OK: queued as {queue_id}",
                sanitize_header_text(address)
            ),
        )
    } else {
        v.to_reply()
    }
}

fn new_queue_id() -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_micros() as u64)
        .unwrap_or(0);
    format!(
        "{:X}{:04X}",
        now,
        COUNTER.fetch_add(1, Ordering::Relaxed) & 0xffff
    )
}

impl Handler for SmtpHandler {
    type Session = ServerSession;

    async fn on_event(
        &mut self,
        session: &mut ServerSession,
        event: Event,
        _out: &mut Output<'_>,
    ) -> Next {
        match event {
            Event::MailFrom { id, .. } => {
                // The session keeps the reverse path and parameters once
                // this 250 opens the transaction.
                self.reset().await;
                answered!(session.respond(id, Reply::new(250, "2.1.0", "OK")));
            }
            Event::RcptTo {
                id,
                forward_path,
                params,
            } => {
                let reply = self.rcpt(session, &forward_path, &params).await;
                answered!(session.respond(id, reply));
            }
            Event::Auth {
                id,
                authzid,
                username,
                password,
                ..
            } => {
                let reply = self.auth(authzid, username, password).await;
                answered!(session.respond(id, reply));
            }
            Event::DataStart => {
                self.drop_message().await;
                let trace = self.received_header(session).into_bytes();
                let reverse_path = session.reverse_path().flatten().map(str::to_owned);
                // MAIL FROM's RFC 3461 `ENVID=` (decoded) and `RET=`.
                let (envid, ret) = session.mail_params().map_or((None, None), |p| {
                    (
                        p.envid.as_deref().and_then(smtp_proto::xtext_decode),
                        p.ret.map(|r| match r {
                            smtp_proto::Ret::Full => maildir::Ret::Full,
                            smtp_proto::Ret::Hdrs => maildir::Ret::Hdrs,
                        }),
                    )
                });
                let mut message = self.shared.pipeline.begin(
                    self.origin(session),
                    reverse_path,
                    self.recipients.clone(),
                    trace,
                );
                message.set_dsn(envid, ret);
                self.message = Some(message);
            }
            Event::BodyChunk(chunk) => {
                if let Some(m) = self.message.as_mut() {
                    m.write(&chunk).await;
                }
            }
            Event::DataEnd { id } => {
                let verdicts = self.end_of_data().await;
                if self.role == SmtpRole::Lmtp {
                    // RFC 2033 §4.2: one reply per accepted recipient, in
                    // RCPT order, each its own delivery's result.
                    let replies = verdicts
                        .iter()
                        .zip(&self.recipients)
                        .map(|(v, r)| lmtp_reply(v, &r.address, &self.queue_id))
                        .collect();
                    if let Err(replies) = session.respond_lmtp(id, replies) {
                        tracing::warn!(
                            count = replies.len(),
                            "LMTP replies did not match the session's recipients"
                        );
                        let reply = Reply::new(451, "4.3.0", "Internal error, try again later");
                        answered!(session.respond(id, reply));
                    }
                } else {
                    let reply = match Verdict::worst(&verdicts) {
                        Some(v) if !v.is_positive() => v.to_reply(),
                        _ => Reply::new(250, "2.0.0", &format!("OK: queued as {}", self.queue_id)),
                    };
                    answered!(session.respond(id, reply));
                }
                // The transaction is over either way (RFC 5321 §4.1.1.4).
                self.recipients.clear();
            }
            Event::Burl { id, url, .. } => {
                let reply = self.burl(session, &url).await;
                if session.respond(id, reply).is_err() {
                    return Next::Close;
                }
            }
            Event::DataAborted { .. } => self.drop_message().await,
            Event::Reset => self.reset().await,
            Event::SwitchTransport { .. } => return Next::StartTls,
            _ => {}
        }
        Next::Continue
    }

    fn on_tls(&mut self, session: &mut ServerSession) {
        session.transport_switched(Instant::now());
    }

    fn shutdown_notice(&self) -> &'static [u8] {
        b"421 4.3.2 Service shutting down, closing transmission channel\r\n"
    }

    fn login(&self) -> Option<&crate::auth::LoginTicket> {
        self.login.as_ref()
    }

    fn revoked_notice(&self) -> &'static [u8] {
        b"421 4.7.0 Account deleted or password changed, closing transmission channel\r\n"
    }

    async fn on_close(&mut self) {
        self.reset().await;
    }
}
