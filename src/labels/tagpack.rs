//! GraphSense TagPacks (YAML) as they are: header fields are inherited by every tag that does
//! not set them; tags of other currencies are counted and skipped; an address that is not valid
//! for the chain is reported with its file and line, never dropped silently.
//!
//! Mapping to a [`Label`]:
//! - entity: the tag's `actor` if set, else its `label`;
//! - category: the tag's `category` in fundtrace's words (`mixing_service` → `mixer`, `market`
//!   → `darknet`, `wallet_service` → `service`); without one, a tag with an `abuse` is
//!   `perpetrator`; otherwise `unknown`;
//! - actor: `actor`, or for a `service_hack` tag labelled "X hack" the hacked service `x`;
//! - confidence: GraphSense's levels mapped to 0–100 (authority_data and ownership 100,
//!   service_data 90, forensic 70, web_crawl 50, untrusted_transaction 20, others 50);
//! - source: the tag's `source`; `is_cluster_definer` as given (default false).

use std::path::{Path, PathBuf};

use serde_yaml::Value;

use super::{Label, LabelError};
use crate::chain::Chain;

/// What a TagPack import found besides labels.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct TagPackReport {
    /// Tags of other currencies, skipped.
    pub other_currency: usize,
    /// Tags whose address is not valid for the chain: `file:line: message`.
    pub invalid: Vec<String>,
}

/// The currency code TagPacks use for a chain.
pub fn currency(chain: Chain) -> &'static str {
    match chain {
        Chain::Bitcoin | Chain::BitcoinTestnet3 | Chain::BitcoinRegtest => "BTC",
        Chain::Litecoin | Chain::LitecoinRegtest => "LTC",
        Chain::Monacoin => "MONA",
        Chain::BitcoinCash => "BCH",
    }
}

/// GraphSense's category names in fundtrace's vocabulary (DESIGN.md: exchange, mixer,
/// gambling, darknet, service, victim, perpetrator); others are kept as written.
pub fn category_name(graphsense: &str) -> &str {
    match graphsense {
        "mixing_service" | "mixer" => "mixer",
        "market" | "darknet_market" => "darknet",
        "wallet_service" | "payment_processor" | "service" => "service",
        "exchange" => "exchange",
        "gambling" => "gambling",
        other => other,
    }
}

fn confidence(level: Option<&str>) -> u8 {
    match level {
        Some("authority_data" | "ownership") => 100,
        Some("service_data") => 90,
        Some("forensic") => 70,
        Some("untrusted_transaction") => 20,
        _ => 50,
    }
}

/// Read one TagPack for `chain`.
pub fn read_tagpack(path: &Path, chain: Chain) -> Result<(Vec<Label>, TagPackReport), LabelError> {
    let text = std::fs::read_to_string(path).map_err(|source| LabelError::Io {
        path: path.into(),
        source,
    })?;
    let doc: Value = serde_yaml::from_str(&text).map_err(|e| LabelError::Line {
        path: path.into(),
        line: e.location().map_or(0, |l| l.line()),
        message: format!("not valid YAML: {e}"),
    })?;
    let bad = |message: String| LabelError::Line {
        path: path.into(),
        line: 1,
        message,
    };
    let tags = doc
        .get("tags")
        .and_then(Value::as_sequence)
        .ok_or_else(|| bad("a TagPack needs a `tags:` list".into()))?;
    let want = currency(chain);
    let mut labels = Vec::new();
    let mut report = TagPackReport::default();
    for tag in tags {
        let field = |k: &str| -> Option<String> {
            let v = tag.get(k).or_else(|| doc.get(k))?;
            match v {
                Value::String(s) => Some(s.clone()),
                Value::Bool(b) => Some(b.to_string()),
                Value::Number(n) => Some(n.to_string()),
                _ => None,
            }
        };
        let Some(address) = field("address") else {
            return Err(bad(format!(
                "a tag has no address: {}",
                serde_yaml::to_string(tag).unwrap_or_default().trim()
            )));
        };
        if field("currency").is_some_and(|c| !c.eq_ignore_ascii_case(want)) {
            report.other_currency += 1;
            continue;
        }
        let script = match chain.address_to_script(&address) {
            Ok(s) => s,
            Err(e) => {
                let line = text
                    .lines()
                    .position(|l| l.contains(address.as_str()))
                    .map_or(0, |i| i + 1);
                report
                    .invalid
                    .push(format!("{}:{line}: {e}", path.display()));
                continue;
            }
        };
        let label = field("label").unwrap_or_default();
        let abuse = field("abuse");
        let actor = field("actor").or_else(|| {
            (abuse.as_deref() == Some("service_hack"))
                .then(|| label.strip_suffix(" hack").map(|x| x.to_ascii_lowercase()))
                .flatten()
        });
        let category = field("category")
            .map(|c| category_name(&c.to_ascii_lowercase()).to_string())
            .unwrap_or_else(|| {
                if abuse.is_some() {
                    "perpetrator".into()
                } else {
                    "unknown".into()
                }
            });
        labels.push(Label {
            address: chain.script_to_address(&script),
            entity: field("actor").unwrap_or_else(|| label.clone()),
            category,
            source: field("source").unwrap_or_default(),
            confidence: confidence(field("confidence").as_deref()),
            actor,
            abuse,
            cluster_definer: field("is_cluster_definer").as_deref() == Some("true"),
        });
    }
    Ok((labels, report))
}

/// Read an OFAC address list (one address per line) as labels of category `sanctioned`.
pub fn read_address_list(
    path: &Path,
    chain: Chain,
) -> Result<(Vec<Label>, TagPackReport), LabelError> {
    let text = std::fs::read_to_string(path).map_err(|source| LabelError::Io {
        path: path.into(),
        source,
    })?;
    let mut labels = Vec::new();
    let mut report = TagPackReport::default();
    for (i, line) in text.lines().enumerate() {
        let address = line.trim();
        if address.is_empty() || address.starts_with('#') {
            continue;
        }
        match chain.address_to_script(address) {
            Ok(script) => labels.push(Label {
                address: chain.script_to_address(&script),
                entity: "OFAC SDN list".into(),
                category: "sanctioned".into(),
                source: path.display().to_string(),
                confidence: 100,
                actor: None,
                abuse: Some("sanction".into()),
                cluster_definer: false,
            }),
            Err(e) => report
                .invalid
                .push(format!("{}:{}: {e}", path.display(), i + 1)),
        }
    }
    Ok((labels, report))
}

/// Read a labels file of any supported kind, by extension: `.yaml`/`.yml` TagPack, `.csv`,
/// `.txt` address list.
pub fn read_any(path: &Path, chain: Chain) -> Result<(Vec<Label>, TagPackReport), LabelError> {
    match path.extension().and_then(|e| e.to_str()).map(str::to_ascii_lowercase).as_deref() {
        Some("yaml" | "yml") => read_tagpack(path, chain),
        Some("txt") => read_address_list(path, chain),
        Some("csv") => Ok((super::read_csv(path, chain)?, TagPackReport::default())),
        _ => Err(LabelError::Line {
            path: PathBuf::from(path),
            line: 0,
            message: "unknown labels format: use .csv, a GraphSense TagPack .yaml, or a .txt address list".into(),
        }),
    }
}
