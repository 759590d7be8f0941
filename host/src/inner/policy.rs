//! The inner loop's policy options, and its default policy kind, `action`:
//! derl-learn's hashed-feature [`ActionPolicy`] trained by its
//! [`GrpoTrainer`], behind the rollout's [`Actor`] and the training driver's
//! [`Learner`].

use super::kinds::{InnerPolicy, PolicyKind, SavePolicy};
use super::rollout::{ActMode, Actor, Episode};
use super::train::Learner;
use anyhow::Context;
use candle_core::Device;
use derl_env_api::Observation;
use derl_learn::grpo::{Episode as GrpoEpisode, Step};
use derl_learn::{
    ActionDecision, ActionPolicy, ActionPolicyConfig, FeatureCache, GrpoConfig, GrpoTrainer,
    PolicyKernel,
};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};
use std::path::Path;
use std::sync::Mutex;

/// Architecture and optimisation settings of the inner-loop policy.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PolicyConfig {
    /// The policy model, by name (see [`super::kinds::POLICY_KINDS`]).
    /// Default `action`, the only kind so far, which reads `model` and
    /// `goal_repeats`.
    pub kind: String,
    /// The policy network (its `seed` and `numeric_dim` are set by the
    /// inner loop from the experiment seed and the environment).
    pub model: ActionPolicyConfig,
    /// GRPO hyperparameters (its `seed` is set by the inner loop).
    pub grpo: GrpoConfig,
    /// How many extra times the observation's task is counted in the
    /// observation's mean-pooled bag of features, so a long observation does
    /// not drown it.
    pub goal_repeats: u32,
    /// Whether the rollout remembers the features of clause, action and goal
    /// texts within an inner loop instead of hashing them again every step
    /// (see `derl_learn::FeatureCache`). The features, and so every result,
    /// are the same either way. Default true.
    #[serde(skip_serializing_if = "is_true")]
    pub feature_cache: bool,
}

fn is_true(value: &bool) -> bool {
    *value
}

impl Default for PolicyConfig {
    /// The policy that learns every bundled environment (BENCHMARKS.md,
    /// "Household, round 3"): the bag model reading header overlap, action
    /// contexts and goal features, on the fused kernel (BENCHMARKS.md, "Inner
    /// loop: where the time goes"); GRPO with two epochs of ~512-decision
    /// minibatches, learning rate 3e-3.
    fn default() -> Self {
        PolicyConfig {
            kind: ActionKind.name().to_owned(),
            model: ActionPolicyConfig {
                header_overlap: true,
                action_context: true,
                goal_features: true,
                kernel: PolicyKernel::Fused,
                ..ActionPolicyConfig::default()
            },
            // An update's rollouts (a few thousand decisions) give a few
            // optimizer steps per epoch; two micro-batches per step can run
            // on two threads.
            grpo: GrpoConfig {
                learning_rate: 3e-3,
                epochs: 2,
                minibatch_decisions: 512,
                microbatch_decisions: 256,
                ..GrpoConfig::default()
            },
            goal_repeats: 0,
            feature_cache: true,
        }
    }
}

/// The `action` policy kind: a [`PolicyLearner`].
pub struct ActionKind;

impl PolicyKind for ActionKind {
    fn name(&self) -> &'static str {
        "action"
    }

    fn check(&self, config: &PolicyConfig) -> anyhow::Result<()> {
        ActionPolicy::new(config.model.clone(), &Device::Cpu)?;
        Ok(())
    }

    fn fresh(
        &self,
        config: &PolicyConfig,
        feature_count: usize,
        seed: u64,
    ) -> anyhow::Result<Box<dyn InnerPolicy>> {
        Ok(Box::new(PolicyLearner::new(config, feature_count, seed)?))
    }

    fn warm_start(
        &self,
        config: &PolicyConfig,
        dir: &Path,
        feature_count: usize,
        seed: u64,
    ) -> anyhow::Result<Box<dyn InnerPolicy>> {
        Ok(Box::new(PolicyLearner::warm_start(
            config,
            dir,
            feature_count,
            seed,
        )?))
    }
}

/// An [`ActionPolicy`] with its GRPO trainer.
pub struct PolicyLearner {
    goal_repeats: u32,
    policy: ActionPolicy,
    trainer: GrpoTrainer<ActionPolicy>,
    /// One feature cache per rollout thread (each thread locks only its own).
    feature_caches: Vec<Mutex<FeatureCache>>,
    /// Whether the caches are used (else every observation is featurized afresh).
    feature_cache: bool,
}

impl PolicyLearner {
    /// A fresh policy for an environment with `feature_count` numeric
    /// features, its weights and minibatch order derived from `seed`.
    ///
    /// # Errors
    /// An invalid configuration.
    pub fn new(config: &PolicyConfig, feature_count: usize, seed: u64) -> anyhow::Result<Self> {
        let model = ActionPolicyConfig {
            numeric_dim: feature_count,
            seed,
            ..config.model.clone()
        };
        let policy = ActionPolicy::new(model, &Device::Cpu).context("building the policy")?;
        Self::with_policy(config, policy, seed)
    }

    /// Continues from a saved policy (a warm start): the weights come from
    /// `dir`, the optimiser starts fresh.
    ///
    /// # Errors
    /// A missing or mismatched checkpoint, or one whose policy reads
    /// another number of numeric features.
    pub fn warm_start(
        config: &PolicyConfig,
        dir: &Path,
        feature_count: usize,
        seed: u64,
    ) -> anyhow::Result<Self> {
        let (policy, _) = ActionPolicy::load(dir, &Device::Cpu)
            .with_context(|| format!("loading the policy in {}", dir.display()))?;
        let expected = policy.config().numeric_dim;
        anyhow::ensure!(
            expected == feature_count,
            "the policy in {} reads {expected} numeric features; the environment has {feature_count}",
            dir.display()
        );
        Self::with_policy(config, policy, seed)
    }

    fn with_policy(config: &PolicyConfig, policy: ActionPolicy, seed: u64) -> anyhow::Result<Self> {
        let grpo = GrpoConfig {
            seed,
            ..config.grpo.clone()
        };
        let trainer = GrpoTrainer::new(grpo, &policy).context("configuring GRPO")?;
        let threads = config.grpo.threads.max(1);
        Ok(PolicyLearner {
            feature_caches: (0..threads).map(|_| Mutex::default()).collect(),
            feature_cache: config.feature_cache,
            goal_repeats: config.goal_repeats,
            policy,
            trainer,
        })
    }

    /// The policy.
    pub fn policy(&self) -> &ActionPolicy {
        &self.policy
    }

    /// Saves the policy to `dir` with `metadata`.
    ///
    /// # Errors
    /// A file-system failure.
    pub fn save(&self, dir: &Path, metadata: &serde_json::Value) -> anyhow::Result<()> {
        self.policy
            .save(dir, metadata)
            .with_context(|| format!("saving the policy to {}", dir.display()))
    }
}

impl PolicyLearner {
    /// Featurizes one observation, remembering its texts in `cache` (the same decision
    /// as without a cache; see [`FeatureCache`]).
    fn encode_through(
        &self,
        cache: &Mutex<FeatureCache>,
        observation: &Observation,
    ) -> ActionDecision {
        let numeric: Vec<f32> = observation.features.to_vec();
        let (task, text, actions) = (&observation.task, &observation.text, &observation.actions);
        let mut decision = if self.feature_cache {
            let mut cache = cache
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            self.policy
                .encode_decision_cached(&mut cache, task, text, &numeric, actions)
        } else {
            self.policy.encode_decision(task, text, &numeric, actions)
        };
        if self.goal_repeats > 0 {
            let goal_ids = self.policy.featurizer().encode(&observation.task);
            let encoded = std::sync::Arc::get_mut(&mut decision.observation)
                .expect("a freshly encoded observation has one owner");
            for _ in 0..self.goal_repeats {
                encoded.ids.extend_from_slice(&goal_ids);
            }
        }
        decision
    }
}

impl SavePolicy for PolicyLearner {
    fn save_policy(&self, dir: &Path, metadata: &serde_json::Value) -> anyhow::Result<()> {
        self.save(dir, metadata)
    }
}

impl Actor for PolicyLearner {
    type Encoded = ActionDecision;

    fn encode(&self, observation: &Observation) -> ActionDecision {
        self.encode_through(&self.feature_caches[0], observation)
    }

    fn encode_all(&self, observations: &[&Observation]) -> Vec<ActionDecision> {
        let chunk = observations
            .len()
            .div_ceil(self.feature_caches.len())
            .max(1);
        let parts: Vec<(&Mutex<FeatureCache>, &[&Observation])> = self
            .feature_caches
            .iter()
            .zip(observations.chunks(chunk))
            .collect();
        derl_learn::parallel::map(&parts, self.threads(), |(cache, part)| {
            part.iter()
                .map(|observation| self.encode_through(cache, observation))
                .collect::<Vec<_>>()
        })
        .into_iter()
        .flatten()
        .collect()
    }

    fn threads(&self) -> usize {
        self.trainer.config().threads
    }

    fn act(
        &mut self,
        batch: &[&ActionDecision],
        mode: ActMode,
        rng: &mut ChaCha8Rng,
    ) -> anyhow::Result<Vec<(u32, f32)>> {
        let threads = self.threads();
        let chosen = match mode {
            ActMode::Greedy => self.policy.greedy_on(batch, threads)?,
            ActMode::Sample | ActMode::Uniform => self.policy.sample_on(batch, rng, threads)?,
        };
        Ok(chosen.iter().map(|c| (c.action, c.log_prob)).collect())
    }
}

impl Learner for PolicyLearner {
    fn update(
        &mut self,
        groups: &[Vec<(Episode<ActionDecision>, f64)>],
        _rng: &mut ChaCha8Rng,
    ) -> anyhow::Result<serde_json::Value> {
        let groups: Vec<Vec<GrpoEpisode<ActionDecision>>> = groups
            .iter()
            .map(|group| {
                group
                    .iter()
                    .map(|(episode, reward)| GrpoEpisode {
                        steps: episode
                            .decisions
                            .iter()
                            .map(|d| Step {
                                decision: d.encoded.clone(),
                                action: d.action,
                                sampled_log_prob: d.log_prob,
                            })
                            .collect(),
                        reward: *reward,
                    })
                    .collect()
            })
            .collect();
        let stats = self
            .trainer
            .update(&self.policy, &groups)
            .context("GRPO update")?;
        Ok(serde_json::to_value(stats)?)
    }
}
