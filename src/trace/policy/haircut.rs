//! Haircut: taint shared in proportion to value.
//!
//! The items are the outputs in order, then the fee as a last item of weight `f`. Item `k` of
//! weight `w_k` gets the exact share `T·w_k / A`; in integer satoshis each share is floored, then
//! the leftover satoshis (`T − Σ floors`, fewer than the number of items) go one each to the items
//! with the largest remainder `T·w_k mod A`, ties to the lower index, so the shares sum to `T`
//! exactly. Arithmetic is exact (`u128`, widened to 256 bits if a product overflows). A clean
//! transaction (`T = 0`, in particular `A = 0`) gives zero everywhere. The denominator is
//! `Σ w_k = Σv + f`, which is `A` for every valid transaction (for an invalid one whose outputs
//! exceed its inputs it is `Σv`, which keeps the shares conserved and within each output).
//!
//! Flows: the flow from tainted input `i` to output `j` is the floored proportional share
//! `⌊t_i·v_j / A⌋`. These floors need not add up to output `j`'s taint (which also carries its
//! largest-remainder satoshis); they explain a path, they are not the allocation.
//!
//! This file also holds the small helpers the amount models (haircut, poison, TIHO) share.

use super::{Allocation, Taint, TaintPolicy, TxValues};

/// The haircut model: every output and the fee take the same fraction `T / A` of their value;
/// see the [module documentation](self).
#[derive(Debug, Clone, Copy, Default)]
pub struct Haircut;

impl TaintPolicy for Haircut {
    fn name(&self) -> &'static str {
        "haircut"
    }

    fn conserves(&self) -> bool {
        true
    }

    fn seed(&self, value: u64, amount: u64) -> Taint {
        Taint::Amount(amount.min(value))
    }

    fn propagate(&self, tx: TxValues<'_>, inputs: &[Option<&Taint>]) -> Allocation {
        let m = tx.outputs.len();
        let t: u128 = input_taints(tx, inputs).map(u128::from).sum();
        if t == 0 {
            return clean(m);
        }
        let fee_weight = tx.fee();
        let denominator: u128 =
            tx.outputs.iter().map(|&v| u128::from(v)).sum::<u128>() + u128::from(fee_weight);
        // t ≤ A ≤ denominator, so denominator > 0 and every floored share is ≤ its weight.
        let mut outputs = Vec::with_capacity(m);
        let mut fee = 0u64;
        with_scratch::<(u128, u32), _>(m + 1, |remainders| {
            let mut given: u128 = 0;
            for (k, slot) in remainders.iter_mut().enumerate() {
                let weight = tx.outputs.get(k).copied().unwrap_or(fee_weight);
                let (q, r) = mul_div_rem(t, weight, denominator);
                given += q;
                *slot = (r, k as u32);
                let q = u64::try_from(q).unwrap_or(weight);
                if k < m {
                    outputs.push(Taint::Amount(q));
                } else {
                    fee = q;
                }
            }
            // Σ r_k / D = t − Σ q_k, each r_k / D < 1: fewer leftovers than items.
            let leftover = usize::try_from(t - given)
                .unwrap_or(usize::MAX)
                .min(remainders.len());
            if leftover == 0 {
                return;
            }
            // Largest remainder first, ties to the lower index; keys are distinct.
            let rank = |a: &(u128, u32), b: &(u128, u32)| b.0.cmp(&a.0).then(a.1.cmp(&b.1));
            remainders.select_nth_unstable_by(leftover - 1, rank);
            for &(_, k) in remainders.iter().take(leftover) {
                match outputs.get_mut(k as usize) {
                    Some(Taint::Amount(x)) => *x += 1,
                    Some(Taint::Intervals(_)) => {}
                    None => fee += 1,
                }
            }
        });

        let a = tx.input_total();
        let mut flows = Vec::new();
        for (i, ti) in input_taints(tx, inputs).enumerate() {
            if ti == 0 {
                continue;
            }
            for (j, &v) in tx.outputs.iter().enumerate() {
                // ti ≤ A, so the share is ≤ v.
                let x = (u128::from(ti) * u128::from(v)) / a;
                if x > 0 {
                    flows.push((i as u32, j as u32, x as u64));
                }
            }
        }
        Allocation {
            outputs,
            fee,
            flows,
        }
    }
}

/// The taint of each input as an amount clamped to the input's value (`0` for a clean input or
/// one missing from `inputs`), in input order.
pub(super) fn input_taints<'a>(
    tx: TxValues<'a>,
    inputs: &'a [Option<&'a Taint>],
) -> impl Iterator<Item = u64> + 'a {
    tx.inputs.iter().enumerate().map(move |(i, &a)| {
        inputs
            .get(i)
            .copied()
            .flatten()
            .map_or(0, |t| t.amount().min(a))
    })
}

/// The allocation of a clean transaction under an amount model: `m` zero outputs, no fee taint,
/// no flows.
pub(super) fn clean(m: usize) -> Allocation {
    Allocation {
        outputs: vec![Taint::Amount(0); m],
        fee: 0,
        flows: Vec::new(),
    }
}

/// Run `f` on a zeroed scratch slice of `len` elements: on the stack for the usual small
/// transactions, on the heap for large ones.
pub(super) fn with_scratch<T: Copy + Default, R>(len: usize, f: impl FnOnce(&mut [T]) -> R) -> R {
    const ON_STACK: usize = 32;
    if len <= ON_STACK {
        let mut buf = [T::default(); ON_STACK];
        f(buf.get_mut(..len).unwrap_or_default())
    } else {
        let mut buf = vec![T::default(); len];
        f(&mut buf)
    }
}

/// `(⌊x·w / d⌋, x·w mod d)`, exact even when `x·w` overflows `u128`. Requires `d > 0`; the
/// quotient is exact when it fits in `u128` (always when `x ≤ d`).
fn mul_div_rem(x: u128, w: u64, d: u128) -> (u128, u128) {
    debug_assert!(d > 0);
    let w = u128::from(w);
    if let Some(p) = x.checked_mul(w) {
        return (p / d, p % d);
    }
    // 256-bit product (hi, lo) = x·w, then restoring long division one bit at a time.
    let mid = (x >> 64) * w; // < 2^128
    let (lo, carry) = ((x & u128::from(u64::MAX)) * w).overflowing_add(mid << 64);
    let hi = (mid >> 64) + u128::from(carry);
    let (mut q, mut rem) = (0u128, 0u128);
    for bit in (0..256u32).rev() {
        let b = if bit >= 128 {
            (hi >> (bit - 128)) & 1
        } else {
            (lo >> bit) & 1
        };
        let overflow = rem >> 127 == 1;
        rem = (rem << 1) | b;
        q <<= 1;
        if overflow || rem >= d {
            rem = rem.wrapping_sub(d);
            q |= 1;
        }
    }
    (q, rem)
}

#[cfg(test)]
mod tests {
    use super::super::fifo::tests::{gen_tx, iv};
    use super::*;
    use proptest::prelude::*;

    fn run(inputs: &[u64], outputs: &[u64], taints: &[Option<Taint>]) -> Allocation {
        let refs: Vec<Option<&Taint>> = taints.iter().map(Option::as_ref).collect();
        Haircut.propagate(TxValues { inputs, outputs }, &refs)
    }

    fn amounts(xs: &[u64]) -> Vec<Taint> {
        xs.iter().map(|&x| Taint::Amount(x)).collect()
    }

    #[test]
    fn seeds() {
        assert_eq!(Haircut.seed(100, 30), Taint::Amount(30));
        assert_eq!(Haircut.seed(100, 500), Taint::Amount(100));
        assert_eq!(Haircut.seed(0, 5), Taint::Amount(0));
        assert_eq!(Haircut.name(), "haircut");
        assert!(Haircut.conserves());
    }

    #[test]
    fn largest_remainder_decides_and_fee_is_an_item() {
        // Inputs 60 (taint 4), 40 (taint 3): A = 100, T = 7. Outputs 40, 35, 15; fee 10.
        // T·w = 280, 245, 105, 70 → floors 2, 2, 1, 0 (Σ 5), remainders 80, 45, 5, 70.
        // Leftover 7 − 5 = 2 → the two largest remainders: output 0 (80) and the fee (70).
        // Shares 3, 2, 1, fee 1.
        let a = run(
            &[60, 40],
            &[40, 35, 15],
            &[Some(Taint::Amount(4)), Some(Taint::Amount(3))],
        );
        assert_eq!(a.outputs, amounts(&[3, 2, 1]));
        assert_eq!(a.fee, 1);
        // Flows ⌊t_i·v_j / A⌋: input 0: 160/100 = 1, 140/100 = 1, 60/100 = 0;
        // input 1: 120/100 = 1, 105/100 = 1, 45/100 = 0. (Output 0 has taint 3, flows 2.)
        assert_eq!(a.flows, vec![(0, 0, 1), (0, 1, 1), (1, 0, 1), (1, 1, 1)]);
    }

    #[test]
    fn equal_remainders_go_to_the_lower_index() {
        // One input of 12 with 5 tainted; outputs 3, 3, 3, 3; fee 0.
        // T·w = 15 each → floor 1, remainder 15 mod 12 = 3 for all four (fee: 0·5 = 0, r 0).
        // Leftover 5 − 4 = 1 → tie on remainder 3 → output 0. Shares 2, 1, 1, 1.
        let a = run(&[12], &[3, 3, 3, 3], &[Some(Taint::Amount(5))]);
        assert_eq!(a.outputs, amounts(&[2, 1, 1, 1]));
        assert_eq!(a.fee, 0);
        // Flows ⌊5·3 / 12⌋ = 1 each.
        assert_eq!(a.flows, vec![(0, 0, 1), (0, 1, 1), (0, 2, 1), (0, 3, 1)]);
    }

    #[test]
    fn fee_wins_the_leftover() {
        // One input of 20 with 1 tainted; outputs 5, 5; fee 10. T·w = 5, 5, 10: floors 0, 0, 0,
        // remainders 5, 5, 10 → the single leftover goes to the fee.
        let a = run(&[20], &[5, 5], &[Some(Taint::Amount(1))]);
        assert_eq!(a.outputs, amounts(&[0, 0]));
        assert_eq!(a.fee, 1);
        assert!(a.flows.is_empty()); // ⌊1·5 / 20⌋ = 0
    }

    #[test]
    fn mixed_inputs_zero_outputs_exact_shares() {
        // Inputs 50 (all tainted), 30 clean, 20 (taint 10): A = 100, T = 60.
        // Outputs 0 (OP_RETURN), 70, 25; fee 5. T·w = 0, 4200, 1500, 300 → 0, 42, 15, 3, no
        // remainder. Flows: input 0: 50·70/100 = 35, 50·25/100 = 12.5 → 12;
        // input 2: 10·70/100 = 7, 10·25/100 = 2.5 → 2. The zero output has no flow.
        let a = run(
            &[50, 30, 20],
            &[0, 70, 25],
            &[Some(Taint::Amount(50)), None, Some(iv(&[(0, 10)]))],
        );
        assert_eq!(a.outputs, amounts(&[0, 42, 15]));
        assert_eq!(a.fee, 3);
        assert_eq!(a.flows, vec![(0, 1, 35), (0, 2, 12), (2, 1, 7), (2, 2, 2)]);
    }

    #[test]
    fn fee_larger_than_the_outputs() {
        // One input of 10, all tainted; output 3; fee 7: T = A, so shares are the weights.
        let a = run(&[10], &[3], &[Some(Taint::Amount(10))]);
        assert_eq!(a.outputs, amounts(&[3]));
        assert_eq!(a.fee, 7);
        assert_eq!(a.flows, vec![(0, 0, 3)]);
    }

    #[test]
    fn clean_empty_and_clamped() {
        let a = run(&[10, 20], &[15, 10], &[None, Some(Taint::Amount(0))]);
        assert_eq!(a, clean(2));
        // A = 0: the taint clamps to 0.
        assert_eq!(run(&[0], &[0], &[Some(Taint::Amount(5))]), clean(1));
        assert_eq!(run(&[], &[], &[]), clean(0));
        // No outputs: the fee is the only item and takes T. Taint 50 on an input of 10 → 10.
        let a = run(&[10], &[], &[Some(Taint::Amount(50))]);
        assert_eq!((a.outputs.len(), a.fee), (0, 10));
    }

    #[test]
    fn products_beyond_u64() {
        // One input of A = 2^64 − 1 with T = 2^63; outputs 2^63 and 2^63 − 1; fee 0.
        // Modulo 2^64 − 1, 2^64 ≡ 1, so 2^126 ≡ 2^62:
        // output 0: T·w = 2^126 = 2^62·(2^64 − 1) + 2^62 → floor 2^62, remainder 2^62;
        // output 1: T·w = 2^126 − 2^63 = (2^62 − 1)(2^64 − 1) + (3·2^62 − 1)
        //           → floor 2^62 − 1, remainder 3·2^62 − 1.
        // Leftover 2^63 − (2^63 − 1) = 1 → output 1. Shares 2^62, 2^62.
        let a = run(
            &[u64::MAX],
            &[1 << 63, (1 << 63) - 1],
            &[Some(Taint::Amount(1 << 63))],
        );
        assert_eq!(a.outputs, amounts(&[1 << 62, 1 << 62]));
        assert_eq!(a.fee, 0);
    }

    #[test]
    fn products_beyond_u128() {
        // Three inputs of M = 2^64 − 1 (M = 3·third), the first two tainted: T = 2M, A = 3M.
        // Outputs M, M, M − 2; fee 2. Shares are 2w/3:
        // outputs 0 and 1: 2M/3 = 2·third exactly, remainder 0;
        // output 2: 2(M − 2)/3 = 2·third − 4/3 → floor 2·third − 2, fraction 2/3 (r = 2M);
        // fee: 4/3 → floor 1, fraction 1/3 (r = M).
        // Σ floors = 6·third − 1 = 2M − 1 → one leftover → output 2 (largest remainder).
        // T·w ≈ 2^129 overflows u128: the wide path is used.
        let m = u64::MAX;
        let third = m / 3;
        let a = run(
            &[m, m, m],
            &[m, m, m - 2],
            &[Some(Taint::Amount(m)), Some(Taint::Amount(m)), None],
        );
        assert_eq!(a.outputs, amounts(&[2 * third, 2 * third, 2 * third - 1]));
        assert_eq!(a.fee, 1);
        assert_eq!(a.total(), 2 * u128::from(m));
    }

    #[test]
    fn wide_division() {
        // (2^127 · 4) / 3: 2^129 = 3·q + r with 2^129 ≡ 2 (mod 3), q = (2^129 − 2) / 3.
        let q = ((1u128 << 127) / 3) * 4 + 2; // (2^127 − 2)/3·4 + (8 − 2)/3
        assert_eq!(mul_div_rem(1 << 127, 4, 3), (q, 2));
        assert_eq!(
            mul_div_rem(u128::MAX, u64::MAX, u128::MAX),
            (u128::from(u64::MAX), 0)
        );
    }

    /// Largest remainder by a full sort, as the definition reads.
    fn reference(t: u128, weights: &[u64]) -> Vec<u64> {
        let d: u128 = weights.iter().map(|&w| u128::from(w)).sum();
        if t == 0 {
            return vec![0; weights.len()];
        }
        let mut shares: Vec<u64> = weights
            .iter()
            .map(|&w| (t * u128::from(w) / d) as u64)
            .collect();
        let mut order: Vec<usize> = (0..weights.len()).collect();
        order.sort_by_key(|&k| (std::cmp::Reverse(t * u128::from(weights[k]) % d), k));
        let left = t - shares.iter().map(|&s| u128::from(s)).sum::<u128>();
        for &k in order.iter().take(left as usize) {
            shares[k] += 1;
        }
        shares
    }

    proptest! {
        #[test]
        fn haircut_properties(gen in gen_tx(1 << 40, false)) {
            let refs = gen.refs();
            let a = Haircut.propagate(gen.values(), &refs);
            let t = gen.tainted();
            prop_assert_eq!(a.total(), t);
            prop_assert_eq!(a.outputs.len(), gen.outputs.len());
            for (x, &v) in a.outputs.iter().zip(&gen.outputs) {
                prop_assert!(matches!(x, Taint::Amount(_)));
                prop_assert!(x.amount() <= v);
            }
            prop_assert!(a.fee <= gen.values().fee());
            let mut weights = gen.outputs.clone();
            weights.push(gen.values().fee());
            let mut got: Vec<u64> = a.outputs.iter().map(Taint::amount).collect();
            got.push(a.fee);
            prop_assert_eq!(got, reference(t, &weights));
            for w in a.flows.windows(2) {
                prop_assert!((w[0].0, w[0].1) < (w[1].0, w[1].1));
            }
            for &(_, j, x) in &a.flows {
                prop_assert!(x > 0 && x <= a.outputs[j as usize].amount());
            }
            prop_assert_eq!(&Haircut.propagate(gen.values(), &refs), &a);
        }

        #[test]
        fn wide_division_matches_narrow(x in any::<u64>(), y in any::<u64>(), w in any::<u64>(), d in 1u128..) {
            // x·2^64 + y, times w: compare (n·w) / d computed wide against the split
            // ((n / d)·w + ((n mod d)·w) / d) when the pieces fit.
            let n = (u128::from(x) << 64) | u128::from(y);
            let (q, r) = mul_div_rem(n, w, d);
            prop_assert!(r < d);
            if let Some(p) = n.checked_mul(u128::from(w)) {
                prop_assert_eq!((q, r), (p / d, p % d));
            } else if let Some(rw) = (n % d).checked_mul(u128::from(w)) {
                let q_expect = (n / d).wrapping_mul(u128::from(w)).wrapping_add(rw / d);
                prop_assert_eq!(q, q_expect);
                prop_assert_eq!(r, rw % d);
            }
        }
    }
}
