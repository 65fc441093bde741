//! The generated load shared by the benchmarks: a `payments` chain of `FUNDTRACE_BENCH_TXS`
//! transactions (a small one when a benchmark runs as a test under `cargo test`).

#![allow(dead_code)]

use std::path::PathBuf;

use fundtrace::chain::Chain;
use fundtrace::generate::{generate, GenerateOptions, Scenario};
use fundtrace::ingest::{ingest_blk, BlkIngest};
use fundtrace::store::PartitionPolicy;

/// Transactions to generate: `FUNDTRACE_BENCH_TXS`, else `default` under `cargo bench` and
/// 5,000 when the benchmark runs once as a test.
pub fn bench_txs(default: u64) -> u64 {
    let benching = std::env::args().any(|a| a == "--bench");
    std::env::var("FUNDTRACE_BENCH_TXS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(if benching { default } else { 5_000 })
}

/// A generated payments chain in a temp dir; returns the dir and its `blocks/` directory.
pub fn generated_blocks(txs: u64) -> (tempfile::TempDir, PathBuf) {
    let tmp = tempfile::tempdir().unwrap();
    let opts = GenerateOptions::new(Scenario::Payments, txs, 1, tmp.path().to_path_buf());
    generate(&opts).unwrap();
    let blocks = tmp.path().join("blocks");
    (tmp, blocks)
}

/// A generated payments chain, ingested; returns the temp dir and the dataset directory.
pub fn ingested(txs: u64) -> (tempfile::TempDir, PathBuf) {
    let (tmp, blocks) = generated_blocks(txs);
    let out = tmp.path().join("ds");
    let job = BlkIngest {
        blocks_dir: blocks,
        chain: Chain::BitcoinRegtest,
        out: out.clone(),
        to_height: None,
        policy: PartitionPolicy::default(),
    };
    ingest_blk(&job, |_| {}, |_| {}).unwrap();
    eprintln!("dataset {} ({txs} txs)", out.display());
    (tmp, out)
}

/// Print the process's peak resident memory (`VmHWM`) so far: a bench's load plus its runs.
pub fn print_peak_memory(what: &str) {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    if let Some(line) = status.lines().find(|l| l.starts_with("VmHWM:")) {
        eprintln!(
            "{what}: peak memory {}",
            line.trim_start_matches("VmHWM:").trim()
        );
    }
}
pub mod trace_load;
