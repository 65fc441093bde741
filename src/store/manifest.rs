//! `manifest.json`: what a dataset holds (chain, tip, partitions with row counts and checksums).
//!
//! The manifest is written last and atomically after every committed partition, so it always
//! describes files that exist completely. It holds no wall-clock times, so an interrupted and
//! resumed ingest produces the same manifest as an uninterrupted one.

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::chain::Chain;

/// Version of the on-disk format described by this module and `store::tables`.
pub const FORMAT_VERSION: u32 = 3;

/// The name of the manifest file in a dataset directory.
pub const MANIFEST_FILE: &str = "manifest.json";

/// The tables of the graph store, one Parquet file each per partition, in manifest order.
pub const TABLES: [&str; 5] = ["blocks", "txs", "outputs", "inputs", "scripts"];

/// A dataset's manifest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    /// On-disk format version.
    pub format_version: u32,
    /// The chain the blocks belong to.
    pub chain: Chain,
    /// The last block stored, if any.
    pub tip: Option<Tip>,
    /// Row counts of the whole dataset.
    pub counts: Counts,
    /// Partitions in height order.
    pub partitions: Vec<Partition>,
}

/// The last block stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tip {
    /// Its height.
    pub height: u32,
    /// Its hash (display hex).
    pub hash: String,
}

/// Row counts of the dataset (or of one partition), which are also the first ids of what comes next.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counts {
    /// Blocks.
    pub blocks: u64,
    /// Transactions.
    pub txs: u64,
    /// Outputs.
    pub outputs: u64,
    /// Inputs (coinbase inputs included).
    pub inputs: u64,
    /// Distinct scripts.
    pub scripts: u64,
}

/// One height-range partition.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Partition {
    /// First height (inclusive).
    pub start_height: u32,
    /// Last height (inclusive).
    pub end_height: u32,
    /// Counts before this partition: its first ids.
    pub first: Counts,
    /// Rows in this partition.
    pub rows: Counts,
    /// One file per table, in [`TABLES`] order.
    pub files: Vec<PartitionFile>,
}

/// One Parquet file of a partition.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PartitionFile {
    /// The table it belongs to.
    pub table: String,
    /// Path relative to the dataset directory.
    pub path: String,
    /// Size in bytes.
    pub bytes: u64,
    /// SHA-256 of the file, lowercase hex.
    pub sha256: String,
    /// True while the file lags the dataset: an outputs table whose `spent_by` misses spends
    /// committed since it was written (or that is not written yet). Only an ingest in progress
    /// or interrupted leaves stale files; the binary cache is always exact.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub stale: bool,
}

/// Errors reading a manifest.
#[derive(Debug, thiserror::Error)]
pub enum ManifestError {
    /// The file could not be read.
    #[error("cannot read {path}: {source}")]
    Io {
        /// The manifest path.
        path: String,
        /// The OS error.
        source: std::io::Error,
    },
    /// The JSON is not a manifest.
    #[error("{path} is not a fundtrace manifest: {source}")]
    Parse {
        /// The manifest path.
        path: String,
        /// The JSON error.
        source: serde_json::Error,
    },
    /// The tip's hash is not a block hash.
    #[error("{path}: the tip hash '{hash}' is not a block hash; the manifest is damaged, re-ingest into a new directory")]
    BadTip {
        /// The manifest path.
        path: String,
        /// What it holds.
        hash: String,
    },
    /// A newer or older format.
    #[error("{path} has format version {found}, this fundtrace reads version {FORMAT_VERSION}; re-ingest the dataset")]
    Version {
        /// The manifest path.
        path: String,
        /// The version found.
        found: u32,
    },
}

impl Manifest {
    /// An empty dataset of `chain`.
    pub fn new(chain: Chain) -> Manifest {
        Manifest {
            format_version: FORMAT_VERSION,
            chain,
            tip: None,
            counts: Counts::default(),
            partitions: Vec::new(),
        }
    }

    /// Read `dir/manifest.json`; `Ok(None)` when the dataset does not exist yet.
    pub fn read(dir: &Path) -> Result<Option<Manifest>, ManifestError> {
        let path = dir.join(MANIFEST_FILE);
        let shown = path.display().to_string();
        let bytes = match std::fs::read(&path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(source) => {
                return Err(ManifestError::Io {
                    path: shown,
                    source,
                })
            }
        };
        let manifest: Manifest =
            serde_json::from_slice(&bytes).map_err(|source| ManifestError::Parse {
                path: shown.clone(),
                source,
            })?;
        if manifest.format_version != FORMAT_VERSION {
            return Err(ManifestError::Version {
                path: shown,
                found: manifest.format_version,
            });
        }
        Ok(Some(manifest))
    }

    /// The manifest as canonical pretty JSON (stable field order, trailing newline).
    pub fn to_json(&self) -> String {
        let mut s = serde_json::to_string_pretty(self).expect("manifest serializes");
        s.push('\n');
        s
    }

    /// The next height to ingest.
    pub fn next_height(&self) -> u32 {
        self.tip.as_ref().map_or(0, |t| t.height + 1)
    }
}
