//! Inner-loop policy models by name. A job's or an experiment's `[policy]
//! kind` picks one from [`POLICY_KINDS`]; adding a policy model is one
//! [`PolicyKind`] implementation and one line in that list (docs/grpo.md,
//! "Adding a policy model").

use super::policy::PolicyConfig;
use super::rollout::EnvPool;
use super::train::{Evaluation, InnerConfig, InnerError, Learner, UpdateRecord, evaluate, train};
use crate::plugin::RewardProgram;
use derl_env_api::Split;
use std::path::Path;

/// A policy model the inner loop builds by name.
pub trait PolicyKind: Sync {
    /// Its name in configs and job files (`kind = "action"`).
    fn name(&self) -> &'static str;

    /// Checks the options of `config` this kind reads, as an experiment
    /// config's validation does before anything runs.
    ///
    /// # Errors
    /// An option out of range, in the model's own words.
    fn check(&self, config: &PolicyConfig) -> anyhow::Result<()>;

    /// A fresh policy for an environment with `feature_count` numeric
    /// features, its weights and minibatch order derived from `seed`.
    ///
    /// # Errors
    /// An invalid configuration.
    fn fresh(
        &self,
        config: &PolicyConfig,
        feature_count: usize,
        seed: u64,
    ) -> anyhow::Result<Box<dyn InnerPolicy>>;

    /// Continues from the policy saved in `dir` (a warm start: its weights,
    /// a fresh optimiser seeded by `seed`).
    ///
    /// # Errors
    /// A missing or mismatched checkpoint.
    fn warm_start(
        &self,
        config: &PolicyConfig,
        dir: &Path,
        feature_count: usize,
        seed: u64,
    ) -> anyhow::Result<Box<dyn InnerPolicy>>;
}

/// Every policy kind, the default (`action`) first.
pub const POLICY_KINDS: &[&dyn PolicyKind] = &[&super::policy::ActionKind];

/// The policy kind named `name`.
///
/// # Errors
/// No kind has that name; the message lists the known ones.
pub fn policy_kind(name: &str) -> anyhow::Result<&'static dyn PolicyKind> {
    POLICY_KINDS
        .iter()
        .copied()
        .find(|kind| kind.name() == name)
        .ok_or_else(|| {
            let known: Vec<&str> = POLICY_KINDS.iter().map(|kind| kind.name()).collect();
            anyhow::anyhow!(
                "unknown policy kind `{name}`; the known kinds are: {}",
                known.join(", ")
            )
        })
}

/// A policy the inner loop trains, evaluates and saves, whatever its kind.
/// Every [`Learner`] that can save itself is one.
pub trait InnerPolicy {
    /// Trains with `reward` (see [`train`]).
    ///
    /// # Errors
    /// As [`train`].
    fn train(
        &mut self,
        pool: &mut EnvPool,
        reward: &RewardProgram,
        config: &InnerConfig,
        seed: u64,
        eval_seed: u64,
        on_update: &mut dyn FnMut(&UpdateRecord),
    ) -> Result<(Vec<UpdateRecord>, u64), InnerError>;

    /// Greedy and sampled success per split (see [`evaluate`]).
    ///
    /// # Errors
    /// As [`evaluate`].
    fn evaluate(
        &mut self,
        pool: &mut EnvPool,
        splits: &[Split],
        episodes: u32,
        seed: u64,
    ) -> anyhow::Result<(Evaluation, u64)>;

    /// Saves the policy to `dir` with `metadata`.
    ///
    /// # Errors
    /// A file-system failure.
    fn save(&self, dir: &Path, metadata: &serde_json::Value) -> anyhow::Result<()>;
}

/// A learner that saves itself to a checkpoint directory.
pub trait SavePolicy {
    /// Saves the policy to `dir` with `metadata`.
    ///
    /// # Errors
    /// A file-system failure.
    fn save_policy(&self, dir: &Path, metadata: &serde_json::Value) -> anyhow::Result<()>;
}

impl<L: Learner + SavePolicy> InnerPolicy for L {
    fn train(
        &mut self,
        pool: &mut EnvPool,
        reward: &RewardProgram,
        config: &InnerConfig,
        seed: u64,
        eval_seed: u64,
        on_update: &mut dyn FnMut(&UpdateRecord),
    ) -> Result<(Vec<UpdateRecord>, u64), InnerError> {
        train(pool, reward, self, config, seed, eval_seed, on_update)
    }

    fn evaluate(
        &mut self,
        pool: &mut EnvPool,
        splits: &[Split],
        episodes: u32,
        seed: u64,
    ) -> anyhow::Result<(Evaluation, u64)> {
        evaluate(pool, self, splits, episodes, seed)
    }

    fn save(&self, dir: &Path, metadata: &serde_json::Value) -> anyhow::Result<()> {
        self.save_policy(dir, metadata)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_kind_is_registered_and_unknown_kinds_list_the_known_ones() {
        assert_eq!(POLICY_KINDS[0].name(), PolicyConfig::default().kind);
        assert_eq!(policy_kind("action").unwrap().name(), "action");
        let error = policy_kind("transformer").err().unwrap().to_string();
        assert!(error.contains("transformer"), "{error}");
        assert!(error.contains("action"), "{error}");
    }

    #[test]
    fn names_are_unique() {
        for (index, kind) in POLICY_KINDS.iter().enumerate() {
            assert!(
                POLICY_KINDS[..index]
                    .iter()
                    .all(|other| other.name() != kind.name()),
                "{}",
                kind.name()
            );
        }
    }
}
