//! `fundtrace report RESULTS_DIR`: a self-contained HTML page (no network at view time) and a
//! Markdown version of a trace's results: parameters and hashes, the totals per bucket and
//! model, the loss band, the top cash-outs with their widest paths, and a flow picture (SVG
//! by Graphviz `dot` or the built-in layout) plus `flow.dot` for people who use their own tools.
//!
//! The flow picture is laid out by Graphviz `dot` when asked (`--layout auto|graphviz`) or by
//! the built-in layout, identical on every machine (the default of the library call).
//! It is the petgraph graph of the explained paths: one column per hop, one node
//! per output on a path (its entity when it is a cash-out), edges as wide as the value they
//! carry. Everything is sorted, so a re-run gives byte-identical files.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;

use arrow::array::{Array, ListArray, StringArray, UInt32Array, UInt64Array};
use petgraph::graph::{DiGraph, NodeIndex};

use super::{coins, ExportError};
use crate::store::atomic::write_atomic;
use crate::store::read::read_file;

/// One explained path, as read back from `paths.parquet`.
#[derive(Debug, Clone)]
struct PathRow {
    policy: String,
    endpoint: String,
    bucket: String,
    rank: u32,
    value: u64,
    path: Vec<String>,
}

fn read_paths(dir: &Path) -> Result<Vec<PathRow>, ExportError> {
    let mut rows = Vec::new();
    for b in read_file(
        &dir.join("paths.parquet"),
        &[
            "policy",
            "endpoint",
            "bucket",
            "rank",
            "tainted_value",
            "path",
        ],
    )? {
        let s = |i: usize| b.column(i).as_any().downcast_ref::<StringArray>().cloned();
        let (Some(policy), Some(endpoint), Some(bucket)) = (s(0), s(1), s(2)) else {
            return Err(unexpected(dir));
        };
        let rank = b.column(3).as_any().downcast_ref::<UInt32Array>().cloned();
        let value = b.column(4).as_any().downcast_ref::<UInt64Array>().cloned();
        let path = b.column(5).as_any().downcast_ref::<ListArray>().cloned();
        let (Some(rank), Some(value), Some(path)) = (rank, value, path) else {
            return Err(unexpected(dir));
        };
        for i in 0..b.num_rows() {
            let list = path.value(i);
            let items = list
                .as_any()
                .downcast_ref::<StringArray>()
                .map_or(Vec::new(), |a| {
                    (0..a.len()).map(|j| a.value(j).to_string()).collect()
                });
            rows.push(PathRow {
                policy: policy.value(i).into(),
                endpoint: endpoint.value(i).into(),
                bucket: bucket.value(i).into(),
                rank: rank.value(i),
                value: value.value(i),
                path: items,
            });
        }
    }
    Ok(rows)
}

fn unexpected(dir: &Path) -> ExportError {
    ExportError::Read(crate::store::read::ReadError::Parquet {
        path: dir.to_path_buf(),
        message: "unexpected column types in the results: run `fundtrace trace` again".into(),
    })
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// A Markdown table cell: a pipe would split it.
fn cell(s: &str) -> String {
    s.replace('|', "\\|")
}

/// The cells of a Markdown table row (escaped pipes `\|` stay inside their cell).
fn row_cells(line: &str) -> Vec<String> {
    let inner = line.trim().trim_start_matches('|');
    let inner = inner
        .strip_suffix('|')
        .filter(|s| !s.ends_with('\\'))
        .unwrap_or(inner);
    let mut cells = vec![String::new()];
    let mut chars = inner.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' if chars.peek() == Some(&'|') => {
                cells.last_mut().expect("one cell").push('|');
                chars.next();
            }
            '|' => cells.push(String::new()),
            c => cells.last_mut().expect("one cell").push(c),
        }
    }
    cells.iter().map(|c| c.trim().to_string()).collect()
}

/// The reports' Markdown (`#`/`##` headings, `- ` items, pipe tables, and with `links` cells
/// that are a whole `[text](href)` link) as one self-contained, escaped HTML page;
/// `before_h2` may put HTML before a `##` heading.
pub(crate) fn markdown_to_html(
    md: &str,
    title: &str,
    links: bool,
    before_h2: impl Fn(&str) -> Option<String>,
) -> String {
    let cell_html = |c: &str| match (links, c.strip_prefix('[').and_then(|r| r.split_once("]("))) {
        (true, Some((text, href))) if href.ends_with(')') => {
            format!(
                "<a href=\"{}\">{}</a>",
                esc(&href[..href.len() - 1]),
                esc(text)
            )
        }
        _ => esc(c),
    };
    let mut html = format!("<!doctype html>\n<html><head><meta charset=\"utf-8\"><title>{}</title>\n<style>body{{font-family:sans-serif;margin:2em}}table{{border-collapse:collapse}}td,th{{border:1px solid #999;padding:2px 8px;text-align:right}}th{{background:#eee}}</style></head><body>\n", esc(title));
    let mut in_table = false;
    for line in md.lines() {
        let is_row = line.starts_with('|');
        if in_table && !is_row {
            html.push_str("</table>\n");
            in_table = false;
        }
        if let Some(h) = line.strip_prefix("# ") {
            let _ = writeln!(html, "<h1>{}</h1>", esc(h));
        } else if let Some(h) = line.strip_prefix("## ") {
            if let Some(extra) = before_h2(h) {
                html.push_str(&extra);
                html.push('\n');
            }
            let _ = writeln!(html, "<h2>{}</h2>", esc(h));
        } else if is_row {
            let cells = row_cells(line);
            if cells
                .iter()
                .all(|c| !c.is_empty() && c.chars().all(|ch| ch == '-' || ch == ':'))
            {
                continue;
            }
            let tag = if in_table { "td" } else { "th" };
            if !in_table {
                html.push_str("<table class=\"summary\">\n");
                in_table = true;
            }
            let _ = writeln!(
                html,
                "<tr>{}</tr>",
                cells
                    .iter()
                    .map(|c| format!("<{tag}>{}</{tag}>", cell_html(c)))
                    .collect::<String>()
            );
        } else if let Some(item) = line.strip_prefix("- ") {
            let _ = writeln!(
                html,
                "<p>{}</p>",
                esc(&item.replace('`', "").replace("**", ""))
            );
        }
    }
    if in_table {
        html.push_str("</table>\n");
    }
    html.push_str("</body></html>\n");
    html
}

fn short(outpoint: &str) -> String {
    let (txid, vout) = outpoint.split_once(':').unwrap_or((outpoint, ""));
    format!("{}…:{vout}", txid.chars().take(10).collect::<String>())
}

/// Endpoints drawn in the flow picture (their widest paths, widest first); the others are
/// merged into one node per bucket, so the picture stays readable on large traces.
const PICTURE_ENDPOINTS: usize = 40;

/// The flow graph of the top paths of one model: nodes are outputs on the paths, cash-outs
/// collapsed into one node per entity (in the last column), smaller flows merged; edges carry
/// the paths' values.
fn flow_graph(
    paths: &[PathRow],
    entities: &BTreeMap<String, String>,
) -> DiGraph<(String, usize), u64> {
    let mut best: Vec<&PathRow> = paths.iter().filter(|p| p.rank == 1).collect();
    best.sort_by(|a, b| {
        b.value
            .cmp(&a.value)
            .then_with(|| a.endpoint.cmp(&b.endpoint))
    });
    let (shown, rest) = best.split_at(best.len().min(PICTURE_ENDPOINTS));
    let last = shown.iter().map(|p| p.path.len()).max().unwrap_or(1);
    let mut g: DiGraph<(String, usize), u64> = DiGraph::new();
    let mut index: BTreeMap<String, NodeIndex> = BTreeMap::new();
    for p in shown {
        let mut prev: Option<NodeIndex> = None;
        for (hop, o) in p.path.iter().enumerate() {
            let (key, name, column) = match entities.get(o) {
                Some(e) if hop + 1 == p.path.len() => (format!("entity:{e}"), e.clone(), last),
                _ => (o.clone(), short(o), hop),
            };
            let n = *index
                .entry(key)
                .or_insert_with(|| g.add_node((name, column)));
            if let Some(a) = prev {
                match g.find_edge(a, n) {
                    Some(e) => g[e] = g[e].max(p.value),
                    None => {
                        g.add_edge(a, n, p.value);
                    }
                }
            }
            prev = Some(n);
        }
    }
    // The rest: one node per bucket, fed from the seeds their paths start at.
    let mut merged: BTreeMap<&str, (usize, u64, Vec<NodeIndex>)> = BTreeMap::new();
    for p in rest {
        let m = merged.entry(p.bucket.as_str()).or_default();
        m.0 += 1;
        m.1 = m.1.saturating_add(p.value);
        if let Some(seed) = p.path.first().and_then(|o| index.get(o)) {
            if !m.2.contains(seed) {
                m.2.push(*seed);
            }
        }
    }
    for (bucket, (count, value, seeds)) in merged {
        let n = g.add_node((format!("{count} smaller {bucket}"), last));
        for seed in seeds {
            g.add_edge(seed, n, value);
        }
    }
    g
}

/// An SVG of the flow graph: a column per hop, edges as wide as their value (log scale).
fn svg(g: &DiGraph<(String, usize), u64>) -> String {
    let mut columns: BTreeMap<usize, Vec<NodeIndex>> = BTreeMap::new();
    for n in g.node_indices() {
        columns.entry(g[n].1).or_default().push(n);
    }
    let rows = columns.values().map(Vec::len).max().unwrap_or(1);
    let (w, h) = (220 * columns.len().max(1) + 40, 40 * rows + 40);
    let mut pos = vec![(0usize, 0usize); g.node_count()];
    for (c, nodes) in &columns {
        for (r, n) in nodes.iter().enumerate() {
            pos[n.index()] = (30 + 220 * c, 30 + 40 * r);
        }
    }
    let max = g.edge_weights().copied().max().unwrap_or(1).max(1) as f64;
    let mut out = format!("<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{w}\" height=\"{h}\" font-family=\"sans-serif\" font-size=\"11\">\n");
    for e in g.edge_indices() {
        let (a, b) = g.edge_endpoints(e).expect("edge");
        let ((x1, y1), (x2, y2)) = (pos[a.index()], pos[b.index()]);
        let width = 1.0 + 8.0 * ((g[e] as f64).ln_1p() / max.ln_1p());
        let _ = writeln!(out, "<line x1=\"{}\" y1=\"{y1}\" x2=\"{x2}\" y2=\"{y2}\" stroke=\"#c0392b\" stroke-opacity=\"0.6\" stroke-width=\"{width:.1}\"><title>{}</title></line>", x1 + 150, coins(g[e] as u128));
    }
    for n in g.node_indices() {
        let (x, y) = pos[n.index()];
        let _ = writeln!(out, "<g class=\"node\"><rect x=\"{x}\" y=\"{}\" width=\"150\" height=\"22\" rx=\"4\" fill=\"#fdebd0\" stroke=\"#935116\"/><text x=\"{}\" y=\"{}\">{}</text></g>", y - 11, x + 4, y + 4, esc(&g[n].0));
    }
    out.push_str("</svg>\n");
    out
}

/// The formats of the human report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ReportFormat {
    /// `report.html`, self-contained.
    Html,
    /// `report.md`.
    Md,
}

/// Who lays out the flow picture.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Layout {
    /// Graphviz `dot` when it is on the PATH, else the built-in layout.
    Auto,
    /// The built-in column-per-hop layout (no dependency; identical on every machine).
    Builtin,
    /// Graphviz `dot` (an error when it is not installed).
    Graphviz,
}

/// Write `report.md`, `report.html` and `flow.dot` into the results directory `dir`, with the
/// built-in layout (the same bytes on every machine).
pub fn write_report(dir: &Path) -> Result<(), ExportError> {
    write_report_as(
        dir,
        &[ReportFormat::Html, ReportFormat::Md],
        Layout::Builtin,
    )
}

/// The flow graph as Graphviz DOT: left to right, boxes, edges as wide as their value.
fn dot_text(g: &DiGraph<(String, usize), u64>) -> String {
    let q = |s: &str| s.replace('\\', "\\\\").replace('"', "\\\"");
    let max = g.edge_weights().copied().max().unwrap_or(1).max(1) as f64;
    let mut out = String::from("digraph flow {\n    rankdir=LR;\n    node [shape=box, style=\"rounded,filled\", fillcolor=\"#fdebd0\", color=\"#935116\", fontname=\"sans-serif\", fontsize=10];\n    edge [color=\"#c0392b\"];\n");
    for n in g.node_indices() {
        let _ = writeln!(out, "    n{} [label=\"{}\"];", n.index(), q(&g[n].0));
    }
    for e in g.edge_indices() {
        let (a, b) = g.edge_endpoints(e).expect("edge");
        let width = 1.0 + 8.0 * ((g[e] as f64).ln_1p() / max.ln_1p());
        let _ = writeln!(
            out,
            "    n{} -> n{} [penwidth={width:.1}, tooltip=\"{}\"];",
            a.index(),
            b.index(),
            coins(g[e] as u128)
        );
    }
    out.push_str("}\n");
    out
}

/// Lay `dot` out with Graphviz: the SVG element, or None when `dot` cannot run.
fn graphviz_svg(dot: &str) -> Option<String> {
    use std::io::Write as _;
    let mut child = std::process::Command::new("dot")
        .arg("-Tsvg")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .ok()?;
    child.stdin.take()?.write_all(dot.as_bytes()).ok()?;
    let out = child.wait_with_output().ok()?;
    let text = String::from_utf8(out.stdout).ok()?;
    if !out.status.success() {
        return None;
    }
    Some(text[text.find("<svg")?..].to_string())
}

/// Write the report in `formats` (and `flow.dot`) into the results directory `dir`, the flow
/// picture laid out per `layout`.
pub fn write_report_as(
    dir: &Path,
    formats: &[ReportFormat],
    layout: Layout,
) -> Result<(), ExportError> {
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |source| ExportError::Io { path, source }
    };
    let summary_path = dir.join("summary.json");
    let summary: serde_json::Value = serde_json::from_slice(
        &std::fs::read(&summary_path).map_err(io(&summary_path))?,
    )
    .map_err(|e| ExportError::Io {
        path: summary_path.clone(),
        source: std::io::Error::other(e),
    })?;
    let paths = read_paths(dir)?;
    let policies = summary["policies"].as_array().cloned().unwrap_or_default();
    // Entities of cash-out endpoints, from the summary's per-model cash-outs is not per output:
    // read them from endpoints.parquet.
    let mut entities = BTreeMap::new();
    for b in read_file(&dir.join("endpoints.parquet"), &["txid", "vout", "entity"])? {
        let t = b.column(0).as_any().downcast_ref::<StringArray>().cloned();
        let v = b.column(1).as_any().downcast_ref::<UInt32Array>().cloned();
        let e = b.column(2).as_any().downcast_ref::<StringArray>().cloned();
        let (Some(t), Some(v), Some(e)) = (t, v, e) else {
            return Err(unexpected(dir));
        };
        for i in 0..b.num_rows() {
            if !e.is_null(i) && !t.is_null(i) {
                entities.insert(
                    format!("{}:{}", t.value(i), v.value(i)),
                    e.value(i).to_string(),
                );
            }
        }
    }
    let first_model = policies
        .iter()
        .find(|p| p["conserves"] == true)
        .or(policies.first());
    let model = first_model
        .and_then(|p| p["policy"].as_str())
        .unwrap_or("")
        .to_string();
    let model_paths: Vec<PathRow> = paths
        .iter()
        .filter(|p| p.policy == model)
        .cloned()
        .collect();
    let graph = flow_graph(&model_paths, &entities);
    let dot = dot_text(&graph);
    let picture = match layout {
        Layout::Builtin => svg(&graph),
        Layout::Auto => graphviz_svg(&dot).unwrap_or_else(|| svg(&graph)),
        Layout::Graphviz => graphviz_svg(&dot).ok_or_else(|| ExportError::Io {
            path: "dot".into(),
            source: std::io::Error::other(
                "Graphviz `dot` did not run: install graphviz, or use --layout builtin",
            ),
        })?,
    };

    // Markdown.
    let mut md = String::new();
    let _ = writeln!(
        md,
        "# Trace report: {}\n",
        summary["case"].as_str().unwrap_or("")
    );
    let _ = writeln!(
        md,
        "- engine {} · case sha256 `{}`",
        summary["engine_version"].as_str().unwrap_or(""),
        summary["case_sha256"].as_str().unwrap_or("")
    );
    let _ = writeln!(
        md,
        "- dataset {} tip {} `{}` · manifest sha256 `{}`",
        summary["dataset"]["chain"].as_str().unwrap_or(""),
        summary["dataset"]["tip_height"],
        summary["dataset"]["tip_hash"].as_str().unwrap_or(""),
        summary["dataset"]["manifest_sha256"].as_str().unwrap_or("")
    );
    let _ = writeln!(
        md,
        "- seeds: {} outputs, {} coins\n",
        summary["seeds"]["outputs"],
        coins(summary["seeds"]["total_sat"].as_u64().unwrap_or(0) as u128)
    );
    let buckets: Vec<String> = policies
        .first()
        .and_then(|p| p["buckets"].as_object())
        .map(|m| m.keys().cloned().collect())
        .unwrap_or_default();
    let _ = writeln!(
        md,
        "## Totals by bucket (coins)\n\n| model | {} | check |",
        buckets.join(" | ")
    );
    let _ = writeln!(md, "|---|{}---|", "---|".repeat(buckets.len()));
    for p in &policies {
        let cells: Vec<String> = buckets
            .iter()
            .map(|b| coins(p["buckets"][b].as_u64().unwrap_or(0) as u128))
            .collect();
        let check = match p["conservation_holds"].as_bool() {
            Some(true) => "conserved",
            Some(false) => "NOT conserved",
            None => "reach",
        };
        let _ = writeln!(
            md,
            "| {} | {} | {check} |",
            p["policy"].as_str().unwrap_or(""),
            cells.join(" | ")
        );
    }
    let _ = writeln!(
        md,
        "\n## Loss band across models (coins)\n\n| kind | key | min | max |\n|---|---|---|---|"
    );
    for r in summary["loss_band"].as_array().into_iter().flatten() {
        let _ = writeln!(
            md,
            "| {} | {} | {} | {} |",
            r["kind"].as_str().unwrap_or(""),
            cell(r["key"].as_str().unwrap_or("")),
            coins(r["min_sat"].as_u64().unwrap_or(0) as u128),
            coins(r["max_sat"].as_u64().unwrap_or(0) as u128)
        );
    }
    let _ = writeln!(md, "\n## Top cash-outs ({model}) and their widest paths\n");
    for p in model_paths
        .iter()
        .filter(|p| p.bucket == "cashed-out" && p.rank == 1)
    {
        let who = entities.get(&p.endpoint).cloned().unwrap_or_default();
        let _ = writeln!(
            md,
            "- **{who}** `{}`: {} coins over {} hops: {}",
            p.endpoint,
            coins(p.value as u128),
            p.path.len().saturating_sub(1),
            p.path
                .iter()
                .map(|o| format!("`{}`", short(o)))
                .collect::<Vec<_>>()
                .join(" → ")
        );
    }
    // HTML: the same content, self-contained, the flow picture before the top cash-outs.
    let html = markdown_to_html(&md, "fundtrace report", false, |h| {
        h.starts_with("Top cash-outs")
            .then(|| format!("<h2>Flow picture ({})</h2>\n{picture}", esc(&model)))
    });
    for (name, text, format) in [
        ("report.md", &md, Some(ReportFormat::Md)),
        ("report.html", &html, Some(ReportFormat::Html)),
        ("flow.dot", &dot, None),
    ] {
        if format.is_some_and(|f| !formats.contains(&f)) {
            continue;
        }
        let path = dir.join(name);
        write_atomic(&path, text.as_bytes()).map_err(io(&path))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markdown_rows_keep_escaped_pipes_and_render_links_only_when_asked() {
        assert_eq!(row_cells("| a | b\\|c | d |"), ["a", "b|c", "d"]);
        let md = "# T\n\n| a | b |\n|---|---:|\n| <x> | [r](d/report.html) |\n";
        let html = markdown_to_html(md, "t", true, |_| None);
        assert!(html.contains("<th>a</th>") && html.contains("<td>&lt;x&gt;</td>"));
        assert!(html.contains("<a href=\"d/report.html\">r</a>"));
        let plain = markdown_to_html(md, "t", false, |_| None);
        assert!(plain.contains("<td>[r](d/report.html)</td>"));
    }
}
