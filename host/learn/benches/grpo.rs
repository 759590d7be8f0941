//! Timings of the action policy and of GRPO updates on synthetic text-game batches, and the
//! export of a fixed batch for the PyTorch comparison (`benches/grpo_torch.py` at the
//! repository root).
//!
//! ```text
//! cargo bench -p derl-learn --bench grpo                      # timings
//! cargo bench -p derl-learn --bench grpo -- --export DIR      # also write DIR/ for PyTorch
//! RAYON_NUM_THREADS=1 cargo bench -p derl-learn --bench grpo -- --trainer-threads 2 --export DIR
//! ```
//!
//! Threads: candle uses `RAYON_NUM_THREADS` (default: the physical cores) inside each
//! operation. `--trainer-threads N` (with `RAYON_NUM_THREADS=1`) instead runs the
//! micro-batched updates with `GrpoConfig::threads = N`: N micro-batches at a time, one
//! candle thread each; the export then asks PyTorch for N threads.

use std::collections::HashMap;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use candle_core::{Device, Tensor};
use derl_learn::grpo::{Episode, GrpoConfig, GrpoTrainer, LossInputs, Step, grpo_loss};
use derl_learn::optim::{AdamW, Gradients, clip_scale};
use derl_learn::sampling::{shuffle, uniform_index, unit_f64};
use derl_learn::segments::evaluate_rows;
use derl_learn::{ActionDecision, ActionPolicy, ActionPolicyConfig, PolicyKernel, PolicyModel};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde_json::json;

const ROOMS: [&str; 8] = [
    "kitchen", "hall", "cellar", "attic", "garden", "study", "bedroom", "garage",
];
const COLOURS: [&str; 10] = [
    "red", "blue", "green", "yellow", "white", "black", "grey", "pink", "brown", "cyan",
];
const OBJECTS: [&str; 12] = [
    "key", "box", "lamp", "book", "cup", "coin", "ball", "knife", "apple", "map", "rope", "bell",
];
const DIRECTIONS: [&str; 4] = ["north", "south", "east", "west"];

/// Decisions per policy call in the rollout measurement.
const LIVE_EPISODES: usize = 256;
/// Decisions in the GRPO batch: 64 groups of 8 episodes of 16 steps.
const GROUPS: usize = 64;
const GROUP_SIZE: usize = 8;
const STEPS: usize = 16;
/// Micro-batch size of the micro-batched update (whole episodes: a multiple of `STEPS`).
const MICROBATCH: usize = 1024;

fn action_pool() -> Vec<String> {
    let mut pool = vec!["look around".to_owned(), "wait".to_owned()];
    pool.extend(DIRECTIONS.iter().map(|d| format!("go {d}")));
    for colour in COLOURS {
        pool.push(format!("open the {colour} door"));
        for object in OBJECTS {
            pool.push(format!("take the {colour} {object}"));
            pool.push(format!("put the {colour} {object} in the box"));
        }
    }
    pool
}

/// A text-game-like decision: a ~25-word observation and 16..=24 (mean 20) actions.
fn synthetic_decision(
    policy: &ActionPolicy,
    pool: &[String],
    rng: &mut ChaCha8Rng,
) -> ActionDecision {
    let mut pick = |items: &[&'static str]| items[uniform_index(rng, items.len())];
    let observation = format!(
        "you are in the {}. you see a {} {}, a {} {} and a {} door. you carry a {} {}. \
         {} steps left.",
        pick(&ROOMS),
        pick(&COLOURS),
        pick(&OBJECTS),
        pick(&COLOURS),
        pick(&OBJECTS),
        pick(&COLOURS),
        pick(&COLOURS),
        pick(&OBJECTS),
        uniform_index(rng, 30)
    );
    let count = 16 + uniform_index(rng, 9);
    let mut order: Vec<usize> = (0..pool.len()).collect();
    shuffle(&mut order, rng);
    let actions: Vec<&str> = order[..count].iter().map(|&i| pool[i].as_str()).collect();
    policy.encode_decision("", &observation, &[], &actions)
}

/// CPU time of the calling thread so far. With one thread it measures the work itself,
/// whatever else the machine is doing.
fn thread_cpu_time() -> Option<Duration> {
    let mut time = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `time` is a valid, writable timespec for the duration of the call.
    let status = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut time) };
    (status == 0).then(|| Duration::new(time.tv_sec as u64, time.tv_nsec as u32))
}

/// Median and minimum wall time, and median CPU time of this thread, over `repeats` runs
/// after one warm-up run.
struct Timing {
    median: Duration,
    min: Duration,
    cpu_median: Option<Duration>,
}

fn time<T>(repeats: usize, mut run: impl FnMut() -> T) -> Timing {
    run();
    let mut walls = Vec::with_capacity(repeats);
    let mut cpus = Vec::with_capacity(repeats);
    for _ in 0..repeats {
        let cpu_started = thread_cpu_time();
        let started = Instant::now();
        std::hint::black_box(run());
        walls.push(started.elapsed());
        if let (Some(before), Some(after)) = (cpu_started, thread_cpu_time()) {
            cpus.push(after - before);
        }
    }
    walls.sort();
    cpus.sort();
    Timing {
        median: walls[repeats / 2],
        min: walls[0],
        cpu_median: (cpus.len() == repeats).then(|| cpus[repeats / 2]),
    }
}

/// Threads the micro-batched updates use (`--trainer-threads`, default 1).
static TRAINER_THREADS: std::sync::OnceLock<usize> = std::sync::OnceLock::new();

fn trainer_threads() -> usize {
    TRAINER_THREADS.get().copied().unwrap_or(1)
}

fn report(name: &str, timing: Timing) -> serde_json::Value {
    let ms = |duration: Duration| duration.as_secs_f64() * 1e3;
    let single_thread = candle_core::utils::get_num_threads() == 1 && trainer_threads() == 1;
    let cpu = timing.cpu_median.filter(|_| single_thread).map(ms);
    println!(
        "{name:<58} median {:>9.2} ms   min {:>9.2} ms{}",
        ms(timing.median),
        ms(timing.min),
        cpu.map_or(String::new(), |cpu| format!("   cpu {cpu:>9.2} ms"))
    );
    json!({"median_ms": ms(timing.median), "min_ms": ms(timing.min), "cpu_median_ms": cpu})
}

fn batch_groups(
    policy: &ActionPolicy,
    pool: &[String],
    rng: &mut ChaCha8Rng,
) -> Vec<Vec<Episode<ActionDecision>>> {
    let decisions: Vec<ActionDecision> = (0..GROUPS * GROUP_SIZE * STEPS)
        .map(|_| synthetic_decision(policy, pool, rng))
        .collect();
    let mut sampled = Vec::with_capacity(decisions.len());
    for chunk in decisions.chunks(LIVE_EPISODES) {
        let refs: Vec<&ActionDecision> = chunk.iter().collect();
        sampled.extend(policy.sample(&refs, rng).unwrap());
    }
    let mut steps = decisions
        .into_iter()
        .zip(sampled)
        .map(|(decision, choice)| Step {
            decision,
            action: choice.action,
            sampled_log_prob: choice.log_prob,
        });
    (0..GROUPS)
        .map(|_| {
            (0..GROUP_SIZE)
                .map(|_| Episode {
                    steps: steps.by_ref().take(STEPS).collect(),
                    reward: unit_f64(rng),
                })
                .collect()
        })
        .collect()
}

fn main() {
    // As `derl` runs: freed tensor memory stays in the process.
    derl_learn::allocator::keep_freed_memory();
    let args: Vec<String> = std::env::args().collect();
    let value_of = |flag: &str| {
        args.iter().position(|arg| arg == flag).map(|i| {
            args.get(i + 1)
                .unwrap_or_else(|| panic!("{flag} needs a value"))
        })
    };
    let export = value_of("--export").map(PathBuf::from);
    let trainer_threads = value_of("--trainer-threads").map_or(1, |threads| {
        threads
            .parse::<usize>()
            .expect("--trainer-threads needs a number")
    });
    TRAINER_THREADS.set(trainer_threads).unwrap();
    assert!(
        trainer_threads == 1 || candle_core::utils::get_num_threads() == 1,
        "--trainer-threads needs RAYON_NUM_THREADS=1 (one candle thread per trainer thread)"
    );
    let threads = candle_core::utils::get_num_threads().max(trainer_threads);
    // The PyTorch twin (benches/grpo_torch.py) implements the bag-of-features model.
    let config = ActionPolicyConfig::default();
    assert!(
        !config.clause_attention,
        "the PyTorch twin has no clause attention"
    );
    println!(
        "derl-learn GRPO bench: candle CPU, {} candle thread(s), {trainer_threads} trainer thread(s); policy embedding {} x {}, hidden {}",
        candle_core::utils::get_num_threads(),
        1usize << config.featurizer.bucket_bits,
        config.embedding_dim,
        config.hidden_dim
    );
    let policy = ActionPolicy::new(config.clone(), &Device::Cpu).unwrap();
    let initial_weights = policy.parameters().deep_copy().unwrap();
    let pool = action_pool();
    let mut rng = ChaCha8Rng::seed_from_u64(1);
    let mut results = serde_json::Map::new();

    let live: Vec<ActionDecision> = (0..LIVE_EPISODES)
        .map(|_| synthetic_decision(&policy, &pool, &mut rng))
        .collect();
    let live_refs: Vec<&ActionDecision> = live.iter().collect();
    let pairs: usize = live.iter().map(|d| d.actions.len()).sum();
    println!("\nrollout step: {LIVE_EPISODES} decisions, {pairs} (decision, action) pairs");
    results.insert(
        "sample_256".into(),
        report(
            "  sample (prepare + forward + read back + draw)",
            time(50, || policy.sample(&live_refs, &mut rng).unwrap()),
        ),
    );
    results.insert(
        "prepare_256".into(),
        report(
            "  of which prepare (dedup, index tensors)",
            time(50, || policy.prepare(&live_refs).unwrap()),
        ),
    );

    let groups = batch_groups(&policy, &pool, &mut rng);
    let steps: Vec<&Step<ActionDecision>> =
        groups.iter().flatten().flat_map(|e| &e.steps).collect();
    let decisions: Vec<&ActionDecision> = steps.iter().map(|s| &s.decision).collect();
    let pairs: usize = decisions.iter().map(|d| d.actions.len()).sum();
    let prepared = policy.prepare(&decisions).unwrap();
    println!(
        "\nGRPO batch: {} decisions ({GROUPS} groups x {GROUP_SIZE} episodes x {STEPS} steps), \
         {pairs} pairs, {} distinct observations, {} distinct action texts",
        decisions.len(),
        prepared.distinct_observations(),
        prepared.distinct_actions()
    );
    results.insert(
        "prepare_8192".into(),
        report("  prepare", time(5, || policy.prepare(&decisions).unwrap())),
    );
    results.insert(
        "forward_8192".into(),
        report(
            "  forward on the prepared batch",
            time(5, || {
                policy
                    .distributions_of(&prepared)
                    .unwrap()
                    .log_probs
                    .sum_all()
                    .unwrap()
                    .to_scalar::<f32>()
                    .unwrap()
            }),
        ),
    );

    // The step the PyTorch script mirrors: forward, loss, backward, clip, AdamW on a fixed,
    // prepared batch (no featurization, no flattening).
    let grpo = GrpoConfig {
        minibatch_decisions: decisions.len(),
        microbatch_decisions: decisions.len(),
        ..GrpoConfig::default()
    };
    let actions: Vec<u32> = steps.iter().map(|s| s.action).collect();
    let sampled: Vec<f32> = steps.iter().map(|s| s.sampled_log_prob).collect();
    let advantages: Vec<f32> = groups
        .iter()
        .flat_map(|group| {
            let rewards: Vec<f64> = group.iter().map(|e| e.reward).collect();
            let advantages = derl_learn::grpo::group_advantages(
                &rewards,
                grpo.advantage,
                grpo.advantage_epsilon,
            );
            group
                .iter()
                .zip(advantages)
                .flat_map(|(episode, advantage)| {
                    std::iter::repeat_n(advantage as f32, episode.steps.len())
                })
                .collect::<Vec<_>>()
        })
        .collect();
    let n = decisions.len();
    let loss_weights = vec![1.0 / n as f32; n];
    let tensor = |values: &[f32]| Tensor::from_slice(values, n, &Device::Cpu).unwrap();
    let (sampled_t, advantages_t, weights_t) =
        (tensor(&sampled), tensor(&advantages), tensor(&loss_weights));
    // The loss of one step on this batch (no KL, no entropy bonus), for both kernels.
    let loss_of = |log_probs: &Tensor, entropy: &Tensor| {
        grpo_loss(
            LossInputs {
                log_probs,
                entropy,
                sampled_log_probs: &sampled_t,
                advantages: &advantages_t,
                weights: &weights_t,
                reference_log_probs: None,
            },
            grpo.clip_range(),
            0.0,
            0.0,
        )
    };
    let mut optimizer = AdamW::new(grpo.adamw());
    let mut first_step: Option<serde_json::Value> = None;
    results.insert(
        "tensor_step_8192".into(),
        report(
            "  one step: forward + loss + backward + clip + AdamW",
            time(7, || {
                let distributions = policy.distributions_of(&prepared).unwrap();
                let evaluation = evaluate_rows(&distributions.log_probs, &actions).unwrap();
                let terms = loss_of(&evaluation.log_probs, &evaluation.entropy).unwrap();
                let grads =
                    Gradients::from_backward(policy.parameters(), &terms.loss.backward().unwrap());
                let norm = grads.global_norm().unwrap();
                let scale = clip_scale(norm, grpo.max_grad_norm);
                optimizer.step(policy.parameters(), &grads, scale).unwrap();
                if first_step.is_none() {
                    let sum = |t: &Tensor| t.sum_all().unwrap().to_scalar::<f32>().unwrap();
                    first_step = Some(json!({
                        "loss": terms.loss.to_scalar::<f32>().unwrap(),
                        "grad_norm": norm,
                        "log_prob_sum": sum(&evaluation.log_probs),
                        "entropy_sum": sum(&evaluation.entropy),
                    }));
                }
            }),
        ),
    );

    // The same step on the fused kernel (same weights: the same seed), flattening the
    // batch included (the fused kernel has no separate prepared form).
    let fused = ActionPolicy::new(
        ActionPolicyConfig {
            kernel: PolicyKernel::Fused,
            ..config.clone()
        },
        &Device::Cpu,
    )
    .unwrap();
    let mut fused_optimizer = AdamW::new(grpo.adamw());
    results.insert(
        "fused_step_8192".into(),
        report(
            "  one step on the fused kernel: flatten + forward + loss + backward + clip + AdamW",
            time(7, || {
                let (grads, ()) = fused
                    .loss_gradients(&decisions, &actions, |evaluation| {
                        let terms = loss_of(&evaluation.log_probs, &evaluation.entropy)?;
                        Ok((terms.loss, ()))
                    })
                    .unwrap();
                let norm = grads.global_norm().unwrap();
                let scale = clip_scale(norm, grpo.max_grad_norm);
                fused_optimizer
                    .step(fused.parameters(), &grads, scale)
                    .unwrap();
            }),
        ),
    );

    let trainers = [
        (
            "update_8192_one_pass",
            "  GrpoTrainer::update, 1 step, 1 pass of 8192",
            grpo.clone(),
        ),
        (
            "update_8192_micro",
            "  GrpoTrainer::update, 1 step, 8 micro-batches of 1024",
            GrpoConfig {
                microbatch_decisions: MICROBATCH,
                threads: trainer_threads,
                ..grpo.clone()
            },
        ),
        (
            "update_8192_default",
            "  GrpoTrainer::update, defaults (4 steps of 2 x 1024)",
            GrpoConfig {
                threads: trainer_threads,
                ..GrpoConfig::default()
            },
        ),
    ];
    for (key, name, config) in trainers {
        let mut trainer = GrpoTrainer::new(config.clone(), &policy).unwrap();
        let timing = time(5, || trainer.update(&policy, &groups).unwrap());
        results.insert(key.into(), report(name, timing));
        let mut trainer = GrpoTrainer::new(config, &fused).unwrap();
        let timing = time(5, || trainer.update(&fused, &groups).unwrap());
        results.insert(
            format!("{key}_fused"),
            report(&format!("{name} (fused kernel)"), timing),
        );
    }
    println!("  micro-batch size sweep (1 step on 8192 decisions):");
    for micro in [256, 512, 2048] {
        let config = GrpoConfig {
            microbatch_decisions: micro,
            threads: trainer_threads,
            ..grpo.clone()
        };
        let mut trainer = GrpoTrainer::new(config, &policy).unwrap();
        let timing = time(5, || trainer.update(&policy, &groups).unwrap());
        let name = format!("    micro-batches of {micro}");
        results.insert(format!("update_8192_micro_{micro}"), report(&name, timing));
    }

    if let Some(dir) = export {
        std::fs::create_dir_all(&dir).unwrap();
        let mut tensors: HashMap<String, Tensor> = prepared.tensors();
        tensors.insert(
            "actions".into(),
            Tensor::from_slice(&actions, n, &Device::Cpu).unwrap(),
        );
        tensors.insert("sampled_log_probs".into(), sampled_t.clone());
        tensors.insert("advantages".into(), advantages_t.clone());
        tensors.insert("loss_weights".into(), weights_t.clone());
        for (index, chunk) in decisions.chunks(MICROBATCH).enumerate() {
            let micro = policy.prepare(chunk).unwrap();
            let base = index * MICROBATCH;
            tensors.insert(
                format!("micro{index}.shape"),
                Tensor::new(
                    &[
                        micro.distinct_observations() as u32,
                        micro.distinct_actions() as u32,
                        micro.segments().width() as u32,
                        base as u32,
                        chunk.len() as u32,
                    ],
                    &Device::Cpu,
                )
                .unwrap(),
            );
            for (name, tensor) in micro.tensors() {
                tensors.insert(format!("micro{index}.{name}"), tensor);
            }
        }
        candle_core::safetensors::save(&tensors, dir.join("batch.safetensors")).unwrap();
        candle_core::safetensors::save(&initial_weights.tensors(), dir.join("weights.safetensors"))
            .unwrap();
        let meta = json!({
            "threads": threads,
            "policy": config,
            "grpo": grpo,
            "decisions": n,
            "microbatch_decisions": MICROBATCH,
            "pairs": pairs,
            "width": prepared.segments().width(),
            "distinct_observations": prepared.distinct_observations(),
            "distinct_actions": prepared.distinct_actions(),
            "candle_first_step": first_step,
            "candle_ms": results,
        });
        std::fs::write(
            dir.join("meta.json"),
            serde_json::to_string_pretty(&meta).unwrap(),
        )
        .unwrap();
        println!(
            "\nexported the batch, initial weights and timings to {}",
            dir.display()
        );
    }
}
