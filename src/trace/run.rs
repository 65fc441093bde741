//! Running a case: resolve seeds and labels against the dataset, trace under every requested
//! model in parallel, and gather what the export writes.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::str::FromStr;
use std::sync::Arc;

use rayon::prelude::*;

use super::backward::{trace_backward, BackwardModel};
use super::engine::{trace_forward, SeedOutput, StopLabel, StopRules, TraceResult};
use super::policy::by_name;
use crate::case::Case;
use crate::labels::tagpack::read_any;
use crate::labels::{Label, LabelError};
use crate::store::dataset::{find_addresses, OpenError};
use crate::store::read::ReadError;
use crate::store::{Dataset, OutIx, ScriptId};

/// Errors running a case.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// The dataset could not be opened.
    #[error("case {case}: dataset {dataset}: {source}")]
    Dataset {
        /// The case's name.
        case: String,
        /// The dataset path.
        dataset: String,
        /// Why.
        source: OpenError,
    },
    /// The dataset's chain is not the case's.
    #[error("case {case}: dataset {dataset} holds {found} blocks but [case] chain = '{asked}'; fix the chain or the dataset path")]
    WrongChain {
        /// The case's name.
        case: String,
        /// The dataset path.
        dataset: String,
        /// The dataset's chain.
        found: &'static str,
        /// The case's chain.
        asked: &'static str,
    },
    /// A seed is malformed or not in the dataset.
    #[error("case {case}: [seeds] {message}")]
    Seed {
        /// The case's name.
        case: String,
        /// What is wrong.
        message: String,
    },
    /// A labels file is bad.
    #[error(transparent)]
    Labels(#[from] LabelError),
    /// Reading the scripts table failed.
    #[error(transparent)]
    Read(#[from] ReadError),
}

/// One model's trace of a case.
#[derive(Debug)]
pub struct PolicyRun {
    /// The model's name.
    pub policy: &'static str,
    /// Whether it conserves value.
    pub conserves: bool,
    /// The trace.
    pub result: TraceResult,
}

/// A case run under all its models.
pub struct CaseRun {
    /// The case.
    pub case: Case,
    /// The dataset.
    pub dataset: Dataset,
    /// The resolved seeds.
    pub seeds: Vec<SeedOutput>,
    /// Labels read, with the script each resolves to (None when the dataset never saw it).
    pub labels: Vec<(Label, Option<ScriptId>)>,
    /// One run per model, in the case's order.
    pub runs: Vec<PolicyRun>,
}

/// Load the case's dataset and labels, resolve seeds, and trace under every model (in parallel).
pub fn run_case(case: Case, only: &[String]) -> Result<CaseRun, RunError> {
    let dataset_path = case.resolve(&case.case.dataset);
    let dataset = Dataset::open(&dataset_path).map_err(|source| RunError::Dataset {
        case: case.case.name.clone(),
        dataset: dataset_path.display().to_string(),
        source,
    })?;
    if dataset.manifest().chain != case.case.chain {
        return Err(RunError::WrongChain {
            case: case.case.name.clone(),
            dataset: dataset_path.display().to_string(),
            found: dataset.manifest().chain.name(),
            asked: case.case.chain.name(),
        });
    }
    let mut labels = Vec::new();
    for file in &case.labels.files {
        let (found, report) = read_any(&case.resolve(file), case.case.chain)?;
        for problem in &report.invalid {
            tracing::warn!("label skipped: {problem}");
        }
        labels.extend(found);
    }
    let seed_err = |message: String| RunError::Seed {
        case: case.case.name.clone(),
        message,
    };
    // Seed addresses in the form ingest writes, whatever their spelling in the case file.
    let mut seed_addresses = Vec::with_capacity(case.seeds.addresses.len());
    for a in &case.seeds.addresses {
        let script = case
            .case
            .chain
            .address_to_script(a)
            .map_err(|e| seed_err(format!("addresses: {e}")))?;
        seed_addresses.push(case.case.chain.script_to_address(&script));
    }
    let wanted: HashSet<&str> = labels
        .iter()
        .map(|l| l.address.as_str())
        .chain(seed_addresses.iter().map(String::as_str))
        .collect();
    let scripts = find_addresses(&dataset, &wanted)?;
    let seeds = resolve_seeds(&case, &seed_addresses, &dataset, &scripts).map_err(seed_err)?;
    let stop_categories: HashSet<String> = case
        .trace
        .stop_at_categories
        .iter()
        .map(|c| c.to_ascii_lowercase())
        .collect();
    let mut stops: HashMap<ScriptId, Arc<StopLabel>> = HashMap::new();
    // The first cluster-defining label of each script (it may differ from its first label).
    let mut definers: HashMap<ScriptId, StopLabel> = HashMap::new();
    let mut resolved = Vec::with_capacity(labels.len());
    for label in labels {
        let script = scripts.get(label.address.as_str()).copied();
        if let Some(s) = script {
            if stop_categories.contains(&label.category) {
                // The first label of a script wins (files in case order, lines in file order).
                let stop = StopLabel {
                    entity: label.entity.clone(),
                    category: label.category.clone(),
                };
                if label.cluster_definer {
                    definers.entry(s).or_insert_with(|| stop.clone());
                }
                stops.entry(s).or_insert_with(|| Arc::new(stop));
            }
        }
        resolved.push((label, script));
    }
    // A label on one address labels its whole cluster (when the dataset was clustered).
    if case.labels.resolve_clusters {
        if let Some(cluster_of) = crate::cluster::load_clusters(&dataset) {
            let mut by_cluster: HashMap<u32, Arc<StopLabel>> = HashMap::new();
            let mut labelled: Vec<(&ScriptId, &StopLabel)> = definers.iter().collect();
            labelled.sort_by_key(|(s, _)| **s);
            for (s, label) in labelled {
                let c = cluster_of[s.index()];
                match by_cluster.get(&c) {
                    Some(other) if **other != *label => tracing::warn!(
                        cluster = c,
                        first = %other.entity,
                        second = %label.entity,
                        "conflicting labels in one cluster; the first (lowest script id) is used"
                    ),
                    Some(_) => {}
                    None => {
                        by_cluster.insert(c, Arc::new(label.clone()));
                    }
                }
            }
            for (s, c) in cluster_of.iter().enumerate() {
                if let Some(label) = by_cluster.get(c) {
                    stops
                        .entry(ScriptId(s as u32))
                        .or_insert_with(|| label.clone());
                }
            }
        }
    }
    let rules = StopRules {
        max_hops: case.trace.max_hops,
        min_value: case.trace.min_value,
        end_height: case.trace.end_height,
        max_degree: case.trace.max_degree,
        stops,
    };
    let policies: Vec<&String> = case
        .trace
        .policies
        .iter()
        .filter(|p| only.is_empty() || only.contains(p))
        .collect();
    let runs = policies
        .par_iter()
        .map(|name| {
            let policy = by_name(name).expect("validated when the case was loaded");
            let result =
                match BackwardModel::by_name(name).filter(|_| case.trace.direction == "backward") {
                    Some(model) => trace_backward(&dataset, &seeds, model, &rules),
                    None => trace_forward(&dataset, &seeds, policy.as_ref(), &rules),
                };
            PolicyRun {
                policy: policy.name(),
                conserves: policy.conserves(),
                result,
            }
        })
        .collect();
    Ok(CaseRun {
        case,
        dataset,
        seeds,
        labels: resolved,
        runs,
    })
}

fn resolve_seeds(
    case: &Case,
    addresses: &[String],
    ds: &Dataset,
    scripts: &HashMap<String, ScriptId>,
) -> Result<Vec<SeedOutput>, String> {
    let mut seeds = Vec::new();
    let whole = |out: OutIx| SeedOutput {
        out,
        amount: ds.value(out),
    };
    let (lo, hi) = (
        case.seeds.from_height.unwrap_or(0),
        case.seeds.to_height.unwrap_or(u32::MAX),
    );
    let mut by_script: BTreeMap<ScriptId, &str> = BTreeMap::new();
    for a in addresses {
        let s = scripts
            .get(a.as_str())
            .ok_or_else(|| format!("address {a} never received an output in the dataset"))?;
        by_script.insert(*s, a);
    }
    if !by_script.is_empty() {
        let ids: Vec<ScriptId> = by_script.keys().copied().collect();
        for out in ds.outputs_of_scripts(&ids) {
            let h = ds.tx_height(ds.out_tx(out));
            if (lo..=hi).contains(&h) {
                seeds.push(whole(out));
            }
        }
    }
    // Parse every txid first, then find them all in one scan of the txid column.
    let parse = |what: &str, t: &str| {
        bitcoin::Txid::from_str(t).map_err(|e| format!("{what}: '{t}' is not a txid ({e})"))
    };
    let mut outpoints = Vec::with_capacity(case.seeds.outpoints.len());
    for p in &case.seeds.outpoints {
        let mut parts = p.split(':');
        let (Some(t), Some(v)) = (parts.next(), parts.next()) else {
            return Err(format!(
                "outpoints: '{p}' is not txid:vout (or txid:vout:amount)"
            ));
        };
        let vout: u64 = v
            .parse()
            .map_err(|_| format!("outpoints: '{v}' in '{p}' is not an output index"))?;
        let amount: Option<u64> = match parts.next() {
            None => None,
            Some(a) => Some(
                a.parse()
                    .map_err(|_| format!("outpoints: amount '{a}' in '{p}' is not base units"))?,
            ),
        };
        outpoints.push((p, parse("outpoints", t)?, vout, amount));
    }
    let txids: Vec<bitcoin::Txid> = case
        .seeds
        .txids
        .iter()
        .map(|t| parse("txids", t))
        .collect::<Result<_, _>>()?;
    let wanted: Vec<bitcoin::Txid> = txids
        .iter()
        .copied()
        .chain(outpoints.iter().map(|o| o.1))
        .collect();
    let found = ds.find_txids(&wanted);
    for (t, txid) in case.seeds.txids.iter().zip(&txids) {
        let tx = found
            .get(txid)
            .ok_or_else(|| format!("txids: {t} is not in the dataset"))?;
        let outs = ds.tx_outputs(*tx);
        seeds.extend((outs.start.0..outs.end.0).map(|o| whole(OutIx(o))));
    }
    for (p, txid, vout, amount) in outpoints {
        let tx = found
            .get(&txid)
            .ok_or_else(|| format!("outpoints: {txid} is not in the dataset"))?;
        let outs = ds.tx_outputs(*tx);
        if vout >= outs.end.0 - outs.start.0 {
            return Err(format!(
                "outpoints: {p}: the transaction has {} outputs",
                outs.end.0 - outs.start.0
            ));
        }
        let out = OutIx(outs.start.0 + vout);
        seeds.push(SeedOutput {
            out,
            amount: amount.unwrap_or(u64::MAX).min(ds.value(out)),
        });
    }
    // One seed per output (the largest amount asked for), as the engines count it.
    seeds.sort_by(|a, b| a.out.cmp(&b.out).then(b.amount.cmp(&a.amount)));
    seeds.dedup_by_key(|s| s.out);
    if seeds.is_empty() {
        return Err("no output matches the seeds (check from_height/to_height)".into());
    }
    Ok(seeds)
}
