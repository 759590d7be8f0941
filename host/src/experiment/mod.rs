//! Experiments: run directories with atomic writes (config, manifest,
//! metrics, trajectory, checkpoints).

mod config;
mod rundir;

pub(crate) use config::parse_over_defaults;
pub use config::{
    ConfigError, DEMO_CONFIG, DerlPopSection, EnvSection, EvolutionSection, ExecutorSection,
    ExperimentConfig, ExperimentSection, FinalSection, MetaSection, Method, OuterSection,
    ScoreMode,
};
pub use rundir::{RunDir, write_atomic};
