//! The numbers a solver may still use, and the admissible actions over them.
//!
//! Every number is used at most once, as on a worked solution where each
//! quantity feeds one computation: computing `a op b` removes both operands
//! from the pool and adds the result. The pool therefore shrinks by one per
//! computation, and once a single number is left only answering (or undoing)
//! remains. A pool of `n` numbers offers at most `4 * n * (n - 1) / 2 + n + 1`
//! actions.

use crate::problem::{Computation, Op};

/// Where a pool number came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Origin {
    /// The given number at this index of the problem's givens.
    Given(usize),
    /// The result of this operation.
    Result(Op),
}

/// One number in the pool.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Entry {
    /// The number.
    pub value: u64,
    /// Where it came from (its label in the text).
    pub origin: Origin,
}

/// One admissible action.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    /// Performs `computation` on the pool entries `left` and `right`
    /// (indices into [`Pool::entries`], in the computation's operand order).
    Compute {
        /// Entry index of the first operand.
        left: usize,
        /// Entry index of the second operand.
        right: usize,
        /// What is computed.
        computation: Computation,
    },
    /// Reverts the most recent computation still in effect.
    Undo,
    /// Gives the number of this entry as the final answer, ending the episode.
    Answer {
        /// Entry index.
        entry: usize,
        /// The number answered.
        value: u64,
    },
}

impl Action {
    /// Whether this action computes `op` on the values `a` and `b` (in either
    /// order when `op` is commutative).
    pub fn computes(&self, op: Op, a: u64, b: u64) -> bool {
        match *self {
            Action::Compute { computation: c, .. } => {
                let operands = (c.left, c.right);
                c.op == op && (operands == (a, b) || (op.is_commutative() && operands == (b, a)))
            }
            Action::Undo | Action::Answer { .. } => false,
        }
    }

    /// Whether this action answers `value`.
    pub fn answers(&self, value: u64) -> bool {
        matches!(*self, Action::Answer { value: v, .. } if v == value)
    }
}

/// The numbers still available: unused givens in reading order, then unused
/// results from oldest to newest.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Pool {
    entries: Vec<Entry>,
}

impl Pool {
    /// A pool holding the problem's `givens`.
    pub fn new(givens: &[u64]) -> Self {
        let entries = givens
            .iter()
            .enumerate()
            .map(|(i, &value)| Entry {
                value,
                origin: Origin::Given(i),
            })
            .collect();
        Pool { entries }
    }

    /// The available numbers, in order.
    pub fn entries(&self) -> &[Entry] {
        &self.entries
    }

    /// Whether `value` is available.
    pub fn contains(&self, value: u64) -> bool {
        self.entries.iter().any(|e| e.value == value)
    }

    /// Replaces the entries `left` and `right` (distinct, in range) by the
    /// result of `computation`, appended last.
    pub fn combine(&mut self, left: usize, right: usize, computation: Computation) {
        let (low, high) = (left.min(right), left.max(right));
        self.entries.remove(high);
        self.entries.remove(low);
        self.entries.push(Entry {
            value: computation.value,
            origin: Origin::Result(computation.op),
        });
    }

    /// The admissible actions in their stable order: for each pair of entries
    /// in pool order, every operation the calculator accepts (add, subtract,
    /// multiply, divide; larger operand first for subtract and divide), then
    /// `undo` when `can_undo`, then one answer per entry. Actions that would
    /// read the same (equal values from the same kind of origin) are listed
    /// once.
    pub fn actions(&self, can_undo: bool) -> Vec<Action> {
        let entries = &self.entries;
        let mut actions: Vec<Action> = Vec::with_capacity(entries.len() * entries.len() * 2 + 2);
        for i in 0..entries.len() {
            for j in i + 1..entries.len() {
                for op in Op::ALL {
                    let (left, right) =
                        if op.is_commutative() || entries[i].value > entries[j].value {
                            (i, j)
                        } else {
                            (j, i)
                        };
                    let (a, b) = (entries[left].value, entries[right].value);
                    let Some(value) = op.apply(a, b) else {
                        continue;
                    };
                    let action = Action::Compute {
                        left,
                        right,
                        computation: Computation {
                            op,
                            left: a,
                            right: b,
                            value,
                        },
                    };
                    if !actions.iter().any(|seen| self.reads_alike(seen, &action)) {
                        actions.push(action);
                    }
                }
            }
        }
        if can_undo {
            actions.push(Action::Undo);
        }
        for (entry, e) in entries.iter().enumerate() {
            let action = Action::Answer {
                entry,
                value: e.value,
            };
            if !actions.iter().any(|seen| self.reads_alike(seen, &action)) {
                actions.push(action);
            }
        }
        actions
    }

    /// Whether two actions do the same thing to numbers that look the same.
    fn reads_alike(&self, a: &Action, b: &Action) -> bool {
        let same_entry = |x: usize, y: usize| self.entries[x] == self.entries[y];
        match (*a, *b) {
            (
                Action::Compute {
                    left: l1,
                    right: r1,
                    computation: c1,
                },
                Action::Compute {
                    left: l2,
                    right: r2,
                    computation: c2,
                },
            ) => c1.op == c2.op && same_entry(l1, l2) && same_entry(r1, r2),
            (Action::Answer { entry: x, .. }, Action::Answer { entry: y, .. }) => same_entry(x, y),
            _ => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn values(pool: &Pool) -> Vec<u64> {
        pool.entries().iter().map(|e| e.value).collect()
    }

    #[test]
    fn combining_consumes_both_operands_and_appends_the_result() {
        let mut pool = Pool::new(&[20, 4, 3]);
        let computation = Computation {
            op: Op::Multiply,
            left: 4,
            right: 3,
            value: 12,
        };
        pool.combine(1, 2, computation);
        assert_eq!(values(&pool), [20, 12]);
        assert_eq!(pool.entries()[1].origin, Origin::Result(Op::Multiply));
        assert!(!pool.contains(4) && pool.contains(12));
    }

    #[test]
    fn actions_follow_pool_order_and_calculator_rules() {
        let pool = Pool::new(&[4, 12]);
        let compute = |left, right, op, a, b, value| Action::Compute {
            left,
            right,
            computation: Computation {
                op,
                left: a,
                right: b,
                value,
            },
        };
        let expected = vec![
            compute(0, 1, Op::Add, 4, 12, 16),
            compute(1, 0, Op::Subtract, 12, 4, 8),
            compute(0, 1, Op::Multiply, 4, 12, 48),
            compute(1, 0, Op::Divide, 12, 4, 3),
            Action::Undo,
            Action::Answer { entry: 0, value: 4 },
            Action::Answer {
                entry: 1,
                value: 12,
            },
        ];
        assert_eq!(pool.actions(true), expected);
        assert!(expected[2].computes(Op::Multiply, 12, 4));
        assert!(!expected[1].computes(Op::Subtract, 4, 12));
        assert!(expected[6].answers(12));
        assert!(!pool.actions(false).contains(&Action::Undo));
    }

    #[test]
    fn look_alike_actions_are_listed_once() {
        let mut pool = Pool::new(&[2, 3, 5, 7]);
        let product = |left, right| Computation {
            op: Op::Multiply,
            left,
            right,
            value: 6,
        };
        pool.combine(0, 1, product(2, 3));
        pool.entries.push(Entry {
            value: 6,
            origin: Origin::Result(Op::Multiply),
        });
        let actions = pool.actions(false);
        let answers_six = actions.iter().filter(|a| a.answers(6)).count();
        assert_eq!(answers_six, 1);
        let adds_five_and_six = actions.iter().filter(|a| a.computes(Op::Add, 5, 6)).count();
        assert_eq!(adds_five_and_six, 1);
        assert!(actions.iter().any(|a| a.computes(Op::Add, 6, 6)));
    }

    #[test]
    fn a_pool_of_n_offers_at_most_four_per_pair_plus_n_plus_one() {
        // Every pair divides exactly: the worst case for the action count.
        let pool = Pool::new(&[2, 4, 8, 16, 32]);
        assert_eq!(pool.actions(true).len(), 4 * 10 + 5 + 1);
    }
}
