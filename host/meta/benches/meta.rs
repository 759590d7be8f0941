//! Timings of the Meta-Optimizer: sampling a group, one GRPO update on it, one pretraining
//! epoch on the shipped seeds; and of one evolution generation.
//!
//! ```text
//! cargo bench -p derl-meta --bench meta
//! ```
//!
//! Threads: candle uses `RAYON_NUM_THREADS` (default: the physical cores).

use std::hint::black_box;
use std::time::{Duration, Instant};

use derl_learn::grpo::{GrpoConfig, GrpoTrainer};
use derl_meta::{
    DEFAULT_SEEDS, Evolution, EvolutionConfig, MetaOptimizer, MetaOptimizerConfig, group_episodes,
    select_seeds,
};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

const PRIMITIVES: usize = 5;
const GROUP_SIZE: usize = 8;

/// Runs `work` repeatedly for about `budget` (at least 5 times) and prints the median.
fn time(name: &str, budget: Duration, mut work: impl FnMut()) {
    work();
    let mut samples = Vec::new();
    let start = Instant::now();
    while samples.len() < 5 || start.elapsed() < budget {
        let begin = Instant::now();
        work();
        samples.push(begin.elapsed());
    }
    samples.sort();
    let median = samples[samples.len() / 2];
    println!(
        "{name:<48} median {:>9.3} ms  ({} runs)",
        median.as_secs_f64() * 1e3,
        samples.len()
    );
}

fn main() {
    let budget = Duration::from_secs(2);
    for (layers, hidden) in [(1, 64), (2, 128)] {
        let config = MetaOptimizerConfig {
            layers,
            hidden_dim: hidden,
            ..MetaOptimizerConfig::default()
        };
        let label = format!("{layers}x GRU-{hidden}");
        let mut model = MetaOptimizer::new(config, PRIMITIVES, 0).unwrap();
        let mut rng = ChaCha8Rng::seed_from_u64(0);
        time(
            &format!("sample_group({GROUP_SIZE}) [{label}]"),
            budget,
            || {
                black_box(model.sample_group(GROUP_SIZE, 1.0, &mut rng).unwrap());
            },
        );

        let samples = model.sample_group(GROUP_SIZE, 1.0, &mut rng).unwrap();
        let rewards: Vec<f64> = (0..GROUP_SIZE).map(|i| (i % 3) as f64).collect();
        let groups = vec![group_episodes(&samples, &rewards).unwrap()];
        let decisions: usize = groups[0].iter().map(|e| e.steps.len()).sum();
        let grpo = GrpoConfig {
            kl_coef: 0.01,
            ..GrpoConfig::default()
        };
        let mut trainer = GrpoTrainer::new(grpo, &model).unwrap();
        time(
            &format!("GRPO update, {GROUP_SIZE} programs, {decisions} decisions [{label}]"),
            budget,
            || {
                black_box(trainer.update(&model, &groups).unwrap());
            },
        );

        let seeds = select_seeds(DEFAULT_SEEDS, model.grammar()).programs;
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        time(
            &format!("pretrain epoch, {} seeds [{label}]", seeds.len()),
            budget,
            || {
                black_box(model.pretrain(&seeds, 1, &mut rng).unwrap());
            },
        );
    }

    let mut evolution = Evolution::new(EvolutionConfig::default(), PRIMITIVES, &[]).unwrap();
    let mut rng = ChaCha8Rng::seed_from_u64(2);
    time("evolution generation (propose + tell)", budget, || {
        let scored: Vec<(String, f64)> = evolution
            .propose(&mut rng)
            .into_iter()
            .map(|source| {
                let fitness = source.len() as f64;
                (source, fitness)
            })
            .collect();
        evolution.tell(&scored).unwrap();
    });
}
