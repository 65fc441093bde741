//! Ingest over RPC from a real `litecoind -regtest`, against the blk-file ingest of the node's
//! own `regtest/blocks/`: the two independent paths must give the identical dataset.

mod support;

use serde_json::json;
use support::node::LitecoinNode;
use support::*;

/// `ingest --rpc` from `node` (its cookie, no confirmations) into `out`.
fn rpc_ingest_args(node: &LitecoinNode, out: &std::path::Path) -> Vec<String> {
    let cookie = node.cookie();
    [
        "ingest",
        "--rpc",
        &node.url,
        "--cookie",
        cookie.to_str().unwrap(),
        "--chain",
        "litecoin-regtest",
        "--confirmations",
        "0",
        "--out",
        out.to_str().unwrap(),
    ]
    .iter()
    .map(|s| s.to_string())
    .collect()
}

/// The coinbase outpoint and value of a block.
fn coinbase(node: &LitecoinNode, block: &str) -> ((String, u32), u64) {
    let b = node.call("getblock", &[json!(block), json!(2)]);
    let tx = &b["tx"][0];
    let sat = (tx["vout"][0]["value"].as_f64().unwrap() * 1e8).round() as u64;
    ((tx["txid"].as_str().unwrap().to_string(), 0), sat)
}

#[test]
fn rpc_ingest_equals_blk_ingest_of_the_nodes_own_files() {
    let Some(mut node) = LitecoinNode::start() else {
        return;
    };
    node.call("createwallet", &[json!("w")]);
    let kinds = ["legacy", "p2sh-segwit", "bech32"];
    // An exchange's hot wallet: 20 addresses, each paid one block reward.
    let hot: Vec<String> = (0..20).map(|i| node.address(kinds[i % 3])).collect();
    let mut coins = Vec::new();
    for a in &hot {
        let block = node.mine(1, a).remove(0);
        coins.push(coinbase(&node, &block));
    }
    let miner = node.address("bech32");
    node.mine(100, &miner);
    // The theft: every hot-wallet coin swept into one thief address.
    let thief = node.address("bech32");
    let total: u64 = coins.iter().map(|c| c.1).sum();
    let sweep = node.spend(
        &coins.iter().map(|c| c.0.clone()).collect::<Vec<_>>(),
        &[(thief.clone(), total - 20_000)],
    );
    node.mine(1, &miner);
    // A peel chain: each hop deposits 10 LTC at another exchange and moves the change on.
    let deposits: Vec<String> = (0..5).map(|i| node.address(kinds[i % 3])).collect();
    let mut loot = ((sweep, 0u32), total - 20_000);
    for d in &deposits {
        let next = node.address("bech32");
        let change = loot.1 - 10 * 100_000_000 - 5_000;
        let txid = node.spend(
            &[loot.0.clone()],
            &[(d.clone(), 10 * 100_000_000), (next, change)],
        );
        node.mine(1, &miner);
        // The change is the output that is not the deposit (createrawtransaction keeps order).
        loot = ((txid, 1), change);
    }
    // A split over four fresh addresses; one deposits at another exchange.
    let parts: Vec<String> = (0..4).map(|_| node.address("bech32")).collect();
    let each = (loot.1 - 10_000) / 4;
    let split = node.spend(
        &[loot.0.clone()],
        &parts.iter().map(|p| (p.clone(), each)).collect::<Vec<_>>(),
    );
    node.mine(1, &miner);
    let other_exchange = node.address("p2sh-segwit");
    node.spend(&[(split, 0)], &[(other_exchange, each - 5_000)]);
    // Ordinary wallet payments around it.
    for _ in 0..3 {
        node.call(
            "sendtoaddress",
            &[json!(node.address("bech32")), json!(1.5)],
        );
    }
    node.mine(2, &miner);
    let height = node.call("getblockcount", &[]).as_u64().unwrap();

    let tmp = tempfile::tempdir().unwrap();
    let (by_rpc, by_blk) = (tmp.path().join("rpc"), tmp.path().join("blk"));
    let cookie = node.cookie();
    let url = node.url.clone();
    let base = |out: &std::path::Path| -> Vec<String> {
        [
            "ingest",
            "--rpc",
            &url,
            "--cookie",
            cookie.to_str().unwrap(),
            "--chain",
            "litecoin-regtest",
            "--out",
            out.to_str().unwrap(),
            "--partition-blocks",
            "40",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect()
    };
    // In two steps, to exercise continuing from the stored tip over RPC.
    let mut first = base(&by_rpc);
    // (Partitions close every 40 blocks: stopping at 79 keeps the layout of a single run.)
    first.extend(["--to".to_string(), "79".to_string()]);
    run_ok(&first.iter().map(String::as_str).collect::<Vec<_>>());
    // The node goes away mid-way: a clear error, nothing half-written; back up, ingest resumes.
    node.stop();
    let down = run_err(&base(&by_rpc).iter().map(String::as_str).collect::<Vec<_>>());
    // The node removes its cookie when it stops: that is the first thing ingest finds.
    assert!(down.contains("is the node running?"), "{down}");
    node.restart();
    let out = run_ok(&base(&by_rpc).iter().map(String::as_str).collect::<Vec<_>>());
    assert!(out.contains(&format!("..={height}")), "{out}");

    // Faults, each named with its cause and fix.
    let wrong_port = run_err(&[
        "ingest",
        "--rpc",
        "http://127.0.0.1:1",
        "--cookie",
        cookie.to_str().unwrap(),
        "--chain",
        "litecoin-regtest",
        "--out",
        tmp.path().join("x").to_str().unwrap(),
    ]);
    assert!(
        wrong_port.contains("cannot reach a node at http://127.0.0.1:1"),
        "{wrong_port}"
    );
    let wrong_chain = run_err(&[
        "ingest",
        "--rpc",
        &node.url,
        "--cookie",
        cookie.to_str().unwrap(),
        "--chain",
        "bitcoin-regtest",
        "--out",
        tmp.path().join("y").to_str().unwrap(),
    ]);
    assert!(
        wrong_chain.contains("use --chain litecoin-regtest"),
        "{wrong_chain}"
    );
    let bad_auth = fundtrace()
        .args([
            "ingest",
            "--rpc",
            &node.url,
            "--rpc-user",
            "nobody",
            "--rpc-password-env",
            "FT_TEST_PW",
            "--chain",
            "litecoin-regtest",
            "--out",
            tmp.path().join("z").to_str().unwrap(),
        ])
        .env("FT_TEST_PW", "wrong-secret")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&bad_auth.stderr);
    assert!(
        !bad_auth.status.success() && stderr.contains("rejected the credentials"),
        "{stderr}"
    );
    assert!(
        !stderr.contains("wrong-secret"),
        "the password must never be printed"
    );

    // A reorg: the node drops its last 3 blocks and mines 5 others. Ingesting again rolls the
    // dataset back below the fork and ends as a fresh ingest of the new chain does.
    let fork_at = node.call("getblockhash", &[json!(height - 2)]);
    node.call("invalidateblock", &[fork_at]);
    node.mine(5, &node.address("bech32"));
    let again = run_ok(&base(&by_rpc).iter().map(String::as_str).collect::<Vec<_>>());
    assert!(again.contains("reorg:"), "{again}");
    let fresh = tmp.path().join("fresh");
    run_ok(&base(&fresh).iter().map(String::as_str).collect::<Vec<_>>());
    assert_eq!(tree_digest(&by_rpc), tree_digest(&fresh));
    // The node runs with -rest, so blocks came as binary over REST; over RPC as hex, the same.
    let by_hex = tmp.path().join("hex");
    let mut hex = base(&by_hex);
    hex.push("--no-rest".into());
    run_ok(&hex.iter().map(String::as_str).collect::<Vec<_>>());
    assert_eq!(tree_digest(&by_rpc), tree_digest(&by_hex));
    let height = node.call("getblockcount", &[]).as_u64().unwrap();

    // The node's own blk files, once it has flushed and stopped (they hold the stale blocks too,
    // which the blk reader drops: the best chain is the same).
    node.stop();
    run_ok(&[
        "ingest",
        "--blocks-dir",
        node.blocks_dir().to_str().unwrap(),
        "--chain",
        "litecoin-regtest",
        "--out",
        by_blk.to_str().unwrap(),
        "--partition-blocks",
        "40",
    ]);
    let (a, b) = (tree_digest(&by_rpc), tree_digest(&by_blk));
    assert_eq!(
        a.iter().map(|f| &f.0).collect::<Vec<_>>(),
        b.iter().map(|f| &f.0).collect::<Vec<_>>()
    );
    for ((name, x), (_, y)) in a.iter().zip(&b) {
        assert!(x == y, "{name} differs between the RPC and the blk ingest");
    }
    let manifest: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(by_rpc.join("manifest.json")).unwrap())
            .unwrap();
    assert_eq!(manifest["tip"]["height"], height);
    assert_eq!(manifest["chain"], "litecoin-regtest");
}

/// A live node with MWEB active: mine through activation, peg coins into the extension block and
/// out again, then ingest over RPC and from the node's files: both read the HogEx and the
/// extension blocks, and agree byte for byte.
#[test]
fn mweb_blocks_from_a_live_node_ingest_both_ways() {
    let Some(mut node) = LitecoinNode::start_with(true) else {
        return;
    };
    node.call("createwallet", &[json!("w")]);
    let miner = node.address("bech32");
    // Regtest activates MWEB at height 432; its first block must hold a peg-in (Litecoin Core
    // 0.21 cannot build an empty HogEx), so the peg-in waits in the mempool for it.
    node.mine(431, &miner);
    let mweb_a = node.address("mweb");
    node.call("sendtoaddress", &[json!(mweb_a), json!(5.0)]);
    node.mine(1, &miner);
    let status = node.call("getblockchaininfo", &[]);
    let active = status["softforks"]["mweb"]["active"]
        .as_bool()
        .unwrap_or(false);
    assert!(
        active,
        "MWEB did not activate at height 432: {}",
        status["softforks"]
    );
    // Send inside MWEB, and peg out (MWEB → canonical).
    let mweb_b = node.address("mweb");
    node.call("sendtoaddress", &[json!(mweb_b), json!(1.0)]);
    node.mine(1, &miner);
    let out = node.address("bech32");
    node.call("sendtoaddress", &[json!(out), json!(0.5)]);
    node.mine(2, &miner);
    let height = node.call("getblockcount", &[]).as_u64().unwrap();

    let tmp = tempfile::tempdir().unwrap();
    let (by_rpc, by_blk) = (tmp.path().join("rpc"), tmp.path().join("blk"));
    run_ok(&[
        "ingest",
        "--rpc",
        &node.url,
        "--cookie",
        node.cookie().to_str().unwrap(),
        "--chain",
        "litecoin-regtest",
        "--out",
        by_rpc.to_str().unwrap(),
    ]);
    node.stop();
    ingest_blocks(&node.blocks_dir(), "litecoin-regtest", &by_blk);
    assert_eq!(tree_digest(&by_rpc), tree_digest(&by_blk));
    let ds = fundtrace::store::Dataset::open(&by_rpc).unwrap();
    assert_eq!(ds.block_count() as u64, height + 1);
}

/// A node still in initial block download (a fresh regtest node: its tip, the genesis, is years
/// old) is refused with the cause and the fix; `--to` ingests what it has.
#[test]
fn a_syncing_node_is_named_and_to_ingests_what_it_has() {
    let Some(node) = LitecoinNode::start() else {
        return;
    };
    let info = node.call("getblockchaininfo", &[]);
    assert_eq!(
        info["initialblockdownload"], true,
        "a fresh regtest node is in IBD"
    );
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("ds");
    let mut args = rpc_ingest_args(&node, &out);
    let err = run_err(&args.iter().map(String::as_str).collect::<Vec<_>>());
    assert!(
        err.contains("still in initial block download") && err.contains("--to 0"),
        "{err}"
    );
    args.extend(["--to", "0"].map(String::from));
    run_ok(&args.iter().map(String::as_str).collect::<Vec<_>>());
    assert_eq!(
        fundtrace::store::Dataset::open(&out).unwrap().block_count(),
        1
    );
}

/// A node that accepts connections but never answers (stuck, or its work queue full): each
/// request times out after `--rpc-timeout`, is retried, and the run ends with an error naming
/// the cause and the fix. A listening socket that never accepts behaves exactly so: the kernel
/// completes the connection, nothing ever reads or writes.
#[test]
fn a_node_that_never_answers_times_out_with_the_fix() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let tmp = tempfile::tempdir().unwrap();
    let out = fundtrace()
        .env("FUNDTRACE_TEST_PW", "secret")
        .args([
            "ingest",
            "--rpc",
            &format!("http://127.0.0.1:{port}"),
            "--chain",
            "litecoin-regtest",
            "--rpc-user",
            "u",
            "--rpc-password-env",
            "FUNDTRACE_TEST_PW",
            "--rpc-timeout",
            "1",
            "--out",
            tmp.path().join("ds").to_str().unwrap(),
        ])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        stderr.contains("did not answer getblockchaininfo within 1 s (5 attempts)")
            && stderr.contains("--rpc-timeout"),
        "{stderr}"
    );
    assert!(!stderr.contains("secret"), "the password is never printed");
    drop(listener);
}

/// The dataset's tip height, read from its manifest (written atomically, so never half).
fn manifest_tip(dataset: &std::path::Path) -> Option<u64> {
    let text = std::fs::read_to_string(dataset.join("manifest.json")).ok()?;
    let v: serde_json::Value = serde_json::from_str(&text).ok()?;
    v["tip"]["height"].as_u64()
}

/// Wait (up to two minutes) for the following ingest to reach `height`.
fn wait_for_tip(dataset: &std::path::Path, height: u64) {
    for _ in 0..1_200 {
        if manifest_tip(dataset) == Some(height) {
            return;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    panic!(
        "the follower never reached height {height} (at {:?})",
        manifest_tip(dataset)
    );
}

/// `--follow`: ingests what the node has, then each new block as it is mined, until SIGINT;
/// it then stops cleanly, and the dataset equals a one-shot ingest of the same chain.
#[test]
fn follow_ingests_new_blocks_until_interrupted() {
    let Some(node) = LitecoinNode::start() else {
        return;
    };
    node.call("createwallet", &[json!("w")]);
    let miner = node.address("bech32");
    node.mine(101, &miner);
    let tmp = tempfile::tempdir().unwrap();
    let (followed, once) = (tmp.path().join("followed"), tmp.path().join("once"));
    let args = |out: &std::path::Path| rpc_ingest_args(&node, out);
    let mut follow_args = args(&followed);
    follow_args.extend(["--follow", "--poll-secs", "1"].map(String::from));
    let child = fundtrace()
        .args(&follow_args)
        .env("FUNDTRACE_LOG", "debug")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    wait_for_tip(&followed, 101);
    // New blocks with a payment in them.
    node.call(
        "sendtoaddress",
        &[json!(node.address("legacy")), json!(2.5)],
    );
    node.mine(3, &miner);
    wait_for_tip(&followed, 104);
    node.mine(2, &miner);
    wait_for_tip(&followed, 106);
    // Between rounds the dataset is free for readers (a trace opens it).
    let mut opened = false;
    for _ in 0..50 {
        if fundtrace::store::Dataset::open(&followed).is_ok() {
            opened = true;
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    assert!(opened, "the follower never let a reader open the dataset");
    // A reorg while following: the node drops blocks 105 and 106 and mines three others with
    // another payment; the follower rolls back and goes on.
    let fork_at = node.call("getblockhash", &[json!(105)]);
    node.call("invalidateblock", &[fork_at]);
    node.call(
        "sendtoaddress",
        &[json!(node.address("bech32")), json!(1.25)],
    );
    node.mine(3, &miner);
    wait_for_tip(&followed, 107);
    // SAFETY: sending a signal to our own child process.
    unsafe {
        libc::kill(child.id() as libc::pid_t, libc::SIGINT);
    }
    let out = child.wait_with_output().unwrap();
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    assert!(out.status.success(), "{stderr}");
    assert!(
        stdout.contains("tip 101") && stdout.contains("tip 106") && stdout.contains("tip 107"),
        "{stdout}"
    );
    assert!(stderr.contains("stopped; the dataset"), "{stderr}");
    // Rounds kept their writer, and the reorg made one reopen the dataset.
    assert!(
        stderr.contains("reused=true") && stderr.matches("reused=false").count() >= 2,
        "{stderr}"
    );

    run_ok(&args(&once).iter().map(String::as_str).collect::<Vec<_>>());
    // The cache does not depend on partition boundaries: byte for byte the same.
    assert!(tree_digest(&followed.join("cache")) == tree_digest(&once.join("cache")));
    // The tables hold what one ingest of the final chain gives (each round commits its own
    // partition, so the files differ: compare their columns).
    let rows = |dir: &std::path::Path, table: &str, column: &str| {
        let manifest = fundtrace::store::Manifest::read(dir).unwrap().unwrap();
        let parts = fundtrace::store::read::read_column(dir, &manifest, table, column).unwrap();
        let parts: Vec<&dyn arrow::array::Array> = parts.iter().map(|a| a.as_ref()).collect();
        arrow::compute::concat(&parts).unwrap()
    };
    for (table, column) in [
        ("txs", "txid"),
        ("outputs", "spent_by"),
        ("scripts", "address"),
    ] {
        let (a, b) = (rows(&followed, table, column), rows(&once, table, column));
        assert!(a.as_ref() == b.as_ref(), "{table}.{column} differs");
    }
    let a = fundtrace::store::Dataset::open(&followed).unwrap();
    let b = fundtrace::store::Dataset::open(&once).unwrap();
    assert_eq!(
        (a.block_count(), a.tx_count(), a.output_count()),
        (b.block_count(), b.tx_count(), b.output_count())
    );
    for t in 0..a.tx_count() {
        let t = fundtrace::store::TxIx(t);
        assert_eq!(a.txid(t), b.txid(t));
    }
}

/// A generated Litecoin chain (scrypt proof of work, filler signatures) imported by a real
/// litecoind with -loadblock and -assumevalid at its tip (8,100 empty blocks bury the payments
/// below the node's script-check window): the node accepts every block, which checks the
/// generator against Litecoin Core's consensus rules other than scripts, and `ingest --rpc`
/// over REST gives byte for byte the dataset that the blk ingest of the generated files gives.
#[test]
fn a_generated_chain_imported_by_litecoind_ingests_identically_over_rest() {
    if support::node::litecoind().is_none() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let (gen, by_blk, by_rpc) = (
        tmp.path().join("gen"),
        tmp.path().join("blk"),
        tmp.path().join("rpc"),
    );
    run_ok(&[
        "generate",
        "--scenario",
        "payments",
        "--chain",
        "litecoin-regtest",
        "--txs",
        "3000",
        "--txs-per-block",
        "300",
        "--tail-blocks",
        "8100",
        "--seed",
        "5",
        "--out",
        gen.to_str().unwrap(),
    ]);
    ingest_blocks(&gen.join("blocks"), "litecoin-regtest", &by_blk);
    let manifest: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(by_blk.join("manifest.json")).unwrap())
            .unwrap();
    let (tip, tip_hash) = (
        manifest["tip"]["height"].as_u64().unwrap(),
        manifest["tip"]["hash"].as_str().unwrap().to_string(),
    );
    let mut node = LitecoinNode::start_with_args(
        false,
        &[
            format!("-loadblock={}", gen.join("blocks/blk00000.dat").display()),
            format!("-assumevalid={tip_hash}"),
            "-maxtipage=4000000000".to_string(),
        ],
    )
    .expect("litecoind is present");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(600);
    while node.call("getblockcount", &[]).as_u64().unwrap() < tip {
        assert!(
            std::time::Instant::now() < deadline,
            "litecoind did not import the generated chain (see its debug.log)"
        );
        std::thread::sleep(std::time::Duration::from_millis(500));
    }
    assert_eq!(node.call("getbestblockhash", &[]), json!(tip_hash));
    let args = rpc_ingest_args(&node, &by_rpc);
    run_ok(&args.iter().map(String::as_str).collect::<Vec<_>>());
    assert_eq!(tree_digest(&by_rpc), tree_digest(&by_blk));

    // The node stops in the middle of an ingest: the run fails naming the node and keeps the
    // partitions it committed; with the node back, the next run resumes from there and ends
    // with the dataset a one-shot ingest gives. (Partitions of 2,000 blocks: the first holds
    // every payment, and the stop falls while a later one is being fetched.)
    let (interrupted, one_shot) = (tmp.path().join("interrupted"), tmp.path().join("one-shot"));
    let mut args = rpc_ingest_args(&node, &interrupted);
    args.extend(["--partition-blocks".to_string(), "2000".to_string()]);
    let mut child = fundtrace()
        .args(&args)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(300);
    while manifest_tip(&interrupted).is_none_or(|h| h < 1999) {
        assert!(
            child.try_wait().unwrap().is_none(),
            "the ingest ended before its first partition was committed"
        );
        assert!(
            std::time::Instant::now() < deadline,
            "no partition committed"
        );
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    node.stop();
    let failed = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&failed.stderr);
    let committed = manifest_tip(&interrupted).unwrap();
    assert!(
        !failed.status.success() && committed < tip,
        "the node stopped before the ingest ended (at {committed} of {tip}): {stderr}"
    );
    assert!(
        stderr.contains(&node.url) && stderr.contains("is the node running"),
        "{stderr}"
    );
    assert_eq!(
        (committed + 1) % 2000,
        0,
        "only whole partitions are committed"
    );
    eprintln!(
        "node stopped with {committed} of {tip} blocks committed: {}",
        stderr.lines().last().unwrap_or_default()
    );
    node.restart();
    // Restarted, the node reads its -loadblock file again, and counts as syncing till it is done.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(600);
    while node.call("getblockchaininfo", &[])["initialblockdownload"] != json!(false) {
        assert!(
            std::time::Instant::now() < deadline,
            "the node stays in IBD"
        );
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    let resumed = run_ok(&args.iter().map(String::as_str).collect::<Vec<_>>());
    assert!(
        resumed.contains(&format!("({}..={tip})", committed + 1)),
        "{resumed}"
    );
    run_ok(&[
        "ingest",
        "--blocks-dir",
        gen.join("blocks").to_str().unwrap(),
        "--chain",
        "litecoin-regtest",
        "--partition-blocks",
        "2000",
        "--out",
        one_shot.to_str().unwrap(),
    ]);
    assert_eq!(tree_digest(&interrupted), tree_digest(&one_shot));
}
