//! Measures the household environment natively: expert and random success
//! per split, episode lengths, action-list sizes and stepping speed.
//!
//! `cargo run --release -p household-core --example household_measure [tasks] [seeds]`

use std::time::Instant;

use derl_env_api::{Environment, Split};
use household_core::Household;
use household_core::rng::Rng;

/// Outcome of running one policy over many episodes.
#[derive(Default)]
struct Stats {
    episodes: u32,
    successes: u32,
    steps: u64,
    success_steps: u64,
    actions_seen: u64,
    max_actions: usize,
    min_actions: usize,
    primitive_sums: Vec<f64>,
}

impl Stats {
    fn rate(&self) -> f64 {
        f64::from(self.successes) / f64::from(self.episodes.max(1))
    }
}

/// Runs `policy` (given the action count and the environment, returns an
/// index) on `tasks` tasks x `seeds` seeds of `split`.
fn run(
    env: &mut Household,
    split: Split,
    tasks: u32,
    seeds: u64,
    mut policy: impl FnMut(&Household, usize) -> u32,
) -> Stats {
    let mut stats = Stats {
        min_actions: usize::MAX,
        ..Stats::default()
    };
    let count = env.task_count(split);
    for seed in 0..seeds {
        for i in 0..tasks {
            let task = (i * 7919 + seed as u32 * 31) % count;
            let mut obs = env.reset(split, task, seed).expect("reset");
            let mut steps = 0u64;
            loop {
                stats.actions_seen += obs.actions.len() as u64;
                stats.max_actions = stats.max_actions.max(obs.actions.len());
                stats.min_actions = stats.min_actions.min(obs.actions.len());
                let action = policy(env, obs.actions.len());
                let result = env.step(action).expect("step");
                steps += 1;
                if let Some(values) = result.primitives {
                    if stats.primitive_sums.is_empty() {
                        stats.primitive_sums = vec![0.0; values.len()];
                    }
                    for (sum, v) in stats.primitive_sums.iter_mut().zip(&values) {
                        *sum += v;
                    }
                    stats.episodes += 1;
                    if result.terminated {
                        stats.successes += 1;
                        stats.success_steps += steps;
                    }
                    stats.steps += steps;
                    break;
                }
                obs = result.observation;
            }
        }
    }
    stats
}

fn report(label: &str, split: Split, stats: &Stats) {
    let means: Vec<String> = stats
        .primitive_sums
        .iter()
        .map(|s| format!("{:.3}", s / f64::from(stats.episodes)))
        .collect();
    println!(
        "{label:>8} {split:>10}: success {:.3} ({}/{}), mean steps {:.1}, mean steps when successful {:.1}, actions/step {:.1} (min {}, max {}), primitives [{}]",
        stats.rate(),
        stats.successes,
        stats.episodes,
        stats.steps as f64 / f64::from(stats.episodes),
        stats.success_steps as f64 / f64::from(stats.successes.max(1)),
        stats.actions_seen as f64 / stats.steps as f64,
        stats.min_actions,
        stats.max_actions,
        means.join(", ")
    );
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let tasks: u32 = args.get(1).and_then(|a| a.parse().ok()).unwrap_or(500);
    let seeds: u64 = args.get(2).and_then(|a| a.parse().ok()).unwrap_or(3);
    let mut env = Household::new();
    println!("primitives: {:?}", household_core::primitives::NAMES);
    for split in Split::ALL {
        let expert = run(&mut env, split, tasks, seeds, |env, _| {
            env.expert_action().expect("expert").expect("has expert")
        });
        report("expert", split, &expert);
        let mut rng = Rng::from_parts(&[0x72616e64, split.index()]);
        let random = run(&mut env, split, tasks, seeds, |_, n| rng.below(n) as u32);
        report("random", split, &random);
    }
    let mut rng = Rng::from_parts(&[1]);
    let start = Instant::now();
    let random = run(&mut env, Split::Train, 2_000, 5, |_, n| rng.below(n) as u32);
    let elapsed = start.elapsed().as_secs_f64();
    println!(
        "speed: {} random steps in {elapsed:.2}s = {:.0} steps/s (reset included)",
        random.steps,
        random.steps as f64 / elapsed
    );
}
