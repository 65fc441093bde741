//! The loss band: for every cash-out entity, endpoint output and bucket, the smallest and the
//! largest tainted amount across the conserving models of a run (poison measures reach, not
//! loss, and is left out), so a compensating party sees how much the choice of model matters.

use std::collections::BTreeMap;
use std::sync::Arc;

use arrow::array::{ArrayRef, RecordBatch, StringArray, UInt64Array};
use arrow::datatypes::{DataType, Field, Schema};
use serde::Serialize;

use super::ExportError;
use crate::store::encode::to_parquet;
use crate::trace::engine::Bucket;
use crate::trace::run::CaseRun;

/// One row of the band.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BandRow {
    /// `bucket`, `cashout`, `endpoint`, or `summary` (stolen, cashed out, of which at mixers,
    /// unspent, fees, cut by stop conditions: keys numbered in reading order).
    pub kind: &'static str,
    /// The bucket name, the entity, or the endpoint's `txid:vout`.
    pub key: String,
    /// Smallest amount over the models (0 when a model has none).
    pub min_sat: u128,
    /// Largest amount.
    pub max_sat: u128,
    /// A model giving the smallest amount.
    pub min_model: &'static str,
    /// A model giving the largest amount.
    pub max_model: &'static str,
}

/// The band over the conserving models of `run` (empty when fewer than one).
pub fn loss_band(run: &CaseRun) -> Vec<BandRow> {
    let ds = &run.dataset;
    let models: Vec<_> = run.runs.iter().filter(|r| r.conserves).collect();
    // (kind, key) → amount per model, in model order.
    let mut table: BTreeMap<(&'static str, String), Vec<u128>> = BTreeMap::new();
    for (m, r) in models.iter().enumerate() {
        let mut add = |kind: &'static str, key: String, sat: u128| {
            let row = table
                .entry((kind, key))
                .or_insert_with(|| vec![0; models.len()]);
            row[m] += sat;
        };
        for b in Bucket::ALL {
            add("bucket", b.name().to_string(), 0);
        }
        // The compensating party's questions, one line each.
        add("summary", "1 stolen (seeded)".into(), r.result.seeded);
        for key in [
            "2 cashed out",
            "3 of which at mixers",
            "4 unspent",
            "5 fees",
            "6 cut by stop conditions",
        ] {
            add("summary", key.into(), 0);
        }
        for e in &r.result.endpoints {
            let line = match e.bucket {
                Bucket::CashedOut => Some("2 cashed out"),
                Bucket::Unspent => Some("4 unspent"),
                Bucket::Fees => Some("5 fees"),
                Bucket::HopCut | Bucket::DustCut | Bucket::DegreeCut | Bucket::BeyondWindow => {
                    Some("6 cut by stop conditions")
                }
                _ => None,
            };
            if let Some(line) = line {
                add("summary", line.into(), e.amount as u128);
            }
            if e.bucket == Bucket::CashedOut
                && e.label.as_ref().is_some_and(|l| l.category == "mixer")
            {
                add("summary", "3 of which at mixers".into(), e.amount as u128);
            }
            add("bucket", e.bucket.name().to_string(), e.amount as u128);
            if let Some(label) = e.label.as_ref().filter(|_| e.bucket == Bucket::CashedOut) {
                add("cashout", label.entity.clone(), e.amount as u128);
            }
            if let Some(o) = e.out {
                add(
                    "endpoint",
                    format!("{}:{}", ds.txid(ds.out_tx(o)), ds.vout(o)),
                    e.amount as u128,
                );
            }
        }
    }
    table
        .into_iter()
        .map(|((kind, key), amounts)| {
            let (imin, &min) = amounts
                .iter()
                .enumerate()
                .min_by_key(|(_, v)| **v)
                .expect("one model");
            let (imax, &max) = amounts
                .iter()
                .enumerate()
                .max_by_key(|(i, v)| (**v, std::cmp::Reverse(*i)))
                .expect("one model");
            BandRow {
                kind,
                key,
                min_sat: min,
                max_sat: max,
                min_model: models[imin].policy,
                max_model: models[imax].policy,
            }
        })
        .collect()
}

/// `loss_band.parquet` for `rows`.
pub fn band_table(run: &CaseRun, rows: &[BandRow]) -> Result<(&'static str, Vec<u8>), ExportError> {
    let sat = |v: u128| u64::try_from(v).unwrap_or(u64::MAX);
    let columns: Vec<ArrayRef> = vec![
        Arc::new(StringArray::from(vec![
            run.case.case.name.as_str();
            rows.len()
        ])),
        Arc::new(StringArray::from_iter_values(rows.iter().map(|r| r.kind))),
        Arc::new(StringArray::from_iter_values(
            rows.iter().map(|r| r.key.as_str()),
        )),
        Arc::new(UInt64Array::from_iter_values(
            rows.iter().map(|r| sat(r.min_sat)),
        )),
        Arc::new(UInt64Array::from_iter_values(
            rows.iter().map(|r| sat(r.max_sat)),
        )),
        Arc::new(StringArray::from_iter_values(
            rows.iter().map(|r| r.min_model),
        )),
        Arc::new(StringArray::from_iter_values(
            rows.iter().map(|r| r.max_model),
        )),
    ];
    let schema = Schema::new(vec![
        Field::new("case", DataType::Utf8, false),
        Field::new("kind", DataType::Utf8, false),
        Field::new("key", DataType::Utf8, false),
        Field::new("min_value", DataType::UInt64, false),
        Field::new("max_value", DataType::UInt64, false),
        Field::new("min_model", DataType::Utf8, false),
        Field::new("max_model", DataType::Utf8, false),
    ]);
    let batch =
        RecordBatch::try_new(Arc::new(schema), columns).expect("columns match their schema");
    Ok((
        "loss_band.parquet",
        to_parquet(&batch).map_err(|e| ExportError::Parquet("loss_band.parquet", e))?,
    ))
}
