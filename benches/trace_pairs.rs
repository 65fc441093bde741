//! The two ratios the trace issue sets targets on, each measured as interleaved pairs: this VM's
//! speed drifts by tens of percent within minutes, so two figures taken minutes apart (as
//! `cargo bench --bench trace` takes its 1-thread and 2-thread samples) can differ by the drift
//! alone. Here both sides of each pair run back to back (the batch's in alternating order), and
//! the figure is the median of the per-pair ratios.
//!
//! - **Batch, 1 thread against 2** (target ≥ 1.7×): the batch of 32 cases of
//!   `trace::batch_of_cases` under each model. Each side of a pair runs the batch once untimed,
//!   then enough times to last about 250 ms on 1 thread; its time is per batch. Beside it, the
//!   largest case's share of the batch (each case timed once on 1 thread) and the bound that
//!   puts on any 2-thread schedule: the batch lasts at least its largest case.
//! - **Poison reach against DuckDB** (target ≥ 50×): fundtrace's `poison_reach` (the median of 5
//!   runs) beside the same reach with hops by DuckDB's recursive query over the store's Parquet
//!   (`benches/duckdb_poison.py --hops`, the median of 3 runs in one process, its table load not
//!   timed, as fundtrace's load is not). Both must find the same number of transactions.
//!
//! Run: `cargo bench --bench trace_pairs`, with `FUNDTRACE_BENCH_DATASET` and
//! `FUNDTRACE_BENCH_SEED_TX` as for `trace`, and `FUNDTRACE_BENCH_ROUNDS` pairs per model
//! (default 15; the DuckDB side runs a third as many, or `FUNDTRACE_BENCH_DUCKDB_ROUNDS`: 0
//! skips it, as on a 10M-transaction chain, where one DuckDB query takes minutes). Without
//! Python's `duckdb` module the DuckDB pairs are skipped with the reason. Under `cargo test` it
//! runs one round of the batch on the small test chain.

use std::process::Command;
use std::time::{Duration, Instant};

use common::trace_load::{batch_cases, load, rules, run_batch, seeds};
use fundtrace::trace::engine::{trace_forward, StopRules};
use fundtrace::trace::poison_walk::poison_reach;
use fundtrace::trace::policy::by_name;

mod common;

const MODELS: [&str; 5] = ["poison", "haircut", "fifo", "lifo", "tiho"];

/// The least time of one sample of a batch on 1 thread (the batch repeated as needed).
const SAMPLE: Duration = Duration::from_millis(250);

fn main() {
    let benching = std::env::args().any(|a| a == "--bench");
    let rounds: usize = std::env::var("FUNDTRACE_BENCH_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(if benching { 15 } else { 1 })
        .max(1);
    batch_pairs(rounds, benching);
    let duckdb_rounds: usize = std::env::var("FUNDTRACE_BENCH_DUCKDB_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(rounds.div_ceil(3));
    if benching && duckdb_rounds > 0 {
        duckdb_pairs(duckdb_rounds);
    }
    common::print_peak_memory("trace_pairs bench");
}

/// The batch on 1 and 2 threads, `rounds` pairs per model (under `cargo test`, each side of a
/// pair one batch and each case timed once).
fn batch_pairs(rounds: usize, benching: bool) {
    let load = load();
    let cases = batch_cases(load);
    let pools = [1, 2].map(|n| {
        rayon::ThreadPoolBuilder::new()
            .num_threads(n)
            .build()
            .unwrap()
    });
    println!(
        "batch of {} cases, 1 thread against 2 ({rounds} pairs per model, time per batch):",
        cases.len()
    );
    println!(
        "{:<8} {:>12} {:>12} {:>10} {:>16} {:>12} {:>8}",
        "model", "1 thread", "2 threads", "ratio", "ratio range", "largest case", "bound"
    );
    for model in MODELS {
        let policy = by_name(model).unwrap();
        let visited = run_batch(load, &pools[0], &cases, policy.as_ref());
        assert_eq!(visited, run_batch(load, &pools[1], &cases, policy.as_ref()));
        // The batch's own bound: however cases are spread over 2 threads, the batch lasts at
        // least its largest case and at least half its total.
        // Each case's time is the median of 3 (the VM drifts).
        let case_times: Vec<Duration> = pools[0].install(|| {
            cases
                .iter()
                .map(|seeds| {
                    let times: Vec<Duration> = (0..if benching { 3 } else { 1 })
                        .map(|_| {
                            let start = Instant::now();
                            std::hint::black_box(trace_forward(
                                &load.dataset,
                                seeds,
                                policy.as_ref(),
                                &rules(),
                            ));
                            start.elapsed()
                        })
                        .collect();
                    median(&times)
                })
                .collect()
        });
        let total: Duration = case_times.iter().sum();
        let largest = case_times.iter().max().copied().unwrap_or_default();
        let share = largest.as_secs_f64() / total.as_secs_f64().max(f64::MIN_POSITIVE);
        let bound = 1.0 / share.max(0.5);
        // A side of a pair runs the batch enough times to last about SAMPLE on 1 thread (a
        // batch of a few milliseconds is within the VM's scheduling jitter), after one untimed
        // run: a process traces on one pool, and the first batch after the other pool's finds
        // its threads asleep and its caches cold. Sides alternate pair by pair.
        let start = Instant::now();
        std::hint::black_box(run_batch(load, &pools[0], &cases, policy.as_ref()));
        let once = start.elapsed().max(Duration::from_micros(1));
        let repeats = if benching {
            (SAMPLE.as_nanos() / once.as_nanos()).clamp(1, 1_000) as u32
        } else {
            1
        };
        let mut one = Vec::with_capacity(rounds);
        let mut two = Vec::with_capacity(rounds);
        for round in 0..rounds {
            let time = |pool: &rayon::ThreadPool| {
                std::hint::black_box(run_batch(load, pool, &cases, policy.as_ref()));
                let start = Instant::now();
                for _ in 0..repeats {
                    std::hint::black_box(run_batch(load, pool, &cases, policy.as_ref()));
                }
                start.elapsed() / repeats
            };
            if round % 2 == 0 {
                one.push(time(&pools[0]));
                two.push(time(&pools[1]));
            } else {
                two.push(time(&pools[1]));
                one.push(time(&pools[0]));
            }
        }
        let ratios: Vec<f64> = one
            .iter()
            .zip(&two)
            .map(|(a, b)| a.as_secs_f64() / b.as_secs_f64())
            .collect();
        let (lo, hi) = range(&ratios);
        println!(
            "{model:<8} {:>12.2?} {:>12.2?} {:>9.2}x {:>7.2}-{:.2}x {:>11.0}% {:>7.2}x",
            median(&one),
            median(&two),
            median_f64(&ratios),
            lo,
            hi,
            100.0 * share,
            bound
        );
    }
}

/// fundtrace's poison reach beside DuckDB's, `rounds` pairs.
fn duckdb_pairs(rounds: usize) {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/benches/duckdb_poison.py");
    let has_duckdb = Command::new("python3")
        .args(["-c", "import duckdb"])
        .status()
        .is_ok_and(|s| s.success());
    if !has_duckdb {
        println!(
            "DuckDB pairs skipped: python3 with the duckdb module is not here (pip install duckdb)"
        );
        return;
    }
    let load = load();
    let seeds = seeds(load, load.seed_tx);
    let rules = StopRules {
        max_hops: u32::MAX,
        ..StopRules::default()
    };
    let reach = poison_reach(&load.dataset, &seeds, &rules);
    println!(
        "poison reach from tx {}: {} transactions, deepest hop {} ({rounds} pairs):",
        load.seed_tx.0,
        reach.txs(),
        reach.deepest_hop()
    );
    println!("{:>12} {:>12} {:>10}", "fundtrace", "DuckDB", "ratio");
    let mut ratios = Vec::with_capacity(rounds);
    for _ in 0..rounds {
        let ours: Vec<Duration> = (0..5)
            .map(|_| {
                let start = Instant::now();
                std::hint::black_box(poison_reach(&load.dataset, &seeds, &rules).txs());
                start.elapsed()
            })
            .collect();
        let out = Command::new("python3")
            .arg(script)
            .arg(load.dataset.dir())
            .arg(load.seed_tx.0.to_string())
            .args(["--hops", "--repeat", "3"])
            .output()
            .expect("run python3 benches/duckdb_poison.py");
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "duckdb_poison.py failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let theirs: Vec<Duration> = stdout
            .lines()
            .filter(|line| line.starts_with("duckdb recursive poison reach"))
            .map(|line| {
                // "duckdb recursive poison reach (table, hops): N transactions, deepest hop D
                // in S s"
                let what = line
                    .split_once("): ")
                    .and_then(|(_, rest)| rest.rsplit_once(" in "))
                    .map(|(what, _)| what)
                    .unwrap_or_else(|| panic!("unexpected line from duckdb_poison.py: {line}"));
                assert_eq!(
                    what,
                    format!(
                        "{} transactions, deepest hop {}",
                        reach.txs(),
                        reach.deepest_hop()
                    ),
                    "DuckDB found another reach"
                );
                let secs: f64 = line
                    .rsplit_once(" in ")
                    .and_then(|(_, s)| s.trim_end_matches(" s").parse().ok())
                    .unwrap_or_else(|| panic!("no time in: {line}"));
                Duration::from_secs_f64(secs)
            })
            .collect();
        assert_eq!(theirs.len(), 3, "duckdb_poison.py printed {stdout}");
        let (ours, theirs) = (median(&ours), median(&theirs));
        let ratio = theirs.as_secs_f64() / ours.as_secs_f64();
        ratios.push(ratio);
        println!("{ours:>12.2?} {theirs:>12.2?} {ratio:>9.1}x");
    }
    let (lo, hi) = range(&ratios);
    println!(
        "median ratio {:.1}x (range {lo:.1}-{hi:.1}x)",
        median_f64(&ratios)
    );
}

fn median(v: &[Duration]) -> Duration {
    let mut v = v.to_vec();
    v.sort();
    v[v.len() / 2]
}

fn median_f64(v: &[f64]) -> f64 {
    let mut v = v.to_vec();
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn range(v: &[f64]) -> (f64, f64) {
    let lo = v.iter().copied().fold(f64::INFINITY, f64::min);
    let hi = v.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    (lo, hi)
}
