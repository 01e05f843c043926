//! SORT and THREAD arguments (RFC 5256 §3 and §4).

use crate::core::{PResult, fail, keyword, sp, upper_atom};
use crate::encode::{Encode, Encoder};
use nom::Parser;
use nom::combinator::opt;

/// `sort-key = "ARRIVAL" / "CC" / "DATE" / "FROM" / "SIZE" / "SUBJECT" / "TO"`
/// (RFC 5256 §4).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SortKey {
    /// `ARRIVAL`: the internal date.
    Arrival,
    /// `CC`: the first Cc address's mailbox (local part).
    Cc,
    /// `DATE`: the Date: header, internal date when absent or invalid.
    Date,
    /// `FROM`: the first From address's mailbox (local part).
    From,
    /// `SIZE`: RFC822.SIZE.
    Size,
    /// `SUBJECT`: the base subject (RFC 5256 §2.1).
    Subject,
    /// `TO`: the first To address's mailbox (local part).
    To,
}

impl SortKey {
    fn name(self) -> &'static [u8] {
        match self {
            SortKey::Arrival => b"ARRIVAL",
            SortKey::Cc => b"CC",
            SortKey::Date => b"DATE",
            SortKey::From => b"FROM",
            SortKey::Size => b"SIZE",
            SortKey::Subject => b"SUBJECT",
            SortKey::To => b"TO",
        }
    }
}

/// `sort-criterion = ["REVERSE" SP] sort-key` (RFC 5256 §4).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct SortCriterion {
    /// `REVERSE`: this key sorts descending.
    pub reverse: bool,
    /// The key.
    pub key: SortKey,
}

impl Encode for SortCriterion {
    fn encode(&self, enc: &mut Encoder) {
        if self.reverse {
            enc.put(b"REVERSE ");
        }
        enc.put(self.key.name());
    }
}

/// `sort-key` (RFC 5256 §4).
fn sort_key(i: &[u8]) -> PResult<'_, SortKey> {
    let (r, name) = upper_atom(i)?;
    let key = match name.as_bytes() {
        b"ARRIVAL" => SortKey::Arrival,
        b"CC" => SortKey::Cc,
        b"DATE" => SortKey::Date,
        b"FROM" => SortKey::From,
        b"SIZE" => SortKey::Size,
        b"SUBJECT" => SortKey::Subject,
        b"TO" => SortKey::To,
        _ => return Err(fail(i)),
    };
    Ok((r, key))
}

/// `sort-criterion = ["REVERSE" SP] sort-key`
pub(crate) fn sort_criterion(i: &[u8]) -> PResult<'_, SortCriterion> {
    let (r, reverse) = opt((keyword("REVERSE"), sp)).parse(i)?;
    let (r, key) = sort_key(r)?;
    Ok((
        r,
        SortCriterion {
            reverse: reverse.is_some(),
            key,
        },
    ))
}

/// `thread-alg = "ORDEREDSUBJECT" / "REFERENCES" / thread-alg-ext`
/// (RFC 5256 §4); only the two algorithms of the RFC are known.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ThreadAlgorithm {
    /// `ORDEREDSUBJECT` (RFC 5256 §2.2): by base subject, then date.
    OrderedSubject,
    /// `REFERENCES` (RFC 5256 §2.3): by Message-ID/References/In-Reply-To.
    References,
}

impl Encode for ThreadAlgorithm {
    fn encode(&self, enc: &mut Encoder) {
        enc.put(match self {
            ThreadAlgorithm::OrderedSubject => b"ORDEREDSUBJECT",
            ThreadAlgorithm::References => b"REFERENCES",
        });
    }
}

/// `thread-alg`
pub(crate) fn thread_alg(i: &[u8]) -> PResult<'_, ThreadAlgorithm> {
    let (r, name) = upper_atom(i)?;
    match name.as_bytes() {
        b"ORDEREDSUBJECT" => Ok((r, ThreadAlgorithm::OrderedSubject)),
        b"REFERENCES" => Ok((r, ThreadAlgorithm::References)),
        _ => Err(fail(i)),
    }
}
