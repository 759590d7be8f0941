//! Gradients of named parameters, detached from the graph: dense tensors, or the rows a
//! batch touched of a large embedding table.
//!
//! A batch reads a few thousand of an embedding table's rows; its gradient written densely
//! is the whole table, zeroed, filled, added to the minibatch's, squared for the norm, for
//! every micro-batch. [`RowGradient`] keeps only the touched rows (sorted), adds them up
//! row by row, and is written out densely once, where the optimizer needs it.

use std::collections::BTreeMap;

use candle_core::backprop::GradStore;
use candle_core::{Device, Tensor};

use crate::error::{LearnError, Result};
use crate::params::Parameters;

/// The gradient of one parameter.
#[derive(Clone, Debug)]
pub enum Gradient {
    /// Every entry.
    Dense(Tensor),
    /// The non-zero rows of a 2-d parameter.
    Rows(RowGradient),
}

/// The gradient of a `(rows, width)` parameter on a few of its rows; the others are zero.
#[derive(Clone, Debug, PartialEq)]
pub struct RowGradient {
    shape: (usize, usize),
    /// Sorted, distinct.
    rows: Vec<u32>,
    /// `(rows.len(), width)` row-major.
    values: Vec<f32>,
}

impl RowGradient {
    /// The gradient of a `shape` parameter on `rows` (sorted, distinct, in range), `values`
    /// holding one row of `shape.1` entries for each.
    ///
    /// # Errors
    /// [`LearnError::InvalidBatch`] when the rows are not sorted and distinct, one is out
    /// of range, or the values do not fill them.
    pub fn new(shape: (usize, usize), rows: Vec<u32>, values: Vec<f32>) -> Result<Self> {
        let sorted = rows.windows(2).all(|pair| pair[0] < pair[1]);
        let in_range = rows.last().is_none_or(|&last| (last as usize) < shape.0);
        if !sorted || !in_range || values.len() != rows.len() * shape.1 {
            return Err(LearnError::InvalidBatch(format!(
                "row gradient of a {shape:?} parameter: {} rows (sorted, in range: {}), {} values",
                rows.len(),
                sorted && in_range,
                values.len()
            )));
        }
        Ok(Self {
            shape,
            rows,
            values,
        })
    }

    /// The shape of the parameter.
    pub fn dims(&self) -> [usize; 2] {
        [self.shape.0, self.shape.1]
    }

    /// Writes the whole `(rows * width)` gradient into `dense` (resized, zero outside the
    /// rows).
    pub fn write_dense(&self, dense: &mut Vec<f32>) {
        let width = self.shape.1;
        dense.clear();
        dense.resize(self.shape.0 * width, 0.0);
        for (row, values) in self.rows.iter().zip(self.values.chunks_exact(width)) {
            dense[*row as usize * width..][..width].copy_from_slice(values);
        }
    }

    /// The whole gradient as a tensor.
    ///
    /// # Errors
    /// A candle error if the tensor cannot be built.
    pub fn to_dense(&self, device: &Device) -> Result<Tensor> {
        let mut dense = Vec::new();
        self.write_dense(&mut dense);
        Ok(Tensor::from_vec(dense, self.shape, device)?)
    }

    /// `self + other`, row by row (rows in both add in that order, as a dense sum would).
    fn add(&self, other: &RowGradient) -> RowGradient {
        let (mut rows, mut values) = (Vec::new(), Vec::new());
        let (mut i, mut j) = (0, 0);
        fn row_of(gradient: &RowGradient, at: usize) -> &[f32] {
            let width = gradient.shape.1;
            &gradient.values[at * width..][..width]
        }
        while i < self.rows.len() || j < other.rows.len() {
            let (left, right) = (self.rows.get(i), other.rows.get(j));
            match (left, right) {
                (Some(&a), Some(&b)) if a == b => {
                    rows.push(a);
                    let sums = row_of(self, i).iter().zip(row_of(other, j));
                    values.extend(sums.map(|(x, y)| x + y));
                    (i, j) = (i + 1, j + 1);
                }
                (Some(&a), Some(&b)) if a < b => {
                    rows.push(a);
                    values.extend_from_slice(row_of(self, i));
                    i += 1;
                }
                (Some(&a), None) => {
                    rows.push(a);
                    values.extend_from_slice(row_of(self, i));
                    i += 1;
                }
                (_, Some(&b)) => {
                    rows.push(b);
                    values.extend_from_slice(row_of(other, j));
                    j += 1;
                }
                (None, None) => unreachable!("the loop runs while a row is left"),
            }
        }
        RowGradient {
            shape: self.shape,
            rows,
            values,
        }
    }
}

impl Gradient {
    /// The shape of the parameter.
    pub fn dims(&self) -> Vec<usize> {
        match self {
            Gradient::Dense(tensor) => tensor.dims().to_vec(),
            Gradient::Rows(rows) => rows.dims().to_vec(),
        }
    }

    /// The whole gradient as a tensor.
    ///
    /// # Errors
    /// A candle error if the tensor cannot be built.
    pub fn to_dense(&self, device: &Device) -> Result<Tensor> {
        match self {
            Gradient::Dense(tensor) => Ok(tensor.clone()),
            Gradient::Rows(rows) => rows.to_dense(device),
        }
    }

    fn add(self, other: Gradient) -> Result<Gradient> {
        Ok(match (self, other) {
            (Gradient::Dense(a), Gradient::Dense(b)) => Gradient::Dense((a + b)?),
            (Gradient::Rows(a), Gradient::Rows(b)) if a.shape == b.shape => {
                Gradient::Rows(a.add(&b))
            }
            (Gradient::Rows(a), Gradient::Rows(b)) => {
                return Err(LearnError::InvalidBatch(format!(
                    "row gradients of shapes {:?} and {:?}",
                    a.shape, b.shape
                )));
            }
            (Gradient::Dense(a), Gradient::Rows(b)) => {
                let dense = b.to_dense(a.device())?;
                Gradient::Dense((a + dense)?)
            }
            (Gradient::Rows(a), Gradient::Dense(b)) => {
                let dense = a.to_dense(b.device())?;
                Gradient::Dense((dense + b)?)
            }
        })
    }

    /// The sum of the squares of the entries.
    fn squares(&self) -> Result<f64> {
        Ok(match self {
            Gradient::Dense(tensor) => f64::from(tensor.sqr()?.sum_all()?.to_scalar::<f32>()?),
            Gradient::Rows(rows) => rows
                .values
                .iter()
                .map(|&value| f64::from(value) * f64::from(value))
                .sum(),
        })
    }
}

/// Gradients of named parameters, detached from the graph, in name order.
///
/// Taking them out of candle's `GradStore` right after a backward pass frees the gradients
/// of every intermediate tensor early, and lets micro-batches add up their gradients.
#[derive(Clone, Debug, Default)]
pub struct Gradients {
    grads: BTreeMap<String, Gradient>,
}

impl Gradients {
    /// The gradients of `parameters` in the store of a backward pass (parameters the loss
    /// does not depend on have none).
    pub fn from_backward(parameters: &Parameters, store: &GradStore) -> Self {
        let grads = parameters
            .iter()
            .filter_map(|(name, var)| {
                store
                    .get(var.as_tensor())
                    .map(|grad| (name.to_owned(), Gradient::Dense(grad.detach())))
            })
            .collect();
        Self { grads }
    }

    /// Sets the gradient of parameter `name` (for a model with its own backward pass).
    pub fn insert(&mut self, name: &str, grad: Gradient) {
        self.grads.insert(name.to_owned(), grad);
    }

    /// The gradient of parameter `name`, if it has one.
    pub fn gradient(&self, name: &str) -> Option<&Gradient> {
        self.grads.get(name)
    }

    /// The gradient of parameter `name` as a dense tensor, if it has one.
    ///
    /// # Errors
    /// A candle error if a row gradient cannot be written out.
    pub fn get(&self, name: &str) -> Result<Option<Tensor>> {
        self.grads
            .get(name)
            .map(|grad| grad.to_dense(&Device::Cpu))
            .transpose()
    }

    /// Adds `other` into these gradients (gradient accumulation).
    ///
    /// # Errors
    /// A candle error when shapes differ.
    pub fn accumulate(&mut self, other: Gradients) -> Result<()> {
        for (name, grad) in other.grads {
            let sum = match self.grads.remove(&name) {
                Some(existing) => existing.add(grad)?,
                None => grad,
            };
            self.grads.insert(name, sum);
        }
        Ok(())
    }

    /// The L2 norm of all gradients taken together, summed in name order.
    ///
    /// # Errors
    /// A candle error if a gradient cannot be read back.
    pub fn global_norm(&self) -> Result<f64> {
        let mut squares = 0.0f64;
        for grad in self.grads.values() {
            squares += grad.squares()?;
        }
        Ok(squares.sqrt())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rows(rows: &[u32], values: &[f32]) -> RowGradient {
        RowGradient::new((4, 2), rows.to_vec(), values.to_vec()).unwrap()
    }

    #[test]
    fn row_gradients_add_and_densify_like_dense_ones() {
        let a = rows(&[0, 2], &[1.0, 2.0, 3.0, 4.0]);
        let b = rows(&[2, 3], &[0.5, -4.0, 7.0, 8.0]);
        let mut sum = Gradients::default();
        sum.insert("e", Gradient::Rows(a.clone()));
        let mut other = Gradients::default();
        other.insert("e", Gradient::Rows(b.clone()));
        sum.accumulate(other).unwrap();
        let dense = sum.get("e").unwrap().unwrap().to_vec2::<f32>().unwrap();
        assert_eq!(dense, [[1.0, 2.0], [0.0, 0.0], [3.5, 0.0], [7.0, 8.0]]);
        let expected = (1.0f64 + 4.0 + 12.25 + 49.0 + 64.0).sqrt();
        assert!((sum.global_norm().unwrap() - expected).abs() < 1e-12);

        let mut mixed = Gradients::default();
        mixed.insert("e", Gradient::Dense(a.to_dense(&Device::Cpu).unwrap()));
        let mut other = Gradients::default();
        other.insert("e", Gradient::Rows(b));
        mixed.accumulate(other).unwrap();
        assert_eq!(
            mixed.get("e").unwrap().unwrap().to_vec2::<f32>().unwrap(),
            dense
        );
    }

    #[test]
    fn malformed_row_gradients_are_refused() {
        assert!(RowGradient::new((4, 2), vec![2, 1], vec![0.0; 4]).is_err());
        assert!(RowGradient::new((4, 2), vec![1, 1], vec![0.0; 4]).is_err());
        assert!(RowGradient::new((4, 2), vec![4], vec![0.0; 2]).is_err());
        assert!(RowGradient::new((4, 2), vec![1], vec![0.0; 3]).is_err());
    }
}
