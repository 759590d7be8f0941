//! The versioned contract: every released WIT folder stays frozen, and a
//! component built against an older version keeps loading, passing the
//! conformance check and training exactly as its latest twin does.

use derl::conformance::{CheckConfig, check_environment};
use derl::inner::{EnvSpec, InnerConfig, InnerJob, PolicyConfig, RewardSpec, run_job};
use derl::plugin::{EnvLimits, EnvironmentPlugin};
use derl_env_api::{Split, contract};
use derl_sandbox::Digest;
use derl_tests::{component, sandbox};
use std::path::Path;

fn wit(path: &str) -> Vec<u8> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join("wit");
    std::fs::read(root.join(path)).unwrap_or_else(|e| panic!("wit/{path}: {e}"))
}

/// A released version's WIT never changes: components in the wild were built
/// against these exact bytes. Add a new version folder instead.
#[test]
fn released_wit_folders_are_frozen() {
    for (file, sha256) in [
        (
            "v0.1.0/types.wit",
            "7cf6c47e3f852203803c7358226514f3f9a85eb23f3a35886a414f350b561d9b",
        ),
        (
            "v0.1.0/worlds.wit",
            "8d52a749b62b5c5ec9c394d96ffe6ab43eb8b77eb1ed7905207a8cbbf85c9abd",
        ),
        (
            "v0.2.0/types.wit",
            "c7541cdf1ab8909543066e30a4a1452faf50ffb860d1b2e1326e69584da98f14",
        ),
        (
            "v0.2.0/worlds.wit",
            "6cd7d995f07a0bb82ef14a947d5c5614e8b2231a82cddd859ebc1b242113d573",
        ),
    ] {
        assert_eq!(
            Digest::of(&wit(file)).to_hex(),
            sha256,
            "wit/{file} changed"
        );
    }
}

#[test]
fn every_supported_version_has_its_folder_and_the_latest_is_the_crates_version() {
    for version in contract::SUPPORTED_VERSIONS {
        let worlds = String::from_utf8(wit(&format!("v{version}/worlds.wit"))).unwrap();
        assert!(
            worlds.contains(&format!("package {}@{version};", contract::PACKAGE)),
            "wit/v{version}/worlds.wit declares another package version"
        );
    }
    assert_eq!(
        contract::SUPPORTED_VERSIONS.last(),
        Some(&contract::VERSION)
    );
}

fn load(path: &str) -> EnvironmentPlugin {
    EnvironmentPlugin::load(sandbox(), &component(path), &[], &EnvLimits::default()).unwrap()
}

#[test]
fn a_0_1_0_component_loads_and_its_first_sentence_becomes_the_task() {
    let legacy = load(derl_artifacts::LEGACY_CORRIDOR);
    assert_eq!(legacy.contract_version(), "0.1.0");
    assert_eq!(
        load(derl_artifacts::CORRIDOR).contract_version(),
        contract::VERSION
    );
    assert_eq!(legacy.info().max_steps_in(Split::Ood), 30);
    assert!(!legacy.info().disjoint_splits, "0.1.0 made no claim");
    let mut episode = legacy.instance(0).unwrap();
    let observation = episode.reset(Split::Train, 2, 5).unwrap();
    assert_eq!(observation.task, "Goal: open the door in cell 5");
    assert!(
        observation.text.starts_with(" You are in cell 0."),
        "{:?}",
        observation.text
    );
    let report = check_environment(&legacy, &CheckConfig::default());
    assert!(report.passed(), "{}", report.render());
}

/// A short corridor job on `component`, for comparing its builds.
fn corridor_job(component: &str) -> InnerJob {
    InnerJob {
        env: EnvSpec::named(component),
        reward: RewardSpec::Program("success + 0.5*has_key".into()),
        inner: InnerConfig {
            updates: 3,
            tasks_per_update: 4,
            group_size: 4,
            eval_episodes: 16,
            eval_every: 0,
        },
        policy: PolicyConfig::default(),
        seed: 11,
        warm_start: None,
        eval_splits: vec![Split::Validation, Split::Ood],
        checkpoint: None,
    }
}

/// The same corridor built against 0.1.0 (task inside the text) and against
/// the latest version (task in its own field) trains to the same numbers: the conversion
/// hands the policy the same words in the same order.
#[test]
fn a_0_1_0_component_trains_exactly_as_its_latest_twin() {
    let legacy = run_job(
        sandbox(),
        &corridor_job(derl_artifacts::LEGACY_CORRIDOR),
        |_| {},
    )
    .unwrap();
    let latest = run_job(sandbox(), &corridor_job(derl_artifacts::CORRIDOR), |_| {}).unwrap();
    assert_eq!(legacy.evaluation, latest.evaluation);
    assert_eq!(legacy.last_update, latest.last_update);
    assert_eq!(legacy.env_steps, latest.env_steps);
}

/// The path of a frozen artefact of tests/fixtures/contract-0.2.0/.
fn fixture_path(name: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures")
        .join("contract-0.2.0")
        .join(name);
    path.to_str().expect("a UTF-8 path").to_owned()
}

/// The bytes of a frozen artefact of tests/fixtures/contract-0.2.0/.
fn fixture_0_2_0(name: &str) -> Vec<u8> {
    let path = fixture_path(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn exports(bytes: &[u8]) -> Vec<String> {
    sandbox().load(bytes).unwrap().exports(sandbox())
}

/// The corridor as built against 0.2.0 (before 0.3.0 added the
/// text-primitives world) still loads, passes the conformance check, and
/// trains to exactly the numbers of today's corridor built against 0.3.0.
#[test]
fn a_0_2_0_environment_loads_and_trains_exactly_as_its_0_3_0_twin() {
    let bytes = fixture_0_2_0("corridor.wasm");
    assert!(exports(&bytes).contains(&contract::interface("environment", "0.2.0")));
    let frozen = EnvironmentPlugin::load(sandbox(), &bytes, &[], &EnvLimits::default()).unwrap();
    assert_eq!(frozen.contract_version(), "0.2.0");
    let latest = load(derl_artifacts::CORRIDOR);
    assert_eq!(latest.contract_version(), "0.3.0");
    assert_eq!(frozen.info(), latest.info());
    let report = check_environment(&frozen, &CheckConfig::default());
    assert!(report.passed(), "{}", report.render());

    let old = run_job(
        sandbox(),
        &corridor_job(&fixture_path("corridor.wasm")),
        |_| {},
    )
    .unwrap();
    let new = run_job(sandbox(), &corridor_job(derl_artifacts::CORRIDOR), |_| {}).unwrap();
    assert_eq!(old.evaluation, new.evaluation);
    assert_eq!(old.last_update, new.last_update);
}

/// A reward component built against 0.2.0 scores exactly as the same
/// source built against 0.3.0.
#[test]
fn a_0_2_0_reward_component_scores_exactly_as_its_0_3_0_twin() {
    use derl::plugin::RewardProgram;
    use derl_sandbox::Limits;
    let bytes = fixture_0_2_0("reward_running_max.wasm");
    assert!(exports(&bytes).contains(&contract::interface("reward", "0.2.0")));
    let frozen = RewardProgram::load(sandbox(), &bytes, Limits::default()).unwrap();
    let latest = RewardProgram::load(
        sandbox(),
        &component(derl_artifacts::REWARD_RUNNING_MAX),
        Limits::default(),
    )
    .unwrap();
    assert!(
        exports(&component(derl_artifacts::REWARD_RUNNING_MAX))
            .contains(&contract::interface("reward", "0.3.0"))
    );
    let values = [0.0, 0.5, 1.0, 0.25, 0.75, 0.125];
    assert_eq!(frozen.info(), latest.info());
    assert_eq!(
        frozen.score(3, &values).unwrap(),
        latest.score(3, &values).unwrap()
    );
}
