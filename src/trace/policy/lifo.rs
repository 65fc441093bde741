//! LIFO (last in, first out).
//!
//! The same tape as [FIFO](super::fifo) — input `i` at `[A_i, A_i + a_i)` with its tainted
//! ranges — consumed from its end: output 0 takes the last `v_0` satoshis `[A − v_0, A)`, output 1
//! the `v_1` before them, and so on; the fee is the head `[0, f)`. A slice keeps its order inside
//! the output (a cut, not a reversal): tape position `p` in output 0 is offset `p − (A − v_0)`. An
//! output's taint is its tainted ranges relative to its start; the fee's taint is the tainted
//! satoshis of the head; the flow from input `i` to output `j` is exact (the tainted satoshis of
//! input `i`'s slice that land in output `j`'s slice). Value is conserved.

use super::fifo::{tape, Cut};
use super::{Allocation, Intervals, Taint, TaintPolicy, TxValues};

/// The LIFO model: outputs take the input tape in order from its end; see the
/// [module documentation](self).
#[derive(Debug, Clone, Copy, Default)]
pub struct Lifo;

impl TaintPolicy for Lifo {
    fn name(&self) -> &'static str {
        "lifo"
    }

    fn conserves(&self) -> bool {
        true
    }

    fn seed(&self, value: u64, amount: u64) -> Taint {
        Taint::Intervals(Intervals::from_range(0, amount.min(value)))
    }

    fn propagate(&self, tx: TxValues<'_>, inputs: &[Option<&Taint>]) -> Allocation {
        tape(tx, inputs, Cut::FromEnd)
    }
}

#[cfg(test)]
mod tests {
    use super::super::fifo::tests::{check_ordered, gen_tx, iv, naive_tape};
    use super::*;
    use proptest::prelude::*;

    fn run(inputs: &[u64], outputs: &[u64], taints: &[Option<Taint>]) -> Allocation {
        let refs: Vec<Option<&Taint>> = taints.iter().map(Option::as_ref).collect();
        Lifo.propagate(TxValues { inputs, outputs }, &refs)
    }

    #[test]
    fn seeds() {
        assert_eq!(Lifo.seed(100, 30), iv(&[(0, 30)]));
        assert_eq!(Lifo.seed(100, 500), iv(&[(0, 100)]));
        assert_eq!(Lifo.seed(100, 0), iv(&[]));
        assert_eq!(Lifo.name(), "lifo");
        assert!(Lifo.conserves());
    }

    #[test]
    fn fee_is_the_head_and_takes_the_taint() {
        // Inputs 100 (first 30 tainted), 50 clean; A = 150. Outputs 20, 60; fee 70.
        // Output 0 = [130, 150), output 1 = [70, 130): both clean. Fee = [0, 70) holds [0, 30).
        let a = run(&[100, 50], &[20, 60], &[Some(iv(&[(0, 30)])), None]);
        assert_eq!(a.outputs, vec![iv(&[]), iv(&[])]);
        assert_eq!(a.fee, 30);
        assert!(a.flows.is_empty());
    }

    #[test]
    fn position_matters_and_slices_keep_their_order() {
        // One input of 100 with [0, 30) tainted; outputs 50, 50. Output 0 = [50, 100): clean;
        // output 1 = [0, 50): [0, 30). (FIFO would give the taint to output 0.)
        let a = run(&[100], &[50, 50], &[Some(iv(&[(0, 30)]))]);
        assert_eq!(a.outputs, vec![iv(&[]), iv(&[(0, 30)])]);
        assert_eq!(a.flows, vec![(0, 1, 30)]);
        // One input of 100 with [75, 80) tainted; outputs 30, 70. Output 0 = [70, 100): the
        // taint sits at 75 − 70 = 5, i.e. [5, 10) (a reversal would have put it at [20, 25)).
        let a = run(&[100], &[30, 70], &[Some(iv(&[(75, 80)]))]);
        assert_eq!(a.outputs, vec![iv(&[(5, 10)]), iv(&[])]);
        assert_eq!(a.flows, vec![(0, 0, 5)]);
    }

    #[test]
    fn tainted_range_straddles_an_output_boundary() {
        // Inputs 40 clean, 60 with [0, 30) tainted: tape taint [40, 70); A = 100.
        // Outputs 45, 50; fee 5. Output 0 = [55, 100): [55, 70) → relative [0, 15).
        // Output 1 = [5, 55): [40, 55) → relative [35, 50). Fee [0, 5): clean. 15 + 15 = 30 = T.
        let a = run(&[40, 60], &[45, 50], &[None, Some(iv(&[(0, 30)]))]);
        assert_eq!(a.outputs, vec![iv(&[(0, 15)]), iv(&[(35, 50)])]);
        assert_eq!(a.fee, 0);
        assert_eq!(a.flows, vec![(1, 0, 15), (1, 1, 15)]);
    }

    #[test]
    fn several_tainted_inputs_zero_output_and_fee() {
        // Inputs 10 (all tainted), 10 ([0, 5) tainted), 10 (all tainted); A = 30.
        // Tape taint [0, 15) ∪ [20, 30); T = 25. Outputs 12, 0, 14; fee 4.
        // Output 0 = [18, 30): [20, 30) → [2, 12), all from input 2.
        // Output 1 = [18, 18): zero value, nothing.
        // Output 2 = [4, 18): [4, 15) → [0, 11): [4, 10) from input 0 (6), [10, 15) from input 1 (5).
        // Fee = [0, 4): 4 tainted (input 0). Total 10 + 11 + 4 = 25.
        let a = run(
            &[10, 10, 10],
            &[12, 0, 14],
            &[
                Some(iv(&[(0, 10)])),
                Some(iv(&[(0, 5)])),
                Some(Taint::Amount(10)),
            ],
        );
        assert_eq!(a.outputs, vec![iv(&[(2, 12)]), iv(&[]), iv(&[(0, 11)])]);
        assert_eq!(a.fee, 4);
        assert_eq!(a.flows, vec![(0, 2, 6), (1, 2, 5), (2, 0, 10)]);
        assert_eq!(a.total(), 25);
    }

    #[test]
    fn flows_of_one_input_are_sorted_by_output() {
        // One input of 100, all tainted; outputs 30, 30, 30; fee 10. The walk meets the fee
        // [0, 10), then output 2 [10, 40), output 1 [40, 70), output 0 [70, 100).
        let a = run(&[100], &[30, 30, 30], &[Some(iv(&[(0, 100)]))]);
        assert_eq!(a.outputs, vec![iv(&[(0, 30)]); 3]);
        assert_eq!(a.fee, 10);
        assert_eq!(a.flows, vec![(0, 0, 30), (0, 1, 30), (0, 2, 30)]);
    }

    #[test]
    fn all_clean_empty_and_invalid() {
        let a = run(&[10, 20], &[15, 10], &[None, None]);
        assert_eq!(a.outputs, vec![iv(&[]), iv(&[])]);
        assert_eq!((a.fee, a.flows.len()), (0, 0));
        let a = run(&[], &[], &[]);
        assert_eq!(a.total(), 0);
        // No outputs: input 10 tainted [2, 7) all goes to the fee.
        assert_eq!(run(&[10], &[], &[Some(iv(&[(2, 7)]))]).fee, 5);
        // Invalid (A = 10 < Σv = 15): output 0 = [A − 8, A) = [2, 10); output 1 = [−5, 2).
        // Taint [5, 10) → output 0 [3, 8).
        let a = run(&[10], &[8, 7], &[Some(iv(&[(5, 10)]))]);
        assert_eq!(a.outputs, vec![iv(&[(3, 8)]), iv(&[])]);
        assert_eq!(a.fee, 0);
    }

    proptest! {
        #[test]
        fn lifo_properties(gen in gen_tx(1 << 40, true)) {
            check_ordered(&Lifo, &gen)?;
        }

        #[test]
        fn lifo_properties_amount_taints(gen in gen_tx(1 << 40, false)) {
            check_ordered(&Lifo, &gen)?;
        }

        #[test]
        fn lifo_matches_satoshi_by_satoshi(gen in gen_tx(40, true)) {
            let a = Lifo.propagate(gen.values(), &gen.refs());
            prop_assert_eq!(a, naive_tape(&gen, true));
        }
    }
}
