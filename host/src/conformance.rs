//! `derl plugin check`: a conformance run any environment author can use.
//!
//! Checks determinism of reset and step, admissible actions until done,
//! primitives inside their declared ranges (enforced by [`EnvInstance`]),
//! episodes ending by their split's max-steps, a non-empty task that stays
//! the same through each episode, splits that hold different tasks when the
//! environment says so, the expert solving every sampled task, random
//! rollouts never trapping, and bad calls answered with errors.

use crate::plugin::{EnvInstance, EnvironmentPlugin};
use derl_env_api::{Observation, Split, StepResult};
use derl_sandbox::PluginErrorKind;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::collections::HashMap;
use std::fmt::Write as _;

/// How much of the environment a check samples.
#[derive(Clone, Debug)]
pub struct CheckConfig {
    /// Tasks sampled per split for the expert and determinism checks.
    pub tasks_per_split: u32,
    /// Random-policy episodes per split.
    pub random_episodes: u32,
    /// Seed of the sampling.
    pub seed: u64,
}

impl Default for CheckConfig {
    fn default() -> Self {
        CheckConfig {
            tasks_per_split: 25,
            random_episodes: 50,
            seed: 0,
        }
    }
}

/// One named check and what it found.
#[derive(Clone, Debug)]
pub struct CheckOutcome {
    /// What was checked.
    pub name: String,
    /// Whether it held.
    pub passed: bool,
    /// Evidence, or the first failure.
    pub detail: String,
}

/// The result of a conformance run.
#[derive(Clone, Debug, Default)]
pub struct CheckReport {
    /// Every check, in order.
    pub outcomes: Vec<CheckOutcome>,
    /// Expert success rate per split (when the environment has an expert).
    pub expert_success: Vec<(Split, f64)>,
    /// Uniform random policy success rate per split.
    pub random_success: Vec<(Split, f64)>,
}

impl CheckReport {
    /// Whether every check passed.
    pub fn passed(&self) -> bool {
        self.outcomes.iter().all(|o| o.passed)
    }

    fn record(&mut self, name: &str, result: Result<String, String>) {
        let (passed, detail) = match result {
            Ok(detail) => (true, detail),
            Err(detail) => (false, detail),
        };
        self.outcomes.push(CheckOutcome {
            name: name.to_owned(),
            passed,
            detail,
        });
    }

    /// A readable report.
    pub fn render(&self) -> String {
        let mut out = String::new();
        for o in &self.outcomes {
            let mark = if o.passed { "PASS" } else { "FAIL" };
            let detail = derl_sandbox::printable::printable_line(
                &o.detail,
                derl_sandbox::printable::SHOWN_BYTES,
            );
            let _ = writeln!(out, "[{mark}] {}: {detail}", o.name);
        }
        for (label, rates) in [
            ("expert", &self.expert_success),
            ("random", &self.random_success),
        ] {
            if !rates.is_empty() {
                let cells: Vec<String> = rates
                    .iter()
                    .map(|(s, r)| format!("{s} {:.1}%", r * 100.0))
                    .collect();
                let _ = writeln!(out, "{label} success: {}", cells.join(", "));
            }
        }
        let verdict = if self.passed() {
            "conformant"
        } else {
            "NOT conformant"
        };
        let _ = writeln!(out, "{verdict}");
        out
    }
}

/// Runs every check against `plugin`.
pub fn check_environment(plugin: &EnvironmentPlugin, config: &CheckConfig) -> CheckReport {
    let mut report = CheckReport::default();
    let splits: Vec<Split> = plugin.info().splits.clone();
    report.record(
        "splits have tasks",
        match splits.iter().find(|s| plugin.task_count(**s) == 0) {
            Some(split) => Err(format!("split {split} is declared but has no tasks")),
            None if splits.is_empty() => Err("no split is declared".into()),
            None => Ok(splits
                .iter()
                .map(|s| format!("{s}={}", plugin.task_count(*s)))
                .collect::<Vec<_>>()
                .join(", ")),
        },
    );
    report.record(
        "determinism of reset and step",
        check_determinism(plugin, &splits, config),
    );
    report.record(
        "bad calls are errors, not traps",
        check_bad_calls(plugin, &splits),
    );
    report.record(
        "every observation states the episode's task",
        check_tasks(plugin, &splits, config),
    );
    report.record(
        "splits hold different tasks",
        check_disjoint(plugin, &splits, config),
    );
    const RANDOM: &str = "random rollouts end by their split's max-steps without traps";
    match check_random(plugin, &splits, config) {
        Ok((rates, detail)) => {
            report.random_success = rates;
            report.record(RANDOM, Ok(detail));
        }
        Err(detail) => report.record(RANDOM, Err(detail)),
    }
    match check_expert(plugin, &splits, config) {
        Ok(Some(rates)) => {
            let failing = rates.iter().find(|(_, r)| *r < 1.0);
            let detail = format!("{} tasks per split", config.tasks_per_split);
            report.expert_success = rates.clone();
            report.record(
                "expert solves every sampled task",
                match failing {
                    Some((split, rate)) => Err(format!("{split}: {:.1}% success", rate * 100.0)),
                    None => Ok(detail),
                },
            );
        }
        Ok(None) => report.record(
            "expert solves every sampled task",
            Ok("no expert (skipped)".into()),
        ),
        Err(detail) => report.record("expert solves every sampled task", Err(detail)),
    }
    report
}

fn sample_tasks(plugin: &EnvironmentPlugin, split: Split, config: &CheckConfig) -> Vec<(u32, u64)> {
    let mut rng = ChaCha8Rng::seed_from_u64(config.seed ^ (split.index() << 32));
    let count = plugin.task_count(split);
    (0..config.tasks_per_split.min(count))
        .map(|_| (rng.random_range(0..count), rng.random::<u64>()))
        .collect()
}

/// One step of a transcript: what was seen and what happened.
#[derive(PartialEq, Debug)]
struct Transcript(Vec<(Observation, Option<StepResult>)>);

/// Plays uniformly random actions until the episode ends, which must happen
/// within `max_steps`; an episode truncated before `max_steps` is an error too.
fn play_random(
    episode: &mut EnvInstance,
    split: Split,
    task: u32,
    seed: u64,
    action_seed: u64,
    max_steps: u32,
) -> Result<Transcript, String> {
    let mut rng = ChaCha8Rng::seed_from_u64(action_seed);
    let mut observation = episode
        .reset(split, task, seed)
        .map_err(|e| format!("reset({split}, {task}, {seed}): {e}"))?;
    let mut transcript = vec![(observation.clone(), None)];
    for step in 0..max_steps {
        let action = rng.random_range(0..observation.actions.len() as u32);
        let result = episode
            .step(action)
            .map_err(|e| format!("{split} task {task} seed {seed}, step {step}: {e}"))?;
        observation = result.observation.clone();
        let done = result.done();
        let truncated_early = result.truncated && !result.terminated && step + 1 < max_steps;
        transcript.push((observation.clone(), Some(result)));
        if truncated_early {
            return Err(format!(
                "{split} task {task} seed {seed}: truncated after {} steps, but {split}'s max-steps is {max_steps}",
                step + 1
            ));
        }
        if done {
            return Ok(Transcript(transcript));
        }
    }
    Err(format!(
        "{split} task {task} seed {seed}: the episode did not end within {split}'s max-steps ({max_steps})"
    ))
}

/// The task of every observation of a few random episodes per split: never
/// empty, and the same from reset to the episode's end.
fn check_tasks(
    plugin: &EnvironmentPlugin,
    splits: &[Split],
    config: &CheckConfig,
) -> Result<String, String> {
    let mut episode = plugin.instance(6).map_err(|e| e.to_string())?;
    let mut observations = 0;
    for split in splits {
        let max_steps = plugin.info().max_steps_in(*split);
        for (task, seed) in sample_tasks(plugin, *split, config).into_iter().take(5) {
            let transcript = play_random(&mut episode, *split, task, seed, seed ^ 13, max_steps)?;
            let first = &transcript.0[0].0.task;
            if first.trim().is_empty() {
                return Err(format!(
                    "{split} task {task} seed {seed}: the observation's task is empty (state the goal in `task`, not in `text`)"
                ));
            }
            if let Some((at, (changed, _))) = transcript
                .0
                .iter()
                .enumerate()
                .find(|(_, (o, _))| o.task != *first)
            {
                return Err(format!(
                    "{split} task {task} seed {seed}: the task changed at step {at}: `{first}` became `{}`",
                    changed.task
                ));
            }
            observations += transcript.0.len();
        }
    }
    Ok(format!("{observations} observations"))
}

/// When the environment declares its splits disjoint: no sampled task's first
/// observation (seed 0) equals that of a sampled task of another split.
fn check_disjoint(
    plugin: &EnvironmentPlugin,
    splits: &[Split],
    config: &CheckConfig,
) -> Result<String, String> {
    if !plugin.info().disjoint_splits {
        return Ok("not claimed by the environment (skipped)".into());
    }
    let sampled = CheckConfig {
        tasks_per_split: config.tasks_per_split.saturating_mul(8),
        ..config.clone()
    };
    let mut episode = plugin.instance(7).map_err(|e| e.to_string())?;
    let mut seen: HashMap<(String, String, Vec<String>), (Split, u32)> = HashMap::new();
    for split in splits {
        let mut tasks: Vec<u32> = sample_tasks(plugin, *split, &sampled)
            .into_iter()
            .map(|(task, _)| task)
            .collect();
        tasks.sort_unstable();
        tasks.dedup();
        for task in tasks {
            let first = episode
                .reset(*split, task, 0)
                .map_err(|e| format!("reset({split}, {task}, 0): {e}"))?;
            let key = (first.task, first.text, first.actions);
            match seen.get(&key) {
                Some(&(other, other_task)) if other != *split => {
                    return Err(format!(
                        "{other} task {other_task} and {split} task {task} start with the same observation (task `{}`); the environment declares disjoint splits",
                        key.0
                    ));
                }
                Some(_) => {}
                None => {
                    seen.insert(key, (*split, task));
                }
            }
        }
    }
    Ok(format!(
        "{} distinct first observations across {} splits",
        seen.len(),
        splits.len()
    ))
}

fn check_determinism(
    plugin: &EnvironmentPlugin,
    splits: &[Split],
    config: &CheckConfig,
) -> Result<String, String> {
    let mut first = plugin.instance(1).map_err(|e| e.to_string())?;
    let mut compared = 0;
    for split in splits {
        let max_steps = plugin.info().max_steps_in(*split);
        for (task, seed) in sample_tasks(plugin, *split, config).into_iter().take(5) {
            let a = play_random(&mut first, *split, task, seed, seed ^ 7, max_steps)?;
            // A fresh instance with a different WASI seed must replay it exactly.
            let mut second = plugin.instance(2).map_err(|e| e.to_string())?;
            let b = play_random(&mut second, *split, task, seed, seed ^ 7, max_steps)?;
            if a != b {
                return Err(format!(
                    "{split} task {task} seed {seed}: two runs of the same actions differ"
                ));
            }
            compared += 1;
        }
    }
    Ok(format!("{compared} episodes replayed identically"))
}

fn check_bad_calls(plugin: &EnvironmentPlugin, splits: &[Split]) -> Result<String, String> {
    let split = *splits.first().ok_or("no split")?;
    let mut episode = plugin.instance(3).map_err(|e| e.to_string())?;
    let expect_guest_error =
        |what: &str, result: Result<(), derl_sandbox::PluginError>| match result {
            Err(e) if matches!(e.kind, PluginErrorKind::Guest(_)) => Ok(()),
            Err(e) => Err(format!(
                "{what} failed with `{}` instead of an error: {e}",
                e.kind.name()
            )),
            Ok(()) => Err(format!("{what} was accepted")),
        };
    expect_guest_error("step before any reset", episode.step(0).map(|_| ()))?;
    let count = plugin.task_count(split);
    expect_guest_error(
        &format!("reset of task {count} (one past the last)"),
        episode.reset(split, count, 0).map(|_| ()),
    )?;
    let observation = episode.reset(split, 0, 0).map_err(|e| e.to_string())?;
    let past_end = observation.actions.len() as u32;
    expect_guest_error(
        &format!("step({past_end}) with {past_end} actions"),
        episode.step(past_end).map(|_| ()),
    )?;
    // Finish the episode, then step once more.
    let mut rng = ChaCha8Rng::seed_from_u64(5);
    let mut observation = episode.reset(split, 0, 0).map_err(|e| e.to_string())?;
    for _ in 0..plugin.info().max_steps_in(split) {
        let action = rng.random_range(0..observation.actions.len() as u32);
        let result = episode.step(action).map_err(|e| e.to_string())?;
        if result.done() {
            break;
        }
        observation = result.observation;
    }
    expect_guest_error("step after the episode ended", episode.step(0).map(|_| ()))?;
    Ok("step before reset, unknown task, action out of range, step after the end".into())
}

type Rates = Vec<(Split, f64)>;

fn check_random(
    plugin: &EnvironmentPlugin,
    splits: &[Split],
    config: &CheckConfig,
) -> Result<(Rates, String), String> {
    let success = plugin.info().success_index();
    let mut episode = plugin.instance(4).map_err(|e| e.to_string())?;
    let mut rates = Vec::new();
    let mut total = 0;
    for split in splits {
        let max_steps = plugin.info().max_steps_in(*split);
        let sampled = CheckConfig {
            tasks_per_split: config.random_episodes,
            ..config.clone()
        };
        let tasks = sample_tasks(plugin, *split, &sampled);
        let mut successes = 0;
        for (task, seed) in &tasks {
            let transcript = play_random(&mut episode, *split, *task, *seed, seed ^ 11, max_steps)?;
            let last = transcript.0.last().and_then(|(_, r)| r.as_ref());
            let primitives = last
                .and_then(|r| r.primitives.as_ref())
                .ok_or("no primitives")?;
            successes += usize::from(primitives[success] >= 1.0);
            total += 1;
        }
        rates.push((*split, successes as f64 / tasks.len().max(1) as f64));
    }
    Ok((rates, format!("{total} random episodes")))
}

fn check_expert(
    plugin: &EnvironmentPlugin,
    splits: &[Split],
    config: &CheckConfig,
) -> Result<Option<Rates>, String> {
    let success = plugin.info().success_index();
    let mut episode = plugin.instance(5).map_err(|e| e.to_string())?;
    let mut rates = Vec::new();
    for split in splits {
        let max_steps = plugin.info().max_steps_in(*split);
        let tasks = sample_tasks(plugin, *split, config);
        let mut successes = 0;
        for (task, seed) in &tasks {
            episode
                .reset(*split, *task, *seed)
                .map_err(|e| e.to_string())?;
            let mut solved = false;
            for _ in 0..max_steps {
                let Some(action) = episode.expert_action().map_err(|e| e.to_string())? else {
                    return Ok(None);
                };
                let result = episode.step(action).map_err(|e| e.to_string())?;
                if let Some(primitives) = result.primitives.as_ref().filter(|_| result.done()) {
                    solved = primitives[success] >= 1.0;
                    break;
                }
            }
            successes += usize::from(solved);
        }
        rates.push((*split, successes as f64 / tasks.len().max(1) as f64));
    }
    Ok(Some(rates))
}
