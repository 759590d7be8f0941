//! GRPO hyperparameters.

use serde::{Deserialize, Serialize};

use crate::error::{LearnError, Result};
use crate::optim::AdamWSettings;

/// How an episode's reward becomes its advantage, relative to its group.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AdvantageMode {
    /// `(r - mean) / (std + eps)` with the sample standard deviation (`n - 1`), as in
    /// DeepSeekMath's GRPO.
    #[default]
    Normalized,
    /// `r - mean`, no division (Dr. GRPO): no upweighting of low-variance groups.
    Centered,
    /// `r_i - mean of the other rewards` (RLOO), an unbiased baseline.
    LeaveOneOut,
}

/// How per-decision losses are averaged within a minibatch.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LossAggregation {
    /// Mean over all decisions of the minibatch (verl's `token-mean`, DAPO): every decision
    /// weighs the same, so long episodes weigh more in total.
    #[default]
    DecisionMean,
    /// Mean over each episode's decisions, then over episodes (the GRPO paper): every
    /// episode weighs the same, so decisions of short episodes weigh more.
    EpisodeMean,
}

/// Most threads [`GrpoConfig::threads`] accepts.
pub const MAX_THREADS: usize = 256;

/// Every GRPO hyperparameter, shared by the inner loop (policy over environment actions)
/// and the outer loop (Meta-Optimizer over reward-program tokens).
///
/// Defaults suit the small from-scratch policies of the inner loop. For an LLM policy use
/// a learning rate near `1e-6` and a KL coefficient of `0.001..0.04`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct GrpoConfig {
    /// Seed of the minibatch shuffles; update `k` shuffles with stream `k` of it, so a
    /// resumed run shuffles as an uninterrupted one. Default 0.
    pub seed: u64,
    /// AdamW learning rate. Default `1e-3`.
    pub learning_rate: f64,
    /// AdamW decoupled weight decay. Default 0 (PyTorch's default is 0.01).
    pub weight_decay: f64,
    /// AdamW first-moment decay. Default 0.9.
    pub adam_beta1: f64,
    /// AdamW second-moment decay. Default 0.999.
    pub adam_beta2: f64,
    /// AdamW epsilon. Default `1e-8`.
    pub adam_epsilon: f64,
    /// Gradients whose global L2 norm exceeds this are scaled down to it; `null` turns
    /// clipping off. Default 1.0.
    pub max_grad_norm: Option<f64>,
    /// The importance ratio is clipped to `[1 - clip_epsilon, 1 + clip_epsilon_high]`.
    /// Default 0.2.
    pub clip_epsilon: f64,
    /// Upper clip distance when it should differ from `clip_epsilon` (DAPO's clip-higher);
    /// `null` means `clip_epsilon`. Default `null`.
    pub clip_epsilon_high: Option<f64>,
    /// Coefficient (beta) of the k3 KL estimate to the frozen reference policy; 0 skips the
    /// reference entirely. Default 0.
    pub kl_coef: f64,
    /// Coefficient of the entropy bonus (entropy is logged either way). Default 0.
    pub entropy_coef: f64,
    /// Passes over the batch per update. Default 1.
    pub epochs: u32,
    /// Target decisions per minibatch (one optimizer step each). Minibatches are made of
    /// whole episodes, so a minibatch holds at least this many decisions unless the
    /// episodes run out. Default 2048.
    pub minibatch_decisions: usize,
    /// Target decisions per forward/backward pass within a minibatch: gradients of the
    /// micro-batches are summed before the optimizer step, which is the same step as one
    /// pass over the minibatch (up to float rounding) in less memory, and on CPU faster
    /// (smaller tensors stay in cache). Whole episodes, like minibatches. Default 1024.
    pub microbatch_decisions: usize,
    /// How rewards become advantages. Default `normalized`.
    pub advantage: AdvantageMode,
    /// Added to the standard deviation in `normalized` advantages. Default `1e-6`.
    pub advantage_epsilon: f64,
    /// How per-decision losses are averaged. Default `decision_mean`.
    pub loss_aggregation: LossAggregation,
    /// Threads that compute a minibatch's micro-batches at the same time (1..=256). The
    /// gradients are summed in micro-batch order whatever the thread count, so every
    /// number is the same with 1 thread or 8; only the wall time changes. Useful when
    /// `minibatch_decisions` spans several micro-batches. Default 1.
    pub threads: usize,
}

impl Default for GrpoConfig {
    fn default() -> Self {
        Self {
            seed: 0,
            learning_rate: 1e-3,
            weight_decay: 0.0,
            adam_beta1: 0.9,
            adam_beta2: 0.999,
            adam_epsilon: 1e-8,
            max_grad_norm: Some(1.0),
            clip_epsilon: 0.2,
            clip_epsilon_high: None,
            kl_coef: 0.0,
            entropy_coef: 0.0,
            epochs: 1,
            minibatch_decisions: 2048,
            microbatch_decisions: 1024,
            advantage: AdvantageMode::Normalized,
            advantage_epsilon: 1e-6,
            loss_aggregation: LossAggregation::DecisionMean,
            threads: 1,
        }
    }
}

/// The clip range of the importance ratio, `[1 - low, 1 + high]`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ClipRange {
    /// Distance below 1.
    pub low: f64,
    /// Distance above 1.
    pub high: f64,
}

impl GrpoConfig {
    /// Checks every value against its documented range.
    ///
    /// # Errors
    /// [`LearnError::InvalidConfig`] naming the first bad field.
    pub fn validate(&self) -> Result<()> {
        let invalid = |message: &str| Err(LearnError::InvalidConfig(format!("grpo: {message}")));
        let finite_non_negative = |value: f64| value.is_finite() && value >= 0.0;
        if !(self.learning_rate.is_finite() && self.learning_rate > 0.0) {
            return invalid("learning_rate must be positive");
        }
        if !finite_non_negative(self.weight_decay) {
            return invalid("weight_decay must be >= 0");
        }
        for (name, beta) in [
            ("adam_beta1", self.adam_beta1),
            ("adam_beta2", self.adam_beta2),
        ] {
            if !(0.0..1.0).contains(&beta) {
                return invalid(&format!("{name} must be in [0, 1)"));
            }
        }
        if !(self.adam_epsilon.is_finite() && self.adam_epsilon > 0.0) {
            return invalid("adam_epsilon must be positive");
        }
        if let Some(max) = self.max_grad_norm
            && !(max.is_finite() && max > 0.0)
        {
            return invalid("max_grad_norm must be positive (or null to disable clipping)");
        }
        let clip = self.clip_range();
        if !(clip.low > 0.0 && clip.low < 1.0 && clip.high.is_finite() && clip.high > 0.0) {
            return invalid("clip_epsilon must be in (0, 1) and clip_epsilon_high positive");
        }
        if !finite_non_negative(self.kl_coef) || !finite_non_negative(self.entropy_coef) {
            return invalid("kl_coef and entropy_coef must be >= 0");
        }
        if self.epochs == 0 || self.minibatch_decisions == 0 || self.microbatch_decisions == 0 {
            return invalid(
                "epochs, minibatch_decisions and microbatch_decisions must be positive",
            );
        }
        if !finite_non_negative(self.advantage_epsilon) {
            return invalid("advantage_epsilon must be >= 0");
        }
        if !(1..=MAX_THREADS).contains(&self.threads) {
            return invalid(&format!("threads must be in 1..={MAX_THREADS}"));
        }
        Ok(())
    }

    /// The importance-ratio clip range.
    pub fn clip_range(&self) -> ClipRange {
        ClipRange {
            low: self.clip_epsilon,
            high: self.clip_epsilon_high.unwrap_or(self.clip_epsilon),
        }
    }

    /// The optimizer settings.
    pub fn adamw(&self) -> AdamWSettings {
        AdamWSettings {
            learning_rate: self.learning_rate,
            beta1: self.adam_beta1,
            beta2: self.adam_beta2,
            epsilon: self.adam_epsilon,
            weight_decay: self.weight_decay,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid_and_partial_json_fills_them() {
        GrpoConfig::default().validate().unwrap();
        let config: GrpoConfig = serde_json::from_str(
            r#"{"learning_rate": 0.01, "advantage": "leave_one_out", "max_grad_norm": null}"#,
        )
        .unwrap();
        assert_eq!(config.learning_rate, 0.01);
        assert_eq!(config.advantage, AdvantageMode::LeaveOneOut);
        assert_eq!(config.max_grad_norm, None);
        assert_eq!(config.epochs, GrpoConfig::default().epochs);
    }

    #[test]
    fn unknown_fields_are_rejected() {
        assert!(serde_json::from_str::<GrpoConfig>(r#"{"lr": 0.01}"#).is_err());
    }

    #[test]
    fn out_of_range_values_are_rejected() {
        let bad = [
            GrpoConfig {
                learning_rate: 0.0,
                ..GrpoConfig::default()
            },
            GrpoConfig {
                clip_epsilon: 1.0,
                ..GrpoConfig::default()
            },
            GrpoConfig {
                adam_beta2: 1.0,
                ..GrpoConfig::default()
            },
            GrpoConfig {
                max_grad_norm: Some(0.0),
                ..GrpoConfig::default()
            },
            GrpoConfig {
                kl_coef: -0.1,
                ..GrpoConfig::default()
            },
            GrpoConfig {
                epochs: 0,
                ..GrpoConfig::default()
            },
            GrpoConfig {
                minibatch_decisions: 0,
                ..GrpoConfig::default()
            },
            GrpoConfig {
                weight_decay: f64::NAN,
                ..GrpoConfig::default()
            },
            GrpoConfig {
                threads: 0,
                ..GrpoConfig::default()
            },
        ];
        for config in bad {
            assert!(config.validate().is_err(), "{config:?}");
        }
    }

    #[test]
    fn clip_high_defaults_to_clip_epsilon() {
        let symmetric = GrpoConfig::default().clip_range();
        assert_eq!((symmetric.low, symmetric.high), (0.2, 0.2));
        let asymmetric = GrpoConfig {
            clip_epsilon_high: Some(0.28),
            ..GrpoConfig::default()
        }
        .clip_range();
        assert_eq!((asymmetric.low, asymmetric.high), (0.2, 0.28));
    }
}
