//! Sets of UIDs as sorted, merged ranges: `1:*` on a 100,000-message
//! mailbox is one range, not 100,000 numbers.

use std::ops::RangeInclusive;

/// A set of UIDs (IMAP `sequence-set` resolved to UIDs, RFC 9051 §9).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct UidSet {
    /// Sorted, non-overlapping, non-adjacent ranges.
    ranges: Vec<RangeInclusive<u32>>,
}

impl UidSet {
    /// The empty set.
    #[must_use]
    pub fn new() -> UidSet {
        UidSet::default()
    }

    /// Every UID (`1:*`).
    #[must_use]
    pub fn all() -> UidSet {
        UidSet {
            ranges: vec![1..=u32::MAX],
        }
    }

    /// From ranges in any order (a range with start > end is taken
    /// reversed, as IMAP's `5:2` means `2:5`).
    #[must_use]
    pub fn from_ranges<I: IntoIterator<Item = RangeInclusive<u32>>>(ranges: I) -> UidSet {
        let mut v: Vec<RangeInclusive<u32>> = ranges
            .into_iter()
            .map(|r| {
                let (a, b) = (*r.start(), *r.end());
                a.min(b)..=a.max(b)
            })
            .collect();
        v.sort_by_key(|r| *r.start());
        let mut out: Vec<RangeInclusive<u32>> = Vec::with_capacity(v.len());
        for r in v {
            match out.last_mut() {
                Some(last) if u64::from(*r.start()) <= u64::from(*last.end()) + 1 => {
                    if r.end() > last.end() {
                        *last = *last.start()..=*r.end();
                    }
                }
                _ => out.push(r),
            }
        }
        UidSet { ranges: out }
    }

    /// Adds one UID.
    pub fn insert(&mut self, uid: u32) {
        let mut ranges = std::mem::take(&mut self.ranges);
        ranges.push(uid..=uid);
        *self = UidSet::from_ranges(ranges);
    }

    /// Whether `uid` is in the set.
    #[must_use]
    pub fn contains(&self, uid: u32) -> bool {
        let i = self.ranges.partition_point(|r| *r.end() < uid);
        self.ranges.get(i).is_some_and(|r| r.contains(&uid))
    }

    /// The ranges, sorted and merged.
    #[must_use]
    pub fn ranges(&self) -> &[RangeInclusive<u32>] {
        &self.ranges
    }

    /// Whether the set is empty.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.ranges.is_empty()
    }
}

impl From<&[u32]> for UidSet {
    fn from(uids: &[u32]) -> UidSet {
        UidSet::from_ranges(uids.iter().map(|&u| u..=u))
    }
}

impl<const N: usize> From<[u32; N]> for UidSet {
    fn from(uids: [u32; N]) -> UidSet {
        UidSet::from(&uids[..])
    }
}

impl From<RangeInclusive<u32>> for UidSet {
    fn from(r: RangeInclusive<u32>) -> UidSet {
        UidSet::from_ranges([r])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merges_and_contains() {
        let (eight, six) = (8, 6);
        let s = UidSet::from_ranges([5..=7, 1..=2, 3..=3, 9..=9, eight..=six]);
        assert_eq!(s.ranges(), &[1..=3, 5..=9]);
        let s = UidSet::from([4, 1, 2, 10]);
        assert_eq!(s.ranges(), &[1..=2, 4..=4, 10..=10]);
        assert!(s.contains(1) && s.contains(4) && s.contains(10));
        assert!(!s.contains(3) && !s.contains(11) && !s.contains(0));
        let mut s = s;
        s.insert(3);
        assert_eq!(s.ranges(), &[1..=4, 10..=10]);
        assert_eq!(UidSet::all().ranges(), &[1..=u32::MAX]);
        assert!(UidSet::from_ranges([u32::MAX..=u32::MAX, 1..=u32::MAX]).contains(u32::MAX));
    }
}
