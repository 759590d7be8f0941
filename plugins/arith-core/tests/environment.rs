//! Whole-environment checks through the `Environment` trait: determinism,
//! admissible actions, primitives, step limits, the expert on every split,
//! baseline policies and error handling.

use arith_core::Arith;
use arith_core::primitives::{FORMAT, LOOSE_OUTCOME, OUTCOME, PROGRESS, STRUCTURE};
use arith_core::rng::Rng;
use derl_env_api::{EnvError, Environment, Observation, Split, StepResult};

/// Tasks sampled per split (spread evenly over the split).
const TASKS_PER_SPLIT: u32 = 400;

/// Task indices spread over `split`.
fn sample_tasks(env: &Arith, split: Split) -> impl Iterator<Item = u32> + use<> {
    let count = env.task_count(split);
    (0..TASKS_PER_SPLIT)
        .map(move |i| (u64::from(i) * u64::from(count) / u64::from(TASKS_PER_SPLIT)) as u32)
}

/// What one episode produced.
struct Rollout {
    observations: Vec<Observation>,
    results: Vec<StepResult>,
}

impl Rollout {
    fn primitives(&self) -> Vec<f64> {
        self.results
            .last()
            .and_then(|r| r.primitives.clone())
            .expect("episode ended with primitives")
    }
}

/// Runs one episode, choosing actions with `policy(env, observation)`.
fn rollout(
    env: &mut Arith,
    split: Split,
    task: u32,
    seed: u64,
    mut policy: impl FnMut(&Arith, &Observation) -> u32,
) -> Rollout {
    let mut observation = env.reset(split, task, seed).unwrap();
    let mut rollout = Rollout {
        observations: vec![observation.clone()],
        results: Vec::new(),
    };
    loop {
        assert!(!observation.actions.is_empty(), "no actions while running");
        let result = env.step(policy(env, &observation)).unwrap();
        let done = result.done();
        assert_eq!(
            result.primitives.is_some(),
            done,
            "primitives exactly at the end"
        );
        observation = result.observation.clone();
        rollout.results.push(result);
        if done {
            return rollout;
        }
        rollout.observations.push(observation.clone());
    }
}

fn expert(env: &Arith, _: &Observation) -> u32 {
    env.expert_action()
        .unwrap()
        .expect("the expert always has an action")
}

fn uniform(rng: &mut Rng) -> impl FnMut(&Arith, &Observation) -> u32 + '_ {
    |_, observation| rng.below(observation.actions.len() as u64) as u32
}

/// Mean of each primitive over the episodes of `split` played by `policy`.
fn mean_primitives(
    split: Split,
    seed: u64,
    mut policy: impl FnMut(&Arith, &Observation) -> u32,
) -> Vec<f64> {
    let mut env = Arith::new();
    let tasks: Vec<u32> = sample_tasks(&env, split).collect();
    let mut sums = vec![0.0; env.info().primitives.len()];
    for &task in &tasks {
        let values = rollout(&mut env, split, task, seed, &mut policy).primitives();
        for (sum, value) in sums.iter_mut().zip(values) {
            *sum += value;
        }
    }
    sums.iter().map(|s| s / tasks.len() as f64).collect()
}

#[test]
fn episodes_are_deterministic_in_split_task_and_seed() {
    for split in Split::ALL {
        for task in [0, 17, 333] {
            let play = |seed: u64| {
                let mut rng = Rng::from_words(&[seed]);
                let rollout = rollout(&mut Arith::new(), split, task, 5, uniform(&mut rng));
                (rollout.observations, rollout.results)
            };
            assert_eq!(play(1), play(1));
        }
    }
}

#[test]
fn primitives_stay_in_their_declared_ranges() {
    let mut env = Arith::new();
    let specs = env.info().primitives;
    let mut rng = Rng::from_words(&[42]);
    for split in Split::ALL {
        for task in sample_tasks(&env, split).take(100) {
            let values = rollout(&mut env, split, task, 0, uniform(&mut rng)).primitives();
            assert_eq!(values.len(), specs.len());
            for (value, spec) in values.iter().zip(&specs) {
                assert!(
                    (spec.min..=spec.max).contains(value),
                    "{}: {value}",
                    spec.name
                );
            }
        }
    }
}

#[test]
fn actions_stay_bounded_and_are_distinct() {
    let mut env = Arith::new();
    let mut rng = Rng::from_words(&[9]);
    for split in Split::ALL {
        // Four numbers at most in training problems, six in ood ones: four
        // operations per pair, an undo and an answer per number at most.
        let numbers: usize = if split == Split::Ood { 6 } else { 4 };
        let bound = 4 * numbers * (numbers - 1) / 2 + 1 + numbers;
        let mut largest = 0;
        for task in sample_tasks(&env, split).take(100) {
            let rollout = rollout(&mut env, split, task, 0, uniform(&mut rng));
            for observation in &rollout.observations {
                largest = largest.max(observation.actions.len());
                let mut sorted = observation.actions.clone();
                sorted.sort();
                sorted.dedup();
                assert_eq!(sorted.len(), observation.actions.len(), "duplicate action");
            }
        }
        println!("{split}: largest action list {largest} (bound {bound})");
        assert!(largest <= bound, "{split}: {largest} actions");
    }
}

#[test]
fn max_steps_truncates_an_episode_that_never_answers() {
    let mut env = Arith::new();
    env.configure(&[("max-steps".into(), "3".into())]).unwrap();
    assert_eq!(env.info().max_steps, 3);
    let always_compute = |_: &Arith, _: &Observation| 0;
    let rollout = rollout(&mut env, Split::Train, 5, 0, always_compute);
    assert_eq!(rollout.results.len(), 3);
    let last = rollout.results.last().unwrap();
    assert!(last.truncated && !last.terminated);
    assert_eq!(rollout.primitives()[FORMAT], 0.0);
    assert!(last.observation.text.ends_with("Out of steps."));
}

#[test]
fn expert_solves_every_sampled_task_of_every_split() {
    let mut env = Arith::new();
    for split in Split::ALL {
        let mut steps = 0;
        for task in sample_tasks(&env, split) {
            let rollout = rollout(&mut env, split, task, u64::from(task), expert);
            assert_eq!(rollout.primitives(), [1.0; 5], "{split} task {task}");
            steps += rollout.results.len();
        }
        let mean = steps as f64 / f64::from(TASKS_PER_SPLIT);
        println!("expert {split}: success 100%, mean episode length {mean:.2}");
    }
}

#[test]
fn uniform_random_policy_rarely_succeeds() {
    for split in Split::ALL {
        let mut rng = Rng::from_words(&[split.index(), 7]);
        let means = mean_primitives(split, 11, uniform(&mut rng));
        println!(
            "random {split}: outcome {:.3} format {:.3} structure {:.3} loose_outcome {:.3} progress {:.3}",
            means[OUTCOME], means[FORMAT], means[STRUCTURE], means[LOOSE_OUTCOME], means[PROGRESS]
        );
        assert!(
            means[OUTCOME] < 0.10,
            "{split}: random outcome {}",
            means[OUTCOME]
        );
        if split != Split::Ood {
            assert!(means[OUTCOME] > 0.0, "{split}: random play never succeeds");
        }
        assert!(
            means[FORMAT] < 1.0,
            "{split}: random play sometimes runs out of steps"
        );
    }
}

#[test]
fn answering_at_once_earns_format_but_never_outcome() {
    let answer_first = |_: &Arith, observation: &Observation| {
        observation
            .actions
            .iter()
            .position(|a| a.starts_with("answer "))
            .unwrap() as u32
    };
    for split in Split::ALL {
        let means = mean_primitives(split, 0, answer_first);
        assert_eq!(means[FORMAT], 1.0);
        assert_eq!(means[OUTCOME], 0.0);
        assert_eq!(means[STRUCTURE], 0.0);
    }
}

#[test]
fn two_useless_computations_earn_structure_but_not_outcome() {
    // Adds the first two numbers twice over, then answers the latest result.
    let busywork = |_: &Arith, observation: &Observation| {
        let computed = observation.text.matches(" = ").count();
        let position = if computed < 2 {
            observation
                .actions
                .iter()
                .position(|a| a.starts_with("add "))
        } else {
            observation
                .actions
                .iter()
                .rposition(|a| a.starts_with("answer "))
        };
        position.unwrap() as u32
    };
    let means = mean_primitives(Split::Train, 0, busywork);
    println!("busywork train: {means:?}");
    assert_eq!(means[STRUCTURE], 1.0);
    assert!(means[OUTCOME] < 0.10);
}

#[test]
fn observation_holds_problem_scratchpad_numbers_and_steps_left() {
    let mut env = Arith::new();
    let observation = env.reset(Split::Train, 0, 0).unwrap();
    assert!(observation.task.starts_with("Problem: "));
    for part in ["Scratchpad: empty.", "Numbers: ", "Steps left: 10."] {
        assert!(
            observation.text.contains(part),
            "{part} missing in {}",
            observation.text
        );
    }
    let action = env.expert_action().unwrap().unwrap();
    let result = env.step(action).unwrap();
    assert!(result.observation.text.contains("Steps left: 9."));
    assert!(!result.observation.text.contains("Scratchpad: empty."));
}

#[test]
fn bad_calls_are_errors() {
    let mut env = Arith::new();
    assert!(matches!(env.step(0), Err(EnvError::NoEpisode(_))));
    assert!(matches!(env.expert_action(), Err(EnvError::NoEpisode(_))));
    let count = env.task_count(Split::Test);
    assert!(matches!(
        env.reset(Split::Test, count, 0),
        Err(EnvError::UnknownTask(_))
    ));

    let observation = env.reset(Split::Test, 0, 0).unwrap();
    let beyond = observation.actions.len() as u32;
    assert!(matches!(env.step(beyond), Err(EnvError::InvalidAction(_))));
    assert!(matches!(
        env.step(u32::MAX),
        Err(EnvError::InvalidAction(_))
    ));
    let answer = observation
        .actions
        .iter()
        .position(|a| a.starts_with("answer "))
        .unwrap();
    assert!(env.step(answer as u32).unwrap().done());
    assert!(matches!(env.step(0), Err(EnvError::NoEpisode(_))));
    assert!(matches!(env.expert_action(), Err(EnvError::NoEpisode(_))));

    for (key, value) in [
        ("max-steps", "0"),
        ("max-steps", "65"),
        ("max-steps", "ten"),
        ("speed", "1"),
    ] {
        let result = env.configure(&[(key.into(), value.into())]);
        assert!(
            matches!(result, Err(EnvError::InvalidSetting(_))),
            "{key} = {value}"
        );
    }
    let partly_bad = [
        ("max-steps".into(), "5".into()),
        ("colour".into(), "red".into()),
    ];
    assert!(env.configure(&partly_bad).is_err());
    assert_eq!(
        env.info().max_steps,
        10,
        "a refused configure changes nothing"
    );
}

#[test]
fn info_declares_outcome_first_and_every_split() {
    let env = Arith::new();
    let info = env.info();
    assert_eq!(info.name, "arith");
    assert_eq!(info.primitives[0].name, "outcome");
    assert!(info.primitives.len() >= 4);
    assert_eq!(info.splits, Split::ALL);
    assert_eq!(info.feature_count, 0);
    for split in Split::ALL {
        assert!(env.task_count(split) >= 1000);
    }
}
