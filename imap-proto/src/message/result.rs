//! Building SEARCH and ESEARCH answers (RFC 9051 §7.3.4, RFC 3501 §7.2.5,
//! RFC 4731, RFC 7162 §3.1.5).

use crate::Version;
use crate::command::SearchReturnOption;
use crate::response::{Data, ESearchItem};
use crate::types::{SeqOrUid, Sequence, SequenceSet, Tag};
use std::num::NonZeroU32;

/// The matches of one search, collected by the server.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SearchResult {
    /// Matching sequence numbers or UIDs.
    pub ids: Vec<NonZeroU32>,
    /// Highest mod-sequence among the matches (only reported when the
    /// search had a MODSEQ key, RFC 7162 §3.1.5).
    pub highest_mod_seq: Option<u64>,
}

/// The numbers as a compact sequence set (`1:3,7,9:10`), sorted and
/// without duplicates; `None` when empty.
pub fn compact_sequence_set(ids: &[NonZeroU32]) -> Option<SequenceSet> {
    let mut v = ids.to_vec();
    v.sort_unstable();
    v.dedup();
    let mut out = Vec::new();
    let mut iter = v.into_iter();
    let mut start = iter.next()?;
    let mut prev = start;
    let push = |out: &mut Vec<Sequence>, a: NonZeroU32, b: NonZeroU32| {
        out.push(if a == b {
            Sequence::Single(SeqOrUid::Value(a))
        } else {
            Sequence::Range(SeqOrUid::Value(a), SeqOrUid::Value(b))
        });
    };
    for n in iter {
        if n.get() != prev.get().saturating_add(1) {
            push(&mut out, start, prev);
            start = n;
        }
        prev = n;
    }
    push(&mut out, start, prev);
    SequenceSet::new(out)
}

/// The numbers in the order given as a sequence set: ascending runs of
/// consecutive numbers become ranges, nothing is reordered (RFC 5267 §3.2:
/// an ESORT `ALL` keeps the sort order and never writes `12:10`); `None`
/// when empty.
pub fn ordered_sequence_set(ids: &[NonZeroU32]) -> Option<SequenceSet> {
    let mut out = Vec::new();
    let mut iter = ids.iter().copied();
    let mut start = iter.next()?;
    let mut prev = start;
    let push = |out: &mut Vec<Sequence>, a: NonZeroU32, b: NonZeroU32| {
        out.push(if a == b {
            Sequence::Single(SeqOrUid::Value(a))
        } else {
            Sequence::Range(SeqOrUid::Value(a), SeqOrUid::Value(b))
        });
    };
    for n in iter {
        if n.get() != prev.get().saturating_add(1) {
            push(&mut out, start, prev);
            start = n;
        }
        prev = n;
    }
    push(&mut out, start, prev);
    SequenceSet::new(out)
}

/// True when the RETURN options ask for nothing that shapes the answer
/// (no MIN, MAX, ALL, COUNT, SAVE or PARTIAL): ALL is then implied
/// (RFC 4731 §3.1; `UPDATE` and `CONTEXT` alone change nothing).
pub fn implies_all(options: &[SearchReturnOption]) -> bool {
    !options.iter().any(|o| {
        matches!(
            o,
            SearchReturnOption::Min
                | SearchReturnOption::Max
                | SearchReturnOption::Count
                | SearchReturnOption::All
                | SearchReturnOption::Save
                | SearchReturnOption::Partial(_)
        )
    })
}

/// `search-return-data` for the RETURN options over results in the
/// requested order: ascending (mailbox order, SEARCH) or the sort order
/// (`sorted`, ESORT RFC 5267 §3.1, where MIN and MAX are the first and last
/// sorted results and ALL keeps the order). MIN, MAX and ALL are left out
/// when nothing matched, COUNT is always given, PARTIAL (RFC 9394) gives
/// the results at the requested positions or NIL; no shaping option means
/// ALL. MODSEQ follows when given and something matched (RFC 7162 §3.1.5).
pub fn return_data(
    ordered: &[NonZeroU32],
    options: &[SearchReturnOption],
    highest_mod_seq: Option<u64>,
    sorted: bool,
) -> Vec<ESearchItem> {
    let wants = |o: &SearchReturnOption| options.contains(o);
    let set = |ids: &[NonZeroU32]| {
        if sorted {
            ordered_sequence_set(ids)
        } else {
            compact_sequence_set(ids)
        }
    };
    let all = wants(&SearchReturnOption::All) || implies_all(options);
    let mut items = Vec::new();
    let (first, last) = if sorted {
        (ordered.first().copied(), ordered.last().copied())
    } else {
        (ordered.iter().min().copied(), ordered.iter().max().copied())
    };
    if wants(&SearchReturnOption::Min)
        && let Some(m) = first
    {
        items.push(ESearchItem::Min(m));
    }
    if wants(&SearchReturnOption::Max)
        && let Some(m) = last
    {
        items.push(ESearchItem::Max(m));
    }
    if all && let Some(s) = set(ordered) {
        items.push(ESearchItem::All(s));
    }
    for o in options {
        if let SearchReturnOption::Partial(range) = o {
            let window = ordered
                .get(range.indices(ordered.len()))
                .unwrap_or_default();
            items.push(ESearchItem::Partial {
                range: range.normalized(),
                results: set(window),
            });
        }
    }
    if wants(&SearchReturnOption::Count) {
        items.push(ESearchItem::Count(
            u32::try_from(ordered.len()).unwrap_or(u32::MAX),
        ));
    }
    if let (Some(m), false) = (highest_mod_seq, ordered.is_empty()) {
        items.push(ESearchItem::ModSeq(m));
    }
    items
}

/// `search-return-data` for the RETURN options of a SEARCH (RFC 4731
/// §3.1, RFC 9394): [`return_data`] in mailbox order.
pub fn esearch_items(
    ids: &[NonZeroU32],
    options: &[SearchReturnOption],
    highest_mod_seq: Option<u64>,
) -> Vec<ESearchItem> {
    let mut ordered = ids.to_vec();
    ordered.sort_unstable();
    ordered.dedup();
    return_data(&ordered, options, highest_mod_seq, false)
}

/// The untagged answer to SEARCH: `* SEARCH ...` for an IMAP4rev1 session
/// without RETURN options, `* ESEARCH (TAG "t") [UID] ...` otherwise
/// (IMAP4rev2 always answers with ESEARCH, RFC 9051 §6.4.4). Numbers in
/// `* SEARCH` are sorted ascending.
pub fn search_data(
    version: Version,
    tag: &Tag,
    uid: bool,
    result: &SearchResult,
    options: Option<&[SearchReturnOption]>,
) -> Data {
    match (version, options) {
        (Version::Rev1, None) => {
            let mut ids = result.ids.clone();
            ids.sort_unstable();
            ids.dedup();
            let mod_seq = result.highest_mod_seq.filter(|_| !ids.is_empty());
            Data::Search { ids, mod_seq }
        }
        (_, options) => Data::ESearch {
            correlator: Some(tag.clone()),
            uid,
            items: esearch_items(&result.ids, options.unwrap_or(&[]), result.highest_mod_seq),
        },
    }
}
