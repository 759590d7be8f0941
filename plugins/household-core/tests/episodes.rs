//! Whole-episode properties of the household environment, through the
//! public `Environment` interface.

use derl_env_api::{EnvError, Environment, Observation, Split, StepResult};
use household_core::Household;
use household_core::catalog::{OBJECT_KINDS, RECEPTACLE_KINDS};
use household_core::primitives::NAMES;
use household_core::rng::Rng;
use household_core::task::{Difficulty, Family, generate};

/// Index of the primitive named `name`.
fn primitive(name: &str) -> usize {
    NAMES.iter().position(|&n| n == name).unwrap()
}

/// Runs one episode with `policy` (observation -> action index); returns
/// every step result.
fn run_episode(
    env: &mut Household,
    split: Split,
    task: u32,
    seed: u64,
    mut policy: impl FnMut(&Household, &Observation) -> u32,
) -> Vec<StepResult> {
    let mut observation = env.reset(split, task, seed).unwrap();
    let mut results = Vec::new();
    loop {
        let action = policy(env, &observation);
        let result = env.step(action).unwrap();
        observation = result.observation.clone();
        let done = result.done();
        results.push(result);
        if done {
            return results;
        }
    }
}

/// A task index spread over the whole split.
fn spread(env: &Household, split: Split, i: u32) -> u32 {
    (i * 7_919) % env.task_count(split)
}

fn uniform(rng: &mut Rng) -> impl FnMut(&Household, &Observation) -> u32 + '_ {
    move |_, observation| rng.below(observation.actions.len()) as u32
}

fn expert(env: &Household, _: &Observation) -> u32 {
    env.expert_action().unwrap().unwrap()
}

#[test]
fn reset_and_step_are_deterministic() {
    for split in Split::ALL {
        for task in [0, 5, 333] {
            let play = || {
                let mut env = Household::new();
                let mut rng = Rng::from_parts(&[task.into()]);
                let first = env.reset(split, task, 17).unwrap();
                let results = run_episode(&mut env, split, task, 17, uniform(&mut rng));
                (first, results)
            };
            assert_eq!(play(), play());
        }
    }
    let mut env = Household::new();
    let a = env.reset(Split::Train, 3, 1).unwrap();
    let b = env.reset(Split::Train, 3, 2).unwrap();
    assert_eq!(a.task, b.task, "the seed keeps the goal");
}

#[test]
fn actions_exist_until_the_end_and_primitives_only_at_the_end() {
    let mut env = Household::new();
    let mut rng = Rng::from_parts(&[1]);
    for split in Split::ALL {
        for i in 0..40 {
            let task = spread(&env, split, i);
            let mut observation = env.reset(split, task, i.into()).unwrap();
            loop {
                assert!(!observation.actions.is_empty());
                assert!(
                    (5..=32).contains(&observation.actions.len()),
                    "{}",
                    observation.actions.len()
                );
                assert!(observation.task.starts_with("Your task is to: "));
                assert!(!observation.text.contains("Your task is to"));
                let result = env
                    .step(rng.below(observation.actions.len()) as u32)
                    .unwrap();
                assert_eq!(result.primitives.is_some(), result.done());
                assert!(!(result.terminated && result.truncated));
                if result.done() {
                    assert!(result.observation.actions.is_empty());
                    break;
                }
                observation = result.observation;
            }
        }
    }
}

#[test]
fn primitives_stay_inside_their_declared_ranges() {
    let mut env = Household::new();
    let specs = env.info().primitives;
    assert_eq!(specs[0].name, "success");
    assert!(specs.len() >= 4);
    let mut rng = Rng::from_parts(&[2]);
    let mut policy_rng = Rng::from_parts(&[3]);
    for split in Split::ALL {
        for i in 0..150 {
            let task = spread(&env, split, i);
            let use_expert = rng.chance(1, 3);
            let results = if use_expert {
                run_episode(&mut env, split, task, 0, expert)
            } else {
                run_episode(&mut env, split, task, 0, uniform(&mut policy_rng))
            };
            let last = results.last().unwrap();
            let values = last.primitives.as_ref().unwrap();
            assert_eq!(values.len(), specs.len());
            for (value, spec) in values.iter().zip(&specs) {
                assert!(
                    value.is_finite() && *value >= spec.min && *value <= spec.max,
                    "{}",
                    spec.name
                );
            }
            assert_eq!(values[0], if last.terminated { 1.0 } else { 0.0 });
            if last.terminated {
                assert_eq!(values[primitive("progress")], 1.0);
                assert!(values[primitive("speed")] > 0.0);
            } else {
                assert!(values[primitive("progress")] < 1.0);
                assert_eq!(values[primitive("speed")], 0.0);
            }
        }
    }
}

#[test]
fn episodes_end_at_max_steps() {
    for max_steps in [5, 12, 40] {
        let mut env = Household::new();
        env.configure(&[("max-steps".into(), max_steps.to_string())])
            .unwrap();
        assert_eq!(env.info().max_steps, max_steps);
        // "look" (always the second-to-last action) never finishes a task.
        let results = run_episode(&mut env, Split::Train, 9, 0, |_, o| {
            o.actions.len() as u32 - 2
        });
        assert_eq!(results.len(), max_steps as usize);
        let last = results.last().unwrap();
        assert!(last.truncated && !last.terminated);
        assert_eq!(
            last.primitives.as_ref().unwrap()[primitive("valid_actions")],
            0.0
        );
    }
}

#[test]
fn expert_solves_every_task_of_every_split() {
    let mut env = Household::new();
    for split in Split::ALL {
        let (mut steps, mut longest, mut episodes) = (0, 0, 0);
        for seed in 0..3 {
            for i in 0..300 {
                let task = spread(&env, split, i + seed as u32);
                let results = run_episode(&mut env, split, task, seed, expert);
                let last = results.last().unwrap();
                assert!(last.terminated, "{split} task {task} seed {seed} failed");
                steps += results.len();
                longest = longest.max(results.len());
                episodes += 1;
            }
        }
        let limit = if split == Split::Ood { 32 } else { 25 };
        assert!(
            longest <= limit,
            "{split}: longest expert episode {longest}"
        );
        println!(
            "expert {split}: 100% of {episodes}, mean length {:.1}, longest {longest}",
            steps as f64 / episodes as f64
        );
    }
}

#[test]
fn expert_succeeds_under_every_difficulty() {
    for difficulty in ["easy", "hard"] {
        let mut env = Household::new();
        env.configure(&[("difficulty".into(), difficulty.into())])
            .unwrap();
        for split in Split::ALL {
            for i in 0..100 {
                let task = spread(&env, split, i);
                let results = run_episode(&mut env, split, task, 4, expert);
                assert!(
                    results.last().unwrap().terminated,
                    "{difficulty} {split} {task}"
                );
            }
        }
    }
}

#[test]
fn expert_takes_over_after_random_play() {
    let mut env = Household::new();
    env.configure(&[("max-steps".into(), "200".into())])
        .unwrap();
    let mut rng = Rng::from_parts(&[5]);
    for split in Split::ALL {
        for i in 0..100 {
            let task = spread(&env, split, i);
            let mut step = 0;
            let results = run_episode(&mut env, split, task, 1, |env, o| {
                step += 1;
                if step <= 15 {
                    rng.below(o.actions.len()) as u32
                } else {
                    env.expert_action().unwrap().unwrap()
                }
            });
            assert!(results.last().unwrap().terminated, "{split} task {task}");
        }
    }
}

#[test]
fn random_play_rarely_succeeds() {
    let mut env = Household::new();
    let mut rng = Rng::from_parts(&[6]);
    for split in Split::ALL {
        let (mut successes, mut episodes, mut progress) = (0, 0, 0.0);
        for seed in 0..3 {
            for i in 0..300 {
                let task = spread(&env, split, i + 1_000 * seed as u32);
                let results = run_episode(&mut env, split, task, seed, uniform(&mut rng));
                let values = results.last().unwrap().primitives.clone().unwrap();
                successes += usize::from(values[0] == 1.0);
                progress += values[primitive("progress")];
                episodes += 1;
            }
        }
        let rate = successes as f64 / episodes as f64;
        println!(
            "random {split}: success {rate:.3} ({successes}/{episodes}), mean progress {:.3}",
            progress / episodes as f64
        );
        assert!(rate < 0.10, "{split}: random success {rate}");
    }
}

/// Farms `exploration` and `valid_actions`: opens what is closed, walks to
/// every unsearched receptacle, then opens and closes doors; never takes.
fn explorer(_: &Household, observation: &Observation) -> u32 {
    let actions = &observation.actions;
    let find = |pred: &dyn Fn(&str) -> bool| actions.iter().position(|a| pred(a));
    let unsearched = |a: &str| {
        a.strip_prefix("go to ").is_some_and(|name| {
            ["unvisited", "closed"].iter().any(|status| {
                let entry = format!("{status} {name}");
                observation.text.contains(&format!("{entry};"))
                    || observation.text.contains(&format!("{entry}."))
            })
        })
    };
    let door = |a: &str| a.starts_with("open ") || a.starts_with("close ");
    let index = find(&|a: &str| a.starts_with("open "))
        .or_else(|| find(&unsearched))
        .or_else(|| find(&door))
        .unwrap_or(0);
    index as u32
}

thread_local! {
    /// Objects the hoarder has taken in the current episode.
    static TAKEN: std::cell::RefCell<std::collections::HashSet<String>> =
        std::cell::RefCell::default();
}

/// Farms `handled`: takes every object it has not held yet and puts it
/// straight back down, searching receptacles for more.
fn hoarder(_: &Household, observation: &Observation) -> u32 {
    let actions = &observation.actions;
    let first = |prefix: &str| actions.iter().position(|a| a.starts_with(prefix));
    let go = |a: &String| a.starts_with("go to ");
    let unvisited_go = actions.iter().position(|a| {
        go(a)
            && a.strip_prefix("go to ").is_some_and(|name| {
                observation.text.contains(&format!("unvisited {name};"))
                    || observation.text.contains(&format!("unvisited {name}."))
            })
    });
    let object_of = |a: &str| {
        a.strip_prefix("take ")
            .and_then(|r| r.split(" from ").next())
            .map(str::to_owned)
    };
    let new_take = actions.iter().position(|a| {
        object_of(a).is_some_and(|object| TAKEN.with(|t| !t.borrow().contains(&object)))
    });
    if let Some(index) = new_take {
        let object = object_of(&actions[index]).unwrap();
        TAKEN.with(|t| t.borrow_mut().insert(object));
    }
    first("put ")
        .or(new_take)
        .or_else(|| first("open "))
        .or(unvisited_go)
        .unwrap_or(0) as u32
}

#[test]
fn farming_policies_score_high_on_their_primitive_but_rarely_succeed() {
    let mut env = Household::new();
    for (name, farmer, farmed) in [
        (
            "explorer",
            explorer as fn(&Household, &Observation) -> u32,
            "exploration",
        ),
        ("hoarder", hoarder, "handled"),
    ] {
        let (mut farmed_sum, mut success_sum, mut expert_farmed) = (0.0, 0.0, 0.0);
        let episodes = 300;
        for i in 0..episodes {
            let task = spread(&env, Split::Train, i);
            TAKEN.with(|t| t.borrow_mut().clear());
            let results = run_episode(&mut env, Split::Train, task, 0, farmer);
            let values = results.last().unwrap().primitives.clone().unwrap();
            farmed_sum += values[primitive(farmed)];
            success_sum += values[0];
            let expert_run = run_episode(&mut env, Split::Train, task, 0, expert);
            expert_farmed +=
                expert_run.last().unwrap().primitives.as_ref().unwrap()[primitive(farmed)];
        }
        let n = f64::from(episodes);
        println!(
            "{name}: {farmed} {:.3} (expert {:.3}), success {:.3}",
            farmed_sum / n,
            expert_farmed / n,
            success_sum / n
        );
        assert!(farmed_sum / n > 0.7, "{name} does not farm {farmed}");
        assert!(
            farmed_sum / n > 1.5 * expert_farmed / n,
            "{name}: the expert farms as well"
        );
        assert!(success_sum / n < 0.25, "{name} succeeds too often");
    }
}

#[test]
fn bad_calls_are_errors() {
    let mut env = Household::new();
    assert!(matches!(env.step(0), Err(EnvError::NoEpisode(_))));
    assert!(matches!(env.expert_action(), Err(EnvError::NoEpisode(_))));
    for split in Split::ALL {
        let count = env.task_count(split);
        assert!(count >= 1_000);
        assert!(matches!(
            env.reset(split, count, 0),
            Err(EnvError::UnknownTask(_))
        ));
        assert!(matches!(
            env.reset(split, u32::MAX, 0),
            Err(EnvError::UnknownTask(_))
        ));
        assert!(env.reset(split, count - 1, u64::MAX).is_ok());
    }
    let observation = env.reset(Split::Train, 0, 0).unwrap();
    let n = observation.actions.len() as u32;
    assert!(matches!(env.step(n), Err(EnvError::InvalidAction(_))));
    assert!(matches!(
        env.step(u32::MAX),
        Err(EnvError::InvalidAction(_))
    ));
    // The episode survives a bad index.
    assert!(env.step(0).is_ok());

    env.configure(&[("max-steps".into(), "5".into())]).unwrap();
    assert!(
        matches!(env.step(0), Err(EnvError::NoEpisode(_))),
        "configure ends the episode"
    );
    let results = run_episode(&mut env, Split::Train, 0, 0, |_, o| {
        o.actions.len() as u32 - 1
    });
    assert!(results.last().unwrap().truncated);
    assert!(matches!(env.step(0), Err(EnvError::NoEpisode(_))));
    assert!(matches!(env.expert_action(), Err(EnvError::NoEpisode(_))));

    for (key, value) in [
        ("max-steps", "4"),
        ("max-steps", "201"),
        ("max-steps", "many"),
        ("difficulty", "brutal"),
        ("history", "11"),
        ("history", "-1"),
        ("colour", "blue"),
    ] {
        let mut fresh = Household::new();
        let error = fresh.configure(&[(key.into(), value.into())]).unwrap_err();
        assert!(
            matches!(error, EnvError::InvalidSetting(_)),
            "{key}={value}"
        );
        assert_eq!(
            fresh.max_steps(),
            household_core::DEFAULT_MAX_STEPS,
            "left unchanged"
        );
    }
    let mut fresh = Household::new();
    fresh.configure(&[]).unwrap();
    fresh
        .configure(&[
            ("max-steps".into(), "200".into()),
            ("difficulty".into(), "easy".into()),
        ])
        .unwrap();
    assert_eq!(
        (fresh.max_steps(), fresh.difficulty()),
        (200, Difficulty::Easy)
    );
}

#[test]
fn ood_tasks_use_names_and_structures_absent_from_train() {
    let ood_words: Vec<&str> = RECEPTACLE_KINDS
        .iter()
        .filter(|k| k.ood_only)
        .map(|k| k.name)
        .chain(OBJECT_KINDS.iter().filter(|k| k.ood_only).map(|k| k.name))
        .chain([
            "floorlamp",
            "workshop",
            "studio",
            "canteen",
            "laundry",
            "study",
        ])
        .collect();
    let mentions_ood = |text: &str| {
        text.split(|c: char| !c.is_ascii_alphanumeric())
            .any(|word| ood_words.contains(&word))
    };
    let mut env = Household::new();
    let mut train_families = Vec::new();
    for split in [Split::Train, Split::Validation, Split::Test] {
        for i in 0..400 {
            let task = spread(&env, split, i);
            let observation = env.reset(split, task, 0).unwrap();
            let spec = generate(split, task, Difficulty::Normal);
            train_families.push(spec.family);
            assert!(
                !mentions_ood(&observation.full_text()),
                "{split} {task}: {}",
                observation.full_text()
            );
            assert!(observation.actions.iter().all(|a| !mentions_ood(a)));
        }
    }
    let mut ood_only_families = 0;
    for i in 0..400 {
        let task = spread(&env, Split::Ood, i);
        let observation = env.reset(Split::Ood, task, 0).unwrap();
        assert!(
            mentions_ood(&observation.full_text()),
            "ood {task}: {}",
            observation.full_text()
        );
        let spec = generate(Split::Ood, task, Difficulty::Normal);
        assert!(spec.receptacles.iter().any(|r| r.kind.ood_only));
        if !train_families.contains(&spec.family) {
            ood_only_families += 1;
        }
    }
    assert!(
        ood_only_families > 40,
        "only {ood_only_families} tasks of the longer families"
    );
    assert!(!train_families.contains(&Family::CleanTransformAndPlace));
}

#[test]
fn observation_records_what_was_seen() {
    let mut env = Household::new();
    let observation = env.reset(Split::Train, 2, 0).unwrap();
    let go = observation
        .actions
        .iter()
        .position(|a| a.starts_with("go to "))
        .unwrap();
    let name = observation.actions[go]
        .trim_start_matches("go to ")
        .to_owned();
    assert!(observation.text.contains(&format!("unvisited {name}")));
    let result = env.step(go as u32).unwrap();
    assert!(
        result
            .feedback
            .starts_with(&format!("You arrive at {name}."))
    );
    let text = &result.observation.text;
    assert!(text.contains(&format!("at the {name}.")));
    assert!(
        text.contains(&format!("searched {name} with")) || text.contains(&format!("closed {name}"))
    );
    assert!(!text.contains(&format!("unvisited {name}")));
}

#[test]
fn history_lists_the_last_actions_and_changes_nothing_else() {
    let mut plain = Household::new();
    let mut remembering = Household::new();
    remembering
        .configure(&[("history".into(), "2".into())])
        .unwrap();
    assert_eq!(remembering.history(), 2);
    let first = remembering.reset(Split::Train, 5, 1).unwrap();
    assert!(
        first.text.ends_with("\nRecent actions: none."),
        "{}",
        first.text
    );
    let plain_first = plain.reset(Split::Train, 5, 1).unwrap();
    assert!(!plain_first.text.contains("Recent actions"));
    assert_eq!(first.actions, plain_first.actions);

    let mut taken = Vec::new();
    let mut observation = first;
    for _ in 0..3 {
        let action = remembering.expert_action().unwrap().unwrap();
        taken.push(observation.actions[action as usize].clone());
        let remembered = remembering.step(action).unwrap();
        let forgotten = plain.step(action).unwrap();
        assert_eq!(remembered.primitives, forgotten.primitives);
        assert_eq!(remembered.feedback, forgotten.feedback);
        let expected = format!(
            "{}\nRecent actions: {}.",
            forgotten.observation.text,
            taken[taken.len().saturating_sub(2)..].join("; ")
        );
        assert_eq!(remembered.observation.text, expected);
        observation = remembered.observation;
    }
}
