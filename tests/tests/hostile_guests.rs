//! Hostile components: each misbehaviour ends in its typed error within about
//! a second, the host survives, and a fresh instance of a well-behaved
//! component works afterwards.

use derl::plugin::{EnvLimits, EnvironmentPlugin, RewardProgram, inspect};
use derl_env_api::Split;
use derl_sandbox::{Limits, PluginError, PluginErrorKind};
use derl_tests::{component, sandbox, tight_limits};
use std::time::{Duration, Instant};

fn hostile_reward(limits: Limits) -> RewardProgram {
    let bytes = component(derl_artifacts::HOSTILE_REWARD);
    RewardProgram::load(sandbox(), &bytes, limits).expect("hostile reward loads")
}

/// Runs misbehaviour `code`, checks the time it took, then checks that the
/// same program still scores a benign batch.
fn provoke(code: f64, limits: Limits) -> PluginError {
    let program = hostile_reward(limits);
    let started = Instant::now();
    let error = program
        .score(2, &[code, 1.0, 0.0, 2.0])
        .expect_err("the hostile behaviour must fail");
    let elapsed = started.elapsed();
    assert!(
        elapsed < Duration::from_secs(3),
        "behaviour {code} took {elapsed:?}: {error}"
    );
    let benign = program
        .score(2, &[0.0, 1.0, 0.5, 2.0])
        .expect("fresh instance works");
    assert_eq!(benign, vec![1.0, 2.5]);
    error
}

#[test]
fn infinite_loop_runs_out_of_fuel() {
    let error = provoke(1.0, tight_limits());
    assert_eq!(
        error.kind,
        PluginErrorKind::FuelExhausted {
            budget: tight_limits().fuel_per_call
        }
    );
}

#[test]
fn infinite_loop_hits_the_deadline_when_fuel_is_plentiful() {
    let limits = Limits {
        fuel_per_call: u64::MAX / 2,
        deadline_ms: 300,
        ..tight_limits()
    };
    let error = provoke(1.0, limits);
    assert_eq!(error.kind, PluginErrorKind::Deadline { millis: 300 });
}

#[test]
fn memory_bomb_hits_the_cap() {
    let error = provoke(2.0, tight_limits());
    match error.kind {
        PluginErrorKind::MemoryLimit { cap, requested } => {
            assert_eq!(cap, 32 << 20);
            assert!(requested > cap);
        }
        other => panic!("expected a memory limit, got {other:?}"),
    }
}

#[test]
fn unbounded_recursion_overflows_the_stack() {
    assert_eq!(
        provoke(3.0, tight_limits()).kind,
        PluginErrorKind::StackOverflow
    );
}

fn guest_message(error: PluginError) -> String {
    match error.kind {
        PluginErrorKind::Guest(message) => message,
        other => panic!("expected the guest's own error, got {other:?}"),
    }
}

#[test]
fn files_are_unreachable() {
    let message = guest_message(provoke(4.0, tight_limits()));
    assert!(message.contains("could not read /etc/passwd"), "{message}");
    let message = guest_message(provoke(5.0, tight_limits()));
    assert!(
        message.contains("could not read ../Cargo.toml"),
        "{message}"
    );
}

#[test]
fn environment_variables_and_arguments_are_empty() {
    let message = guest_message(provoke(6.0, tight_limits()));
    assert!(message.contains("0 variables, 0 args"), "{message}");
}

#[test]
fn sockets_are_denied() {
    let message = guest_message(provoke(7.0, tight_limits()));
    assert!(message.contains("could not connect"), "{message}");
}

#[test]
fn a_panic_is_a_trap_with_backtrace_and_stderr() {
    let error = provoke(8.0, tight_limits());
    assert!(
        error.stderr.contains("hostile reward panicked on purpose"),
        "{}",
        error.stderr
    );
    match error.kind {
        PluginErrorKind::Trap { message, backtrace } => {
            assert!(message.contains("unreachable"), "{message}");
            assert!(backtrace.is_some_and(|bt| bt.contains("score")));
        }
        other => panic!("expected a trap, got {other:?}"),
    }
}

#[test]
fn nan_scores_are_invalid_output() {
    match provoke(9.0, tight_limits()).kind {
        PluginErrorKind::InvalidOutput(message) => assert!(message.contains("NaN"), "{message}"),
        other => panic!("expected invalid output, got {other:?}"),
    }
}

#[test]
fn extreme_finite_scores_are_refused_for_training() {
    let program = hostile_reward(tight_limits());
    let batch = [13.0, 1.0, 0.0, 2.0];
    // Finite, so a plain scoring call returns them (bit for bit what the
    // program computed); training refuses them before any statistic is taken.
    let scores = program.score(2, &batch).unwrap();
    assert_eq!(scores, [f64::MAX, -1e308]);
    match program.score_for_training(2, &batch).unwrap_err().kind {
        PluginErrorKind::InvalidOutput(message) => {
            assert!(message.contains("beyond the ±1e12"), "{message}")
        }
        other => panic!("expected invalid output, got {other:?}"),
    }
}

#[test]
fn the_wrong_number_of_scores_is_invalid_output() {
    match provoke(10.0, tight_limits()).kind {
        PluginErrorKind::InvalidOutput(message) => {
            assert!(
                message.contains("3 scores returned for 2 episodes"),
                "{message}"
            )
        }
        other => panic!("expected invalid output, got {other:?}"),
    }
}

#[test]
fn flooding_stdout_hits_the_output_limit() {
    let error = provoke(11.0, tight_limits());
    assert_eq!(
        error.kind,
        PluginErrorKind::OutputLimit {
            cap: tight_limits().output_bytes
        }
    );
}

fn hostile_env() -> EnvironmentPlugin {
    let bytes = component(derl_artifacts::HOSTILE_ENV);
    EnvironmentPlugin::load(sandbox(), &bytes, &[], &EnvLimits::sandbox(tight_limits()))
        .expect("hostile env loads")
}

#[test]
fn an_environment_step_that_never_returns_is_stopped_and_the_next_episode_works() {
    let env = hostile_env();
    let mut episode = env.instance(0).unwrap();
    episode.reset(Split::Train, 1, 0).unwrap();
    let started = Instant::now();
    let error = episode.step(0).expect_err("the busy loop must be stopped");
    assert!(started.elapsed() < Duration::from_secs(3));
    assert!(
        matches!(error.kind, PluginErrorKind::FuelExhausted { .. }),
        "{error}"
    );
    // The poisoned instance is replaced transparently on the next reset.
    episode.reset(Split::Train, 0, 0).unwrap();
    let result = episode.step(0).unwrap();
    assert_eq!(result.primitives, Some(vec![1.0]));
}

#[test]
fn a_sleeping_environment_is_charged_and_does_not_block_the_host() {
    let env = hostile_env();
    let mut episode = env.instance(0).unwrap();
    episode.reset(Split::Train, 2, 0).unwrap();
    let started = Instant::now();
    // An hour of virtual sleep costs the fuel of an hour of work: the step is
    // stopped at once instead of holding a host thread.
    let error = episode
        .step(0)
        .expect_err("an hour of sleep is over the fuel budget");
    assert!(started.elapsed() < Duration::from_secs(3));
    assert!(
        matches!(error.kind, PluginErrorKind::FuelExhausted { .. }),
        "{error}"
    );
}

#[test]
fn primitives_outside_their_range_are_invalid_output() {
    let env = hostile_env();
    let mut episode = env.instance(0).unwrap();
    episode.reset(Split::Train, 3, 0).unwrap();
    match episode.step(0).unwrap_err().kind {
        PluginErrorKind::InvalidOutput(message) => {
            assert!(message.contains("outside"), "{message}")
        }
        other => panic!("expected invalid output, got {other:?}"),
    }
}

#[test]
fn environment_errors_are_not_traps() {
    let env = hostile_env();
    let mut episode = env.instance(0).unwrap();
    let error = episode.reset(Split::Train, 99, 0).unwrap_err();
    assert!(
        matches!(error.kind, PluginErrorKind::Guest(ref m) if m.contains("unknown task")),
        "{error}"
    );
    let error = episode.step(0).unwrap_err();
    assert!(
        matches!(error.kind, PluginErrorKind::Guest(ref m) if m.contains("no running episode")),
        "{error}"
    );
}

#[test]
fn a_component_with_the_wrong_interface_is_an_interface_mismatch() {
    let bytes = component(derl_artifacts::HOSTILE_WRONG_INTERFACE);
    let error = RewardProgram::load(sandbox(), &bytes, Limits::default())
        .err()
        .unwrap();
    assert!(
        matches!(error.kind, PluginErrorKind::InterfaceMismatch(_)),
        "{error}"
    );
    let error = EnvironmentPlugin::load(sandbox(), &bytes, &[], &EnvLimits::default())
        .err()
        .unwrap();
    match error.kind {
        PluginErrorKind::InterfaceMismatch(message) => {
            assert!(
                message.contains("derl:plugin/environment@0.1.0"),
                "{message}"
            )
        }
        other => panic!("expected an interface mismatch, got {other:?}"),
    }
}

#[test]
fn a_component_importing_a_foreign_interface_is_refused_by_name() {
    let bytes = component(derl_artifacts::HOSTILE_FOREIGN_IMPORT);
    let error = inspect(sandbox(), &bytes).err().unwrap();
    match error.kind {
        PluginErrorKind::UnsupportedImport(message) => {
            assert!(message.contains("evil:exfiltrate/network"), "{message}")
        }
        other => panic!("expected an unsupported import, got {other:?}"),
    }
}

#[test]
fn a_core_module_and_garbage_are_not_components() {
    for bytes in [&b"\0asm\x01\0\0\0"[..], b"definitely not wasm"] {
        let error = inspect(sandbox(), bytes).err().unwrap();
        assert!(
            matches!(error.kind, PluginErrorKind::NotAComponent(_)),
            "{error}"
        );
    }
}
