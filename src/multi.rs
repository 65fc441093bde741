//! Multi-asset cases: one theft on several chains (Zaif lost BTC, BCH and MONA). A multi-asset
//! case file lists single-chain case files, one per dataset, each with its own seeds, labels and
//! prices; `fundtrace trace` runs each into `OUT/<asset case name>/` and writes `OUT/summary.json`
//! with the totals across assets in the common fiat currency, which `fundtrace report` renders.
//!
//! ```toml
//! [case]
//! name = "zaif-2018"
//! [[assets]]
//! case = "zaif-btc.toml"      # relative to this file
//! [[assets]]
//! case = "zaif-mona.toml"
//! [fiat]
//! currency = "JPY"            # every asset must be valued in it
//! ```

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use arrow::array::{Array, AsArray};
use arrow::datatypes::Decimal128Type;
use serde::{Deserialize, Serialize};

use crate::case::{Case, CaseError};
use crate::export::{ExportError, Summary};
use crate::fiat::format_minor;
use crate::store::atomic::write_atomic;
use crate::store::read::read_file;

/// A parsed multi-asset case file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MultiCase {
    /// Its name.
    pub case: MultiHeader,
    /// The single-chain cases.
    pub assets: Vec<AssetRef>,
    /// The common fiat currency.
    pub fiat: Option<MultiFiat>,
    /// SHA-256 of the file; set by [`MultiCase::load`].
    #[serde(skip)]
    pub sha256: String,
    /// The file's directory; set by [`MultiCase::load`].
    #[serde(skip)]
    pub dir: PathBuf,
}

/// `[case]` of a multi-asset case.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MultiHeader {
    /// The case's name.
    pub name: String,
}

/// One `[[assets]]` entry.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AssetRef {
    /// A single-chain case file, relative to the multi-asset case file.
    pub case: PathBuf,
}

/// `[fiat]` of a multi-asset case.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MultiFiat {
    /// The currency every asset is valued in.
    pub currency: String,
}

/// Errors of multi-asset cases.
#[derive(Debug, thiserror::Error)]
pub enum MultiError {
    /// The file is not a valid multi-asset case.
    #[error("case file {path}: {message}")]
    Invalid {
        /// The case file.
        path: PathBuf,
        /// What is wrong and how to fix it.
        message: String,
    },
    /// An asset's case file.
    #[error(transparent)]
    Case(#[from] CaseError),
    /// Running an asset.
    #[error("asset {asset}: {source}")]
    Run {
        /// The asset's case name.
        asset: String,
        /// The failure.
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// Writing or reading results.
    #[error(transparent)]
    Export(#[from] ExportError),
}

/// Whether the TOML file at `path` is a multi-asset case (it has `[[assets]]`).
pub fn is_multi(path: &Path) -> bool {
    std::fs::read_to_string(path)
        .ok()
        .and_then(|t| toml::from_str::<toml::Table>(&t).ok())
        .is_some_and(|t| t.contains_key("assets"))
}

/// Whether a case name can name its results directory: not empty, no path separator, not
/// starting with a dot.
pub fn is_plain_name(name: &str) -> bool {
    !name.is_empty() && !name.contains(['/', '\\']) && !name.starts_with('.')
}

impl MultiCase {
    /// Read and check a multi-asset case file and the asset case files it names.
    pub fn load(path: &Path) -> Result<(MultiCase, Vec<Case>), MultiError> {
        let invalid = |message: String| MultiError::Invalid {
            path: path.to_path_buf(),
            message,
        };
        let bytes = std::fs::read(path).map_err(|e| invalid(e.to_string()))?;
        let text = std::str::from_utf8(&bytes).map_err(|e| invalid(e.to_string()))?;
        let mut multi: MultiCase = toml::from_str(text).map_err(|e| invalid(e.to_string()))?;
        multi.sha256 = crate::store::atomic::sha256_hex(&bytes);
        multi.dir = path.parent().map(Path::to_path_buf).unwrap_or_default();
        if multi.assets.is_empty() {
            return Err(invalid(
                "[[assets]] is empty: list one case file per chain".into(),
            ));
        }
        let mut cases: Vec<Case> = Vec::new();
        for a in &multi.assets {
            let case = Case::load(&multi.dir.join(&a.case))?;
            let name = &case.case.name;
            if !is_plain_name(name) {
                return Err(invalid(format!(
                    "asset case {}: its [case] name '{name}' names its results directory: use a plain name (letters, digits, '-', '_')",
                    a.case.display()
                )));
            }
            if cases
                .iter()
                .any(|c| c.case.name.eq_ignore_ascii_case(&case.case.name))
            {
                return Err(invalid(format!(
                    "two assets are named '{}': give each asset case its own [case] name",
                    case.case.name
                )));
            }
            cases.push(case);
        }
        // Totals in one currency: every asset valued in the case's `[fiat]` currency, or,
        // without it, all assets in the same currency, or none priced.
        let wanted = multi
            .fiat
            .as_ref()
            .map(|f| f.currency.as_str())
            .or_else(|| {
                cases
                    .iter()
                    .find_map(|c| c.fiat.as_ref().map(|f| f.currency.as_str()))
            });
        if let Some(currency) = wanted {
            for case in &cases {
                match &case.fiat {
                    Some(cf) if cf.currency == currency => {}
                    Some(cf) => {
                        return Err(invalid(format!(
                            "asset '{}' is valued in {}, another in {currency}: value every asset in {currency}",
                            case.case.name, cf.currency
                        )))
                    }
                    None => {
                        return Err(invalid(format!(
                            "asset '{}' has no [fiat]: give it prices in {currency}",
                            case.case.name
                        )))
                    }
                }
            }
        }
        Ok((multi, cases))
    }
}

/// One asset in the multi-asset summary.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AssetSummary {
    /// The asset case's name (its results are in `OUT/<name>/`).
    pub name: String,
    /// Its chain.
    pub chain: String,
    /// Seeded base units.
    pub seeded_sat: u128,
    /// SHA-256 of its case file.
    pub case_sha256: String,
    /// SHA-256 of its dataset's manifest.
    pub manifest_sha256: String,
}

/// Totals of one model across assets, in fiat.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ModelTotals {
    /// The model.
    pub policy: String,
    /// Assets that ran this model with fiat values (the totals cover exactly these).
    pub assets: Vec<String>,
    /// Per bucket: fiat at the time of each holding, summed over the assets (decimal string).
    pub buckets_fiat: BTreeMap<String, String>,
    /// Per bucket: fiat at each asset's theft time, summed over the assets.
    pub buckets_fiat_at_theft: BTreeMap<String, String>,
    /// Per cash-out entity: fiat at the time of each deposit, summed over the assets.
    pub cashouts_fiat: BTreeMap<String, String>,
}

/// `summary.json` of a multi-asset run.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct MultiSummary {
    /// The case's name.
    pub case: String,
    /// fundtrace's version.
    pub engine_version: String,
    /// SHA-256 of the multi-asset case file.
    pub case_sha256: String,
    /// The fiat currency of the totals.
    pub fiat_currency: Option<String>,
    /// The assets, in the case file's order.
    pub assets: Vec<AssetSummary>,
    /// Totals per model across assets.
    pub totals: Vec<ModelTotals>,
}

/// Fiat minor units by bucket or entity.
type MinorUnits = BTreeMap<String, i128>;

/// Parse a fiat decimal string with two places (as `format_minor` writes it) to minor units.
fn parse_minor(text: &str) -> Option<i128> {
    let (neg, digits) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text),
    };
    if digits.starts_with('.') || digits.trim() != digits {
        return None;
    }
    let d = crate::fiat::Decimal::parse(digits).filter(|d| d.scale == 2)?;
    Some(if neg { -d.mantissa } else { d.mantissa })
}

/// Combine the asset summaries: exact sums of fiat minor units per model, bucket and entity.
pub fn combine(multi: &MultiCase, runs: &[(Summary, PathBuf)]) -> Result<MultiSummary, MultiError> {
    let mut assets = Vec::new();
    let mut totals: BTreeMap<String, (Vec<String>, [MinorUnits; 3])> = BTreeMap::new();
    let mut currency = multi.fiat.as_ref().map(|f| f.currency.clone());
    for (i, (s, dir)) in runs.iter().enumerate() {
        if let Some((other, _)) = runs[..i]
            .iter()
            .find(|(o, _)| o.dataset.manifest_sha256 == s.dataset.manifest_sha256)
        {
            return Err(MultiError::Invalid {
                path: multi.dir.clone(),
                message: format!(
                    "assets '{}' and '{}' trace the same dataset: its totals would count twice; give each chain one asset",
                    other.case, s.case
                ),
            });
        }
        assets.push(AssetSummary {
            name: s.case.clone(),
            chain: s.dataset.chain.to_string(),
            seeded_sat: s.seeds.total_sat,
            case_sha256: s.case_sha256.clone(),
            manifest_sha256: s.dataset.manifest_sha256.clone(),
        });
        if currency.is_none() {
            currency.clone_from(&s.fiat_currency);
        }
        if s.fiat_currency.is_none() {
            continue; // no asset is priced (checked at load)
        }
        if s.fiat_currency != currency {
            return Err(MultiError::Invalid {
                path: dir.join("summary.json"),
                message: format!(
                    "asset '{}' is valued in {:?}, the others in {:?}: value every asset in one currency",
                    s.case, s.fiat_currency, currency
                ),
            });
        }
        let cashouts = cashouts_fiat(dir)?;
        for p in &s.policies {
            let (Some(now), Some(at_theft)) = (&p.buckets_fiat, &p.buckets_fiat_at_theft) else {
                continue;
            };
            let t = totals.entry(p.policy.to_string()).or_default();
            t.0.push(s.case.clone());
            for (i, map) in [now, at_theft].into_iter().enumerate() {
                for (bucket, text) in map {
                    let v = parse_minor(text).ok_or_else(|| MultiError::Invalid {
                        path: dir.join("summary.json"),
                        message: format!("fiat value '{text}' is not a decimal with 2 places"),
                    })?;
                    *t.1[i].entry(bucket.to_string()).or_default() += v;
                }
            }
            for ((policy, entity), v) in &cashouts {
                if policy == p.policy {
                    *t.1[2].entry(entity.clone()).or_default() += v;
                }
            }
        }
    }
    let fmt = |m: &BTreeMap<String, i128>| {
        m.iter()
            .map(|(k, v)| (k.clone(), format_minor(*v)))
            .collect::<BTreeMap<_, _>>()
    };
    Ok(MultiSummary {
        case: multi.case.name.clone(),
        engine_version: env!("CARGO_PKG_VERSION").to_string(),
        case_sha256: multi.sha256.clone(),
        fiat_currency: currency,
        assets,
        totals: totals
            .into_iter()
            .map(|(policy, (assets, maps))| ModelTotals {
                policy,
                assets,
                buckets_fiat: fmt(&maps[0]),
                buckets_fiat_at_theft: fmt(&maps[1]),
                cashouts_fiat: fmt(&maps[2]),
            })
            .collect(),
    })
}

/// Fiat of cash-out endpoints per (model, entity) from a results directory, in minor units.
fn cashouts_fiat(dir: &Path) -> Result<BTreeMap<(String, String), i128>, MultiError> {
    let path = dir.join("endpoints.parquet");
    let mut out = BTreeMap::new();
    for b in read_file(&path, &["policy", "bucket", "entity", "fiat_value"])
        .map_err(ExportError::from)?
    {
        if b.column(3).data_type() != &arrow::datatypes::DataType::Decimal128(38, 2) {
            return Err(MultiError::Invalid {
                path,
                message:
                    "fiat_value is not Decimal128(38, 2): re-run the trace with this fundtrace"
                        .into(),
            });
        }
        let (Some(policy), Some(bucket), Some(entity), Some(fiat)) = (
            b.column(0).as_string_opt::<i32>(),
            b.column(1).as_string_opt::<i32>(),
            b.column(2).as_string_opt::<i32>(),
            b.column(3).as_primitive_opt::<Decimal128Type>(),
        ) else {
            return Err(MultiError::Invalid {
                path,
                message: "unexpected columns: re-run the trace with this fundtrace".into(),
            });
        };
        for i in 0..b.num_rows() {
            if bucket.value(i) == "cashed-out" && !entity.is_null(i) && !fiat.is_null(i) {
                *out.entry((policy.value(i).to_string(), entity.value(i).to_string()))
                    .or_default() += fiat.value(i);
            }
        }
    }
    Ok(out)
}

/// Write `OUT/summary.json` of a multi-asset run.
pub fn write_summary(out: &Path, summary: &MultiSummary) -> Result<(), MultiError> {
    let mut json = serde_json::to_string_pretty(summary).expect("summary serializes");
    json.push('\n');
    let path = out.join("summary.json");
    write_atomic(&path, json.as_bytes()).map_err(|source| {
        MultiError::Export(ExportError::Io {
            path: path.clone(),
            source,
        })
    })
}

/// The multi-asset report: `report.md` and a self-contained `report.html` with the assets and
/// the totals per model across them; each asset's own report is written beside.
pub fn write_report(dir: &Path, summary: &MultiSummary) -> Result<(), MultiError> {
    for a in &summary.assets {
        crate::export::report::write_report(&dir.join(&a.name))?;
    }
    let cur = summary
        .fiat_currency
        .clone()
        .unwrap_or_else(|| "fiat".into());
    let mut md = format!(
        "# Multi-asset trace report: {}\n\n- engine {} · case sha256 {}\n\n## Assets\n\n| asset | chain | seeded | case sha256 | dataset manifest sha256 | report |\n|---|---|---|---|---|---|\n",
        summary.case, summary.engine_version, summary.case_sha256
    );
    for a in &summary.assets {
        md.push_str(&format!(
            "| {} | {} | {} | {} | {} | [{}/report.html]({}/report.html) |\n",
            a.name,
            a.chain,
            crate::export::coins(a.seeded_sat),
            a.case_sha256,
            a.manifest_sha256,
            a.name,
            a.name
        ));
    }
    for t in &summary.totals {
        md.push_str(&format!(
            "\n## {} — totals across {} in {cur}\n\n| bucket | at each holding's time | at the theft's time |\n|---|---:|---:|\n",
            t.policy,
            t.assets.join(", ")
        ));
        for (bucket, v) in &t.buckets_fiat {
            let at = t
                .buckets_fiat_at_theft
                .get(bucket)
                .map_or("", String::as_str);
            md.push_str(&format!("| {bucket} | {v} | {at} |\n"));
        }
        if !t.cashouts_fiat.is_empty() {
            md.push_str(&format!("\n| cashed out at | {cur} |\n|---|---:|\n"));
            for (entity, v) in &t.cashouts_fiat {
                md.push_str(&format!("| {entity} | {v} |\n"));
            }
        }
    }
    let html =
        crate::export::report::markdown_to_html(&md, "fundtrace multi-asset report", true, |_| {
            None
        });
    let io = |path: PathBuf| {
        move |source| {
            MultiError::Export(ExportError::Io {
                path: path.clone(),
                source,
            })
        }
    };
    let p = dir.join("report.md");
    write_atomic(&p, md.as_bytes()).map_err(io(p.clone()))?;
    let p = dir.join("report.html");
    write_atomic(&p, html.as_bytes()).map_err(io(p.clone()))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn minor_units_round_trip_through_their_text() {
        for v in [0i128, 1, 99, 100, 12_345, -5, -12_300, 10i128.pow(30)] {
            assert_eq!(parse_minor(&format_minor(v)), Some(v));
        }
        for bad in [
            "", "1", "1.5", "1.234", "a.00", ".00", "1e3.00", "1.+5", "1.-1",
        ] {
            assert_eq!(parse_minor(bad), None, "{bad}");
        }
    }
}
