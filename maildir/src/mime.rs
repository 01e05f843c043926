//! MIME part offsets, computed once by the streaming `mime-scan` scanner
//! while a message is written (see `delivery.rs`) and kept in the index
//! (`parts` table), so that IMAP
//! `BODY[section]` and `BODYSTRUCTURE` read only the bytes they need instead
//! of re-parsing the file.
//!
//! Offsets are byte positions in the message file (which starts with our
//! `Return-Path:` and trace lines: they are part of the message, RFC 5321
//! §4.4). A `message/rfc822` part whose body is not transfer-encoded gets
//! its nested message's parts as children; an encoded one (base64, quoted-printable) is a leaf, because its
//! nested offsets would point into decoded bytes, not into the file.

use crate::error::StoreError;

pub use mime_scan::{MAX_DEPTH, MAX_PARTS, PartKind, Scan, Scanner};

/// One MIME part with its byte offsets in the message file (the
/// `mime-scan` crate's part: the IMAP side uses the same type, so stored
/// and computed offsets cannot disagree).
pub type MimePart = mime_scan::Part;

/// Scans a whole message held in memory and returns its part tree (the
/// root is the whole message). Never fails: a message without structure
/// is one leaf; nesting deeper than [`MAX_DEPTH`] is kept as leaves.
#[must_use]
pub fn parse(bytes: &[u8]) -> Option<MimePart> {
    Some(MimePart::parse(bytes))
}

/// Scans a message from a reader in 64 KiB chunks (memory bounded by a
/// line, not by the message).
///
/// # Errors
/// The reader's errors.
pub fn parse_reader(mut reader: impl std::io::Read) -> std::io::Result<MimePart> {
    let mut scanner = Scanner::new();
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        match reader.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => scanner.feed(&buf[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(scanner.finish().root)
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
