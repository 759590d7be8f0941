//! The local executor: a pool of threads in this process sharing one sandbox.

use super::{Executor, JobReport, run_one};
use crate::inner::InnerJob;
use derl_sandbox::Sandbox;

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

    fn describe(&self) -> String {
        format!("local, {} workers", self.workers)
    }

    fn run(
        &self,
        jobs: &[InnerJob],
        on_done: &(dyn Fn(usize, &JobReport) + Sync),
    ) -> Vec<JobReport> {
        let config = self.sandbox.config();
        let capacity = config.pooling.then_some(config.pool_instances as usize);
        let workers = batch_workers(self.workers, capacity, jobs);
        super::run_pool(jobs, workers, on_done, |job| run_one(&self.sandbox, job))
    }
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
    use crate::outer::executor::{Executor, JobOutcome};
    use std::sync::atomic::{AtomicUsize, Ordering};

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
