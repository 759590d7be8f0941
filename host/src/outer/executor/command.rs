//! The command executor: each inner loop is a process that reads a job file
//! and writes a report file (see [`super::report_file`]). By default the
//! process is this `derl` binary's `inner-loop`; any other command that
//! honours the two files (a TRL or verl training script that receives the
//! Meta-Reward in the job, on a GPU) drives the same outer loop.

use super::{Executor, JobOutcome, JobReport};
use crate::experiment::ExecutorSection;
use crate::inner::InnerJob;
use anyhow::{Context, bail};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// Stands for the job file's path in `executor.command`.
pub const JOB_PLACEHOLDER: &str = "{job}";
/// Stands for the report file's path in `executor.command`.
pub const REPORT_PLACEHOLDER: &str = "{report}";
/// How much of a failed command's standard error a report keeps.
const STDERR_TAIL_BYTES: usize = 2048;

/// Runs every inner loop as a command (see the module documentation).
pub struct CommandExecutor {
    argv: Vec<String>,
    workers: usize,
    retries: u32,
    timeout: Option<Duration>,
    work_dir: PathBuf,
    next_file: AtomicUsize,
}

impl CommandExecutor {
    /// An executor running `section.command` (default: `derl inner-loop
    /// --job {job} --out {report}` with this binary), `workers` at once (0:
    /// one per core), retrying a failed job `section.retries` times and
    /// stopping one after `section.timeout_s`.
    ///
    /// # Errors
    /// A command without `{job}` or `{report}`, or no temporary directory.
    pub fn new(section: &ExecutorSection, workers: usize) -> anyhow::Result<CommandExecutor> {
        let argv = match &section.command {
            Some(argv) => argv.clone(),
            None => default_command()?,
        };
        check_command(&argv)?;
        let workers = if workers == 0 {
            std::thread::available_parallelism().map_or(1, |n| n.get())
        } else {
            workers
        };
        static EXECUTORS: AtomicUsize = AtomicUsize::new(0);
        let work_dir = std::env::temp_dir().join(format!(
            "derl-command-{}-{}",
            std::process::id(),
            EXECUTORS.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&work_dir)
            .with_context(|| format!("cannot create {}", work_dir.display()))?;
        Ok(CommandExecutor {
            argv,
            workers,
            retries: section.retries,
            timeout: section.timeout_s.map(Duration::from_secs_f64),
            work_dir,
            next_file: AtomicUsize::new(0),
        })
    }

    /// One attempt at `job`: write the job file, run the command, read the
    /// report.
    fn attempt(&self, job: &InnerJob) -> JobReport {
        let started = Instant::now();
        let n = self.next_file.fetch_add(1, Ordering::Relaxed);
        let job_path = self.work_dir.join(format!("job-{n}.json"));
        let report_path = self.work_dir.join(format!("report-{n}.json"));
        let stderr_path = self.work_dir.join(format!("stderr-{n}.txt"));
        let report = self.run_command(job, &job_path, &report_path, &stderr_path, started);
        for path in [&job_path, &report_path, &stderr_path] {
            let _ = std::fs::remove_file(path);
        }
        report
    }

    fn run_command(
        &self,
        job: &InnerJob,
        job_path: &Path,
        report_path: &Path,
        stderr_path: &Path,
        started: Instant,
    ) -> JobReport {
        let failed = |reason: String| JobReport::failed(reason, started.elapsed().as_secs_f64());
        let written = serde_json::to_vec_pretty(job)
            .map_err(anyhow::Error::from)
            .and_then(|bytes| crate::experiment::write_atomic(job_path, &bytes));
        if let Err(error) = written {
            return failed(format!("cannot write the job file: {error:#}"));
        }
        let argv: Vec<String> = self
            .argv
            .iter()
            .map(|arg| {
                arg.replace(JOB_PLACEHOLDER, &job_path.to_string_lossy())
                    .replace(REPORT_PLACEHOLDER, &report_path.to_string_lossy())
            })
            .collect();
        let stderr = match std::fs::File::create(stderr_path) {
            Ok(file) => file,
            Err(error) => {
                return failed(format!("cannot create {}: {error}", stderr_path.display()));
            }
        };
        let mut child = match Command::new(&argv[0])
            .args(&argv[1..])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(stderr)
            .spawn()
        {
            Ok(child) => child,
            Err(error) => return failed(format!("cannot start `{}`: {error}", argv[0])),
        };
        let status = loop {
            match child.try_wait() {
                Ok(Some(status)) => break status,
                Ok(None) => {}
                Err(error) => return failed(format!("waiting for `{}`: {error}", argv[0])),
            }
            if let Some(limit) = self.timeout
                && started.elapsed() > limit
            {
                let _ = child.kill();
                let _ = child.wait();
                return failed(format!(
                    "`{}` ran past executor.timeout_s ({} s) and was stopped",
                    argv[0],
                    limit.as_secs_f64()
                ));
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        match std::fs::read_to_string(report_path) {
            Ok(text) => JobReport::from_file_json(&text).unwrap_or_else(|error| {
                failed(format!(
                    "`{}` wrote a report that cannot be read ({error:#}); {status}",
                    argv[0]
                ))
            }),
            Err(_) => failed(format!(
                "`{}` exited ({status}) without writing a report; its standard error ends: {}",
                argv[0],
                stderr_tail(stderr_path)
            )),
        }
    }
}

impl Executor for CommandExecutor {
    fn parallelism(&self) -> usize {
        self.workers
    }

    fn run(
        &self,
        jobs: &[InnerJob],
        on_done: &(dyn Fn(usize, &JobReport) + Sync),
    ) -> Vec<JobReport> {
        super::run_pool(jobs, self.workers, on_done, |job| {
            with_retries(self.retries, || self.attempt(job))
        })
    }

    fn describe(&self) -> String {
        format!(
            "command `{}`, {} workers",
            self.argv.join(" "),
            self.workers
        )
    }
}

impl Drop for CommandExecutor {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.work_dir);
    }
}

/// Runs `attempt` until it does not fail, at most `1 + retries` times; an
/// invalid reward is never retried. A retried failure's reasons are kept.
pub(crate) fn with_retries(retries: u32, mut attempt: impl FnMut() -> JobReport) -> JobReport {
    let mut reasons = Vec::new();
    loop {
        let report = attempt();
        match &report.outcome {
            JobOutcome::Failed { reason } if reasons.len() < retries as usize => {
                reasons.push(reason.clone());
            }
            JobOutcome::Failed { reason } if !reasons.is_empty() => {
                reasons.push(reason.clone());
                return JobReport::failed(
                    format!(
                        "failed {} times: {}",
                        reasons.len(),
                        reasons.join("; then: ")
                    ),
                    report.wall_seconds,
                );
            }
            _ => return report,
        }
    }
}

fn default_command() -> anyhow::Result<Vec<String>> {
    let exe = std::env::current_exe().context("cannot find the derl binary")?;
    Ok(vec![
        exe.to_string_lossy().into_owned(),
        "inner-loop".into(),
        "--job".into(),
        JOB_PLACEHOLDER.into(),
        "--out".into(),
        REPORT_PLACEHOLDER.into(),
    ])
}

/// Checks that a command names a program and both files.
///
/// # Errors
/// An empty command, or one without `{job}` or `{report}`.
pub fn check_command(argv: &[String]) -> anyhow::Result<()> {
    if argv.first().is_none_or(|program| program.trim().is_empty()) {
        bail!("`executor.command` is empty; give the program and its arguments");
    }
    for placeholder in [JOB_PLACEHOLDER, REPORT_PLACEHOLDER] {
        if !argv.iter().any(|arg| arg.contains(placeholder)) {
            bail!(
                "`executor.command` has no `{placeholder}` argument: the command must read the \
                 job from `{JOB_PLACEHOLDER}` and write its report to `{REPORT_PLACEHOLDER}`"
            );
        }
    }
    Ok(())
}

fn stderr_tail(path: &Path) -> String {
    let bytes = std::fs::read(path).unwrap_or_default();
    let start = bytes.len().saturating_sub(STDERR_TAIL_BYTES);
    let text = String::from_utf8_lossy(&bytes[start..]);
    let text = text.trim();
    if text.is_empty() {
        "(nothing)".into()
    } else {
        derl_sandbox::printable::printable(text, STDERR_TAIL_BYTES).into_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_must_name_both_files() {
        let argv = |args: &[&str]| args.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        check_command(&argv(&["train.py", "--job", "{job}", "--out", "{report}"])).unwrap();
        check_command(&argv(&["train.py", "--job={job}", "--out={report}"])).unwrap();
        let error = check_command(&argv(&["train.py", "{job}"]))
            .unwrap_err()
            .to_string();
        assert!(error.contains("{report}"), "{error}");
        assert!(check_command(&[]).is_err());
    }

    #[test]
    fn failures_are_retried_and_invalid_rewards_are_not() {
        let mut calls = 0;
        let report = with_retries(2, || {
            calls += 1;
            JobReport::failed(format!("node lost {calls}"), 0.0)
        });
        assert_eq!(calls, 3);
        assert!(
            matches!(&report.outcome, JobOutcome::Failed { reason }
                if reason.contains("failed 3 times") && reason.contains("node lost 3")),
            "{report:?}"
        );
        let mut calls = 0;
        let report = with_retries(2, || {
            calls += 1;
            JobReport {
                outcome: JobOutcome::Invalid {
                    reason: "invalid program".into(),
                },
                wall_seconds: 0.0,
            }
        });
        assert_eq!(calls, 1);
        assert!(matches!(report.outcome, JobOutcome::Invalid { .. }));
        let mut calls = 0;
        let report = with_retries(0, || {
            calls += 1;
            JobReport::failed("once", 0.0)
        });
        assert_eq!(calls, 1);
        assert!(matches!(&report.outcome, JobOutcome::Failed { reason } if reason == "once"));
    }
}
