//! Episode-level properties of the lab, through the `Environment` trait.

use std::collections::HashSet;

use derl_env_api::{EnvError, Environment, Split, StepResult};
use lab_core::actions::Action;
use lab_core::primitives::{CAUTION, EXPLORATION, PROGRESS, SUCCESS};
use lab_core::rng::Rng;
use lab_core::{DEFAULT_MAX_STEPS, Lab};

/// Picks an action index from the lab's current state.
type Policy<'a> = dyn FnMut(&Lab, usize) -> u32 + 'a;

/// Plays one episode; returns every step result.
fn play(lab: &mut Lab, split: Split, task: u32, seed: u64, policy: &mut Policy) -> Vec<StepResult> {
    let mut observation = lab.reset(split, task, seed).expect("reset");
    let mut results = Vec::new();
    loop {
        assert!(!observation.actions.is_empty(), "no actions while running");
        let action = policy(lab, observation.actions.len());
        let result = lab.step(action).expect("admissible action");
        let done = result.done();
        observation = result.observation.clone();
        results.push(result);
        if done {
            return results;
        }
    }
}

fn expert(lab: &Lab, _: usize) -> u32 {
    lab.expert_action()
        .expect("running episode")
        .expect("the expert always has a plan")
}

/// Final primitives of an episode.
fn primitives(results: &[StepResult]) -> Vec<f64> {
    results
        .last()
        .and_then(|r| r.primitives.clone())
        .expect("primitives at the end")
}

/// Task indices spread over a split.
fn sample(lab: &Lab, split: Split, n: u32) -> Vec<u32> {
    let count = lab.task_count(split);
    let stride = (count / n).max(1);
    (0..count)
        .step_by(stride as usize)
        .take(n as usize)
        .collect()
}

#[test]
fn expert_solves_every_split() {
    let mut lab = Lab::new();
    for split in Split::ALL {
        let (mut episodes, mut steps) = (0u32, 0usize);
        for task in sample(&lab, split, 300) {
            for seed in 0..3 {
                let results = play(&mut lab, split, task, seed, &mut expert);
                let values = primitives(&results);
                assert_eq!(
                    values[SUCCESS], 1.0,
                    "{split} task {task} seed {seed}: {results:?}"
                );
                assert_eq!(values[PROGRESS], 1.0);
                assert!(results.last().unwrap().terminated);
                episodes += 1;
                steps += results.len();
            }
        }
        let mean = steps as f64 / f64::from(episodes);
        println!(
            "{split}: expert solved {episodes}/{episodes} episodes, {mean:.2} steps on average"
        );
        assert!(mean < f64::from(DEFAULT_MAX_STEPS) / 2.0);
    }
}

#[test]
fn random_play_rarely_succeeds() {
    let mut lab = Lab::new();
    let mut rng = Rng::new(2024);
    let mut random = |_: &Lab, n: usize| rng.below(n) as u32;
    for split in Split::ALL {
        let (mut episodes, mut successes) = (0u32, 0u32);
        for task in sample(&lab, split, 400) {
            for seed in 0..3 {
                let results = play(&mut lab, split, task, seed, &mut random);
                successes += primitives(&results)[SUCCESS] as u32;
                episodes += 1;
            }
        }
        let rate = f64::from(successes) / f64::from(episodes);
        println!(
            "{split}: random success {:.2}% over {episodes} episodes",
            100.0 * rate
        );
        assert!(rate < 0.10, "{split}: random success {rate} is too high");
    }
}

#[test]
fn episodes_are_deterministic() {
    let mut lab = Lab::new();
    for split in Split::ALL {
        for task in sample(&lab, split, 20) {
            let run = |lab: &mut Lab| {
                let mut rng = Rng::new(u64::from(task));
                let first = lab.reset(split, task, 7).unwrap();
                let rest = play(lab, split, task, 7, &mut |_, n| rng.below(n) as u32);
                (first, rest)
            };
            assert_eq!(run(&mut lab), run(&mut Lab::new()));
        }
    }
    let text = |seed| Lab::new().reset(Split::Train, 3, seed).unwrap().text;
    assert!(
        (1..10).any(|seed| text(seed) != text(0)),
        "seeds vary the episode"
    );
}

#[test]
fn primitives_come_exactly_at_the_end_and_in_range() {
    let mut lab = Lab::new();
    let specs = lab.info().primitives;
    let mut rng = Rng::new(5);
    for split in Split::ALL {
        for task in sample(&lab, split, 60) {
            let results = play(&mut lab, split, task, 1, &mut |_, n| rng.below(n) as u32);
            let (last, before) = results.split_last().unwrap();
            assert!(before.iter().all(|r| r.primitives.is_none() && !r.done()));
            assert!(last.observation.actions.is_empty());
            let values = last.primitives.as_ref().expect("primitives at the end");
            assert_eq!(values.len(), specs.len());
            for (value, spec) in values.iter().zip(&specs) {
                assert!(
                    (spec.min..=spec.max).contains(value),
                    "{} = {value}",
                    spec.name
                );
            }
            assert!(values[SUCCESS] == 0.0 || values[SUCCESS] == 1.0);
        }
    }
}

#[test]
fn subgoals_match_their_declared_count() {
    let mut lab = Lab::new();
    let mut rng = Rng::new(9);
    for split in Split::ALL {
        for task in sample(&lab, split, 40) {
            let mut policy = |lab: &Lab, n: usize| {
                let episode = lab.episode().unwrap();
                let goal = episode.goal();
                assert_eq!(goal.subgoals(episode.world()).len(), goal.subgoal_count());
                rng.below(n) as u32
            };
            play(&mut lab, split, task, 0, &mut policy);
        }
    }
}

#[test]
fn identifying_the_target_counts_as_progress() {
    let mut lab = Lab::new();
    let mut checked = 0;
    for task in 0..100 {
        lab.reset(Split::Train, task, 0).unwrap();
        let episode = lab.episode().unwrap();
        let goal = episode.goal();
        let world = episode.world();
        let early = episode.actions().iter().position(|&a| {
            matches!(a, Action::Focus(o) if goal.is_target(world, o) && !goal.is_done(world, o))
        });
        let Some(early) = early else { continue };
        let wait = episode
            .actions()
            .iter()
            .position(|&a| a == Action::Wait(1))
            .unwrap() as u32;
        // Same task twice, truncated after two steps: with and without the focus.
        let mut short = Lab::new();
        short
            .configure(&[("max-steps".to_owned(), "2".to_owned())])
            .unwrap();
        let mut progress = |first: u32| {
            short.reset(Split::Train, task, 0).unwrap();
            short.step(first).unwrap();
            short.step(wait).unwrap().primitives.unwrap()[PROGRESS]
        };
        let (focused, waited) = (progress(early as u32), progress(wait));
        assert!(focused > waited, "task {task}: {focused} <= {waited}");
        checked += 1;
    }
    assert!(checked > 20);
}

#[test]
fn episodes_end_at_the_step_limit() {
    let mut lab = Lab::new();
    lab.configure(&[("max-steps".to_owned(), "7".to_owned())])
        .unwrap();
    assert_eq!(lab.info().max_steps, 7);
    let wait = |lab: &Lab, _: usize| {
        let actions = lab.episode().unwrap().actions();
        actions.iter().position(|&a| a == Action::Wait(1)).unwrap() as u32
    };
    for task in 0..8 {
        let results = play(&mut lab, Split::Train, task, 0, &mut { wait });
        assert_eq!(results.len(), 7);
        let last = results.last().unwrap();
        assert!(last.truncated && !last.terminated);
        assert_eq!(primitives(&results)[SUCCESS], 0.0);
    }
    let results = play(&mut Lab::new(), Split::Ood, 0, 0, &mut { wait });
    assert_eq!(results.len() as u32, DEFAULT_MAX_STEPS);
}

/// Index of the first focus action passing `test`.
fn focus_where(lab: &Lab, test: impl Fn(&Lab, usize) -> bool) -> Option<u32> {
    let episode = lab.episode().unwrap();
    episode
        .actions()
        .iter()
        .position(|&a| match a {
            Action::Focus(o) => test(lab, o),
            _ => false,
        })
        .map(|i| i as u32)
}

#[test]
fn focusing_on_a_wrong_object_fails_the_task() {
    let mut lab = Lab::new();
    let mut checked = 0;
    for task in 0..200 {
        lab.reset(Split::Train, task, 0).unwrap();
        let is_target = |lab: &Lab, o: usize| {
            let episode = lab.episode().unwrap();
            episode.goal().is_target(episode.world(), o)
        };
        let Some(wrong) = focus_where(&lab, |lab, o| !is_target(lab, o)) else {
            continue;
        };
        let result = lab.step(wrong).unwrap();
        assert!(result.terminated && !result.truncated);
        let values = result.primitives.expect("the episode ended");
        assert_eq!((values[SUCCESS], values[CAUTION]), (0.0, 0.0));
        assert!(result.feedback.contains("failed"), "{}", result.feedback);
        assert!(matches!(lab.step(0), Err(EnvError::NoEpisode(_))));
        checked += 1;
    }
    assert!(
        checked > 50,
        "only {checked} tasks offered a wrong focus at the start"
    );
}

#[test]
fn focusing_on_the_target_too_early_only_costs_a_step() {
    let mut lab = Lab::new();
    let mut checked = 0;
    for task in 0..200 {
        lab.reset(Split::Train, task, 0).unwrap();
        let early = focus_where(&lab, |lab, o| {
            let episode = lab.episode().unwrap();
            episode.goal().is_target(episode.world(), o)
                && !episode.goal().is_done(episode.world(), o)
        });
        let Some(early) = early else { continue };
        let result = lab.step(early).unwrap();
        assert!(!result.done() && result.primitives.is_none());
        assert!(
            result.feedback.contains("not done yet"),
            "{}",
            result.feedback
        );
        // The expert still finishes from there.
        loop {
            let result = lab.step(expert(&lab, 0)).unwrap();
            if let Some(values) = result.primitives {
                assert_eq!(values[SUCCESS], 1.0);
                break;
            }
        }
        checked += 1;
    }
    assert!(
        checked > 20,
        "only {checked} tasks showed their target at the start"
    );
}

#[test]
fn filing_in_the_wrong_box_fails_the_task() {
    let mut lab = Lab::new();
    let mut checked = 0;
    // Family 1 is measure: follow the expert until it is about to file the
    // substance, then file it in the other box.
    for task in (1..400).step_by(4) {
        lab.reset(Split::Train, task, 0).unwrap();
        loop {
            let index = expert(&lab, 0);
            let episode = lab.episode().unwrap();
            let action = episode.actions()[index as usize];
            let wrong = match (action, episode.goal()) {
                (Action::Put(item, right), lab_core::goal::Goal::Measure { above, below, .. }) => {
                    let other = if right == *above { *below } else { *above };
                    episode
                        .actions()
                        .iter()
                        .position(|&a| a == Action::Put(item, other))
                }
                _ => None,
            };
            if let Some(wrong) = wrong {
                let result = lab.step(wrong as u32).unwrap();
                assert!(result.terminated, "{}", result.feedback);
                let values = result.primitives.unwrap();
                assert_eq!((values[SUCCESS], values[CAUTION]), (0.0, 0.0));
                checked += 1;
                break;
            }
            if lab.step(index).unwrap().done() {
                break;
            }
        }
    }
    assert!(checked > 50);
}

/// Greedy farmer of the exploration primitive: never focuses, prefers
/// handling objects it has not handled and rooms it has not visited.
fn farm(lab: &mut Lab, split: Split, task: u32, seed: u64) -> Vec<f64> {
    let mut handled: HashSet<usize> = HashSet::new();
    let mut visited = HashSet::new();
    let mut rng = Rng::new(seed);
    let mut policy = |lab: &Lab, n: usize| {
        let episode = lab.episode().unwrap();
        let world = episode.world();
        visited.insert(world.agent);
        let actions = episode.actions();
        let fresh = |a: &Action| match *a {
            Action::Go(room) => !visited.contains(&room),
            Action::Focus(_) | Action::Wait(_) | Action::Drop(_) => false,
            a => a
                .operands(world)
                .into_iter()
                .flatten()
                .any(|o| !handled.contains(&o)),
        };
        let choice = actions.iter().position(fresh).unwrap_or_else(|| {
            loop {
                // Nothing new here: wander.
                let i = rng.below(n);
                if matches!(actions[i], Action::Go(_)) {
                    break i;
                }
            }
        });
        handled.extend(actions[choice].operands(world).into_iter().flatten());
        choice as u32
    };
    primitives(&play(lab, split, task, seed, &mut policy))
}

#[test]
fn farming_exploration_does_not_solve_tasks() {
    let mut lab = Lab::new();
    let (mut farmed, mut expert_exploration, mut n) = (0.0, 0.0, 0.0);
    for split in Split::ALL {
        for task in sample(&lab, split, 50) {
            let values = farm(&mut lab, split, task, 3);
            assert_eq!(values[SUCCESS], 0.0);
            farmed += values[EXPLORATION];
            expert_exploration +=
                primitives(&play(&mut lab, split, task, 3, &mut expert))[EXPLORATION];
            n += 1.0;
        }
    }
    let (farmed, expert_exploration) = (farmed / n, expert_exploration / n);
    println!("exploration: farmer {farmed:.3}, expert {expert_exploration:.3}");
    assert!(farmed > 0.7, "farming reaches only {farmed}");
    assert!(farmed > expert_exploration + 0.3);
}

#[test]
fn bad_calls_are_errors() {
    let mut lab = Lab::new();
    assert!(matches!(lab.step(0), Err(EnvError::NoEpisode(_))));
    assert!(matches!(lab.expert_action(), Err(EnvError::NoEpisode(_))));
    for split in Split::ALL {
        let count = lab.task_count(split);
        assert!(matches!(
            lab.reset(split, count, 0),
            Err(EnvError::UnknownTask(_))
        ));
        assert!(matches!(
            lab.reset(split, u32::MAX, 0),
            Err(EnvError::UnknownTask(_))
        ));
    }
    let observation = lab.reset(Split::Test, 5, 1).unwrap();
    let n = observation.actions.len() as u32;
    assert!(matches!(lab.step(n), Err(EnvError::InvalidAction(_))));
    assert!(matches!(
        lab.step(u32::MAX),
        Err(EnvError::InvalidAction(_))
    ));
    // The episode survives a bad action.
    assert!(lab.step(expert(&lab, 0)).is_ok());
    let setting = |key: &str, value: &str| vec![(key.to_owned(), value.to_owned())];
    for (key, value) in [
        ("max-steps", "0"),
        ("max-steps", "1001"),
        ("max-steps", "many"),
        ("speed", "1"),
    ] {
        let error = lab.configure(&setting(key, value)).unwrap_err();
        assert!(
            matches!(error, EnvError::InvalidSetting(_)),
            "{key}={value}: {error:?}"
        );
    }
    assert_eq!(
        lab.info().max_steps,
        DEFAULT_MAX_STEPS,
        "rejected settings change nothing"
    );
    lab.configure(&setting("max-steps", " 25 ")).unwrap();
    assert_eq!(lab.info().max_steps, 25);
}

#[test]
fn info_declares_the_contract() {
    let lab = Lab::new();
    let info = lab.info();
    assert_eq!(info.name, "lab");
    assert_eq!(info.max_steps, DEFAULT_MAX_STEPS);
    let names: Vec<&str> = info.primitives.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(
        names,
        ["success", "progress", "exploration", "caution", "speed"]
    );
    assert_eq!(info.splits, Split::ALL.to_vec());
    assert_eq!(info.feature_count, 0);
    for split in Split::ALL {
        assert!(lab.task_count(split) >= 500);
    }
    assert_eq!(lab.task_count(Split::Train), 4000);
}

/// Names of every object in an episode's world.
fn object_names(lab: &Lab) -> HashSet<String> {
    let world = lab.episode().unwrap().world();
    world.objects.iter().map(|o| o.name.clone()).collect()
}

#[test]
fn ood_tasks_use_unseen_names_and_longer_chains() {
    let mut lab = Lab::new();
    let mut seen = HashSet::new();
    for split in [Split::Train, Split::Validation, Split::Test] {
        for task in sample(&lab, split, 400) {
            for seed in 0..2 {
                lab.reset(split, task, seed).unwrap();
                seen.extend(object_names(&lab));
            }
        }
    }
    let shared = [
        "stove",
        "sink",
        "freezer",
        "fridge",
        "battery",
        "thermometer",
        "soil",
        "watering can",
        "switch",
    ];
    let mut ood_lengths = 0usize;
    for task in 0..lab.task_count(Split::Ood) {
        lab.reset(Split::Ood, task, 0).unwrap();
        for name in object_names(&lab) {
            assert!(
                shared.contains(&name.as_str()) || name == "water" || !seen.contains(&name),
                "ood task {task} reuses `{name}`"
            );
        }
        let goal = lab.episode().unwrap().goal().clone();
        let world = lab.episode().unwrap().world();
        assert!(
            goal.targets(world)
                .all(|o| !seen.contains(&world.objects[o].name))
                || goal.family() == "state-change"
        );
        ood_lengths += play(&mut lab, Split::Ood, task, 0, &mut expert).len();
    }
    let mut in_lengths = 0usize;
    let test_count = lab.task_count(Split::Test);
    for task in 0..lab.task_count(Split::Ood) {
        in_lengths += play(&mut lab, Split::Test, task % test_count, 0, &mut expert).len();
    }
    assert!(
        ood_lengths > in_lengths * 5 / 4,
        "ood {ood_lengths} vs in-distribution {in_lengths} expert steps"
    );
    // The store room exists only in ood tasks.
    assert!(!seen.iter().any(|n| n.contains("storage")));
    let place = lab
        .reset(Split::Ood, 0, 0)
        .map(|_| lab.episode().unwrap().world().rooms.len());
    assert_eq!(place, Ok(5));
}
