//! Seeded categorical sampling over log-probabilities.
//!
//! The caller owns the generator (a seeded `ChaCha8Rng` in practice); these functions draw
//! from it with fixed arithmetic built on `next_u64`, so a seed gives the same choices with
//! every version of `rand`.

use rand::RngCore;
use serde::{Deserialize, Serialize};

/// An action drawn from a policy, with its log-probability under that policy (what GRPO's
/// importance ratio needs later).
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct SampledAction {
    /// Index into the decision's admissible actions.
    pub action: u32,
    /// Log-probability of `action` under the policy that chose it.
    pub log_prob: f32,
}

/// A uniform draw in `[0, 1)` with 53 random bits.
pub fn unit_f64(rng: &mut impl RngCore) -> f64 {
    (rng.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
}

/// A uniform index in `0..n` (multiply-shift; the bias is below `n / 2^64`).
///
/// # Panics
/// When `n` is zero.
pub fn uniform_index(rng: &mut impl RngCore, n: usize) -> usize {
    assert!(n > 0, "uniform_index needs a non-empty range");
    ((u128::from(rng.next_u64()) * n as u128) >> 64) as usize
}

/// Shuffles `items` in place (Fisher-Yates driven by [`uniform_index`]).
pub fn shuffle<T>(items: &mut [T], rng: &mut impl RngCore) {
    for last in (1..items.len()).rev() {
        let pick = uniform_index(rng, last + 1);
        items.swap(last, pick);
    }
}

/// Draws an index with probability `exp(log_probs[i])` (renormalised, so rounding in the
/// log-probabilities does not matter).
///
/// # Panics
/// When `log_probs` is empty.
pub fn sample_log_probs(log_probs: &[f32], rng: &mut impl RngCore) -> usize {
    assert!(!log_probs.is_empty(), "cannot sample from no actions");
    let total: f64 = log_probs.iter().map(|&lp| f64::from(lp).exp()).sum();
    let target = unit_f64(rng) * total;
    let mut cumulative = 0.0;
    let mut last_possible = 0;
    for (index, &lp) in log_probs.iter().enumerate() {
        let probability = f64::from(lp).exp();
        if probability > 0.0 {
            cumulative += probability;
            last_possible = index;
            if target < cumulative {
                return index;
            }
        }
    }
    last_possible
}

/// The index of the largest value (the first one on ties).
///
/// # Panics
/// When `values` is empty.
pub fn argmax(values: &[f32]) -> usize {
    assert!(!values.is_empty(), "argmax of no values");
    let mut best = 0;
    for (index, &value) in values.iter().enumerate().skip(1) {
        if value > values[best] {
            best = index;
        }
    }
    best
}

#[cfg(test)]
mod tests {
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    use super::*;

    #[test]
    fn sampling_follows_the_probabilities() {
        let log_probs = [0.1f32.ln(), 0.6f32.ln(), 0.3f32.ln()];
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        let mut counts = [0usize; 3];
        for _ in 0..20_000 {
            counts[sample_log_probs(&log_probs, &mut rng)] += 1;
        }
        let frequencies = counts.map(|count| count as f64 / 20_000.0);
        for (frequency, expected) in frequencies.iter().zip([0.1, 0.6, 0.3]) {
            assert!((frequency - expected).abs() < 0.015, "{frequencies:?}");
        }
    }

    #[test]
    fn impossible_actions_are_never_drawn() {
        let log_probs = [-1e9f32, 0.0, -1e9];
        let mut rng = ChaCha8Rng::seed_from_u64(0);
        assert!((0..1000).all(|_| sample_log_probs(&log_probs, &mut rng) == 1));
    }

    #[test]
    fn same_seed_same_draws() {
        let log_probs = [-1.0f32, -2.0, -0.5, -3.0];
        let draws = |seed| {
            let mut rng = ChaCha8Rng::seed_from_u64(seed);
            (0..64)
                .map(|_| sample_log_probs(&log_probs, &mut rng))
                .collect::<Vec<_>>()
        };
        assert_eq!(draws(11), draws(11));
        assert_ne!(draws(11), draws(12));
    }

    #[test]
    fn shuffle_is_a_seeded_permutation() {
        let mut rng = ChaCha8Rng::seed_from_u64(5);
        let mut items: Vec<u32> = (0..50).collect();
        shuffle(&mut items, &mut rng);
        let mut sorted = items.clone();
        sorted.sort_unstable();
        assert_eq!(sorted, (0..50).collect::<Vec<_>>());
        assert_ne!(items, sorted);
        let mut again: Vec<u32> = (0..50).collect();
        shuffle(&mut again, &mut ChaCha8Rng::seed_from_u64(5));
        assert_eq!(items, again);
    }

    #[test]
    fn uniform_index_covers_the_range() {
        let mut rng = ChaCha8Rng::seed_from_u64(9);
        let mut seen = [false; 7];
        for _ in 0..500 {
            seen[uniform_index(&mut rng, 7)] = true;
        }
        assert!(seen.iter().all(|&s| s));
    }

    #[test]
    fn argmax_prefers_the_first_maximum() {
        assert_eq!(argmax(&[1.0, 3.0, 3.0, 2.0]), 1);
        assert_eq!(argmax(&[-5.0]), 0);
    }
}
