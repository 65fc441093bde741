//! Address-clustering heuristics behind one trait: each says which scripts of a transaction
//! share an owner. The union-find only joins; the heuristics decide.

use super::coinjoin::detect;
use crate::store::{Dataset, InIx, OutIx, ScriptId, TxIx};

/// A clustering heuristic.
pub trait Heuristic: Send + Sync {
    /// Its name in results and provenance (`multi-input`, `change`).
    fn name(&self) -> &'static str;
    /// Whether it is the weaker kind (shown so in `inspect why`).
    fn weak(&self) -> bool;
    /// Append the links `(a, b)` this heuristic makes in `tx`.
    fn links(
        &self,
        ds: &Dataset,
        facts: &ScriptFacts,
        tx: TxIx,
        out: &mut Vec<(ScriptId, ScriptId)>,
    );
}

/// What the heuristics need to know about scripts beyond the cache: the transaction that first
/// paid each, and its kind.
#[derive(Debug, Default)]
pub struct ScriptFacts {
    /// First transaction paying each script.
    pub first_tx: Vec<u32>,
    /// Script kind name of each script.
    pub kind: Vec<&'static str>,
}

/// The spendable input scripts of `tx` (none for a coinbase), and its output values.
fn shape(ds: &Dataset, tx: TxIx) -> (Vec<ScriptId>, Vec<u64>) {
    let ins = ds.tx_inputs(tx);
    let scripts = (ins.start.0..ins.end.0)
        .filter_map(|i| ds.prev_out(InIx(i)))
        .map(|o| ds.script_id(o))
        .collect();
    let outs = ds.tx_outputs(tx);
    (
        scripts,
        (outs.start.0..outs.end.0)
            .map(|o| ds.value(OutIx(o)))
            .collect(),
    )
}

/// Multi-input: all inputs of a transaction share an owner, unless it is CoinJoin-shaped.
#[derive(Debug, Default, Clone, Copy)]
pub struct MultiInput;

impl Heuristic for MultiInput {
    fn name(&self) -> &'static str {
        "multi-input"
    }
    fn weak(&self) -> bool {
        false
    }
    fn links(&self, ds: &Dataset, _: &ScriptFacts, tx: TxIx, out: &mut Vec<(ScriptId, ScriptId)>) {
        // The hot loop of clustering: no allocation, and single-input transactions (most of a
        // chain) leave before anything else is read.
        let ins = ds.tx_inputs(tx);
        if ins.end.0 - ins.start.0 < 2 {
            return;
        }
        let outs = ds.tx_outputs(tx);
        if outs.end.0 - outs.start.0 >= 3 {
            thread_local! {
                static VALUES: std::cell::RefCell<Vec<u64>> = const { std::cell::RefCell::new(Vec::new()) };
            }
            let coinjoin = VALUES.with(|values| {
                let mut values = values.borrow_mut();
                values.clear();
                values.extend((outs.start.0..outs.end.0).map(|o| ds.value(OutIx(o))));
                detect((ins.end.0 - ins.start.0) as usize, &values).is_some()
            });
            if coinjoin {
                return;
            }
        }
        let mut scripts = (ins.start.0..ins.end.0)
            .filter_map(|i| ds.prev_out(InIx(i)))
            .map(|o| ds.script_id(o));
        let Some(first) = scripts.next() else {
            return;
        };
        out.extend(scripts.filter(|&s| s != first).map(|s| (first, s)));
    }
}

/// Change (weaker, off by default): in a two-output transaction, the one output to a script
/// never seen before, of the inputs' script type, whose value is not round while the other's
/// is, is the payer's change.
#[derive(Debug, Default, Clone, Copy)]
pub struct Change;

/// Round amounts: multiples of 0.0001 coin.
fn round(v: u64) -> bool {
    v.is_multiple_of(10_000)
}

impl Heuristic for Change {
    fn name(&self) -> &'static str {
        "change"
    }
    fn weak(&self) -> bool {
        true
    }
    fn links(
        &self,
        ds: &Dataset,
        facts: &ScriptFacts,
        tx: TxIx,
        out: &mut Vec<(ScriptId, ScriptId)>,
    ) {
        let (inputs, values) = shape(ds, tx);
        let outs = ds.tx_outputs(tx);
        if inputs.is_empty() || values.len() != 2 || detect(inputs.len(), &values).is_some() {
            return;
        }
        let scripts = [
            ds.script_id(OutIx(outs.start.0)),
            ds.script_id(OutIx(outs.start.0 + 1)),
        ];
        let fresh = scripts.map(|s| facts.first_tx.get(s.index()) == Some(&tx.0));
        let kind = facts.kind.get(inputs[0].index()).copied();
        if !inputs
            .iter()
            .all(|s| facts.kind.get(s.index()).copied() == kind)
        {
            return;
        }
        let candidate = match fresh {
            [true, false] => 0,
            [false, true] => 1,
            _ => return,
        };
        let other = 1 - candidate;
        if facts.kind.get(scripts[candidate].index()).copied() == kind
            && !round(values[candidate])
            && round(values[other])
        {
            out.push((inputs[0], scripts[candidate]));
        }
    }
}

/// The heuristic named `name`.
pub fn by_name(name: &str) -> Option<Box<dyn Heuristic>> {
    match name {
        "multi-input" => Some(Box::new(MultiInput)),
        "change" => Some(Box::new(Change)),
        _ => None,
    }
}
