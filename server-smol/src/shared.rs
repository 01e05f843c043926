//! What every connection shares: the configuration, the store, TLS, the
//! pipeline, limits, authentication and the metrics. Its own module, below
//! `server.rs` (which builds it) and the protocol glue (which reads it),
//! so that neither imports the other; the types it holds come from lower
//! modules only (`pop3::maildrop`, `http::ui::sessions`, `net`, `pump`).

use std::sync::Arc;

use futures_rustls::TlsAcceptor;
use maildir::Store;

use crate::config::Config;
use crate::http::ui::sessions::Sessions;
use crate::net::{PerAccountLimit, PerIpLimit};
use crate::pop3::maildrop::{MaildropLocks, WireSizes};
use crate::pump::PumpContext;

/// What every connection shares.
pub struct Shared {
    /// The configuration the server started with.
    pub config: Config,
    /// The mail store.
    pub store: Store,
    /// TLS for STARTTLS and implicit-TLS listeners.
    pub acceptor: Option<TlsAcceptor>,
    /// Every accepted message goes through it (docs/DESIGN.md §5.1).
    pub pipeline: crate::pipeline::Pipeline,
    pub(crate) per_ip: Arc<PerIpLimit>,
    /// Logins held per account.
    pub(crate) per_account: Arc<PerAccountLimit>,
    /// Login checks, penalties, the credential cache and the sessions
    /// logged in per account.
    pub auth: crate::auth::Authenticator,
    /// POP3 maildrops in use (one session each, RFC 1939 §8).
    pub(crate) maildrops: MaildropLocks,
    /// POP3 wire sizes already counted.
    pub(crate) pop3_sizes: WireSizes,
    /// What the pump of every connection needs.
    pub(crate) pump: PumpContext,
    /// Prometheus metrics (`GET /metrics`).
    pub metrics: Arc<crate::metrics::Metrics>,
    /// The API token when `[http] auth = "token"`.
    pub(crate) api_token: Option<String>,
    /// Web UI login sessions.
    pub(crate) ui_sessions: Sessions,
    /// One clone per open connection, to know when all have ended.
    pub(crate) connections: Arc<()>,
}
