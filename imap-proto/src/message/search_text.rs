//! The text matching shared by the in-memory search (`search.rs`) and the
//! streamed body search (`search_body.rs`): the lower-cased needle, what a
//! leaf's header says about searching it, and the walk over a parsed
//! message's text parts (RFC 9051 §6.4.4 BODY/TEXT, RFC 2045 §6 transfer
//! encodings, RFC 2046 §5.1.5 digests). Below both files, so neither
//! imports the other.

use super::{PartKind, PartOffsets};
use crate::types::AString;
use mail_parser::{HeaderName, HeaderValue, MessageParser};

/// A lower-cased search string.
#[derive(Clone, Debug)]
pub(super) struct Needle {
    pub(super) lower: String,
    ascii: bool,
}

impl Needle {
    /// Lower-cases a search key's string once per command.
    pub(super) fn new(s: &AString) -> Self {
        let lower = String::from_utf8_lossy(s.as_bytes()).to_lowercase();
        let ascii = lower.is_ascii();
        Needle { lower, ascii }
    }

    /// Case-insensitive substring match (RFC 9051 §6.4.4: "case-insensitive
    /// substring"). ASCII needles are matched without allocating: ASCII
    /// bytes never occur inside a UTF-8 multi-byte sequence.
    pub(super) fn found_in(&self, hay: &str) -> bool {
        if self.lower.is_empty() {
            return true;
        }
        if self.ascii {
            let n = self.lower.as_bytes();
            return hay
                .as_bytes()
                .windows(n.len())
                .any(|w| w.eq_ignore_ascii_case(n));
        }
        hay.to_lowercase().contains(&self.lower)
    }
}

/// Transfer-encoded `message/rfc822` parts decoded and searched within one
/// another (mail-parser's limit too): each level decodes a copy.
pub(super) const MAX_ENCODED_LEVELS: usize = 3;

/// What a leaf's header says about searching it.
pub(super) struct LeafType {
    /// Searched as text: `text/*`, a default type, or a multipart without
    /// parts (mail-parser reads those as text too).
    pub(super) text: bool,
    /// `message/rfc822` or `message/global`.
    pub(super) message: bool,
    pub(super) charset: Option<Vec<u8>>,
    pub(super) encoding: Vec<u8>,
}

pub(super) fn leaf_type(header: &[u8], in_digest: bool) -> LeafType {
    let parsed = MessageParser::new().parse_headers(header);
    let headers = parsed
        .as_ref()
        .and_then(|m| m.parts.first())
        .map_or(&[][..], |p| p.headers.as_slice());
    // The last field counts, as in mail-parser's own reading.
    let ct = headers
        .iter()
        .rev()
        .find_map(|h| match (&h.name, &h.value) {
            (HeaderName::ContentType, HeaderValue::ContentType(ct)) => Some(ct),
            _ => None,
        });
    let encoding = headers
        .iter()
        .rev()
        .find_map(|h| match (&h.name, &h.value) {
            (HeaderName::ContentTransferEncoding, HeaderValue::Text(t)) => {
                Some(t.as_bytes().to_vec())
            }
            _ => None,
        })
        .unwrap_or_default();
    let (text, message, charset) = match ct {
        None => (!in_digest, in_digest, None),
        Some(ct) => {
            let t = ct.c_type.to_ascii_lowercase();
            let sub = ct.c_subtype.as_deref().unwrap_or("").to_ascii_lowercase();
            let charset = ct
                .attributes
                .iter()
                .flatten()
                .find(|a| a.name.eq_ignore_ascii_case("charset"))
                .map(|a| a.value.as_bytes().to_vec());
            (
                t == "text" || t == "multipart",
                t == "message" && (sub == "rfc822" || sub == "global"),
                charset,
            )
        }
    };
    LeafType {
        text,
        message,
        charset,
        encoding,
    }
}

/// The body without its transfer encoding (RFC 2045 §6); `None` when a
/// base64 or quoted-printable body does not decode. Unknown encodings are
/// searched as they stand.
fn decode<'b>(encoding: &[u8], body: &'b [u8]) -> Option<std::borrow::Cow<'b, [u8]>> {
    let e = super::header::trim(encoding);
    if e.eq_ignore_ascii_case(b"base64") {
        mail_parser::decoders::base64::base64_decode(body).map(std::borrow::Cow::Owned)
    } else if e.eq_ignore_ascii_case(b"quoted-printable") {
        mail_parser::decoders::quoted_printable::quoted_printable_decode(body)
            .map(std::borrow::Cow::Owned)
    } else {
        Some(std::borrow::Cow::Borrowed(body))
    }
}

/// `multipart/digest` (RFC 2046 §5.1.5): parts default to message/rfc822.
pub(super) fn is_digest(header: &[u8]) -> bool {
    let parsed = MessageParser::new().parse_headers(header);
    let headers = parsed
        .as_ref()
        .and_then(|m| m.parts.first())
        .map_or(&[][..], |p| p.headers.as_slice());
    headers
        .iter()
        .rev()
        .find_map(|h| match (&h.name, &h.value) {
            (HeaderName::ContentType, HeaderValue::ContentType(ct)) => Some(
                ct.c_subtype
                    .as_deref()
                    .is_some_and(|s| s.eq_ignore_ascii_case("digest")),
            ),
            _ => None,
        })
        == Some(true)
}

/// True if a text part of the tree contains `needle`. The walk is an
/// explicit stack; only a transfer-encoded encapsulated message recurses,
/// at most [`MAX_ENCODED_LEVELS`] deep.
pub(super) fn text_parts_contain(
    raw: &[u8],
    root: &PartOffsets,
    needle: &Needle,
    encoded: usize,
) -> bool {
    let mut stack: Vec<(&PartOffsets, bool)> = vec![(root, false)];
    while let Some((p, in_digest)) = stack.pop() {
        match p.kind {
            PartKind::Multipart => {
                let digest = is_digest(super::slice(raw, p.header_range()));
                stack.extend(p.children.iter().rev().map(|c| (c, digest)));
            }
            PartKind::Message => stack.extend(p.inner_root().map(|c| (c, false))),
            PartKind::Leaf => {
                let t = leaf_type(super::slice(raw, p.header_range()), in_digest);
                let body = super::slice(raw, p.body_range());
                // A body its transfer encoding cannot decode is searched
                // as it stands, as text (mail-parser's reading too).
                let (decoded, broken) = match decode(&t.encoding, body) {
                    Some(d) => (d, false),
                    None => (std::borrow::Cow::Borrowed(body), true),
                };
                if t.message && !broken {
                    // An unencoded one here lies beyond the depth limit and
                    // is not searched; an encoded one is decoded and read.
                    if let std::borrow::Cow::Owned(inner) = &decoded
                        && encoded < MAX_ENCODED_LEVELS
                    {
                        let tree = PartOffsets::parse(inner);
                        if text_parts_contain(inner, &tree, needle, encoded + 1) {
                            return true;
                        }
                    }
                    continue;
                }
                if !t.text && !broken {
                    continue;
                }
                let text = match t
                    .charset
                    .as_deref()
                    .and_then(mail_parser::decoders::charsets::map::charset_decoder)
                {
                    Some(decode) => std::borrow::Cow::Owned(decode(&decoded)),
                    None => String::from_utf8_lossy(&decoded),
                };
                if needle.found_in(&text) {
                    return true;
                }
            }
        }
    }
    false
}
