//! Fiat values from the real price series in ../shared/datasets/real/prices, computed exactly
//! from integer satoshis; expected figures are worked out here from the CSV text.

mod support;

use fundtrace::fiat::{fiat_minor_units, Decimal, PriceSeries, Pricing};
use support::*;

/// 2018-09-14 00:00 UTC, the day of the Zaif theft.
const ZAIF_DAY: u32 = 1_536_883_200;

fn close(csv: &str, date: &str, column: usize) -> String {
    csv.lines()
        .find(|l| l.starts_with(date))
        .unwrap()
        .split(',')
        .nth(column)
        .unwrap()
        .to_string()
}

/// Integer arithmetic on the decimal text: "728796.18" → (72879618, 2).
fn digits(text: &str) -> (i128, u32) {
    let (i, f) = text.split_once('.').unwrap_or((text, ""));
    (format!("{i}{f}").parse().unwrap(), f.len() as u32)
}

#[test]
fn zaif_loss_of_5966_btc_in_jpy_at_the_close_of_2018_09_14() {
    let Some(jpy) = real_data("prices/btc_jpy_daily_derived.csv") else {
        return;
    };
    let Some(usd) = real_data("prices/btc_usd_daily.csv") else {
        return;
    };
    let Some(fx) = real_data("prices/usd_jpy_daily_ecb.csv") else {
        return;
    };
    let sats: u128 = 5_966 * 100_000_000;

    // Direct series: 5966 × 728796.18 JPY, exactly (SOURCES.md quotes that close).
    let text = std::fs::read_to_string(&jpy).unwrap();
    let (m, scale) = digits(&close(&text, "2018-09-14", 1));
    assert_eq!((m, scale), (72_879_618, 2));
    let expected = 5_966 * m; // hundredths of a yen
    let direct = Pricing {
        currency: "JPY".into(),
        prices: PriceSeries::read(&jpy, Some("btc_jpy")).unwrap(),
        cross: None,
        previous_day: false,
    };
    assert_eq!(direct.value(sats, ZAIF_DAY).unwrap(), expected);
    assert_eq!(fundtrace::fiat::format_minor(expected), "4347998009.88");

    // Cross rate: BTC/USD × JPY/USD, rounded once, half to even, to hundredths.
    let (p, ps) = digits(&close(
        &std::fs::read_to_string(&usd).unwrap(),
        "2018-09-14",
        1,
    ));
    let (x, xs) = digits(&close(
        &std::fs::read_to_string(&fx).unwrap(),
        "2018-09-14",
        1,
    ));
    let exact = 5_966 * p * x; // scale ps + xs
    let div = 10i128.pow(ps + xs - 2);
    let (q, r) = (exact / div, exact % div);
    let cross_expected = if 2 * r > div || (2 * r == div && q % 2 == 1) {
        q + 1
    } else {
        q
    };
    let cross = Pricing {
        currency: "JPY".into(),
        prices: PriceSeries::read(&usd, None).unwrap(),
        cross: Some(PriceSeries::read(&fx, Some("jpy_per_usd")).unwrap()),
        previous_day: false,
    };
    assert_eq!(cross.value(sats, ZAIF_DAY).unwrap(), cross_expected);
    // The two differ only by the derived file's rounding of the close to 2 places.
    assert!((cross_expected - expected).abs() < 5_966);

    // A weekend: the ECB series has no 2018-09-15; an error names the date unless allowed.
    let err = cross
        .value(sats, ZAIF_DAY + 86_400)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("2018-09-15") && err.contains("previous_day"),
        "{err}"
    );
    let lenient = Pricing {
        previous_day: true,
        ..cross
    };
    assert!(lenient.value(sats, ZAIF_DAY + 86_400).is_ok());
}

#[test]
fn one_satoshi_rounds_half_to_even() {
    // 1 sat at 50.00 = 0.0000005 → 0.00; at 150.00 = 0.0000015 → 0.00; 1 BTC at 0.005 → 0.00 (half → even 0)
    let p = Decimal::parse("0.005").unwrap();
    assert_eq!(fiat_minor_units(100_000_000, p), Some(0));
    let p = Decimal::parse("0.015").unwrap();
    assert_eq!(fiat_minor_units(100_000_000, p), Some(2));
}

/// The demo theft valued in JPY: at the theft's day every bucket uses the same close, so the
/// buckets add up to the stolen amount's value (within one hundredth of a yen per endpoint row,
/// each row being rounded once).
#[test]
fn demo_trace_reports_buckets_in_jpy() {
    let Some(jpy) = real_data("prices/btc_jpy_daily_derived.csv") else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let ds = tmp.path().join("ds");
    ingest_blocks(
        &repo_root().join("datasets/demo/blocks"),
        "bitcoin-regtest",
        &ds,
    );
    let theft: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(repo_root().join("datasets/demo/truth/theft.json")).unwrap(),
    )
    .unwrap();
    let case = tmp.path().join("case.toml");
    std::fs::write(
        &case,
        format!(
            "[case]\nname = \"demo\"\ndataset = \"ds\"\nchain = \"bitcoin-regtest\"\n[seeds]\naddresses = [\"{}\"]\n\
             [trace]\npolicies = [\"fifo\"]\n[labels]\nfiles = [\"{}\"]\n[fiat]\ncurrency = \"JPY\"\nprices = \"{}\"\ncolumn = \"btc_jpy\"\n",
            theft["thief_address"].as_str().unwrap(),
            repo_root().join("datasets/demo/truth/labels.csv").display(),
            jpy.display()
        ),
    )
    .unwrap();
    let out = tmp.path().join("r");
    let summary = trace_summary(&case, &out);
    assert_eq!(summary["fiat_currency"], "JPY");
    // The demo's theft block (111) is at 2018-09-01 + 110 × 600 s: still 2018-09-01.
    let text = std::fs::read_to_string(&jpy).unwrap();
    let (m, _) = digits(&close(&text, "2018-09-01", 1));
    let stolen = theft["stolen_sat"].as_u64().unwrap() as i128;
    let expected = stolen * m / 100_000_000; // hundredths, before rounding
    let p = &summary["policies"][0];
    let total: i128 = p["buckets_fiat_at_theft"]
        .as_object()
        .unwrap()
        .values()
        .map(|v| {
            let (d, _) = digits(v.as_str().unwrap());
            d
        })
        .sum();
    let rows = p["cashouts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["deposits"].as_i64().unwrap())
        .sum::<i64>() as i128
        + 20;
    assert!((total - expected).abs() <= rows, "{total} vs {expected}");
}

/// A close missing from the series: an error naming the day, or with `previous_day = true` the
/// last earlier close, recorded in the summary and warned about on stderr.
#[test]
fn a_missing_close_is_an_error_or_a_recorded_stand_in() {
    let Some(jpy) = real_data("prices/btc_jpy_daily_derived.csv") else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    // The real series without 2018-09-01, the day of the demo's theft and deposits.
    let holed = tmp.path().join("holed.csv");
    let text: String = std::fs::read_to_string(&jpy)
        .unwrap()
        .lines()
        .filter(|l| !l.starts_with("2018-09-01,"))
        .map(|l| format!("{l}\n"))
        .collect();
    std::fs::write(&holed, text).unwrap();
    let ds = tmp.path().join("ds");
    ingest_blocks(
        &repo_root().join("datasets/demo/blocks"),
        "bitcoin-regtest",
        &ds,
    );
    let theft: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(repo_root().join("datasets/demo/truth/theft.json")).unwrap(),
    )
    .unwrap();
    let case_text = |previous_day: bool| {
        format!(
            "[case]\nname = \"demo\"\ndataset = \"ds\"\nchain = \"bitcoin-regtest\"\n[seeds]\naddresses = [\"{}\"]\n\
             [trace]\npolicies = [\"fifo\"]\n[fiat]\ncurrency = \"JPY\"\nprices = \"{}\"\ncolumn = \"btc_jpy\"\nprevious_day = {previous_day}\n",
            theft["thief_address"].as_str().unwrap(),
            holed.display()
        )
    };
    let case = tmp.path().join("case.toml");
    std::fs::write(&case, case_text(false)).unwrap();
    let out = tmp.path().join("r");
    let err = run_err(&[
        "trace",
        case.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(
        err.contains("2018-09-01") && err.contains("previous_day"),
        "{err}"
    );

    std::fs::write(&case, case_text(true)).unwrap();
    let run = fundtrace()
        .args([
            "--json",
            "trace",
            case.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert!(run.status.success());
    let summary: serde_json::Value = serde_json::from_slice(&run.stdout).unwrap();
    assert_eq!(
        summary["fiat_stand_ins"],
        serde_json::json!([{"series": "btc_jpy", "date": "2018-09-01", "used": "2018-08-31"}])
    );
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(
        stderr.contains("WARN") && stderr.contains("2018-09-01") && stderr.contains("2018-08-31"),
        "{stderr}"
    );
}
