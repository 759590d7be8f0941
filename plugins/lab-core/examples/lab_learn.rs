//! A dependency-free stand-in for the DERL inner loop, to check that the
//! choice of reward changes what a small memoryless policy learns on the lab.
//!
//! Policy: hashed words and bigrams of the observation and of each action
//! text, averaged into two embeddings, scored by a one-hidden-layer MLP over
//! `[obs, action, obs * action]`, softmax over the admissible actions. Trained
//! with GRPO (group-normalised advantages, one on-policy Adam step per batch)
//! on `train` tasks, evaluated on `validation` tasks.
//!
//! ```text
//! cargo run --release -p lab-core --example lab_learn -- <reward> [env-steps] [seed]
//! ```
//! `<reward>` is a weighted sum of primitives, e.g. `success`,
//! `success+0.5*progress`, `exploration`, `0.2*success+exploration`.

// Hand-written matrix code reads best with explicit indices.
#![allow(clippy::needless_range_loop)]

use derl_env_api::{Environment, Split};
use lab_core::Lab;
use lab_core::rng::Rng;
use lab_core::tasks::TaskCatalog;

const BUCKETS: usize = 1 << 14;
const DIM: usize = 32;
const HIDDEN: usize = 32;
const GROUP: usize = 8;
const TASKS_PER_BATCH: usize = 8;
const LEARNING_RATE: f32 = 3e-3;

/// Hashed word and bigram ids of a text.
fn features(text: &str) -> Vec<usize> {
    let hash = |parts: &[&str]| {
        let mut h: u64 = 0xcbf2_9ce4_8422_2325;
        for part in parts {
            for byte in part.bytes().chain(std::iter::once(b' ')) {
                h ^= u64::from(byte);
                h = h.wrapping_mul(0x0100_0000_01b3);
            }
        }
        (h % BUCKETS as u64) as usize
    };
    let lower = text.to_lowercase();
    let words: Vec<&str> = lower
        .split(|c: char| !c.is_alphanumeric() && c != '-')
        .filter(|w| !w.is_empty())
        .collect();
    let mut ids: Vec<usize> = words.iter().map(|w| hash(&[w])).collect();
    ids.extend(words.windows(2).map(hash));
    ids
}

/// Parameters (and, in the same layout, gradients and Adam moments).
#[derive(Clone)]
struct Params {
    obs: Vec<f32>,
    act: Vec<f32>,
    w1: Vec<f32>,
    b1: Vec<f32>,
    w2: Vec<f32>,
}

impl Params {
    fn zeros() -> Self {
        Params {
            obs: vec![0.0; BUCKETS * DIM],
            act: vec![0.0; BUCKETS * DIM],
            w1: vec![0.0; HIDDEN * 3 * DIM],
            b1: vec![0.0; HIDDEN],
            w2: vec![0.0; HIDDEN],
        }
    }

    fn random(rng: &mut Rng) -> Self {
        let mut p = Params::zeros();
        let mut normal = |scale: f32| {
            let u = (rng.next_u64() >> 11) as f32 / (1u64 << 53) as f32;
            (u - 0.5) * 2.0 * scale
        };
        for v in p.obs.iter_mut().chain(p.act.iter_mut()) {
            *v = normal(0.3);
        }
        for v in p.w1.iter_mut() {
            *v = normal(0.3);
        }
        for v in p.w2.iter_mut() {
            *v = normal(0.3);
        }
        p
    }

    fn slices(&mut self) -> [&mut Vec<f32>; 5] {
        [
            &mut self.obs,
            &mut self.act,
            &mut self.w1,
            &mut self.b1,
            &mut self.w2,
        ]
    }
}

fn embed(table: &[f32], ids: &[usize]) -> [f32; DIM] {
    let mut v = [0.0; DIM];
    for &id in ids {
        for (x, t) in v.iter_mut().zip(&table[id * DIM..(id + 1) * DIM]) {
            *x += t;
        }
    }
    let n = ids.len().max(1) as f32;
    v.iter_mut().for_each(|x| *x /= n);
    v
}

/// One decision: features and the chosen action.
struct Decision {
    obs: Vec<usize>,
    actions: Vec<Vec<usize>>,
    chosen: usize,
}

struct Forward {
    o: [f32; DIM],
    xs: Vec<[f32; 3 * DIM]>,
    hs: Vec<[f32; HIDDEN]>,
    probs: Vec<f32>,
}

fn forward(p: &Params, obs: &[usize], actions: &[Vec<usize>]) -> Forward {
    let o = embed(&p.obs, obs);
    let mut xs = Vec::with_capacity(actions.len());
    let mut hs = Vec::with_capacity(actions.len());
    let mut scores = Vec::with_capacity(actions.len());
    for ids in actions {
        let a = embed(&p.act, ids);
        let mut x = [0.0; 3 * DIM];
        for i in 0..DIM {
            x[i] = o[i];
            x[DIM + i] = a[i];
            x[2 * DIM + i] = o[i] * a[i];
        }
        let mut h = [0.0; HIDDEN];
        let mut s = 0.0;
        for j in 0..HIDDEN {
            let row = &p.w1[j * 3 * DIM..(j + 1) * 3 * DIM];
            let z: f32 = p.b1[j] + row.iter().zip(&x).map(|(w, x)| w * x).sum::<f32>();
            h[j] = z.tanh();
            s += p.w2[j] * h[j];
        }
        xs.push(x);
        hs.push(h);
        scores.push(s);
    }
    let max = scores.iter().cloned().fold(f32::MIN, f32::max);
    let exp: Vec<f32> = scores.iter().map(|s| (s - max).exp()).collect();
    let total: f32 = exp.iter().sum();
    Forward {
        o,
        xs,
        hs,
        probs: exp.iter().map(|e| e / total).collect(),
    }
}

/// Adds `advantage * d(-log p(chosen))` to `grad`.
fn backward(p: &Params, d: &Decision, advantage: f32, grad: &mut Params) {
    let f = forward(p, &d.obs, &d.actions);
    let mut d_o = [0.0f32; DIM];
    for (i, ids) in d.actions.iter().enumerate() {
        let g = advantage * (f.probs[i] - if i == d.chosen { 1.0 } else { 0.0 });
        if g == 0.0 {
            continue;
        }
        let mut dx = [0.0f32; 3 * DIM];
        for j in 0..HIDDEN {
            grad.w2[j] += g * f.hs[i][j];
            let dz = g * p.w2[j] * (1.0 - f.hs[i][j] * f.hs[i][j]);
            grad.b1[j] += dz;
            let row = j * 3 * DIM;
            for k in 0..3 * DIM {
                grad.w1[row + k] += dz * f.xs[i][k];
                dx[k] += dz * p.w1[row + k];
            }
        }
        let mut d_a = [0.0f32; DIM];
        for k in 0..DIM {
            let a = f.xs[i][DIM + k];
            d_o[k] += dx[k] + dx[2 * DIM + k] * a;
            d_a[k] = dx[DIM + k] + dx[2 * DIM + k] * f.o[k];
        }
        let n = ids.len().max(1) as f32;
        for &id in ids {
            for k in 0..DIM {
                grad.act[id * DIM + k] += d_a[k] / n;
            }
        }
    }
    let n = d.obs.len().max(1) as f32;
    for &id in &d.obs {
        for k in 0..DIM {
            grad.obs[id * DIM + k] += d_o[k] / n;
        }
    }
}

fn sample(probs: &[f32], rng: &mut Rng) -> usize {
    let u = (rng.next_u64() >> 11) as f32 / (1u64 << 53) as f32;
    let mut acc = 0.0;
    for (i, p) in probs.iter().enumerate() {
        acc += p;
        if u < acc {
            return i;
        }
    }
    probs.len() - 1
}

/// Plays one episode; returns decisions, primitives and steps.
fn rollout(
    lab: &mut Lab,
    p: &Params,
    split: Split,
    task: u32,
    seed: u64,
    rng: &mut Rng,
    greedy: bool,
) -> (Vec<Decision>, Vec<f64>) {
    let mut observation = lab.reset(split, task, seed).expect("reset");
    let mut decisions = Vec::new();
    loop {
        let obs = features(&observation.full_text());
        let actions: Vec<Vec<usize>> = observation.actions.iter().map(|a| features(a)).collect();
        let f = forward(p, &obs, &actions);
        let chosen = if greedy {
            (0..f.probs.len())
                .max_by(|&a, &b| f.probs[a].total_cmp(&f.probs[b]))
                .unwrap_or(0)
        } else {
            sample(&f.probs, rng)
        };
        let result = lab.step(chosen as u32).expect("step");
        decisions.push(Decision {
            obs,
            actions,
            chosen,
        });
        if let Some(primitives) = result.primitives {
            return (decisions, primitives);
        }
        observation = result.observation;
    }
}

/// Parses `a*name+b*name` over primitive names.
fn parse_reward(text: &str, names: &[String]) -> Vec<f64> {
    let mut weights = vec![0.0; names.len()];
    for term in text.split('+') {
        let (weight, name) = match term.split_once('*') {
            Some((w, n)) => (w.parse::<f64>().expect("weight"), n),
            None => (1.0, term),
        };
        let i = names
            .iter()
            .position(|n| n == name)
            .unwrap_or_else(|| panic!("unknown primitive {name}"));
        weights[i] += weight;
    }
    weights
}

/// Mean primitives on `validation`, and success by head start and by family.
fn evaluate(
    lab: &mut Lab,
    p: &Params,
    rng: &mut Rng,
    greedy: bool,
) -> (Vec<f64>, [f64; 3], [f64; 4]) {
    let count = lab.task_count(Split::Validation);
    let mut sums = Vec::new();
    let (mut by_head, mut heads) = ([0.0; 3], [0.0; 3]);
    let mut by_family = [0.0; 4];
    for task in 0..count {
        let (_, prims) = rollout(lab, p, Split::Validation, task, 0, rng, greedy);
        if sums.is_empty() {
            sums = vec![0.0; prims.len()];
        }
        sums.iter_mut().zip(&prims).for_each(|(s, v)| *s += v);
        let head = usize::from(
            TaskCatalog::get()
                .task(Split::Validation, task)
                .expect("task")
                .head_start,
        );
        by_head[head] += prims[0];
        heads[head] += 1.0;
        by_family[task as usize % 4] += prims[0] * 4.0 / f64::from(count);
    }
    for (s, n) in by_head.iter_mut().zip(heads) {
        *s /= f64::max(n, 1.0);
    }
    (
        sums.iter().map(|s| s / f64::from(count)).collect(),
        by_head,
        by_family,
    )
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let reward = args
        .first()
        .cloned()
        .unwrap_or_else(|| "success".to_owned());
    let budget: u64 = args.get(1).and_then(|s| s.parse().ok()).unwrap_or(500_000);
    let seed: u64 = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(0);
    let mut lab = Lab::new();
    let names: Vec<String> = lab
        .info()
        .primitives
        .iter()
        .map(|p| p.name.clone())
        .collect();
    let weights = parse_reward(&reward, &names);
    let mut rng = Rng::new(seed);
    let mut params = Params::random(&mut rng);
    let mut m = Params::zeros();
    let mut v = Params::zeros();
    let started = std::time::Instant::now();
    let (mut steps, mut updates) = (0u64, 0i32);
    let train_count = lab.task_count(Split::Train);
    while steps < budget {
        let mut grad = Params::zeros();
        let mut batch_steps = 0usize;
        let mut batch_success = 0.0;
        for _ in 0..TASKS_PER_BATCH {
            let task = rng.below(train_count as usize) as u32;
            let episode_seed = rng.next_u64();
            let group: Vec<(Vec<Decision>, Vec<f64>)> = (0..GROUP)
                .map(|_| {
                    rollout(
                        &mut lab,
                        &params,
                        Split::Train,
                        task,
                        episode_seed,
                        &mut rng,
                        false,
                    )
                })
                .collect();
            let rewards: Vec<f64> = group
                .iter()
                .map(|(_, prims)| prims.iter().zip(&weights).map(|(p, w)| p * w).sum())
                .collect();
            let mean = rewards.iter().sum::<f64>() / GROUP as f64;
            let std =
                (rewards.iter().map(|r| (r - mean).powi(2)).sum::<f64>() / GROUP as f64).sqrt();
            for ((decisions, prims), r) in group.iter().zip(&rewards) {
                batch_steps += decisions.len();
                batch_success += prims[0];
                if std < 1e-9 {
                    continue;
                }
                let advantage = ((r - mean) / (std + 1e-6)) as f32;
                for d in decisions {
                    backward(&params, d, advantage, &mut grad);
                }
            }
        }
        steps += batch_steps as u64;
        updates += 1;
        // Adam over the token-mean loss.
        let scale = 1.0 / batch_steps.max(1) as f32;
        let (b1, b2) = (0.9f32, 0.999f32);
        let (c1, c2) = (1.0 - b1.powi(updates), 1.0 - b2.powi(updates));
        let mut grads = grad;
        for ((p, g), (m, v)) in params
            .slices()
            .into_iter()
            .zip(grads.slices())
            .zip(m.slices().into_iter().zip(v.slices()))
        {
            for i in 0..p.len() {
                let gi = g[i] * scale;
                if gi == 0.0 && m[i] == 0.0 {
                    continue;
                }
                m[i] = b1 * m[i] + (1.0 - b1) * gi;
                v[i] = b2 * v[i] + (1.0 - b2) * gi * gi;
                p[i] -= LEARNING_RATE * (m[i] / c1) / ((v[i] / c2).sqrt() + 1e-8);
            }
        }
        if updates % 25 == 0 {
            println!(
                "update {updates:4} steps {steps:8} train success {:.3} ({:.0}s)",
                batch_success / (TASKS_PER_BATCH * GROUP) as f64,
                started.elapsed().as_secs_f64()
            );
        }
    }
    let show = |values: &[f64]| {
        values
            .iter()
            .map(|v| format!("{v:.3}"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    println!(
        "reward {reward}: {steps} env steps, {updates} updates, {:.0}s",
        started.elapsed().as_secs_f64()
    );
    for (label, greedy) in [("sampled", false), ("greedy", true)] {
        let (means, by_head, by_family) = evaluate(&mut lab, &params, &mut rng, greedy);
        println!(
            "validation {label:7} [{}] ({}); success by head start [{}], by family [{}]",
            show(&means),
            names.join(", "),
            show(&by_head),
            show(&by_family)
        );
    }
}
