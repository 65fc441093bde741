//! The forward walk specialised to poison: the same result as [`trace_forward`] with
//! [`Poison`](super::policy::poison::Poison), found without taint objects.
//!
//! Under poison a tainted output holds its whole value, so the state of the walk is the hop of
//! each tainted output waiting for its spender: one `u32` per output in an array allocated
//! zeroed, so only the pages a trace touches become resident. Writing it follows output order;
//! reading it (and the input values) at the spender is random, so both are prefetched a few
//! queued transactions ahead. There is no hash map and no allocation per transaction. Stop
//! labels are looked up only for scripts whose bit is set in a bitset built from the rules.
//!
//! `tests/prop_trace.rs` checks on random transaction DAGs that this walk and the general one
//! give identical results.

use super::engine::{
    fate, huge_pages, merge_seeds, trace_forward_general, Bucket, Edge, Endpoint, Fate, Flow,
    SeedOutput, StopRules, StopScripts, TraceResult,
};
use super::policy::poison::Poison;
use super::queue::TxQueue;
use crate::store::dataset::prefetch;
use crate::store::{Dataset, InIx, OutIx};
use rustc_hash::FxHashMap;

/// How many queued transactions ahead of the visited one have their input values prefetched.
const PREFETCH_AHEAD: usize = 8;

struct Walk<'a> {
    ds: &'a Dataset,
    rules: &'a StopRules,
    result: TraceResult,
    /// Per output: 1 + its hop while it is tainted and waits for its spender, else 0.
    waiting_hop: Vec<u32>,
    frontier: TxQueue,
    stop_scripts: StopScripts,
    /// Seed outputs not yet reached by other seeds' taint: their flow and endpoint rows.
    seeds: FxHashMap<OutIx, (usize, Option<usize>)>,
    dropped_flows: Vec<usize>,
    dropped_endpoints: Vec<usize>,
}

/// Forward poison trace; falls back to the general walk for seeds of zero amount (their
/// outputs carry no taint but still wait for their spender, a case not worth a second copy).
pub fn trace_forward_poison(ds: &Dataset, seeds: &[SeedOutput], rules: &StopRules) -> TraceResult {
    let merged = merge_seeds(ds, seeds);
    if merged.values().any(|&a| a == 0) {
        return trace_forward_general(ds, seeds, &Poison, rules);
    }
    let mut walk = Walk {
        ds,
        rules,
        result: {
            // Poison fills its rows densely: huge pages halve its time (measured; the general
            // walk's sparser rows got slower with them, so it does without).
            let mut r = TraceResult::reserved_for(ds);
            r.flows = huge_pages(r.flows);
            r.endpoints = huge_pages(r.endpoints);
            r.edges = huge_pages(r.edges);
            r
        },
        waiting_hop: huge_pages(vec![0; ds.output_count() as usize]),
        frontier: TxQueue::new(ds.tx_count(), true),
        stop_scripts: StopScripts::new(ds, rules),
        seeds: FxHashMap::default(),
        dropped_flows: Vec::new(),
        dropped_endpoints: Vec::new(),
    };
    for &out in merged.keys() {
        // Poison taints a seeded output in full.
        let value = ds.value(out);
        walk.result.seeded += value as u128;
        let flow = walk.result.flows.len();
        let endpoint = walk.place(out, value, 0);
        walk.seeds.insert(out, (flow, endpoint));
    }
    let (first_seed, last_seed) = (
        merged.keys().next().copied().unwrap_or(OutIx(u64::MAX)),
        merged.keys().next_back().copied().unwrap_or(OutIx(0)),
    );
    while let Some(tx) = walk.frontier.pop() {
        walk.result.txs_visited += 1;
        // Input values and hops are random reads: start loading a transaction's a few ahead.
        if let Some(ahead) = walk.frontier.peek_ahead(PREFETCH_AHEAD) {
            ds.prefetch_input_values(ahead);
            let inputs = ds.tx_inputs(ahead);
            for i in inputs.start.0..inputs.end.0 {
                if let Some(h) = ds
                    .prev_out(InIx(i))
                    .and_then(|p| walk.waiting_hop.get(p.index()))
                {
                    prefetch(h);
                }
            }
        }
        let inputs = ds.tx_inputs(tx);
        let (mut total_in, mut tainted_in, mut tainted_n) = (0u128, 0u128, 0u32);
        let mut lowest = u32::MAX;
        for i in inputs.start.0..inputs.end.0 {
            if let Some(prev) = ds.prev_out(InIx(i)) {
                let v = ds.value(prev);
                total_in += v as u128;
                let h = walk.waiting_hop[prev.index()];
                if h != 0 {
                    tainted_in += v as u128;
                    tainted_n += 1;
                    lowest = lowest.min(h);
                }
            }
        }
        debug_assert!(
            tainted_n > 0,
            "a spender in the frontier has a waiting input"
        );
        // One more than the lowest hop among the tainted inputs (stored plus one).
        let hop = lowest;
        // Every tainted input of `tx` is consumed now. Clean inputs' entries are left alone: a
        // write would make their (zeroed, untouched) pages resident for nothing.
        let consume = |walk: &mut Walk| {
            for i in inputs.start.0..inputs.end.0 {
                if let Some(prev) = ds.prev_out(InIx(i)) {
                    let h = &mut walk.waiting_hop[prev.index()];
                    if *h != 0 {
                        *h = 0;
                    }
                }
            }
        };
        if tainted_in == 0 {
            // Only zero-value tainted inputs: nothing to pass on.
            consume(&mut walk);
            continue;
        }
        let outputs = ds.tx_outputs(tx);
        let total_out: u128 = (outputs.start.0..outputs.end.0)
            .map(|o| ds.value(OutIx(o)) as u128)
            .sum();
        let fee = u64::try_from(total_in.saturating_sub(total_out)).unwrap_or(u64::MAX);
        if fee > 0 {
            walk.result.endpoints.push(Endpoint {
                bucket: Bucket::Fees,
                out: None,
                fee_tx: Some(tx),
                hop,
                amount: fee,
                label: None,
            });
        }
        // Edges: each output's value split over the tainted inputs by their value, floored.
        for i in inputs.start.0..inputs.end.0 {
            let Some(prev) = ds.prev_out(InIx(i)) else {
                continue;
            };
            if walk.waiting_hop[prev.index()] == 0 {
                continue;
            }
            let ti = ds.value(prev);
            if ti == 0 {
                continue;
            }
            for o in outputs.start.0..outputs.end.0 {
                let v = ds.value(OutIx(o));
                let x = if tainted_n == 1 {
                    v
                } else {
                    (v as u128 * ti as u128 / tainted_in) as u64
                };
                if x > 0 {
                    walk.result.edges.push(Edge {
                        from: prev,
                        to: OutIx(o),
                        amount: x,
                    });
                }
            }
        }
        consume(&mut walk);
        for o in outputs.start.0..outputs.end.0 {
            let out = OutIx(o);
            let value = ds.value(out);
            if value == 0 {
                continue;
            }
            if out >= first_seed && out <= last_seed {
                if let Some(rows) = walk.seeds.remove(&out) {
                    walk.merge_into_seed(out, rows, value);
                    continue;
                }
            }
            walk.place(out, value, hop);
        }
    }
    walk.finish()
}

impl Walk<'_> {
    /// Another seed's taint reaches seed output `out`: poison's combined taint is the output's
    /// value, counted once, at hop 0; the seed's own rows are dropped.
    fn merge_into_seed(
        &mut self,
        out: OutIx,
        (flow, endpoint): (usize, Option<usize>),
        value: u64,
    ) {
        self.waiting_hop[out.index()] = 0;
        self.result.seeded -= value as u128;
        self.result.superseded_seeds.push(out);
        self.dropped_flows.push(flow);
        self.dropped_endpoints.extend(endpoint);
        self.place(out, value, 0);
    }

    /// Record tainted output `out` at `hop` and decide where it ends (the rules of
    /// `engine::Walk::place`), or queue its spender.
    fn place(&mut self, out: OutIx, amount: u64, hop: u32) -> Option<usize> {
        self.result.flows.push(Flow {
            out,
            hop,
            tainted: amount,
        });
        match fate(self.ds, self.rules, &self.stop_scripts, out, hop, amount) {
            Fate::End(bucket, label) => Some(self.result.end(out, hop, amount, bucket, label)),
            Fate::Wait(spender) => {
                self.waiting_hop[out.index()] = hop + 1;
                self.frontier.insert(spender);
                None
            }
        }
    }

    fn finish(mut self) -> TraceResult {
        self.result
            .finished(&mut self.dropped_flows, &mut self.dropped_endpoints)
    }
}
