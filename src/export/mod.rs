//! Writing a case's results directory: `summary.json`, `endpoints.parquet`, `flows.parquet`,
//! `cashouts.parquet`. Rows are sorted and no wall-clock time is written, so a re-run gives
//! byte-identical files.

pub mod band;
pub mod report;
pub mod results;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::store::atomic::{sha256_hex, write_atomic};
use crate::store::manifest::MANIFEST_FILE;
use crate::trace::engine::Bucket;
use crate::trace::run::CaseRun;

/// Errors writing results.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    /// A file could not be written or read.
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
    /// A result table could not be encoded or written.
    #[error("cannot write {path}: {source}")]
    Write {
        /// The table's file.
        path: PathBuf,
        /// What failed.
        source: crate::store::stream::StreamError,
    },
    /// Reading addresses failed.
    #[error(transparent)]
    Read(#[from] crate::store::read::ReadError),
    /// A price is missing or a price file is bad.
    #[error(transparent)]
    Price(#[from] crate::fiat::PriceError),
    /// A table would exceed Arrow's 2 GiB string column limit.
    #[error("{0} would hold more than 2 GiB of text: {1}")]
    TooLarge(&'static str, &'static str),
}

/// The case's pricing, if it has a `[fiat]` section.
pub fn pricing(run: &CaseRun) -> Result<Option<crate::fiat::Pricing>, ExportError> {
    use crate::fiat::{PriceSeries, Pricing};
    let Some(f) = &run.case.fiat else {
        return Ok(None);
    };
    let prices = PriceSeries::read(&run.case.resolve(&f.prices), f.column.as_deref())?;
    let cross = match &f.cross {
        Some(c) => Some(PriceSeries::read(
            &run.case.resolve(c),
            f.cross_column.as_deref(),
        )?),
        None => None,
    };
    Ok(Some(Pricing {
        currency: f.currency.clone(),
        prices,
        cross,
        previous_day: f.previous_day,
    }))
}

/// The time of the theft: the block time of the earliest seed.
pub fn theft_time(run: &CaseRun) -> u32 {
    let ds = &run.dataset;
    run.seeds
        .iter()
        .map(|s| ds.block_time(ds.tx_height(ds.out_tx(s.out))))
        .min()
        .unwrap_or(0)
}

/// `summary.json`.
#[derive(Debug, Serialize)]
pub struct Summary {
    /// The case's name.
    pub case: String,
    /// fundtrace's version.
    pub engine_version: &'static str,
    /// SHA-256 of the case file.
    pub case_sha256: String,
    /// The dataset traced.
    pub dataset: DatasetRef,
    /// Trace parameters.
    pub parameters: crate::case::TraceSettings,
    /// Seed outputs and their total.
    pub seeds: SeedSummary,
    /// The fiat currency of the `*_fiat` fields, with `[fiat]`.
    pub fiat_currency: Option<String>,
    /// Days valued with an earlier close because the series had none (`previous_day = true`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub fiat_stand_ins: Vec<crate::fiat::StandIn>,
    /// One entry per taint model.
    pub policies: Vec<PolicySummary>,
    /// The loss band over the conserving models: buckets and cash-out entities, min–max.
    pub loss_band: Vec<band::BandRow>,
}

/// The dataset a summary refers to.
#[derive(Debug, Serialize)]
pub struct DatasetRef {
    /// Its chain.
    pub chain: &'static str,
    /// Tip height.
    pub tip_height: Option<u32>,
    /// Tip hash.
    pub tip_hash: Option<String>,
    /// SHA-256 of its `manifest.json`.
    pub manifest_sha256: String,
}

/// The seeds of a run.
#[derive(Debug, Serialize)]
pub struct SeedSummary {
    /// Seed outputs.
    pub outputs: usize,
    /// Their tainted satoshis.
    pub total_sat: u128,
}

/// Totals of one model.
#[derive(Debug, Serialize)]
pub struct PolicySummary {
    /// The model.
    pub policy: &'static str,
    /// Whether it conserves value.
    pub conserves: bool,
    /// Seeded satoshis.
    pub seeded_sat: u128,
    /// Satoshis per bucket.
    pub buckets: BTreeMap<&'static str, u128>,
    /// Sum of the buckets.
    pub bucket_total_sat: u128,
    /// For conserving models: whether the buckets sum to the seeded total exactly.
    pub conservation_holds: Option<bool>,
    /// Transactions visited.
    pub txs_visited: u64,
    /// Tainted outputs.
    pub tainted_outputs: usize,
    /// Seed outputs reached by other seeds' taint (their own seed taint is not counted twice).
    pub superseded_seeds: usize,
    /// Cash-outs by entity.
    pub cashouts: Vec<CashoutSummary>,
    /// Fiat value of each bucket at the time of each holding (decimal string), with `[fiat]`.
    pub buckets_fiat: Option<BTreeMap<&'static str, String>>,
    /// Fiat value of each bucket at the theft's time, with `[fiat]`.
    pub buckets_fiat_at_theft: Option<BTreeMap<&'static str, String>>,
}

/// Cash-out totals at one entity.
#[derive(Debug, Serialize, Clone, PartialEq, Eq)]
pub struct CashoutSummary {
    /// The entity.
    pub entity: String,
    /// Its category.
    pub category: String,
    /// Tainted satoshis received.
    pub amount_sat: u128,
    /// Deposits (outputs).
    pub deposits: usize,
    /// Fewest hops from a seed.
    pub min_hop: u32,
    /// First and last height of a deposit.
    pub first_height: u32,
    /// Last height of a deposit.
    pub last_height: u32,
}

/// Build the summary of a case run.
pub fn summarize(run: &CaseRun) -> Result<Summary, ExportError> {
    let pricing = pricing(run)?;
    let at_theft = theft_time(run);
    let ds = &run.dataset;
    let manifest = std::fs::read(ds.dir().join(MANIFEST_FILE)).unwrap_or_default();
    let mut policies = run
        .runs
        .iter()
        .map(|r| {
            let totals = r.result.totals();
            let bucket_total = r.result.bucket_total();
            PolicySummary {
                policy: r.policy,
                conserves: r.conserves,
                seeded_sat: r.result.seeded,
                buckets: totals.iter().map(|(b, v)| (b.name(), *v)).collect(),
                bucket_total_sat: bucket_total,
                conservation_holds: r.conserves.then_some(bucket_total == r.result.seeded),
                txs_visited: r.result.txs_visited,
                tainted_outputs: r.result.flows.len(),
                superseded_seeds: r.result.superseded_seeds.len(),
                cashouts: cashouts(run, &r.result),
                buckets_fiat: None,
                buckets_fiat_at_theft: None,
            }
        })
        .collect::<Vec<_>>();
    let mut stand_ins = std::collections::BTreeSet::new();
    if let Some(pricing) = &pricing {
        stand_ins.extend(pricing.stand_ins(at_theft));
        for (p, r) in policies.iter_mut().zip(&run.runs) {
            let mut now: BTreeMap<&'static str, i128> = BTreeMap::new();
            let mut then: BTreeMap<&'static str, i128> = BTreeMap::new();
            for e in &r.result.endpoints {
                let time = endpoint_time(run, e);
                stand_ins.extend(pricing.stand_ins(time));
                *now.entry(e.bucket.name()).or_default() +=
                    pricing.value(e.amount as u128, time)?;
                *then.entry(e.bucket.name()).or_default() +=
                    pricing.value(e.amount as u128, at_theft)?;
            }
            let fmt = |m: BTreeMap<&'static str, i128>| {
                m.into_iter()
                    .map(|(k, v)| (k, crate::fiat::format_minor(v)))
                    .collect()
            };
            p.buckets_fiat = Some(fmt(now));
            p.buckets_fiat_at_theft = Some(fmt(then));
        }
    }
    Ok(Summary {
        case: run.case.case.name.clone(),
        engine_version: env!("CARGO_PKG_VERSION"),
        case_sha256: run.case.sha256.clone(),
        dataset: DatasetRef {
            chain: ds.manifest().chain.name(),
            tip_height: ds.manifest().tip.as_ref().map(|t| t.height),
            tip_hash: ds.manifest().tip.as_ref().map(|t| t.hash.clone()),
            manifest_sha256: sha256_hex(&manifest),
        },
        parameters: run.case.trace.clone(),
        fiat_currency: pricing.as_ref().map(|p| p.currency.clone()),
        fiat_stand_ins: stand_ins
            .into_iter()
            .inspect(|s| {
                tracing::warn!(
                    "no {} close for {}: the close of {} was used (previous_day = true)",
                    s.series,
                    s.date,
                    s.used
                )
            })
            .collect(),
        seeds: SeedSummary {
            outputs: run.seeds.len(),
            total_sat: run
                .seeds
                .iter()
                .map(|s| s.amount.min(ds.value(s.out)) as u128)
                .sum(),
        },
        policies,
        loss_band: band::loss_band(run)
            .into_iter()
            .filter(|r| r.kind != "endpoint")
            .collect(),
    })
}

/// When an endpoint's holding happened: the block time of its output (or of the fee's tx).
pub fn endpoint_time(run: &CaseRun, e: &crate::trace::engine::Endpoint) -> u32 {
    let ds = &run.dataset;
    let tx = e
        .out
        .map(|o| ds.out_tx(o))
        .or(e.fee_tx)
        .unwrap_or(crate::store::TxIx(0));
    ds.block_time(ds.tx_height(tx))
}

/// Cash-outs of one trace, by entity (sorted by amount, then name).
pub fn cashouts(run: &CaseRun, result: &crate::trace::engine::TraceResult) -> Vec<CashoutSummary> {
    let ds = &run.dataset;
    let mut by: BTreeMap<(String, String), CashoutSummary> = BTreeMap::new();
    for e in result
        .endpoints
        .iter()
        .filter(|e| e.bucket == Bucket::CashedOut)
    {
        let (Some(label), Some(out)) = (&e.label, e.out) else {
            continue;
        };
        let height = ds.tx_height(ds.out_tx(out));
        let c = by
            .entry((label.entity.clone(), label.category.clone()))
            .or_insert_with(|| CashoutSummary {
                entity: label.entity.clone(),
                category: label.category.clone(),
                amount_sat: 0,
                deposits: 0,
                min_hop: u32::MAX,
                first_height: u32::MAX,
                last_height: 0,
            });
        c.amount_sat += e.amount as u128;
        c.deposits += 1;
        c.min_hop = c.min_hop.min(e.hop);
        c.first_height = c.first_height.min(height);
        c.last_height = c.last_height.max(height);
    }
    let mut v: Vec<CashoutSummary> = by.into_values().collect();
    v.sort_by(|a, b| {
        b.amount_sat
            .cmp(&a.amount_sat)
            .then_with(|| a.entity.cmp(&b.entity))
    });
    v
}

/// Write the results directory of a case run; returns the summary.
pub fn write_results(run: &CaseRun, dir: &Path) -> Result<Summary, ExportError> {
    let summary = summarize(run)?;
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |source| ExportError::Io { path, source }
    };
    // Every table is written before any appears: an error on the way leaves the old results.
    let tables = results::write_tables(run, dir, results::CHUNK_ROWS)?;
    let (name, bytes) = band::band_table(run, &band::loss_band(run))?;
    results::commit_all(tables)?;
    let path = dir.join(name);
    write_atomic(&path, &bytes).map_err(io(&path))?;
    let mut json = serde_json::to_string_pretty(&summary).expect("summary serializes");
    json.push('\n');
    let path = dir.join("summary.json");
    write_atomic(&path, json.as_bytes()).map_err(io(&path))?;
    Ok(summary)
}

/// Satoshis as a coin amount with 8 decimals, exactly (no floating point).
pub fn coins(sat: u128) -> String {
    format!("{}.{:08}", sat / 100_000_000, sat % 100_000_000)
}
