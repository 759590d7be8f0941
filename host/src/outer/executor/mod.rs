//! Executors run batches of inner-loop jobs. The outer loop only ever hands
//! an executor a list of [`InnerJob`]s and reads back one [`JobReport`] per
//! job, in job order; where and how the jobs run is the executor's business.
//!
//! [`LocalExecutor`] runs them on a pool of threads in this process; the
//! configuration picks an executor by name from [`EXECUTORS`]. A
//! cluster executor (Ray, Slurm, a queue of machines) implements the same
//! trait by shipping each job as JSON to `derl inner-loop --job job.json`
//! and reading back the result: a job is a pure function of its content, so
//! results do not depend on the machine or the order jobs finish in.

mod command;
mod local;
mod ray;
mod report_file;

pub use command::{CommandExecutor, check_command};
pub use local::{LocalExecutor, instances_per_job};
pub use ray::RayExecutor;
pub use report_file::{EXIT_FAILED, EXIT_INVALID, REPORT_SCHEMA};

use crate::experiment::ExecutorSection;
use crate::inner::{InnerJob, InnerResult, JobError, UpdateRecord, run_job};
use derl_sandbox::Sandbox;
use serde::{Deserialize, Serialize};
use std::panic::AssertUnwindSafe;
use std::time::Instant;

/// How one inner loop ended.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum JobOutcome {
    /// The policy was trained and evaluated.
    Finished(InnerResult),
    /// The reward was at fault (does not parse, reads a primitive the
    /// environment lacks, trapped, ran out of fuel, returned NaN): the outer
    /// loop scores the program as invalid and goes on.
    Invalid {
        /// Why, as the job reported it.
        reason: String,
    },
    /// The experiment was at fault (environment, file system, policy): the
    /// run stops after the batch, keeping every completed iteration.
    Failed {
        /// Why, as the job reported it.
        reason: String,
    },
}

impl JobOutcome {
    /// Classifies the result of [`run_job`].
    pub fn from_result(result: Result<InnerResult, JobError>) -> JobOutcome {
        match result {
            Ok(result) => JobOutcome::Finished(result),
            Err(error) if error.is_reward_fault() => JobOutcome::Invalid {
                reason: format!("{error:#}"),
            },
            Err(error) => JobOutcome::Failed {
                reason: format!("{error:#}"),
            },
        }
    }
}

/// One job's outcome and how long it took.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct JobReport {
    /// The outcome.
    pub outcome: JobOutcome,
    /// Wall-clock seconds the job ran (not part of any result).
    pub wall_seconds: f64,
}

/// Runs batches of inner-loop jobs (see the module documentation).
pub trait Executor: Sync {
    /// How many jobs run at once (for messages).
    fn parallelism(&self) -> usize;

    /// Runs every job and returns their reports in job order. Calls
    /// `on_done(index, report)` as each job finishes, from any thread.
    /// A job's failure is its report, never a panic or an early return.
    fn run(
        &self,
        jobs: &[InnerJob],
        on_done: &(dyn Fn(usize, &JobReport) + Sync),
    ) -> Vec<JobReport>;

    /// What it is, for the run's manifest (`local, 2 workers`).
    fn describe(&self) -> String {
        format!("custom, {} workers", self.parallelism())
    }
}

/// Runs `run_job` on every job from `workers` threads (at least one, at most
/// one per job), each taking the next job as it finishes one; calls
/// `on_done` as each job ends and returns the reports in job order. The
/// shared loop of the executors.
pub(crate) fn run_pool(
    jobs: &[InnerJob],
    workers: usize,
    on_done: &(dyn Fn(usize, &JobReport) + Sync),
    run_job: impl Fn(&InnerJob) -> JobReport + Sync,
) -> Vec<JobReport> {
    use std::sync::Mutex;
    use std::sync::atomic::{AtomicUsize, Ordering};
    let next = AtomicUsize::new(0);
    let slots: Mutex<Vec<Option<JobReport>>> = Mutex::new(vec![None; jobs.len()]);
    std::thread::scope(|scope| {
        for _ in 0..workers.min(jobs.len()).max(1) {
            scope.spawn(|| {
                loop {
                    let index = next.fetch_add(1, Ordering::Relaxed);
                    let Some(job) = jobs.get(index) else { break };
                    let report = run_job(job);
                    on_done(index, &report);
                    if let Ok(mut slots) = slots.lock() {
                        slots[index] = Some(report);
                    }
                }
            });
        }
    });
    slots
        .into_inner()
        .unwrap_or_else(|poison| poison.into_inner())
        .into_iter()
        .map(|slot| {
            slot.unwrap_or_else(|| JobReport::failed("the worker running this job stopped", 0.0))
        })
        .collect()
}

/// Runs one job in `sandbox`, timing it and turning a panic into
/// [`JobOutcome::Failed`].
pub fn run_one(sandbox: &Sandbox, job: &InnerJob) -> JobReport {
    run_one_observed(sandbox, job, |_| {})
}

/// [`run_one`], calling `on_update` after every GRPO update.
pub fn run_one_observed(
    sandbox: &Sandbox,
    job: &InnerJob,
    on_update: impl FnMut(&UpdateRecord),
) -> JobReport {
    let started = Instant::now();
    let outcome =
        match std::panic::catch_unwind(AssertUnwindSafe(|| run_job(sandbox, job, on_update))) {
            Ok(result) => JobOutcome::from_result(result),
            Err(panic) => JobOutcome::Failed {
                reason: format!("the inner loop panicked: {}", panic_message(&panic)),
            },
        };
    JobReport {
        outcome,
        wall_seconds: started.elapsed().as_secs_f64(),
    }
}

fn panic_message(panic: &Box<dyn std::any::Any + Send>) -> String {
    if let Some(text) = panic.downcast_ref::<&str>() {
        (*text).to_owned()
    } else if let Some(text) = panic.downcast_ref::<String>() {
        text.clone()
    } else {
        "unknown panic".to_owned()
    }
}

/// An executor the configuration can name (`[executor] kind`, or
/// `derl run --executor`).
pub struct ExecutorKind {
    /// Its name.
    pub name: &'static str,
    /// One line for help and docs.
    pub about: &'static str,
    /// Builds it from the `[executor]` table for a run with `workers`
    /// parallel inner loops (0: one per core) in `sandbox`.
    pub build: fn(&ExecutorSection, &Sandbox, usize) -> anyhow::Result<Box<dyn Executor>>,
}

/// Every executor, by name.
pub const EXECUTORS: &[ExecutorKind] = &[
    ExecutorKind {
        name: "local",
        about: "a pool of threads in this process",
        build: |_, sandbox, workers| Ok(Box::new(LocalExecutor::new(sandbox.clone(), workers))),
    },
    ExecutorKind {
        name: "command",
        about: "any command that reads a job file and writes a report (`executor.command`)",
        build: |section, _, workers| Ok(Box::new(CommandExecutor::new(section, workers)?)),
    },
    ExecutorKind {
        name: "ray",
        about: "jobs on a Ray cluster through its dashboard's Jobs API (`executor.address`)",
        build: |section, _, workers| Ok(Box::new(RayExecutor::new(section, workers)?)),
    },
];

/// The registered executor called `name`.
///
/// # Errors
/// No executor has that name; the message lists those that do.
pub fn executor_kind(name: &str) -> anyhow::Result<&'static ExecutorKind> {
    EXECUTORS
        .iter()
        .find(|kind| kind.name == name)
        .ok_or_else(|| {
            let known: Vec<&str> = EXECUTORS.iter().map(|kind| kind.name).collect();
            anyhow::anyhow!(
                "is `{name}`, which is not an executor (known: {})",
                known.join(", ")
            )
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn executors_are_found_by_name_and_an_unknown_one_lists_the_known() {
        assert_eq!(executor_kind("local").unwrap().name, "local");
        let Err(error) = executor_kind("ray-cluster") else {
            panic!("no executor is called ray-cluster");
        };
        let error = error.to_string();
        assert!(error.contains("`ray-cluster`"), "{error}");
        assert!(error.contains("known: local"), "{error}");
    }
}
