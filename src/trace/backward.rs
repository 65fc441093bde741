//! Backward tracing: where did the funds at a target output come from?
//!
//! Transactions are visited in decreasing [`TxIx`] order, so every output's demand from all the
//! later transactions is known before the transaction creating it is visited. Under haircut the
//! value demanded from a transaction is shared among its inputs by value (`a_i / A`, integer
//! shares by largest remainder, as the forward haircut does), so the sources sum to the target's
//! value exactly; under poison every ancestor is tainted in full (reach, not conserved). Sources
//! end as mined (a coinbase output), a labelled entity of a stop category (hop ≥ 1), hop-cut or
//! dust-cut.

use rustc_hash::FxHashMap;

use super::engine::{
    drop_rows, merge_seeds, Bucket, Edge, Endpoint, Flow, SeedOutput, StopLabel, StopRules,
    TraceResult,
};
use super::policy::haircut::Haircut;
use super::policy::{Taint, TaintPolicy, TxValues};
use super::queue::TxQueue;
use crate::store::{Dataset, InIx, OutIx};

/// Models that trace backward.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BackwardModel {
    /// Every ancestor tainted in full.
    Poison,
    /// Value shared among inputs by value.
    Haircut,
}

impl BackwardModel {
    /// The model named `name`, if it traces backward.
    pub fn by_name(name: &str) -> Option<BackwardModel> {
        match name {
            "poison" => Some(BackwardModel::Poison),
            "haircut" => Some(BackwardModel::Haircut),
            _ => None,
        }
    }
}

struct Back<'a> {
    ds: &'a Dataset,
    model: BackwardModel,
    /// Poison: outputs already placed (an ancestor reached twice is tainted once).
    placed: std::collections::HashSet<OutIx>,
    rules: &'a StopRules,
    result: TraceResult,
    /// Demand on outputs whose creating transaction is still to visit: amount and fewest hops.
    waiting: FxHashMap<OutIx, (u64, u32)>,
    frontier: TxQueue,
    /// Targets not yet reached from other targets: their own amount and their rows.
    targets: FxHashMap<OutIx, (u64, usize, Option<usize>)>,
    dropped_flows: Vec<usize>,
    dropped_endpoints: Vec<usize>,
}

/// Trace backward from `targets` (each its first `amount` satoshis) under `model`.
pub fn trace_backward(
    ds: &Dataset,
    targets: &[SeedOutput],
    model: BackwardModel,
    rules: &StopRules,
) -> TraceResult {
    let mut back = Back {
        ds,
        model,
        placed: Default::default(),
        rules,
        result: TraceResult::default(),
        waiting: FxHashMap::default(),
        frontier: TxQueue::new(ds.tx_count(), false),
        targets: FxHashMap::default(),
        dropped_flows: Vec::new(),
        dropped_endpoints: Vec::new(),
    };
    for (out, amount) in merge_seeds(ds, targets) {
        back.result.seeded += amount as u128;
        let flow = back.result.flows.len();
        let endpoint = back.place(out, amount, 0);
        back.targets.insert(out, (amount, flow, endpoint));
    }
    let mut values = Vec::new();
    while let Some(tx) = back.frontier.pop() {
        back.result.txs_visited += 1;
        let outs = ds.tx_outputs(tx);
        let mut demand: u64 = 0;
        let mut hop = u32::MAX;
        let mut demanded = Vec::new();
        for o in outs.start.0..outs.end.0 {
            if let Some((amount, h)) = back.waiting.remove(&OutIx(o)) {
                demand += amount;
                hop = hop.min(h);
                demanded.push((OutIx(o), amount));
            }
        }
        let hop = hop + 1;
        let inputs = ds.tx_inputs(tx);
        let prevs: Vec<OutIx> = (inputs.start.0..inputs.end.0)
            .filter_map(|i| ds.prev_out(InIx(i)))
            .collect();
        values.clear();
        values.extend(prevs.iter().map(|&p| ds.value(p)));
        let shares: Vec<u64> = match model {
            BackwardModel::Poison => values.clone(),
            BackwardModel::Haircut => {
                // The forward haircut of `demand` over "outputs" weighted by the input values,
                // from one input worth A: exact shares summing to `demand`.
                // Valid chains never sum past u64; forged ones saturate instead of wrapping.
                let total = u64::try_from(values.iter().map(|&v| v as u128).sum::<u128>())
                    .unwrap_or(u64::MAX);
                let source = [total];
                let taint = Taint::Amount(demand.min(total));
                let alloc = Haircut.propagate(
                    TxValues {
                        inputs: &source,
                        outputs: &values,
                    },
                    &[Some(&taint)],
                );
                alloc.outputs.iter().map(Taint::amount).collect()
            }
        };
        for (&prev, &share) in prevs.iter().zip(&shares) {
            if share == 0 {
                continue;
            }
            // Edges point from the demanding output back to its source, so paths read from a
            // target to where its funds came from; each carries its proportional part.
            for &(d, amount) in &demanded {
                let part = (share as u128 * amount as u128 / demand.max(1) as u128) as u64;
                if part > 0 {
                    back.result.edges.push(Edge {
                        from: d,
                        to: prev,
                        amount: part,
                    });
                }
            }
            match back.targets.remove(&prev) {
                // Poison: a target is already tainted in full.
                Some(_) if model == BackwardModel::Poison => {}
                // Another target's funds come through this target: it keeps the larger demand,
                // at hop 0, and the overlap is not counted twice.
                Some((own, flow, endpoint)) => {
                    let own = back.waiting.remove(&prev).map_or(own, |w| w.0);
                    back.result.seeded -= own.min(share) as u128;
                    back.result.superseded_seeds.push(prev);
                    back.dropped_flows.push(flow);
                    back.dropped_endpoints.extend(endpoint);
                    back.place(prev, own.max(share), 0);
                }
                None => {
                    back.place(prev, share, hop);
                }
            }
        }
    }
    drop_rows(&mut back.result.flows, &mut back.dropped_flows);
    drop_rows(&mut back.result.endpoints, &mut back.dropped_endpoints);
    back.result.superseded_seeds.sort();
    back.result.flows.sort_by_key(|f| f.out);
    back.result
}

impl Back<'_> {
    /// Record demand on `out` and decide where it ends (or queue its creating transaction);
    /// returns the index of the endpoint row when it ends here.
    fn place(&mut self, out: OutIx, amount: u64, hop: u32) -> Option<usize> {
        let (ds, rules) = (self.ds, self.rules);
        if self.model == BackwardModel::Poison && !self.placed.insert(out) {
            // An output has one spender, so it is reached once, unless it is also a target:
            // then it is already tainted in full.
            return None;
        }
        self.result.flows.push(Flow {
            out,
            hop,
            tainted: amount,
        });
        let tx = ds.out_tx(out);
        let ended = |bucket: Bucket, label: Option<std::sync::Arc<StopLabel>>| Endpoint {
            bucket,
            out: Some(out),
            fee_tx: None,
            hop,
            amount,
            label,
        };
        let end = if let Some(label) = rules.stops.get(&ds.script_id(out)).filter(|_| hop >= 1) {
            Some(ended(Bucket::LabelledSource, Some(label.clone())))
        } else if ds.is_coinbase(tx) {
            Some(ended(Bucket::Mined, None))
        } else if hop >= rules.max_hops {
            Some(ended(Bucket::HopCut, None))
        } else if amount < rules.min_value {
            Some(ended(Bucket::DustCut, None))
        } else {
            let entry = self.waiting.entry(out).or_insert((0, hop));
            entry.0 += amount;
            entry.1 = entry.1.min(hop);
            self.frontier.insert(tx);
            None
        };
        let e = end?;
        self.result.endpoints.push(e);
        Some(self.result.endpoints.len() - 1)
    }
}
