//! Generators for responses.

use super::*;
use crate::response::*;

const TEXT: &[&str] = &["a", "Z", " ", "é", ".", "0", "]", "\"", "(", "["];

fn text(u: &mut Unstructured<'_>) -> Result<Text> {
    let s = text_from(u, TEXT, 0, 12)?;
    let s = s.trim_start_matches('[');
    Text::try_from(s).map_err(|_| arbitrary::Error::IncorrectFormat)
}

fn code(u: &mut Unstructured<'_>) -> Result<Code> {
    Ok(match u.int_in_range(0..=15)? {
        15 => Code::MailboxId(object_id(u)?),
        0 => pick(
            u,
            &[
                Code::Alert,
                Code::Parse,
                Code::ReadOnly,
                Code::ReadWrite,
                Code::TryCreate,
            ],
        )?,
        1 => Code::BadCharset(vec_of(u, 0, 2, |u| {
            Ok(if u.arbitrary::<bool>()? {
                crate::command::Charset::Atom(atom(u)?)
            } else {
                crate::command::Charset::Quoted(quoted(u, false)?)
            })
        })?),
        2 => Code::Capability(vec_of(u, 1, 4, capability)?),
        3 => Code::PermanentFlags(vec_of(u, 0, 3, |u| {
            Ok(if u.ratio(1u8, 4)? {
                FlagPerm::Asterisk
            } else {
                FlagPerm::Flag(flag(u)?)
            })
        })?),
        4 => Code::UidNext(nz(u)?),
        5 => Code::UidValidity(nz(u)?),
        6 => Code::Unseen(nz(u)?),
        7 => Code::AppendUid {
            uid_validity: nz(u)?,
            uids: sequence_set(u)?,
        },
        8 => Code::CopyUid {
            uid_validity: nz(u)?,
            source: sequence_set(u)?,
            destination: sequence_set(u)?,
        },
        9 => Code::HighestModSeq(u.int_in_range(1..=i64::MAX as u64)?),
        10 => Code::Modified(sequence_set(u)?),
        12 => Code::NoUpdate(quoted(u, false)?),
        13 => Code::BadEvent(vec_of(u, 1, 3, ext_name)?),
        11 => Code::Unit(pick(
            u,
            &[
                UnitCode::UidNotSticky,
                UnitCode::Closed,
                UnitCode::NoModSeq,
                UnitCode::NotSaved,
                UnitCode::NotificationOverflow,
                UnitCode::HasChildren,
                UnitCode::TooBig,
                UnitCode::Unavailable,
                UnitCode::AuthenticationFailed,
                UnitCode::NonExistent,
                UnitCode::OverQuota,
            ],
        )?),
        _ => Code::Other {
            name: ext_name(u)?,
            text: opt_of(u, |u| {
                text_from(u, &["a", "1", " ", "(", ")"], 1, 8).map(|s| format!("x{s}"))
            })?,
        },
    })
}

fn resp_text(u: &mut Unstructured<'_>) -> Result<RespText> {
    Ok(RespText {
        code: opt_of(u, code)?,
        text: text(u)?,
    })
}

fn delimiter(u: &mut Unstructured<'_>) -> Result<Option<Delimiter>> {
    Ok(Delimiter::new(pick(u, &['/', '.', '"', '\\', 'x'])?)
        .filter(|_| u.ratio(4u8, 5).unwrap_or(true)))
}

fn list_item(u: &mut Unstructured<'_>) -> Result<ListItem> {
    Ok(ListItem {
        attributes: vec_of(u, 0, 3, mailbox_attribute)?,
        delimiter: delimiter(u)?,
        mailbox: mailbox(u)?,
        extended: vec_of(u, 0, 2, |u| {
            let value = if u.arbitrary::<bool>()? {
                crate::command::TaggedExtValue::Simple(pick(u, &["1", "1:*", "2,4:7"])?.to_owned())
            } else {
                crate::command::TaggedExtValue::Comp(vec_of(u, 0, 2, |u| {
                    Ok(crate::command::OptionValue::String(astring(u)?))
                })?)
            };
            Ok((astring(u)?, value))
        })?,
    })
}

fn address(u: &mut Unstructured<'_>) -> Result<Address> {
    Ok(Address {
        name: nstring(u)?,
        adl: nstring(u)?,
        mailbox: nstring(u)?,
        host: nstring(u)?,
    })
}

fn envelope(u: &mut Unstructured<'_>) -> Result<Envelope> {
    Ok(Envelope {
        date: nstring(u)?,
        subject: nstring(u)?,
        from: vec_of(u, 0, 2, address)?,
        sender: vec_of(u, 0, 1, address)?,
        reply_to: vec_of(u, 0, 1, address)?,
        to: vec_of(u, 0, 3, address)?,
        cc: vec_of(u, 0, 2, address)?,
        bcc: vec_of(u, 0, 1, address)?,
        in_reply_to: nstring(u)?,
        message_id: nstring(u)?,
    })
}

fn params(u: &mut Unstructured<'_>) -> Result<Vec<(IString, IString)>> {
    vec_of(u, 0, 2, |u| Ok((istring(u)?, istring(u)?)))
}

fn body_extension(u: &mut Unstructured<'_>, depth: usize) -> Result<BodyExtension> {
    Ok(match u.int_in_range(0..=2)? {
        0 => BodyExtension::Number(u63(u)?),
        1 if depth > 0 => BodyExtension::List(vec_of(u, 1, 3, |u| body_extension(u, depth - 1))?),
        _ => BodyExtension::NString(nstring(u)?),
    })
}

fn disposition_tail(u: &mut Unstructured<'_>) -> Result<DispositionTail> {
    Ok(DispositionTail {
        disposition: opt_of(u, |u| Ok((istring(u)?, params(u)?)))?,
        language: opt_of(u, |u| {
            Ok(LanguageTail {
                language: if u.arbitrary::<bool>()? {
                    Language::Single(nstring(u)?)
                } else {
                    Language::List(vec_of(u, 1, 2, istring)?)
                },
                location: opt_of(u, |u| {
                    Ok(LocationTail {
                        location: nstring(u)?,
                        extensions: vec_of(u, 0, 2, |u| body_extension(u, 2))?,
                    })
                })?,
            })
        })?,
    })
}

fn quoted_str(s: &str) -> Result<IString> {
    Quoted::try_from(s)
        .map(IString::Quoted)
        .map_err(|_| arbitrary::Error::IncorrectFormat)
}

fn body_structure(u: &mut Unstructured<'_>, depth: usize, ext: bool) -> Result<BodyStructure> {
    if depth > 0 && u.ratio(1u8, 3)? {
        return Ok(BodyStructure::Multi {
            bodies: vec_of(u, 1, 3, |u| body_structure(u, depth - 1, ext))?,
            subtype: quoted_str(pick(u, &["MIXED", "alternative"])?)?,
            extension: if ext {
                opt_of(u, |u| {
                    Ok(MultiPartExtension {
                        parameters: params(u)?,
                        tail: opt_of(u, disposition_tail)?,
                    })
                })?
            } else {
                None
            },
        });
    }
    let fields = BodyFields {
        parameters: params(u)?,
        id: nstring(u)?,
        description: nstring(u)?,
        encoding: quoted_str(pick(u, &["7BIT", "base64"])?)?,
        octets: u.arbitrary()?,
    };
    let (media_type, media_subtype, specific) = match u.int_in_range(0..=2)? {
        0 => ("TEXT", "PLAIN", BodySpecific::Text { lines: u63(u)? }),
        1 if depth > 0 => (
            "MESSAGE",
            "RFC822",
            BodySpecific::Message {
                envelope: Box::new(envelope(u)?),
                body: Box::new(body_structure(u, depth - 1, ext)?),
                lines: u63(u)?,
            },
        ),
        _ => ("image", "png", BodySpecific::Basic),
    };
    Ok(BodyStructure::Single {
        body: Body {
            media_type: quoted_str(media_type)?,
            media_subtype: quoted_str(media_subtype)?,
            fields,
            specific,
        },
        extension: if ext {
            opt_of(u, |u| {
                Ok(SinglePartExtension {
                    md5: nstring(u)?,
                    tail: opt_of(u, disposition_tail)?,
                })
            })?
        } else {
            None
        },
    })
}

fn message_data_item(u: &mut Unstructured<'_>) -> Result<MessageDataItem> {
    use MessageDataItem as M;
    Ok(match u.int_in_range(0..=16)? {
        14 => M::EmailId(object_id(u)?),
        15 => M::ThreadId(opt_of(u, object_id)?),
        16 => M::SaveDate(opt_of(u, date_time)?),
        0 => M::Flags(vec_of(u, 0, 3, |u| {
            Ok(if u.ratio(1u8, 5)? {
                FlagFetch::Recent
            } else {
                FlagFetch::Flag(flag(u)?)
            })
        })?),
        1 => M::Envelope(Box::new(envelope(u)?)),
        2 => M::InternalDate(date_time(u)?),
        3 => M::Rfc822Size(u63(u)?),
        4 => M::Rfc822(nstring(u)?),
        5 => M::Rfc822Header(nstring(u)?),
        6 => M::Rfc822Text(nstring(u)?),
        7 => M::Body(Box::new(body_structure(u, 3, false)?)),
        8 => M::BodyStructure(Box::new(body_structure(u, 3, true)?)),
        9 => M::BodySection {
            section: section(u)?,
            origin: opt_of(u, u63)?,
            data: nstring(u)?,
        },
        10 => M::Binary {
            section: vec_of(u, 0, 2, nz)?,
            data: if u.arbitrary::<bool>()? {
                BinaryData::Literal8(Literal::new_binary(
                    vec_of(u, 0, 8, |u| u.arbitrary())?,
                    LiteralMode::Sync,
                ))
            } else {
                BinaryData::NString(nstring(u)?)
            },
        },
        11 => M::BinarySize {
            section: vec_of(u, 0, 2, nz)?,
            size: u.arbitrary()?,
        },
        12 => M::Uid(nz(u)?),
        _ => M::ModSeq(u.int_in_range(1..=i64::MAX as u64)?),
    })
}

fn namespace(u: &mut Unstructured<'_>) -> Result<Option<Vec<NamespaceDescr>>> {
    opt_of(u, |u| {
        vec_of(u, 1, 2, |u| {
            Ok(NamespaceDescr {
                prefix: istring(u)?,
                delimiter: delimiter(u)?,
                extensions: vec_of(u, 0, 1, |u| Ok((istring(u)?, vec_of(u, 1, 2, istring)?)))?,
            })
        })
    })
}

fn status_item(u: &mut Unstructured<'_>) -> Result<StatusItem> {
    Ok(match u.int_in_range(0..=10)? {
        10 => StatusItem::MailboxId(object_id(u)?),
        0 => StatusItem::Messages(u.arbitrary()?),
        1 => StatusItem::Recent(u.arbitrary()?),
        2 => StatusItem::UidNext(nz(u)?),
        3 => StatusItem::UidValidity(nz(u)?),
        4 => StatusItem::Unseen(u.arbitrary()?),
        5 => StatusItem::Deleted(u.arbitrary()?),
        6 => StatusItem::Size(u63(u)?),
        7 => StatusItem::HighestModSeq(u63(u)?),
        8 => StatusItem::DeletedStorage(u63(u)?),
        _ => StatusItem::AppendLimit(opt_of(u, |u| u.arbitrary())?),
    })
}

fn data(u: &mut Unstructured<'_>) -> Result<Data> {
    Ok(match u.int_in_range(0..=21)? {
        0 => Data::Capability(vec_of(u, 1, 4, capability)?),
        1 => Data::Enabled(vec_of(u, 0, 3, capability)?),
        2 => Data::Flags(vec_of(u, 0, 4, flag)?),
        3 => Data::List(list_item(u)?),
        4 => Data::Lsub(list_item(u)?),
        5 => Data::Search {
            ids: vec_of(u, 0, 4, nz)?,
            mod_seq: opt_of(u, |u| u.int_in_range(1..=i64::MAX as u64))?,
        },
        6 => Data::ESearch {
            correlator: opt_of(u, tag)?,
            uid: u.arbitrary()?,
            items: vec_of(u, 0, 3, |u| {
                let pairs = |u: &mut Unstructured<'_>| {
                    vec_of(u, 1, 3, |u| Ok((u.arbitrary()?, sequence_set(u)?)))
                };
                Ok(match u.int_in_range(0..=7)? {
                    0 => ESearchItem::Min(nz(u)?),
                    1 => ESearchItem::Max(nz(u)?),
                    2 => ESearchItem::All(sequence_set(u)?),
                    3 => ESearchItem::Count(u.arbitrary()?),
                    4 => ESearchItem::Partial {
                        range: super::partial_range(u)?,
                        results: opt_of(u, sequence_set)?,
                    },
                    5 => ESearchItem::AddTo(pairs(u)?),
                    6 => ESearchItem::RemoveFrom(pairs(u)?),
                    _ => ESearchItem::ModSeq(u.int_in_range(1..=i64::MAX as u64)?),
                })
            })?,
        },
        7 => Data::Status {
            mailbox: mailbox(u)?,
            items: vec_of(u, 0, 4, status_item)?,
        },
        8 => Data::Exists(u.arbitrary()?),
        9 => Data::Recent(u.arbitrary()?),
        10 => Data::Expunge(nz(u)?),
        11 | 12 => Data::Fetch {
            seq: nz(u)?,
            items: vec_of(u, 1, 4, message_data_item)?,
        },
        13 => Data::Namespace {
            personal: namespace(u)?,
            other: namespace(u)?,
            shared: namespace(u)?,
        },
        14 => Data::Id(opt_of(u, |u| {
            vec_of(u, 0, 3, |u| Ok((istring(u)?, nstring(u)?)))
        })?),
        15 => Data::Vanished {
            earlier: u.arbitrary()?,
            uids: sequence_set(u)?,
        },
        18 => Data::Quota {
            root: astring(u)?,
            resources: vec_of(u, 1, 3, |u| {
                Ok(QuotaResource {
                    name: atom(u)?,
                    usage: u63(u)?,
                    limit: u63(u)?,
                })
            })?,
        },
        19 => Data::QuotaRoot {
            mailbox: mailbox(u)?,
            roots: vec_of(u, 0, 2, astring)?,
        },
        20 => Data::GenUrlAuth(vec_of(u, 1, 3, astring)?),
        21 => Data::UrlFetch(vec_of(u, 1, 3, |u| Ok((astring(u)?, nstring(u)?)))?),
        16 => Data::Sort {
            ids: vec_of(u, 0, 4, nz)?,
            mod_seq: opt_of(u, |u| u.int_in_range(1..=i64::MAX as u64))?,
        },
        _ => Data::Thread(vec_of(u, 0, 3, |u| thread(u, DEPTH))?),
    })
}

/// A canonical `thread-list`: no branch of one, no empty list.
fn thread(u: &mut Unstructured<'_>, depth: usize) -> Result<Thread> {
    let mut members = vec_of(u, 0, 3, nz)?;
    let mut children = if depth > 1 && u.arbitrary::<bool>()? {
        vec_of(u, 2, 3, |u| thread(u, depth - 1))?
    } else {
        Vec::new()
    };
    if members.is_empty() && children.is_empty() {
        members.push(nz(u)?);
    }
    if children.len() == 1 {
        children.clear();
    }
    Ok(Thread { members, children })
}

/// A valid, canonical [`Response`] drawn from `u`.
pub fn arbitrary_response(u: &mut Unstructured<'_>) -> Result<Response> {
    Ok(match u.int_in_range(0..=5)? {
        0 => Response::Continue(Continue(resp_text(u)?)),
        1 => Response::Status(Status::Tagged {
            tag: tag(u)?,
            condition: pick(u, &[Condition::Ok, Condition::No, Condition::Bad])?,
            text: resp_text(u)?,
        }),
        2 => Response::Status(match u.int_in_range(0..=2)? {
            0 => Status::Untagged {
                condition: pick(u, &[Condition::Ok, Condition::No, Condition::Bad])?,
                text: resp_text(u)?,
            },
            1 => Status::PreAuth(resp_text(u)?),
            _ => Status::Bye(resp_text(u)?),
        }),
        _ => Response::Data(data(u)?),
    })
}
