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

use crate::inner::{InnerJob, InnerResult, JobError, run_job};
use derl_sandbox::Sandbox;
use serde::{Deserialize, Serialize};
use std::panic::AssertUnwindSafe;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
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
}

/// Runs one job in `sandbox`, timing it and turning a panic into
/// [`JobOutcome::Failed`].
pub fn run_one(sandbox: &Sandbox, job: &InnerJob) -> JobReport {
    let started = Instant::now();
    let outcome = match std::panic::catch_unwind(AssertUnwindSafe(|| run_job(sandbox, job, |_| {})))
    {
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

/// Runs jobs on a pool of threads in this process, sharing one sandbox
/// (engine and component cache). Each job is deterministic from its own
/// content, so results do not depend on the number of workers.
#[derive(Clone)]
pub struct LocalExecutor {
    sandbox: Sandbox,
    workers: usize,
}

impl LocalExecutor {
    /// An executor with `workers` threads (0: one per available core).
    pub fn new(sandbox: Sandbox, workers: usize) -> LocalExecutor {
        let workers = if workers == 0 {
            std::thread::available_parallelism().map_or(1, |n| n.get())
        } else {
            workers
        };
        LocalExecutor { sandbox, workers }
    }

    /// The sandbox jobs run in.
    pub fn sandbox(&self) -> &Sandbox {
        &self.sandbox
    }
}

impl Executor for LocalExecutor {
    fn parallelism(&self) -> usize {
        self.workers
    }

    fn run(
        &self,
        jobs: &[InnerJob],
        on_done: &(dyn Fn(usize, &JobReport) + Sync),
    ) -> Vec<JobReport> {
        let next = AtomicUsize::new(0);
        let slots: Mutex<Vec<Option<JobReport>>> = Mutex::new(vec![None; jobs.len()]);
        let config = self.sandbox.config();
        let capacity = config.pooling.then_some(config.pool_instances as usize);
        let workers = batch_workers(self.workers, capacity, jobs);
        std::thread::scope(|scope| {
            for _ in 0..workers {
                scope.spawn(|| {
                    loop {
                        let index = next.fetch_add(1, Ordering::Relaxed);
                        let Some(job) = jobs.get(index) else { break };
                        let report = run_one(&self.sandbox, job);
                        on_done(index, &report);
                        if let Ok(mut slots) = slots.lock() {
                            slots[index] = Some(report);
                        }
                    }
                });
            }
        });
        let slots = slots
            .into_inner()
            .unwrap_or_else(|poison| poison.into_inner());
        slots
            .into_iter()
            .map(|slot| {
                slot.unwrap_or_else(|| JobReport {
                    outcome: JobOutcome::Failed {
                        reason: "the worker running this job stopped".into(),
                    },
                    wall_seconds: 0.0,
                })
            })
            .collect()
    }
}

/// An executor the configuration can name (`[executor] kind`, or
/// `derl run --executor`).
pub struct ExecutorKind {
    /// Its name.
    pub name: &'static str,
    /// One line for help and docs.
    pub about: &'static str,
    /// Builds it for a run with `workers` parallel inner loops (0: one per
    /// core) in `sandbox`.
    pub build: fn(&Sandbox, usize) -> anyhow::Result<Box<dyn Executor>>,
}

/// Every executor, by name.
pub const EXECUTORS: &[ExecutorKind] = &[ExecutorKind {
    name: "local",
    about: "a pool of threads in this process",
    build: |sandbox, workers| Ok(Box::new(LocalExecutor::new(sandbox.clone(), workers))),
}];

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

/// Environment and reward instances one job holds at most: one per episode
/// of a training update or of an evaluation chunk (128), and a few more.
pub fn instances_per_job(job: &InnerJob) -> usize {
    let training = job.inner.tasks_per_update as usize * job.inner.group_size as usize;
    let evaluation = (job.inner.eval_episodes as usize).min(128);
    training.max(evaluation) + 4
}

/// Workers for a batch: at most `workers`, at most one per job, and no more
/// than the sandbox's instance pool (`capacity`, when pooling) can serve at
/// once. At least one.
fn batch_workers(workers: usize, capacity: Option<usize>, jobs: &[InnerJob]) -> usize {
    let mut workers = workers.min(jobs.len());
    if let Some(capacity) = capacity {
        let per_job = jobs.iter().map(instances_per_job).max().unwrap_or(1);
        workers = workers.min(capacity / per_job);
    }
    workers.max(1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::inner::{EnvSpec, RewardSpec};

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

    fn job(reward: &str) -> InnerJob {
        InnerJob {
            env: EnvSpec::named("corridor"),
            reward: RewardSpec::Program(reward.into()),
            inner: crate::inner::InnerConfig {
                updates: 1,
                tasks_per_update: 1,
                group_size: 2,
                eval_episodes: 2,
                eval_every: 0,
            },
            policy: Default::default(),
            seed: 3,
            warm_start: None,
            eval_splits: vec![derl_env_api::Split::Validation],
            checkpoint: None,
        }
    }

    #[test]
    fn reports_come_back_in_job_order_and_faults_are_classified() {
        let sandbox = Sandbox::new(derl_sandbox::SandboxConfig::default()).unwrap();
        let executor = LocalExecutor::new(sandbox, 2);
        let jobs = vec![
            job("g1"),
            job("g9"),
            InnerJob {
                env: EnvSpec::named("no-such-env"),
                ..job("g1")
            },
        ];
        let done = AtomicUsize::new(0);
        let reports = executor.run(&jobs, &|_, _| {
            done.fetch_add(1, Ordering::Relaxed);
        });
        assert_eq!(done.load(Ordering::Relaxed), 3);
        assert!(matches!(reports[0].outcome, JobOutcome::Finished(_)));
        assert!(
            matches!(&reports[1].outcome, JobOutcome::Invalid { reason } if reason.contains("g9")),
            "{:?}",
            reports[1].outcome
        );
        assert!(matches!(reports[2].outcome, JobOutcome::Failed { .. }));
    }

    #[test]
    fn batches_never_hold_more_instances_than_the_pool() {
        let jobs = vec![job("g1"); 20];
        let big = InnerJob {
            inner: crate::inner::InnerConfig {
                tasks_per_update: 16,
                group_size: 8,
                ..job("g1").inner
            },
            ..job("g1")
        };
        assert_eq!(instances_per_job(&big), 132);
        assert_eq!(batch_workers(16, None, &jobs), 16);
        assert_eq!(batch_workers(16, None, &jobs[..3]), 3);
        assert_eq!(batch_workers(16, Some(1024), &vec![big.clone(); 20]), 7);
        assert_eq!(batch_workers(4, Some(1024), &vec![big.clone(); 20]), 4);
        assert_eq!(batch_workers(4, Some(10), &[big]), 1);
        assert_eq!(batch_workers(4, None, &[]), 1);
    }

    #[test]
    fn zero_workers_means_one_per_core() {
        let sandbox = Sandbox::new(derl_sandbox::SandboxConfig::default()).unwrap();
        assert!(LocalExecutor::new(sandbox, 0).parallelism() >= 1);
    }
}
