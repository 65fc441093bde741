//! The columnar transaction graph: dense ids, Parquet partitions, manifest, binary cache, and
//! the in-memory view used for analysis.

pub mod atomic;
pub mod cache;
pub mod dataset;
pub mod encode;
pub mod ids;
pub mod intern;
pub mod lock;
pub mod manifest;
pub mod read;
pub mod render;
pub mod rollback;
pub mod stream;
pub mod tables;
pub mod writer;

pub use dataset::Dataset;
pub use ids::{InIx, OutIx, ScriptId, TxIx};
pub use manifest::Manifest;
pub use writer::{DatasetWriter, PartitionPolicy, StoreError};
