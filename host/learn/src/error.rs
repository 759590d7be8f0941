//! The crate's error type.

use std::path::PathBuf;

/// Everything that can go wrong while building, running, training or saving a policy.
#[derive(Debug, thiserror::Error)]
pub enum LearnError {
    /// A tensor operation failed inside candle.
    #[error("tensor operation failed: {0}")]
    Tensor(#[from] candle_core::Error),
    /// A configuration value is out of its documented range.
    #[error("invalid configuration: {0}")]
    InvalidConfig(String),
    /// The decisions, actions or episodes handed in are inconsistent.
    #[error("invalid batch: {0}")]
    InvalidBatch(String),
    /// A checkpoint is missing, corrupt or does not match the model it is loaded into.
    #[error("checkpoint {path}: {message}")]
    Checkpoint {
        /// The file or directory concerned.
        path: PathBuf,
        /// What is wrong with it.
        message: String,
    },
    /// Reading or writing a file failed.
    #[error("i/o error on {path}: {source}")]
    Io {
        /// The file concerned.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
}

/// Result alias used throughout the crate.
pub type Result<T, E = LearnError> = std::result::Result<T, E>;

impl LearnError {
    pub(crate) fn checkpoint(path: impl Into<PathBuf>, message: impl Into<String>) -> Self {
        Self::Checkpoint {
            path: path.into(),
            message: message.into(),
        }
    }

    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Self::Io {
            path: path.into(),
            source,
        }
    }
}
