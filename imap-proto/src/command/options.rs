//! Command parameters: SELECT parameters (RFC 4466, RFC 7162), STATUS items
//! (RFC 9051, RFC 8438, RFC 7889, RFC 7162), LIST-EXTENDED selection and
//! return options (RFC 5258, RFC 5819, RFC 6154), ESEARCH return options
//! (RFC 4731, RFC 5182), and the generic extension values of RFC 4466.

use crate::core::{
    PResult, fail, keyword, mod_sequence_value, nz_number, paren_list0, paren_list1, sp, too_deep,
};
use crate::encode::{Encode, Encoder};
use crate::types::{AString, Atom, SequenceSet, astring, atom, sequence_set};
use nom::Parser;
use nom::branch::alt;
use nom::bytes::complete::{tag, take_while1};
use nom::combinator::{map, opt};
use std::num::NonZeroU32;

/// `select-param` (RFC 4466 §2.1) as defined by RFC 7162.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum SelectParameter {
    /// `CONDSTORE` (RFC 7162 §3.1.8)
    CondStore,
    /// `QRESYNC (uidvalidity modseq [known-uids] [seq-match-data])` (RFC 7162 §3.2.5)
    QResync {
        /// Last known UIDVALIDITY.
        uid_validity: NonZeroU32,
        /// Last known HIGHESTMODSEQ.
        mod_seq: u64,
        /// Known UIDs.
        known_uids: Option<SequenceSet>,
        /// `(known-sequence-set known-uid-set)`.
        seq_match: Option<(SequenceSet, SequenceSet)>,
    },
}

impl Encode for SelectParameter {
    fn encode(&self, enc: &mut Encoder) {
        match self {
            SelectParameter::CondStore => enc.put(b"CONDSTORE"),
            SelectParameter::QResync {
                uid_validity,
                mod_seq,
                known_uids,
                seq_match,
            } => {
                enc.put(b"QRESYNC (");
                enc.put_num(uid_validity);
                enc.put(b" ");
                enc.put_num(mod_seq);
                if let Some(k) = known_uids {
                    enc.put(b" ");
                    k.encode(enc);
                }
                if let Some((a, b)) = seq_match {
                    enc.put(b" (");
                    a.encode(enc);
                    enc.put(b" ");
                    b.encode(enc);
                    enc.put(b")");
                }
                enc.put(b")");
            }
        }
    }
}

/// `select-param = "CONDSTORE" / "QRESYNC" SP "(" uidvalidity SP mod-sequence-value [SP known-uids] [SP seq-match-data] ")"`
pub(crate) fn select_param(i: &[u8]) -> PResult<'_, SelectParameter> {
    if let Ok((r, _)) = keyword("CONDSTORE")(i) {
        return Ok((r, SelectParameter::CondStore));
    }
    let (r, _) = keyword("QRESYNC")(i)?;
    let (r, _) = sp(r)?;
    let (r, _) = tag(&b"("[..]).parse(r)?;
    let (r, uid_validity) = nz_number(r)?;
    let (r, _) = sp(r)?;
    let (r, mod_seq) = mod_sequence_value(r)?;
    let (r, known_uids) = opt(map((sp, sequence_set), |(_, s)| s)).parse(r)?;
    let (r, seq_match) = opt(map(
        (
            sp,
            tag(&b"("[..]),
            sequence_set,
            sp,
            sequence_set,
            tag(&b")"[..]),
        ),
        |(_, _, a, _, b, _)| (a, b),
    ))
    .parse(r)?;
    let (r, _) = tag(&b")"[..]).parse(r)?;
    Ok((
        r,
        SelectParameter::QResync {
            uid_validity,
            mod_seq,
            known_uids,
            seq_match,
        },
    ))
}

/// `status-att` (RFC 9051 §9, RFC 8438, RFC 7889, RFC 7162)
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum StatusAttribute {
    /// `MESSAGES`
    Messages,
    /// `RECENT` (IMAP4rev1)
    Recent,
    /// `UIDNEXT`
    UidNext,
    /// `UIDVALIDITY`
    UidValidity,
    /// `UNSEEN`
    Unseen,
    /// `DELETED` (IMAP4rev2)
    Deleted,
    /// `SIZE` (RFC 8438)
    Size,
    /// `HIGHESTMODSEQ` (RFC 7162)
    HighestModSeq,
    /// `APPENDLIMIT` (RFC 7889)
    AppendLimit,
    /// `DELETED-STORAGE` (RFC 9208 §4.2.2)
    DeletedStorage,
    /// `MAILBOXID` (RFC 8474 §4.2)
    MailboxId,
}

const STATUS_ATTS: &[(&str, StatusAttribute)] = &[
    ("MESSAGES", StatusAttribute::Messages),
    ("RECENT", StatusAttribute::Recent),
    ("UIDNEXT", StatusAttribute::UidNext),
    ("UIDVALIDITY", StatusAttribute::UidValidity),
    ("UNSEEN", StatusAttribute::Unseen),
    ("DELETED-STORAGE", StatusAttribute::DeletedStorage),
    ("DELETED", StatusAttribute::Deleted),
    ("SIZE", StatusAttribute::Size),
    ("HIGHESTMODSEQ", StatusAttribute::HighestModSeq),
    ("APPENDLIMIT", StatusAttribute::AppendLimit),
    ("MAILBOXID", StatusAttribute::MailboxId),
];

impl StatusAttribute {
    /// The RFC name.
    pub fn name(self) -> &'static str {
        STATUS_ATTS
            .iter()
            .find(|(_, a)| *a == self)
            .map(|(n, _)| *n)
            .unwrap_or_default()
    }
}

impl Encode for StatusAttribute {
    fn encode(&self, enc: &mut Encoder) {
        enc.put_str(self.name());
    }
}

/// `status-att = "MESSAGES" / "UIDNEXT" / "UIDVALIDITY" / "UNSEEN" / "DELETED" / "SIZE" / ...`
pub(crate) fn status_att(i: &[u8]) -> PResult<'_, StatusAttribute> {
    for (name, a) in STATUS_ATTS {
        if let Ok((r, _)) = keyword(name)(i) {
            return Ok((r, *a));
        }
    }
    Err(fail(i))
}

/// A value in an extension option (RFC 4466 `option-val-comp` /
/// `tagged-ext-comp`): an astring or a parenthesised list.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum OptionValue {
    /// `astring`
    String(AString),
    /// `"(" ... ")"`
    List(Vec<OptionValue>),
}

impl Encode for OptionValue {
    fn encode(&self, enc: &mut Encoder) {
        match self {
            OptionValue::String(s) => s.encode(enc),
            OptionValue::List(v) => crate::encode::paren(enc, v),
        }
    }
}

/// `option-val-comp = astring / option-val-comp *(SP option-val-comp) / "(" option-val-comp ")"`
pub(crate) fn option_val_comp(i: &[u8], depth: usize) -> PResult<'_, OptionValue> {
    if i.starts_with(b"(") {
        if depth == 0 {
            return Err(too_deep(i));
        }
        return map(
            paren_list0(|x| option_val_comp(x, depth - 1)),
            OptionValue::List,
        )
        .parse(i);
    }
    map(astring, OptionValue::String).parse(i)
}

/// `tagged-ext-val = tagged-ext-simple / "(" [tagged-ext-comp] ")"` (RFC 4466 §2.1)
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TaggedExtValue {
    /// `tagged-ext-simple = sequence-set / number / number64`, as sent.
    Simple(String),
    /// `"(" [tagged-ext-comp] ")"`
    Comp(Vec<OptionValue>),
}

impl Encode for TaggedExtValue {
    fn encode(&self, enc: &mut Encoder) {
        match self {
            TaggedExtValue::Simple(s) => enc.put_str(s),
            TaggedExtValue::Comp(v) => crate::encode::paren(enc, v),
        }
    }
}

/// `tagged-ext-val = tagged-ext-simple / "(" [tagged-ext-comp] ")"`
pub(crate) fn tagged_ext_value(i: &[u8], depth: usize) -> PResult<'_, TaggedExtValue> {
    if i.starts_with(b"(") {
        if depth == 0 {
            return Err(too_deep(i));
        }
        return map(
            paren_list0(|x| option_val_comp(x, depth - 1)),
            TaggedExtValue::Comp,
        )
        .parse(i);
    }
    let (r, s) = take_while1(|b: u8| b.is_ascii_digit() || matches!(b, b':' | b',' | b'*' | b'$'))
        .parse(i)?;
    Ok((r, TaggedExtValue::Simple(crate::core::ascii_string(s))))
}

/// An unknown LIST option: `option-extension = (option-standard-tag / option-vendor-tag) [SP option-value]`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OptionExtension {
    /// The option name.
    pub name: Atom,
    /// `option-value = "(" option-val-comp ")"`.
    pub value: Option<Vec<OptionValue>>,
}

impl Encode for OptionExtension {
    fn encode(&self, enc: &mut Encoder) {
        self.name.encode(enc);
        if let Some(v) = &self.value {
            enc.put(b" ");
            crate::encode::paren(enc, v);
        }
    }
}

fn option_extension(i: &[u8], depth: usize) -> PResult<'_, OptionExtension> {
    let (r, name) = atom(i)?;
    let (r, value) = opt(map(
        (sp, |x| {
            if depth == 0 {
                return Err(too_deep(x));
            }
            paren_list1(|y| option_val_comp(y, depth - 1))(x)
        }),
        |(_, v)| v,
    ))
    .parse(r)?;
    Ok((r, OptionExtension { name, value }))
}

/// `list-select-option` (RFC 5258 §6, RFC 6154 §6)
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ListSelectOption {
    /// `SUBSCRIBED`
    Subscribed,
    /// `REMOTE`
    Remote,
    /// `RECURSIVEMATCH`
    RecursiveMatch,
    /// `SPECIAL-USE`
    SpecialUse,
    /// Any other option.
    Other(OptionExtension),
}

impl Encode for ListSelectOption {
    fn encode(&self, enc: &mut Encoder) {
        match self {
            ListSelectOption::Subscribed => enc.put(b"SUBSCRIBED"),
            ListSelectOption::Remote => enc.put(b"REMOTE"),
            ListSelectOption::RecursiveMatch => enc.put(b"RECURSIVEMATCH"),
            ListSelectOption::SpecialUse => enc.put(b"SPECIAL-USE"),
            ListSelectOption::Other(o) => o.encode(enc),
        }
    }
}

/// `list-select-option = "SUBSCRIBED" / "REMOTE" / list-select-mod-opt / list-select-independent-opt`
pub(crate) fn list_select_option(i: &[u8], depth: usize) -> PResult<'_, ListSelectOption> {
    alt((
        map(keyword("SUBSCRIBED"), |_| ListSelectOption::Subscribed),
        map(keyword("REMOTE"), |_| ListSelectOption::Remote),
        map(keyword("RECURSIVEMATCH"), |_| {
            ListSelectOption::RecursiveMatch
        }),
        map(keyword("SPECIAL-USE"), |_| ListSelectOption::SpecialUse),
        map(|x| option_extension(x, depth), ListSelectOption::Other),
    ))
    .parse(i)
}

/// `return-option` (RFC 5258 §6, RFC 5819 §6, RFC 6154 §6)
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ListReturnOption {
    /// `SUBSCRIBED`
    Subscribed,
    /// `CHILDREN`
    Children,
    /// `SPECIAL-USE`
    SpecialUse,
    /// `STATUS (...)` (LIST-STATUS)
    Status(Vec<StatusAttribute>),
    /// Any other option.
    Other(OptionExtension),
}

impl Encode for ListReturnOption {
    fn encode(&self, enc: &mut Encoder) {
        match self {
            ListReturnOption::Subscribed => enc.put(b"SUBSCRIBED"),
            ListReturnOption::Children => enc.put(b"CHILDREN"),
            ListReturnOption::SpecialUse => enc.put(b"SPECIAL-USE"),
            ListReturnOption::Status(v) => {
                enc.put(b"STATUS ");
                crate::encode::paren(enc, v);
            }
            ListReturnOption::Other(o) => o.encode(enc),
        }
    }
}

/// `return-option = "SUBSCRIBED" / "CHILDREN" / "STATUS" SP "(" status-att *(SP status-att) ")" / option-extension`
pub(crate) fn return_option(i: &[u8], depth: usize) -> PResult<'_, ListReturnOption> {
    alt((
        map(keyword("SUBSCRIBED"), |_| ListReturnOption::Subscribed),
        map(keyword("CHILDREN"), |_| ListReturnOption::Children),
        map(keyword("SPECIAL-USE"), |_| ListReturnOption::SpecialUse),
        map(
            (keyword("STATUS"), sp, paren_list1(status_att)),
            |(_, _, v)| ListReturnOption::Status(v),
        ),
        map(|x| option_extension(x, depth), ListReturnOption::Other),
    ))
    .parse(i)
}

/// `search-return-opt` (RFC 4731 §3, RFC 5182 §2)
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SearchReturnOption {
    /// `MIN`
    Min,
    /// `MAX`
    Max,
    /// `ALL`
    All,
    /// `COUNT`
    Count,
    /// `SAVE` (RFC 5182)
    Save,
    /// `PARTIAL partial-range` (RFC 9394): a window of the results.
    Partial(super::PartialRange),
    /// `UPDATE` (RFC 5267 §4.3): keep the result up to date with
    /// `ADDTO`/`REMOVEFROM` while the mailbox stays selected.
    Update,
    /// `CONTEXT` (RFC 5267 §4.2): a hint that the criteria will be used
    /// again; servers may ignore it.
    Context,
    /// Any other option.
    Other(OptionExtension),
}

impl Encode for SearchReturnOption {
    fn encode(&self, enc: &mut Encoder) {
        match self {
            SearchReturnOption::Min => enc.put(b"MIN"),
            SearchReturnOption::Max => enc.put(b"MAX"),
            SearchReturnOption::All => enc.put(b"ALL"),
            SearchReturnOption::Count => enc.put(b"COUNT"),
            SearchReturnOption::Save => enc.put(b"SAVE"),
            SearchReturnOption::Partial(r) => {
                enc.put(b"PARTIAL ");
                r.encode(enc);
            }
            SearchReturnOption::Update => enc.put(b"UPDATE"),
            SearchReturnOption::Context => enc.put(b"CONTEXT"),
            SearchReturnOption::Other(o) => o.encode(enc),
        }
    }
}

/// `search-return-opt = "MIN" / "MAX" / "ALL" / "COUNT" / "SAVE" /
/// modifier-context / modifier-partial / modifier-update / search-ret-opt-ext`
/// (RFC 4731, RFC 5182, RFC 5267 §5, RFC 9394 §5)
pub(crate) fn search_return_opt(i: &[u8], depth: usize) -> PResult<'_, SearchReturnOption> {
    // `PARTIAL` always takes a range: a bad one is not an extension.
    if let Ok((r, _)) = keyword("PARTIAL")(i) {
        let (r, (_, range)) = (sp, super::partial::partial_range).parse(r)?;
        return Ok((r, SearchReturnOption::Partial(range)));
    }
    alt((
        map(keyword("MIN"), |_| SearchReturnOption::Min),
        map(keyword("MAX"), |_| SearchReturnOption::Max),
        map(keyword("ALL"), |_| SearchReturnOption::All),
        map(keyword("COUNT"), |_| SearchReturnOption::Count),
        map(keyword("SAVE"), |_| SearchReturnOption::Save),
        map(keyword("UPDATE"), |_| SearchReturnOption::Update),
        map(keyword("CONTEXT"), |_| SearchReturnOption::Context),
        map(|x| option_extension(x, depth), SearchReturnOption::Other),
    ))
    .parse(i)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::encode::Version;

    #[test]
    fn select_params() {
        let input = b"QRESYNC (67890007 20050715194045000 41,43:211,214:541)";
        let (r, p) = select_param(input).unwrap();
        assert_eq!(r, b"");
        assert_eq!(p.to_bytes(Version::Rev1), input.to_vec());
        assert_eq!(
            select_param(b"condstore"),
            Ok((&b""[..], SelectParameter::CondStore))
        );
    }

    #[test]
    fn nesting_limit() {
        assert!(option_val_comp(b"((a))", 2).is_ok());
        assert_eq!(
            option_val_comp(b"(((a)))", 2).map_err(|e| matches!(e, nom::Err::Failure(_))),
            Err(true)
        );
    }

    #[test]
    fn list_options() {
        let (r, o) = return_option(b"STATUS (MESSAGES UNSEEN))", 4).unwrap();
        assert_eq!(r, b")");
        assert_eq!(
            o,
            ListReturnOption::Status(vec![StatusAttribute::Messages, StatusAttribute::Unseen])
        );
        let (_, o) = list_select_option(b"X-FOO (a (b c))", 4).unwrap();
        assert_eq!(o.to_bytes(Version::Rev1), b"X-FOO (a (b c))".to_vec());
        assert_eq!(status_att(b"size"), Ok((&b""[..], StatusAttribute::Size)));
    }
}
