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

fn fails_without_help(output: &Output, expected: &str) {
    let out = text(output);
    assert_eq!(output.status.code(), Some(1), "{out}");
    assert!(
        !out.contains("Usage:"),
        "a program, not a request for help: {out}"
    );
    assert!(out.contains(expected), "{out}");
}

#[test]
fn reward_check_takes_programs_that_start_with_a_hyphen() {
    let checked = derl(&["reward", "check", "-0.1*g3 + g1"]);
    assert!(checked.status.success(), "{}", text(&checked));
    assert!(
        text(&checked).contains("reads 3 primitive(s)"),
        "{}",
        text(&checked)
    );
    let named = derl(&["reward", "check", "-has_key + success", "--env", "corridor"]);
    assert!(named.status.success(), "{}", text(&named));
    fails_without_help(&derl(&["reward", "check", "-h"]), "^");
    let help = derl(&["reward", "check", "--help"]);
    assert!(help.status.success(), "{}", text(&help));
    assert!(text(&help).contains("Usage:"), "{}", text(&help));
}

#[test]
fn reward_compile_takes_programs_that_start_with_a_hyphen() {
    let out = scratch("compile-hyphen.wasm");
    let out_arg = out.to_str().unwrap();
    let compiled = derl(&["reward", "compile", "-g1 + 2", "-o", out_arg]);
    assert!(compiled.status.success(), "{}", text(&compiled));
    assert!(out.is_file());
    let compiled = derl(&["reward", "compile", "-o", out_arg, "-0.5*g2"]);
    assert!(compiled.status.success(), "{}", text(&compiled));
    fails_without_help(&derl(&["reward", "compile", "-h", "-o", out_arg]), "^");
    let _ = std::fs::remove_file(&out);
}

#[test]
fn reward_score_takes_programs_that_start_with_a_hyphen() {
    let scored = derl(&["reward", "score", "-g1 + 2", "--primitives", "0.5"]);
    assert!(scored.status.success(), "{}", text(&scored));
    assert!(text(&scored).contains("-> 1.5"), "{}", text(&scored));
    fails_without_help(&derl(&["reward", "score", "-h", "--primitives", "1"]), "^");
}

#[test]
fn train_takes_a_reward_that_starts_with_a_hyphen() {
    let dir = scratch("train-hyphen");
    let _ = std::fs::remove_dir_all(&dir);
    let args = |reward: &'static str| {
        let mut args = vec!["train", "--env", "corridor", "--reward", reward];
        args.extend(["--steps", "1", "--tasks", "2", "--eval-episodes", "2"]);
        args.extend(["--threads", "1", "--out", dir.to_str().unwrap()]);
        args.into_iter().map(str::to_owned).collect::<Vec<_>>()
    };
    let run = |reward| {
        let args = args(reward);
        derl(&args.iter().map(String::as_str).collect::<Vec<_>>())
    };
    let trained = run("-0.1*g2 + g1");
    assert!(trained.status.success(), "{}", text(&trained));
    let job = std::fs::read_to_string(dir.join("job.json")).unwrap();
    assert!(job.contains("-0.1*g2 + g1"), "{job}");
    let _ = std::fs::remove_dir_all(&dir);
    fails_without_help(&run("-h"), "^");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_reward_component_is_recognised_by_its_bytes_and_scored_under_its_limits() {
    let component = scratch("component.bin");
    let path = component.to_str().unwrap();
    let compiled = derl(&["reward", "compile", "g1 + 0.5*g2", "-o", path]);
    assert!(compiled.status.success(), "{}", text(&compiled));
    let scored = derl(&["reward", "score", path, "--primitives", "1,2"]);
    assert!(scored.status.success(), "{}", text(&scored));
    assert!(text(&scored).contains("-> 2"), "{}", text(&scored));

    let starved = derl(&[
        "reward",
        "score",
        path,
        "--primitives",
        "1,2",
        "--limit",
        "fuel_per_call=10",
    ]);
    assert!(!starved.status.success(), "{}", text(&starved));
    assert!(text(&starved).contains("fuel"), "{}", text(&starved));
    let unknown = derl(&[
        "reward",
        "score",
        path,
        "--primitives",
        "1,2",
        "--limit",
        "fuel=10",
    ]);
    assert!(!unknown.status.success());
    assert!(text(&unknown).contains("`fuel`"), "{}", text(&unknown));
    let python = derl(&[
        "reward",
        "score",
        path,
        "--primitives",
        "1,2",
        "--limit",
        "python",
    ]);
    assert!(python.status.success(), "{}", text(&python));
    let on_program = derl(&[
        "reward",
        "score",
        "g1",
        "--primitives",
        "1",
        "--limit",
        "python",
    ]);
    assert!(!on_program.status.success());
    assert!(
        text(&on_program).contains("--limit"),
        "{}",
        text(&on_program)
    );
    let _ = std::fs::remove_file(&component);

    let missing = derl(&[
        "reward",
        "score",
        "/no/such/reward.wasm",
        "--primitives",
        "1",
    ]);
    assert!(!missing.status.success());
    assert!(
        text(&missing).contains("no component file"),
        "{}",
        text(&missing)
    );
}

#[test]
fn train_reads_policy_and_inner_options_from_a_config_and_the_policy_flag() {
    let dir = scratch("train-config");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let config = dir.join("train.toml");
    std::fs::write(
        &config,
        "[inner]\nupdates = 1\ntasks_per_update = 2\neval_episodes = 2\n\
         [policy.model]\nembedding_dim = 8\nhidden_dim = 8\n\
         [policy.model.featurizer]\nbucket_bits = 10\n\
         [policy.grpo]\nkl_coef = 0.1\n\
         [env.limits.budgets]\nepisode_ms = 20000\n",
    )
    .unwrap();
    let out = dir.join("run");
    let train = |extra: &[&str]| {
        let mut args = vec!["train", "--env", "corridor", "--reward", "g1"];
        args.extend(["--config", config.to_str().unwrap()]);
        args.extend(["--threads", "1", "--out", out.to_str().unwrap()]);
        args.extend(extra);
        let output = derl(&args);
        assert!(!out.exists(), "no run directory for bad options");
        output
    };
    let mut args = vec!["train", "--env", "corridor", "--reward", "g1"];
    args.extend(["--config", config.to_str().unwrap(), "--threads", "1"]);
    args.extend(["--policy", "model.action_context=false"]);
    args.extend(["--policy", "grpo.learning_rate=0.01", "--steps", "2"]);
    args.extend(["--out", out.to_str().unwrap()]);
    let trained = derl(&args);
    assert!(trained.status.success(), "{}", text(&trained));
    let job: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("job.json")).unwrap()).unwrap();
    let policy = &job["policy"];
    assert_eq!(policy["kind"], "action");
    assert_eq!(policy["model"]["embedding_dim"], 8);
    assert_eq!(policy["model"]["featurizer"]["bucket_bits"], 10);
    assert_eq!(policy["model"]["action_context"], false);
    assert_eq!(
        policy["model"]["goal_features"], true,
        "other keys keep the defaults"
    );
    assert_eq!(policy["grpo"]["learning_rate"], 0.01);
    assert_eq!(policy["grpo"]["kl_coef"], 0.1);
    assert_eq!(
        policy["grpo"]["epochs"], 2,
        "the inner loop's default, not GRPO's"
    );
    assert_eq!(policy["grpo"]["threads"], 1);
    assert_eq!(job["inner"]["updates"], 2, "--steps overrides the config");
    assert_eq!(job["inner"]["tasks_per_update"], 2);
    assert_eq!(
        job["env"]["limits"]["budgets"]["episode_ms"], 20000,
        "the environment's limits come from [env.limits]"
    );
    let _ = std::fs::remove_dir_all(&out);

    let unknown_flag_key = train(&["--policy", "model.bogus=1"]);
    assert!(!unknown_flag_key.status.success());
    assert!(
        text(&unknown_flag_key).contains("bogus"),
        "{}",
        text(&unknown_flag_key)
    );
    let unknown_kind = train(&["--policy", "kind=transformer"]);
    assert!(!unknown_kind.status.success());
    let message = text(&unknown_kind);
    assert!(
        message.contains("transformer") && message.contains("action"),
        "{message}"
    );
    std::fs::write(
        &config,
        "[inner]\nupdates = 1\n[policy.grpo]\nlearnin_rate = 0.1\n",
    )
    .unwrap();
    let unknown_file_key = train(&[]);
    assert!(!unknown_file_key.status.success());
    assert!(
        text(&unknown_file_key).contains("learnin_rate"),
        "{}",
        text(&unknown_file_key)
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn run_names_an_unknown_executor_and_the_known_ones() {
    let dir = scratch("executor");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let config = dir.join("x.toml");
    std::fs::write(&config, "[env]\ncomponent = \"corridor\"\n").unwrap();
    let out = dir.join("run");
    let output = derl(&[
        "run",
        config.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--executor",
        "slurm",
    ]);
    let message = text(&output);
    assert!(!output.status.success(), "{message}");
    assert!(message.contains("--executor is `slurm`"), "{message}");
    assert!(message.contains("known: local"), "{message}");
    assert!(!out.join("config.toml").exists(), "nothing is started");
    let _ = std::fs::remove_dir_all(&dir);
}
