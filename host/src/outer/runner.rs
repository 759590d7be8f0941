//! The experiment runner: DERL's bi-level loop, DERL-pop and the baselines
//! under one budget, the final evaluation, and the run directory that makes
//! all of it resumable and reproducible.
//!
//! One *iteration* proposes a group of programs from every search method
//! (see [`super::methods`]), runs all their inner loops as one batch on the
//! executor, scores each program by its inner loop's success on
//! `outer.score_split` (invalid: `outer.invalid_score`), lets each method
//! learn from its group's scores, and then persists everything before the
//! next iteration starts. After the last iteration, fresh policies are
//! trained with each method's best program over `final.seeds` seeds.
//!
//! **Determinism.** Every seed derives from `experiment.seed` (see
//! [`Seeds`]); each method's sampling generator is re-derived per iteration
//! from the method and the iteration; inner loops are pure functions of their
//! jobs. So `metrics.jsonl` and `trajectory.jsonl` are byte-identical for the
//! same configuration on any number of workers, resumed or not. Search seeds
//! are shared by every program (common random numbers), so a program
//! proposed twice, by one method or by two, costs one inner loop (see
//! [`super::cache`]).
//!
//! **Resume.** After each iteration the runner writes, in order: the
//! records (`metrics.jsonl`, `trajectory.jsonl`, `timings.jsonl`), a new
//! checkpoint directory (every method's state and the policies handed over;
//! built under a temporary name and renamed), and `state.json` (iterations
//! done, record counts, checkpoint name). Every file is written atomically.
//! A run killed at any point resumes from the last `state.json`, dropping
//! records beyond its counts.

use super::cache::{Outcome, Plan, row_key};
use super::env_info::EnvInfo;
use super::executor::{Executor, JobOutcome, JobReport};
use super::layout::{
    CHECKPOINTS_DIR, CONFIG_FILE, HandedPolicy, MANIFEST_FILE, METRICS_FILE, Manifest,
    PRETRAIN_FILE, REPORT_FILE, RunState, STATE_FILE, SUMMARY_FILE, TIMINGS_FILE, TRAJECTORY_FILE,
    WORK_DIR, copy_dir, git_commit, handed_policy_dir, move_dir, read_config, read_manifest,
    read_summary,
};
use super::methods::{SearchMethod, SharedStart};
use super::records::{MetricRow, Phase, Summary, TimingRow, TrajectoryRow, read_jsonl};
use super::seeds::Seeds;
use super::summary::{argmax, best_program, score, summarize};
use crate::experiment::{ExperimentConfig, Method, RunDir};
use crate::inner::{InnerConfig, InnerJob, RewardSpec};
use anyhow::{Context, bail};
use derl_sandbox::Sandbox;
use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::time::Instant;

/// Follows a run: stages (an iteration, the final evaluation) and their
/// inner loops. Called from worker threads, hence `Sync`.
pub trait Observer: Sync {
    /// A stage starts with `jobs` inner loops to run (cached ones excluded).
    fn stage_started(&self, _stage: &str, _jobs: usize) {}
    /// An inner loop of `method` finished with `score`.
    fn job_finished(&self, _method: Method, _score: f64) {}
    /// A stage finished; `lines` summarise it (one per method).
    fn stage_finished(&self, _stage: &str, _lines: &[String]) {}
    /// Anything else worth saying.
    fn message(&self, _text: &str) {}
}

/// An observer that says nothing.
pub struct Silent;

impl Observer for Silent {}

/// How to run: where inner loops go and who watches.
pub struct RunOptions<'a> {
    /// Runs the inner loops.
    pub executor: &'a dyn Executor,
    /// Used to inspect the environment (primitives, splits, digest).
    pub sandbox: &'a Sandbox,
    /// Told about progress.
    pub observer: &'a dyn Observer,
    /// Stop (resumably) once this many outer iterations are complete,
    /// before anything else runs (the final evaluation included).
    pub stop_after: Option<u32>,
}

/// How a call to [`start`] or [`resume`] ended.
#[derive(Clone, Debug, PartialEq)]
pub enum RunStatus {
    /// Every iteration and the final evaluation are done.
    Finished(Summary),
    /// Stopped after `completed_iterations` by [`RunOptions::stop_after`].
    Stopped {
        /// Outer iterations complete.
        completed_iterations: u32,
    },
}

/// The run's records in memory.
#[derive(Default)]
struct Records {
    metrics: Vec<MetricRow>,
    trajectory: Vec<TrajectoryRow>,
    timings: Vec<TimingRow>,
}

/// Starts a run of `config` in `dir` (created if needed; it must not hold
/// a run already).
///
/// # Errors
/// An unusable configuration or environment, a directory that already
/// holds a run, an inner loop failing for a reason other than its reward,
/// or a file-system failure. Iterations completed before a failure stay
/// on disk, and [`resume`] continues from them.
pub fn start(
    config: &ExperimentConfig,
    dir: &Path,
    options: &RunOptions<'_>,
) -> anyhow::Result<RunStatus> {
    config.validate()?;
    if dir.join(CONFIG_FILE).exists() || dir.join(STATE_FILE).exists() {
        bail!(
            "{} already holds a run; continue it with `derl run --resume {}` or choose another --out",
            dir.display(),
            dir.display()
        );
    }
    // Check the environment before creating anything.
    let env = EnvInfo::load(config, options.sandbox)?;
    env.check_splits(config)?;
    let text = config.to_toml()?;
    let run = RunDir::create(dir)?;
    run.write(CONFIG_FILE, text.as_bytes())?;
    Runner::new(config.clone(), run, options, env, None)?.run()
}

/// Continues the run in `dir` from its last completed iteration; ends with
/// the same records as an uninterrupted run. A finished run returns its
/// summary.
///
/// # Errors
/// As [`start`], or a directory that is not a run.
pub fn resume(dir: &Path, options: &RunOptions<'_>) -> anyhow::Result<RunStatus> {
    let run = RunDir::open(dir)?;
    let (config, _) = read_config(dir)?;
    let state = RunState::read(&run)?;
    let env = EnvInfo::load(&config, options.sandbox)?;
    env.check_splits(&config)?;
    Runner::new(config, run, options, env, state)?.run()
}

struct Runner<'a> {
    config: ExperimentConfig,
    run: RunDir,
    options: &'a RunOptions<'a>,
    env: EnvInfo,
    seeds: Seeds,
    state: RunState,
    records: Records,
    cache: HashMap<String, Outcome>,
    searches: BTreeMap<Method, Box<dyn SearchMethod>>,
    git_commit: Option<String>,
}

impl<'a> Runner<'a> {
    fn new(
        config: ExperimentConfig,
        run: RunDir,
        options: &'a RunOptions<'a>,
        env: EnvInfo,
        state: Option<RunState>,
    ) -> anyhow::Result<Self> {
        let seeds = Seeds::of(&config);
        let git_commit = match read_manifest(&run) {
            Some(manifest) => manifest.git_commit,
            None => git_commit(),
        };
        let mut runner = Runner {
            config,
            run,
            options,
            env,
            seeds,
            state: RunState::default(),
            records: Records::default(),
            cache: HashMap::new(),
            searches: BTreeMap::new(),
            git_commit,
        };
        match state {
            Some(state) => runner.restore(state)?,
            None => runner.fresh_searches()?,
        }
        Ok(runner)
    }

    fn run(mut self) -> anyhow::Result<RunStatus> {
        self.write_manifest()?;
        if self.state.finished {
            return Ok(RunStatus::Finished(read_summary(self.run.root())?));
        }
        let iterations = if self.config.search_methods().is_empty() {
            0
        } else {
            self.config.outer.iterations
        };
        if self.state.completed_iterations > 0 {
            self.options.observer.message(&format!(
                "resuming after iteration {}/{iterations}",
                self.state.completed_iterations
            ));
        }
        loop {
            if self.options.stop_after == Some(self.state.completed_iterations) {
                return Ok(RunStatus::Stopped {
                    completed_iterations: self.state.completed_iterations,
                });
            }
            if self.state.completed_iterations >= iterations {
                break;
            }
            self.iteration(self.state.completed_iterations, iterations)?;
        }
        let summary = self.final_evaluation()?;
        Ok(RunStatus::Finished(summary))
    }

    /// The searches of a new run; the Meta-Optimizer methods share one cold
    /// start.
    fn fresh_searches(&mut self) -> anyhow::Result<()> {
        let shared = SharedStart::default();
        for method in self.config.search_methods() {
            let search = shared.start(method, &self.config, &self.env, &self.seeds)?;
            self.searches.insert(method, search);
        }
        if let Some(stats) = shared.pretrain_stats() {
            self.run.write_json(PRETRAIN_FILE, stats)?;
        }
        Ok(())
    }

    /// Reloads searches, records and cache from the last saved state.
    fn restore(&mut self, state: RunState) -> anyhow::Result<()> {
        let metrics: Vec<MetricRow> = read_jsonl(&self.run.path(METRICS_FILE))?;
        let trajectory: Vec<TrajectoryRow> = read_jsonl(&self.run.path(TRAJECTORY_FILE))?;
        let timings: Vec<TimingRow> = read_jsonl(&self.run.path(TIMINGS_FILE))?;
        for (name, have, need) in [
            (METRICS_FILE, metrics.len(), state.metrics_rows),
            (TRAJECTORY_FILE, trajectory.len(), state.trajectory_rows),
        ] {
            if have < need {
                bail!(
                    "{name} has {have} rows but the run state counts {need}: the run directory is damaged"
                );
            }
        }
        self.records.metrics = metrics.into_iter().take(state.metrics_rows).collect();
        self.records.trajectory = trajectory.into_iter().take(state.trajectory_rows).collect();
        self.records.timings = timings.into_iter().take(state.timing_rows).collect();
        for row in &self.records.metrics {
            if !row.cached {
                self.cache
                    .insert(row_key(&self.config, row), Outcome::of_row(row));
            }
        }
        // Checkpoints of an iteration that finished writing but not its state,
        // or that the state no longer points to.
        if let Ok(entries) = std::fs::read_dir(self.run.path(CHECKPOINTS_DIR)) {
            for entry in entries.flatten() {
                let name = format!("{CHECKPOINTS_DIR}/{}", entry.file_name().to_string_lossy());
                if Some(&name) != state.checkpoint.as_ref() {
                    let _ = std::fs::remove_dir_all(entry.path());
                }
            }
        }
        match &state.checkpoint {
            Some(checkpoint) => {
                let dir = self.run.path(checkpoint);
                let shared = SharedStart::default();
                for method in self.config.search_methods() {
                    let search = shared.restore(
                        method,
                        &self.config,
                        &self.env,
                        &self.seeds,
                        &dir.join(method.name()),
                    )?;
                    self.searches.insert(method, search);
                }
            }
            None => self.fresh_searches()?,
        }
        self.state = state;
        Ok(())
    }

    fn normalize(&self, program: &str) -> Option<String> {
        let names: Vec<&str> = self.env.primitives.iter().map(String::as_str).collect();
        derl_lang::parse(program, &names)
            .ok()
            .map(|p| p.normalized())
    }

    /// The inner loops of `method`'s group at `iteration`: every program on
    /// every search seed, warm-started from the policy the method handed
    /// over, if it does.
    fn search_plans(
        &mut self,
        method: Method,
        iteration: u32,
        work: &Path,
    ) -> anyhow::Result<Vec<Plan>> {
        let mut rng = self.seeds.method_rng(method, iteration);
        let programs = self
            .searches
            .get_mut(&method)
            .context("a search method was not started")?
            .propose(self.config.outer.group_size, &mut rng)
            .with_context(|| format!("{method} at iteration {iteration}"))?;
        let hand_over = method.hand_over();
        let warm_start = hand_over.and(self.state.handed_over.get(&method).cloned());
        let updates = match (
            &warm_start,
            hand_over.and_then(|h| (h.updates)(&self.config)),
        ) {
            (Some(_), Some(updates)) => updates,
            _ => self.config.inner.updates,
        };
        let mut plans = Vec::new();
        for (index, program) in programs.into_iter().enumerate() {
            for (seed_index, &seed) in self.seeds.search.iter().enumerate() {
                plans.push(Plan {
                    phase: Phase::Search,
                    method,
                    iteration: Some(iteration),
                    index,
                    seed_index: seed_index as u32,
                    seed,
                    normalized: self.normalize(&program),
                    program: program.clone(),
                    updates,
                    warm_start: warm_start.clone(),
                    checkpoint: hand_over.map(|_| {
                        work.join(method.name())
                            .join(format!("p{index}-s{seed_index}"))
                    }),
                    splits: method.search_splits(&self.config),
                });
            }
        }
        Ok(plans)
    }

    /// One outer iteration of every search method.
    fn iteration(&mut self, iteration: u32, iterations: u32) -> anyhow::Result<()> {
        let started = Instant::now();
        let stage = format!("iteration {}/{iterations}", iteration + 1);
        let methods = self.config.search_methods();
        let work = self
            .run
            .path(WORK_DIR)
            .join(format!("iteration-{iteration:04}"));
        // Policies left by an attempt of this iteration that did not finish.
        let _ = std::fs::remove_dir_all(self.run.path(WORK_DIR));
        let mut plans = Vec::new();
        for &method in &methods {
            plans.extend(self.search_plans(method, iteration, &work)?);
        }
        let (rows, sources) = self.execute(&plans, &stage)?;

        // Scores per program, learning, trajectory.
        let mut trajectory = Vec::new();
        let mut lines = Vec::new();
        let mut handed_over = self.state.handed_over.clone();
        let seeds_per_program = self.seeds.search.len();
        let checkpoint_name = format!("{CHECKPOINTS_DIR}/iteration-{iteration:04}");
        let staging = self
            .run
            .path(CHECKPOINTS_DIR)
            .join(format!(".iteration-{iteration:04}.tmp"));
        if staging.exists() {
            std::fs::remove_dir_all(&staging)
                .with_context(|| format!("cannot remove {}", staging.display()))?;
        }
        for &method in &methods {
            let group: Vec<usize> = (0..rows.len())
                .filter(|&i| rows[i].method == method)
                .collect();
            let mut programs = Vec::new();
            let mut scores = Vec::new();
            for chunk in group.chunks(seeds_per_program) {
                programs.push(rows[chunk[0]].program.clone());
                scores.push(chunk.iter().map(|&i| rows[i].score).sum::<f64>() / chunk.len() as f64);
            }
            let best_index = argmax(&scores);
            let best = scores[best_index];
            let mean = scores.iter().sum::<f64>() / scores.len().max(1) as f64;
            let invalid = group
                .chunks(seeds_per_program)
                .filter(|chunk| chunk.iter().any(|&i| !rows[i].valid))
                .count();
            let env_steps = group
                .iter()
                .filter(|&&i| !rows[i].cached)
                .map(|&i| rows[i].env_steps)
                .sum();
            let update = self
                .searches
                .get_mut(&method)
                .context("a search method was not started")?
                .learn(&scores)
                .with_context(|| format!("{method} at iteration {iteration}"))?;
            let warm_start = self.state.handed_over.get(&method).map(|p| p.id.clone());
            if method.hand_over().is_some() {
                let best_row = group[best_index * seeds_per_program];
                let trained = sources[best_row]
                    .filter(|_| rows[best_row].valid)
                    .and_then(|plan| plans[plan].checkpoint.clone());
                let target_name = handed_policy_dir(method);
                let target = staging.join(&target_name);
                let kept = match trained {
                    Some(dir) if dir.is_dir() => {
                        move_dir(&dir, &target)?;
                        Some(format!("{}/iteration-{iteration}", method.name()))
                    }
                    _ => match self.state.handed_over.get(&method) {
                        Some(previous) => {
                            copy_dir(&self.run.path(&previous.path), &target)?;
                            Some(previous.id.clone())
                        }
                        None => None,
                    },
                };
                match kept {
                    Some(id) => handed_over.insert(
                        method,
                        HandedPolicy {
                            id,
                            path: format!("{checkpoint_name}/{target_name}"),
                        },
                    ),
                    None => handed_over.remove(&method),
                };
            }
            lines.push(format!(
                "{method}: best {best:.3} mean {mean:.3} ({})",
                programs[best_index]
            ));
            trajectory.push(TrajectoryRow {
                method,
                iteration,
                best_program: programs[best_index].clone(),
                programs,
                scores,
                best,
                mean,
                invalid,
                env_steps,
                warm_start,
                update,
            });
        }
        for (&method, search) in &self.searches {
            search.save(&staging.join(method.name()))?;
        }
        self.records.metrics.extend(rows);
        self.records.trajectory.extend(trajectory);
        self.records.timings.push(TimingRow {
            stage: format!("iteration {iteration}"),
            method: None,
            index: None,
            seed_index: None,
            wall_seconds: started.elapsed().as_secs_f64(),
        });
        self.write_records()?;
        let checkpoint = self.run.path(&checkpoint_name);
        if checkpoint.exists() {
            std::fs::remove_dir_all(&checkpoint)
                .with_context(|| format!("cannot remove {}", checkpoint.display()))?;
        }
        std::fs::rename(&staging, &checkpoint)
            .with_context(|| format!("cannot create {}", checkpoint.display()))?;
        let previous = self.state.checkpoint.replace(checkpoint_name);
        self.state.completed_iterations = iteration + 1;
        self.state.handed_over = handed_over;
        self.write_state()?;
        if let Some(previous) = previous
            && Some(&previous) != self.state.checkpoint.as_ref()
        {
            let _ = std::fs::remove_dir_all(self.run.path(&previous));
        }
        let _ = std::fs::remove_dir_all(&work);
        self.write_manifest()?;
        self.options.observer.stage_finished(&stage, &lines);
        Ok(())
    }

    /// Fresh policies trained with each method's best program.
    fn final_evaluation(&mut self) -> anyhow::Result<Summary> {
        let started = Instant::now();
        let stage = "final evaluation".to_owned();
        let mut plans = Vec::new();
        for &method in &self.config.experiment.methods {
            let program = best_program(&self.env, &self.records.trajectory, method)?;
            for (seed_index, &seed) in self.seeds.final_eval.iter().enumerate() {
                plans.push(Plan {
                    phase: Phase::Final,
                    method,
                    iteration: None,
                    index: 0,
                    seed_index: seed_index as u32,
                    seed,
                    normalized: self.normalize(&program),
                    program: program.clone(),
                    updates: self.config.inner.updates,
                    warm_start: None,
                    checkpoint: None,
                    splits: self.config.final_eval.splits.clone(),
                });
            }
        }
        let (rows, _) = self.execute(&plans, &stage)?;
        self.records.metrics.extend(rows);
        self.records.timings.push(TimingRow {
            stage: "final".into(),
            method: None,
            index: None,
            seed_index: None,
            wall_seconds: started.elapsed().as_secs_f64(),
        });
        let summary = summarize(
            &self.config,
            &self.env,
            &self.records.metrics,
            &self.records.trajectory,
        )?;
        self.write_records()?;
        self.run.write_json(SUMMARY_FILE, &summary)?;
        self.run.write(REPORT_FILE, summary.markdown().as_bytes())?;
        self.state.finished = true;
        self.write_state()?;
        self.write_manifest()?;
        self.options.observer.stage_finished(&stage, &[]);
        Ok(summary)
    }

    fn job(&self, plan: &Plan) -> InnerJob {
        InnerJob {
            env: EnvInfo::spec(&self.config, Some(&self.env.sha256)),
            reward: RewardSpec::Program(plan.program.clone()),
            inner: InnerConfig {
                updates: plan.updates,
                ..self.config.inner.clone()
            },
            policy: self.config.policy.clone(),
            seed: plan.seed,
            warm_start: plan.warm_start.as_ref().map(|w| self.run.path(&w.path)),
            eval_splits: plan.splits.clone(),
            checkpoint: plan.checkpoint.clone(),
        }
    }

    /// Runs the plans not in the cache (each distinct inner loop once) and
    /// returns a row per plan, with, for each, the plan whose job produced
    /// its result in this batch (itself, or the first identical plan).
    fn execute(
        &mut self,
        plans: &[Plan],
        stage: &str,
    ) -> anyhow::Result<(Vec<MetricRow>, Vec<Option<usize>>)> {
        let keys: Vec<String> = plans.iter().map(Plan::key).collect();
        let mut sources: Vec<Option<usize>> = vec![None; plans.len()];
        let mut first_of: HashMap<&str, usize> = HashMap::new();
        let mut to_run = Vec::new();
        for (index, key) in keys.iter().enumerate() {
            if self.cache.contains_key(key) {
                continue;
            }
            match first_of.get(key.as_str()) {
                Some(&first) => sources[index] = Some(first),
                None => {
                    first_of.insert(key, index);
                    sources[index] = Some(index);
                    to_run.push(index);
                }
            }
        }
        let jobs: Vec<InnerJob> = to_run.iter().map(|&i| self.job(&plans[i])).collect();
        self.options.observer.stage_started(stage, jobs.len());
        let reports: Vec<JobReport> = {
            let (config, observer) = (&self.config, self.options.observer);
            self.options.executor.run(&jobs, &|k, report| {
                let plan = &plans[to_run[k]];
                let score = score(config, &Outcome::of_report(report), &plan.splits);
                observer.job_finished(plan.method, score);
            })
        };
        if reports.len() != jobs.len() {
            bail!(
                "the executor returned {} results for {} jobs",
                reports.len(),
                jobs.len()
            );
        }
        let failures: Vec<String> = reports
            .iter()
            .zip(&to_run)
            .filter_map(|(report, &i)| match &report.outcome {
                JobOutcome::Failed { reason } => Some(format!(
                    "{} `{}` (seed {}): {reason}",
                    plans[i].method, plans[i].program, plans[i].seed
                )),
                _ => None,
            })
            .collect();
        if !failures.is_empty() {
            bail!(
                "{stage}: {} inner loop(s) failed for reasons other than their reward; \
                 completed iterations are saved and `derl run --resume` retries:\n  {}",
                failures.len(),
                failures.join("\n  ")
            );
        }
        let mut fresh = vec![false; plans.len()];
        for (report, &i) in reports.iter().zip(&to_run) {
            self.cache
                .insert(keys[i].clone(), Outcome::of_report(report));
            fresh[i] = true;
            self.records.timings.push(TimingRow {
                stage: match plans[i].iteration {
                    Some(iteration) => format!("iteration {iteration}"),
                    None => "final".into(),
                },
                method: Some(plans[i].method),
                index: Some(plans[i].index),
                seed_index: Some(plans[i].seed_index),
                wall_seconds: report.wall_seconds,
            });
        }
        let rows = plans
            .iter()
            .zip(&keys)
            .enumerate()
            .map(|(i, (plan, key))| {
                let outcome = self.cache[key].clone();
                MetricRow {
                    phase: plan.phase,
                    method: plan.method,
                    iteration: plan.iteration,
                    index: plan.index,
                    seed_index: plan.seed_index,
                    seed: plan.seed,
                    program: plan.program.clone(),
                    normalized: plan.normalized.clone(),
                    warm_start: plan.warm_start.as_ref().map(|w| w.id.clone()),
                    updates: plan.updates,
                    valid: outcome.valid,
                    score: score(&self.config, &outcome, &plan.splits),
                    evaluation: outcome.evaluation,
                    env_steps: outcome.env_steps,
                    reward_sha256: outcome.reward_sha256,
                    error: outcome.error,
                    cached: !fresh[i],
                }
            })
            .collect();
        Ok((rows, sources))
    }

    fn write_records(&self) -> anyhow::Result<()> {
        self.run.write_jsonl(METRICS_FILE, &self.records.metrics)?;
        self.run
            .write_jsonl(TRAJECTORY_FILE, &self.records.trajectory)?;
        self.run.write_jsonl(TIMINGS_FILE, &self.records.timings)
    }

    fn write_state(&mut self) -> anyhow::Result<()> {
        self.state.metrics_rows = self.records.metrics.len();
        self.state.trajectory_rows = self.records.trajectory.len();
        self.state.timing_rows = self.records.timings.len();
        self.run.write_json(STATE_FILE, &self.state)
    }

    fn write_manifest(&self) -> anyhow::Result<()> {
        let config_text = std::fs::read(self.run.path(CONFIG_FILE))
            .with_context(|| format!("cannot read {}", self.run.path(CONFIG_FILE).display()))?;
        let rewards = self
            .records
            .metrics
            .iter()
            .filter_map(|row| {
                Some((
                    row.normalized
                        .clone()
                        .unwrap_or_else(|| row.program.clone()),
                    row.reward_sha256.clone()?,
                ))
            })
            .collect();
        let manifest = Manifest {
            derl_version: env!("CARGO_PKG_VERSION").to_owned(),
            git_commit: self.git_commit.clone(),
            config_sha256: derl_sandbox::Digest::of(&config_text).to_hex(),
            environment: self.env.clone(),
            rewards,
            seeds: self.seeds.clone(),
            executor: Some(self.options.executor.describe()),
        };
        self.run.write_json(MANIFEST_FILE, &manifest)
    }
}
