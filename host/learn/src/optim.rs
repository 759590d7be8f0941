//! AdamW with inspectable state, and global gradient-norm clipping.
//!
//! candle-nn's `AdamW` keeps its moments private, so a run could not be resumed bit for bit;
//! this one exposes them as named tensors for checkpoints. The arithmetic follows PyTorch's
//! `torch.optim.AdamW` (decoupled weight decay, bias-corrected moments, epsilon added after
//! the square root).

use std::collections::{BTreeMap, HashMap};

use candle_core::{CpuStorage, DType, Device, InplaceOp1, Layout, Shape, Storage, Tensor};
use serde::{Deserialize, Serialize};

use crate::error::{LearnError, Result};
pub use crate::gradients::{Gradient, Gradients};
use crate::params::Parameters;

/// AdamW hyperparameters.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct AdamWSettings {
    /// Step size.
    pub learning_rate: f64,
    /// Decay rate of the first moment.
    pub beta1: f64,
    /// Decay rate of the second moment.
    pub beta2: f64,
    /// Added to the square root of the second moment.
    pub epsilon: f64,
    /// Decoupled weight decay (multiplies `learning_rate`).
    pub weight_decay: f64,
}

/// The two moments of one parameter, as plain vectors updated in place.
#[derive(Clone, Debug)]
struct Moments {
    shape: Shape,
    first: Vec<f32>,
    second: Vec<f32>,
}

/// The optimizer: settings, step count and per-parameter moments.
#[derive(Clone, Debug)]
pub struct AdamW {
    settings: AdamWSettings,
    steps: u64,
    moments: BTreeMap<String, Moments>,
    /// Reused dense buffer for row gradients (no state: rewritten every use).
    scratch: Vec<f32>,
}

const FIRST_MOMENT_PREFIX: &str = "adamw.first.";
const SECOND_MOMENT_PREFIX: &str = "adamw.second.";

impl AdamW {
    /// A fresh optimizer (step 0, zero moments).
    pub fn new(settings: AdamWSettings) -> Self {
        Self {
            settings,
            steps: 0,
            moments: BTreeMap::new(),
            scratch: Vec::new(),
        }
    }

    /// The current settings.
    pub fn settings(&self) -> &AdamWSettings {
        &self.settings
    }

    /// Changes the learning rate (for schedules); the moments are kept.
    pub fn set_learning_rate(&mut self, learning_rate: f64) {
        self.settings.learning_rate = learning_rate;
    }

    /// Number of steps taken.
    pub fn steps(&self) -> u64 {
        self.steps
    }

    /// One update of every parameter that has a gradient in `grads`, with the gradients
    /// multiplied by `grad_scale` first (see [`clip_scale`]). Parameters without a gradient
    /// are left alone, weight decay included (as in PyTorch).
    ///
    /// # Errors
    /// A candle error on a shape mismatch between a parameter and its moments.
    pub fn step(
        &mut self,
        parameters: &Parameters,
        grads: &Gradients,
        grad_scale: f64,
    ) -> Result<()> {
        self.steps += 1;
        let AdamWSettings {
            learning_rate,
            beta1,
            beta2,
            epsilon,
            weight_decay,
        } = self.settings;
        let step = self.steps as i32;
        let first_correction = 1.0 - beta1.powi(step);
        let second_correction_sqrt = (1.0 - beta2.powi(step)).sqrt();
        let coefficients = StepCoefficients {
            grad_scale: grad_scale as f32,
            beta1: beta1 as f32,
            one_minus_beta1: (1.0 - beta1) as f32,
            beta2: beta2 as f32,
            one_minus_beta2: (1.0 - beta2) as f32,
            inverse_second_correction: (1.0 / second_correction_sqrt) as f32,
            epsilon: epsilon as f32,
            step_size: (-learning_rate / first_correction) as f32,
            decay: (1.0 - learning_rate * weight_decay) as f32,
        };
        for (name, var) in parameters.iter() {
            let Some(grad) = grads.gradient(name) else {
                continue;
            };
            if grad.dims() != var.dims() {
                return Err(LearnError::InvalidBatch(format!(
                    "gradient of `{name}` has shape {:?}, the parameter {:?}",
                    grad.dims(),
                    var.dims()
                )));
            }
            let moments = self.moments.entry(name.to_owned()).or_insert_with(|| {
                let count = var.elem_count();
                Moments {
                    shape: var.shape().clone(),
                    first: vec![0.0; count],
                    second: vec![0.0; count],
                }
            });
            let mut update = |grad_values: &[f32]| {
                var.as_tensor().inplace_op1(&FusedUpdate {
                    coefficients: &coefficients,
                    grad: grad_values,
                    moments: std::cell::RefCell::new(moments),
                })
            };
            match grad {
                Gradient::Dense(grad) => {
                    let grad = grad.flatten_all()?.to_dtype(DType::F32)?;
                    let (storage, layout) = grad.storage_and_layout();
                    match (&*storage, layout.contiguous_offsets()) {
                        (Storage::Cpu(CpuStorage::F32(values)), Some((start, end))) => {
                            update(&values[start..end])?
                        }
                        _ => {
                            return Err(LearnError::InvalidBatch(format!(
                                "gradient of `{name}` is not a contiguous f32 CPU tensor"
                            )));
                        }
                    }
                }
                Gradient::Rows(rows) => {
                    rows.write_dense(&mut self.scratch);
                    update(&self.scratch)?
                }
            }
        }
        Ok(())
    }

    /// The moments as named tensors (`adamw.first.<parameter>`, `adamw.second.<parameter>`).
    ///
    /// # Errors
    /// A candle error if a tensor cannot be built.
    pub fn state_tensors(&self) -> Result<HashMap<String, Tensor>> {
        let mut tensors = HashMap::new();
        for (name, moments) in &self.moments {
            let tensor = |values: &[f32]| Tensor::from_slice(values, &moments.shape, &Device::Cpu);
            tensors.insert(
                format!("{FIRST_MOMENT_PREFIX}{name}"),
                tensor(&moments.first)?,
            );
            tensors.insert(
                format!("{SECOND_MOMENT_PREFIX}{name}"),
                tensor(&moments.second)?,
            );
        }
        Ok(tensors)
    }

    /// Restores the step count and the moments saved by [`AdamW::state_tensors`], checking
    /// them against `parameters`. Tensors with other prefixes are ignored.
    ///
    /// # Errors
    /// [`LearnError::InvalidBatch`] when a moment names an unknown parameter, has the wrong
    /// shape, or lacks its partner.
    pub fn restore(
        &mut self,
        steps: u64,
        tensors: &HashMap<String, Tensor>,
        parameters: &Parameters,
    ) -> Result<()> {
        let mut moments = BTreeMap::new();
        for (key, first) in tensors {
            let Some(name) = key.strip_prefix(FIRST_MOMENT_PREFIX) else {
                continue;
            };
            let Some(var) = parameters.get(name) else {
                return Err(LearnError::InvalidBatch(format!(
                    "optimizer state for unknown parameter `{name}`"
                )));
            };
            let Some(second) = tensors.get(&format!("{SECOND_MOMENT_PREFIX}{name}")) else {
                return Err(LearnError::InvalidBatch(format!(
                    "optimizer state for `{name}` lacks its second moment"
                )));
            };
            if first.shape() != var.shape() || second.shape() != var.shape() {
                return Err(LearnError::InvalidBatch(format!(
                    "optimizer state for `{name}` has the wrong shape"
                )));
            }
            let values = |tensor: &Tensor| -> Result<Vec<f32>> {
                Ok(tensor.flatten_all()?.to_dtype(DType::F32)?.to_vec1()?)
            };
            moments.insert(
                name.to_owned(),
                Moments {
                    shape: var.shape().clone(),
                    first: values(first)?,
                    second: values(second)?,
                },
            );
        }
        let seconds = tensors
            .keys()
            .filter(|key| key.starts_with(SECOND_MOMENT_PREFIX))
            .count();
        if seconds != moments.len() {
            return Err(LearnError::InvalidBatch(
                "optimizer state has a second moment without its first".into(),
            ));
        }
        self.steps = steps;
        self.moments = moments;
        Ok(())
    }
}

/// Per-step constants of the update, in f32 as candle's `affine` applies them.
struct StepCoefficients {
    grad_scale: f32,
    beta1: f32,
    one_minus_beta1: f32,
    beta2: f32,
    one_minus_beta2: f32,
    inverse_second_correction: f32,
    epsilon: f32,
    step_size: f32,
    decay: f32,
}

/// One parameter's AdamW update in a single pass over its values, moments and gradient.
///
/// The arithmetic is exactly that of the tensor expression it replaces (each `affine` is
/// `x * a + b` in f32, no fused multiply-add), so results are bit for bit those of PyTorch's
/// formula written as candle operations; it only avoids a dozen full-size temporaries per
/// parameter, which for the embedding table dominated an update.
struct FusedUpdate<'a> {
    coefficients: &'a StepCoefficients,
    grad: &'a [f32],
    moments: std::cell::RefCell<&'a mut Moments>,
}

impl InplaceOp1 for FusedUpdate<'_> {
    fn name(&self) -> &'static str {
        "adamw-fused-update"
    }

    fn cpu_fwd(&self, storage: &mut CpuStorage, layout: &Layout) -> candle_core::Result<()> {
        let (CpuStorage::F32(values), Some((start, end))) = (storage, layout.contiguous_offsets())
        else {
            candle_core::bail!("adamw: parameters must be contiguous f32 CPU tensors")
        };
        let values = &mut values[start..end];
        let mut moments = self.moments.borrow_mut();
        let Moments { first, second, .. } = &mut **moments;
        if values.len() != self.grad.len() || values.len() != first.len() {
            candle_core::bail!("adamw: parameter, gradient and moments differ in length")
        }
        let c = self.coefficients;
        let scaled = c.grad_scale != 1.0;
        for (((value, &grad), first), second) in values
            .iter_mut()
            .zip(self.grad)
            .zip(first.iter_mut())
            .zip(second.iter_mut())
        {
            let grad = if scaled {
                grad * c.grad_scale + 0.0
            } else {
                grad
            };
            *first = (*first * c.beta1 + 0.0) + (grad * c.one_minus_beta1 + 0.0);
            *second = (*second * c.beta2 + 0.0) + ((grad * grad) * c.one_minus_beta2 + 0.0);
            let denominator = second.sqrt() * c.inverse_second_correction + c.epsilon;
            let update = (*first / denominator) * c.step_size + 0.0;
            *value = (*value * c.decay + 0.0) + update;
        }
        Ok(())
    }
}

/// The factor that brings a gradient of norm `norm` down to `max_norm` (1 when it is already
/// within, or when clipping is off): `max_norm / (norm + 1e-6)`, as PyTorch's
/// `clip_grad_norm_`.
pub fn clip_scale(norm: f64, max_norm: Option<f64>) -> f64 {
    match max_norm {
        Some(max_norm) if norm > max_norm => max_norm / (norm + 1e-6),
        _ => 1.0,
    }
}

#[cfg(test)]
mod tests {
    use candle_core::{Device, Var};

    use super::*;

    fn settings() -> AdamWSettings {
        AdamWSettings {
            learning_rate: 0.1,
            beta1: 0.9,
            beta2: 0.999,
            epsilon: 1e-8,
            weight_decay: 0.0,
        }
    }

    fn parameters_with(values: &[f32]) -> Parameters {
        let mut parameters = Parameters::new();
        parameters
            .insert("w", &Tensor::new(values, &Device::Cpu).unwrap())
            .unwrap();
        parameters
    }

    fn grads_of(parameters: &Parameters, coefficients: &[f32]) -> Gradients {
        let w: &Var = parameters.get("w").unwrap();
        let c = Tensor::new(coefficients, &Device::Cpu).unwrap();
        let loss = (w.as_tensor() * c).unwrap().sum_all().unwrap();
        Gradients::from_backward(parameters, &loss.backward().unwrap())
    }

    #[test]
    fn global_norm_and_clipping_follow_the_definition() {
        let mut parameters = parameters_with(&[1.0, 1.0]);
        parameters
            .insert("v", &Tensor::new(&[0f32], &Device::Cpu).unwrap())
            .unwrap();
        let w = parameters.get("w").unwrap().clone();
        let v = parameters.get("v").unwrap().clone();
        let c = Tensor::new(&[3f32, 0.0], &Device::Cpu).unwrap();
        let loss = ((w.as_tensor() * c).unwrap().sum_all().unwrap()
            + v.as_tensor().affine(4.0, 0.0).unwrap().sum_all().unwrap())
        .unwrap();
        let grads = Gradients::from_backward(&parameters, &loss.backward().unwrap());
        let norm = grads.global_norm().unwrap();
        assert!(
            (norm - 5.0).abs() < 1e-12,
            "sqrt(3^2 + 0^2 + 4^2) = 5, got {norm}"
        );
        let scale = clip_scale(norm, Some(1.0));
        assert!((scale - 1.0 / (5.0 + 1e-6)).abs() < 1e-15);
        assert!(((3.0 * scale).powi(2) + (4.0 * scale).powi(2) - 1.0).abs() < 1e-5);
        assert_eq!(clip_scale(norm, Some(10.0)), 1.0);
        assert_eq!(clip_scale(norm, None), 1.0);
    }

    #[test]
    fn accumulated_gradients_add_up() {
        let parameters = parameters_with(&[1.0, 1.0]);
        let mut total = grads_of(&parameters, &[1.0, -2.0]);
        total
            .accumulate(grads_of(&parameters, &[0.5, 4.0]))
            .unwrap();
        let w = total.get("w").unwrap().unwrap().to_vec1::<f32>().unwrap();
        assert_eq!(w, [1.5, 2.0]);
        assert!((total.global_norm().unwrap() - 2.5).abs() < 1e-6);
        let mut empty = Gradients::default();
        empty.accumulate(total).unwrap();
        assert_eq!(
            empty.get("w").unwrap().unwrap().to_vec1::<f32>().unwrap(),
            [1.5, 2.0]
        );
        assert!(empty.get("v").unwrap().is_none());
    }

    #[test]
    fn first_step_moves_each_weight_by_the_learning_rate() {
        // With bias correction the first Adam step is lr * g / (|g| + eps) = ±lr.
        let parameters = parameters_with(&[1.0, -2.0]);
        let mut optimizer = AdamW::new(settings());
        let grads = grads_of(&parameters, &[0.5, -3.0]);
        optimizer.step(&parameters, &grads, 1.0).unwrap();
        let w = parameters.get("w").unwrap().to_vec1::<f32>().unwrap();
        assert!(
            (w[0] - 0.9).abs() < 1e-6 && (w[1] + 1.9).abs() < 1e-6,
            "{w:?}"
        );
        assert_eq!(optimizer.steps(), 1);
    }

    #[test]
    fn second_step_matches_hand_computed_adamw() {
        let parameters = parameters_with(&[1.0]);
        let mut optimizer = AdamW::new(AdamWSettings {
            weight_decay: 0.5,
            ..settings()
        });
        optimizer
            .step(&parameters, &grads_of(&parameters, &[2.0]), 1.0)
            .unwrap();
        optimizer
            .step(&parameters, &grads_of(&parameters, &[1.0]), 0.5)
            .unwrap();
        // Hand computation (PyTorch AdamW): theta1 = 1*(1-0.05) - 0.1 = 0.85.
        // Step 2, g = 0.5: m = 0.9*0.2 + 0.1*0.5 = 0.23, v = 0.999*0.004 + 0.001*0.25 = 0.004246,
        // denom = sqrt(v)/sqrt(1-0.999^2) + 1e-8, theta2 = 0.85*0.95 - 0.1/(1-0.81) * m/denom.
        let denominator = 0.004246f64.sqrt() / (1.0 - 0.999f64.powi(2)).sqrt() + 1e-8;
        let expected = 0.85 * 0.95 - 0.1 / (1.0 - 0.81) * 0.23 / denominator;
        let w = parameters.get("w").unwrap().to_vec1::<f32>().unwrap()[0];
        assert!((f64::from(w) - expected).abs() < 1e-5, "{w} vs {expected}");
    }

    #[test]
    fn state_round_trips() {
        let parameters = parameters_with(&[1.0, 2.0]);
        let mut optimizer = AdamW::new(settings());
        optimizer
            .step(&parameters, &grads_of(&parameters, &[1.0, -1.0]), 1.0)
            .unwrap();
        let mut restored = AdamW::new(settings());
        restored
            .restore(
                optimizer.steps(),
                &optimizer.state_tensors().unwrap(),
                &parameters,
            )
            .unwrap();
        let twin = parameters.deep_copy().unwrap();
        let grads = grads_of(&parameters, &[0.3, 0.7]);
        optimizer.step(&parameters, &grads, 1.0).unwrap();
        let grads = grads_of(&twin, &[0.3, 0.7]);
        restored.step(&twin, &grads, 1.0).unwrap();
        assert_eq!(parameters.digest().unwrap(), twin.digest().unwrap());

        let mut broken = optimizer.state_tensors().unwrap();
        broken.remove("adamw.second.w");
        assert!(
            AdamW::new(settings())
                .restore(1, &broken, &parameters)
                .is_err()
        );
    }
}
