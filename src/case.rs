//! Case files (`queries/*.toml`): what to trace, how, and with which labels. Paths are relative
//! to the case file. Unknown keys are errors, so a typo never silently changes a result.

use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::chain::Chain;

/// A parsed case file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Case {
    /// Name and dataset.
    pub case: CaseHeader,
    /// What is traced.
    #[serde(default)]
    pub seeds: Seeds,
    /// How.
    #[serde(default)]
    pub trace: TraceSettings,
    /// Labels of cash-out points.
    #[serde(default)]
    pub labels: LabelFiles,
    /// Fiat valuation of the results.
    pub fiat: Option<FiatSettings>,
    /// Where the case file lives (paths resolve against it); set by [`Case::load`].
    #[serde(skip)]
    pub dir: PathBuf,
    /// SHA-256 of the case file's bytes; set by [`Case::load`].
    #[serde(skip)]
    pub sha256: String,
}

/// The `[case]` section.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CaseHeader {
    /// The case's name (used in results).
    pub name: String,
    /// The dataset directory, relative to the case file.
    pub dataset: PathBuf,
    /// The chain; must match the dataset's.
    pub chain: Chain,
}

/// The `[seeds]` section.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Seeds {
    /// Addresses: every output paying them within the height window.
    #[serde(default)]
    pub addresses: Vec<String>,
    /// Transactions: all their outputs.
    #[serde(default)]
    pub txids: Vec<String>,
    /// Single outputs, `"txid:vout"`, or `"txid:vout:amount"` to taint only the first `amount`
    /// base units of the output.
    #[serde(default)]
    pub outpoints: Vec<String>,
    /// Address seeds only count outputs at or above this height.
    pub from_height: Option<u32>,
    /// Address seeds only count outputs at or below this height.
    pub to_height: Option<u32>,
}

/// The `[trace]` section.
#[derive(Debug, Clone, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct TraceSettings {
    /// `forward` (where did it go) or `backward` (where did it come from; poison and haircut).
    #[serde(default = "default_direction")]
    pub direction: String,
    /// Taint models to run.
    #[serde(default = "default_policies")]
    pub policies: Vec<String>,
    /// Maximum hops from a seed.
    #[serde(default = "default_max_hops")]
    pub max_hops: u32,
    /// Tainted amounts below this stop (base units).
    #[serde(default)]
    pub min_value: u64,
    /// Spends above this height are beyond the window.
    pub end_height: Option<u32>,
    /// Transactions with more inputs or outputs than this stop the flow.
    pub max_degree: Option<u32>,
    /// Label categories where tracing stops as a cash-out.
    #[serde(default = "default_stops")]
    pub stop_at_categories: Vec<String>,
    /// Paths kept per endpoint (widest first) in `paths.parquet`.
    #[serde(default = "default_paths")]
    pub paths_top_k: u32,
    /// Endpoints explained by paths, up to this many: cash-outs first, then the other endpoint
    /// outputs, each by decreasing tainted value.
    #[serde(default = "default_paths_max")]
    pub paths_max_endpoints: u32,
}

impl Default for TraceSettings {
    fn default() -> Self {
        TraceSettings {
            direction: default_direction(),
            policies: default_policies(),
            max_hops: default_max_hops(),
            min_value: 0,
            end_height: None,
            max_degree: None,
            stop_at_categories: default_stops(),
            paths_top_k: default_paths(),
            paths_max_endpoints: default_paths_max(),
        }
    }
}

fn default_direction() -> String {
    "forward".into()
}
fn default_policies() -> Vec<String> {
    vec!["haircut".into(), "fifo".into(), "poison".into()]
}
fn default_max_hops() -> u32 {
    20
}
fn default_paths() -> u32 {
    3
}
fn default_paths_max() -> u32 {
    1_000
}
fn default_stops() -> Vec<String> {
    vec!["exchange".into()]
}

/// The `[fiat]` section: daily closes, optionally through a cross rate.
#[derive(Debug, Clone, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct FiatSettings {
    /// The fiat currency's code (`JPY`, `USD`).
    pub currency: String,
    /// CSV of daily closes (a `date` column and a price column), relative to the case file.
    pub prices: PathBuf,
    /// The price column (default: the first column after `date`).
    pub column: Option<String>,
    /// CSV of a cross rate to multiply by (e.g. JPY per USD), relative to the case file.
    pub cross: Option<PathBuf>,
    /// The cross rate's column.
    pub cross_column: Option<String>,
    /// Use the last earlier close when a date is missing (with a warning) instead of failing.
    #[serde(default)]
    pub previous_day: bool,
}

/// The `[labels]` section.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LabelFiles {
    /// CSV files (address,entity,category[,source,confidence]), relative to the case file.
    #[serde(default)]
    pub files: Vec<PathBuf>,
    /// A label on one address labels its whole cluster, when the dataset was clustered.
    #[serde(default = "default_true")]
    pub resolve_clusters: bool,
}

impl Default for LabelFiles {
    fn default() -> Self {
        LabelFiles {
            files: Vec::new(),
            resolve_clusters: true,
        }
    }
}

fn default_true() -> bool {
    true
}

/// Errors loading a case file.
#[derive(Debug, thiserror::Error)]
pub enum CaseError {
    /// The file could not be read.
    #[error("cannot read case file {path}: {source}")]
    Io {
        /// The case file.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// The TOML is invalid or has unknown or missing keys.
    #[error("case file {path}: {message}")]
    Invalid {
        /// The case file.
        path: PathBuf,
        /// The parser's message (it names the key and line).
        message: String,
    },
}

impl Case {
    /// Read and check a case file.
    pub fn load(path: &Path) -> Result<Case, CaseError> {
        let bytes = std::fs::read(path).map_err(|source| CaseError::Io {
            path: path.into(),
            source,
        })?;
        let invalid = |message: String| CaseError::Invalid {
            path: path.into(),
            message,
        };
        let text =
            std::str::from_utf8(&bytes).map_err(|e| invalid(format!("not UTF-8 text: {e}")))?;
        let mut case: Case = toml::from_str(text).map_err(|e| invalid(e.to_string()))?;
        let backward = match case.trace.direction.as_str() {
            "forward" => false,
            "backward" => true,
            other => {
                return Err(invalid(format!(
                    "[trace] direction = '{other}': use 'forward' or 'backward'"
                )))
            }
        };
        for p in &case.trace.policies {
            if crate::trace::policy::by_name(p).is_none() {
                return Err(invalid(format!(
                    "[trace] policies: unknown model '{p}'; the models are {}",
                    crate::trace::policy::NAMES.join(", ")
                )));
            }
            if backward && crate::trace::backward::BackwardModel::by_name(p).is_none() {
                return Err(invalid(format!(
                    "[trace] policies: '{p}' does not trace backward; backward traces use poison and haircut"
                )));
            }
        }
        if case.seeds.addresses.is_empty()
            && case.seeds.txids.is_empty()
            && case.seeds.outpoints.is_empty()
        {
            return Err(invalid(
                "[seeds] is empty: give addresses, txids or outpoints to trace".into(),
            ));
        }
        case.dir = path.parent().map(Path::to_path_buf).unwrap_or_default();
        case.sha256 = crate::store::atomic::sha256_hex(&bytes);
        Ok(case)
    }

    /// A path from the case file, resolved against the case file's directory.
    pub fn resolve(&self, rel: &Path) -> PathBuf {
        self.dir.join(rel)
    }
}
