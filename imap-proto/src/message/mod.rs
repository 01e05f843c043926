//! Message helpers: pure functions over a stored message's octets that
//! answer FETCH and SEARCH (RFC 9051 §6.4.4, §6.4.5, §7.5.2; RFC 3516
//! BINARY; RFC 7162 MODSEQ).
//!
//! Nothing here does IO. A server hands in the message bytes (and, when its
//! store kept them, the MIME part offsets: [`PartOffsets`]); the helpers
//! return protocol values ([`Envelope`](crate::response::Envelope),
//! [`BodyStructure`](crate::response::BodyStructure)) or byte ranges into
//! the message ([`SectionData::Range`]) so that the server can stream
//! `BODY[...]` straight from its file. They never panic on any input, and
//! recursion through nested `message/rfc822` and `multipart/*` parts is
//! bounded by [`MAX_DEPTH`].
//!
//! Choices where the RFCs leave room follow Dovecot and are written down
//! next to the code: sizes and line counts are those of the stored octets
//! (a server that stores CRLF reports what it sends), part numbering follows
//! RFC 9051 §6.4.5, a missing Content-Type is `text/plain;
//! charset=us-ascii` (RFC 2045 §5.2), and a malformed part is described as
//! well as it can be rather than refused.
//!
//! SEARCH is evaluated by [`SearchProgram`]: it tells the server what a
//! query needs ([`Needs`]) so that metadata-only queries never read a file.
//!
//! ```
//! use imap_proto::command::{Part, Section};
//! use imap_proto::message::{MessageView, SectionData, body_section, envelope};
//! use std::num::NonZeroU32;
//!
//! let raw = b"From: Ann <ann@example.org>\r\nSubject: hi\r\n\r\nhello\r\n";
//! let msg = MessageView::parse(raw);
//! let env = envelope(msg.header());
//! assert_eq!(env.subject.as_bytes(), Some(&b"hi"[..]));
//! // BODY[1] of a single-part message is its body: a range to stream.
//! let one = Part::new(vec![NonZeroU32::MIN]).unwrap();
//! let data = body_section(&msg, Some(&Section::Part(one)), None);
//! assert_eq!(data, SectionData::Range(44..51));
//! assert_eq!(data.bytes(&msg), Some(&b"hello\r\n"[..]));
//! ```

mod address;
mod binary_stream;
mod bodystructure;
mod cte;
mod envelope;
mod header;
mod result;
mod search;
mod search_body;
mod search_text;
pub(crate) mod section;
mod sort;
mod tree;

pub use binary_stream::{BinaryItem, BinaryPlan, BinaryScan, MAX_PART_HEADER};
pub use bodystructure::{body, body_structure};
pub use cte::{Cte, CteDecoder, MAX_PENDING_WHITESPACE};
pub use envelope::envelope;
pub use result::{
    SearchResult, compact_sequence_set, esearch_items, implies_all, ordered_sequence_set,
    return_data, search_data,
};
pub use search::{ContentVerdicts, MessageMeta, Needs, SearchMessage, SearchProgram, SearchScope};
pub use search_body::{BodyMatches, BodySearch, CHARSET_WINDOW, MAX_ENCODED_MESSAGE};
pub use section::{
    BinaryError, SectionData, UrlSection, binary, binary_size, body_section, find_part,
    rfc822_header, rfc822_size, rfc822_text,
};
pub use sort::{
    MAX_ID_LEN, MAX_KEY_CHARS, MAX_REFERENCES, SortFields, base_subject, casemap, sort, thread,
};
pub use tree::{MAX_DEPTH, MAX_PARTS, PartKind, PartOffsets};

use crate::types::{IString, Literal, LiteralMode};
use std::ops::Range;

/// A stored message and its MIME part tree.
#[derive(Clone, Debug)]
pub struct MessageView<'a> {
    bytes: &'a [u8],
    root: PartOffsets,
}

impl<'a> MessageView<'a> {
    /// Parses `bytes` with mail-parser to find the parts.
    pub fn parse(bytes: &'a [u8]) -> Self {
        MessageView {
            bytes,
            root: PartOffsets::parse(bytes),
        }
    }

    /// Uses part offsets kept by the store; falls back to parsing when they
    /// do not fit the bytes (see [`PartOffsets::is_valid`]).
    pub fn with_offsets(bytes: &'a [u8], root: PartOffsets) -> Self {
        if root.is_valid(bytes.len() as u64) {
            MessageView { bytes, root }
        } else {
            MessageView::parse(bytes)
        }
    }

    /// The message octets.
    pub fn bytes(&self) -> &'a [u8] {
        self.bytes
    }

    /// The root part.
    pub fn root(&self) -> &PartOffsets {
        &self.root
    }

    /// The message's header block (blank line included), the input of
    /// [`envelope`].
    pub fn header(&self) -> &'a [u8] {
        self.slice(self.root.header_range())
    }

    /// The octets in `range` (empty when out of bounds).
    pub(crate) fn slice(&self, range: Range<u64>) -> &'a [u8] {
        slice(self.bytes, range)
    }
}

/// `bytes[range]`, empty when the range does not fit.
pub(crate) fn slice(bytes: &[u8], range: Range<u64>) -> &[u8] {
    let (Ok(s), Ok(e)) = (usize::try_from(range.start), usize::try_from(range.end)) else {
        return &[];
    };
    bytes.get(s..e).unwrap_or_default()
}

/// An IMAP string for header-derived octets: quoted when it is printable
/// ASCII, a literal otherwise (8-bit octets in a quoted string need
/// UTF8=ACCEPT, RFC 9051 §4.3; Dovecot sends literals too). NUL octets,
/// which no IMAP string may hold, are dropped.
pub(crate) fn istring(b: &[u8]) -> IString {
    let clean: Vec<u8> = b.iter().copied().filter(|c| *c != 0).collect();
    if clean.is_ascii()
        && let Ok(s) = IString::from_bytes(&clean)
    {
        return s;
    }
    IString::Literal(Literal::new_binary(clean, LiteralMode::Sync))
}
