//! A small deterministic pseudo-random generator (SplitMix64).
//!
//! Every random choice in the lab flows from one of these, seeded from the
//! episode's `(split, task, seed)`, so the same inputs give the same world bit
//! for bit on every platform (natively and inside Wasm).

use derl_env_api::seeds::SplitMix64;

/// SplitMix64, salted for the lab: tiny, fast and good enough for
/// procedural generation.
#[derive(Clone, Debug)]
pub struct Rng {
    stream: SplitMix64,
}

impl Rng {
    /// A generator seeded with `seed`.
    pub fn new(seed: u64) -> Self {
        Rng {
            stream: SplitMix64::new(seed),
        }
    }

    /// A generator whose seed mixes every value of `parts`, in order.
    pub fn from_parts(parts: &[u64]) -> Self {
        let mut rng = Rng::new(0x6c61_625f_636f_7265); // "lab_core"
        for &part in parts {
            rng.stream.absorb(part);
            rng.next_u64();
        }
        rng
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.stream.next_u64()
    }

    /// A uniform index in `0..n`; `n` must be positive.
    pub fn below(&mut self, n: usize) -> usize {
        debug_assert!(n > 0, "Rng::below needs a positive bound");
        // Multiply-shift: unbiased enough for bounds far below 2^32.
        (((self.next_u64() >> 32) * n as u64) >> 32) as usize
    }

    /// A uniform integer in `low..=high`.
    pub fn between(&mut self, low: i32, high: i32) -> i32 {
        debug_assert!(low <= high);
        low + self.below((high - low + 1) as usize) as i32
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
            let j = self.below(i + 1);
            items.swap(i, j);
        }
    }
}

/// A keyed bijection on `0..size`: `permute(i, size, key)` for `i` in
/// `0..size` visits every value of `0..size` exactly once, in an order that
/// looks random and depends on `key`. A four-round Feistel network on the
/// smallest even number of bits covering `size`, with cycle walking.
pub fn permute(index: u64, size: u64, key: u64) -> u64 {
    debug_assert!(index < size);
    let bits = (64 - size.saturating_sub(1).leading_zeros())
        .max(2)
        .div_ceil(2);
    let mask = (1u64 << bits) - 1;
    let mut value = index;
    loop {
        let (mut left, mut right) = (value >> bits, value & mask);
        for round in 0..4u64 {
            let mixed = Rng::from_parts(&[key, round, right]).next_u64() & mask;
            (left, right) = (right, left ^ mixed);
        }
        value = (left << bits) | right;
        if value < size {
            return value;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_stream() {
        let mut a = Rng::from_parts(&[1, 2, 3]);
        let mut b = Rng::from_parts(&[1, 2, 3]);
        for _ in 0..100 {
            assert_eq!(a.next_u64(), b.next_u64());
        }
        let mut c = Rng::from_parts(&[1, 2, 4]);
        assert_ne!(Rng::from_parts(&[1, 2, 3]).next_u64(), c.next_u64());
    }

    #[test]
    fn bounded_draws_stay_in_range_and_cover_it() {
        let mut rng = Rng::new(7);
        let mut seen = [false; 6];
        for _ in 0..1000 {
            let i = rng.below(6);
            seen[i] = true;
            let v = rng.between(-3, 3);
            assert!((-3..=3).contains(&v));
        }
        assert!(seen.iter().all(|&s| s));
    }

    #[test]
    fn permute_is_a_bijection() {
        for size in [1u64, 2, 3, 17, 100, 1000, 4097] {
            let mut seen = vec![false; size as usize];
            for i in 0..size {
                let j = permute(i, size, 99);
                assert!(j < size);
                assert!(!seen[j as usize], "{j} hit twice for size {size}");
                seen[j as usize] = true;
            }
        }
        let order: Vec<u64> = (0..10).map(|i| permute(i, 1000, 1)).collect();
        assert_ne!(order, (0..10).collect::<Vec<_>>());
        assert_ne!(
            order,
            (0..10).map(|i| permute(i, 1000, 2)).collect::<Vec<_>>()
        );
    }

    #[test]
    fn shuffle_is_a_permutation() {
        let mut items: Vec<u32> = (0..50).collect();
        Rng::new(11).shuffle(&mut items);
        let mut sorted = items.clone();
        sorted.sort_unstable();
        assert_eq!(sorted, (0..50).collect::<Vec<_>>());
        assert_ne!(items, sorted);
    }
}
