//! A streaming, non-recursive MIME structure scanner.
//!
//! It finds the part tree of an RFC 5322 message (RFC 2045, RFC 2046):
//! for every part the byte offsets of its header, its body and its end,
//! and whether it is a leaf, a `multipart/*` or an encapsulated
//! `message/rfc822` / `message/global` (RFC 6532). It knows no wire
//! protocol and no storage: a store feeds it the bytes it writes, an IMAP
//! server asks it for the tree behind BODYSTRUCTURE and `BODY[section]`.
//!
//! The run loop a caller writes:
//!
//! ```
//! use mime_scan::{PartKind, Scanner};
//!
//! let mut scanner = Scanner::new();
//! // Chunks of any size, split anywhere (here: as they arrive from a socket).
//! for chunk in [&b"Content-Type: multipart/mixed; bou"[..],
//!               b"ndary=X\r\n\r\n--X\r\n\r\nhello\r\n--X--\r\n"] {
//!     scanner.feed(chunk);
//! }
//! let scan = scanner.finish();
//! assert_eq!(scan.root.kind, PartKind::Multipart);
//! let part = &scan.root.children[0];
//! assert_eq!((part.body_start, part.end), (52, 57)); // "hello"
//! assert!(!scan.truncated);
//! ```
//!
//! Guarantees, whatever the input:
//! - memory is bounded by one header line ([`MAX_LINE`]) plus the tree,
//!   which holds at most [`Limits::max_parts`] parts, never by the message;
//! - no recursion on input: nesting is an explicit stack bounded by
//!   [`Limits::max_depth`]; deeper structure is kept as leaves and the
//!   scan says so ([`Scan::truncated`]);
//! - every offset lies inside the bytes fed, children inside their
//!   parent's body ([`Part::is_valid`]); no input panics.
//!
//! Where the RFCs leave room the scanner gives the offsets mail-parser 0.11
//! gives for well-formed mail (so stored offsets and answers stay stable),
//! and follows RFC 2046 and Dovecot for broken mail: a boundary line is
//! recognised only at the start of a line, any enclosing multipart's
//! boundary ends the parts inside it (§5.1.2), and the line break before a
//! boundary line belongs to the boundary (§5.1.1).

#![forbid(unsafe_code)]

mod binary;
mod field;
mod scanner;

pub use binary::{BinaryToBase64, MAX_HEADER};
pub use scanner::{Scan, Scanner};

use std::ops::Range;

/// Default nesting depth followed (the root is depth 0): a part at this
/// depth is a leaf even when it is a multipart or a message.
pub const MAX_DEPTH: usize = 32;
/// Default number of parts kept per message; further parts are left out
/// of the tree (their bytes stay in their parent's body).
pub const MAX_PARTS: usize = 4096;
/// Bytes of one line the scanner keeps (header fields are read from
/// them; longer lines are cut, which only loses the end of a field).
pub const MAX_LINE: usize = 8 * 1024;
/// Longest boundary parameter recognised (RFC 2046 §5.1.1 allows 70).
/// A longer one makes its multipart a leaf.
pub const MAX_BOUNDARY: usize = 256;

/// Limits of one scan. Worst-case memory: one line of [`MAX_LINE`] bytes,
/// two header fields of as much, the boundary stack (`max_depth` ×
/// [`MAX_BOUNDARY`]) and `max_parts` × ~80 bytes of tree.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Nesting depth followed (default [`MAX_DEPTH`]).
    pub max_depth: usize,
    /// Parts kept (default [`MAX_PARTS`], at least 1: the root).
    pub max_parts: usize,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            max_depth: MAX_DEPTH,
            max_parts: MAX_PARTS,
        }
    }
}

/// What a part holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum PartKind {
    /// A single-part body: text, binary, a transfer-encoded
    /// `message/rfc822` (its inner offsets would not point into the
    /// bytes), or structure deeper than the depth limit.
    Leaf,
    /// `multipart/*` with its boundary found: the children are its body
    /// parts.
    Multipart,
    /// `message/rfc822` or `message/global` with an identity transfer
    /// encoding: the only child is the encapsulated message's root part.
    Message,
}

/// One MIME part with its byte offsets in the message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Part {
    /// What the part holds.
    pub kind: PartKind,
    /// Offset of the part's first header line.
    pub header_start: u64,
    /// Offset of the part's body (after the blank line ending the header).
    pub body_start: u64,
    /// Offset just past the part's body (RFC 2046 §5.1.1: the line break
    /// before a boundary belongs to the boundary, not to the part).
    pub end: u64,
    /// Sub-parts (see [`PartKind`]).
    pub children: Vec<Part>,
}

impl Part {
    /// Scans a whole message held in memory with the default limits and
    /// returns its root part (see [`Scanner`] for bytes that arrive in
    /// chunks).
    #[must_use]
    pub fn parse(bytes: &[u8]) -> Part {
        let mut s = Scanner::new();
        s.feed(bytes);
        s.finish().root
    }

    /// The header's byte range (including the blank line, if any).
    #[must_use]
    pub fn header_range(&self) -> Range<u64> {
        self.header_start..self.body_start
    }

    /// The body's byte range.
    #[must_use]
    pub fn body_range(&self) -> Range<u64> {
        self.body_start..self.end
    }

    /// The encapsulated message's root part (for [`PartKind::Message`]).
    #[must_use]
    pub fn inner_root(&self) -> Option<&Part> {
        match self.kind {
            PartKind::Message => self.children.first(),
            _ => None,
        }
    }

    /// True if every range lies within `len` bytes and is ordered, the
    /// children lie within their parent's body, kinds and child counts
    /// agree and the tree is within the default [`Limits`]: offsets kept
    /// by a store are checked with this before use.
    #[must_use]
    pub fn is_valid(&self, len: u64) -> bool {
        // An explicit stack: a hostile stored record must not recurse.
        let mut stack: Vec<(&Part, u64, u64, usize)> = vec![(self, 0, len, 0)];
        let mut count = 0usize;
        while let Some((p, lo, hi, depth)) = stack.pop() {
            count += 1;
            if depth > MAX_DEPTH || count > MAX_PARTS {
                return false;
            }
            if !(lo <= p.header_start
                && p.header_start <= p.body_start
                && p.body_start <= p.end
                && p.end <= hi)
            {
                return false;
            }
            match p.kind {
                PartKind::Leaf if !p.children.is_empty() => return false,
                PartKind::Message if p.children.len() != 1 => return false,
                _ => {}
            }
            for c in &p.children {
                stack.push((c, p.body_start, p.end, depth + 1));
            }
        }
        true
    }

    /// Number of parts in the tree, this one included.
    #[must_use]
    pub fn count(&self) -> usize {
        let mut n = 0;
        let mut stack = vec![self];
        while let Some(p) = stack.pop() {
            n += 1;
            stack.extend(p.children.iter());
        }
        n
    }
}

#[cfg(test)]
mod tests;
