//! FIFO (first in, first out; Clayton's rule).
//!
//! The inputs, in order, are laid end to end on a tape of `A` satoshis: input `i` occupies
//! `[A_i, A_i + a_i)` with `A_i = Σ_{k<i} a_k` and carries its tainted ranges (relative to its own
//! start, so shifted by `A_i`). The outputs, in order, cut the tape from its start: output `j`
//! gets `[V_j, V_j + v_j)` with `V_j = Σ_{k<j} v_k`, and the fee is the tail `[Σv, A)`. An output's
//! taint is the tainted ranges falling in its slice, kept relative to the output's start so that
//! a later spend places them exactly; the fee's taint is the number of tainted satoshis in the
//! tail. The flow from input `i` to output `j` is exact: the tainted satoshis of input `i`'s
//! slice that land in output `j`'s slice. Value is conserved.
//!
//! The tape walk is shared with [LIFO](super::lifo), which cuts the same tape from its end.

use super::{Allocation, Intervals, Taint, TaintPolicy, TxValues};

/// The FIFO model: outputs take the input tape in order from its start; see the
/// [module documentation](self).
#[derive(Debug, Clone, Copy, Default)]
pub struct Fifo;

impl TaintPolicy for Fifo {
    fn name(&self) -> &'static str {
        "fifo"
    }

    fn conserves(&self) -> bool {
        true
    }

    fn seed(&self, value: u64, amount: u64) -> Taint {
        Taint::Intervals(Intervals::from_range(0, amount.min(value)))
    }

    fn propagate(&self, tx: TxValues<'_>, inputs: &[Option<&Taint>]) -> Allocation {
        tape(tx, inputs, Cut::FromStart)
    }
}

/// Which end of the tape the outputs are cut from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Cut {
    /// FIFO: output 0 first from position 0, the fee last (the tail).
    FromStart,
    /// LIFO: output 0 first from the end backwards, the fee last (the head).
    FromEnd,
}

/// A half-open range of satoshi positions `[start, end)`.
type Range = (u64, u64);

/// The tainted ranges of one input, clamped to `[0, value)`. A `Taint::Amount(x)` is read as the
/// range `[0, x)`; a clean input yields nothing.
fn input_ranges(taint: Option<&Taint>, value: u64) -> impl Iterator<Item = Range> + '_ {
    let (single, many): (Option<Range>, &[Range]) = match taint {
        None => (None, &[]),
        Some(Taint::Amount(x)) => (Some((0, *x)), &[]),
        Some(Taint::Intervals(set)) => (None, set.as_slice()),
    };
    single
        .into_iter()
        .chain(many.iter().copied())
        .take_while(move |&(s, _)| s < value)
        .map(move |(s, e)| (s, e.min(value)))
        .filter(|&(s, e)| s < e)
}

/// The FIFO/LIFO tape walk.
///
/// The tape is cut into `m + 1` items laid out in tape order: for [`Cut::FromStart`], outputs
/// `0..m` then the fee; for [`Cut::FromEnd`], the fee, then outputs `m−1` down to `0`. The items
/// always end at `max(A, Σv)` from the start (`FromStart`) or exactly at `A` (`FromEnd`), so a
/// transaction whose outputs exceed its inputs (invalid, never on chain) still conserves: its fee
/// is empty and the outputs that lie off the tape get nothing.
///
/// One pass over the tainted ranges with a pointer over the items: `O(n + m + ranges)`, no
/// allocation beyond the result.
pub(super) fn tape(tx: TxValues<'_>, inputs: &[Option<&Taint>], cut: Cut) -> Allocation {
    let m = tx.outputs.len();
    let fee_len = tx.fee();
    let mut outputs = vec![Taint::Intervals(Intervals::new()); m];
    let mut fee: u64 = 0;
    let mut flows: Vec<(u32, u32, u64)> = Vec::new();

    // Item `k` in tape order: `(Some(output), length)` or `(None, fee length)`.
    let item = |k: usize| -> (Option<usize>, u64) {
        let j = match cut {
            Cut::FromStart => (k < m).then_some(k),
            Cut::FromEnd => (1..=m).contains(&k).then(|| m - k),
        };
        match j {
            Some(j) => (Some(j), tx.outputs.get(j).copied().unwrap_or(0)),
            None => (None, fee_len),
        }
    };
    let items_total = tx.outputs.iter().map(|&v| v as i128).sum::<i128>() + fee_len as i128;
    // Tape position where the first item starts: 0 from the start; `A − (Σv + f)` (0 for a valid
    // transaction) from the end, so that the last item ends at `A`.
    let origin: i128 = match cut {
        Cut::FromStart => 0,
        Cut::FromEnd => tx.input_total() as i128 - items_total,
    };

    let mut k = 0usize;
    let (mut target, len) = item(0);
    let mut item_start = origin;
    let mut item_end = origin + len as i128;
    let mut base: i128 = 0; // A_i

    for (i, &value) in tx.inputs.iter().enumerate() {
        let taint = inputs.get(i).copied().flatten();
        let first_flow = flows.len();
        for (s, e) in input_ranges(taint, value) {
            let mut pos = base + s as i128;
            let end = base + e as i128;
            while pos < end {
                while item_end <= pos && k < m {
                    k += 1;
                    let (t, len) = item(k);
                    target = t;
                    item_start = item_end;
                    item_end = item_start + len as i128;
                }
                if item_end <= pos {
                    break; // past every item: cannot happen, the items cover the tape
                }
                let piece_end = end.min(item_end);
                let amount = (piece_end - pos) as u64;
                match target {
                    Some(j) => {
                        if let Some(Taint::Intervals(set)) = outputs.get_mut(j) {
                            set.push((pos - item_start) as u64, (piece_end - item_start) as u64);
                        }
                        add_flow(&mut flows, i as u32, j as u32, amount);
                    }
                    None => fee = fee.saturating_add(amount),
                }
                pos = piece_end;
            }
        }
        if cut == Cut::FromEnd {
            // Within one input the walk meets outputs in decreasing index order.
            if let Some(mine) = flows.get_mut(first_flow..) {
                mine.reverse();
            }
        }
        base += value as i128;
    }

    Allocation {
        outputs,
        fee,
        flows,
    }
}

/// Add `amount` to the flow `(i, j)`, merging with the last flow when it is the same edge.
fn add_flow(flows: &mut Vec<(u32, u32, u64)>, i: u32, j: u32, amount: u64) {
    match flows.last_mut() {
        Some(last) if last.0 == i && last.1 == j => last.2 += amount,
        _ => flows.push((i, j, amount)),
    }
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Shorthand for an interval taint.
    pub(in crate::trace::policy) fn iv(ranges: &[(u64, u64)]) -> Taint {
        Taint::Intervals(ranges.iter().copied().collect())
    }

    fn run(inputs: &[u64], outputs: &[u64], taints: &[Option<Taint>]) -> Allocation {
        let refs: Vec<Option<&Taint>> = taints.iter().map(Option::as_ref).collect();
        Fifo.propagate(TxValues { inputs, outputs }, &refs)
    }

    #[test]
    fn seeds() {
        assert_eq!(Fifo.seed(100, 30), iv(&[(0, 30)]));
        assert_eq!(Fifo.seed(100, 500), iv(&[(0, 100)]));
        assert_eq!(Fifo.seed(100, 0), iv(&[]));
        assert_eq!(Fifo.seed(0, 10), iv(&[]));
        assert_eq!(Fifo.name(), "fifo");
        assert!(Fifo.conserves());
    }

    #[test]
    fn partial_input_straddles_an_output_boundary() {
        // Inputs 100 (first 30 tainted), 50 clean. A = 150, outputs 20, 60, fee 70.
        // Tape: taint [0, 30). Output 0 = [0, 20) → [0, 20); output 1 = [20, 80) → taint [20, 30),
        // relative [0, 10). Fee = [80, 150): clean.
        let a = run(&[100, 50], &[20, 60], &[Some(iv(&[(0, 30)])), None]);
        assert_eq!(a.outputs, vec![iv(&[(0, 20)]), iv(&[(0, 10)])]);
        assert_eq!(a.fee, 0);
        assert_eq!(a.flows, vec![(0, 0, 20), (0, 1, 10)]);
    }

    #[test]
    fn fee_takes_tainted_satoshis_and_is_larger_than_the_rest() {
        // Inputs 10 clean, 40 with [5, 35) tainted. A = 50. Outputs 12, 8; fee 30 (larger than
        // the outputs together). Tape taint: [10+5, 10+35) = [15, 45).
        // Output 0 = [0, 12): clean. Output 1 = [12, 20): taint [15, 20) → relative [3, 8).
        // Fee = [20, 50): taint [20, 45) = 25 sats. Total 5 + 25 = 30 = T.
        let a = run(&[10, 40], &[12, 8], &[None, Some(iv(&[(5, 35)]))]);
        assert_eq!(a.outputs, vec![iv(&[]), iv(&[(3, 8)])]);
        assert_eq!(a.fee, 25);
        assert_eq!(a.flows, vec![(1, 1, 5)]);
        assert_eq!(a.total(), 30);
    }

    #[test]
    fn several_tainted_inputs_coalesce_across_the_input_boundary() {
        // Inputs 30 (all tainted), 20 (first 10 tainted), 25 (clean), 15 ([5, 15) tainted).
        // A = 90. Tape taint: [0, 30) ∪ [30, 40) = [0, 40), then [75+5, 90) = [80, 90). T = 50.
        // Outputs 25, 0, 35, 20; fee 10.
        // Output 0 = [0, 25): [0, 25) from input 0.
        // Output 1 = [25, 25): zero value, nothing.
        // Output 2 = [25, 60): [25, 40) → relative [0, 15): 5 from input 0, 10 from input 1.
        // Output 3 = [60, 80): clean (the taint starts at 80).
        // Fee = [80, 90): 10 tainted (input 3).
        let a = run(
            &[30, 20, 25, 15],
            &[25, 0, 35, 20],
            &[
                Some(iv(&[(0, 30)])),
                Some(iv(&[(0, 10)])),
                None,
                Some(iv(&[(5, 15)])),
            ],
        );
        assert_eq!(
            a.outputs,
            vec![iv(&[(0, 25)]), iv(&[]), iv(&[(0, 15)]), iv(&[])]
        );
        assert_eq!(a.fee, 10);
        assert_eq!(a.flows, vec![(0, 0, 25), (0, 2, 5), (1, 2, 10)]);
        assert_eq!(a.total(), 50);
    }

    #[test]
    fn several_ranges_in_one_output_and_op_return() {
        // One input of 100 with [10, 20) and [40, 45) tainted; outputs 0 (OP_RETURN), 50, 50, fee 0.
        // Output 0 = [0, 0): nothing. Output 1 = [0, 50): [10, 20) and [40, 45).
        // Output 2 = [50, 100): clean.
        let a = run(&[100], &[0, 50, 50], &[Some(iv(&[(10, 20), (40, 45)]))]);
        assert_eq!(a.outputs, vec![iv(&[]), iv(&[(10, 20), (40, 45)]), iv(&[])]);
        assert_eq!(a.fee, 0);
        assert_eq!(a.flows, vec![(0, 1, 15)]);
    }

    #[test]
    fn all_clean_and_empty_lists() {
        let a = run(&[10, 20], &[15, 10], &[None, Some(iv(&[]))]);
        assert_eq!(a.outputs, vec![iv(&[]), iv(&[])]);
        assert_eq!((a.fee, a.flows.len()), (0, 0));
        // No outputs: everything is fee. Input 10 tainted [2, 7) → fee 5.
        let a = run(&[10], &[], &[Some(iv(&[(2, 7)]))]);
        assert!(a.outputs.is_empty());
        assert_eq!(a.fee, 5);
        // No inputs at all.
        let a = run(&[], &[], &[]);
        assert_eq!(
            a,
            Allocation {
                outputs: vec![],
                fee: 0,
                flows: vec![]
            }
        );
        // Fewer taints than inputs: the missing ones are clean.
        let a = run(&[10, 10], &[20], &[Some(iv(&[(0, 10)]))]);
        assert_eq!(a.outputs, vec![iv(&[(0, 10)])]);
    }

    #[test]
    fn amount_taint_and_oversized_taint_are_clamped() {
        // Taint::Amount(30) on an input of 20 reads as [0, 20); intervals [15, 40) on an input of
        // 20 clamp to [15, 20). Inputs 20, 20; one output of 40.
        // Tape: [0, 20) ∪ [20+15, 40) → output [0, 20), [35, 40).
        let a = run(
            &[20, 20],
            &[40],
            &[Some(Taint::Amount(30)), Some(iv(&[(15, 40)]))],
        );
        assert_eq!(a.outputs, vec![iv(&[(0, 20), (35, 40)])]);
        assert_eq!(a.flows, vec![(0, 0, 20), (1, 0, 5)]);
    }

    #[test]
    fn outputs_exceeding_inputs_do_not_panic() {
        // Invalid: A = 10, Σv = 15. Fee 0. Output 0 = [0, 8), output 1 = [8, 15) of which only
        // [8, 10) is on the tape. Taint [5, 10) → output 0 [5, 8), output 1 [0, 2).
        let a = run(&[10], &[8, 7], &[Some(iv(&[(5, 10)]))]);
        assert_eq!(a.outputs, vec![iv(&[(5, 8)]), iv(&[(0, 2)])]);
        assert_eq!(a.fee, 0);
    }

    /// A transaction, its interval taints, as generated for the property tests.
    #[derive(Debug, Clone)]
    pub(in crate::trace::policy) struct GenTx {
        pub inputs: Vec<u64>,
        pub outputs: Vec<u64>,
        pub taints: Vec<Option<Taint>>,
    }

    impl GenTx {
        pub(in crate::trace::policy) fn refs(&self) -> Vec<Option<&Taint>> {
            self.taints.iter().map(Option::as_ref).collect()
        }
        pub(in crate::trace::policy) fn values(&self) -> TxValues<'_> {
            TxValues {
                inputs: &self.inputs,
                outputs: &self.outputs,
            }
        }
        /// `T`, each taint clamped to its input.
        pub(in crate::trace::policy) fn tainted(&self) -> u128 {
            self.inputs
                .iter()
                .zip(&self.taints)
                .map(|(&a, t)| t.as_ref().map_or(0, |t| t.amount().min(a)) as u128)
                .sum()
        }
    }

    fn value(max: u64) -> impl Strategy<Value = u64> {
        prop_oneof![Just(0u64), 1u64..=100, 0u64..=max]
    }

    /// Random transactions: 1–8 inputs and 1–8 outputs with values up to `max` (mixing zeros,
    /// small and large values), a fee ≥ 0, and random taints inside the inputs: as interval
    /// sets when `intervals`, else as amounts.
    pub(in crate::trace::policy) fn gen_tx(
        max: u64,
        intervals: bool,
    ) -> impl Strategy<Value = GenTx> {
        (
            prop::collection::vec(value(max), 1..=8),
            prop::collection::vec(any::<u64>(), 0..=7),
            any::<u64>(),
            prop::collection::vec(
                (
                    any::<bool>(),
                    prop::collection::vec((any::<u64>(), any::<u64>()), 0..=4),
                ),
                8,
            ),
        )
            .prop_map(move |(inputs, cuts, fee_seed, taint_seeds)| {
                let total: u64 = inputs.iter().sum();
                // Fee: none, all, or anything in between.
                let fee = match fee_seed % 4 {
                    0 => 0,
                    1 => total,
                    _ => fee_seed % (total + 1),
                };
                let spend = total - fee;
                let mut points: Vec<u64> = cuts.iter().map(|c| c % (spend + 1)).collect();
                points.sort_unstable();
                let mut outputs = Vec::with_capacity(points.len() + 1);
                let mut prev = 0;
                for p in points.into_iter().chain([spend]) {
                    outputs.push(p - prev);
                    prev = p;
                }
                let taints = inputs
                    .iter()
                    .zip(taint_seeds)
                    .map(|(&a, (present, pairs))| {
                        if !present {
                            return None;
                        }
                        if intervals {
                            let set: Intervals = pairs
                                .iter()
                                .map(|&(x, y)| {
                                    let (x, y) = (x % (a + 1), y % (a + 1));
                                    (x.min(y), x.max(y))
                                })
                                .collect();
                            Some(Taint::Intervals(set))
                        } else {
                            let x = pairs.first().map_or(a, |&(x, _)| x % (a + 1));
                            Some(Taint::Amount(x))
                        }
                    })
                    .collect();
                GenTx {
                    inputs,
                    outputs,
                    taints,
                }
            })
    }

    /// The checks every interval model must pass on `gen`.
    pub(in crate::trace::policy) fn check_ordered(
        policy: &dyn TaintPolicy,
        gen: &GenTx,
    ) -> Result<(), TestCaseError> {
        let refs = gen.refs();
        let a = policy.propagate(gen.values(), &refs);
        prop_assert_eq!(a.outputs.len(), gen.outputs.len());
        prop_assert_eq!(a.total(), gen.tainted());
        prop_assert!(a.fee <= gen.values().fee());
        let mut into = vec![0u64; gen.outputs.len()];
        for w in a.flows.windows(2) {
            prop_assert!((w[0].0, w[0].1) < (w[1].0, w[1].1));
        }
        for &(i, j, x) in &a.flows {
            prop_assert!(x > 0);
            prop_assert!((i as usize) < gen.inputs.len());
            into[j as usize] += x;
        }
        for (j, (t, &v)) in a.outputs.iter().zip(&gen.outputs).enumerate() {
            let Taint::Intervals(set) = t else {
                return Err(TestCaseError::fail("not intervals"));
            };
            prop_assert!(set.is_coalesced());
            prop_assert!(set.end() <= v);
            prop_assert!(set.total() <= v);
            prop_assert_eq!(into[j], set.total());
        }
        prop_assert_eq!(&policy.propagate(gen.values(), &refs), &a);
        Ok(())
    }

    /// One satoshi at a time: the tape as a bitmap, then each output/fee cut from `order`.
    /// Returns (output sets, fee, flows).
    pub(in crate::trace::policy) fn naive_tape(gen: &GenTx, from_end: bool) -> Allocation {
        let mut tape: Vec<(bool, u32)> = Vec::new();
        for (i, (&a, t)) in gen.inputs.iter().zip(&gen.taints).enumerate() {
            for p in 0..a {
                let tainted = match t {
                    None => false,
                    Some(Taint::Amount(x)) => p < *x,
                    Some(Taint::Intervals(set)) => set.contains(p),
                };
                tape.push((tainted, i as u32));
            }
        }
        let m = gen.outputs.len();
        let mut outputs = vec![Taint::Intervals(Intervals::new()); m];
        let mut flows = std::collections::BTreeMap::new();
        let a = tape.len() as i64;
        let fee = gen.values().fee() as i64;
        let mut cursor: i64 = if from_end { a } else { 0 };
        for (j, &v) in gen.outputs.iter().enumerate() {
            let start = if from_end { cursor - v as i64 } else { cursor };
            for off in 0..v as i64 {
                let p = start + off;
                if p >= 0 && p < a && tape[p as usize].0 {
                    if let Taint::Intervals(set) = &mut outputs[j] {
                        set.insert(off as u64, off as u64 + 1);
                    }
                    *flows.entry((tape[p as usize].1, j as u32)).or_insert(0u64) += 1;
                }
            }
            cursor = if from_end { start } else { start + v as i64 };
        }
        let fee_range = if from_end { 0..fee } else { a - fee..a };
        let fee_taint = fee_range
            .filter(|&p| p >= 0 && p < a && tape[p as usize].0)
            .count() as u64;
        Allocation {
            outputs,
            fee: fee_taint,
            flows: flows.into_iter().map(|((i, j), x)| (i, j, x)).collect(),
        }
    }

    proptest! {
        #[test]
        fn fifo_properties(gen in gen_tx(1 << 40, true)) {
            check_ordered(&Fifo, &gen)?;
        }

        #[test]
        fn fifo_properties_amount_taints(gen in gen_tx(1 << 40, false)) {
            check_ordered(&Fifo, &gen)?;
        }

        #[test]
        fn fifo_matches_satoshi_by_satoshi(gen in gen_tx(40, true)) {
            let a = Fifo.propagate(gen.values(), &gen.refs());
            prop_assert_eq!(a, naive_tape(&gen, false));
        }
    }
}
