//! Hostile environments that stay inside every limit of their own sandbox and
//! attack the host side (`plugins/hostile/flood`, one attack per `mode`):
//! each ends in a typed error naming what was wrong, within about a second,
//! and the host goes on loading and running well-behaved environments.

use derl::plugin::EnvironmentPlugin;
use derl_env_api::Split;
use derl_sandbox::{Grants, Limits, PluginError, PluginErrorKind};
use derl_tests::{component, sandbox};
use std::time::{Duration, Instant};

fn load(mode: &str) -> Result<EnvironmentPlugin, PluginError> {
    EnvironmentPlugin::load(
        sandbox(),
        &component(derl_artifacts::HOSTILE_FLOOD),
        &[("mode".into(), mode.into())],
        Limits::default(),
        Grants::default(),
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
fn a_guest_sleeping_in_a_loop_is_stopped() {
    let error = at_step("sleep-loop", 0);
    assert!(
        matches!(
            error.kind,
            PluginErrorKind::FuelExhausted { .. } | PluginErrorKind::Deadline { .. }
        ),
        "{error}"
    );
}
