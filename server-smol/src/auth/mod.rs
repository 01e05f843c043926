//! Logins for every protocol: the per-source penalty, the verified-
//! credential cache, fair queuing of argon2 checks, and the registry that
//! ends an account's sessions when it is deleted or its password changes.
//!
//! One login, in order:
//! 1. take a [`LoginTicket`] for the address (so a concurrent `user del`
//!    reaches this session even before it is logged in);
//! 2. a password found in the [`CredentialCache`] succeeds at once;
//! 3. otherwise wait out the source's [`Penalty`], then queue the argon2
//!    check fairly ([`verifier`]): sources without recent failures
//!    first, one check per source in turn;
//! 4. on success cache the credential and forget the source's failures; on
//!    failure record one, move the source's other queued checks behind the
//!    clean sources, and pause `failure_delay_ms` before answering.
//!
//! A cached credential skips the penalty: it proves the password is right,
//! and the penalty exists to slow down guessing, which the cache does not
//! help (a wrong password is never found in it).

mod cache;
mod penalty;
mod sessions;
pub mod verifier;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_lite::FutureExt;

pub use cache::CredentialCache;
pub use penalty::Penalty;
pub use sessions::{LoginTicket, Logins};
pub use verifier::PasswordChecker;

use crate::config::AuthConfig;
use crate::net::source_key;
use verifier::Class;

/// Logs a completed login of `protocol` (the `<protocol> login` line).
pub fn log_login(protocol: &'static str, peer: &SocketAddr, username: &str) {
    tracing::info!(peer = %peer, user = %username, "{protocol} login");
}

/// Checks logins and keeps track of logged-in sessions.
pub struct Authenticator {
    checker: PasswordChecker,
    penalty: Penalty,
    cache: CredentialCache,
    logins: Arc<Logins>,
    failure_delay: Duration,
    /// Closed when the server shuts down: pending penalties and failure
    /// pauses end at once then, so they cannot hold up the drain.
    shutdown: smol::channel::Receiver<()>,
    /// Logins ok/failed for `/metrics`.
    metrics: Arc<crate::metrics::Metrics>,
}

impl Authenticator {
    /// Login checks against `checker` with the `[auth]` settings; waits end
    /// early when `shutdown` closes.
    pub fn new(
        checker: PasswordChecker,
        config: &AuthConfig,
        shutdown: smol::channel::Receiver<()>,
        metrics: Arc<crate::metrics::Metrics>,
    ) -> Self {
        let failure_delay = Duration::from_millis(config.failure_delay_ms);
        Authenticator {
            metrics,
            checker,
            penalty: Penalty::new(failure_delay, Duration::from_millis(config.penalty_max_ms)),
            cache: CredentialCache::new(Duration::from_millis(config.cache_ttl_ms)),
            logins: Arc::new(Logins::default()),
            failure_delay,
            shutdown,
        }
    }

    /// Sleeps for `wait`; false when the server began shutting down first.
    async fn pause(&self, wait: Duration) -> bool {
        if wait.is_zero() {
            return true;
        }
        async {
            async_io::Timer::after(wait).await;
            true
        }
        .or(async {
            let _ = self.shutdown.recv().await;
            false
        })
        .await
    }

    /// Checks `password` for `address` from a client at `peer`. On success
    /// the ticket keeps the session registered until it is dropped; `None`
    /// after the failure pause.
    pub async fn login(
        &self,
        peer: &SocketAddr,
        address: &str,
        password: &str,
    ) -> Option<LoginTicket> {
        let ticket = self.logins.register(address);
        let source = source_key(peer.ip());
        if self.cache.check(address, password, Instant::now()) {
            self.penalty.succeeded(source);
            self.metrics.login(true);
            return Some(ticket);
        }
        let wait = self.penalty.delay(source, Instant::now());
        if !wait.is_zero() {
            tracing::debug!(%peer, wait_ms = u64::try_from(wait.as_millis()).unwrap_or(u64::MAX), "login penalty");
        }
        if !self.pause(wait).await {
            return None;
        }
        let epoch = self.cache.epoch();
        let class = if self.penalty.failures(source, Instant::now()) > 0 {
            Class::Suspect
        } else {
            Class::Clean
        };
        // A check still queued at shutdown is abandoned (its connection
        // is about to close anyway).
        let check = self
            .checker
            .verify_from(Some(source), class, address, password);
        let ok = async { Some(check.await) }
            .or(async {
                let _ = self.shutdown.recv().await;
                None
            })
            .await?;
        // Deleted or changed while we checked: the old password is no
        // longer the account's.
        if ok && !ticket.is_revoked() {
            self.cache.insert(address, password, epoch, Instant::now());
            self.penalty.succeeded(source);
            self.metrics.login(true);
            return Some(ticket);
        }
        self.metrics.login(false);
        self.penalty.failed(source, Instant::now());
        self.checker.demote(Some(source));
        self.pause(self.failure_delay).await;
        None
    }

    /// One login of any protocol's glue, the same everywhere: the RFC 4616
    /// §2 authorization-identity check (acting as another identity is not
    /// supported, so a non-empty `authzid` other than `username` is
    /// refused), the password check with its penalty and failure pause
    /// ([`Authenticator::login`]), and the `<protocol> login failed` log
    /// line. The glue logs success with [`log_login`] once its own steps
    /// (maildrop lock, change subscription) succeeded too.
    pub async fn authenticate(
        &self,
        protocol: &'static str,
        peer: &SocketAddr,
        authzid: Option<&str>,
        username: &str,
        password: &str,
    ) -> Option<LoginTicket> {
        let ticket = if authzid.is_none_or(|z| z.is_empty() || z == username) {
            self.login(peer, username, password).await
        } else {
            self.refuse(peer).await;
            None
        };
        if ticket.is_none() {
            tracing::info!(peer = %peer, user = %username, "{protocol} login failed");
        }
        ticket
    }

    /// A login refused before any password check (RFC 4616 §2: acting as
    /// another identity is not supported): counts as a failure of `peer`'s
    /// source and takes the failure pause, like a wrong password.
    pub async fn refuse(&self, peer: &SocketAddr) {
        self.metrics.login(false);
        self.penalty.failed(source_key(peer.ip()), Instant::now());
        self.pause(self.failure_delay).await;
    }

    /// The account at `address` was deleted or its password changed:
    /// forget its cached credential and end its sessions. Every way of
    /// changing accounts in a running server must call this (the control
    /// socket does; so must an HTTP API).
    pub fn account_changed(&self, address: &str) {
        self.cache.invalidate(address);
        let ended = self.logins.revoke(address);
        if ended > 0 {
            tracing::info!(user = %address, sessions = ended, "account changed: ending its sessions");
        }
    }
}
