//! The result tables (one struct of columns each, as the store's tables): endpoints, flows,
//! cash-outs and paths, across every model of a case run.
//!
//! Flows and endpoints have a row per tainted output (millions for a poison trace reaching most
//! of a chain): they are built and written a chunk of rows at a time, the next chunk built while
//! the last one is encoded, so their columns take the memory of two chunks whatever the trace's
//! size (the addresses of the tainted outputs, rendered once for both tables, still grow with
//! it), and no text column nears Arrow's 2 GiB limit.

use std::ops::Range;
use std::path::Path;
use std::sync::Arc;

use arrow::array::{
    ArrayRef, Decimal128Array, ListBuilder, RecordBatch, StringArray, StringBuilder,
    TimestampMillisecondArray, UInt32Array, UInt64Array,
};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef, TimeUnit};

use super::{cashouts, ExportError};
use crate::store::dataset::script_addresses;
use crate::store::encode::{export_properties, ROW_GROUP_ROWS};
use crate::store::stream::AtomicParquet;
use crate::store::{OutIx, ScriptId};
use crate::trace::paths::{endpoints_to_explain, widest_paths};
use crate::trace::run::CaseRun;

/// Rows of a large table built and encoded at a time: four row groups.
pub const CHUNK_ROWS: usize = 4 * ROW_GROUP_ROWS;

fn utf8(name: &str, nullable: bool) -> Field {
    Field::new(name, DataType::Utf8, nullable)
}

/// Write table `name` of `fields` into `dir` (atomically), its `rows` rows built a chunk at a
/// time by `build(range)`: the columns of those rows. A chunk is built while the one before is
/// encoded (both on rayon).
fn write_chunked<B>(
    dir: &Path,
    name: &'static str,
    fields: Vec<Field>,
    (rows, chunk_rows): (usize, usize),
    mut build: B,
) -> Result<Table, ExportError>
where
    B: FnMut(Range<usize>) -> Result<Vec<ArrayRef>, ExportError> + Send,
{
    let path = dir.join(name);
    let written = |source| ExportError::Write {
        path: path.clone(),
        source,
    };
    let schema: SchemaRef = Arc::new(Schema::new(fields));
    let batch = |columns| {
        RecordBatch::try_new(schema.clone(), columns).expect("columns match their schema")
    };
    let mut file = AtomicParquet::with_properties(&path, schema.clone(), export_properties())
        .map_err(written)?;
    let mut pending: Option<RecordBatch> = None;
    let mut start = 0;
    loop {
        let range = start..rows.min(start + chunk_rows.max(1));
        let last = range.end == rows;
        let (done, built) = rayon::join(
            || pending.take().map_or(Ok(()), |b| file.write(&b)),
            || build(range.clone()),
        );
        done.map_err(written)?;
        pending = Some(batch(built?));
        if last {
            break;
        }
        start = range.end;
    }
    if let Some(b) = pending {
        file.write(&b).map_err(written)?;
    }
    Ok(Table { path, file })
}

/// A written table not yet committed: its file appears at [`commit_all`].
pub struct Table {
    path: std::path::PathBuf,
    file: AtomicParquet,
}

/// Commit written tables: each is synced and renamed to its path.
pub fn commit_all(tables: Vec<Table>) -> Result<(), ExportError> {
    for Table { path, file } in tables {
        file.commit()
            .map_err(|source| ExportError::Write { path, source })?;
    }
    Ok(())
}

/// Write a small table whole into `dir`, uncommitted.
fn write_whole(
    dir: &Path,
    name: &'static str,
    fields: Vec<Field>,
    columns: Vec<ArrayRef>,
) -> Result<Table, ExportError> {
    let rows = columns.first().map_or(0, |c| c.len());
    let mut columns = Some(columns);
    write_chunked(dir, name, fields, (rows, rows), move |_| {
        Ok(columns.take().expect("a small table is one chunk"))
    })
}

/// The rows `range` of the concatenation of `parts` (a model's name and its rows, in model
/// order): `(model, row)`.
fn rows_in<'r, T>(
    parts: Vec<(&'static str, &'r [T])>,
    range: Range<usize>,
) -> impl Iterator<Item = (&'static str, &'r T)> {
    let mut skip = range.start;
    let mut take = range.len();
    parts.into_iter().flat_map(move |(policy, all)| {
        let from = skip.min(all.len());
        skip -= from;
        let to = from + take.min(all.len() - from);
        take -= to - from;
        all[from..to].iter().map(move |row| (policy, row))
    })
}

/// Where an output is: its transaction, vout, address, height, time.
struct Place<'a> {
    tx: crate::store::TxIx,
    vout: u32,
    address: &'a str,
    height: u32,
    time_ms: i64,
}

/// Write the result tables into `dir` (flows, endpoints, cash-outs and paths), uncommitted:
/// [`commit_all`] makes them appear, so an error on the way leaves the directory as it was.
/// Flows and endpoints are built `chunk_rows` rows at a time ([`CHUNK_ROWS`] in `trace`); the
/// files do not depend on it.
pub fn write_tables(
    run: &CaseRun,
    dir: &Path,
    chunk_rows: usize,
) -> Result<Vec<Table>, ExportError> {
    let ds = &run.dataset;
    let names = {
        let mut scripts: Vec<ScriptId> = Vec::new();
        for r in &run.runs {
            scripts.extend(r.result.flows.iter().map(|f| ds.script_id(f.out)));
        }
        script_addresses(ds, &scripts)?
    };
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
    let flows = write_chunked(
        dir,
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
        (rows, chunk_rows),
        |range| {
            let n = range.len();
            let (mut f_policy, mut f_hop, mut f_vout) = (
                Vec::with_capacity(n),
                Vec::with_capacity(n),
                Vec::with_capacity(n),
            );
            let mut f_txid = StringBuilder::with_capacity(n, n * 64);
            let mut f_addr = StringBuilder::with_capacity(n, n * 42);
            let (mut f_value, mut f_taint, mut f_height, mut f_time) = (
                Vec::with_capacity(n),
                Vec::with_capacity(n),
                Vec::with_capacity(n),
                Vec::with_capacity(n),
            );
            let parts = run.runs.iter().map(|r| (r.policy, &r.result.flows[..]));
            for (policy, f) in rows_in(parts.collect(), range) {
                let p = place(f.out);
                f_policy.push(policy);
                f_hop.push(f.hop);
                append_txid(&mut f_txid, p.tx);
                f_vout.push(p.vout);
                f_addr.append_value(p.address);
                f_value.push(ds.value(f.out));
                f_taint.push(f.tainted);
                f_height.push(p.height);
                f_time.push(p.time_ms);
            }
            Ok(vec![
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
            ])
        },
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
    let endpoints = write_chunked(
        dir,
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
        (rows, chunk_rows),
        |range| {
            let n = range.len();
            let (mut e_policy, mut e_bucket, mut e_vout) = (
                Vec::with_capacity(n),
                Vec::with_capacity(n),
                Vec::with_capacity(n),
            );
            let mut e_txid = StringBuilder::with_capacity(n, n * 64);
            let mut e_addr = StringBuilder::with_capacity(n, n * 42);
            let (mut e_entity, mut e_category) = (Vec::with_capacity(n), Vec::with_capacity(n));
            let (mut e_hop, mut e_taint, mut e_height) = (
                Vec::with_capacity(n),
                Vec::with_capacity(n),
                Vec::with_capacity(n),
            );
            let (mut e_fiat, mut e_fiat_theft) = (Vec::with_capacity(n), Vec::with_capacity(n));
            let parts = run.runs.iter().map(|r| (r.policy, &r.result.endpoints[..]));
            for (policy, e) in rows_in(parts.collect(), range) {
                e_policy.push(policy);
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
                e_entity.push(e.label.as_ref().map(|l| l.entity.as_str()));
                e_category.push(e.label.as_ref().map(|l| l.category.as_str()));
                e_hop.push(e.hop);
                e_taint.push(e.amount);
                e_fiat.push(fiat(e.amount, super::endpoint_time(run, e))?);
                e_fiat_theft.push(fiat(e.amount, at_theft)?);
            }
            Ok(vec![
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
            ])
        },
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
    let cashout_table = write_whole(
        dir,
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
    let paths = write_whole(
        dir,
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::encode::{with_arrow_writer, with_arrow_writer_and};

    #[test]
    fn rows_in_a_range_cross_the_models_in_order() {
        let (a, b, c) = ([1, 2, 3], [], [4, 5]);
        let parts = || vec![("a", &a[..]), ("b", &b[..]), ("c", &c[..])];
        let all: Vec<(&str, i32)> = vec![("a", 1), ("a", 2), ("a", 3), ("c", 4), ("c", 5)];
        for start in 0..=all.len() {
            for end in start..=all.len() {
                let got: Vec<(&str, i32)> =
                    rows_in(parts(), start..end).map(|(p, &v)| (p, v)).collect();
                assert_eq!(got, all[start..end], "{start}..{end}");
            }
        }
    }

    #[test]
    fn a_table_written_in_chunks_is_the_table_written_whole() {
        let dir = tempfile::tempdir().unwrap();
        let rows = ROW_GROUP_ROWS * 2 + 3;
        // A txid and an address column: the export's own settings (compressed) must apply.
        let fields = || {
            vec![
                Field::new("n", DataType::UInt64, false),
                utf8("txid", false),
                utf8("address", false),
            ]
        };
        let columns = |r: Range<usize>| -> Vec<ArrayRef> {
            vec![
                Arc::new(UInt64Array::from_iter_values(
                    r.clone().map(|i| i as u64 * 3),
                )),
                Arc::new(StringArray::from_iter_values(
                    r.clone().map(|i| format!("{:064x}", i / 3)),
                )),
                Arc::new(StringArray::from_iter_values(
                    r.map(|i| format!("addr{}", i % 50)),
                )),
            ]
        };
        let whole =
            RecordBatch::try_new(Arc::new(Schema::new(fields())), columns(0..rows)).unwrap();
        let expected = with_arrow_writer_and(&whole, export_properties());
        assert!(
            expected.len() < with_arrow_writer(&whole).len() / 2,
            "txids and addresses are compressed"
        );
        for chunk in [7, ROW_GROUP_ROWS - 1, ROW_GROUP_ROWS, CHUNK_ROWS] {
            let table = write_chunked(dir.path(), "t.parquet", fields(), (rows, chunk), |r| {
                Ok(columns(r))
            })
            .unwrap();
            assert!(
                !dir.path().join("t.parquet").exists(),
                "not before the commit"
            );
            commit_all(vec![table]).unwrap();
            let got = std::fs::read(dir.path().join("t.parquet")).unwrap();
            assert!(got == expected, "chunks of {chunk} rows");
            std::fs::remove_file(dir.path().join("t.parquet")).unwrap();
        }
        let empty = write_whole(dir.path(), "empty.parquet", fields(), columns(0..0));
        commit_all(vec![empty.unwrap()]).unwrap();
        let none = RecordBatch::new_empty(Arc::new(Schema::new(fields())));
        assert_eq!(
            std::fs::read(dir.path().join("empty.parquet")).unwrap(),
            with_arrow_writer_and(&none, export_properties())
        );
        assert_eq!(
            std::fs::read_dir(dir.path()).unwrap().count(),
            1,
            "no temp left"
        );
    }

    #[test]
    fn a_failing_table_leaves_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let fields = vec![Field::new("n", DataType::UInt64, false)];
        let failed = write_chunked(dir.path(), "t.parquet", fields, (100, 10), |r| {
            if r.start >= 50 {
                return Err(ExportError::TooLarge("t.parquet", "test"));
            }
            Ok(vec![
                Arc::new(UInt64Array::from_iter_values(r.map(|i| i as u64))) as ArrayRef,
            ])
        });
        assert!(failed.is_err());
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
    }
}
