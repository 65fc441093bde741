//! The load of the trace benchmarks: a dataset (generated, or `FUNDTRACE_BENCH_DATASET`), the
//! seed transaction (`FUNDTRACE_BENCH_SEED_TX`, else the first that is not a coinbase) and the
//! batch of cases that the 1-against-2-threads figures run.

use std::path::PathBuf;
use std::sync::OnceLock;

use fundtrace::store::{Dataset, OutIx, TxIx};
use fundtrace::trace::engine::{trace_forward, SeedOutput, StopRules};
use fundtrace::trace::policy::TaintPolicy;
use rayon::prelude::*;

/// The dataset a trace benchmark runs on, loaded once per process.
pub struct Load {
    _tmp: Option<tempfile::TempDir>,
    pub dataset: Dataset,
    /// The seed transaction: its outputs are the seeds.
    pub seed_tx: TxIx,
}

/// The load, made on first use: a generated payments chain of `FUNDTRACE_BENCH_TXS`
/// transactions (1,000,000 under `cargo bench`) unless `FUNDTRACE_BENCH_DATASET` names one.
pub fn load() -> &'static Load {
    static LOAD: OnceLock<Load> = OnceLock::new();
    LOAD.get_or_init(|| {
        let (tmp, out) = match std::env::var_os("FUNDTRACE_BENCH_DATASET") {
            Some(dir) => (None, PathBuf::from(dir)),
            None => {
                let (tmp, out) = super::ingested(super::bench_txs(1_000_000));
                (Some(tmp), out)
            }
        };
        let dataset = Dataset::open(&out).unwrap();
        let seed_tx = match std::env::var("FUNDTRACE_BENCH_SEED_TX") {
            Ok(n) => TxIx(n.parse().expect("FUNDTRACE_BENCH_SEED_TX is a tx_ix")),
            Err(_) => (0..dataset.tx_count())
                .map(TxIx)
                .find(|&t| !dataset.is_coinbase(t))
                .unwrap(),
        };
        eprintln!(
            "dataset {} ({} txs); seed tx_ix {}",
            out.display(),
            dataset.tx_count(),
            seed_tx.0
        );
        Load {
            _tmp: tmp,
            dataset,
            seed_tx,
        }
    })
}

/// Every output of `tx`, wholly tainted.
pub fn seeds(load: &Load, tx: TxIx) -> Vec<SeedOutput> {
    let r = load.dataset.tx_outputs(tx);
    (r.start.0..r.end.0)
        .map(|o| SeedOutput {
            out: OutIx(o),
            amount: load.dataset.value(OutIx(o)),
        })
        .collect()
}

/// The stop rules of a case: at most 1,000 hops, dust below 10,000 satoshis cut.
pub fn rules() -> StopRules {
    StopRules {
        max_hops: 1_000,
        min_value: 10_000,
        ..StopRules::default()
    }
}

/// Cases in the batch.
pub const BATCH_CASES: u32 = 32;

/// The batch: 32 cases, seeded in 32 transactions 50 apart from the seed transaction on
/// (wrapping around the chain's end). On a generated payments chain their sizes are uneven (the
/// largest under haircut is about a tenth of the batch, under LIFO a fifth), as an
/// investigator's cases are; with 8 such cases the three largest alone bounded the 2-thread
/// speedup to 1.75-1.9x whatever the engine did.
pub fn batch_cases(load: &Load) -> Vec<Vec<SeedOutput>> {
    let txs = load.dataset.tx_count();
    (0..BATCH_CASES)
        .map(|i| seeds(load, TxIx((load.seed_tx.0 + i * 50) % txs)))
        .collect()
}

/// Trace every case of the batch on `pool`, concurrently (each on one thread); returns the
/// transactions visited in all.
pub fn run_batch(
    load: &Load,
    pool: &rayon::ThreadPool,
    cases: &[Vec<SeedOutput>],
    policy: &dyn TaintPolicy,
) -> u64 {
    let rules = rules();
    pool.install(|| {
        cases
            .par_iter()
            .map(|s| trace_forward(&load.dataset, s, policy, &rules).txs_visited)
            .sum()
    })
}
