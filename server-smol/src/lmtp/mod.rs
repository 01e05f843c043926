//! LMTP glue (RFC 2033, docs/DESIGN.md §5.4): the `[lmtp]` listener for an MTA
//! in front (Postfix `virtual_transport = lmtp:inet:host:port`).
//!
//! The session is `smtp-proto` in `Mode::Lmtp` (LHLO, no STARTTLS, no AUTH)
//! and the glue is the SMTP glue with [`SmtpRole::Lmtp`]: recipients go
//! through the same pipeline with source [`crate::pipeline::Source::Lmtp`]
//! (local domains, or a `[[routes]]` match, only), a `Received: ... with
//! LMTP` trace field is added like SMTP's, and after DATA each accepted
//! recipient gets its own reply reflecting its own delivery's result.

#[cfg(doc)]
use crate::smtp::SmtpRole;

/// The listener name in `listening` lines and `[lmtp] listen`.
pub const LISTENER: &str = "lmtp";

use smtp_proto::Reply;

use crate::pipeline::Verdict;

/// The reply for one recipient after DATA (RFC 2033 §4.2): `250 2.0.0
/// <address> OK: queued as <id>` when its handlers took the message,
/// else its own failure.
pub fn reply(v: &Verdict, address: &str, queue_id: &str) -> Reply {
    if v.is_positive() {
        Reply::new(
            250,
            "2.0.0",
            &format!(
                "<{}> OK: queued as {queue_id}",
                crate::smtp::sanitize_header_text(address)
            ),
        )
    } else {
        v.to_reply()
    }
}
