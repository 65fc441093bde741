//! The chain under construction, shared by every scenario: fresh keys, transactions paying
//! outputs, blocks mined from the pending transactions, labels, and the block writer running on
//! its own thread so that building, hashing and writing overlap.

use std::path::{Path, PathBuf};
use std::sync::mpsc::{sync_channel, SyncSender};
use std::thread::JoinHandle;

use bitcoin::transaction::Version;
use bitcoin::{Amount, Block, BlockHash, OutPoint, Transaction, TxOut, Txid};

use super::blocks::{assemble_block, coinbase, BlkWriter};
use super::genesis::genesis_block;
use super::rng::Rng;
use super::wallet::{Key, ScriptType};
use super::{GenerateError, GenerateOptions, Generated};
use crate::chain::Chain;

/// Regtest halves the subsidy every 150 blocks.
const REGTEST_HALVING: u32 = 150;
/// Coinbase outputs are spendable 100 blocks after their block.
pub const COINBASE_MATURITY: u32 = 100;
/// Fee rate of the `demo` and `payments` wallets, in satoshis per virtual byte.
pub const FEE_RATE: u64 = 2;
/// Outputs below this are not created (Bitcoin Core's dust limit for P2PKH).
pub const DUST: u64 = 546;

/// A spendable output in the generator's wallets.
#[derive(Debug, Clone, Copy)]
pub struct Utxo {
    /// Where it is.
    pub outpoint: OutPoint,
    /// Its value in satoshis.
    pub value: u64,
    /// The key it pays.
    pub key: Key,
}

/// Blocks go to a writer thread through a small bounded queue: serialization and disk writes
/// overlap with building the next block, and memory stays bounded.
struct BlockSink {
    tx: Option<SyncSender<Block>>,
    thread: Option<JoinHandle<std::io::Result<()>>>,
}

impl BlockSink {
    fn start(mut writer: BlkWriter) -> BlockSink {
        let (tx, rx) = sync_channel::<Block>(4);
        let thread = std::thread::spawn(move || {
            for block in rx {
                writer.write_block(&block)?;
            }
            writer.finish()
        });
        BlockSink {
            tx: Some(tx),
            thread: Some(thread),
        }
    }

    /// Queue a block; an error means the writer stopped (its error comes from [`finish`]).
    ///
    /// [`finish`]: BlockSink::finish
    fn send(&mut self, block: Block) -> Result<(), ()> {
        self.tx
            .as_ref()
            .expect("sink open")
            .send(block)
            .map_err(|_| ())
    }

    fn finish(&mut self) -> std::io::Result<()> {
        drop(self.tx.take());
        match self.thread.take() {
            Some(t) => t.join().expect("the block writer does not panic"),
            None => Ok(()),
        }
    }
}

/// The chain being built.
pub struct World {
    /// Every random choice comes from here.
    pub rng: Rng,
    /// Chain parameters (genesis, magic, address encodings).
    pub chain: Chain,
    sink: BlockSink,
    blocks_dir: PathBuf,
    prev: BlockHash,
    /// Height of the last block written.
    pub height: u32,
    start_time: u32,
    /// Seconds of random jitter (±) on block times; 0 gives exact spacing.
    jitter: u32,
    /// The last key id handed out.
    pub next_key: u64,
    block_txs: Vec<Transaction>,
    block_txids: Vec<Txid>,
    block_fees: u64,
    /// What has been written so far.
    pub stats: Generated,
    labels: Vec<(String, &'static str, &'static str)>,
    tail_blocks: u32,
}

impl World {
    /// Start a chain at the genesis of `opts.chain`; `jitter` seconds of randomness on block
    /// times (0 for exact spacing).
    pub fn new(opts: &GenerateOptions, jitter: u32) -> Result<World, GenerateError> {
        let blocks_dir = opts.out.join("blocks");
        let io = |source| GenerateError::Io {
            path: blocks_dir.clone(),
            source,
        };
        if let Ok(entries) = std::fs::read_dir(&blocks_dir) {
            for e in entries.flatten() {
                let name = e.file_name().to_string_lossy().into_owned();
                if name.starts_with("blk") && name.ends_with(".dat") {
                    return Err(GenerateError::NotEmpty(blocks_dir));
                }
            }
        }
        let mut writer =
            BlkWriter::create(&blocks_dir, opts.chain, opts.max_file_bytes).map_err(io)?;
        let genesis = genesis_block(opts.chain);
        let size = writer.write_block(&genesis).map_err(io)?;
        let stats = Generated {
            blocks: 1,
            txs: 1,
            inputs: 1,
            outputs: 1,
            block_bytes: size,
        };
        Ok(World {
            rng: Rng::new(opts.seed),
            chain: opts.chain,
            sink: BlockSink::start(writer),
            blocks_dir,
            prev: genesis.block_hash(),
            height: 0,
            start_time: opts.start_time,
            jitter,
            next_key: 1,
            block_txs: Vec::new(),
            block_txids: Vec::new(),
            block_fees: 0,
            stats,
            labels: Vec::new(),
            tail_blocks: opts.tail_blocks,
        })
    }

    /// A key never used before, of type `kind` (always P2PKH on Bitcoin Cash, which has no
    /// segwit).
    pub fn new_key(&mut self, kind: ScriptType) -> Key {
        let kind = if self.chain == Chain::BitcoinCash {
            ScriptType::P2pkh
        } else {
            kind
        };
        self.next_key += 1;
        Key {
            kind,
            id: self.next_key,
        }
    }

    /// A fresh key of a type drawn with mainnet-like shares.
    pub fn random_key(&mut self) -> Key {
        let kind = ScriptType::draw(&mut self.rng);
        self.new_key(kind)
    }

    /// The address string of `key` on this chain.
    pub fn address(&self, key: Key) -> String {
        self.chain.script_to_address(key.script().as_bytes())
    }

    /// Record a ground-truth label for `key`'s address.
    pub fn label(&mut self, key: Key, entity: &'static str, category: &'static str) {
        let address = self.address(key);
        self.labels.push((address, entity, category));
    }

    /// Transactions waiting for the next block.
    pub fn pending_txs(&self) -> usize {
        self.block_txs.len()
    }

    /// Add a transaction spending `inputs` to `outputs`; the rest is the fee. Returns the new
    /// outputs as spendable coins.
    pub fn pay(&mut self, inputs: &[Utxo], outputs: &[(Key, u64)]) -> Vec<Utxo> {
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
        self.stats.inputs += inputs.len() as u64;
        self.stats.outputs += outputs.len() as u64;
        self.block_txs.push(tx);
        self.block_txids.push(txid);
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

    /// Fee at [`FEE_RATE`] for a transaction of these inputs and `n_out` outputs.
    pub fn fee(inputs: &[Utxo], n_out: usize) -> u64 {
        Self::fee_at(inputs, n_out, FEE_RATE)
    }

    /// Fee at `rate` sat/vB for a transaction of these inputs and `n_out` outputs.
    pub fn fee_at(inputs: &[Utxo], n_out: usize, rate: u64) -> u64 {
        (11 + inputs.iter().map(|u| u.key.input_vbytes()).sum::<u64>() + 31 * n_out as u64) * rate
    }

    /// Time of the block at `height`: the chain's spacing from the start time, with jitter;
    /// None past 2106 (block times are u32).
    fn block_time(&mut self, height: u32) -> Option<u32> {
        let base =
            self.start_time as u64 + self.chain.block_spacing_secs() as u64 * (height as u64 - 1);
        let t = if self.jitter == 0 {
            base
        } else {
            let j = self.rng.below(2 * self.jitter as u64 + 1);
            (base + j)
                .saturating_sub(self.jitter as u64)
                .max(self.start_time as u64)
        };
        u32::try_from(t).ok()
    }

    /// Mine the pending transactions into the next block, paying subsidy and fees to `payees` in
    /// equal parts (the first takes the remainder). Returns the coinbase outputs.
    pub fn mine(&mut self, payees: &[Key]) -> Result<Vec<Utxo>, GenerateError> {
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
        let time = self.block_time(self.height).ok_or_else(|| {
            GenerateError::Options(format!(
                "block {} would be timed after 2106 (block times are 32-bit): use an earlier --start-time or fewer blocks",
                self.height
            ))
        })?;
        let block = assemble_block(self.chain, self.prev, time, txdata, &self.block_txids);
        self.block_txids.clear();
        // The witness commitment, if any, was added to the coinbase: take its final txid.
        let cb_txid = block.txdata[0].compute_txid();
        self.prev = block.block_hash();
        self.stats.blocks += 1;
        self.stats.txs += block.txdata.len() as u64;
        self.stats.inputs += 1;
        self.stats.outputs += block.txdata[0].output.len() as u64;
        self.stats.block_bytes += block.total_size() as u64;
        if self.sink.send(block).is_err() {
            return Err(self.writer_error());
        }
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

    fn writer_error(&mut self) -> GenerateError {
        let source = match self.sink.finish() {
            Err(e) => e,
            Ok(()) => std::io::Error::other("the block writer stopped"),
        };
        GenerateError::Io {
            path: self.blocks_dir.clone(),
            source,
        }
    }

    /// Wait for the writer, then write `truth/labels.csv` (when there are labels).
    pub fn finish(mut self, out: &Path) -> Result<Generated, GenerateError> {
        for _ in 0..self.tail_blocks {
            let payee = self.random_key();
            self.mine(&[payee])?;
        }
        let path = self.blocks_dir.clone();
        self.sink
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
