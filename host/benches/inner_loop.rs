//! The inner loop's speed: fixed household, lab and arith jobs with the
//! default policy, each on 1 and 2 threads, reporting decisions (environment
//! steps in training rollouts) per second and per core, where the time goes
//! (featurizing observations, the policy's forward pass and action draw,
//! environment steps in Wasm, reward scoring, GRPO forward and backward, the
//! optimizer step, the rest), and the parallel efficiency of 2 threads.
//! Then two probes of this machine's limits: f32 matmul GFLOP/s through
//! candle on one thread, and memory bandwidth (a large copy).
//!
//! The phases come from the inner loop's own debug timing events, so the
//! jobs run exactly as `derl train` runs them. Nothing here is a test:
//! results are in BENCHMARKS.md with this command.
//!
//! Every job runs five times, the rounds interleaved across paths, and the tables show the
//! run of median speed with the range of all five.
//!
//! Run: `cargo bench -p derl --bench inner_loop` (`-- --quick`: 2 updates, one round)

use derl::inner::{EnvSpec, InnerConfig, InnerJob, PolicyConfig, RewardSpec, run_job};
use derl_env_api::Split;
use derl_learn::PolicyKernel;
use derl_sandbox::{Sandbox, SandboxConfig};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Instant;
use tracing::field::{Field, Visit};
use tracing_subscriber::layer::{Context, SubscriberExt};

/// Seconds per named field, summed over every timing event.
#[derive(Clone, Default)]
struct Phases(Arc<Mutex<BTreeMap<&'static str, f64>>>);

impl Phases {
    fn take(&self) -> BTreeMap<&'static str, f64> {
        std::mem::take(&mut *self.0.lock().unwrap())
    }
}

struct Adder<'a>(&'a mut BTreeMap<&'static str, f64>);

impl Visit for Adder<'_> {
    fn record_f64(&mut self, field: &Field, value: f64) {
        *self.0.entry(field.name()).or_default() += value;
    }
    fn record_u64(&mut self, field: &Field, value: u64) {
        *self.0.entry(field.name()).or_default() += value as f64;
    }
    fn record_i64(&mut self, field: &Field, value: i64) {
        *self.0.entry(field.name()).or_default() += value as f64;
    }
    fn record_debug(&mut self, _: &Field, _: &dyn std::fmt::Debug) {}
}

impl<S: tracing::Subscriber> tracing_subscriber::Layer<S> for Phases {
    fn on_event(&self, event: &tracing::Event<'_>, _: Context<'_, S>) {
        let mut sums = self.0.lock().unwrap();
        let mut fields = BTreeMap::new();
        event.record(&mut Adder(&mut fields));
        let prefix = if fields.contains_key("forward_backward_seconds") {
            "grpo."
        } else if fields.contains_key("rollout_seconds") {
            "update."
        } else {
            return;
        };
        for (name, value) in fields {
            let key: &'static str = Box::leak(format!("{prefix}{name}").into_boxed_str());
            *sums.entry(key).or_default() += value;
        }
    }
}

/// One fixed job: `env` with its shaped reward, the default policy, 16
/// tasks x 8 episodes per update, no evaluation beyond a token one.
fn job(
    env: &str,
    settings: &[(&str, &str)],
    reward: &str,
    updates: u32,
    threads: usize,
    kernel: PolicyKernel,
    feature_cache: bool,
) -> InnerJob {
    let mut policy = PolicyConfig::default();
    policy.grpo.threads = threads;
    policy.model.kernel = kernel;
    policy.feature_cache = feature_cache;
    InnerJob {
        env: EnvSpec {
            settings: settings
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            ..EnvSpec::named(env)
        },
        reward: RewardSpec::Program(reward.into()),
        inner: InnerConfig {
            updates,
            eval_episodes: 1,
            eval_every: 0,
            ..InnerConfig::default()
        },
        policy,
        seed: 0,
        warm_start: None,
        eval_splits: vec![Split::Validation],
        checkpoint: None,
    }
}

fn matmul_gflops() -> f64 {
    use candle_core::{Device, Tensor};
    let n = 512;
    let a = Tensor::ones((n, n), candle_core::DType::F32, &Device::Cpu).unwrap();
    let b = Tensor::ones((n, n), candle_core::DType::F32, &Device::Cpu).unwrap();
    let _ = a.matmul(&b).unwrap();
    let reps = 20;
    let started = Instant::now();
    for _ in 0..reps {
        std::hint::black_box(a.matmul(&b).unwrap());
    }
    let seconds = started.elapsed().as_secs_f64();
    2.0 * (n * n * n) as f64 * reps as f64 / seconds / 1e9
}

/// GFLOP/s of the fused kernel's own product on one thread: a block of `rows` pair rows of
/// `columns` inputs times the stacked `(columns, hidden)` weight, through `derl_learn::dense`
/// (the ceiling at the policy's shapes, where the 512x512 probe is the machine's).
fn pair_product_gflops(rows: usize, columns: usize, hidden: usize) -> f64 {
    use derl_learn::dense::{MatRef, matmul};
    let inputs = vec![0.5f32; rows * columns];
    let weight = vec![0.25f32; columns * hidden];
    let mut out = vec![0f32; rows * hidden];
    let product = |out: &mut [f32]| {
        matmul(
            out,
            MatRef::new(&inputs, rows, columns),
            MatRef::new(&weight, columns, hidden),
            false,
        )
    };
    product(&mut out);
    let reps = 200;
    let started = Instant::now();
    for _ in 0..reps {
        product(std::hint::black_box(&mut out));
    }
    2.0 * (rows * columns * hidden * reps) as f64 / started.elapsed().as_secs_f64() / 1e9
}

fn copy_gib_per_second() -> f64 {
    let bytes = 256 << 20;
    let source = vec![1u8; bytes];
    let mut target = vec![0u8; bytes];
    target.copy_from_slice(&source);
    let reps = 8;
    let started = Instant::now();
    for _ in 0..reps {
        target.copy_from_slice(std::hint::black_box(&source));
        std::hint::black_box(&target);
    }
    // A copy reads and writes every byte.
    2.0 * (bytes * reps) as f64 / started.elapsed().as_secs_f64() / (1u64 << 30) as f64
}

fn main() {
    // As the derl binary runs: freed tensor memory kept for reuse, one
    // candle thread per policy.
    derl_learn::allocator::keep_freed_memory();
    // SAFETY: no other thread runs yet.
    unsafe { std::env::set_var("RAYON_NUM_THREADS", "1") };
    let quick = std::env::args().any(|arg| arg == "--quick");
    let updates = if quick { 2 } else { 6 };
    // Rounds of every job; the tables show the run of median rate.
    let repeats = if quick { 1 } else { 5 };
    let phases = Phases::default();
    // Only the two timing events: every other crate's trace events stay off.
    let timing = tracing_subscriber::filter::Targets::new()
        .with_target("derl::inner::train", tracing::Level::DEBUG)
        .with_target("derl_learn::grpo::trainer", tracing::Level::DEBUG);
    let subscriber = tracing_subscriber::registry().with(tracing_subscriber::Layer::with_filter(
        phases.clone(),
        timing,
    ));
    tracing::subscriber::set_global_default(subscriber).unwrap();
    let sandbox = Sandbox::new(SandboxConfig::default()).unwrap();
    let cases = [
        ("household", vec![], "success + 0.5*progress"),
        ("lab", vec![], "success + 0.5*progress"),
        ("arith", vec![], "outcome + 0.5*loose_outcome"),
    ];
    println!(
        "{updates} GRPO updates of 16 tasks x 8 episodes per job, seed 0, default policy, release build; each job {repeats} times, rounds interleaved, the run of median decisions/s shown (range: slowest-fastest)\n"
    );
    println!(
        "| environment | path | threads | decisions | wall s | decisions/s | range | per core | featurize | forward + draw | env (Wasm) | reward | GRPO fwd+bwd | optimizer | other | 2-thread efficiency | vs before |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|");
    // `--only ENV` runs one environment, `--fused-only` only today's default path (for
    // profiling).
    let fused_only = std::env::args().any(|arg| arg == "--fused-only");
    // Before the speed work (candle, every observation featurized afresh), the candle
    // kernel with the feature cache, and the fused kernel with it.
    let gflops = matmul_gflops();
    let bandwidth = copy_gib_per_second();
    let mut roofline_rows = Vec::new();
    let paths = [
        ("before", PolicyKernel::Candle, false),
        ("candle + cache", PolicyKernel::Candle, true),
        ("fused + cache", PolicyKernel::Fused, true),
    ];
    let args: Vec<String> = std::env::args().collect();
    let only = args
        .iter()
        .position(|arg| arg == "--only")
        .and_then(|at| args.get(at + 1).cloned());
    for (env, settings, reward) in &cases {
        if only.as_deref().is_some_and(|only| only != *env) {
            continue;
        }
        let settings: Vec<(&str, &str)> = settings.clone();
        let runs: Vec<_> = paths
            .iter()
            .filter(|(_, kernel, _)| !(fused_only && *kernel == PolicyKernel::Candle))
            .flat_map(|path| [(*path, 1usize), (*path, 2)])
            .collect();
        // Every (path, threads) job `repeats` times, the rounds interleaved so that a slow
        // moment of a shared machine does not fall on one path alone.
        let mut measured: Vec<Vec<Measured>> = vec![Vec::new(); runs.len()];
        for _ in 0..repeats {
            for (at, ((_, kernel, feature_cache), threads)) in runs.iter().enumerate() {
                let job = job(
                    env,
                    &settings,
                    reward,
                    updates,
                    *threads,
                    *kernel,
                    *feature_cache,
                );
                phases.take();
                run_job(&sandbox, &job, |_| {}).expect("the job runs");
                measured[at].push(Measured(phases.take()));
            }
        }
        let medians: Vec<(Measured, String)> = measured.into_iter().map(median_run).collect();
        let rate_of = |path: &str, threads: usize| {
            runs.iter()
                .position(|((name, _, _), t)| *name == path && *t == threads)
                .map_or(f64::NAN, |at| medians[at].0.rate())
        };
        for (((path, _, _), threads), (run, range)) in runs.iter().zip(&medians) {
            let rate = run.rate();
            let get = |key: &str| run.get(key);
            let training = run.training();
            let parts = [
                get("update.encode_seconds"),
                get("update.act_seconds"),
                get("update.env_seconds"),
                get("update.reward_seconds"),
                get("grpo.forward_backward_seconds"),
                get("grpo.optimizer_seconds"),
            ];
            let other = (training - parts.iter().sum::<f64>()).max(0.0);
            let share = |seconds: f64| format!("{:.0}%", 100.0 * seconds / training);
            let efficiency = if *threads == 1 {
                "-".to_owned()
            } else {
                format!("{:.2}", rate / rate_of(path, 1) / *threads as f64)
            };
            if *threads == 1 {
                roofline_rows.push((*env, *path, run.clone()));
            }
            let before = rate_of("before", *threads);
            let versus = if before.is_nan() {
                "-".to_owned()
            } else {
                format!("{:.2}x", rate / before)
            };
            println!(
                "| {env} | {path} | {threads} | {:.0} | {training:.2} | {rate:.0} | {range} | {:.0} | {} | {} | {} | {} | {} | {} | {} | {efficiency} | {versus} |",
                get("update.steps"),
                rate / *threads as f64,
                share(parts[0]),
                share(parts[1]),
                share(parts[2]),
                share(parts[3]),
                share(parts[4]),
                share(parts[5]),
                share(other),
            );
        }
    }
    println!(
        "\nwall s: training only (rollouts, reward, GRPO), without loading and the final evaluation"
    );
    println!(
        "\nmachine: f32 matmul 512x512 on one thread {gflops:.1} GFLOP/s; memory copy {bandwidth:.1} GiB/s (read + write)"
    );
    print_roofline(&roofline_rows, gflops, bandwidth);
}

/// The summed timing fields of one job run.
#[derive(Clone)]
struct Measured(BTreeMap<&'static str, f64>);

impl Measured {
    fn get(&self, key: &str) -> f64 {
        self.0.get(key).copied().unwrap_or(0.0)
    }

    /// Seconds of training: rollouts, reward and GRPO updates.
    fn training(&self) -> f64 {
        self.get("update.rollout_seconds")
            + self.get("update.reward_seconds")
            + self.get("update.update_seconds")
    }

    /// Decisions per second of training.
    fn rate(&self) -> f64 {
        self.get("update.steps") / self.training()
    }
}

/// The run of median rate among `runs`, with the range of their rates as text.
fn median_run(mut runs: Vec<Measured>) -> (Measured, String) {
    runs.sort_by(|a, b| a.rate().total_cmp(&b.rate()));
    let range = format!("{:.0}-{:.0}", runs[0].rate(), runs[runs.len() - 1].rate());
    (runs.swap_remove(runs.len() / 2), range)
}

/// FLOPs and bytes of the default policy per scored (observation, action) pair and per
/// decision, against the machine's probes: how close each phase runs to its limit.
///
/// Per pair, forward: the stacked pair product `2 K h` (K = 4 dim + 2 columns: `obs *
/// act`, the context bag, `context * act`, `context * header`, overlap, goal share), the
/// output `2 h`, building the inputs `4 dim`. Per decision: the observation block
/// `2 dim h`. A backward pass costs twice the products. GRPO evaluates every decision
/// once per epoch, forward and backward. Bytes per pair: the pair inputs and hidden rows
/// written and read about five times in a training pass (forward product, ReLU and output,
/// weight gradient, input gradient, scatter), twice in a rollout's forward pass.
/// `rows`: environment, path and the one-thread run of median speed.
fn print_roofline(rows: &[(&str, &str, Measured)], gflops: f64, bandwidth: f64) {
    let model = PolicyConfig::default();
    let (dim, hidden) = (
        model.model.embedding_dim as f64,
        model.model.hidden_dim as f64,
    );
    let epochs = f64::from(model.grpo.epochs);
    let columns = 4.0 * dim + 2.0;
    let pair_forward = 2.0 * columns * hidden + 2.0 * hidden + 4.0 * dim;
    let decision_forward = 2.0 * dim * hidden;
    let pair_bytes = 4.0 * (columns + hidden);
    let shaped = pair_product_gflops(2048, columns as usize, hidden as usize);
    println!(
        "\nRoofline (one thread; default policy: dim {dim}, hidden {hidden}, {columns} pair columns, {epochs} GRPO epochs)"
    );
    println!(
        "the pair product at the policy's shapes (2048 x {columns} times {columns} x {hidden}, derl_learn::dense): {shaped:.1} GFLOP/s, {:.0}% of the 512x512 probe\n",
        100.0 * shaped / gflops
    );
    println!(
        "| environment | path | pairs per decision | forward MFLOP per decision | GRPO MFLOP per decision | forward GFLOP/s | GRPO GFLOP/s | forward share of matmul peak | GRPO share of matmul peak | GRPO share of pair-product peak | GRPO share of copy bandwidth |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|---|");
    let bytes_per_second = bandwidth * (1u64 << 30) as f64;
    for (env, path, run) in rows {
        let (decisions, pairs) = (run.get("update.steps"), run.get("update.pairs"));
        let grpo_seconds = run.get("grpo.forward_backward_seconds");
        let per_decision = pairs / decisions;
        let forward = pairs * pair_forward + decisions * decision_forward;
        let grpo = epochs * 3.0 * forward;
        let grpo_bytes = epochs * 5.0 * pairs * pair_bytes;
        let forward_rate = forward / run.get("update.act_seconds") / 1e9;
        let grpo_rate = grpo / grpo_seconds / 1e9;
        println!(
            "| {} | {} | {per_decision:.1} | {:.2} | {:.2} | {forward_rate:.1} | {grpo_rate:.1} | {:.0}% | {:.0}% | {:.0}% | {:.0}% |",
            env,
            path,
            forward / decisions / 1e6,
            grpo / decisions / 1e6,
            100.0 * forward_rate / gflops,
            100.0 * grpo_rate / gflops,
            100.0 * grpo_rate / shaped,
            100.0 * grpo_bytes / grpo_seconds / bytes_per_second,
        );
    }
}
