//! The outputs of a trace waiting for their spender, each with a value (its taint): a map keyed
//! by [`OutIx`] that adapts to its size.
//!
//! While few outputs wait, a hash map holds them: small, and a trace touching a few thousand
//! outputs scattered over the chain touches no more memory than that. Once many wait, the map
//! turns into a slot per output of the dataset (zeroed memory, so only the pages holding touched
//! outputs become resident) that indexes a slab of values: an insert or a removal is then one
//! array access instead of a hash, a probe and a move of the entry. The walk reads and writes
//! the same entries either way; the switch changes speed, never results.

use rustc_hash::FxHashMap;

use crate::store::dataset::prefetch;
use crate::store::OutIx;

/// Entries at which the hash map turns into the slot array.
const SLOTS_FROM: usize = 1 << 16;

/// Outputs waiting for their spender, each with a `T`.
#[derive(Debug)]
pub(super) struct Waiting<T> {
    inner: Inner<T>,
    /// Outputs of the dataset: the size of the slot array.
    outputs: u64,
}

#[derive(Debug)]
enum Inner<T> {
    Map(FxHashMap<OutIx, T>),
    Slots(Slots<T>),
}

/// A slot per output indexing a slab of values.
#[derive(Debug)]
struct Slots<T> {
    /// Per output: 1 + the index of its entry in `entries`, or 0.
    slot: Vec<u32>,
    entries: Vec<Option<T>>,
    /// Indices of `entries` emptied by removals, for reuse.
    free: Vec<u32>,
}

impl<T> Slots<T> {
    fn len(&self) -> usize {
        self.entries.len() - self.free.len()
    }

    fn insert(&mut self, out: OutIx, value: T) {
        let s = &mut self.slot[out.index()];
        if *s != 0 {
            self.entries[*s as usize - 1] = Some(value);
            return;
        }
        let index = match self.free.pop() {
            Some(i) => {
                self.entries[i as usize] = Some(value);
                i
            }
            None => {
                self.entries.push(Some(value));
                (self.entries.len() - 1) as u32
            }
        };
        *s = index + 1;
    }

    /// The index in `entries` of `out`'s value, if it waits.
    fn index(&self, out: OutIx) -> Option<usize> {
        let s = *self.slot.get(out.index())?;
        s.checked_sub(1).map(|i| i as usize)
    }

    fn remove(&mut self, out: OutIx) -> Option<T> {
        let index = self.index(out)?;
        self.slot[out.index()] = 0;
        self.free.push(index as u32);
        self.entries[index].take()
    }
}

impl<T> Waiting<T> {
    /// An empty set for a dataset of `outputs` outputs.
    pub(super) fn new(outputs: u64) -> Waiting<T> {
        Waiting {
            inner: Inner::Map(FxHashMap::default()),
            outputs,
        }
    }

    /// Number of waiting outputs.
    pub(super) fn len(&self) -> usize {
        match &self.inner {
            Inner::Map(m) => m.len(),
            Inner::Slots(s) => s.len(),
        }
    }

    /// True when no output waits.
    pub(super) fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Let `out` wait with `value` (replacing any value it had).
    pub(super) fn insert(&mut self, out: OutIx, value: T) {
        match &mut self.inner {
            Inner::Map(m) => {
                m.insert(out, value);
                if m.len() >= SLOTS_FROM {
                    self.switch_to_slots();
                }
            }
            Inner::Slots(s) => s.insert(out, value),
        }
    }

    /// Take `out` out of the set, with its value, if it waits.
    pub(super) fn remove(&mut self, out: OutIx) -> Option<T> {
        match &mut self.inner {
            Inner::Map(m) => m.remove(&out),
            Inner::Slots(s) => s.remove(out),
        }
    }

    /// Start loading `out`'s slot (a hint for a walk a few transactions ahead; nothing while
    /// the set is a hash map).
    pub(super) fn prefetch_slot(&self, out: OutIx) {
        if let Inner::Slots(s) = &self.inner {
            if let Some(slot) = s.slot.get(out.index()) {
                prefetch(slot);
            }
        }
    }

    /// Start loading `out`'s entry, when it waits (its slot should be in cache by now).
    pub(super) fn prefetch_entry(&self, out: OutIx) {
        if let Inner::Slots(s) = &self.inner {
            if let Some(e) = s.index(out).and_then(|i| s.entries.get(i)) {
                prefetch(e);
            }
        }
    }

    /// Move the hash map's entries into a slot array over every output.
    fn switch_to_slots(&mut self) {
        let Inner::Map(map) = &mut self.inner else {
            return;
        };
        let map = std::mem::take(map);
        let mut slots = Slots {
            slot: vec![0u32; self.outputs as usize],
            entries: Vec::with_capacity(map.len() * 2),
            free: Vec::new(),
        };
        for (out, value) in map {
            slots.insert(out, value);
        }
        self.inner = Inner::Slots(slots);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The same operations on a small and on a switching set, checked against a plain map.
    #[test]
    fn behaves_as_a_map_before_and_after_the_switch() {
        let outputs = 3 * SLOTS_FROM as u64;
        let mut set: Waiting<u64> = Waiting::new(outputs);
        let mut model = std::collections::HashMap::new();
        let mut x = 0x2545_f491_4f6c_dd1du64;
        for step in 0..6 * SLOTS_FROM {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let out = OutIx(x % outputs);
            // Mostly inserts at first, then as many removals: the set grows past the switch
            // and shrinks again.
            let insert = (step < 3 * SLOTS_FROM) != x.is_multiple_of(4);
            if insert {
                set.insert(out, step as u64);
                model.insert(out, step as u64);
            } else {
                assert_eq!(set.remove(out), model.remove(&out), "step {step}");
            }
            assert_eq!(set.len(), model.len());
        }
        assert!(matches!(set.inner, Inner::Slots(_)), "the set switched");
        for (out, value) in model {
            assert_eq!(set.remove(out), Some(value));
        }
        assert!(set.is_empty());
        assert_eq!(set.remove(OutIx(outputs + 5)), None);
    }
}
