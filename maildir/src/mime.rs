//! MIME part offsets, computed once with mail-parser 0.11 when a message is
//! stored and kept in the index (`parts` table), so that IMAP
//! `BODY[section]` and `BODYSTRUCTURE` read only the bytes they need instead
//! of re-parsing the file.
//!
//! Offsets are byte positions in the message file (which starts with our
//! `Return-Path:` and trace lines: they are part of the message, RFC 5321
//! §4.4). A `message/rfc822` part whose body is not transfer-encoded gets
//! its nested message's parts as children; an encoded one (base64, quoted-printable) is a leaf, because its
//! nested offsets would point into decoded bytes, not into the file.

use mail_parser::{Encoding, MessageParser, PartType};

use crate::error::StoreError;

/// Nesting depth kept in the index; deeper structure is flattened into
/// leaves (a hostile message cannot make the record or decoder unbounded).
pub const MAX_DEPTH: usize = 32;
/// Parts kept per message; further parts are dropped (the reader falls
/// back to parsing the file).
pub const MAX_PARTS: usize = 4096;

/// What a part holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PartKind {
    /// A single-part body (text, binary, …).
    Leaf,
    /// `multipart/*`: the children are its body parts.
    Multipart,
    /// `message/rfc822` (or `message/global`): the children are the parts
    /// of the encapsulated message, its first child being the message's
    /// own root part.
    Message,
}

/// One MIME part with its byte offsets in the message file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MimePart {
    /// What the part holds.
    pub kind: PartKind,
    /// Offset of the part's first header line.
    pub header_start: u64,
    /// Offset of the part's body (after the blank line ending the header).
    pub body_start: u64,
    /// Offset just past the part's body.
    pub end: u64,
    /// Sub-parts (see [`PartKind`]).
    pub children: Vec<MimePart>,
}

/// Parses a message and returns its part tree (the root is the whole
/// message). `None` when mail-parser cannot make sense of it at all.
#[must_use]
pub fn parse(bytes: &[u8]) -> Option<MimePart> {
    let message = MessageParser::default().parse(bytes)?;
    let mut budget = MAX_PARTS;
    Some(build(&message, 0, 0, 0, &mut budget))
}

fn build(
    message: &mail_parser::Message<'_>,
    id: usize,
    shift: u64,
    depth: usize,
    budget: &mut usize,
) -> MimePart {
    *budget = budget.saturating_sub(1);
    let Some(part) = message.parts.get(id) else {
        return MimePart {
            kind: PartKind::Leaf,
            header_start: shift,
            body_start: shift,
            end: shift,
            children: Vec::new(),
        };
    };
    let mut out = MimePart {
        kind: PartKind::Leaf,
        header_start: shift + u64::from(part.offset_header),
        body_start: shift + u64::from(part.offset_body),
        end: shift + u64::from(part.offset_end),
        children: Vec::new(),
    };
    if depth >= MAX_DEPTH {
        return out;
    }
    match &part.body {
        PartType::Multipart(ids) => {
            out.kind = PartKind::Multipart;
            for &child in ids {
                if *budget == 0 {
                    break;
                }
                let child = usize::try_from(child).unwrap_or(usize::MAX);
                // mail-parser lists children by index into `parts`; a child
                // never precedes its parent, which also rules out cycles.
                if child <= id {
                    continue;
                }
                out.children
                    .push(build(message, child, shift, depth + 1, budget));
            }
        }
        PartType::Message(inner) if part.encoding == Encoding::None => {
            // mail-parser parses an unencoded nested message in place: its
            // offsets are already positions in the outer buffer. Checked,
            // so that a parser change cannot make us point elsewhere.
            let child = build(inner, 0, shift, depth + 1, budget);
            if child.header_start >= out.body_start && child.end <= out.end {
                out.kind = PartKind::Message;
                out.children.push(child);
            }
        }
        _ => {}
    }
    out
}

const PARTS_V1: u8 = 1;

/// Encodes a part tree: version byte, then the parts in pre-order, each as
/// kind (u8), header_start, body_start, end (u64 LE), child count (u32).
#[must_use]
pub fn encode(root: &MimePart) -> Vec<u8> {
    let mut out = vec![PARTS_V1];
    fn walk(p: &MimePart, out: &mut Vec<u8>) {
        out.push(match p.kind {
            PartKind::Leaf => 0,
            PartKind::Multipart => 1,
            PartKind::Message => 2,
        });
        out.extend_from_slice(&p.header_start.to_le_bytes());
        out.extend_from_slice(&p.body_start.to_le_bytes());
        out.extend_from_slice(&p.end.to_le_bytes());
        let n = u32::try_from(p.children.len()).unwrap_or(u32::MAX);
        out.extend_from_slice(&n.to_le_bytes());
        for c in &p.children {
            walk(c, out);
        }
    }
    walk(root, &mut out);
    out
}

/// Decodes [`encode`]'s output.
///
/// # Errors
/// [`StoreError::Corrupt`] on truncation, an unknown version or kind, or
/// nesting deeper than [`MAX_DEPTH`].
pub fn decode(bytes: &[u8]) -> Result<MimePart, StoreError> {
    let corrupt = |what: &str| StoreError::Corrupt(format!("MIME parts record: {what}"));
    let (&version, mut rest) = bytes.split_first().ok_or_else(|| corrupt("empty"))?;
    if version != PARTS_V1 {
        return Err(corrupt("unknown version"));
    }
    fn take<'a>(rest: &mut &'a [u8], n: usize) -> Option<&'a [u8]> {
        if rest.len() < n {
            return None;
        }
        let (h, t) = rest.split_at(n);
        *rest = t;
        Some(h)
    }
    fn u64_of(rest: &mut &[u8]) -> Option<u64> {
        take(rest, 8)
            .and_then(|b| b.try_into().ok())
            .map(u64::from_le_bytes)
    }
    fn read(rest: &mut &[u8], depth: usize) -> Option<MimePart> {
        if depth > MAX_DEPTH + 1 {
            return None;
        }
        let kind = match take(rest, 1)?.first()? {
            0 => PartKind::Leaf,
            1 => PartKind::Multipart,
            2 => PartKind::Message,
            _ => return None,
        };
        let header_start = u64_of(rest)?;
        let body_start = u64_of(rest)?;
        let end = u64_of(rest)?;
        let n = u32::from_le_bytes(take(rest, 4)?.try_into().ok()?);
        // Each child needs at least 29 bytes: a count larger than the
        // rest can hold is corrupt (and must not drive an allocation).
        let n = usize::try_from(n).ok()?;
        if n > rest.len() / 29 {
            return None;
        }
        let mut children = Vec::with_capacity(n);
        for _ in 0..n {
            children.push(read(rest, depth + 1)?);
        }
        Some(MimePart {
            kind,
            header_start,
            body_start,
            end,
            children,
        })
    }
    read(&mut rest, 0).ok_or_else(|| corrupt("truncated or malformed"))
}

#[cfg(test)]
mod tests {
    use super::*;

    const MULTI: &[u8] = b"Return-Path: <a@b>\r\n\
Subject: x\r\n\
Content-Type: multipart/mixed; boundary=\"XX\"\r\n\
\r\n\
preamble\r\n\
--XX\r\n\
Content-Type: text/plain\r\n\
\r\n\
hello\r\n\
--XX\r\n\
Content-Type: message/rfc822\r\n\
\r\n\
Subject: inner\r\n\
\r\n\
inner body\r\n\
--XX--\r\n";

    fn slice(p: (u64, u64)) -> &'static [u8] {
        &MULTI[usize::try_from(p.0).unwrap()..usize::try_from(p.1).unwrap()]
    }

    #[test]
    fn offsets_point_into_the_file() {
        let root = parse(MULTI).unwrap();
        assert_eq!(root.kind, PartKind::Multipart);
        assert_eq!(root.header_start, 0);
        assert_eq!(
            slice((root.header_start, root.body_start)),
            b"Return-Path: <a@b>\r\nSubject: x\r\nContent-Type: multipart/mixed; boundary=\"XX\"\r\n\r\n"
        );
        assert_eq!(root.children.len(), 2);
        let text = &root.children[0];
        assert_eq!(text.kind, PartKind::Leaf);
        assert_eq!(
            slice((text.header_start, text.body_start)),
            b"Content-Type: text/plain\r\n\r\n"
        );
        assert_eq!(slice((text.body_start, text.end)), b"hello");
        let msg = &root.children[1];
        assert_eq!(msg.kind, PartKind::Message);
        assert_eq!(
            slice((msg.body_start, msg.end)),
            b"Subject: inner\r\n\r\ninner body"
        );
        assert_eq!(msg.children.len(), 1);
        let inner = &msg.children[0];
        assert_eq!(
            slice((inner.header_start, inner.body_start)),
            b"Subject: inner\r\n\r\n"
        );
        assert_eq!(slice((inner.body_start, inner.end)), b"inner body");
        assert_eq!(decode(&encode(&root)).unwrap(), root);
    }

    #[test]
    fn single_part() {
        let m = b"Subject: a\r\n\r\nbody\r\n";
        let root = parse(m).unwrap();
        assert_eq!(root.kind, PartKind::Leaf);
        assert_eq!((root.header_start, root.body_start), (0, 14));
        assert_eq!(root.end, m.len() as u64);
    }

    #[test]
    fn corrupt_records_are_errors() {
        let bytes = encode(&parse(MULTI).unwrap());
        for cut in 0..bytes.len() {
            assert!(decode(&bytes[..cut]).is_err(), "cut {cut}");
        }
        let mut huge = vec![1u8, 0];
        huge.extend_from_slice(&[0; 24]);
        huge.extend_from_slice(&u32::MAX.to_le_bytes());
        assert!(decode(&huge).is_err());
    }

    proptest::proptest! {
        #[test]
        fn parse_never_panics(bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..512)) {
            if let Some(root) = parse(&bytes) {
                proptest::prop_assert_eq!(decode(&encode(&root)).unwrap(), root);
            }
        }
    }
}
