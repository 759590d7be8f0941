//! Seeded weight initialisation.
//!
//! candle's CPU `randn`/`rand` draw from an unseeded thread-local generator, so every
//! initial weight here comes from a ChaCha8 stream derived from the model seed and the
//! parameter's name: the same seed gives the same weights, and adding a parameter does not
//! shift the values of the others.

use candle_core::{Device, Tensor};
use rand::{RngCore, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::error::Result;
use crate::features::fnv1a64;
use crate::sampling::unit_f64;

/// The generator for parameter `name` of a model seeded with `seed`.
pub fn parameter_rng(seed: u64, name: &str) -> ChaCha8Rng {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    rng.set_stream(fnv1a64(name.as_bytes()));
    rng
}

/// A `dims`-shaped f32 tensor with entries uniform in `[-bound, bound)`.
///
/// # Errors
/// A candle error if the tensor cannot be built.
pub fn uniform(
    rng: &mut impl RngCore,
    dims: &[usize],
    bound: f64,
    device: &Device,
) -> Result<Tensor> {
    let count = dims.iter().product();
    let values: Vec<f32> = (0..count)
        .map(|_| ((2.0 * unit_f64(rng) - 1.0) * bound) as f32)
        .collect();
    Ok(Tensor::from_vec(values, dims, device)?)
}

/// Weight of a linear map from `fan_in` inputs, stored `(fan_in, fan_out)` so that
/// `x.matmul(w)` applies it; uniform in `±gain/sqrt(fan_in)` (PyTorch's `nn.Linear`
/// default for `gain = 1`).
///
/// # Errors
/// A candle error if the tensor cannot be built.
pub fn linear_weight(
    rng: &mut impl RngCore,
    fan_in: usize,
    fan_out: usize,
    gain: f64,
    device: &Device,
) -> Result<Tensor> {
    let bound = gain / (fan_in.max(1) as f64).sqrt();
    uniform(rng, &[fan_in, fan_out], bound, device)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_and_name_give_the_same_values() {
        let device = Device::Cpu;
        let draw = |seed, name| {
            uniform(&mut parameter_rng(seed, name), &[4, 3], 0.5, &device)
                .unwrap()
                .flatten_all()
                .unwrap()
                .to_vec1::<f32>()
                .unwrap()
        };
        assert_eq!(draw(7, "w"), draw(7, "w"));
        assert_ne!(draw(7, "w"), draw(8, "w"));
        assert_ne!(draw(7, "w"), draw(7, "v"));
        assert!(draw(7, "w").iter().all(|value| value.abs() <= 0.5));
    }

    #[test]
    fn linear_weight_bound_follows_fan_in() {
        let device = Device::Cpu;
        let weight = linear_weight(&mut parameter_rng(1, "w"), 100, 10, 1.0, &device).unwrap();
        assert_eq!(weight.dims(), [100, 10]);
        let values = weight.flatten_all().unwrap().to_vec1::<f32>().unwrap();
        let max = values.iter().fold(0f32, |max, value| max.max(value.abs()));
        assert!(max <= 0.1 && max > 0.09, "max |w| = {max}");
    }
}
