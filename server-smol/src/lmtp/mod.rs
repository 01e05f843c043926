//! LMTP glue (RFC 2033, docs/DESIGN.md §5.4): the `[lmtp]` listener for an MTA
//! in front (Postfix `virtual_transport = lmtp:inet:host:port`).
//!
//! The session is `smtp-proto` in `Mode::Lmtp` (LHLO, no STARTTLS, no AUTH)
//! and the glue is the SMTP glue with [`SmtpRole::Lmtp`](crate::smtp::SmtpRole::Lmtp): recipients go
//! through the same pipeline with source [`crate::pipeline::Source::Lmtp`]
//! (local domains, or a `[[routes]]` match, only), a `Received: ... with
//! LMTP` trace field is added like SMTP's, and after DATA each accepted
//! recipient gets its own reply reflecting its own delivery's result (built
//! by the SMTP glue, which runs the LMTP session).

/// The listener name in `listening` lines and `[lmtp] listen`.
pub const LISTENER: &str = "lmtp";
