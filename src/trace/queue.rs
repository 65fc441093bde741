//! The frontier of a trace: transactions to visit, popped in increasing (forward) or decreasing
//! (backward) `TxIx` order.
//!
//! A trace only ever inserts transactions on the far side of the one it is visiting (a spender
//! comes after the transaction it spends from), so a bitset over transaction ids with a cursor
//! that moves one way is enough: insert and pop are O(1) amortized, with no ordered-tree or
//! heap bookkeeping. The bitset is allocated zeroed, so only the pages a trace touches become
//! resident.

use crate::store::TxIx;

/// A set of transaction ids popped in one direction.
#[derive(Debug)]
pub struct TxQueue {
    words: Vec<u64>,
    /// Forward: the lowest word that may hold a bit. Backward: the highest.
    cursor: usize,
    len: usize,
    forward: bool,
}

impl TxQueue {
    /// An empty queue over `tx_count` transactions; `forward` pops the smallest id first.
    pub fn new(tx_count: u32, forward: bool) -> TxQueue {
        let n = (tx_count as usize).div_ceil(64);
        TxQueue {
            words: vec![0; n],
            cursor: if forward { 0 } else { n.saturating_sub(1) },
            len: 0,
            forward,
        }
    }

    /// Add `tx` (no effect when present). It must not lie behind the cursor: forward, not below
    /// the last popped id; backward, not above it.
    pub fn insert(&mut self, tx: TxIx) {
        let (w, b) = (tx.index() / 64, tx.index() % 64);
        debug_assert!(
            if self.forward {
                w >= self.cursor
            } else {
                w <= self.cursor
            },
            "insert behind the cursor"
        );
        let bit = 1u64 << b;
        if self.words[w] & bit == 0 {
            self.words[w] |= bit;
            self.len += 1;
        }
        // Seeds are inserted before the first pop in any order: keep the cursor before them.
        if self.forward {
            self.cursor = self.cursor.min(w);
        } else {
            self.cursor = self.cursor.max(w);
        }
    }

    /// Remove and return the next transaction in the queue's direction.
    pub fn pop(&mut self) -> Option<TxIx> {
        if self.len == 0 {
            return None;
        }
        loop {
            let word = self.words[self.cursor];
            if word != 0 {
                let b = if self.forward {
                    word.trailing_zeros()
                } else {
                    63 - word.leading_zeros()
                };
                self.words[self.cursor] &= !(1u64 << b);
                self.len -= 1;
                return Some(TxIx((self.cursor * 64 + b as usize) as u32));
            }
            if self.forward {
                self.cursor += 1;
            } else {
                self.cursor -= 1;
            }
        }
    }

    /// Forward queue only: drop every transaction below `from` and move the cursor there (work
    /// proportional to the words dropped, not to the queue).
    pub fn resume_at(&mut self, from: TxIx) {
        debug_assert!(self.forward);
        let (w, b) = (from.index() / 64, from.index() % 64);
        let n = self.words.len();
        let mut dropped = 0;
        for word in &mut self.words[self.cursor.min(w).min(n)..w.min(n)] {
            dropped += word.count_ones() as usize;
            *word = 0;
        }
        if let Some(word) = self.words.get_mut(w) {
            let below = *word & ((1u64 << b) - 1);
            dropped += below.count_ones() as usize;
            *word &= !below;
        }
        self.cursor = self.cursor.max(w.min(n.saturating_sub(1)));
        self.len -= dropped;
    }

    /// The `n`-th next transaction a forward queue would pop (0: the next), looking at most a
    /// few words past the cursor; `None` when farther or absent. For prefetching: the queue
    /// may still change before that transaction is popped.
    pub fn peek_ahead(&self, n: usize) -> Option<TxIx> {
        debug_assert!(self.forward);
        let mut left = n;
        for w in self.cursor..(self.cursor + 4).min(self.words.len()) {
            let mut word = self.words[w];
            let ones = word.count_ones() as usize;
            if left >= ones {
                left -= ones;
                continue;
            }
            for _ in 0..left {
                word &= word - 1;
            }
            return Some(TxIx((w * 64 + word.trailing_zeros() as usize) as u32));
        }
        None
    }

    /// Number of queued transactions.
    pub fn len(&self) -> usize {
        self.len
    }

    /// True when nothing is queued.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pops_in_order_both_ways() {
        let mut q = TxQueue::new(300, true);
        for t in [200, 5, 64, 63, 5] {
            q.insert(TxIx(t));
        }
        assert_eq!(q.len(), 4);
        assert_eq!(q.pop(), Some(TxIx(5)));
        q.insert(TxIx(70));
        let rest: Vec<u32> = std::iter::from_fn(|| q.pop()).map(|t| t.0).collect();
        assert_eq!(rest, vec![63, 64, 70, 200]);
        let mut p = TxQueue::new(300, true);
        for t in [1, 2, 64, 130, 299] {
            p.insert(TxIx(t));
        }
        let ahead: Vec<Option<u32>> = (0..6).map(|n| p.peek_ahead(n).map(|t| t.0)).collect();
        // 299 lies more than four words past the cursor.
        assert_eq!(
            ahead,
            vec![Some(1), Some(2), Some(64), Some(130), None, None]
        );
        let mut m = TxQueue::new(300, true);
        m.insert(TxIx(3));
        assert_eq!(m.pop(), Some(TxIx(3)));
        // Resumed from 70: what lies below is dropped.
        for t in [10, 69, 70, 200] {
            m.insert(TxIx(t));
        }
        m.resume_at(TxIx(70));
        assert_eq!(m.len(), 2);
        let rest: Vec<u32> = std::iter::from_fn(|| m.pop()).map(|t| t.0).collect();
        assert_eq!(rest, vec![70, 200]);
        let mut b = TxQueue::new(300, false);
        for t in [3, 299, 128] {
            b.insert(TxIx(t));
        }
        assert_eq!(b.pop(), Some(TxIx(299)));
        b.insert(TxIx(100));
        let rest: Vec<u32> = std::iter::from_fn(|| b.pop()).map(|t| t.0).collect();
        assert_eq!(rest, vec![128, 100, 3]);
        assert!(b.is_empty());
    }
}
