//! Clustering end to end: real Satoshi-era multi-input transactions, a Whirlpool 5×5 that must not
//! merge, and merge provenance.

mod support;

use std::collections::HashMap;

use bitcoin::{Amount, OutPoint, ScriptBuf, Sequence, Transaction, TxIn, TxOut, Witness};
use fundtrace::generate::blocks::{coinbase, finish_block, BlkWriter};
use fundtrace::store::{Dataset, InIx, ScriptId, TxIx};
use support::*;

fn clusters_of(dir: &std::path::Path) -> Vec<u32> {
    let ds = Dataset::open(dir).unwrap();
    fundtrace::cluster::load_clusters(&ds).expect("clusters written for this dataset")
}

/// An independent oracle: the multi-input partition by plain graph search over input scripts.
fn oracle(ds: &Dataset) -> Vec<u32> {
    let n = ds.script_count() as usize;
    let mut adj: HashMap<u32, Vec<u32>> = HashMap::new();
    for t in 0..ds.tx_count() {
        let ins = ds.tx_inputs(TxIx(t));
        let scripts: Vec<u32> = (ins.start.0..ins.end.0)
            .filter_map(|i| ds.prev_out(InIx(i)))
            .map(|o| ds.script_id(o).0)
            .collect();
        for w in scripts.windows(2) {
            adj.entry(w[0]).or_default().push(w[1]);
            adj.entry(w[1]).or_default().push(w[0]);
        }
    }
    let mut cluster = vec![u32::MAX; n];
    for s in 0..n as u32 {
        if cluster[s as usize] != u32::MAX {
            continue;
        }
        // Scripts are visited in increasing order, so `s` is the smallest of its component.
        let mut stack = vec![s];
        cluster[s as usize] = s;
        while let Some(x) = stack.pop() {
            for &y in adj.get(&x).map(Vec::as_slice).unwrap_or(&[]) {
                if cluster[y as usize] == u32::MAX {
                    cluster[y as usize] = s;
                    stack.push(y);
                }
            }
        }
    }
    cluster
}

#[test]
fn satoshi_era_multi_input_clusters() {
    let Some(file) = real_data("btc-mainnet/blk_0-4312.dat") else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let ds_dir = tmp.path().join("ds");
    ingest_blocks(file.parent().unwrap(), "bitcoin", &ds_dir);
    let out = run_ok(&["cluster", ds_dir.to_str().unwrap(), "--json"]);
    let summary: serde_json::Value = serde_json::from_str(&out).unwrap();
    let ds = Dataset::open(&ds_dir).unwrap();
    let expected = oracle(&ds);
    let got = clusters_of(&ds_dir);
    assert_eq!(
        got, expected,
        "the partition differs from plain multi-input (no 2009 tx is CoinJoin-shaped)"
    );
    let roots = expected
        .iter()
        .enumerate()
        .filter(|(i, &c)| *i as u32 == c)
        .count();
    assert_eq!(summary["clusters"], roots);
    // By hand: cec658ac… (block 3645) spends 44 coinbase outputs of 44 distinct keys in one
    // transaction, so those 44 scripts are one cluster; a3b0e9e7… (block 496) joins 3.
    for (txid, n) in [
        (
            "cec658ace2eb9fe79473a0161ea726a69924fdc17d59c39d7c58f44c36d034c1",
            44,
        ),
        (
            "a3b0e9e7cddbbe78270fa4182a7675ff00b92872d8df7d14265a2b1e379a9d33",
            3,
        ),
    ] {
        let tx = ds.find_txid(&txid.parse().unwrap()).unwrap();
        let ins = ds.tx_inputs(tx);
        let scripts: std::collections::BTreeSet<ScriptId> = (ins.start.0..ins.end.0)
            .map(|i| ds.script_id(ds.prev_out(InIx(i)).unwrap()))
            .collect();
        assert_eq!(scripts.len(), n, "{txid}: distinct input scripts");
        let ids: std::collections::BTreeSet<u32> = scripts.iter().map(|s| got[s.index()]).collect();
        assert_eq!(ids.len(), 1, "{txid}: its inputs are one cluster");
    }
    // Provenance: two inputs of cec658ac… were merged by that very transaction.
    let tx = ds
        .find_txid(
            &"cec658ace2eb9fe79473a0161ea726a69924fdc17d59c39d7c58f44c36d034c1"
                .parse()
                .unwrap(),
        )
        .unwrap();
    let ins = ds.tx_inputs(tx);
    let names = fundtrace::store::dataset::script_addresses(
        &ds,
        &[
            ds.script_id(ds.prev_out(ins.start).unwrap()),
            ds.script_id(ds.prev_out(InIx(ins.start.0 + 43)).unwrap()),
        ],
    )
    .unwrap();
    let addrs: Vec<String> = names.values().map(|v| v.0.clone()).collect();
    drop(ds);
    let why: serde_json::Value = serde_json::from_str(&run_ok(&[
        "inspect",
        ds_dir.to_str().unwrap(),
        "why",
        &addrs[0],
        &addrs[1],
        "--json",
    ]))
    .unwrap();
    assert_eq!(why["same_cluster"], true);
    assert!(why["steps"]
        .as_array()
        .unwrap()
        .iter()
        .all(|s| s["heuristic"] == "multi-input"));
    assert!(why["steps"]
        .as_array()
        .unwrap()
        .iter()
        .any(|s| s["txid"] == "cec658ace2eb9fe79473a0161ea726a69924fdc17d59c39d7c58f44c36d034c1"));
}

/// A Whirlpool 5×5 mix does not merge its five inputs; an ordinary 5-input payment does.
#[test]
fn whirlpool_inputs_stay_apart_and_a_payment_merges() {
    let tmp = tempfile::tempdir().unwrap();
    let blocks = tmp.path().join("blocks");
    let mut w =
        BlkWriter::create(&blocks, fundtrace::chain::Chain::BitcoinRegtest, 1 << 27).unwrap();
    let genesis = bitcoin::blockdata::constants::genesis_block(bitcoin::Network::Regtest);
    w.write_block(&genesis).unwrap();
    let key = |n: u8| ScriptBuf::from_bytes([vec![0x00, 0x14], vec![n; 20]].concat());
    let mut prev = genesis.block_hash();
    let mut coins = Vec::new();
    for h in 1..=10u32 {
        let block = finish_block(
            prev,
            1_600_000_000 + h * 600,
            vec![coinbase(
                h,
                vec![TxOut {
                    value: Amount::from_sat(1_000_300),
                    script_pubkey: key(h as u8),
                }],
            )],
        );
        prev = block.block_hash();
        coins.push(OutPoint {
            txid: block.txdata[0].compute_txid(),
            vout: 0,
        });
        w.write_block(&block).unwrap();
    }
    let spend = |ins: &[OutPoint], outs: Vec<TxOut>| Transaction {
        version: bitcoin::transaction::Version::TWO,
        lock_time: bitcoin::absolute::LockTime::ZERO,
        input: ins
            .iter()
            .map(|o| TxIn {
                previous_output: *o,
                script_sig: ScriptBuf::new(),
                sequence: Sequence::MAX,
                witness: Witness::new(),
            })
            .collect(),
        output: outs,
    };
    let mix = spend(
        &coins[..5],
        (0..5)
            .map(|i| TxOut {
                value: Amount::from_sat(1_000_000),
                script_pubkey: key(100 + i),
            })
            .collect(),
    );
    let pay = spend(
        &coins[5..],
        vec![TxOut {
            value: Amount::from_sat(5_000_000),
            script_pubkey: key(200),
        }],
    );
    let block = finish_block(
        prev,
        1_600_010_000,
        vec![
            coinbase(
                11,
                vec![TxOut {
                    value: Amount::from_sat(1),
                    script_pubkey: key(250),
                }],
            ),
            mix,
            pay,
        ],
    );
    w.write_block(&block).unwrap();
    w.finish().unwrap();
    let ds_dir = tmp.path().join("ds");
    ingest_blocks(&blocks, "bitcoin-regtest", &ds_dir);
    run_ok(&["cluster", ds_dir.to_str().unwrap()]);
    let c = clusters_of(&ds_dir);
    let ds = Dataset::open(&ds_dir).unwrap();
    let script_of = |o: &OutPoint| {
        let tx = ds.find_txid(&o.txid).unwrap();
        c[ds.script_id(ds.tx_outputs(tx).start).index()]
    };
    let mixed: std::collections::BTreeSet<u32> = coins[..5].iter().map(script_of).collect();
    let paid: std::collections::BTreeSet<u32> = coins[5..].iter().map(script_of).collect();
    assert_eq!(
        mixed.len(),
        5,
        "Whirlpool inputs must stay in five clusters"
    );
    assert_eq!(paid.len(), 1, "the payment's five inputs share an owner");
}

/// The change heuristic (off by default): a two-output payment whose round output goes to a
/// script seen before and whose odd output goes to a fresh script of the payer's type links the
/// payer to that fresh script; with round/odd the other way round, or without the heuristic,
/// nothing is linked.
#[test]
fn change_heuristic_links_fresh_odd_change_only_when_asked() {
    let tmp = tempfile::tempdir().unwrap();
    let blocks = tmp.path().join("blocks");
    let mut w =
        BlkWriter::create(&blocks, fundtrace::chain::Chain::BitcoinRegtest, 1 << 27).unwrap();
    let genesis = bitcoin::blockdata::constants::genesis_block(bitcoin::Network::Regtest);
    w.write_block(&genesis).unwrap();
    let wpkh = |n: u8| ScriptBuf::from_bytes([vec![0x00, 0x14], vec![n; 20]].concat());
    let out = |v: u64, s: ScriptBuf| TxOut {
        value: Amount::from_sat(v),
        script_pubkey: s,
    };
    // Block 1 pays the payer (1) and, separately, the merchant (9) so the merchant is not fresh.
    let b1 = finish_block(
        genesis.block_hash(),
        1_600_000_600,
        vec![coinbase(
            1,
            vec![
                out(10_000_000, wpkh(1)),
                out(1, wpkh(9)),
                out(10_000_000, wpkh(3)),
            ],
        )],
    );
    let cb = b1.txdata[0].compute_txid();
    let spend = |vout: u32, outs: Vec<TxOut>| Transaction {
        version: bitcoin::transaction::Version::TWO,
        lock_time: bitcoin::absolute::LockTime::ZERO,
        input: vec![TxIn {
            previous_output: OutPoint { txid: cb, vout },
            script_sig: ScriptBuf::new(),
            sequence: Sequence::MAX,
            witness: Witness::new(),
        }],
        output: outs,
    };
    // Payer 1 pays a round 0.01 BTC to the merchant and takes odd change to fresh script 2.
    let pay = spend(0, vec![out(1_000_000, wpkh(9)), out(8_996_543, wpkh(2))]);
    // Payer 3 pays an odd amount to the merchant, round change to fresh script 4: no link.
    let other = spend(2, vec![out(1_234_567, wpkh(9)), out(8_700_000, wpkh(4))]);
    let b2 = finish_block(
        b1.block_hash(),
        1_600_001_200,
        vec![coinbase(2, vec![out(1, wpkh(50))]), pay, other],
    );
    w.write_block(&b1).unwrap();
    w.write_block(&b2).unwrap();
    w.finish().unwrap();
    let ds_dir = tmp.path().join("ds");
    ingest_blocks(&blocks, "bitcoin-regtest", &ds_dir);
    let cluster_of_script = |n: u8, c: &[u32]| {
        let ds = Dataset::open(&ds_dir).unwrap();
        let addr = fundtrace::chain::Chain::BitcoinRegtest.script_to_address(wpkh(n).as_bytes());
        let id = fundtrace::store::dataset::find_address(&ds, &addr)
            .unwrap()
            .unwrap();
        c[id.index()]
    };
    run_ok(&["cluster", ds_dir.to_str().unwrap()]);
    let c = clusters_of(&ds_dir);
    assert_ne!(
        cluster_of_script(1, &c),
        cluster_of_script(2, &c),
        "multi-input alone links nothing here"
    );
    run_ok(&[
        "cluster",
        ds_dir.to_str().unwrap(),
        "--heuristics",
        "multi-input,change",
    ]);
    let c = clusters_of(&ds_dir);
    assert_eq!(
        cluster_of_script(1, &c),
        cluster_of_script(2, &c),
        "odd fresh change joins the payer"
    );
    assert_ne!(
        cluster_of_script(3, &c),
        cluster_of_script(4, &c),
        "round change is not taken for change"
    );
    assert_ne!(
        cluster_of_script(1, &c),
        cluster_of_script(9, &c),
        "the merchant stays apart"
    );
    let why: serde_json::Value = serde_json::from_str(&run_ok(&[
        "inspect",
        ds_dir.to_str().unwrap(),
        "why",
        &fundtrace::chain::Chain::BitcoinRegtest.script_to_address(wpkh(1).as_bytes()),
        &fundtrace::chain::Chain::BitcoinRegtest.script_to_address(wpkh(2).as_bytes()),
        "--json",
    ]))
    .unwrap();
    assert_eq!(why["through_weak_links"], true);
}

/// The generated Zaif-like world (`datasets/zaif-mini`): every multi-input transaction the
/// generator makes is signed by one owner, except CoinJoins, so multi-input clustering with
/// CoinJoin filtering must never put two entities of the truth in one cluster, and the thief's
/// CoinJoin partners (Wasabi round, Whirlpool mixes) must stay out of his cluster.
#[test]
fn zaif_world_clusters_are_pure_and_coinjoins_do_not_merge() {
    let tmp = tempfile::tempdir().unwrap();
    let mini = repo_root().join("datasets/zaif-mini");
    let ds_dir = tmp.path().join("ds");
    ingest_blocks(&mini.join("blocks"), "bitcoin-regtest", &ds_dir);
    run_ok(&["cluster", ds_dir.to_str().unwrap()]);
    let cluster_of = clusters_of(&ds_dir);
    let ds = Dataset::open(&ds_dir).unwrap();
    let labels = truth_labels(&mini.join("truth/labels.csv"));
    let entity_of: HashMap<&str, &str> = labels
        .iter()
        .map(|(a, (e, _))| (a.as_str(), e.as_str()))
        .collect();
    let wanted: std::collections::HashSet<&str> = entity_of.keys().copied().collect();
    let scripts = fundtrace::store::dataset::find_addresses(&ds, &wanted).unwrap();
    let mut entity_of_script: HashMap<u32, &str> = HashMap::new();
    let mut entity_of_cluster: HashMap<u32, &str> = HashMap::new();
    for (address, script) in &scripts {
        let entity = entity_of[address.as_str()];
        entity_of_script.insert(script.0, entity);
        let c = cluster_of[script.0 as usize];
        let prev = *entity_of_cluster.entry(c).or_insert(entity);
        assert_eq!(
            prev, entity,
            "cluster {c} holds addresses of {prev} and {entity}"
        );
    }
    assert!(entity_of_cluster.len() >= 9, "every entity has a cluster");
    // Completeness per entity: the share of its addresses in its largest cluster. Multi-input
    // must at least merge all inputs of its largest sweep (a transaction spending only that
    // entity's addresses), so the largest cluster holds at least that many addresses.
    let mut sizes: HashMap<&str, HashMap<u32, usize>> = HashMap::new();
    for (script, entity) in &entity_of_script {
        *sizes
            .entry(entity)
            .or_default()
            .entry(cluster_of[*script as usize])
            .or_default() += 1;
    }
    let mut largest_sweep: HashMap<&str, usize> = HashMap::new();
    for t in 0..ds.tx_count() {
        let ins = ds.tx_inputs(TxIx(t));
        let mut owners: Vec<(&str, u32)> = (ins.start.0..ins.end.0)
            .filter_map(|i| ds.prev_out(InIx(i)))
            .filter_map(|o| {
                let s = ds.script_id(o).0;
                entity_of_script.get(&s).map(|e| (*e, s))
            })
            .collect();
        let all_labelled = owners.len() as u64 == ins.end.0 - ins.start.0;
        owners.sort_unstable();
        owners.dedup();
        if let Some(&(first, _)) = owners.first() {
            if all_labelled && owners.iter().all(|o| o.0 == first) {
                let best = largest_sweep.entry(first).or_default();
                *best = (*best).max(owners.len());
            }
        }
    }
    for (entity, clusters) in &sizes {
        let total: usize = clusters.values().sum();
        let biggest = *clusters.values().max().unwrap();
        eprintln!(
            "{entity}: {total} addresses in {} clusters, completeness {:.2}",
            clusters.len(),
            biggest as f64 / total as f64
        );
        assert!(
            biggest >= largest_sweep.get(entity).copied().unwrap_or(1),
            "{entity}"
        );
    }
    for exchange in ["Bitbank", "Kraken", "Huobi", "Poloniex", "Binance"] {
        // Sweeps take 40 or more deposits; deposit addresses are reused, so count distinct ones.
        assert!(
            largest_sweep[exchange] >= 10,
            "{exchange}: {largest_sweep:?}"
        );
    }
    // Transactions where the thief spends beside others: his CoinJoins. Without the filter
    // (the plain multi-input oracle) they would merge him with every partner.
    let unfiltered = oracle(&ds);
    let mut coinjoins = 0;
    for t in 0..ds.tx_count() {
        let ins = ds.tx_inputs(TxIx(t));
        let scripts: Vec<u32> = (ins.start.0..ins.end.0)
            .filter_map(|i| ds.prev_out(InIx(i)))
            .map(|o| ds.script_id(o).0)
            .collect();
        let thief: Vec<u32> = scripts
            .iter()
            .copied()
            .filter(|s| entity_of_script.get(s) == Some(&"thief"))
            .collect();
        let others: Vec<u32> = scripts
            .iter()
            .copied()
            .filter(|s| entity_of_script.get(s) != Some(&"thief"))
            .collect();
        if thief.is_empty() || others.is_empty() {
            continue;
        }
        coinjoins += 1;
        let thief_cluster = cluster_of[thief[0] as usize];
        assert!(others
            .iter()
            .all(|&s| unfiltered[s as usize] == unfiltered[thief[0] as usize]));
        for s in others {
            assert_ne!(
                cluster_of[s as usize], thief_cluster,
                "a CoinJoin partner of the thief was merged with him (tx {t})"
            );
        }
    }
    // One Wasabi round and one Whirlpool mix per premix.
    assert!(coinjoins >= 2, "{coinjoins} thief CoinJoins");
}
