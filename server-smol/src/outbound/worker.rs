//! The outbound queue worker (DESIGN.md §5.2): takes due recipients from
//! the durable queue, delivers them (MX in preference order with failover,
//! or the `[outbound] smarthost`), records each outcome durably, and sends
//! the DSNs owed.
//!
//! ```text
//! loop
//!   queue_due(now)            claim due recipients, grouped per message
//!   per (message, domain)     one task: resolve → try hosts in order over
//!                             the connection cache (pool.rs: at most
//!                             `max_connections`, reused per destination)
//!                             → queue_update
//!   report                    failed/delivered rows owed a DSN, and delay
//!                             notices: the DSN is enqueued (null sender,
//!                             is_dsn) with Settle so report + removal commit
//!                             together; a DSN to a local address is then
//!                             delivered by this worker into its INBOX
//!   sleep                     until the earliest next attempt, an enqueue
//!                             (Pipeline::wake_queue), or shutdown
//! ```
//!
//! Nothing is lost on a crash: a recipient leaves the queue only in the
//! commit that records its outcome; claims are in memory, so after a
//! restart everything not settled is due again.

use std::collections::BTreeMap;
use std::io::Read;
use std::net::{SocketAddr, ToSocketAddrs};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use futures_lite::FutureExt;
use maildir::{
    Outcome, QueueEnvelope, QueueRecipient, QueuedMessage, QueuedRecipient, RecipientRef,
    RecipientState, Settle, Store,
};
use smol::Executor;
use smol::lock::Semaphore;
use smtp_proto::client::{Envelope, Outcome as SmtpOutcome, Recipient};
use smtp_proto::{BodyType, Secret};

use super::body::{self, Body};
use super::dns::Dns;
use super::dsn::{self, Action, DsnRecipient};
use super::mx::{self, MxError, Myself};
use super::pool::Pool;
use super::schedule;
use super::transaction::Attempt;
use crate::config::{Config, OutboundTls};
use crate::metrics::Metrics;
use crate::pipeline::Pipeline;

/// The longest the worker sleeps without looking at the queue: a guard
/// against a missed wake-up, not the scheduling mechanism.
const MAX_SLEEP: Duration = Duration::from_secs(60);

/// Remote deliveries under way per allowed connection (see
/// `Worker::inflight`).
const INFLIGHT_PER_CONNECTION: usize = 4;

/// How much of the original header a DSN quotes.
const MAX_HEADER: usize = 64 * 1024;

/// The worker's shared state.
struct Worker {
    pipeline: Pipeline,
    config: Config,
    store: Store,
    dns: Option<Dns>,
    myself: Myself,
    metrics: Arc<Metrics>,
    /// Bounds the local deliveries (DSNs to local senders) at once.
    limit: Arc<Semaphore>,
    /// Bounds the remote deliveries under way at once (each holds its
    /// message's body, in memory or as an open file, while it waits for a
    /// connection): a queue of 100,000 due messages must not open 100,000
    /// files. [`INFLIGHT_PER_CONNECTION`] per `max_connections`, so every
    /// connection has the next message ready when it finishes one.
    inflight: Arc<Semaphore>,
    /// The connection cache: `max_connections` in all, reused per
    /// destination.
    pool: Arc<Pool>,
    /// The MX hosts last resolved per domain, reused while the pool holds
    /// a connection to one of them (see [`Worker::mx_targets`]).
    recent_mx: std::sync::Mutex<std::collections::HashMap<String, Vec<Target>>>,
    executor: Arc<Executor<'static>>,
}

/// Domains whose MX hosts [`Worker::recent_mx`] keeps at most; beyond,
/// it starts again empty (a lookup each is all that costs).
const RECENT_MX: usize = 1024;

/// Runs the worker until `stop` closes. `listeners` are our own SMTP
/// listener addresses (never deliver to ourselves).
pub async fn run(
    pipeline: Pipeline,
    metrics: Arc<Metrics>,
    listeners: Vec<SocketAddr>,
    executor: Arc<Executor<'static>>,
    stop: smol::channel::Receiver<()>,
) {
    let config = pipeline.config().clone();
    let dns = match Dns::from_config(
        &config.outbound,
        crate::outbound::dns::Spawner::on(&executor),
    ) {
        Ok(d) => Some(d),
        Err(e) => {
            tracing::warn!("outbound: no DNS resolver: {e}");
            None
        }
    };
    let worker = Arc::new(Worker {
        store: pipeline.store().clone(),
        myself: Myself {
            names: vec![config.hostname.clone()],
            listeners,
        },
        limit: Arc::new(Semaphore::new(config.outbound.max_connections.max(1))),
        inflight: Arc::new(Semaphore::new(
            config.outbound.max_connections.max(1) * INFLIGHT_PER_CONNECTION,
        )),
        pool: Pool::new(config.outbound.max_connections, executor.clone()),
        recent_mx: std::sync::Mutex::default(),
        config,
        dns,
        metrics,
        executor,
        pipeline,
    });
    let wake = worker.pipeline.queue_wakeups();
    loop {
        let next = worker.pass().await;
        let now = now_secs();
        let sleep = match next {
            Some(t) if t <= now => Duration::from_millis(200),
            Some(t) => Duration::from_secs(u64::try_from(t - now).unwrap_or(1)).min(MAX_SLEEP),
            None => MAX_SLEEP,
        };
        let woke = async {
            let _ = wake.recv().await;
            true
        }
        .or(async {
            smol::Timer::after(sleep).await;
            true
        })
        .or(async {
            let _ = stop.recv().await;
            false
        })
        .await;
        if !woke {
            return;
        }
    }
}

impl Worker {
    /// One look at the queue: start the due deliveries, send the DSNs
    /// owed, update the queue-size gauge. Returns the earliest next attempt
    /// of an unclaimed recipient.
    async fn pass(self: &Arc<Self>) -> Option<i64> {
        let store = self.store.clone();
        let now = now_secs();
        let due = blocking::unblock(move || store.queue_due(now)).await;
        match due {
            Ok(due) => {
                for message in due {
                    for (key, group) in self.groups(&message) {
                        let this = self.clone();
                        let message = message.clone();
                        self.executor
                            .spawn(async move {
                                // Local groups: the local delivery limit;
                                // remote ones: the in-flight limit, then a
                                // connection in the pool (the global
                                // max_connections).
                                let _permit = match key {
                                    Key::Local => this.limit.acquire_arc().await,
                                    _ => this.inflight.acquire_arc().await,
                                };
                                this.deliver_group(&message, key, group).await;
                                // The outcome may owe a DSN, or make the
                                // next attempt the earliest.
                                this.pipeline.wake_queue();
                            })
                            .detach();
                    }
                }
            }
            Err(e) => tracing::warn!("outbound: queue_due failed: {e}"),
        }
        self.report().await
    }

    /// The recipients of `message` grouped by where they go: their domain
    /// (lower-case), or one group for the smarthost, or `None` for local
    /// domains (a DSN to a local sender).
    fn groups(&self, message: &QueuedMessage) -> BTreeMap<Key, Vec<QueuedRecipient>> {
        let mut groups: BTreeMap<Key, Vec<QueuedRecipient>> = BTreeMap::new();
        for r in &message.recipients {
            let domain = r
                .address
                .rsplit_once('@')
                .map(|(_, d)| d.to_ascii_lowercase())
                .unwrap_or_default();
            let key = if self.config.is_local_domain(&domain) {
                Key::Local
            } else if self.config.outbound.smarthost.is_some() {
                Key::Smarthost
            } else {
                Key::Domain(domain)
            };
            groups.entry(key).or_default().push(r.clone());
        }
        groups
    }

    /// Delivers one group and records the outcomes durably.
    async fn deliver_group(&self, message: &QueuedMessage, key: Key, group: Vec<QueuedRecipient>) {
        let results: Vec<Result<(), String>> = match &key {
            Key::Local => self.deliver_local(message, &group).await,
            Key::Smarthost => match self.smarthost_targets().await {
                Ok(targets) => self.deliver_remote(message, &group, targets).await,
                Err(e) => vec![Err(format!("451 4.4.0 {e}")); group.len()],
            },
            Key::Domain(domain) => match self.mx_targets(domain).await {
                Ok(targets) => self.deliver_remote(message, &group, targets).await,
                Err(MxError::Permanent { status, reason }) => {
                    vec![Err(format!("550 {status} {reason}")); group.len()]
                }
                Err(MxError::Temporary(why)) => {
                    vec![Err(format!("451 4.4.3 {why}")); group.len()]
                }
            },
        };
        // The schedule counts from the end of the attempt (whole seconds:
        // a retry is never in the second the attempt ended).
        let now = now_secs();
        let outcomes: Vec<(RecipientRef, Outcome)> = group
            .iter()
            .zip(results)
            .map(|(r, result)| {
                let rref = RecipientRef {
                    id: message.id,
                    index: r.index,
                };
                let outcome = match result {
                    Ok(()) => {
                        tracing::info!(queue_id = %message.id, to = %r.address, "outbound: delivered");
                        Outcome::Delivered
                    }
                    Err(e) if e.starts_with('5') => {
                        tracing::info!(queue_id = %message.id, to = %r.address, error = %e, "outbound: failed");
                        Outcome::Failed { error: e }
                    }
                    Err(e) => {
                        let o = schedule::temporary_failure(
                            &self.config.outbound,
                            message.created,
                            r.attempts,
                            now,
                            &e,
                        );
                        tracing::info!(queue_id = %message.id, to = %r.address, error = %e, "outbound: deferred");
                        o
                    }
                };
                (rref, outcome)
            })
            .collect();
        let store = self.store.clone();
        let refs: Vec<RecipientRef> = outcomes.iter().map(|(r, _)| *r).collect();
        if let Err(e) = blocking::unblock(move || store.queue_update(&outcomes)).await {
            tracing::warn!("outbound: queue_update failed: {e}");
            self.store.queue_release(&refs);
        }
    }

    /// `[outbound] smarthost`: `smtp://host:port` (STARTTLS required) or
    /// `smtps://host:port` (implicit TLS, RFC 8314).
    async fn smarthost_targets(&self) -> Result<Vec<Target>, String> {
        let url = self.config.outbound.smarthost.clone().unwrap_or_default();
        let (implicit, rest, default_port) = if let Some(r) = url.strip_prefix("smtps://") {
            (true, r, 465)
        } else if let Some(r) = url.strip_prefix("smtp://") {
            (false, r, 587)
        } else {
            return Err(format!("smarthost {url:?} is not smtp:// or smtps://"));
        };
        let rest = rest.trim_end_matches('/');
        let (host, port) = match rest.rsplit_once(':') {
            Some((h, p)) if !h.ends_with(']') || h.starts_with('[') => (
                h.trim_start_matches('[').trim_end_matches(']').to_owned(),
                p.parse::<u16>()
                    .map_err(|_| format!("smarthost port in {url:?}"))?,
            ),
            _ => (rest.to_owned(), default_port),
        };
        let lookup = host.clone();
        let addrs: Vec<SocketAddr> =
            blocking::unblock(move || (lookup.as_str(), port).to_socket_addrs())
                .await
                .map_err(|e| format!("smarthost {host}: {e}"))?
                .collect();
        let auth = match (
            &self.config.outbound.smarthost_user,
            &self.config.outbound.smarthost_password,
        ) {
            (Some(u), Some(p)) => Some((u.clone(), Secret::new(p.clone()))),
            _ => None,
        };
        Ok(addrs
            .into_iter()
            .map(|addr| Target {
                addr,
                name: host.clone(),
                tls: OutboundTls::Required,
                implicit_tls: implicit,
                auth: auth.clone(),
            })
            .collect())
    }

    /// The MX hosts of `domain`, best first, every address of each.
    ///
    /// While the connection cache holds a connection to one of the hosts
    /// this domain resolved to last time, that list is used again without
    /// a lookup: Postfix's SMTP client looks a cached connection up by its
    /// next-hop domain before it asks the DNS (CONNECTION_CACHE_README,
    /// "Connection cache implementation"), so a busy destination is not
    /// resolved once per message. Connections live [`super::pool::IDLE_TIME`]
    /// after their last message, so a changed MX is seen at most that long
    /// after the traffic to the old one stops. Under a load of 5 KB
    /// messages to one domain the lookups were 5 % of the server's CPU
    /// (dnsmasq answers with TTL 0, so nothing else caches them).
    async fn mx_targets(&self, domain: &str) -> Result<Vec<Target>, MxError> {
        let Some(dns) = &self.dns else {
            return Err(MxError::Temporary("no DNS resolver configured".into()));
        };
        let key = domain.trim_end_matches('.').to_ascii_lowercase();
        let cached = self
            .recent()
            .get(&key)
            .filter(|targets| {
                targets
                    .iter()
                    .any(|t| self.pool.is_open(t.addr, &t.name, t.tls))
            })
            .cloned();
        if let Some(targets) = cached {
            return Ok(targets);
        }
        let hosts = mx::resolve(dns, domain, self.config.outbound.mx_port, &self.myself).await?;
        let targets: Vec<Target> = hosts
            .into_iter()
            .flat_map(|h| {
                let name = h.name;
                h.addrs.into_iter().map(move |addr| Target {
                    addr,
                    name: name.clone(),
                    tls: self.config.outbound.tls,
                    implicit_tls: false,
                    auth: None,
                })
            })
            .collect();
        let mut recent = self.recent();
        if recent.len() >= RECENT_MX {
            recent.clear();
        }
        recent.insert(key, targets.clone());
        Ok(targets)
    }

    fn recent(&self) -> std::sync::MutexGuard<'_, std::collections::HashMap<String, Vec<Target>>> {
        // A map of plain values: a panic elsewhere leaves it usable.
        self.recent_mx.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Tries `targets` in order until every recipient has a final answer
    /// (2xx or 5xx); a recipient still temporary after the last keeps the
    /// last temporary error.
    async fn deliver_remote(
        &self,
        message: &QueuedMessage,
        group: &[QueuedRecipient],
        targets: Vec<Target>,
    ) -> Vec<Result<(), String>> {
        let mut results: Vec<Option<Result<(), String>>> = vec![None; group.len()];
        let mut last_temp: Vec<String> =
            vec!["451 4.4.1 no host could be tried".to_owned(); group.len()];
        let mut loaded: Option<Body> = None;
        let mut body_type = BodyType::SevenBit;
        for target in targets {
            let pending: Vec<usize> = (0..group.len()).filter(|&i| results[i].is_none()).collect();
            if pending.is_empty() {
                break;
            }
            // One blocking call opens, scans and (if small) reads the
            // message; a failover to the next host reuses what it read.
            let body = match loaded.as_ref().and_then(Body::again) {
                Some(b) => b,
                None => {
                    let store = self.store.clone();
                    let id = message.id;
                    match blocking::unblock(move || body::load(&store, id)).await {
                        Ok((t, b)) => {
                            body_type = t;
                            b
                        }
                        Err(e) => {
                            return vec![
                                Err(format!(
                                    "451 4.3.0 cannot read the queued message: {e}"
                                ));
                                group.len()
                            ];
                        }
                    }
                }
            };
            if loaded.is_none() {
                loaded = body.again();
            }
            let envelope = Envelope {
                reverse_path: message.sender.clone(),
                recipients: pending.iter().map(|&i| recipient(&group[i])).collect(),
                size: message.size,
                body: body_type,
                smtputf8: false,
                ret: message.ret.map(|r| match r {
                    maildir::Ret::Full => smtp_proto::Ret::Full,
                    maildir::Ret::Hdrs => smtp_proto::Ret::Hdrs,
                }),
                envid: message.envid.clone(),
            };
            let mut attempt = Attempt::new(
                target.addr,
                target.name.clone(),
                self.config.hostname.clone(),
            );
            attempt.tls = target.tls;
            attempt.implicit_tls = target.implicit_tls;
            attempt.auth = target.auth.clone();
            attempt.connect_timeout = Duration::from_secs(30);
            let result = self.pool.deliver(&attempt, envelope, body).await;
            if let Some(e) = &result.error {
                tracing::info!(host = %target.name, addr = %target.addr, "outbound: attempt failed: {e}");
            }
            for (k, &i) in pending.iter().enumerate() {
                match result.outcomes.get(k) {
                    Some(SmtpOutcome::Delivered(_)) => results[i] = Some(Ok(())),
                    Some(SmtpOutcome::Permanent(reply)) => {
                        results[i] = Some(Err(reply_line(reply)));
                    }
                    Some(SmtpOutcome::Temporary(reply)) => last_temp[i] = reply_line(reply),
                    None => {}
                }
            }
        }
        results
            .into_iter()
            .zip(last_temp)
            .map(|(r, temp)| r.unwrap_or(Err(temp)))
            .collect()
    }

    /// A queued message to local recipients (a DSN to a local sender):
    /// into their INBOX, durably.
    async fn deliver_local(
        &self,
        message: &QueuedMessage,
        group: &[QueuedRecipient],
    ) -> Vec<Result<(), String>> {
        let store = self.store.clone();
        let id = message.id;
        let sender = message.sender.clone();
        let addresses: Vec<String> = group.iter().map(|r| r.address.clone()).collect();
        let n = group.len();
        let result = blocking::unblock(move || -> Result<Vec<Result<(), String>>, String> {
            let mut results = vec![Ok(()); addresses.len()];
            let mut known = Vec::new();
            for (i, a) in addresses.iter().enumerate() {
                match store.user_exists(a) {
                    Ok(true) => known.push(a.clone()),
                    Ok(false) => results[i] = Err(format!("550 5.1.1 <{a}>: User unknown")),
                    Err(e) => return Err(format!("451 4.3.0 {e}")),
                }
            }
            if known.is_empty() {
                return Ok(results);
            }
            let mut file = store.queue_open(id).map_err(|e| format!("451 4.3.0 {e}"))?;
            let mut d = store
                .begin_delivery(maildir::Envelope {
                    return_path: sender,
                    recipients: known,
                    trace: Vec::new(),
                })
                .map_err(|e| format!("451 4.3.0 {e}"))?;
            let mut buf = vec![0; 64 * 1024];
            loop {
                let k = file.read(&mut buf).map_err(|e| format!("451 4.3.0 {e}"))?;
                if k == 0 {
                    break;
                }
                d.write(&buf[..k]).map_err(|e| format!("451 4.3.0 {e}"))?;
            }
            d.commit().map_err(|e| format!("451 4.3.0 {e}"))?;
            Ok(results)
        })
        .await;
        result.unwrap_or_else(|e| vec![Err(e); n])
    }

    /// Sends the DSNs owed (failed, delivered with NOTIFY=SUCCESS, delay
    /// notices) and updates the queue gauge; returns the earliest next
    /// attempt of a waiting recipient.
    async fn report(&self) -> Option<i64> {
        let store = self.store.clone();
        let list = match blocking::unblock(move || store.queue_list()).await {
            Ok(l) => l,
            Err(e) => {
                tracing::warn!("outbound: queue_list failed: {e}");
                return Some(now_secs() + 5);
            }
        };
        self.metrics
            .set_queue_size(i64::try_from(list.len()).unwrap_or(i64::MAX));
        let now = now_secs();
        let mut next: Option<i64> = None;
        for message in &list {
            for r in &message.recipients {
                if matches!(r.state, RecipientState::Queued | RecipientState::Deferred) {
                    next = Some(next.map_or(r.next_attempt, |n| n.min(r.next_attempt)));
                }
            }
            if !message.reportable() {
                continue;
            }
            for action in [Action::Failed, Action::Delivered, Action::Delayed] {
                let subjects: Vec<&QueuedRecipient> = message
                    .recipients
                    .iter()
                    .filter(|r| match action {
                        Action::Failed => r.state == RecipientState::Failed,
                        Action::Delivered => r.state == RecipientState::Delivered,
                        Action::Delayed => {
                            schedule::delay_notice_due(&self.config.outbound, message, r, now)
                        }
                    })
                    .collect();
                if !subjects.is_empty() {
                    self.send_dsn(message, action, &subjects).await;
                }
            }
        }
        next
    }

    /// Enqueues one DSN about `subjects` to the message's sender, settling
    /// them in the same commit.
    async fn send_dsn(
        &self,
        message: &QueuedMessage,
        action: Action,
        subjects: &[&QueuedRecipient],
    ) {
        let Some(sender) = message.sender.clone() else {
            return;
        };
        let recipients: Vec<DsnRecipient> = subjects
            .iter()
            .map(|r| {
                let (status, diagnostic) = match action {
                    Action::Delivered => ("2.0.0".to_owned(), String::new()),
                    _ => (
                        status_of(&r.last_error, action),
                        format!("smtp; {}", r.last_error),
                    ),
                };
                DsnRecipient {
                    action,
                    orcpt: r.orcpt.clone(),
                    address: r.address.clone(),
                    status,
                    diagnostic,
                }
            })
            .collect();
        let settles: Vec<Settle> = subjects
            .iter()
            .map(|r| {
                let rref = RecipientRef {
                    id: message.id,
                    index: r.index,
                };
                if action == Action::Delayed {
                    Settle::DelayReported(rref)
                } else {
                    Settle::Reported(rref)
                }
            })
            .collect();
        let store = self.store.clone();
        let id = message.id;
        let hostname = self.config.hostname.clone();
        let envid = message.envid.clone();
        let created = message.created;
        let result = blocking::unblock(move || -> Result<maildir::QueueId, String> {
            let header = read_header(&store, id).unwrap_or_default();
            let bytes = dsn::build(&dsn::Report {
                reporting_mta: &hostname,
                original_sender: &sender,
                recipients: &recipients,
                original_headers: &header,
                arrival: UNIX_EPOCH + Duration::from_secs(u64::try_from(created).unwrap_or(0)),
                envid: envid.as_deref(),
            });
            let mut q = store
                .begin_enqueue(QueueEnvelope {
                    sender: None,
                    envid: None,
                    ret: None,
                    is_dsn: true,
                    recipients: vec![QueueRecipient::new(sender)],
                    settles,
                })
                .map_err(|e| e.to_string())?;
            q.write(&bytes).map_err(|e| e.to_string())?;
            q.commit().map_err(|e| e.to_string())
        })
        .await;
        match result {
            Ok(dsn_id) => {
                tracing::info!(queue_id = %message.id, dsn = %dsn_id, action = action.as_str(), "outbound: DSN queued");
                if action == Action::Failed {
                    for _ in subjects {
                        self.metrics.message_bounced("outbound");
                    }
                }
                self.pipeline.wake_queue();
            }
            Err(e) => tracing::warn!(queue_id = %message.id, "outbound: DSN not queued: {e}"),
        }
    }
}

/// Where a group goes.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Key {
    /// A local domain: delivered into the store.
    Local,
    /// The smarthost.
    Smarthost,
    /// This domain's MX.
    Domain(String),
}

/// One address to try.
#[derive(Debug, Clone)]
struct Target {
    addr: SocketAddr,
    name: String,
    tls: OutboundTls,
    implicit_tls: bool,
    auth: Option<(String, Secret<String>)>,
}

/// The client-side recipient with its RFC 3461 parameters.
fn recipient(r: &QueuedRecipient) -> Recipient {
    let notify = r.notify.map(|n| {
        let mut list = Vec::new();
        if n.success {
            list.push(smtp_proto::Notify::Success);
        }
        if n.failure {
            list.push(smtp_proto::Notify::Failure);
        }
        if n.delay {
            list.push(smtp_proto::Notify::Delay);
        }
        if list.is_empty() {
            list.push(smtp_proto::Notify::Never);
        }
        list
    });
    Recipient {
        forward_path: r.address.clone(),
        notify,
        orcpt: r.orcpt.clone(),
    }
}

/// `550 5.1.1 text` on one line.
fn reply_line(reply: &smtp_proto::Reply) -> String {
    let text = reply.text().replace(['\r', '\n'], " ");
    match &reply.enhanced {
        Some(e) => format!("{} {} {}", reply.code, e, text),
        None => format!("{} {}", reply.code, text),
    }
}

/// The enhanced status code in `error` (`550 5.1.1 ...`), else a generic one.
fn status_of(error: &str, action: Action) -> String {
    let code = error.split(' ').nth(1).unwrap_or("");
    let ok = code.split('.').count() == 3 && code.split('.').all(|p| p.parse::<u16>().is_ok());
    let class = if action == Action::Delayed { '4' } else { '5' };
    if ok && code.starts_with(class) {
        code.to_owned()
    } else {
        format!("{class}.0.0")
    }
}

/// The header section of a queued message (trace fields included).
fn read_header(store: &Store, id: maildir::QueueId) -> std::io::Result<Vec<u8>> {
    let f = store.queue_open(id).map_err(std::io::Error::other)?;
    let mut head = Vec::new();
    f.take(MAX_HEADER as u64).read_to_end(&mut head)?;
    if let Some(end) = head.windows(4).position(|w| w == b"\r\n\r\n") {
        head.truncate(end + 2);
    }
    Ok(head)
}

fn now_secs() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}
