//! `derl plugin check` over every bundled environment: the conformance
//! suite (determinism, admissible actions, primitive ranges, step limits,
//! the expert succeeding everywhere, random rollouts never trapping), run
//! on the real components through the host.

use derl::bundled::ENVIRONMENTS;
use derl::conformance::{CheckConfig, check_environment};
use derl::plugin::{EnvLimits, EnvironmentPlugin};
use derl_env_api::Split;

use derl_tests::sandbox;

/// The bundled environment `name`, loaded with default settings and limits.
fn load(name: &str) -> EnvironmentPlugin {
    let bundled = derl::bundled::environment(name).expect("bundled");
    EnvironmentPlugin::load(sandbox(), bundled.bytes, &[], &EnvLimits::default())
        .unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn check(name: &str) {
    let plugin = load(name);
    let config = CheckConfig {
        tasks_per_split: 12,
        random_episodes: 24,
        seed: 7,
    };
    let report = check_environment(&plugin, &config);
    assert!(report.passed(), "{name}:\n{}", report.render());
    for (split, rate) in &report.expert_success {
        assert_eq!(*rate, 1.0, "{name}: expert success on {split}");
    }
    assert_eq!(report.expert_success.len(), Split::ALL.len(), "{name}");
    let info = plugin.info();
    assert!(
        info.primitives.len() >= 4,
        "{name}: at least four primitives"
    );
    assert!(
        info.primitives
            .iter()
            .any(|p| p.name == "success" || p.name == "outcome"),
        "{name}: a success primitive"
    );
    assert!(
        plugin.task_count(Split::Train) >= 4000,
        "{name}: thousands of train tasks"
    );
    for split in [Split::Validation, Split::Test, Split::Ood] {
        assert!(
            plugin.task_count(split) >= 500,
            "{name}: hundreds of {split} tasks"
        );
    }
}

#[test]
fn household_passes_the_conformance_suite() {
    check("household");
}

#[test]
fn lab_passes_the_conformance_suite() {
    check("lab");
}

#[test]
fn arith_passes_the_conformance_suite() {
    check("arith");
}

#[test]
fn corridor_passes_the_conformance_suite() {
    let plugin = load("corridor");
    let report = check_environment(&plugin, &CheckConfig::default());
    assert!(report.passed(), "{}", report.render());
}

#[test]
fn every_bundled_environment_is_covered() {
    let names: Vec<&str> = ENVIRONMENTS.iter().map(|b| b.name).collect();
    assert_eq!(names, ["household", "lab", "arith", "corridor"]);
}
