//! The connection cache of the queue worker (issue 12), modelled on
//! Postfix's `smtp_connection_cache_on_demand`: messages to the same
//! destination (address, server name, TLS policy, AUTH user) queue on one
//! entry; a connection, once open, takes the next queued message after each
//! transaction instead of sending QUIT, waits at most [`IDLE_TIME`] for
//! one, and carries at most [`REUSE_LIMIT`] transactions or lives at most
//! [`MAX_AGE`] (Postfix: `smtp_connection_cache_time_limit = 2s`,
//! `smtp_connection_reuse_time_limit = 300s`).
//!
//! ```text
//! deliver(attempt, message)   queue it on the entry; open another
//!                             connection when more wait than are idle
//!                             (at most max_connections per entry)
//! connection task             one global permit (max_connections) for its
//!                             life; runs transactions until the entry is
//!                             empty for IDLE_TIME, REUSE_LIMIT or MAX_AGE;
//!                             a TCP connect failure fails every message
//!                             waiting on the entry (the worker tries the
//!                             next MX for each)
//! ```
//!
//! A connection waiting idle gives its permit up at once when another
//! destination waits for one, so idle connections never starve traffic.
//! The decisions "another connection is needed" and "this connection may
//! end" are both taken under the entry lock, so a queued message always
//! has a connection that will take it.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use event_listener::Event;
use futures_lite::FutureExt;
use smol::Executor;
use smol::channel::{Receiver, Sender};
use smol::lock::Semaphore;
use smtp_proto::client::{Envelope, Outcome};

use super::body::Body;
use super::transaction::{self, Attempt, AttemptResult, Ended, Jobs};
use crate::config::OutboundTls;

/// How long an open connection waits for the next message.
pub const IDLE_TIME: Duration = Duration::from_secs(2);
/// Transactions per connection at most.
pub const REUSE_LIMIT: usize = 100;
/// A connection takes no new message after this age.
pub const MAX_AGE: Duration = Duration::from_secs(300);

/// What makes two attempts share a connection.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
struct Destination {
    addr: SocketAddr,
    server_name: String,
    tls: OutboundTls,
    implicit_tls: bool,
    auth_user: Option<String>,
}

impl Destination {
    fn of(a: &Attempt) -> Destination {
        Destination {
            addr: a.addr,
            server_name: a.server_name.to_ascii_lowercase(),
            tls: a.tls,
            implicit_tls: a.implicit_tls,
            auth_user: a.auth.as_ref().map(|(u, _)| u.clone()),
        }
    }
}

/// One message waiting for a connection.
struct Job {
    envelope: Envelope,
    body: Body,
    reply: Sender<AttemptResult>,
}

/// The messages waiting for one destination and its connections.
struct Entry {
    tx: Sender<Job>,
    rx: Receiver<Job>,
    /// Connection tasks alive (connecting, busy or idle).
    live: usize,
    /// Connections waiting in [`Jobs::next`].
    idle: usize,
}

/// The cache (one per worker).
pub struct Pool {
    entries: Mutex<HashMap<Destination, Entry>>,
    limit: Arc<Semaphore>,
    per_destination: usize,
    executor: Arc<Executor<'static>>,
    /// Someone waits for a permit: idle connections give theirs up.
    pressure: Event,
}

impl Pool {
    /// A cache of at most `max_connections` connections in all.
    pub fn new(max_connections: usize, executor: Arc<Executor<'static>>) -> Arc<Pool> {
        let max = max_connections.max(1);
        Arc::new(Pool {
            entries: Mutex::default(),
            limit: Arc::new(Semaphore::new(max)),
            per_destination: max,
            executor,
            pressure: Event::new(),
        })
    }

    fn entries(&self) -> MutexGuard<'_, HashMap<Destination, Entry>> {
        // Counters and channels only: a panic elsewhere leaves them usable.
        self.entries.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Whether a connection to this address (MX delivery: no implicit
    /// TLS, no AUTH) with this server name and TLS policy is open or
    /// being opened.
    pub fn is_open(&self, addr: SocketAddr, server_name: &str, tls: OutboundTls) -> bool {
        let key = Destination {
            addr,
            server_name: server_name.to_ascii_lowercase(),
            tls,
            implicit_tls: false,
            auth_user: None,
        };
        self.entries().get(&key).is_some_and(|e| e.live > 0)
    }

    /// Delivers one message to `attempt`'s destination over a cached or a
    /// new connection. Never fails as a whole (as [`transaction::deliver`]).
    pub async fn deliver(
        self: &Arc<Self>,
        attempt: &Attempt,
        envelope: Envelope,
        body: Body,
    ) -> AttemptResult {
        let count = envelope.recipients.len();
        let (reply, result) = smol::channel::bounded(1);
        let key = Destination::of(attempt);
        {
            let mut entries = self.entries();
            let entry = entries.entry(key.clone()).or_insert_with(|| {
                let (tx, rx) = smol::channel::unbounded();
                Entry {
                    tx,
                    rx,
                    live: 0,
                    idle: 0,
                }
            });
            // Unbounded and the receiver lives in the entry: cannot fail.
            let _ = entry.tx.try_send(Job {
                envelope,
                body,
                reply,
            });
            if entry.rx.len() > entry.idle && entry.live < self.per_destination {
                entry.live += 1;
                let this = self.clone();
                let attempt = attempt.clone();
                self.executor
                    .spawn(async move { this.connection(key, attempt).await })
                    .detach();
            }
        }
        result.recv().await.unwrap_or_else(|_| {
            let reply = smtp_proto::Reply::new(451, "4.4.2", "delivery task ended");
            AttemptResult {
                outcomes: (0..count)
                    .map(|_| Outcome::Temporary(reply.clone()))
                    .collect(),
                tls: false,
                verified: false,
                dsn: false,
                error: Some(reply.text()),
            }
        })
    }

    /// The next job of `key` without waiting; `None` ends the task (its
    /// `live` count goes in the same locked step).
    fn take_or_leave(&self, key: &Destination) -> Option<Job> {
        let mut entries = self.entries();
        let entry = entries.get_mut(key)?;
        if let Ok(job) = entry.rx.try_recv() {
            return Some(job);
        }
        entry.live = entry.live.saturating_sub(1);
        if entry.live == 0 {
            entries.remove(key);
        }
        None
    }

    /// One connection task: connections to `key` one after the other
    /// while messages wait.
    async fn connection(self: Arc<Self>, key: Destination, attempt: Attempt) {
        let _permit = match self.limit.try_acquire_arc() {
            Some(p) => p,
            None => {
                // Idle connections elsewhere hold the permits: ask them
                // to close, then wait for one.
                let permit = self.limit.acquire_arc();
                self.pressure.notify(usize::MAX);
                permit.await
            }
        };
        while let Some(job) = self.take_or_leave(&key) {
            let mut feed = Feed {
                pool: &self,
                key: &key,
                replies: vec![job.reply],
                started: Instant::now(),
                transactions: 1,
            };
            let ended =
                transaction::run_connection(&attempt, (job.envelope, job.body), &mut feed).await;
            if let Ended::ConnectFailed(reply) = ended {
                // The address does not answer now: every message waiting
                // for it gets the same answer (the worker tries the next
                // MX) instead of another 30 s connect each.
                let waiting: Vec<Job> = {
                    let entries = self.entries();
                    entries
                        .get(&key)
                        .map(|e| std::iter::from_fn(|| e.rx.try_recv().ok()).collect())
                        .unwrap_or_default()
                };
                for job in waiting {
                    let count = job.envelope.recipients.len();
                    let _ = job.reply.try_send(AttemptResult {
                        outcomes: (0..count)
                            .map(|_| Outcome::Temporary(reply.clone()))
                            .collect(),
                        tls: false,
                        verified: false,
                        dsn: false,
                        error: Some(reply.text()),
                    });
                }
            }
        }
    }
}

/// A connection's supply of messages from its entry.
struct Feed<'a> {
    pool: &'a Arc<Pool>,
    key: &'a Destination,
    /// Where each handed-out message's result goes, in order.
    replies: Vec<Sender<AttemptResult>>,
    started: Instant,
    transactions: usize,
}

impl Feed<'_> {
    fn take(&mut self, job: Job) -> (Envelope, Body) {
        self.transactions += 1;
        self.replies.push(job.reply);
        (job.envelope, job.body)
    }
}

impl Jobs<Body> for Feed<'_> {
    async fn next(&mut self) -> Option<(Envelope, Body)> {
        if self.transactions >= REUSE_LIMIT || self.started.elapsed() >= MAX_AGE {
            return None;
        }
        let rx = {
            let mut entries = self.pool.entries();
            let entry = entries.get_mut(self.key)?;
            if let Ok(job) = entry.rx.try_recv() {
                drop(entries);
                return Some(self.take(job));
            }
            entry.idle += 1;
            entry.rx.clone()
        };
        let pressure = self.pool.pressure.listen();
        let got = async { rx.recv().await.ok() }
            .or(async {
                smol::Timer::after(IDLE_TIME).await;
                None
            })
            .or(async {
                pressure.await;
                None
            })
            .await;
        let job = {
            let mut entries = self.pool.entries();
            let entry = entries.get_mut(self.key)?;
            entry.idle = entry.idle.saturating_sub(1);
            // A message that came as the wait ended is still taken: the
            // producer counted this connection as idle.
            got.or_else(|| entry.rx.try_recv().ok())
        };
        job.map(|j| self.take(j))
    }

    fn done(&mut self, result: AttemptResult) {
        if !self.replies.is_empty() {
            let reply = self.replies.remove(0);
            let _ = reply.try_send(result);
        }
    }
}
