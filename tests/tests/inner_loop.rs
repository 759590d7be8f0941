//! The inner loop end to end: a policy trained with GRPO on a sandboxed
//! environment with a compiled Meta-Reward, evaluated, checkpointed,
//! reloaded; the same job twice gives the same numbers; a failing reward
//! stops training with its typed error.

use derl::inner::{
    EnvPool, EnvSpec, InnerConfig, InnerJob, JobError, PolicyConfig, PolicyLearner, RewardSpec,
    evaluate, run_job,
};
use derl_env_api::Split;
use derl_learn::PolicyKernel;
use derl_sandbox::PluginErrorKind;
use derl_tests::sandbox;
use std::path::PathBuf;

/// A small job on the 100-line corridor: walk to the key, take it, open the
/// door.
fn corridor_job(reward: &str, seed: u64) -> InnerJob {
    InnerJob {
        env: EnvSpec::named("corridor"),
        reward: RewardSpec::Program(reward.into()),
        inner: InnerConfig {
            updates: 25,
            tasks_per_update: 8,
            group_size: 8,
            eval_episodes: 64,
            eval_every: 0,
        },
        policy: PolicyConfig::default(),
        seed,
        warm_start: None,
        eval_splits: vec![Split::Validation, Split::Ood],
        checkpoint: None,
    }
}

fn scratch(name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(name);
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

/// The corridor's text says where the agent, the key and the door are as
/// "in cell N" three times over, so a bag-of-words policy cannot tell its own
/// cell from the key's: the best memoryless policy is stochastic and about
/// two thirds successful. (derl-learn's `learning` tests train to >= 90% on
/// tasks this policy can represent.)
#[test]
fn training_lifts_success_well_above_chance() {
    let sandbox = sandbox();
    let untrained = run_job(
        sandbox,
        &InnerJob {
            inner: InnerConfig {
                updates: 0,
                ..corridor_job("success", 3).inner
            },
            ..corridor_job("success + 0.5*has_key", 3)
        },
        |_| {},
    )
    .unwrap();
    let trained = run_job(sandbox, &corridor_job("success + 0.5*has_key", 3), |_| {}).unwrap();
    let before = untrained.validation_success();
    let after = trained.validation_success();
    assert!(
        before < 0.35,
        "the untrained policy already succeeds: {before}"
    );
    assert!(after >= 0.5, "validation success after training: {after}");
    assert!(after >= before + 0.25, "from {before} to {after}");
}

#[test]
fn the_same_job_gives_the_same_result() {
    let sandbox = sandbox();
    let job = InnerJob {
        inner: InnerConfig {
            updates: 4,
            ..corridor_job("success", 0).inner
        },
        ..corridor_job("success + 0.5*has_key", 11)
    };
    let mut first_updates = Vec::new();
    let first = run_job(sandbox, &job, |u| first_updates.push(u.clone())).unwrap();
    let mut second_updates = Vec::new();
    let second = run_job(sandbox, &job, |u| second_updates.push(u.clone())).unwrap();
    assert_eq!(first, second);
    assert_eq!(first_updates, second_updates);
    let other_seed = run_job(sandbox, &InnerJob { seed: 12, ..job }, |_| {}).unwrap();
    assert_ne!(first.last_update, other_seed.last_update);
}

#[test]
fn threads_change_no_number() {
    let sandbox = sandbox();
    let run = |threads| {
        let mut job = InnerJob {
            inner: InnerConfig {
                updates: 3,
                ..corridor_job("success", 0).inner
            },
            ..corridor_job("success + 0.5*has_key", 13)
        };
        job.policy.grpo.threads = threads;
        job.policy.grpo.microbatch_decisions = 64;
        let mut updates = Vec::new();
        let result = run_job(sandbox, &job, |u| updates.push(u.clone())).unwrap();
        (result, updates)
    };
    let one = run(1);
    assert!(
        one.1
            .iter()
            .all(|u| u.learner["optimizer_steps"].as_u64() > Some(1))
    );
    assert_eq!(run(3), one);
}

/// The feature cache only remembers what featurizing computes: on household's texts
/// (clauses that repeat from step to step, actions that come back, the task's goal terms),
/// a job gives the same numbers with it and without it, on either kernel.
#[test]
fn the_feature_cache_changes_no_number() {
    let sandbox = sandbox();
    let run = |kernel, feature_cache| {
        let mut job = InnerJob {
            env: EnvSpec::named("household"),
            inner: InnerConfig {
                updates: 2,
                tasks_per_update: 4,
                group_size: 4,
                eval_episodes: 8,
                eval_every: 0,
            },
            ..corridor_job("success + 0.5*progress", 21)
        };
        job.policy.model.kernel = kernel;
        job.policy.feature_cache = feature_cache;
        let mut updates = Vec::new();
        let result = run_job(sandbox, &job, |u| updates.push(u.clone())).unwrap();
        (result, updates)
    };
    for kernel in [PolicyKernel::Fused, PolicyKernel::Candle] {
        let cached = run(kernel, true);
        assert!(cached.1.iter().all(|u| u.env_steps > 0));
        assert_eq!(run(kernel, false), cached, "{kernel:?}");
    }
}

#[test]
fn validation_during_training_is_measured_without_changing_the_training() {
    let sandbox = sandbox();
    let job = |eval_every| InnerJob {
        inner: InnerConfig {
            updates: 6,
            eval_every,
            ..corridor_job("success", 0).inner
        },
        ..corridor_job("success + 0.5*has_key", 5)
    };
    let run = |eval_every| {
        let mut updates = Vec::new();
        let result = run_job(sandbox, &job(eval_every), |u| updates.push(u.clone())).unwrap();
        (result, updates)
    };
    let (quiet, quiet_updates) = run(0);
    let (watched, watched_updates) = run(2);
    assert_eq!(quiet.evaluation, watched.evaluation);
    let measured: Vec<u32> = watched_updates
        .iter()
        .filter(|u| u.validation.is_some())
        .map(|u| u.update)
        .collect();
    assert_eq!(measured, [1, 3], "every 2 updates, not after the last");
    for (quiet, watched) in quiet_updates.iter().zip(&watched_updates) {
        assert!(quiet.validation.is_none());
        assert_eq!(
            *quiet,
            derl::inner::UpdateRecord {
                validation: None,
                ..watched.clone()
            }
        );
    }
    // The measured values are success rates on the final evaluation's tasks: after the
    // last update of a 4-update run they are that run's final validation figures.
    let (four, _) = {
        let mut updates = Vec::new();
        let result = run_job(
            sandbox,
            &InnerJob {
                inner: InnerConfig {
                    updates: 4,
                    ..job(0).inner
                },
                ..job(0)
            },
            |u| updates.push(u.clone()),
        )
        .unwrap();
        (result, updates)
    };
    let at_four = watched_updates[3].validation.unwrap();
    assert_eq!(
        at_four,
        (
            four.evaluation.greedy(Split::Validation).unwrap(),
            four.evaluation.sampled(Split::Validation).unwrap()
        )
    );
}

#[test]
fn a_checkpoint_reloads_to_identical_scores() {
    let sandbox = sandbox();
    let dir = scratch("inner-loop-checkpoint");
    let job = InnerJob {
        inner: InnerConfig {
            updates: 6,
            ..corridor_job("success", 0).inner
        },
        checkpoint: Some(dir.clone()),
        ..corridor_job("success + 0.5*has_key", 5)
    };
    run_job(sandbox, &job, |_| {}).unwrap();
    let score = |seed: u64| {
        let env = job.env.load(sandbox).unwrap();
        let features = env.info().feature_count as usize;
        let mut learner = PolicyLearner::warm_start(&job.policy, &dir, features, 0).unwrap();
        let mut pool = EnvPool::new(env, 9);
        evaluate(&mut pool, &mut learner, &[Split::Validation], 32, seed).unwrap()
    };
    let fresh_env = job.env.load(sandbox).unwrap();
    let mut reference = PolicyLearner::new(&job.policy, 0, 1).unwrap();
    let untrained = evaluate(
        &mut EnvPool::new(fresh_env, 9),
        &mut reference,
        &[Split::Validation],
        32,
        7,
    )
    .unwrap();
    assert_eq!(score(7), score(7));
    assert_ne!(
        score(7).0,
        untrained.0,
        "the checkpoint holds the trained weights"
    );
    let metadata = derl_learn::checkpoint::read_metadata(&dir).unwrap();
    assert_eq!(
        metadata.user["env_sha256"].as_str().unwrap().len(),
        64,
        "the checkpoint records the environment's sha256"
    );
}

#[test]
fn a_program_that_does_not_fit_the_environment_is_the_rewards_fault() {
    let sandbox = sandbox();
    for program in ["success + g3", "sucess", "1 +"] {
        let error = run_job(sandbox, &corridor_job(program, 0), |_| {}).unwrap_err();
        assert!(
            matches!(error, JobError::InvalidProgram(_)),
            "{program}: {error}"
        );
        assert!(error.is_reward_fault());
    }
}

#[test]
fn a_reward_that_returns_nan_stops_training_with_invalid_output() {
    let sandbox = sandbox();
    // Both primitives are 0 or 1; 0/0 is defined as 0 by the language, but
    // an overflow to infinity is an invalid output.
    let job = corridor_job("1e308 * 1e308 * (success + 1)", 0);
    let error = run_job(sandbox, &job, |_| {}).unwrap_err();
    let JobError::Reward(plugin_error) = &error else {
        panic!("expected a reward failure, got {error}");
    };
    assert!(
        matches!(plugin_error.kind, PluginErrorKind::InvalidOutput(_)),
        "{plugin_error}"
    );
}

#[test]
fn a_job_file_round_trips_through_json() {
    let job = InnerJob {
        warm_start: Some(PathBuf::from("runs/x/policy")),
        ..corridor_job("success", 4)
    };
    let text = serde_json::to_string(&job).unwrap();
    let back: InnerJob = serde_json::from_str(&text).unwrap();
    assert_eq!(job, back);
    let unknown = text.replacen("\"seed\"", "\"sead\"", 1);
    let error = serde_json::from_str::<InnerJob>(&unknown).unwrap_err();
    assert!(error.to_string().contains("sead"), "{error}");
}
