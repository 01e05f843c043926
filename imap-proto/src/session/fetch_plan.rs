//! What a FETCH needs, decided from its items alone (RFC 9051 §6.4.5;
//! RFC 3516 BINARY): the content level to ask the adapter for, which
//! items set `\Seen`, and the byte range each section names in the part
//! offsets. Pure functions, apart from the session's state; `fetch.rs`
//! runs the job that uses them.

use super::ContentNeed;
use crate::command::{FetchAttribute, Section};
use crate::message::{BinaryItem, MessageView, PartOffsets, SectionData, find_part};
use std::num::NonZeroU32;

/// The BINARY and BINARY.SIZE items of a FETCH, in order: (part path,
/// partial).
pub(super) fn binary_items(items: &[FetchAttribute]) -> Vec<BinaryItem<'_>> {
    items
        .iter()
        .filter_map(|i| match i {
            FetchAttribute::Binary {
                section, partial, ..
            } => Some((section.as_slice(), *partial)),
            FetchAttribute::BinarySize { section } => Some((section.as_slice(), None)),
            _ => None,
        })
        .collect()
}

/// What an item needs beyond the view's metadata, alone.
pub(super) fn item_need(item: &FetchAttribute) -> Option<ContentNeed> {
    use FetchAttribute as A;
    match item {
        A::Flags
        | A::Uid
        | A::InternalDate
        | A::Rfc822Size
        | A::ModSeq
        | A::EmailId
        | A::ThreadId
        | A::SaveDate => None,
        // The octets are copied from the file later: ask first, so that a
        // file shorter than its indexed size is found before its literal
        // is announced (the adapter checks it when it answers).
        A::Rfc822 => Some(ContentNeed::Offsets),
        A::Envelope => Some(ContentNeed::Header),
        // The root's header and text are ranges: the part offsets give
        // them, and so does the header's length alone.
        A::Rfc822Header | A::Rfc822Text => Some(ContentNeed::Offsets),
        A::Body | A::BodyStructure => Some(ContentNeed::Message),
        // Decoded in chunks, never held (RFC 3516).
        A::Binary { .. } | A::BinarySize { .. } => Some(ContentNeed::Stream),
        A::BodySection { section, .. } => match section {
            None => Some(ContentNeed::Offsets),
            Some(Section::HeaderFields { part: None, .. }) => Some(ContentNeed::Header),
            Some(Section::HeaderFields { .. }) => Some(ContentNeed::Message),
            Some(_) => Some(ContentNeed::Offsets),
        },
    }
}

/// True for an item whose octets need the offsets of a MIME part below the
/// root (`BODY[1]`, `BODY[2.MIME]`, `BODY[3.TEXT]`): a
/// [`ContentNeed::Header`] answer cannot serve it.
pub(super) fn needs_part_offsets(item: &FetchAttribute) -> bool {
    match item {
        FetchAttribute::BodySection {
            section: Some(section),
            ..
        } => match section {
            Section::Part(_) | Section::Mime(_) => true,
            Section::Header(p) | Section::Text(p) => p.is_some(),
            Section::HeaderFields { .. } => false,
        },
        _ => false,
    }
}

/// True when `item` is `BODY[n.HEADER]`/`BODY[n.TEXT]` of a part the
/// offsets show as a leaf: a `message/rfc822` in a transfer encoding (or
/// no message at all), whose encapsulated header and text exist only once
/// decoded (RFC 9051 §6.4.5).
pub(super) fn needs_decoded_message(item: &FetchAttribute, root: &PartOffsets) -> bool {
    let FetchAttribute::BodySection {
        section: Some(Section::Header(Some(p)) | Section::Text(Some(p))),
        ..
    } = item
    else {
        return false;
    };
    find_part(root, p.path()).is_some_and(|n| n.inner_root().is_none())
}

/// `HEADER`/`TEXT` of the `message/rfc822` (or `message/global`) part at
/// `path` when the part is transfer-encoded: the decoded body is the
/// encapsulated message, parsed here. `None` when the part is not such a
/// message (the section then does not exist: NIL).
pub(super) fn decoded_message_section(
    view: &MessageView<'_>,
    root: &PartOffsets,
    path: &[NonZeroU32],
    text: bool,
) -> Option<SectionData> {
    let node = find_part(root, path)?;
    if node.inner_root().is_some() {
        return None;
    }
    let header = view.slice(node.header_range());
    use mail_parser::MimeHeaders;
    let parsed = mail_parser::MessageParser::new().parse_headers(header)?;
    let ct = parsed.content_type()?;
    let is_message = ct.c_type.eq_ignore_ascii_case("message")
        && ct
            .c_subtype
            .as_deref()
            .is_some_and(|s| s.eq_ignore_ascii_case("rfc822") || s.eq_ignore_ascii_case("global"));
    if !is_message {
        return None;
    }
    let decoded = crate::message::binary(view, path, None).ok()?;
    let bytes = decoded.bytes(view)?.to_vec();
    let inner = PartOffsets::parse(&bytes);
    let range = if text {
        inner.body_range()
    } else {
        inner.header_range()
    };
    let (s, e) = (range.start as usize, range.end as usize);
    Some(SectionData::Owned(bytes.get(s..e)?.to_vec()))
}

/// The content level to ask of the adapter for a whole FETCH: every item
/// must be servable from one answer. [`ContentNeed::Header`] carries no
/// part offsets, so header items together with part sections ask for the
/// message (which carries both).
pub(super) fn fetch_need(items: &[FetchAttribute]) -> Option<ContentNeed> {
    let need = items.iter().filter_map(item_need).max()?;
    if need == ContentNeed::Header && items.iter().any(needs_part_offsets) {
        return Some(ContentNeed::Message);
    }
    Some(need)
}

/// The root's header and text ranges from a header alone (`body_start` is
/// the header's length): enough for `BODY[HEADER]`, `BODY[TEXT]` and the
/// `RFC822.*` items without the part offsets.
pub(super) fn root_from_header(header_len: u64, size: u64) -> PartOffsets {
    let body_start = header_len.min(size);
    PartOffsets {
        kind: crate::message::PartKind::Leaf,
        header_start: 0,
        body_start,
        end: size,
        children: Vec::new(),
    }
}

/// True for items that set `\Seen` (RFC 9051 §6.4.5).
pub(super) fn sets_seen(item: &FetchAttribute) -> bool {
    use FetchAttribute as A;
    match item {
        A::BodySection { peek, .. } | A::Binary { peek, .. } => !peek,
        A::Rfc822 | A::Rfc822Text => true,
        _ => false,
    }
}

/// The range a section names, from the part offsets alone (`None` for
/// HEADER.FIELDS, which needs the octets).
pub(super) fn section_range(
    root: &PartOffsets,
    size: u64,
    section: Option<&Section>,
) -> Option<SectionData> {
    let inner = |p: &Option<crate::command::Part>| match p {
        None => Some(root),
        Some(p) => find_part(root, p.path()).and_then(|n| n.inner_root()),
    };
    Some(match section {
        None => SectionData::Range(0..size),
        Some(Section::Part(p)) => find_part(root, p.path())
            .map_or(SectionData::Missing, |n| SectionData::Range(n.body_range())),
        Some(Section::Mime(p)) => find_part(root, p.path()).map_or(SectionData::Missing, |n| {
            SectionData::Range(n.header_range())
        }),
        Some(Section::Header(p)) => inner(p).map_or(SectionData::Missing, |n| {
            SectionData::Range(n.header_range())
        }),
        Some(Section::Text(p)) => crate::message::section::text_range(root, p.as_ref())
            .map_or(SectionData::Missing, SectionData::Range),
        Some(Section::HeaderFields { .. }) => return None,
    })
}
