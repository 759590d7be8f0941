//! The GRPO objective: clipped importance-weighted surrogate, k3 KL to a reference policy,
//! optional entropy bonus.
//!
//! Per decision `i`, with `r = exp(logp - logp_sampled)`, advantage `A`, reference
//! log-probability `logp_ref`, entropy `H`:
//!
//! ```text
//! surrogate_i = min(r * A, clip(r, 1 - low, 1 + high) * A)
//! kl_i        = exp(logp_ref - logp) - (logp_ref - logp) - 1          (k3, >= 0)
//! loss        = sum_i w_i * (-surrogate_i + kl_coef * kl_i - entropy_coef * H_i)
//! ```
//!
//! The weights `w_i` sum to 1 and implement the chosen [`super::LossAggregation`].

use candle_core::Tensor;

use super::config::ClipRange;
use crate::error::Result;

/// Scalar clipped surrogate of one decision (the per-decision term the loss maximises).
pub fn clipped_surrogate(ratio: f64, advantage: f64, clip: ClipRange) -> f64 {
    let clipped = ratio.clamp(1.0 - clip.low, 1.0 + clip.high);
    (ratio * advantage).min(clipped * advantage)
}

/// Whether the clip is active for a decision, that is whether its surrogate has zero
/// gradient because the ratio has moved too far in the advantage's direction.
pub fn is_clipped(ratio: f64, advantage: f64, clip: ClipRange) -> bool {
    (advantage > 0.0 && ratio > 1.0 + clip.high) || (advantage < 0.0 && ratio < 1.0 - clip.low)
}

/// Scalar k3 estimate of `KL(policy || reference)` from one sample of the policy:
/// `exp(d) - d - 1` with `d = log_prob_reference - log_prob`. Non-negative, zero when the
/// two agree.
pub fn k3_kl(log_prob: f64, log_prob_reference: f64) -> f64 {
    let difference = log_prob_reference - log_prob;
    difference.exp_m1() - difference
}

/// Per-decision tensors the loss is computed from (all `(n,)` f32).
#[derive(Clone, Copy, Debug)]
pub struct LossInputs<'a> {
    /// Log-probabilities of the taken actions under the current policy (differentiable).
    pub log_probs: &'a Tensor,
    /// Entropy of the current policy at each decision (differentiable).
    pub entropy: &'a Tensor,
    /// Log-probabilities recorded when the actions were sampled.
    pub sampled_log_probs: &'a Tensor,
    /// Advantage of each decision's episode.
    pub advantages: &'a Tensor,
    /// Aggregation weights, summing to 1.
    pub weights: &'a Tensor,
    /// Log-probabilities under the frozen reference policy, when a KL term is wanted.
    pub reference_log_probs: Option<&'a Tensor>,
}

/// The loss and its parts, as tensors.
#[derive(Clone, Debug)]
pub struct LossTerms {
    /// Scalar total loss to minimise.
    pub loss: Tensor,
    /// Scalar `-sum_i w_i * surrogate_i`.
    pub policy_loss: Tensor,
    /// `(n,)` k3 KL per decision, when a reference was given.
    pub kl: Option<Tensor>,
    /// `(n,)` importance ratios.
    pub ratio: Tensor,
}

/// The GRPO loss of a minibatch (see the module documentation).
///
/// # Errors
/// A candle error when the inputs' shapes disagree.
pub fn grpo_loss(
    inputs: LossInputs<'_>,
    clip: ClipRange,
    kl_coef: f64,
    entropy_coef: f64,
) -> Result<LossTerms> {
    let ratio = (inputs.log_probs - inputs.sampled_log_probs)?.exp()?;
    let unclipped = (&ratio * inputs.advantages)?;
    let clipped = (ratio.clamp(1.0 - clip.low, 1.0 + clip.high)? * inputs.advantages)?;
    let surrogate = unclipped.minimum(&clipped)?;
    let policy_loss = (surrogate * inputs.weights)?.sum_all()?.neg()?;
    let mut loss = policy_loss.clone();
    let kl = match inputs.reference_log_probs {
        Some(reference) => {
            let difference = (reference - inputs.log_probs)?;
            let kl = ((difference.exp()? - &difference)? - 1.0)?;
            if kl_coef != 0.0 {
                let weighted = (&kl * inputs.weights)?.sum_all()?;
                loss = (loss + weighted.affine(kl_coef, 0.0)?)?;
            }
            Some(kl)
        }
        None => None,
    };
    if entropy_coef != 0.0 {
        let entropy = (inputs.entropy * inputs.weights)?.sum_all()?;
        loss = (loss - entropy.affine(entropy_coef, 0.0)?)?;
    }
    Ok(LossTerms {
        loss,
        policy_loss,
        kl,
        ratio,
    })
}

#[cfg(test)]
mod tests {
    use candle_core::{Device, Var};

    use super::*;

    const CLIP: ClipRange = ClipRange {
        low: 0.2,
        high: 0.2,
    };

    #[test]
    fn scalar_surrogate_clips_in_the_advantage_direction() {
        // Ratio above the range, positive advantage: capped at 1.2 * A.
        assert!((clipped_surrogate(1.5, 2.0, CLIP) - 2.4).abs() < 1e-12);
        assert!(is_clipped(1.5, 2.0, CLIP));
        // Ratio above the range, negative advantage: the unclipped (more pessimistic) term.
        assert!((clipped_surrogate(1.5, -2.0, CLIP) + 3.0).abs() < 1e-12);
        assert!(!is_clipped(1.5, -2.0, CLIP));
        // Ratio below the range, negative advantage: capped at 0.8 * A.
        assert!((clipped_surrogate(0.5, -2.0, CLIP) + 1.6).abs() < 1e-12);
        assert!(is_clipped(0.5, -2.0, CLIP));
        // Ratio below the range, positive advantage: unclipped.
        assert!((clipped_surrogate(0.5, 2.0, CLIP) - 1.0).abs() < 1e-12);
        // Inside the range nothing is clipped.
        assert!((clipped_surrogate(1.1, 2.0, CLIP) - 2.2).abs() < 1e-12);
        assert!(!is_clipped(1.1, 2.0, CLIP));
    }

    #[test]
    fn k3_matches_hand_values() {
        assert_eq!(k3_kl(-1.0, -1.0), 0.0);
        // d = ln 2: 2 - ln 2 - 1 = 0.30685...
        let expected = 1.0 - 2f64.ln();
        assert!((k3_kl(0.0, 2f64.ln()) - expected).abs() < 1e-12);
        // d = -1: e^-1 + 1 - 1 = 0.36787...
        assert!((k3_kl(1.0, 0.0) - (-1f64).exp()).abs() < 1e-12);
        assert!(k3_kl(-3.0, -0.1) > 0.0 && k3_kl(-0.1, -3.0) > 0.0);
    }

    #[test]
    fn tensor_loss_matches_hand_computation() {
        let device = Device::Cpu;
        let ratios = [1.5f64, 1.5, 0.5, 1.1];
        let advantages = [2.0f32, -2.0, -2.0, 1.0];
        let sampled = [-1.0f32, -0.5, -2.0, -0.3];
        let reference = [-1.2f32, -0.5, -1.0, -0.3];
        let entropy = [0.7f32, 0.1, 0.4, 1.0];
        let weights = [0.25f32; 4];
        let log_probs: Vec<f32> = sampled
            .iter()
            .zip(ratios)
            .map(|(s, r)| s + r.ln() as f32)
            .collect();
        let log_probs = Var::new(log_probs.as_slice(), &device).unwrap();
        let tensor = |values: &[f32]| Tensor::new(values, &device).unwrap();
        let (entropy_t, sampled_t, advantages_t) =
            (tensor(&entropy), tensor(&sampled), tensor(&advantages));
        let (weights_t, reference_t) = (tensor(&weights), tensor(&reference));
        let inputs = LossInputs {
            log_probs: log_probs.as_tensor(),
            entropy: &entropy_t,
            sampled_log_probs: &sampled_t,
            advantages: &advantages_t,
            weights: &weights_t,
            reference_log_probs: Some(&reference_t),
        };
        let (kl_coef, entropy_coef) = (0.1, 0.01);
        let terms = grpo_loss(inputs, CLIP, kl_coef, entropy_coef).unwrap();

        // Surrogates: 2.4, -3.0, -1.6, 1.1 -> policy loss -(2.4 - 3 - 1.6 + 1.1) / 4 = 0.275.
        let policy_loss: f32 = terms.policy_loss.to_scalar().unwrap();
        assert!((policy_loss - 0.275).abs() < 1e-5, "{policy_loss}");
        let kl: Vec<f32> = terms.kl.unwrap().to_vec1().unwrap();
        let mut expected_loss = 0.275;
        for i in 0..4 {
            let current = f64::from(sampled[i]) + ratios[i].ln();
            let expected_kl = k3_kl(current, f64::from(reference[i]));
            assert!((f64::from(kl[i]) - expected_kl).abs() < 1e-5);
            expected_loss += 0.25 * (kl_coef * expected_kl - entropy_coef * f64::from(entropy[i]));
        }
        let loss: f32 = terms.loss.to_scalar().unwrap();
        assert!(
            (f64::from(loss) - expected_loss).abs() < 1e-5,
            "{loss} vs {expected_loss}"
        );
        let ratio: Vec<f32> = terms.ratio.to_vec1().unwrap();
        for (r, expected) in ratio.iter().zip(ratios) {
            assert!((f64::from(*r) - expected).abs() < 1e-5);
        }

        // Gradient of the policy part: zero for clipped decisions (0 and 2), -w * A * r for
        // the others (d r / d logp = r); plus kl_coef * w * (1 - exp(ref - logp)) from k3.
        let grads = terms.loss.backward().unwrap();
        let grad: Vec<f32> = grads.get(log_probs.as_tensor()).unwrap().to_vec1().unwrap();
        for i in 0..4 {
            let current = f64::from(sampled[i]) + ratios[i].ln();
            let kl_grad = 1.0 - (f64::from(reference[i]) - current).exp();
            let policy_grad = if is_clipped(ratios[i], f64::from(advantages[i]), CLIP) {
                0.0
            } else {
                -f64::from(advantages[i]) * ratios[i]
            };
            let expected = 0.25 * (policy_grad + kl_coef * kl_grad);
            assert!(
                (f64::from(grad[i]) - expected).abs() < 1e-5,
                "decision {i}: {} vs {expected}",
                grad[i]
            );
        }
    }
}
