//! Ground truth of a generated theft: where the thief's own actions put every stolen satoshi,
//! written as `truth/endpoints.parquet` and `truth/theft.json` (definitions in docs/TRUTH.md).

use std::path::Path;
use std::sync::Arc;

use arrow::array::{ArrayRef, RecordBatch, StringArray, UInt32Array, UInt64Array};
use arrow::datatypes::{DataType, Field, Schema};
use bitcoin::Txid;

use super::GenerateError;
use crate::store::encode::to_parquet;

/// What became of a share of the stolen value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum EndpointKind {
    /// Deposited by the thief at a service (exchange or gambling) in an output it controls.
    Cashout,
    /// Still held by the thief at the chain's tip, in this output.
    Unspent,
    /// Paid as mining fee by a transaction the thief signed (its share in shared transactions).
    Fee,
    /// Kept by the mixer: what the thief deposited minus what the mixer paid back to him.
    MixerFee,
    /// Paid to a CoinJoin coordinator (Wasabi round fee, Whirlpool Tx0 fee).
    CoinjoinFee,
}

impl EndpointKind {
    /// The name used in `endpoints.parquet`.
    pub fn name(self) -> &'static str {
        match self {
            EndpointKind::Cashout => "cashout",
            EndpointKind::Unspent => "unspent",
            EndpointKind::Fee => "fee",
            EndpointKind::MixerFee => "mixer_fee",
            EndpointKind::CoinjoinFee => "coinjoin_fee",
        }
    }
}

/// One row of the truth: `value` stolen satoshis ended here.
#[derive(Debug, Clone)]
pub struct Endpoint {
    /// What became of them.
    pub kind: EndpointKind,
    /// The entity holding them (exchange, gambling service, mixer, coordinator), if any.
    pub entity: Option<&'static str>,
    /// The entity's category.
    pub category: Option<&'static str>,
    /// The transaction where they ended.
    pub txid: Txid,
    /// The output, when they ended in one (cash-outs, unspent).
    pub vout: Option<u32>,
    /// The output's address.
    pub address: Option<String>,
    /// Satoshis.
    pub value: u64,
    /// Height of the block holding `txid`.
    pub height: u32,
    /// The laundering route that brought them here (`theft`, `split`, `peel`, `fanout`,
    /// `mixer`, `wasabi`, `whirlpool`, `gambling`, `hold`).
    pub via: &'static str,
    /// Transactions from the theft output to here (the theft's outputs are hop 0; a mixer's
    /// payout counts as one transaction), as the trace engine counts hops.
    pub hops: u32,
}

/// The theft itself, for `truth/theft.json`.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Theft {
    /// The victim exchange.
    pub victim: &'static str,
    /// Height of the theft transaction.
    pub theft_height: u32,
    /// The theft transactions (one: the sweep of the hot wallet).
    pub theft_txids: Vec<String>,
    /// Hot-wallet outputs swept.
    pub swept_inputs: usize,
    /// Satoshis taken from the victim: the sum of the theft transaction's inputs.
    pub stolen_sat: u64,
    /// The theft transaction's fee (part of the stolen value, paid by the thief).
    pub theft_fee_sat: u64,
    /// The address the hot wallet was swept into.
    pub thief_address: String,
    /// Every address the thief used, in the order he made them.
    pub thief_addresses: Vec<String>,
    /// The victim's hot-wallet addresses.
    pub victim_hot_addresses: Vec<String>,
    /// Totals of the truth by endpoint kind, in satoshis.
    pub totals_by_kind: std::collections::BTreeMap<&'static str, u64>,
    /// Satoshis cashed out per entity.
    pub cashed_out_by_entity: std::collections::BTreeMap<&'static str, u64>,
}

/// Write `truth/endpoints.parquet` and `truth/theft.json` under `out`.
pub fn write_truth(out: &Path, theft: &Theft, endpoints: &[Endpoint]) -> Result<(), GenerateError> {
    let fields = vec![
        Field::new("kind", DataType::Utf8, false),
        Field::new("entity", DataType::Utf8, true),
        Field::new("category", DataType::Utf8, true),
        Field::new("txid", DataType::Utf8, false),
        Field::new("vout", DataType::UInt32, true),
        Field::new("address", DataType::Utf8, true),
        Field::new("value", DataType::UInt64, false),
        Field::new("height", DataType::UInt32, false),
        Field::new("via", DataType::Utf8, false),
        Field::new("hops", DataType::UInt32, false),
    ];
    let columns: Vec<ArrayRef> = vec![
        Arc::new(StringArray::from_iter_values(
            endpoints.iter().map(|e| e.kind.name()),
        )),
        Arc::new(StringArray::from_iter(endpoints.iter().map(|e| e.entity))),
        Arc::new(StringArray::from_iter(endpoints.iter().map(|e| e.category))),
        Arc::new(StringArray::from_iter_values(
            endpoints.iter().map(|e| e.txid.to_string()),
        )),
        Arc::new(UInt32Array::from_iter(endpoints.iter().map(|e| e.vout))),
        Arc::new(StringArray::from_iter(
            endpoints.iter().map(|e| e.address.as_deref()),
        )),
        Arc::new(UInt64Array::from_iter_values(
            endpoints.iter().map(|e| e.value),
        )),
        Arc::new(UInt32Array::from_iter_values(
            endpoints.iter().map(|e| e.height),
        )),
        Arc::new(StringArray::from_iter_values(
            endpoints.iter().map(|e| e.via),
        )),
        Arc::new(UInt32Array::from_iter_values(
            endpoints.iter().map(|e| e.hops),
        )),
    ];
    let batch = RecordBatch::try_new(Arc::new(Schema::new(fields)), columns)
        .expect("columns match their schema");
    let path = out.join("truth/endpoints.parquet");
    let bytes = to_parquet(&batch).map_err(|e| GenerateError::Io {
        path: path.clone(),
        source: std::io::Error::other(e),
    })?;
    write(&path, &bytes)?;
    let mut json = serde_json::to_string_pretty(theft).expect("json");
    json.push('\n');
    write(&out.join("truth/theft.json"), json.as_bytes())
}

fn write(path: &Path, bytes: &[u8]) -> Result<(), GenerateError> {
    crate::store::atomic::write_atomic(path, bytes).map_err(|source| GenerateError::Io {
        path: path.to_path_buf(),
        source,
    })
}
