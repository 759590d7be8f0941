//! `derl train`, `derl eval` and `derl inner-loop`: one inner loop from the
//! command line.

use crate::experiment::{RunDir, parse_over_defaults};
use crate::inner::{
    EnvPool, EnvSpec, Evaluation, InnerConfig, InnerJob, InnerResult, PolicyConfig, UpdateRecord,
    run_job,
};
use crate::outer::{JobOutcome, JobReport};
use crate::plugin::EnvLimits;
use anyhow::{Context, bail};
use clap::Args;
use derl_env_api::Split;
use derl_learn::GrpoConfig;
use indicatif::{ProgressBar, ProgressStyle};
use serde::{Deserialize, Serialize};
use std::path::PathBuf;
use std::process::ExitCode;

/// Arguments of `derl train`.
#[derive(Args, Debug)]
pub struct TrainArgs {
    /// The environment: a bundled name (household, lab, arith, corridor) or a
    /// component file.
    #[arg(long)]
    env: String,
    /// The reward: a Meta-Reward program ("success + 0.5*progress") or a
    /// reward component file (.wasm). May start with `-` (`--reward "-0.1*g3 + g1"`).
    #[arg(long, allow_hyphen_values = true)]
    reward: String,
    /// A sandbox limit of a reward component's calls, `KEY=VALUE` (repeatable;
    /// a first `--reward-limit python` starts from the limits for Python rewards).
    #[arg(long = "reward-limit", value_name = "KEY=VALUE")]
    reward_limits: Vec<String>,
    /// GRPO updates (default 150, or the config's `inner.updates`).
    #[arg(long)]
    steps: Option<u32>,
    /// The seed of everything random.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Output directory (default runs/train-ENV-SEED).
    #[arg(long)]
    out: Option<PathBuf>,
    /// Environment setting key=value (repeatable).
    #[arg(long = "set", value_name = "KEY=VALUE")]
    settings: Vec<String>,
    /// A TOML file of `[inner]`, `[policy]` and `[env.limits]` tables, as in
    /// an experiment config (docs/experiments.md); the flags below override it.
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// A policy option, `KEY=VALUE` with a dotted key of the `[policy]` table
    /// (`model.action_context=false`, `grpo.learning_rate=0.01`, `kind=action`);
    /// repeatable, applied after `--config`.
    #[arg(long = "policy", value_name = "KEY=VALUE")]
    policy: Vec<String>,
    /// Episodes evaluated per split at the end (default 200, or the config's
    /// `inner.eval_episodes`).
    #[arg(long)]
    eval_episodes: Option<u32>,
    /// Measure validation success every N updates during training (0: only at the end);
    /// shown beside the progress bar and kept in updates.jsonl.
    #[arg(long)]
    eval_every: Option<u32>,
    /// Tasks per update (default 16, or the config's `inner.tasks_per_update`).
    #[arg(long)]
    tasks: Option<u32>,
    /// Episodes per task, the GRPO group size (default 8, or the config's
    /// `inner.group_size`).
    #[arg(long)]
    group_size: Option<u32>,
    /// Threads for rollouts and GRPO (default: the config's `policy.grpo.threads`,
    /// else the machine's cores, at most 8). The numbers do not depend on it,
    /// only the wall time.
    #[arg(long)]
    threads: Option<usize>,
    /// Continue from this checkpoint's policy.
    #[arg(long)]
    warm_start: Option<PathBuf>,
}

/// Arguments of `derl eval`.
#[derive(Args, Debug)]
pub struct EvalArgs {
    /// A checkpoint directory written by `derl train` (its `policy/`).
    #[arg(long)]
    checkpoint: PathBuf,
    /// Splits to evaluate (repeatable; default validation, test and ood).
    #[arg(long, value_parser = parse_split)]
    split: Vec<Split>,
    /// Episodes per split.
    #[arg(long, default_value_t = 200)]
    episodes: u32,
    /// Seed of the evaluation tasks.
    #[arg(long, default_value_t = 0)]
    seed: u64,
}

/// Arguments of `derl inner-loop`.
#[derive(Args, Debug)]
pub struct InnerLoopArgs {
    /// A job file (JSON): environment, reward, budget, seed; `-` reads it
    /// from standard input.
    #[arg(long, allow_hyphen_values = true)]
    job: PathBuf,
    /// Write the report here (JSON, schema `derl.inner-loop.report/1`: the
    /// result, or why the reward was invalid, or why the inner loop failed)
    /// instead of standard output. Exit code 0: finished; 3: invalid reward;
    /// 4: failed.
    #[arg(long)]
    out: Option<PathBuf>,
    /// Append every update's record to this file (JSON lines) as training goes.
    #[arg(long)]
    updates: Option<PathBuf>,
    /// Print a line per update to standard error: reward, success, validation when
    /// measured, seconds since the start.
    #[arg(long)]
    progress: bool,
}

const ALL_EVAL_SPLITS: [Split; 3] = [Split::Validation, Split::Test, Split::Ood];

pub(crate) fn train(args: TrainArgs) -> anyhow::Result<()> {
    let out = args.out.clone().unwrap_or_else(|| {
        PathBuf::from(format!("runs/train-{}-{}", env_label(&args.env), args.seed))
    });
    let TrainConfig { inner, policy, env } = train_options(&args)?;
    let reward = super::reward::reward_spec(&args.reward, &args.reward_limits, "--reward-limit")?;
    let settings = super::env_arg::parse_settings(&args.settings)?;
    let run = RunDir::create(&out)?;
    let job = InnerJob {
        env: EnvSpec {
            component: args.env.clone(),
            settings,
            sha256: None,
            limits: env.limits,
        },
        reward,
        inner,
        policy,
        seed: args.seed,
        warm_start: args.warm_start.map(|dir| policy_dir(&dir)),
        eval_splits: ALL_EVAL_SPLITS.to_vec(),
        checkpoint: Some(run.path("policy")),
    };
    run.write_json("job.json", &job)?;
    let bar = progress_bar(job.inner.updates);
    let mut log = Vec::new();
    let started = std::time::Instant::now();
    let result = run_job(&super::sandbox()?, &job, |record: &UpdateRecord| {
        bar.set_position(u64::from(record.update + 1));
        bar.set_message(format!(
            "reward {:+.3}  success {:.0}%{}",
            record.mean_reward,
            100.0 * record.success,
            validation_text(record, 0)
        ));
        log.push(record.clone());
    });
    bar.finish_and_clear();
    run.write_jsonl("updates.jsonl", &log)?;
    let result = result.context("training stopped")?;
    run.write_json("result.json", &result)?;
    println!("{}", result_table(&result));
    println!(
        "trained {} updates in {:.1} s; policy saved in {}",
        log.len(),
        started.elapsed().as_secs_f64(),
        run.path("policy").display()
    );
    Ok(())
}

/// `derl train`'s inner-loop budget, policy and environment limits: the
/// defaults (with [`default_threads`]), then `--config`, then `--policy`,
/// then the flags.
fn train_options(args: &TrainArgs) -> anyhow::Result<TrainConfig> {
    let defaults = TrainConfig {
        inner: InnerConfig::default(),
        policy: PolicyConfig {
            grpo: GrpoConfig {
                threads: default_threads(),
                ..PolicyConfig::default().grpo
            },
            ..PolicyConfig::default()
        },
        env: TrainEnv::default(),
    };
    let TrainConfig {
        mut inner,
        policy,
        env,
    } = match &args.config {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("cannot read {}", path.display()))?;
            parse_over_defaults(&text, &path.display().to_string(), |_| defaults)?
        }
        None => defaults,
    };
    let mut policy = super::overrides::apply(&policy, &args.policy, "--policy")?;
    for (field, value) in [
        (&mut inner.updates, args.steps),
        (&mut inner.tasks_per_update, args.tasks),
        (&mut inner.group_size, args.group_size),
        (&mut inner.eval_episodes, args.eval_episodes),
        (&mut inner.eval_every, args.eval_every),
    ] {
        if let Some(value) = value {
            *field = value;
        }
    }
    if let Some(threads) = args.threads {
        policy.grpo.threads = threads;
    }
    crate::inner::policy_kind(&policy.kind).context("--policy kind")?;
    Ok(TrainConfig { inner, policy, env })
}

/// `derl train --config FILE`: the `[inner]` and `[policy]` tables of an
/// experiment config, and the environment's `[env.limits]`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct TrainConfig {
    #[serde(default)]
    inner: InnerConfig,
    #[serde(default)]
    policy: PolicyConfig,
    #[serde(default)]
    env: TrainEnv,
}

/// `[env]` of `derl train --config`: only the limits (the environment
/// itself is `--env`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct TrainEnv {
    #[serde(default)]
    limits: EnvLimits,
}

pub(crate) fn eval(args: EvalArgs) -> anyhow::Result<()> {
    let dir = policy_dir(&args.checkpoint);
    let (policy_meta, job) = read_checkpoint_job(&dir)?;
    let sandbox = super::sandbox()?;
    let env = job.env.load(&sandbox)?;
    if let Some(expected) = policy_meta.get("env_sha256").and_then(|v| v.as_str())
        && env.digest().to_hex() != expected
    {
        eprintln!(
            "warning: the environment's sha256 differs from the one the policy was trained on"
        );
    }
    let features = env.info().feature_count as usize;
    let mut learner = crate::inner::policy_kind(&job.policy.kind)?.warm_start(
        &job.policy,
        &dir,
        features,
        job.seed,
    )?;
    let splits = if args.split.is_empty() {
        ALL_EVAL_SPLITS.to_vec()
    } else {
        args.split.clone()
    };
    let mut pool = EnvPool::new(env, args.seed);
    let (evaluation, steps) = learner.evaluate(&mut pool, &splits, args.episodes, args.seed)?;
    println!("{}", split_table(&evaluation));
    println!(
        "{} episodes per split, {steps} environment steps",
        args.episodes
    );
    Ok(())
}

/// `derl inner-loop`: one job, reported for every outcome (see
/// `crate::outer::executor::REPORT_SCHEMA`); the exit code says which.
pub(crate) fn inner_loop(args: InnerLoopArgs) -> anyhow::Result<ExitCode> {
    let started = std::time::Instant::now();
    let mut log = args.updates.as_deref().map(UpdateLog::create).transpose()?;
    let report = match read_job(&args.job) {
        Ok(job) => {
            let sandbox = super::sandbox()?;
            crate::outer::executor::run_one_observed(&sandbox, &job, |record: &UpdateRecord| {
                if args.progress {
                    eprintln!(
                        "update {}/{}  reward {:+.3}  success {:.1}%{}  {:.1} s",
                        record.update + 1,
                        job.inner.updates,
                        record.mean_reward,
                        100.0 * record.success,
                        validation_text(record, 1),
                        started.elapsed().as_secs_f64()
                    );
                }
                if let Some(log) = &mut log {
                    log.append(record);
                }
            })
        }
        Err(error) => JobReport::failed(format!("{error:#}"), started.elapsed().as_secs_f64()),
    };
    let json = report.to_file_json()?;
    match &args.out {
        Some(path) => crate::experiment::write_atomic(path, json.as_bytes())?,
        None => println!("{json}"),
    }
    match &report.outcome {
        JobOutcome::Finished(_) => {}
        JobOutcome::Invalid { reason } => eprintln!("derl: invalid reward: {reason}"),
        JobOutcome::Failed { reason } => eprintln!("derl: the inner loop failed: {reason}"),
    }
    if let Some(log) = log {
        log.finish()?;
    }
    Ok(ExitCode::from(report.exit_code()))
}

/// The job in `path`, or on standard input for `-`.
fn read_job(path: &std::path::Path) -> anyhow::Result<InnerJob> {
    let text = if path.as_os_str() == "-" {
        std::io::read_to_string(std::io::stdin())
            .context("cannot read the job from standard input")?
    } else {
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?
    };
    serde_json::from_str(&text)
        .with_context(|| format!("{} is not a valid inner-loop job", path.display()))
}

/// `  validation S% / G%` (sampled, greedy) when the update measured it, with
/// `decimals` decimals; empty otherwise.
fn validation_text(record: &UpdateRecord, decimals: usize) -> String {
    record
        .validation
        .map(|(greedy, sampled)| {
            format!(
                "  validation {:.decimals$}% / {:.decimals$}%",
                100.0 * sampled,
                100.0 * greedy
            )
        })
        .unwrap_or_default()
}

/// `derl inner-loop --updates FILE`: every update's record appended as a JSON
/// line as training goes; the first write failure is kept for the end, so
/// training (and its result) goes on.
struct UpdateLog {
    path: PathBuf,
    file: std::io::BufWriter<std::fs::File>,
    error: Option<std::io::Error>,
}

impl UpdateLog {
    fn create(path: &std::path::Path) -> anyhow::Result<UpdateLog> {
        let file = std::fs::File::create(path)
            .with_context(|| format!("cannot create {}", path.display()))?;
        Ok(UpdateLog {
            path: path.to_owned(),
            file: std::io::BufWriter::new(file),
            error: None,
        })
    }

    fn append(&mut self, record: &UpdateRecord) {
        use std::io::Write;
        if self.error.is_none() {
            let line = serde_json::to_string(record).map_err(std::io::Error::other);
            let written = line
                .and_then(|line| writeln!(self.file, "{line}").and_then(|()| self.file.flush()));
            self.error = written.err();
        }
    }

    /// The first write failure, if any.
    fn finish(self) -> anyhow::Result<()> {
        match self.error {
            Some(error) => bail!(
                "the result is written, but not every update record: cannot write {}: {error}",
                self.path.display()
            ),
            None => Ok(()),
        }
    }
}

/// The machine's cores, at most 8 (the inner loop's batches are too small to
/// use more).
fn default_threads() -> usize {
    std::thread::available_parallelism().map_or(1, |cores| cores.get().min(8))
}

/// The success table printed at the end of training.
fn result_table(result: &InnerResult) -> String {
    format!(
        "reward: {}\n{}",
        result.reward,
        split_table(&result.evaluation)
    )
}

/// Greedy and sampled success per split, one line each.
fn split_table(evaluation: &Evaluation) -> String {
    let mut text = format!("{:<12} {:>8} {:>8}", "split", "greedy", "sampled");
    for (split, greedy, sampled) in &evaluation.splits {
        text += &format!(
            "\n{:<12} {:>7.1}% {:>7.1}%",
            split.name(),
            100.0 * greedy,
            100.0 * sampled
        );
    }
    text
}

fn progress_bar(steps: u32) -> ProgressBar {
    let bar = ProgressBar::new(u64::from(steps));
    bar.set_style(
        ProgressStyle::with_template("{bar:30} {pos}/{len} updates  {msg}  [{elapsed}]")
            .expect("a valid template"),
    );
    bar
}

/// A checkpoint argument may name the run directory or its `policy/`.
fn policy_dir(dir: &std::path::Path) -> PathBuf {
    let nested = dir.join("policy");
    if nested.is_dir() {
        nested
    } else {
        dir.to_path_buf()
    }
}

fn read_checkpoint_job(dir: &std::path::Path) -> anyhow::Result<(serde_json::Value, InnerJob)> {
    let metadata = derl_learn::checkpoint::read_metadata(dir)
        .with_context(|| format!("{} is not a checkpoint", dir.display()))?;
    let job = metadata.user.get("job").cloned().with_context(|| {
        format!(
            "the checkpoint in {} does not record its job",
            dir.display()
        )
    })?;
    let job: InnerJob = serde_json::from_value(job).with_context(|| {
        format!(
            "the checkpoint in {} records an unreadable job",
            dir.display()
        )
    })?;
    Ok((metadata.user, job))
}

fn env_label(spec: &str) -> String {
    std::path::Path::new(spec)
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "env".into())
}

fn parse_split(name: &str) -> Result<Split, String> {
    Split::from_name(name).ok_or_else(|| {
        let names: Vec<&str> = Split::ALL.iter().map(|s| s.name()).collect();
        format!(
            "unknown split `{name}`; expected one of {}",
            names.join(", ")
        )
    })
}
