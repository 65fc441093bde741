//! Clustering throughput: multi-input (with CoinJoin filtering) over a generated payments chain
//! (`FUNDTRACE_BENCH_TXS`, default 1,000,000 transactions): `cluster` (links found in parallel,
//! applied in order, provenance included) on 1 and 2 threads, beside a plain sequential pass
//! without provenance. graphsense-clustering on the same input:
//! `python3 benches/graphsense_cluster.py DATASET` (the dataset path is printed at start).
//!
//! Run: `cargo bench --bench cluster`.

use std::sync::OnceLock;

use divan::counter::ItemsCount;
use divan::Bencher;
use fundtrace::cluster::heuristics::{Heuristic, MultiInput, ScriptFacts};
use fundtrace::cluster::unionfind::UnionFind;
use fundtrace::cluster::{cluster, script_facts};
use fundtrace::store::{Dataset, TxIx};

mod common;

fn main() {
    divan::main();
    common::print_peak_memory("cluster bench");
}

struct Load {
    _tmp: tempfile::TempDir,
    dataset: Dataset,
    facts: ScriptFacts,
}

fn load() -> &'static Load {
    static LOAD: OnceLock<Load> = OnceLock::new();
    LOAD.get_or_init(|| {
        let (tmp, out) = common::ingested(common::bench_txs(1_000_000));
        let dataset = Dataset::open(&out).unwrap();
        let facts = script_facts(&dataset).unwrap();
        Load {
            _tmp: tmp,
            dataset,
            facts,
        }
    })
}

#[divan::bench(args = [1, 2], sample_count = 5)]
fn cluster_multi_input(bencher: Bencher, threads: usize) {
    let l = load();
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .unwrap();
    let hs: Vec<Box<dyn Heuristic>> = vec![Box::new(MultiInput)];
    bencher
        .counter(ItemsCount::new(l.dataset.tx_count()))
        .bench(|| pool.install(|| cluster(&l.dataset, &hs, &l.facts).cluster_of.len()));
}

#[divan::bench(sample_count = 5)]
fn multi_input_sequential_union_find(bencher: Bencher) {
    let l = load();
    bencher
        .counter(ItemsCount::new(l.dataset.tx_count()))
        .bench(|| {
            let mut uf = UnionFind::new(l.dataset.script_count() as usize);
            let mut links = Vec::new();
            for t in 0..l.dataset.tx_count() {
                links.clear();
                MultiInput.links(&l.dataset, &l.facts, TxIx(t), &mut links);
                for &(a, b) in &links {
                    uf.union(a.0, b.0);
                }
            }
            uf.canonical().len()
        });
}
