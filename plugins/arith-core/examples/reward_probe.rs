//! Trains a small bag-of-words policy with GRPO under several rewards built
//! from the primitives, to check that the choice of reward changes what is
//! learned.
//!
//! `cargo run -p arith-core --release --example reward_probe [seconds-per-reward]`
//!
//! The policy scores each admissible action by a linear function of hashed
//! features: the action's words and bigrams, and every (observation word,
//! action word) pair. That is a bilinear bag-of-words model, about as
//! expressive as the host's embedding-bag policy for mapping word cues to
//! operations. GRPO: eight episodes per task, advantages normalised within
//! the group, plain SGD on the log-likelihood of the sampled actions.

use arith_core::Arith;
use arith_core::rng::{Rng, hash_words};
use derl_env_api::{Environment, Split};
use std::time::{Duration, Instant};

const FEATURE_BITS: u32 = 18;
const GROUP: usize = 8;
const TASKS_PER_UPDATE: usize = 8;
const LEARNING_RATE: f32 = 0.05;
const EVAL_TASKS: u32 = 300;

/// A reward program over the primitive vector.
type Reward = fn(&[f64]) -> f64;

/// Hashes of the words and bigrams of a text (lower case, split on
/// anything that is not a letter or digit).
fn tokens(text: &str) -> Vec<u64> {
    let words: Vec<u64> = text
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(|w| {
            hash_words(
                &w.to_ascii_lowercase()
                    .bytes()
                    .map(u64::from)
                    .collect::<Vec<_>>(),
            )
        })
        .collect();
    let bigrams = words.windows(2).map(|p| hash_words(&[p[0], p[1], 2]));
    words.iter().copied().chain(bigrams).collect()
}

struct Policy {
    weights: Vec<f32>,
}

impl Policy {
    fn features(observation: &[u64], action: &[u64]) -> Vec<usize> {
        let mask = (1u64 << FEATURE_BITS) - 1;
        let mut features: Vec<usize> = action
            .iter()
            .map(|&a| (hash_words(&[a, 1]) & mask) as usize)
            .collect();
        for &o in observation {
            for &a in action {
                features.push((hash_words(&[o, a]) & mask) as usize);
            }
        }
        features
    }

    fn probabilities(&self, features: &[Vec<usize>]) -> Vec<f32> {
        let scores: Vec<f32> = features
            .iter()
            .map(|f| f.iter().map(|&i| self.weights[i]).sum::<f32>())
            .collect();
        let max = scores.iter().copied().fold(f32::MIN, f32::max);
        let exps: Vec<f32> = scores.iter().map(|s| (s - max).exp()).collect();
        let total: f32 = exps.iter().sum();
        exps.iter().map(|e| e / total).collect()
    }
}

/// One step: the features of every action, and the index chosen.
struct Step {
    features: Vec<Vec<usize>>,
    chosen: usize,
}

fn play(
    env: &mut Arith,
    policy: &Policy,
    split: Split,
    task: u32,
    seed: u64,
    rng: &mut Rng,
    greedy: bool,
) -> (Vec<Step>, Vec<f64>) {
    let mut observation = env.reset(split, task, seed).unwrap();
    let mut steps = Vec::new();
    loop {
        let context = tokens(&observation.full_text());
        let features: Vec<Vec<usize>> = observation
            .actions
            .iter()
            .map(|a| Policy::features(&context, &tokens(a)))
            .collect();
        let probabilities = policy.probabilities(&features);
        let chosen = if greedy {
            (0..probabilities.len())
                .max_by(|&a, &b| probabilities[a].total_cmp(&probabilities[b]))
                .unwrap()
        } else {
            let mut u = (rng.next_u64() >> 11) as f32 / (1u64 << 53) as f32;
            let mut pick = probabilities.len() - 1;
            for (i, p) in probabilities.iter().enumerate() {
                if u < *p {
                    pick = i;
                    break;
                }
                u -= p;
            }
            pick
        };
        let result = env.step(chosen as u32).unwrap();
        steps.push(Step { features, chosen });
        if let Some(primitives) = result.primitives {
            return (steps, primitives);
        }
        observation = result.observation;
    }
}

fn evaluate(env: &mut Arith, policy: &Policy, split: Split) -> Vec<f64> {
    let mut rng = Rng::from_words(&[99]);
    let count = env.task_count(split);
    let mut sums = [0.0; 5];
    for i in 0..EVAL_TASKS {
        let task = i * (count / EVAL_TASKS);
        let (_, primitives) = play(env, policy, split, task, 1, &mut rng, true);
        sums.iter_mut().zip(primitives).for_each(|(s, p)| *s += p);
    }
    sums.map(|s| s / f64::from(EVAL_TASKS)).to_vec()
}

fn train(reward: Reward, budget: Duration) -> (Policy, u64) {
    let mut env = Arith::new();
    let mut policy = Policy {
        weights: vec![0.0; 1 << FEATURE_BITS],
    };
    let mut rng = Rng::from_words(&[7]);
    let start = Instant::now();
    let mut episodes = 0;
    while start.elapsed() < budget {
        let mut gradient: Vec<(usize, f32)> = Vec::new();
        for _ in 0..TASKS_PER_UPDATE {
            let task = rng.below(u64::from(env.task_count(Split::Train))) as u32;
            let group: Vec<(Vec<Step>, f64)> = (0..GROUP)
                .map(|g| {
                    let (steps, primitives) = play(
                        &mut env,
                        &policy,
                        Split::Train,
                        task,
                        g as u64,
                        &mut rng,
                        false,
                    );
                    (steps, reward(&primitives))
                })
                .collect();
            episodes += GROUP as u64;
            let mean = group.iter().map(|(_, r)| r).sum::<f64>() / GROUP as f64;
            let var = group.iter().map(|(_, r)| (r - mean).powi(2)).sum::<f64>() / GROUP as f64;
            let std = var.sqrt();
            if std < 1e-9 {
                continue;
            }
            for (steps, r) in &group {
                let advantage = ((r - mean) / std) as f32;
                for step in steps {
                    let probabilities = policy.probabilities(&step.features);
                    for (i, features) in step.features.iter().enumerate() {
                        let coefficient =
                            advantage * (f32::from(u8::from(i == step.chosen)) - probabilities[i]);
                        gradient.extend(features.iter().map(|&f| (f, coefficient)));
                    }
                }
            }
        }
        let scale = LEARNING_RATE / (TASKS_PER_UPDATE * GROUP) as f32;
        for (feature, value) in gradient {
            policy.weights[feature] += scale * value;
        }
    }
    (policy, episodes)
}

fn main() {
    let seconds: u64 = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(60);
    let rewards: [(&str, Reward); 7] = [
        ("outcome", |g| g[0]),
        ("outcome + 0.5*progress", |g| g[0] + 0.5 * g[4]),
        ("outcome + 0.5*loose_outcome", |g| g[0] + 0.5 * g[3]),
        ("progress", |g| g[4]),
        ("format", |g| g[1]),
        ("structure", |g| g[2]),
        ("0.2*outcome + structure", |g| 0.2 * g[0] + g[2]),
    ];
    println!("{seconds} s of training per reward; greedy evaluation on {EVAL_TASKS} tasks");
    for (name, reward) in rewards {
        let (policy, episodes) = train(reward, Duration::from_secs(seconds));
        let mut env = Arith::new();
        let validation = evaluate(&mut env, &policy, Split::Validation);
        let ood = evaluate(&mut env, &policy, Split::Ood);
        println!(
            "{name:>30}: {episodes:>7} episodes | validation outcome {:.3} format {:.3} structure {:.3} loose {:.3} progress {:.3} | ood outcome {:.3}",
            validation[0], validation[1], validation[2], validation[3], validation[4], ood[0]
        );
    }
}
