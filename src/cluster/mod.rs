//! Address clustering: union-find over script ids fed by pluggable heuristics, in parallel.
//!
//! `fundtrace cluster DATASET` writes, into the dataset directory:
//! - `clusters.parquet`: script_id, address, cluster_id (the smallest script id of the cluster);
//! - `cluster_stats.parquet`: cluster_id, size, first/last height paid, total received;
//! - `cluster_links.parquet`: the merges that built each cluster (a spanning forest, in
//!   transaction order): script_a, script_b, tx_ix, txid, heuristic — the provenance that
//!   `inspect DATASET why A B` walks;
//! - `cache/script_cluster.u32` for analysis, and `clusters.json` (what it was computed from).

pub mod coinjoin;
pub mod heuristics;
pub mod unionfind;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow::array::{
    Array, ArrayRef, LargeStringArray, RecordBatch, StringArray, UInt32Array, UInt64Array,
};
use arrow::datatypes::{DataType, Field, Schema};
use rayon::prelude::*;

use self::heuristics::{Heuristic, ScriptFacts};
use self::unionfind::UnionFind;
use crate::store::atomic::{sha256_hex, write_atomic};
use crate::store::cache::as_bytes;
use crate::store::encode::to_parquet;
use crate::store::read::{read_table, ReadError};
use crate::store::{Dataset, OutIx, ScriptId, TxIx};

/// Errors of clustering.
#[derive(Debug, thiserror::Error)]
pub enum ClusterError {
    /// Reading the scripts table failed.
    #[error(transparent)]
    Read(#[from] ReadError),
    /// A file could not be written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// Parquet encoding failed.
    #[error("cannot encode {0}: {1}")]
    Parquet(&'static str, parquet::errors::ParquetError),
    /// An unknown heuristic was asked for.
    #[error("unknown heuristic '{0}'; the heuristics are multi-input, change")]
    UnknownHeuristic(String),
}

/// One merge of two clusters, for provenance.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Link {
    /// A script of the one cluster.
    pub a: ScriptId,
    /// A script of the other.
    pub b: ScriptId,
    /// The transaction that shows they share an owner.
    pub tx: TxIx,
    /// The heuristic that said so.
    pub heuristic: &'static str,
}

/// The result of clustering.
#[derive(Debug)]
pub struct Clusters {
    /// Cluster id (smallest member) of every script.
    pub cluster_of: Vec<u32>,
    /// The merges that built the clusters, in transaction order.
    pub links: Vec<Link>,
}

/// The heuristics named in `names` (comma-separated list split by the caller).
pub fn heuristics(names: &[String]) -> Result<Vec<Box<dyn Heuristic>>, ClusterError> {
    names
        .iter()
        .map(|n| heuristics::by_name(n).ok_or_else(|| ClusterError::UnknownHeuristic(n.clone())))
        .collect()
}

/// Script kinds and first transactions, from the scripts tables.
pub fn script_facts(ds: &Dataset) -> Result<ScriptFacts, ClusterError> {
    let mut facts = ScriptFacts::default();
    for batch in read_table(ds.dir(), ds.manifest(), "scripts", &["first_tx", "kind"])? {
        let first = batch.column(0).as_any().downcast_ref::<UInt32Array>();
        let kind = batch.column(1).as_any().downcast_ref::<StringArray>();
        let (Some(first), Some(kind)) = (first, kind) else {
            return Err(unexpected(ds, "scripts"));
        };
        facts.first_tx.extend(first.values().iter().copied());
        facts
            .kind
            .extend((0..kind.len()).map(|i| kind_name(kind.value(i))));
    }
    Ok(facts)
}

fn unexpected(ds: &Dataset, table: &str) -> ClusterError {
    ClusterError::Read(ReadError::Parquet {
        path: ds.dir().join(table),
        message:
            "unexpected column types; the dataset is from another format version: ingest it again"
                .into(),
    })
}

fn kind_name(k: &str) -> &'static str {
    crate::chain::ScriptKind::ALL
        .iter()
        .map(|k| k.name())
        .find(|n| *n == k)
        .unwrap_or("nonstandard")
}

/// Transactions whose links are found in one parallel batch before they are applied in order
/// (bounds the memory of found links).
const BATCH_TXS: u32 = 1 << 20;
/// Transactions per parallel task.
const TASK_TXS: u32 = 1 << 12;

/// A link found by heuristic number `h` in transaction `tx`.
type Found = (u32, u8, ScriptId, ScriptId);

/// Cluster the dataset's scripts. Finding links reads the whole store and runs in parallel on
/// the current rayon pool, batch by batch; applying them is a sequential union-find in
/// transaction order, which gives the partition and its provenance (the links that joined two
/// clusters: a spanning forest) in one pass, the same whatever the thread count.
pub fn cluster(ds: &Dataset, heuristics: &[Box<dyn Heuristic>], facts: &ScriptFacts) -> Clusters {
    let mut uf = UnionFind::new(ds.script_count() as usize);
    let mut links = Vec::new();
    let total = ds.tx_count();
    let mut start = 0;
    while start < total {
        let end = start.saturating_add(BATCH_TXS).min(total);
        let tasks = (end - start).div_ceil(TASK_TXS);
        let found: Vec<Vec<Found>> = (0..tasks)
            .into_par_iter()
            .map(|k| {
                let from = start + k * TASK_TXS;
                let to = (from + TASK_TXS).min(end);
                let (mut out, mut one) = (Vec::new(), Vec::new());
                for t in from..to {
                    for (hi, h) in heuristics.iter().enumerate() {
                        one.clear();
                        h.links(ds, facts, TxIx(t), &mut one);
                        out.extend(one.iter().map(|&(a, b)| (t, hi as u8, a, b)));
                    }
                }
                out
            })
            .collect();
        for (t, hi, a, b) in found.into_iter().flatten() {
            if uf.union(a.0, b.0) {
                links.push(Link {
                    a,
                    b,
                    tx: TxIx(t),
                    heuristic: heuristics[hi as usize].name(),
                });
            }
        }
        start = end;
    }
    Clusters {
        cluster_of: uf.canonical(),
        links,
    }
}

/// Cluster a dataset and write the results into its directory; returns (clusters, multi-script clusters).
pub fn run(
    dir: &Path,
    names: &[String],
) -> Result<(usize, usize), Box<dyn std::error::Error + Send + Sync>> {
    let ds = Dataset::open(dir)?;
    let hs = heuristics(names)?;
    let facts = script_facts(&ds)?;
    let clusters = cluster(&ds, &hs, &facts);
    write(&ds, &clusters, names)?;
    let n = clusters
        .cluster_of
        .iter()
        .enumerate()
        .filter(|(i, &c)| *i as u32 == c)
        .count();
    let mut sizes = vec![0u32; clusters.cluster_of.len()];
    for &c in &clusters.cluster_of {
        sizes[c as usize] += 1;
    }
    Ok((n, sizes.iter().filter(|&&s| s > 1).count()))
}

fn encode(
    name: &'static str,
    fields: Vec<Field>,
    columns: Vec<ArrayRef>,
) -> Result<Vec<u8>, ClusterError> {
    let batch = RecordBatch::try_new(Arc::new(Schema::new(fields)), columns)
        .expect("columns match their schema");
    to_parquet(&batch).map_err(|e| ClusterError::Parquet(name, e))
}

fn write(ds: &Dataset, clusters: &Clusters, names: &[String]) -> Result<(), ClusterError> {
    let dir = ds.dir();
    let io = |path: PathBuf| move |source| ClusterError::Io { path, source };
    let n = clusters.cluster_of.len();
    // clusters.parquet
    let mut addresses: Vec<String> = Vec::with_capacity(n);
    for batch in read_table(dir, ds.manifest(), "scripts", &["address"])? {
        let Some(a) = batch.column(0).as_any().downcast_ref::<LargeStringArray>() else {
            return Err(unexpected(ds, "scripts"));
        };
        addresses.extend((0..a.len()).map(|i| a.value(i).to_string()));
    }
    let clusters_file = encode(
        "clusters.parquet",
        vec![
            Field::new("script_id", DataType::UInt32, false),
            Field::new("address", DataType::LargeUtf8, false),
            Field::new("cluster_id", DataType::UInt32, false),
        ],
        vec![
            Arc::new(UInt32Array::from_iter_values(0..n as u32)),
            Arc::new(LargeStringArray::from_iter_values(addresses.iter())),
            Arc::new(UInt32Array::from(clusters.cluster_of.clone())),
        ],
    )?;
    // cluster_stats.parquet: one row per cluster, in cluster id order.
    let mut size = vec![0u32; n];
    let mut first = vec![u32::MAX; n];
    let mut last = vec![0u32; n];
    let mut received = vec![0u128; n];
    for o in 0..ds.output_count() {
        let out = OutIx(o);
        let c = clusters.cluster_of[ds.script_id(out).index()] as usize;
        let h = ds.tx_height(ds.out_tx(out));
        first[c] = first[c].min(h);
        last[c] = last[c].max(h);
        received[c] += ds.value(out) as u128;
    }
    for &c in &clusters.cluster_of {
        size[c as usize] += 1;
    }
    let ids: Vec<u32> = (0..n as u32)
        .filter(|&i| clusters.cluster_of[i as usize] == i)
        .collect();
    let stats_file = encode(
        "cluster_stats.parquet",
        vec![
            Field::new("cluster_id", DataType::UInt32, false),
            Field::new("size", DataType::UInt32, false),
            Field::new("first_height", DataType::UInt32, true),
            Field::new("last_height", DataType::UInt32, true),
            Field::new("total_received", DataType::UInt64, false),
        ],
        vec![
            Arc::new(UInt32Array::from_iter_values(ids.iter().copied())),
            Arc::new(UInt32Array::from_iter_values(
                ids.iter().map(|&c| size[c as usize]),
            )),
            Arc::new(UInt32Array::from_iter(ids.iter().map(|&c| {
                (first[c as usize] != u32::MAX).then_some(first[c as usize])
            }))),
            Arc::new(UInt32Array::from_iter(ids.iter().map(|&c| {
                (first[c as usize] != u32::MAX).then_some(last[c as usize])
            }))),
            Arc::new(UInt64Array::from_iter_values(ids.iter().map(|&c| {
                u64::try_from(received[c as usize]).unwrap_or(u64::MAX)
            }))),
        ],
    )?;
    let l = &clusters.links;
    let links_file = encode(
        "cluster_links.parquet",
        vec![
            Field::new("script_a", DataType::UInt32, false),
            Field::new("script_b", DataType::UInt32, false),
            Field::new("tx_ix", DataType::UInt32, false),
            Field::new("txid", DataType::Utf8, false),
            Field::new("heuristic", DataType::Utf8, false),
        ],
        vec![
            Arc::new(UInt32Array::from_iter_values(l.iter().map(|x| x.a.0))),
            Arc::new(UInt32Array::from_iter_values(l.iter().map(|x| x.b.0))),
            Arc::new(UInt32Array::from_iter_values(l.iter().map(|x| x.tx.0))),
            Arc::new(StringArray::from_iter_values(
                l.iter().map(|x| ds.txid(x.tx).to_string()),
            )),
            Arc::new(StringArray::from_iter_values(l.iter().map(|x| x.heuristic))),
        ],
    )?;
    for (name, bytes) in [
        ("clusters.parquet", &clusters_file),
        ("cluster_stats.parquet", &stats_file),
        ("cluster_links.parquet", &links_file),
    ] {
        let path = dir.join(name);
        write_atomic(&path, bytes).map_err(io(path.clone()))?;
    }
    let path = dir.join("cache/script_cluster.u32");
    write_atomic(&path, as_bytes(&clusters.cluster_of)).map_err(io(path.clone()))?;
    let manifest =
        std::fs::read(dir.join(crate::store::manifest::MANIFEST_FILE)).unwrap_or_default();
    let meta = serde_json::json!({
        "heuristics": names,
        "scripts": n,
        "manifest_sha256": sha256_hex(&manifest),
    });
    let path = dir.join("clusters.json");
    write_atomic(
        &path,
        format!("{}\n", serde_json::to_string_pretty(&meta).expect("json")).as_bytes(),
    )
    .map_err(io(path.clone()))?;
    Ok(())
}

/// The cluster id of every script, if the dataset was clustered and has not grown since.
pub fn load_clusters(ds: &Dataset) -> Option<Vec<u32>> {
    let meta: serde_json::Value =
        serde_json::from_slice(&std::fs::read(ds.dir().join("clusters.json")).ok()?).ok()?;
    let manifest = std::fs::read(ds.dir().join(crate::store::manifest::MANIFEST_FILE)).ok()?;
    if meta["manifest_sha256"].as_str() != Some(sha256_hex(&manifest).as_str()) {
        tracing::warn!("the dataset changed since it was clustered: run `fundtrace cluster` again; clusters ignored");
        return None;
    }
    let bytes = std::fs::read(ds.dir().join("cache/script_cluster.u32")).ok()?;
    let ids: Vec<u32> = bytes
        .chunks_exact(4)
        .map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect();
    (ids.len() as u64 == ds.script_count()).then_some(ids)
}
