//! `derl run` killed (SIGKILL) at 20 seeded random moments of a small run,
//! then continued with `derl run --resume`: every resumed run ends with the
//! same summary, metrics and trajectory, byte for byte, as the run that was
//! never interrupted.

use derl::experiment::{ExperimentConfig, ScoreMode};
use derl_env_api::Split;
use derl_env_api::seeds::SplitMix64;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

const KILLS: usize = 20;
/// The files a resumed run must reproduce exactly.
const COMPARED: [&str; 4] = [
    "summary.json",
    "metrics.jsonl",
    "trajectory.jsonl",
    "report.md",
];

fn scratch() -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("derl-kill-resume");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Every method, two iterations of two programs, inner loops of a few
/// dozen corridor episodes, one worker (the kills race one process, not a
/// pool).
fn small_config() -> ExperimentConfig {
    let mut config = ExperimentConfig::with_env("corridor");
    config.experiment.name = "kill".into();
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

fn derl(args: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_derl"));
    command
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    command
}

fn run_to_end(args: &[&str]) {
    let output = derl(args).output().expect("derl runs");
    assert!(
        output.status.success(),
        "derl {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

fn read(dir: &Path, file: &str) -> Vec<u8> {
    std::fs::read(dir.join(file)).unwrap_or_else(|e| panic!("{}: {e}", dir.join(file).display()))
}

#[test]
fn a_run_killed_at_any_moment_resumes_to_the_same_results() {
    let root = scratch();
    let config = root.join("config.toml");
    std::fs::write(&config, small_config().to_toml().unwrap()).unwrap();
    let config = config.to_str().unwrap();

    let reference = root.join("reference");
    let started = Instant::now();
    run_to_end(&["run", config, "--out", reference.to_str().unwrap()]);
    let whole = started.elapsed();

    let mut rng = SplitMix64::new(0x6b69_6c6c);
    let mut interrupted = 0;
    for kill in 0..KILLS {
        let dir = root.join(format!("killed-{kill:02}"));
        let dir_arg = dir.to_str().unwrap();
        let at = whole.mul_f64(rng.next_unit());
        let mut child = derl(&["run", config, "--out", dir_arg])
            .spawn()
            .expect("derl runs");
        std::thread::sleep(at);
        let _ = child.kill(); // SIGKILL
        let status = child.wait().unwrap();
        if !status.success() {
            interrupted += 1;
        }
        if dir.join("config.toml").exists() {
            run_to_end(&["run", "--resume", dir_arg]);
        } else {
            // Killed before the run existed: the user starts it again.
            run_to_end(&["run", config, "--out", dir_arg]);
        }
        for file in COMPARED {
            assert!(
                read(&reference, file) == read(&dir, file),
                "{file} differs after a kill at {at:?} of {whole:?} ({})",
                dir.display()
            );
        }
    }
    assert!(
        interrupted > 0,
        "every kill came after the run had finished ({whole:?})"
    );
    let _ = std::fs::remove_dir_all(&root);
}
