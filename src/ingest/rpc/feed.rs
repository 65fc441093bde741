//! Items fetched by several workers at once and handed to one consumer in index order, each as
//! soon as it and every item below it are there. There are no rounds, so no slowest block holds
//! up the others: each worker takes the next index nobody took, and stays ahead of the consumer
//! by about a bounded number of bytes.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::Relaxed};
use std::sync::mpsc::{channel, TryRecvError};
use std::sync::{Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// Bytes fetched and not yet consumed past which workers wait to take more: a bound up to the
/// items in flight, since each worker checks before it fetches. A worker may still take one of
/// the next `workers` indices the consumer needs, so the item it waits for is always fetched.
pub(super) const AHEAD_BYTES: u64 = 32 << 20;

/// What the consumer is handed.
pub(super) enum Fed<T> {
    /// The next item in index order.
    Item(usize, T),
    /// Nothing is ready yet: a moment to hand on what was stored.
    Idle,
}

/// How far the workers may run ahead of the consumer.
struct Window {
    /// Items consumed: the consumer needs this index next.
    consumed: usize,
    /// Bytes fetched and not yet consumed.
    ahead: u64,
    /// The consumer is gone: take nothing more.
    closed: bool,
}

/// The window, shared by the workers and the consumer.
struct SharedWindow {
    window: Mutex<Window>,
    room: Condvar,
}

impl SharedWindow {
    fn lock(&self) -> MutexGuard<'_, Window> {
        // A worker that panicked leaves consistent counts behind: go on with them.
        self.window.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Wait until index `i` may be fetched: it is among the next `slack` the consumer needs, or
    /// fewer than `AHEAD_BYTES` wait for it. False once the consumer is gone.
    fn wait_for_room(&self, i: usize, slack: usize) -> bool {
        let mut w = self.lock();
        while !w.closed && i >= w.consumed + slack && w.ahead >= AHEAD_BYTES {
            w = self.room.wait(w).unwrap_or_else(|e| e.into_inner());
        }
        !w.closed
    }

    fn close(&self) {
        self.lock().closed = true;
        self.room.notify_all();
    }
}

/// Closes the window when dropped: always for the consumer, on a panic only for a worker (the
/// others then leave instead of waiting for room forever, and the scope re-raises the panic).
struct CloseOnDrop<'a> {
    shared: &'a SharedWindow,
    only_on_panic: bool,
}

impl Drop for CloseOnDrop<'_> {
    fn drop(&mut self) {
        if !self.only_on_panic || std::thread::panicking() {
            self.shared.close();
        }
    }
}

/// Fetch items `0..n` with `workers` in parallel (`fetch(worker, index)`) and hand each to
/// `consume` in index order, with [`Fed::Idle`] whenever the next one is not there yet.
///
/// A worker stops at its first error (a dead node is not asked again), and no worker takes an
/// index above an error, so the error returned is the lowest-indexed one met. When `stop` is set,
/// workers take nothing more and the consumer stops at the next item it is handed. Returns how
/// many items were consumed: `n` unless stopped.
pub(super) fn fetch_in_order<W: Send, T: Send, E: Send>(
    workers: &mut [W],
    n: usize,
    fetch: impl Fn(&mut W, usize) -> Result<T, E> + Sync,
    size: impl Fn(&T) -> u64 + Sync,
    stop: Option<&AtomicBool>,
    mut consume: impl FnMut(Fed<T>) -> Result<(), E>,
) -> Result<usize, E> {
    let stopped = || stop.is_some_and(|s| s.load(Relaxed));
    let next = AtomicUsize::new(0);
    let lowest_error = AtomicUsize::new(usize::MAX);
    let shared = SharedWindow {
        window: Mutex::new(Window {
            consumed: 0,
            ahead: 0,
            closed: false,
        }),
        room: Condvar::new(),
    };
    let slack = workers.len();
    let (tx, rx) = channel::<(usize, Result<T, E>)>();
    std::thread::scope(|scope| {
        let (fetch, size, next, lowest_error, shared) =
            (&fetch, &size, &next, &lowest_error, &shared);
        for worker in workers.iter_mut() {
            let tx = tx.clone();
            scope.spawn(move || {
                let _close = CloseOnDrop {
                    shared,
                    only_on_panic: true,
                };
                loop {
                    if stopped() {
                        return;
                    }
                    let i = next.fetch_add(1, Relaxed);
                    if i >= n || i > lowest_error.load(Relaxed) || !shared.wait_for_room(i, slack) {
                        return;
                    }
                    let fetched = fetch(worker, i);
                    match &fetched {
                        Ok(item) => shared.lock().ahead += size(item),
                        Err(_) => {
                            lowest_error.fetch_min(i, Relaxed);
                        }
                    }
                    let failed = fetched.is_err();
                    if tx.send((i, fetched)).is_err() || failed {
                        return;
                    }
                }
            });
        }
        drop(tx);
        // Workers waiting for room leave once the consumer is gone (returned or panicked);
        // those fetching find the channel closed.
        let close = CloseOnDrop {
            shared,
            only_on_panic: false,
        };
        let mut waited = Duration::ZERO;
        let consumed = (|| {
            let mut waiting: BTreeMap<usize, Result<T, E>> = BTreeMap::new();
            let mut consumed = 0;
            loop {
                let (i, fetched) = match rx.try_recv() {
                    Ok(got) => got,
                    Err(TryRecvError::Empty) => {
                        consume(Fed::Idle)?;
                        let t = Instant::now();
                        let got = rx.recv();
                        waited += t.elapsed();
                        match got {
                            Ok(got) => got,
                            Err(_) => break,
                        }
                    }
                    Err(TryRecvError::Disconnected) => break,
                };
                // A stop request wins over whatever the workers met after it (a node shutting
                // down).
                if stopped() {
                    break;
                }
                waiting.insert(i, fetched);
                while let Some(fetched) = waiting.remove(&consumed) {
                    let item = fetched?;
                    let bytes = size(&item);
                    consume(Fed::Item(consumed, item))?;
                    consumed += 1;
                    let mut w = shared.lock();
                    w.consumed = consumed;
                    w.ahead -= bytes;
                    drop(w);
                    shared.room.notify_all();
                }
            }
            Ok(consumed)
        })();
        drop(close);
        drop(rx);
        tracing::debug!(?waited, "consumer: time waiting for fetched items");
        if let Ok(c) = &consumed {
            debug_assert!(*c == n || stopped(), "{c} of {n} consumed without a stop");
        }
        consumed
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Items come in index order whatever order the workers finish in, and the window bounds
    /// how far they run ahead.
    #[test]
    fn items_come_in_order_and_workers_stay_within_the_window() {
        let mut workers = vec![0u64; 4];
        let n = 500;
        let item_bytes = AHEAD_BYTES / 16;
        let mut got = Vec::new();
        let most_ahead = AtomicUsize::new(0);
        let consumed_so_far = AtomicUsize::new(0);
        let consumed = fetch_in_order(
            &mut workers,
            n,
            |w: &mut u64, i| -> Result<usize, String> {
                *w += 1;
                // Uneven work, so the workers finish out of order.
                std::thread::sleep(Duration::from_micros((i % 7) as u64 * 50));
                let ahead = i - consumed_so_far.load(Relaxed);
                most_ahead.fetch_max(ahead, Relaxed);
                Ok(i)
            },
            |_| item_bytes,
            None,
            |fed| {
                if let Fed::Item(i, item) = fed {
                    assert_eq!(i, item);
                    got.push(item);
                    consumed_so_far.store(i + 1, Relaxed);
                }
                Ok(())
            },
        )
        .unwrap();
        assert_eq!(consumed, n);
        assert_eq!(got, (0..n).collect::<Vec<_>>());
        assert_eq!(
            workers.iter().sum::<u64>(),
            n as u64,
            "each index fetched once"
        );
        // 16 items fill the window; a worker may take one more beyond it, and 4 beyond the
        // consumer in any case.
        assert!(most_ahead.load(Relaxed) <= 16 + 4, "{most_ahead:?}");
    }

    /// The lowest-indexed error is the one returned, and nothing above it is consumed.
    #[test]
    fn the_lowest_error_wins() {
        let mut workers = vec![(); 3];
        let mut got = Vec::new();
        let r = fetch_in_order(
            &mut workers,
            100,
            |_, i| {
                // The error at 70 comes first in time; the one at 40 is lower.
                if i == 40 {
                    std::thread::sleep(Duration::from_millis(20));
                }
                if i == 40 || i == 70 {
                    Err(format!("failed at {i}"))
                } else {
                    Ok(i)
                }
            },
            |_| 1,
            None,
            |fed| {
                if let Fed::Item(i, _) = fed {
                    got.push(i);
                }
                Ok(())
            },
        );
        assert_eq!(r, Err("failed at 40".to_string()));
        assert_eq!(got, (0..40).collect::<Vec<_>>());
    }

    /// A consumer that fails ends the feed at once, even with workers waiting for room.
    #[test]
    fn a_failing_consumer_releases_the_workers() {
        let mut workers = vec![(); 4];
        let r = fetch_in_order(
            &mut workers,
            10_000,
            |_, i| Ok::<usize, String>(i),
            |_| AHEAD_BYTES,
            None,
            |fed| match fed {
                Fed::Item(5, _) => Err("disk full".to_string()),
                _ => Ok(()),
            },
        );
        assert_eq!(r, Err("disk full".to_string()));
    }

    /// Run `feed` on a thread of its own: whether it panicked, or `None` if it hung.
    fn panicked_within_30_s(feed: impl FnOnce() + Send + 'static) -> Option<bool> {
        let (done, finished) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(feed));
            let _ = done.send(outcome.is_err());
        });
        finished.recv_timeout(Duration::from_secs(30)).ok()
    }

    /// A worker that panics (a bug) ends the feed with the panic, even while the others wait
    /// for room and the consumer waits for the item the panicking worker held.
    #[test]
    fn a_panicking_worker_ends_the_feed_with_its_panic() {
        let outcome = panicked_within_30_s(|| {
            let mut workers = vec![(); 4];
            let _ = fetch_in_order(
                &mut workers,
                10_000,
                |_, i| {
                    assert!(i != 5, "a planted worker bug");
                    Ok::<usize, String>(i)
                },
                |_| AHEAD_BYTES,
                None,
                |_| Ok(()),
            );
        });
        assert_eq!(outcome, Some(true));
    }

    /// A consumer that panics ends the feed with the panic, even with workers waiting for room.
    #[test]
    fn a_panicking_consumer_ends_the_feed_with_its_panic() {
        let outcome = panicked_within_30_s(|| {
            let mut workers = vec![(); 4];
            let _ = fetch_in_order(
                &mut workers,
                10_000,
                |_, i| Ok::<usize, String>(i),
                |_| AHEAD_BYTES,
                None,
                |fed| {
                    if let Fed::Item(i, _) = fed {
                        assert!(i != 5, "a planted consumer bug");
                    }
                    Ok(())
                },
            );
        });
        assert_eq!(outcome, Some(true));
    }

    /// After a stop request no more is taken, and what was consumed is a prefix.
    #[test]
    fn a_stop_request_ends_the_feed_with_a_prefix() {
        static STOP: AtomicBool = AtomicBool::new(false);
        let mut workers = vec![(); 2];
        let mut got = Vec::new();
        let consumed = fetch_in_order(
            &mut workers,
            1_000_000,
            |_, i| Ok::<usize, String>(i),
            |_| 1,
            Some(&STOP),
            |fed| {
                if let Fed::Item(i, _) = fed {
                    got.push(i);
                    if i == 1000 {
                        STOP.store(true, Relaxed);
                    }
                }
                Ok(())
            },
        )
        .unwrap();
        assert!((1001..1_000_000).contains(&consumed), "{consumed}");
        assert_eq!(got, (0..consumed).collect::<Vec<_>>());
    }
}
