//! `derl run`, `derl demo` and `derl report`: DERL experiments from the
//! command line.

use crate::experiment::{ExperimentConfig, Method};
use crate::outer::{Observer, RunOptions, RunStatus, Summary, read_config, resume, start};
use anyhow::Context;
use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Instant;

/// Arguments of `derl run`.
#[derive(Args, Debug)]
pub struct RunArgs {
    /// The experiment configuration (TOML; see docs/experiments.md).
    #[arg(required_unless_present = "resume", conflicts_with = "resume")]
    config: Option<PathBuf>,
    /// The run directory (default: runs/NAME, or runs/NAME-2, ... if taken).
    #[arg(long, conflicts_with = "resume")]
    out: Option<PathBuf>,
    /// Continue the interrupted run in this directory.
    #[arg(long, value_name = "DIR")]
    resume: Option<PathBuf>,
    /// Inner loops run at once (default: `experiment.workers`, 0 = one per core).
    #[arg(long)]
    workers: Option<usize>,
    /// Where inner loops run (default: `executor.kind`, `local`); results do
    /// not depend on it.
    #[arg(long, value_name = "KIND")]
    executor: Option<String>,
}

/// Arguments of `derl demo`.
#[derive(Args, Debug)]
pub struct DemoArgs {
    /// The run directory (default: runs/demo, or runs/demo-2, ... if taken).
    #[arg(long)]
    out: Option<PathBuf>,
    /// Inner loops run at once (default: one per core).
    #[arg(long)]
    workers: Option<usize>,
}

/// Arguments of `derl report`.
#[derive(Args, Debug)]
pub struct ReportArgs {
    /// A run directory written by `derl run` or `derl demo`.
    dir: PathBuf,
}

pub(crate) fn run(args: RunArgs) -> anyhow::Result<()> {
    if let Some(dir) = &args.resume {
        let (config, _) = read_config(dir)?;
        eprintln!("derl: resuming {}", dir.display());
        return execute(&config, dir, &args, true);
    }
    let path = args
        .config
        .as_deref()
        .context("give a configuration file or --resume DIR")?;
    let text =
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    let config = ExperimentConfig::from_toml(&text, &path.display().to_string())?;
    let dir = args
        .out
        .clone()
        .unwrap_or_else(|| free_dir(&config.experiment.name));
    execute(&config, &dir, &args, false)
}

pub(crate) fn demo(args: DemoArgs) -> anyhow::Result<()> {
    let config = ExperimentConfig::demo()?;
    let dir = args.out.clone().unwrap_or_else(|| free_dir("demo"));
    eprintln!(
        "derl demo: {} on `{}`, {} iterations of {} programs, {} fresh policies per method",
        config
            .experiment
            .methods
            .iter()
            .map(|m| m.name())
            .collect::<Vec<_>>()
            .join(" vs "),
        config.env.component,
        config.outer.iterations,
        config.outer.group_size,
        config.final_eval.seeds
    );
    let run = RunArgs {
        config: None,
        out: None,
        resume: None,
        workers: args.workers,
        executor: None,
    };
    execute(&config, &dir, &run, false)
}

pub(crate) fn report(args: ReportArgs) -> anyhow::Result<()> {
    let records = crate::report::RunRecords::read(&args.dir)?;
    let files = crate::report::write(&records)?;
    let mut text = match &records.summary {
        Some(summary) => summary.table(),
        None => {
            let mut text = format!(
                "{} is unfinished ({} of {} iterations); `derl run --resume {}` finishes it.\n",
                args.dir.display(),
                records.completed_iterations(),
                records.planned_iterations(),
                args.dir.display()
            );
            let methods = crate::report::series::trajectories(
                &records.trajectory,
                &records.config.experiment.methods,
            );
            for row in methods.iter().flat_map(|m| &m.rows) {
                text.push_str(&format!(
                    "iteration {:>3}  {:<12} best {:.3}  mean {:.3}  {}\n",
                    row.iteration + 1,
                    row.method.name(),
                    row.best,
                    row.mean,
                    row.best_program
                ));
            }
            text
        }
    };
    text.push_str(&report_paths(&files));
    out(&text);
    Ok(())
}

/// The files of a report, one a line, the page first.
fn report_paths(files: &crate::report::ReportFiles) -> String {
    let mut text = String::from("\nreport:\n");
    for path in files.all() {
        text.push_str(&format!("  {}\n", path.display()));
    }
    text
}

fn execute(
    config: &ExperimentConfig,
    dir: &Path,
    args: &RunArgs,
    resuming: bool,
) -> anyhow::Result<()> {
    let sandbox = super::sandbox()?;
    let kind = args.executor.as_deref().unwrap_or(&config.executor.kind);
    let executor = (crate::outer::executor::executor_kind(kind)
        .map_err(|error| anyhow::anyhow!("--executor {error}"))?
        .build)(
        &config.executor,
        &sandbox,
        args.workers.unwrap_or(config.experiment.workers),
    )?;
    let progress = Progress::default();
    let options = RunOptions {
        executor: executor.as_ref(),
        sandbox: &sandbox,
        observer: &progress,
        stop_after: None,
    };
    eprintln!(
        "derl: run directory {} ({} executor, {} workers)",
        dir.display(),
        kind,
        executor.parallelism()
    );
    let started = Instant::now();
    let status = if resuming {
        resume(dir, &options)
    } else {
        start(config, dir, &options)
    };
    progress.clear();
    match status? {
        RunStatus::Finished(summary) => {
            print_summary(&summary, dir, started);
            // The run is complete on disk whatever happens here: a report
            // that cannot be drawn is a warning, and `derl report` retries.
            match crate::report::write_report(dir) {
                Ok(files) => out(&report_paths(&files)),
                Err(error) => eprintln!("derl: warning: no report written: {error:#}"),
            }
            Ok(())
        }
        RunStatus::Stopped {
            completed_iterations,
        } => {
            eprintln!("derl: stopped after {completed_iterations} iterations");
            Ok(())
        }
    }
}

fn print_summary(summary: &Summary, dir: &Path, started: Instant) {
    let seconds = started.elapsed().as_secs();
    out(&format!(
        "\n{}\nwall time {}m {:02}s; run directory {} (`derl report {}`)\n",
        summary.table(),
        seconds / 60,
        seconds % 60,
        dir.display(),
        dir.display()
    ));
}

/// Writes to standard output, ignoring a closed pipe (`derl report DIR | head`).
fn out(text: &str) {
    use std::io::Write;
    let _ = std::io::stdout().lock().write_all(text.as_bytes());
}

/// `runs/NAME`, or the first of `runs/NAME-2`, `runs/NAME-3`, ... that
/// holds no run.
fn free_dir(name: &str) -> PathBuf {
    let taken = |dir: &Path| dir.join(crate::outer::layout::CONFIG_FILE).exists();
    let base = PathBuf::from("runs").join(name);
    if !taken(&base) {
        return base;
    }
    (2..)
        .map(|n| PathBuf::from("runs").join(format!("{name}-{n}")))
        .find(|dir| !taken(dir))
        .unwrap_or(base)
}

/// A bar per stage and a live line of each method's best and mean score.
#[derive(Default)]
struct Progress {
    bar: Mutex<Option<ProgressBar>>,
    scores: Mutex<BTreeMap<Method, (f64, f64, usize)>>,
}

impl Progress {
    fn clear(&self) {
        if let Ok(mut bar) = self.bar.lock()
            && let Some(bar) = bar.take()
        {
            bar.finish_and_clear();
        }
    }

    fn live_line(&self) -> String {
        let Ok(scores) = self.scores.lock() else {
            return String::new();
        };
        scores
            .iter()
            .map(|(method, (best, sum, n))| {
                format!("{method} best {best:.2} mean {:.2}", sum / *n as f64)
            })
            .collect::<Vec<_>>()
            .join(" | ")
    }
}

impl Observer for Progress {
    fn stage_started(&self, stage: &str, jobs: usize) {
        self.clear();
        if let Ok(mut scores) = self.scores.lock() {
            scores.clear();
        }
        let bar = ProgressBar::new(jobs as u64);
        bar.set_style(
            ProgressStyle::with_template(
                "{prefix:>18} [{bar:24}] {pos}/{len} inner loops {elapsed_precise}  {msg}",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
        );
        bar.set_prefix(stage.to_owned());
        bar.enable_steady_tick(std::time::Duration::from_millis(500));
        if let Ok(mut slot) = self.bar.lock() {
            *slot = Some(bar);
        }
    }

    fn job_finished(&self, method: Method, score: f64) {
        if let Ok(mut scores) = self.scores.lock() {
            let entry = scores.entry(method).or_insert((f64::NEG_INFINITY, 0.0, 0));
            entry.0 = entry.0.max(score);
            entry.1 += score;
            entry.2 += 1;
        }
        let line = self.live_line();
        if let Ok(bar) = self.bar.lock()
            && let Some(bar) = bar.as_ref()
        {
            bar.inc(1);
            bar.set_message(line);
        }
    }

    fn stage_finished(&self, stage: &str, lines: &[String]) {
        self.clear();
        for line in lines {
            eprintln!("{stage:>18}  {line}");
        }
    }

    fn message(&self, text: &str) {
        eprintln!("derl: {text}");
    }
}
