//! The primitives reported at the end of every episode, mirroring the DERL
//! reference's math primitives (outcome, format, structure, loose outcome)
//! plus a dense progress signal.
//!
//! `format` and `structure` can be farmed (answer anything at once; make two
//! useless computations first), `loose_outcome` and `progress` can be earned
//! without ever answering correctly: weighted too heavily, each teaches the
//! wrong thing.

use crate::episode::Episode;
use derl_env_api::PrimitiveSpec;

/// Index of `outcome` (`g1`), the task-success primitive.
pub const OUTCOME: usize = 0;
/// Index of `format` (`g2`).
pub const FORMAT: usize = 1;
/// Index of `structure` (`g3`).
pub const STRUCTURE: usize = 2;
/// Index of `loose_outcome` (`g4`).
pub const LOOSE_OUTCOME: usize = 3;
/// Index of `progress` (`g5`).
pub const PROGRESS: usize = 4;

/// Computations an answer must follow to earn `structure`.
pub const STRUCTURE_MIN_COMPUTATIONS: usize = 2;

/// The primitives in report order.
pub fn specs() -> Vec<PrimitiveSpec> {
    vec![
        PrimitiveSpec::new(
            "outcome",
            "1 if the answer given equals the gold answer exactly, else 0 (task success)",
            0.0,
            1.0,
        ),
        PrimitiveSpec::new(
            "format",
            "1 if an answer was given before the step limit, else 0",
            0.0,
            1.0,
        ),
        PrimitiveSpec::new(
            "structure",
            "1 if an answer was given after at least two computation steps (undone ones count), else 0",
            0.0,
            1.0,
        ),
        PrimitiveSpec::new(
            "loose_outcome",
            "1 if the gold answer was computed at some point, even if not given as the answer",
            0.0,
            1.0,
        ),
        PrimitiveSpec::new(
            "progress",
            "fraction of the gold solution's intermediate values (answer included) computed",
            0.0,
            1.0,
        ),
    ]
}

/// The primitive values of an episode, in the order of [`specs`].
pub fn measure(episode: &Episode) -> Vec<f64> {
    let flag = |b: bool| if b { 1.0 } else { 0.0 };
    let problem = episode.problem();
    let answered = episode.answer().is_some();
    let solution = &problem.solution;
    let reached = solution
        .iter()
        .filter(|c| episode.was_computed(c.value))
        .count();
    let mut values = vec![0.0; 5];
    values[OUTCOME] = flag(episode.answer() == Some(problem.answer()));
    values[FORMAT] = flag(answered);
    values[STRUCTURE] = flag(answered && episode.scratchpad().len() >= STRUCTURE_MIN_COMPUTATIONS);
    values[LOOSE_OUTCOME] = flag(episode.was_computed(problem.answer()));
    values[PROGRESS] = reached as f64 / solution.len().max(1) as f64;
    values
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pool::Action;
    use crate::problem::{Op, Problem};

    /// 20 - 4 * 3 = 8.
    fn problem() -> Problem {
        crate::problem::fixtures::shopping_problem()
    }

    /// A step of a scripted test episode.
    enum Do {
        Compute(Op, u64, u64),
        Undo,
        Answer(u64),
    }

    fn play(max_steps: u32, script: &[Do]) -> Episode {
        let mut episode = Episode::new(problem(), max_steps);
        for step in script {
            let index = episode.actions().iter().position(|a| match *step {
                Do::Compute(op, x, y) => a.computes(op, x, y),
                Do::Undo => *a == Action::Undo,
                Do::Answer(value) => a.answers(value),
            });
            episode.take(index.unwrap() as u32).unwrap();
        }
        episode
    }

    #[test]
    fn names_and_ranges_are_declared_with_outcome_first() {
        let names: Vec<String> = specs().into_iter().map(|s| s.name).collect();
        assert_eq!(
            names,
            [
                "outcome",
                "format",
                "structure",
                "loose_outcome",
                "progress"
            ]
        );
        assert!(specs().iter().all(|s| s.min == 0.0 && s.max == 1.0));
    }

    #[test]
    fn solving_earns_every_primitive() {
        let script = [
            Do::Compute(Op::Multiply, 4, 3),
            Do::Compute(Op::Subtract, 20, 12),
            Do::Answer(8),
        ];
        assert_eq!(measure(&play(10, &script)), [1.0, 1.0, 1.0, 1.0, 1.0]);
    }

    #[test]
    fn answering_at_once_earns_format_only() {
        assert_eq!(
            measure(&play(10, &[Do::Answer(20)])),
            [0.0, 1.0, 0.0, 0.0, 0.0]
        );
    }

    #[test]
    fn useless_work_earns_structure_but_not_outcome() {
        let script = [
            Do::Compute(Op::Add, 20, 4),
            Do::Compute(Op::Add, 3, 24),
            Do::Answer(27),
        ];
        assert_eq!(measure(&play(10, &script)), [0.0, 1.0, 1.0, 0.0, 0.0]);
    }

    #[test]
    fn computing_the_answer_without_giving_it_earns_loose_outcome() {
        let script = [
            Do::Compute(Op::Multiply, 4, 3),
            Do::Compute(Op::Subtract, 20, 12),
            Do::Undo,
        ];
        let episode = play(3, &script);
        assert!(episode.is_truncated());
        assert_eq!(measure(&episode), [0.0, 0.0, 0.0, 1.0, 1.0]);
    }

    #[test]
    fn progress_counts_gold_values_reached() {
        let script = [Do::Compute(Op::Multiply, 4, 3), Do::Answer(12)];
        assert_eq!(measure(&play(10, &script))[PROGRESS], 0.5);
    }
}
