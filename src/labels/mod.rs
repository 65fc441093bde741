//! Labels: address → (entity, category, source, confidence), read from CSV. Every address is
//! validated for the case's chain; an invalid or other-chain address is an error naming the file
//! and line, never a silent skip. (GraphSense TagPack import comes with clustering.)

use std::path::{Path, PathBuf};

use crate::chain::Chain;

pub mod tagpack;

/// One label.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Label {
    /// The address, as the chain writes it.
    pub address: String,
    /// The entity (e.g. an exchange's name).
    pub entity: String,
    /// Its category (`exchange`, `mixer`, `victim`, `perpetrator`, …).
    pub category: String,
    /// Where the label comes from.
    pub source: String,
    /// Confidence, 0–100 (100 when the file does not say).
    pub confidence: u8,
    /// The actor (the service or group behind the address), when known.
    pub actor: Option<String>,
    /// The abuse the address is tied to (`service_hack`, `scam`, `sanction`…), when known.
    pub abuse: Option<String>,
    /// Whether the label defines the address's whole cluster (TagPack `is_cluster_definer`).
    pub cluster_definer: bool,
}

/// Errors reading labels.
#[derive(Debug, thiserror::Error)]
pub enum LabelError {
    /// The file could not be read.
    #[error("cannot read labels file {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// A line is malformed or its address invalid.
    #[error("{path}:{line}: {message}")]
    Line {
        /// The file.
        path: PathBuf,
        /// 1-based line number.
        line: usize,
        /// What is wrong and how to fix it.
        message: String,
    },
}

/// Read a labels CSV: a header naming at least `address,entity,category` (optionally `source`,
/// `confidence`), then one label per line. Addresses are checked against `chain`.
pub fn read_csv(path: &Path, chain: Chain) -> Result<Vec<Label>, LabelError> {
    let text = std::fs::read_to_string(path).map_err(|source| LabelError::Io {
        path: path.into(),
        source,
    })?;
    let err = |line: usize, message: String| LabelError::Line {
        path: path.into(),
        line,
        message,
    };
    let mut lines = text.lines().enumerate();
    let Some((_, header)) = lines.next() else {
        return Ok(Vec::new());
    };
    let columns: Vec<&str> = header.split(',').map(str::trim).collect();
    let find = |name: &str| columns.iter().position(|c| c.eq_ignore_ascii_case(name));
    let (Some(a), Some(e), Some(c)) = (find("address"), find("entity"), find("category")) else {
        return Err(err(
            1,
            format!("header '{header}' must name the columns address,entity,category"),
        ));
    };
    let (s, k) = (find("source"), find("confidence"));
    let mut labels = Vec::new();
    for (i, line) in lines {
        let n = i + 1;
        if line.trim().is_empty() || line.starts_with('#') {
            continue;
        }
        let fields = split_csv_line(line).map_err(|m| err(n, m))?;
        let get = |ix: usize| fields.get(ix).map(String::as_str).unwrap_or("");
        let address = get(a);
        if address.is_empty() {
            return Err(err(n, "no address in this line".into()));
        }
        let script = chain
            .address_to_script(address)
            .map_err(|e| err(n, format!("{e}; fix or remove the line")))?;
        let confidence = match k.map(get).filter(|v| !v.is_empty()) {
            None => 100,
            Some(v) => v.parse::<u8>().ok().filter(|&c| c <= 100).ok_or_else(|| {
                err(
                    n,
                    format!("confidence '{v}' is not a whole number from 0 to 100"),
                )
            })?,
        };
        labels.push(Label {
            // The form ingest writes (lowercase bech32, CashAddr with prefix, modern P2SH
            // versions), so labels match however the file spells the address.
            address: chain.script_to_address(&script),
            entity: get(e).to_string(),
            category: get(c).to_ascii_lowercase(),
            source: s.map(get).unwrap_or("").to_string(),
            confidence,
            actor: None,
            abuse: None,
            cluster_definer: true,
        });
    }
    Ok(labels)
}

/// Split one CSV line into trimmed fields; double quotes enclose fields with commas, and `""`
/// inside quotes is a quote.
fn split_csv_line(line: &str) -> Result<Vec<String>, String> {
    let mut fields = Vec::new();
    let mut field = String::new();
    let mut chars = line.chars().peekable();
    let mut quoted = false;
    while let Some(c) = chars.next() {
        match (c, quoted) {
            ('"', false) if field.trim().is_empty() => {
                field.clear();
                quoted = true;
            }
            ('"', true) if chars.peek() == Some(&'"') => {
                chars.next();
                field.push('"');
            }
            ('"', true) => quoted = false,
            (',', false) => fields.push(std::mem::take(&mut field).trim().to_string()),
            (c, _) => field.push(c),
        }
    }
    if quoted {
        return Err("a quoted field is not closed".into());
    }
    fields.push(field.trim().to_string());
    Ok(fields)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_labels_and_names_the_bad_line() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("l.csv");
        std::fs::write(
            &path,
            "address,entity,category,confidence\n1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa,Satoshi,Miner,90\n\n",
        )
        .unwrap();
        let labels = read_csv(&path, Chain::Bitcoin).unwrap();
        assert_eq!(labels.len(), 1);
        assert_eq!(
            (labels[0].category.as_str(), labels[0].confidence),
            ("miner", 90)
        );
        // Quoted fields with commas; the uppercase BIP-173 vector is stored in canonical form.
        std::fs::write(
            &path,
            "address,entity,category\nBC1QW508D6QEJXTDG4Y5R3ZARVARY0C5XW7KV8F3T4,\"Foo, Inc.\",Exchange\n",
        )
        .unwrap();
        let labels = read_csv(&path, Chain::Bitcoin).unwrap();
        assert_eq!(labels[0].entity, "Foo, Inc.");
        assert_eq!(
            labels[0].address,
            "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4"
        );
        // A Litecoin address in a Bitcoin case.
        std::fs::write(
            &path,
            "address,entity,category\nltc1qw508d6qejxtdg4c5w5d2c2l5cg9ytvmfrjcz5c,X,exchange\n",
        )
        .unwrap();
        let e = read_csv(&path, Chain::Bitcoin).unwrap_err().to_string();
        assert!(e.contains("l.csv:2:"), "{e}");
    }
}
