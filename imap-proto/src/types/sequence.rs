//! Sequence sets (RFC 9051 §9): `sequence-set`, `seq-range`, `seq-number`,
//! and the `$` search-result reference (RFC 5182, part of IMAP4rev2).

use crate::core::{PResult, fail, nz_number};
use crate::encode::{Encode, Encoder};
use nom::Parser;
use nom::bytes::complete::tag;
use nom::combinator::opt;
use std::num::NonZeroU32;

/// `seq-number = nz-number / "*"`
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SeqOrUid {
    /// A message sequence number or UID.
    Value(NonZeroU32),
    /// `*`: the largest number in use.
    Asterisk,
}

/// `seq-number / seq-range`
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Sequence {
    /// A single number.
    Single(SeqOrUid),
    /// `seq-range = seq-number ":" seq-number` (either order, RFC 9051 §9).
    Range(SeqOrUid, SeqOrUid),
}

/// `sequence-set = (seq-number / seq-range) ["," sequence-set] / "$"`
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct SequenceSet(Inner);

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
enum Inner {
    List(Vec<Sequence>),
    SearchResult,
}

impl SequenceSet {
    /// A set of the given elements; `None` when empty.
    pub fn new(items: Vec<Sequence>) -> Option<Self> {
        if items.is_empty() {
            None
        } else {
            Some(SequenceSet(Inner::List(items)))
        }
    }

    /// A single number.
    pub fn single(n: NonZeroU32) -> Self {
        SequenceSet(Inner::List(vec![Sequence::Single(SeqOrUid::Value(n))]))
    }

    /// `$`: the result saved by `SEARCH RETURN (SAVE)` (RFC 5182).
    pub fn search_result() -> Self {
        SequenceSet(Inner::SearchResult)
    }

    /// True for `$`.
    pub fn is_search_result(&self) -> bool {
        matches!(self.0, Inner::SearchResult)
    }

    /// The elements (empty for `$`).
    pub fn items(&self) -> &[Sequence] {
        match &self.0 {
            Inner::List(v) => v,
            Inner::SearchResult => &[],
        }
    }

    /// True if `n` is in the set, with `*` standing for `largest`.
    pub fn contains(&self, n: u32, largest: u32) -> bool {
        let val = |s: SeqOrUid| match s {
            SeqOrUid::Value(v) => v.get(),
            SeqOrUid::Asterisk => largest,
        };
        self.items().iter().any(|s| match *s {
            Sequence::Single(a) => val(a) == n,
            Sequence::Range(a, b) => {
                let (lo, hi) = (val(a).min(val(b)), val(a).max(val(b)));
                (lo..=hi).contains(&n)
            }
        })
    }
}

impl Encode for SeqOrUid {
    fn encode(&self, enc: &mut Encoder) {
        match self {
            SeqOrUid::Value(n) => enc.put_num(n),
            SeqOrUid::Asterisk => enc.put(b"*"),
        }
    }
}

impl Encode for SequenceSet {
    fn encode(&self, enc: &mut Encoder) {
        match &self.0 {
            Inner::SearchResult => enc.put(b"$"),
            Inner::List(items) => {
                for (n, s) in items.iter().enumerate() {
                    if n > 0 {
                        enc.put(b",");
                    }
                    match s {
                        Sequence::Single(a) => a.encode(enc),
                        Sequence::Range(a, b) => {
                            a.encode(enc);
                            enc.put(b":");
                            b.encode(enc);
                        }
                    }
                }
            }
        }
    }
}

/// `seq-number = nz-number / "*"`
fn seq_number(i: &[u8]) -> PResult<'_, SeqOrUid> {
    if let Some(rest) = i.strip_prefix(b"*") {
        return Ok((rest, SeqOrUid::Asterisk));
    }
    let (rest, n) = nz_number(i)?;
    Ok((rest, SeqOrUid::Value(n)))
}

/// `sequence-set = (seq-number / seq-range) ["," sequence-set] / "$"`;
/// `seq-range = seq-number ":" seq-number`
pub(crate) fn sequence_set(i: &[u8]) -> PResult<'_, SequenceSet> {
    if let Some(rest) = i.strip_prefix(b"$") {
        return Ok((rest, SequenceSet(Inner::SearchResult)));
    }
    let mut items = Vec::new();
    let mut cur = i;
    loop {
        let (rest, a) = match seq_number(cur) {
            Ok(v) => v,
            // "1," : the comma is not part of the set.
            Err(nom::Err::Error(_)) if !items.is_empty() => {
                let before = &i[i.len() - cur.len() - 1..];
                return SequenceSet::new(items)
                    .map(|s| (before, s))
                    .ok_or_else(|| fail(i));
            }
            Err(e) => return Err(e),
        };
        let (rest, b) = opt(|x| {
            let (x, _) = tag(&b":"[..]).parse(x)?;
            seq_number(x)
        })
        .parse(rest)?;
        items.push(match b {
            Some(b) => Sequence::Range(a, b),
            None => Sequence::Single(a),
        });
        match rest.strip_prefix(b",") {
            Some(r) => cur = r,
            None => {
                return SequenceSet::new(items)
                    .map(|s| (rest, s))
                    .ok_or_else(|| fail(i));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::encode::Version;

    fn v(n: u32) -> SeqOrUid {
        SeqOrUid::Value(NonZeroU32::new(n).unwrap())
    }

    #[test]
    fn known_answers() {
        let cases: &[(&[u8], &[u8], Vec<Sequence>)] = &[
            (b"1 x", b" x", vec![Sequence::Single(v(1))]),
            (
                b"2:4,7,9:* ",
                b" ",
                vec![
                    Sequence::Range(v(2), v(4)),
                    Sequence::Single(v(7)),
                    Sequence::Range(v(9), SeqOrUid::Asterisk),
                ],
            ),
            (b"*:3", b"", vec![Sequence::Range(SeqOrUid::Asterisk, v(3))]),
        ];
        for (input, rest, val) in cases {
            let (r, s) = sequence_set(input).unwrap();
            assert_eq!((r, s.items()), (*rest, &val[..]));
            assert_eq!(
                s.to_bytes(Version::Rev1),
                input[..input.len() - rest.len()].to_vec()
            );
        }
        assert!(sequence_set(b"0").is_err());
        assert!(sequence_set(b",1").is_err());
        assert_eq!(sequence_set(b"1,").map(|(r, _)| r), Ok(&b","[..]));
        assert!(sequence_set(b"$").unwrap().1.is_search_result());
    }

    #[test]
    fn contains() {
        let (_, s) = sequence_set(b"2:4,9:*").unwrap();
        assert!(s.contains(3, 10));
        assert!(!s.contains(5, 10));
        assert!(s.contains(10, 10));
        let (_, s) = sequence_set(b"5:2").unwrap();
        assert!(s.contains(2, 10));
    }
}
