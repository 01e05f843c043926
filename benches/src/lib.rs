//! Benches and the load generator for sansmail.
//!
//! The `loadgen` binary (`src/bin/loadgen.rs`) drives any SMTP server with
//! many parallel connections; the building blocks it uses (message
//! generation, dot-stuffing, reply reading, latency statistics) live here so
//! they are unit-tested. The `imapload` binary does the same for IMAP, with
//! the response framer and client in `imap_frame` and `imap_client`.
//! The criterion benches are under `benches/`.

pub mod imap_client;
pub mod imap_frame;
pub mod message;
pub mod reply;
pub mod stats;
