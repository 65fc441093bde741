//! Union-find over dense ids, alone and small (as graphsense's clustering keeps it): a
//! sequential one with path halving and union by size, and a concurrent one for rayon.
//!
//! The concurrent structure links the larger root under the smaller (compare-and-swap on an
//! atomic parent array, path halving on find), so every cluster's root is its smallest member
//! whatever the thread interleaving: cluster ids are deterministic.

use std::sync::atomic::{AtomicU32, Ordering};

/// A sequential union-find.
#[derive(Debug, Clone)]
pub struct UnionFind {
    parent: Vec<u32>,
    size: Vec<u32>,
}

impl UnionFind {
    /// `n` singletons.
    pub fn new(n: usize) -> UnionFind {
        UnionFind {
            parent: (0..n as u32).collect(),
            size: vec![1; n],
        }
    }

    /// The root of `x` (path halving).
    pub fn find(&mut self, mut x: u32) -> u32 {
        while self.parent[x as usize] != x {
            let gp = self.parent[self.parent[x as usize] as usize];
            self.parent[x as usize] = gp;
            x = gp;
        }
        x
    }

    /// Join the sets of `a` and `b`; true when they were apart.
    pub fn union(&mut self, a: u32, b: u32) -> bool {
        let (ra, rb) = (self.find(a), self.find(b));
        if ra == rb {
            return false;
        }
        let (big, small) = if self.size[ra as usize] >= self.size[rb as usize] {
            (ra, rb)
        } else {
            (rb, ra)
        };
        self.parent[small as usize] = big;
        self.size[big as usize] += self.size[small as usize];
        true
    }

    /// For every element, the smallest member of its set (a canonical cluster id).
    pub fn canonical(&mut self) -> Vec<u32> {
        let n = self.parent.len();
        let mut min_of_root = vec![u32::MAX; n];
        for x in 0..n as u32 {
            let r = self.find(x) as usize;
            min_of_root[r] = min_of_root[r].min(x);
        }
        (0..n as u32)
            .map(|x| min_of_root[self.find(x) as usize])
            .collect()
    }
}

/// A concurrent union-find: `union` and `find` from many threads at once.
#[derive(Debug)]
pub struct ConcurrentUnionFind {
    parent: Vec<AtomicU32>,
}

impl ConcurrentUnionFind {
    /// `n` singletons.
    pub fn new(n: usize) -> ConcurrentUnionFind {
        ConcurrentUnionFind {
            parent: (0..n as u32).map(AtomicU32::new).collect(),
        }
    }

    /// The root of `x` (path halving; racing updates only ever shorten paths).
    pub fn find(&self, mut x: u32) -> u32 {
        loop {
            let p = self.parent[x as usize].load(Ordering::Relaxed);
            if p == x {
                return x;
            }
            let gp = self.parent[p as usize].load(Ordering::Relaxed);
            if gp != p {
                let _ = self.parent[x as usize].compare_exchange_weak(
                    p,
                    gp,
                    Ordering::Relaxed,
                    Ordering::Relaxed,
                );
            }
            x = gp;
        }
    }

    /// Join the sets of `a` and `b`: the larger root is linked under the smaller.
    pub fn union(&self, a: u32, b: u32) {
        let (mut a, mut b) = (a, b);
        loop {
            a = self.find(a);
            b = self.find(b);
            if a == b {
                return;
            }
            let (hi, lo) = if a > b { (a, b) } else { (b, a) };
            if self.parent[hi as usize]
                .compare_exchange(hi, lo, Ordering::AcqRel, Ordering::Relaxed)
                .is_ok()
            {
                return;
            }
        }
    }

    /// Every element's root, which is the smallest member of its set.
    pub fn roots(&self) -> Vec<u32> {
        use rayon::prelude::*;
        (0..self.parent.len() as u32)
            .into_par_iter()
            .map(|x| self.find(x))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn unions_join_and_roots_are_smallest_members() {
        let c = ConcurrentUnionFind::new(8);
        c.union(5, 3);
        c.union(3, 7);
        c.union(1, 2);
        assert_eq!(c.roots(), vec![0, 1, 1, 3, 4, 3, 6, 3]);
        let mut s = UnionFind::new(8);
        assert!(s.union(5, 3) && s.union(3, 7) && s.union(1, 2));
        assert!(!s.union(7, 5));
        assert_eq!(s.canonical(), vec![0, 1, 1, 3, 4, 3, 6, 3]);
    }

    proptest! {
        /// The concurrent structure, fed in parallel, gives the sequential partition.
        #[test]
        fn concurrent_equals_sequential(pairs in proptest::collection::vec((0u32..500, 0u32..500), 0..800)) {
            use rayon::prelude::*;
            let c = ConcurrentUnionFind::new(500);
            pairs.par_iter().for_each(|&(a, b)| c.union(a, b));
            let mut s = UnionFind::new(500);
            for &(a, b) in &pairs {
                s.union(a, b);
            }
            prop_assert_eq!(c.roots(), s.canonical());
        }
    }
}
