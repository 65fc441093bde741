//! Synthetic chains written as real `blk*.dat` files, for demos, tests and benchmark loads.
//!
//! Scenarios:
//! - `demo`: a small Zaif-shaped story: an exchange's hot wallet is swept by a thief into one
//!   address, then peeled into deposits at other exchanges, split, and partly left unspent; with
//!   users paying each other around it. Writes `truth/labels.csv` and `truth/theft.json`.
//! - `payments`: a load of ordinary payments (1–5 inputs, change outputs, batches, address
//!   reuse, realistic script-type shares and input sizes) up to a transaction count, for benchmarks.
//!
//! Same options and seed → byte-identical files. Memory stays bounded: the spendable pool is
//! capped and blocks are written as they are made.

pub mod blocks;
pub mod rng;
pub mod wallet;

use std::collections::VecDeque;
use std::path::{Path, PathBuf};

use bitcoin::transaction::Version;
use bitcoin::{Amount, BlockHash, OutPoint, Transaction, TxOut};

use self::blocks::{coinbase, finish_block, BlkWriter};
use self::rng::Rng;
use self::wallet::{Key, ScriptType};
use crate::chain::Chain;

/// Regtest halves the subsidy every 150 blocks.
const REGTEST_HALVING: u32 = 150;
/// Coinbase outputs are spendable 100 blocks after their block.
const COINBASE_MATURITY: u32 = 100;
/// Fee rate used by the generated wallets, in satoshis per virtual byte.
const FEE_RATE: u64 = 2;
/// Outputs below this are not created (Bitcoin Core's dust limit for P2PKH).
const DUST: u64 = 546;

/// Which world to generate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Scenario {
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
    /// The chain whose genesis and magic are used (bitcoin-regtest for now).
    pub chain: Chain,
    /// Transactions to generate (the `payments` scenario stops once it has this many).
    pub txs: u64,
    /// Transactions per block after the coinbase-only start (`payments`).
    pub txs_per_block: u32,
    /// Seed of every random choice.
    pub seed: u64,
    /// Output directory: blocks go to `OUT/blocks/`, ground truth to `OUT/truth/`.
    pub out: PathBuf,
    /// Time of the first block after the genesis (Unix seconds); blocks follow every 600 s.
    pub start_time: u32,
    /// Roll over to the next blk file past this many bytes (Bitcoin Core uses 128 MiB).
    pub max_file_bytes: u64,
}

/// What a generator run wrote.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct Generated {
    /// Blocks, genesis included.
    pub blocks: u32,
    /// Transactions, coinbases included.
    pub txs: u64,
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
    /// The chain's genesis block is not built in yet.
    #[error("generate supports --chain bitcoin-regtest for now, not {0}")]
    UnsupportedChain(&'static str),
}

/// A spendable output in the generator's wallets.
#[derive(Debug, Clone, Copy)]
struct Utxo {
    outpoint: OutPoint,
    value: u64,
    key: Key,
}

/// The chain being built.
struct World {
    rng: Rng,
    chain: Chain,
    writer: BlkWriter,
    blocks_dir: PathBuf,
    prev: BlockHash,
    height: u32,
    start_time: u32,
    next_key: u64,
    block_txs: Vec<Transaction>,
    block_fees: u64,
    stats: Generated,
    labels: Vec<(String, &'static str, &'static str)>,
}

impl World {
    fn new(opts: &GenerateOptions) -> Result<World, GenerateError> {
        if opts.chain != Chain::BitcoinRegtest {
            return Err(GenerateError::UnsupportedChain(opts.chain.name()));
        }
        let blocks_dir = opts.out.join("blocks");
        let io = |source| GenerateError::Io {
            path: blocks_dir.clone(),
            source,
        };
        let mut writer =
            BlkWriter::create(&blocks_dir, opts.chain, opts.max_file_bytes).map_err(io)?;
        let genesis = bitcoin::blockdata::constants::genesis_block(bitcoin::Network::Regtest);
        writer.write_block(&genesis).map_err(io)?;
        let stats = Generated {
            blocks: 1,
            txs: 1,
            block_bytes: bitcoin::consensus::serialize(&genesis).len() as u64,
        };
        Ok(World {
            rng: Rng::new(opts.seed),
            chain: opts.chain,
            writer,
            blocks_dir,
            prev: genesis.block_hash(),
            height: 0,
            start_time: opts.start_time,
            next_key: 1,
            block_txs: Vec::new(),
            block_fees: 0,
            stats,
            labels: Vec::new(),
        })
    }

    fn new_key(&mut self, kind: ScriptType) -> Key {
        self.next_key += 1;
        Key {
            kind,
            id: self.next_key,
        }
    }

    fn random_key(&mut self) -> Key {
        let kind = ScriptType::draw(&mut self.rng);
        self.new_key(kind)
    }

    fn label(&mut self, key: Key, entity: &'static str, category: &'static str) {
        let address = self.chain.script_to_address(key.script().as_bytes());
        self.labels.push((address, entity, category));
    }

    /// Add a transaction spending `inputs` to `outputs`; the rest is the fee. Returns the new
    /// outputs as spendable coins.
    fn pay(&mut self, inputs: &[Utxo], outputs: &[(Key, u64)]) -> Vec<Utxo> {
        let in_sum: u64 = inputs.iter().map(|u| u.value).sum();
        let out_sum: u64 = outputs.iter().map(|o| o.1).sum();
        assert!(out_sum <= in_sum, "the generator never creates value");
        let tx = Transaction {
            version: Version::TWO,
            lock_time: bitcoin::absolute::LockTime::ZERO,
            input: inputs.iter().map(|u| u.key.spend(u.outpoint)).collect(),
            output: outputs
                .iter()
                .map(|(k, v)| TxOut {
                    value: Amount::from_sat(*v),
                    script_pubkey: k.script(),
                })
                .collect(),
        };
        let txid = tx.compute_txid();
        self.block_fees += in_sum - out_sum;
        self.block_txs.push(tx);
        outputs
            .iter()
            .enumerate()
            .map(|(vout, &(key, value))| Utxo {
                outpoint: OutPoint {
                    txid,
                    vout: vout as u32,
                },
                value,
                key,
            })
            .collect()
    }

    /// Fee for a transaction of these inputs and `n_out` outputs.
    fn fee(inputs: &[Utxo], n_out: usize) -> u64 {
        (11 + inputs.iter().map(|u| u.key.input_vbytes()).sum::<u64>() + 31 * n_out as u64)
            * FEE_RATE
    }

    /// Mine the pending transactions into the next block, paying subsidy and fees to `payees` in
    /// equal parts (the first takes the remainder). Returns the coinbase outputs.
    fn mine(&mut self, payees: &[Key]) -> Result<Vec<Utxo>, GenerateError> {
        self.height += 1;
        let halvings = self.height / REGTEST_HALVING;
        let subsidy = if halvings >= 64 {
            0
        } else {
            (50 * 100_000_000u64) >> halvings
        };
        let total = subsidy + self.block_fees;
        let share = total / payees.len() as u64;
        let mut values = vec![share; payees.len()];
        values[0] += total - share * payees.len() as u64;
        let outputs = payees.iter().zip(&values).map(|(k, &v)| TxOut {
            value: Amount::from_sat(v),
            script_pubkey: k.script(),
        });
        let cb = coinbase(self.height, outputs.collect());
        let mut txdata = Vec::with_capacity(self.block_txs.len() + 1);
        txdata.push(cb);
        txdata.append(&mut self.block_txs);
        let time = self.start_time + 600 * (self.height - 1);
        let block = finish_block(self.prev, time, txdata);
        // The witness commitment, if any, was added to the coinbase: take its final txid.
        let cb_txid = block.txdata[0].compute_txid();
        self.prev = block.block_hash();
        self.stats.blocks += 1;
        self.stats.txs += block.txdata.len() as u64;
        self.stats.block_bytes += block.total_size() as u64;
        let path = self.blocks_dir.clone();
        self.writer
            .write_block(&block)
            .map_err(|source| GenerateError::Io { path, source })?;
        self.block_fees = 0;
        Ok(payees
            .iter()
            .zip(values)
            .enumerate()
            .map(|(vout, (&key, value))| Utxo {
                outpoint: OutPoint {
                    txid: cb_txid,
                    vout: vout as u32,
                },
                value,
                key,
            })
            .collect())
    }

    fn finish(self, out: &Path) -> Result<Generated, GenerateError> {
        let path = self.blocks_dir.clone();
        self.writer
            .finish()
            .map_err(|source| GenerateError::Io { path, source })?;
        if !self.labels.is_empty() {
            let mut csv = String::from("address,entity,category\n");
            for (address, entity, category) in &self.labels {
                csv.push_str(&format!("{address},{entity},{category}\n"));
            }
            let path = out.join("truth/labels.csv");
            crate::store::atomic::write_atomic(&path, csv.as_bytes())
                .map_err(|source| GenerateError::Io { path, source })?;
        }
        Ok(self.stats)
    }
}

/// Generate the chain described by `opts`.
pub fn generate(opts: &GenerateOptions) -> Result<Generated, GenerateError> {
    match opts.scenario {
        Scenario::Demo => demo(opts),
        Scenario::Payments => payments(opts),
    }
}

/// The `demo` story. Exchange names are fictional.
fn demo(opts: &GenerateOptions) -> Result<Generated, GenerateError> {
    let mut w = World::new(opts)?;
    let hot: Vec<Key> = (0..30).map(|_| w.new_key(ScriptType::P2pkh)).collect();
    for &k in &hot {
        w.label(k, "Zaifu", "victim");
    }
    let exchanges = ["Bitbank", "Kraken", "Huobi", "Poloniex"];
    let mut deposits: Vec<Vec<Key>> = Vec::new();
    for name in exchanges {
        let keys: Vec<Key> = (0..6).map(|_| w.random_key()).collect();
        for &k in &keys {
            w.label(k, name, "exchange");
        }
        deposits.push(keys);
    }
    let users: Vec<Key> = (0..40).map(|_| w.random_key()).collect();
    // Blocks 1..=30 pay the victim's hot wallet; 31..=110 pay users (maturity for both).
    let mut hot_coins = Vec::new();
    let mut user_coins: VecDeque<Utxo> = VecDeque::new();
    for h in 1..=110u32 {
        let payee = if h <= 30 {
            hot[(h - 1) as usize]
        } else {
            users[(h as usize) % users.len()]
        };
        let coins = w.mine(&[payee])?;
        if h <= 30 {
            hot_coins.extend(coins)
        } else {
            user_coins.extend(coins)
        }
    }
    // Background: each block, a user pays another user with change.
    let background = |w: &mut World, user_coins: &mut VecDeque<Utxo>| {
        if let Some(coin) = user_coins.pop_front() {
            let to = users[w.rng.below(users.len() as u64) as usize];
            let fee = World::fee(&[coin], 2);
            let pay = coin.value / 3;
            let change = coin.value - pay - fee;
            let outs = w.pay(&[coin], &[(to, pay), (coin.key, change)]);
            user_coins.extend(outs);
        }
    };
    // The theft at height 111: every hot-wallet coin swept into one thief address.
    let thief = w.new_key(ScriptType::P2wpkh);
    w.label(thief, "thief", "perpetrator");
    let fee = World::fee(&hot_coins, 1);
    let stolen: u64 = hot_coins.iter().map(|u| u.value).sum::<u64>() - fee;
    background(&mut w, &mut user_coins);
    let mut loot = w.pay(&hot_coins, &[(thief, stolen)])[0];
    w.mine(&[users[0]])?;
    // A peel chain: each hop deposits 20-60 BTC at an exchange and moves the change on.
    for hop in 0..8usize {
        background(&mut w, &mut user_coins);
        let exchange = &deposits[hop % deposits.len()];
        let deposit = exchange[hop / deposits.len()];
        let peel = (20 + w.rng.below(41)) * 100_000_000;
        let next = w.new_key(ScriptType::P2wpkh);
        w.label(next, "thief", "perpetrator");
        let fee = World::fee(&[loot], 2);
        let change = loot.value - peel - fee;
        loot = w.pay(&[loot], &[(deposit, peel), (next, change)])[1];
        w.mine(&[users[1 + hop]])?;
    }
    // A split over five fresh addresses; two deposit at exchanges, three stay unspent.
    let parts: Vec<Key> = (0..5).map(|_| w.new_key(ScriptType::P2tr)).collect();
    for &k in &parts {
        w.label(k, "thief", "perpetrator");
    }
    let fee = World::fee(&[loot], 5);
    let each = (loot.value - fee) / 5;
    let rest = loot.value - fee - each * 5;
    let outs: Vec<(Key, u64)> = parts
        .iter()
        .enumerate()
        .map(|(i, &k)| (k, if i == 0 { each + rest } else { each }))
        .collect();
    let split = w.pay(&[loot], &outs);
    w.mine(&[users[9]])?;
    for (i, coin) in split.iter().take(2).enumerate() {
        background(&mut w, &mut user_coins);
        let deposit = deposits[i][5];
        let fee = World::fee(&[*coin], 1);
        w.pay(&[*coin], &[(deposit, coin.value - fee)]);
        w.mine(&[users[10 + i]])?;
    }
    // Ten more blocks of ordinary traffic.
    for i in 0..10 {
        background(&mut w, &mut user_coins);
        w.mine(&[users[12 + i]])?;
    }
    let out = opts.out.clone();
    let theft = serde_json::json!({
        "victim": "Zaifu",
        "theft_height": 111,
        "thief_address": w.chain.script_to_address(thief.script().as_bytes()),
        "stolen_sat": stolen,
        "swept_inputs": hot_coins.len(),
    });
    let path = out.join("truth/theft.json");
    let mut text = serde_json::to_string_pretty(&theft).expect("json");
    text.push('\n');
    crate::store::atomic::write_atomic(&path, text.as_bytes())
        .map_err(|source| GenerateError::Io { path, source })?;
    w.finish(&out)
}

/// The `payments` load: ordinary wallet traffic up to `opts.txs` transactions.
fn payments(opts: &GenerateOptions) -> Result<Generated, GenerateError> {
    const MAX_POOL: usize = 200_000;
    let mut w = World::new(opts)?;
    let mut pool: Vec<Utxo> = Vec::new();
    let mut immature: VecDeque<(u32, Vec<Utxo>)> = VecDeque::new();
    // Coinbases of 50 outputs each until the first ones mature.
    for _ in 0..=COINBASE_MATURITY {
        let payees: Vec<Key> = (0..50).map(|_| w.random_key()).collect();
        let coins = w.mine(&payees)?;
        immature.push_back((w.height, coins));
    }
    while w.stats.txs < opts.txs {
        while immature
            .front()
            .is_some_and(|(h, _)| h + COINBASE_MATURITY <= w.height + 1)
        {
            pool.extend(immature.pop_front().expect("checked").1);
        }
        let mut made = 0;
        while made < opts.txs_per_block
            && w.stats.txs + made as u64 + 1 < opts.txs
            && !pool.is_empty()
        {
            let n_in = match w.rng.below(100) {
                0..=59 => 1,
                60..=84 => 2,
                85..=94 => 3,
                _ => 5,
            }
            .min(pool.len());
            let inputs: Vec<Utxo> = (0..n_in)
                .map(|_| pool.swap_remove(w.rng.below(pool.len() as u64) as usize))
                .collect();
            let n_out = match w.rng.below(100) {
                0..=9 => 1,
                10..=89 => 2,
                _ => 10,
            };
            let in_sum: u64 = inputs.iter().map(|u| u.value).sum();
            let fee = World::fee(&inputs, n_out);
            if in_sum < fee + DUST * n_out as u64 * 2 {
                continue; // too small to move: left unspent
            }
            let spendable = in_sum - fee;
            let mut outputs = Vec::with_capacity(n_out);
            let mut left = spendable;
            for i in 0..n_out {
                let key = if w.rng.chance(1, 4) && w.next_key > 2 {
                    let kind = ScriptType::draw(&mut w.rng);
                    Key {
                        kind,
                        id: 2 + w.rng.below(w.next_key - 1),
                    } // address reuse
                } else {
                    w.random_key()
                };
                let value = if i + 1 == n_out {
                    left
                } else {
                    let max = left - DUST * (n_out - i) as u64;
                    DUST + w.rng.below(max.max(1))
                };
                left -= value;
                outputs.push((key, value));
            }
            for coin in w.pay(&inputs, &outputs) {
                if pool.len() < MAX_POOL && coin.value > DUST * 4 {
                    pool.push(coin);
                }
            }
            made += 1;
        }
        let miner = w.random_key();
        let coins = w.mine(&[miner])?;
        immature.push_back((w.height, coins));
        if pool.is_empty() && immature.is_empty() {
            break;
        }
    }
    let out = opts.out.clone();
    w.finish(&out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opts(dir: &Path, scenario: Scenario, txs: u64) -> GenerateOptions {
        GenerateOptions {
            scenario,
            chain: Chain::BitcoinRegtest,
            txs,
            txs_per_block: 50,
            seed: 42,
            out: dir.to_path_buf(),
            start_time: 1_536_000_000,
            max_file_bytes: 128 << 20,
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
            scenario: Scenario::Payments,
            chain: Chain::BitcoinRegtest,
            txs: 5_000,
            txs_per_block: 500,
            seed: 3,
            out: dir.path().to_path_buf(),
            start_time: 1_536_000_000,
            max_file_bytes: 128 << 20,
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
