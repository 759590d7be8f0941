//! Same seeds, same bytes: across runs, across a checkpoint/resume, across thread counts.

mod common;

use std::path::PathBuf;
use std::process::Command;

use candle_core::Device;
use common::{DoorChain, grpo_config, new_policy, train};
use derl_learn::grpo::{GrpoConfig, GrpoTrainer, UpdateStats};
use derl_learn::{ActionPolicy, ActionPolicyConfig, PolicyModel};
use serde_json::json;

const TASK: DoorChain = DoorChain {
    stages: 3,
    doors: 4,
};

fn with_kl(seed: u64) -> GrpoConfig {
    GrpoConfig {
        kl_coef: 0.05,
        entropy_coef: 0.01,
        ..grpo_config(seed)
    }
}

/// Bit-exact comparison (`f64 ==` would let `0.0 == -0.0` through).
fn fingerprint(stats: &[UpdateStats]) -> String {
    serde_json::to_string(stats).unwrap()
}

fn run(updates: u64) -> (Vec<UpdateStats>, String) {
    let policy = new_policy(5);
    let mut trainer = GrpoTrainer::new(with_kl(6), &policy).unwrap();
    let stats = train(TASK, &policy, &mut trainer, 0, updates, 7);
    (stats, policy.parameters().digest().unwrap())
}

#[test]
fn same_seed_gives_identical_metrics_and_weights() {
    let (first, first_digest) = run(4);
    let (second, second_digest) = run(4);
    assert_eq!(fingerprint(&first), fingerprint(&second));
    for (a, b) in first.iter().zip(&second) {
        assert_eq!(a.loss.to_bits(), b.loss.to_bits());
        assert_eq!(a.grad_norm.to_bits(), b.grad_norm.to_bits());
    }
    assert_eq!(first_digest, second_digest);
    assert!(first.iter().all(|s| s.kl.is_some()));
    assert!(
        first
            .iter()
            .any(|s| s.clip_fraction > 0.0 || s.ratio_max > 1.0)
    );

    let policy = new_policy(5);
    let mut trainer = GrpoTrainer::new(with_kl(99), &policy).unwrap();
    let other_shuffle = train(TASK, &policy, &mut trainer, 0, 4, 7);
    assert_ne!(fingerprint(&first), fingerprint(&other_shuffle));
}

fn scratch_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("derl-learn-it-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

#[test]
fn resuming_from_a_checkpoint_continues_bit_for_bit() {
    let dir = scratch_dir("resume");
    let policy = new_policy(5);
    let mut trainer = GrpoTrainer::new(with_kl(6), &policy).unwrap();
    train(TASK, &policy, &mut trainer, 0, 3, 7);
    policy
        .save(&dir, &json!({"update": trainer.updates()}))
        .unwrap();
    trainer.save_state(&dir).unwrap();
    let uninterrupted = train(TASK, &policy, &mut trainer, 3, 2, 7);

    let (resumed_policy, user) = ActionPolicy::load(&dir, &Device::Cpu).unwrap();
    assert_eq!(user, json!({"update": 3}));
    let mut resumed_trainer = GrpoTrainer::load_state(&dir, &resumed_policy).unwrap();
    assert_eq!(resumed_trainer.updates(), 3);
    let resumed = train(TASK, &resumed_policy, &mut resumed_trainer, 3, 2, 7);
    assert_eq!(fingerprint(&uninterrupted), fingerprint(&resumed));
    assert_eq!(
        policy.parameters().digest().unwrap(),
        resumed_policy.parameters().digest().unwrap()
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Prints a digest of a training run big enough for candle's matrix products to use
/// several threads; run by the test below in child processes with different
/// `RAYON_NUM_THREADS`.
#[test]
#[ignore = "helper run in a child process by training_is_identical_across_thread_counts"]
fn print_training_fingerprint() {
    let policy = ActionPolicy::new(
        ActionPolicyConfig {
            embedding_dim: 32,
            hidden_dim: 64,
            seed: 11,
            ..ActionPolicyConfig::default()
        },
        &Device::Cpu,
    )
    .unwrap();
    let mut trainer = GrpoTrainer::new(
        GrpoConfig {
            minibatch_decisions: 1024,
            microbatch_decisions: 400,
            kl_coef: 0.01,
            ..grpo_config(12)
        },
        &policy,
    )
    .unwrap();
    let task = DoorChain {
        stages: 3,
        doors: 24,
    };
    let mut stats = Vec::new();
    for update in 0..2 {
        let mut rng = common::rollout_rng(13, update);
        let (groups, _) = task.rollout(&policy, 128, 8, false, &mut rng);
        stats.push(trainer.update(&policy, &groups).unwrap());
    }
    println!(
        "FINGERPRINT {} {}",
        policy.parameters().digest().unwrap(),
        sha_of(&fingerprint(&stats))
    );
}

fn sha_of(text: &str) -> String {
    use sha2::Digest;
    format!("{:x}", sha2::Sha256::digest(text.as_bytes()))
}

#[test]
fn training_is_identical_across_thread_counts() {
    let executable = std::env::current_exe().unwrap();
    let fingerprints: Vec<(usize, String)> = [1usize, 2, 3]
        .into_iter()
        .map(|threads| {
            let output = Command::new(&executable)
                .args([
                    "print_training_fingerprint",
                    "--exact",
                    "--ignored",
                    "--nocapture",
                ])
                .env("RAYON_NUM_THREADS", threads.to_string())
                .output()
                .unwrap();
            let stdout = String::from_utf8_lossy(&output.stdout);
            assert!(
                output.status.success(),
                "child failed: {stdout}\n{}",
                String::from_utf8_lossy(&output.stderr)
            );
            let line = stdout
                .lines()
                .find_map(|line| line.strip_prefix("FINGERPRINT "))
                .unwrap_or_else(|| panic!("no fingerprint in {stdout}"))
                .to_owned();
            (threads, line)
        })
        .collect();
    eprintln!("{fingerprints:#?}");
    assert!(
        fingerprints.windows(2).all(|pair| pair[0].1 == pair[1].1),
        "{fingerprints:#?}"
    );
}
