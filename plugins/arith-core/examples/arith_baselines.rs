//! Measures the scripted expert and simple baseline policies on every split.
//!
//! `cargo run -p arith-core --release --example arith_baselines [episodes-per-split]`
//!
//! Prints, per split and policy, the mean of every primitive, the mean
//! episode length and the mean number of admissible actions per step.

use arith_core::Arith;
use arith_core::rng::Rng;
use derl_env_api::{Environment, Observation, Split};

/// A policy: picks an action index from the environment and its observation.
type Policy = Box<dyn FnMut(&Arith, &Observation) -> u32>;

fn policies() -> Vec<(&'static str, Policy)> {
    let mut rng = Rng::from_words(&[2024]);
    vec![
        (
            "expert",
            Box::new(|env: &Arith, _: &Observation| env.expert_action().unwrap().unwrap_or(0)),
        ),
        (
            "random",
            Box::new(move |_: &Arith, o: &Observation| rng.below(o.actions.len() as u64) as u32),
        ),
        (
            "answer-at-once",
            Box::new(|_: &Arith, o: &Observation| {
                o.actions
                    .iter()
                    .position(|a| a.starts_with("answer "))
                    .unwrap_or(0) as u32
            }),
        ),
    ]
}

fn main() {
    let episodes: u32 = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(2_000);
    let mut env = Arith::new();
    let names: Vec<String> = env.info().primitives.into_iter().map(|p| p.name).collect();
    println!(
        "episodes per split: {episodes}; primitives: {}",
        names.join(", ")
    );
    for (label, mut policy) in policies() {
        for split in Split::ALL {
            let count = env.task_count(split);
            let mut sums = vec![0.0; names.len()];
            let (mut steps, mut actions) = (0u64, 0u64);
            for i in 0..episodes {
                let task = (u64::from(i) * 7919 % u64::from(count)) as u32;
                let mut observation = env.reset(split, task, u64::from(i)).unwrap();
                loop {
                    actions += observation.actions.len() as u64;
                    steps += 1;
                    let result = env.step(policy(&env, &observation)).unwrap();
                    if let Some(values) = result.primitives {
                        sums.iter_mut().zip(values).for_each(|(s, v)| *s += v);
                        break;
                    }
                    observation = result.observation;
                }
            }
            let n = f64::from(episodes);
            let means: Vec<String> = names
                .iter()
                .zip(&sums)
                .map(|(name, sum)| format!("{name} {:.4}", sum / n))
                .collect();
            println!(
                "{label:>14} {split:<10} {} | length {:.2} | actions/step {:.1}",
                means.join("  "),
                steps as f64 / n,
                actions as f64 / steps as f64
            );
        }
    }
}
