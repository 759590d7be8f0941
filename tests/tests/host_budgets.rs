//! Hostile environments that stay inside every limit of their own sandbox and
//! attack the host side (`plugins/hostile/flood`, one attack per `mode`):
//! each ends in a typed error naming what was wrong, within about a second,
//! and the host goes on loading and running well-behaved environments.

use derl::inner::{EnvSpec, InnerConfig, InnerJob, PolicyConfig, RewardSpec, run_job};
use derl::plugin::{EnvLimits, EnvironmentPlugin, HostBudgets};
use derl_env_api::Split;
use derl_sandbox::{PluginError, PluginErrorKind};
use derl_tests::{component, sandbox};
use std::time::{Duration, Instant};

fn load(mode: &str) -> Result<EnvironmentPlugin, PluginError> {
    EnvironmentPlugin::load(
        sandbox(),
        &component(derl_artifacts::HOSTILE_FLOOD),
        &[("mode".into(), mode.into())],
        &EnvLimits::default(),
    )
}

/// Runs `attack`, checks it failed within a few seconds, then checks that a
/// benign instance of the same component still loads and plays.
fn attack(mode: &str, attack: impl FnOnce() -> Result<(), PluginError>) -> PluginError {
    let started = Instant::now();
    let error = attack().expect_err(mode);
    let elapsed = started.elapsed();
    assert!(
        elapsed < Duration::from_secs(5),
        "{mode} took {elapsed:?}: {error}"
    );
    let benign = load("benign").unwrap();
    let mut episode = benign.instance(0).unwrap();
    episode.reset(Split::Train, 0, 0).unwrap();
    assert!(episode.step(0).unwrap().done());
    error
}

fn at_load(mode: &str) -> PluginError {
    attack(mode, || load(mode).map(drop))
}

fn at_reset(mode: &str) -> PluginError {
    let plugin = load(mode).unwrap();
    attack(mode, || {
        plugin.instance(0)?.reset(Split::Train, 0, 0).map(drop)
    })
}

/// Plays action `action` until the episode ends or fails.
fn at_step(mode: &str, action: u32) -> PluginError {
    let plugin = load(mode).unwrap();
    attack(mode, || {
        let mut episode = plugin.instance(0)?;
        episode.reset(Split::Train, 0, 0)?;
        loop {
            if episode.step(action)?.done() {
                return Ok(());
            }
        }
    })
}

fn over_budget(error: &PluginError, what: &str) {
    match &error.kind {
        PluginErrorKind::OverBudget { what: named, .. } => {
            assert!(named.contains(what), "{error}")
        }
        other => panic!("expected over-budget ({what}), got {other:?}"),
    }
}

fn invalid(error: &PluginError, says: &str) {
    match &error.kind {
        PluginErrorKind::InvalidOutput(message) => assert!(message.contains(says), "{error}"),
        other => panic!("expected invalid output ({says}), got {other:?}"),
    }
}

#[test]
fn oversized_observations_actions_and_feedback_are_over_budget() {
    over_budget(&at_reset("huge-text"), "observation task and text");
    over_budget(&at_reset("many-actions"), "admissible actions");
    over_budget(&at_reset("long-action"), "action's text");
    over_budget(&at_step("huge-feedback", 0), "feedback");
    over_budget(&at_load("many-features"), "numeric features");
    over_budget(&at_load("max-features"), "numeric features");
}

#[test]
fn the_host_ends_episodes_whatever_the_guest_says() {
    invalid(
        &at_step("never-ends", 1),
        "did not end at train's max-steps (3)",
    );
    over_budget(&at_load("endless-limit"), "info.max-steps");
}

#[test]
fn declared_info_is_checked_once_at_load() {
    invalid(&at_load("duplicate-names"), "declared twice");
    invalid(&at_load("empty-name"), "is empty");
    invalid(&at_load("positional-name"), "position");
    invalid(&at_load("number-name"), "not an identifier");
    invalid(&at_load("operator-name"), "not an identifier");
    invalid(&at_load("escape-name"), "not an identifier");
    invalid(&at_load("huge-name"), "bytes long");
    invalid(&at_load("no-splits"), "info.splits is empty");
}

#[test]
fn primitives_only_at_the_end_and_an_expert_inside_the_actions() {
    invalid(&at_step("early-primitives", 1), "still running");
    let plugin = load("bad-expert").unwrap();
    let error = attack("bad-expert", || {
        let mut episode = plugin.instance(0)?;
        episode.reset(Split::Train, 0, 0)?;
        episode.expert_action().map(drop)
    });
    invalid(&error, "the expert chose action 99");
}

#[test]
fn terminal_escapes_never_reach_a_message_raw() {
    let plugin = load("escape-text").unwrap();
    let mut episode = plugin.instance(0).unwrap();
    let error = episode.step(0).unwrap_err();
    let shown = error.to_string();
    assert!(
        !shown.contains('\u{1b}') && !shown.contains('\u{7}'),
        "{shown:?}"
    );
    assert!(shown.contains("\\u{1b}[2J"), "{shown}");
    // Run files keep the exact bytes: the observation itself is untouched.
    let observation = episode.reset(Split::Train, 0, 0).unwrap();
    assert!(observation.task.contains('\u{1b}'));
    assert!(plugin.info().description.contains('\u{1b}'));
}

#[test]
fn a_guest_sleeping_in_a_loop_runs_out_of_fuel() {
    // Each virtual millisecond of sleep costs the fuel of a millisecond of
    // work, so the first call ends long before its wall-clock deadline.
    let started = Instant::now();
    let error = at_step("sleep-loop", 0);
    assert!(
        matches!(error.kind, PluginErrorKind::FuelExhausted { .. }),
        "{error}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
}

#[test]
fn a_guest_spinning_on_the_clock_runs_out_of_fuel() {
    // Every clock reading is a host call and costs fuel.
    let error = at_step("clock-spin", 0);
    assert!(
        matches!(error.kind, PluginErrorKind::FuelExhausted { .. }),
        "{error}"
    );
}

fn slow_steps(budgets: HostBudgets) -> EnvSpec {
    EnvSpec {
        settings: vec![("mode".into(), "slow-steps".into())],
        limits: EnvLimits {
            budgets,
            ..EnvLimits::default()
        },
        ..EnvSpec::named(derl_artifacts::HOSTILE_FLOOD)
    }
}

#[test]
fn an_episode_of_slow_steps_ends_at_its_time_budget() {
    let budgets = HostBudgets {
        episode_ms: 300,
        ..HostBudgets::default()
    };
    let plugin = slow_steps(budgets).load(sandbox()).unwrap();
    let mut episode = plugin.instance(0).unwrap();
    let started = Instant::now();
    let error = (|| {
        episode.reset(Split::Train, 0, 0)?;
        while !episode.step(1)?.done() {}
        Ok::<_, PluginError>(())
    })()
    .expect_err("the episode outlasts its budget");
    assert!(
        matches!(&error.kind, PluginErrorKind::TimeBudget { scope, limit_ms: 300, .. } if scope == "episode"),
        "{error}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    assert!(!episode.is_running());
    // The next episode starts afresh, on a fresh instance.
    episode.reset(Split::Train, 0, 0).unwrap();
}

#[test]
fn a_job_of_slow_steps_ends_at_its_time_budget() {
    let budgets = HostBudgets {
        job_ms: 300,
        ..HostBudgets::default()
    };
    let job = InnerJob {
        env: slow_steps(budgets),
        reward: RewardSpec::Program("success".into()),
        inner: InnerConfig {
            updates: 2,
            tasks_per_update: 2,
            group_size: 2,
            eval_episodes: 2,
            eval_every: 0,
        },
        policy: PolicyConfig::default(),
        seed: 0,
        warm_start: None,
        eval_splits: vec![Split::Validation],
        checkpoint: None,
    };
    let started = Instant::now();
    let error = run_job(sandbox(), &job, |_| {}).expect_err("the job outlasts its budget");
    let shown = format!("{error:#}");
    assert!(
        shown.contains("during one job, beyond its 300 ms budget"),
        "{shown}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "{:?}",
        started.elapsed()
    );
}

#[test]
fn time_budgets_travel_with_a_job_file() {
    let spec = slow_steps(HostBudgets {
        episode_ms: 5,
        ..HostBudgets::default()
    });
    let text = serde_json::to_string(&spec).unwrap();
    assert!(text.contains(r#""episode_ms":5"#), "{text}");
    let back: EnvSpec = serde_json::from_str(&text).unwrap();
    assert_eq!(back, spec);
    // Default limits are left out, so earlier job files read the same.
    let plain = serde_json::to_string(&EnvSpec::named("household")).unwrap();
    assert!(!plain.contains("limits"), "{plain}");
}
