//! The framer: splits a byte stream into complete commands (or responses)
//! before any detailed parsing.
//!
//! IMAP interleaves lines and literals (RFC 9051 §4.3): a line that ends in
//! `{N}` CRLF is followed by N octets of literal data, after which the
//! command's line continues. The framer finds these boundaries with nothing
//! but the literal announcements, so
//!
//! - a malformed command is still delimited, and the session can answer it
//!   with its own tag;
//! - literal data is never read as commands;
//! - a synchronising literal is *announced* ([`Frame::LiteralAnnounced`])
//!   before its data is read, so the session decides (quota, size, state)
//!   before it sends `+` ([`Framer::accept_literal`]) or refuses
//!   ([`Framer::reject_literal`]);
//! - a literal too large to buffer (over [`Limits::max_literal_size`]) is
//!   announced too, synchronising or not, and can be *streamed*
//!   ([`Framer::accept_literal_streaming`]): its octets come out as
//!   [`Frame::LiteralData`] chunks and are never buffered (an APPEND of a
//!   large message, a FETCH BODY[] in client role);
//! - LITERAL- (RFC 7888 §4) is enforced: a non-synchronising literal above
//!   4096 octets is refused unless LITERAL+ is advertised
//!   ([`Framer::set_literal_plus`]);
//! - anything over [`Limits`] is framed and *discarded*, never buffered, and
//!   reported once the whole command has gone by ([`Frame::Discarded`]).
//!
//! The output does not depend on how the input was split: feeding the same
//! bytes in any chunks yields the same frames (property-tested below).
//!
//! ```
//! use imap_proto::framer::{Frame, Framer, Role};
//! use imap_proto::Limits;
//!
//! let mut framer = Framer::new(Role::Server, Limits::default());
//! let mut input: &[u8] = b"A1 LOGIN {4}\r\nfred secret\r\n";
//! let mut frames = Vec::new();
//! while !input.is_empty() {
//!     let (used, frame) = framer.feed(input);
//!     input = &input[used..];
//!     match frame {
//!         Some(Frame::LiteralAnnounced { size: 4, .. }) => {
//!             framer.accept_literal().unwrap(); // and send "+ Ready\r\n"
//!         }
//!         Some(f) => frames.push(f),
//!         None if used == 0 => break,
//!         None => {}
//!     }
//! }
//! assert_eq!(frames, vec![Frame::Complete(b"A1 LOGIN {4}\r\nfred secret\r\n".to_vec())]);
//! ```

use crate::core::is_tag_char;
use crate::limits::Limits;
use crate::types::{LiteralMode, Tag};

/// Which side's stream is framed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    /// A server framing client commands: synchronising literals are
    /// announced and wait for a decision.
    Server,
    /// A client framing server responses: the server never waits for a
    /// continuation, so every literal is read at once.
    Client,
}

/// Why a command was discarded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum DiscardReason {
    /// A line exceeded [`Limits::max_line_length`].
    LineTooLong,
    /// A literal exceeded [`Limits::max_literal_size`] (answer with
    /// `[TOOBIG]`, RFC 7888 §4 / RFC 4469).
    LiteralTooLarge {
        /// The announced size.
        size: u64,
    },
    /// A non-synchronising literal above 4096 octets without LITERAL+
    /// (RFC 7888 §4: answer `BAD [TOOBIG]`).
    NonSyncLiteralTooLarge {
        /// The announced size.
        size: u64,
    },
    /// The whole command exceeded [`Limits::max_command_size`].
    CommandTooLarge,
    /// A non-synchronising literal was refused with
    /// [`Framer::reject_literal`]; its octets were skipped.
    LiteralRejected {
        /// The announced size.
        size: u64,
    },
}

/// What the framer found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Frame {
    /// A whole command or response: its lines and literals, ending with LF.
    Complete(Vec<u8>),
    /// A literal was announced that needs a decision: every synchronising
    /// literal in server role, and any literal over
    /// [`Limits::max_literal_size`]. No input is consumed until
    /// [`Framer::accept_literal`], [`Framer::accept_literal_streaming`] or
    /// [`Framer::reject_literal`] is called.
    LiteralAnnounced {
        /// The command's tag, if its start is a valid tag.
        tag: Option<Tag>,
        /// The command so far, including the `{N}` CRLF announcement.
        command_so_far: Vec<u8>,
        /// Announced size in octets.
        size: u64,
        /// `~{N}`: a literal8 (RFC 3516).
        binary: bool,
        /// `{N}` (the peer waits for `+`) or `{N+}` (the data follows at once).
        mode: LiteralMode,
    },
    /// A piece of a literal accepted with
    /// [`Framer::accept_literal_streaming`]. The pieces of one literal, in
    /// order, are its octets; how they are cut depends on the input chunks.
    /// After the last piece the command continues; its
    /// [`Frame::Complete`] keeps the announcement but not the streamed
    /// octets.
    LiteralData(Vec<u8>),
    /// A command was skipped because it broke a limit; all its bytes have
    /// been consumed.
    Discarded {
        /// The command's tag, if its start is a valid tag.
        tag: Option<Tag>,
        /// Which limit.
        reason: DiscardReason,
    },
}

/// A decision method was called in the wrong state, or refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum FramerError {
    /// No literal announcement is pending.
    NoPendingLiteral,
    /// The literal is over [`Limits::max_literal_size`] or would take the
    /// command over [`Limits::max_command_size`]; reject it instead.
    LiteralTooLarge,
}

impl std::fmt::Display for FramerError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            FramerError::NoPendingLiteral => "no literal announcement is pending",
            FramerError::LiteralTooLarge => "literal exceeds the configured limits",
        })
    }
}

impl std::error::Error for FramerError {}

/// Bytes of a discarded line kept to recognise a trailing `{N}` announcement.
const TAIL: usize = 32;

#[derive(Debug)]
enum State {
    Line,
    Literal {
        remaining: u64,
    },
    AwaitDecision {
        size: u64,
        mode: LiteralMode,
    },
    Stream {
        remaining: u64,
    },
    DiscardLine {
        tail: Vec<u8>,
        reason: DiscardReason,
    },
    DiscardLiteral {
        remaining: u64,
        reason: DiscardReason,
    },
}

/// Splits a byte stream into [`Frame`]s. See the module docs.
#[derive(Debug)]
pub struct Framer {
    role: Role,
    limits: Limits,
    literal_plus: bool,
    buf: Vec<u8>,
    line_start: usize,
    state: State,
}

/// A literal announcement at the end of a line.
struct Announcement {
    size: u64,
    non_sync: bool,
    binary: bool,
}

/// Recognises `["~"] "{" number64 ["+"] "}" [CR] LF` at the end of `line`.
fn announcement(line: &[u8]) -> Option<Announcement> {
    let line = line.strip_suffix(b"\n")?;
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    let line = line.strip_suffix(b"}")?;
    let (line, non_sync) = match line.strip_suffix(b"+") {
        Some(l) => (l, true),
        None => (line, false),
    };
    let digits = line.iter().rev().take_while(|b| b.is_ascii_digit()).count();
    if digits == 0 || digits > 19 {
        return None;
    }
    let (head, num) = line.split_at(line.len() - digits);
    let head = head.strip_suffix(b"{")?;
    let size: u64 = std::str::from_utf8(num).ok()?.parse().ok()?;
    Some(Announcement {
        size,
        non_sync,
        binary: head.ends_with(b"~"),
    })
}

/// The tag at the start of a command: `tag SP`.
fn leading_tag(buf: &[u8]) -> Option<Tag> {
    let n = buf.iter().take_while(|b| is_tag_char(**b)).count();
    if n == 0 || buf.get(n) != Some(&b' ') {
        return None;
    }
    std::str::from_utf8(buf.get(..n)?)
        .ok()
        .and_then(|s| Tag::try_from(s).ok())
}

impl Framer {
    /// A framer for `role` with the given limits; LITERAL+ off (LITERAL-
    /// rules apply).
    pub fn new(role: Role, limits: Limits) -> Self {
        Framer {
            role,
            limits,
            literal_plus: false,
            buf: Vec::new(),
            line_start: 0,
            state: State::Line,
        }
    }

    /// Whether LITERAL+ is advertised: lifts the 4096-octet cap on
    /// non-synchronising literals (RFC 7888 §3).
    pub fn set_literal_plus(&mut self, on: bool) {
        self.literal_plus = on;
    }

    /// The limits in force.
    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// Octets of the command framed so far (bounded by
    /// [`Limits::max_command_size`]).
    pub fn pending(&self) -> &[u8] {
        &self.buf
    }

    /// Consumes a prefix of `input`. Returns how many octets were used and
    /// possibly a frame. Call again with the rest of the input after every
    /// frame; `(0, None)` means a literal decision is pending (or `input` was
    /// empty).
    pub fn feed(&mut self, input: &[u8]) -> (usize, Option<Frame>) {
        let mut used = 0;
        // A step may change state without consuming (a line that hits its
        // limit exactly); two such steps in a row mean a decision is pending.
        let mut idle = 0;
        while used < input.len() && idle < 2 {
            let rest = &input[used..];
            let (n, frame) = self.step(rest);
            used += n;
            if frame.is_some() {
                return (used, frame);
            }
            idle = if n == 0 { idle + 1 } else { 0 };
        }
        (used, None)
    }

    /// Accepts the announced synchronising literal: the session sends `+`
    /// and the framer reads the data into the command.
    pub fn accept_literal(&mut self) -> Result<(), FramerError> {
        let State::AwaitDecision { size, .. } = self.state else {
            return Err(FramerError::NoPendingLiteral);
        };
        if !self.fits(size) {
            return Err(FramerError::LiteralTooLarge);
        }
        self.state = State::Literal { remaining: size };
        self.finish_empty_literal();
        Ok(())
    }

    /// Accepts the announced literal for streaming: its octets come out as
    /// [`Frame::LiteralData`] and are not buffered, whatever their size
    /// (the session enforces its own message-size limit before accepting).
    /// For a synchronising literal the session sends `+` now.
    pub fn accept_literal_streaming(&mut self) -> Result<(), FramerError> {
        let State::AwaitDecision { size, .. } = self.state else {
            return Err(FramerError::NoPendingLiteral);
        };
        self.state = State::Stream { remaining: size };
        if size == 0 {
            self.state = State::Line;
            self.line_start = self.buf.len();
        }
        Ok(())
    }

    /// Refuses the announced literal. A client's synchronising literal is
    /// never sent (the client waits for `+`), so the command is dropped at
    /// once and the session answers with a tagged `NO`/`BAD`. Any other
    /// literal is already on its way: its octets and the rest of the
    /// command are skipped, then [`Frame::Discarded`] reports it.
    pub fn reject_literal(&mut self) -> Result<(), FramerError> {
        let State::AwaitDecision { size, mode } = self.state else {
            return Err(FramerError::NoPendingLiteral);
        };
        // A server in client role sends literal data without waiting, so
        // only a client's synchronising literal is never sent.
        match (self.role, mode) {
            (Role::Server, LiteralMode::Sync) => self.reset(),
            _ => {
                self.state = State::DiscardLiteral {
                    remaining: size,
                    reason: DiscardReason::LiteralRejected { size },
                };
                self.finish_empty_literal();
            }
        }
        Ok(())
    }

    fn fits(&self, size: u64) -> bool {
        size <= self.limits.max_literal_size
            && (self.buf.len() as u64).saturating_add(size) <= self.limits.max_command_size as u64
    }

    fn reset(&mut self) {
        self.buf.clear();
        self.line_start = 0;
        self.state = State::Line;
    }

    fn discard(&mut self, reason: DiscardReason) -> Frame {
        let tag = leading_tag(&self.buf);
        self.reset();
        Frame::Discarded { tag, reason }
    }

    fn step(&mut self, input: &[u8]) -> (usize, Option<Frame>) {
        match &mut self.state {
            State::AwaitDecision { .. } => (0, None),
            State::Literal { remaining } => {
                let n = input
                    .len()
                    .min(usize::try_from(*remaining).unwrap_or(usize::MAX));
                self.buf.extend_from_slice(&input[..n]);
                *remaining -= n as u64;
                if *remaining == 0 {
                    self.state = State::Line;
                    self.line_start = self.buf.len();
                }
                (n, None)
            }
            State::Stream { remaining } => {
                let n = input
                    .len()
                    .min(usize::try_from(*remaining).unwrap_or(usize::MAX));
                *remaining -= n as u64;
                if *remaining == 0 {
                    self.state = State::Line;
                    self.line_start = self.buf.len();
                }
                (n, Some(Frame::LiteralData(input[..n].to_vec())))
            }
            State::DiscardLiteral { remaining, reason } => {
                let n = input
                    .len()
                    .min(usize::try_from(*remaining).unwrap_or(usize::MAX));
                *remaining -= n as u64;
                if *remaining == 0 {
                    self.state = State::DiscardLine {
                        tail: Vec::new(),
                        reason: *reason,
                    };
                }
                (n, None)
            }
            State::DiscardLine { tail, reason } => {
                let reason = *reason;
                let lf = input.iter().position(|b| *b == b'\n');
                let n = lf.map_or(input.len(), |p| p + 1);
                tail.extend_from_slice(&input[..n]);
                if tail.len() > TAIL {
                    tail.drain(..tail.len() - TAIL);
                }
                if lf.is_none() {
                    return (n, None);
                }
                let ann = announcement(tail);
                match ann {
                    Some(a) if a.non_sync || self.role == Role::Client => {
                        self.state = State::DiscardLiteral {
                            remaining: a.size,
                            reason,
                        };
                        (n, None)
                    }
                    // A synchronising literal in a discarded command: the
                    // client waits for `+`, which it will not get.
                    _ => (n, Some(self.discard(reason))),
                }
            }
            State::Line => self.step_line(input),
        }
    }

    fn step_line(&mut self, input: &[u8]) -> (usize, Option<Frame>) {
        let lf = input.iter().position(|b| *b == b'\n');
        let n = lf.map_or(input.len(), |p| p + 1);
        let line_len = self.buf.len() - self.line_start + n;
        let over_line = line_len > self.limits.max_line_length;
        let over_cmd = self.buf.len() + n > self.limits.max_command_size;
        if over_line || over_cmd {
            // Keep what fits so the tag can still be recovered.
            let room = self
                .limits
                .max_line_length
                .saturating_sub(self.buf.len() - self.line_start)
                .min(self.limits.max_command_size.saturating_sub(self.buf.len()))
                .min(n);
            self.buf.extend_from_slice(&input[..room]);
            let reason = if over_line {
                DiscardReason::LineTooLong
            } else {
                DiscardReason::CommandTooLarge
            };
            let start = self.buf.len().saturating_sub(TAIL).max(self.line_start);
            let tail = self.buf[start..].to_vec();
            self.state = State::DiscardLine { tail, reason };
            return (room, None);
        }
        self.buf.extend_from_slice(&input[..n]);
        if lf.is_none() {
            return (n, None);
        }
        let Some(a) = announcement(&self.buf[self.line_start..]) else {
            let frame = Frame::Complete(std::mem::take(&mut self.buf));
            self.reset();
            return (n, Some(frame));
        };
        let mode = if a.non_sync {
            LiteralMode::NonSync
        } else {
            LiteralMode::Sync
        };
        if self.role == Role::Server
            && a.non_sync
            && !self.literal_plus
            && a.size > Limits::LITERAL_MINUS_MAX
        {
            let reason = DiscardReason::NonSyncLiteralTooLarge { size: a.size };
            if a.size > self.limits.max_command_size as u64 {
                // Skipping that many octets before answering would leave
                // the client waiting forever (a {2^63+} literal): report it
                // now and swallow everything after it; the session answers
                // BAD [TOOBIG] and closes (RFC 7888 §4 allows closing).
                let tag = leading_tag(&self.buf);
                self.reset();
                self.state = State::DiscardLiteral {
                    remaining: u64::MAX,
                    reason,
                };
                return (n, Some(Frame::Discarded { tag, reason }));
            }
            // RFC 7888 §4: LITERAL- refuses such a literal outright.
            self.state = State::DiscardLiteral {
                remaining: a.size,
                reason,
            };
        } else if (self.role == Role::Server && !a.non_sync) || !self.fits(a.size) {
            self.state = State::AwaitDecision { size: a.size, mode };
            let frame = Frame::LiteralAnnounced {
                tag: leading_tag(&self.buf),
                command_so_far: self.buf.clone(),
                size: a.size,
                binary: a.binary,
                mode,
            };
            return (n, Some(frame));
        } else {
            self.state = State::Literal { remaining: a.size };
        }
        if a.size == 0 {
            // An empty literal ends at once; `step` handles the transition
            // on the next byte, but a command may end right here.
            self.finish_empty_literal();
        }
        (n, None)
    }

    fn finish_empty_literal(&mut self) {
        match self.state {
            State::Literal { remaining: 0 } => {
                self.state = State::Line;
                self.line_start = self.buf.len();
            }
            State::DiscardLiteral {
                remaining: 0,
                reason,
            } => {
                self.state = State::DiscardLine {
                    tail: Vec::new(),
                    reason,
                };
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests;
