//! The public Parquet tables of the graph store: one struct of columns per table (as cryo does),
//! each turning itself into an Arrow record batch with a fixed schema.
//!
//! Conventions, shared by every table and documented in `docs/ARCHITECTURE.md`:
//! - ids (`tx_ix`, `out_ix`, `in_ix`, `script_id`) are dense and in chain order;
//! - hashes (`txid`, block `hash`) are 32-byte fixed-size binary in *display* byte order, so
//!   `hex(txid)` in DuckDB prints what explorers print;
//! - values are unsigned 64-bit integers of base units (satoshis); heights are uint32;
//! - times are `timestamp[ms, UTC]` (Parquet has no seconds unit; header times are whole seconds);
//! - `spent_by` / `spent_in_pos` / `prev_out` / `fee` are null where they do not apply.

use std::sync::Arc;

use arrow::array::{
    ArrayRef, BooleanArray, FixedSizeBinaryArray, LargeBinaryArray, LargeStringArray, RecordBatch,
    StringArray, TimestampMillisecondArray, UInt32Array, UInt64Array,
};
use arrow::buffer::{Buffer, OffsetBuffer, ScalarBuffer};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef, TimeUnit};

/// A 32-byte hash in display byte order.
pub type Hash32 = [u8; 32];

fn hash_field(name: &str) -> Field {
    Field::new(name, DataType::FixedSizeBinary(32), false)
}

fn time_field(name: &str) -> Field {
    Field::new(
        name,
        DataType::Timestamp(TimeUnit::Millisecond, Some("UTC".into())),
        false,
    )
}

fn hash_array(hashes: &[Hash32]) -> ArrayRef {
    let bytes: Vec<u8> = hashes.iter().flatten().copied().collect();
    Arc::new(FixedSizeBinaryArray::new(32, Buffer::from_vec(bytes), None))
}

fn batch(schema: SchemaRef, columns: Vec<ArrayRef>) -> RecordBatch {
    RecordBatch::try_new(schema, columns).expect("columns match their schema by construction")
}

/// Columns of the `blocks` table.
#[derive(Debug, Default, Clone)]
pub struct BlocksTable {
    /// Block height.
    pub height: Vec<u32>,
    /// Block hash.
    pub hash: Vec<Hash32>,
    /// Previous block hash.
    pub prev_hash: Vec<Hash32>,
    /// Header time, seconds since the epoch.
    pub time: Vec<u32>,
    /// Dense id of the block's first transaction.
    pub first_tx: Vec<u32>,
    /// Transactions in the block.
    pub tx_count: Vec<u32>,
    /// Serialized size in bytes.
    pub size: Vec<u32>,
}

impl BlocksTable {
    /// The table's Arrow schema.
    pub fn schema() -> SchemaRef {
        Arc::new(Schema::new(vec![
            Field::new("height", DataType::UInt32, false),
            hash_field("hash"),
            hash_field("prev_hash"),
            time_field("time"),
            Field::new("first_tx", DataType::UInt32, false),
            Field::new("tx_count", DataType::UInt32, false),
            Field::new("size", DataType::UInt32, false),
        ]))
    }

    /// The columns as a record batch.
    pub fn into_batch(self) -> RecordBatch {
        let time: Vec<i64> = self.time.iter().map(|&t| t as i64 * 1000).collect();
        batch(
            Self::schema(),
            vec![
                Arc::new(UInt32Array::from(self.height)),
                hash_array(&self.hash),
                hash_array(&self.prev_hash),
                Arc::new(TimestampMillisecondArray::from(time).with_timezone("UTC")),
                Arc::new(UInt32Array::from(self.first_tx)),
                Arc::new(UInt32Array::from(self.tx_count)),
                Arc::new(UInt32Array::from(self.size)),
            ],
        )
    }
}

/// Columns of the `txs` table.
#[derive(Debug, Default, Clone)]
pub struct TxsTable {
    /// Dense transaction id.
    pub tx_ix: Vec<u32>,
    /// Transaction id.
    pub txid: Vec<Hash32>,
    /// Height of the block holding it.
    pub height: Vec<u32>,
    /// Dense id of its first output.
    pub first_out: Vec<u64>,
    /// Dense id of its first input.
    pub first_in: Vec<u64>,
    /// Number of inputs (a coinbase has one).
    pub n_in: Vec<u32>,
    /// Number of outputs.
    pub n_out: Vec<u32>,
    /// Fee in base units; null for a coinbase.
    pub fee: Vec<Option<u64>>,
    /// True for the coinbase.
    pub coinbase: Vec<bool>,
    /// True when the transaction carries witness data.
    pub segwit: Vec<bool>,
}

impl TxsTable {
    /// The table's Arrow schema.
    pub fn schema() -> SchemaRef {
        Arc::new(Schema::new(vec![
            Field::new("tx_ix", DataType::UInt32, false),
            hash_field("txid"),
            Field::new("height", DataType::UInt32, false),
            Field::new("first_out", DataType::UInt64, false),
            Field::new("first_in", DataType::UInt64, false),
            Field::new("n_in", DataType::UInt32, false),
            Field::new("n_out", DataType::UInt32, false),
            Field::new("fee", DataType::UInt64, true),
            Field::new("coinbase", DataType::Boolean, false),
            Field::new("segwit", DataType::Boolean, false),
        ]))
    }

    /// The columns as a record batch.
    pub fn into_batch(self) -> RecordBatch {
        batch(
            Self::schema(),
            vec![
                Arc::new(UInt32Array::from(self.tx_ix)),
                hash_array(&self.txid),
                Arc::new(UInt32Array::from(self.height)),
                Arc::new(UInt64Array::from(self.first_out)),
                Arc::new(UInt64Array::from(self.first_in)),
                Arc::new(UInt32Array::from(self.n_in)),
                Arc::new(UInt32Array::from(self.n_out)),
                Arc::new(UInt64Array::from(self.fee)),
                Arc::new(BooleanArray::from(self.coinbase)),
                Arc::new(BooleanArray::from(self.segwit)),
            ],
        )
    }
}

/// Columns of the `outputs` table.
#[derive(Debug, Default, Clone)]
pub struct OutputsTable {
    /// Dense output id.
    pub out_ix: Vec<u64>,
    /// The transaction creating it.
    pub tx_ix: Vec<u32>,
    /// Its index in that transaction.
    pub vout: Vec<u32>,
    /// Value in base units.
    pub value: Vec<u64>,
    /// Its script.
    pub script_id: Vec<u32>,
    /// The transaction spending it; null while unspent at the dataset's tip.
    pub spent_by: Vec<Option<u32>>,
    /// The input position in the spending transaction; null while unspent.
    pub spent_in_pos: Vec<Option<u32>>,
}

impl OutputsTable {
    /// The table's Arrow schema.
    pub fn schema() -> SchemaRef {
        Arc::new(Schema::new(vec![
            Field::new("out_ix", DataType::UInt64, false),
            Field::new("tx_ix", DataType::UInt32, false),
            Field::new("vout", DataType::UInt32, false),
            Field::new("value", DataType::UInt64, false),
            Field::new("script_id", DataType::UInt32, false),
            Field::new("spent_by", DataType::UInt32, true),
            Field::new("spent_in_pos", DataType::UInt32, true),
        ]))
    }

    /// The columns as a record batch.
    pub fn into_batch(self) -> RecordBatch {
        batch(
            Self::schema(),
            vec![
                Arc::new(UInt64Array::from(self.out_ix)),
                Arc::new(UInt32Array::from(self.tx_ix)),
                Arc::new(UInt32Array::from(self.vout)),
                Arc::new(UInt64Array::from(self.value)),
                Arc::new(UInt32Array::from(self.script_id)),
                Arc::new(UInt32Array::from(self.spent_by)),
                Arc::new(UInt32Array::from(self.spent_in_pos)),
            ],
        )
    }
}

/// Columns of the `inputs` table (CSR: the inputs of tx `t` are rows `first_in[t]..`).
#[derive(Debug, Default, Clone)]
pub struct InputsTable {
    /// Dense input id.
    pub in_ix: Vec<u64>,
    /// The spending transaction.
    pub tx_ix: Vec<u32>,
    /// Position of the input in that transaction.
    pub pos: Vec<u32>,
    /// The output it spends; null for a coinbase input.
    pub prev_out: Vec<Option<u64>>,
}

impl InputsTable {
    /// The table's Arrow schema.
    pub fn schema() -> SchemaRef {
        Arc::new(Schema::new(vec![
            Field::new("in_ix", DataType::UInt64, false),
            Field::new("tx_ix", DataType::UInt32, false),
            Field::new("pos", DataType::UInt32, false),
            Field::new("prev_out", DataType::UInt64, true),
        ]))
    }

    /// The columns as a record batch.
    pub fn into_batch(self) -> RecordBatch {
        batch(
            Self::schema(),
            vec![
                Arc::new(UInt64Array::from(self.in_ix)),
                Arc::new(UInt32Array::from(self.tx_ix)),
                Arc::new(UInt32Array::from(self.pos)),
                Arc::new(UInt64Array::from(self.prev_out)),
            ],
        )
    }
}

/// Columns of the `scripts` table: each distinct output script once, in order of first use.
#[derive(Debug, Default, Clone)]
pub struct ScriptsTable {
    /// Dense script id.
    pub script_id: Vec<u32>,
    /// The script bytes, concatenated; script `i` is `script_bytes[script_offsets[i]..script_offsets[i + 1]]`.
    pub script_bytes: Vec<u8>,
    /// Offsets into `script_bytes`, one more than there are scripts (starts with 0).
    pub script_offsets: Vec<i64>,
    /// Address strings for the dataset's chain (or a stable non-address form), concatenated
    /// UTF-8; address `i` ends at `address_offsets[i + 1]`.
    pub address_bytes: Vec<u8>,
    /// Offsets into `address_bytes`, one more than there are scripts (starts with 0).
    pub address_offsets: Vec<i64>,
    /// Script type (`p2pkh`, `p2wpkh`, `op_return`, …).
    pub kind: Vec<&'static str>,
    /// The first transaction paying to it.
    pub first_tx: Vec<u32>,
}

impl ScriptsTable {
    /// The table's Arrow schema.
    pub fn schema() -> SchemaRef {
        Arc::new(Schema::new(vec![
            Field::new("script_id", DataType::UInt32, false),
            Field::new("script", DataType::LargeBinary, false),
            Field::new("address", DataType::LargeUtf8, false),
            Field::new("kind", DataType::Utf8, false),
            Field::new("first_tx", DataType::UInt32, false),
        ]))
    }

    /// The columns as a record batch.
    pub fn into_batch(self) -> RecordBatch {
        batch(
            Self::schema(),
            vec![
                Arc::new(UInt32Array::from(self.script_id)),
                Arc::new(LargeBinaryArray::new(
                    OffsetBuffer::new(ScalarBuffer::from(self.script_offsets)),
                    Buffer::from_vec(self.script_bytes),
                    None,
                )),
                Arc::new(LargeStringArray::new(
                    OffsetBuffer::new(ScalarBuffer::from(self.address_offsets)),
                    Buffer::from_vec(self.address_bytes),
                    None,
                )),
                Arc::new(StringArray::from_iter_values(self.kind.iter())),
                Arc::new(UInt32Array::from(self.first_tx)),
            ],
        )
    }
}
