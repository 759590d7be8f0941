//! Settings of the (mu+lambda) evolution baseline.

use serde::{Deserialize, Serialize};

use super::operators::Mutation;
use crate::error::{MetaError, Result};
use crate::grammar::GrammarConfig;

/// Relative frequencies of the five mutations (only those that can change the parent are
/// drawn from).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MutationWeights {
    /// Replace a constant by another constant of the grammar. Default 1.
    pub constant: f64,
    /// Replace a binary operator by another (or `min` by `max`). Default 1.
    pub operator: f64,
    /// Replace a primitive by another. Default 1.
    pub primitive: f64,
    /// Combine a subtree with a small random one (`s op r`). Default 1.
    pub grow: f64,
    /// Replace an inner node by one of its operands. Default 1.
    pub shrink: f64,
}

impl Default for MutationWeights {
    fn default() -> Self {
        Self {
            constant: 1.0,
            operator: 1.0,
            primitive: 1.0,
            grow: 1.0,
            shrink: 1.0,
        }
    }
}

impl MutationWeights {
    pub(crate) fn as_pairs(&self) -> [(Mutation, f64); 5] {
        [
            (Mutation::Constant, self.constant),
            (Mutation::Operator, self.operator),
            (Mutation::Primitive, self.primitive),
            (Mutation::Grow, self.grow),
            (Mutation::Shrink, self.shrink),
        ]
    }
}

/// The (mu+lambda) baseline: `lambda` offspring per generation, the best `mu` of parents
/// and offspring survive.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct EvolutionConfig {
    /// The programs it may emit (the same grammar as the Meta-Optimizer's).
    pub grammar: GrammarConfig,
    /// Survivors per generation. Default 4.
    pub mu: usize,
    /// Offspring per generation (the group size of the outer loop). Default 8.
    pub lambda: usize,
    /// Probability that an offspring comes from subtree crossover of two parents rather
    /// than from mutating one. Default 0.25.
    pub crossover_rate: f64,
    /// Mutation frequencies.
    pub mutation: MutationWeights,
    /// Depth limit of random programs (initial population, top-up). Default 2.
    pub random_depth: usize,
}

impl Default for EvolutionConfig {
    fn default() -> Self {
        Self {
            grammar: GrammarConfig::default(),
            mu: 4,
            lambda: 8,
            crossover_rate: 0.25,
            mutation: MutationWeights::default(),
            random_depth: 2,
        }
    }
}

impl EvolutionConfig {
    /// Checks every documented range.
    ///
    /// # Errors
    /// [`MetaError::InvalidConfig`] naming the first offending field.
    pub fn validate(&self) -> Result<()> {
        let invalid = |message: &str| Err(MetaError::InvalidConfig(message.into()));
        self.grammar.validate()?;
        if self.mu == 0 || self.lambda == 0 {
            return invalid("mu and lambda must be positive");
        }
        if !(0.0..=1.0).contains(&self.crossover_rate) {
            return invalid("crossover_rate must be in [0, 1]");
        }
        let weights = self.mutation.as_pairs();
        if weights.iter().any(|(_, w)| !(w.is_finite() && *w >= 0.0)) {
            return invalid("mutation weights must be finite and >= 0");
        }
        if weights.iter().all(|(_, w)| *w == 0.0) {
            return invalid("at least one mutation weight must be positive");
        }
        if self.random_depth > 8 {
            return invalid("random_depth must be at most 8");
        }
        Ok(())
    }
}
