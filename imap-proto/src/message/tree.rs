//! The MIME part tree of a stored message: byte offsets of every part's
//! header and body, either handed in by the store or computed here with
//! mail-parser 0.11.

use mail_parser::{Encoding, MessageParser, PartType};
use std::ops::Range;

/// Nesting depth followed; deeper structure is flattened into leaves, so a
/// hostile message cannot make recursion or output unbounded.
pub const MAX_DEPTH: usize = 32;
/// Parts kept per message; further parts are dropped.
pub const MAX_PARTS: usize = 4096;

/// What a part holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PartKind {
    /// A single-part body (text, binary, or a transfer-encoded
    /// `message/rfc822` whose inner offsets would not point into the file).
    Leaf,
    /// `multipart/*`: the children are its body parts.
    Multipart,
    /// `message/rfc822` or `message/global` with an identity transfer
    /// encoding: the only child is the encapsulated message's root part.
    Message,
}

/// One MIME part with its byte offsets in the message.
///
/// This mirrors the record the `maildir` crate keeps in its index, so a
/// server can hand stored offsets in and skip parsing (see
/// [`MessageView::with_offsets`](super::MessageView::with_offsets)).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PartOffsets {
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
    pub children: Vec<PartOffsets>,
}

impl PartOffsets {
    /// The header's byte range (including the blank line, if any).
    pub fn header_range(&self) -> Range<u64> {
        self.header_start..self.body_start
    }

    /// The body's byte range.
    pub fn body_range(&self) -> Range<u64> {
        self.body_start..self.end
    }

    /// The encapsulated message's root part (for [`PartKind::Message`]).
    pub fn inner_root(&self) -> Option<&PartOffsets> {
        match self.kind {
            PartKind::Message => self.children.first(),
            _ => None,
        }
    }

    /// True if `child`'s ranges are ordered and inside this part's body.
    fn contains(&self, child: &PartOffsets) -> bool {
        self.body_start <= child.header_start
            && child.header_start <= child.body_start
            && child.body_start <= child.end
            && child.end <= self.end
    }

    /// A single leaf covering `bytes` with no header found by mail-parser:
    /// the header runs to the first blank line.
    fn flat(bytes: &[u8]) -> PartOffsets {
        let body = super::header::header_len(bytes) as u64;
        PartOffsets {
            kind: PartKind::Leaf,
            header_start: 0,
            body_start: body,
            end: bytes.len() as u64,
            children: Vec::new(),
        }
    }

    /// Parses `bytes` with mail-parser and returns the part tree; never
    /// fails (a message mail-parser cannot read is one leaf).
    pub fn parse(bytes: &[u8]) -> PartOffsets {
        let Some(message) = MessageParser::new().parse(bytes) else {
            return PartOffsets::flat(bytes);
        };
        let mut budget = MAX_PARTS;
        let root = build(&message, 0, 0, &mut budget, bytes, bytes.len() as u64);
        if root.is_valid(bytes.len() as u64) {
            root
        } else {
            PartOffsets::flat(bytes)
        }
    }

    /// True if every range lies within `len` bytes, is ordered, children
    /// lie within their parent's body and the depth is at most
    /// [`MAX_DEPTH`]: offsets from a store are checked before use.
    pub fn is_valid(&self, len: u64) -> bool {
        fn walk(p: &PartOffsets, lo: u64, hi: u64, depth: usize, count: &mut usize) -> bool {
            *count += 1;
            if depth > MAX_DEPTH || *count > MAX_PARTS {
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
            p.children
                .iter()
                .all(|c| walk(c, p.body_start, p.end, depth + 1, count))
        }
        let mut count = 0;
        walk(self, 0, len, 0, &mut count)
    }
}

/// Builds the tree from mail-parser's flat part list. mail-parser 0.11
/// gives the parts of an unencoded nested message offsets into the outer
/// buffer already, so no shifting is needed.
///
/// `limit` is where the part must end at the latest: a part of a multipart
/// never runs past its parent's next boundary line (RFC 2046 §5.1.1),
/// which mail-parser does not always ensure for a broken nested message.
fn build(
    message: &mail_parser::Message<'_>,
    id: usize,
    depth: usize,
    budget: &mut usize,
    raw: &[u8],
    limit: u64,
) -> PartOffsets {
    *budget = budget.saturating_sub(1);
    let Some(part) = message.parts.get(id) else {
        return PartOffsets {
            kind: PartKind::Leaf,
            header_start: 0,
            body_start: 0,
            end: 0,
            children: Vec::new(),
        };
    };
    let end = u64::from(part.offset_end).min(limit);
    let body_start = u64::from(part.offset_body).min(end);
    let mut out = PartOffsets {
        kind: PartKind::Leaf,
        header_start: u64::from(part.offset_header).min(body_start),
        body_start,
        end,
        children: Vec::new(),
    };
    if depth >= MAX_DEPTH {
        return out;
    }
    match &part.body {
        PartType::Multipart(ids) => {
            out.kind = PartKind::Multipart;
            let boundary = boundary(part);
            for &child in ids {
                if *budget == 0 {
                    break;
                }
                let child = usize::try_from(child).unwrap_or(usize::MAX);
                // A child never precedes its parent in mail-parser's list,
                // which also rules out cycles.
                if child <= id {
                    continue;
                }
                let cut = match (message.parts.get(child), &boundary) {
                    (Some(p), Some(b)) => boundary_cut(raw, u64::from(p.offset_body), out.end, b),
                    _ => out.end,
                };
                let c = build(message, child, depth + 1, budget, raw, cut);
                if out.contains(&c) {
                    out.children.push(c);
                }
            }
        }
        PartType::Message(inner) if part.encoding == Encoding::None && *budget > 0 => {
            let c = build(inner, 0, depth + 1, budget, raw, out.end);
            if out.contains(&c) {
                out.kind = PartKind::Message;
                out.children.push(c);
            }
        }
        // mail-parser keeps a message/rfc822 body it could not read as
        // text; with an identity encoding it is still an encapsulated
        // message (Dovecot reads it as one): its header runs to the first
        // blank line, so BODY[n.HEADER] and BODY[n.TEXT] work on it too.
        _ if part.encoding == Encoding::None && is_message_type(part) => {
            let body = super::slice(raw, out.body_start..out.end);
            let inner_body = out.body_start + super::header::header_len(body) as u64;
            out.kind = PartKind::Message;
            out.children.push(PartOffsets {
                kind: PartKind::Leaf,
                header_start: out.body_start,
                body_start: inner_body,
                end: out.end,
                children: Vec::new(),
            });
        }
        _ => {}
    }
    out
}

/// True for `message/rfc822` and `message/global` (RFC 6532).
fn is_message_type(part: &mail_parser::MessagePart<'_>) -> bool {
    part.headers.iter().any(|h| match (&h.name, &h.value) {
        (mail_parser::HeaderName::ContentType, mail_parser::HeaderValue::ContentType(ct)) => {
            ct.c_type.eq_ignore_ascii_case("message")
                && ct.c_subtype.as_ref().is_some_and(|s| {
                    s.eq_ignore_ascii_case("rfc822") || s.eq_ignore_ascii_case("global")
                })
        }
        _ => false,
    })
}

/// The `boundary` parameter of a part's Content-Type.
fn boundary(part: &mail_parser::MessagePart<'_>) -> Option<Vec<u8>> {
    part.headers.iter().find_map(|h| match (&h.name, &h.value) {
        (mail_parser::HeaderName::ContentType, mail_parser::HeaderValue::ContentType(ct)) => ct
            .attributes
            .iter()
            .flatten()
            .find(|a| a.name.eq_ignore_ascii_case("boundary"))
            .map(|a| a.value.as_bytes().to_vec()),
        _ => None,
    })
}

/// Where the first boundary line (`--boundary` at a line start) at or
/// after `from` begins, minus the line break before it (which belongs to
/// the boundary, RFC 2046 §5.1.1); `end` when there is none.
fn boundary_cut(raw: &[u8], from: u64, end: u64, boundary: &[u8]) -> u64 {
    let hay = super::slice(raw, from..end);
    let mut needle = b"\n--".to_vec();
    needle.extend_from_slice(boundary);
    match hay
        .windows(needle.len())
        .position(|w| w == needle.as_slice())
    {
        Some(p) => {
            let cr = p > 0 && hay.get(p - 1) == Some(&b'\r');
            from + p as u64 - u64::from(cr)
        }
        None => end,
    }
}
