//! Dense id newtypes of the graph store.
//!
//! Transactions, outputs, inputs and scripts are numbered densely in chain order (block height,
//! then position in block), so every spend points to a smaller transaction id and increasing
//! [`TxIx`] is a topological order of the transaction DAG.

use std::fmt;

macro_rules! dense_id {
    ($(#[$doc:meta])* $name:ident($inner:ty)) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
        #[derive(serde::Serialize, serde::Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub $inner);

        impl $name {
            /// The id as a `usize` array index.
            #[inline]
            pub fn index(self) -> usize {
                self.0 as usize
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }
    };
}

dense_id!(
    /// Dense transaction id: position of the transaction in chain order.
    TxIx(u32)
);
dense_id!(
    /// Dense output id: position of the output in chain order (tx order, then vout).
    OutIx(u64)
);
dense_id!(
    /// Dense input id: position of the input in chain order (tx order, then input position).
    InIx(u64)
);
dense_id!(
    /// Dense id of a distinct output script, in order of first appearance.
    ScriptId(u32)
);

impl TxIx {
    /// Sentinel stored in `spent_by` columns for an output that is not spent by the tip.
    pub const NONE: TxIx = TxIx(u32::MAX);
}

impl OutIx {
    /// Sentinel stored in `prev_out` columns for a coinbase input (it spends no output).
    pub const NONE: OutIx = OutIx(u64::MAX);
}
