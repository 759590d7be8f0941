//! The crate's error type.

use derl_learn::LearnError;

/// Everything that can go wrong while building, sampling, training or evolving generators.
#[derive(Debug, thiserror::Error)]
pub enum MetaError {
    /// A configuration value is out of its documented range.
    #[error("invalid configuration: {0}")]
    InvalidConfig(String),
    /// A program is not in the generator's grammar (bad text, unknown primitive or
    /// constant, no primitive, too long).
    #[error("program `{program}` is not in the grammar: {reason}")]
    InvalidProgram {
        /// The program as given (source text or rendered tokens).
        program: String,
        /// What is wrong with it.
        reason: String,
    },
    /// Scores handed to the evolution baseline are unusable (not finite).
    #[error("invalid score: {0}")]
    InvalidScore(String),
    /// A model, training or checkpoint operation failed in derl-learn.
    #[error(transparent)]
    Learn(#[from] LearnError),
    /// A tensor operation failed inside candle.
    #[error("tensor operation failed: {0}")]
    Tensor(#[from] candle_core::Error),
}

/// Result alias used throughout the crate.
pub type Result<T, E = MetaError> = std::result::Result<T, E>;

impl MetaError {
    pub(crate) fn program(program: impl Into<String>, reason: impl Into<String>) -> Self {
        Self::InvalidProgram {
            program: program.into(),
            reason: reason.into(),
        }
    }
}
