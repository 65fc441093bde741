//! Generator throughput: the `zaif` world and the `payments` load, `FUNDTRACE_BENCH_TXS`
//! transactions each (default 1,000,000), written to a temp dir. Peak memory is measured on the
//! binary (see the issue note): `/usr/bin/time -v fundtrace generate --txs 10000000 …`.
//!
//! Run: `cargo bench --bench generate`.

use divan::counter::ItemsCount;
use divan::Bencher;
use fundtrace::generate::{generate, GenerateOptions, Scenario};

mod common;

fn main() {
    divan::main();
    common::print_peak_memory("generate bench");
}

fn run(bencher: Bencher, scenario: Scenario) {
    let txs = common::bench_txs(1_000_000);
    bencher
        .counter(ItemsCount::new(txs))
        .with_inputs(|| tempfile::tempdir().unwrap())
        .bench_local_values(|dir| {
            let opts = GenerateOptions::new(scenario, txs, 1, dir.path().to_path_buf());
            let made = generate(&opts).unwrap();
            assert!(made.txs >= txs);
            dir
        });
}

#[divan::bench(sample_count = 3)]
fn zaif(bencher: Bencher) {
    run(bencher, Scenario::Zaif);
}

#[divan::bench(sample_count = 3)]
fn payments(bencher: Bencher) {
    run(bencher, Scenario::Payments);
}
