//! Generators of valid values from unstructured bytes, for fuzzing
//! (feature `arbitrary`) and for the proptest round trips.
//!
//! Every generated value is *canonical*: encoding it and parsing the result
//! gives the same value back (e.g. no `Flag::Extension("Seen")`, which would
//! come back as `Flag::Seen`; no mailbox with non-ASCII octets, which IMAP4rev1
//! encoding turns into modified UTF-7).

mod response;

pub use response::arbitrary_response;

use crate::command::*;
use crate::types::*;
use arbitrary::{Result, Unstructured};
use std::num::{NonZeroU32, NonZeroU64};

/// Nesting used for recursive values; below every parser limit.
const DEPTH: usize = 4;

pub(crate) fn pick<T: Clone>(u: &mut Unstructured<'_>, items: &[T]) -> Result<T> {
    Ok(u.choose(items)?.clone())
}

pub(crate) fn text_from(
    u: &mut Unstructured<'_>,
    alphabet: &[&str],
    min: usize,
    max: usize,
) -> Result<String> {
    let n = u.int_in_range(min..=max)?;
    let mut s = String::new();
    for _ in 0..n {
        s.push_str(u.choose(alphabet)?);
    }
    Ok(s)
}

pub(crate) fn vec_of<T>(
    u: &mut Unstructured<'_>,
    min: usize,
    max: usize,
    mut f: impl FnMut(&mut Unstructured<'_>) -> Result<T>,
) -> Result<Vec<T>> {
    let n = u.int_in_range(min..=max)?;
    (0..n).map(|_| f(u)).collect()
}

pub(crate) fn opt_of<T>(
    u: &mut Unstructured<'_>,
    f: impl FnOnce(&mut Unstructured<'_>) -> Result<T>,
) -> Result<Option<T>> {
    Ok(if u.arbitrary::<bool>()? {
        Some(f(u)?)
    } else {
        None
    })
}

const ATOM: &[&str] = &["a", "B", "z", "0", "7", "-", "$", ".", "_", "~", "/", "&"];
const TEXT: &[&str] = &[
    "a", "Z", " ", "\"", "\\", "é", "日", "%", "*", "(", ")", "]", "+", "0",
];

pub(crate) fn tag(u: &mut Unstructured<'_>) -> Result<Tag> {
    let s = text_from(u, &["A", "b", "0", "9", ".", "-", "]"], 1, 6)?;
    Tag::try_from(s.as_str()).map_err(|_| arbitrary::Error::IncorrectFormat)
}

pub(crate) fn atom(u: &mut Unstructured<'_>) -> Result<Atom> {
    let s = text_from(u, ATOM, 1, 8)?;
    Atom::try_from(s.as_str()).map_err(|_| arbitrary::Error::IncorrectFormat)
}

/// An atom that is none of the names a parser gives meaning to.
pub(crate) fn ext_name(u: &mut Unstructured<'_>) -> Result<Atom> {
    let s = pick(u, &["X-FOO", "XYZZY", "X-GM-EXT-1", "Vnd.Thing"])?;
    Atom::try_from(s).map_err(|_| arbitrary::Error::IncorrectFormat)
}

pub(crate) fn quoted(u: &mut Unstructured<'_>, utf8: bool) -> Result<Quoted> {
    let alphabet: &[&str] = if utf8 { TEXT } else { &TEXT[..5] };
    let s = text_from(u, alphabet, 0, 10)?;
    Quoted::try_from(s.as_str()).map_err(|_| arbitrary::Error::IncorrectFormat)
}

pub(crate) fn literal_mode(u: &mut Unstructured<'_>) -> Result<LiteralMode> {
    pick(u, &[LiteralMode::Sync, LiteralMode::NonSync])
}

pub(crate) fn literal(u: &mut Unstructured<'_>) -> Result<Literal> {
    let data: Vec<u8> = vec_of(u, 0, 12, |u| u.int_in_range(1u8..=255))?;
    Literal::new(data, literal_mode(u)?).map_err(|_| arbitrary::Error::IncorrectFormat)
}

pub(crate) fn istring(u: &mut Unstructured<'_>) -> Result<IString> {
    Ok(if u.ratio(1u8, 4)? {
        IString::Literal(literal(u)?)
    } else {
        IString::Quoted(quoted(u, true)?)
    })
}

pub(crate) fn nstring(u: &mut Unstructured<'_>) -> Result<NString> {
    Ok(if u.ratio(1u8, 4)? {
        NString::Nil
    } else {
        NString::String(istring(u)?)
    })
}

pub(crate) fn astring(u: &mut Unstructured<'_>) -> Result<AString> {
    if u.arbitrary::<bool>()? {
        let s = text_from(u, &["a", "Q", "1", "]", "-", "."], 1, 8)?;
        return AString::from_bytes(s.as_bytes()).map_err(|_| arbitrary::Error::IncorrectFormat);
    }
    Ok(AString::String(istring(u)?))
}

pub(crate) fn mailbox(u: &mut Unstructured<'_>) -> Result<Mailbox> {
    if u.ratio(1u8, 5)? {
        return Ok(Mailbox::inbox());
    }
    let wire = if u.arbitrary::<bool>()? {
        let s = text_from(u, &["a", "Q", "1", "]", "/", "&-"], 1, 8)?;
        AString::from_bytes(s.as_bytes())
    } else {
        Ok(AString::String(IString::Quoted(quoted(u, false)?)))
    };
    wire.map(Mailbox::from_wire)
        .map_err(|_| arbitrary::Error::IncorrectFormat)
}

/// An RFC 8474 `objectid`.
pub(crate) fn object_id(u: &mut Unstructured<'_>) -> Result<ObjectId> {
    let s = text_from(u, &["a", "Z", "0", "9", "_", "-"], 1, 12)?;
    ObjectId::try_from(s.as_str()).map_err(|_| arbitrary::Error::IncorrectFormat)
}

pub(crate) fn nz(u: &mut Unstructured<'_>) -> Result<NonZeroU32> {
    let n = if u.arbitrary::<bool>()? {
        u.int_in_range(1..=20)?
    } else {
        u.int_in_range(1..=u32::MAX)?
    };
    NonZeroU32::new(n).ok_or(arbitrary::Error::IncorrectFormat)
}

pub(crate) fn u63(u: &mut Unstructured<'_>) -> Result<u64> {
    u.int_in_range(0..=i64::MAX as u64)
}

pub(crate) fn sequence_set(u: &mut Unstructured<'_>) -> Result<SequenceSet> {
    if u.ratio(1u8, 10)? {
        return Ok(SequenceSet::search_result());
    }
    let n = |u: &mut Unstructured<'_>| -> Result<SeqOrUid> {
        Ok(if u.ratio(1u8, 5)? {
            SeqOrUid::Asterisk
        } else {
            SeqOrUid::Value(nz(u)?)
        })
    };
    let items = vec_of(u, 1, 4, |u| {
        Ok(if u.arbitrary::<bool>()? {
            Sequence::Single(n(u)?)
        } else {
            Sequence::Range(n(u)?, n(u)?)
        })
    })?;
    SequenceSet::new(items).ok_or(arbitrary::Error::IncorrectFormat)
}

pub(crate) fn flag(u: &mut Unstructured<'_>) -> Result<Flag> {
    Ok(match u.int_in_range(0..=6)? {
        0 => Flag::Answered,
        1 => Flag::Flagged,
        2 => Flag::Deleted,
        3 => Flag::Seen,
        4 => Flag::Draft,
        5 => Flag::Extension(ext_name(u)?),
        _ => Flag::Keyword(atom(u)?),
    })
}

pub(crate) fn mailbox_attribute(u: &mut Unstructured<'_>) -> Result<MailboxAttribute> {
    use MailboxAttribute as M;
    pick(
        u,
        &[
            M::NoInferiors,
            M::NoSelect,
            M::Marked,
            M::Unmarked,
            M::NonExistent,
            M::Subscribed,
            M::Remote,
            M::HasChildren,
            M::HasNoChildren,
            M::All,
            M::Archive,
            M::Drafts,
            M::Flagged,
            M::Junk,
            M::Sent,
            M::Trash,
            M::Extension(
                Atom::try_from("Important").map_err(|_| arbitrary::Error::IncorrectFormat)?,
            ),
        ],
    )
}

pub(crate) fn capability(u: &mut Unstructured<'_>) -> Result<Capability> {
    use Capability as C;
    Ok(match u.int_in_range(0..=4)? {
        0 => C::Auth(atom(u)?),
        1 => C::Other(ext_name(u)?),
        2 => C::AppendLimit(opt_of(u, |u| u.arbitrary())?),
        _ => pick(
            u,
            &[
                C::Imap4Rev1,
                C::Imap4Rev2,
                C::StartTls,
                C::LoginDisabled,
                C::LiteralPlus,
                C::LiteralMinus,
                C::Idle,
                C::UidPlus,
                C::Move,
                C::Enable,
                C::Namespace,
                C::SpecialUse,
                C::CreateSpecialUse,
                C::Unselect,
                C::Id,
                C::Children,
                C::ListExtended,
                C::ListStatus,
                C::ESearch,
                C::SaslIr,
                C::StatusSize,
                C::Binary,
                C::CondStore,
                C::QResync,
                C::Utf8Accept,
                C::ObjectId,
                C::SaveDate,
            ],
        )?,
    })
}

pub(crate) fn date(u: &mut Unstructured<'_>) -> Result<Date> {
    Date::new(
        u.int_in_range(1..=9999)?,
        u.int_in_range(1..=12)?,
        u.int_in_range(1..=28)?,
    )
    .map_err(|_| arbitrary::Error::IncorrectFormat)
}

pub(crate) fn date_time(u: &mut Unstructured<'_>) -> Result<DateTime> {
    DateTime::new(
        date(u)?,
        u.int_in_range(0..=23)?,
        u.int_in_range(0..=59)?,
        u.int_in_range(0..=60)?,
        u.int_in_range(-1439..=1439)?,
    )
    .map_err(|_| arbitrary::Error::IncorrectFormat)
}

fn option_value(u: &mut Unstructured<'_>, depth: usize) -> Result<OptionValue> {
    Ok(if depth > 0 && u.ratio(1u8, 4)? {
        OptionValue::List(vec_of(u, 0, 3, |u| option_value(u, depth - 1))?)
    } else {
        OptionValue::String(astring(u)?)
    })
}

fn option_extension(u: &mut Unstructured<'_>) -> Result<OptionExtension> {
    Ok(OptionExtension {
        name: ext_name(u)?,
        value: opt_of(u, |u| vec_of(u, 1, 3, |u| option_value(u, 2)))?,
    })
}

fn status_attribute(u: &mut Unstructured<'_>) -> Result<StatusAttribute> {
    use StatusAttribute as S;
    pick(
        u,
        &[
            S::Messages,
            S::Recent,
            S::UidNext,
            S::UidValidity,
            S::Unseen,
            S::Deleted,
            S::Size,
            S::HighestModSeq,
            S::AppendLimit,
            S::MailboxId,
        ],
    )
}

fn search_key(u: &mut Unstructured<'_>, depth: usize) -> Result<SearchKey> {
    use SearchKey as K;
    let choice = u.int_in_range(0..=if depth == 0 { 11 } else { 14 })?;
    Ok(match choice {
        0 => pick(
            u,
            &[
                K::All,
                K::Answered,
                K::Deleted,
                K::Draft,
                K::Flagged,
                K::New,
                K::Old,
                K::Recent,
                K::Seen,
                K::Unanswered,
                K::Undeleted,
                K::Undraft,
                K::Unflagged,
                K::Unseen,
                K::SaveDateSupported,
            ],
        )?,
        1 => K::Bcc(astring(u)?),
        2 => K::Subject(astring(u)?),
        3 => {
            let ctor: fn(Date) -> SearchKey = *u.choose(&[
                K::Since as fn(Date) -> SearchKey,
                K::SavedBefore,
                K::SavedOn,
                K::SavedSince,
            ])?;
            ctor(date(u)?)
        }
        4 => K::SentOn(date(u)?),
        5 => K::Header(astring(u)?, astring(u)?),
        6 => match u.int_in_range(0..=2)? {
            0 => K::EmailId(object_id(u)?),
            1 => K::ThreadId(object_id(u)?),
            _ => K::Keyword(atom(u)?),
        },
        7 => K::Larger(u63(u)?),
        8 => K::Uid(sequence_set(u)?),
        9 => K::SequenceSet(sequence_set(u)?),
        10 => K::ModSeq {
            entry: opt_of(u, |u| {
                Ok((
                    flag(u)?,
                    pick(u, &[EntryType::Private, EntryType::Shared, EntryType::All])?,
                ))
            })?,
            mod_seq: u63(u)?,
        },
        11 => K::Unkeyword(atom(u)?),
        12 => K::Not(Box::new(search_key(u, depth - 1)?)),
        13 => K::Or(
            Box::new(search_key(u, depth - 1)?),
            Box::new(search_key(u, depth - 1)?),
        ),
        _ => K::And(vec_of(u, 1, 3, |u| search_key(u, depth - 1))?),
    })
}

pub(crate) fn part(u: &mut Unstructured<'_>) -> Result<Part> {
    Part::new(vec_of(u, 1, 3, nz)?).ok_or(arbitrary::Error::IncorrectFormat)
}

pub(crate) fn section(u: &mut Unstructured<'_>) -> Result<Option<Section>> {
    opt_of(u, |u| {
        Ok(match u.int_in_range(0..=4)? {
            0 => Section::Part(part(u)?),
            1 => Section::Header(opt_of(u, part)?),
            2 => Section::HeaderFields {
                part: opt_of(u, part)?,
                not: u.arbitrary()?,
                fields: vec_of(u, 1, 3, astring)?,
            },
            3 => Section::Text(opt_of(u, part)?),
            _ => Section::Mime(part(u)?),
        })
    })
}

fn partial(u: &mut Unstructured<'_>) -> Result<Option<(u64, NonZeroU64)>> {
    opt_of(u, |u| {
        Ok((
            u63(u)?,
            NonZeroU64::new(u.int_in_range(1..=i64::MAX as u64)?)
                .ok_or(arbitrary::Error::IncorrectFormat)?,
        ))
    })
}

fn fetch_attribute(u: &mut Unstructured<'_>) -> Result<FetchAttribute> {
    use FetchAttribute as F;
    Ok(match u.int_in_range(0..=3)? {
        0 => F::BodySection {
            peek: u.arbitrary()?,
            section: section(u)?,
            partial: partial(u)?,
        },
        1 => F::Binary {
            peek: u.arbitrary()?,
            section: vec_of(u, 0, 3, nz)?,
            partial: partial(u)?,
        },
        2 => F::BinarySize {
            section: vec_of(u, 0, 3, nz)?,
        },
        _ => pick(
            u,
            &[
                F::Envelope,
                F::Flags,
                F::InternalDate,
                F::Rfc822,
                F::Rfc822Header,
                F::Rfc822Size,
                F::Rfc822Text,
                F::Body,
                F::BodyStructure,
                F::Uid,
                F::ModSeq,
                F::EmailId,
                F::ThreadId,
                F::SaveDate,
            ],
        )?,
    })
}

fn command_body(u: &mut Unstructured<'_>) -> Result<CommandBody> {
    use CommandBody as B;
    Ok(match u.int_in_range(0..=35)? {
        0 => pick(
            u,
            &[
                B::Capability,
                B::Noop,
                B::Logout,
                B::StartTls,
                B::Namespace,
                B::Idle,
                B::Check,
                B::Close,
                B::Unselect,
                B::Expunge,
            ],
        )?,
        1 => B::Authenticate {
            mechanism: atom(u)?,
            initial_response: opt_of(u, |u| Ok(Secret::new(vec_of(u, 0, 12, |u| u.arbitrary())?)))?,
        },
        2 => B::Login {
            username: astring(u)?,
            password: Secret::new(astring(u)?),
        },
        3 => B::Enable {
            capabilities: vec_of(u, 1, 3, capability)?,
        },
        4 | 5 => {
            let mailbox = mailbox(u)?;
            let parameters = vec_of(u, 0, 2, |u| {
                Ok(if u.arbitrary::<bool>()? {
                    SelectParameter::CondStore
                } else {
                    SelectParameter::QResync {
                        uid_validity: nz(u)?,
                        mod_seq: u.int_in_range(1..=i64::MAX as u64)?,
                        known_uids: opt_of(u, sequence_set)?,
                        seq_match: opt_of(u, |u| Ok((sequence_set(u)?, sequence_set(u)?)))?,
                    }
                })
            })?;
            if u.arbitrary::<bool>()? {
                B::Select {
                    mailbox,
                    parameters,
                }
            } else {
                B::Examine {
                    mailbox,
                    parameters,
                }
            }
        }
        6 => B::Create {
            mailbox: mailbox(u)?,
            special_use: opt_of(u, |u| vec_of(u, 0, 2, mailbox_attribute))?,
        },
        7 => B::Delete {
            mailbox: mailbox(u)?,
        },
        8 => B::Rename {
            from: mailbox(u)?,
            to: mailbox(u)?,
        },
        9 => B::Subscribe {
            mailbox: mailbox(u)?,
        },
        10 => B::Unsubscribe {
            mailbox: mailbox(u)?,
        },
        11 => B::List {
            selection: opt_of(u, |u| {
                vec_of(u, 0, 3, |u| {
                    Ok(match u.int_in_range(0..=4)? {
                        0 => ListSelectOption::Subscribed,
                        1 => ListSelectOption::Remote,
                        2 => ListSelectOption::RecursiveMatch,
                        3 => ListSelectOption::SpecialUse,
                        _ => ListSelectOption::Other(option_extension(u)?),
                    })
                })
            })?,
            reference: mailbox(u)?,
            patterns: vec_of(u, 1, 3, |u| {
                let s = text_from(u, &["a", "%", "*", "/", "]", " "], 0, 6)?;
                ListMailbox::from_bytes(s.as_bytes()).map_err(|_| arbitrary::Error::IncorrectFormat)
            })?,
            return_options: opt_of(u, |u| {
                vec_of(u, 0, 3, |u| {
                    Ok(match u.int_in_range(0..=4)? {
                        0 => ListReturnOption::Subscribed,
                        1 => ListReturnOption::Children,
                        2 => ListReturnOption::SpecialUse,
                        3 => ListReturnOption::Status(vec_of(u, 1, 3, status_attribute)?),
                        _ => ListReturnOption::Other(option_extension(u)?),
                    })
                })
            })?,
        },
        12 => B::Lsub {
            reference: mailbox(u)?,
            pattern: ListMailbox::from_bytes(b"%")
                .map_err(|_| arbitrary::Error::IncorrectFormat)?,
        },
        13 => B::Status {
            mailbox: mailbox(u)?,
            attributes: vec_of(u, 1, 4, status_attribute)?,
        },
        14 => {
            let utf8: bool = u.arbitrary()?;
            let binary = utf8 || u.arbitrary()?;
            let literal = if binary {
                Literal::new_binary(vec_of(u, 0, 12, |u| u.arbitrary())?, literal_mode(u)?)
            } else {
                literal(u)?
            };
            B::Append {
                mailbox: mailbox(u)?,
                flags: opt_of(u, |u| vec_of(u, 0, 3, flag))?,
                date: opt_of(u, date_time)?,
                message: AppendData {
                    literal,
                    binary,
                    utf8,
                },
            }
        }
        15 => B::UidExpunge {
            sequence_set: sequence_set(u)?,
        },
        16 | 17 => B::Search {
            uid: u.arbitrary()?,
            return_options: search_return_options(u)?,
            charset: opt_of(u, |u| {
                Ok(if u.arbitrary::<bool>()? {
                    Charset::Atom(
                        Atom::try_from("UTF-8").map_err(|_| arbitrary::Error::IncorrectFormat)?,
                    )
                } else {
                    Charset::Quoted(quoted(u, false)?)
                })
            })?,
            criteria: vec_of(u, 1, 3, |u| search_key(u, DEPTH))?,
        },
        18 | 19 => B::Fetch {
            uid: u.arbitrary()?,
            sequence_set: sequence_set(u)?,
            attributes: match u.int_in_range(0..=2)? {
                0 => FetchAttributes::Macro(pick(
                    u,
                    &[FetchMacro::All, FetchMacro::Fast, FetchMacro::Full],
                )?),
                1 => FetchAttributes::Single(fetch_attribute(u)?),
                _ => FetchAttributes::List(vec_of(u, 1, 4, fetch_attribute)?),
            },
            modifiers: vec_of(u, 0, 2, |u| {
                Ok(match u.int_in_range(0..=2)? {
                    0 => FetchModifier::Vanished,
                    1 => FetchModifier::Partial(partial_range(u)?),
                    _ => FetchModifier::ChangedSince(u.int_in_range(1..=i64::MAX as u64)?),
                })
            })?,
        },
        20 => B::Store {
            uid: u.arbitrary()?,
            sequence_set: sequence_set(u)?,
            unchanged_since: opt_of(u, u63)?,
            action: pick(
                u,
                &[StoreAction::Replace, StoreAction::Add, StoreAction::Remove],
            )?,
            silent: u.arbitrary()?,
            flags: vec_of(u, 0, 3, flag)?,
        },
        21 => B::Copy {
            uid: u.arbitrary()?,
            sequence_set: sequence_set(u)?,
            mailbox: mailbox(u)?,
        },
        22 => B::Move {
            uid: u.arbitrary()?,
            sequence_set: sequence_set(u)?,
            mailbox: mailbox(u)?,
        },
        27 => B::GetQuota { root: astring(u)? },
        28 => B::GetQuotaRoot {
            mailbox: mailbox(u)?,
        },
        29 => B::SetQuota {
            root: astring(u)?,
            limits: vec_of(u, 0, 3, |u| {
                Ok((atom(u)?, u.int_in_range(0..=i64::MAX as u64)?))
            })?,
        },
        25 => B::Sort {
            uid: u.arbitrary()?,
            return_options: search_return_options(u)?,
            criteria: vec_of(u, 1, 3, |u| {
                Ok(SortCriterion {
                    reverse: u.arbitrary()?,
                    key: pick(
                        u,
                        &[
                            SortKey::Arrival,
                            SortKey::Cc,
                            SortKey::Date,
                            SortKey::From,
                            SortKey::Size,
                            SortKey::Subject,
                            SortKey::To,
                        ],
                    )?,
                })
            })?,
            charset: sort_charset(u)?,
            search: vec_of(u, 1, 3, |u| search_key(u, DEPTH))?,
        },
        26 => B::Thread {
            uid: u.arbitrary()?,
            algorithm: pick(
                u,
                &[ThreadAlgorithm::OrderedSubject, ThreadAlgorithm::References],
            )?,
            charset: sort_charset(u)?,
            search: vec_of(u, 1, 3, |u| search_key(u, DEPTH))?,
        },
        31 => B::Notify(notify_args(u)?),
        30 => B::CancelUpdate {
            tags: vec_of(u, 1, 3, |u| quoted(u, false))?,
        },
        32 => B::Compress {
            algorithm: atom(u)?,
        },
        33 => B::GenUrlAuth {
            urls: vec_of(u, 1, 3, |u| Ok((astring(u)?, atom(u)?)))?,
        },
        34 => match opt_of(u, mailbox)? {
            // Mechanisms only follow a mailbox (`resetkey`'s grammar).
            Some(m) => B::ResetKey {
                mailbox: Some(m),
                mechanisms: vec_of(u, 0, 2, atom)?,
            },
            None => B::ResetKey {
                mailbox: None,
                mechanisms: Vec::new(),
            },
        },
        35 => B::UrlFetch {
            urls: vec_of(u, 1, 3, astring)?,
        },
        _ => B::Id {
            parameters: opt_of(u, |u| vec_of(u, 0, 3, |u| Ok((istring(u)?, nstring(u)?))))?,
        },
    })
}

/// `notify` arguments (RFC 5465).
fn notify_args(u: &mut Unstructured<'_>) -> Result<NotifyArgs> {
    if u.ratio(1u8, 5)? {
        return Ok(NotifyArgs::None);
    }
    let groups = vec_of(u, 1, 3, |u| {
        let filter = match u.int_in_range(0..=6)? {
            0 => FilterMailboxes::Selected,
            1 => FilterMailboxes::SelectedDelayed,
            2 => FilterMailboxes::Inboxes,
            3 => FilterMailboxes::Personal,
            4 => FilterMailboxes::Subscribed,
            5 => FilterMailboxes::Subtree(vec_of(u, 1, 2, mailbox)?),
            _ => FilterMailboxes::Mailboxes(vec_of(u, 1, 2, mailbox)?),
        };
        let events = vec_of(u, 0, 3, |u| {
            Ok(match u.int_in_range(0..=5)? {
                0 => NotifyEvent::MessageNew(vec_of(u, 0, 2, |u| {
                    pick(
                        u,
                        &[
                            FetchAttribute::Uid,
                            FetchAttribute::Flags,
                            FetchAttribute::Rfc822Size,
                        ],
                    )
                })?),
                1 => NotifyEvent::MessageExpunge,
                2 => NotifyEvent::FlagChange,
                3 => NotifyEvent::MailboxName,
                4 => NotifyEvent::SubscriptionChange,
                _ => NotifyEvent::Other(ext_name(u)?),
            })
        })?;
        Ok(EventGroup { filter, events })
    })?;
    Ok(NotifyArgs::Set {
        status: u.arbitrary()?,
        groups,
    })
}

/// `partial-range` (RFC 9394).
pub(crate) fn partial_range(u: &mut Unstructured<'_>) -> Result<PartialRange> {
    let (a, b) = (nz(u)?, nz(u)?);
    Ok(if u.arbitrary::<bool>()? {
        PartialRange::First(a, b)
    } else {
        PartialRange::Last(a, b)
    })
}

/// `RETURN (...)` of SEARCH and SORT (RFC 4731, RFC 5182, RFC 5267, RFC 9394).
fn search_return_options(u: &mut Unstructured<'_>) -> Result<Option<Vec<SearchReturnOption>>> {
    opt_of(u, |u| {
        vec_of(u, 0, 3, |u| {
            Ok(match u.int_in_range(0..=8)? {
                0 => SearchReturnOption::Min,
                1 => SearchReturnOption::Max,
                2 => SearchReturnOption::All,
                3 => SearchReturnOption::Count,
                4 => SearchReturnOption::Save,
                5 => SearchReturnOption::Partial(partial_range(u)?),
                6 => SearchReturnOption::Update,
                7 => SearchReturnOption::Context,
                _ => SearchReturnOption::Other(option_extension(u)?),
            })
        })
    })
}

/// The mandatory charset of SORT and THREAD.
fn sort_charset(u: &mut Unstructured<'_>) -> Result<Charset> {
    Ok(if u.arbitrary::<bool>()? {
        Charset::Atom(Atom::try_from("UTF-8").map_err(|_| arbitrary::Error::IncorrectFormat)?)
    } else {
        Charset::Quoted(quoted(u, false)?)
    })
}

/// A valid, canonical [`Command`] drawn from `u`.
pub fn arbitrary_command(u: &mut Unstructured<'_>) -> Result<Command> {
    Ok(Command {
        tag: tag(u)?,
        body: command_body(u)?,
    })
}

#[cfg(feature = "arbitrary")]
impl<'a> arbitrary::Arbitrary<'a> for Command {
    fn arbitrary(u: &mut Unstructured<'a>) -> Result<Self> {
        arbitrary_command(u)
    }
}

#[cfg(feature = "arbitrary")]
impl<'a> arbitrary::Arbitrary<'a> for crate::response::Response {
    fn arbitrary(u: &mut Unstructured<'a>) -> Result<Self> {
        arbitrary_response(u)
    }
}

#[cfg(test)]
mod tests;
