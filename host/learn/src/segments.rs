//! Softmax over variable-sized sets of choices, batched.
//!
//! Decision `i` has `counts[i]` admissible actions; their logits arrive flattened, one
//! after another. [`Segments`] pads them into a `(decisions, max_count)` matrix with one
//! `index_select` (padding gets [`MASKED_LOGIT`]), so a whole batch is normalised by a
//! handful of tensor operations whatever the counts are. A model with a fixed vocabulary
//! and a validity mask (the Meta-Optimizer) uses [`masked_log_softmax`] directly.

use candle_core::{D, DType, Device, Tensor};

use crate::error::{LearnError, Result};
use crate::policy::DecisionEvaluation;

/// Logit given to padding and to masked-out choices: far below any real logit, yet finite,
/// so that `probability * log_probability` is `0`, not `NaN`.
pub const MASKED_LOGIT: f32 = -1e9;

/// Row-wise log-softmax of a `(rows, width)` matrix.
///
/// The row maximum is subtracted as a constant (it does not change the result), which
/// keeps the graph short.
///
/// # Errors
/// A candle error on a shape or dtype problem.
pub fn log_softmax_rows(logits: &Tensor) -> Result<Tensor> {
    let max = logits.max_keepdim(D::Minus1)?.detach();
    let shifted = logits.broadcast_sub(&max)?;
    let log_normaliser = shifted.exp()?.sum_keepdim(D::Minus1)?.log()?;
    Ok(shifted.broadcast_sub(&log_normaliser)?)
}

/// Row-wise log-softmax of `(rows, width)` logits restricted to the entries where `valid`
/// (`(rows, width)` u8) is non-zero; masked entries get a log-probability near
/// [`MASKED_LOGIT`] and probability exactly 0. Each row needs at least one valid entry.
///
/// # Errors
/// A candle error on a shape or dtype problem.
pub fn masked_log_softmax(logits: &Tensor, valid: &Tensor) -> Result<Tensor> {
    let fill = Tensor::full(MASKED_LOGIT, logits.shape(), logits.device())?;
    log_softmax_rows(&valid.where_cond(logits, &fill)?)
}

/// Log-probabilities of the chosen actions and the entropies of `(rows, width)`
/// log-probabilities, as a [`DecisionEvaluation`].
///
/// # Errors
/// [`LearnError::InvalidBatch`] when `actions` does not have one entry per row or an
/// action is outside the width; a candle error otherwise.
pub fn evaluate_rows(log_probs: &Tensor, actions: &[u32]) -> Result<DecisionEvaluation> {
    let (rows, width) = log_probs.dims2()?;
    if actions.len() != rows {
        return Err(LearnError::InvalidBatch(format!(
            "{rows} decisions but {} actions",
            actions.len()
        )));
    }
    if let Some(&action) = actions.iter().find(|&&action| action as usize >= width) {
        return Err(LearnError::InvalidBatch(format!(
            "action {action} outside a row of {width} choices"
        )));
    }
    let index = Tensor::from_slice(actions, (rows, 1), log_probs.device())?;
    let chosen = log_probs.gather(&index, 1)?.squeeze(1)?;
    let entropy = (log_probs.exp()? * log_probs)?.sum(1)?.neg()?;
    Ok(DecisionEvaluation {
        log_probs: chosen,
        entropy,
    })
}

/// The layout of flattened logits: how many belong to each decision.
#[derive(Clone, Debug)]
pub struct Segments {
    counts: Vec<usize>,
    total: usize,
    width: usize,
    /// `(rows * width)` u32: where each padded slot reads from in `[logits, MASKED_LOGIT]`.
    gather_index: Tensor,
}

impl Segments {
    /// The layout for decisions with `counts[i]` choices each.
    ///
    /// # Errors
    /// [`LearnError::InvalidBatch`] when a count is zero or there are no decisions.
    pub fn new(counts: &[usize], device: &Device) -> Result<Self> {
        if counts.is_empty() {
            return Err(LearnError::InvalidBatch("no decisions".into()));
        }
        if let Some(position) = counts.iter().position(|&count| count == 0) {
            return Err(LearnError::InvalidBatch(format!(
                "decision {position} has no admissible action"
            )));
        }
        let total: usize = counts.iter().sum();
        let width = counts.iter().copied().max().unwrap_or(0);
        let padding_slot = u32::try_from(total)
            .map_err(|_| LearnError::InvalidBatch(format!("{total} choices in one batch")))?;
        let mut gather_index = Vec::with_capacity(counts.len() * width);
        let mut offset = 0u32;
        for &count in counts {
            gather_index.extend(offset..offset + count as u32);
            gather_index.extend(std::iter::repeat_n(padding_slot, width - count));
            offset += count as u32;
        }
        let gather_index = Tensor::from_vec(gather_index, counts.len() * width, device)?;
        Ok(Self {
            counts: counts.to_vec(),
            total,
            width,
            gather_index,
        })
    }

    /// Number of choices of each decision.
    pub fn counts(&self) -> &[usize] {
        &self.counts
    }

    /// Number of decisions.
    pub fn rows(&self) -> usize {
        self.counts.len()
    }

    /// The largest count: the width of padded matrices.
    pub fn width(&self) -> usize {
        self.width
    }

    /// Total number of choices (the length of the flattened logits).
    pub fn total(&self) -> usize {
        self.total
    }

    /// `(rows * width,)` u32: for each padded slot, its position in the flattened logits,
    /// or `total` for padding.
    pub fn gather_index(&self) -> &Tensor {
        &self.gather_index
    }

    /// Pads `(total,)` flattened logits into `(rows, width)`, filling with [`MASKED_LOGIT`].
    ///
    /// # Errors
    /// A candle error when `flat` does not have `total` entries.
    pub fn pad(&self, flat: &Tensor) -> Result<Tensor> {
        let fill = Tensor::full(MASKED_LOGIT, 1, flat.device())?.to_dtype(flat.dtype())?;
        let extended = Tensor::cat(&[flat, &fill], 0)?;
        Ok(extended
            .index_select(&self.gather_index, 0)?
            .reshape((self.rows(), self.width))?)
    }

    /// `(rows, width)` log-probabilities from `(total,)` flattened logits.
    ///
    /// # Errors
    /// A candle error when `flat` does not have `total` entries.
    pub fn log_softmax(&self, flat: &Tensor) -> Result<Tensor> {
        log_softmax_rows(&self.pad(flat)?)
    }

    /// Checks that `actions[i] < counts[i]` for every decision.
    ///
    /// # Errors
    /// [`LearnError::InvalidBatch`] naming the first offending decision.
    pub fn check_actions(&self, actions: &[u32]) -> Result<()> {
        if actions.len() != self.rows() {
            return Err(LearnError::InvalidBatch(format!(
                "{} decisions but {} actions",
                self.rows(),
                actions.len()
            )));
        }
        for (decision, (&action, &count)) in actions.iter().zip(&self.counts).enumerate() {
            if action as usize >= count {
                return Err(LearnError::InvalidBatch(format!(
                    "decision {decision}: action {action} but only {count} admissible"
                )));
            }
        }
        Ok(())
    }
}

/// Converts `(rows, width)` padded log-probabilities to one `Vec` per decision, cut to its
/// count.
///
/// # Errors
/// A candle error if the tensor cannot be read back.
pub fn rows_to_vecs(log_probs: &Tensor, counts: &[usize]) -> Result<Vec<Vec<f32>>> {
    let width = log_probs.dim(1)?;
    let values = log_probs
        .flatten_all()?
        .to_dtype(DType::F32)?
        .to_vec1::<f32>()?;
    Ok(counts
        .iter()
        .enumerate()
        .map(|(row, &count)| values[row * width..row * width + count].to_vec())
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f32, b: f32) -> bool {
        (a - b).abs() < 1e-5
    }

    #[test]
    fn segment_log_softmax_normalises_each_decision() {
        let device = Device::Cpu;
        let segments = Segments::new(&[2, 3, 1], &device).unwrap();
        let flat = Tensor::new(&[0f32, 1.0, 2.0, 2.0, 2.0, 5.0], &device).unwrap();
        let log_probs = segments.log_softmax(&flat).unwrap();
        assert_eq!(log_probs.dims(), [3, 3]);
        let rows = rows_to_vecs(&log_probs, segments.counts()).unwrap();
        let expected_first = [-(1.0 + 1f32.exp()).ln(), 1.0 - (1.0 + 1f32.exp()).ln()];
        assert!(close(rows[0][0], expected_first[0]) && close(rows[0][1], expected_first[1]));
        assert!(rows[1].iter().all(|&lp| close(lp, -(3f32).ln())));
        assert_eq!(rows[2], [0.0]);
        let padded = log_probs.to_vec2::<f32>().unwrap();
        assert!(padded[0][2] < -1e8 && padded[2][1] < -1e8);
    }

    #[test]
    fn evaluation_picks_actions_and_measures_entropy() {
        let device = Device::Cpu;
        let segments = Segments::new(&[2, 4], &device).unwrap();
        let flat = Tensor::new(&[0f32, 0.0, 1.0, 1.0, 1.0, 1.0], &device).unwrap();
        let log_probs = segments.log_softmax(&flat).unwrap();
        let evaluation = evaluate_rows(&log_probs, &[1, 3]).unwrap();
        let chosen = evaluation.log_probs.to_vec1::<f32>().unwrap();
        let entropy = evaluation.entropy.to_vec1::<f32>().unwrap();
        assert!(close(chosen[0], -(2f32).ln()) && close(chosen[1], -(4f32).ln()));
        assert!(close(entropy[0], 2f32.ln()) && close(entropy[1], 4f32.ln()));
        assert!(evaluate_rows(&log_probs, &[0]).is_err());
        assert!(evaluate_rows(&log_probs, &[0, 4]).is_err());
    }

    #[test]
    fn gradients_do_not_leak_into_padding() {
        let device = Device::Cpu;
        let segments = Segments::new(&[1, 3], &device).unwrap();
        let flat = candle_core::Var::new(&[0.5f32, 0.0, 1.0, -1.0], &device).unwrap();
        let log_probs = segments.log_softmax(flat.as_tensor()).unwrap();
        let evaluation = evaluate_rows(&log_probs, &[0, 1]).unwrap();
        let grads = evaluation.log_probs.sum_all().unwrap().backward().unwrap();
        let grad = grads
            .get(flat.as_tensor())
            .unwrap()
            .to_vec1::<f32>()
            .unwrap();
        assert!(grad.iter().all(|g| g.is_finite()));
        assert_eq!(
            grad[0], 0.0,
            "a single choice has log-probability 0 whatever its logit"
        );
        assert!(close(grad.iter().skip(1).sum::<f32>(), 0.0));
        assert!(grad[2] > 0.0);
    }

    #[test]
    fn masked_log_softmax_ignores_invalid_entries() {
        let device = Device::Cpu;
        let logits = Tensor::new(&[[3f32, 0.0, 0.0], [1.0, 2.0, 3.0]], &device).unwrap();
        let valid = Tensor::new(&[[0u8, 1, 1], [1, 1, 1]], &device).unwrap();
        let log_probs = masked_log_softmax(&logits, &valid).unwrap();
        let rows = log_probs.to_vec2::<f32>().unwrap();
        assert!(rows[0][0] < -1e8);
        assert!(close(rows[0][1], -(2f32).ln()));
        let entropy = evaluate_rows(&log_probs, &[1, 0]).unwrap().entropy;
        assert!(close(entropy.to_vec1::<f32>().unwrap()[0], 2f32.ln()));
    }

    #[test]
    fn empty_decisions_are_rejected() {
        assert!(Segments::new(&[], &Device::Cpu).is_err());
        assert!(Segments::new(&[2, 0], &Device::Cpu).is_err());
        let segments = Segments::new(&[2, 1], &Device::Cpu).unwrap();
        assert!(segments.check_actions(&[1, 1]).is_err());
        segments.check_actions(&[1, 0]).unwrap();
    }
}
