//! The `payments` load: ordinary wallet traffic, for benchmarks.

use std::collections::VecDeque;

use super::wallet::{Key, ScriptType};
use super::world::{Utxo, World, COINBASE_MATURITY, DUST};
use super::{GenerateError, GenerateOptions, Generated};

/// The `payments` load: ordinary wallet traffic up to `opts.txs` transactions.
pub fn payments(opts: &GenerateOptions) -> Result<Generated, GenerateError> {
    const MAX_POOL: usize = 200_000;
    let mut w = World::new(opts, 0)?;
    let mut pool: Vec<Utxo> = Vec::new();
    let mut immature: VecDeque<(u32, Vec<Utxo>)> = VecDeque::new();
    // Coinbases of 50 outputs each until the first ones mature.
    for _ in 0..=COINBASE_MATURITY {
        let payees: Vec<Key> = (0..50).map(|_| w.random_key()).collect();
        let coins = w.mine(&payees)?;
        immature.push_back((w.height, coins));
    }
    while w.stats.txs < opts.txs {
        while immature
            .front()
            .is_some_and(|(h, _)| h + COINBASE_MATURITY <= w.height + 1)
        {
            pool.extend(immature.pop_front().expect("checked").1);
        }
        let mut made = 0;
        while made < opts.txs_per_block
            && w.stats.txs + made as u64 + 1 < opts.txs
            && !pool.is_empty()
        {
            let n_in = match w.rng.below(100) {
                0..=59 => 1,
                60..=84 => 2,
                85..=94 => 3,
                _ => 5,
            }
            .min(pool.len());
            let inputs: Vec<Utxo> = (0..n_in)
                .map(|_| pool.swap_remove(w.rng.below(pool.len() as u64) as usize))
                .collect();
            let n_out = match w.rng.below(100) {
                0..=9 => 1,
                10..=89 => 2,
                _ => 10,
            };
            let in_sum: u64 = inputs.iter().map(|u| u.value).sum();
            let fee = World::fee(&inputs, n_out);
            if in_sum < fee + DUST * n_out as u64 * 2 {
                continue; // too small to move: left unspent
            }
            let spendable = in_sum - fee;
            let mut outputs = Vec::with_capacity(n_out);
            let mut left = spendable;
            for i in 0..n_out {
                let key = if w.rng.chance(1, 4) && w.next_key > 2 {
                    let kind = ScriptType::draw(&mut w.rng);
                    Key {
                        kind,
                        id: 2 + w.rng.below(w.next_key - 1),
                    } // address reuse
                } else {
                    w.random_key()
                };
                let value = if i + 1 == n_out {
                    left
                } else {
                    let max = left - DUST * (n_out - i) as u64;
                    DUST + w.rng.below(max.max(1))
                };
                left -= value;
                outputs.push((key, value));
            }
            for coin in w.pay(&inputs, &outputs) {
                if pool.len() < MAX_POOL && coin.value > DUST * 4 {
                    pool.push(coin);
                }
            }
            made += 1;
        }
        let miner = w.random_key();
        let coins = w.mine(&[miner])?;
        immature.push_back((w.height, coins));
        if pool.is_empty() && immature.is_empty() {
            break;
        }
    }
    let out = opts.out.clone();
    w.finish(&out)
}
