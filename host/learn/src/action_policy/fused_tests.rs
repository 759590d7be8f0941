//! The fused kernel against candle's autograd: the same log-probabilities, entropies and
//! gradients to float rounding, rows independent of their batch, the same errors.

use std::collections::BTreeMap;

use candle_core::{Device, Tensor};

use super::*;
use crate::features::FeaturizerConfig;
use crate::optim::Gradients;
use crate::policy::DecisionEvaluation;

/// The inner loop's default blocks (header overlap, action contexts, goal features) with
/// numeric features, small widths.
fn config(kernel: PolicyKernel, action_context: bool, numeric_dim: usize) -> ActionPolicyConfig {
    ActionPolicyConfig {
        featurizer: FeaturizerConfig {
            bucket_bits: 10,
            ..FeaturizerConfig::default()
        },
        embedding_dim: 8,
        hidden_dim: 16,
        numeric_dim,
        seed: 7,
        header_overlap: true,
        action_context,
        goal_features: true,
        kernel,
        ..ActionPolicyConfig::default()
    }
}

fn decisions(policy: &ActionPolicy) -> Vec<ActionDecision> {
    let numeric = |a: f32| vec![a; policy.config().numeric_dim];
    vec![
        policy.encode_decision(
            "put a clean mug in cabinet 2",
            "You are in the kitchen. On the shelf 1, you see a mug 1.\nunvisited cabinet 2; unvisited sink 1",
            &numeric(0.5),
            &["go to cabinet 2", "take mug 1 from shelf 1", "go to sink 1", "look"],
        ),
        policy.encode_decision("open the door", "you see a door", &numeric(-1.0), &["open door", "wait"]),
        policy.encode_decision("", "", &numeric(1.0), &["look"]),
        policy.encode_decision(
            "put a clean mug in cabinet 2",
            "On the sink 1, you see a mug 2.\nvisited cabinet 2",
            &numeric(0.25),
            &["take mug 2 from sink 1", "go to cabinet 2", "look"],
        ),
    ]
}

/// A loss that reads every chosen log-probability and entropy with distinct weights.
fn loss(evaluation: &DecisionEvaluation) -> Result<(Tensor, Vec<f32>)> {
    let n = evaluation.log_probs.dim(0)?;
    let weights: Vec<f32> = (0..n).map(|i| 0.5 - i as f32 * 0.3).collect();
    let weights = Tensor::from_vec(weights, n, evaluation.log_probs.device())?;
    let total =
        ((&evaluation.log_probs * &weights)?.sum_all()? + (evaluation.entropy.sum_all()? * 0.1)?)?;
    Ok((total, evaluation.log_probs.to_vec1()?))
}

fn values(gradients: &Gradients, policy: &ActionPolicy) -> BTreeMap<String, Vec<f32>> {
    policy
        .parameters()
        .iter()
        .filter_map(|(name, _)| {
            let grad = gradients.get(name).unwrap()?;
            Some((
                name.to_owned(),
                grad.flatten_all().unwrap().to_vec1().unwrap(),
            ))
        })
        .collect()
}

fn assert_close(a: &[f32], b: &[f32], what: &str) {
    assert_eq!(a.len(), b.len(), "{what}");
    let scale = b.iter().fold(1e-3f32, |m, v| m.max(v.abs()));
    for (i, (x, y)) in a.iter().zip(b).enumerate() {
        assert!(
            (x - y).abs() <= 2e-5 * scale,
            "{what}[{i}]: fused {x}, candle {y}"
        );
    }
}

#[test]
fn fused_and_candle_agree_on_values_and_gradients() {
    for (action_context, numeric_dim) in [(true, 3), (false, 0), (true, 0)] {
        let fused = ActionPolicy::new(
            config(PolicyKernel::Fused, action_context, numeric_dim),
            &Device::Cpu,
        )
        .unwrap();
        let candle = ActionPolicy::new(
            config(PolicyKernel::Candle, action_context, numeric_dim),
            &Device::Cpu,
        )
        .unwrap();
        assert!(fused.runs_fused() && !candle.runs_fused());
        let batch = decisions(&fused);
        let refs: Vec<&ActionDecision> = batch.iter().collect();
        let rows_fused = fused.log_prob_rows(&refs, 1).unwrap();
        let rows_candle = candle.log_prob_rows(&refs, 1).unwrap();
        for (a, b) in rows_fused.iter().zip(&rows_candle) {
            assert_close(a, b, "log-probabilities");
        }
        let actions = [1, 0, 0, 2];
        let (grads_fused, lp_fused) = fused.loss_gradients(&refs, &actions, loss).unwrap();
        let (grads_candle, lp_candle) = candle.loss_gradients(&refs, &actions, loss).unwrap();
        assert_close(&lp_fused, &lp_candle, "chosen log-probabilities");
        let (fused_values, candle_values) =
            (values(&grads_fused, &fused), values(&grads_candle, &candle));
        assert_eq!(
            fused_values.keys().collect::<Vec<_>>(),
            candle_values.keys().collect::<Vec<_>>(),
            "the same parameters get gradients"
        );
        assert_eq!(fused_values.len(), fused.parameters().iter().count());
        for (name, grad) in &fused_values {
            assert_close(grad, &candle_values[name], name);
            assert!(grad.iter().any(|&g| g != 0.0), "{name} gets a gradient");
        }
    }
}

#[test]
fn a_fused_row_does_not_depend_on_its_batch_or_threads() {
    let policy = ActionPolicy::new(config(PolicyKernel::Fused, true, 3), &Device::Cpu).unwrap();
    let batch = decisions(&policy);
    let refs: Vec<&ActionDecision> = batch.iter().collect();
    let together = policy.log_prob_rows(&refs, 1).unwrap();
    assert_eq!(policy.log_prob_rows(&refs, 2).unwrap(), together);
    assert_eq!(policy.log_prob_rows(&refs, 3).unwrap(), together);
    for (decision, row) in refs.iter().zip(&together) {
        assert_eq!(&policy.log_prob_rows(&[*decision], 1).unwrap()[0], row);
    }
}

#[test]
fn clause_attention_runs_on_candle_whatever_the_kernel() {
    let config = ActionPolicyConfig {
        clause_attention: true,
        ..config(PolicyKernel::Fused, true, 0)
    };
    assert!(
        !ActionPolicy::new(config, &Device::Cpu)
            .unwrap()
            .runs_fused()
    );
}

#[test]
fn the_fused_kernel_rejects_what_candle_rejects() {
    let policy = ActionPolicy::new(config(PolicyKernel::Fused, true, 3), &Device::Cpu).unwrap();
    let batch = decisions(&policy);
    let refs: Vec<&ActionDecision> = batch.iter().collect();
    let error = policy
        .loss_gradients(&refs, &[4, 0, 0, 0], loss)
        .unwrap_err();
    assert!(
        error
            .to_string()
            .contains("decision 0: action 4 but only 4 admissible"),
        "{error}"
    );
    let error = policy.loss_gradients(&refs, &[0, 0], loss).unwrap_err();
    assert!(
        error.to_string().contains("4 decisions but 2 actions"),
        "{error}"
    );
    let empty = ActionDecision {
        actions: std::sync::Arc::new([]),
        goal_actions: std::sync::Arc::new([]),
        ..batch[0].clone()
    };
    let error = policy.log_prob_rows(&[&empty], 1).unwrap_err();
    assert!(
        error.to_string().contains("no admissible action"),
        "{error}"
    );
}

#[test]
fn kernels_parse_by_name() {
    let parsed: ActionPolicyConfig = serde_json::from_str(r#"{"kernel": "fused"}"#).unwrap();
    assert_eq!(parsed.kernel, PolicyKernel::Fused);
    assert!(serde_json::from_str::<ActionPolicyConfig>(r#"{"kernel": "gpu"}"#).is_err());
}
