//! Property tests of the trace engine on random transaction DAGs written as real blocks and
//! ingested: conservation is exact for the four conserving models, poison's tainted set contains
//! every other model's, and results do not depend on the number of threads.

mod support;

use std::collections::BTreeSet;
use std::path::Path;

use bitcoin::{Amount, OutPoint, ScriptBuf, Sequence, Transaction, TxIn, TxOut, Witness};
use fundtrace::chain::Chain;
use fundtrace::generate::blocks::{coinbase, finish_block, BlkWriter};
use fundtrace::generate::rng::Rng;
use fundtrace::ingest::{ingest_blk, BlkIngest};
use fundtrace::store::{Dataset, OutIx, PartitionPolicy};
use fundtrace::trace::backward::{trace_backward, BackwardModel};
use fundtrace::trace::engine::{trace_forward, Bucket, SeedOutput, StopRules};
use fundtrace::trace::policy::{by_name, NAMES};
use proptest::prelude::*;

/// Write a random chain (mixing inputs, same-block spends, zero-value and OP_RETURN outputs,
/// fees) to `dir/blocks` and ingest it into `dir/ds`.
fn random_dataset(dir: &Path, seed: u64, blocks: u32, txs_per_block: u32) -> Dataset {
    let mut rng = Rng::new(seed);
    let blocks_dir = dir.join("blocks");
    let mut writer = BlkWriter::create(&blocks_dir, Chain::BitcoinRegtest, 128 << 20).unwrap();
    let genesis = bitcoin::blockdata::constants::genesis_block(bitcoin::Network::Regtest);
    writer.write_block(&genesis).unwrap();
    let mut prev = genesis.block_hash();
    let mut utxos: Vec<(OutPoint, u64)> = Vec::new();
    let key = |n: u64| {
        let mut s = vec![0x00, 0x14];
        s.extend_from_slice(&n.to_le_bytes());
        s.extend_from_slice(&[0u8; 12]);
        ScriptBuf::from_bytes(s)
    };
    for height in 1..=blocks {
        let mut txs = Vec::new();
        for _ in 0..txs_per_block {
            if utxos.is_empty() {
                break;
            }
            let n_in = 1 + rng.below(4.min(utxos.len() as u64)) as usize;
            let inputs: Vec<(OutPoint, u64)> = (0..n_in)
                .map(|_| utxos.swap_remove(rng.below(utxos.len() as u64) as usize))
                .collect();
            let total: u64 = inputs.iter().map(|i| i.1).sum();
            let fee = rng.below(total.min(20_000) + 1);
            let mut left = total - fee;
            let n_out = 1 + rng.below(4) as usize;
            let mut outputs = Vec::new();
            for j in 0..n_out {
                let burn = rng.chance(1, 12);
                let value = if j + 1 == n_out {
                    left
                } else if rng.chance(1, 8) {
                    0
                } else {
                    rng.below(left + 1)
                };
                left -= value;
                let script = if burn {
                    ScriptBuf::from_bytes(vec![0x6a, 0x01, 0x2a])
                } else {
                    key(rng.next_u64())
                };
                outputs.push(TxOut {
                    value: Amount::from_sat(value),
                    script_pubkey: script,
                });
            }
            let tx = Transaction {
                version: bitcoin::transaction::Version::TWO,
                lock_time: bitcoin::absolute::LockTime::ZERO,
                input: inputs
                    .iter()
                    .map(|(o, _)| TxIn {
                        previous_output: *o,
                        script_sig: ScriptBuf::new(),
                        sequence: Sequence::MAX,
                        witness: Witness::new(),
                    })
                    .collect(),
                output: outputs,
            };
            let txid = tx.compute_txid();
            for (vout, o) in tx.output.iter().enumerate() {
                if o.script_pubkey.as_bytes()[0] != 0x6a {
                    utxos.push((
                        OutPoint {
                            txid,
                            vout: vout as u32,
                        },
                        o.value.to_sat(),
                    ));
                }
            }
            txs.push(tx);
        }
        let reward: Vec<TxOut> = (0..3)
            .map(|_| TxOut {
                value: Amount::from_sat(1 + rng.below(5_000_000_000)),
                script_pubkey: key(rng.next_u64()),
            })
            .collect();
        let mut all = vec![coinbase(height, reward)];
        all.extend(txs);
        let block = finish_block(prev, 1_600_000_000 + height * 600, all);
        prev = block.block_hash();
        let cb = block.txdata[0].compute_txid();
        for (vout, o) in block.txdata[0].output.iter().enumerate() {
            utxos.push((
                OutPoint {
                    txid: cb,
                    vout: vout as u32,
                },
                o.value.to_sat(),
            ));
        }
        writer.write_block(&block).unwrap();
    }
    writer.finish().unwrap();
    let job = BlkIngest {
        blocks_dir,
        chain: Chain::BitcoinRegtest,
        out: dir.join("ds"),
        to_height: None,
        policy: PartitionPolicy::default(),
    };
    ingest_blk(&job, |_| {}, |_| {}).unwrap();
    Dataset::open(&dir.join("ds")).unwrap()
}

fn seeds(ds: &Dataset, rng: &mut Rng, n: usize) -> Vec<SeedOutput> {
    (0..n)
        .map(|_| {
            let out = OutIx(rng.below(ds.output_count()));
            let value = ds.value(out);
            let amount = if rng.chance(1, 3) {
                rng.below(value + 1)
            } else {
                value
            };
            SeedOutput { out, amount }
        })
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn conservation_superset_and_thread_independence(seed in any::<u64>(), max_hops in 1u32..12, min_value in 0u64..50_000) {
        let tmp = tempfile::tempdir().unwrap();
        let ds = random_dataset(tmp.path(), seed, 30, 12);
        let mut rng = Rng::new(seed ^ 0x5eed);
        let seeds = seeds(&ds, &mut rng, 3);
        let rules = StopRules { max_hops, min_value, ..StopRules::default() };
        let one = rayon::ThreadPoolBuilder::new().num_threads(1).build().unwrap();
        let two = rayon::ThreadPoolBuilder::new().num_threads(2).build().unwrap();
        let poison = trace_forward(&ds, &seeds, by_name("poison").unwrap().as_ref(), &rules);
        let poisoned: BTreeSet<OutIx> = poison.flows.iter().map(|f| f.out).collect();
        for name in NAMES {
            let policy = by_name(name).unwrap();
            let a = one.install(|| trace_forward(&ds, &seeds, policy.as_ref(), &rules));
            let b = two.install(|| trace_forward(&ds, &seeds, policy.as_ref(), &rules));
            prop_assert_eq!(&a, &b, "{} differs between 1 and 2 threads", name);
            if policy.conserves() {
                prop_assert_eq!(a.bucket_total(), a.seeded, "{} does not conserve", name);
            }
            let tainted: BTreeSet<OutIx> = a.flows.iter().filter(|f| f.tainted > 0).map(|f| f.out).collect();
            prop_assert!(tainted.is_subset(&poisoned), "{} taints outputs poison does not reach", name);
        }
    }

    /// Forward (poison) from the seeds, then backward from any endpoint: the backward trace leads
    /// back to a seed; backward haircut accounts for the endpoint's whole value.
    #[test]
    fn forward_then_backward_leads_back_to_a_seed(seed in any::<u64>()) {
        let tmp = tempfile::tempdir().unwrap();
        let ds = random_dataset(tmp.path(), seed, 25, 10);
        let mut rng = Rng::new(seed ^ 0xbac);
        let seeds = seeds(&ds, &mut rng, 2);
        let rules = StopRules { max_hops: u32::MAX, ..StopRules::default() };
        let forward = trace_forward(&ds, &seeds, by_name("poison").unwrap().as_ref(), &rules);
        let seed_outs: BTreeSet<OutIx> = seeds.iter().map(|s| s.out).collect();
        for end in forward.endpoints.iter().filter_map(|e| e.out).take(5) {
            let target = [SeedOutput { out: end, amount: ds.value(end) }];
            let back = trace_backward(&ds, &target, BackwardModel::Poison, &rules);
            let reached: BTreeSet<OutIx> = back.flows.iter().map(|f| f.out).collect();
            prop_assert!(!reached.is_disjoint(&seed_outs), "backward from {:?} misses every seed", end);
            let haircut = trace_backward(&ds, &target, BackwardModel::Haircut, &rules);
            prop_assert_eq!(haircut.bucket_total(), haircut.seeded);
            prop_assert_eq!(haircut.seeded, ds.value(end) as u128);
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    /// The poison walk (bitsets, no taint objects) gives exactly the general walk's result under
    /// every stop rule: labels, dust, hops, window and degree, with overlapping seeds.
    #[test]
    fn poison_walk_equals_the_general_walk(
        seed in any::<u64>(),
        max_hops in 1u32..20,
        min_value in 0u64..40_000,
        window in any::<bool>(),
        degree in prop::option::of(1u32..6),
        labels in 0usize..6,
    ) {
        use fundtrace::trace::engine::{trace_forward_general, StopLabel};
        use fundtrace::trace::policy::poison::Poison;
        use fundtrace::trace::poison_walk::{poison_reach, trace_forward_poison, trace_forward_poison_with, Sweep};
        let tmp = tempfile::tempdir().unwrap();
        let ds = random_dataset(tmp.path(), seed, 25, 10);
        let mut rng = Rng::new(seed ^ 0x9015);
        let n = 1 + rng.below(3) as usize;
        let mut seeds = seeds(&ds, &mut rng, n);
        let mut rules = StopRules { max_hops, min_value, max_degree: degree, ..StopRules::default() };
        let reach = trace_forward_general(&ds, &seeds, &Poison, &StopRules { max_hops: u32::MAX, ..StopRules::default() });
        // A seed downstream of another one, and labels on scripts the taint reaches.
        if let Some(f) = reach.flows.iter().filter(|f| f.hop >= 1).nth(rng.below(8) as usize) {
            seeds.push(SeedOutput { out: f.out, amount: ds.value(f.out) });
        }
        for f in reach.flows.iter().filter(|f| f.hop >= 1).take(labels) {
            rules.stops.insert(ds.script_id(f.out), std::sync::Arc::new(StopLabel { entity: format!("x{}", f.out.0), category: "exchange".into() }));
        }
        if window {
            rules.end_height = Some(1 + rng.below(25) as u32);
        }
        let general = trace_forward_general(&ds, &seeds, &Poison, &rules);
        let walk = trace_forward_poison(&ds, &seeds, &rules);
        prop_assert_eq!(&walk, &general);
        prop_assert_eq!(&trace_forward(&ds, &seeds, &Poison, &rules), &general);
        // The reach walked by the queue only, by the dense sweep only, or by the queue that turns
        // into the sweep early gives the same rows.
        // switch after the first window of 1 to 4 pops that lie densely.
        for sweep in [Sweep::Queue, Sweep::Dense, Sweep::Switch { window: 1 + seed % 4 }] {
            let walk = trace_forward_poison_with(&ds, &seeds, &rules, sweep);
            prop_assert_eq!(&walk, &general, "{:?}", sweep);
        }
        // The reach alone: every flow of the general walk that waits for its spender has its
        // hop there, no other that a rule ends does, and the reached transactions are the ones
        // visited. (Unspent outputs may be marked or not: no spender reads them.)
        // Seeds of zero taint: the poison trace falls back to the general walk, whose zero-taint
        // seeds still wait for their spender; the reach leaves them out.
        let mut merged = std::collections::BTreeMap::new();
        for s in &seeds {
            let amount = merged.entry(s.out).or_insert(0u64);
            *amount = (*amount).max(s.amount.min(ds.value(s.out)));
        }
        if merged.values().any(|&a| a == 0) {
            return Ok(());
        }
        let reach = poison_reach(&ds, &seeds, &rules);
        prop_assert_eq!(reach.txs(), general.txs_visited);
        let ends: std::collections::BTreeMap<OutIx, Bucket> =
            general.endpoints.iter().filter_map(|e| Some((e.out?, e.bucket))).collect();
        for f in &general.flows {
            let expected = match ends.get(&f.out) {
                Some(Bucket::Unspent | Bucket::Burned) => continue,
                Some(_) => None,
                None => Some(f.hop),
            };
            prop_assert_eq!(reach.flowing_hop(f.out), expected, "output {:?}", f.out);
        }
    }

    /// Seeds that lie on each other's paths (a seed and an output its taint reaches; a target and
    /// one of its ancestors): the overlap is counted once and conservation stays exact.
    #[test]
    fn overlapping_seeds_are_counted_once(seed in any::<u64>(), pick in any::<u64>()) {
        let tmp = tempfile::tempdir().unwrap();
        let ds = random_dataset(tmp.path(), seed, 25, 10);
        let mut rng = Rng::new(pick);
        let rules = StopRules { max_hops: u32::MAX, ..StopRules::default() };
        let first = seeds(&ds, &mut rng, 1);
        let reach = trace_forward(&ds, &first, by_name("poison").unwrap().as_ref(), &rules);
        let downstream: Vec<&fundtrace::trace::engine::Flow> = reach.flows.iter().filter(|f| f.hop >= 1).collect();
        if downstream.is_empty() {
            return Ok(());
        }
        let second = downstream[rng.below(downstream.len() as u64) as usize].out;
        let both = [first[0], SeedOutput { out: second, amount: ds.value(second) }];
        for name in NAMES {
            let policy = by_name(name).unwrap();
            let r = trace_forward(&ds, &both, policy.as_ref(), &rules);
            if policy.conserves() {
                prop_assert_eq!(r.bucket_total(), r.seeded, "{} forward", name);
            }
            let flows: BTreeSet<OutIx> = r.flows.iter().map(|f| f.out).collect();
            prop_assert_eq!(flows.len(), r.flows.len(), "{}: an output listed twice", name);
        }
        // Backward: the downstream output and an ancestor of it as targets.
        let target = [SeedOutput { out: second, amount: ds.value(second) }];
        let ancestors = trace_backward(&ds, &target, BackwardModel::Poison, &rules);
        let up: Vec<OutIx> = ancestors.flows.iter().filter(|f| f.hop >= 1).map(|f| f.out).collect();
        if let Some(&a) = up.get(rng.below(up.len().max(1) as u64) as usize) {
            let targets = [target[0], SeedOutput { out: a, amount: ds.value(a) }];
            let r = trace_backward(&ds, &targets, BackwardModel::Haircut, &rules);
            prop_assert_eq!(r.bucket_total(), r.seeded, "backward haircut");
            prop_assert!(r.seeded <= ds.value(second) as u128 + ds.value(a) as u128);
        }
    }
}
