//! `BODY[section]<partial>`, `BINARY[part]`, `BINARY.SIZE[part]` and the
//! IMAP4rev1 `RFC822.*` items (RFC 9051 §6.4.5, RFC 3516).

use super::MessageView;
use super::header::{filter_fields, first, unfold};
use super::tree::{PartKind, PartOffsets};
use crate::command::Section;
use std::borrow::Cow;
use std::num::{NonZeroU32, NonZeroU64};
use std::ops::Range;

/// What a section resolves to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SectionData {
    /// These octets of the message: the server can stream them from its
    /// file. The range always lies within the message.
    Range(Range<u64>),
    /// A small buffer built here (`HEADER.FIELDS[.NOT]` results, decoded
    /// BINARY data).
    Owned(Vec<u8>),
    /// The section does not exist in this message (a part number beyond
    /// the last part, `HEADER` of a part that is not `message/rfc822`):
    /// Dovecot answers NIL for these.
    Missing,
}

impl SectionData {
    /// The length in octets (0 for [`SectionData::Missing`]).
    pub fn len(&self) -> u64 {
        match self {
            SectionData::Range(r) => r.end.saturating_sub(r.start),
            SectionData::Owned(v) => v.len() as u64,
            SectionData::Missing => 0,
        }
    }

    /// True when there are no octets.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The octets, looked up in `msg` for a range (`None` for Missing).
    pub fn bytes<'m>(&'m self, msg: &MessageView<'m>) -> Option<&'m [u8]> {
        match self {
            SectionData::Range(r) => Some(msg.slice(r.clone())),
            SectionData::Owned(v) => Some(v),
            SectionData::Missing => None,
        }
    }

    /// Applies a partial fetch `<origin.count>` (RFC 9051 §6.4.5): the
    /// octets from `origin` on, at most `count` of them; an origin past the
    /// end gives the empty string.
    pub fn partial(self, origin: u64, count: NonZeroU64) -> SectionData {
        match self {
            SectionData::Range(r) => {
                let start = r.start.saturating_add(origin).min(r.end);
                let end = start.saturating_add(count.get()).min(r.end);
                SectionData::Range(start..end)
            }
            SectionData::Owned(v) => {
                let start = usize::try_from(origin).unwrap_or(usize::MAX).min(v.len());
                let n = usize::try_from(count.get()).unwrap_or(usize::MAX);
                let end = start.saturating_add(n).min(v.len());
                SectionData::Owned(v.get(start..end).unwrap_or_default().to_vec())
            }
            SectionData::Missing => SectionData::Missing,
        }
    }
}

/// Finds the part a `section-part` path names (RFC 9051 §6.4.5): the first
/// number picks a part of the message's root (`1` is the root itself when
/// it is not multipart); after a `message/rfc822` part the next number
/// picks a part of the encapsulated message the same way.
pub fn find_part<'t>(root: &'t PartOffsets, path: &[NonZeroU32]) -> Option<&'t PartOffsets> {
    let mut cur = root;
    for (i, n) in path.iter().enumerate() {
        if i > 0 {
            match cur.kind {
                PartKind::Message => cur = cur.inner_root()?,
                PartKind::Multipart => {}
                PartKind::Leaf => return None,
            }
        }
        let idx = usize::try_from(n.get() - 1).ok()?;
        match cur.kind {
            PartKind::Multipart => cur = cur.children.get(idx)?,
            _ if idx == 0 => {}
            _ => return None,
        }
    }
    Some(cur)
}

/// The message (or encapsulated message) whose HEADER/TEXT a section
/// names: the root for no part, the inner root of a `message/rfc822` part.
fn message_root<'t>(
    root: &'t PartOffsets,
    part: Option<&crate::command::Part>,
) -> Option<&'t PartOffsets> {
    match part {
        None => Some(root),
        Some(p) => find_part(root, p.path())?.inner_root(),
    }
}

/// The octets `TEXT` names (RFC 9051 §6.4.5): the root's body for no
/// part; for a `message/rfc822` part, the encapsulated message's body,
/// which runs to the end of the part (RFC 2046 §5.2.1: the part's body is
/// the whole message). The inner root's own end is not used: for a
/// multipart message it stops at the closing boundary, and the epilogue
/// after it is still the message's text.
pub(crate) fn text_range(
    root: &PartOffsets,
    part: Option<&crate::command::Part>,
) -> Option<Range<u64>> {
    match part {
        None => Some(root.body_range()),
        Some(p) => {
            let m = find_part(root, p.path())?;
            let inner = m.inner_root()?;
            Some(inner.body_start..m.end.max(inner.body_start))
        }
    }
}

/// `BODY[section]<origin.count>`: `None` for `BODY[]`. The result is a
/// range into the message except for `HEADER.FIELDS[.NOT]`, which builds a
/// small buffer.
pub fn body_section(
    msg: &MessageView<'_>,
    section: Option<&Section>,
    partial: Option<(u64, NonZeroU64)>,
) -> SectionData {
    let root = msg.root();
    let data = match section {
        None => SectionData::Range(0..msg.bytes().len() as u64),
        Some(Section::Part(p)) => find_part(root, p.path())
            .map_or(SectionData::Missing, |n| SectionData::Range(n.body_range())),
        Some(Section::Mime(p)) => find_part(root, p.path()).map_or(SectionData::Missing, |n| {
            SectionData::Range(n.header_range())
        }),
        Some(Section::Header(p)) => message_root(root, p.as_ref())
            .map_or(SectionData::Missing, |n| {
                SectionData::Range(n.header_range())
            }),
        Some(Section::Text(p)) => {
            text_range(root, p.as_ref()).map_or(SectionData::Missing, SectionData::Range)
        }
        Some(Section::HeaderFields { part, not, fields }) => {
            match message_root(root, part.as_ref()) {
                Some(n) => {
                    let names: Vec<&[u8]> = fields.iter().map(|f| f.as_bytes()).collect();
                    SectionData::Owned(filter_fields(msg.slice(n.header_range()), &names, *not))
                }
                None => SectionData::Missing,
            }
        }
    };
    match partial {
        Some((origin, count)) => data.partial(origin, count),
        None => data,
    }
}

/// What an IMAP URL's `;SECTION=` and `;PARTIAL=` name in a stored
/// message (RFC 5092 §3, RFC 4469 CATENATE, RFC 4467 URLFETCH), computed
/// from the part offsets alone so the server can copy the octets from its
/// file without holding the message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum UrlSection {
    /// These octets of the message.
    Range(Range<u64>),
    /// `HEADER.FIELDS[.NOT]`: the header in `header`, filtered with
    /// [`UrlSection::filter`], then cut by `partial`.
    Fields {
        /// The header's octets.
        header: Range<u64>,
        /// Field names.
        names: Vec<Vec<u8>>,
        /// `.NOT`.
        not: bool,
        /// `;PARTIAL=` still to apply.
        partial: Option<(u64, Option<u64>)>,
    },
    /// The section does not exist in this message.
    Missing,
}

impl UrlSection {
    /// Resolves `section` (`None`: the whole message of `len` octets) and
    /// `partial` (`offset[.length]`; an offset past the end is empty).
    pub fn resolve(
        root: &PartOffsets,
        len: u64,
        section: Option<&Section>,
        partial: Option<(u64, Option<u64>)>,
    ) -> UrlSection {
        let range = match section {
            None => 0..len,
            Some(Section::Part(p)) => match find_part(root, p.path()) {
                Some(n) => n.body_range(),
                None => return UrlSection::Missing,
            },
            Some(Section::Mime(p)) => match find_part(root, p.path()) {
                Some(n) => n.header_range(),
                None => return UrlSection::Missing,
            },
            Some(Section::Header(p)) => match message_root(root, p.as_ref()) {
                Some(n) => n.header_range(),
                None => return UrlSection::Missing,
            },
            Some(Section::Text(p)) => match message_root(root, p.as_ref()) {
                Some(n) => n.body_range(),
                None => return UrlSection::Missing,
            },
            Some(Section::HeaderFields { part, not, fields }) => {
                return match message_root(root, part.as_ref()) {
                    Some(n) => UrlSection::Fields {
                        header: n.header_range(),
                        names: fields.iter().map(|f| f.as_bytes().to_vec()).collect(),
                        not: *not,
                        partial,
                    },
                    None => UrlSection::Missing,
                };
            }
        };
        let range = range.start.min(len)..range.end.min(len);
        UrlSection::Range(cut(range, partial))
    }

    /// The `HEADER.FIELDS[.NOT]` result from the header's octets.
    pub fn filter(
        header: &[u8],
        names: &[Vec<u8>],
        not: bool,
        partial: Option<(u64, Option<u64>)>,
    ) -> Vec<u8> {
        let v = filter_fields(header, names, not);
        let r = cut(0..v.len() as u64, partial);
        v.get(r.start as usize..r.end as usize)
            .unwrap_or_default()
            .to_vec()
    }
}

/// `;PARTIAL=offset[.length]` within `r`.
fn cut(r: Range<u64>, partial: Option<(u64, Option<u64>)>) -> Range<u64> {
    match partial {
        None => r,
        Some((offset, length)) => {
            let start = r.start.saturating_add(offset).min(r.end);
            let end = length.map_or(r.end, |l| start.saturating_add(l).min(r.end));
            start..end
        }
    }
}

/// `RFC822.SIZE`: the message's size in octets as stored.
pub fn rfc822_size(msg: &MessageView<'_>) -> u64 {
    msg.bytes().len() as u64
}

/// `RFC822.HEADER` (IMAP4rev1): same as `BODY.PEEK[HEADER]`.
pub fn rfc822_header(msg: &MessageView<'_>) -> Range<u64> {
    msg.root().header_range()
}

/// `RFC822.TEXT` (IMAP4rev1): same as `BODY[TEXT]`.
pub fn rfc822_text(msg: &MessageView<'_>) -> Range<u64> {
    msg.root().body_range()
}

/// Why `BINARY[...]` cannot be answered.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum BinaryError {
    /// The part's Content-Transfer-Encoding is not one we can decode: the
    /// server answers `NO [UNKNOWN-CTE]` (RFC 3516 §4.3).
    UnknownCte(Vec<u8>),
    /// No such part: the server answers NIL, as for BODY[].
    Missing,
}

impl std::fmt::Display for BinaryError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            BinaryError::UnknownCte(c) => {
                write!(
                    f,
                    "unknown content-transfer-encoding {:?}",
                    String::from_utf8_lossy(c)
                )
            }
            BinaryError::Missing => f.write_str("no such part"),
        }
    }
}

impl std::error::Error for BinaryError {}

/// Decodes a body by its Content-Transfer-Encoding (RFC 2045 §6): identity
/// encodings borrow, base64 and quoted-printable use mail-parser's lenient
/// decoders (a damaged body decodes as far as it goes, as Dovecot does).
pub(crate) fn decode_cte<'b>(
    encoding: &[u8],
    body: &'b [u8],
) -> Result<Cow<'b, [u8]>, BinaryError> {
    let e = super::header::trim(encoding).to_ascii_lowercase();
    match e.as_slice() {
        b"" | b"7bit" | b"8bit" | b"binary" => Ok(Cow::Borrowed(body)),
        b"base64" => Ok(Cow::Owned(
            mail_parser::decoders::base64::base64_decode(body).unwrap_or_default(),
        )),
        b"quoted-printable" => Ok(Cow::Owned(
            mail_parser::decoders::quoted_printable::quoted_printable_decode(body)
                .unwrap_or_default(),
        )),
        _ => Err(BinaryError::UnknownCte(e)),
    }
}

/// The decoded content of a part for BINARY: a range when no decoding is
/// needed, a buffer otherwise. An empty path is the whole message, which
/// is never decoded (RFC 3516 §4.2).
fn binary_data(msg: &MessageView<'_>, path: &[NonZeroU32]) -> Result<SectionData, BinaryError> {
    if path.is_empty() {
        return Ok(SectionData::Range(0..msg.bytes().len() as u64));
    }
    let node = find_part(msg.root(), path).ok_or(BinaryError::Missing)?;
    let body = msg.slice(node.body_range());
    if node.kind != PartKind::Leaf {
        // Multiparts and encapsulated messages are not transfer-encoded.
        return Ok(SectionData::Range(node.body_range()));
    }
    let header = msg.slice(node.header_range());
    let cte = first(header, "Content-Transfer-Encoding")
        .map(unfold)
        .unwrap_or_default();
    Ok(match decode_cte(&cte, body)? {
        Cow::Borrowed(_) => SectionData::Range(node.body_range()),
        Cow::Owned(v) => SectionData::Owned(v),
    })
}

/// `BINARY[part]<origin.count>` (RFC 3516 §4.2): the part's content with
/// its transfer encoding removed.
///
/// # Errors
/// [`BinaryError::UnknownCte`] for an encoding other than 7bit, 8bit,
/// binary, base64 or quoted-printable; [`BinaryError::Missing`] when there
/// is no such part.
pub fn binary(
    msg: &MessageView<'_>,
    path: &[NonZeroU32],
    partial: Option<(u64, NonZeroU64)>,
) -> Result<SectionData, BinaryError> {
    let data = binary_data(msg, path)?;
    Ok(match partial {
        Some((o, n)) => data.partial(o, n),
        None => data,
    })
}

/// `BINARY.SIZE[part]` (RFC 3516 §4.2): the decoded size.
///
/// # Errors
/// As [`binary`].
pub fn binary_size(msg: &MessageView<'_>, path: &[NonZeroU32]) -> Result<u64, BinaryError> {
    binary_data(msg, path).map(|d| d.len())
}
