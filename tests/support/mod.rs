//! Shared helpers of the end-to-end tests: locating data outside the repo (skipped with a reason
//! when absent, required when `CI` is set) and running the real binary.

#![allow(dead_code)]

pub mod node;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The repository root.
pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A path under `../shared/datasets/real`, or `None` (with the reason printed) when it is absent.
/// Under `CI` an absent file fails the test instead, so CI never passes by skipping.
pub fn real_data(rel: &str) -> Option<PathBuf> {
    let path = repo_root().join("../shared/datasets/real").join(rel);
    if path.exists() {
        return Some(path);
    }
    let reason = format!(
        "real data {} is absent (expected beside the repo in ../shared)",
        path.display()
    );
    if std::env::var_os("CI").is_some() {
        panic!("{reason}; CI requires it");
    }
    eprintln!("SKIPPED: {reason}");
    None
}

/// A command running the `fundtrace` binary built for this test run.
pub fn fundtrace() -> Command {
    Command::new(env!("CARGO_BIN_EXE_fundtrace"))
}

/// Run the binary, assert it succeeded, and return its stdout.
pub fn run_ok(args: &[&str]) -> String {
    let out = fundtrace().args(args).output().expect("fundtrace runs");
    assert_success(&out, args);
    String::from_utf8(out.stdout).expect("utf-8 output")
}

/// `fundtrace ingest --blocks-dir BLOCKS --chain CHAIN --out OUT`, asserted to succeed; its stdout.
pub fn ingest_blocks(blocks: &Path, chain: &str, out: &Path) -> String {
    run_ok(&[
        "ingest",
        "--blocks-dir",
        blocks.to_str().unwrap(),
        "--chain",
        chain,
        "--out",
        out.to_str().unwrap(),
    ])
}

/// The `address → (entity, category)` rows of a truth `labels.csv`.
pub fn truth_labels(path: &Path) -> std::collections::HashMap<String, (String, String)> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .skip(1)
        .map(|l| {
            let f: Vec<&str> = l.split(',').collect();
            (f[0].to_string(), (f[1].to_string(), f[2].to_string()))
        })
        .collect()
}

/// Run the binary, assert it failed, and return its stderr.
pub fn run_err(args: &[&str]) -> String {
    let out = fundtrace().args(args).output().expect("fundtrace runs");
    assert!(
        !out.status.success(),
        "fundtrace {args:?} should fail but succeeded:\n{}",
        String::from_utf8_lossy(&out.stdout)
    );
    String::from_utf8(out.stderr).expect("utf-8 output")
}

/// Panic with the command's output unless it succeeded.
pub fn assert_success(out: &Output, args: &[&str]) {
    assert!(
        out.status.success(),
        "fundtrace {args:?} failed ({}):\nstdout:\n{}\nstderr:\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Frames `(offset, bytes)` of a blk file with 4-byte magic and LE length framing.
pub fn frames(bytes: &[u8]) -> Vec<&[u8]> {
    let mut out = Vec::new();
    let mut pos = 0;
    while pos + 8 <= bytes.len() {
        let len = u32::from_le_bytes(bytes[pos + 4..pos + 8].try_into().unwrap()) as usize;
        if pos + 8 + len > bytes.len() {
            break;
        }
        out.push(&bytes[pos + 8..pos + 8 + len]);
        pos += 8 + len;
    }
    out
}

/// Write blocks as a blk file with `magic` framing.
pub fn write_blk(path: &Path, magic: [u8; 4], blocks: &[&[u8]]) {
    let mut out = Vec::new();
    for b in blocks {
        out.extend_from_slice(&magic);
        out.extend_from_slice(&(b.len() as u32).to_le_bytes());
        out.extend_from_slice(b);
    }
    std::fs::write(path, out).unwrap();
}

/// A deterministic permutation of `0..n` (a seeded LCG Fisher–Yates; no dependency needed).
pub fn shuffled(n: usize, seed: u64) -> Vec<usize> {
    let mut state = seed;
    let mut v: Vec<usize> = (0..n).collect();
    for i in (1..n).rev() {
        state = state
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        let j = (state >> 33) as usize % (i + 1);
        v.swap(i, j);
    }
    v
}

/// The bytes of every file under `dir`, by relative path, for comparing two datasets.
pub fn tree_digest(dir: &Path) -> Vec<(String, Vec<u8>)> {
    fn walk(root: &Path, dir: &Path, out: &mut Vec<(String, Vec<u8>)>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(root, &path, out);
            } else if path.file_name()
                == Some(std::ffi::OsStr::new(fundtrace::store::lock::LOCK_FILE))
            {
                // The lock file holds who last wrote the dataset, not data.
                continue;
            } else {
                let rel = path
                    .strip_prefix(root)
                    .unwrap()
                    .to_string_lossy()
                    .into_owned();
                out.push((rel, std::fs::read(&path).unwrap()));
            }
        }
    }
    let mut out = Vec::new();
    walk(dir, dir, &mut out);
    out.sort();
    out
}

/// Run `fundtrace trace CASE --out OUT --json` and return its summary.
pub fn trace_summary(case: &Path, out: &Path) -> serde_json::Value {
    let stdout = run_ok(&[
        "trace",
        case.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--json",
    ]);
    serde_json::from_str(&stdout).expect("trace --json prints JSON")
}

/// Check that the addresses and kinds the dataset renders from its cached script bytes
/// (`script_addresses`, what exports and `inspect` show) equal the `scripts` table ingest wrote,
/// for every script; returns how many were compared.
pub fn assert_rendered_addresses_match_the_scripts_table(dir: &Path) -> usize {
    use arrow::array::AsArray;
    use arrow::datatypes::UInt32Type;
    use fundtrace::store::dataset::script_addresses;
    use fundtrace::store::{Dataset, ScriptId};
    let ds = Dataset::open(dir).unwrap();
    let ids: Vec<ScriptId> = (0..ds.manifest().counts.scripts as u32)
        .map(ScriptId)
        .collect();
    let rendered = script_addresses(&ds, &ids).unwrap();
    assert_eq!(rendered.len(), ids.len(), "every script rendered");
    let batches = fundtrace::store::read::read_table(
        dir,
        ds.manifest(),
        "scripts",
        &["script_id", "address", "kind"],
    )
    .unwrap();
    let mut compared = 0;
    for b in batches {
        let id = b.column(0).as_primitive::<UInt32Type>();
        let address = b.column(1).as_string::<i64>();
        let kind = b.column(2).as_string::<i32>();
        for i in 0..b.num_rows() {
            let (a, k) = &rendered[&ScriptId(id.value(i))];
            assert_eq!(
                (a.as_str(), k.as_str()),
                (address.value(i), kind.value(i)),
                "script {} of {}",
                id.value(i),
                dir.display()
            );
            compared += 1;
        }
    }
    assert_eq!(compared, ids.len(), "the table has a row per script");
    compared
}
