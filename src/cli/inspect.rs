//! `fundtrace inspect`: print one block, transaction or address for an investigator's spot check.

use std::str::FromStr;

use anyhow::{anyhow, bail};
use serde_json::json;

use super::{InspectArgs, InspectWhat};
use crate::store::dataset::{find_address, script_addresses};
use crate::store::{Dataset, InIx, OutIx, ScriptId, TxIx};

/// Run `inspect` and print the result (text, or JSON with `json`).
pub fn run(args: &InspectArgs, json: bool) -> anyhow::Result<()> {
    let ds = Dataset::open(&args.dataset)?;
    let value = match &args.what {
        InspectWhat::Tx { txid } => tx_view(&ds, txid)?,
        InspectWhat::Address { address } => address_view(&ds, address)?,
        InspectWhat::Block { height } => block_view(&ds, *height)?,
        InspectWhat::Why { a, b } => why_view(&ds, a, b)?,
    };
    if json {
        println!("{}", serde_json::to_string_pretty(&value)?);
    } else {
        print_text(&value, 0);
    }
    Ok(())
}

fn print_text(value: &serde_json::Value, indent: usize) {
    let pad = "  ".repeat(indent);
    match value {
        serde_json::Value::Object(map) => {
            for (k, v) in map {
                if v.is_object() || v.is_array() {
                    println!("{pad}{k}:");
                    print_text(v, indent + 1);
                } else {
                    println!("{pad}{k}: {}", scalar(v));
                }
            }
        }
        serde_json::Value::Array(items) => {
            for item in items {
                match item {
                    serde_json::Value::Object(map) => {
                        let line: Vec<String> = map
                            .iter()
                            .map(|(k, v)| format!("{k}={}", scalar(v)))
                            .collect();
                        println!("{pad}- {}", line.join("  "));
                    }
                    v => println!("{pad}- {}", scalar(v)),
                }
            }
        }
        v => println!("{pad}{}", scalar(v)),
    }
}

fn scalar(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::String(s) => s.clone(),
        serde_json::Value::Null => "-".into(),
        v => v.to_string(),
    }
}

fn outpoint(ds: &Dataset, out: OutIx) -> String {
    format!("{}:{}", ds.txid(ds.out_tx(out)), ds.vout(out))
}

fn tx_view(ds: &Dataset, txid: &str) -> anyhow::Result<serde_json::Value> {
    let parsed = bitcoin::Txid::from_str(txid)
        .map_err(|e| anyhow!("'{txid}' is not a txid ({e}): give 64 hex characters"))?;
    let tx = ds.find_txid(&parsed).ok_or_else(|| {
        anyhow!(
            "transaction {txid} is not in dataset {}",
            ds.dir().display()
        )
    })?;
    let inputs: Vec<InIx> = (ds.tx_inputs(tx).start.0..ds.tx_inputs(tx).end.0)
        .map(InIx)
        .collect();
    let outputs: Vec<OutIx> = (ds.tx_outputs(tx).start.0..ds.tx_outputs(tx).end.0)
        .map(OutIx)
        .collect();
    let prevs: Vec<Option<OutIx>> = inputs.iter().map(|&i| ds.prev_out(i)).collect();
    let mut scripts: Vec<ScriptId> = outputs.iter().map(|&o| ds.script_id(o)).collect();
    scripts.extend(prevs.iter().flatten().map(|&o| ds.script_id(o)));
    let names = script_addresses(ds, &scripts)?;
    let addr = |o: OutIx| {
        names
            .get(&ds.script_id(o))
            .map(|a| a.0.clone())
            .unwrap_or_default()
    };
    let in_sum: u128 = prevs.iter().flatten().map(|&o| ds.value(o) as u128).sum();
    let out_sum: u128 = outputs.iter().map(|&o| ds.value(o) as u128).sum();
    let coinbase = ds.is_coinbase(tx);
    let height = ds.tx_height(tx);
    Ok(json!({
        "txid": ds.txid(tx).to_string(),
        "tx_ix": tx.0,
        "height": height,
        "block_hash": hex_display(&ds.block_hash(height)),
        "block_time": ds.block_time(height),
        "coinbase": coinbase,
        "input_total": in_sum.to_string(),
        "output_total": out_sum.to_string(),
        "fee": if coinbase { serde_json::Value::Null } else { json!((in_sum - out_sum).to_string()) },
        "inputs": prevs.iter().enumerate().map(|(pos, p)| match p {
            Some(o) => json!({"pos": pos, "spends": outpoint(ds, *o), "value": ds.value(*o), "address": addr(*o)}),
            None => json!({"pos": pos, "spends": "coinbase"}),
        }).collect::<Vec<_>>(),
        "outputs": outputs.iter().map(|&o| {
            let spent = ds.spent_by(o).map(|t| format!("{}:{}", ds.txid(t), ds.spent_in_pos(o).unwrap_or(0)));
            json!({"vout": ds.vout(o), "value": ds.value(o), "address": addr(o), "spent_by": spent})
        }).collect::<Vec<_>>(),
    }))
}

fn address_view(ds: &Dataset, address: &str) -> anyhow::Result<serde_json::Value> {
    let Some(script) = find_address(ds, address)? else {
        bail!(
            "address {address} never received an output in dataset {} ({} chain, tip {}); check the address and the chain",
            ds.dir().display(),
            ds.manifest().chain.name(),
            ds.manifest().tip.as_ref().map_or(0, |t| t.height)
        );
    };
    let outs = ds.outputs_of_script(script);
    let received: u128 = outs.iter().map(|&o| ds.value(o) as u128).sum();
    let unspent: u128 = outs
        .iter()
        .filter(|&&o| ds.spent_by(o).is_none())
        .map(|&o| ds.value(o) as u128)
        .sum();
    let kind = script_addresses(ds, &[script])?
        .remove(&script)
        .map(|a| a.1)
        .unwrap_or_default();
    Ok(json!({
        "address": address,
        "kind": kind,
        "script_id": script.0,
        "outputs": outs.len(),
        "received": received.to_string(),
        "spent": (received - unspent).to_string(),
        "balance": unspent.to_string(),
        "history": outs.iter().map(|&o| {
            let tx = ds.out_tx(o);
            json!({
                "outpoint": outpoint(ds, o),
                "height": ds.tx_height(tx),
                "value": ds.value(o),
                "spent_by": ds.spent_by(o).map(|t| ds.txid(t).to_string()),
            })
        }).collect::<Vec<_>>(),
    }))
}

fn block_view(ds: &Dataset, height: u32) -> anyhow::Result<serde_json::Value> {
    if height >= ds.block_count() {
        bail!(
            "height {height} is above the dataset's tip {}",
            ds.block_count().saturating_sub(1)
        );
    }
    let txs = ds.block_txs(height);
    let txids: Vec<String> = (txs.start.0..txs.end.0)
        .map(|t| ds.txid(TxIx(t)).to_string())
        .collect();
    let out_total: u128 = (txs.start.0..txs.end.0)
        .flat_map(|t| {
            let r = ds.tx_outputs(TxIx(t));
            r.start.0..r.end.0
        })
        .map(|o| ds.value(OutIx(o)) as u128)
        .sum();
    Ok(json!({
        "height": height,
        "hash": hex_display(&ds.block_hash(height)),
        "time": ds.block_time(height),
        "tx_count": txids.len(),
        "output_total": out_total.to_string(),
        "txids": txids,
    }))
}

fn hex_display(bytes: &[u8; 32]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The merges joining two addresses' clusters: a path in the spanning forest of
/// `cluster_links.parquet` (each step a transaction and the heuristic that linked its scripts).
fn why_view(ds: &Dataset, a: &str, b: &str) -> anyhow::Result<serde_json::Value> {
    use arrow::array::{Array, StringArray, UInt32Array};
    use petgraph::graph::{NodeIndex, UnGraph};
    let path = ds.dir().join("cluster_links.parquet");
    if !path.exists() {
        bail!(
            "{} has no clusters: run `fundtrace cluster {}` first",
            ds.dir().display(),
            ds.dir().display()
        );
    }
    if crate::cluster::load_clusters(ds).is_none() {
        bail!("the clusters of {} are missing or older than the dataset: run `fundtrace cluster {}` again", ds.dir().display(), ds.dir().display());
    }
    // The form ingest writes (lowercase bech32, CashAddr with prefix…), however it was typed.
    let chain = ds.manifest().chain;
    let canonical = |x: &str| {
        chain
            .address_to_script(x)
            .map_or_else(|_| x.to_string(), |s| chain.script_to_address(&s))
    };
    let (ca, cb) = (canonical(a), canonical(b));
    let (a, b) = (ca.as_str(), cb.as_str());
    let wanted = [a, b].into_iter().collect();
    let found = crate::store::dataset::find_addresses(ds, &wanted)?;
    let id = |x: &str| {
        found
            .get(x)
            .copied()
            .ok_or_else(|| anyhow!("address {x} is not in dataset {}", ds.dir().display()))
    };
    let (sa, sb) = (id(a)?, id(b)?);
    let n = ds.script_count() as usize;
    let mut graph: UnGraph<(), (String, String)> = UnGraph::with_capacity(n, n);
    for _ in 0..n {
        graph.add_node(());
    }
    for batch in
        crate::store::read::read_file(&path, &["script_a", "script_b", "txid", "heuristic"])?
    {
        let col_u32 = |i: usize| {
            batch
                .column(i)
                .as_any()
                .downcast_ref::<UInt32Array>()
                .cloned()
        };
        let col_str = |i: usize| {
            batch
                .column(i)
                .as_any()
                .downcast_ref::<StringArray>()
                .cloned()
        };
        let (Some(x), Some(y), Some(t), Some(h)) = (col_u32(0), col_u32(1), col_str(2), col_str(3))
        else {
            bail!(
                "{} has unexpected columns: run `fundtrace cluster` again",
                path.display()
            );
        };
        for i in 0..batch.num_rows() {
            if x.value(i) as usize >= n || y.value(i) as usize >= n {
                bail!(
                    "{} refers to scripts the dataset does not have: run `fundtrace cluster` again",
                    path.display()
                );
            }
            graph.add_edge(
                NodeIndex::new(x.value(i) as usize),
                NodeIndex::new(y.value(i) as usize),
                (t.value(i).to_string(), h.value(i).to_string()),
            );
        }
    }
    // Breadth-first search from a to b over the forest (a path is unique in a forest).
    let (start, goal) = (NodeIndex::new(sa.index()), NodeIndex::new(sb.index()));
    let mut back: Vec<Option<(NodeIndex, petgraph::graph::EdgeIndex)>> = vec![None; n];
    let mut queue = std::collections::VecDeque::from([start]);
    let mut seen = vec![false; n];
    seen[start.index()] = true;
    while let Some(node) = queue.pop_front() {
        if node == goal {
            break;
        }
        for e in graph.edges(node) {
            let next = petgraph::visit::EdgeRef::target(&e);
            if !seen[next.index()] {
                seen[next.index()] = true;
                back[next.index()] = Some((node, petgraph::visit::EdgeRef::id(&e)));
                queue.push_back(next);
            }
        }
    }
    if !seen[goal.index()] {
        return Ok(json!({"a": a, "b": b, "same_cluster": false}));
    }
    let names = script_addresses(
        ds,
        &(0..n as u32)
            .filter(|&i| seen[i as usize])
            .map(ScriptId)
            .collect::<Vec<_>>(),
    )?;
    let name = |n: NodeIndex| {
        names
            .get(&ScriptId(n.index() as u32))
            .map(|x| x.0.clone())
            .unwrap_or_default()
    };
    let mut steps = Vec::new();
    let mut node = goal;
    while let Some((prev, edge)) = back[node.index()] {
        let (txid, heuristic) = &graph[edge];
        steps.push(
            json!({"from": name(prev), "to": name(node), "txid": txid, "heuristic": heuristic}),
        );
        node = prev;
    }
    steps.reverse();
    let weak = steps.iter().any(|s| {
        s["heuristic"]
            .as_str()
            .and_then(crate::cluster::heuristics::by_name)
            .is_none_or(|h| h.weak())
    });
    Ok(json!({"a": a, "b": b, "same_cluster": true, "through_weak_links": weak, "steps": steps}))
}
