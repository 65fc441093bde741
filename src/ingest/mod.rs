//! Ingest: turn a node's blocks into the graph store.
//!
//! Extract (read block bytes: [`blkfile`]) is separate from transform ([`block::parse_block`])
//! and load ([`crate::store::DatasetWriter`]), so every source feeds the same builder. Blocks are
//! read and parsed in parallel batches on rayon by a producer thread while the writer consumes
//! the previous batch, joined by a bounded channel so memory stays flat.

pub mod blkfile;
pub mod block;
pub mod http;
pub mod rpc;

use std::path::{Path, PathBuf};
use std::sync::mpsc::sync_channel;
use std::time::Instant;

use rayon::prelude::*;

use self::blkfile::{BlkError, BlkIndex};
use self::block::{parse_block_with, BlockParseError, ParsedBlock};
use crate::chain::Chain;
use crate::store::manifest::Counts;
use crate::store::{DatasetWriter, PartitionPolicy, StoreError};

/// Bytes of block data parsed per parallel batch.
const BATCH_BYTES: u64 = 16 << 20;

/// Errors of an ingest run.
#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    /// Reading the blk files failed.
    #[error(transparent)]
    Blk(#[from] BlkError),
    /// A block could not be parsed.
    #[error("{path} at byte {offset} (block at height {height}): {source}")]
    Block {
        /// The blk file.
        path: PathBuf,
        /// Offset of the block in it.
        offset: u64,
        /// The block's height on the best chain.
        height: u32,
        /// What was wrong.
        source: BlockParseError,
    },
    /// Writing the store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// What to ingest from a blocks directory.
#[derive(Debug, Clone)]
pub struct BlkIngest {
    /// The directory of `blk*.dat` files.
    pub blocks_dir: PathBuf,
    /// The chain they belong to.
    pub chain: Chain,
    /// The dataset directory to build or extend.
    pub out: PathBuf,
    /// Stop after this height (default: the best chain's tip).
    pub to_height: Option<u32>,
    /// When partitions are closed.
    pub policy: PartitionPolicy,
}

/// What an ingest run did.
#[derive(Debug, Clone, serde::Serialize)]
pub struct IngestSummary {
    /// The chain.
    pub chain: Chain,
    /// The dataset directory.
    pub dataset: PathBuf,
    /// First height ingested by this run (None when nothing was new).
    pub from_height: Option<u32>,
    /// The dataset's tip height after the run.
    pub tip_height: Option<u32>,
    /// The dataset's tip hash after the run.
    pub tip_hash: Option<String>,
    /// Rows added by this run.
    pub added: Counts,
    /// Partitions written by this run.
    pub partitions_written: u64,
    /// Totals of the dataset after the run.
    pub totals: Counts,
    /// Bytes of block data read by this run.
    pub block_bytes: u64,
    /// Notes about the input (truncated tail, dropped stale blocks).
    pub notes: Vec<String>,
    /// Wall-clock seconds.
    pub seconds: f64,
}

impl IngestSummary {
    /// The summary of a run that started at `started` and added `added` from `from`.
    #[allow(clippy::too_many_arguments)]
    pub fn finished(
        chain: Chain,
        dataset: &Path,
        from_height: Option<u32>,
        manifest: &crate::store::Manifest,
        added: crate::store::writer::Added,
        block_bytes: u64,
        notes: Vec<String>,
        started: Instant,
    ) -> IngestSummary {
        IngestSummary {
            chain,
            dataset: dataset.to_path_buf(),
            from_height,
            tip_height: manifest.tip.as_ref().map(|t| t.height),
            tip_hash: manifest.tip.as_ref().map(|t| t.hash.clone()),
            added: added.rows,
            partitions_written: added.partitions,
            totals: manifest.counts,
            block_bytes,
            notes,
            seconds: started.elapsed().as_secs_f64(),
        }
    }
}

/// Make the process's allocator keep freed memory for reuse: call once, at the start of a
/// program whose main job is ingest (it is process-wide; the `fundtrace` binary calls it for
/// `ingest`, and the ingest bench too).
///
/// Ingest allocates and frees buffers of a few megabytes all the time (parsed blocks, Arrow
/// batches, Parquet pages). By default glibc serves blocks above an mmap threshold (128 KiB at
/// first, raised up to 32 MiB as mapped blocks are freed) with their own mappings, unmapped when
/// freed, and returns free space at a heap's top to the OS beyond a trim threshold (twice the
/// mmap threshold): buffers around those thresholds are faulted in afresh each time, about
/// 210,000 page faults for 1M payments. Fixing the mmap threshold at its maximum (32 MiB on
/// 64-bit) and the trim threshold at 64 MiB (which also stops their adjustment) serves them from
/// the heap and keeps what is freed: about 140,000 faults, for about 90 MB more peak memory.
/// Nothing changes outside 64-bit glibc, or when glibc refuses the mmap threshold (a smaller
/// heap size, e.g. with huge-page heaps).
pub fn keep_freed_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu", target_pointer_width = "64"))]
    // SAFETY: mallopt has no memory-safety precondition: glibc takes its arena lock and sets a
    // parameter.
    unsafe {
        // The trim threshold alone would fix the mmap threshold at its 128 KiB start: set it
        // only when the mmap threshold was accepted.
        if libc::mallopt(libc::M_MMAP_THRESHOLD, 32 << 20) == 1 {
            libc::mallopt(libc::M_TRIM_THRESHOLD, 64 << 20);
        } else {
            tracing::debug!("glibc refused a 32 MiB mmap threshold: allocator left as it is");
        }
    }
}

/// Ingest the blk files of `job.blocks_dir` into `job.out`, continuing from its tip.
/// `on_block` is called after each stored block with its height (for progress display).
pub fn ingest_blk(
    job: &BlkIngest,
    on_start: impl FnOnce(u64),
    on_bytes: impl Fn(u64) + Sync,
) -> Result<IngestSummary, IngestError> {
    let started = Instant::now();
    // A dataset of another chain is refused before any blk file is read.
    if let Some(m) = crate::store::Manifest::read(&job.out).map_err(StoreError::from)? {
        if m.chain != job.chain {
            let (found, asked) = (m.chain.name(), job.chain.name());
            return Err(StoreError::WrongChain {
                dir: job.out.clone(),
                found,
                asked,
            }
            .into());
        }
    }
    let index = BlkIndex::scan(&job.blocks_dir, job.chain)?;
    for note in index.notes() {
        tracing::warn!("{note}");
    }
    let mut notes: Vec<String> = index.notes().iter().map(|n| n.to_string()).collect();
    use crate::store::rollback::SourceBlock;
    let on_chain = |h: u32| -> Result<SourceBlock, std::convert::Infallible> {
        Ok(index
            .chain()
            .get(h as usize)
            .map_or(SourceBlock::Missing, |b| {
                SourceBlock::Hash(b.hash.to_string())
            }))
    };
    notes.extend(crate::store::rollback::roll_back_if_diverged(
        &job.out,
        "the best chain of the files",
        on_chain,
    )?);
    let mut writer = DatasetWriter::open(&job.out, job.chain, job.policy)?;
    let from = writer.next_height();
    let last = index.chain().len() as u32 - 1;
    let to = job.to_height.map_or(last, |t| t.min(last));
    let heights: Vec<u32> = if from <= to {
        (from..=to).collect()
    } else {
        Vec::new()
    };
    let block_bytes: u64 = heights
        .iter()
        .map(|&h| index.chain()[h as usize].location.len as u64)
        .sum();
    on_start(block_bytes);
    writer.expect_block_bytes(block_bytes);
    let batches = batch_by_bytes(&index, &heights);
    std::thread::scope(|scope| -> Result<(), IngestError> {
        let (tx, rx) = sync_channel::<Result<Vec<(u32, ParsedBlock)>, IngestError>>(2);
        let index = &index;
        scope.spawn(move || {
            for batch in batches {
                // Collected in height order first, so the error reported is the lowest block's.
                let parsed = batch
                    .par_iter()
                    .map(|&h| parse_at(index, h))
                    .collect::<Vec<_>>()
                    .into_iter()
                    .collect::<Result<Vec<_>, _>>();
                let failed = parsed.is_err();
                if tx.send(parsed).is_err() || failed {
                    return;
                }
            }
        });
        let (mut waited, mut stored) = (std::time::Duration::ZERO, std::time::Duration::ZERO);
        loop {
            let t0 = Instant::now();
            let Ok(batch) = rx.recv() else { break };
            let t1 = Instant::now();
            let batch = batch?;
            for (height, block) in &batch {
                writer.push_block(*height, block)?;
                on_bytes(block.size as u64);
            }
            writer.send_to_encoders()?;
            // Freeing a batch's many small allocations is work too: not on the writer's thread.
            rayon::spawn(move || drop(batch));
            waited += t1 - t0;
            stored += t1.elapsed();
        }
        tracing::debug!(
            ?waited,
            ?stored,
            "writer: time waiting for parsed blocks, time storing them"
        );
        Ok(())
    })?;
    let t = Instant::now();
    let (manifest, added) = writer.finish()?;
    tracing::debug!(elapsed = ?t.elapsed(), "final commit");
    Ok(IngestSummary::finished(
        job.chain,
        &job.out,
        (!heights.is_empty()).then_some(from),
        &manifest,
        added,
        block_bytes,
        notes,
        started,
    ))
}

fn parse_at(index: &BlkIndex, height: u32) -> Result<(u32, ParsedBlock), IngestError> {
    let location = index.chain()[height as usize].location;
    let bytes = index.read_block(location)?;
    let block = parse_block_with(&bytes, index.chain_params_mweb()).map_err(|source| {
        IngestError::Block {
            path: index.path_of(location).to_path_buf(),
            offset: location.offset - 8,
            height,
            source,
        }
    })?;
    Ok((height, block))
}

fn batch_by_bytes(index: &BlkIndex, heights: &[u32]) -> Vec<Vec<u32>> {
    let mut batches = Vec::new();
    let mut current = Vec::new();
    let mut bytes = 0;
    for &h in heights {
        current.push(h);
        bytes += index.chain()[h as usize].location.len as u64;
        if bytes >= BATCH_BYTES {
            batches.push(std::mem::take(&mut current));
            bytes = 0;
        }
    }
    if !current.is_empty() {
        batches.push(current);
    }
    batches
}
