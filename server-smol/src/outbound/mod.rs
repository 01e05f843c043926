//! Outbound delivery (DESIGN.md §5.2): DNS, MX resolution, DKIM signing.
//! The queue itself is storage (`maildir::Store::begin_enqueue` and friends).

pub mod dkim;
pub mod dns;
pub mod dsn;
pub mod mx;
pub mod queue_cli;
pub mod schedule;
