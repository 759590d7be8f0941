//! The inner loop: GRPO training of a policy on an environment with a reward
//! program, and evaluation by success rate per split.

use super::rollout::{ActMode, Actor, EnvPool, Episode, EpisodeJob};
use crate::plugin::RewardProgram;
use derl_env_api::Split;
use derl_sandbox::PluginError;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};
use std::time::Instant;

/// One GRPO group: episodes of the same task and seed with their rewards.
pub type ScoredGroup<E> = Vec<(Episode<E>, f64)>;

/// A policy the inner loop can train: it acts, and it learns from groups of
/// scored episodes.
pub trait Learner: Actor {
    /// One GRPO update from `groups` (each group: episodes of the same task
    /// and seed with their rewards). Returns the update's statistics.
    ///
    /// # Errors
    /// When the computation fails.
    fn update(
        &mut self,
        groups: &[ScoredGroup<Self::Encoded>],
        rng: &mut ChaCha8Rng,
    ) -> anyhow::Result<serde_json::Value>;
}

/// The inner loop's budget and shape. Defaults suit the bundled environments.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct InnerConfig {
    /// GRPO updates to run.
    pub updates: u32,
    /// Distinct tasks per update.
    pub tasks_per_update: u32,
    /// Episodes per task (the GRPO group size G).
    pub group_size: u32,
    /// Episodes per split when evaluating.
    pub eval_episodes: u32,
    /// Evaluate validation success every this many updates (0: only at the end).
    pub eval_every: u32,
}

impl Default for InnerConfig {
    fn default() -> Self {
        InnerConfig {
            updates: 150,
            tasks_per_update: 16,
            group_size: 8,
            eval_episodes: 200,
            eval_every: 0,
        }
    }
}

/// Why an inner loop stopped early.
#[derive(Debug, thiserror::Error)]
pub enum InnerError {
    /// The reward program failed (trap, fuel, NaN...): the outer loop scores
    /// such a Meta-Reward -1.
    #[error("the reward program failed: {0}")]
    Reward(PluginError),
    /// The environment or the policy failed.
    #[error(transparent)]
    Other(#[from] anyhow::Error),
}

/// Statistics of one training update.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct UpdateRecord {
    /// Update index, from 0.
    pub update: u32,
    /// Mean reward over the update's episodes.
    pub mean_reward: f64,
    /// Training success rate over the update's episodes.
    pub success: f64,
    /// Mean of each primitive over the update's episodes.
    pub primitive_means: Vec<f64>,
    /// Environment steps taken by the update's rollouts.
    pub env_steps: u64,
    /// The learner's own statistics (loss, KL, entropy...).
    pub learner: serde_json::Value,
    /// Validation success after this update, (greedy, sampled), on the final evaluation's
    /// tasks; only every `eval_every` updates.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub validation: Option<(f64, f64)>,
}

/// Success rates on a fixed, seeded set of tasks.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Evaluation {
    /// (split, greedy success, sampled success).
    pub splits: Vec<(Split, f64, f64)>,
}

impl Evaluation {
    /// Greedy success on `split`, if evaluated.
    pub fn greedy(&self, split: Split) -> Option<f64> {
        self.splits.iter().find(|s| s.0 == split).map(|s| s.1)
    }

    /// Sampled success on `split`, if evaluated.
    pub fn sampled(&self, split: Split) -> Option<f64> {
        self.splits.iter().find(|s| s.0 == split).map(|s| s.2)
    }
}

/// Derives a per-purpose seed from a base seed (one definition for all of
/// derl: [`derl_env_api::seeds`]).
pub use derl_env_api::seeds::derive_seed;

/// Trains `learner` with `reward` for `config.updates` updates; calls
/// `on_update` after each. Every `config.eval_every` updates (before the
/// last) it also measures validation success on the tasks that
/// `evaluate(.., eval_seed)` uses, with their own generators, so the training
/// itself does not change. Returns every update's record and the
/// environment steps of training (evaluation steps not included).
///
/// # Errors
/// [`InnerError::Reward`] when the reward program fails; `Other` for
/// environment or policy failures.
pub fn train<L: Learner>(
    pool: &mut EnvPool,
    reward: &RewardProgram,
    learner: &mut L,
    config: &InnerConfig,
    seed: u64,
    eval_seed: u64,
    mut on_update: impl FnMut(&UpdateRecord),
) -> Result<(Vec<UpdateRecord>, u64), InnerError> {
    let mut rng = ChaCha8Rng::seed_from_u64(derive_seed(seed, 0x7261_696e));
    let success = pool.plugin().info().success_index();
    let stride = pool.plugin().info().primitives.len();
    let train_tasks = pool.plugin().task_count(Split::Train);
    let mut records = Vec::with_capacity(config.updates as usize);
    let mut total_steps = 0;
    for update in 0..config.updates {
        let mut jobs = Vec::new();
        for _ in 0..config.tasks_per_update {
            let job = EpisodeJob {
                split: Split::Train,
                task: rng.random_range(0..train_tasks.max(1)),
                seed: rng.random(),
            };
            jobs.extend(std::iter::repeat_n(job, config.group_size as usize));
        }
        pool.take_times();
        let rollout_started = Instant::now();
        let (episodes, steps) = pool.run(learner, &jobs, ActMode::Sample, &mut rng)?;
        let rollout_seconds = rollout_started.elapsed().as_secs_f64();
        let reward_started = Instant::now();
        total_steps += steps;
        let mut groups = Vec::with_capacity(config.tasks_per_update as usize);
        let mut rewards_sum = 0.0;
        let mut successes = 0usize;
        let mut primitive_sums = vec![0.0; stride];
        for group in episodes.chunks(config.group_size as usize) {
            let values: Vec<f64> = group
                .iter()
                .flat_map(|e| e.primitives.iter().copied())
                .collect();
            let scores = reward
                .score_for_training(stride, &values)
                .map_err(InnerError::Reward)?;
            for (episode, score) in group.iter().zip(&scores) {
                rewards_sum += score;
                successes += usize::from(episode.primitives[success] >= 1.0);
                for (sum, value) in primitive_sums.iter_mut().zip(&episode.primitives) {
                    *sum += value;
                }
            }
            groups.push(group.iter().cloned().zip(scores).collect::<Vec<_>>());
        }
        let reward_seconds = reward_started.elapsed().as_secs_f64();
        let update_started = Instant::now();
        let learner_stats = learner.update(&groups, &mut rng)?;
        let rollout = pool.take_times();
        tracing::debug!(
            update,
            steps,
            rollout_seconds,
            encode_seconds = rollout.encode.as_secs_f64(),
            act_seconds = rollout.act.as_secs_f64(),
            env_seconds = rollout.env.as_secs_f64(),
            pairs = rollout.actions,
            reward_seconds,
            update_seconds = update_started.elapsed().as_secs_f64(),
            "inner-loop update timing (rollout: featurizing, the policy's forward pass and \
             action draw, environment steps)"
        );
        let count = episodes.len().max(1) as f64;
        let evaluates = config.eval_every > 0
            && (update + 1) % config.eval_every == 0
            && update + 1 < config.updates;
        let validation = if evaluates {
            let splits = [Split::Validation];
            let (evaluation, _) =
                evaluate(pool, learner, &splits, config.eval_episodes, eval_seed)?;
            evaluation
                .splits
                .first()
                .map(|&(_, greedy, sampled)| (greedy, sampled))
        } else {
            None
        };
        let record = UpdateRecord {
            validation,
            update,
            mean_reward: rewards_sum / count,
            success: successes as f64 / count,
            primitive_means: primitive_sums.iter().map(|s| s / count).collect(),
            env_steps: steps,
            learner: learner_stats,
        };
        on_update(&record);
        records.push(record);
    }
    Ok((records, total_steps))
}

/// Success rate of `actor` on a fixed, seeded set of `episodes` tasks of
/// `split` (the same set for every policy evaluated with the same seed).
///
/// # Errors
/// Environment or policy failures.
pub fn success_rate<A: Actor>(
    pool: &mut EnvPool,
    actor: &mut A,
    split: Split,
    episodes: u32,
    mode: ActMode,
    seed: u64,
) -> anyhow::Result<(f64, u64)> {
    let jobs = evaluation_jobs(pool, split, episodes, seed);
    let success = pool.plugin().info().success_index();
    let mut rng = ChaCha8Rng::seed_from_u64(derive_seed(seed, 0x6576_616c ^ split.index()));
    let mut solved = 0usize;
    let mut steps = 0;
    // Evaluate in chunks so a large evaluation does not hold every instance.
    for chunk in jobs.chunks(128) {
        let (done, chunk_steps) = pool.run(actor, chunk, mode, &mut rng)?;
        steps += chunk_steps;
        solved += done.iter().filter(|e| e.primitives[success] >= 1.0).count();
    }
    Ok((solved as f64 / jobs.len().max(1) as f64, steps))
}

/// The fixed evaluation tasks of `split`: `count` tasks spread over the
/// split, each with its own seed, all derived from `seed`.
pub fn evaluation_jobs(pool: &EnvPool, split: Split, count: u32, seed: u64) -> Vec<EpisodeJob> {
    let tasks = pool.plugin().task_count(split).max(1);
    let mut rng = ChaCha8Rng::seed_from_u64(derive_seed(seed, 0x7461_736b ^ (split.index() << 8)));
    (0..count)
        .map(|_| EpisodeJob {
            split,
            task: rng.random_range(0..tasks),
            seed: rng.random(),
        })
        .collect()
}

/// Greedy and sampled success on each of `splits`, and the environment
/// steps the evaluation took.
///
/// # Errors
/// Environment or policy failures.
pub fn evaluate<A: Actor>(
    pool: &mut EnvPool,
    actor: &mut A,
    splits: &[Split],
    episodes: u32,
    seed: u64,
) -> anyhow::Result<(Evaluation, u64)> {
    let mut evaluation = Evaluation::default();
    let mut steps = 0;
    for split in splits {
        let (greedy, greedy_steps) =
            success_rate(pool, actor, *split, episodes, ActMode::Greedy, seed)?;
        let (sampled, sampled_steps) =
            success_rate(pool, actor, *split, episodes, ActMode::Sample, seed)?;
        steps += greedy_steps + sampled_steps;
        evaluation.splits.push((*split, greedy, sampled));
    }
    Ok((evaluation, steps))
}
