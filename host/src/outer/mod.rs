//! DERL's outer loop and the experiment runner: search methods propose
//! groups of Meta-Reward programs, inner loops score them in parallel, each
//! method learns from its scores; DERL-pop warm-starts inner loops from the
//! previous iteration's best policy; outcome-only, the equal-weight
//! heuristic, black-box evolution and untrained sampling run under the same
//! runner and inner-loop budget; a final evaluation trains fresh policies
//! with each method's best program.
//!
//! - [`methods`]: the [`SearchMethod`] trait and the registry of methods by
//!   name.
//! - [`executor`]: the [`Executor`] trait (a batch of jobs in, reports in job
//!   order out), the thread-pool [`LocalExecutor`], and the registry of
//!   executors the config selects.
//! - [`runner`]: [`start`] and [`resume`] a run in a run directory.
//! - [`layout`]: the run directory's files, state and manifest.
//! - [`records`]: the rows of `metrics.jsonl`, `trajectory.jsonl`,
//!   `timings.jsonl` and the final [`Summary`].
//! - `seeds`, `env_info`, `cache`, `summary`: every seed of a run, what it
//!   knows of its environment, the inner-loop cache, and scoring and
//!   summarising.

mod cache;
mod env_info;
pub mod executor;
pub mod layout;
pub mod methods;
pub mod records;
pub mod runner;
mod seeds;
mod summary;

pub use env_info::EnvInfo;
pub use executor::{Executor, JobOutcome, JobReport, LocalExecutor, run_one};
pub use layout::{Manifest, read_config, read_summary};
pub use methods::{Method, MethodKind, SearchMethod};
pub use records::{
    MethodSummary, MetricRow, Phase, SplitResult, Summary, TimingRow, TrajectoryRow, read_jsonl,
};
pub use runner::{Observer, RunOptions, RunStatus, Silent, resume, start};
pub use seeds::Seeds;
