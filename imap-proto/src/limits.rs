//! Resource limits of the codec and framer.
//!
//! Every field documents its default and the worst-case memory it allows.
//! Over a limit the framer still frames the stream correctly: it discards
//! the rest of the line or literal and reports the command's tag so the
//! session can answer `BAD` / `NO` (docs/DESIGN.md §2).

/// Limits applied while framing and parsing.
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
        }
    }
}
