//! DERL's outer loop and the experiment runner: the Meta-Optimizer proposes
//! groups of Meta-Reward programs, inner loops score them in parallel, GRPO
//! updates the Meta-Optimizer; DERL-pop warm-starts inner loops from the
//! previous iteration's best policy; outcome-only, the equal-weight
//! heuristic, black-box evolution and untrained sampling run under the same
//! runner and inner-loop budget; a final evaluation trains fresh policies
//! with each method's best program.
//!
//! - [`executor`]: the [`Executor`] trait (a batch of jobs in, reports in job
//!   order out) and the thread-pool [`LocalExecutor`].
//! - [`runner`]: [`start`] and [`resume`] a run in a run directory.
//! - [`records`]: the rows of `metrics.jsonl`, `trajectory.jsonl`,
//!   `timings.jsonl` and the final [`Summary`].

pub mod executor;
mod generator;
pub mod records;
pub mod runner;

pub use executor::{Executor, JobOutcome, JobReport, LocalExecutor, run_one};
pub use records::{
    MethodSummary, MetricRow, Phase, SplitResult, Summary, TimingRow, TrajectoryRow, read_jsonl,
};
pub use runner::{
    EnvInfo, Manifest, Observer, RunOptions, RunStatus, Seeds, Silent, read_config, read_summary,
    resume, start,
};
