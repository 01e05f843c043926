//! [`Limits`]: every bound the server session enforces, with its default and
//! the worst-case memory it allows.

use std::time::Duration;

/// Resource limits of a [`ServerSession`](crate::ServerSession).
///
/// With the defaults a session holds at most about
/// `max_sasl_line_length` (input buffer) + `max_pending_output` + one
/// message chunk handed to
/// [`send_external_chunk`](crate::ServerSession::send_external_chunk) (doubled
/// in the worst case by dot-stuffing and LF to CRLF conversion) + the
/// maildrop listing the adapter supplied. Message bodies are never held
/// whole.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// Longest command line in octets, the CRLF included. Default 255: RFC
    /// 2449 §4 caps commands at 255 octets. A longer line is discarded up
    /// to its line feed without being buffered (a 10 MB line costs no
    /// memory) and answered `-ERR Line too long`. Memory: this many octets.
    pub max_line_length: usize,
    /// Longest client line during a SASL exchange (RFC 5034 §4), CRLF
    /// included. Default 4096, enough for `AUTH PLAIN` with long
    /// credentials. This is also the size of the input buffer.
    pub max_sasl_line_length: usize,
    /// Bad commands (unknown, wrong arguments, wrong state, over-long lines)
    /// before the session answers `-ERR Too many bad commands` and closes.
    /// Default 20. Memory: none.
    pub max_bad_commands: u32,
    /// Refused logins before the session closes after the refusal.
    /// Default 3. Memory: none.
    pub max_auth_failures: u32,
    /// The inactivity autologout timer. Default 10 minutes, the minimum RFC
    /// 1939 §3 allows. Memory: none.
    pub autologout: Duration,
    /// Output queued but not yet drained by
    /// [`poll_transmit`](crate::ServerSession::poll_transmit) above which
    /// the session stops reading commands (`feed` returns 0). Default
    /// 64 KiB. A single answer (such as a LIST of a large maildrop) may
    /// exceed it once; no further command is read until it is drained.
    pub max_pending_output: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_line_length: 255,
            max_sasl_line_length: 4096,
            max_bad_commands: 20,
            max_auth_failures: 3,
            autologout: Duration::from_secs(10 * 60),
            max_pending_output: 64 * 1024,
        }
    }
}
