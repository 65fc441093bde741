//! Synthetic chains written as real `blk*.dat` files, for demos, tests and benchmark loads.
//!
//! Scenarios:
//! - `zaif`: a world of exchanges (one the victim), a mixer, a gambling service, CoinJoin
//!   coordinators and users, with a Zaif-shaped theft and its laundering, and the ground truth
//!   of where every stolen satoshi went (`truth/`; see docs/TRUTH.md).
//! - `demo`: a small Zaif-shaped story: an exchange's hot wallet is swept by a thief into one
//!   address, then peeled into deposits at other exchanges, split, and partly left unspent; with
//!   users paying each other around it. Writes `truth/labels.csv` and `truth/theft.json`.
//! - `payments`: a load of ordinary payments (1–5 inputs, change outputs, batches, address
//!   reuse, realistic script-type shares and input sizes) up to a transaction count, for benchmarks.
//!
//! Same options and seed → byte-identical files. Memory stays bounded: every pool of spendable
//! coins is capped and blocks are written as they are made, on a writer thread.

pub mod blocks;
pub mod demo;
pub mod genesis;
pub mod payments;
pub mod rng;
pub mod truth;
pub mod wallet;
pub mod world;
pub mod zaif;

use std::path::PathBuf;

use crate::chain::Chain;

/// Which world to generate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Scenario {
    /// A Zaif-like world with a theft, its laundering and the full ground truth.
    Zaif,
    /// A small theft story with ground-truth labels.
    Demo,
    /// Ordinary payments up to `--txs`, for benchmark loads.
    Payments,
}

/// Options of a generator run.
#[derive(Debug, Clone)]
pub struct GenerateOptions {
    /// The world.
    pub scenario: Scenario,
    /// The chain whose genesis, magic, block spacing and address encodings are used.
    pub chain: Chain,
    /// Transactions to generate (`payments` and `zaif` stop once they have this many; `zaif`
    /// always finishes its story first).
    pub txs: u64,
    /// Transactions per block after the coinbase-only start.
    pub txs_per_block: u32,
    /// Seed of every random choice.
    pub seed: u64,
    /// Output directory: blocks go to `OUT/blocks/`, ground truth to `OUT/truth/`.
    pub out: PathBuf,
    /// Time of the first block after the genesis (Unix seconds); blocks follow at the chain's
    /// spacing.
    pub start_time: u32,
    /// Roll over to the next blk file past this many bytes (Bitcoin Core uses 128 MiB).
    pub max_file_bytes: u64,
    /// Height of the theft (`zaif`; default: about a third of the way into the chain).
    pub theft_height: Option<u32>,
    /// Hot-wallet outputs the thief sweeps in the theft transaction (`zaif`; Zaif's was 131).
    pub theft_inputs: u32,
    /// Coinbase-only blocks appended after the scenario's last block. A node imports a
    /// generated chain (whose signatures are fillers) with `-loadblock` and `-assumevalid=TIP`
    /// only when its transactions lie two weeks of block work below the tip (8,064 Litecoin or
    /// 2,016 Bitcoin blocks): Bitcoin Core skips script checks only there.
    pub tail_blocks: u32,
}

impl GenerateOptions {
    /// Options with the defaults of the command line for `scenario`, `txs`, `seed` and `out`.
    pub fn new(scenario: Scenario, txs: u64, seed: u64, out: PathBuf) -> GenerateOptions {
        GenerateOptions {
            scenario,
            chain: Chain::BitcoinRegtest,
            txs,
            txs_per_block: 2_000,
            seed,
            out,
            start_time: 1_535_760_000,
            max_file_bytes: 128 << 20,
            theft_height: None,
            theft_inputs: 131,
            tail_blocks: 0,
        }
    }
}

/// What a generator run wrote.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct Generated {
    /// Blocks, genesis included.
    pub blocks: u32,
    /// Transactions, coinbases included.
    pub txs: u64,
    /// Inputs, coinbase inputs included.
    pub inputs: u64,
    /// Outputs, witness commitments included.
    pub outputs: u64,
    /// Bytes of block data (without frame headers).
    pub block_bytes: u64,
}

/// Errors of the generator.
#[derive(Debug, thiserror::Error)]
pub enum GenerateError {
    /// Writing failed.
    #[error("cannot write {path}: {source}")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// The output directory already holds block files.
    #[error("{0} already holds blk*.dat files: delete them or choose another --out")]
    NotEmpty(PathBuf),
    /// The options cannot make the scenario (for example a theft height too early).
    #[error("{0}")]
    Options(String),
}

/// Generate the chain described by `opts`.
pub fn generate(opts: &GenerateOptions) -> Result<Generated, GenerateError> {
    match opts.scenario {
        Scenario::Demo => demo::demo(opts),
        Scenario::Payments => payments::payments(opts),
        Scenario::Zaif => zaif::zaif(opts),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn opts(dir: &Path, scenario: Scenario, txs: u64) -> GenerateOptions {
        GenerateOptions {
            txs_per_block: 50,
            start_time: 1_536_000_000,
            ..GenerateOptions::new(scenario, txs, 42, dir.to_path_buf())
        }
    }

    #[test]
    fn same_seed_gives_identical_bytes() {
        let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
        generate(&opts(a.path(), Scenario::Payments, 2_000)).unwrap();
        generate(&opts(b.path(), Scenario::Payments, 2_000)).unwrap();
        let read = |d: &Path| std::fs::read(d.join("blocks/blk00000.dat")).unwrap();
        assert_eq!(read(a.path()), read(b.path()));
    }

    #[test]
    fn payments_reach_the_requested_transaction_count() {
        let dir = tempfile::tempdir().unwrap();
        let g = generate(&opts(dir.path(), Scenario::Payments, 3_000)).unwrap();
        assert_eq!(g.txs, 3_000);
    }
}

#[cfg(test)]
mod parser_tests {
    use super::*;
    use crate::ingest::block::{parse_block, parse_block_reference};

    /// The generated load is segwit-heavy (P2WPKH, P2SH-P2WPKH, P2TR inputs): the zero-copy
    /// parser must agree with the `bitcoin` crate on every block of it.
    #[test]
    fn zero_copy_parser_agrees_with_the_bitcoin_crate_on_generated_blocks() {
        let dir = tempfile::tempdir().unwrap();
        let opts = GenerateOptions {
            txs_per_block: 500,
            start_time: 1_536_000_000,
            ..GenerateOptions::new(Scenario::Payments, 5_000, 3, dir.path().to_path_buf())
        };
        generate(&opts).unwrap();
        let bytes = std::fs::read(dir.path().join("blocks/blk00000.dat")).unwrap();
        let (mut pos, mut blocks, mut segwit) = (0, 0, 0);
        while pos < bytes.len() {
            let len = u32::from_le_bytes(bytes[pos + 4..pos + 8].try_into().unwrap()) as usize;
            let block = &bytes[pos + 8..pos + 8 + len];
            let ours = parse_block(block).unwrap();
            segwit += ours.segwit.iter().filter(|&&s| s).count();
            assert_eq!(ours, parse_block_reference(block).unwrap());
            pos += 8 + len;
            blocks += 1;
        }
        assert!(
            blocks > 100 && segwit > 1_000,
            "{blocks} blocks, {segwit} segwit txs"
        );
    }
}
