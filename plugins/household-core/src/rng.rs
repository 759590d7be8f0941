//! Deterministic randomness: a SplitMix64 stream and a keyed hash.
//!
//! Every random choice of the household (which room, which receptacles, where
//! each object lies) flows from one of these, seeded from `(split, task)` or
//! `(split, task, seed)`, so the same inputs give the same episode bit for bit
//! natively and inside Wasm.

use derl_env_api::seeds::{GOLDEN_GAMMA, SplitMix64};

/// The SplitMix64 finaliser: a bijective 64-bit mixer.
pub use derl_env_api::seeds::mix64 as mix;

/// Mixes `parts`, in order, into one 64-bit key.
pub fn hash(parts: &[u64]) -> u64 {
    parts.iter().fold(0x686f_7573_6568_6f6c, |key, &part| {
        mix(key.wrapping_add(GOLDEN_GAMMA) ^ part)
    })
}

/// Hashes text (FNV-1a folded through [`mix`]); used for task fingerprints.
pub fn hash_text(text: &str) -> u64 {
    let fnv = text.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, byte| {
        (h ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3)
    });
    mix(fnv)
}

/// A SplitMix64 generator keyed by the household's [`hash`].
#[derive(Clone, Debug)]
pub struct Rng {
    stream: SplitMix64,
}

impl Rng {
    /// A generator whose stream is determined by `parts`.
    pub fn from_parts(parts: &[u64]) -> Self {
        Rng {
            stream: SplitMix64::new(hash(parts)),
        }
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.stream.next_u64()
    }

    /// A uniform index in `0..bound`; `bound` must be positive.
    pub fn below(&mut self, bound: usize) -> usize {
        debug_assert!(bound > 0, "Rng::below needs a positive bound");
        (((self.next_u64() >> 32) * bound as u64) >> 32) as usize
    }

    /// A uniform integer in `low..=high`.
    pub fn between(&mut self, low: usize, high: usize) -> usize {
        debug_assert!(low <= high);
        low + self.below(high - low + 1)
    }

    /// True with probability `numerator / denominator`.
    pub fn chance(&mut self, numerator: usize, denominator: usize) -> bool {
        self.below(denominator) < numerator
    }

    /// A uniformly chosen element of a non-empty slice.
    pub fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        items[self.below(items.len())]
    }

    /// Shuffles `items` in place (Fisher-Yates).
    pub fn shuffle<T>(&mut self, items: &mut [T]) {
        for i in (1..items.len()).rev() {
            items.swap(i, self.below(i + 1));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn streams_are_reproducible_and_key_dependent() {
        let draw = |parts: &[u64]| {
            let mut rng = Rng::from_parts(parts);
            (0..8).map(|_| rng.next_u64()).collect::<Vec<_>>()
        };
        assert_eq!(draw(&[1, 2, 3]), draw(&[1, 2, 3]));
        assert_ne!(draw(&[1, 2, 3]), draw(&[1, 3, 2]));
        assert_ne!(draw(&[0]), draw(&[0, 0]));
    }

    #[test]
    fn bounded_draws_stay_in_range_and_cover_it() {
        let mut rng = Rng::from_parts(&[7]);
        let mut seen = [false; 5];
        for _ in 0..500 {
            let value = rng.between(3, 7);
            assert!((3..=7).contains(&value));
            seen[value - 3] = true;
        }
        assert!(seen.iter().all(|&hit| hit));
    }

    #[test]
    fn shuffle_is_a_permutation() {
        let mut rng = Rng::from_parts(&[9]);
        let mut items: Vec<u32> = (0..20).collect();
        rng.shuffle(&mut items);
        let mut sorted = items.clone();
        sorted.sort_unstable();
        assert_eq!(sorted, (0..20).collect::<Vec<_>>());
        assert_ne!(items, sorted);
    }

    #[test]
    fn text_hash_separates_names() {
        assert_ne!(hash_text("cabinet"), hash_text("cabinets"));
        assert_eq!(hash_text("fridge"), hash_text("fridge"));
    }
}
