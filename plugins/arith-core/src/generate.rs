//! Tasks: which problem `(split, task, seed)` names.
//!
//! The task index fixes the template and the arithmetic; the seed fixes the
//! surface (names) and, in the training distribution, an optional distractor
//! sentence. `train`, `validation` and `test` share templates; a problem
//! belongs to exactly one of them, decided by a hash of its arithmetic
//! ([`Problem::key`]), so they never share a problem. `ood` uses its own
//! templates and names.

use crate::problem::Problem;
use crate::rng::{Rng, hash_words};
use crate::templates::{self, Cast, Template};
use derl_env_api::Split;

/// Tasks in the `train` split.
pub const TRAIN_TASKS: u32 = 8_000;
/// Tasks in the `validation` split.
pub const VALIDATION_TASKS: u32 = 1_000;
/// Tasks in the `test` split.
pub const TEST_TASKS: u32 = 1_000;
/// Tasks in the `ood` split.
pub const OOD_TASKS: u32 = 1_000;

/// Draws tried before a task is declared impossible (never reached in
/// practice: a draw is accepted with probability about one in ten).
const MAX_ATTEMPTS: u64 = 10_000;
/// Salt of the generator that draws a task's arithmetic.
const TASK_SALT: u64 = 0x7461_736B;
/// Salt of the generator that draws an episode's surface.
const SURFACE_SALT: u64 = 0x7365_6564;
/// Chance, in percent, that a training-distribution episode has a distractor.
const DISTRACTOR_PERCENT: u64 = 35;
/// Most numbers a training-distribution problem states, distractor included.
const MAX_TRAIN_GIVENS: usize = 4;
/// Distractor draws tried before giving up on one for this episode.
const DISTRACTOR_ATTEMPTS: usize = 8;

/// Number of tasks in `split`.
pub fn task_count(split: Split) -> u32 {
    match split {
        Split::Train => TRAIN_TASKS,
        Split::Validation => VALIDATION_TASKS,
        Split::Test => TEST_TASKS,
        Split::Ood => OOD_TASKS,
    }
}

/// The training-distribution split a problem with this key belongs to:
/// 80% train, 10% validation, 10% test.
pub fn home_split(key: u64) -> Split {
    match hash_words(&[key]) % 10 {
        8 => Split::Validation,
        9 => Split::Test,
        _ => Split::Train,
    }
}

/// The templates of a split.
pub fn templates(split: Split) -> &'static [Template] {
    match split {
        Split::Ood => &templates::OOD_TEMPLATES,
        _ => &templates::TRAIN_TEMPLATES,
    }
}

/// The problem of task `task` of `split` under `seed`, or `None` for a task
/// index beyond [`task_count`].
pub fn generate(split: Split, task: u32, seed: u64) -> Option<Problem> {
    if task >= task_count(split) {
        return None;
    }
    let ood = split == Split::Ood;
    let split_templates = templates(split);
    let template = split_templates[task as usize % split_templates.len()];
    let people: &[_] = if ood {
        &templates::OOD_PEOPLE
    } else {
        &templates::TRAIN_PEOPLE
    };
    let mut surface = Rng::from_words(&[SURFACE_SALT, split.index(), u64::from(task), seed]);
    let cast = Cast::draw(&mut surface, people);
    (0..MAX_ATTEMPTS).find_map(|attempt| {
        let mut rng = Rng::from_words(&[TASK_SALT, split.index(), u64::from(task), attempt]);
        let draft = (template.build)(&mut rng, &cast)?;
        let key = draft.key(template.name);
        if !ood && home_split(key) != split {
            return None;
        }
        let plain = draft.finish(template.name)?;
        let room = draft.given_count() < MAX_TRAIN_GIVENS;
        if ood || !room || !surface.chance(DISTRACTOR_PERCENT, 100) {
            return Some(plain);
        }
        let distracted = (0..DISTRACTOR_ATTEMPTS).find_map(|_| {
            let mut candidate = draft.clone();
            templates::distract(&mut candidate, &mut surface, &cast);
            candidate.finish(template.name)
        });
        Some(distracted.unwrap_or(plain))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::{HashMap, HashSet};

    #[test]
    fn every_task_of_every_split_generates_deterministically() {
        for split in Split::ALL {
            for task in (0..task_count(split)).step_by(7) {
                let problem = generate(split, task, 3).expect("task generates");
                assert_eq!(generate(split, task, 3), Some(problem));
            }
            assert_eq!(generate(split, task_count(split), 0), None);
        }
    }

    #[test]
    fn in_distribution_splits_never_share_a_problem() {
        let mut home: HashMap<u64, Split> = HashMap::new();
        for split in [Split::Train, Split::Validation, Split::Test] {
            for task in 0..task_count(split) {
                let problem = generate(split, task, 0).unwrap();
                assert_eq!(home_split(problem.key), split);
                let first = *home.entry(problem.key).or_insert(split);
                assert_eq!(first, split, "problem shared by {first} and {split}");
            }
        }
    }

    #[test]
    fn splits_hold_thousands_of_distinct_problems() {
        for split in Split::ALL {
            let keys: HashSet<u64> = (0..task_count(split))
                .map(|task| generate(split, task, 0).unwrap().key)
                .collect();
            let share = keys.len() as f64 / f64::from(task_count(split));
            println!("{split}: {} distinct of {}", keys.len(), task_count(split));
            assert!(share > 0.9, "{split}: only {:.1}% distinct", share * 100.0);
        }
    }

    /// Givens of `problem` that its solution never uses.
    fn unused_givens(problem: &Problem) -> usize {
        let used = |value: u64| {
            problem
                .solution
                .iter()
                .any(|c| c.left == value || c.right == value)
        };
        problem.givens.iter().filter(|q| !used(q.value)).count()
    }

    #[test]
    fn about_a_third_of_training_problems_carry_a_distractor_and_ood_none() {
        let mut distracted = 0;
        for task in 0..1000 {
            let problem = generate(Split::Train, task, u64::from(task)).unwrap();
            assert!(problem.givens.len() <= MAX_TRAIN_GIVENS);
            assert!(unused_givens(&problem) <= 1);
            distracted += unused_givens(&problem);
        }
        println!("train: {distracted} of 1000 problems with a distractor");
        assert!((200..450).contains(&distracted), "{distracted} distractors");
        for task in 0..200 {
            assert_eq!(unused_givens(&generate(Split::Ood, task, 0).unwrap()), 0);
        }
    }

    #[test]
    fn seed_changes_the_surface_but_not_the_arithmetic() {
        let texts: HashSet<String> = (0..20)
            .map(|seed| {
                let problem = generate(Split::Train, 4, seed).unwrap();
                let reference = generate(Split::Train, 4, 0).unwrap();
                assert_eq!(problem.key, reference.key);
                assert_eq!(problem.answer(), reference.answer());
                problem.text
            })
            .collect();
        assert!(texts.len() > 5, "only {} surfaces", texts.len());
    }

    #[test]
    fn ood_uses_unseen_templates_and_longer_solutions() {
        let train: HashSet<&str> = templates(Split::Train).iter().map(|t| t.name).collect();
        let mean_steps = |split: Split| {
            let steps: usize = (0..400)
                .map(|task| {
                    let problem = generate(split, task, 0).unwrap();
                    let steps = problem.solution.len();
                    if split == Split::Ood {
                        assert!(!train.contains(problem.template), "{}", problem.template);
                        assert!((3..=5).contains(&steps));
                    } else {
                        assert!((2..=3).contains(&steps));
                    }
                    steps
                })
                .sum();
            steps as f64 / 400.0
        };
        let (train_steps, ood_steps) = (mean_steps(Split::Train), mean_steps(Split::Ood));
        assert!(
            ood_steps >= train_steps + 1.0,
            "{train_steps} vs {ood_steps}"
        );
        let mean_largest_given = |split: Split| {
            let total: u64 = (0..400)
                .map(|task| {
                    let problem = generate(split, task, 0).unwrap();
                    problem.givens.iter().map(|q| q.value).max().unwrap()
                })
                .sum();
            total as f64 / 400.0
        };
        let (train_size, ood_size) = (
            mean_largest_given(Split::Train),
            mean_largest_given(Split::Ood),
        );
        println!("mean largest given: train {train_size:.0}, ood {ood_size:.0}");
        assert!(ood_size > 3.0 * train_size);
    }
}
