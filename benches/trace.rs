//! Trace throughput: every model on a generated payments chain (`FUNDTRACE_BENCH_TXS`, default
//! 1,000,000 transactions), a batch of cases under each model on 1 and 2 threads, and the export
//! of one case's result tables (`export_tables`).
//!
//! Run: `cargo bench --bench trace`. The same poison reach computed by DuckDB's recursive SQL
//! over the store's Parquet: `python3 benches/duckdb_poison.py DATASET TX_IX [--hops]` (the
//! dataset and seed this benchmark uses are printed at start); `poison_reach` is the figure to
//! set beside it, `full_reach` with `poison` the whole trace with its rows.
//! `FUNDTRACE_BENCH_DATASET=DIR` runs on an existing dataset instead (say a generated
//! Zaif-like chain), with `FUNDTRACE_BENCH_SEED_TX=N` as the seed transaction (default: the
//! first that is not a coinbase).

use common::trace_load::{batch_cases, load, rules, run_batch, seeds};
use divan::counter::ItemsCount;
use divan::Bencher;
use fundtrace::export::results;
use fundtrace::trace::engine::{trace_forward, StopRules};
use fundtrace::trace::policy::by_name;

mod common;

fn main() {
    divan::main();
    common::print_peak_memory("trace bench");
}

fn bench_policy(bencher: Bencher, name: &str, rules: StopRules) {
    let load = load();
    let policy = by_name(name).unwrap();
    let seeds = seeds(load, load.seed_tx);
    let visited = trace_forward(&load.dataset, &seeds, policy.as_ref(), &rules).txs_visited;
    bencher
        .counter(ItemsCount::new(visited))
        .bench(|| trace_forward(&load.dataset, &seeds, policy.as_ref(), &rules).txs_visited);
}

#[divan::bench(args = ["poison", "haircut", "fifo", "lifo", "tiho"], sample_count = 5)]
fn trace_one_case(bencher: Bencher, name: &str) {
    bench_policy(bencher, name, rules());
}

/// Every model with no dust or hop limit: the full reach. Poison's is the figure DuckDB's
/// recursive query matches; haircut's is the "taint reaching 1M transactions" target.
#[divan::bench(args = ["poison", "haircut", "fifo", "lifo", "tiho"], sample_count = 3)]
fn full_reach(bencher: Bencher, name: &str) {
    bench_policy(
        bencher,
        name,
        StopRules {
            max_hops: u32::MAX,
            ..StopRules::default()
        },
    );
}

/// Phase one of the poison trace alone: the reach with every reached output's hop, no rows.
/// This is what DuckDB's recursive query computes (`benches/duckdb_poison.py DATASET TX_IX
/// --hops`; without `--hops`, the reach alone).
#[divan::bench(sample_count = 10)]
fn poison_reach(bencher: Bencher) {
    let load = load();
    let seeds = seeds(load, load.seed_tx);
    let rules = StopRules {
        max_hops: u32::MAX,
        ..StopRules::default()
    };
    let reach = fundtrace::trace::poison_walk::poison_reach(&load.dataset, &seeds, &rules);
    eprintln!(
        "poison reach: {} transactions, deepest hop {}",
        reach.txs(),
        reach.deepest_hop()
    );
    bencher
        .counter(ItemsCount::new(reach.txs()))
        .bench(|| fundtrace::trace::poison_walk::poison_reach(&load.dataset, &seeds, &rules).txs());
}

/// A batch of 32 cases (seeds in 32 different transactions, dust limit 10,000) under each model,
/// on 1 and 2 threads: `MODEL/THREADS`.
#[divan::bench(
    args = [
        "poison/1", "poison/2", "haircut/1", "haircut/2", "fifo/1", "fifo/2", "lifo/1",
        "lifo/2", "tiho/1", "tiho/2",
    ],
    sample_count = 15
)]
fn batch_of_cases(bencher: Bencher, model_threads: &str) {
    let load = load();
    let (model, threads) = model_threads.split_once('/').unwrap();
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads.parse().unwrap())
        .build()
        .unwrap();
    let policy = by_name(model).unwrap();
    let cases = batch_cases(load);
    bencher.bench(|| run_batch(load, &pool, &cases, policy.as_ref()));
}

/// The export of one case's results: the seed transaction's case (dust limit 10,000) under all
/// five models, its tables (flows, endpoints, cash-outs, top paths) encoded to Parquet and
/// written, as `fundtrace trace` writes them.
#[divan::bench(sample_count = 5)]
fn export_tables(bencher: Bencher) {
    let load = load();
    let dir = tempfile::tempdir().unwrap();
    let case = dir.path().join("case.toml");
    std::fs::write(
        &case,
        format!(
            "[case]\nname = \"bench\"\ndataset = \"{}\"\nchain = \"{}\"\n\
             [seeds]\ntxids = [\"{}\"]\n\
             [trace]\npolicies = [\"poison\", \"haircut\", \"fifo\", \"lifo\", \"tiho\"]\n\
             max_hops = 1000\nmin_value = 10000\n",
            load.dataset.dir().display(),
            load.dataset.manifest().chain.name(),
            load.dataset.txid(load.seed_tx)
        ),
    )
    .unwrap();
    let case = fundtrace::case::Case::load(&case).unwrap();
    let run = fundtrace::trace::run::run_case(case, &[]).unwrap();
    let out = dir.path().join("out");
    bencher.bench(|| {
        let tables = results::write_tables(&run, &out, results::CHUNK_ROWS).unwrap();
        results::commit_all(tables).unwrap();
    });
}
