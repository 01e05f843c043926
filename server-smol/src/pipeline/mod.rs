//! The delivery pipeline (docs/DESIGN.md §5.1): one path for every accepted
//! message, whatever its source (SMTP, submission, LMTP, the HTTP API,
//! fixtures): checks → rules → routes → handlers, per recipient.
//!
//! The protocol glue holds no delivery logic. It asks the pipeline about
//! each recipient, streams the body in, and gets one [`Verdict`] per
//! accepted recipient back:
//!
//! ```text
//! pipeline.recipient(&origin, sender, rcpt)   at RCPT TO: [[rules]], then
//!                                             [[routes]] / the default route
//!   -> Rcpt::Refuse(verdict)                  send it (5xx/4xx), forget the rcpt
//!   -> Rcpt::Accept(recipient)                send 250, keep `recipient`
//! let mut msg = pipeline.begin(origin, sender, recipients, trace)
//! msg.write(chunk).await ...                  the body, streamed (never whole
//!                                             in memory): to the local Maildir
//!                                             file, and to a spool file when a
//!                                             named handler or a bounce needs it
//! msg.finish().await -> Vec<Verdict>          [hooks] pre_receive, then every
//!                                             handler of every recipient; one
//!                                             verdict per recipient, in order
//! ```
//!
//! The reply (SMTP 250, LMTP's per-recipient replies, the API's 201/202)
//! must be sent only after `finish` returned, because only then has every
//! handler durably taken the message: local = the store's durability rule,
//! redis = the RPUSH answered, webhook = a committed outbox entry (the
//! outbox then POSTs with retries, see [`webhook`]).
//!
//! For sources that have the whole envelope up front (the HTTP API's
//! `POST /api/v1/messages` and `/api/v1/send`, fixtures) there is
//! [`Pipeline::deliver`]: envelope + a stream of body chunks in, one
//! [`RecipientResult`] per recipient out.
//!
//! When handlers of one message disagree (local took it, Redis was down),
//! SMTP's single reply is the failure: a retry may duplicate the message
//! for the recipients that succeeded, but nothing acknowledged is lost.

use std::net::IpAddr;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use futures_lite::{Stream, StreamExt};
use maildir::Store;

use crate::config::Config;

mod handlers;
mod hook;
mod http_client;
mod json;
mod message;
mod redis;
pub mod rules;
mod submission;
pub mod webhook;

pub use message::Message;
pub(crate) use submission::missing_submission_fields;

/// Where a message comes from; decides which policy applies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// `[smtp]`: MX-style receiving.
    Smtp,
    /// `[submission]`: authenticated clients.
    Submission,
    /// `[lmtp]`: an MTA in front (RFC 2033); local recipients only.
    Lmtp,
    /// The HTTP API (`POST /api/v1/messages`, `/api/v1/send`).
    Api,
    /// Fixtures loaded at start or on reset.
    Fixture,
}

/// Who hands the message in: the source and what the session knows.
#[derive(Debug, Clone)]
pub struct Origin {
    /// The listener or API.
    pub source: Source,
    /// The authenticated user (SMTP AUTH), if any.
    pub authenticated: Option<String>,
    /// The HELO/EHLO/LHLO name, if any.
    pub helo: Option<String>,
    /// The client's address, if it came over a socket.
    pub client_ip: Option<IpAddr>,
}

impl Origin {
    /// An origin without a session (API, fixtures).
    pub fn local(source: Source) -> Origin {
        Origin {
            source,
            authenticated: None,
            helo: None,
            client_ip: None,
        }
    }

    /// May send to any domain (authenticated, or the API).
    fn may_relay(&self) -> bool {
        self.authenticated.is_some() || self.source == Source::Api
    }
}

/// An SMTP-shaped result: reply code, enhanced status code (RFC 3463) and
/// text. 2xx = taken, 4xx = try again later, 5xx = refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    /// The reply code.
    pub code: u16,
    /// The enhanced status code, `X.Y.Z`.
    pub status: String,
    /// Human-readable text.
    pub text: String,
}

impl Verdict {
    /// A verdict from its parts.
    pub fn new(code: u16, status: &str, text: &str) -> Verdict {
        Verdict {
            code,
            status: status.to_owned(),
            text: text.to_owned(),
        }
    }

    /// `250 2.0.0 OK`.
    pub fn ok() -> Verdict {
        Verdict::new(250, "2.0.0", "OK")
    }

    /// A 2xx.
    pub fn is_positive(&self) -> bool {
        (200..300).contains(&self.code)
    }

    /// A 4xx.
    pub fn is_temporary(&self) -> bool {
        (400..500).contains(&self.code)
    }

    /// The SMTP reply.
    pub fn to_reply(&self) -> smtp_proto::Reply {
        smtp_proto::Reply::new(self.code, &self.status, &self.text)
    }

    /// The verdict of several: the first temporary failure, else the first
    /// permanent one, else the first (a success).
    pub fn worst<'a>(verdicts: impl IntoIterator<Item = &'a Verdict>) -> Option<&'a Verdict> {
        let mut first = None;
        let mut permanent = None;
        for v in verdicts {
            first.get_or_insert(v);
            if v.is_temporary() {
                return Some(v);
            }
            if !v.is_positive() && permanent.is_none() {
                permanent = Some(v);
            }
        }
        permanent.or(first)
    }
}

/// Where one recipient's copy goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Target {
    /// The recipient's INBOX.
    Local,
    /// A `[handlers.NAME]`.
    Handler(String),
    /// A DSN to the sender quoting this verdict (`[[rules]] action = "bounce"`).
    Bounce(Verdict),
    /// The outbound queue (DESIGN.md §5.2): the worker delivers it to the
    /// domain's MX or the smarthost.
    Outbound,
}

/// A recipient the pipeline accepted at RCPT time, with its targets
/// (none: discarded).
#[derive(Debug, Clone)]
pub struct Recipient {
    /// The address as given (or `postmaster@<local domain>` for a bare
    /// `postmaster`).
    pub address: String,
    pub(crate) targets: Vec<Target>,
    /// RFC 3461 `NOTIFY=` (`None`: not given).
    pub notify: Option<maildir::Notify>,
    /// RFC 3461 `ORCPT=` as received.
    pub orcpt: Option<String>,
}

impl Recipient {
    /// Sets the RFC 3461 parameters of the RCPT command, which a queued
    /// recipient keeps for its DSN and the next hop.
    pub fn set_dsn(&mut self, params: &smtp_proto::RcptParams) {
        self.notify = params.notify.as_ref().map(|list| {
            let has = |n: smtp_proto::Notify| list.contains(&n);
            maildir::Notify {
                success: has(smtp_proto::Notify::Success),
                failure: has(smtp_proto::Notify::Failure),
                delay: has(smtp_proto::Notify::Delay),
            }
        });
        self.orcpt = params.orcpt.clone();
    }
}

/// The pipeline's answer at RCPT time.
#[derive(Debug)]
pub enum Rcpt {
    /// Accepted: reply 250 and keep it for [`Pipeline::begin`].
    Accept(Recipient),
    /// Refused with this verdict.
    Refuse(Verdict),
}

/// One recipient's result from [`Pipeline::deliver`].
#[derive(Debug, Clone)]
pub struct RecipientResult {
    /// The recipient as given.
    pub address: String,
    /// Taken (2xx), or why not.
    pub verdict: Verdict,
}

/// The envelope [`Pipeline::deliver`] takes.
#[derive(Debug, Clone)]
pub struct Envelope {
    /// Who hands it in.
    pub origin: Origin,
    /// The reverse-path; `None` is the null sender `<>`.
    pub sender: Option<String>,
    /// Recipients, in order.
    pub recipients: Vec<String>,
    /// Trace fields to put in front of the body (a `Received:` line,
    /// CRLF-terminated), or empty (API and fixtures store byte-exact).
    pub trace: Vec<u8>,
}

/// The pipeline, cheap to clone.
#[derive(Clone)]
pub struct Pipeline {
    pub(crate) inner: Arc<Inner>,
}

pub(crate) struct Inner {
    pub(crate) config: Config,
    pub(crate) store: Store,
    /// Wakes the webhook outbox worker after new entries were committed.
    pub(crate) outbox_wake: smol::channel::Sender<()>,
    /// Wakes the outbound queue worker after a message was queued
    /// (capacity 1: one pending wake-up is enough, the worker then looks
    /// at everything due).
    pub(crate) queue_wake: (smol::channel::Sender<()>, smol::channel::Receiver<()>),
    /// DKIM keys of the local domains, loaded on first use.
    pub(crate) signer: crate::outbound::dkim::Signer,
    /// The resolver for the checks on receipt (`[outbound] resolvers`);
    /// `None` when it cannot be set up (then no checks run, logged).
    pub(crate) dns: Option<crate::outbound::dns::Dns>,
}

impl Pipeline {
    /// A pipeline over `store` with `config`'s rules, routes, handlers and
    /// hooks; and the receiver the webhook outbox worker waits on
    /// ([`webhook::run_outbox`]).
    /// Spool files left by a crash (no message is in flight at start) are
    /// removed here.
    /// The checks' resolver runs its tasks on `spawner` (the server's
    /// executor, `outbound::dns::Spawner`).
    pub fn new(
        config: Config,
        store: Store,
        spawner: crate::outbound::dns::Spawner,
    ) -> (Pipeline, smol::channel::Receiver<()>) {
        if let Ok(entries) = std::fs::read_dir(config.data_dir.join("spool")) {
            for entry in entries.flatten() {
                let _ = std::fs::remove_file(entry.path());
            }
        }
        let (outbox_wake, wake_rx) = smol::channel::bounded(1);
        let checks = &config.checks;
        let dns = if checks.spf || checks.dkim || checks.dmarc {
            crate::outbound::dns::Dns::from_config(&config.outbound, spawner)
                .map_err(|e| tracing::warn!("checks on receipt disabled: no resolver: {e}"))
                .ok()
        } else {
            None
        };
        let inner = Inner {
            dns,
            signer: crate::outbound::dkim::Signer::new(&config),
            config,
            store,
            outbox_wake,
            queue_wake: smol::channel::bounded(1),
        };
        (
            Pipeline {
                inner: Arc::new(inner),
            },
            wake_rx,
        )
    }

    /// Decides one recipient at RCPT time: `[[rules]]` first (first match
    /// wins), then the route (`[[routes]]`, else `local` for local domains
    /// and `outbound` for others when the origin may relay).
    pub async fn recipient(&self, origin: &Origin, sender: Option<&str>, rcpt: &str) -> Rcpt {
        let config = &self.inner.config;
        let catch_all = config.testing.catch_all;
        let Some((local, domain)) = rcpt.rsplit_once('@') else {
            // RFC 5321 §4.5.1 requires "postmaster" without a domain; it is
            // accepted when a postmaster account exists in a local domain.
            if rcpt.eq_ignore_ascii_case("postmaster")
                && let Some(address) = self.postmaster().await
            {
                return Rcpt::Accept(Recipient {
                    address,
                    targets: vec![Target::Local],
                    notify: None,
                    orcpt: None,
                });
            }
            return Rcpt::Refuse(Verdict::new(550, "5.1.3", "Bad recipient address syntax"));
        };
        if local.is_empty() || domain.is_empty() {
            return Rcpt::Refuse(Verdict::new(550, "5.1.3", "Bad recipient address syntax"));
        }
        let mut targets = Vec::new();
        match rules::evaluate(&config.rules, sender.unwrap_or(""), rcpt, fastrand::f64) {
            rules::RuleOutcome::Refuse(v) => return Rcpt::Refuse(v),
            rules::RuleOutcome::Discard => {
                return Rcpt::Accept(Recipient {
                    address: rcpt.to_owned(),
                    targets,
                    notify: None,
                    orcpt: None,
                });
            }
            rules::RuleOutcome::Bounce(v) => {
                return Rcpt::Accept(Recipient {
                    address: rcpt.to_owned(),
                    targets: vec![Target::Bounce(v)],
                    notify: None,
                    orcpt: None,
                });
            }
            rules::RuleOutcome::Continue => {}
        }
        let is_local_domain = config.is_local_domain(domain);
        let route = config.routes.iter().find(|r| {
            r.recipient
                .as_deref()
                .is_none_or(|g| rules::glob_match(g, rcpt))
        });
        let names: Vec<&str> = match route {
            Some(route) => route.to.iter().map(String::as_str).collect(),
            None if is_local_domain || catch_all => vec!["local"],
            None if origin.source == Source::Lmtp => {
                return Rcpt::Refuse(Verdict::new(
                    550,
                    "5.1.2",
                    &format!("<{rcpt}>: Recipient domain is not local"),
                ));
            }
            None if origin.may_relay() => vec!["outbound"],
            None => {
                return Rcpt::Refuse(Verdict::new(
                    554,
                    "5.7.1",
                    &format!("<{rcpt}>: Relay access denied"),
                ));
            }
        };
        for name in names {
            match name {
                "discard" => {}
                // catch_all delivers locally, never outbound (§5.6).
                "local" | "outbound" if catch_all => targets.push(Target::Local),
                "local" => targets.push(Target::Local),
                "outbound" => targets.push(Target::Outbound),
                handler => targets.push(Target::Handler(handler.to_owned())),
            }
        }
        targets.dedup();
        if targets.contains(&Target::Local) && maildir::Address::parse(rcpt).is_err() {
            // No account can ever have this address (a local part over 64
            // octets, quoted, with `/`, `..`, ...): a permanent answer, so
            // the sender does not retry for days.
            return Rcpt::Refuse(Verdict::new(
                550,
                "5.1.1",
                &format!("<{rcpt}>: Recipient address rejected: User unknown"),
            ));
        }
        if targets.contains(&Target::Local) && !catch_all {
            // Inline on the executor, not on the blocking pool: one read
            // transaction on the accounts table, whose few pages stay in
            // redb's cache, costs less than the two thread hand-offs
            // (a wake-up each way) it took per RCPT.
            match self.inner.store.user_exists(rcpt) {
                Ok(true) => {}
                Ok(false) => {
                    return Rcpt::Refuse(Verdict::new(
                        550,
                        "5.1.1",
                        &format!("<{rcpt}>: Recipient address rejected: User unknown"),
                    ));
                }
                Err(e) => {
                    tracing::warn!("recipient lookup failed: {e}");
                    return Rcpt::Refuse(Verdict::new(451, "4.3.0", "Temporary lookup failure"));
                }
            }
        }
        Rcpt::Accept(Recipient {
            address: rcpt.to_owned(),
            targets,
            notify: None,
            orcpt: None,
        })
    }

    /// The configuration the pipeline runs with.
    pub fn config(&self) -> &Config {
        &self.inner.config
    }

    /// The store it delivers and queues into.
    pub fn store(&self) -> &Store {
        &self.inner.store
    }

    /// The receiver the outbound worker waits on: a message arrives on
    /// every enqueue (coalesced).
    pub fn queue_wakeups(&self) -> smol::channel::Receiver<()> {
        self.inner.queue_wake.1.clone()
    }

    /// Tells the outbound worker to look at the queue again (after an
    /// enqueue or `queue retry`).
    pub fn wake_queue(&self) {
        let _ = self.inner.queue_wake.0.try_send(());
    }

    /// The `DKIM-Signature:` field for `message` from `sender_domain`, when
    /// that domain is local and `[dkim] sign` is on (blocking: call it on
    /// the blocking pool). A failure is logged and the mail goes unsigned.
    pub fn dkim_signature(&self, sender_domain: &str, message: &[u8]) -> Option<String> {
        match self.inner.signer.sign(sender_domain, message) {
            Ok(s) => s,
            Err(e) => {
                tracing::warn!(domain = sender_domain, "DKIM signing failed: {e}");
                None
            }
        }
    }

    /// The first `postmaster@<local domain>` account, if any.
    async fn postmaster(&self) -> Option<String> {
        for domain in &self.inner.config.domains {
            let addr = format!("postmaster@{domain}");
            let store = self.inner.store.clone();
            let probe = addr.clone();
            if let Ok(true) = blocking::unblock(move || store.user_exists(&probe)).await {
                return Some(addr);
            }
        }
        None
    }

    /// Starts a message for recipients accepted by [`Pipeline::recipient`].
    /// `trace` goes in front of the body (CRLF-terminated lines).
    pub fn begin(
        &self,
        origin: Origin,
        sender: Option<String>,
        recipients: Vec<Recipient>,
        trace: Vec<u8>,
    ) -> Message {
        Message::new(self.clone(), origin, sender, recipients, trace)
    }

    /// Delivers a whole message for a source that has its envelope up
    /// front (the HTTP API, fixtures): every recipient through the rules
    /// and routes, then the body streamed from `body` to every handler.
    /// One result per recipient, in order; 2xx means durably taken.
    pub async fn deliver<S>(&self, envelope: Envelope, mut body: S) -> Vec<RecipientResult>
    where
        S: Stream<Item = Bytes> + Unpin,
    {
        let mut results: Vec<Option<Verdict>> = Vec::new();
        let mut accepted = Vec::new();
        for rcpt in &envelope.recipients {
            match self
                .recipient(&envelope.origin, envelope.sender.as_deref(), rcpt)
                .await
            {
                Rcpt::Accept(r) => {
                    accepted.push(r);
                    results.push(None);
                }
                Rcpt::Refuse(v) => results.push(Some(v)),
            }
        }
        let mut verdicts = if accepted.is_empty() {
            Vec::new().into_iter()
        } else {
            let mut message = self.begin(
                envelope.origin.clone(),
                envelope.sender.clone(),
                accepted,
                envelope.trace.clone(),
            );
            while let Some(chunk) = body.next().await {
                message.write(&chunk).await;
            }
            message.finish().await.into_iter()
        };
        envelope
            .recipients
            .iter()
            .zip(results)
            .map(|(address, refused)| RecipientResult {
                address: address.clone(),
                verdict: refused
                    .or_else(|| verdicts.next())
                    .unwrap_or_else(|| Verdict::new(451, "4.3.0", "No verdict")),
            })
            .collect()
    }
}

/// The header section a message keeps for the pre-receive hook and bounces
/// (`message.rs`) and the submission fields look at (`submission.rs`):
/// enough for any real header, bounded against a peer that never ends it.
const MAX_HEADER: usize = 64 * 1024;

/// Milliseconds since the Unix epoch (queue, outbox and handler times).
pub(crate) fn unix_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The entry point the HTTP API uses: per-recipient results, the body
    /// taken from a chunk stream.
    #[test]
    fn deliver_gives_one_result_per_recipient() {
        let dir = tempfile::tempdir().unwrap();
        let config = Config {
            data_dir: dir.path().to_path_buf(),
            domains: vec!["localhost".into()],
            ..Config::default()
        };
        let store = Store::open(maildir::StoreConfig {
            data_dir: config.data_dir.clone(),
            hostname: "h".into(),
            password_hashing: Default::default(),
        })
        .unwrap();
        store.add_user("alice@localhost", "pw").unwrap();
        let (pipeline, _wake) = Pipeline::new(config, store.clone(), Default::default());
        let envelope = Envelope {
            origin: Origin::local(Source::Api),
            sender: Some("s@example.org".into()),
            recipients: vec![
                "alice@localhost".into(),
                "nobody@localhost".into(),
                "x@example.com".into(),
            ],
            trace: Vec::new(),
        };
        let body = futures_lite::stream::iter(vec![
            Bytes::from_static(b"Subject: a\r\n\r\n"),
            Bytes::from_static(b"b\r\n"),
        ]);
        let results = smol::block_on(pipeline.deliver(envelope, body));
        let codes: Vec<(u16, &str)> = results
            .iter()
            .map(|r| (r.verdict.code, r.verdict.status.as_str()))
            .collect();
        assert_eq!(codes, [(250, "2.0.0"), (550, "5.1.1"), (250, "2.0.0")]);
        assert_eq!(store.queue_list().unwrap().len(), 1);
        assert_eq!(results[1].address, "nobody@localhost");
        let info = store
            .message("alice@localhost", "INBOX", 1)
            .unwrap()
            .unwrap();
        assert_eq!(
            std::fs::read(info.path).unwrap(),
            b"Return-Path: <s@example.org>\r\nSubject: a\r\n\r\nb\r\n"
        );
    }
}
