//! The `derl` binary as a user runs it: train a small policy, watch it play,
//! and get clear errors for bad arguments.

use std::path::PathBuf;
use std::process::{Command, Output};

fn derl(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_derl"))
        .args(args)
        .env("DERL_CACHE_DIR", scratch("cache"))
        .output()
        .expect("the derl binary runs")
}

fn scratch(name: &str) -> PathBuf {
    std::env::temp_dir().join(format!("derl-cli-{name}-{}", std::process::id()))
}

fn text(output: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

#[test]
fn a_trained_policy_plays_an_episode_on_its_own() {
    let dir = scratch("train");
    let _ = std::fs::remove_dir_all(&dir);
    let dir_arg = dir.to_str().unwrap();
    let trained = derl(&[
        "train",
        "--env",
        "corridor",
        "--reward",
        "g1",
        "--steps",
        "2",
        "--tasks",
        "4",
        "--eval-episodes",
        "4",
        "--out",
        dir_arg,
    ]);
    assert!(trained.status.success(), "{}", text(&trained));
    assert!(text(&trained).contains("validation"), "{}", text(&trained));

    let policy = dir.join("policy");
    let played = derl(&[
        "play",
        "corridor",
        "--policy",
        policy.to_str().unwrap(),
        "--auto",
    ]);
    let out = text(&played);
    assert!(played.status.success(), "{out}");
    assert!(out.contains("policy: ["), "{out}");
    assert!(out.contains('%'), "probabilities are shown: {out}");
    assert!(out.contains("The episode"), "it plays to the end: {out}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn bad_arguments_get_clear_errors() {
    let auto_alone = derl(&["play", "corridor", "--auto"]);
    assert!(!auto_alone.status.success());
    assert!(
        text(&auto_alone).contains("--policy"),
        "{}",
        text(&auto_alone)
    );

    let missing_policy = derl(&["play", "corridor", "--policy", "/no/such/policy"]);
    assert!(!missing_policy.status.success());
    assert!(
        text(&missing_policy).contains("/no/such/policy"),
        "{}",
        text(&missing_policy)
    );

    let bad_program = derl(&[
        "reward",
        "check",
        "success +* progress",
        "--env",
        "corridor",
    ]);
    assert!(!bad_program.status.success());
    assert!(text(&bad_program).contains('^'), "{}", text(&bad_program));

    let unknown_env = derl(&["play", "kitchen"]);
    assert!(!unknown_env.status.success());
    assert!(
        text(&unknown_env).contains("kitchen"),
        "{}",
        text(&unknown_env)
    );
}
