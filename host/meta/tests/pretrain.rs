//! Cold-start pretraining on the shipped seed file raises the seeds' likelihood and makes
//! samples seed-like.

use std::collections::HashSet;

use derl_meta::{DEFAULT_SEEDS, MetaOptimizer, MetaOptimizerConfig, select_seeds};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

/// Fraction of `count` samples at temperature 1 that are exactly a seed program.
fn seed_fraction(model: &MetaOptimizer, seeds: &HashSet<String>, count: usize) -> f64 {
    let mut rng = ChaCha8Rng::seed_from_u64(99);
    let samples = model.sample_group(count, 1.0, &mut rng).unwrap();
    let hits = samples
        .iter()
        .filter(|s| seeds.contains(s.source()))
        .count();
    hits as f64 / count as f64
}

#[test]
fn pretraining_raises_the_likelihood_of_seed_programs() {
    let mut model = MetaOptimizer::new(MetaOptimizerConfig::default(), 4, 1).unwrap();
    let selection = select_seeds(DEFAULT_SEEDS, model.grammar());
    let seeds: HashSet<String> = selection
        .programs
        .iter()
        .map(|program| program.source().to_owned())
        .collect();
    assert!(seeds.len() >= 25, "{} seeds for 4 primitives", seeds.len());

    let before = seed_fraction(&model, &seeds, 400);
    let mut rng = ChaCha8Rng::seed_from_u64(5);
    let stats = model.pretrain(&selection.programs, 60, &mut rng).unwrap();
    let after = seed_fraction(&model, &seeds, 400);
    println!("{stats:?}\nseed fraction {before} -> {after}");

    assert_eq!(stats.programs, selection.programs.len());
    assert_eq!(stats.epoch_losses.len(), 60);
    assert_eq!(
        stats.optimizer_steps,
        60 * selection.programs.len().div_ceil(16)
    );
    assert!((stats.initial_nll - model_nll_before(&selection.programs)).abs() < 1e-9);
    assert!(
        stats.final_nll < 0.5 * stats.initial_nll,
        "nll {} -> {}",
        stats.initial_nll,
        stats.final_nll
    );
    assert!(stats.epoch_losses[59] < stats.epoch_losses[0]);
    assert!((model.nll(&selection.programs).unwrap() - stats.final_nll).abs() < 1e-9);
    assert!(before < 0.1, "untrained seed fraction {before}");
    assert!(after > 0.4, "pretrained seed fraction {after}");
}

/// The NLL of a fresh model with the same seed (what `initial_nll` must report).
fn model_nll_before(programs: &[derl_meta::Program]) -> f64 {
    MetaOptimizer::new(MetaOptimizerConfig::default(), 4, 1)
        .unwrap()
        .nll(programs)
        .unwrap()
}

#[test]
fn pretraining_is_reproducible() {
    let run = || {
        let mut model = MetaOptimizer::new(MetaOptimizerConfig::default(), 3, 2).unwrap();
        let programs = select_seeds(DEFAULT_SEEDS, model.grammar()).programs;
        let mut rng = ChaCha8Rng::seed_from_u64(8);
        let stats = model.pretrain(&programs, 3, &mut rng).unwrap();
        (
            stats,
            derl_learn::PolicyModel::parameters(&model)
                .digest()
                .unwrap(),
        )
    };
    assert_eq!(run(), run());
}
