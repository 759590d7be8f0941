//! Experiments: run directories with atomic writes (config, manifest,
//! metrics, trajectory, checkpoints).

mod rundir;

pub use rundir::{RunDir, write_atomic};
