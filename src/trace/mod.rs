//! Tracing funds through the transaction graph under a taint model.

pub mod backward;
pub mod engine;
pub mod paths;
pub mod poison_walk;
pub mod policy;
pub mod queue;
mod row_pool;
pub mod run;
mod waiting;
