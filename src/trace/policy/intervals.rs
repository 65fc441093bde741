//! Sets of satoshi positions as coalesced half-open ranges, for the ordered models (FIFO, LIFO).
//!
//! An [`Intervals`] value is a list of half-open `(start, end)` ranges kept under one invariant:
//! every range is non-empty (`start < end`), the ranges are sorted by start, and any two
//! consecutive ranges `(_, e)` and `(s, _)` have `e < s` — they neither overlap nor touch. So a
//! set of positions has exactly one representation, two sets are equal iff their lists are, and
//! the tainted total is the sum of the lengths. Every constructor and mutator keeps the invariant.

/// A set of satoshi positions: sorted, non-overlapping, non-adjacent half-open ranges.
///
/// See the [module documentation](self) for the invariant. Positions are relative to the start
/// of whatever the set describes (an output, an input, a slice of a transaction's tape).
///
/// ```
/// use fundtrace::trace::policy::Intervals;
///
/// let mut set = Intervals::from_range(0, 30);
/// set.push(30, 40); // touches the last range: coalesced
/// set.push(60, 70);
/// assert_eq!(set.as_slice(), &[(0, 40), (60, 70)]);
/// assert_eq!(set.total(), 50);
/// // The part inside [20, 65), shifted so that 20 becomes 0.
/// assert_eq!(set.clip(20, 65).as_slice(), &[(0, 20), (40, 45)]);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Intervals {
    ranges: Vec<(u64, u64)>,
}

impl Intervals {
    /// The empty set (does not allocate).
    #[must_use]
    pub const fn new() -> Self {
        Intervals { ranges: Vec::new() }
    }

    /// The range `[start, end)`; empty when `start >= end`.
    #[must_use]
    pub fn from_range(start: u64, end: u64) -> Self {
        let mut set = Intervals::new();
        set.push(start, end);
        set
    }

    /// Number of satoshis in the set (sum of the range lengths).
    ///
    /// Cannot overflow: the ranges are disjoint subsets of `[0, u64::MAX)`.
    #[must_use]
    pub fn total(&self) -> u64 {
        self.ranges.iter().map(|&(s, e)| e - s).sum()
    }

    /// True when the set holds no position.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.ranges.is_empty()
    }

    /// Number of ranges (not satoshis; see [`total`](Self::total)).
    #[must_use]
    pub fn len(&self) -> usize {
        self.ranges.len()
    }

    /// The ranges, in increasing order.
    pub fn iter(&self) -> impl DoubleEndedIterator<Item = (u64, u64)> + ExactSizeIterator + '_ {
        self.ranges.iter().copied()
    }

    /// The ranges as a slice, in increasing order.
    #[must_use]
    pub fn as_slice(&self) -> &[(u64, u64)] {
        &self.ranges
    }

    /// The first position after the set (`0` when empty).
    #[must_use]
    pub fn end(&self) -> u64 {
        self.ranges.last().map_or(0, |&(_, e)| e)
    }

    /// True when position `p` is in the set. `O(log len)`.
    #[must_use]
    pub fn contains(&self, p: u64) -> bool {
        let k = self.ranges.partition_point(|&(_, e)| e <= p);
        self.ranges.get(k).is_some_and(|&(s, _)| s <= p)
    }

    /// Add `[start, end)` to the set. Empty ranges are ignored.
    ///
    /// `O(1)` when ranges arrive in increasing order (each `start` at or after the previous
    /// range's start), merging with the last range when they overlap or touch; any other order
    /// falls back to [`insert`](Self::insert), so the invariant holds whatever the order.
    pub fn push(&mut self, start: u64, end: u64) {
        if start >= end {
            return;
        }
        match self.ranges.last_mut() {
            None => self.ranges.push((start, end)),
            Some(last) if start > last.1 => self.ranges.push((start, end)),
            Some(last) if start >= last.0 => last.1 = last.1.max(end),
            Some(_) => self.insert(start, end),
        }
    }

    /// Add `[start, end)` anywhere in the set (union), merging every range it overlaps or
    /// touches. Empty ranges are ignored. `O(len)`.
    pub fn insert(&mut self, start: u64, end: u64) {
        if start >= end {
            return;
        }
        // Ranges strictly before (ending before `start`, not touching) stay; so do ranges
        // strictly after (starting after `end`); the ones between merge into one.
        let lo = self.ranges.partition_point(|&(_, e)| e < start);
        let hi = self.ranges.partition_point(|&(s, _)| s <= end);
        if lo == hi {
            self.ranges.insert(lo, (start, end));
            return;
        }
        let merged_start = self.ranges.get(lo).map_or(start, |&(s, _)| s.min(start));
        let merged_end = self.ranges.get(hi - 1).map_or(end, |&(_, e)| e.max(end));
        self.ranges.drain(lo + 1..hi);
        if let Some(slot) = self.ranges.get_mut(lo) {
            *slot = (merged_start, merged_end);
        }
    }

    /// The set moved up by `offset`. Positions that would pass `u64::MAX` are cut off.
    #[must_use]
    pub fn shifted(&self, offset: u64) -> Intervals {
        let mut out = Intervals {
            ranges: Vec::with_capacity(self.ranges.len()),
        };
        for &(s, e) in &self.ranges {
            out.push(s.saturating_add(offset), e.saturating_add(offset));
        }
        out
    }

    /// The part of the set inside `[lo, hi)`, shifted so that `lo` becomes `0`.
    /// Empty when `lo >= hi`. `O(log len + ranges kept)`.
    #[must_use]
    pub fn clip(&self, lo: u64, hi: u64) -> Intervals {
        let mut out = Intervals::new();
        if lo >= hi {
            return out;
        }
        let first = self.ranges.partition_point(|&(_, e)| e <= lo);
        for &(s, e) in self.ranges.get(first..).unwrap_or_default() {
            if s >= hi {
                break;
            }
            out.push(s.max(lo) - lo, e.min(hi) - lo);
        }
        out
    }

    /// Number of positions of the set inside `[lo, hi)` (`clip(lo, hi).total()` without
    /// building the set).
    #[must_use]
    pub fn count_in(&self, lo: u64, hi: u64) -> u64 {
        if lo >= hi {
            return 0;
        }
        let first = self.ranges.partition_point(|&(_, e)| e <= lo);
        self.ranges
            .get(first..)
            .unwrap_or_default()
            .iter()
            .take_while(|&&(s, _)| s < hi)
            .map(|&(s, e)| e.min(hi) - s.max(lo))
            .sum()
    }

    /// True when the invariant holds (always, for a value built through this API); for tests
    /// and debug assertions.
    #[must_use]
    pub fn is_coalesced(&self) -> bool {
        self.ranges.iter().all(|&(s, e)| s < e) && self.ranges.windows(2).all(|w| w[0].1 < w[1].0)
    }
}

impl<'a> IntoIterator for &'a Intervals {
    type Item = (u64, u64);
    type IntoIter = std::iter::Copied<std::slice::Iter<'a, (u64, u64)>>;

    /// The ranges, in increasing order (as [`Intervals::iter`]).
    fn into_iter(self) -> Self::IntoIter {
        self.ranges.iter().copied()
    }
}

impl FromIterator<(u64, u64)> for Intervals {
    /// The union of the ranges, in any order (empty ones ignored).
    fn from_iter<I: IntoIterator<Item = (u64, u64)>>(iter: I) -> Self {
        let mut set = Intervals::new();
        set.extend(iter);
        set
    }
}

impl Extend<(u64, u64)> for Intervals {
    /// Add each range as [`push`](Intervals::push) does (fast when in increasing order).
    fn extend<I: IntoIterator<Item = (u64, u64)>>(&mut self, iter: I) {
        for (s, e) in iter {
            self.push(s, e);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn empty_and_single() {
        let e = Intervals::new();
        assert!(e.is_empty());
        assert_eq!(e.total(), 0);
        assert_eq!(e.end(), 0);
        assert_eq!(Intervals::from_range(5, 5), e);
        assert_eq!(Intervals::from_range(7, 3), e);
        let r = Intervals::from_range(10, 25);
        assert_eq!(r.as_slice(), &[(10, 25)]);
        assert_eq!(r.total(), 15);
        assert_eq!(r.len(), 1);
        assert_eq!(r.end(), 25);
    }

    #[test]
    fn push_coalesces_in_order() {
        let mut s = Intervals::new();
        s.push(0, 10);
        s.push(10, 20); // touches: one range [0, 20)
        s.push(15, 18); // inside: no change
        s.push(25, 30);
        s.push(28, 40); // overlaps the last: [25, 40)
        s.push(41, 41); // empty: ignored
        assert_eq!(s.as_slice(), &[(0, 20), (25, 40)]);
        assert_eq!(
            (&s).into_iter().collect::<Vec<_>>(),
            vec![(0, 20), (25, 40)]
        );
        assert_eq!(s.total(), 20 + 15);
        assert!(s.is_coalesced());
    }

    #[test]
    fn push_out_of_order_falls_back_to_insert() {
        let mut s = Intervals::new();
        s.push(50, 60);
        s.push(10, 20);
        s.push(20, 50); // bridges both: [10, 60)
        assert_eq!(s.as_slice(), &[(10, 60)]);
        s.push(0, 5);
        assert_eq!(s.as_slice(), &[(0, 5), (10, 60)]);
    }

    #[test]
    fn insert_merges_overlapping_and_touching() {
        let mut s: Intervals = [(0, 5), (10, 15), (20, 25), (30, 35)].into_iter().collect();
        s.insert(12, 22); // overlaps [10,15) and [20,25): [10, 25)
        assert_eq!(s.as_slice(), &[(0, 5), (10, 25), (30, 35)]);
        s.insert(5, 10); // touches both neighbours: [0, 25)
        assert_eq!(s.as_slice(), &[(0, 25), (30, 35)]);
        s.insert(26, 29); // gap of one on each side: stays apart
        assert_eq!(s.as_slice(), &[(0, 25), (26, 29), (30, 35)]);
        s.insert(40, 50);
        assert_eq!(s.as_slice(), &[(0, 25), (26, 29), (30, 35), (40, 50)]);
    }

    #[test]
    fn shifted_and_clip() {
        let s: Intervals = [(0, 10), (20, 30)].into_iter().collect();
        assert_eq!(s.shifted(5).as_slice(), &[(5, 15), (25, 35)]);
        // Saturating: [u64::MAX - 5, MAX) survives partly, the rest is cut.
        let t = s.shifted(u64::MAX - 15);
        assert_eq!(t.as_slice(), &[(u64::MAX - 15, u64::MAX - 5)]);
        // [5, 25) holds [5, 10) and [20, 25): relative to 5, [0, 5) and [15, 20).
        assert_eq!(s.clip(5, 25).as_slice(), &[(0, 5), (15, 20)]);
        assert_eq!(s.count_in(5, 25), 10);
        assert_eq!(s.clip(10, 20), Intervals::new());
        assert_eq!(s.count_in(10, 20), 0);
        assert_eq!(s.clip(25, 5), Intervals::new());
        assert_eq!(s.clip(0, 100), s);
        assert!(s.contains(0) && s.contains(9) && !s.contains(10) && s.contains(20));
        assert!(!s.contains(30) && !s.contains(u64::MAX));
    }

    fn naive(bits: &[bool]) -> Vec<(u64, u64)> {
        let mut out = Vec::new();
        let mut p = 0;
        while p < bits.len() {
            if bits[p] {
                let s = p;
                while p < bits.len() && bits[p] {
                    p += 1;
                }
                out.push((s as u64, p as u64));
            } else {
                p += 1;
            }
        }
        out
    }

    proptest! {
        #[test]
        fn matches_a_bitmap(ranges in prop::collection::vec((0u64..64, 0u64..64), 0..12),
                            lo in 0u64..70, hi in 0u64..70, sorted in any::<bool>()) {
            let mut ranges = ranges;
            if sorted {
                ranges.sort_unstable();
            }
            let mut bits = vec![false; 64];
            for &(s, e) in &ranges {
                for b in bits.iter_mut().take(e as usize).skip(s as usize) {
                    *b = true;
                }
            }
            let set: Intervals = ranges.iter().copied().collect();
            let mut by_insert = Intervals::new();
            for &(s, e) in &ranges {
                by_insert.insert(s, e);
            }
            prop_assert!(set.is_coalesced());
            let expect = naive(&bits);
            prop_assert_eq!(set.as_slice(), expect.as_slice());
            prop_assert_eq!(&by_insert, &set);
            prop_assert_eq!(set.total(), bits.iter().filter(|&&b| b).count() as u64);
            for p in 0..70u64 {
                prop_assert_eq!(set.contains(p), bits.get(p as usize).copied().unwrap_or(false));
            }
            let clipped = set.clip(lo, hi);
            prop_assert!(clipped.is_coalesced());
            let window: Vec<bool> = (lo..hi.max(lo)).map(|p| bits.get(p as usize).copied().unwrap_or(false)).collect();
            let expect = naive(&window);
            prop_assert_eq!(clipped.as_slice(), expect.as_slice());
            prop_assert_eq!(set.count_in(lo, hi), clipped.total());
        }
    }
}
