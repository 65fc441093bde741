//! Poison: any taint taints everything.
//!
//! If any input carries taint (`T > 0`, each input's taint clamped to its value), every output is
//! tainted in full (`t_j = v_j`) and so is the fee; otherwise nothing is. Poison measures reach:
//! its totals grow from hop to hop and are not conserved. A seeded output is tainted in full as
//! soon as any of it is.
//!
//! Flows: output `j`'s full taint is split across the tainted inputs by their taint, floored:
//! the flow from input `i` (`t_i > 0`) to output `j` (`v_j > 0`) is `⌊v_j·t_i / T⌋`, so the flows
//! into an output add up to at most its value (short by fewer satoshis than there are tainted
//! inputs).

use super::haircut::{clean, input_taints};
use super::{Allocation, Taint, TaintPolicy, TxValues};

/// The poison model: one tainted input taints every output and the fee in full; see the
/// [module documentation](self).
#[derive(Debug, Clone, Copy, Default)]
pub struct Poison;

impl TaintPolicy for Poison {
    fn name(&self) -> &'static str {
        "poison"
    }

    fn conserves(&self) -> bool {
        false
    }

    fn seed(&self, value: u64, amount: u64) -> Taint {
        Taint::Amount(if amount > 0 { value } else { 0 })
    }

    fn propagate(&self, tx: TxValues<'_>, inputs: &[Option<&Taint>]) -> Allocation {
        let t: u128 = input_taints(tx, inputs).map(u128::from).sum();
        if t == 0 {
            return clean(tx.outputs.len());
        }
        let mut flows = Vec::new();
        for (i, ti) in input_taints(tx, inputs).enumerate() {
            if ti == 0 {
                continue;
            }
            for (j, &v) in tx.outputs.iter().enumerate() {
                // ti ≤ t, so the share is ≤ v.
                let x = u128::from(v) * u128::from(ti) / t;
                if x > 0 {
                    flows.push((i as u32, j as u32, x as u64));
                }
            }
        }
        Allocation {
            outputs: tx.outputs.iter().map(|&v| Taint::Amount(v)).collect(),
            fee: tx.fee(),
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
        Poison.propagate(TxValues { inputs, outputs }, &refs)
    }

    #[test]
    fn seeds() {
        assert_eq!(Poison.seed(100, 1), Taint::Amount(100));
        assert_eq!(Poison.seed(100, 500), Taint::Amount(100));
        assert_eq!(Poison.seed(100, 0), Taint::Amount(0));
        assert_eq!(Poison.name(), "poison");
        assert!(!Poison.conserves());
    }

    #[test]
    fn any_taint_taints_everything() {
        // Inputs 100 (taint 30), 50 clean, 20 (taint 10): T = 40, A = 170.
        // Outputs 90, 0 (OP_RETURN), 60; fee 20. Everything tainted in full: 90, 0, 60, fee 20
        // (total 170 = A: not conserved, T was 40).
        // Flows ⌊v_j·t_i / T⌋: input 0: 90·30/40 = 67.5 → 67, 60·30/40 = 45;
        // input 2: 90·10/40 = 22.5 → 22, 60·10/40 = 15. None for the zero output.
        let a = run(
            &[100, 50, 20],
            &[90, 0, 60],
            &[Some(Taint::Amount(30)), None, Some(iv(&[(5, 15)]))],
        );
        assert_eq!(
            a.outputs,
            vec![Taint::Amount(90), Taint::Amount(0), Taint::Amount(60)]
        );
        assert_eq!(a.fee, 20);
        assert_eq!(
            a.flows,
            vec![(0, 0, 67), (0, 2, 45), (2, 0, 22), (2, 2, 15)]
        );
        assert_eq!(a.total(), 170);
    }

    #[test]
    fn one_satoshi_is_enough() {
        // Inputs 1000 (taint 1), 1000 clean; outputs 1500, 400; fee 100.
        // Flows: the only tainted input carries each output's full value.
        let a = run(&[1000, 1000], &[1500, 400], &[Some(Taint::Amount(1)), None]);
        assert_eq!(a.outputs, vec![Taint::Amount(1500), Taint::Amount(400)]);
        assert_eq!(a.fee, 100);
        assert_eq!(a.flows, vec![(0, 0, 1500), (0, 1, 400)]);
    }

    #[test]
    fn clean_and_empty() {
        let a = run(&[10, 20], &[15, 10], &[None, Some(Taint::Amount(0))]);
        assert_eq!(a, clean(2));
        // A taint on a zero-value input clamps to nothing.
        assert_eq!(
            run(&[0, 5], &[5], &[Some(Taint::Amount(3)), None]),
            clean(1)
        );
        assert_eq!(run(&[], &[], &[]), clean(0));
        // No outputs: the fee alone is tainted.
        let a = run(&[10], &[], &[Some(Taint::Amount(1))]);
        assert_eq!((a.outputs.len(), a.fee, a.flows.len()), (0, 10, 0));
    }

    proptest! {
        #[test]
        fn poison_properties(gen in gen_tx(1 << 40, false)) {
            let refs = gen.refs();
            let a = Poison.propagate(gen.values(), &refs);
            let tainted = gen.tainted() > 0;
            prop_assert_eq!(a.outputs.len(), gen.outputs.len());
            for (x, &v) in a.outputs.iter().zip(&gen.outputs) {
                prop_assert_eq!(x, &Taint::Amount(if tainted { v } else { 0 }));
            }
            prop_assert_eq!(a.fee, if tainted { gen.values().fee() } else { 0 });
            if !tainted {
                prop_assert!(a.flows.is_empty());
            }
            let mut into = vec![0u64; gen.outputs.len()];
            for w in a.flows.windows(2) {
                prop_assert!((w[0].0, w[0].1) < (w[1].0, w[1].1));
            }
            for &(_, j, x) in &a.flows {
                prop_assert!(x > 0);
                into[j as usize] += x;
            }
            let n_tainted = gen.inputs.iter().zip(&gen.taints)
                .filter(|(&v, t)| t.as_ref().is_some_and(|t| t.amount().min(v) > 0)).count() as u64;
            for (&got, &v) in into.iter().zip(&gen.outputs) {
                prop_assert!(got <= v);
                if tainted {
                    prop_assert!(v - got < n_tainted.max(1));
                }
            }
            prop_assert_eq!(&Poison.propagate(gen.values(), &refs), &a);
        }
    }
}
