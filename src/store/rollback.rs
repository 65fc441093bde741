//! Rolling a dataset back below a reorg: drop every partition that holds a block above the last
//! block shared with the source's chain, then let the writer's recovery (which already cuts the
//! cache to the manifest, removes unlisted files and rebuilds the spend index) do the rest. The
//! next ingest re-reads from the start of the first dropped partition, so the partition layout,
//! and the files, come out as a fresh ingest of the new chain would make them.

use std::path::Path;

use super::atomic::write_atomic;
use super::cache::{CacheColumn, MappedColumn};
use super::lock::{lock, Mode};
use super::manifest::{Counts, Manifest, Tip, MANIFEST_FILE};
use super::writer::StoreError;

/// The stored block hashes (display hex) by height.
pub fn stored_hash(
    dir: &Path,
    manifest: &Manifest,
    height: u32,
) -> Result<Option<String>, StoreError> {
    if height as u64 >= manifest.counts.blocks {
        return Ok(None);
    }
    let hashes =
        MappedColumn::<[u8; 32]>::open(dir, CacheColumn::BlockHash, manifest.counts.blocks)?;
    Ok(Some(
        hashes.as_slice()[height as usize]
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect(),
    ))
}

/// Keep only the blocks up to `last_shared` (the last height whose block the new chain also
/// has), rounded down to a partition boundary. Returns the new tip height (`None` when nothing
/// is kept).
pub fn rollback(dir: &Path, last_shared: Option<u32>) -> Result<Option<u32>, StoreError> {
    let _lock = lock(dir, Mode::Exclusive)?;
    let Some(mut manifest) = Manifest::read(dir)? else {
        return Ok(None);
    };
    let keep = manifest
        .partitions
        .iter()
        .take_while(|p| last_shared.is_some_and(|h| p.end_height <= h))
        .count();
    let dropped = manifest.partitions.split_off(keep);
    let Some(first_dropped) = dropped.first() else {
        return Ok(manifest.tip.as_ref().map(|t| t.height));
    };
    let tip_height = manifest.partitions.last().map(|p| p.end_height);
    let tip = match tip_height {
        Some(h) => Some(Tip {
            height: h,
            hash: stored_hash(dir, &manifest, h)?.unwrap_or_default(),
        }),
        None => None,
    };
    tracing::warn!(
        from = first_dropped.start_height,
        partitions = dropped.len(),
        "reorg: dropping stored blocks from the start of the partition holding the fork"
    );
    manifest.counts = if keep == 0 {
        Counts::default()
    } else {
        first_dropped.first
    };
    manifest.tip = tip;
    let path = dir.join(MANIFEST_FILE);
    write_atomic(&path, manifest.to_json().as_bytes())
        .map_err(|source| StoreError::Io { path, source })?;
    Ok(tip_height)
}

/// What a source (a node, the blk files) has at a height.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SourceBlock {
    /// The block hash there (display hex).
    Hash(String),
    /// The source's chain does not reach that height.
    Missing,
}

/// If the stored tip is not on the source's chain, roll back below the last shared block;
/// returns a note saying what happened. Nothing is rolled back when the source is shorter than
/// the dataset (a node still syncing, a directory with fewer blocks: an error says so) or when
/// asking the source fails (the error is returned): only a block the source positively has, with
/// another hash, counts as a reorg.
pub fn roll_back_if_diverged<E: std::fmt::Display>(
    dir: &Path,
    source: &str,
    source_hash: impl Fn(u32) -> Result<SourceBlock, E>,
) -> Result<Option<String>, StoreError> {
    let Some(manifest) = Manifest::read(dir)? else {
        return Ok(None);
    };
    let Some(tip) = manifest.tip.clone() else {
        return Ok(None);
    };
    let ask = |h: u32| source_hash(h).map_err(|e| StoreError::Source(format!("{source}: {e}")));
    match ask(tip.height)? {
        SourceBlock::Hash(h) if h == tip.hash => return Ok(None),
        SourceBlock::Hash(_) => {}
        SourceBlock::Missing => {
            return Err(StoreError::SourceBehind {
                from: source.to_string(),
                height: tip.height,
            })
        }
    }
    let hashes =
        MappedColumn::<[u8; 32]>::open(dir, CacheColumn::BlockHash, manifest.counts.blocks)?;
    let stored = |h: u32| -> String {
        hashes.as_slice()[h as usize]
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    };
    let mut last_shared = None;
    for h in (0..tip.height).rev() {
        if ask(h)? == SourceBlock::Hash(stored(h)) {
            last_shared = Some(h);
            break;
        }
    }
    drop(hashes);
    let kept = rollback(dir, last_shared)?;
    let show = |h: Option<u32>| h.map_or("none".to_string(), |h| h.to_string());
    Ok(Some(format!(
        "reorg: the stored tip {} at height {} is not on {source}; the last shared block is at {}; kept blocks up to {}",
        tip.hash,
        tip.height,
        show(last_shared),
        show(kept),
    )))
}
