//! Forward propagation: from seed outputs, follow taint through spending transactions in
//! increasing [`TxIx`] order (a topological order), so every transaction is visited once with all
//! its tainted inputs known. Memory grows with the tainted frontier, not the chain.
//!
//! Where a tainted output ends is decided when it is created, in this order (first match wins):
//! burned (unspendable script); cashed-out (hop ≥ 1 and its script carries a stop label);
//! unspent (not spent by the tip); beyond-window (spent above the end height); hop-cut
//! (hop = max_hops); dust-cut (taint < min_value); degree-cut (the spender has more than
//! max_degree inputs or outputs); otherwise its taint flows into the spending transaction. The
//! tainted fee share of a transaction goes to the fees bucket.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use rustc_hash::FxHashMap;

use super::policy::{Taint, TaintPolicy, TxValues};
use super::queue::TxQueue;
use super::row_pool::RowPool;
use super::waiting::Waiting;
use crate::store::{Dataset, InIx, OutIx, ScriptId, TxIx};

/// A seed: an output and how many of its first satoshis are tainted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct SeedOutput {
    /// The output.
    pub out: OutIx,
    /// Tainted satoshis from its start (clamped to its value).
    pub amount: u64,
}

/// A labelled script where tracing stops as a cash-out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StopLabel {
    /// The entity (an exchange's name, a mixer…).
    pub entity: String,
    /// Its category (`exchange`, `mixer`, …).
    pub category: String,
}

/// Stop conditions of a trace.
#[derive(Debug, Clone, Default)]
pub struct StopRules {
    /// Outputs at this hop stop (hop-cut). `u32::MAX` for no limit.
    pub max_hops: u32,
    /// Tainted amounts below this stop (dust-cut).
    pub min_value: u64,
    /// Spends above this height are beyond the window.
    pub end_height: Option<u32>,
    /// Spending transactions with more inputs or outputs than this stop the flow (degree-cut).
    pub max_degree: Option<u32>,
    /// Scripts where tracing stops as a cash-out.
    pub stops: HashMap<ScriptId, Arc<StopLabel>>,
}

/// The kind of bucket a unit of taint ends in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Bucket {
    /// Paid to a labelled stop (an exchange deposit…).
    CashedOut,
    /// Still unspent at the dataset's tip.
    Unspent,
    /// Paid to miners as fees.
    Fees,
    /// Below the minimum value.
    DustCut,
    /// At the hop limit.
    HopCut,
    /// Spent by a transaction above the degree limit.
    DegreeCut,
    /// Sent to an unspendable script.
    Burned,
    /// Spent after the end of the window.
    BeyondWindow,
    /// Backward: newly mined (a coinbase output).
    Mined,
    /// Backward: came from a labelled entity of a stop category.
    LabelledSource,
}

impl Bucket {
    /// Every bucket, in report order.
    pub const ALL: [Bucket; 10] = [
        Bucket::CashedOut,
        Bucket::Unspent,
        Bucket::Fees,
        Bucket::DustCut,
        Bucket::HopCut,
        Bucket::DegreeCut,
        Bucket::Burned,
        Bucket::BeyondWindow,
        Bucket::Mined,
        Bucket::LabelledSource,
    ];

    /// The bucket's name in results.
    pub fn name(self) -> &'static str {
        match self {
            Bucket::CashedOut => "cashed-out",
            Bucket::Unspent => "unspent",
            Bucket::Fees => "fees",
            Bucket::DustCut => "dust-cut",
            Bucket::HopCut => "hop-cut",
            Bucket::DegreeCut => "degree-cut",
            Bucket::Burned => "burned",
            Bucket::BeyondWindow => "beyond-window",
            Bucket::Mined => "mined",
            Bucket::LabelledSource => "labelled-source",
        }
    }
}

/// Where some taint ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    /// The bucket.
    pub bucket: Bucket,
    /// The output holding it (`None` for fees).
    pub out: Option<OutIx>,
    /// The transaction whose fee it is (fees only).
    pub fee_tx: Option<TxIx>,
    /// Hop of the output (of the transaction's outputs, for fees).
    pub hop: u32,
    /// Tainted satoshis.
    pub amount: u64,
    /// The stop label reached (cash-outs only).
    pub label: Option<Arc<StopLabel>>,
}

/// One tainted output seen by the trace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Flow {
    /// The output.
    pub out: OutIx,
    /// Its hop from the seeds.
    pub hop: u32,
    /// Tainted satoshis in it.
    pub tainted: u64,
}

/// An edge of the flow graph: taint moved from one output, through the transaction spending
/// it, into one of that transaction's outputs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Edge {
    /// The spent (tainted) output.
    pub from: OutIx,
    /// The output receiving taint.
    pub to: OutIx,
    /// Satoshis moved.
    pub amount: u64,
}

/// The result of one trace.
#[derive(Debug, Clone, Default)]
pub struct TraceResult {
    /// Seeded satoshis.
    pub seeded: u128,
    /// Every tainted output, in `OutIx` order.
    pub flows: Vec<Flow>,
    /// Where the taint ended, in the order decided (deterministic).
    pub endpoints: Vec<Endpoint>,
    /// Flow graph edges, in processing order.
    pub edges: Vec<Edge>,
    /// Transactions visited.
    pub txs_visited: u64,
    /// Seed outputs that other seeds' taint also reached: they hold the combined taint (the
    /// larger amount, or the union of intervals) and the overlap is taken off `seeded`, so no
    /// satoshi is counted twice.
    pub superseded_seeds: Vec<OutIx>,
    /// Whether the row vectors are advised to huge pages (the poison walk's): they go back to
    /// their own pools, so that the general walk never gets a buffer that `mremap` cannot move.
    huge_rows: bool,
}

/// Results are equal when their figures and rows are (whichever walk made them).
impl PartialEq for TraceResult {
    fn eq(&self, other: &TraceResult) -> bool {
        self.seeded == other.seeded
            && self.flows == other.flows
            && self.endpoints == other.endpoints
            && self.edges == other.edges
            && self.txs_visited == other.txs_visited
            && self.superseded_seeds == other.superseded_seeds
    }
}

impl Eq for TraceResult {}

/// The row vectors of dropped results of one kind, for the next trace of the process.
struct RowPools {
    flows: RowPool<Flow>,
    endpoints: RowPool<Endpoint>,
    edges: RowPool<Edge>,
}

impl RowPools {
    const fn new() -> RowPools {
        RowPools {
            flows: RowPool::new(),
            endpoints: RowPool::new(),
            edges: RowPool::new(),
        }
    }
}

/// Rows of the general walk (plain pages) and of the poison walk (advised to huge pages).
static PLAIN_ROWS: RowPools = RowPools::new();
static HUGE_ROWS: RowPools = RowPools::new();

/// The pools of rows advised to huge pages or not.
fn row_pools(huge_rows: bool) -> &'static RowPools {
    if huge_rows {
        &HUGE_ROWS
    } else {
        &PLAIN_ROWS
    }
}

impl Drop for TraceResult {
    /// Hand the large row vectors to the next trace (see [`row_pool`](super::row_pool)).
    fn drop(&mut self) {
        let pools = row_pools(self.huge_rows);
        pools.flows.give(std::mem::take(&mut self.flows));
        pools.endpoints.give(std::mem::take(&mut self.endpoints));
        pools.edges.give(std::mem::take(&mut self.edges));
    }
}

impl TraceResult {
    /// An empty result whose row vectors reserve room for a walk over `ds` up front: reserved
    /// and untouched memory costs nothing (the OS maps pages when they are first written; a
    /// vector reused from a dropped result is already resident), and a large walk then never
    /// copies its rows while growing. Capped at 2^24 rows per vector (about 1.8 GB of address
    /// space in all, with the pool's eighth of headroom) so a full-chain dataset never asks for
    /// more than a machine has; [`TraceResult::shrink`] gives back the room of a vector that
    /// used less than half of it.
    pub fn reserved_for(ds: &Dataset) -> TraceResult {
        const CAP: u64 = 1 << 24;
        let rows = ds.output_count().min(CAP);
        TraceResult::with_row_capacity(rows, rows, rows, false)
    }

    /// An empty result whose row vectors reserve room for the given numbers of rows (large
    /// ones taken from the vectors of dropped results, see [`row_pool`](super::row_pool)).
    /// `huge_rows`: the caller advises them to huge pages ([`huge_pages`]).
    pub(super) fn with_row_capacity(
        flows: u64,
        endpoints: u64,
        edges: u64,
        huge_rows: bool,
    ) -> TraceResult {
        let pools = row_pools(huge_rows);
        TraceResult {
            seeded: 0,
            flows: pools.flows.take(flows as usize),
            endpoints: pools.endpoints.take(endpoints as usize),
            edges: pools.edges.take(edges as usize),
            txs_visited: 0,
            superseded_seeds: Vec::new(),
            huge_rows,
        }
    }

    /// Give back the unused reserve of a row vector that uses less than half of it: its rows
    /// move to a vector of their size and a large buffer goes to the row pool for the next
    /// trace (see [`row_pool`](super::row_pool)). A vector using at least half keeps its room,
    /// so that it fits the next trace of about that size once this result is dropped.
    pub fn shrink(&mut self) {
        let pools = row_pools(self.huge_rows);
        pools.flows.shrink(&mut self.flows);
        pools.endpoints.shrink(&mut self.endpoints);
        pools.edges.shrink(&mut self.edges);
    }

    /// Tainted satoshis per bucket.
    pub fn totals(&self) -> BTreeMap<Bucket, u128> {
        let mut t: BTreeMap<Bucket, u128> = Bucket::ALL.iter().map(|&b| (b, 0)).collect();
        for e in &self.endpoints {
            *t.entry(e.bucket).or_default() += e.amount as u128;
        }
        t
    }

    /// Sum over all buckets.
    pub fn bucket_total(&self) -> u128 {
        self.endpoints.iter().map(|e| e.amount as u128).sum()
    }
}

struct Pending {
    taint: Taint,
    hop: u32,
}

/// Ask Linux to back a large vector's buffer with transparent huge pages (`MADV_HUGEPAGE`): a
/// walk that fills hundreds of megabytes of rows then takes one page fault per 2 MiB instead of
/// one per 4 KiB, which otherwise costs about as much as the walk itself. A hint: ignored
/// elsewhere, for small buffers, and where THP is off.
pub(super) fn huge_pages<T>(v: &Vec<T>) {
    #[cfg(target_os = "linux")]
    {
        const HUGE: usize = 2 << 20;
        let bytes = v.capacity() * std::mem::size_of::<T>();
        if bytes >= 2 * HUGE {
            let start = v.as_ptr() as usize;
            let aligned = start.next_multiple_of(HUGE);
            let len = (start + bytes - aligned) / HUGE * HUGE;
            // SAFETY: the range lies inside the vector's own allocation; madvise only changes
            // how the kernel backs it, never its contents, and failure is harmless.
            unsafe {
                libc::madvise(aligned as *mut libc::c_void, len, libc::MADV_HUGEPAGE);
            }
        }
    }
}

/// The scripts carrying a stop label, as a bitset over script ids: a walk asks for every tainted
/// output, and only a hit needs the label map.
pub(super) struct StopScripts(Vec<u64>);

impl StopScripts {
    /// The stop scripts of `rules` that exist in `ds`.
    pub(super) fn new(ds: &Dataset, rules: &StopRules) -> StopScripts {
        let mut bits = vec![0u64; ds.script_count().div_ceil(64) as usize];
        for script in rules.stops.keys() {
            if let Some(w) = bits.get_mut(script.index() / 64) {
                *w |= 1 << (script.index() % 64);
            }
        }
        StopScripts(bits)
    }

    /// True when `script` carries a stop label.
    pub(super) fn contains(&self, script: ScriptId) -> bool {
        self.0
            .get(script.index() / 64)
            .is_some_and(|w| w >> (script.index() % 64) & 1 != 0)
    }
}

/// How many queued transactions ahead of the visited one the walks start loading inputs.
pub(super) const PREFETCH_AHEAD: usize = 8;

/// The state of one forward trace: the result so far, outputs waiting for their spender, and
/// the spenders still to visit.
struct Walk<'a> {
    ds: &'a Dataset,
    rules: &'a StopRules,
    result: TraceResult,
    waiting: Waiting<Pending>,
    frontier: TxQueue,
    stop_scripts: StopScripts,
    /// Seed outputs not yet reached by other seeds' taint: their own taint and where their flow
    /// and endpoint rows are (seeds are placed first, so these indices never move).
    seeds: FxHashMap<OutIx, SeedState>,
    /// Rows of seeds that were re-placed with combined taint, dropped at the end.
    dropped_flows: Vec<usize>,
    dropped_endpoints: Vec<usize>,
}

struct SeedState {
    taint: Taint,
    flow: usize,
    endpoint: Option<usize>,
}

/// Trace forward from `seeds` under `policy` with `rules`.
pub fn trace_forward(
    ds: &Dataset,
    seeds: &[SeedOutput],
    policy: &dyn TaintPolicy,
    rules: &StopRules,
) -> TraceResult {
    // Poison needs no taint objects: its own walk gives the same result several times faster.
    if policy.name() == "poison" {
        return super::poison_walk::trace_forward_poison(ds, seeds, rules);
    }
    trace_forward_general(ds, seeds, policy, rules)
}

/// [`trace_forward`] for any policy, with taint objects (the reference for specialised walks).
pub fn trace_forward_general(
    ds: &Dataset,
    seeds: &[SeedOutput],
    policy: &dyn TaintPolicy,
    rules: &StopRules,
) -> TraceResult {
    let mut walk = Walk {
        ds,
        rules,
        result: TraceResult::reserved_for(ds),
        waiting: Waiting::new(ds.output_count()),
        frontier: TxQueue::new(ds.tx_count(), true),
        stop_scripts: StopScripts::new(ds, rules),
        seeds: FxHashMap::default(),
        dropped_flows: Vec::new(),
        dropped_endpoints: Vec::new(),
    };
    // One seed per output: the longest tainted prefix asked for.
    for (out, amount) in merge_seeds(ds, seeds) {
        let taint = policy.seed(ds.value(out), amount);
        walk.result.seeded += taint.amount() as u128;
        let flow = walk.result.flows.len();
        let endpoint = walk.place(out, taint.clone(), 0);
        walk.seeds.insert(
            out,
            SeedState {
                taint,
                flow,
                endpoint,
            },
        );
    }
    let mut values_in = Vec::new();
    let mut values_out = Vec::new();
    let mut spent = Vec::new();
    while let Some(tx) = walk.frontier.pop() {
        walk.result.txs_visited += 1;
        // Input values and waiting entries are random reads: load those of queued transactions
        // a little ahead (slots and values further ahead, the entries the slots point to nearer).
        if let Some(far) = walk.frontier.peek_ahead(2 * PREFETCH_AHEAD) {
            ds.prefetch_input_values(far);
            let inputs = ds.tx_inputs(far);
            for o in (inputs.start.0..inputs.end.0).filter_map(|i| ds.prev_out(InIx(i))) {
                walk.waiting.prefetch_slot(o);
            }
        }
        if let Some(near) = walk.frontier.peek_ahead(PREFETCH_AHEAD) {
            let inputs = ds.tx_inputs(near);
            for o in (inputs.start.0..inputs.end.0).filter_map(|i| ds.prev_out(InIx(i))) {
                walk.waiting.prefetch_entry(o);
            }
        }
        let inputs = ds.tx_inputs(tx);
        values_in.clear();
        spent.clear();
        for i in inputs.start.0..inputs.end.0 {
            let prev = ds.prev_out(InIx(i));
            values_in.push(prev.map_or(0, |o| ds.value(o)));
            spent.push(prev.and_then(|o| walk.waiting.remove(o).map(|p| (o, p))));
        }
        let outputs = ds.tx_outputs(tx);
        values_out.clear();
        values_out.extend((outputs.start.0..outputs.end.0).map(|o| ds.value(OutIx(o))));
        let taints: Vec<Option<&Taint>> = spent
            .iter()
            .map(|s| s.as_ref().map(|(_, p)| &p.taint))
            .collect();
        let alloc = policy.propagate(
            TxValues {
                inputs: &values_in,
                outputs: &values_out,
            },
            &taints,
        );
        let hop = 1 + spent
            .iter()
            .flatten()
            .map(|(_, p)| p.hop)
            .min()
            .unwrap_or(0);
        if alloc.fee > 0 {
            walk.result.endpoints.push(Endpoint {
                bucket: Bucket::Fees,
                out: None,
                fee_tx: Some(tx),
                hop,
                amount: alloc.fee,
                label: None,
            });
        }
        for &(i, j, amount) in &alloc.flows {
            if let Some((from, _)) = &spent[i as usize] {
                walk.result.edges.push(Edge {
                    from: *from,
                    to: OutIx(outputs.start.0 + j as u64),
                    amount,
                });
            }
        }
        for (j, taint) in alloc.outputs.into_iter().enumerate() {
            if taint.is_clean() {
                continue;
            }
            let out = OutIx(outputs.start.0 + j as u64);
            match walk.seeds.remove(&out) {
                // Other seeds' taint reaches a seed output: it keeps its own taint too, at hop 0.
                Some(seed) => walk.merge_into_seed(out, seed, taint),
                None => {
                    walk.place(out, taint, hop);
                }
            }
        }
    }
    debug_assert!(
        walk.waiting.is_empty(),
        "every waiting output's spender was visited"
    );
    walk.finish()
}

impl Walk<'_> {
    /// Taint from other seeds reaches seed output `out`: its seed was placed before any
    /// transaction was visited and has not moved (its spender comes after the transaction
    /// creating it), so it is waiting or an endpoint. Re-place it with the combined taint (the
    /// larger amount, or the union of intervals) at hop 0, and take the satoshis now counted
    /// twice off the seeded total, so the buckets still sum to it exactly.
    fn merge_into_seed(&mut self, out: OutIx, seed: SeedState, incoming: Taint) {
        let own = match self.waiting.remove(out) {
            Some(p) => p.taint,
            None => seed.taint,
        };
        let combined = own.combine(&incoming);
        let twice = own.amount() as u128 + incoming.amount() as u128 - combined.amount() as u128;
        self.result.seeded -= twice;
        self.result.superseded_seeds.push(out);
        self.dropped_flows.push(seed.flow);
        self.dropped_endpoints.extend(seed.endpoint);
        self.place(out, combined, 0);
    }

    fn finish(mut self) -> TraceResult {
        self.result
            .finished(&mut self.dropped_flows, &mut self.dropped_endpoints)
    }
    /// Record a tainted output and decide where it ends (or queue its spender); returns the
    /// index of the endpoint row when it ends here.
    fn place(&mut self, out: OutIx, taint: Taint, hop: u32) -> Option<usize> {
        let amount = taint.amount();
        self.result.flows.push(Flow {
            out,
            hop,
            tainted: amount,
        });
        match fate(self.ds, self.rules, &self.stop_scripts, out, hop, amount) {
            Fate::End(bucket, label) => Some(self.result.end(out, hop, amount, bucket, label)),
            Fate::Wait(spender) => {
                self.waiting.insert(out, Pending { taint, hop });
                self.frontier.insert(spender);
                None
            }
        }
    }
}

/// Where a tainted output goes.
pub(super) enum Fate {
    /// It ends in this bucket (cash-outs carry their stop label).
    End(Bucket, Option<Arc<StopLabel>>),
    /// Its taint flows into this spending transaction.
    Wait(TxIx),
}

/// The stop rules, in their order (first match wins; see the module documentation), for a
/// tainted output `out` holding `amount` at `hop`. Shared by every forward walk.
pub(super) fn fate(
    ds: &Dataset,
    rules: &StopRules,
    stop_scripts: &StopScripts,
    out: OutIx,
    hop: u32,
    amount: u64,
) -> Fate {
    let script = ds.script_id(out);
    let spender = ds.spent_by(out);
    // A spent output is spendable: the script flags (a random read) only matter when unspent.
    if spender.is_none() && ds.is_unspendable(out) {
        return Fate::End(Bucket::Burned, None);
    }
    if hop >= 1 && stop_scripts.contains(script) {
        if let Some(label) = rules.stops.get(&script) {
            return Fate::End(Bucket::CashedOut, Some(label.clone()));
        }
    }
    let Some(spender) = spender else {
        return Fate::End(Bucket::Unspent, None);
    };
    let degree = || {
        let (i, o) = (ds.tx_inputs(spender), ds.tx_outputs(spender));
        (i.end.0 - i.start.0).max(o.end.0 - o.start.0)
    };
    if rules.end_height.is_some_and(|h| ds.tx_height(spender) > h) {
        Fate::End(Bucket::BeyondWindow, None)
    } else if hop >= rules.max_hops {
        Fate::End(Bucket::HopCut, None)
    } else if amount < rules.min_value {
        Fate::End(Bucket::DustCut, None)
    } else if rules.max_degree.is_some_and(|max| degree() > max as u64) {
        Fate::End(Bucket::DegreeCut, None)
    } else {
        Fate::Wait(spender)
    }
}

impl TraceResult {
    /// Add the endpoint row of output `out`; returns its index.
    pub(super) fn end(
        &mut self,
        out: OutIx,
        hop: u32,
        amount: u64,
        bucket: Bucket,
        label: Option<Arc<StopLabel>>,
    ) -> usize {
        self.endpoints.push(Endpoint {
            bucket,
            out: Some(out),
            fee_tx: None,
            hop,
            amount,
            label,
        });
        self.endpoints.len() - 1
    }

    /// The end of a forward walk: drop the rows of re-placed seeds, sort the flows by output,
    /// give back unused reserve.
    pub(super) fn finished(
        mut self,
        dropped_flows: &mut [usize],
        dropped_endpoints: &mut [usize],
    ) -> TraceResult {
        drop_rows(&mut self.flows, dropped_flows);
        drop_rows(&mut self.endpoints, dropped_endpoints);
        self.superseded_seeds.sort();
        // Outputs are unique: an unstable sort gives the same order without a scratch buffer.
        self.flows.sort_unstable_by_key(|f| f.out);
        self.shrink();
        self
    }
}

/// One seed per output, in output order: the longest tainted prefix asked for, clamped to the
/// output's value.
pub(super) fn merge_seeds(ds: &Dataset, seeds: &[SeedOutput]) -> BTreeMap<OutIx, u64> {
    let mut merged: BTreeMap<OutIx, u64> = BTreeMap::new();
    for seed in seeds {
        let amount = merged.entry(seed.out).or_default();
        *amount = (*amount).max(seed.amount.min(ds.value(seed.out)));
    }
    merged
}

/// Remove the rows at the `dropped` indices (in one pass).
pub(super) fn drop_rows<T>(rows: &mut Vec<T>, dropped: &mut [usize]) {
    if dropped.is_empty() {
        return;
    }
    dropped.sort_unstable();
    let mut i = 0;
    rows.retain(|_| {
        let keep = dropped.binary_search(&i).is_err();
        i += 1;
        keep
    });
}
