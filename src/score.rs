//! Scoring a trace against a generated chain's ground truth: per taint model, which cash-out
//! exchanges it reached (precision and recall against the exchanges the thief really used) and
//! how much it found at each entity against the amount really deposited there.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use arrow::array::{Array, AsArray, RecordBatch};
use arrow::datatypes::UInt64Type;

use crate::store::read::read_file;

/// Errors of scoring.
#[derive(Debug, thiserror::Error)]
pub enum ScoreError {
    /// A results or truth file is missing or unreadable.
    #[error("cannot read {path}: {message}; {fix}")]
    Read {
        /// The file.
        path: PathBuf,
        /// What failed.
        message: String,
        /// How to fix it.
        fix: &'static str,
    },
}

/// Amounts at one entity, truth against trace.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct EntityScore {
    /// The entity.
    pub entity: String,
    /// Its category.
    pub category: String,
    /// Stolen satoshis the thief deposited there (truth).
    pub truth_sat: u128,
    /// Tainted satoshis the model found there.
    pub found_sat: u128,
}

/// The score of one taint model.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct PolicyScore {
    /// The model.
    pub policy: String,
    /// Exchanges the model reached that the thief used.
    pub true_positives: Vec<String>,
    /// Exchanges the model reached that the thief did not use.
    pub false_positives: Vec<String>,
    /// Exchanges the thief used that the model missed.
    pub false_negatives: Vec<String>,
    /// |reached ∩ truth| / |reached| (1 when nothing was reached).
    pub precision: f64,
    /// |reached ∩ truth| / |truth| (1 when the truth has no exchange).
    pub recall: f64,
    /// Σ min(found, truth) over the truth's cash-out entities, in satoshis: the part of the
    /// real cash-outs the model attributes to the right entity.
    pub matched_sat: u128,
    /// Per entity of the truth or of the trace (exchange and gambling cash-outs).
    pub entities: Vec<EntityScore>,
}

/// The score of a results directory.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Score {
    /// Stolen satoshis cashed out at services, by the truth.
    pub truth_cashed_out_sat: u128,
    /// One entry per model, in the results' order.
    pub policies: Vec<PolicyScore>,
}

/// Score the results in `results` against the truth in `truth` (a generated chain's `truth/`
/// directory). Only the categories the truth uses for cash-outs count: `exchange` for precision
/// and recall, every cash-out category for amounts.
pub fn score(results: &Path, truth: &Path) -> Result<Score, ScoreError> {
    let truth_rows = read_rows(
        &truth.join("endpoints.parquet"),
        &["kind", "entity", "category", "value"],
        "point TRUTH_DIR at the truth/ directory written by `fundtrace generate`",
    )?;
    let mut truth_at: BTreeMap<(String, String), u128> = BTreeMap::new();
    for b in &truth_rows {
        let (kind, entity, category) = (
            b.column(0).as_string::<i32>(),
            b.column(1).as_string::<i32>(),
            b.column(2).as_string::<i32>(),
        );
        let value = b.column(3).as_primitive::<UInt64Type>();
        for i in 0..b.num_rows() {
            if kind.value(i) == "cashout" {
                if entity.is_null(i) || category.is_null(i) {
                    return Err(ScoreError::Read {
                        path: truth.join("endpoints.parquet"),
                        message: format!("row {i}: a cash-out without entity or category"),
                        fix: "regenerate the truth with `fundtrace generate`",
                    });
                }
                *truth_at
                    .entry((entity.value(i).to_string(), category.value(i).to_string()))
                    .or_default() += value.value(i) as u128;
            }
        }
    }
    let cashout_categories: BTreeSet<String> = truth_at.keys().map(|k| k.1.clone()).collect();
    let found_rows = read_rows(
        &results.join("cashouts.parquet"),
        &["policy", "entity", "category", "tainted_value"],
        "point RESULTS_DIR at a directory written by `fundtrace trace`",
    )?;
    let mut policies: Vec<String> = Vec::new();
    let mut found: BTreeMap<(String, String, String), u128> = BTreeMap::new();
    for b in &found_rows {
        let (policy, entity, category) = (
            b.column(0).as_string::<i32>(),
            b.column(1).as_string::<i32>(),
            b.column(2).as_string::<i32>(),
        );
        let value = b.column(3).as_primitive::<UInt64Type>();
        for i in 0..b.num_rows() {
            if !policies.iter().any(|p| p == policy.value(i)) {
                policies.push(policy.value(i).to_string());
            }
            *found
                .entry((
                    policy.value(i).to_string(),
                    entity.value(i).to_string(),
                    category.value(i).to_string(),
                ))
                .or_default() += value.value(i) as u128;
        }
    }
    // Models that reached nothing have no cash-out rows: take the list from summary.json.
    if let Ok(text) = std::fs::read_to_string(results.join("summary.json")) {
        if let Ok(json) = serde_json::from_str::<serde_json::Value>(&text) {
            for p in json["policies"].as_array().into_iter().flatten() {
                if let Some(p) = p["policy"].as_str() {
                    if !policies.iter().any(|q| q == p) {
                        policies.push(p.to_string());
                    }
                }
            }
        }
    }
    let truth_exchanges: BTreeSet<&str> = truth_at
        .keys()
        .filter(|k| k.1 == "exchange")
        .map(|k| k.0.as_str())
        .collect();
    let policies = policies
        .into_iter()
        .map(|policy| {
            let mine: BTreeMap<(&str, &str), u128> = found
                .iter()
                .filter(|(k, _)| k.0 == policy && cashout_categories.contains(&k.2))
                .map(|(k, &v)| ((k.1.as_str(), k.2.as_str()), v))
                .collect();
            let reached: BTreeSet<&str> = mine
                .keys()
                .filter(|k| k.1 == "exchange")
                .map(|k| k.0)
                .collect();
            let tp: Vec<String> = reached
                .intersection(&truth_exchanges)
                .map(|s| s.to_string())
                .collect();
            let fp: Vec<String> = reached
                .difference(&truth_exchanges)
                .map(|s| s.to_string())
                .collect();
            let fn_: Vec<String> = truth_exchanges
                .difference(&reached)
                .map(|s| s.to_string())
                .collect();
            let ratio = |n: usize, d: usize| if d == 0 { 1.0 } else { n as f64 / d as f64 };
            let mut keys: BTreeSet<(&str, &str)> = mine.keys().copied().collect();
            keys.extend(truth_at.keys().map(|k| (k.0.as_str(), k.1.as_str())));
            let entities: Vec<EntityScore> = keys
                .into_iter()
                .map(|(entity, category)| EntityScore {
                    entity: entity.to_string(),
                    category: category.to_string(),
                    truth_sat: truth_at
                        .get(&(entity.to_string(), category.to_string()))
                        .copied()
                        .unwrap_or(0),
                    found_sat: mine.get(&(entity, category)).copied().unwrap_or(0),
                })
                .collect();
            PolicyScore {
                precision: ratio(tp.len(), reached.len()),
                recall: ratio(tp.len(), truth_exchanges.len()),
                matched_sat: entities.iter().map(|e| e.truth_sat.min(e.found_sat)).sum(),
                true_positives: tp,
                false_positives: fp,
                false_negatives: fn_,
                entities,
                policy,
            }
        })
        .collect();
    Ok(Score {
        truth_cashed_out_sat: truth_at.values().sum(),
        policies,
    })
}

fn read_rows(
    path: &Path,
    columns: &[&str],
    fix: &'static str,
) -> Result<Vec<RecordBatch>, ScoreError> {
    let bad = |message: String| ScoreError::Read {
        path: path.to_path_buf(),
        message,
        fix,
    };
    let batches = read_file(path, columns).map_err(|e| bad(e.to_string()))?;
    for b in &batches {
        for (i, name) in columns.iter().enumerate() {
            let ok = match *name {
                "value" | "tainted_value" => b.column(i).as_primitive_opt::<UInt64Type>().is_some(),
                _ => b.column(i).as_string_opt::<i32>().is_some(),
            };
            if !ok || (b.column(i).null_count() > 0 && *name != "entity" && *name != "category") {
                return Err(bad(format!(
                    "column {name} has an unexpected type or nulls"
                )));
            }
        }
    }
    Ok(batches)
}

/// The score as a Markdown table, one section per model.
pub fn render(score: &Score) -> String {
    let btc = crate::export::coins;
    let mut s = format!(
        "Truth: {} cashed out at services.\n\n| model | precision | recall | matched | missed exchanges | wrong exchanges |\n|---|---|---|---|---|---|\n",
        btc(score.truth_cashed_out_sat)
    );
    for p in &score.policies {
        s.push_str(&format!(
            "| {} | {:.2} | {:.2} | {} | {} | {} |\n",
            p.policy,
            p.precision,
            p.recall,
            btc(p.matched_sat),
            p.false_negatives.join(", "),
            p.false_positives.join(", ")
        ));
    }
    for p in &score.policies {
        s.push_str(&format!(
            "\n{}:\n\n| entity | category | truth | found |\n|---|---|---|---|\n",
            p.policy
        ));
        for e in &p.entities {
            s.push_str(&format!(
                "| {} | {} | {} | {} |\n",
                e.entity,
                e.category,
                btc(e.truth_sat),
                btc(e.found_sat)
            ));
        }
    }
    s
}
