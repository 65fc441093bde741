//! Clustering throughput: multi-input (with CoinJoin filtering) over a generated payments chain
//! (`FUNDTRACE_BENCH_TXS`, default 1,000,000 transactions) on 1 and 2 threads, and the sequential
//! union-find beside the concurrent one. graphsense-clustering on the same input:
//! `python3 benches/graphsense_cluster.py DATASET` (the dataset path is printed at start).
//!
//! Run: `cargo bench --bench cluster`.

use std::sync::OnceLock;

use divan::counter::ItemsCount;
use divan::Bencher;
use fundtrace::chain::Chain;
use fundtrace::cluster::heuristics::{Heuristic, MultiInput, ScriptFacts};
use fundtrace::cluster::unionfind::UnionFind;
use fundtrace::cluster::{cluster, script_facts};
use fundtrace::generate::{generate, GenerateOptions, Scenario};
use fundtrace::ingest::{ingest_blk, BlkIngest};
use fundtrace::store::{Dataset, PartitionPolicy, TxIx};

fn main() {
    divan::main();
}

struct Load {
    _tmp: tempfile::TempDir,
    dataset: Dataset,
    facts: ScriptFacts,
}

fn load() -> &'static Load {
    static LOAD: OnceLock<Load> = OnceLock::new();
    LOAD.get_or_init(|| {
        let benching = std::env::args().any(|a| a == "--bench");
        let txs = std::env::var("FUNDTRACE_BENCH_TXS")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(if benching { 1_000_000 } else { 5_000 });
        let tmp = tempfile::tempdir().unwrap();
        let opts = GenerateOptions {
            scenario: Scenario::Payments,
            chain: Chain::BitcoinRegtest,
            txs,
            txs_per_block: 2_000,
            seed: 1,
            out: tmp.path().to_path_buf(),
            start_time: 1_535_760_000,
            max_file_bytes: 128 << 20,
        };
        generate(&opts).unwrap();
        let out = tmp.path().join("ds");
        let job = BlkIngest {
            blocks_dir: tmp.path().join("blocks"),
            chain: Chain::BitcoinRegtest,
            out: out.clone(),
            to_height: None,
            policy: PartitionPolicy::default(),
        };
        ingest_blk(&job, |_| {}, |_| {}).unwrap();
        let dataset = Dataset::open(&out).unwrap();
        let facts = script_facts(&dataset).unwrap();
        eprintln!("dataset {} ({} txs)", out.display(), dataset.tx_count());
        Load {
            _tmp: tmp,
            dataset,
            facts,
        }
    })
}

#[divan::bench(args = [1, 2], sample_count = 5)]
fn multi_input_concurrent(bencher: Bencher, threads: usize) {
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
