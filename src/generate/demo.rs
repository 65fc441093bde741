//! The `demo` story: a small Zaif-shaped theft with ground-truth labels.

use std::collections::VecDeque;

use super::wallet::{Key, ScriptType};
use super::world::{Utxo, World};
use super::{GenerateError, GenerateOptions, Generated};

/// The `demo` story. Exchange names are fictional.
pub fn demo(opts: &GenerateOptions) -> Result<Generated, GenerateError> {
    let mut w = World::new(opts, 0)?;
    let hot: Vec<Key> = (0..30).map(|_| w.new_key(ScriptType::P2pkh)).collect();
    for &k in &hot {
        w.label(k, "Zaifu", "victim");
    }
    let exchanges = ["Bitbank", "Kraken", "Huobi", "Poloniex"];
    let mut deposits: Vec<Vec<Key>> = Vec::new();
    for name in exchanges {
        let keys: Vec<Key> = (0..6).map(|_| w.random_key()).collect();
        for &k in &keys {
            w.label(k, name, "exchange");
        }
        deposits.push(keys);
    }
    let users: Vec<Key> = (0..40).map(|_| w.random_key()).collect();
    // Blocks 1..=30 pay the victim's hot wallet; 31..=110 pay users (maturity for both).
    let mut hot_coins = Vec::new();
    let mut user_coins: VecDeque<Utxo> = VecDeque::new();
    for h in 1..=110u32 {
        let payee = if h <= 30 {
            hot[(h - 1) as usize]
        } else {
            users[(h as usize) % users.len()]
        };
        let coins = w.mine(&[payee])?;
        if h <= 30 {
            hot_coins.extend(coins)
        } else {
            user_coins.extend(coins)
        }
    }
    // Background: each block, a user pays another user with change.
    let background = |w: &mut World, user_coins: &mut VecDeque<Utxo>| {
        if let Some(coin) = user_coins.pop_front() {
            let to = users[w.rng.below(users.len() as u64) as usize];
            let fee = World::fee(&[coin], 2);
            let pay = coin.value / 3;
            let change = coin.value - pay - fee;
            let outs = w.pay(&[coin], &[(to, pay), (coin.key, change)]);
            user_coins.extend(outs);
        }
    };
    // The theft at height 111: every hot-wallet coin swept into one thief address.
    let thief = w.new_key(ScriptType::P2wpkh);
    w.label(thief, "thief", "perpetrator");
    let fee = World::fee(&hot_coins, 1);
    let stolen: u64 = hot_coins.iter().map(|u| u.value).sum::<u64>() - fee;
    background(&mut w, &mut user_coins);
    let mut loot = w.pay(&hot_coins, &[(thief, stolen)])[0];
    w.mine(&[users[0]])?;
    // A peel chain: each hop deposits 20-60 BTC at an exchange and moves the change on.
    for hop in 0..8usize {
        background(&mut w, &mut user_coins);
        let exchange = &deposits[hop % deposits.len()];
        let deposit = exchange[hop / deposits.len()];
        let peel = (20 + w.rng.below(41)) * 100_000_000;
        let next = w.new_key(ScriptType::P2wpkh);
        w.label(next, "thief", "perpetrator");
        let fee = World::fee(&[loot], 2);
        let change = loot.value - peel - fee;
        loot = w.pay(&[loot], &[(deposit, peel), (next, change)])[1];
        w.mine(&[users[1 + hop]])?;
    }
    // A split over five fresh addresses; two deposit at exchanges, three stay unspent.
    let parts: Vec<Key> = (0..5).map(|_| w.new_key(ScriptType::P2tr)).collect();
    for &k in &parts {
        w.label(k, "thief", "perpetrator");
    }
    let fee = World::fee(&[loot], 5);
    let each = (loot.value - fee) / 5;
    let rest = loot.value - fee - each * 5;
    let outs: Vec<(Key, u64)> = parts
        .iter()
        .enumerate()
        .map(|(i, &k)| (k, if i == 0 { each + rest } else { each }))
        .collect();
    let split = w.pay(&[loot], &outs);
    w.mine(&[users[9]])?;
    for (i, coin) in split.iter().take(2).enumerate() {
        background(&mut w, &mut user_coins);
        let deposit = deposits[i][5];
        let fee = World::fee(&[*coin], 1);
        w.pay(&[*coin], &[(deposit, coin.value - fee)]);
        w.mine(&[users[10 + i]])?;
    }
    // Ten more blocks of ordinary traffic.
    for i in 0..10 {
        background(&mut w, &mut user_coins);
        w.mine(&[users[12 + i]])?;
    }
    let out = opts.out.clone();
    let theft = serde_json::json!({
        "victim": "Zaifu",
        "theft_height": 111,
        "thief_address": w.chain.script_to_address(thief.script().as_bytes()),
        "stolen_sat": stolen,
        "swept_inputs": hot_coins.len(),
    });
    let path = out.join("truth/theft.json");
    let mut text = serde_json::to_string_pretty(&theft).expect("json");
    text.push('\n');
    crate::store::atomic::write_atomic(&path, text.as_bytes())
        .map_err(|source| GenerateError::Io { path, source })?;
    w.finish(&out)
}
