//! What the binary's integration tests share: a small experiment and a way
//! to run `derl`.

// Each test crate includes this module and uses part of it.
#![allow(dead_code)]

use derl::experiment::{ExperimentConfig, ScoreMode};
use derl_env_api::Split;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// An empty scratch directory for `name` under the target's temporary dir.
pub fn scratch(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Every method, three iterations of two programs, inner loops of a few
/// dozen corridor episodes, one worker: about two seconds in a debug build.
pub fn small_config() -> ExperimentConfig {
    let mut config = ExperimentConfig::with_env("corridor");
    config.experiment.name = "small".into();
    config.experiment.seed = 11;
    config.experiment.workers = 1;
    config.inner.updates = 2;
    config.inner.tasks_per_update = 4;
    config.inner.group_size = 4;
    config.inner.eval_episodes = 8;
    config.outer.score_mode = ScoreMode::Sampled;
    config.policy.model.embedding_dim = 8;
    config.policy.model.hidden_dim = 8;
    config.policy.model.featurizer.bucket_bits = 10;
    config.outer.iterations = 3;
    config.outer.group_size = 2;
    config.meta.pretrain_epochs = 1;
    config.meta.model.grammar.max_tokens = 8;
    config.derl_pop.updates = Some(1);
    config.final_eval.seeds = 1;
    config.final_eval.splits = vec![Split::Validation];
    config.validate().expect("the test config is valid");
    config
}

/// Writes `config` to `dir/config.toml` and returns its path.
pub fn write_config(dir: &Path, config: &ExperimentConfig) -> PathBuf {
    let path = dir.join("config.toml");
    std::fs::write(&path, config.to_toml().unwrap()).unwrap();
    path
}

/// `derl ARGS` with standard output discarded and standard error kept.
pub fn derl(args: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_derl"));
    command
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    command
}

/// Runs `derl ARGS` and asserts that it succeeds.
pub fn run_to_end(args: &[&str]) {
    let output = derl(args).output().expect("derl runs");
    assert!(
        output.status.success(),
        "derl {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

/// The bytes of `dir/file`.
pub fn read(dir: &Path, file: &str) -> Vec<u8> {
    std::fs::read(dir.join(file)).unwrap_or_else(|e| panic!("{}: {e}", dir.join(file).display()))
}

/// `file` of the run in `dir` as it must reproduce: the bytes, except that the wall
/// times `report.md` shows from `timings.jsonl` (cells such as `0.1 min`, which are
/// not results and differ with the machine's load) read as `<wall> min`.
pub fn read_result(dir: &Path, file: &str) -> Vec<u8> {
    let bytes = read(dir, file);
    if file != "report.md" {
        return bytes;
    }
    let text = String::from_utf8(bytes).expect("report.md is UTF-8");
    let masked: Vec<String> = text
        .split('\n')
        .map(|line| {
            line.split(" | ")
                .map(|cell| match cell.strip_suffix(" min") {
                    Some(number) if number.parse::<f64>().is_ok() => "<wall> min",
                    _ => cell,
                })
                .collect::<Vec<_>>()
                .join(" | ")
        })
        .collect();
    masked.join("\n").into_bytes()
}

/// The files a run must reproduce exactly, whatever executor ran it and
/// however often it was interrupted (compare them with [`read_result`]).
pub const COMPARED: [&str; 4] = [
    "summary.json",
    "metrics.jsonl",
    "trajectory.jsonl",
    "report.md",
];
