//! Timing shared by the host's bench binaries.

use std::time::{Duration, Instant};

/// Median of `runs` timings of `f`, each over `iterations` calls, per call.
pub fn median_per_call(runs: usize, iterations: u32, mut f: impl FnMut()) -> Duration {
    let mut samples: Vec<Duration> = (0..runs)
        .map(|_| {
            let started = Instant::now();
            for _ in 0..iterations {
                f();
            }
            started.elapsed() / iterations
        })
        .collect();
    samples.sort();
    samples[runs / 2]
}
