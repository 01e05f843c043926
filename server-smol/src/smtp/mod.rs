//! SMTP glue: answers `smtp-proto` session events from the store and the
//! relay policy. Used by the `[smtp]` (MX-style) and `[submission]`
//! listeners.
//!
//! Policy, as Postfix does it by default:
//! - `[smtp]`: recipients in a local domain must be existing accounts
//!   (`550 5.1.1`); other domains are relaying, refused unless the client
//!   authenticated (`554 5.7.1`).
//! - `[submission]`: AUTH before MAIL FROM (`530 5.7.0`, enforced by the
//!   session).
//! - Relaying for authenticated clients needs the outbound queue, which
//!   sansmail does not have yet: such recipients are refused with
//!   `550 5.7.1` rather than accepted and silently lost.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use maildir::{Delivery, DeliveryError, Envelope};
use smtp_proto::{Event, Mechanism, Reply, ServerConfig, ServerSession};

use crate::pump::{Handler, Next, Output};
use crate::server::Shared;

/// Which SMTP listener a connection came in on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SmtpRole {
    /// `[smtp]`: MX-style receiving.
    Mx,
    /// `[submission]`: authenticated clients submit mail.
    Submission,
}

/// Body bytes are written to the message file in batches of this size, so
/// a connection holds at most this much of a message in memory.
const WRITE_BATCH: usize = 64 * 1024;

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
    ServerConfig {
        hostname: config.hostname.clone(),
        mode: smtp_proto::Mode::Smtp,
        starttls: shared.acceptor.is_some(),
        tls_active: tls,
        auth_mechanisms: vec![Mechanism::Plain, Mechanism::Login],
        auth_requires_tls: !config.auth.plaintext.allows_plaintext(peer),
        require_auth: role == SmtpRole::Submission,
        limits,
    }
}

/// Per-connection state of the SMTP glue.
pub struct SmtpHandler {
    shared: Arc<Shared>,
    peer: SocketAddr,
    role: SmtpRole,
    reverse_path: Option<String>,
    recipients: Vec<String>,
    /// The open message file, created at the first batch write.
    delivery: Option<Delivery>,
    /// Body bytes not yet written to the file.
    pending_body: Vec<u8>,
    /// A failure while streaming the body: reported at end of data.
    body_error: Option<DeliveryError>,
    queue_id: String,
}

impl SmtpHandler {
    /// Glue for a new connection from `peer`.
    pub fn new(shared: Arc<Shared>, peer: SocketAddr, role: SmtpRole) -> Self {
        SmtpHandler {
            shared,
            peer,
            role,
            reverse_path: None,
            recipients: Vec::new(),
            delivery: None,
            pending_body: Vec::new(),
            body_error: None,
            queue_id: String::new(),
        }
    }

    async fn drop_message(&mut self) {
        self.pending_body = Vec::new();
        self.body_error = None;
        if let Some(d) = self.delivery.take() {
            blocking::unblock(move || d.abort()).await;
        }
    }

    async fn reset(&mut self) {
        self.drop_message().await;
        self.reverse_path = None;
        self.recipients.clear();
    }

    async fn rcpt(&mut self, session: &ServerSession, forward_path: &str) -> Reply {
        let Some((local, domain)) = forward_path.rsplit_once('@') else {
            // RFC 5321 §4.5.1 requires "postmaster" without a domain; it is
            // accepted when a postmaster account exists in a local domain.
            if forward_path.eq_ignore_ascii_case("postmaster")
                && let Some(addr) = postmaster(self.shared.clone()).await
            {
                self.recipients.push(addr);
                return Reply::new(250, "2.1.5", "OK");
            }
            return Reply::new(550, "5.1.3", "Bad recipient address syntax");
        };
        if local.is_empty() || domain.is_empty() {
            return Reply::new(550, "5.1.3", "Bad recipient address syntax");
        }
        if !self.shared.config.is_local_domain(domain) {
            return if session.authenticated().is_some() {
                Reply::new(
                    550,
                    "5.7.1",
                    "Relaying is not available: sansmail has no outbound delivery yet",
                )
            } else {
                Reply::new(
                    554,
                    "5.7.1",
                    &format!("<{forward_path}>: Relay access denied"),
                )
            };
        }
        let store = self.shared.store.clone();
        let address = forward_path.to_string();
        let lookup = address.clone();
        match blocking::unblock(move || store.user_exists(&lookup)).await {
            Ok(true) => {
                self.recipients.push(address);
                Reply::new(250, "2.1.5", "OK")
            }
            Ok(false) => Reply::new(
                550,
                "5.1.1",
                &format!("<{forward_path}>: Recipient address rejected: User unknown"),
            ),
            Err(e) => {
                tracing::warn!("recipient lookup failed: {e}");
                Reply::new(451, "4.3.0", "Temporary lookup failure")
            }
        }
    }
}

/// The first `postmaster@<local domain>` account, if any.
async fn postmaster(shared: Arc<Shared>) -> Option<String> {
    {
        for domain in &shared.config.domains {
            let addr = format!("postmaster@{domain}");
            let store = shared.store.clone();
            let probe = addr.clone();
            if let Ok(true) = blocking::unblock(move || store.user_exists(&probe)).await {
                return Some(addr);
            }
        }
        None
    }
}

impl SmtpHandler {
    async fn auth(
        &mut self,
        authzid: Option<String>,
        authcid: String,
        password: smtp_proto::Secret<String>,
    ) -> Reply {
        // RFC 4616 §2: acting as another identity is not supported.
        let ok = if authzid
            .as_deref()
            .is_some_and(|z| !z.is_empty() && z != authcid)
        {
            false
        } else {
            self.shared
                .passwords
                .verify(&authcid, password.expose())
                .await
        };
        if ok {
            tracing::info!(peer = %self.peer, user = %authcid, role = ?self.role, "smtp login");
            Reply::new(235, "2.7.0", "Authentication successful")
        } else {
            tracing::info!(peer = %self.peer, user = %authcid, "smtp login failed");
            async_io::Timer::after(Duration::from_millis(
                self.shared.config.auth.failure_delay_ms,
            ))
            .await;
            Reply::new(535, "5.7.8", "Authentication credentials invalid")
        }
    }

    /// Opens the message file (with `Return-Path:` and `Received:`) the
    /// first time body bytes must go to disk.
    async fn flush_body(&mut self, session: &ServerSession) {
        if self.body_error.is_some() || self.pending_body.is_empty() {
            return;
        }
        let bytes = std::mem::take(&mut self.pending_body);
        let delivery = self.delivery.take();
        let envelope = match delivery {
            Some(_) => None,
            None => Some(Envelope {
                return_path: self.reverse_path.clone(),
                recipients: self.recipients.clone(),
                trace: self.received_header(session).into_bytes(),
            }),
        };
        let store = self.shared.store.clone();
        let result = blocking::unblock(move || {
            let mut d = match (delivery, envelope) {
                (Some(d), _) => d,
                (None, Some(env)) => store.begin_delivery(env)?,
                (None, None) => unreachable!("an envelope is built when no delivery is open"),
            };
            d.write(&bytes)?;
            Ok::<_, DeliveryError>((d, bytes))
        })
        .await;
        match result {
            Ok((d, mut bytes)) => {
                self.delivery = Some(d);
                bytes.clear();
                self.pending_body = bytes;
            }
            Err(e) => self.body_error = Some(e),
        }
    }

    async fn end_of_data(&mut self, session: &ServerSession) -> Reply {
        // An empty body still needs its file.
        if self.delivery.is_none() && self.pending_body.is_empty() && self.body_error.is_none() {
            let store = self.shared.store.clone();
            let env = Envelope {
                return_path: self.reverse_path.clone(),
                recipients: self.recipients.clone(),
                trace: self.received_header(session).into_bytes(),
            };
            match blocking::unblock(move || store.begin_delivery(env)).await {
                Ok(d) => self.delivery = Some(d),
                Err(e) => self.body_error = Some(e),
            }
        } else {
            self.flush_body(session).await;
        }
        if let Some(e) = self.body_error.take() {
            self.drop_message().await;
            return delivery_failure(&e);
        }
        let Some(delivery) = self.delivery.take() else {
            return Reply::new(451, "4.3.0", "Local delivery failed, try again later");
        };
        let queue_id = self.queue_id.clone();
        let listener = match self.role {
            SmtpRole::Mx => "smtp",
            SmtpRole::Submission => "submission",
        };
        self.shared.metrics.message_received(listener);
        let started = Instant::now();
        match blocking::unblock(move || delivery.commit()).await {
            Ok(delivered) => {
                self.shared
                    .metrics
                    .message_delivered(listener, started.elapsed());
                tracing::info!(
                    peer = %self.peer,
                    id = %queue_id,
                    recipients = delivered.len(),
                    "message delivered"
                );
                Reply::new(250, "2.0.0", &format!("OK: queued as {queue_id}"))
            }
            Err(e) => {
                if !e.is_temporary() {
                    self.shared.metrics.message_bounced(listener);
                }
                delivery_failure(&e)
            }
        }
    }

    /// The `Received:` trace header of RFC 5321 §4.4, with the protocol
    /// keywords of RFC 3848 and RFC 6531 (`with ESMTPSA`, `UTF8SMTPS`, ...).
    fn received_header(&mut self, session: &ServerSession) -> String {
        self.queue_id = new_queue_id();
        let config = &self.shared.config;
        let helo = session.helo().unwrap_or("unknown");
        let helo = sanitize_header_text(helo);
        let mut with = String::from(if session.is_esmtp() { "ESMTP" } else { "SMTP" });
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
            header.push_str(&format!("\r\n\tfor <{}>", sanitize_header_text(only)));
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

fn delivery_failure(e: &DeliveryError) -> Reply {
    if let DeliveryError::OverQuota(who) = e {
        return Reply::new(552, "5.2.2", &format!("<{who}>: Mailbox full"));
    }
    if e.is_temporary() {
        tracing::warn!("delivery failed: {e}");
        Reply::new(451, "4.3.0", "Local delivery failed, try again later")
    } else {
        Reply::new(550, "5.1.1", &format!("Delivery failed: {e}"))
    }
}

/// Keeps peer-supplied text from breaking the header: no CR, LF or other
/// control characters.
fn sanitize_header_text(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_control() { '?' } else { c })
        .collect()
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
            Event::MailFrom {
                id, reverse_path, ..
            } => {
                self.reset().await;
                self.reverse_path = reverse_path;
                let _ = session.respond(id, Reply::new(250, "2.1.0", "OK"));
            }
            Event::RcptTo {
                id, forward_path, ..
            } => {
                let reply = self.rcpt(session, &forward_path).await;
                let _ = session.respond(id, reply);
            }
            Event::Auth {
                id,
                authzid,
                authcid,
                password,
                ..
            } => {
                let reply = self.auth(authzid, authcid, password).await;
                let _ = session.respond(id, reply);
            }
            Event::DataStart => {
                self.drop_message().await;
            }
            Event::BodyChunk(chunk) if self.body_error.is_none() => {
                self.pending_body.extend_from_slice(&chunk);
                if self.pending_body.len() >= WRITE_BATCH {
                    self.flush_body(session).await;
                }
            }
            Event::DataEnd { id } => {
                let reply = self.end_of_data(session).await;
                let _ = session.respond(id, reply);
                // The transaction is over either way (RFC 5321 §4.1.1.4).
                self.reverse_path = None;
                self.recipients.clear();
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

    async fn on_close(&mut self) {
        self.reset().await;
    }
}
