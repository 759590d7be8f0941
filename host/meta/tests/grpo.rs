//! The Meta-Optimizer learns from derl-learn's GRPO trainer: with a synthetic reward (+1 when
//! the program uses `g2`), the mean reward of sampled groups rises within 30 updates.

use derl_learn::grpo::{GrpoConfig, GrpoTrainer};
use derl_meta::{Expr, MetaOptimizer, MetaOptimizerConfig, SampledProgram, group_episodes};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

const GROUPS: usize = 2;
const GROUP_SIZE: usize = 8;

fn uses_g2(sample: &SampledProgram) -> f64 {
    let uses = sample
        .program
        .expr()
        .subtrees()
        .iter()
        .any(|node| **node == Expr::Primitive(1));
    if uses { 1.0 } else { 0.0 }
}

/// Mean reward of each of `updates` updates.
fn train(updates: usize, kl_coef: f64, seed: u64) -> Vec<f64> {
    let model = MetaOptimizer::new(MetaOptimizerConfig::default(), 5, seed).unwrap();
    let config = GrpoConfig {
        learning_rate: 3e-3,
        kl_coef,
        seed,
        ..GrpoConfig::default()
    };
    let mut trainer = GrpoTrainer::new(config, &model).unwrap();
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut means = Vec::with_capacity(updates);
    for _ in 0..updates {
        let mut groups = Vec::with_capacity(GROUPS);
        let mut total = 0.0;
        for _ in 0..GROUPS {
            let samples = model.sample_group(GROUP_SIZE, 1.0, &mut rng).unwrap();
            let rewards: Vec<f64> = samples.iter().map(uses_g2).collect();
            total += rewards.iter().sum::<f64>();
            groups.push(group_episodes(&samples, &rewards).unwrap());
        }
        trainer.update(&model, &groups).unwrap();
        means.push(total / (GROUPS * GROUP_SIZE) as f64);
    }
    means
}

fn mean(values: &[f64]) -> f64 {
    values.iter().sum::<f64>() / values.len() as f64
}

#[test]
fn grpo_raises_the_reward_of_sampled_programs() {
    let means = train(30, 0.0, 3);
    let (first, last) = (mean(&means[..5]), mean(&means[25..]));
    println!("mean reward per update: {means:.2?}");
    assert!(last > first + 0.3, "reward {first:.2} -> {last:.2}");
    assert!(last > 0.8, "final reward {last:.2}");
}

#[test]
fn the_kl_term_to_the_initial_weights_also_trains() {
    let means = train(30, 0.05, 4);
    println!("mean reward per update with KL: {means:.2?}");
    let (first, last) = (mean(&means[..5]), mean(&means[25..]));
    assert!(last > first + 0.2, "reward {first:.2} -> {last:.2}");
}

#[test]
fn training_is_reproducible() {
    assert_eq!(train(3, 0.05, 6), train(3, 0.05, 6));
}

#[test]
fn an_on_policy_step_sees_unit_ratios() {
    let model = MetaOptimizer::new(MetaOptimizerConfig::default(), 5, 1).unwrap();
    let mut trainer = GrpoTrainer::new(GrpoConfig::default(), &model).unwrap();
    let mut rng = ChaCha8Rng::seed_from_u64(1);
    let samples = model.sample_group(GROUP_SIZE, 0.8, &mut rng).unwrap();
    let rewards: Vec<f64> = samples.iter().map(uses_g2).collect();
    let stats = trainer
        .update(&model, &[group_episodes(&samples, &rewards).unwrap()])
        .unwrap();
    assert_eq!(stats.optimizer_steps, 1);
    assert!((stats.ratio_max - 1.0).abs() < 1e-4, "{stats:?}");
    assert!(stats.sampling_kl.abs() < 1e-6, "{stats:?}");
    assert_eq!(stats.clip_fraction, 0.0);
}
