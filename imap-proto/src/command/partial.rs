//! The `PARTIAL` search return option (RFC 9394 §3, first defined by
//! RFC 5267 §4.4): a window into the result list of SEARCH or SORT.

use crate::core::{PResult, nz_number};
use crate::encode::{Encode, Encoder};
use nom::Parser;
use nom::bytes::complete::tag;
use std::num::NonZeroU32;
use std::ops::Range;

/// `partial-range = partial-range-first / partial-range-last` (RFC 9394 §5).
///
/// Positions count from 1. A range is kept as the client wrote it;
/// `500:400` means the same as `400:500`, and the ESEARCH `PARTIAL` item
/// answers with [`PartialRange::normalized`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum PartialRange {
    /// `partial-range-first = nz-number ":" nz-number`: positions counted
    /// from the first result.
    First(NonZeroU32, NonZeroU32),
    /// `partial-range-last = MINUS nz-number ":" MINUS nz-number`:
    /// positions counted back from the last result (`-1` is the last).
    Last(NonZeroU32, NonZeroU32),
}

impl PartialRange {
    /// The indices (0-based, ascending) of the results the range selects
    /// in a result list of `len` entries; empty when the range lies beyond
    /// the end (RFC 5267 §4.4: the server returns what is in the set).
    pub fn indices(&self, len: usize) -> Range<usize> {
        let (a, b) = match *self {
            PartialRange::First(a, b) | PartialRange::Last(a, b) => (a.get(), b.get()),
        };
        let lo = usize::try_from(a.min(b)).unwrap_or(usize::MAX);
        let hi = usize::try_from(a.max(b)).unwrap_or(usize::MAX);
        match self {
            PartialRange::First(..) => {
                let start = (lo - 1).min(len);
                start..hi.min(len)
            }
            PartialRange::Last(..) => {
                // -lo is index len - lo, -hi is index len - hi.
                let end = len.saturating_sub(lo - 1);
                let start = len.saturating_sub(hi);
                start..end
            }
        }
    }

    /// The same range with the smaller position first (`4:2` becomes
    /// `2:4`, `-4:-2` becomes `-2:-4`): the form an ESEARCH `PARTIAL`
    /// result item carries (RFC 9394 §3.1: the server returns the range
    /// it used; Dovecot and the RFC's examples write it ascending).
    pub fn normalized(&self) -> PartialRange {
        match *self {
            PartialRange::First(a, b) => PartialRange::First(a.min(b), a.max(b)),
            PartialRange::Last(a, b) => PartialRange::Last(a.min(b), a.max(b)),
        }
    }
}

impl Encode for PartialRange {
    fn encode(&self, enc: &mut Encoder) {
        match self {
            PartialRange::First(a, b) => {
                enc.put_num(a);
                enc.put(b":");
                enc.put_num(b);
            }
            PartialRange::Last(a, b) => {
                enc.put(b"-");
                enc.put_num(a);
                enc.put(b":-");
                enc.put_num(b);
            }
        }
    }
}

/// `partial-range = partial-range-first / partial-range-last`;
/// `partial-range-first = nz-number ":" nz-number`;
/// `partial-range-last = MINUS nz-number ":" MINUS nz-number` (RFC 9394 §5).
pub(crate) fn partial_range(i: &[u8]) -> PResult<'_, PartialRange> {
    if let Some(r) = i.strip_prefix(b"-") {
        let (r, (a, _, b)) = (nz_number, tag(&b":-"[..]), nz_number).parse(r)?;
        return Ok((r, PartialRange::Last(a, b)));
    }
    let (r, (a, _, b)) = (nz_number, tag(&b":"[..]), nz_number).parse(i)?;
    Ok((r, PartialRange::First(a, b)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::encode::Version;

    fn nz(n: u32) -> NonZeroU32 {
        NonZeroU32::new(n).unwrap()
    }

    #[test]
    fn known_answers() {
        for (input, rest, value) in [
            (
                &b"1:100 "[..],
                &b" "[..],
                PartialRange::First(nz(1), nz(100)),
            ),
            (b"500:400)", b")", PartialRange::First(nz(500), nz(400))),
            (b"-1:-100", b"", PartialRange::Last(nz(1), nz(100))),
        ] {
            let (r, v) = partial_range(input).unwrap();
            assert_eq!((r, v), (rest, value));
            let written = v.to_bytes(Version::Rev2);
            assert_eq!(&input[..input.len() - rest.len()], &written[..]);
        }
        for bad in [&b"0:5"[..], b"-1:5", b"1:-5", b"*:5", b"1", b"-0:-1"] {
            assert!(partial_range(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn windows() {
        let r = |a, b| PartialRange::First(nz(a), nz(b));
        let l = |a, b| PartialRange::Last(nz(a), nz(b));
        assert_eq!(r(1, 3).indices(10), 0..3);
        assert_eq!(r(3, 1).indices(10), 0..3);
        assert_eq!(r(9, 20).indices(10), 8..10);
        assert_eq!(r(11, 20).indices(10), 10..10);
        assert_eq!(l(1, 3).indices(10), 7..10);
        assert_eq!(l(3, 1).indices(10), 7..10);
        assert_eq!(l(9, 20).indices(10), 0..2);
        assert_eq!(l(11, 20).indices(10), 0..0);
        assert_eq!(l(1, 1).indices(0), 0..0);
        assert_eq!(r(1, u32::MAX).indices(2), 0..2);
        assert_eq!(r(4, 2).normalized(), r(2, 4));
        assert_eq!(r(2, 4).normalized(), r(2, 4));
        assert_eq!(l(4, 2).normalized(), l(2, 4));
    }
}
