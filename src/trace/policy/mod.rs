//! Taint models: how the taint on a transaction's inputs is shared among its outputs and fee.
//!
//! One file per model; a new model is one new file implementing [`TaintPolicy`]. The exact
//! semantics (DESIGN.md, "Trace semantics") are what compensating parties compare across tools,
//! so every model works in integer satoshis and is tested on hand-worked transactions.
//!
//! Notation for one transaction: input values `a_i` with taints `t_i`, output values `v_j`,
//! `A = Σ a_i`, fee `f = A − Σ v_j`, `T = Σ t_i`.

pub mod fifo;
pub mod haircut;
pub mod intervals;
pub mod lifo;
pub mod poison;
pub mod tiho;

pub use intervals::Intervals;

/// The taint one output carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Taint {
    /// An amount of tainted satoshis, not located inside the output (poison, haircut, TIHO).
    Amount(u64),
    /// Tainted satoshi ranges inside the output, relative to its start (FIFO, LIFO).
    Intervals(Intervals),
}

impl Taint {
    /// Tainted satoshis.
    pub fn amount(&self) -> u64 {
        match self {
            Taint::Amount(a) => *a,
            Taint::Intervals(i) => i.total(),
        }
    }

    /// True when nothing is tainted.
    pub fn is_clean(&self) -> bool {
        self.amount() == 0
    }

    /// The taint of an output tainted by both `self` and `other` (two seeds meeting): the larger
    /// amount, or the union of the intervals. The satoshis counted twice are
    /// `self.amount() + other.amount() - combined.amount()`.
    pub fn combine(&self, other: &Taint) -> Taint {
        match (self, other) {
            (Taint::Intervals(a), Taint::Intervals(b)) => {
                let mut u = a.clone();
                for (start, end) in b.iter() {
                    u.insert(start, end);
                }
                Taint::Intervals(u)
            }
            (a, b) => Taint::Amount(a.amount().max(b.amount())),
        }
    }
}

/// The values of one transaction, as a policy sees it.
#[derive(Debug, Clone, Copy)]
pub struct TxValues<'a> {
    /// Input values `a_i`, in input order.
    pub inputs: &'a [u64],
    /// Output values `v_j`, in output order.
    pub outputs: &'a [u64],
}

impl TxValues<'_> {
    /// `A = Σ a_i`.
    pub fn input_total(&self) -> u128 {
        self.inputs.iter().map(|&a| a as u128).sum()
    }

    /// `f = A − Σ v_j` (zero if outputs exceed inputs, which a valid transaction never does).
    pub fn fee(&self) -> u64 {
        let out: u128 = self.outputs.iter().map(|&v| v as u128).sum();
        u64::try_from(self.input_total().saturating_sub(out)).unwrap_or(u64::MAX)
    }
}

/// What a policy decided for one transaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Allocation {
    /// Taint of each output, in output order (clean outputs carry a zero taint).
    pub outputs: Vec<Taint>,
    /// Tainted satoshis of the fee.
    pub fee: u64,
    /// Flow on each edge `(input i, output j, satoshis)` with a positive amount, sorted by
    /// `(i, j)`: the taint the model moved from input `i` to output `j` (for explaining paths).
    pub flows: Vec<(u32, u32, u64)>,
}

impl Allocation {
    /// Tainted satoshis over all outputs and the fee.
    pub fn total(&self) -> u128 {
        self.outputs
            .iter()
            .map(|t| t.amount() as u128)
            .sum::<u128>()
            + self.fee as u128
    }
}

/// A taint model.
pub trait TaintPolicy: Send + Sync {
    /// The model's name in case files and results (`poison`, `haircut`, `fifo`, `lifo`, `tiho`).
    fn name(&self) -> &'static str;

    /// True when the model conserves value (the buckets then sum to the seeded total exactly).
    fn conserves(&self) -> bool;

    /// The taint of an output seeded with its first `amount` satoshis tainted (the whole output
    /// when `amount` is its value).
    fn seed(&self, value: u64, amount: u64) -> Taint;

    /// Share the inputs' taint (`None` for a clean input) among outputs and fee.
    fn propagate(&self, tx: TxValues<'_>, inputs: &[Option<&Taint>]) -> Allocation;
}

/// The policy named `name`, or `None` when there is no such model.
pub fn by_name(name: &str) -> Option<Box<dyn TaintPolicy>> {
    match name {
        "poison" => Some(Box::new(poison::Poison)),
        "haircut" => Some(Box::new(haircut::Haircut)),
        "fifo" => Some(Box::new(fifo::Fifo)),
        "lifo" => Some(Box::new(lifo::Lifo)),
        "tiho" => Some(Box::new(tiho::Tiho)),
        _ => None,
    }
}

/// Names of every model, for help and error messages.
pub const NAMES: [&str; 5] = ["poison", "haircut", "fifo", "lifo", "tiho"];
