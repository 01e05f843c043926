//! One message in flight through the pipeline: the body streamed to the
//! local Maildir file and (when a named handler needs the bytes) a spool
//! file, then `finish` runs the pre-receive hook and every handler.

use std::io::Write;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use maildir::{Delivery, DeliveryError};

use super::submission::{find, submission_fields};
use super::{MAX_HEADER, Origin, Pipeline, Recipient, Source, Target, Verdict, hook, unix_ms};

/// Body bytes are written out in batches of this size, so a message in
/// flight holds at most this much of its body in memory.
const WRITE_BATCH: usize = 64 * 1024;

/// A message between [`Pipeline::begin`] and [`Message::finish`]. Dropping
/// it without `finish` abandons it (the tmp and spool files are removed).
pub struct Message {
    pipeline: Pipeline,
    origin: Origin,
    sender: Option<String>,
    recipients: Vec<Recipient>,
    trace: Vec<u8>,
    /// Body bytes not yet written out.
    pending: Vec<u8>,
    /// The header section as received (up to [`MAX_HEADER`]).
    header: Vec<u8>,
    header_done: bool,
    files: Option<Files>,
    /// Body bytes taken so far.
    size: u64,
    /// A failure while streaming: every recipient gets it at `finish`.
    error: Option<Verdict>,
    /// RFC 3461 `ENVID=` of MAIL FROM (kept for queued recipients).
    envid: Option<String>,
    /// RFC 3461 `RET=` of MAIL FROM.
    ret: Option<maildir::Ret>,
    /// The outbound copy held in memory until `finish` because it gets a
    /// DKIM signature, which hashes the whole message (bounded by `[limits]
    /// max_message_size`). `None`: the queue file is written as it streams.
    signed: Option<Vec<u8>>,
    /// `[smtp]` from an unauthenticated client (DESIGN.md §5.3): the
    /// message is held in memory (bounded by `max_message_size`) until the
    /// end of DATA, checked (SPF, DKIM, DMARC), and only then delivered
    /// with `Authentication-Results:` in front.
    checked: Option<Vec<u8>>,
    /// The checks' envelope lookups, started with the message
    /// (`checks::start`): they run while the body arrives.
    early: Option<crate::checks::Early>,
    /// Where local copies go: INBOX, or Junk after a DMARC quarantine.
    mailbox: &'static str,
}

/// Where the body goes: opened at the first batch.
#[derive(Default)]
struct Files {
    local: Option<Delivery>,
    spool: Option<Spool>,
    /// The outbound queue entry for the `outbound` recipients.
    queue: Option<maildir::Enqueue>,
    /// Local recipients left out of `local` because their account is over
    /// quota (`552 5.2.2` for them; the others are still delivered).
    over_quota: Vec<String>,
}

/// A temporary copy of trace + body for handlers that need the whole
/// message (Redis, webhook JSON with `raw_base64`). Removed on drop.
struct Spool {
    path: PathBuf,
    file: std::fs::File,
}

impl Drop for Spool {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

impl Message {
    pub(super) fn new(
        pipeline: Pipeline,
        origin: Origin,
        sender: Option<String>,
        recipients: Vec<Recipient>,
        trace: Vec<u8>,
    ) -> Message {
        Message {
            pipeline,
            origin,
            sender,
            recipients,
            trace,
            pending: Vec::new(),
            header: Vec::new(),
            header_done: false,
            files: None,
            size: 0,
            error: None,
            envid: None,
            ret: None,
            signed: None,
            checked: None,
            early: None,
            mailbox: maildir::INBOX,
        }
        .with_signing()
        .with_checks()
    }

    /// An authenticated sender from a local domain gets its outbound copy
    /// DKIM-signed (DESIGN.md §5.2 `[dkim] sign`).
    fn with_signing(mut self) -> Message {
        let config = &self.pipeline.inner.config;
        let domain = self
            .sender
            .as_deref()
            .and_then(|s| s.rsplit_once('@'))
            .map(|(_, d)| d);
        if self.is_submission()
            && config.dkim.sign
            && domain.is_some_and(|d| config.is_local_domain(d))
            && self.needs_queue()
        {
            self.signed = Some(Vec::new());
        }
        self
    }

    /// Checks on receipt apply: `[smtp]`, not authenticated, a resolver.
    fn with_checks(mut self) -> Message {
        if self.origin.source == Source::Smtp
            && self.origin.authenticated.is_none()
            && let Some(ip) = self.origin.client_ip
            && let Some(dns) = self.pipeline.inner.dns.as_ref()
        {
            self.checked = Some(Vec::new());
            self.early = Some(self.start_checks(dns, ip));
        }
        self
    }

    /// Starts the checks' envelope lookups (`checks::start`).
    fn start_checks(
        &self,
        dns: &crate::outbound::dns::Dns,
        ip: std::net::IpAddr,
    ) -> crate::checks::Early {
        let config = &self.pipeline.inner.config;
        crate::checks::start(
            dns,
            &config.checks,
            &config.hostname,
            ip,
            self.origin.helo.as_deref().unwrap_or(""),
            self.sender.as_deref(),
        )
    }

    /// Runs the checks on the held message: `Some(verdict)` refuses it
    /// (DMARC p=reject); otherwise the message is ready to be written with
    /// `Authentication-Results:` in front of the trace and forged results
    /// claiming our name removed (RFC 8601 §5).
    async fn run_checks(&mut self, body: Vec<u8>) -> Option<Verdict> {
        let config = &self.pipeline.inner.config;
        let dns = self.pipeline.inner.dns.as_ref()?;
        let ip = self.origin.client_ip?;
        // `with_checks` started them with the message; started here only
        // if it did not.
        let early = match self.early.take() {
            Some(e) => e,
            None => self.start_checks(dns, ip),
        };
        let checked = crate::checks::finish(dns, &config.checks, early, &body).await;
        match checked.disposition {
            crate::checks::Disposition::Reject => {
                return Some(Verdict::new(
                    550,
                    "5.7.1",
                    "Message rejected by the sender domain's DMARC policy",
                ));
            }
            crate::checks::Disposition::Quarantine => self.mailbox = "Junk",
            crate::checks::Disposition::Accept => {}
        }
        let mut trace = checked.header(&config.hostname).into_bytes();
        trace.extend_from_slice(&self.trace);
        self.trace = trace;
        self.pending = crate::checks::strip_our_results(&body, &config.hostname);
        None
    }

    /// Mail from an authenticated client (RFC 6409 message submission).
    fn is_submission(&self) -> bool {
        self.origin.source == Source::Submission || self.origin.authenticated.is_some()
    }

    /// Sets the RFC 3461 `ENVID=` and `RET=` of MAIL FROM, which queued
    /// recipients keep for their DSNs.
    pub fn set_dsn(&mut self, envid: Option<String>, ret: Option<maildir::Ret>) {
        self.envid = envid;
        self.ret = ret;
    }

    /// The recipients, in RCPT order (the order of `finish`'s verdicts).
    pub fn recipients(&self) -> &[Recipient] {
        &self.recipients
    }

    fn needs_local(&self) -> bool {
        self.recipients
            .iter()
            .any(|r| r.targets.contains(&Target::Local))
    }

    fn needs_queue(&self) -> bool {
        self.recipients
            .iter()
            .any(|r| r.targets.contains(&Target::Outbound))
    }

    fn needs_files(&self) -> bool {
        self.needs_local() || self.needs_spool() || self.needs_queue()
    }

    fn needs_spool(&self) -> bool {
        self.recipients
            .iter()
            .any(|r| r.targets.iter().any(|t| matches!(t, Target::Handler(_))))
    }

    /// Takes the next body bytes, exactly as received (SMTP: unstuffed).
    pub async fn write(&mut self, chunk: &[u8]) {
        if self.error.is_some() {
            return;
        }
        // `[limits] max_message_size` on every path (the SMTP session
        // enforces it on the wire too; the API and fixtures rely on this).
        self.size = self.size.saturating_add(chunk.len() as u64);
        let max = self.pipeline.inner.config.limits.max_message_size;
        if max > 0 && self.size > max {
            self.error = Some(Verdict::new(
                552,
                "5.3.4",
                "Message size exceeds fixed maximum message size",
            ));
            self.pending = Vec::new();
            if let Some(files) = self.files.take() {
                blocking::unblock(move || drop(files)).await;
            }
            return;
        }
        if !self.header_done {
            let from = self.header.len().saturating_sub(3);
            let room = MAX_HEADER - self.header.len();
            self.header
                .extend_from_slice(&chunk[..chunk.len().min(room)]);
            if let Some(end) = find(&self.header[from..], b"\r\n\r\n") {
                self.header.truncate(from + end + 2);
                self.header_done = true;
            } else if self.header.len() >= MAX_HEADER {
                self.header_done = true;
            }
        }
        if let Some(buf) = self.signed.as_mut() {
            buf.extend_from_slice(chunk);
        }
        if let Some(buf) = self.checked.as_mut() {
            // Written out at `finish`, after the checks.
            buf.extend_from_slice(chunk);
            return;
        }
        if !self.needs_files() {
            return;
        }
        self.pending.extend_from_slice(chunk);
        if self.pending.len() >= WRITE_BATCH {
            self.flush(false).await;
        }
    }

    /// Writes the pending batch (opening the files first if needed); with
    /// `commit`, also commits the local delivery and reads the spool back.
    async fn flush(&mut self, commit: bool) -> Option<Committed> {
        let bytes = std::mem::take(&mut self.pending);
        let files = self.files.take();
        let open = files.is_none().then(|| self.open_plan());
        let data_dir = self.pipeline.inner.config.data_dir.clone();
        let store = self.pipeline.inner.store.clone();
        let result = blocking::unblock(move || {
            let mut files = match (files, open) {
                (Some(f), _) => f,
                (None, Some(plan)) => plan.open(&store, &data_dir)?,
                (None, None) => Files::default(),
            };
            if let Some(d) = files.local.as_mut() {
                d.write(&bytes).map_err(Failure::Local)?;
            }
            if let Some(s) = files.spool.as_mut() {
                s.file
                    .write_all(&bytes)
                    .map_err(|e| Failure::Spool(e.to_string()))?;
            }
            if let Some(q) = files.queue.as_mut() {
                q.write(&bytes).map_err(Failure::Queue)?;
            }
            if !commit {
                return Ok::<_, Failure>((files, bytes, None));
            }
            let local = files.local.take().map(|d| d.commit());
            let queued = files.queue.take().map(|q| q.commit());
            let over_quota = std::mem::take(&mut files.over_quota);
            let raw = match files.spool.take() {
                Some(mut s) => {
                    // The spool file is unbuffered: everything written is
                    // readable through its path. Handlers stream it from
                    // there; only its skeleton (the message without its
                    // attachments' bodies) is read into memory, for the
                    // JSON's header and text fields. Dropping `s` removes it.
                    let spooled = (|| {
                        let len = s.file.metadata()?.len();
                        let skeleton = super::json::skeleton(&mut s.file, len)?;
                        Ok::<_, std::io::Error>(super::json::Parsed::new(&skeleton, len))
                    })()
                    .map_err(|e| Failure::Spool(e.to_string()))?;
                    Some(Spooled {
                        parsed: spooled,
                        spool: s,
                    })
                }
                None => None,
            };
            Ok((
                files,
                bytes,
                Some(Committed {
                    local,
                    queued,
                    raw,
                    over_quota,
                }),
            ))
        })
        .await;
        match result {
            Ok((files, mut bytes, committed)) => {
                self.files = Some(files);
                bytes.clear();
                self.pending = bytes;
                committed
            }
            Err(f) => {
                self.error = Some(f.verdict());
                None
            }
        }
    }

    fn open_plan(&self) -> OpenPlan {
        let local: Vec<String> = self
            .recipients
            .iter()
            .filter(|r| r.targets.contains(&Target::Local))
            .map(|r| r.address.clone())
            .collect();
        let outbound: Vec<maildir::QueueRecipient> = self
            .recipients
            .iter()
            .filter(|r| self.signed.is_none() && r.targets.contains(&Target::Outbound))
            .map(|r| maildir::QueueRecipient {
                address: r.address.clone(),
                notify: r.notify,
                orcpt: r.orcpt.clone(),
            })
            .collect();
        let mut queue_head = self.trace.clone();
        if self.is_submission() && !outbound.is_empty() {
            queue_head.extend_from_slice(&submission_fields(
                &self.header,
                self.header_done,
                &self.pipeline.inner.config.hostname,
            ));
        }
        OpenPlan {
            local,
            outbound,
            envid: self.envid.clone(),
            ret: self.ret,
            queue_head,
            spool: self.needs_spool(),
            catch_all: self.pipeline.inner.config.testing.catch_all,
            mailbox: self.mailbox,
            sender: self.sender.clone(),
            trace: self.trace.clone(),
        }
    }

    /// Abandons the message (the body was refused or the client left).
    pub async fn abort(mut self) {
        if let Some(files) = self.files.take() {
            blocking::unblock(move || drop(files)).await;
        }
    }

    /// Runs the pre-receive hook and every handler of every recipient;
    /// returns one verdict per recipient, in RCPT order. Only after this
    /// returns may the source acknowledge the message.
    pub async fn finish(mut self) -> Vec<Verdict> {
        let n = self.recipients.len();
        if let Some(v) = self.error.take() {
            self.abort().await;
            return vec![v; n];
        }
        if let Some(body) = self.checked.take()
            && let Some(v) = self.run_checks(body).await
        {
            self.abort().await;
            return vec![v; n];
        }
        if let Some(url) = self.pipeline.inner.config.hooks.pre_receive.clone()
            && matches!(
                self.origin.source,
                Source::Smtp | Source::Submission | Source::Lmtp
            )
        {
            let timeout =
                Duration::from_millis(self.pipeline.inner.config.hooks.pre_receive_timeout_ms);
            let request = hook::request_json(
                self.sender.as_deref(),
                &self.recipients,
                &self.origin,
                &self.header,
            );
            if let Some(v) = hook::pre_receive(&url, request, timeout).await {
                self.abort().await;
                return vec![v; n];
            }
        }
        let committed = if self.needs_files() {
            match self.flush(true).await {
                Some(c) => c,
                None => {
                    let v = self
                        .error
                        .take()
                        .unwrap_or_else(|| Verdict::new(451, "4.3.0", "Delivery failed"));
                    self.abort().await;
                    return vec![v; n];
                }
            }
        } else {
            Committed {
                local: None,
                queued: None,
                raw: None,
                over_quota: Vec::new(),
            }
        };
        let mut verdicts: Vec<Vec<Verdict>> = vec![Vec::new(); n];
        let failure = committed.local.and_then(|l| l.err());
        for (i, r) in self.recipients.iter().enumerate() {
            if !r.targets.contains(&Target::Local) {
                continue;
            }
            let full = committed
                .over_quota
                .iter()
                .any(|a| a.eq_ignore_ascii_case(&r.address));
            verdicts[i].push(match &failure {
                _ if full => Verdict::new(552, "5.2.2", &format!("<{}>: Mailbox full", r.address)),
                None => Verdict::ok(),
                Some(e) => local_failure(e, &r.address),
            });
        }
        let queued = match self.signed.take() {
            Some(body) => {
                let job = self.enqueue_signed(body);
                Some(blocking::unblock(job).await)
            }
            None => committed.queued,
        };
        let queue_failure = match &queued {
            Some(Ok(id)) => {
                tracing::info!(queue_id = %id, "queued for outbound delivery");
                self.pipeline.wake_queue();
                None
            }
            Some(Err(e)) => {
                tracing::warn!("enqueue failed: {e}");
                Some(Verdict::new(
                    451,
                    "4.3.0",
                    "Queueing failed, try again later",
                ))
            }
            None => None,
        };
        for (i, r) in self.recipients.iter().enumerate() {
            if r.targets.contains(&Target::Outbound) {
                verdicts[i].push(queue_failure.clone().unwrap_or_else(Verdict::ok));
            }
        }
        if let Some(spooled) = committed.raw {
            super::handlers::run(
                &self.pipeline,
                self.sender.as_deref(),
                &self.recipients,
                &spooled.spool.path,
                &spooled.parsed,
                &mut verdicts,
            )
            .await;
            blocking::unblock(move || drop(spooled)).await;
        }
        super::handlers::bounce(
            &self.pipeline,
            self.sender.as_deref(),
            &self.recipients,
            &self.header,
        )
        .await;
        verdicts
            .iter()
            .map(|v| Verdict::worst(v).cloned().unwrap_or_else(Verdict::ok))
            .collect()
    }
}

impl Message {
    /// Queues the outbound copy held for signing: our trace, the
    /// `DKIM-Signature:`, the fields submission added, the submitted bytes.
    fn enqueue_signed(
        &self,
        body: Vec<u8>,
    ) -> impl FnOnce() -> Result<maildir::QueueId, DeliveryError> + Send + 'static {
        let recipients: Vec<maildir::QueueRecipient> = self
            .recipients
            .iter()
            .filter(|r| r.targets.contains(&Target::Outbound))
            .map(|r| maildir::QueueRecipient {
                address: r.address.clone(),
                notify: r.notify,
                orcpt: r.orcpt.clone(),
            })
            .collect();
        let envelope = maildir::QueueEnvelope {
            sender: self.sender.clone(),
            envid: self.envid.clone(),
            ret: self.ret,
            is_dsn: false,
            recipients,
            settles: Vec::new(),
        };
        let added = submission_fields(
            &self.header,
            self.header_done,
            &self.pipeline.inner.config.hostname,
        );
        let trace = self.trace.clone();
        let domain = self
            .sender
            .as_deref()
            .and_then(|s| s.rsplit_once('@'))
            .map(|(_, d)| d.to_owned())
            .unwrap_or_default();
        let pipeline = self.pipeline.clone();
        move || {
            let mut signed = added;
            signed.extend_from_slice(&body);
            drop(body);
            let signature = match pipeline.inner.signer.sign(&domain, &signed) {
                Ok(s) => s,
                Err(e) => {
                    // Unsigned mail still goes (receivers treat it as
                    // unsigned); the failure is logged for the operator.
                    tracing::warn!(domain, "DKIM signing failed: {e}");
                    None
                }
            };
            let store = &pipeline.inner.store;
            let mut q = store.begin_enqueue(envelope)?;
            q.write(&trace)?;
            if let Some(sig) = signature {
                q.write(sig.as_bytes())?;
            }
            q.write(&signed)?;
            q.commit()
        }
    }
}

/// What `open` creates for a message.
struct OpenPlan {
    local: Vec<String>,
    /// INBOX, or Junk (DMARC quarantine).
    mailbox: &'static str,
    outbound: Vec<maildir::QueueRecipient>,
    envid: Option<String>,
    ret: Option<maildir::Ret>,
    /// What goes in front of the body in the queue file: the trace, and
    /// for submission the Message-ID:/Date: it lacked.
    queue_head: Vec<u8>,
    spool: bool,
    catch_all: bool,
    sender: Option<String>,
    trace: Vec<u8>,
}

impl OpenPlan {
    fn open(self, store: &maildir::Store, data_dir: &std::path::Path) -> Result<Files, Failure> {
        let mut files = Files::default();
        if !self.local.is_empty() {
            if self.catch_all {
                // §5.6: an unknown address gets an account on first
                // delivery whose password is the address.
                for a in &self.local {
                    match store.user_exists(a) {
                        Ok(true) => {}
                        Ok(false) => match store.add_user(a, a) {
                            Ok(()) | Err(maildir::AccountError::AlreadyExists) => {
                                tracing::info!(address = %a, "catch_all: account created");
                            }
                            Err(e) => {
                                return Err(Failure::Spool(format!("catch_all account: {e}")));
                            }
                        },
                        Err(e) => return Err(Failure::Spool(e.to_string())),
                    }
                }
            }
            // An account over quota fails `begin_delivery` for the whole
            // list: leave it out (it gets 552) and deliver to the others.
            let mut recipients = self.local;
            loop {
                let envelope = maildir::Envelope {
                    return_path: self.sender.clone(),
                    recipients: recipients.clone(),
                    trace: self.trace.clone(),
                };
                match store.begin_delivery_into(envelope, self.mailbox) {
                    Ok(d) => {
                        files.local = Some(d);
                        break;
                    }
                    Err(DeliveryError::OverQuota(who)) => {
                        let before = recipients.len();
                        recipients.retain(|a| {
                            !a.eq_ignore_ascii_case(&who)
                                && maildir::Address::parse(a)
                                    .ok()
                                    .zip(maildir::Address::parse(&who).ok())
                                    .is_none_or(|(a, w)| a.key() != w.key())
                        });
                        if recipients.len() == before {
                            return Err(Failure::Local(DeliveryError::OverQuota(who)));
                        }
                        files.over_quota.push(who);
                        if recipients.is_empty() {
                            break;
                        }
                    }
                    Err(e) => return Err(Failure::Local(e)),
                }
            }
        }
        if !self.outbound.is_empty() {
            let mut q = store
                .begin_enqueue(maildir::QueueEnvelope {
                    sender: self.sender.clone(),
                    envid: self.envid.clone(),
                    ret: self.ret,
                    is_dsn: false,
                    recipients: self.outbound,
                    settles: Vec::new(),
                })
                .map_err(Failure::Queue)?;
            q.write(&self.queue_head).map_err(Failure::Queue)?;
            files.queue = Some(q);
        }
        if self.spool {
            let dir = data_dir.join("spool");
            let mut file = create_private(&dir).map_err(|e| Failure::Spool(e.to_string()))?;
            file.1
                .write_all(&self.trace)
                .map_err(|e| Failure::Spool(e.to_string()))?;
            files.spool = Some(Spool {
                path: file.0,
                file: file.1,
            });
        }
        Ok(files)
    }
}

/// A new 0600 file in `dir` (created 0700), with a unique name.
fn create_private(dir: &std::path::Path) -> std::io::Result<(PathBuf, std::fs::File)> {
    use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)?;
    let name = format!(
        "{}.{}.{}",
        unix_ms(),
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    );
    let path = dir.join(name);
    let file = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&path)?;
    Ok((path, file))
}

/// The end of the blocking part of `finish`.
struct Committed {
    local: Option<Result<Vec<maildir::Delivered>, DeliveryError>>,
    queued: Option<Result<maildir::QueueId, DeliveryError>>,
    raw: Option<Spooled>,
    over_quota: Vec<String>,
}

/// The spooled message handlers stream from, and the fields their JSON
/// takes from it.
struct Spooled {
    spool: Spool,
    parsed: super::json::Parsed,
}

/// A failure while streaming the body.
enum Failure {
    Local(DeliveryError),
    Queue(DeliveryError),
    Spool(String),
}

impl Failure {
    fn verdict(&self) -> Verdict {
        match self {
            Failure::Local(e) => local_failure(e, ""),
            Failure::Queue(e) => {
                tracing::warn!("enqueue failed: {e}");
                if e.is_temporary() {
                    Verdict::new(451, "4.3.0", "Queueing failed, try again later")
                } else {
                    Verdict::new(550, "5.1.3", &format!("Cannot queue: {e}"))
                }
            }
            Failure::Spool(e) => {
                tracing::warn!("spooling failed: {e}");
                Verdict::new(451, "4.3.0", "Local delivery failed, try again later")
            }
        }
    }
}

/// The verdict for `address` when the local delivery failed with `e`.
fn local_failure(e: &DeliveryError, address: &str) -> Verdict {
    if let DeliveryError::OverQuota(who) = e {
        if address.is_empty() || who.eq_ignore_ascii_case(address) {
            return Verdict::new(552, "5.2.2", &format!("<{who}>: Mailbox full"));
        }
        // Another recipient's quota failed the shared delivery: this one
        // may try again.
        return Verdict::new(451, "4.2.2", "Delivery deferred, try again later");
    }
    // RFC 5321 §4.2.3 452 "insufficient system storage", RFC 3463 4.3.1
    // "mail system full": temporary, the client retries later.
    if let DeliveryError::NoSpace(why) = e {
        tracing::warn!("delivery failed: disk full: {why}");
        return Verdict::new(452, "4.3.1", "Insufficient system storage");
    }
    if e.is_temporary() {
        tracing::warn!("delivery failed: {e}");
        Verdict::new(451, "4.3.0", "Local delivery failed, try again later")
    } else {
        Verdict::new(550, "5.1.1", &format!("Delivery failed: {e}"))
    }
}
