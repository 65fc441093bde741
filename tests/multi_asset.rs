//! Multi-asset cases: a theft on two chains (generated Zaif-like BTC and MONA chains, each from
//! its own genesis), each asset traced with its own prices, the totals summed in JPY. The BTC
//! prices are the real daily closes in ../shared; the MONA series is a constant 250.00 JPY made
//! up for this test, so its fiat values follow from the satoshis alone.

mod support;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use arrow::array::{Array, AsArray};
use arrow::datatypes::UInt64Type;
use fundtrace::store::read::read_file;
use support::*;

/// Generate and ingest a small Zaif-like chain; returns (dataset, truth dir, theft txid).
fn chain(root: &Path, chain: &str, seed: &str) -> (PathBuf, PathBuf, String) {
    let gen = root.join(format!("{chain}-gen"));
    run_ok(&[
        "generate",
        "--scenario",
        "zaif",
        "--chain",
        chain,
        "--txs",
        "3000",
        "--txs-per-block",
        "25",
        "--seed",
        seed,
        "--out",
        gen.to_str().unwrap(),
    ]);
    let ds = root.join(format!("{chain}-ds"));
    ingest_blocks(&gen.join("blocks"), chain, &ds);
    let theft: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(gen.join("truth/theft.json")).unwrap())
            .unwrap();
    let txid = theft["theft_txids"][0].as_str().unwrap().to_string();
    (ds, gen.join("truth"), txid)
}

fn asset_case(
    root: &Path,
    name: &str,
    chain: &str,
    ds: &Path,
    truth: &Path,
    txid: &str,
    fiat: &str,
) {
    std::fs::write(
        root.join(format!("{name}.toml")),
        format!(
            r#"[case]
name = "{name}"
dataset = "{ds}"
chain = "{chain}"
[seeds]
txids = ["{txid}"]
[trace]
policies = ["haircut", "fifo", "poison"]
max_hops = 40
stop_at_categories = ["exchange", "gambling", "mixer"]
[labels]
files = ["{labels}"]
[fiat]
{fiat}
"#,
            ds = ds.display(),
            labels = truth.join("labels.csv").display()
        ),
    )
    .unwrap();
}

/// Minor units by (policy, bucket or entity).
type ByPolicyAnd = BTreeMap<(String, String), i128>;

/// Σ over endpoints of round-half-even(sats × 250.00 JPY) in minor units, per (policy, bucket)
/// and per (policy, entity) of cash-outs.
fn mona_expected(results: &Path) -> (ByPolicyAnd, ByPolicyAnd) {
    let (mut buckets, mut cashouts) = (BTreeMap::new(), BTreeMap::new());
    let cols = ["policy", "bucket", "entity", "tainted_value"];
    for b in read_file(&results.join("endpoints.parquet"), &cols).unwrap() {
        let (policy, bucket, entity) = (
            b.column(0).as_string::<i32>(),
            b.column(1).as_string::<i32>(),
            b.column(2).as_string::<i32>(),
        );
        let sats = b.column(3).as_primitive::<UInt64Type>();
        for i in 0..b.num_rows() {
            // 250.00 JPY per coin: sats × 25,000 minor units / 10^8, half to even.
            let n = sats.value(i) as i128 * 25_000;
            let (q, r) = (n / 100_000_000, n % 100_000_000);
            let v = match r.cmp(&(100_000_000 - r)) {
                std::cmp::Ordering::Less => q,
                std::cmp::Ordering::Greater => q + 1,
                std::cmp::Ordering::Equal => q + (q & 1),
            };
            let p = policy.value(i).to_string();
            *buckets
                .entry((p.clone(), bucket.value(i).to_string()))
                .or_default() += v;
            if bucket.value(i) == "cashed-out" && !entity.is_null(i) {
                *cashouts
                    .entry((p, entity.value(i).to_string()))
                    .or_default() += v;
            }
        }
    }
    (buckets, cashouts)
}

fn minor(text: &str) -> i128 {
    let (w, f) = text.split_once('.').unwrap();
    w.parse::<i128>().unwrap() * 100 + f.parse::<i128>().unwrap()
}

#[test]
fn a_theft_on_two_chains_is_totalled_in_one_currency() {
    let Some(btc_prices) = real_data("prices/btc_jpy_daily_derived.csv") else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    let (btc_ds, btc_truth, btc_txid) = chain(root, "bitcoin", "1");
    let (mona_ds, mona_truth, mona_txid) = chain(root, "monacoin", "2");
    let mona_prices = root.join("mona_jpy.csv");
    let mut csv = String::from("date,close\n");
    for day in 25..=31 {
        csv.push_str(&format!("2018-08-{day},250.00\n"));
    }
    for day in 1..=30 {
        csv.push_str(&format!("2018-09-{day:02},250.00\n"));
    }
    std::fs::write(&mona_prices, csv).unwrap();
    asset_case(
        root,
        "zaif-btc",
        "bitcoin",
        &btc_ds,
        &btc_truth,
        &btc_txid,
        &format!(
            "prices = \"{}\"\ncolumn = \"btc_jpy\"\ncurrency = \"JPY\"",
            btc_prices.display()
        ),
    );
    asset_case(
        root,
        "zaif-mona",
        "monacoin",
        &mona_ds,
        &mona_truth,
        &mona_txid,
        &format!("prices = \"{}\"\ncurrency = \"JPY\"", mona_prices.display()),
    );
    let multi = root.join("zaif.toml");
    std::fs::write(
        &multi,
        "[case]\nname = \"zaif-2018\"\n[[assets]]\ncase = \"zaif-btc.toml\"\n[[assets]]\ncase = \"zaif-mona.toml\"\n[fiat]\ncurrency = \"JPY\"\n",
    )
    .unwrap();
    let out = root.join("results");
    let summary: serde_json::Value = serde_json::from_str(&run_ok(&[
        "--json",
        "trace",
        multi.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]))
    .unwrap();
    assert_eq!(summary["fiat_currency"], "JPY");
    let names: Vec<&str> = summary["assets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["zaif-btc", "zaif-mona"]);
    assert_eq!(summary["assets"][1]["chain"], "monacoin");

    let btc: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("zaif-btc/summary.json")).unwrap())
            .unwrap();
    let (mona_buckets, mona_cashouts) = mona_expected(&out.join("zaif-mona"));
    let mut btc_cashouts: ByPolicyAnd = BTreeMap::new();
    let cols = ["policy", "bucket", "entity", "fiat_value"];
    for b in read_file(&out.join("zaif-btc/endpoints.parquet"), &cols).unwrap() {
        let fiat = b
            .column(3)
            .as_primitive::<arrow::datatypes::Decimal128Type>();
        for i in 0..b.num_rows() {
            if b.column(1).as_string::<i32>().value(i) == "cashed-out" {
                *btc_cashouts
                    .entry((
                        b.column(0).as_string::<i32>().value(i).to_string(),
                        b.column(2).as_string::<i32>().value(i).to_string(),
                    ))
                    .or_default() += fiat.value(i);
            }
        }
    }
    let totals = summary["totals"].as_array().unwrap();
    assert_eq!(totals.len(), 3);
    for t in totals {
        let policy = t["policy"].as_str().unwrap();
        assert_eq!(t["assets"], serde_json::json!(["zaif-btc", "zaif-mona"]));
        let btc_policy = btc["policies"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["policy"] == policy)
            .unwrap();
        for (bucket, total) in t["buckets_fiat"].as_object().unwrap() {
            let b = minor(btc_policy["buckets_fiat"][bucket].as_str().unwrap());
            let m = mona_buckets
                .get(&(policy.to_string(), bucket.clone()))
                .copied()
                .unwrap_or(0);
            assert_eq!(minor(total.as_str().unwrap()), b + m, "{policy} {bucket}");
        }
        let mut expected: BTreeMap<String, i128> = BTreeMap::new();
        for ((p, e), v) in mona_cashouts.iter().chain(&btc_cashouts) {
            if p == policy {
                *expected.entry(e.clone()).or_default() += v;
            }
        }
        let got: BTreeMap<String, i128> = t["cashouts_fiat"]
            .as_object()
            .unwrap()
            .iter()
            .map(|(e, v)| (e.clone(), minor(v.as_str().unwrap())))
            .collect();
        assert_eq!(got, expected, "{policy}");
        assert!(got.len() >= 5, "both thieves cash out at the exchanges");
    }

    // The report covers both assets and links their own reports.
    run_ok(&["report", out.to_str().unwrap()]);
    let html = std::fs::read_to_string(out.join("report.html")).unwrap();
    for name in ["zaif-btc", "zaif-mona", "monacoin", "bitcoin", "JPY"] {
        assert!(html.contains(name), "{name}");
    }
    assert!(html.contains("<a href=\"zaif-mona/report.html\">"));
    assert!(
        out.join("zaif-btc/report.html").exists() && out.join("zaif-mona/report.html").exists()
    );

    // An asset valued in another currency is refused, naming it.
    std::fs::write(
        root.join("usd.toml"),
        std::fs::read_to_string(&multi)
            .unwrap()
            .replace("JPY", "USD"),
    )
    .unwrap();
    let err = run_err(&["trace", root.join("usd.toml").to_str().unwrap()]);
    assert!(
        err.contains("zaif-btc") && err.contains("JPY") && err.contains("USD"),
        "{err}"
    );
}
