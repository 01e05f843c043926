//! Outbound delivery (docs/DESIGN.md §5.2): DNS and MX resolution, one delivery
//! attempt over a socket ([`transaction`]), the connection cache
//! ([`pool`]), DKIM signing, DSNs, the retry
//! schedule and the queue worker. The queue itself is storage
//! (`maildir::Store::begin_enqueue` and friends).

pub mod body;
pub mod dkim;
pub mod dns;
pub mod dsn;
pub mod mx;
pub mod pool;
pub mod queue_cli;
pub mod schedule;
mod tls_client;
pub mod transaction;
pub mod worker;
