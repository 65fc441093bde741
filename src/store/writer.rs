//! Building and extending a dataset: ids assigned in chain order, inputs resolved to the
//! outputs they spend, scripts interned, and committed partition by partition.
//!
//! While a partition is open its rows go, in runs, to the binary cache and to one encoder thread
//! per immutable table (`stream.rs`). Commit protocol (one partition at a time): append the rest
//! of its rows to the cache and patch `spent_by` of older outputs; finish the encoders' files
//! (synced, renamed); mark its `outputs` table and those of older partitions whose outputs it
//! spent as stale, to be rewritten once by [`DatasetWriter::finish`]; replace `manifest.json`
//! last. Every file write is atomic. The writer's own state lives partly in the cache it writes:
//! first outputs, output values and the scripts' bytes are read back through memory maps.
//!
//! A run killed at any point leaves the last manifest valid; the next run cuts the cache back to
//! the manifest, removes files the manifest does not list, rebuilds the spend index from the
//! committed inputs and the script index from the cached scripts, and goes on, so it ends with
//! the same manifest as an uninterrupted run.

use std::collections::{BTreeSet, HashMap};
use std::hash::{BuildHasherDefault, Hasher};
use std::path::{Path, PathBuf};

use bitcoin::hashes::Hash;
use bitcoin::Txid;

use super::atomic::write_atomic;
use super::cache::{as_bytes, CacheColumn, CacheError, CacheWriter, MappedColumn};
use super::ids::{OutIx, ScriptId, TxIx};
use super::intern::ScriptInterner;
use super::manifest::{
    Counts, Manifest, ManifestError, Partition, PartitionFile, Tip, MANIFEST_FILE, TABLES,
};
use super::render::ScriptRun;
use super::stream::{write_parquet_atomic, StreamError, StreamedFile, TableStream};
use super::tables::{BlocksTable, Hash32, InputsTable, OutputsTable, TxsTable};
use crate::chain::Chain;
use crate::ingest::block::ParsedBlock;

/// Outputs per dirty-tracking chunk of `spent_by`.
const CHUNK: usize = 1 << 16;

/// Position of the outputs table in [`TABLES`] and in a partition's files.
const OUTPUTS_SLOT: usize = 2;

/// Transactions or inputs stored before their rows go to the encoders (also sent after each
/// batch of blocks, see [`DatasetWriter::send_to_encoders`]).
const SEND_ROWS: usize = 1 << 14;

/// Errors while building a dataset.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A file could not be written or read.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// The manifest could not be read.
    #[error(transparent)]
    Manifest(#[from] ManifestError),
    /// A cache file problem.
    #[error(transparent)]
    Cache(#[from] CacheError),
    /// A table of the open partition could not be encoded or written.
    #[error("cannot write the {table} table of the partition from height {start}: {source}")]
    Encode {
        /// The table.
        table: &'static str,
        /// First height of the partition.
        start: u32,
        /// What failed.
        source: StreamError,
    },
    /// The dataset belongs to another chain.
    #[error("dataset {dir} holds {found} blocks, not {asked}: use --chain {found} or another --out directory")]
    WrongChain {
        /// The dataset.
        dir: PathBuf,
        /// Its chain.
        found: &'static str,
        /// The chain asked for.
        asked: &'static str,
    },
    /// A block does not extend the stored tip.
    #[error(
        "block {hash} at height {height} does not extend the stored tip (its parent is {prev}, the tip is {tip}); \
         the source's chain differs from the dataset's (a reorg below the tip, or another chain)"
    )]
    NotConnected {
        /// Height of the block.
        height: u32,
        /// Its hash.
        hash: String,
        /// Its parent.
        prev: String,
        /// The stored tip.
        tip: String,
    },
    /// An input spends an output the dataset does not hold.
    #[error(
        "block {height} ({hash}) tx {txid} input {pos} spends {prev_txid}:{vout}, which is not an unspent output \
         of an earlier transaction; blocks before this one are missing or the data is corrupt"
    )]
    UnknownPrevout {
        /// Height of the block.
        height: u32,
        /// Its hash.
        hash: String,
        /// The spending transaction.
        txid: Txid,
        /// The input position.
        pos: u32,
        /// The funding txid.
        prev_txid: Txid,
        /// The funding output index.
        vout: u32,
    },
    /// A transaction pays out more than it takes in.
    #[error(
        "block {height} tx {txid} spends {inputs} but pays out {outputs}: the block is invalid"
    )]
    ValueCreated {
        /// Height of the block.
        height: u32,
        /// The transaction.
        txid: Txid,
        /// Sum of its inputs.
        inputs: u128,
        /// Sum of its outputs.
        outputs: u128,
    },
    /// An earlier block failed half-way through; nothing more is committed (the dataset stays at
    /// its last commit, and the next run continues from there).
    #[error("an earlier block failed to store; the dataset keeps its last commit")]
    Failed,
    /// Another process holds the dataset.
    #[error(transparent)]
    Lock(#[from] super::lock::LockError),
    /// The source of blocks cannot confirm the stored chain (failing).
    #[error("{0}")]
    Source(String),
    /// The source has no block at the dataset's tip height (syncing, or in the middle of a
    /// reorg to a chain not yet as long).
    #[error(
        "{from} has no block at the dataset's tip height {height}: it is behind the dataset (still syncing, or fewer blocks); \
         nothing was changed: wait for it, or ingest into another --out directory"
    )]
    SourceBehind {
        /// The source.
        from: String,
        /// The dataset's tip height.
        height: u32,
    },
    /// An id space ran out (more than 2^32 transactions or scripts).
    #[error("the dataset would exceed {0} ids; split it by height range")]
    IdOverflow(&'static str),
}

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> StoreError + '_ {
    move |source| StoreError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// When a partition is closed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PartitionPolicy {
    /// Close once the partition holds at least this many transactions.
    pub max_txs: u64,
    /// Close once the partition holds this many blocks.
    pub max_blocks: u32,
}

impl Default for PartitionPolicy {
    fn default() -> Self {
        PartitionPolicy {
            max_txs: 1_000_000,
            max_blocks: 50_000,
        }
    }
}

/// A hasher for keys that are already uniform hashes (txids): the first 8 bytes are the hash.
#[derive(Default)]
struct PrefixHasher(u64);

impl Hasher for PrefixHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        if bytes.len() >= 8 {
            self.0 ^= u64::from_le_bytes(bytes[..8].try_into().expect("8 bytes"));
        } else {
            for &b in bytes {
                self.0 = self.0.rotate_left(8) ^ b as u64;
            }
        }
    }
    fn write_usize(&mut self, _: usize) {}
}

/// Inputs (and outputs) warmed at a time: their lookups are independent, so the CPU overlaps
/// their cache misses, and storing them then finds the memory in cache.
const WARM_AHEAD: usize = 64;

type Utxo = HashMap<Txid, Unspent, BuildHasherDefault<PrefixHasher>>;

/// Output values: committed ones in the cache, then the pending partition's.
struct Values<'a> {
    committed: &'a [u64],
    pending: &'a [u64],
    pending_from: usize,
}

impl Values<'_> {
    fn get(&self, out: usize) -> Option<&u64> {
        match out.checked_sub(self.pending_from) {
            Some(o) => self.pending.get(o),
            None => self.committed.get(out),
        }
    }
}

/// Look up what storing `prevouts` will read (the UTXO entry of each funding transaction, its
/// first output, the spent output's `spent_by` row and value) without changing anything: a
/// hint only, results do not depend on it.
fn warm_inputs(
    utxo: &Utxo,
    first_outs: &FirstOuts,
    spent_by: &[u32],
    values: &Values,
    prevouts: &[Option<crate::ingest::block::Prevout>],
) {
    use super::dataset::prefetch;
    for (txid, vout) in prevouts.iter().flatten() {
        let Some(entry) = utxo.get(txid) else {
            continue;
        };
        let Some(start) = first_outs.get(entry.tx.index()) else {
            continue;
        };
        let out = start as usize + *vout as usize;
        if let Some(by) = spent_by.get(out) {
            prefetch(by);
        }
        if let Some(value) = values.get(out) {
            prefetch(value);
        }
    }
}

/// The first output of every transaction: the committed ones memory-mapped from the cache (so
/// they cost page cache, not the writer's memory), the open partition's in memory.
struct FirstOuts {
    committed: MappedColumn<u64>,
    pending: Vec<u64>,
}

impl FirstOuts {
    /// The committed first outputs of the dataset `dir` with `txs` transactions.
    fn open(dir: &Path, txs: u64) -> Result<FirstOuts, StoreError> {
        Ok(FirstOuts {
            committed: MappedColumn::open(dir, CacheColumn::TxFirstOut, txs)?,
            pending: Vec::new(),
        })
    }

    /// The open partition is committed: `txs` transactions are in the cache now.
    fn committed(&mut self, dir: &Path, txs: u64) -> Result<(), StoreError> {
        self.committed.grow(dir, CacheColumn::TxFirstOut, txs)?;
        self.pending.clear();
        Ok(())
    }

    /// First output of transaction `tx`, if it is stored.
    fn get(&self, tx: usize) -> Option<u64> {
        let committed = self.committed.as_slice();
        match tx.checked_sub(committed.len()) {
            None => Some(committed[tx]),
            Some(i) => self.pending.get(i).copied(),
        }
    }
}

/// A transaction that still has unspent spendable outputs.
#[derive(Debug, Clone, Copy)]
struct Unspent {
    tx: TxIx,
    remaining: u32,
}

/// The chunks of `spent_by` (of [`CHUNK`] outputs) changed since the last commit, as a bitset:
/// an input spending an older output marks one, at the cost of an OR.
#[derive(Debug, Default)]
struct DirtyChunks(Vec<u64>);

impl DirtyChunks {
    fn insert(&mut self, chunk: usize) {
        let w = chunk / 64;
        if w >= self.0.len() {
            self.0.resize(w + 1, 0);
        }
        self.0[w] |= 1 << (chunk % 64);
    }

    fn is_empty(&self) -> bool {
        self.0.iter().all(|&w| w == 0)
    }

    /// The marked chunks, in order.
    fn iter(&self) -> impl Iterator<Item = usize> + '_ {
        self.0.iter().enumerate().flat_map(|(w, &word)| {
            (0..64)
                .filter(move |b| word >> b & 1 != 0)
                .map(move |b| w * 64 + b)
        })
    }

    /// True when a chunk of `first..=last` is marked.
    fn any_in(&self, first: usize, last: usize) -> bool {
        (first..=last).any(|c| self.0.get(c / 64).is_some_and(|w| w >> (c % 64) & 1 != 0))
    }

    fn clear(&mut self) {
        self.0.clear();
    }
}

/// The encoders of the open partition's immutable tables.
struct PartitionStreams {
    blocks: TableStream<BlocksTable>,
    txs: TableStream<TxsTable>,
    inputs: TableStream<InputsTable>,
    scripts: TableStream<ScriptRun>,
}

impl PartitionStreams {
    fn start(dir: &Path, start: u32) -> PartitionStreams {
        let temp = |table: &str| {
            dir.join(table)
                .join(format!(".part-{start:09}-open.parquet.tmp"))
        };
        PartitionStreams {
            blocks: TableStream::start(
                "blocks",
                temp("blocks"),
                BlocksTable::schema(),
                BlocksTable::into_batch,
            ),
            txs: TableStream::start("txs", temp("txs"), TxsTable::schema(), TxsTable::into_batch),
            inputs: TableStream::start(
                "inputs",
                temp("inputs"),
                InputsTable::schema(),
                InputsTable::into_batch,
            ),
            scripts: TableStream::start(
                "scripts",
                temp("scripts"),
                super::tables::ScriptsTable::schema(),
                ScriptRun::into_batch,
            ),
        }
    }
}

/// The partition being built: rows not yet handed to its encoders, and the outputs' columns
/// (kept until the commit, since inputs of this partition look their values up).
struct Pending {
    start_height: u32,
    end_height: u32,
    first: Counts,
    blocks: BlocksTable,
    txs: TxsTable,
    inputs: InputsTable,
    /// First transaction of each script interned since the last hand-off.
    new_script_first_tx: Vec<u32>,
    out_value: Vec<u64>,
    out_script: Vec<u32>,
    /// Outputs whose value and script are in the cache already.
    cached_outputs: usize,
    streams: PartitionStreams,
}

impl Pending {
    fn new(dir: &Path, start_height: u32, first: Counts) -> Pending {
        Pending {
            start_height,
            end_height: start_height,
            first,
            blocks: BlocksTable::default(),
            txs: TxsTable::default(),
            inputs: InputsTable::default(),
            new_script_first_tx: Vec::new(),
            out_value: Vec::new(),
            out_script: Vec::new(),
            cached_outputs: 0,
            streams: PartitionStreams::start(dir, start_height),
        }
    }
}

/// The input position spending each output of a range (`u32::MAX` while unspent).
struct SpentPositions {
    /// The range's first output.
    from: u64,
    pos: Vec<u32>,
}

/// Summary of what a writer added.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct Added {
    /// Rows added by this writer.
    pub rows: Counts,
    /// Partitions committed.
    pub partitions: u64,
}

/// Builds or extends the dataset in one directory.
pub struct DatasetWriter {
    dir: PathBuf,
    chain: Chain,
    policy: PartitionPolicy,
    manifest: Manifest,
    cache: CacheWriter,
    /// Counts including the pending partition.
    next: Counts,
    /// Height and hash of the last block pushed.
    tip: Option<(u32, bitcoin::BlockHash)>,
    first_outs: FirstOuts,
    spent_by: Vec<u32>,
    committed_values: MappedColumn<u64>,
    unspendable_scripts: Vec<bool>,
    utxo: Utxo,
    scripts: ScriptInterner,
    dirty_chunks: DirtyChunks,
    /// Scripts below this id have been handed to an encoder.
    scripts_sent_upto: u64,
    pending: Option<Pending>,
    added: Added,
    /// Set when a block failed half-way: the in-memory state is then not to be committed.
    failed: bool,
    /// The dataset's exclusive lock (`None` while released between `--follow` rounds).
    lock: Option<std::fs::File>,
    /// What this writer wrote into the lock file: another writer taking the lock meanwhile
    /// replaces it.
    lock_token: Vec<u8>,
}

impl DatasetWriter {
    /// Open dataset `dir` for appending, creating it when it does not exist, and recover from an
    /// interrupted earlier run.
    pub fn open(
        dir: &Path,
        chain: Chain,
        policy: PartitionPolicy,
    ) -> Result<DatasetWriter, StoreError> {
        std::fs::create_dir_all(dir).map_err(io_err(dir))?;
        let lock = super::lock::lock(dir, super::lock::Mode::Exclusive)?;
        let manifest = match Manifest::read(dir)? {
            Some(m) if m.chain != chain => {
                return Err(StoreError::WrongChain {
                    dir: dir.into(),
                    found: m.chain.name(),
                    asked: chain.name(),
                })
            }
            Some(m) => m,
            None => Manifest::new(chain),
        };
        remove_uncommitted_files(dir, &manifest)?;
        let cache = CacheWriter::open(dir, &manifest.counts)?;
        let counts = manifest.counts;
        let mut writer = DatasetWriter {
            dir: dir.to_path_buf(),
            chain,
            policy,
            next: counts,
            tip: match &manifest.tip {
                Some(t) => Some((
                    t.height,
                    t.hash.parse().map_err(|_| ManifestError::BadTip {
                        path: dir.join(MANIFEST_FILE).display().to_string(),
                        hash: t.hash.clone(),
                    })?,
                )),
                None => None,
            },
            manifest,
            cache,
            first_outs: FirstOuts::open(dir, counts.txs)?,
            spent_by: Vec::new(),
            committed_values: MappedColumn::open(dir, CacheColumn::OutValue, counts.outputs)?,
            unspendable_scripts: Vec::new(),
            utxo: HashMap::default(),
            scripts: ScriptInterner::default(),
            dirty_chunks: DirtyChunks::default(),
            scripts_sent_upto: counts.scripts,
            pending: None,
            added: Added::default(),
            failed: false,
            lock_token: super::lock::token(&lock).map_err(|source| StoreError::Io {
                path: dir.join(super::lock::LOCK_FILE),
                source,
            })?,
            lock: Some(lock),
        };
        writer.rebuild_state()?;
        Ok(writer)
    }

    /// Rebuild the in-memory spend index, UTXO map and script map from the committed dataset.
    fn rebuild_state(&mut self) -> Result<(), StoreError> {
        let counts = self.manifest.counts;
        let dir = self.dir.clone();
        let first_in = MappedColumn::<u64>::open(&dir, CacheColumn::TxFirstIn, counts.txs)?;
        let prev_out = MappedColumn::<u64>::open(&dir, CacheColumn::InPrevOut, counts.inputs)?;
        self.spent_by = vec![TxIx::NONE.0; counts.outputs as usize];
        let first_in = first_in.as_slice();
        for (tx, &start) in first_in.iter().enumerate() {
            let end = first_in.get(tx + 1).copied().unwrap_or(counts.inputs);
            for &out in &prev_out.as_slice()[start as usize..end as usize] {
                if out != OutIx::NONE.0 {
                    self.spent_by[out as usize] = tx as u32;
                }
            }
        }
        // Chunks whose stored spent_by differs (patched by an interrupted run) must be rewritten.
        let stored = MappedColumn::<u32>::open(&dir, CacheColumn::OutSpentBy, counts.outputs)?;
        for (chunk, (a, b)) in stored
            .as_slice()
            .chunks(CHUNK)
            .zip(self.spent_by.chunks(CHUNK))
            .enumerate()
        {
            if a != b {
                self.dirty_chunks.insert(chunk);
            }
        }
        // Scripts: the intern map (over the cache's scripts) and which are unspendable.
        self.scripts = ScriptInterner::open(&dir, counts.scripts)?;
        let flags = MappedColumn::<u8>::open(&dir, CacheColumn::ScriptFlags, counts.scripts)?;
        self.unspendable_scripts = flags.as_slice().iter().map(|&f| f & 1 != 0).collect();
        // UTXO map: transactions with unspent spendable outputs.
        let txids = MappedColumn::<[u8; 32]>::open(&dir, CacheColumn::Txid, counts.txs)?;
        let out_script = MappedColumn::<u32>::open(&dir, CacheColumn::OutScript, counts.outputs)?;
        let first_outs = self.first_outs.committed.as_slice();
        for (tx, display) in txids.as_slice().iter().enumerate() {
            let start = first_outs[tx] as usize;
            let end = first_outs
                .get(tx + 1)
                .map_or(counts.outputs as usize, |&e| e as usize);
            let remaining = (start..end)
                .filter(|&o| {
                    self.spent_by[o] == TxIx::NONE.0
                        && !self.unspendable_scripts[out_script.as_slice()[o] as usize]
                })
                .count() as u32;
            // As in push_block: a later duplicate txid (BIP30) replaces the earlier one, also
            // when it has nothing left to spend.
            let txid = txid_from_display(display);
            if remaining > 0 {
                self.utxo.insert(
                    txid,
                    Unspent {
                        tx: TxIx(tx as u32),
                        remaining,
                    },
                );
            } else {
                self.utxo.remove(&txid);
            }
        }
        Ok(())
    }

    /// Expect about `block_bytes` of blocks to be stored: size the script index and the UTXO map
    /// for them now (estimated from typical densities, capped), instead of rehashing them each
    /// time they double. A hint: nothing depends on it but speed.
    pub fn expect_block_bytes(&mut self, block_bytes: u64) {
        // About one new script per 128 bytes of blocks and one transaction per 400 (a payments
        // load has 143 and 343; a full chain's blocks are denser), of which the UTXO map holds
        // a fraction.
        self.reserve(block_bytes / 128, block_bytes / 400 / 2);
    }

    /// Expect about `txs` transactions to be stored (when the blocks' size is not known, as
    /// over RPC): like [`Self::expect_block_bytes`], with about 2.5 new scripts per
    /// transaction (a payments load has 2.4) and half the transactions in the UTXO map.
    pub fn expect_txs(&mut self, txs: u64) {
        self.reserve(txs.saturating_mul(5) / 2, txs / 2);
    }

    /// Room for `scripts` more scripts and a UTXO map of `unspent` transactions, capped so a
    /// full-chain run does not claim gigabytes up front.
    fn reserve(&mut self, scripts: u64, unspent: u64) {
        self.scripts.reserve(scripts.min(1 << 25) as usize);
        let unspent = unspent.min(1 << 22) as usize;
        self.utxo.reserve(unspent.saturating_sub(self.utxo.len()));
    }

    /// The next height this dataset expects.
    pub fn next_height(&self) -> u32 {
        self.tip.map_or(0, |(height, _)| height + 1)
    }

    /// Let other processes use the dataset (a trace reads it) until [`Self::retake_lock`]. Only
    /// after a [`Self::checkpoint`], when every file is written.
    pub fn release_lock(&mut self) {
        debug_assert!(self.pending.is_none(), "a checkpoint comes first");
        self.lock = None;
    }

    /// Take the dataset's lock again after [`Self::release_lock`]: `Ok(false)` when another
    /// writer (an ingest, a rollback, even one killed half-way) held the dataset meanwhile, so
    /// this writer's state may be stale: it must be dropped and the dataset reopened, which
    /// recovers. An error when another process holds the dataset now.
    pub fn retake_lock(&mut self) -> Result<bool, StoreError> {
        if self.lock.is_none() {
            let lock = super::lock::relock(&self.dir)?;
            let token = super::lock::token(&lock).map_err(|source| StoreError::Io {
                path: self.dir.join(super::lock::LOCK_FILE),
                source,
            })?;
            self.lock = Some(lock);
            if token != self.lock_token {
                return Ok(false);
            }
        }
        Ok(Manifest::read(&self.dir)?.is_some_and(|m| m == self.manifest))
    }

    /// What this writer added since its last checkpoint (partitions committed so far included).
    pub fn added(&self) -> Added {
        self.added
    }

    /// Height and hash of the last block stored.
    pub fn tip(&self) -> Option<(u32, bitcoin::BlockHash)> {
        self.tip
    }

    /// The committed manifest.
    pub fn manifest(&self) -> &Manifest {
        &self.manifest
    }

    /// Append the block at `height` (which must be [`Self::next_height`]); commits a partition
    /// when it is full.
    pub fn push_block(&mut self, height: u32, block: &ParsedBlock) -> Result<(), StoreError> {
        if self.failed {
            return Err(StoreError::Failed);
        }
        let pushed = self.push_block_unchecked(height, block);
        self.failed = pushed.is_err();
        pushed
    }

    fn push_block_unchecked(&mut self, height: u32, block: &ParsedBlock) -> Result<(), StoreError> {
        assert_eq!(
            height,
            self.next_height(),
            "blocks are pushed in height order"
        );
        if let Some((_, tip)) = self.tip {
            if block.prev_hash != tip {
                return Err(StoreError::NotConnected {
                    height,
                    hash: block.hash.to_string(),
                    prev: block.prev_hash.to_string(),
                    tip: tip.to_string(),
                });
            }
        }
        let next = self.next;
        let dir = &self.dir;
        let pending = self
            .pending
            .get_or_insert_with(|| Pending::new(dir, height, next));
        pending.end_height = height;
        let first_tx = self.next.txs;
        let (mut warm_in, mut warm_out, mut warm_tx) = (0, 0, 0);
        for (i, tx) in block.txs().enumerate() {
            // The UTXO map's slots the next transactions will be inserted into.
            if i >= warm_tx {
                let to = (warm_tx + WARM_AHEAD).min(block.txids.len());
                for txid in &block.txids[warm_tx..to] {
                    std::hint::black_box(self.utxo.get(txid));
                }
                warm_tx = to;
            }
            // Warm what this and the next inputs and outputs will read, a run at a time (see
            // `warm_inputs` and `ScriptInterner::warm`).
            if block.input_ends[i] as usize > warm_in {
                let to = (block.input_ends[i] as usize)
                    .max(warm_in + WARM_AHEAD)
                    .min(block.prevouts.len());
                let values = Values {
                    committed: self.committed_values.as_slice(),
                    pending: &pending.out_value,
                    pending_from: pending.first.outputs as usize,
                };
                warm_inputs(
                    &self.utxo,
                    &self.first_outs,
                    &self.spent_by,
                    &values,
                    &block.prevouts[warm_in..to],
                );
                warm_in = to;
            }
            if block.output_ends[i] as usize > warm_out {
                let to = (block.output_ends[i] as usize)
                    .max(warm_out + WARM_AHEAD)
                    .min(block.values.len());
                for o in warm_out..to {
                    let output = block.output(o);
                    self.scripts.warm(output.script, output.script_hash);
                }
                warm_out = to;
            }
            let tx_ix =
                u32::try_from(self.next.txs).map_err(|_| StoreError::IdOverflow("transaction"))?;
            if tx_ix == TxIx::NONE.0 {
                return Err(StoreError::IdOverflow("transaction"));
            }
            let first_in = self.next.inputs;
            let first_out = self.next.outputs;
            let mut input_sum: u128 = 0;
            for (pos, prevout) in tx.inputs().iter().enumerate() {
                pending.inputs.in_ix.push(self.next.inputs);
                pending.inputs.tx_ix.push(tx_ix);
                pending.inputs.pos.push(pos as u32);
                self.next.inputs += 1;
                let Some((prev_txid, vout)) = *prevout else {
                    pending.inputs.prev_out.push(None);
                    continue;
                };
                let unknown = || StoreError::UnknownPrevout {
                    height,
                    hash: block.hash.to_string(),
                    txid: tx.txid(),
                    pos: pos as u32,
                    prev_txid,
                    vout,
                };
                let entry = self.utxo.get_mut(&prev_txid).ok_or_else(unknown)?;
                let funding = entry.tx.index();
                let start = self.first_outs.get(funding).ok_or_else(unknown)?;
                let end = self
                    .first_outs
                    .get(funding + 1)
                    .unwrap_or(self.next.outputs);
                let out = start + vout as u64;
                if out >= end || self.spent_by[out as usize] != TxIx::NONE.0 {
                    return Err(unknown());
                }
                self.spent_by[out as usize] = tx_ix;
                entry.remaining -= 1;
                if entry.remaining == 0 {
                    self.utxo.remove(&prev_txid);
                }
                let value = if out >= pending.first.outputs {
                    pending.out_value[(out - pending.first.outputs) as usize]
                } else {
                    self.dirty_chunks.insert(out as usize / CHUNK);
                    self.committed_values.as_slice()[out as usize]
                };
                input_sum += value as u128;
                pending.inputs.prev_out.push(Some(out));
            }
            let mut output_sum: u128 = 0;
            let mut spendable = 0u32;
            for output in tx.outputs() {
                output_sum += output.value as u128;
                let (ScriptId(script_id), new) = self
                    .scripts
                    .intern(output.script, output.script_hash)
                    .ok_or_else(|| StoreError::IdOverflow("script"))?;
                // From the bytes at hand (the flag of `script_id` says the same, at the cost of
                // a random read when the script is an old one).
                let unspendable = is_unspendable(output.script);
                if new {
                    self.unspendable_scripts.push(unspendable);
                    pending.new_script_first_tx.push(tx_ix);
                    self.next.scripts += 1;
                }
                if !unspendable {
                    spendable += 1;
                }
                pending.out_value.push(output.value);
                pending.out_script.push(script_id);
                self.spent_by.push(TxIx::NONE.0);
                self.next.outputs += 1;
            }
            let coinbase = tx.is_coinbase();
            let fee = if coinbase {
                None
            } else if input_sum < output_sum {
                return Err(StoreError::ValueCreated {
                    height,
                    txid: tx.txid(),
                    inputs: input_sum,
                    outputs: output_sum,
                });
            } else {
                // More than u64 of fee only exists in forged data: saturate, never wrap.
                Some(u64::try_from(input_sum - output_sum).unwrap_or(u64::MAX))
            };
            // A duplicate txid (BIP30, mainnet heights 91842 and 91880) replaces the older
            // transaction, whose outputs become unspendable, as in Bitcoin Core.
            if spendable > 0 {
                self.utxo.insert(
                    tx.txid(),
                    Unspent {
                        tx: TxIx(tx_ix),
                        remaining: spendable,
                    },
                );
            } else {
                self.utxo.remove(&tx.txid());
            }
            self.first_outs.pending.push(first_out);
            let t = &mut pending.txs;
            t.tx_ix.push(tx_ix);
            t.txid.push(display_bytes(&tx.txid()));
            t.height.push(height);
            t.first_out.push(first_out);
            t.first_in.push(first_in);
            t.n_in.push(tx.inputs().len() as u32);
            t.n_out.push(tx.outputs().len() as u32);
            t.fee.push(fee);
            t.coinbase.push(coinbase);
            t.segwit.push(tx.segwit());
            self.next.txs += 1;
        }
        let b = &mut pending.blocks;
        b.height.push(height);
        b.hash.push(block.hash.to_byte_array_display());
        b.prev_hash.push(block.prev_hash.to_byte_array_display());
        b.time.push(block.time);
        b.first_tx.push(first_tx as u32);
        b.tx_count.push(block.tx_count() as u32);
        b.size.push(block.size);
        self.next.blocks += 1;
        self.tip = Some((height, block.hash));
        let full = (self.next.txs - pending.first.txs) >= self.policy.max_txs
            || (self.next.blocks - pending.first.blocks) >= self.policy.max_blocks as u64;
        if full {
            self.commit()?;
        } else if pending.txs.tx_ix.len() >= SEND_ROWS || pending.inputs.in_ix.len() >= SEND_ROWS {
            self.send_to_encoders()?;
        }
        Ok(())
    }

    /// Commit the pending partition (if any) and rewrite what it made dirty. Idempotent. After
    /// an error the writer refuses to go on (the dataset keeps its last commit).
    pub fn commit(&mut self) -> Result<(), StoreError> {
        if self.failed {
            return Err(StoreError::Failed);
        }
        let committed = self.commit_unchecked();
        self.failed = committed.is_err();
        committed
    }

    fn commit_unchecked(&mut self) -> Result<(), StoreError> {
        if self.pending.is_none() && self.dirty_chunks.is_empty() {
            return Ok(());
        }
        let started = std::time::Instant::now();
        self.send_to_encoders()?;
        let pending = self.pending.take();
        // 1. The binary cache: the new rows went there with their hand-off to the encoders
        //    (above); spent_by of older outputs, and the new outputs' spent_by, now.
        let committed_outputs = self.manifest.counts.outputs as usize;
        for chunk in self.dirty_chunks.iter() {
            let start = chunk * CHUNK;
            let end = ((chunk + 1) * CHUNK).min(committed_outputs);
            if start < end {
                self.cache.write_rows_at(
                    CacheColumn::OutSpentBy,
                    start as u64,
                    as_bytes(&self.spent_by[start..end]),
                )?;
            }
        }
        if let Some(p) = &pending {
            let new = &self.spent_by[p.first.outputs as usize..self.next.outputs as usize];
            self.cache
                .write_rows_at(CacheColumn::OutSpentBy, p.first.outputs, as_bytes(new))?;
        }
        self.cache.sync()?;
        tracing::debug!(elapsed = ?started.elapsed(), "cache written");
        // 2. Parquet: the new partition's immutable tables; its outputs table, and that of every
        //    older partition whose outputs it spent, is marked stale until `finish` writes it.
        let mut manifest = self.manifest.clone();
        for part in manifest.partitions.iter_mut() {
            let (start, end) = (
                part.first.outputs as usize,
                (part.first.outputs + part.rows.outputs) as usize,
            );
            if end > start && self.dirty_chunks.any_in(start / CHUNK, (end - 1) / CHUNK) {
                part.files[OUTPUTS_SLOT].stale = true;
            }
        }
        if let Some(p) = pending {
            let partition = self.write_partition(p)?;
            manifest.partitions.push(partition);
        }
        tracing::debug!(elapsed = ?started.elapsed(), "parquet written");
        // 3. The manifest, last.
        manifest.counts = self.next;
        manifest.tip = self.tip.map(|(height, hash)| Tip {
            height,
            hash: hash.to_string(),
        });
        self.write_manifest(manifest)?;
        self.dirty_chunks.clear();
        self.committed_values
            .grow(&self.dir, CacheColumn::OutValue, self.next.outputs)?;
        self.first_outs.committed(&self.dir, self.next.txs)?;
        self.scripts.committed(&self.dir, self.next.scripts)?;
        tracing::debug!(elapsed = ?started.elapsed(), tip = ?self.tip, "committed");
        Ok(())
    }

    /// Write the outputs table of every partition marked stale (in parallel), then the manifest.
    fn write_stale_outputs(&mut self) -> Result<(), StoreError> {
        use rayon::prelude::*;
        let stale: Vec<usize> = (0..self.manifest.partitions.len())
            .filter(|&i| self.manifest.partitions[i].files[OUTPUTS_SLOT].stale)
            .collect();
        if stale.is_empty() {
            return Ok(());
        }
        let started = std::time::Instant::now();
        let first = self.manifest.partitions[stale[0]].first;
        let positions = self.spent_positions(first)?;
        tracing::debug!(elapsed = ?started.elapsed(), "spent_in_pos found");
        let written = stale
            .par_iter()
            .map(|&i| {
                let part = &self.manifest.partitions[i];
                self.write_outputs(part, &positions)
            })
            .collect::<Result<Vec<_>, _>>()?;
        let mut manifest = self.manifest.clone();
        for (i, file) in stale.into_iter().zip(written) {
            manifest.partitions[i].files[OUTPUTS_SLOT] = file;
        }
        self.write_manifest(manifest)?;
        tracing::debug!(elapsed = ?started.elapsed(), "stale outputs tables written");
        Ok(())
    }

    fn write_manifest(&mut self, manifest: Manifest) -> Result<(), StoreError> {
        let path = self.dir.join(MANIFEST_FILE);
        write_atomic(&path, manifest.to_json().as_bytes()).map_err(io_err(&path))?;
        self.manifest = manifest;
        Ok(())
    }

    /// Hand the rows stored since the last call to the open partition's encoders, and the
    /// scripts interned since then to the scripts encoder, which renders their addresses; their
    /// cache rows (all but `spent_by`) are appended now, and the OS asked to write them out.
    /// Ingest calls this after each batch of blocks; the writer calls it when enough rows wait,
    /// and before a commit.
    pub fn send_to_encoders(&mut self) -> Result<(), StoreError> {
        let sent = self.send_to_encoders_unchecked();
        if sent.is_err() {
            self.failed = true;
        }
        sent
    }

    fn send_to_encoders_unchecked(&mut self) -> Result<(), StoreError> {
        if self.failed {
            return Err(StoreError::Failed);
        }
        let Some(p) = self.pending.as_mut() else {
            return Ok(());
        };
        let start = p.start_height;
        let failed = |table: &'static str| {
            move |source: StreamError| StoreError::Encode {
                table,
                start,
                source,
            }
        };
        if !p.txs.tx_ix.is_empty() || !p.blocks.height.is_empty() {
            let blocks = std::mem::take(&mut p.blocks);
            let txs = std::mem::take(&mut p.txs);
            let inputs = std::mem::take(&mut p.inputs);
            let c = &mut self.cache;
            c.append(CacheColumn::BlockHash, as_bytes(&blocks.hash))?;
            c.append(CacheColumn::BlockTime, as_bytes(&blocks.time))?;
            c.append(CacheColumn::BlockFirstTx, as_bytes(&blocks.first_tx))?;
            c.append(CacheColumn::Txid, as_bytes(&txs.txid))?;
            c.append(CacheColumn::TxFirstOut, as_bytes(&txs.first_out))?;
            c.append(CacheColumn::TxFirstIn, as_bytes(&txs.first_in))?;
            c.append(CacheColumn::TxHeight, as_bytes(&txs.height))?;
            let prev: Vec<u64> = inputs
                .prev_out
                .iter()
                .map(|o| o.unwrap_or(OutIx::NONE.0))
                .collect();
            c.append(CacheColumn::InPrevOut, as_bytes(&prev))?;
            p.streams.blocks.send(blocks).map_err(failed("blocks"))?;
            p.streams.txs.send(txs).map_err(failed("txs"))?;
            p.streams.inputs.send(inputs).map_err(failed("inputs"))?;
        }
        // Outputs: kept in memory until the commit (inputs look their values up), cached now.
        let c = &mut self.cache;
        c.append(
            CacheColumn::OutValue,
            as_bytes(&p.out_value[p.cached_outputs..]),
        )?;
        c.append(
            CacheColumn::OutScript,
            as_bytes(&p.out_script[p.cached_outputs..]),
        )?;
        p.cached_outputs = p.out_value.len();
        let (from, to) = (self.scripts_sent_upto, self.next.scripts);
        if from < to {
            let mut script_bytes = Vec::new();
            let mut script_ends = Vec::with_capacity((to - from) as usize);
            for id in from..to {
                script_bytes.extend_from_slice(self.scripts.get(ScriptId(id as u32)));
                script_ends.push(script_bytes.len());
            }
            let base = match from {
                0 => 0,
                _ => self.scripts.end_of(ScriptId(from as u32 - 1)),
            };
            let ends: Vec<u64> = script_ends.iter().map(|&e| base + e as u64).collect();
            let flags: Vec<u8> = self.unspendable_scripts[from as usize..to as usize]
                .iter()
                .map(|&u| u as u8)
                .collect();
            c.append(CacheColumn::ScriptFlags, &flags)?;
            c.append(CacheColumn::ScriptEnd, as_bytes(&ends))?;
            c.append(CacheColumn::ScriptBytes, &script_bytes)?;
            let first_tx = std::mem::take(&mut p.new_script_first_tx);
            debug_assert_eq!(first_tx.len(), script_ends.len());
            let run = ScriptRun {
                chain: self.chain,
                first_id: from as u32,
                script_bytes,
                script_ends,
                first_tx,
            };
            p.streams.scripts.send(run).map_err(failed("scripts"))?;
            self.scripts_sent_upto = to;
        }
        self.cache.start_writeback();
        Ok(())
    }

    fn write_partition(&mut self, p: Pending) -> Result<Partition, StoreError> {
        let (start, end) = (p.start_height, p.end_height);
        let rows = Counts {
            blocks: self.next.blocks - p.first.blocks,
            txs: self.next.txs - p.first.txs,
            outputs: self.next.outputs - p.first.outputs,
            inputs: self.next.inputs - p.first.inputs,
            scripts: self.next.scripts - p.first.scripts,
        };
        let t0 = std::time::Instant::now();
        let streams = p.streams;
        let dir = self.dir.clone();
        let commit = |table: &'static str, file: Result<StreamedFile, StreamError>| {
            let file = file.map_err(|source| StoreError::Encode {
                table,
                start,
                source,
            })?;
            tracing::debug!(table, waited = ?t0.elapsed(), bytes = file.bytes, "table streamed");
            Ok::<_, StoreError>(PartitionFile {
                table: table.to_string(),
                path: partition_path(table, start, end),
                bytes: file.bytes,
                sha256: file.sha256,
                stale: false,
            })
        };
        let path = |table: &str| dir.join(partition_path(table, start, end));
        let mut files = vec![
            commit("blocks", streams.blocks.commit(&path("blocks")))?,
            commit("txs", streams.txs.commit(&path("txs")))?,
            commit("inputs", streams.inputs.commit(&path("inputs")))?,
            commit("scripts", streams.scripts.commit(&path("scripts")))?,
        ];
        // The outputs table changes with every later spend: written by `finish`.
        let outputs = PartitionFile {
            table: "outputs".into(),
            path: partition_path("outputs", start, end),
            bytes: 0,
            sha256: String::new(),
            stale: true,
        };
        files.insert(OUTPUTS_SLOT, outputs);
        debug_assert!(files.iter().map(|f| f.table.as_str()).eq(TABLES));
        self.added.partitions += 1;
        add_counts(&mut self.added.rows, &rows);
        Ok(Partition {
            start_height: start,
            end_height: end,
            first: p.first,
            rows,
            files,
        })
    }

    /// The input position spending each output from `first.outputs` on (`u32::MAX` while
    /// unspent), found in one pass over the committed inputs from `first.txs` on: the writer
    /// does not keep it while blocks are stored (4 bytes per output).
    fn spent_positions(&self, first: Counts) -> Result<SpentPositions, StoreError> {
        let counts = self.manifest.counts;
        let first_in = MappedColumn::<u64>::open(&self.dir, CacheColumn::TxFirstIn, counts.txs)?;
        let prev_out = MappedColumn::<u64>::open(&self.dir, CacheColumn::InPrevOut, counts.inputs)?;
        let (first_in, prev_out) = (first_in.as_slice(), prev_out.as_slice());
        let mut pos = vec![u32::MAX; (counts.outputs - first.outputs) as usize];
        for tx in first.txs as usize..first_in.len() {
            let start = first_in[tx] as usize;
            let end = first_in.get(tx + 1).map_or(prev_out.len(), |&e| e as usize);
            for (p, &out) in prev_out[start..end].iter().enumerate() {
                if out != OutIx::NONE.0 && out >= first.outputs {
                    pos[(out - first.outputs) as usize] = p as u32;
                }
            }
        }
        Ok(SpentPositions {
            from: first.outputs,
            pos,
        })
    }

    /// Write the outputs table of a partition (rebuilt from the cache and the spend index).
    fn write_outputs(
        &self,
        part: &Partition,
        positions: &SpentPositions,
    ) -> Result<PartitionFile, StoreError> {
        let t0 = std::time::Instant::now();
        let batch = self
            .outputs_table(part.first, part.rows, positions)?
            .into_batch();
        tracing::debug!(elapsed = ?t0.elapsed(), "outputs table built");
        self.write_table("outputs", part.start_height, part.end_height, batch)
    }

    /// Build the outputs table of a partition from the cache and the in-memory spend index.
    fn outputs_table(
        &self,
        first: Counts,
        rows: Counts,
        positions: &SpentPositions,
    ) -> Result<OutputsTable, StoreError> {
        let (o0, o1) = (first.outputs, first.outputs + rows.outputs);
        let values = MappedColumn::<u64>::open(&self.dir, CacheColumn::OutValue, o1)?;
        let scripts = MappedColumn::<u32>::open(&self.dir, CacheColumn::OutScript, o1)?;
        // The columns are independent: built on both cores (this is the serial tail of ingest).
        let creating_txs = || {
            let mut tx_ix = Vec::with_capacity(rows.outputs as usize);
            let mut vout = Vec::with_capacity(rows.outputs as usize);
            for tx in first.txs..first.txs + rows.txs {
                let a = self.first_outs.get(tx as usize).expect("committed");
                let b = self
                    .first_outs
                    .get(tx as usize + 1)
                    .unwrap_or(self.next.outputs);
                tx_ix.extend(std::iter::repeat_n(tx as u32, (b - a) as usize));
                vout.extend(0..(b - a) as u32);
            }
            (tx_ix, vout)
        };
        let spent = || {
            let spent_by = self.spent_by[o0 as usize..o1 as usize]
                .iter()
                .map(|&s| (s != TxIx::NONE.0).then_some(s))
                .collect();
            let spent_in_pos = positions.pos
                [(o0 - positions.from) as usize..(o1 - positions.from) as usize]
                .iter()
                .map(|&s| (s != u32::MAX).then_some(s))
                .collect();
            (spent_by, spent_in_pos)
        };
        let copied = || {
            (
                (o0..o1).collect(),
                values.as_slice()[o0 as usize..].to_vec(),
                scripts.as_slice()[o0 as usize..].to_vec(),
            )
        };
        let ((tx_ix, vout), ((spent_by, spent_in_pos), (out_ix, value, script_id))) =
            rayon::join(creating_txs, || rayon::join(spent, copied));
        Ok(OutputsTable {
            out_ix,
            tx_ix,
            vout,
            value,
            script_id,
            spent_by,
            spent_in_pos,
        })
    }

    fn write_table(
        &self,
        table: &'static str,
        start: u32,
        end: u32,
        batch: arrow::array::RecordBatch,
    ) -> Result<PartitionFile, StoreError> {
        let t0 = std::time::Instant::now();
        let rel = partition_path(table, start, end);
        let file = write_parquet_atomic(&self.dir.join(&rel), &batch).map_err(|source| {
            StoreError::Encode {
                table,
                start,
                source,
            }
        })?;
        tracing::debug!(table, elapsed = ?t0.elapsed(), bytes = file.bytes, "table written");
        Ok(PartitionFile {
            table: table.to_string(),
            path: rel,
            bytes: file.bytes,
            sha256: file.sha256,
            stale: false,
        })
    }

    /// Commit what is pending and bring every outputs table up to date, keeping the writer open
    /// for more blocks (`ingest --rpc --follow` between polls); returns the manifest and what was
    /// added since the previous checkpoint.
    pub fn checkpoint(&mut self) -> Result<(Manifest, Added), StoreError> {
        self.commit()?;
        let written = self.write_stale_outputs();
        self.failed = written.is_err();
        written?;
        Ok((self.manifest.clone(), std::mem::take(&mut self.added)))
    }

    /// Commit what is pending, bring every outputs table up to date, and return what this
    /// writer added (since its last checkpoint).
    pub fn finish(mut self) -> Result<(Manifest, Added), StoreError> {
        self.commit()?;
        // No block follows: free what only storing blocks needs before the outputs tables.
        self.utxo = Utxo::default();
        self.scripts = ScriptInterner::default();
        self.unspendable_scripts = Vec::new();
        self.write_stale_outputs()?;
        Ok((self.manifest, self.added))
    }
}

fn add_counts(total: &mut Counts, rows: &Counts) {
    total.blocks += rows.blocks;
    total.txs += rows.txs;
    total.outputs += rows.outputs;
    total.inputs += rows.inputs;
    total.scripts += rows.scripts;
}

/// The path of a partition file relative to the dataset: `outputs/part-000000000-000004312.parquet`.
pub fn partition_path(table: &str, start: u32, end: u32) -> String {
    format!("{table}/part-{start:09}-{end:09}.parquet")
}

/// Remove files in table directories that the manifest does not list (left by an interrupted run).
fn remove_uncommitted_files(dir: &Path, manifest: &Manifest) -> Result<(), StoreError> {
    let listed: BTreeSet<&str> = manifest
        .partitions
        .iter()
        .flat_map(|p| p.files.iter().map(|f| f.path.as_str()))
        .collect();
    for table in TABLES {
        let table_dir = dir.join(table);
        let entries = match std::fs::read_dir(&table_dir) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(source) => {
                return Err(StoreError::Io {
                    path: table_dir,
                    source,
                })
            }
        };
        for entry in entries {
            let entry = entry.map_err(io_err(&table_dir))?;
            let rel = format!("{table}/{}", entry.file_name().to_string_lossy());
            if !listed.contains(rel.as_str()) {
                let path = entry.path();
                tracing::info!(file = %path.display(), "removing a file left by an interrupted ingest");
                std::fs::remove_file(&path).map_err(io_err(&path))?;
            }
        }
    }
    let tmp = dir.join(format!(".{MANIFEST_FILE}.tmp"));
    if tmp.exists() {
        std::fs::remove_file(&tmp).map_err(io_err(&tmp))?;
    }
    Ok(())
}

/// Display-order bytes of a hash (as explorers print it).
trait DisplayBytes {
    fn to_byte_array_display(&self) -> Hash32;
}

impl DisplayBytes for bitcoin::BlockHash {
    fn to_byte_array_display(&self) -> Hash32 {
        let mut b = self.to_byte_array();
        b.reverse();
        b
    }
}

/// Display-order bytes of a txid.
pub fn display_bytes(txid: &Txid) -> Hash32 {
    let mut b = txid.to_byte_array();
    b.reverse();
    b
}

/// The txid whose display-order bytes are `display`.
pub fn txid_from_display(display: &Hash32) -> Txid {
    let mut b = *display;
    b.reverse();
    Txid::from_byte_array(b)
}

fn is_unspendable(script: &[u8]) -> bool {
    crate::chain::is_unspendable(script)
}
