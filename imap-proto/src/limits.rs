//! Resource limits of the codec, the framer and the server session: one
//! type for the whole crate.
//!
//! Every field documents its default and the worst-case memory it allows.
//! Over a limit the framer still frames the stream correctly: it discards
//! the rest of the line or literal and reports the command's tag so the
//! session can answer `BAD` / `NO` (docs/DESIGN.md §2). The framer and
//! parser read the first four fields; the others are the session's.

use std::time::Duration;

/// Limits applied while framing and parsing, and by the server session.
/// The session's input buffer is at most one command
/// ([`max_command_size`](Self::max_command_size), 256 KiB by default).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Longest single line (protocol text between literals), CRLF included.
    /// Default 64 KiB: RFC 7162 §4 asks servers to accept at least 8192
    /// octets, and the largest ID command RFC 2971 §3.3 allows (30 pairs,
    /// 30-octet fields, 1024-octet values, each quoted and fully escaped,
    /// about 63 000 octets) must fit on one line. Worst case: one line
    /// buffered per connection, within
    /// [`max_command_size`](Self::max_command_size).
    pub max_line_length: usize,
    /// Largest literal the framer buffers into a command (LOGIN passwords,
    /// SEARCH strings, APPEND messages the session chose to buffer).
    /// Default 64 KiB: a larger literal is framed and discarded.
    pub max_literal_size: u64,
    /// Largest whole command (all lines and literals). Default 256 KiB,
    /// the worst-case buffered memory per connection.
    pub max_command_size: usize,
    /// Deepest nesting accepted in recursive rules (SEARCH keys,
    /// BODYSTRUCTURE, LIST-EXTENDED option values, body extensions).
    /// Default 32; each level costs one parser stack frame.
    pub max_depth: usize,

    /// Largest APPEND message accepted (announced size). Default 50 MiB.
    /// Messages are streamed: this costs no memory, only the adapter's
    /// disk.
    pub max_message_size: u64,
    /// Output queued before [`feed`](crate::session::ServerSession::feed) stops
    /// reading. Default 256 KiB. One FETCH response may overshoot it by
    /// one message's small items (sections above
    /// [`inline_section_max`](Self::inline_section_max) are never queued).
    pub max_pending_output: usize,
    /// Body sections up to this size are copied into the output; larger
    /// ones are streamed by the adapter ([`Event::WriteExternal`](crate::session::Event::WriteExternal)) or
    /// shared from the [`Bytes`](bytes::Bytes) it handed in. Default 64 KiB.
    pub inline_section_max: u64,
    /// Consecutive BAD answers before `* BYE`. Default 20.
    pub max_bad_commands: u32,
    /// Failed LOGIN/AUTHENTICATE before `* BYE`. Default 3.
    pub max_auth_failures: u32,
    /// Longest SASL response line (base64). Default 8 KiB (the framer's
    /// line limit applies as well).
    pub max_sasl_line: usize,
    /// Autologout before authentication. Default 60 s (RFC 9051 §5.4 lets
    /// the server pick a shorter timer before login).
    pub login_timeout: Duration,
    /// Autologout after authentication, IDLE included. Default 30 minutes,
    /// the minimum RFC 9051 §5.4 allows.
    pub autologout: Duration,
    /// Searching commands kept up to date with `RETURN (UPDATE)` at once
    /// (RFC 5267 §4.3.1; more are refused with `NOUPDATE`). Default 8.
    /// Each costs its criteria and 4 octets per result, and one metadata
    /// match per message of the mailbox at every flush of updates; one
    /// whose criteria read message content also keeps 16 octets per
    /// message of the mailbox (its content keys' answers) and reads each
    /// new message once.
    pub max_update_contexts: usize,
    /// NOTIFY notifications (RFC 5465) queued while a command runs; one
    /// more turns NOTIFY off with `NOTIFICATIONOVERFLOW`. Default 1024
    /// (a STATUS or LIST line each, about 100 octets).
    pub max_queued_notifications: usize,
    /// Messages in one MULTIAPPEND (RFC 3502); one more fails the command
    /// with `NO [LIMIT]`. Default 1000. The session keeps nothing per
    /// message; the adapter keeps one finished file (and its part
    /// offsets) per message until the command ends.
    pub max_append_messages: u32,
}

impl Limits {
    /// LITERAL- (RFC 7888 §4): a non-synchronising literal above this size
    /// is refused unless LITERAL+ is advertised.
    pub const LITERAL_MINUS_MAX: u64 = 4096;
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_line_length: 64 * 1024,
            max_literal_size: 64 * 1024,
            max_command_size: 256 * 1024,
            max_depth: 32,

            max_message_size: 50 * 1024 * 1024,
            max_pending_output: 256 * 1024,
            inline_section_max: 64 * 1024,
            max_bad_commands: 20,
            max_auth_failures: 3,
            max_sasl_line: 8192,
            login_timeout: Duration::from_secs(60),
            autologout: Duration::from_secs(30 * 60),
            max_update_contexts: 8,
            max_queued_notifications: 1024,
            max_append_messages: 1000,
        }
    }
}
