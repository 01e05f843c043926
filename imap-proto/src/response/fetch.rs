//! FETCH response items: `msg-att` (RFC 9051 §7.5.2, RFC 3516, RFC 7162,
//! RFC 8474, RFC 8514).

use super::body::{BodyStructure, Envelope, body, envelope};
use crate::command::{Section, encode_binary_section, encode_section, section, section_binary};
use crate::core::{PResult, fail, mod_sequence_value, number, number64, nz_number, sp};
use crate::encode::{Encode, Encoder};
use crate::types::{
    DateTime, FlagFetch, Literal, NString, date_time, flag_fetch, literal8, nstring, objectid,
};
use nom::Parser;
use nom::bytes::complete::{tag, tag_no_case};
use nom::combinator::{map, opt};
use std::num::NonZeroU32;

/// The value of a `BINARY[...]` item: `nstring / literal8` (RFC 3516).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum BinaryData {
    /// `nstring`
    NString(NString),
    /// `literal8`
    Literal8(Literal),
}

/// `msg-att-dynamic / msg-att-static`
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum MessageDataItem {
    /// `FLAGS (...)`: `\Recent` is dropped when encoding for IMAP4rev2.
    Flags(Vec<FlagFetch>),
    /// `ENVELOPE (...)`
    Envelope(Box<Envelope>),
    /// `INTERNALDATE "..."`
    InternalDate(DateTime),
    /// `RFC822.SIZE n`
    Rfc822Size(u64),
    /// `RFC822 nstring` (IMAP4rev1)
    Rfc822(NString),
    /// `RFC822.HEADER nstring` (IMAP4rev1)
    Rfc822Header(NString),
    /// `RFC822.TEXT nstring` (IMAP4rev1)
    Rfc822Text(NString),
    /// `BODY (...)`: the structure without extension data.
    Body(Box<BodyStructure>),
    /// `BODYSTRUCTURE (...)`
    BodyStructure(Box<BodyStructure>),
    /// `BODY[section]<origin> nstring`
    BodySection {
        /// Section (`None`: whole message).
        section: Option<Section>,
        /// `<origin>` of a partial fetch.
        origin: Option<u64>,
        /// The data.
        data: NString,
    },
    /// `BINARY[part] (nstring / literal8)` (RFC 3516)
    Binary {
        /// Part path.
        section: Vec<NonZeroU32>,
        /// The decoded data.
        data: BinaryData,
    },
    /// `BINARY.SIZE[part] n` (RFC 3516)
    BinarySize {
        /// Part path.
        section: Vec<NonZeroU32>,
        /// Decoded size.
        size: u32,
    },
    /// `UID n`
    Uid(NonZeroU32),
    /// `MODSEQ (n)` (RFC 7162)
    ModSeq(u64),
    /// `EMAILID (objectid)` (RFC 8474 §5.1)
    EmailId(crate::types::ObjectId),
    /// `THREADID (objectid) / NIL` (RFC 8474 §5.2): NIL when the server
    /// does not thread.
    ThreadId(Option<crate::types::ObjectId>),
    /// `SAVEDATE (date-time / NIL)` (RFC 8514 §4.1): NIL when the mailbox
    /// keeps no save dates.
    SaveDate(Option<DateTime>),
}

impl Encode for MessageDataItem {
    fn encode(&self, enc: &mut Encoder) {
        match self {
            MessageDataItem::Flags(f) => {
                enc.put(b"FLAGS ");
                crate::types::encode_flag_fetch_list(enc, f);
            }
            MessageDataItem::Envelope(e) => {
                enc.put(b"ENVELOPE ");
                e.encode(enc);
            }
            MessageDataItem::InternalDate(d) => {
                enc.put(b"INTERNALDATE ");
                d.encode(enc);
            }
            MessageDataItem::Rfc822Size(n) => {
                enc.put(b"RFC822.SIZE ");
                enc.put_num(n);
            }
            MessageDataItem::Rfc822(s) => {
                enc.put(b"RFC822 ");
                s.encode(enc);
            }
            MessageDataItem::Rfc822Header(s) => {
                enc.put(b"RFC822.HEADER ");
                s.encode(enc);
            }
            MessageDataItem::Rfc822Text(s) => {
                enc.put(b"RFC822.TEXT ");
                s.encode(enc);
            }
            MessageDataItem::Body(b) => {
                enc.put(b"BODY ");
                b.encode(enc);
            }
            MessageDataItem::BodyStructure(b) => {
                enc.put(b"BODYSTRUCTURE ");
                b.encode(enc);
            }
            MessageDataItem::BodySection {
                section,
                origin,
                data,
            } => {
                enc.put(b"BODY");
                encode_section(enc, section);
                if let Some(o) = origin {
                    enc.put(b"<");
                    enc.put_num(o);
                    enc.put(b">");
                }
                enc.put(b" ");
                data.encode(enc);
            }
            MessageDataItem::Binary { section, data } => {
                enc.put(b"BINARY");
                encode_binary_section(enc, section);
                enc.put(b" ");
                match data {
                    BinaryData::NString(s) => s.encode(enc),
                    BinaryData::Literal8(l) => enc.literal(l.data(), l.mode(), true),
                }
            }
            MessageDataItem::BinarySize { section, size } => {
                enc.put(b"BINARY.SIZE");
                encode_binary_section(enc, section);
                enc.put(b" ");
                enc.put_num(size);
            }
            MessageDataItem::Uid(n) => {
                enc.put(b"UID ");
                enc.put_num(n);
            }
            MessageDataItem::ModSeq(n) => {
                enc.put(b"MODSEQ (");
                enc.put_num(n);
                enc.put(b")");
            }
            MessageDataItem::EmailId(id) => {
                enc.put(b"EMAILID (");
                id.encode(enc);
                enc.put(b")");
            }
            MessageDataItem::ThreadId(id) => {
                enc.put(b"THREADID ");
                match id {
                    Some(id) => {
                        enc.put(b"(");
                        id.encode(enc);
                        enc.put(b")");
                    }
                    None => enc.put(b"NIL"),
                }
            }
            MessageDataItem::SaveDate(d) => {
                enc.put(b"SAVEDATE ");
                match d {
                    Some(d) => d.encode(enc),
                    None => enc.put(b"NIL"),
                }
            }
        }
    }
}

/// `msg-att-dynamic = "FLAGS" SP "(" [flag-fetch *(SP flag-fetch)] ")"`;
/// `msg-att-static = "ENVELOPE" SP envelope / "INTERNALDATE" SP date-time /
///  "RFC822.SIZE" SP number64 / "BODY" ["STRUCTURE"] SP body /
///  "BODY" section ["<" number ">"] SP nstring /
///  "BINARY" section-binary SP (nstring / literal8) /
///  "BINARY.SIZE" section-binary SP number / "UID" SP uniqueid` (+ RFC822.*, MODSEQ)
pub(crate) fn msg_att(i: &[u8], depth: usize) -> PResult<'_, MessageDataItem> {
    let kw = |s: &'static str| tag_no_case::<_, _, nom::error::Error<&[u8]>>(s.as_bytes());
    if let Ok((r, _)) = kw("BINARY.SIZE[").parse(i) {
        let r = &i[i.len() - r.len() - 1..];
        let (r, (section, _, size)) = (section_binary, sp, number).parse(r)?;
        return Ok((r, MessageDataItem::BinarySize { section, size }));
    }
    if let Ok((r, _)) = kw("BINARY[").parse(i) {
        let r = &i[i.len() - r.len() - 1..];
        let (r, (section, _)) = (section_binary, sp).parse(r)?;
        let (r, data) = match literal8(r) {
            Ok((r, l)) => (r, BinaryData::Literal8(l)),
            Err(_) => {
                let (r, s) = nstring(r)?;
                (r, BinaryData::NString(s))
            }
        };
        return Ok((r, MessageDataItem::Binary { section, data }));
    }
    if let Ok((r, _)) = kw("BODY[").parse(i) {
        let r = &i[i.len() - r.len() - 1..];
        let (r, section) = section(r)?;
        let (r, origin) = opt(|x| {
            let (x, _) = tag(&b"<"[..]).parse(x)?;
            let (x, n) = number64(x)?;
            let (x, _) = tag(&b">"[..]).parse(x)?;
            Ok((x, n))
        })
        .parse(r)?;
        let (r, (_, data)) = (sp, nstring).parse(r)?;
        return Ok((
            r,
            MessageDataItem::BodySection {
                section,
                origin,
                data,
            },
        ));
    }
    let (r, name) = crate::types::atom(i)?;
    let (r, _) = sp(r)?;
    let item = match name.as_str().to_ascii_uppercase().as_str() {
        "FLAGS" => {
            let (r, v) = crate::core::paren_list0(flag_fetch)(r)?;
            (r, MessageDataItem::Flags(v))
        }
        "ENVELOPE" => {
            let (r, e) = envelope(r)?;
            (r, MessageDataItem::Envelope(Box::new(e)))
        }
        "INTERNALDATE" => {
            let (r, d) = date_time(r)?;
            (r, MessageDataItem::InternalDate(d))
        }
        "RFC822.SIZE" => {
            let (r, n) = number64(r)?;
            (r, MessageDataItem::Rfc822Size(n))
        }
        "RFC822" => {
            let (r, s) = nstring(r)?;
            (r, MessageDataItem::Rfc822(s))
        }
        "RFC822.HEADER" => {
            let (r, s) = nstring(r)?;
            (r, MessageDataItem::Rfc822Header(s))
        }
        "RFC822.TEXT" => {
            let (r, s) = nstring(r)?;
            (r, MessageDataItem::Rfc822Text(s))
        }
        "BODY" => {
            let (r, b) = body(r, depth)?;
            (r, MessageDataItem::Body(Box::new(b)))
        }
        "BODYSTRUCTURE" => {
            let (r, b) = body(r, depth)?;
            (r, MessageDataItem::BodyStructure(Box::new(b)))
        }
        "UID" => {
            let (r, n) = nz_number(r)?;
            (r, MessageDataItem::Uid(n))
        }
        "MODSEQ" => {
            let (r, (_, n, _)) = (tag(&b"("[..]), mod_sequence_value, tag(&b")"[..])).parse(r)?;
            (r, MessageDataItem::ModSeq(n))
        }
        // RFC 8474 §7: `"EMAILID" SP "(" objectid ")"`,
        // `"THREADID" SP ("(" objectid ")" / nil)`.
        "EMAILID" => {
            let (r, (_, id, _)) = (tag(&b"("[..]), objectid, tag(&b")"[..])).parse(r)?;
            (r, MessageDataItem::EmailId(id))
        }
        "THREADID" => {
            let (r, id) = nom::branch::alt((
                map((tag(&b"("[..]), objectid, tag(&b")"[..])), |(_, id, _)| {
                    Some(id)
                }),
                map(crate::core::nil, |_| None),
            ))
            .parse(r)?;
            (r, MessageDataItem::ThreadId(id))
        }
        // RFC 8514 §5: `"SAVEDATE" SP (date-time / nil)`.
        "SAVEDATE" => {
            let (r, d) = nom::branch::alt((map(date_time, Some), map(crate::core::nil, |_| None)))
                .parse(r)?;
            (r, MessageDataItem::SaveDate(d))
        }
        _ => return Err(fail(i)),
    };
    Ok(item)
}

/// `msg-att = "(" (msg-att-dynamic / msg-att-static) *(SP (msg-att-dynamic / msg-att-static)) ")"`
pub(crate) fn msg_att_list(i: &[u8], depth: usize) -> PResult<'_, Vec<MessageDataItem>> {
    crate::core::paren_list1(|x| msg_att(x, depth))(i)
}
