//! Outbound delivery (DESIGN.md §5.2): one delivery attempt over a socket
//! ([`transaction`]); the queue worker, MX resolution and DSNs build on it.

pub mod transaction;
