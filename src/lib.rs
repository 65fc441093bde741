//! fundtrace: an open, exact, reproducible engine that follows stolen funds on Bitcoin-family
//! UTXO chains.
//!
//! Data flows one way: [`ingest`] → [`store`] → (cluster, labels) → trace → export. This crate
//! is the engine; the `fundtrace` binary only parses flags and prints.

pub mod case;
pub mod chain;
pub mod cli;
pub mod cluster;
pub mod export;
pub mod fiat;
pub mod generate;
pub mod ingest;
pub mod labels;
pub mod multi;
pub mod score;
pub mod store;
pub mod trace;
