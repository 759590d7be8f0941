//! Deterministic pseudo-random numbers: splitmix64, seeded from hashed inputs.

pub use derl_env_api::seeds::mix64;
use derl_env_api::seeds::{GOLDEN_GAMMA, SplitMix64};

/// Hashes a sequence of words into one, order-sensitively.
pub fn hash_words(words: &[u64]) -> u64 {
    words.iter().fold(GOLDEN_GAMMA, |acc, &word| {
        mix64(acc.wrapping_add(GOLDEN_GAMMA) ^ mix64(word.wrapping_add(GOLDEN_GAMMA)))
    })
}

/// A splitmix64 generator keyed by [`hash_words`].
#[derive(Clone, Debug)]
pub struct Rng {
    stream: SplitMix64,
}

impl Rng {
    /// A generator whose stream is determined by `words` (for example a salt,
    /// a split, a task index and an attempt number).
    pub fn from_words(words: &[u64]) -> Self {
        Rng {
            stream: SplitMix64::new(hash_words(words)),
        }
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.stream.next_u64()
    }

    /// A value in `0..bound` (`bound > 0`), by multiply-high reduction; the bias
    /// is below `bound / 2^64`, far too small to matter here.
    pub fn below(&mut self, bound: u64) -> u64 {
        debug_assert!(bound > 0, "empty range");
        ((u128::from(self.next_u64()) * u128::from(bound)) >> 64) as u64
    }

    /// A value in `low..=high` (`low <= high`).
    pub fn range(&mut self, low: u64, high: u64) -> u64 {
        debug_assert!(low <= high, "empty range {low}..={high}");
        low + self.below(high - low + 1)
    }

    /// `true` with probability `numerator / denominator`.
    pub fn chance(&mut self, numerator: u64, denominator: u64) -> bool {
        self.below(denominator) < numerator
    }

    /// A uniformly chosen element of a non-empty slice.
    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_words_give_the_same_stream() {
        let mut a = Rng::from_words(&[1, 2, 3]);
        let mut b = Rng::from_words(&[1, 2, 3]);
        for _ in 0..100 {
            assert_eq!(a.next_u64(), b.next_u64());
        }
    }

    #[test]
    fn word_order_matters() {
        assert_ne!(hash_words(&[1, 2]), hash_words(&[2, 1]));
        assert_ne!(hash_words(&[0]), hash_words(&[0, 0]));
    }

    #[test]
    fn range_covers_both_ends_and_nothing_else() {
        let mut rng = Rng::from_words(&[7]);
        let mut seen = [false; 5];
        for _ in 0..1000 {
            let value = rng.range(3, 7);
            assert!((3..=7).contains(&value));
            seen[(value - 3) as usize] = true;
        }
        assert!(seen.iter().all(|&s| s));
    }

    #[test]
    fn chance_matches_its_probability_roughly() {
        let mut rng = Rng::from_words(&[11]);
        let hits = (0..10_000).filter(|_| rng.chance(1, 4)).count();
        assert!((2_200..2_800).contains(&hits), "{hits} hits of 10000");
    }
}
