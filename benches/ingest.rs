//! Ingest throughput: end-to-end blk ingest (scan, parse, txids, spend index, Parquet + cache
//! write) against a bare single-threaded parse-and-count loop with the `bitcoin` crate over the
//! same files.
//!
//! Inputs: the real mainnet blocks 0–4312 (../shared, skipped with a note when absent) and a
//! generated `payments` load (`FUNDTRACE_BENCH_TXS`, default 200,000 transactions).
//!
//! Run: `cargo bench --bench ingest`.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use bitcoin::consensus::Decodable;
use divan::counter::BytesCount;
use divan::Bencher;
use fundtrace::chain::Chain;
use fundtrace::ingest::{ingest_blk, BlkIngest};
use fundtrace::store::PartitionPolicy;

mod common;

fn main() {
    // As the `fundtrace` binary does for `ingest`.
    fundtrace::ingest::keep_freed_memory();
    divan::main();
    common::print_peak_memory("ingest bench");
}

/// A directory of blk files and the chain they belong to.
struct Input {
    dir: PathBuf,
    chain: Chain,
    bytes: u64,
}

fn real_mainnet() -> Option<&'static Input> {
    static INPUT: OnceLock<Option<Input>> = OnceLock::new();
    INPUT
        .get_or_init(|| {
            let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
                .join("../shared/datasets/real/btc-mainnet");
            if !dir.join("blk_0-4312.dat").exists() {
                eprintln!(
                    "note: {} is absent; the real-block benchmarks are skipped",
                    dir.display()
                );
                return None;
            }
            let bytes = std::fs::metadata(dir.join("blk_0-4312.dat")).unwrap().len();
            Some(Input {
                dir,
                chain: Chain::Bitcoin,
                bytes,
            })
        })
        .as_ref()
}

fn generated_load() -> &'static Input {
    static INPUT: OnceLock<(tempfile::TempDir, Input)> = OnceLock::new();
    &INPUT
        .get_or_init(|| {
            let (tmp, dir) = common::generated_blocks(common::bench_txs(200_000));
            let bytes = blk_files(&dir)
                .iter()
                .map(|f| std::fs::metadata(f).unwrap().len())
                .sum();
            (
                tmp,
                Input {
                    dir,
                    chain: Chain::BitcoinRegtest,
                    bytes,
                },
            )
        })
        .1
}

fn blk_files(dir: &Path) -> Vec<PathBuf> {
    fundtrace::ingest::blkfile::list_blk_files(dir).unwrap()
}

fn ingest_once(input: &Input, out: &Path) -> u64 {
    let job = BlkIngest {
        blocks_dir: input.dir.clone(),
        chain: input.chain,
        out: out.to_path_buf(),
        to_height: None,
        policy: PartitionPolicy::default(),
    };
    ingest_blk(&job, |_| {}, |_| {}).unwrap().added.txs
}

/// The baseline: read each file, decode every framed block with the `bitcoin` crate, count txs.
fn bare_parse_count(input: &Input) -> u64 {
    let mut txs = 0u64;
    for file in blk_files(&input.dir) {
        let bytes = std::fs::read(file).unwrap();
        let mut pos = 0;
        while pos + 8 <= bytes.len() {
            let len = u32::from_le_bytes(bytes[pos + 4..pos + 8].try_into().unwrap()) as usize;
            if pos + 8 + len > bytes.len() {
                break;
            }
            let block =
                bitcoin::Block::consensus_decode(&mut &bytes[pos + 8..pos + 8 + len]).unwrap();
            txs += block.txdata.len() as u64;
            pos += 8 + len;
        }
    }
    txs
}

/// The same loop streaming each file through a `BufReader` (how a block reader is usually
/// written with the crate), for comparison with the in-memory variant above.
fn bare_streaming_parse_count(input: &Input) -> u64 {
    use std::io::Read;
    let mut txs = 0u64;
    for file in blk_files(&input.dir) {
        let mut reader = std::io::BufReader::new(std::fs::File::open(file).unwrap());
        let mut frame = [0u8; 8];
        while reader.read_exact(&mut frame).is_ok() {
            let block = match bitcoin::Block::consensus_decode(&mut reader) {
                Ok(b) => b,
                Err(_) => break,
            };
            txs += block.txdata.len() as u64;
        }
    }
    txs
}

/// fundtrace's zero-copy parser (txids and merkle check included), single-threaded, same files.
fn zero_copy_parse_count(input: &Input) -> u64 {
    let mut txs = 0u64;
    for file in blk_files(&input.dir) {
        let bytes = std::fs::read(file).unwrap();
        let mut pos = 0;
        while pos + 8 <= bytes.len() {
            let len = u32::from_le_bytes(bytes[pos + 4..pos + 8].try_into().unwrap()) as usize;
            if pos + 8 + len > bytes.len() {
                break;
            }
            txs += fundtrace::ingest::block::parse_block(&bytes[pos + 8..pos + 8 + len])
                .unwrap()
                .tx_count() as u64;
            pos += 8 + len;
        }
    }
    txs
}

fn bench_ingest(bencher: Bencher, input: &Input) {
    bencher
        .counter(BytesCount::new(input.bytes))
        .with_inputs(|| tempfile::tempdir().unwrap())
        .bench_values(|tmp| ingest_once(input, &tmp.path().join("ds")));
}

#[divan::bench(sample_count = 5)]
fn ingest_end_to_end_mainnet_0_4312(bencher: Bencher) {
    if let Some(input) = real_mainnet() {
        bench_ingest(bencher, input);
    }
}

#[divan::bench(sample_count = 5)]
fn bare_parse_count_mainnet_0_4312(bencher: Bencher) {
    if let Some(input) = real_mainnet() {
        bencher
            .counter(BytesCount::new(input.bytes))
            .bench(|| bare_parse_count(input));
    }
}

#[divan::bench(sample_count = 5)]
fn ingest_end_to_end_generated(bencher: Bencher) {
    bench_ingest(bencher, generated_load());
}

#[divan::bench(sample_count = 5)]
fn bare_parse_count_generated(bencher: Bencher) {
    let input = generated_load();
    bencher
        .counter(BytesCount::new(input.bytes))
        .bench(|| bare_parse_count(input));
}

#[divan::bench(sample_count = 5)]
fn zero_copy_parse_count_generated(bencher: Bencher) {
    let input = generated_load();
    bencher
        .counter(BytesCount::new(input.bytes))
        .bench(|| zero_copy_parse_count(input));
}

#[divan::bench(sample_count = 5)]
fn bare_streaming_parse_count_generated(bencher: Bencher) {
    let input = generated_load();
    bencher
        .counter(BytesCount::new(input.bytes))
        .bench(|| bare_streaming_parse_count(input));
}
