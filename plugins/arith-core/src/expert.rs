//! The scripted solver: undo whatever is not part of the gold solution,
//! compute the gold steps in order, answer.

use crate::episode::Episode;
use crate::pool::{Action, Pool};
use crate::problem::{Computation, Problem};

/// What the solver wants to do next, independent of action indices.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Move {
    /// Compute this gold step.
    Compute(Computation),
    /// Undo the latest computation.
    Undo,
    /// Answer this value.
    Answer(u64),
}

impl Move {
    /// Whether `action` carries out this move.
    pub fn is_done_by(&self, action: &Action) -> bool {
        match *self {
            Move::Compute(c) => action.computes(c.op, c.left, c.right),
            Move::Undo => *action == Action::Undo,
            Move::Answer(value) => action.answers(value),
        }
    }
}

/// The solver's next move in `episode`.
pub fn next_move(episode: &Episode) -> Move {
    let in_effect: Vec<Computation> = episode.computations_in_effect().collect();
    plan_step(episode.problem(), episode.pool(), &in_effect)
}

/// The solver's next move from a pool reached by the computations `in_effect`:
/// answer if the gold answer is available; otherwise undo if a computation in
/// effect is not a gold step; otherwise compute the first gold step not yet
/// done whose operands are available.
pub fn plan_step(problem: &Problem, pool: &Pool, in_effect: &[Computation]) -> Move {
    let answer = problem.answer();
    if pool.contains(answer) {
        return Move::Answer(answer);
    }
    let done = |step: &Computation| in_effect.iter().any(|c| c.same_as(step));
    let is_gold = |c: &Computation| problem.solution.iter().any(|step| step.same_as(c));
    if !in_effect.iter().all(is_gold) {
        return Move::Undo;
    }
    let next = problem
        .solution
        .iter()
        .find(|step| !done(step) && pool.contains(step.left) && pool.contains(step.right));
    match (next, in_effect.is_empty()) {
        (Some(&step), _) => Move::Compute(step),
        (None, false) => Move::Undo,
        (None, true) => Move::Answer(pool.entries().first().map_or(0, |e| e.value)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::problem::{Draft, Op};

    /// (7 * 2) + (3 * 5), with a distractor 11.
    fn sum_of_products() -> Problem {
        let mut draft = Draft::new();
        draft.state("Numbers.".into(), &[(7, "a"), (3, "b"), (2, "c"), (5, "d")]);
        draft.distract(1, "Noise.".into(), 11, "e");
        draft.ask("Sum of products?".into(), &[]);
        let first = draft.compute(Op::Multiply, 7, 2).unwrap();
        let second = draft.compute(Op::Multiply, 3, 5).unwrap();
        draft.compute(Op::Add, first, second).unwrap();
        draft.finish("test").unwrap()
    }

    fn computation(op: Op, left: u64, right: u64) -> Computation {
        let value = op.apply(left, right).unwrap();
        Computation {
            op,
            left,
            right,
            value,
        }
    }

    #[test]
    fn from_the_start_the_solver_follows_the_solution() {
        let problem = sum_of_products();
        let mut pool = Pool::new(&[7, 3, 2, 5, 11]);
        let mut in_effect = Vec::new();
        for step in problem.solution.clone() {
            assert_eq!(plan_step(&problem, &pool, &in_effect), Move::Compute(step));
            let left = pool
                .entries()
                .iter()
                .position(|e| e.value == step.left)
                .unwrap();
            let right = pool
                .entries()
                .iter()
                .position(|e| e.value == step.right)
                .unwrap();
            pool.combine(left, right, step);
            // The environment may list commutative operands the other way round.
            let swapped = Computation {
                left: step.right,
                right: step.left,
                ..step
            };
            in_effect.push(if step.op.is_commutative() {
                swapped
            } else {
                step
            });
        }
        assert_eq!(plan_step(&problem, &pool, &in_effect), Move::Answer(29));
    }

    #[test]
    fn solver_undoes_a_wrong_step_before_going_on() {
        let problem = sum_of_products();
        let mut pool = Pool::new(&[7, 3, 2, 5, 11]);
        let wrong = computation(Op::Add, 7, 3);
        pool.combine(0, 1, wrong);
        assert_eq!(plan_step(&problem, &pool, &[wrong]), Move::Undo);
    }

    #[test]
    fn solver_answers_the_gold_value_however_it_was_reached() {
        // 20 - 4 * 3 = 8, reached instead as 20 / 4 + 3.
        let mut draft = Draft::new();
        draft.state("Numbers.".into(), &[(20, "a"), (4, "b"), (3, "c")]);
        draft.ask("?".into(), &[]);
        let product = draft.compute(Op::Multiply, 4, 3).unwrap();
        draft.compute(Op::Subtract, 20, product).unwrap();
        let problem = draft.finish("test").unwrap();
        let mut pool = Pool::new(&[20, 4, 3]);
        let (quotient, sum) = (computation(Op::Divide, 20, 4), computation(Op::Add, 3, 5));
        pool.combine(0, 1, quotient);
        pool.combine(0, 1, sum);
        assert_eq!(
            plan_step(&problem, &pool, &[quotient, sum]),
            Move::Answer(8)
        );
    }
}
