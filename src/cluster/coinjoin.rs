//! Recognising CoinJoin-shaped transactions, whose inputs must not be merged: many owners pay
//! into equal outputs together.
//!
//! Shapes, checked in this order (`participants` is the largest number of outputs sharing one
//! non-zero value):
//! - **Whirlpool**: 5 inputs, 5 outputs, all of one pool denomination (0.001, 0.01, 0.05 or 0.5 BTC).
//! - **WabiSabi** (Wasabi 2): 50 or more inputs and outputs, at least half of the outputs sharing
//!   their value with another output (standard denominations).
//! - **Wasabi**: at least 10 participants at about 0.1 BTC (0.09–0.11), no more participants than inputs.
//! - **JoinMarket**: 3 or more participants, no more than inputs, and at most one change output
//!   per participant plus one (`outputs ≤ 2·participants + 1`).
//! - **Generic** (BlockSci's rule): 2 or more inputs, 3 or more outputs, 2 or more participants
//!   and no more than inputs, `outputs ≤ 2·participants + 1`. Cautious on purpose: a payment
//!   batch of two equal payments may be taken for a CoinJoin and left unmerged, never the reverse.

/// The pool denominations of Samourai's Whirlpool, in satoshis.
pub const WHIRLPOOL_POOLS: [u64; 4] = [100_000, 1_000_000, 5_000_000, 50_000_000];

/// A recognised CoinJoin shape.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CoinJoinKind {
    /// Samourai Whirlpool 5×5.
    Whirlpool,
    /// Wasabi 1 (many ~0.1 BTC outputs).
    Wasabi,
    /// Wasabi 2 / WabiSabi (many inputs and outputs over many standard denominations).
    WabiSabi,
    /// JoinMarket (equal outputs plus change).
    JoinMarket,
    /// Any other equal-output mix.
    Generic,
}

/// The CoinJoin shape of a transaction with `inputs` inputs and these output values, if any.
pub fn detect(inputs: usize, outputs: &[u64]) -> Option<CoinJoinKind> {
    if inputs < 2 || outputs.len() < 3 {
        return None;
    }
    // Count equal values by sorting a copy (a per-thread buffer: this runs for every
    // multi-input transaction of the chain, so no hashing and no allocation).
    thread_local! {
        static SORTED: std::cell::RefCell<Vec<u64>> = const { std::cell::RefCell::new(Vec::new()) };
    }
    SORTED.with(|sorted| {
        let mut sorted = sorted.borrow_mut();
        sorted.clear();
        sorted.extend(outputs.iter().copied().filter(|&v| v > 0));
        sorted.sort_unstable();
        classify(inputs, outputs.len(), &sorted)
    })
}

/// [`detect`] on the non-zero output values sorted ascending.
fn classify(inputs: usize, n_outputs: usize, sorted: &[u64]) -> Option<CoinJoinKind> {
    // The most common value (ties to the larger value), and how many outputs share their value
    // with another.
    let (mut value, mut participants, mut shared) = (0u64, 0usize, 0usize);
    let mut i = 0;
    while i < sorted.len() {
        let v = sorted[i];
        let run = sorted[i..].iter().take_while(|&&w| w == v).count();
        if run >= participants {
            (value, participants) = (v, run);
        }
        if run >= 2 {
            shared += run;
        }
        i += run;
    }
    if participants == 0 {
        return None;
    }
    if inputs == 5 && n_outputs == 5 && participants == 5 && WHIRLPOOL_POOLS.contains(&value) {
        return Some(CoinJoinKind::Whirlpool);
    }
    // WabiSabi: large rounds whose outputs mostly share their value with another output,
    // spread over many denominations (so no single value has a majority).
    if inputs >= 50 && n_outputs >= 50 && 2 * shared >= n_outputs {
        return Some(CoinJoinKind::WabiSabi);
    }
    if participants < 2 || participants > inputs {
        return None;
    }
    if participants >= 10 && (9_000_000..=11_000_000).contains(&value) {
        return Some(CoinJoinKind::Wasabi);
    }
    if n_outputs > 2 * participants + 1 {
        return None;
    }
    Some(if participants >= 3 {
        CoinJoinKind::JoinMarket
    } else {
        CoinJoinKind::Generic
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn whirlpool_5x5_is_recognised() {
        assert_eq!(detect(5, &[1_000_000; 5]), Some(CoinJoinKind::Whirlpool));
        // Not a pool denomination: still equal outputs, so the generic shape.
        assert_eq!(detect(5, &[1_234_567; 5]), Some(CoinJoinKind::JoinMarket));
    }

    #[test]
    fn wasabi_many_tenth_of_a_bitcoin_outputs() {
        let mut outs = vec![10_000_000u64; 40];
        outs.extend([3_456_789, 7_000_001, 123_456]);
        assert_eq!(detect(45, &outs), Some(CoinJoinKind::Wasabi));
    }

    #[test]
    fn wabisabi_rounds_over_many_denominations() {
        // 120 outputs: 20 values × 5 outputs each, plus 20 odd changes; 80 inputs.
        let mut outs: Vec<u64> = (0..20u64)
            .flat_map(|d| std::iter::repeat_n(5_000 * 3u64.pow((d % 10) as u32) + d, 5))
            .collect();
        outs.extend((0..20u64).map(|i| 777_001 + i * 13));
        assert_eq!(detect(80, &outs), Some(CoinJoinKind::WabiSabi));
        // An exchange's batch withdrawal: 60 inputs, 60 distinct amounts: not a CoinJoin.
        let batch: Vec<u64> = (0..60u64).map(|i| 1_000_000 + i * 1_111).collect();
        assert_eq!(detect(60, &batch), None);
    }

    #[test]
    fn joinmarket_equal_outputs_with_change() {
        // 4 participants of 0.05 BTC, 3 maker changes and the taker's change.
        let outs = [
            5_000_000, 5_000_000, 5_000_000, 5_000_000, 1_111, 22_222, 333_333, 4_444_444,
        ];
        assert_eq!(detect(6, &outs), Some(CoinJoinKind::JoinMarket));
    }

    #[test]
    fn ordinary_payments_are_not_coinjoins() {
        assert_eq!(detect(1, &[5, 5, 5]), None, "one input");
        assert_eq!(
            detect(3, &[100, 200]),
            None,
            "two outputs: payment and change"
        );
        assert_eq!(detect(2, &[100, 200, 300]), None, "no equal outputs");
        // A batch of 10 equal payments from 2 inputs: more participants than inputs.
        assert_eq!(detect(2, &[1_000; 10]), None);
        // Zero-value outputs (OP_RETURN) do not count as participants.
        assert_eq!(detect(2, &[0, 0, 700]), None);
    }
}
