//! Sandbox costs, side by side in one run: a fresh instance from
//! `InstancePre` with the default and the pooling allocator, an empty call
//! round-trip, and the same guest loop with and without fuel metering.
//!
//! Run: `cargo bench -p derl --bench sandbox`

use derl::plugin::{EnvLimits, EnvironmentPlugin, RewardProgram};
use derl_env_api::Split;
use derl_sandbox::{Limits, Sandbox, SandboxConfig};
mod timing;

use std::time::{Duration, Instant};
use timing::median_per_call;

fn sandbox(pooling: bool, fuel: bool) -> Sandbox {
    Sandbox::new(SandboxConfig {
        pooling,
        fuel,
        ..SandboxConfig::default()
    })
    .expect("sandbox")
}

fn micros(d: Duration) -> f64 {
    d.as_secs_f64() * 1e6
}

fn main() {
    let corridor = derl_artifacts::CORRIDOR_BYTES;
    let spin = std::fs::read(derl_artifacts::HOSTILE_REWARD).expect("hostile reward built");

    let started = Instant::now();
    let cold = sandbox(false, true);
    cold.load(corridor).expect("compiles");
    let compile = started.elapsed();

    println!("## Sandbox (median of 9 runs)\n");
    println!("| measure | default allocator | pooling allocator | ratio (default / pooling) |");
    println!("|---|---|---|---|");
    let mut instantiate = Vec::new();
    let mut round_trip = Vec::new();
    for pooling in [false, true] {
        let sandbox = sandbox(pooling, true);
        let env = EnvironmentPlugin::load(&sandbox, corridor, &[], &EnvLimits::default())
            .expect("corridor loads");
        instantiate.push(median_per_call(9, 2000, || {
            std::hint::black_box(env.instance(0).expect("instance"));
        }));
        let mut episode = env.instance(0).expect("instance");
        episode.reset(Split::Train, 0, 0).expect("reset");
        round_trip.push(median_per_call(9, 20_000, || {
            std::hint::black_box(episode.expert_action().expect("call"));
        }));
    }
    for (name, pair) in [
        (
            "fresh instance (store + WASI + instantiate), us",
            &instantiate,
        ),
        ("empty call round-trip (`expert-action`), us", &round_trip),
    ] {
        println!(
            "| {name} | {:.2} | {:.2} | {:.2}x |",
            micros(pair[0]),
            micros(pair[1]),
            pair[0].as_secs_f64() / pair[1].as_secs_f64()
        );
    }

    let mut spins = Vec::new();
    for fuel in [false, true] {
        let sandbox = sandbox(true, fuel);
        let program = RewardProgram::load(&sandbox, &spin, Limits::default()).expect("loads");
        // Behaviour 12 spins values[1] million iterations.
        spins.push(median_per_call(9, 3, || {
            std::hint::black_box(program.score(2, &[12.0, 20.0]).expect("spins"));
        }));
    }
    println!("\n| guest loop (20M iterations) | without fuel | with fuel | overhead |");
    println!("|---|---|---|---|");
    println!(
        "| time per call, ms | {:.2} | {:.2} | {:.2}x |",
        spins[0].as_secs_f64() * 1e3,
        spins[1].as_secs_f64() * 1e3,
        spins[1].as_secs_f64() / spins[0].as_secs_f64()
    );
    println!(
        "\ncompile corridor.wasm ({} bytes) with cranelift: {:.1} ms",
        corridor.len(),
        compile.as_secs_f64() * 1e3
    );
}
