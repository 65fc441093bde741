//! The forward walk specialised to poison: the same result as [`trace_forward_general`] with
//! [`Poison`](super::policy::poison::Poison), found without taint objects, in two phases.
//!
//! 1. **The reach** ([`poison_reach`]): which tainted outputs pass their taint on to their
//!    spender, and at which hop. Under poison a tainted output holds its whole value, so this is
//!    one `u32` per output (1 + its hop, or 0), found without reading a single input value. The
//!    walk starts from a queue of spenders (cheap while the taint is sparse) and, once the
//!    spenders it pops lie densely, turns into a sweep that streams every later transaction's
//!    inputs in order, so it no longer jumps through `spent_by`; it goes back to the queue when
//!    the swept transactions are mostly untouched. Every stop rule is applied here, since a stop
//!    decides whether taint flows on.
//! 2. **The rows**: flows, endpoints, fees and flow-graph edges of every reached transaction, in
//!    `TxIx` order, written straight into the result's reserved (huge-page) vectors. Building
//!    them in parallel chunks was measured no faster: the chunks' fresh memory and the copy
//!    into the result cost what the second core saved.
//!
//! `tests/prop_trace.rs` checks on random transaction DAGs that this walk (with the queue only,
//! the sweep only, and the switch between them) and the general one give identical results.

use std::collections::BTreeMap;

use rustc_hash::FxHashMap;

use super::engine::{
    fate, huge_pages, merge_seeds, trace_forward_general, Bucket, Edge, Endpoint, Fate, Flow,
    SeedOutput, StopRules, StopScripts, TraceResult, PREFETCH_AHEAD,
};
use super::policy::poison::Poison;
use super::queue::TxQueue;
use crate::store::dataset::{prefetch, GraphColumns};
use crate::store::{Dataset, InIx, OutIx, ScriptId, TxIx};

/// How many inputs ahead of the swept transaction's first one the sweep prefetches.
const SWEEP_PREFETCH_INPUTS: usize = 32;

/// The queue turns into the sweep once it pops at least one transaction in this many: below,
/// sweeping every transaction costs less than jumping from spender to spender.
pub const DENSE_SPACING: u64 = 8;

/// How the reach walks the graph. Every way gives the same reach; tests pin each.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sweep {
    /// The queue of spenders, turning into the sweep at the end of the first `window` pops
    /// that lie densely (one transaction in [`DENSE_SPACING`] or more).
    Switch {
        /// Pops between two looks at how densely the queue pops.
        window: u64,
    },
    /// The queue of spenders only.
    Queue,
    /// The sweep only, from the first seed's transaction to the last spender.
    Dense,
}

impl Sweep {
    /// The default: the queue while taint is sparse, the sweep once it is dense.
    pub const AUTO: Sweep = Sweep::Switch { window: 1024 };
}

/// Phase one of a poison trace: the outputs whose taint flows on into their spender, with their
/// hop, and the transactions reached.
#[derive(Debug)]
pub struct PoisonReach {
    /// Per output (one more slot, always 0, for coinbase inputs): 1 + its hop when it is tainted
    /// and no stop rule ends its taint before its spender, else 0. An unspent output may be
    /// marked: no spender reads it.
    flowing: Vec<u32>,
    /// Transactions receiving taint, as a bitset over [`TxIx`].
    reached: Vec<u64>,
    /// The words of `reached` that can hold a bit (from the first reached transaction's to
    /// the last's).
    reached_words: std::ops::Range<usize>,
    txs: u64,
    deepest: u32,
}

impl PoisonReach {
    /// Number of transactions the taint reaches.
    pub fn txs(&self) -> u64 {
        self.txs
    }

    /// The largest hop of a reached transaction's outputs (0 when none is reached).
    pub fn deepest_hop(&self) -> u32 {
        self.deepest
    }

    /// The reached transactions in `from..to`, in order.
    fn reached_in(&self, from: usize, to: usize) -> impl Iterator<Item = usize> + '_ {
        let words = (from / 64).max(self.reached_words.start)
            ..to.div_ceil(64).min(self.reached_words.end).max(from / 64);
        words
            .clone()
            .zip(&self.reached[words])
            .flat_map(|(w, &word)| {
                std::iter::successors((word != 0).then_some(word), |b| {
                    Some(b & (b - 1)).filter(|&rest| rest != 0)
                })
                .map(move |b| w * 64 + b.trailing_zeros() as usize)
            })
            .filter(move |&tx| from <= tx && tx < to)
    }

    /// The hop of output `out` when it is tainted and no stop rule ends its taint before its
    /// spender (its taint flows into the spender; an unspent output may be given too).
    pub fn flowing_hop(&self, out: OutIx) -> Option<u32> {
        match self.flowing.get(out.index()) {
            Some(&h) if h != 0 => Some(h - 1),
            _ => None,
        }
    }
}

/// The reach of a poison trace from `seeds` under `rules` (phase one of
/// [`trace_forward_poison`]): what DuckDB's recursive poison query computes. Seeds of zero
/// amount carry no taint and are left out (a poison trace with such a seed falls back to the
/// general walk, where it still waits for its spender).
pub fn poison_reach(ds: &Dataset, seeds: &[SeedOutput], rules: &StopRules) -> PoisonReach {
    poison_reach_with(ds, seeds, rules, Sweep::AUTO)
}

/// [`poison_reach`] walked one chosen way (the reach is the same for every [`Sweep`]).
pub fn poison_reach_with(
    ds: &Dataset,
    seeds: &[SeedOutput],
    rules: &StopRules,
    sweep: Sweep,
) -> PoisonReach {
    let seeds = seed_outputs(&merge_seeds(ds, seeds));
    Reach::find(ds, rules, &StopScripts::new(ds, rules), &seeds, sweep)
}

/// Forward poison trace; falls back to the general walk for seeds of zero amount (their
/// outputs carry no taint but still wait for their spender, a case not worth a second copy).
pub fn trace_forward_poison(ds: &Dataset, seeds: &[SeedOutput], rules: &StopRules) -> TraceResult {
    trace_forward_poison_with(ds, seeds, rules, Sweep::AUTO)
}

/// [`trace_forward_poison`] with the reach walked one chosen way (for tests: the result is the
/// same for every [`Sweep`]).
pub fn trace_forward_poison_with(
    ds: &Dataset,
    seeds: &[SeedOutput],
    rules: &StopRules,
    sweep: Sweep,
) -> TraceResult {
    let merged = merge_seeds(ds, seeds);
    if merged.values().any(|&a| a == 0) {
        return trace_forward_general(ds, seeds, &Poison, rules);
    }
    let outputs = seed_outputs(&merged);
    let stop_scripts = StopScripts::new(ds, rules);
    let reach = Reach::find(ds, rules, &stop_scripts, &outputs, sweep);
    Rows::build(ds, rules, &stop_scripts, &outputs, &reach)
}

fn seed_outputs(merged: &BTreeMap<OutIx, u64>) -> Vec<OutIx> {
    merged
        .iter()
        .filter(|(_, &amount)| amount > 0)
        .map(|(&out, _)| out)
        .collect()
}

/// What phase one reads: the graph and the rules, fixed for the walk (kept apart from what it
/// writes, so the compiler keeps them in registers across the writes).
struct Reach<'a> {
    ds: &'a Dataset,
    cols: GraphColumns<'a>,
    tx_count: u32,
    max_hops: u32,
    min_value: u64,
    end_height: Option<u32>,
    max_degree: Option<u32>,
    /// The stop scripts, when the rules have any.
    stops: Option<&'a StopScripts>,
    /// The seed outputs, sorted, and the first and last of them.
    seeds: &'a [OutIx],
    seed_range: (usize, usize),
}

/// What phase one writes.
struct ReachState {
    result: PoisonReach,
    /// The last spender of a marked output: the sweep ends there.
    horizon: usize,
}

impl<'a> Reach<'a> {
    fn find(
        ds: &'a Dataset,
        rules: &'a StopRules,
        stop_scripts: &'a StopScripts,
        seeds: &'a [OutIx],
        sweep: Sweep,
    ) -> PoisonReach {
        let reach = Reach {
            ds,
            cols: ds.graph_columns(),
            tx_count: ds.tx_count(),
            max_hops: rules.max_hops,
            min_value: rules.min_value,
            end_height: rules.end_height,
            max_degree: rules.max_degree,
            stops: (!rules.stops.is_empty()).then_some(stop_scripts),
            seeds,
            seed_range: match (seeds.first(), seeds.last()) {
                (Some(lo), Some(hi)) => (lo.index(), hi.index()),
                _ => (1, 0),
            },
        };
        let mut st = ReachState {
            result: PoisonReach {
                // Zeroed memory: only the pages a trace touches become resident (small pages
                // until the walk sweeps densely).
                flowing: vec![0; ds.output_count() as usize + 1],
                reached: vec![0; (ds.tx_count() as usize).div_ceil(64)],
                reached_words: 0..0,
                txs: 0,
                deepest: 0,
            },
            horizon: 0,
        };
        let mut queue = TxQueue::new(ds.tx_count(), true);
        for &out in seeds {
            if reach.flows_on(out.index(), 0) {
                st.result.flowing[out.index()] = 1;
                if let Some(spender) = reach.spender(out.index()) {
                    st.horizon = st.horizon.max(spender);
                    queue.insert(TxIx(spender as u32));
                }
            }
        }
        let Some(&first) = seeds.first() else {
            return st.result;
        };
        // The queue and the sweep take turns: the sweep while the spenders popped lie densely,
        // the queue again when the swept transactions are mostly untouched (a burst of taint
        // that a hop or dust limit ends, with a few outputs spent much later).
        let window = match sweep {
            Sweep::Switch { window } => Some(window.max(1)),
            Sweep::Queue | Sweep::Dense => None,
        };
        let mut dense_from = match sweep {
            Sweep::Dense => Some(ds.out_tx(first).index() + 1),
            Sweep::Queue | Sweep::Switch { .. } => None,
        };
        let mut huge = false;
        loop {
            match dense_from {
                None => match reach.walk_queue(&mut st, &mut queue, window) {
                    Some(from) => dense_from = Some(from),
                    None => break,
                },
                Some(from) => {
                    if !huge {
                        // Swept densely, the marks fill whole pages: back them with huge pages
                        // (a sparse walk keeps small ones, so it touches little memory).
                        huge_pages(&st.result.flowing);
                        huge = true;
                    }
                    match reach.sweep(&mut st, from, window) {
                        Some(resume) => {
                            reach.requeue(&st, &mut queue, from, resume);
                            dense_from = None;
                        }
                        None => break,
                    }
                }
            }
        }
        st.result
    }

    /// Pop spenders in `TxIx` order. With a `window`, returns the transaction where the dense
    /// sweep takes over once that many pops lie densely; `None` when the queue ran dry.
    fn walk_queue(
        &self,
        st: &mut ReachState,
        queue: &mut TxQueue,
        window: Option<u64>,
    ) -> Option<usize> {
        let mut seen = (0u64, None::<usize>);
        let none = st.result.flowing.len() - 1;
        while let Some(tx) = queue.pop() {
            // The hops of the inputs of a transaction a few ahead are random reads: start them.
            if let Some(ahead) = queue.peek_ahead(PREFETCH_AHEAD) {
                for i in self.cols.inputs(ahead.index()) {
                    let p = self.cols.in_prev_out[i] as usize;
                    prefetch(&st.result.flowing[p.min(none)]);
                }
            }
            let (hop, flowing_inputs) = self.scan_inputs(&st.result.flowing, tx.index());
            debug_assert!(flowing_inputs > 0, "a queued spender has a flowing input");
            self.reach_tx(st, tx.index(), hop, Some(queue));
            if let Some(window) = window {
                let (pops, start) = &mut seen;
                let start = *start.get_or_insert(tx.index());
                *pops += 1;
                if *pops == window {
                    if (tx.index() - start) as u64 <= window * DENSE_SPACING {
                        return Some(tx.index() + 1);
                    }
                    seen = (0, None);
                }
            }
        }
        None
    }

    /// Visit every transaction from `from` on, in order, up to the last spender of a marked
    /// output. With a `window`, returns the transaction where the queue takes over again once a
    /// span of `window * DENSE_SPACING` swept transactions holds fewer than `window / 2`
    /// reached ones.
    fn sweep(&self, st: &mut ReachState, from: usize, window: Option<u64>) -> Option<usize> {
        let prev = self.cols.in_prev_out;
        let span = window.map_or(u64::MAX, |w| w * DENSE_SPACING);
        let (mut swept, mut hits) = (0u64, 0u64);
        let mut tx = from;
        while tx <= st.horizon && tx < self.tx_count as usize {
            // The inputs' entries are random reads: start those of the inputs a little ahead,
            // as many as this transaction has (so every input's is started), and the loads of
            // many transactions are in flight at once.
            let flowing = &st.result.flowing;
            let inputs = self.cols.inputs(tx);
            let ahead = (inputs.start + SWEEP_PREFETCH_INPUTS).min(prev.len())
                ..(inputs.end + SWEEP_PREFETCH_INPUTS).min(prev.len());
            for &p in &prev[ahead] {
                prefetch(&flowing[(p as usize).min(flowing.len() - 1)]);
            }
            let (hop, flowing_inputs) = self.scan_inputs(flowing, tx);
            if flowing_inputs > 0 {
                self.reach_tx(st, tx, hop, None);
                hits += 1;
            }
            tx += 1;
            swept += 1;
            if swept == span {
                if let Some(w) = window {
                    if hits * 2 < w {
                        return Some(tx);
                    }
                }
                (swept, hits) = (0, 0);
            }
        }
        None
    }

    /// The queue takes over from the sweep at `resume`: drop what it holds below, and queue
    /// the spenders (at `resume` or later) of the outputs marked by the transactions the sweep
    /// reached in `from..resume`. (Spenders queued before the sweep are still there.)
    fn requeue(&self, st: &ReachState, queue: &mut TxQueue, from: usize, resume: usize) {
        queue.resume_at(TxIx(resume as u32));
        for tx in st.result.reached_in(from, resume) {
            for out in self.cols.outputs(tx) {
                match self.spender(out) {
                    Some(s) if s >= resume && st.result.flowing[out] != 0 => {
                        queue.insert(TxIx(s as u32));
                    }
                    _ => {}
                }
            }
        }
    }

    /// The hop of `tx`'s outputs if it is reached (1 + the lowest hop of its flowing inputs,
    /// which is the lowest stored value) and how many of its inputs flow.
    #[inline(always)]
    fn scan_inputs(&self, flowing: &[u32], tx: usize) -> (u32, u64) {
        let none = flowing.len() - 1;
        let (mut lowest, mut count) = (u32::MAX, 0);
        for &p in &self.cols.in_prev_out[self.cols.inputs(tx)] {
            // A coinbase input (OutIx::NONE) reads the last slot, always 0.
            let h = flowing[(p as usize).min(none)];
            if h != 0 {
                lowest = lowest.min(h);
                count += 1;
            }
        }
        (lowest, count)
    }

    /// `tx` receives taint: its outputs are tainted at `hop`; mark those whose taint flows on,
    /// and queue their spenders when walking the queue.
    #[inline(always)]
    fn reach_tx(&self, st: &mut ReachState, tx: usize, hop: u32, mut queue: Option<&mut TxQueue>) {
        let r = &mut st.result;
        r.reached[tx / 64] |= 1 << (tx % 64);
        if r.txs == 0 {
            r.reached_words.start = tx / 64;
        }
        r.reached_words.end = tx / 64 + 1;
        r.txs += 1;
        r.deepest = r.deepest.max(hop);
        let stored = hop.saturating_add(1);
        let flowing = &mut r.flowing[..];
        let mut horizon = st.horizon;
        for out in self.cols.outputs(tx) {
            // A seed keeps its own placement at hop 0 (the rows phase merges it).
            if self.is_seed(out) || !self.flows_on(out, hop) {
                continue;
            }
            flowing[out] = stored;
            // Whether an output is spent is a coin toss: no branch on it (an unspent output is
            // marked too, harmlessly: no spender reads it).
            let spender = self.cols.out_spent_by[out];
            let spent = spender < self.tx_count;
            horizon = horizon.max(if spent { spender as usize } else { 0 });
            if let Some(q) = queue.as_deref_mut() {
                if spent {
                    q.insert(TxIx(spender));
                }
            }
        }
        st.horizon = horizon;
    }

    #[inline(always)]
    fn is_seed(&self, out: usize) -> bool {
        self.seed_range.0 <= out
            && out <= self.seed_range.1
            && self.seeds.binary_search(&OutIx(out as u64)).is_ok()
    }

    /// The transaction spending `out`, if any.
    fn spender(&self, out: usize) -> Option<usize> {
        let s = self.cols.out_spent_by[out];
        (s < self.tx_count).then_some(s as usize)
    }

    /// True when no stop rule ends the taint of output `out`, tainted at `hop`, before its
    /// spender: when [`fate`] gives [`Fate::Wait`], or, for an unspent output, when no rule
    /// but its being unspent (or burned) ends it. The same rules as [`fate`], written for speed:
    /// only the rules a trace sets are read. An output of zero value carries no taint.
    #[inline(always)]
    fn flows_on(&self, out: usize, hop: u32) -> bool {
        let value = self.cols.out_value[out];
        if value == 0 || value < self.min_value || hop >= self.max_hops {
            return false;
        }
        if let Some(stops) = self.stops {
            if hop >= 1 && stops.contains(ScriptId(self.cols.out_script[out])) {
                return false;
            }
        }
        if self.end_height.is_none() && self.max_degree.is_none() {
            return true;
        }
        let Some(s) = self.spender(out) else {
            return true;
        };
        if let Some(end) = self.end_height {
            if self.ds.tx_height(TxIx(s as u32)) > end {
                return false;
            }
        }
        if let Some(max) = self.max_degree {
            if self.cols.inputs(s).len().max(self.cols.outputs(s).len()) > max as usize {
                return false;
            }
        }
        true
    }
}

/// Most rows reserved up front per vector (2^25: 768 MiB of address space for flows and for
/// edges, 1.5 GiB for endpoints, an eighth more for a new vector's headroom); a trace with more
/// grows its vectors.
const RESERVE_CAP: u64 = 1 << 25;

/// Where a seed's own flow and endpoint rows are (seeds are placed first, so these never move).
type SeedRows = (usize, Option<usize>);

/// Phase two: the rows of a reach, written in `TxIx` order straight into the result.
struct Rows<'a> {
    ds: &'a Dataset,
    rules: &'a StopRules,
    stop_scripts: &'a StopScripts,
    reach: &'a PoisonReach,
    result: TraceResult,
    seeds: FxHashMap<OutIx, SeedRows>,
    seed_range: (OutIx, OutIx),
    dropped_flows: Vec<usize>,
    dropped_endpoints: Vec<usize>,
}

impl<'a> Rows<'a> {
    fn build(
        ds: &'a Dataset,
        rules: &'a StopRules,
        stop_scripts: &'a StopScripts,
        seeds: &[OutIx],
        reach: &'a PoisonReach,
    ) -> TraceResult {
        // The reached transactions, and bounds on their rows: an output gives at most a flow
        // and an endpoint, a transaction a fee, and each (input, output) pair an edge. Rows are
        // reserved to those bounds, since a vector that outgrew its huge-page buffer would be
        // copied into fresh small pages (the advice splits the mapping, so `mremap` cannot
        // move it). Reserved and untouched memory costs nothing (a vector reused from a dropped
        // result, see `row_pool`, is resident already).
        let cols = ds.graph_columns();
        let mut reached = Vec::with_capacity(reach.txs as usize);
        let (mut outputs, mut pairs) = (seeds.len() as u64, 0u64);
        for t in reach.reached_in(0, ds.tx_count() as usize) {
            let n_out = cols.outputs(t).len() as u64;
            outputs += n_out;
            pairs += cols.inputs(t).len() as u64 * n_out;
            reached.push(TxIx(t as u32));
        }
        let result = TraceResult::with_row_capacity(
            outputs.min(RESERVE_CAP),
            (outputs + reach.txs).min(RESERVE_CAP),
            pairs.min(RESERVE_CAP),
            true,
        );
        // Poison fills its rows densely: huge pages halve its time (measured; the general
        // walk's sparser rows got slower with them, so it does without).
        huge_pages(&result.flows);
        huge_pages(&result.endpoints);
        huge_pages(&result.edges);
        let mut rows = Rows {
            ds,
            rules,
            stop_scripts,
            reach,
            result,
            seeds: FxHashMap::default(),
            seed_range: (
                seeds.first().copied().unwrap_or(OutIx(u64::MAX)),
                seeds.last().copied().unwrap_or(OutIx(0)),
            ),
            dropped_flows: Vec::new(),
            dropped_endpoints: Vec::new(),
        };
        // Seeds first, in output order: poison taints a seeded output in full, at hop 0.
        for &out in seeds {
            let value = ds.value(out);
            rows.result.seeded += value as u128;
            let flow = rows.result.flows.len();
            let endpoint = rows.place(out, value, 0);
            rows.seeds.insert(out, (flow, endpoint));
        }
        // Then the reached transactions in order; input values and marks are random reads, so
        // those of a transaction a few ahead are loaded first.
        for (k, &tx) in reached.iter().enumerate() {
            if let Some(&ahead) = reached.get(k + PREFETCH_AHEAD) {
                ds.prefetch_input_values(ahead);
                for &p in &cols.in_prev_out[cols.inputs(ahead.index())] {
                    if let Some(h) = reach.flowing.get(p as usize) {
                        prefetch(h);
                    }
                }
            }
            rows.visit(tx);
        }
        rows.result.txs_visited = reach.txs;
        debug_assert!(
            rows.result.flows.len() as u64 <= outputs
                && rows.result.endpoints.len() as u64 <= outputs + reach.txs
                && rows.result.edges.len() as u64 <= pairs,
            "rows within their bounds"
        );
        let Rows {
            result,
            mut dropped_flows,
            mut dropped_endpoints,
            ..
        } = rows;
        result.finished(&mut dropped_flows, &mut dropped_endpoints)
    }

    /// The rows of reached transaction `tx`: its tainted fee, its edges, its tainted outputs.
    fn visit(&mut self, tx: TxIx) {
        let ds = self.ds;
        let flowing = self.reach.flowing.as_slice();
        let inputs = ds.tx_inputs(tx);
        let (mut total_in, mut tainted_in, mut tainted_n) = (0u128, 0u128, 0u32);
        let mut lowest = u32::MAX;
        for i in inputs.start.0..inputs.end.0 {
            if let Some(prev) = ds.prev_out(InIx(i)) {
                let v = ds.value(prev);
                total_in += v as u128;
                let h = flowing[prev.index()];
                if h != 0 {
                    tainted_in += v as u128;
                    tainted_n += 1;
                    lowest = lowest.min(h);
                }
            }
        }
        // Marked outputs have a value (zero-value outputs carry no taint), so a reached
        // transaction has tainted satoshis coming in.
        debug_assert!(
            tainted_in > 0,
            "a reached transaction has tainted input value"
        );
        // One more than the lowest hop among the tainted inputs (stored plus one).
        let hop = lowest;
        let outputs = ds.tx_outputs(tx);
        let total_out: u128 = (outputs.start.0..outputs.end.0)
            .map(|o| ds.value(OutIx(o)) as u128)
            .sum();
        let fee = u64::try_from(total_in.saturating_sub(total_out)).unwrap_or(u64::MAX);
        if fee > 0 {
            self.result.endpoints.push(Endpoint {
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
            if flowing[prev.index()] == 0 {
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
                    self.result.edges.push(Edge {
                        from: prev,
                        to: OutIx(o),
                        amount: x,
                    });
                }
            }
        }
        for o in outputs.start.0..outputs.end.0 {
            let out = OutIx(o);
            let value = ds.value(out);
            if value == 0 {
                continue;
            }
            if out >= self.seed_range.0 && out <= self.seed_range.1 {
                if let Some(&(flow, endpoint)) = self.seeds.get(&out) {
                    // Another seed's taint reaches a seed output: poison's combined taint is
                    // the output's value, counted once, at hop 0; the seed's own rows go.
                    self.result.seeded -= value as u128;
                    self.result.superseded_seeds.push(out);
                    self.dropped_flows.push(flow);
                    self.dropped_endpoints.extend(endpoint);
                    self.place(out, value, 0);
                    continue;
                }
            }
            self.place(out, value, hop);
        }
    }

    /// Record tainted output `out` at `hop` and, when it ends here, its endpoint (the rules of
    /// [`fate`]; the reach already marked the outputs whose taint flows on).
    fn place(&mut self, out: OutIx, amount: u64, hop: u32) -> Option<usize> {
        self.result.flows.push(Flow {
            out,
            hop,
            tainted: amount,
        });
        match fate(self.ds, self.rules, self.stop_scripts, out, hop, amount) {
            Fate::End(bucket, label) => {
                debug_assert!(
                    matches!(bucket, Bucket::Unspent | Bucket::Burned)
                        || self.reach.flowing_hop(out).is_none(),
                    "an end flows on"
                );
                Some(self.result.end(out, hop, amount, bucket, label))
            }
            Fate::Wait(_) => {
                debug_assert_eq!(self.reach.flowing_hop(out), Some(hop), "the reach agrees");
                None
            }
        }
    }
}
