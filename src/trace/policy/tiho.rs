//! TIHO: taint in, highest out.
//!
//! The total taint `T` (each input's taint clamped to its value) goes to the outputs in order of
//! decreasing value — ties to the lower output index — filling each up to its value; whatever is
//! left after every output is full goes to the fee. Value is conserved.
//!
//! Flows: the taint is taken as a stream of the tainted inputs in input order (`t_0` satoshis of
//! input 0, then `t_1` of input 1, …) and poured into the outputs in the same fill order, like
//! FIFO over the taint alone: the first tainted input's taint fills the highest output first, and
//! the stream's tail (the last inputs' taint) is what reaches the fee. The flows into an output
//! add up to its taint exactly.

use super::haircut::{clean, input_taints, with_scratch};
use super::{Allocation, Taint, TaintPolicy, TxValues};

/// The TIHO model: the taint fills the largest outputs first; see the
/// [module documentation](self).
#[derive(Debug, Clone, Copy, Default)]
pub struct Tiho;

impl TaintPolicy for Tiho {
    fn name(&self) -> &'static str {
        "tiho"
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
        let mut outputs = vec![Taint::Amount(0); m];
        let mut flows: Vec<(u32, u32, u64)> = Vec::new();
        let mut remaining = t;
        with_scratch::<(u64, u32), _>(m, |order| {
            for (slot, (j, &v)) in order.iter_mut().zip(tx.outputs.iter().enumerate()) {
                *slot = (v, j as u32);
            }
            // Decreasing value, ties to the lower index; keys are distinct.
            order.sort_unstable_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));

            let mut stream = input_taints(tx, inputs).enumerate().filter(|&(_, x)| x > 0);
            let mut current = stream.next();
            for &(v, j) in order.iter() {
                if remaining == 0 {
                    break;
                }
                // fill ≤ v, so it fits in u64.
                let fill = remaining.min(u128::from(v)) as u64;
                if fill == 0 {
                    continue;
                }
                remaining -= u128::from(fill);
                if let Some(slot) = outputs.get_mut(j as usize) {
                    *slot = Taint::Amount(fill);
                }
                let mut need = fill;
                while need > 0 {
                    let Some((i, left)) = current.as_mut() else {
                        break; // cannot happen: the stream holds T ≥ every fill
                    };
                    let x = need.min(*left);
                    flows.push((*i as u32, j, x));
                    need -= x;
                    *left -= x;
                    if *left == 0 {
                        current = stream.next();
                    }
                }
            }
        });
        // Each (i, j) appears once; sort from fill order into (i, j) order.
        flows.sort_unstable();
        Allocation {
            outputs,
            fee: u64::try_from(remaining).unwrap_or(u64::MAX),
            flows,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::fifo::tests::{gen_tx, iv};
    use super::*;
    use proptest::prelude::*;

    fn run(inputs: &[u64], outputs: &[u64], taints: &[Option<Taint>]) -> Allocation {
        let refs: Vec<Option<&Taint>> = taints.iter().map(Option::as_ref).collect();
        Tiho.propagate(TxValues { inputs, outputs }, &refs)
    }

    fn amounts(xs: &[u64]) -> Vec<Taint> {
        xs.iter().map(|&x| Taint::Amount(x)).collect()
    }

    #[test]
    fn seeds() {
        assert_eq!(Tiho.seed(100, 30), Taint::Amount(30));
        assert_eq!(Tiho.seed(100, 500), Taint::Amount(100));
        assert_eq!(Tiho.name(), "tiho");
        assert!(Tiho.conserves());
    }

    #[test]
    fn equal_values_fill_the_lower_vout_first() {
        // Inputs 100 (taint 60), 50 clean; A = 150. Outputs 40, 50, 50, 0 (OP_RETURN); fee 10.
        // Fill order: output 1 (50), output 2 (50, tie → higher vout second), output 0 (40),
        // output 3 (0). T = 60 → output 1 gets 50, output 2 gets 10; nothing left for the fee.
        let a = run(
            &[100, 50],
            &[40, 50, 50, 0],
            &[Some(Taint::Amount(60)), None],
        );
        assert_eq!(a.outputs, amounts(&[0, 50, 10, 0]));
        assert_eq!(a.fee, 0);
        assert_eq!(a.flows, vec![(0, 1, 50), (0, 2, 10)]);
    }

    #[test]
    fn what_the_outputs_cannot_hold_goes_to_the_fee() {
        // Inputs 30 (all tainted), 20 (taint 15): T = 45, A = 50. Outputs 10, 5; fee 35.
        // Fill output 0 with 10, output 1 with 5; 30 left → fee 30.
        // Stream: 30 of input 0, then 15 of input 1. Output 0 takes 10 of input 0, output 1
        // the next 5 of input 0; the fee gets the remaining 15 of input 0 and 15 of input 1.
        let a = run(
            &[30, 20],
            &[10, 5],
            &[Some(Taint::Amount(30)), Some(iv(&[(0, 10), (15, 20)]))],
        );
        assert_eq!(a.outputs, amounts(&[10, 5]));
        assert_eq!(a.fee, 30);
        assert_eq!(a.flows, vec![(0, 0, 10), (0, 1, 5)]);
    }

    #[test]
    fn several_tainted_inputs_are_poured_in_input_order() {
        // Inputs 10 (taint 10), 10 clean, 20 (taint 20), 5 (taint 3): T = 33, A = 45.
        // Outputs 5, 25, 12; fee 3. Fill order: output 1 (25), output 2 (12), output 0 (5).
        // Output 1 gets 25, output 2 gets 8; T is spent, output 0 and the fee get nothing.
        // Stream 10 (input 0), 20 (input 2), 3 (input 3): output 1 ← 10 of input 0 + 15 of
        // input 2; output 2 ← 5 of input 2 + 3 of input 3.
        let a = run(
            &[10, 10, 20, 5],
            &[5, 25, 12],
            &[
                Some(Taint::Amount(10)),
                None,
                Some(Taint::Amount(20)),
                Some(Taint::Amount(3)),
            ],
        );
        assert_eq!(a.outputs, amounts(&[0, 25, 8]));
        assert_eq!(a.fee, 0);
        assert_eq!(a.flows, vec![(0, 1, 10), (2, 1, 15), (2, 2, 5), (3, 2, 3)]);
    }

    #[test]
    fn clean_empty_and_clamped() {
        assert_eq!(run(&[10, 20], &[15, 10], &[None, None]), clean(2));
        assert_eq!(run(&[], &[], &[]), clean(0));
        // Taint 50 on an input of 10 clamps to 10; a lone OP_RETURN output takes none of it.
        let a = run(&[10], &[0], &[Some(Taint::Amount(50))]);
        assert_eq!(a.outputs, amounts(&[0]));
        assert_eq!((a.fee, a.flows.len()), (10, 0));
    }

    proptest! {
        #[test]
        fn tiho_properties(gen in gen_tx(1 << 40, false)) {
            let refs = gen.refs();
            let a = Tiho.propagate(gen.values(), &refs);
            let t = gen.tainted();
            prop_assert_eq!(a.total(), t);
            prop_assert_eq!(a.outputs.len(), gen.outputs.len());
            prop_assert!(a.fee <= gen.values().fee());
            let mut into = vec![0u64; gen.outputs.len()];
            for w in a.flows.windows(2) {
                prop_assert!((w[0].0, w[0].1) < (w[1].0, w[1].1));
            }
            for &(_, j, x) in &a.flows {
                prop_assert!(x > 0);
                into[j as usize] += x;
            }
            for (j, (x, &v)) in a.outputs.iter().zip(&gen.outputs).enumerate() {
                prop_assert!(matches!(x, Taint::Amount(_)));
                prop_assert!(x.amount() <= v);
                prop_assert_eq!(into[j], x.amount());
                // A larger output (or an equal one with a lower vout) is full before this one
                // takes anything.
                if x.amount() > 0 {
                    for (k, (y, &w)) in a.outputs.iter().zip(&gen.outputs).enumerate() {
                        if w > v || (w == v && k < j) {
                            prop_assert_eq!(y.amount(), w);
                        }
                    }
                }
            }
            if a.fee > 0 {
                prop_assert!(a.outputs.iter().zip(&gen.outputs).all(|(x, &v)| x.amount() == v));
            }
            prop_assert_eq!(&Tiho.propagate(gen.values(), &refs), &a);
        }
    }
}
