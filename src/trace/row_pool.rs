//! Row vectors of finished traces, kept for the next trace of the process.
//!
//! A large trace writes hundreds of megabytes of rows (a poison trace reaching 900,000
//! transactions: 245 MB of flows, endpoints and edges). Fresh from the allocator, such vectors
//! are fresh mappings, whose every page the kernel zeroes on first write; on this project's
//! 2-core VM that zeroing took half of a batch's time, and two threads zeroing at once got
//! almost nothing from the second core. A process that runs traces one after another (a
//! `trace` run of more case files than threads, a notebook or service calling the library, the
//! benchmarks) hands the vectors of a dropped result to the next result instead, already backed
//! by memory. A result keeps its rows until it is dropped (after its export), so traces
//! running at the same time (the models of one case, cases on different threads) never hold
//! the same buffer; a small one's buffer goes back at its end and may serve the next model.
//! Small vectors are left to the allocator, which reuses them by itself.
//!
//! A small trace gets a large buffer too (the general walk reserves room for the whole chain,
//! and only the pages it writes become resident). At its end its few rows move to a vector of
//! their size and the buffer comes back here at once ([`RowPool::shrink`]), rather than being
//! shrunk in place: a batch of small cases once spent half its time mapping, faulting and unmapping
//! those buffers, and with two threads each unmapping stopped both CPUs to flush their TLBs.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

/// Vectors smaller than this are not kept: glibc serves them from its arenas and reuses that
/// memory without the kernel (its largest mmap threshold is 32 MiB).
const MIN_BYTES: usize = 32 << 20;

/// Kept vectors of one row type.
pub(super) struct RowPool<T> {
    kept: Mutex<Vec<Vec<T>>>,
    /// Threads of the largest rayon pool that gave a vector back.
    most_threads: AtomicUsize,
}

impl<T> RowPool<T> {
    /// An empty pool.
    pub(super) const fn new() -> RowPool<T> {
        RowPool {
            kept: Mutex::new(Vec::new()),
            most_threads: AtomicUsize::new(1),
        }
    }

    /// An empty vector with room for `rows`: the smallest kept one that has it, else a new one
    /// with an eighth more room, so that the next trace of about the same size fits in it when
    /// it comes back.
    pub(super) fn take(&self, rows: usize) -> Vec<T> {
        if bytes::<T>(rows) < MIN_BYTES {
            return Vec::with_capacity(rows);
        }
        let mut kept = self.kept.lock().unwrap_or_else(|e| e.into_inner());
        let fitting = kept
            .iter()
            .enumerate()
            .filter(|(_, v)| v.capacity() >= rows)
            .min_by_key(|(_, v)| v.capacity())
            .map(|(i, _)| i);
        match fitting {
            Some(i) => kept.swap_remove(i),
            None => {
                drop(kept);
                Vec::with_capacity(rows.saturating_add(rows / 8))
            }
        }
    }

    /// Keep `v` (emptied) for a later [`RowPool::take`] if it is large; at most as many per
    /// pool as the largest rayon pool that gave one back has threads (the most traces running
    /// at once), the smallest given back to the allocator first. The largest, not the current:
    /// a process that traces on pools of 1 and 2 threads in turn (the benchmarks) would
    /// otherwise unmap a buffer after each 1-thread run and fault a new one in on the next
    /// 2-thread run.
    pub(super) fn give(&self, mut v: Vec<T>) {
        if bytes::<T>(v.capacity()) < MIN_BYTES {
            return;
        }
        v.clear();
        let threads = rayon::current_num_threads().max(1);
        let most = self
            .most_threads
            .fetch_max(threads, Ordering::Relaxed)
            .max(threads);
        let mut kept = self.kept.lock().unwrap_or_else(|e| e.into_inner());
        kept.push(v);
        let mut evicted = Vec::new();
        while kept.len() > most {
            let smallest = (0..kept.len())
                .min_by_key(|&i| kept[i].capacity())
                .expect("the pool is not empty");
            evicted.push(kept.swap_remove(smallest));
        }
        // Freed (unmapped) after the lock is released.
        drop(kept);
        drop(evicted);
    }
}

impl<T> RowPool<T> {
    /// Give back the room `v` does not use, when it uses less than half of it. Rows of less
    /// than [`MIN_BYTES`] move to a vector of their size, and the large buffer goes to the pool
    /// for the next trace: shrunk in place, its tail would be unmapped, and the next trace would
    /// take fresh pages that the kernel zeroes again (and, with two threads, flushes both CPUs'
    /// TLBs for). More rows keep their buffer, shrunk in place.
    pub(super) fn shrink(&self, v: &mut Vec<T>) {
        if v.capacity() / 2 <= v.len() {
            return;
        }
        // Many rows stay where they are (a copy would fault in as many fresh pages): their
        // buffer is shrunk in place, which moves no row.
        if bytes::<T>(v.capacity()) < MIN_BYTES || bytes::<T>(v.len()) >= MIN_BYTES {
            v.shrink_to_fit();
            return;
        }
        let mut fitted = Vec::with_capacity(v.len());
        fitted.append(v);
        self.give(std::mem::replace(v, fitted));
    }
}

fn bytes<T>(rows: usize) -> usize {
    rows.saturating_mul(std::mem::size_of::<T>())
}

#[cfg(test)]
mod tests {
    use super::*;

    const BIG: usize = MIN_BYTES / 8;

    #[test]
    fn a_large_vector_given_back_is_taken_again_empty() {
        let pool: RowPool<u64> = RowPool::new();
        let mut v = pool.take(BIG);
        assert!(v.capacity() >= BIG + BIG / 8, "new vectors get headroom");
        v.extend([1, 2, 3]);
        let ptr = v.as_ptr();
        pool.give(v);
        let again = pool.take(BIG + 10);
        assert_eq!(again.as_ptr(), ptr, "the kept buffer is reused");
        assert!(again.is_empty());
        assert!(again.capacity() >= BIG + 10);
    }

    #[test]
    fn small_vectors_and_too_small_kept_ones_are_not_reused() {
        let pool: RowPool<u64> = RowPool::new();
        let small = pool.take(10);
        assert_eq!(small.capacity(), 10, "small vectors get no headroom");
        pool.give(small);
        assert!(pool.kept.lock().unwrap().is_empty());
        pool.give(Vec::with_capacity(BIG));
        let bigger = pool.take(2 * BIG);
        assert!(bigger.capacity() >= 2 * BIG);
        assert_eq!(
            pool.kept.lock().unwrap().len(),
            1,
            "the kept one stays for a trace it fits"
        );
    }

    #[test]
    fn the_pool_keeps_at_most_one_vector_per_thread() {
        let pool: RowPool<u64> = RowPool::new();
        let threads = rayon::current_num_threads();
        for i in 0..threads + 3 {
            pool.give(Vec::with_capacity(BIG + i));
        }
        let kept = pool.kept.lock().unwrap();
        assert_eq!(kept.len(), threads);
        assert!(
            kept.iter().all(|v| v.capacity() >= BIG + 3),
            "the smallest went first"
        );
    }

    #[test]
    fn a_smaller_thread_pool_keeps_the_vectors_a_larger_one_needed() {
        let pool: RowPool<u64> = RowPool::new();
        let two = rayon::ThreadPoolBuilder::new()
            .num_threads(2)
            .build()
            .unwrap();
        let one = rayon::ThreadPoolBuilder::new()
            .num_threads(1)
            .build()
            .unwrap();
        two.install(|| {
            pool.give(Vec::with_capacity(BIG));
            pool.give(Vec::with_capacity(BIG + 1));
        });
        one.install(|| pool.give(Vec::with_capacity(BIG + 2)));
        let kept = pool.kept.lock().unwrap();
        assert_eq!(kept.len(), 2, "two traces ran at once before");
        assert!(kept.iter().all(|v| v.capacity() > BIG));
    }

    #[test]
    fn shrinking_moves_few_rows_out_of_a_large_buffer_and_keeps_the_buffer() {
        let pool: RowPool<u64> = RowPool::new();
        let mut v = pool.take(BIG);
        let buffer = v.as_ptr();
        v.extend([7, 8, 9]);
        pool.shrink(&mut v);
        assert_eq!(v, [7, 8, 9]);
        assert!(v.capacity() < 1024, "the rows got a vector of their size");
        let again = pool.take(BIG);
        assert_eq!(again.as_ptr(), buffer, "the buffer went to the pool");
        drop(again);

        let mut half = pool.take(BIG);
        half.resize(half.capacity() / 2, 1);
        let (ptr, len) = (half.as_ptr(), half.len());
        pool.shrink(&mut half);
        assert_eq!(
            (half.as_ptr(), half.len()),
            (ptr, len),
            "half used: kept as is"
        );

        let mut many = pool.take(4 * BIG);
        many.resize(BIG + 1, 1);
        let ptr = many.as_ptr();
        pool.shrink(&mut many);
        assert_eq!(
            many.as_ptr(),
            ptr,
            "32 MiB of rows: shrunk in place, not copied"
        );
        assert!(many.capacity() < 2 * BIG);

        let mut small = Vec::with_capacity(100);
        small.push(1u64);
        pool.shrink(&mut small);
        assert_eq!(small.capacity(), 1, "a small vector is shrunk in place");
        assert!(pool.kept.lock().unwrap().is_empty());
    }
}
