//! FETCH items (RFC 9051 §6.4.5, RFC 3516 BINARY, RFC 7162 MODSEQ) and body
//! sections, shared with the FETCH response.

use crate::core::{
    PResult, UpperName, fail, is_atom_char, keyword, mod_sequence_value, number64, nz_number,
    paren_list1, sp,
};
use crate::encode::{Encode, Encoder};
use crate::types::{AString, astring};
use nom::Parser;
use nom::branch::alt;
use nom::bytes::complete::{tag, tag_no_case, take_while1};
use nom::combinator::{map, opt};
use std::num::{NonZeroU32, NonZeroU64};

/// `section-part = nz-number *("." nz-number)`: a MIME part path, never empty.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Part(Vec<NonZeroU32>);

impl Part {
    /// A part path; `None` when empty.
    pub fn new(path: Vec<NonZeroU32>) -> Option<Self> {
        (!path.is_empty()).then_some(Part(path))
    }
    /// The path.
    pub fn path(&self) -> &[NonZeroU32] {
        &self.0
    }
}

impl Encode for Part {
    fn encode(&self, enc: &mut Encoder) {
        for (n, p) in self.0.iter().enumerate() {
            if n > 0 {
                enc.put(b".");
            }
            enc.put_num(p);
        }
    }
}

/// `section-spec = section-msgtext / (section-part ["." section-text])`
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Section {
    /// `1.2`: a part's body.
    Part(Part),
    /// `[part.]HEADER`
    Header(Option<Part>),
    /// `[part.]HEADER.FIELDS (...)` or, with `not`, `HEADER.FIELDS.NOT (...)`
    HeaderFields {
        /// The part, or the whole message.
        part: Option<Part>,
        /// `.NOT`.
        not: bool,
        /// Field names (at least one).
        fields: Vec<AString>,
    },
    /// `[part.]TEXT`
    Text(Option<Part>),
    /// `part.MIME`
    Mime(Part),
}

impl Encode for Section {
    fn encode(&self, enc: &mut Encoder) {
        let prefix = |enc: &mut Encoder, p: &Option<Part>| {
            if let Some(p) = p {
                p.encode(enc);
                enc.put(b".");
            }
        };
        match self {
            Section::Part(p) => p.encode(enc),
            Section::Header(p) => {
                prefix(enc, p);
                enc.put(b"HEADER");
            }
            Section::HeaderFields { part, not, fields } => {
                prefix(enc, part);
                enc.put(if *not {
                    b"HEADER.FIELDS.NOT ("
                } else {
                    b"HEADER.FIELDS ("
                });
                crate::encode::sp_sep(enc, fields);
                enc.put(b")");
            }
            Section::Text(p) => {
                prefix(enc, p);
                enc.put(b"TEXT");
            }
            Section::Mime(p) => {
                p.encode(enc);
                enc.put(b".MIME");
            }
        }
    }
}

/// Writes `"[" [section] "]"`.
pub(crate) fn encode_section(enc: &mut Encoder, s: &Option<Section>) {
    enc.put(b"[");
    if let Some(s) = s {
        s.encode(enc);
    }
    enc.put(b"]");
}

/// Writes `"[" [section-part] "]"` for BINARY.
pub(crate) fn encode_binary_section(enc: &mut Encoder, s: &[NonZeroU32]) {
    enc.put(b"[");
    for (n, p) in s.iter().enumerate() {
        if n > 0 {
            enc.put(b".");
        }
        enc.put_num(p);
    }
    enc.put(b"]");
}

/// A FETCH macro (`"ALL" / "FULL" / "FAST"`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum FetchMacro {
    /// `(FLAGS INTERNALDATE RFC822.SIZE ENVELOPE)`
    All,
    /// `(FLAGS INTERNALDATE RFC822.SIZE)`
    Fast,
    /// `(FLAGS INTERNALDATE RFC822.SIZE ENVELOPE BODY)`
    Full,
}

impl FetchMacro {
    /// The items the macro stands for (RFC 9051 §6.4.5).
    pub fn expand(self) -> Vec<FetchAttribute> {
        let mut v = vec![
            FetchAttribute::Flags,
            FetchAttribute::InternalDate,
            FetchAttribute::Rfc822Size,
        ];
        match self {
            FetchMacro::Fast => {}
            FetchMacro::All => v.push(FetchAttribute::Envelope),
            FetchMacro::Full => {
                v.push(FetchAttribute::Envelope);
                v.push(FetchAttribute::Body);
            }
        }
        v
    }
}

/// The items argument of FETCH.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FetchAttributes {
    /// `ALL`, `FAST` or `FULL`.
    Macro(FetchMacro),
    /// One item without parentheses.
    Single(FetchAttribute),
    /// `"(" fetch-att *(SP fetch-att) ")"`.
    List(Vec<FetchAttribute>),
}

impl FetchAttributes {
    /// The requested items, macros expanded.
    pub fn items(&self) -> Vec<FetchAttribute> {
        match self {
            FetchAttributes::Macro(m) => m.expand(),
            FetchAttributes::Single(a) => vec![a.clone()],
            FetchAttributes::List(v) => v.clone(),
        }
    }
}

/// `fetch-att` (RFC 9051 §9, RFC 3516, RFC 7162)
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum FetchAttribute {
    /// `ENVELOPE`
    Envelope,
    /// `FLAGS`
    Flags,
    /// `INTERNALDATE`
    InternalDate,
    /// `RFC822` (IMAP4rev1)
    Rfc822,
    /// `RFC822.HEADER` (IMAP4rev1)
    Rfc822Header,
    /// `RFC822.SIZE`
    Rfc822Size,
    /// `RFC822.TEXT` (IMAP4rev1)
    Rfc822Text,
    /// `BODY`
    Body,
    /// `BODYSTRUCTURE`
    BodyStructure,
    /// `UID`
    Uid,
    /// `MODSEQ` (RFC 7162)
    ModSeq,
    /// `EMAILID` (RFC 8474 §5.1)
    EmailId,
    /// `THREADID` (RFC 8474 §5.2)
    ThreadId,
    /// `SAVEDATE` (RFC 8514 §4.1)
    SaveDate,
    /// `BODY[section]<partial>` or `BODY.PEEK[...]`
    BodySection {
        /// `.PEEK`: do not set `\Seen`.
        peek: bool,
        /// The section; `None` is `[]`.
        section: Option<Section>,
        /// `<offset.length>`
        partial: Option<(u64, NonZeroU64)>,
    },
    /// `BINARY[part]<partial>` or `BINARY.PEEK[...]` (RFC 3516)
    Binary {
        /// `.PEEK`.
        peek: bool,
        /// The part path (empty: whole message).
        section: Vec<NonZeroU32>,
        /// `<offset.length>`
        partial: Option<(u64, NonZeroU64)>,
    },
    /// `BINARY.SIZE[part]` (RFC 3516)
    BinarySize {
        /// The part path.
        section: Vec<NonZeroU32>,
    },
}

fn encode_partial(enc: &mut Encoder, p: &Option<(u64, NonZeroU64)>) {
    if let Some((o, l)) = p {
        enc.put(b"<");
        enc.put_num(o);
        enc.put(b".");
        enc.put_num(l);
        enc.put(b">");
    }
}

impl Encode for FetchAttribute {
    fn encode(&self, enc: &mut Encoder) {
        let simple: &[u8] = match self {
            FetchAttribute::Envelope => b"ENVELOPE",
            FetchAttribute::Flags => b"FLAGS",
            FetchAttribute::InternalDate => b"INTERNALDATE",
            FetchAttribute::Rfc822 => b"RFC822",
            FetchAttribute::Rfc822Header => b"RFC822.HEADER",
            FetchAttribute::Rfc822Size => b"RFC822.SIZE",
            FetchAttribute::Rfc822Text => b"RFC822.TEXT",
            FetchAttribute::Body => b"BODY",
            FetchAttribute::BodyStructure => b"BODYSTRUCTURE",
            FetchAttribute::Uid => b"UID",
            FetchAttribute::ModSeq => b"MODSEQ",
            FetchAttribute::EmailId => b"EMAILID",
            FetchAttribute::ThreadId => b"THREADID",
            FetchAttribute::SaveDate => b"SAVEDATE",
            FetchAttribute::BodySection {
                peek,
                section,
                partial,
            } => {
                enc.put(if *peek { b"BODY.PEEK" } else { b"BODY" });
                encode_section(enc, section);
                encode_partial(enc, partial);
                return;
            }
            FetchAttribute::Binary {
                peek,
                section,
                partial,
            } => {
                enc.put(if *peek { b"BINARY.PEEK" } else { b"BINARY" });
                encode_binary_section(enc, section);
                encode_partial(enc, partial);
                return;
            }
            FetchAttribute::BinarySize { section } => {
                enc.put(b"BINARY.SIZE");
                encode_binary_section(enc, section);
                return;
            }
        };
        enc.put(simple);
    }
}

impl Encode for FetchAttributes {
    fn encode(&self, enc: &mut Encoder) {
        match self {
            FetchAttributes::Macro(m) => enc.put(match m {
                FetchMacro::All => b"ALL",
                FetchMacro::Fast => b"FAST",
                FetchMacro::Full => b"FULL",
            }),
            FetchAttributes::Single(a) => a.encode(enc),
            FetchAttributes::List(v) => crate::encode::paren(enc, v),
        }
    }
}

/// `fetch-modifier = "CHANGEDSINCE" SP mod-sequence-value / "VANISHED"` (RFC 7162 §3.1.4.1, §3.2.6)
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum FetchModifier {
    /// `CHANGEDSINCE n`
    ChangedSince(u64),
    /// `VANISHED`
    Vanished,
    /// `PARTIAL partial-range` (RFC 9394 §3.2): only the messages at
    /// these positions among those the command names.
    Partial(super::PartialRange),
}

impl Encode for FetchModifier {
    fn encode(&self, enc: &mut Encoder) {
        match self {
            FetchModifier::ChangedSince(n) => {
                enc.put(b"CHANGEDSINCE ");
                enc.put_num(n);
            }
            FetchModifier::Vanished => enc.put(b"VANISHED"),
            FetchModifier::Partial(r) => {
                enc.put(b"PARTIAL ");
                r.encode(enc);
            }
        }
    }
}

/// `fetch-modifier`
pub(crate) fn fetch_modifier(i: &[u8]) -> PResult<'_, FetchModifier> {
    alt((
        map(
            (keyword("CHANGEDSINCE"), sp, mod_sequence_value),
            |(_, _, n)| FetchModifier::ChangedSince(n),
        ),
        map(keyword("VANISHED"), |_| FetchModifier::Vanished),
        // fetch-modifier =/ "PARTIAL" SP partial-range (RFC 9394 §5)
        map(
            (keyword("PARTIAL"), sp, super::partial::partial_range),
            |(_, _, r)| FetchModifier::Partial(r),
        ),
    ))
    .parse(i)
}

/// `section-part = nz-number *("." nz-number)`
fn section_part(i: &[u8]) -> PResult<'_, Part> {
    let (mut rest, first) = nz_number(i)?;
    let mut v = vec![first];
    while let Some(r) = rest.strip_prefix(b".") {
        match nz_number(r) {
            Ok((r, n)) => {
                v.push(n);
                rest = r;
            }
            Err(_) => break,
        }
    }
    Ok((rest, Part(v)))
}

/// `header-list = "(" header-fld-name *(SP header-fld-name) ")"`
fn header_list(i: &[u8]) -> PResult<'_, Vec<AString>> {
    paren_list1(astring)(i)
}

/// `section-msgtext = "HEADER" / "HEADER.FIELDS" [".NOT"] SP header-list / "TEXT"`
fn section_msgtext(part: Option<Part>) -> impl FnMut(&[u8]) -> PResult<'_, Section> {
    move |i: &[u8]| {
        if let Ok((r, _)) =
            tag_no_case::<_, _, nom::error::Error<&[u8]>>(&b"HEADER.FIELDS"[..]).parse(i)
        {
            let (r, not) = opt(tag_no_case(&b".NOT"[..])).parse(r)?;
            let (r, _) = sp(r)?;
            let (r, fields) = header_list(r)?;
            return Ok((
                r,
                Section::HeaderFields {
                    part: part.clone(),
                    not: not.is_some(),
                    fields,
                },
            ));
        }
        if let Ok((r, _)) = tag_no_case::<_, _, nom::error::Error<&[u8]>>(&b"HEADER"[..]).parse(i) {
            return Ok((r, Section::Header(part.clone())));
        }
        if let Ok((r, _)) = tag_no_case::<_, _, nom::error::Error<&[u8]>>(&b"TEXT"[..]).parse(i) {
            return Ok((r, Section::Text(part.clone())));
        }
        Err(fail(i))
    }
}

/// `section-spec = section-msgtext / (section-part ["." section-text])`;
/// `section-text = section-msgtext / "MIME"`
fn section_spec(i: &[u8]) -> PResult<'_, Section> {
    if let Ok((r, part)) = section_part(i) {
        if let Some(r2) = r.strip_prefix(b".") {
            if let Ok((r3, _)) =
                tag_no_case::<_, _, nom::error::Error<&[u8]>>(&b"MIME"[..]).parse(r2)
            {
                return Ok((r3, Section::Mime(part)));
            }
            return section_msgtext(Some(part))(r2);
        }
        return Ok((r, Section::Part(part)));
    }
    section_msgtext(None)(i)
}

/// `section = "[" [section-spec] "]"`
pub(crate) fn section(i: &[u8]) -> PResult<'_, Option<Section>> {
    let (r, _) = tag(&b"["[..]).parse(i)?;
    let (r, s) = opt(section_spec).parse(r)?;
    let (r, _) = tag(&b"]"[..]).parse(r)?;
    Ok((r, s))
}

impl Section {
    /// Parses a `section-spec` without brackets (`HEADER`, `1.2.MIME`,
    /// `HEADER.FIELDS (Subject)`), as IMAP URLs carry it (RFC 5092 §3);
    /// `None` unless all of `spec` is one.
    pub fn parse_spec(spec: &[u8]) -> Option<Section> {
        match section_spec(spec) {
            Ok((&[], s)) => Some(s),
            _ => None,
        }
    }
}

/// `section-binary = "[" [section-part] "]"` (RFC 3516)
pub(crate) fn section_binary(i: &[u8]) -> PResult<'_, Vec<NonZeroU32>> {
    let (r, _) = tag(&b"["[..]).parse(i)?;
    let (r, s) = opt(section_part).parse(r)?;
    let (r, _) = tag(&b"]"[..]).parse(r)?;
    Ok((r, s.map(|p| p.0).unwrap_or_default()))
}

/// `partial = "<" number64 "." nz-number64 ">"`
fn partial(i: &[u8]) -> PResult<'_, (u64, NonZeroU64)> {
    let (r, _) = tag(&b"<"[..]).parse(i)?;
    let (r, o) = number64(r)?;
    let (r, _) = tag(&b"."[..]).parse(r)?;
    let (r, l) = number64(r)?;
    let (r, _) = tag(&b">"[..]).parse(r)?;
    let l = NonZeroU64::new(l).ok_or_else(|| fail(i))?;
    Ok((r, (o, l)))
}

/// `fetch-att = "ENVELOPE" / "FLAGS" / "INTERNALDATE" / "RFC822.SIZE" /
///  "BODY" ["STRUCTURE"] / "UID" / "BODY" section [partial] /
///  "BODY.PEEK" section [partial] / "BINARY" [".PEEK"] section-binary [partial] /
///  "BINARY.SIZE" section-binary / "MODSEQ" / "RFC822" [".HEADER" / ".TEXT"]`
pub(crate) fn fetch_att(i: &[u8]) -> PResult<'_, FetchAttribute> {
    // One scan for the name (up to `[` or `<`), then a single match: the
    // item list of a FETCH is the hot path of IMAP command parsing.
    let (r, name) = take_while1(|b: u8| is_atom_char(b) && b != b'[' && b != b'<').parse(i)?;
    let name = UpperName::new(name);
    let att = match name.as_bytes() {
        b"BINARY.SIZE" => {
            let (r, section) = section_binary(r)?;
            return Ok((r, FetchAttribute::BinarySize { section }));
        }
        b"BINARY" | b"BINARY.PEEK" => {
            let (r, section) = section_binary(r)?;
            let (r, partial) = opt(partial).parse(r)?;
            let peek = name.as_bytes().len() > 6;
            return Ok((
                r,
                FetchAttribute::Binary {
                    peek,
                    section,
                    partial,
                },
            ));
        }
        b"BODY.PEEK" => {
            let (r, section) = section(r)?;
            let (r, partial) = opt(partial).parse(r)?;
            return Ok((
                r,
                FetchAttribute::BodySection {
                    peek: true,
                    section,
                    partial,
                },
            ));
        }
        b"BODY" if r.starts_with(b"[") => {
            let (r, section) = section(r)?;
            let (r, partial) = opt(partial).parse(r)?;
            return Ok((
                r,
                FetchAttribute::BodySection {
                    peek: false,
                    section,
                    partial,
                },
            ));
        }
        b"BODY" => FetchAttribute::Body,
        b"BODYSTRUCTURE" => FetchAttribute::BodyStructure,
        b"ENVELOPE" => FetchAttribute::Envelope,
        b"FLAGS" => FetchAttribute::Flags,
        b"INTERNALDATE" => FetchAttribute::InternalDate,
        b"RFC822.HEADER" => FetchAttribute::Rfc822Header,
        b"RFC822.SIZE" => FetchAttribute::Rfc822Size,
        b"RFC822.TEXT" => FetchAttribute::Rfc822Text,
        b"RFC822" => FetchAttribute::Rfc822,
        b"UID" => FetchAttribute::Uid,
        b"MODSEQ" => FetchAttribute::ModSeq,
        b"EMAILID" => FetchAttribute::EmailId,
        b"THREADID" => FetchAttribute::ThreadId,
        b"SAVEDATE" => FetchAttribute::SaveDate,
        _ => return Err(fail(i)),
    };
    // A simple item must not run on into `[` or `<`.
    if r.first().is_some_and(|b| is_atom_char(*b)) {
        return Err(fail(i));
    }
    Ok((r, att))
}

/// `"ALL" / "FULL" / "FAST" / (fetch-att / "(" fetch-att *(SP fetch-att) ")")`
pub(crate) fn fetch_attributes(i: &[u8]) -> PResult<'_, FetchAttributes> {
    alt((
        map(keyword("ALL"), |_| FetchAttributes::Macro(FetchMacro::All)),
        map(keyword("FAST"), |_| {
            FetchAttributes::Macro(FetchMacro::Fast)
        }),
        map(keyword("FULL"), |_| {
            FetchAttributes::Macro(FetchMacro::Full)
        }),
        map(paren_list1(fetch_att), FetchAttributes::List),
        map(fetch_att, FetchAttributes::Single),
    ))
    .parse(i)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::encode::Version;

    fn nz(n: u32) -> NonZeroU32 {
        NonZeroU32::new(n).unwrap()
    }

    #[test]
    fn sections() {
        let cases: &[(&[u8], Option<Section>)] = &[
            (b"[]", None),
            (b"[HEADER]", Some(Section::Header(None))),
            (b"[1.2.MIME]", Some(Section::Mime(Part(vec![nz(1), nz(2)])))),
            (b"[3]", Some(Section::Part(Part(vec![nz(3)])))),
            (b"[4.TEXT]", Some(Section::Text(Some(Part(vec![nz(4)]))))),
            (
                b"[HEADER.FIELDS.NOT (DATE FROM)]",
                Some(Section::HeaderFields {
                    part: None,
                    not: true,
                    fields: vec![
                        AString::from_bytes(b"DATE").unwrap(),
                        AString::from_bytes(b"FROM").unwrap(),
                    ],
                }),
            ),
        ];
        for (input, val) in cases {
            assert_eq!(section(input), Ok((&b""[..], val.clone())));
            let mut e = Encoder::new(Version::Rev1);
            encode_section(&mut e, val);
            assert_eq!(e.finish().into_bytes(), input.to_vec());
        }
        assert!(section(b"[MIME]").is_err());
        assert!(section(b"[0]").is_err());
    }

    #[test]
    fn fetch_atts() {
        let cases: &[(&[u8], &[u8], FetchAttribute)] = &[
            (b"FLAGS)", b")", FetchAttribute::Flags),
            (b"BODY ", b" ", FetchAttribute::Body),
            (b"BODYSTRUCTURE", b"", FetchAttribute::BodyStructure),
            (b"RFC822.SIZE", b"", FetchAttribute::Rfc822Size),
            (
                b"BODY.PEEK[]<0.2048>",
                b"",
                FetchAttribute::BodySection {
                    peek: true,
                    section: None,
                    partial: Some((0, NonZeroU64::new(2048).unwrap())),
                },
            ),
            (
                b"BINARY.PEEK[1]",
                b"",
                FetchAttribute::Binary {
                    peek: true,
                    section: vec![nz(1)],
                    partial: None,
                },
            ),
            (
                b"BINARY.SIZE[]",
                b"",
                FetchAttribute::BinarySize { section: vec![] },
            ),
        ];
        for (input, rest, val) in cases {
            assert_eq!(fetch_att(input), Ok((*rest, val.clone())));
            assert_eq!(
                val.to_bytes(Version::Rev1),
                input[..input.len() - rest.len()].to_vec()
            );
        }
        assert!(fetch_att(b"BODYX").is_err());
        assert_eq!(fetch_att(b"BODY[]<0.0>").map(|(r, _)| r), Ok(&b"<0.0>"[..]));
        assert_eq!(
            fetch_attributes(b"FAST"),
            Ok((&b""[..], FetchAttributes::Macro(FetchMacro::Fast)))
        );
    }
}
