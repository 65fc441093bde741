//! Explaining results by paths: for every endpoint output, the top-k paths from a seed ranked by
//! the tainted flow of their narrowest edge (widest paths), over the flow graph of a trace.
//!
//! The flow graph (a petgraph `Graph`: tainted outputs as nodes, the taint a model moved from a
//! spent output to a new output as weighted edges) is a DAG. Visiting nodes in topological order,
//! each keeps its k widest paths from any seed, built from its predecessors' k widest: a path's
//! width is the minimum along it, so extending a path by an edge is monotone and the k best of a
//! node come from the k best of its predecessors. Candidates are kept as back-pointers and paths
//! are spelled out only for endpoints.

use std::collections::HashMap;

use petgraph::graph::{DiGraph, NodeIndex};
use petgraph::Direction;

use super::engine::TraceResult;
use crate::store::OutIx;

/// One explained path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Path {
    /// The endpoint output the path explains.
    pub endpoint: OutIx,
    /// 1 for the widest path, 2 for the next…
    pub rank: u32,
    /// Tainted satoshis carried: the flow on the narrowest edge (the seed's taint for a seed).
    pub width: u64,
    /// Outputs from a seed to the endpoint.
    pub outputs: Vec<OutIx>,
}

#[derive(Debug, Clone, Copy)]
struct Candidate {
    width: u64,
    /// Predecessor node and which of its candidates; `None` at a seed.
    back: Option<(NodeIndex, usize)>,
}

/// The flow graph of a trace: nodes are tainted outputs, edges carry the taint moved. Node `i`
/// is the `i`-th distinct output of `result.flows` (which is sorted by output), so the index of
/// an output is a binary search away.
pub fn flow_graph(result: &TraceResult) -> (DiGraph<OutIx, u64>, Vec<OutIx>) {
    let mut outs: Vec<OutIx> = result.flows.iter().map(|f| f.out).collect();
    outs.dedup();
    debug_assert!(
        outs.windows(2).all(|w| w[0] < w[1]),
        "flows are sorted by output"
    );
    let mut graph = DiGraph::with_capacity(outs.len(), result.edges.len());
    for &o in &outs {
        graph.add_node(o);
    }
    // Edge ends found through a slot per output of the span the flows cover when it is dense
    // enough (a random read, not a binary search over millions), else by binary search.
    let first = outs.first().map_or(0, |o| o.0);
    let span = outs.last().map_or(0, |o| o.0 - first + 1);
    let slots: Option<Vec<u32>> = (span <= 4 * outs.len() as u64).then(|| {
        let mut slots = vec![u32::MAX; span as usize];
        for (i, o) in outs.iter().enumerate() {
            slots[(o.0 - first) as usize] = i as u32;
        }
        slots
    });
    let node = |o: OutIx| match &slots {
        Some(slots) => {
            o.0.checked_sub(first)
                .and_then(|i| slots.get(usize::try_from(i).ok()?))
                .filter(|&&s| s != u32::MAX)
                .map(|&s| NodeIndex::new(s as usize))
        }
        None => outs.binary_search(&o).ok().map(NodeIndex::new),
    };
    for e in &result.edges {
        if let (Some(a), Some(b)) = (node(e.from), node(e.to)) {
            graph.add_edge(a, b, e.amount);
        }
    }
    (graph, outs)
}

/// The nodes of a flow graph in a topological order. Nodes are outputs in id order, and taint
/// flows to later outputs (forward) or to earlier ones (backward), so node order or its reverse
/// is one, found in one pass over the edges; petgraph's depth-first sort (a fifth of a large
/// poison case's export) is left for a graph that has both.
fn topological_order(graph: &DiGraph<OutIx, u64>) -> Vec<NodeIndex> {
    let edges = graph.raw_edges();
    if edges.iter().all(|e| e.source() < e.target()) {
        return graph.node_indices().collect();
    }
    if edges.iter().all(|e| e.source() > e.target()) {
        return graph.node_indices().rev().collect();
    }
    match petgraph::algo::toposort(graph, None) {
        Ok(order) => order,
        Err(_) => unreachable!("taint flows along spends, which cannot form a cycle"),
    }
}

/// The endpoints worth explaining, at most `max`: cash-outs first, then the other endpoint
/// outputs, each group by decreasing tainted value (ties to the lower output id); sorted by
/// output id. A poison trace over millions of transactions can reach hundreds of thousands of
/// deposits: the cap keeps the paths table to the ones that matter.
pub fn endpoints_to_explain(result: &TraceResult, max: usize) -> Vec<OutIx> {
    use super::engine::Bucket;
    let mut ranked: Vec<(bool, u64, OutIx)> = result
        .endpoints
        .iter()
        .filter_map(|e| e.out.map(|o| (e.bucket != Bucket::CashedOut, e.amount, o)))
        .collect();
    ranked.sort_by(|a, b| a.0.cmp(&b.0).then(b.1.cmp(&a.1)).then(a.2.cmp(&b.2)));
    let mut chosen: Vec<OutIx> = ranked.into_iter().map(|(_, _, o)| o).collect();
    chosen.dedup();
    chosen.truncate(max);
    chosen.sort();
    chosen.dedup();
    chosen
}

/// The top-`k` widest paths from a seed (a hop-0 output) to each of `endpoints`.
pub fn widest_paths(result: &TraceResult, k: usize, endpoints: &[OutIx]) -> Vec<Path> {
    if k == 0 {
        return Vec::new();
    }
    let (graph, outs) = flow_graph(result);
    let order = topological_order(&graph);
    let seeds: HashMap<OutIx, u64> = result
        .flows
        .iter()
        .filter(|f| f.hop == 0)
        .map(|f| (f.out, f.tainted))
        .collect();
    // Each node's best candidates, widest first, in one arena: node `n`'s `span` gives where
    // they start and how many there are. One scratch buffer serves every node: a chain-wide
    // trace has millions of nodes, and a vector per node cost more than the search.
    let mut arena: Vec<Candidate> = Vec::with_capacity(graph.node_count());
    let mut span: Vec<(usize, usize)> = vec![(0, 0); graph.node_count()];
    let mut cands: Vec<Candidate> = Vec::new();
    let mut incoming: Vec<(OutIx, NodeIndex, u64)> = Vec::new();
    for &node in &order {
        cands.clear();
        if let Some(&taint) = seeds.get(&graph[node]) {
            cands.push(Candidate {
                width: taint,
                back: None,
            });
        }
        incoming.clear();
        incoming.extend(graph.edges_directed(node, Direction::Incoming).map(|e| {
            let from = petgraph::visit::EdgeRef::source(&e);
            (graph[from], from, *e.weight())
        }));
        incoming.sort_by_key(|&(out, _, _)| out);
        for &(_, from, weight) in &incoming {
            let (start, len) = span[from.index()];
            for (i, c) in arena[start..start + len].iter().enumerate() {
                cands.push(Candidate {
                    width: c.width.min(weight),
                    back: Some((from, i)),
                });
            }
        }
        // Widest first; ties by the predecessor's output id, then its rank: deterministic.
        cands.sort_by(|a, b| {
            b.width.cmp(&a.width).then_with(|| {
                let key = |c: &Candidate| c.back.map(|(n, i)| (graph[n].0, i as u64));
                key(a).cmp(&key(b))
            })
        });
        cands.truncate(k);
        span[node.index()] = (arena.len(), cands.len());
        arena.extend_from_slice(&cands);
    }
    let best = |n: NodeIndex| {
        let (start, len) = span[n.index()];
        &arena[start..start + len]
    };
    let mut paths = Vec::new();
    for &end in endpoints {
        let Ok(i) = outs.binary_search(&end) else {
            continue;
        };
        let node = NodeIndex::new(i);
        for (rank, c) in best(node).iter().enumerate() {
            let mut outputs = vec![graph[node]];
            let mut back = c.back;
            while let Some((n, i)) = back {
                outputs.push(graph[n]);
                back = best(n)[i].back;
            }
            outputs.reverse();
            paths.push(Path {
                endpoint: end,
                rank: rank as u32 + 1,
                width: c.width,
                outputs,
            });
        }
    }
    paths
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::trace::engine::{Bucket, Edge, Endpoint, Flow};

    fn flow(out: u64, hop: u32, tainted: u64) -> Flow {
        Flow {
            out: OutIx(out),
            hop,
            tainted,
        }
    }

    fn end(out: u64, amount: u64) -> Endpoint {
        Endpoint {
            bucket: Bucket::Unspent,
            out: Some(OutIx(out)),
            fee_tx: None,
            hop: 2,
            amount,
            label: None,
        }
    }

    #[test]
    fn diamond_ranks_the_wider_branch_first() {
        // Seed 0 (100) splits into 1 (70) and 2 (30); both feed 3. Widest path to 3 goes through
        // 1 (width 70), the second through 2 (width 30).
        let mut result = TraceResult::default();
        result.seeded = 100;
        result.flows = vec![
            flow(0, 0, 100),
            flow(1, 1, 70),
            flow(2, 1, 30),
            flow(3, 2, 100),
        ];
        result.edges = vec![
            Edge {
                from: OutIx(0),
                to: OutIx(1),
                amount: 70,
            },
            Edge {
                from: OutIx(0),
                to: OutIx(2),
                amount: 30,
            },
            Edge {
                from: OutIx(1),
                to: OutIx(3),
                amount: 70,
            },
            Edge {
                from: OutIx(2),
                to: OutIx(3),
                amount: 30,
            },
        ];
        result.endpoints = vec![end(3, 100)];
        let paths = widest_paths(&result, 3, &endpoints_to_explain(&result, 10));
        assert_eq!(paths.len(), 2);
        assert_eq!((paths[0].rank, paths[0].width), (1, 70));
        assert_eq!(paths[0].outputs, vec![OutIx(0), OutIx(1), OutIx(3)]);
        assert_eq!((paths[1].rank, paths[1].width), (2, 30));
        assert_eq!(paths[1].outputs, vec![OutIx(0), OutIx(2), OutIx(3)]);
        assert_eq!(widest_paths(&result, 1, &[OutIx(3)]).len(), 1);
    }

    #[test]
    fn explained_endpoints_are_capped_cash_outs_first_largest_first() {
        let cash = |out: u64, amount: u64| Endpoint {
            bucket: Bucket::CashedOut,
            ..end(out, amount)
        };
        let mut result = TraceResult::default();
        result.endpoints = vec![
            cash(1, 5),
            cash(2, 50),
            cash(3, 20),
            end(4, 1_000),
            end(5, 2),
        ];
        // Cash-outs by value (2, 3, 1), then the others by value (4, 5); the first `max`,
        // returned in output order.
        assert_eq!(endpoints_to_explain(&result, 2), vec![OutIx(2), OutIx(3)]);
        assert_eq!(
            endpoints_to_explain(&result, 4),
            vec![OutIx(1), OutIx(2), OutIx(3), OutIx(4)]
        );
        assert_eq!(endpoints_to_explain(&result, 10).len(), 5);
    }

    #[test]
    fn a_seed_endpoint_is_its_own_path() {
        let mut result = TraceResult::default();
        result.seeded = 5;
        result.flows = vec![flow(7, 0, 5)];
        result.endpoints = vec![end(7, 5)];
        let paths = widest_paths(&result, 2, &endpoints_to_explain(&result, 10));
        assert_eq!(
            paths,
            vec![Path {
                endpoint: OutIx(7),
                rank: 1,
                width: 5,
                outputs: vec![OutIx(7)]
            }]
        );
    }

    #[test]
    fn topological_order_follows_output_ids_either_way_and_petgraph_otherwise() {
        let graph = |edges: &[(u32, u32)]| {
            let mut g: DiGraph<OutIx, u64> = DiGraph::new();
            for o in 0..5 {
                g.add_node(OutIx(o));
            }
            for &(a, b) in edges {
                g.add_edge(NodeIndex::new(a as usize), NodeIndex::new(b as usize), 1);
            }
            g
        };
        let index =
            |order: &[NodeIndex]| -> Vec<usize> { order.iter().map(|n| n.index()).collect() };
        let forward = graph(&[(0, 2), (1, 2), (2, 4), (3, 4)]);
        assert_eq!(index(&topological_order(&forward)), [0, 1, 2, 3, 4]);
        let backward = graph(&[(4, 2), (3, 1), (2, 0)]);
        assert_eq!(index(&topological_order(&backward)), [4, 3, 2, 1, 0]);
        let mixed = graph(&[(3, 1), (1, 4), (0, 3)]);
        let order = topological_order(&mixed);
        let at = |n: usize| order.iter().position(|m| m.index() == n).unwrap();
        assert_eq!(order.len(), 5);
        assert!(at(0) < at(3) && at(3) < at(1) && at(1) < at(4));
    }

    #[test]
    fn flow_graph_finds_edge_ends_among_dense_and_sparse_outputs() {
        use crate::trace::engine::{Edge, Flow};
        for outs in [
            vec![3, 4, 6, 7],
            vec![5, 1_000, 1_000_000_000, 1_000_000_001],
        ] {
            let mut result = TraceResult::default();
            result.flows = outs
                .iter()
                .map(|&o| Flow {
                    out: OutIx(o),
                    hop: 0,
                    tainted: 1,
                })
                .collect();
            let edge = |a: usize, b: usize, amount| Edge {
                from: OutIx(outs[a]),
                to: OutIx(outs[b]),
                amount,
            };
            result.edges = vec![edge(0, 2, 10), edge(1, 3, 20), edge(2, 3, 30)];
            // An edge to an output with no flow row is left out.
            result.edges.push(Edge {
                from: OutIx(outs[0]),
                to: OutIx(outs[3] + 1),
                amount: 40,
            });
            let (graph, nodes) = flow_graph(&result);
            assert_eq!(nodes, outs.iter().map(|&o| OutIx(o)).collect::<Vec<_>>());
            let edges: Vec<(OutIx, OutIx, u64)> = graph
                .raw_edges()
                .iter()
                .map(|e| (graph[e.source()], graph[e.target()], e.weight))
                .collect();
            let expected: Vec<(OutIx, OutIx, u64)> = result.edges[..3]
                .iter()
                .map(|e| (e.from, e.to, e.amount))
                .collect();
            assert_eq!(edges, expected, "outputs {outs:?}");
        }
    }
}
