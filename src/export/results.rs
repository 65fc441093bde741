//! The result tables (one struct of columns each, as the store's tables): endpoints, flows and
//! cash-outs, across every model of a case run.

use std::sync::Arc;

use arrow::array::{
    ArrayRef, Decimal128Array, ListBuilder, RecordBatch, StringArray, StringBuilder,
    TimestampMillisecondArray, UInt32Array, UInt64Array,
};
use arrow::datatypes::{DataType, Field, Schema, TimeUnit};

use super::{cashouts, ExportError};
use crate::store::dataset::script_addresses;
use crate::store::encode::to_parquet;
use crate::store::{OutIx, ScriptId};
use crate::trace::paths::{endpoints_to_explain, widest_paths};
use crate::trace::run::CaseRun;

fn utf8(name: &str, nullable: bool) -> Field {
    Field::new(name, DataType::Utf8, nullable)
}

fn encode(
    name: &'static str,
    fields: Vec<Field>,
    columns: Vec<ArrayRef>,
) -> Result<(&'static str, Vec<u8>), ExportError> {
    let batch = RecordBatch::try_new(Arc::new(Schema::new(fields)), columns)
        .expect("columns match their schema");
    Ok((
        name,
        to_parquet(&batch).map_err(|e| ExportError::Parquet(name, e))?,
    ))
}

/// Where an output is: its transaction, vout, address, height, time.
struct Place<'a> {
    tx: crate::store::TxIx,
    vout: u32,
    address: &'a str,
    height: u32,
    time_ms: i64,
}

/// The encoded result tables: `(file name, Parquet bytes)`.
pub fn tables(run: &CaseRun) -> Result<Vec<(&'static str, Vec<u8>)>, ExportError> {
    let ds = &run.dataset;
    let mut scripts: Vec<ScriptId> = Vec::new();
    for r in &run.runs {
        scripts.extend(r.result.flows.iter().map(|f| ds.script_id(f.out)));
    }
    let names = script_addresses(ds, &scripts)?;
    let place = |out: OutIx| {
        let tx = ds.out_tx(out);
        let height = ds.tx_height(tx);
        Place {
            tx,
            vout: ds.vout(out),
            address: names.get(&ds.script_id(out)).map_or("", |n| n.0.as_str()),
            height,
            time_ms: ds.block_time(height) as i64 * 1000,
        }
    };
    // Txids as hex straight into their column: no string per row.
    let append_txid = |b: &mut StringBuilder, tx| {
        ds.push_txid_hex(tx, b);
        b.append_value("");
    };
    let case = run.case.case.name.as_str();
    let time_field = |n: &str| {
        Field::new(
            n,
            DataType::Timestamp(TimeUnit::Millisecond, Some("UTC".into())),
            true,
        )
    };

    // flows: one row per tainted output per model.
    let rows: usize = run.runs.iter().map(|r| r.result.flows.len()).sum();
    let (mut f_policy, mut f_hop, mut f_vout) = (vec![], vec![], vec![]);
    let mut f_txid = StringBuilder::with_capacity(rows, rows * 64);
    let mut f_addr = StringBuilder::with_capacity(rows, rows * 42);
    let (mut f_value, mut f_taint, mut f_height, mut f_time) = (vec![], vec![], vec![], vec![]);
    for r in &run.runs {
        for f in &r.result.flows {
            let p = place(f.out);
            f_policy.push(r.policy);
            f_hop.push(f.hop);
            append_txid(&mut f_txid, p.tx);
            f_vout.push(p.vout);
            f_addr.append_value(p.address);
            f_value.push(ds.value(f.out));
            f_taint.push(f.tainted);
            f_height.push(p.height);
            f_time.push(p.time_ms);
        }
    }
    let n = f_policy.len();
    let flows = encode(
        "flows.parquet",
        vec![
            utf8("case", false),
            utf8("policy", false),
            Field::new("hop", DataType::UInt32, false),
            utf8("txid", false),
            Field::new("vout", DataType::UInt32, false),
            utf8("address", false),
            Field::new("value", DataType::UInt64, false),
            Field::new("tainted_value", DataType::UInt64, false),
            Field::new("height", DataType::UInt32, false),
            time_field("time"),
        ],
        vec![
            Arc::new(StringArray::from(vec![case; n])),
            Arc::new(StringArray::from(f_policy)),
            Arc::new(UInt32Array::from(f_hop)),
            Arc::new(f_txid.finish()),
            Arc::new(UInt32Array::from(f_vout)),
            Arc::new(f_addr.finish()),
            Arc::new(UInt64Array::from(f_value)),
            Arc::new(UInt64Array::from(f_taint)),
            Arc::new(UInt32Array::from(f_height)),
            Arc::new(TimestampMillisecondArray::from(f_time).with_timezone("UTC")),
        ],
    )?;

    let pricing = super::pricing(run)?;
    let at_theft = super::theft_time(run);
    let fiat = |sats: u64, time: u32| -> Result<Option<i128>, ExportError> {
        Ok(match &pricing {
            Some(p) => Some(p.value(sats as u128, time)?),
            None => None,
        })
    };
    let decimal = |v: Vec<Option<i128>>| -> ArrayRef {
        Arc::new(
            Decimal128Array::from(v)
                .with_precision_and_scale(38, 2)
                .expect("valid precision"),
        )
    };
    let decimal_field = |n: &str| Field::new(n, DataType::Decimal128(38, 2), true);

    // endpoints: one row per bucket holding.
    let rows: usize = run.runs.iter().map(|r| r.result.endpoints.len()).sum();
    let (mut e_policy, mut e_bucket, mut e_vout) = (vec![], vec![], vec![]);
    let mut e_txid = StringBuilder::with_capacity(rows, rows * 64);
    let mut e_addr = StringBuilder::with_capacity(rows, rows * 42);
    let (mut e_entity, mut e_category, mut e_hop, mut e_taint, mut e_height) =
        (vec![], vec![], vec![], vec![], vec![]);
    let (mut e_fiat, mut e_fiat_theft) = (vec![], vec![]);
    for r in &run.runs {
        for e in &r.result.endpoints {
            e_policy.push(r.policy);
            e_bucket.push(e.bucket.name());
            match (e.out, e.fee_tx) {
                (Some(out), _) => {
                    let p = place(out);
                    append_txid(&mut e_txid, p.tx);
                    e_vout.push(Some(p.vout));
                    e_addr.append_value(p.address);
                    e_height.push(p.height);
                }
                (None, Some(tx)) => {
                    append_txid(&mut e_txid, tx);
                    e_vout.push(None);
                    e_addr.append_null();
                    e_height.push(ds.tx_height(tx));
                }
                (None, None) => unreachable!("an endpoint is an output or a fee"),
            }
            e_entity.push(e.label.as_ref().map(|l| l.entity.clone()));
            e_category.push(e.label.as_ref().map(|l| l.category.clone()));
            e_hop.push(e.hop);
            e_taint.push(e.amount);
            e_fiat.push(fiat(e.amount, super::endpoint_time(run, e))?);
            e_fiat_theft.push(fiat(e.amount, at_theft)?);
        }
    }
    let n = e_policy.len();
    let endpoints = encode(
        "endpoints.parquet",
        vec![
            utf8("case", false),
            utf8("policy", false),
            utf8("bucket", false),
            utf8("txid", true),
            Field::new("vout", DataType::UInt32, true),
            utf8("address", true),
            utf8("entity", true),
            utf8("category", true),
            Field::new("hop", DataType::UInt32, false),
            Field::new("tainted_value", DataType::UInt64, false),
            Field::new("height", DataType::UInt32, false),
            decimal_field("fiat_value"),
            decimal_field("fiat_value_at_theft"),
        ],
        vec![
            Arc::new(StringArray::from(vec![case; n])),
            Arc::new(StringArray::from(e_policy)),
            Arc::new(StringArray::from(e_bucket)),
            Arc::new(e_txid.finish()),
            Arc::new(UInt32Array::from(e_vout)),
            Arc::new(e_addr.finish()),
            Arc::new(StringArray::from(e_entity)),
            Arc::new(StringArray::from(e_category)),
            Arc::new(UInt32Array::from(e_hop)),
            Arc::new(UInt64Array::from(e_taint)),
            Arc::new(UInt32Array::from(e_height)),
            decimal(e_fiat),
            decimal(e_fiat_theft),
        ],
    )?;

    // cashouts: one row per entity reached per model.
    let (mut c_policy, mut c_entity, mut c_category, mut c_amount) =
        (vec![], vec![], vec![], vec![]);
    let (mut c_deposits, mut c_hop, mut c_first, mut c_last) = (vec![], vec![], vec![], vec![]);
    for r in &run.runs {
        for c in cashouts(run, &r.result) {
            c_policy.push(r.policy);
            c_entity.push(c.entity);
            c_category.push(c.category);
            c_amount.push(u64::try_from(c.amount_sat).unwrap_or(u64::MAX));
            c_deposits.push(c.deposits as u32);
            c_hop.push(c.min_hop);
            c_first.push(c.first_height);
            c_last.push(c.last_height);
        }
    }
    let n = c_policy.len();
    let cashout_table = encode(
        "cashouts.parquet",
        vec![
            utf8("case", false),
            utf8("policy", false),
            utf8("entity", false),
            utf8("category", false),
            Field::new("tainted_value", DataType::UInt64, false),
            Field::new("deposits", DataType::UInt32, false),
            Field::new("min_hop", DataType::UInt32, false),
            Field::new("first_height", DataType::UInt32, false),
            Field::new("last_height", DataType::UInt32, false),
        ],
        vec![
            Arc::new(StringArray::from(vec![case; n])),
            Arc::new(StringArray::from(c_policy)),
            Arc::new(StringArray::from(c_entity)),
            Arc::new(StringArray::from(c_category)),
            Arc::new(UInt64Array::from(c_amount)),
            Arc::new(UInt32Array::from(c_deposits)),
            Arc::new(UInt32Array::from(c_hop)),
            Arc::new(UInt32Array::from(c_first)),
            Arc::new(UInt32Array::from(c_last)),
        ],
    )?;
    // paths: the top-k widest paths from a seed to each endpoint output, per model.
    let k = run.case.trace.paths_top_k as usize;
    let (mut p_policy, mut p_endpoint, mut p_bucket, mut p_rank) = (vec![], vec![], vec![], vec![]);
    let (mut p_width, mut p_hops) = (vec![], vec![]);
    let mut p_path = ListBuilder::new(StringBuilder::new());
    let outpoint = |o: OutIx| format!("{}:{}", ds.txid(ds.out_tx(o)), ds.vout(o));
    let mut path_bytes = 0usize;
    for r in &run.runs {
        let buckets: std::collections::HashMap<OutIx, &'static str> = r
            .result
            .endpoints
            .iter()
            .filter_map(|e| e.out.map(|o| (o, e.bucket.name())))
            .collect();
        let explain = endpoints_to_explain(&r.result, run.case.trace.paths_max_endpoints as usize);
        for path in widest_paths(&r.result, k, &explain) {
            p_policy.push(r.policy);
            p_endpoint.push(outpoint(path.endpoint));
            p_bucket.push(buckets.get(&path.endpoint).copied().unwrap_or(""));
            p_rank.push(path.rank);
            p_width.push(path.width);
            p_hops.push(path.outputs.len() as u32 - 1);
            for &o in &path.outputs {
                let text = outpoint(o);
                path_bytes += text.len();
                if path_bytes > i32::MAX as usize {
                    return Err(ExportError::TooLarge(
                        "paths.parquet",
                        "lower [trace] paths_max_endpoints or paths_top_k in the case",
                    ));
                }
                p_path.values().append_value(text);
            }
            p_path.append(true);
        }
    }
    let n = p_policy.len();
    let paths = encode(
        "paths.parquet",
        vec![
            utf8("case", false),
            utf8("policy", false),
            utf8("endpoint", false),
            utf8("bucket", false),
            Field::new("rank", DataType::UInt32, false),
            Field::new("tainted_value", DataType::UInt64, false),
            Field::new("hops", DataType::UInt32, false),
            Field::new(
                "path",
                DataType::List(Arc::new(Field::new("item", DataType::Utf8, true))),
                false,
            ),
        ],
        vec![
            Arc::new(StringArray::from(vec![case; n])),
            Arc::new(StringArray::from(p_policy)),
            Arc::new(StringArray::from(p_endpoint)),
            Arc::new(StringArray::from(p_bucket)),
            Arc::new(UInt32Array::from(p_rank)),
            Arc::new(UInt64Array::from(p_width)),
            Arc::new(UInt32Array::from(p_hops)),
            Arc::new(p_path.finish()),
        ],
    )?;
    Ok(vec![flows, endpoints, cashout_table, paths])
}
