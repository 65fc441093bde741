//! The `zaif` scenario: a world of exchanges, a mixer, a gambling service, CoinJoin
//! coordinators and users, in which the hot wallet of one exchange is swept by a thief (as
//! Zaif's was on 14 September 2018, 131 inputs into one address) and the loot is laundered:
//! split, peel chains, a fan-out over fresh addresses, a hop through the mixer, Wasabi- and
//! Whirlpool-shaped CoinJoins with unrelated users, bets at the gambling service, deposits at
//! five other exchanges, and a share left unspent.
//!
//! The thief's ledger ([`Thief`]) follows his claim, not the coins: every stolen satoshi ends in
//! exactly one truth endpoint (see docs/TRUTH.md). Memory is bounded: every pool of coins is
//! capped, deposit addresses per service are capped, and blocks stream to disk.

use std::collections::{BTreeMap, VecDeque};

use super::truth::{write_truth, Endpoint, EndpointKind, Theft};
use super::wallet::{Key, ScriptType};
use super::world::{Utxo, World, COINBASE_MATURITY, DUST};
use super::{GenerateError, GenerateOptions, Generated};

/// Exchanges; the first is the victim.
const EXCHANGES: [&str; 6] = ["Zaifu", "Bitbank", "Kraken", "Huobi", "Poloniex", "Binance"];
/// Index of the victim among the services.
const VICTIM: usize = 0;
/// Index of the mixer among the services.
const MIXER: usize = 6;
/// Index of the gambling service among the services.
const GAMBLING: usize = 7;
/// One bitcoin in satoshis.
const COIN: u64 = 100_000_000;
/// Wasabi's base denomination in background rounds.
const WASABI_DENOM: u64 = COIN / 10;
/// Whirlpool pools (0.5 and 0.05 BTC) and their Tx0 coordinator fees.
const WHIRLPOOLS: [(u64, u64); 2] = [(COIN / 2, 1_750_000), (COIN / 20, 175_000)];
/// Mining fee each Whirlpool premix output carries for its mix.
const PREMIX_FEE: u64 = 5_000;
/// The mixer keeps this many thousandths of each deposit.
const MIXER_FEE_PERMILLE: u64 = 25;
/// The thief leaves coins smaller than this where they are: moving them would cost a large
/// part of them in fees (the largest fee he pays is below 11,000 sat).
const THIEF_MIN_MOVE: u64 = 20_000;
/// Cap of the users' spendable pool.
const MAX_USER_COINS: usize = 200_000;
/// Cap of the CoinJoin users' pool.
const MAX_PRIVACY_COINS: usize = 20_000;

/// A company with hot, cold and deposit wallets.
struct Service {
    name: &'static str,
    category: &'static str,
    hot: Vec<Key>,
    hot_coins: Vec<Utxo>,
    cold: Key,
    cold_coins: Vec<Utxo>,
    deposit_keys: Vec<Key>,
    max_deposit_keys: usize,
    deposit_coins: Vec<Utxo>,
    /// The hot wallet is topped up from cold storage while it holds less than this.
    hot_target: u64,
    /// Amounts of the last deposits (a ring of 256), the model of withdrawal amounts.
    recent_deposits: Vec<u64>,
    /// Deposits seen, the ring's write position.
    deposits_seen: usize,
}

/// Where coinbase outputs go once mature.
#[derive(Clone, Copy)]
enum Pool {
    Users,
    Privacy,
    Cold(usize),
}

/// What the thief does next with a coin.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Plan {
    Split,
    Peel { left: u32 },
    Fanout,
    Deposit { exchange: usize },
    Mixer,
    Wasabi,
    Whirlpool,
    WhirlMix { pool: usize },
    Gamble { bets: u32 },
    Hold,
}

/// A coin the thief holds: all of its value is stolen value.
#[derive(Debug, Clone, Copy)]
struct ThiefCoin {
    coin: Utxo,
    hop: u32,
    via: &'static str,
    plan: Plan,
    ready_at: u32,
    tries: u32,
    /// Height of the block holding the coin.
    made_at: u32,
}

/// A payment a service owes (mixer payouts, gambling wins).
#[derive(Debug, Clone, Copy)]
struct Payout {
    due: u32,
    service: usize,
    value: u64,
    /// Some((hop, via)) when the thief is paid.
    thief: Option<(u32, &'static str)>,
    /// The payee, chosen at the first attempt.
    to: Option<Key>,
}

/// Where a thief transaction's output goes.
enum Dest {
    Thief(Plan, &'static str),
    Cashout(usize),
}

/// The thief's coins and the truth recorded so far.
#[derive(Default)]
struct Thief {
    coins: Vec<ThiefCoin>,
    endpoints: Vec<Endpoint>,
    addresses: Vec<String>,
}

/// The world under construction.
struct Sim {
    w: World,
    services: Vec<Service>,
    users: Vec<Utxo>,
    privacy: Vec<Utxo>,
    premix: [Vec<Utxo>; 2],
    immature: VecDeque<(u32, Vec<Utxo>, Pool)>,
    payouts: VecDeque<Payout>,
    wasabi_coordinator: Key,
    whirlpool_coordinator: Key,
    thief: Thief,
}

/// Generate the `zaif` world.
pub fn zaif(opts: &GenerateOptions) -> Result<Generated, GenerateError> {
    let per_block = opts.txs_per_block.max(10) as u64;
    let est_blocks = COINBASE_MATURITY as u64 + opts.txs / per_block;
    let theft_floor = (COINBASE_MATURITY + 20) as u64;
    let theft_height = opts.theft_height.unwrap_or(
        (COINBASE_MATURITY + 20).max((COINBASE_MATURITY as u64 + (est_blocks - 100) / 3) as u32),
    );
    if theft_height < COINBASE_MATURITY + 20 {
        return Err(GenerateError::Options(format!(
            "--theft-height {theft_height} is too early: the victim's hot wallet fills from \
             height {} on; use {} or more",
            COINBASE_MATURITY + 1,
            COINBASE_MATURITY + 20
        )));
    }
    // An explicit height past the chain's requested size is a mistake; the default height
    // stretches a small chain so the story fits.
    if opts.theft_height.is_some() && theft_height as u64 > est_blocks.max(theft_floor) {
        return Err(GenerateError::Options(format!(
            "--theft-height {theft_height} is past the chain's end (about {est_blocks} blocks for \
             --txs {} at {per_block} per block): raise --txs or lower --theft-height",
            opts.txs
        )));
    }
    if opts.theft_inputs == 0 {
        return Err(GenerateError::Options(
            "--theft-inputs must be at least 1".into(),
        ));
    }
    let mut sim = Sim::new(opts)?;
    sim.startup()?;
    while sim.w.height + 1 < theft_height {
        sim.background_block(per_block, true)?;
    }
    let theft = sim.theft(opts.theft_inputs as usize)?;
    sim.finish_block(per_block)?;
    // Laundering, then ordinary traffic up to the requested size.
    while !sim.story_done() || sim.w.stats.txs < opts.txs {
        sim.launder();
        sim.finish_block(per_block)?;
    }
    sim.finish(opts, theft)
}

impl Sim {
    fn new(opts: &GenerateOptions) -> Result<Sim, GenerateError> {
        let mut w = World::new(opts, 120)?;
        let mut services = Vec::new();
        let names = EXCHANGES
            .iter()
            .map(|&n| {
                (
                    n,
                    if n == EXCHANGES[VICTIM] {
                        "victim"
                    } else {
                        "exchange"
                    },
                )
            })
            .chain([("Mixero", "mixer"), ("LuckyDice", "gambling")]);
        // Deposit addresses per service grow with the chain (thousands at a million txs).
        let max_deposits = (opts.txs / 200).clamp(50, 20_000) as usize;
        for (name, category) in names {
            let hot: Vec<Key> = (0..3).map(|_| w.new_key(ScriptType::P2shP2wpkh)).collect();
            let cold = w.new_key(ScriptType::P2wpkh);
            for &k in hot.iter().chain([&cold]) {
                w.label(k, name, category);
            }
            let max_deposit_keys = if category == "gambling" {
                5 // fixed bet addresses, reused by everyone
            } else {
                max_deposits
            };
            services.push(Service {
                name,
                category,
                hot,
                hot_coins: Vec::new(),
                cold,
                cold_coins: Vec::new(),
                deposit_keys: Vec::new(),
                max_deposit_keys,
                deposit_coins: Vec::new(),
                // Zaif kept most of its coins hot; the others keep a working float.
                hot_target: if category == "victim" {
                    600 * COIN
                } else {
                    100 * COIN
                },
                recent_deposits: Vec::new(),
                deposits_seen: 0,
            });
        }
        let wasabi_coordinator = w.new_key(ScriptType::P2wpkh);
        w.label(wasabi_coordinator, "Wasabi coordinator", "mixer");
        let whirlpool_coordinator = w.new_key(ScriptType::P2wpkh);
        w.label(whirlpool_coordinator, "Whirlpool coordinator", "mixer");
        Ok(Sim {
            w,
            services,
            users: Vec::new(),
            privacy: Vec::new(),
            premix: [Vec::new(), Vec::new()],
            immature: VecDeque::new(),
            payouts: VecDeque::new(),
            wasabi_coordinator,
            whirlpool_coordinator,
            thief: Thief::default(),
        })
    }

    /// The first 100 blocks: coinbases fund cold wallets, CoinJoin users and users.
    fn startup(&mut self) -> Result<(), GenerateError> {
        for h in 1..=COINBASE_MATURITY {
            let (pool, n) = match h {
                1..=20 => (Pool::Cold(VICTIM), 1),
                21..=60 => (Pool::Cold(1 + (h as usize - 21) / 8), 1),
                61..=66 => (Pool::Cold(MIXER), 1),
                67..=72 => (Pool::Cold(GAMBLING), 1),
                73..=82 => (Pool::Privacy, 10),
                _ => (Pool::Users, 25),
            };
            let payees: Vec<Key> = match pool {
                Pool::Cold(s) => vec![self.services[s].cold; n],
                _ => (0..n).map(|_| self.w.random_key()).collect(),
            };
            let coins = self.w.mine(&payees)?;
            self.immature.push_back((self.w.height, coins, pool));
        }
        Ok(())
    }

    fn mature(&mut self) {
        while let Some((h, _, _)) = self.immature.front() {
            if h + COINBASE_MATURITY > self.w.height + 1 {
                break;
            }
            let (_, coins, pool) = self.immature.pop_front().expect("checked");
            match pool {
                Pool::Users => self.add_users(coins),
                Pool::Privacy => self.add_privacy(coins),
                Pool::Cold(s) => self.services[s].cold_coins.extend(coins),
            }
        }
    }

    fn add_users(&mut self, coins: impl IntoIterator<Item = Utxo>) {
        for c in coins {
            if self.users.len() < MAX_USER_COINS && c.value > 4 * DUST {
                self.users.push(c);
            }
        }
    }

    fn add_privacy(&mut self, coins: impl IntoIterator<Item = Utxo>) {
        for c in coins {
            if self.privacy.len() < MAX_PRIVACY_COINS {
                self.privacy.push(c);
            } else {
                self.add_users([c]);
            }
        }
    }

    /// A fee rate drawn from a long-tailed spread (sat/vB).
    fn rate(&mut self) -> u64 {
        const RATES: [u64; 10] = [1, 1, 2, 2, 3, 4, 5, 8, 12, 20];
        RATES[self.w.rng.below(RATES.len() as u64) as usize]
    }

    fn take_user_coin(&mut self) -> Option<Utxo> {
        if self.users.is_empty() {
            return None;
        }
        let i = self.w.rng.below(self.users.len() as u64) as usize;
        Some(self.users.swap_remove(i))
    }

    /// A payee key for a user: fresh most of the time, otherwise reused from a pooled coin.
    fn user_key(&mut self) -> Key {
        if !self.users.is_empty() && self.w.rng.chance(1, 5) {
            let i = self.w.rng.below(self.users.len() as u64) as usize;
            self.users[i].key
        } else {
            self.w.random_key()
        }
    }

    /// A deposit address of service `s`: a new one while under the cap, else a reused one.
    fn deposit_key(&mut self, s: usize) -> Key {
        let n = self.services[s].deposit_keys.len();
        if n < self.services[s].max_deposit_keys && (n == 0 || self.w.rng.chance(1, 2)) {
            let key = self.w.random_key();
            let (name, category) = (self.services[s].name, self.services[s].category);
            self.w.label(key, name, category);
            self.services[s].deposit_keys.push(key);
            key
        } else {
            self.services[s].deposit_keys[self.w.rng.below(n as u64) as usize]
        }
    }

    fn hot_key(&mut self, s: usize) -> Key {
        let i = self.w.rng.below(self.services[s].hot.len() as u64) as usize;
        self.services[s].hot[i]
    }

    // ----- background traffic -------------------------------------------------------------

    /// Mine one block of ordinary traffic (the victim keeps its hot wallet full before the
    /// theft when `refill_victim`).
    fn background_block(
        &mut self,
        per_block: u64,
        refill_victim: bool,
    ) -> Result<(), GenerateError> {
        if refill_victim {
            let mut refills = 0;
            while self.hot_value(VICTIM) < self.services[VICTIM].hot_target
                && !self.services[VICTIM].cold_coins.is_empty()
                && refills < 20
            {
                self.refill(VICTIM);
                refills += 1;
            }
        }
        self.finish_block(per_block)
    }

    /// Fill the block with ordinary traffic up to `per_block` transactions, then mine it.
    fn finish_block(&mut self, per_block: u64) -> Result<(), GenerateError> {
        self.mature();
        self.pay_due();
        let h = self.w.height + 1;
        self.fund_privacy();
        if h.is_multiple_of(6) {
            self.wasabi_round(None);
        }
        if h.is_multiple_of(2) {
            self.whirlpool_background();
        }
        for s in 0..self.services.len() {
            if self.services[s].deposit_coins.len() >= 40 {
                self.sweep(s);
            }
            if self.services[s].hot_coins.len() > 400 {
                self.consolidate(s);
            }
            if self.hot_value(s) < self.services[s].hot_target / 2 {
                self.refill(s);
            }
        }
        let mut guard = 0;
        while (self.w.pending_txs() as u64) < per_block && guard < 4 * per_block {
            guard += 1;
            match self.w.rng.below(100) {
                0..=64 => self.user_payment(),
                65..=86 => {
                    let s = self.w.rng.below(EXCHANGES.len() as u64) as usize;
                    self.user_deposit(s);
                }
                87..=92 => self.user_deposit(GAMBLING),
                93..=95 => self.user_deposit(MIXER),
                _ => {
                    let s = self.w.rng.below(EXCHANGES.len() as u64) as usize;
                    self.withdraw(s);
                }
            }
        }
        let miner = self.w.random_key();
        let pool = if h.is_multiple_of(5) {
            Pool::Privacy
        } else {
            Pool::Users
        };
        let coins = self.w.mine(&[miner])?;
        self.immature.push_back((self.w.height, coins, pool));
        Ok(())
    }

    /// Users who want to mix consolidate small coins first: while few CoinJoin users hold
    /// 0.2 BTC or more, up to three users merge twenty coins each into one.
    fn fund_privacy(&mut self) {
        let funded = self.privacy.iter().filter(|c| c.value >= COIN / 5).count();
        if funded >= 40 {
            return;
        }
        for _ in 0..3 {
            if self.users.len() < 1_000 {
                return;
            }
            let inputs: Vec<Utxo> = (0..20).filter_map(|_| self.take_user_coin()).collect();
            let total: u64 = inputs.iter().map(|c| c.value).sum();
            let fee = World::fee_at(&inputs, 1, 2);
            if total < fee + DUST {
                self.add_users(inputs);
                return;
            }
            let key = self.w.new_key(ScriptType::P2wpkh);
            let coin = self.w.pay(&inputs, &[(key, total - fee)])[0];
            self.add_privacy([coin]);
        }
    }

    fn user_payment(&mut self) {
        let Some(first) = self.take_user_coin() else {
            return;
        };
        let mut inputs = vec![first];
        if self.w.rng.chance(1, 4) {
            inputs.extend(self.take_user_coin());
        }
        let rate = self.rate();
        let fee = World::fee_at(&inputs, 2, rate);
        let total: u64 = inputs.iter().map(|u| u.value).sum();
        if total < fee + 4 * DUST {
            return; // dust: left where it is
        }
        let spendable = total - fee;
        let pay = DUST + self.w.rng.below(spendable - 2 * DUST);
        let payee = self.user_key();
        let change_key = if self.w.rng.chance(1, 5) {
            inputs[0].key
        } else {
            self.w.random_key()
        };
        let coins = self
            .w
            .pay(&inputs, &[(payee, pay), (change_key, spendable - pay)]);
        self.add_users(coins);
    }

    /// A user pays part of a coin to a deposit address of service `s`, with change.
    fn user_deposit(&mut self, s: usize) {
        let Some(coin) = self.take_user_coin() else {
            return;
        };
        let rate = self.rate();
        let fee = World::fee_at(&[coin], 2, rate);
        if coin.value < fee + 4 * DUST {
            return;
        }
        let spendable = coin.value - fee;
        let amount = (spendable / 10 * (1 + self.w.rng.below(9))).max(DUST);
        let change = spendable - amount;
        let key = self.deposit_key(s);
        let mut outs = vec![(key, amount)];
        if change >= DUST {
            outs.push((self.w.random_key(), change));
        }
        let coins = self.w.pay(&[coin], &outs);
        let svc = &mut self.services[s];
        svc.deposit_coins.push(coins[0]);
        if svc.recent_deposits.len() < 256 {
            svc.recent_deposits.push(amount);
        } else {
            svc.recent_deposits[svc.deposits_seen % 256] = amount;
        }
        svc.deposits_seen += 1;
        self.add_users(coins.into_iter().skip(1));
        if s == MIXER {
            let due = self.w.height + 3 + self.w.rng.below(8) as u32;
            let value = amount - amount * MIXER_FEE_PERMILLE / 1000;
            self.payouts.push_back(Payout {
                due,
                service: MIXER,
                value,
                thief: None,
                to: None,
            });
        } else if s == GAMBLING && self.w.rng.chance(45, 100) {
            self.payouts.push_back(Payout {
                due: self.w.height + 2,
                service: GAMBLING,
                value: amount * 19 / 10,
                thief: None,
                to: None,
            });
        }
    }

    /// Hot coins of `s` covering `need`, largest first (refilling from cold storage, then
    /// sweeping deposits, when short); None when the service cannot pay now.
    fn take_hot(&mut self, s: usize, need: u64) -> Option<Vec<Utxo>> {
        for attempt in 0..3 {
            let total: u64 = self.services[s].hot_coins.iter().map(|c| c.value).sum();
            if total >= need {
                break;
            }
            match attempt {
                0 => self.refill(s),
                1 => self.sweep(s),
                _ => return None,
            }
        }
        // Coin selection as wallets do it: the smallest single coin that covers the need, else
        // the largest coins until it is covered.
        let hot = &mut self.services[s].hot_coins;
        hot.sort_by_key(|c| c.value);
        if let Some(i) = hot.iter().position(|c| c.value >= need) {
            return Some(vec![hot.remove(i)]);
        }
        let mut taken = Vec::new();
        let mut sum = 0;
        while sum < need {
            let c = hot.pop().expect("the total covers the need");
            sum += c.value;
            taken.push(c);
        }
        Some(taken)
    }

    /// Service `s` pays `outputs` from its hot wallet, change back to a hot address; None
    /// (nothing spent) when it cannot pay now.
    fn pay_from_hot(&mut self, s: usize, outputs: &[(Key, u64)]) -> Option<Vec<Utxo>> {
        let rate = self.rate();
        let out_sum: u64 = outputs.iter().map(|o| o.1).sum();
        // Room for the fee of up to ten inputs; a larger fee is checked below.
        let fee_room = (11 + 10 * 148 + 31 * (outputs.len() as u64 + 1)) * rate;
        let inputs = self.take_hot(s, out_sum + fee_room)?;
        let fee = World::fee_at(&inputs, outputs.len() + 1, rate);
        let in_sum: u64 = inputs.iter().map(|c| c.value).sum();
        if in_sum < out_sum + fee {
            self.services[s].hot_coins.extend(inputs);
            return None;
        }
        let change = in_sum - out_sum - fee;
        let mut outs = outputs.to_vec();
        if change >= DUST {
            let key = self.hot_key(s);
            outs.push((key, change));
        }
        let coins = self.w.pay(&inputs, &outs);
        if change >= DUST {
            self.services[s]
                .hot_coins
                .push(*coins.last().expect("change output"));
        }
        Some(coins)
    }

    /// A batched withdrawal: 3–30 users paid from the hot wallet; some are CoinJoin users.
    fn withdraw(&mut self, s: usize) {
        let hot_total: u64 = self.services[s].hot_coins.iter().map(|c| c.value).sum();
        if hot_total < COIN / 10 {
            self.refill(s);
            return;
        }
        let n = 2 + self.w.rng.below(11) as usize;
        // Payees withdraw what users deposit (amounts drawn from the service's recent
        // deposits), so the hot wallet's float stays level; when the hot wallet holds more than
        // its target, now and then a CoinJoin user takes 1–5 BTC out.
        let mut outs = Vec::with_capacity(n);
        let mut to_privacy = Vec::new();
        for i in 0..n {
            let recent = &self.services[s].recent_deposits;
            let surplus = hot_total > self.services[s].hot_target + 5 * COIN;
            let value = if surplus && self.w.rng.chance(1, 20) {
                to_privacy.push(i);
                COIN + self.w.rng.below(4 * COIN)
            } else if recent.is_empty() {
                COIN / 100
            } else {
                recent[self.w.rng.below(recent.len() as u64) as usize]
            };
            outs.push((
                self.w.random_key(),
                value.min(hot_total / (4 * n as u64)).max(4 * DUST),
            ));
        }
        if let Some(coins) = self.pay_from_hot(s, &outs) {
            for (i, c) in coins.into_iter().take(n).enumerate() {
                if to_privacy.contains(&i) {
                    self.add_privacy([c]);
                } else {
                    self.add_users([c]);
                }
            }
        }
    }

    /// Consolidation sweep: up to 100 deposit outputs of `s` into one hot-wallet output.
    fn sweep(&mut self, s: usize) {
        let n = self.services[s].deposit_coins.len().min(100);
        if n < 2 {
            return;
        }
        let inputs: Vec<Utxo> = self.services[s].deposit_coins.drain(..n).collect();
        let rate = self.rate();
        let fee = World::fee_at(&inputs, 1, rate);
        let total: u64 = inputs.iter().map(|c| c.value).sum();
        if total < fee + DUST {
            return; // not worth it: forgotten (they stay unspent)
        }
        let key = self.hot_key(s);
        let coin = self.w.pay(&inputs, &[(key, total - fee)])[0];
        self.services[s].hot_coins.push(coin);
    }

    /// Merge the 100 smallest hot-wallet outputs of `s` into one.
    fn consolidate(&mut self, s: usize) {
        let hot = &mut self.services[s].hot_coins;
        hot.sort_by_key(|c| c.value);
        let inputs: Vec<Utxo> = hot.drain(..100).collect();
        let fee = World::fee_at(&inputs, 1, 1);
        let total: u64 = inputs.iter().map(|c| c.value).sum();
        if total < fee + DUST {
            return;
        }
        let key = self.hot_key(s);
        let coin = self.w.pay(&inputs, &[(key, total - fee)])[0];
        self.services[s].hot_coins.push(coin);
    }

    fn hot_value(&self, s: usize) -> u64 {
        self.services[s].hot_coins.iter().map(|c| c.value).sum()
    }

    /// Top up the hot wallet of `s` from cold storage: one cold output into ten hot outputs
    /// worth the hot wallet's shortfall (at most the whole cold output), change back to cold.
    fn refill(&mut self, s: usize) {
        let cold = &mut self.services[s].cold_coins;
        if cold.is_empty() {
            return;
        }
        cold.sort_by_key(|c| c.value);
        let coin = cold.pop().expect("checked");
        let fee = World::fee_at(&[coin], 11, 2);
        if coin.value < fee + 20 * DUST {
            return;
        }
        let shortfall = self.services[s]
            .hot_target
            .saturating_sub(self.hot_value(s))
            .max(COIN);
        let part = (coin.value - fee - DUST).min(shortfall) / 10;
        let mut outs: Vec<(Key, u64)> = (0..10).map(|_| (self.hot_key(s), part)).collect();
        let rest = coin.value - fee - 10 * part;
        if rest >= DUST {
            outs.push((self.services[s].cold, rest));
        }
        let coins = self.w.pay(&[coin], &outs);
        self.services[s].hot_coins.extend(&coins[..10]);
        if rest >= DUST {
            self.services[s].cold_coins.push(coins[10]);
        }
    }

    /// Pay what the mixer and the gambling service owe today.
    fn pay_due(&mut self) {
        let h = self.w.height + 1;
        let mut later = VecDeque::new();
        while let Some(p) = self.payouts.pop_front() {
            if p.due > h {
                later.push_back(p);
                continue;
            }
            let key = match (p.to, p.thief) {
                (Some(k), _) => k,
                (None, Some(_)) => self.thief_key(),
                (None, None) => self.w.random_key(),
            };
            match self.pay_from_hot(p.service, &[(key, p.value)]) {
                Some(coins) => match p.thief {
                    Some((hop, via)) => {
                        let exchange = self.cashout_exchange();
                        self.thief.coins.push(ThiefCoin {
                            coin: coins[0],
                            hop: hop + 1,
                            via,
                            plan: Plan::Deposit { exchange },
                            ready_at: h + 1 + self.w.rng.below(3) as u32,
                            tries: 0,
                            made_at: h,
                        });
                    }
                    None => self.add_users([coins[0]]),
                },
                None => later.push_back(Payout {
                    due: h + 1,
                    to: Some(key),
                    ..p
                }),
            }
        }
        self.payouts = later;
    }

    /// A background Wasabi round, or the round the thief's coin joins.
    fn wasabi_round(&mut self, thief: Option<ThiefCoin>) -> bool {
        let rate = 5;
        let mining_share = |c: &Utxo| (c.key.input_vbytes() + 2 * 31) * rate;
        // The denomination: 0.1 BTC, or for the thief a round amount near a twentieth of his
        // coin that at least ten other users can afford.
        let denom = match thief {
            None => WASABI_DENOM,
            Some(t) => {
                let mut values: Vec<u64> = self.privacy.iter().map(|c| c.value).collect();
                values.sort_unstable_by(|a, b| b.cmp(a));
                let Some(&tenth) = values.get(9) else {
                    return false;
                };
                let d = round_down(t.coin.value / 20).min(round_down(tenth * 9 / 10));
                if d < WASABI_DENOM / 10 {
                    return false;
                }
                d
            }
        };
        let coord_fee = |d: u64| d * 3 / 1000;
        let need = denom + coord_fee(denom) + 300 * rate + DUST;
        let eligible: Vec<usize> = (0..self.privacy.len())
            .filter(|&i| self.privacy[i].value >= need)
            .collect();
        if eligible.len() < 10 {
            return false;
        }
        let n_others = (20 + self.w.rng.below(40) as usize).min(eligible.len());
        // Pick n_others distinct eligible coins.
        let mut picks: Vec<usize> = Vec::with_capacity(n_others);
        let mut pool = eligible;
        for _ in 0..n_others {
            let j = self.w.rng.below(pool.len() as u64) as usize;
            picks.push(pool.swap_remove(j));
        }
        picks.sort_unstable_by(|a, b| b.cmp(a));
        let others: Vec<Utxo> = picks
            .into_iter()
            .map(|i| self.privacy.swap_remove(i))
            .collect();
        let mut inputs: Vec<Utxo> = others.clone();
        let mut equal: Vec<(Key, u64, Option<Plan>)> = Vec::new();
        let mut change: Vec<(Key, u64, Option<Plan>)> = Vec::new();
        let mut coordinator = 0u64;
        for c in &others {
            let fee = coord_fee(denom);
            coordinator += fee;
            equal.push((self.w.random_key(), denom, None));
            let rest = c.value - denom - fee - mining_share(c);
            if rest >= DUST {
                change.push((self.w.random_key(), rest, None));
            }
        }
        let mut thief_parts = None;
        if let Some(t) = thief {
            let share = mining_share(&t.coin);
            let room = t.coin.value - share;
            let k = (room.saturating_sub(DUST) / (denom + coord_fee(denom))).min(40) as usize;
            let t_coord = coord_fee(denom) * k as u64;
            coordinator += t_coord;
            for _ in 0..k {
                let plan = if self.w.rng.chance(2, 5) {
                    Plan::Hold
                } else {
                    Plan::Deposit {
                        exchange: self.cashout_exchange(),
                    }
                };
                equal.push((self.thief_key(), denom, Some(plan)));
            }
            let rest = room - t_coord - denom * k as u64;
            let mut fee = share;
            if rest >= DUST {
                let plan = Plan::Deposit {
                    exchange: self.cashout_exchange(),
                };
                change.push((self.thief_key(), rest, Some(plan)));
            } else {
                fee += rest;
            }
            inputs.push(t.coin);
            thief_parts = Some((t, t_coord, fee));
        }
        // Equal outputs shuffled, then the coordinator, then change by decreasing value.
        for i in (1..equal.len()).rev() {
            let j = self.w.rng.below(i as u64 + 1) as usize;
            equal.swap(i, j);
        }
        change.sort_by_key(|c| std::cmp::Reverse(c.1));
        let mut outs: Vec<(Key, u64, Option<Plan>)> = equal;
        outs.push((self.wasabi_coordinator, coordinator, None));
        outs.extend(change);
        let pairs: Vec<(Key, u64)> = outs.iter().map(|o| (o.0, o.1)).collect();
        let coins = self.w.pay(&inputs, &pairs);
        let h = self.w.height + 1;
        for (coin, out) in coins.iter().zip(&outs) {
            match out.2 {
                Some(plan) => {
                    let t = thief_parts.as_ref().expect("thief round").0;
                    self.thief.coins.push(ThiefCoin {
                        coin: *coin,
                        hop: t.hop + 1,
                        via: "wasabi",
                        plan,
                        ready_at: h + 1 + self.w.rng.below(4) as u32,
                        tries: 0,
                        made_at: h,
                    });
                }
                None if out.0 == self.wasabi_coordinator => {}
                None if out.1 == denom => self.add_privacy([*coin]),
                None => self.add_users([*coin]),
            }
        }
        if let Some((t, t_coord, fee)) = thief_parts {
            let txid = coins[0].outpoint.txid;
            self.endpoint_at(
                EndpointKind::CoinjoinFee,
                txid,
                None,
                t_coord,
                t.hop + 1,
                "wasabi",
                Some(("Wasabi coordinator", "mixer")),
            );
            self.endpoint(EndpointKind::Fee, txid, None, fee, t.hop + 1, "wasabi");
        }
        true
    }

    /// Background Whirlpool: a Tx0 from a CoinJoin user's coin, and 5×5 mixes while premixes
    /// wait.
    fn whirlpool_background(&mut self) {
        for pool in 0..WHIRLPOOLS.len() {
            if self.premix[pool].len() < 10 {
                self.tx0(pool, None);
            }
            while self.premix[pool].len() >= 5 {
                let inputs: Vec<Utxo> = self.premix[pool].drain(..5).collect();
                self.mix(pool, inputs, None);
            }
        }
    }

    /// A Tx0: a coin split into premix outputs of `pool` (denomination + mix fee), the
    /// coordinator's fee and change. For the thief, returns false when his coin is too small.
    fn tx0(&mut self, pool: usize, thief: Option<ThiefCoin>) -> bool {
        let (denom, coord) = WHIRLPOOLS[pool];
        let premix_value = denom + PREMIX_FEE;
        let coin = match thief {
            Some(t) => t.coin,
            None => {
                let need = 5 * premix_value + coord + 5_000;
                let Some(i) = self.privacy.iter().position(|c| c.value >= need) else {
                    return false;
                };
                self.privacy.swap_remove(i)
            }
        };
        let max = if thief.is_some() {
            20
        } else {
            5 + self.w.rng.below(6)
        };
        let fee_for = |n: u64| World::fee_at(&[coin], n as usize + 2, 3);
        let mut n = max.min(coin.value.saturating_sub(coord + fee_for(max) + DUST) / premix_value);
        if n < 2 {
            if thief.is_none() {
                self.add_privacy([coin]);
            }
            return false;
        }
        n = n.min(max);
        let fee = fee_for(n);
        let change = coin.value - coord - fee - n * premix_value;
        let mut outs: Vec<(Key, u64)> = Vec::new();
        let premix_keys: Vec<Key> = (0..n)
            .map(|_| {
                if thief.is_some() {
                    self.thief_key()
                } else {
                    self.w.new_key(ScriptType::P2wpkh)
                }
            })
            .collect();
        for &k in &premix_keys {
            outs.push((k, premix_value));
        }
        outs.push((self.whirlpool_coordinator, coord));
        let change_key = if thief.is_some() {
            self.thief_key()
        } else {
            self.w.random_key()
        };
        outs.push((change_key, change));
        let coins = self.w.pay(&[coin], &outs);
        let h = self.w.height + 1;
        match thief {
            None => {
                self.premix[pool].extend(&coins[..n as usize]);
                self.add_privacy([coins[n as usize + 1]]);
            }
            Some(t) => {
                let txid = coins[0].outpoint.txid;
                for c in &coins[..n as usize] {
                    self.thief.coins.push(ThiefCoin {
                        coin: *c,
                        hop: t.hop + 1,
                        via: "whirlpool",
                        plan: Plan::WhirlMix { pool },
                        ready_at: h + 1 + self.w.rng.below(3) as u32,
                        tries: 0,
                        made_at: h,
                    });
                }
                let exchange = self.cashout_exchange();
                self.thief.coins.push(ThiefCoin {
                    coin: coins[n as usize + 1],
                    hop: t.hop + 1,
                    via: "whirlpool",
                    plan: Plan::Deposit { exchange },
                    ready_at: h + 2,
                    tries: 0,
                    made_at: h,
                });
                self.endpoint_at(
                    EndpointKind::CoinjoinFee,
                    txid,
                    None,
                    coord,
                    t.hop + 1,
                    "whirlpool",
                    Some(("Whirlpool coordinator", "mixer")),
                );
                self.endpoint(EndpointKind::Fee, txid, None, fee, t.hop + 1, "whirlpool");
            }
        }
        true
    }

    /// A 5×5 mix of premix outputs; outputs of exactly the pool's denomination. `thief_at`
    /// is the index of the thief's input, if he takes part.
    fn mix(&mut self, pool: usize, inputs: Vec<Utxo>, thief: Option<ThiefCoin>) {
        let (denom, _) = WHIRLPOOLS[pool];
        let mut outs: Vec<(Key, u64, bool)> = inputs
            .iter()
            .map(|_| (self.w.new_key(ScriptType::P2wpkh), denom, false))
            .collect();
        let mut inputs = inputs;
        if let Some(t) = thief {
            inputs.push(t.coin);
            outs.push((self.thief_key(), denom, true));
        }
        for i in (1..outs.len()).rev() {
            let j = self.w.rng.below(i as u64 + 1) as usize;
            outs.swap(i, j);
        }
        let pairs: Vec<(Key, u64)> = outs.iter().map(|o| (o.0, o.1)).collect();
        let coins = self.w.pay(&inputs, &pairs);
        let h = self.w.height + 1;
        for (c, o) in coins.iter().zip(&outs) {
            if !o.2 {
                self.add_privacy([*c]);
                continue;
            }
            let t = thief.expect("a thief output");
            let exchange = self.cashout_exchange();
            self.thief.coins.push(ThiefCoin {
                coin: *c,
                hop: t.hop + 1,
                via: "whirlpool",
                plan: Plan::Deposit { exchange },
                ready_at: h + 1 + self.w.rng.below(4) as u32,
                tries: 0,
                made_at: h,
            });
            self.endpoint(
                EndpointKind::Fee,
                c.outpoint.txid,
                None,
                t.coin.value - denom,
                t.hop + 1,
                "whirlpool",
            );
        }
    }

    // ----- the theft and the thief ----------------------------------------------------------

    /// A fresh thief address (labelled perpetrator in the truth).
    fn thief_key(&mut self) -> Key {
        let kind = match self.w.rng.below(3) {
            0 => ScriptType::P2pkh,
            1 => ScriptType::P2wpkh,
            _ => ScriptType::P2shP2wpkh,
        };
        let key = self.w.new_key(kind);
        self.w.label(key, "thief", "perpetrator");
        let address = self.w.address(key);
        self.thief.addresses.push(address);
        key
    }

    /// A cash-out exchange: any exchange but the victim.
    fn cashout_exchange(&mut self) -> usize {
        1 + self.w.rng.below(EXCHANGES.len() as u64 - 1) as usize
    }

    /// Record a truth row held by nobody in particular (fees, the thief's own outputs).
    fn endpoint(
        &mut self,
        kind: EndpointKind,
        txid: bitcoin::Txid,
        out: Option<(u32, Key)>,
        value: u64,
        hops: u32,
        via: &'static str,
    ) {
        self.endpoint_at(kind, txid, out, value, hops, via, None);
    }

    /// Record a truth row; `holder` is the (entity, category) holding it. Zero values are not
    /// rows.
    #[allow(clippy::too_many_arguments)]
    fn endpoint_at(
        &mut self,
        kind: EndpointKind,
        txid: bitcoin::Txid,
        out: Option<(u32, Key)>,
        value: u64,
        hops: u32,
        via: &'static str,
        holder: Option<(&'static str, &'static str)>,
    ) {
        if value == 0 {
            return;
        }
        self.thief.endpoints.push(Endpoint {
            kind,
            entity: holder.map(|h| h.0),
            category: holder.map(|h| h.1),
            txid,
            vout: out.map(|o| o.0),
            address: out.map(|o| self.w.address(o.1)),
            value,
            height: self.w.height + 1,
            via,
            hops,
        });
    }

    /// The theft: the victim's `n` largest hot-wallet outputs swept into one thief address.
    fn theft(&mut self, n: usize) -> Result<Theft, GenerateError> {
        let hot = &mut self.services[VICTIM].hot_coins;
        hot.sort_by_key(|c| std::cmp::Reverse(c.value));
        let inputs: Vec<Utxo> = hot.drain(..n.min(hot.len())).collect();
        let stolen: u64 = inputs.iter().map(|c| c.value).sum();
        let fee = World::fee_at(&inputs, 1, 10);
        if stolen < fee + THIEF_MIN_MOVE {
            return Err(GenerateError::Options(format!(
                "the victim's hot wallet holds {stolen} sat in {} outputs at height {}: nothing \
                 worth stealing; choose another --theft-height",
                inputs.len(),
                self.w.height + 1
            )));
        }
        let key = self.thief_key();
        let coin = self.w.pay(&inputs, &[(key, stolen - fee)])[0];
        let txid = coin.outpoint.txid;
        self.endpoint(EndpointKind::Fee, txid, None, fee, 0, "theft");
        self.thief.coins.push(ThiefCoin {
            coin,
            hop: 0,
            via: "split",
            plan: Plan::Split,
            ready_at: self.w.height + 2,
            tries: 0,
            made_at: self.w.height + 1,
        });
        let victim_hot = self.services[VICTIM].hot.clone();
        let theft = Theft {
            victim: EXCHANGES[VICTIM],
            theft_height: self.w.height + 1,
            theft_txids: vec![txid.to_string()],
            swept_inputs: inputs.len(),
            stolen_sat: stolen,
            theft_fee_sat: fee,
            thief_address: self.w.address(key),
            thief_addresses: Vec::new(),
            victim_hot_addresses: victim_hot.iter().map(|&k| self.w.address(k)).collect(),
            totals_by_kind: BTreeMap::new(),
            cashed_out_by_entity: BTreeMap::new(),
        };
        Ok(theft)
    }

    /// Everything is laundered or parked: no coin waits for an action, no payout is owed to
    /// the thief.
    fn story_done(&self) -> bool {
        self.thief.coins.iter().all(|c| c.plan == Plan::Hold)
            && self.payouts.iter().all(|p| p.thief.is_none())
    }

    /// The thief's actions for the coming block.
    fn launder(&mut self) {
        let h = self.w.height + 1;
        let mut i = 0;
        while i < self.thief.coins.len() {
            let c = self.thief.coins[i];
            if c.plan == Plan::Hold || c.ready_at > h {
                i += 1;
                continue;
            }
            self.thief.coins.swap_remove(i);
            if !self.act(c) {
                // Could not act now (no CoinJoin partners yet): retry next block, and give up
                // on the CoinJoin for a plain deposit after a while. Coins pushed here and by
                // `act` are not ready before the next block, so this loop passes over them.
                let mut c = c;
                c.ready_at = h + 1;
                c.tries += 1;
                if c.tries >= 20 {
                    c.plan = Plan::Deposit {
                        exchange: self.cashout_exchange(),
                    };
                    c.via = match c.via {
                        "wasabi" => "wasabi-fallback",
                        "whirlpool" => "whirlpool-fallback",
                        other => other,
                    };
                }
                self.thief.coins.push(c);
            }
        }
    }

    /// A thief transaction spending `input` to `dests`; the rest is the fee. Records the truth.
    fn thief_pay(&mut self, input: ThiefCoin, dests: Vec<(Dest, u64)>) {
        let mut outs = Vec::with_capacity(dests.len());
        for (d, v) in &dests {
            let key = match d {
                Dest::Thief(..) => self.thief_key(),
                Dest::Cashout(s) => self.deposit_key(*s),
            };
            outs.push((key, *v));
        }
        let coins = self.w.pay(&[input.coin], &outs);
        let h = self.w.height + 1;
        let hop = input.hop + 1;
        let txid = coins[0].outpoint.txid;
        let out_sum: u64 = dests.iter().map(|d| d.1).sum();
        self.endpoint(
            EndpointKind::Fee,
            txid,
            None,
            input.coin.value - out_sum,
            hop,
            input.via,
        );
        for (coin, (d, _)) in coins.iter().zip(dests) {
            match d {
                Dest::Thief(plan, via) => {
                    let delay = 1 + self.w.rng.below(3) as u32;
                    self.thief.coins.push(ThiefCoin {
                        coin: *coin,
                        hop,
                        via,
                        plan,
                        ready_at: h + delay,
                        tries: 0,
                        made_at: h,
                    });
                }
                Dest::Cashout(s) => {
                    self.services[s].deposit_coins.push(*coin);
                    let (name, category) = (self.services[s].name, self.services[s].category);
                    self.endpoint_at(
                        EndpointKind::Cashout,
                        txid,
                        Some((coin.outpoint.vout, coin.key)),
                        coin.value,
                        hop,
                        input.via,
                        Some((name, category)),
                    );
                }
            }
        }
    }

    /// Carry out the plan of coin `c`; false when it must wait.
    fn act(&mut self, c: ThiefCoin) -> bool {
        let rate = [5, 10, 20][self.w.rng.below(3) as usize];
        let value = c.coin.value;
        if value < THIEF_MIN_MOVE {
            // Not worth a transaction's fee (small CoinJoin or Tx0 change): left where it is.
            self.thief.coins.push(ThiefCoin {
                plan: Plan::Hold,
                ..c
            });
            return true;
        }
        match c.plan {
            Plan::Hold => unreachable!("held coins are not acted on"),
            Plan::Split => {
                // Shares of the loot in per-mille, each with its route.
                let shares: [(u64, Plan, &'static str); 9] = [
                    (250, Plan::Peel { left: 8 }, "peel"),
                    (150, Plan::Peel { left: 6 }, "peel"),
                    (150, Plan::Fanout, "fanout"),
                    (120, Plan::Mixer, "mixer"),
                    (100, Plan::Wasabi, "wasabi"),
                    (30, Plan::Whirlpool, "whirlpool"),
                    (50, Plan::Gamble { bets: 3 }, "gambling"),
                    (80, Plan::Hold, "hold"),
                    (70, Plan::Hold, "hold"),
                ];
                let fee = World::fee_at(&[c.coin], shares.len(), rate);
                let avail = value - fee;
                let mut dests: Vec<(Dest, u64)> = shares
                    .iter()
                    .map(|&(pm, plan, via)| (Dest::Thief(plan, via), avail / 1000 * pm))
                    .collect();
                let used: u64 = dests.iter().map(|d| d.1).sum();
                dests[0].1 += avail - used;
                self.thief_pay(c, dests);
            }
            Plan::Peel { left: 0 } => {
                let mut c = c;
                c.plan = Plan::Hold;
                self.thief.coins.push(c);
            }
            Plan::Peel { left } => {
                let fee = World::fee_at(&[c.coin], 2, rate);
                let peel = (value - fee) / 100 * (5 + self.w.rng.below(11));
                let exchange = self.cashout_exchange();
                self.thief_pay(
                    c,
                    vec![
                        (Dest::Cashout(exchange), peel),
                        (
                            Dest::Thief(Plan::Peel { left: left - 1 }, c.via),
                            value - fee - peel,
                        ),
                    ],
                );
            }
            Plan::Fanout => {
                let n = 12;
                let fee = World::fee_at(&[c.coin], n, rate);
                let part = (value - fee) / n as u64;
                let mut dests = Vec::with_capacity(n);
                for i in 0..n {
                    let plan = if self.w.rng.chance(3, 10) {
                        Plan::Hold
                    } else {
                        Plan::Deposit {
                            exchange: self.cashout_exchange(),
                        }
                    };
                    let v = if i == 0 {
                        value - fee - part * (n as u64 - 1)
                    } else {
                        part
                    };
                    dests.push((Dest::Thief(plan, c.via), v));
                }
                self.thief_pay(c, dests);
            }
            Plan::Deposit { exchange } => {
                let fee = World::fee_at(&[c.coin], 1, rate);
                self.thief_pay(c, vec![(Dest::Cashout(exchange), value - fee)]);
            }
            Plan::Gamble { bets } => {
                let fee = World::fee_at(&[c.coin], 2, rate);
                if bets <= 1 {
                    self.thief_pay(c, vec![(Dest::Cashout(GAMBLING), value - fee)]);
                } else {
                    let bet = (value - fee) / bets as u64;
                    self.thief_pay(
                        c,
                        vec![
                            (Dest::Cashout(GAMBLING), bet),
                            (
                                Dest::Thief(Plan::Gamble { bets: bets - 1 }, c.via),
                                value - fee - bet,
                            ),
                        ],
                    );
                }
            }
            Plan::Mixer => {
                // Deposit at the mixer; it pays back, less its fee, in three parts later. The
                // thief's claim continues in the payouts.
                let fee = World::fee_at(&[c.coin], 1, rate);
                let deposit = value - fee;
                let key = self.deposit_key(MIXER);
                let coin = self.w.pay(&[c.coin], &[(key, deposit)])[0];
                self.services[MIXER].deposit_coins.push(coin);
                let txid = coin.outpoint.txid;
                self.endpoint(EndpointKind::Fee, txid, None, fee, c.hop + 1, "mixer");
                let back = deposit - deposit * MIXER_FEE_PERMILLE / 1000;
                let parts = [back / 3, back / 3, back - 2 * (back / 3)];
                for p in parts {
                    let due = self.w.height + 4 + self.w.rng.below(7) as u32;
                    self.payouts.push_back(Payout {
                        due,
                        service: MIXER,
                        value: p,
                        thief: Some((c.hop + 1, "mixer")),
                        to: None,
                    });
                }
                self.endpoint_at(
                    EndpointKind::MixerFee,
                    txid,
                    None,
                    deposit - back,
                    c.hop + 1,
                    "mixer",
                    Some((self.services[MIXER].name, "mixer")),
                );
            }
            Plan::Wasabi => return self.wasabi_round(Some(c)),
            Plan::Whirlpool => {
                // The 0.5 BTC pool when the coin makes at least two premixes, else 0.05.
                let pool = if value > 3 * WHIRLPOOLS[0].0 { 0 } else { 1 };
                return self.tx0(pool, Some(c));
            }
            Plan::WhirlMix { pool } => {
                while self.premix[pool].len() < 4 {
                    if !self.tx0(pool, None) {
                        return false;
                    }
                }
                let others: Vec<Utxo> = self.premix[pool].drain(..4).collect();
                self.mix(pool, others, Some(c));
            }
        }
        true
    }

    fn finish(
        mut self,
        opts: &GenerateOptions,
        mut theft: Theft,
    ) -> Result<Generated, GenerateError> {
        for c in std::mem::take(&mut self.thief.coins) {
            let txid = c.coin.outpoint.txid;
            self.thief.endpoints.push(Endpoint {
                kind: EndpointKind::Unspent,
                entity: None,
                category: None,
                txid,
                vout: Some(c.coin.outpoint.vout),
                address: Some(self.w.address(c.coin.key)),
                value: c.coin.value,
                height: c.made_at,
                via: c.via,
                hops: c.hop,
            });
        }
        for e in &self.thief.endpoints {
            *theft.totals_by_kind.entry(e.kind.name()).or_default() += e.value;
            if e.kind == EndpointKind::Cashout {
                *theft
                    .cashed_out_by_entity
                    .entry(e.entity.expect("cash-outs name their entity"))
                    .or_default() += e.value;
            }
        }
        let sum: u128 = self.thief.endpoints.iter().map(|e| e.value as u128).sum();
        if sum != theft.stolen_sat as u128 {
            return Err(GenerateError::Options(format!(
                "internal error: the truth accounts for {sum} sat, not the {} stolen; please report it with the options used",
                theft.stolen_sat
            )));
        }
        theft.thief_addresses = std::mem::take(&mut self.thief.addresses);
        let endpoints = std::mem::take(&mut self.thief.endpoints);
        let out = opts.out.clone();
        let stats = self.w.finish(&out)?;
        write_truth(&out, &theft, &endpoints)?;
        Ok(stats)
    }
}

/// The largest 1-2-5 round amount (…, 0.1, 0.2, 0.5, 1, 2, 5 BTC, …) not above `v`.
fn round_down(v: u64) -> u64 {
    let mut best = 0;
    let mut p = 1u64;
    while p <= v {
        for m in [1, 2, 5] {
            if p * m <= v {
                best = p * m;
            }
        }
        p = match p.checked_mul(10) {
            Some(p) => p,
            None => break,
        };
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::generate::Scenario;

    #[test]
    fn a_small_chain_stretches_to_fit_the_story_but_an_explicit_late_theft_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let opts = GenerateOptions::new(Scenario::Zaif, 500, 3, dir.path().join("a"));
        let made = zaif(&opts).unwrap();
        assert!(
            made.blocks > COINBASE_MATURITY + 20,
            "the default theft height fits"
        );
        let late = GenerateOptions {
            theft_height: Some(5_000),
            ..GenerateOptions::new(Scenario::Zaif, 500, 3, dir.path().join("b"))
        };
        let err = zaif(&late).unwrap_err().to_string();
        assert!(err.contains("past the chain's end"), "{err}");
    }

    #[test]
    fn round_down_picks_one_two_five_steps() {
        assert_eq!(round_down(0), 0);
        assert_eq!(round_down(7), 5);
        assert_eq!(round_down(199_999_999), 100_000_000);
        assert_eq!(round_down(250_000_000), 200_000_000);
        assert_eq!(round_down(999), 500);
    }
}
