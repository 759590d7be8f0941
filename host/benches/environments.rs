//! Environments, measured in one run:
//!
//! 1. steps per second of each environment's core compiled natively versus
//!    the same core as a Wasm component through the host, on identical seeded
//!    random-action episodes (checked to match step for step and in their
//!    final primitives);
//! 2. success rate of the scripted expert and of a uniformly random policy,
//!    per split, on the native cores (default settings).
//!
//! Run: `cargo bench -p derl --bench environments` (`-- --wasm-only --perf-map` to profile
//! the components alone under `perf record`)

use derl::plugin::{EnvLimits, EnvironmentPlugin};
use derl_env_api::{Environment, Observation, Split, StepResult};
use derl_sandbox::{Sandbox, SandboxConfig};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::time::Instant;

/// Random-action episodes per timed run.
const EPISODES: u32 = 400;
/// Timed runs per side; native and wasm alternate, the median is reported.
const RUNS: usize = 5;
/// Episodes per split and policy in the success table.
const SUCCESS_EPISODES: u32 = 200;

/// What the timed loop needs from an environment, native or sandboxed.
trait Stepper {
    fn task_count(&self, split: Split) -> u32;
    fn reset(&mut self, split: Split, task: u32, seed: u64) -> Observation;
    fn step(&mut self, action: u32) -> StepResult;
}

/// A native core.
struct Native<E>(E);

impl<E: Environment> Stepper for Native<E> {
    fn task_count(&self, split: Split) -> u32 {
        self.0.task_count(split)
    }
    fn reset(&mut self, split: Split, task: u32, seed: u64) -> Observation {
        self.0.reset(split, task, seed).expect("native reset")
    }
    fn step(&mut self, action: u32) -> StepResult {
        self.0.step(action).expect("native step")
    }
}

/// The component through the host.
struct Wasm {
    plugin: EnvironmentPlugin,
    instance: derl::plugin::EnvInstance,
}

impl Stepper for Wasm {
    fn task_count(&self, split: Split) -> u32 {
        self.plugin.task_count(split)
    }
    fn reset(&mut self, split: Split, task: u32, seed: u64) -> Observation {
        self.instance.reset(split, task, seed).expect("wasm reset")
    }
    fn step(&mut self, action: u32) -> StepResult {
        self.instance.step(action).expect("wasm step")
    }
}

/// One timed run: `EPISODES` random-action episodes on the train split.
struct Run {
    steps_per_second: f64,
    steps: u64,
    /// Sum of every episode's final primitives, to check that both sides
    /// played the same episodes.
    primitive_sum: f64,
    /// Bytes of observation text and action labels returned, all steps.
    observation_bytes: u64,
}

fn timed_run(env: &mut impl Stepper) -> Run {
    let mut rng = ChaCha8Rng::seed_from_u64(1);
    let tasks = env.task_count(Split::Train);
    let mut steps = 0u64;
    let mut primitive_sum = 0.0;
    let mut observation_bytes = 0u64;
    let started = Instant::now();
    for episode in 0..EPISODES {
        let mut obs = env.reset(Split::Train, episode % tasks, u64::from(episode));
        loop {
            let action = rng.random_range(0..obs.actions.len() as u32);
            let result = env.step(action);
            steps += 1;
            if result.done() {
                primitive_sum += result
                    .primitives
                    .expect("primitives at episode end")
                    .iter()
                    .sum::<f64>();
                break;
            }
            obs = result.observation;
            observation_bytes += (obs.task.len()
                + obs.text.len()
                + obs.actions.iter().map(String::len).sum::<usize>())
                as u64;
        }
    }
    Run {
        steps_per_second: steps as f64 / started.elapsed().as_secs_f64(),
        steps,
        primitive_sum,
        observation_bytes,
    }
}

fn median(mut xs: Vec<f64>) -> f64 {
    xs.sort_by(f64::total_cmp);
    xs[xs.len() / 2]
}

fn wasm(name: &str, sandbox: &Sandbox, bytes: &[u8]) -> Wasm {
    let plugin = EnvironmentPlugin::load(sandbox, bytes, &[], &EnvLimits::default())
        .unwrap_or_else(|e| panic!("{name}: component does not load: {e}"));
    let instance = plugin.instance(0).expect("instance");
    Wasm { plugin, instance }
}

/// Median steps/s of the native core, of the component, and of the
/// component without fuel metering, runs alternating.
fn throughput<E: Environment>(name: &str, sandboxes: &[Sandbox; 2], bytes: &[u8]) {
    let mut native = Native(E::new());
    let mut metered = wasm(name, &sandboxes[0], bytes);
    let mut unmetered = wasm(name, &sandboxes[1], bytes);
    let mut rates = [Vec::new(), Vec::new(), Vec::new()];
    let (mut steps, mut bytes_per_step) = (0, 0.0);
    for _ in 0..RUNS {
        let n = timed_run(&mut native);
        let runs = [timed_run(&mut metered), timed_run(&mut unmetered)];
        for w in &runs {
            assert_eq!(
                (n.steps, n.primitive_sum.to_bits(), n.observation_bytes),
                (w.steps, w.primitive_sum.to_bits(), w.observation_bytes),
                "{name}: native and wasm episodes must match step for step"
            );
        }
        steps = n.steps;
        bytes_per_step = n.observation_bytes as f64 / n.steps as f64;
        for (rate, run) in rates.iter_mut().zip([&n, &runs[0], &runs[1]]) {
            rate.push(run.steps_per_second);
        }
    }
    let [n, w, u] = rates.map(median);
    println!(
        "| {name} | {steps} | {bytes_per_step:.0} | {n:.0} | {w:.0} | {:.2} | {:.2} | {:.2}x | {:.2}x |",
        1e6 / n,
        1e6 / w,
        n / w,
        n / u
    );
}

/// The policy playing an episode in the success table.
#[derive(Clone, Copy)]
enum Policy {
    Expert,
    Random,
}

/// Plays one episode; returns (success, steps). Success is `g1 >= 0.5`
/// (`g1` is the task-success primitive of every bundled environment).
fn play<E: Environment>(
    env: &mut E,
    policy: Policy,
    rng: &mut ChaCha8Rng,
    split: Split,
    task: u32,
    seed: u64,
) -> Result<(bool, u32), String> {
    let mut obs = env.reset(split, task, seed).map_err(|e| e.to_string())?;
    let mut steps = 0;
    loop {
        let action = match policy {
            Policy::Expert => env
                .expert_action()
                .map_err(|e| e.to_string())?
                .ok_or_else(|| format!("no expert action after {steps} steps"))?,
            Policy::Random => rng.random_range(0..obs.actions.len() as u32),
        };
        let result = env.step(action).map_err(|e| e.to_string())?;
        steps += 1;
        if result.done() {
            let primitives = result
                .primitives
                .ok_or("an ended episode reported no primitives")?;
            return Ok((primitives[0] >= 0.5, steps));
        }
        obs = result.observation;
    }
}

/// Success rate and mean episode length of `policy` on `episodes` episodes
/// of `split` (task `i % tasks`, seed `i`).
fn success<E: Environment>(env: &mut E, policy: Policy, split: Split) -> (f64, f64) {
    let mut rng = ChaCha8Rng::seed_from_u64(0x5eed ^ split.index());
    let tasks = env.task_count(split);
    let (mut wins, mut steps) = (0u32, 0u64);
    for i in 0..SUCCESS_EPISODES {
        let (won, n) =
            play(env, policy, &mut rng, split, i % tasks, u64::from(i)).unwrap_or_else(|e| {
                panic!(
                    "{} {split} task {} seed {i}: {e}",
                    env.info().name,
                    i % tasks
                )
            });
        wins += u32::from(won);
        steps += u64::from(n);
    }
    (
        f64::from(wins) / f64::from(SUCCESS_EPISODES),
        steps as f64 / f64::from(SUCCESS_EPISODES),
    )
}

fn success_rows<E: Environment>() {
    let mut env = E::new();
    let info = env.info();
    for split in info.splits.iter().copied() {
        let tasks = env.task_count(split);
        if tasks == 0 {
            println!("| {} | {split} | 0 | - | - | - | - |", info.name);
            continue;
        }
        let (expert, expert_steps) = success(&mut env, Policy::Expert, split);
        let (random, random_steps) = success(&mut env, Policy::Random, split);
        println!(
            "| {} | {split} | {tasks} | {:.1}% | {:.1}% | {expert_steps:.1} | {random_steps:.1} |",
            info.name,
            100.0 * expert,
            100.0 * random,
        );
    }
}

fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "unknown".into())
}

/// For profiling the sandboxed side alone (`-- --wasm-only [--perf-map]`): the metered
/// component's timed runs, nothing native, no table; with `--perf-map`, wasmtime writes
/// `/tmp/perf-<pid>.map` so that `perf report` names the guest's functions.
fn profile_wasm_only(perf_map: bool) {
    let sandbox = Sandbox::new(SandboxConfig {
        perf_map,
        ..SandboxConfig::default()
    })
    .expect("sandbox");
    for (name, bytes) in [
        ("household", derl_artifacts::HOUSEHOLD_BYTES),
        ("lab", derl_artifacts::LAB_BYTES),
        ("arith", derl_artifacts::ARITH_BYTES),
    ] {
        let mut component = wasm(name, &sandbox, bytes);
        let rates: Vec<f64> = (0..RUNS)
            .map(|_| timed_run(&mut component).steps_per_second)
            .collect();
        println!(
            "{name}: wasm {:.0} steps/s (median of {RUNS})",
            median(rates)
        );
    }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.iter().any(|arg| arg == "--wasm-only") {
        profile_wasm_only(args.iter().any(|arg| arg == "--perf-map"));
        return;
    }
    println!("load average (1, 5, 15 min) at start: {}\n", load_average());
    let sandboxes = [true, false].map(|fuel| {
        Sandbox::new(SandboxConfig {
            fuel,
            ..SandboxConfig::default()
        })
        .expect("sandbox")
    });
    println!(
        "## Steps per second ({EPISODES} random-action train episodes per run, median of {RUNS} alternating runs)\n"
    );
    println!(
        "| environment | steps per run | observation bytes per step | native steps/s | wasm steps/s | native us/step | wasm us/step | wasm time / native time | same, fuel metering off |"
    );
    println!("|---|---|---|---|---|---|---|---|---|");
    throughput::<household_core::Household>(
        "household",
        &sandboxes,
        derl_artifacts::HOUSEHOLD_BYTES,
    );
    throughput::<lab_core::Lab>("lab", &sandboxes, derl_artifacts::LAB_BYTES);
    throughput::<arith_core::Arith>("arith", &sandboxes, derl_artifacts::ARITH_BYTES);

    println!(
        "\n## Success rate ({SUCCESS_EPISODES} episodes per split and policy, native cores, default settings)\n"
    );
    println!(
        "| environment | split | tasks | expert success | random success | expert mean steps | random mean steps |"
    );
    println!("|---|---|---|---|---|---|---|");
    success_rows::<household_core::Household>();
    success_rows::<lab_core::Lab>();
    success_rows::<arith_core::Arith>();
    println!("\nload average (1, 5, 15 min) at end: {}", load_average());
}
