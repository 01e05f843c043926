//! BODY and BODYSTRUCTURE (RFC 9051 §7.5.2, RFC 3501 §7.4.2) from the part
//! tree and each part's MIME header fields.

use super::envelope::envelope;
use super::header::{first, trim, unfold};
use super::tree::{MAX_DEPTH, PartKind, PartOffsets};
use super::{MessageView, istring, slice};
use crate::response::{
    Body, BodyFields, BodySpecific, BodyStructure, DispositionTail, Language, LanguageTail,
    LocationTail, MultiPartExtension, SinglePartExtension,
};
use crate::types::{IString, NString};
use mail_parser::{HeaderName, HeaderValue, MessageParser};

/// `BODYSTRUCTURE`: the structure with extension data (MD5, disposition,
/// language, location) for every part.
pub fn body_structure(msg: &MessageView<'_>) -> BodyStructure {
    build(msg.bytes(), msg.root(), true, 0, false, 0)
}

/// `BODY` (non-extensible form): the structure without extension data.
pub fn body(msg: &MessageView<'_>) -> BodyStructure {
    build(msg.bytes(), msg.root(), false, 0, false, 0)
}

/// The MIME header fields of one part that the structure shows.
struct Mime {
    media_type: Vec<u8>,
    subtype: Vec<u8>,
    params: Vec<(IString, IString)>,
    disposition: Option<(IString, Vec<(IString, IString)>)>,
}

fn params(attrs: Option<&Vec<mail_parser::Attribute<'_>>>) -> Vec<(IString, IString)> {
    attrs
        .into_iter()
        .flatten()
        .map(|a| (istring(a.name.as_bytes()), istring(a.value.as_bytes())))
        .collect()
}

/// Reads Content-Type and Content-Disposition with mail-parser (which
/// handles RFC 2231 parameter continuations and charsets). A missing or
/// unusable Content-Type is `text/plain; charset=us-ascii` (RFC 2045 §5.2),
/// or `message/rfc822` inside `multipart/digest` (RFC 2046 §5.1.5).
fn mime(header: &[u8], in_digest: bool) -> Mime {
    let mut out = Mime {
        media_type: b"text".to_vec(),
        subtype: b"plain".to_vec(),
        params: vec![(istring(b"charset"), istring(b"us-ascii"))],
        disposition: None,
    };
    if in_digest {
        out.media_type = b"message".to_vec();
        out.subtype = b"rfc822".to_vec();
        out.params.clear();
    }
    let parsed = MessageParser::new().parse_headers(header);
    let Some(part) = parsed.as_ref().and_then(|m| m.parts.first()) else {
        return out;
    };
    let mut have_type = false;
    for h in &part.headers {
        match (&h.name, &h.value) {
            (HeaderName::ContentType, HeaderValue::ContentType(ct)) if !have_type => {
                have_type = true;
                let Some(sub) = ct.c_subtype.as_ref().filter(|s| !s.is_empty()) else {
                    continue;
                };
                if ct.c_type.is_empty() {
                    continue;
                }
                out.media_type = ct.c_type.as_bytes().to_vec();
                out.subtype = sub.as_bytes().to_vec();
                out.params = params(ct.attributes.as_ref());
            }
            (HeaderName::ContentDisposition, HeaderValue::ContentType(cd))
                if out.disposition.is_none() && !cd.c_type.is_empty() =>
            {
                out.disposition = Some((
                    istring(cd.c_type.as_bytes()),
                    params(cd.attributes.as_ref()),
                ));
            }
            _ => {}
        }
    }
    out
}

fn nstring_field(header: &[u8], name: &str) -> NString {
    first(header, name).map_or(NString::Nil, |v| NString::String(istring(&unfold(v))))
}

/// `body-fld-lang`: Content-Language as one string or a list (RFC 3066
/// tags separated by commas).
fn language(header: &[u8]) -> Language {
    let Some(v) = first(header, "Content-Language") else {
        return Language::Single(NString::Nil);
    };
    let v = unfold(v);
    let tags: Vec<IString> = v
        .split(|c| *c == b',')
        .map(trim)
        .filter(|t| !t.is_empty())
        .map(istring)
        .collect();
    match tags.len() {
        0 => Language::Single(NString::Nil),
        1 => Language::Single(NString::String(
            tags.into_iter().next().unwrap_or_else(|| istring(b"")),
        )),
        _ => Language::List(tags),
    }
}

fn tail(header: &[u8], disposition: Option<(IString, Vec<(IString, IString)>)>) -> DispositionTail {
    DispositionTail {
        disposition,
        language: Some(LanguageTail {
            language: language(header),
            location: Some(LocationTail {
                location: nstring_field(header, "Content-Location"),
                extensions: Vec::new(),
            }),
        }),
    }
}

/// `body-fld-lines`: the number of lines in the stored body; a last line
/// without a line break counts too.
pub(crate) fn lines(body: &[u8]) -> u64 {
    let n = body.iter().filter(|b| **b == b'\n').count() as u64;
    n + u64::from(!body.is_empty() && !body.ends_with(b"\n"))
}

fn eq(a: &[u8], b: &str) -> bool {
    a.eq_ignore_ascii_case(b.as_bytes())
}

/// Transfer-encoded `message/rfc822` parts decoded and parsed within one
/// another: each level decodes and re-parses the whole inner message, so a
/// deep chain would cost depth × size (DoS limit; mail-parser stops at a
/// similar depth). Deeper ones show an empty envelope and body.
const MAX_ENCODED_LEVELS: usize = 3;

/// The structure of `node` in `bytes`. `depth` bounds recursion through
/// nested messages and multiparts.
fn build(
    bytes: &[u8],
    node: &PartOffsets,
    ext: bool,
    depth: usize,
    in_digest: bool,
    encoded: usize,
) -> BodyStructure {
    let header = slice(bytes, node.header_range());
    let body = slice(bytes, node.body_range());
    let m = mime(header, in_digest);
    let is_multi = eq(&m.media_type, "multipart");
    if (node.kind == PartKind::Multipart || is_multi) && depth < MAX_DEPTH {
        let subtype = if is_multi {
            m.subtype.clone()
        } else {
            b"mixed".to_vec()
        };
        let digest = eq(&subtype, "digest");
        let mut bodies: Vec<BodyStructure> = node
            .children
            .iter()
            .map(|c| build(bytes, c, ext, depth + 1, digest, encoded))
            .collect();
        if bodies.is_empty() {
            // `body-type-mpart` needs at least one body. Like Dovecot, a
            // multipart without parts (no boundary found) gets one empty
            // text/plain part.
            bodies.push(empty_text(ext));
        }
        return BodyStructure::Multi {
            bodies,
            subtype: istring(&subtype),
            extension: ext.then(|| MultiPartExtension {
                parameters: if is_multi {
                    m.params.clone()
                } else {
                    Vec::new()
                },
                tail: Some(tail(header, m.disposition.clone())),
            }),
        };
    }
    let media_type = m.media_type;
    let subtype = m.subtype;
    let parameters = m.params;
    let encoding = first(header, "Content-Transfer-Encoding")
        .map(unfold)
        .filter(|e| !e.is_empty())
        .unwrap_or_else(|| b"7bit".to_vec());
    let fields = BodyFields {
        parameters,
        id: nstring_field(header, "Content-ID"),
        description: nstring_field(header, "Content-Description"),
        encoding: istring(&encoding),
        octets: u32::try_from(body.len()).unwrap_or(u32::MAX),
    };
    let is_message =
        eq(&media_type, "message") && (eq(&subtype, "rfc822") || eq(&subtype, "global"));
    let specific = if is_message {
        message_specific(bytes, node, body, &encoding, ext, depth, encoded)
    } else if eq(&media_type, "text") {
        BodySpecific::Text { lines: lines(body) }
    } else {
        BodySpecific::Basic
    };
    BodyStructure::Single {
        body: Body {
            media_type: istring(&media_type),
            media_subtype: istring(&subtype),
            fields,
            specific,
        },
        extension: ext.then(|| SinglePartExtension {
            md5: nstring_field(header, "Content-MD5"),
            tail: Some(tail(header, m.disposition)),
        }),
    }
}

/// `body-type-msg`: the encapsulated message's envelope and structure. An
/// unencoded one is in the tree already; a transfer-encoded one (which RFC
/// 2046 §5.2.1 forbids but mail exists) is decoded and parsed on the spot.
fn message_specific(
    bytes: &[u8],
    node: &PartOffsets,
    body: &[u8],
    encoding: &[u8],
    ext: bool,
    depth: usize,
    encoded: usize,
) -> BodySpecific {
    let lines = lines(body);
    if depth >= MAX_DEPTH {
        return empty_message(lines);
    }
    if let Some(inner) = node.inner_root() {
        let env = envelope(slice(bytes, inner.header_range()));
        return BodySpecific::Message {
            envelope: Box::new(env),
            body: Box::new(build(bytes, inner, ext, depth + 1, false, encoded)),
            lines,
        };
    }
    if encoded >= MAX_ENCODED_LEVELS {
        return empty_message(lines);
    }
    let decoded = super::section::decode_cte(encoding, body);
    let inner_bytes: &[u8] = match &decoded {
        Ok(std::borrow::Cow::Owned(v)) => v,
        _ => body,
    };
    let tree = PartOffsets::parse(inner_bytes);
    let env = envelope(slice(inner_bytes, tree.header_range()));
    BodySpecific::Message {
        envelope: Box::new(env),
        body: Box::new(build(
            inner_bytes,
            &tree,
            ext,
            depth + 1,
            false,
            encoded + 1,
        )),
        lines,
    }
}

fn empty_message(lines: u64) -> BodySpecific {
    BodySpecific::Message {
        envelope: Box::default(),
        body: Box::new(empty_text(false)),
        lines,
    }
}

/// `("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 0 0 ...)`: what
/// Dovecot shows for a part that is not there.
fn empty_text(ext: bool) -> BodyStructure {
    BodyStructure::Single {
        body: Body {
            media_type: istring(b"text"),
            media_subtype: istring(b"plain"),
            fields: BodyFields {
                parameters: vec![(istring(b"charset"), istring(b"us-ascii"))],
                id: NString::Nil,
                description: NString::Nil,
                encoding: istring(b"7bit"),
                octets: 0,
            },
            specific: BodySpecific::Text { lines: 0 },
        },
        extension: ext.then(|| SinglePartExtension {
            md5: NString::Nil,
            tail: Some(DispositionTail {
                disposition: None,
                language: Some(LanguageTail {
                    language: Language::Single(NString::Nil),
                    location: Some(LocationTail {
                        location: NString::Nil,
                        extensions: Vec::new(),
                    }),
                }),
            }),
        }),
    }
}
