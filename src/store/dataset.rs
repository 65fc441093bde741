//! A dataset opened for analysis: the manifest plus memory-mapped flat columns.
//!
//! Every spend look-up is an array read: the outputs of tx `t` are
//! `tx_first_out[t]..tx_first_out[t+1]`, the spender of output `o` is `spent_by[o]`, the output
//! an input spends is `prev_out[i]`. Nothing is loaded until touched.

use std::ops::Range;
use std::path::{Path, PathBuf};

use bitcoin::Txid;

use super::cache::{CacheColumn, CacheError, MappedColumn};
use super::ids::{InIx, OutIx, ScriptId, TxIx};
use super::manifest::{Manifest, ManifestError};
use super::writer::{display_bytes, txid_from_display};

/// Errors opening a dataset.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    /// No manifest in the directory.
    #[error(
        "{0} is not a fundtrace dataset (no manifest.json): run `fundtrace ingest --out {0}` first"
    )]
    Missing(PathBuf),
    /// The manifest is unreadable.
    #[error(transparent)]
    Manifest(#[from] ManifestError),
    /// A cache file is unreadable.
    #[error(transparent)]
    Cache(#[from] CacheError),
    /// An ingest is writing the dataset.
    #[error(transparent)]
    Lock(#[from] super::lock::LockError),
}

/// A dataset opened for analysis.
#[derive(Debug)]
pub struct Dataset {
    dir: PathBuf,
    manifest: Manifest,
    block_hash: MappedColumn<[u8; 32]>,
    block_time: MappedColumn<u32>,
    block_first_tx: MappedColumn<u32>,
    txid: MappedColumn<[u8; 32]>,
    tx_first_out: MappedColumn<u64>,
    tx_first_in: MappedColumn<u64>,
    tx_height: MappedColumn<u32>,
    out_value: MappedColumn<u64>,
    out_script: MappedColumn<u32>,
    out_spent_by: MappedColumn<u32>,
    in_prev_out: MappedColumn<u64>,
    script_flags: MappedColumn<u8>,
    script_end: MappedColumn<u64>,
    script_bytes: MappedColumn<u8>,
    _lock: std::fs::File,
}

/// The columns a walk over the whole graph streams, as plain slices: what [`Dataset`]'s
/// accessors read one value at a time.
#[derive(Debug, Clone, Copy)]
pub struct GraphColumns<'a> {
    /// First input of each transaction (inputs are in transaction order).
    pub tx_first_in: &'a [u64],
    /// First output of each transaction.
    pub tx_first_out: &'a [u64],
    /// The output each input spends ([`OutIx::NONE`] for a coinbase input).
    pub in_prev_out: &'a [u64],
    /// Value of each output.
    pub out_value: &'a [u64],
    /// The transaction spending each output (a value at or past the transaction count while
    /// unspent).
    pub out_spent_by: &'a [u32],
    /// Script of each output.
    pub out_script: &'a [u32],
}

impl GraphColumns<'_> {
    /// The inputs of transaction `tx` as a range of input indices.
    #[inline]
    pub fn inputs(&self, tx: usize) -> std::ops::Range<usize> {
        let end = self
            .tx_first_in
            .get(tx + 1)
            .map_or(self.in_prev_out.len(), |&e| e as usize);
        self.tx_first_in[tx] as usize..end
    }

    /// The outputs of transaction `tx` as a range of output indices.
    #[inline]
    pub fn outputs(&self, tx: usize) -> std::ops::Range<usize> {
        let end = self
            .tx_first_out
            .get(tx + 1)
            .map_or(self.out_value.len(), |&e| e as usize);
        self.tx_first_out[tx] as usize..end
    }
}

impl Dataset {
    /// Open the dataset in `dir`.
    pub fn open(dir: &Path) -> Result<Dataset, OpenError> {
        let manifest = Manifest::read(dir)?.ok_or_else(|| OpenError::Missing(dir.to_path_buf()))?;
        let lock = super::lock::lock(dir, super::lock::Mode::Shared)?;
        let c = manifest.counts;
        let script_end: MappedColumn<u64> =
            MappedColumn::open(dir, CacheColumn::ScriptEnd, c.scripts)?;
        let script_bytes_len = script_end.as_slice().last().copied().unwrap_or(0);
        Ok(Dataset {
            dir: dir.to_path_buf(),
            block_hash: MappedColumn::open(dir, CacheColumn::BlockHash, c.blocks)?,
            block_time: MappedColumn::open(dir, CacheColumn::BlockTime, c.blocks)?,
            block_first_tx: MappedColumn::open(dir, CacheColumn::BlockFirstTx, c.blocks)?,
            txid: MappedColumn::open(dir, CacheColumn::Txid, c.txs)?,
            tx_first_out: MappedColumn::open(dir, CacheColumn::TxFirstOut, c.txs)?,
            tx_first_in: MappedColumn::open(dir, CacheColumn::TxFirstIn, c.txs)?,
            tx_height: MappedColumn::open(dir, CacheColumn::TxHeight, c.txs)?,
            out_value: MappedColumn::open(dir, CacheColumn::OutValue, c.outputs)?,
            out_script: MappedColumn::open(dir, CacheColumn::OutScript, c.outputs)?,
            out_spent_by: MappedColumn::open(dir, CacheColumn::OutSpentBy, c.outputs)?,
            in_prev_out: MappedColumn::open(dir, CacheColumn::InPrevOut, c.inputs)?,
            script_flags: MappedColumn::open(dir, CacheColumn::ScriptFlags, c.scripts)?,
            script_bytes: MappedColumn::open(dir, CacheColumn::ScriptBytes, script_bytes_len)?,
            script_end,
            manifest,
            _lock: lock,
        })
    }

    /// The bytes of script `s` (from the memory-mapped cache); `None` for an id past the
    /// dataset's scripts or when the cache's script ends are damaged.
    pub fn script(&self, s: ScriptId) -> Option<&[u8]> {
        let ends = self.script_end.as_slice();
        let end = *ends.get(s.index())?;
        let start = match s.index() {
            0 => 0,
            i => ends[i - 1],
        };
        self.script_bytes
            .as_slice()
            .get(usize::try_from(start).ok()?..usize::try_from(end).ok()?)
    }

    /// The graph's columns as slices, for walks that stream them.
    pub fn graph_columns(&self) -> GraphColumns<'_> {
        GraphColumns {
            tx_first_in: self.tx_first_in.as_slice(),
            tx_first_out: self.tx_first_out.as_slice(),
            in_prev_out: self.in_prev_out.as_slice(),
            out_value: self.out_value.as_slice(),
            out_spent_by: self.out_spent_by.as_slice(),
            out_script: self.out_script.as_slice(),
        }
    }

    /// The dataset directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The manifest.
    pub fn manifest(&self) -> &Manifest {
        &self.manifest
    }

    /// Number of blocks.
    pub fn block_count(&self) -> u32 {
        self.manifest.counts.blocks as u32
    }

    /// Number of transactions.
    pub fn tx_count(&self) -> u32 {
        self.manifest.counts.txs as u32
    }

    /// Number of outputs.
    pub fn output_count(&self) -> u64 {
        self.manifest.counts.outputs
    }

    /// Number of inputs (coinbase inputs included).
    pub fn input_count(&self) -> u64 {
        self.manifest.counts.inputs
    }

    /// Hash of the block at `height` (display-order bytes).
    pub fn block_hash(&self, height: u32) -> [u8; 32] {
        self.block_hash.as_slice()[height as usize]
    }

    /// Header time of the block at `height`.
    pub fn block_time(&self, height: u32) -> u32 {
        self.block_time.as_slice()[height as usize]
    }

    /// Transactions of the block at `height`.
    pub fn block_txs(&self, height: u32) -> Range<TxIx> {
        let first = self.block_first_tx.as_slice();
        let start = first[height as usize];
        let end = first
            .get(height as usize + 1)
            .copied()
            .unwrap_or(self.tx_count());
        TxIx(start)..TxIx(end)
    }

    /// The txid of `tx`.
    pub fn txid(&self, tx: TxIx) -> Txid {
        txid_from_display(&self.txid.as_slice()[tx.index()])
    }

    /// Append `tx`'s txid as the 64 hex digits explorers show (`txid(tx).to_string()`) to
    /// `out`: exports write millions straight into their string column.
    pub fn push_txid_hex(&self, tx: TxIx, out: &mut impl std::fmt::Write) {
        crate::chain::push_hex(out, &self.txid.as_slice()[tx.index()]);
    }

    /// Height of the block holding `tx`.
    pub fn tx_height(&self, tx: TxIx) -> u32 {
        self.tx_height.as_slice()[tx.index()]
    }

    /// The outputs of `tx`.
    pub fn tx_outputs(&self, tx: TxIx) -> Range<OutIx> {
        let r = self.graph_columns().outputs(tx.index());
        OutIx(r.start as u64)..OutIx(r.end as u64)
    }

    /// The inputs of `tx`.
    pub fn tx_inputs(&self, tx: TxIx) -> Range<InIx> {
        let r = self.graph_columns().inputs(tx.index());
        InIx(r.start as u64)..InIx(r.end as u64)
    }

    /// True for a coinbase transaction.
    pub fn is_coinbase(&self, tx: TxIx) -> bool {
        let inputs = self.tx_inputs(tx);
        inputs.end.0 - inputs.start.0 == 1 && self.prev_out(inputs.start).is_none()
    }

    /// Value of an output in base units.
    pub fn value(&self, out: OutIx) -> u64 {
        self.out_value.as_slice()[out.0 as usize]
    }

    /// Script of an output.
    pub fn script_id(&self, out: OutIx) -> ScriptId {
        ScriptId(self.out_script.as_slice()[out.0 as usize])
    }

    /// True when `out` pays an unspendable script (OP_RETURN or oversized): its value is burned.
    pub fn is_unspendable(&self, out: OutIx) -> bool {
        self.script_flags.as_slice()[self.script_id(out).index()] & 1 != 0
    }

    /// Number of distinct scripts.
    pub fn script_count(&self) -> u64 {
        self.manifest.counts.scripts
    }

    /// The transaction spending `out`, or `None` while it is unspent at the tip.
    pub fn spent_by(&self, out: OutIx) -> Option<TxIx> {
        let s = self.out_spent_by.as_slice()[out.0 as usize];
        // Values past the committed transactions can only come from an interrupted ingest.
        (s < self.tx_count()).then_some(TxIx(s))
    }

    /// Ask the CPU to start loading the values of the outputs `tx` spends, so that visiting it
    /// a little later does not wait on memory (a walk prefetches a few transactions ahead). A
    /// hint only: no effect on results.
    pub fn prefetch_input_values(&self, tx: TxIx) {
        let prev = self.in_prev_out.as_slice();
        let values = self.out_value.as_slice();
        let inputs = self.tx_inputs(tx);
        for i in inputs.start.0..inputs.end.0 {
            if let Some(v) = values.get(prev[i as usize] as usize) {
                prefetch(v);
            }
        }
    }

    /// The output that input `input` spends, or `None` for a coinbase input.
    pub fn prev_out(&self, input: InIx) -> Option<OutIx> {
        let o = self.in_prev_out.as_slice()[input.0 as usize];
        (o != OutIx::NONE.0).then_some(OutIx(o))
    }

    /// The transaction that created `out` (binary search over `tx_first_out`).
    pub fn out_tx(&self, out: OutIx) -> TxIx {
        let first = self.tx_first_out.as_slice();
        // The last tx whose first output is ≤ out (every valid tx has at least one output).
        let ix = first.partition_point(|&f| f <= out.0);
        TxIx((ix - 1) as u32)
    }

    /// Position of `out` among its transaction's outputs.
    pub fn vout(&self, out: OutIx) -> u32 {
        (out.0 - self.tx_outputs(self.out_tx(out)).start.0) as u32
    }

    /// The input position at which `out` is spent, if it is.
    pub fn spent_in_pos(&self, out: OutIx) -> Option<u32> {
        let spender = self.spent_by(out)?;
        let inputs = self.tx_inputs(spender);
        (inputs.start.0..inputs.end.0)
            .position(|i| self.prev_out(InIx(i)) == Some(out))
            .map(|p| p as u32)
    }

    /// Find a transaction by txid (a parallel scan of the txid column); for a BIP30 duplicate,
    /// the latest transaction.
    pub fn find_txid(&self, txid: &Txid) -> Option<TxIx> {
        use rayon::prelude::*;
        let wanted = display_bytes(txid);
        self.txid
            .as_slice()
            .par_iter()
            .position_last(|t| *t == wanted)
            .map(|i| TxIx(i as u32))
    }

    /// Find many transactions by txid in one parallel scan of the txid column.
    pub fn find_txids(&self, txids: &[Txid]) -> std::collections::HashMap<Txid, TxIx> {
        use rayon::prelude::*;
        let wanted: std::collections::HashSet<[u8; 32]> = txids.iter().map(display_bytes).collect();
        if wanted.is_empty() {
            return Default::default();
        }
        self.txid
            .as_slice()
            .par_iter()
            .enumerate()
            .filter(|(_, t)| wanted.contains(*t))
            .map(|(i, t)| (txid_from_display(t), TxIx(i as u32)))
            .collect::<Vec<_>>()
            .into_iter()
            .collect() // in chain order: a BIP30 duplicate txid maps to its latest transaction
    }

    /// All outputs paying to any of `scripts` (sorted ids), in `OutIx` order.
    pub fn outputs_of_scripts(&self, scripts: &[ScriptId]) -> Vec<OutIx> {
        use rayon::prelude::*;
        self.out_script
            .as_slice()
            .par_iter()
            .enumerate()
            .filter(|(_, s)| scripts.binary_search(&ScriptId(**s)).is_ok())
            .map(|(o, _)| OutIx(o as u64))
            .collect()
    }

    /// All outputs paying to `script`.
    pub fn outputs_of_script(&self, script: ScriptId) -> Vec<OutIx> {
        use rayon::prelude::*;
        self.out_script
            .as_slice()
            .par_iter()
            .enumerate()
            .filter(|(_, &s)| s == script.0)
            .map(|(o, _)| OutIx(o as u64))
            .collect()
    }
}

/// Address strings and script kinds of some scripts (ids past the dataset's scripts are left
/// out), rendered from the memory-mapped script bytes as ingest rendered them into the `scripts`
/// table: a few scripts cost a few look-ups instead of a read of the table, and many are
/// rendered in parallel.
pub fn script_addresses(
    ds: &Dataset,
    ids: &[ScriptId],
) -> Result<std::collections::BTreeMap<ScriptId, (String, String)>, super::read::ReadError> {
    use rayon::prelude::*;
    let mut wanted: Vec<ScriptId> = ids
        .iter()
        .copied()
        .filter(|s| (s.0 as u64) < ds.manifest.counts.scripts)
        .collect();
    wanted.par_sort_unstable();
    wanted.dedup();
    let chain = ds.manifest.chain;
    let rendered = wanted
        .par_iter()
        .map(|&id| {
            let script = ds
                .script(id)
                .ok_or_else(|| super::read::ReadError::Parquet {
                    path: CacheColumn::ScriptEnd.path(&ds.dir),
                    message: format!("script {} has no bytes in the cache", id.0),
                })?;
            let mut address = String::new();
            chain.write_address(script, &mut address);
            let kind = crate::chain::classify(script).name().to_string();
            Ok((id, (address, kind)))
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(rendered.into_iter().collect())
}

/// The script id of an address string, scanning the `scripts` tables.
pub fn find_address(
    ds: &Dataset,
    address: &str,
) -> Result<Option<ScriptId>, super::read::ReadError> {
    use arrow::array::{Array, LargeStringArray};
    let mut row = 0u64;
    for batch in super::read::read_table(&ds.dir, &ds.manifest, "scripts", &["address"])? {
        if let Some(col) = batch.column(0).as_any().downcast_ref::<LargeStringArray>() {
            if let Some(i) = (0..col.len()).find(|&i| col.value(i) == address) {
                return Ok(Some(ScriptId((row + i as u64) as u32)));
            }
        }
        row += batch.num_rows() as u64;
    }
    Ok(None)
}

/// The script ids of the given address strings that the dataset has seen (one scan of the
/// `scripts` tables).
pub fn find_addresses(
    ds: &Dataset,
    wanted: &std::collections::HashSet<&str>,
) -> Result<std::collections::HashMap<String, ScriptId>, super::read::ReadError> {
    use arrow::array::{Array, LargeStringArray};
    let mut found = std::collections::HashMap::new();
    if wanted.is_empty() {
        return Ok(found);
    }
    let mut row = 0u64;
    for batch in super::read::read_table(&ds.dir, &ds.manifest, "scripts", &["address"])? {
        if let Some(col) = batch.column(0).as_any().downcast_ref::<LargeStringArray>() {
            for i in 0..col.len() {
                if wanted.contains(col.value(i)) {
                    found.insert(col.value(i).to_string(), ScriptId((row + i as u64) as u32));
                }
            }
        }
        row += batch.num_rows() as u64;
    }
    Ok(found)
}

/// Ask the CPU to start loading the cache line holding `r` (a hint: no effect on results; a
/// no-op on architectures other than x86-64).
pub fn prefetch<T>(r: &T) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: a prefetch never faults, and `r` is a valid reference.
    unsafe {
        std::arch::x86_64::_mm_prefetch::<{ std::arch::x86_64::_MM_HINT_T0 }>(
            (r as *const T).cast(),
        )
    };
    #[cfg(not(target_arch = "x86_64"))]
    let _ = r;
}
