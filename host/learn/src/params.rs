//! Named trainable parameters, always visited in name order.
//!
//! A fixed order matters for reproducibility: the global gradient norm is a sum over
//! parameters, and float addition is not associative. (candle-nn's `VarMap` keeps a
//! `HashMap`, whose iteration order changes from process to process.)

use std::collections::{BTreeMap, HashMap};

use candle_core::{Tensor, Var};
use sha2::{Digest, Sha256};

use crate::error::{LearnError, Result};

/// Trainable tensors keyed by name; the names are the safetensors keys in checkpoints.
#[derive(Clone, Debug, Default)]
pub struct Parameters {
    vars: BTreeMap<String, Var>,
}

impl Parameters {
    /// An empty set.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds `value` (copied into a fresh variable) under `name` and returns the variable.
    ///
    /// # Errors
    /// [`LearnError::InvalidConfig`] when `name` is taken.
    pub fn insert(&mut self, name: impl Into<String>, value: &Tensor) -> Result<Var> {
        let name = name.into();
        if self.vars.contains_key(&name) {
            return Err(LearnError::InvalidConfig(format!(
                "parameter `{name}` defined twice"
            )));
        }
        let var = Var::from_tensor(&value.detach())?;
        self.vars.insert(name, var.clone());
        Ok(var)
    }

    /// The variable called `name`.
    pub fn get(&self, name: &str) -> Option<&Var> {
        self.vars.get(name)
    }

    /// `(name, variable)` pairs in name order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &Var)> {
        self.vars.iter().map(|(name, var)| (name.as_str(), var))
    }

    /// Number of named tensors.
    pub fn len(&self) -> usize {
        self.vars.len()
    }

    /// Whether there are no tensors.
    pub fn is_empty(&self) -> bool {
        self.vars.is_empty()
    }

    /// Total number of scalars over all tensors.
    pub fn element_count(&self) -> usize {
        self.vars.values().map(|var| var.elem_count()).sum()
    }

    /// Copies every tensor into new storage: later updates of either set leave the other as
    /// it was (a frozen reference policy, a warm-start snapshot).
    ///
    /// # Errors
    /// A candle error if a copy fails.
    pub fn deep_copy(&self) -> Result<Self> {
        let mut copy = Self::new();
        for (name, var) in self.iter() {
            copy.insert(name, var.as_tensor())?;
        }
        Ok(copy)
    }

    /// Detached views of the current values, for saving.
    pub fn tensors(&self) -> HashMap<String, Tensor> {
        self.iter()
            .map(|(name, var)| (name.to_owned(), var.as_detached_tensor()))
            .collect()
    }

    /// Overwrites every variable with the tensor of the same name.
    ///
    /// # Errors
    /// [`LearnError::InvalidBatch`] unless `values` has exactly these names with the same
    /// shapes and dtypes; nothing is written in that case.
    pub fn assign(&self, values: &HashMap<String, Tensor>) -> Result<()> {
        let mismatch = |message: String| Err(LearnError::InvalidBatch(message));
        if values.len() != self.vars.len() {
            let mut given: Vec<_> = values.keys().cloned().collect();
            given.sort();
            let expected: Vec<_> = self.vars.keys().cloned().collect();
            return mismatch(format!("expected parameters {expected:?}, got {given:?}"));
        }
        for (name, var) in self.iter() {
            let Some(value) = values.get(name) else {
                return mismatch(format!("parameter `{name}` is missing"));
            };
            if value.shape() != var.shape() || value.dtype() != var.dtype() {
                return mismatch(format!(
                    "parameter `{name}`: expected {:?} {:?}, got {:?} {:?}",
                    var.dtype(),
                    var.shape(),
                    value.dtype(),
                    value.shape()
                ));
            }
        }
        for (name, var) in self.iter() {
            var.set(&values[name].contiguous()?)?;
        }
        Ok(())
    }

    /// SHA-256 over every name, shape and little-endian value, in name order: equal digests
    /// mean bit-identical weights.
    ///
    /// # Errors
    /// A candle error if a tensor cannot be read back.
    pub fn digest(&self) -> Result<String> {
        let mut hasher = Sha256::new();
        for (name, var) in self.iter() {
            hasher.update((name.len() as u64).to_le_bytes());
            hasher.update(name.as_bytes());
            hasher.update(format!("{:?}{:?}", var.dtype(), var.dims()).as_bytes());
            let values = var.as_tensor().flatten_all()?.to_vec1::<f32>()?;
            for value in values {
                hasher.update(value.to_le_bytes());
            }
        }
        Ok(hex(&hasher.finalize()))
    }
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use candle_core::Device;

    use super::*;

    fn two_parameters() -> Parameters {
        let device = Device::Cpu;
        let mut parameters = Parameters::new();
        parameters
            .insert("b", &Tensor::new(&[1f32, 2.0], &device).unwrap())
            .unwrap();
        parameters
            .insert("a", &Tensor::new(&[[3f32]], &device).unwrap())
            .unwrap();
        parameters
    }

    #[test]
    fn iteration_is_in_name_order() {
        let parameters = two_parameters();
        let names: Vec<_> = parameters.iter().map(|(name, _)| name).collect();
        assert_eq!(names, ["a", "b"]);
        assert_eq!(parameters.element_count(), 3);
    }

    #[test]
    fn duplicate_names_are_rejected() {
        let mut parameters = two_parameters();
        let value = Tensor::new(&[0f32], &Device::Cpu).unwrap();
        assert!(parameters.insert("a", &value).is_err());
    }

    #[test]
    fn deep_copy_is_independent() {
        let parameters = two_parameters();
        let copy = parameters.deep_copy().unwrap();
        let before = copy.digest().unwrap();
        assert_eq!(before, parameters.digest().unwrap());
        let b = parameters.get("b").unwrap();
        b.set(&Tensor::new(&[5f32, 6.0], &Device::Cpu).unwrap())
            .unwrap();
        assert_eq!(copy.digest().unwrap(), before);
        assert_ne!(parameters.digest().unwrap(), before);
    }

    #[test]
    fn assign_checks_names_and_shapes() {
        let parameters = two_parameters();
        let mut values = parameters.deep_copy().unwrap().tensors();
        values.insert(
            "b".into(),
            Tensor::new(&[7f32, 8.0, 9.0], &Device::Cpu).unwrap(),
        );
        assert!(parameters.assign(&values).is_err());
        values.insert("b".into(), Tensor::new(&[7f32, 8.0], &Device::Cpu).unwrap());
        parameters.assign(&values).unwrap();
        let b = parameters.get("b").unwrap().to_vec1::<f32>().unwrap();
        assert_eq!(b, [7.0, 8.0]);
        values.remove("a");
        assert!(parameters.assign(&values).is_err());
    }
}
