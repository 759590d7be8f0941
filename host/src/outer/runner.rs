//! The experiment runner: DERL's bi-level loop, DERL-pop and the baselines
//! under one budget, the final evaluation, and the run directory that makes
//! all of it resumable and reproducible.
//!
//! One *iteration* proposes a group of programs from every search method,
//! runs all their inner loops as one batch on the executor, scores each
//! program by its inner loop's success on `outer.score_split` (invalid:
//! `outer.invalid_score`), lets each method learn from its group's scores
//! (GRPO for the Meta-Optimizer, `tell` for evolution), and then persists
//! everything before the next iteration starts. After the last iteration,
//! fresh policies are trained with each method's best program over
//! `final.seeds` seeds.
//!
//! **Determinism.** Every seed derives from `experiment.seed` (see
//! [`Seeds`]); each method's sampling generator is re-derived per iteration
//! from the method and the iteration; inner loops are pure functions of their
//! jobs. So `metrics.jsonl` and `trajectory.jsonl` are byte-identical for the
//! same configuration on any number of workers, resumed or not.
//!
//! **Cache.** Within a run, an inner loop identical to one already run (same
//! normalized program, seed, update budget, warm start and evaluated splits)
//! is not run again: its row is copied with `cached: true`, and its steps
//! are not counted as spent. Search seeds are shared by every program
//! (common random numbers), so a program proposed twice, by one method or by
//! two, costs one inner loop. The cache is rebuilt from `metrics.jsonl` on
//! resume, so a resumed run hits it exactly as an uninterrupted one.
//!
//! **Resume.** After each iteration the runner writes, in order: the
//! records (`metrics.jsonl`, `trajectory.jsonl`, `timings.jsonl`), a new
//! checkpoint directory (every generator's weights, optimiser state and
//! population, and DERL-pop's best policy; built under a temporary name and
//! renamed), and `state.json` (iterations done, record counts, checkpoint
//! name). Every file is written atomically. A run killed at any point resumes
//! from the last `state.json`, dropping records beyond its counts.

use super::executor::{Executor, JobOutcome, JobReport};
use super::generator::Generator;
use super::records::{
    MethodSummary, MetricRow, Phase, SplitResult, Summary, TimingRow, TrajectoryRow, mean_std,
    read_jsonl,
};
use crate::experiment::{ExperimentConfig, Method, RunDir, ScoreMode, write_atomic};
use crate::inner::train::derive_seed;
use crate::inner::{EnvSpec, Evaluation, InnerConfig, InnerJob, RewardSpec};
use anyhow::{Context, bail};
use derl_env_api::Split;
use derl_learn::GrpoConfig;
use derl_meta::{Evolution, Grammar, MetaOptimizer, select_seeds};
use derl_sandbox::Sandbox;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::time::Instant;

/// The resolved configuration in a run directory.
pub const CONFIG_FILE: &str = "config.toml";
/// Component hashes, version, commit and seeds.
pub const MANIFEST_FILE: &str = "manifest.json";
/// One line per inner loop.
pub const METRICS_FILE: &str = "metrics.jsonl";
/// One line per method and outer iteration.
pub const TRAJECTORY_FILE: &str = "trajectory.jsonl";
/// Wall times, kept out of the metrics.
pub const TIMINGS_FILE: &str = "timings.jsonl";
/// Where the run stands (for resume).
pub const STATE_FILE: &str = "state.json";
/// The final comparison, as JSON.
pub const SUMMARY_FILE: &str = "summary.json";
/// The final comparison, as markdown.
pub const REPORT_FILE: &str = "report.md";
/// The Meta-Optimizer's cold start statistics.
pub const PRETRAIN_FILE: &str = "pretrain.json";
const CHECKPOINTS_DIR: &str = "checkpoints";
const WORK_DIR: &str = "work";
const POP_POLICY_DIR: &str = "derl_pop-policy";

/// Follows a run: stages (an iteration, the final evaluation) and their
/// inner loops. Called from worker threads, hence `Sync`.
pub trait Observer: Sync {
    /// A stage starts with `jobs` inner loops to run (cached ones excluded).
    fn stage_started(&self, _stage: &str, _jobs: usize) {}
    /// An inner loop of `method` finished with `score`.
    fn job_finished(&self, _method: Method, _score: f64) {}
    /// A stage ended; `lines` summarise it (per method: best and mean).
    fn stage_finished(&self, _stage: &str, _lines: &[String]) {}
    /// A one-off message (resuming, stopping).
    fn message(&self, _text: &str) {}
}

/// An observer that ignores everything.
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

/// Where a run stands (`state.json`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct RunState {
    completed_iterations: u32,
    finished: bool,
    metrics_rows: usize,
    trajectory_rows: usize,
    timing_rows: usize,
    /// Checkpoint directory (relative to the run) after `completed_iterations`.
    checkpoint: Option<String>,
    /// DERL-pop's warm start for the next iteration.
    pop_policy: Option<PopPolicy>,
}

/// The policy DERL-pop's next inner loops start from.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct PopPolicy {
    /// Which iteration's best inner loop trained it (`derl_pop/iteration-K`).
    id: String,
    /// Its directory, relative to the run.
    path: String,
}

/// Every seed of a run, derived from `experiment.seed`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Seeds {
    /// `experiment.seed`.
    pub experiment: u64,
    /// Initial weights of the Meta-Optimizer.
    pub meta_init: u64,
    /// Order of the cold-start minibatches.
    pub meta_pretrain: u64,
    /// Inner-loop seeds of the search, shared by every program.
    pub search: Vec<u64>,
    /// Inner-loop seeds of the final evaluation.
    pub final_eval: Vec<u64>,
}

impl Seeds {
    /// The seeds of `config`.
    pub fn of(config: &ExperimentConfig) -> Seeds {
        let seed = config.experiment.seed;
        let search = derive_seed(seed, 0x7365_6172_6368);
        let final_eval = derive_seed(seed, 0x0066_696e_616c);
        Seeds {
            experiment: seed,
            meta_init: derive_seed(seed, 0x6d65_7461),
            meta_pretrain: derive_seed(seed, 0x7072_6574),
            search: (0..u64::from(config.outer.search_seeds))
                .map(|j| derive_seed(search, j))
                .collect(),
            final_eval: (0..u64::from(config.final_eval.seeds))
                .map(|j| derive_seed(final_eval, j))
                .collect(),
        }
    }

    /// The sampling generator of `method` at `iteration`.
    fn method_rng(&self, method: Method, iteration: u32) -> ChaCha8Rng {
        let stream = derive_seed(self.experiment, 0x100 + method.stream());
        ChaCha8Rng::seed_from_u64(derive_seed(stream, u64::from(iteration)))
    }

    /// The GRPO minibatch seed of `method`'s Meta-Optimizer.
    fn grpo(&self, method: Method) -> u64 {
        derive_seed(self.experiment, 0x200 + method.stream())
    }
}

/// What the run knows about its environment.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EnvInfo {
    /// `env.component`.
    pub component: String,
    /// The component's sha256 (every job is pinned to it).
    pub sha256: String,
    /// Primitive names, `g1..gN` in order.
    pub primitives: Vec<String>,
    /// Splits the environment has.
    pub splits: Vec<Split>,
}

impl EnvInfo {
    /// Loads the environment of `config` to read its primitives and splits.
    ///
    /// # Errors
    /// The component cannot be loaded, or its hash differs from a pinned one.
    pub fn load(config: &ExperimentConfig, sandbox: &Sandbox) -> anyhow::Result<EnvInfo> {
        let spec = EnvSpec {
            component: config.env.component.clone(),
            settings: config.env.settings_strings(),
            sha256: config.env.sha256.clone(),
            limits: config.env.limits.clone(),
        };
        let plugin = spec.load(sandbox).context("`env.component`")?;
        let info = plugin.info();
        Ok(EnvInfo {
            component: config.env.component.clone(),
            sha256: plugin.digest().to_hex(),
            primitives: info.primitives.iter().map(|p| p.name.clone()).collect(),
            splits: info.splits.clone(),
        })
    }

    /// `g{K}` of the primitive named `success`, else `g1`: the outcome-only
    /// program.
    pub fn outcome_program(&self) -> String {
        let index = derl_env_api::success_index(self.primitives.iter().map(String::as_str));
        format!("g{}", index + 1)
    }

    /// The equal-weight sum of every primitive: the heuristic program.
    pub fn heuristic_program(&self) -> String {
        (1..=self.primitives.len().max(1))
            .map(|k| format!("g{k}"))
            .collect::<Vec<_>>()
            .join(" + ")
    }
}

/// The run directory's `manifest.json`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    /// derl's version.
    pub derl_version: String,
    /// `git rev-parse HEAD` of the working directory when the run started.
    pub git_commit: Option<String>,
    /// sha256 of `config.toml`.
    pub config_sha256: String,
    /// The environment.
    pub environment: EnvInfo,
    /// sha256 of every compiled reward component, by normalized program.
    pub rewards: BTreeMap<String, String>,
    /// Every seed.
    pub seeds: Seeds,
}

/// One inner loop to run (or find in the cache).
#[derive(Clone, Debug)]
struct Plan {
    phase: Phase,
    method: Method,
    iteration: Option<u32>,
    index: usize,
    seed_index: u32,
    seed: u64,
    program: String,
    normalized: Option<String>,
    updates: u32,
    warm_start: Option<PopPolicy>,
    /// Save the trained policy here (DERL-pop).
    checkpoint: Option<PathBuf>,
    splits: Vec<Split>,
}

/// A finished inner loop's result, as the cache keeps it.
#[derive(Clone, Debug)]
struct Outcome {
    valid: bool,
    evaluation: Option<Evaluation>,
    env_steps: u64,
    reward_sha256: Option<String>,
    error: Option<String>,
}

fn cache_key(
    program: &str,
    seed: u64,
    updates: u32,
    warm_start: Option<&str>,
    checkpointed: bool,
    splits: &[Split],
) -> String {
    let splits: Vec<&str> = splits.iter().map(|s| s.name()).collect();
    format!(
        "{program}|{seed}|{updates}|{}|{checkpointed}|{}",
        warm_start.unwrap_or("-"),
        splits.join(",")
    )
}

impl Plan {
    fn key(&self) -> String {
        cache_key(
            self.normalized.as_deref().unwrap_or(&self.program),
            self.seed,
            self.updates,
            self.warm_start.as_ref().map(|w| w.id.as_str()),
            self.checkpoint.is_some(),
            &self.splits,
        )
    }
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
    check_splits(config, &EnvInfo::load(config, options.sandbox)?)?;
    let text = config.to_toml()?;
    let run = RunDir::create(dir)?;
    run.write(CONFIG_FILE, text.as_bytes())?;
    Runner::new(config.clone(), run, options, None)?.run()
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
    let state = match std::fs::read_to_string(run.path(STATE_FILE)) {
        Ok(text) => Some(
            serde_json::from_str::<RunState>(&text)
                .with_context(|| format!("{} is damaged", run.path(STATE_FILE).display()))?,
        ),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => None,
        Err(error) => return Err(error).context("cannot read the run state"),
    };
    Runner::new(config, run, options, state)?.run()
}

/// The configuration of the run in `dir` and its text.
///
/// # Errors
/// A missing or invalid `config.toml`.
pub fn read_config(dir: &Path) -> anyhow::Result<(ExperimentConfig, String)> {
    let path = dir.join(CONFIG_FILE);
    let text = std::fs::read_to_string(&path).with_context(|| {
        format!(
            "{} is not a run directory (no {CONFIG_FILE})",
            dir.display()
        )
    })?;
    let config = ExperimentConfig::from_toml(&text, &path.display().to_string())?;
    Ok((config, text))
}

/// The summary of the finished run in `dir`.
///
/// # Errors
/// The run has not finished (no `summary.json`) or the file is damaged.
pub fn read_summary(dir: &Path) -> anyhow::Result<Summary> {
    let path = dir.join(SUMMARY_FILE);
    let text = std::fs::read_to_string(&path).with_context(|| {
        format!(
            "{} holds no finished run (no {SUMMARY_FILE}); `derl run --resume {}` finishes it",
            dir.display(),
            dir.display()
        )
    })?;
    serde_json::from_str(&text).with_context(|| format!("{} is damaged", path.display()))
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
    generators: BTreeMap<Method, Generator>,
    git_commit: Option<String>,
}

impl<'a> Runner<'a> {
    fn new(
        config: ExperimentConfig,
        run: RunDir,
        options: &'a RunOptions<'a>,
        state: Option<RunState>,
    ) -> anyhow::Result<Self> {
        let env = EnvInfo::load(&config, options.sandbox)?;
        check_splits(&config, &env)?;
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
            generators: BTreeMap::new(),
            git_commit,
        };
        match state {
            Some(state) => runner.restore(state)?,
            None => runner.fresh_generators()?,
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
        while self.state.completed_iterations < iterations {
            if self.options.stop_after == Some(self.state.completed_iterations) {
                return Ok(RunStatus::Stopped {
                    completed_iterations: self.state.completed_iterations,
                });
            }
            self.iteration(self.state.completed_iterations, iterations)?;
        }
        if self.options.stop_after == Some(self.state.completed_iterations) {
            return Ok(RunStatus::Stopped {
                completed_iterations: self.state.completed_iterations,
            });
        }
        let summary = self.final_evaluation()?;
        Ok(RunStatus::Finished(summary))
    }

    /// The generators of a new run: the Meta-Optimizer cold-started once and
    /// copied for each Meta-Optimizer method; evolution from the seeds.
    fn fresh_generators(&mut self) -> anyhow::Result<()> {
        let methods = self.config.search_methods();
        if methods.is_empty() {
            return Ok(());
        }
        let primitive_count = self.env.primitives.len();
        let grammar = Grammar::new(self.config.meta.model.grammar.clone(), primitive_count)
            .context("`meta.model.grammar`")?;
        let seed_text = match &self.config.meta.seeds_file {
            Some(path) => std::fs::read_to_string(path)
                .with_context(|| format!("`meta.seeds_file`: cannot read {}", path.display()))?,
            None => derl_meta::DEFAULT_SEEDS.to_owned(),
        };
        let selection = select_seeds(&seed_text, &grammar);
        let uses_meta = methods
            .iter()
            .any(|m| matches!(m, Method::Derl | Method::DerlPop | Method::Untrained));
        let initial = if uses_meta {
            let mut model = MetaOptimizer::new(
                self.config.meta.model.clone(),
                primitive_count,
                self.seeds.meta_init,
            )
            .context("`meta.model`")?;
            let epochs = self.config.meta.pretrain_epochs as usize;
            if epochs > 0 {
                if selection.programs.is_empty() {
                    bail!(
                        "`meta.pretrain_epochs` is {epochs} but no seed program fits the grammar \
                         over {primitive_count} primitives (see `meta.seeds_file`)"
                    );
                }
                let mut rng = ChaCha8Rng::seed_from_u64(self.seeds.meta_pretrain);
                let stats = model
                    .pretrain(&selection.programs, epochs, &mut rng)
                    .context("the Meta-Optimizer's cold start")?;
                self.run.write_json(PRETRAIN_FILE, &stats)?;
            }
            Some(model)
        } else {
            None
        };
        for method in methods {
            let generator = match (method, &initial) {
                (Method::Evolution, _) => Generator::evolution(Evolution::new(
                    self.config.evolution_config(),
                    primitive_count,
                    &selection.programs,
                )?),
                (Method::Derl | Method::DerlPop, Some(initial)) => Generator::meta(
                    initial,
                    Some(GrpoConfig {
                        seed: self.seeds.grpo(method),
                        ..self.config.meta.grpo.clone()
                    }),
                )?,
                (Method::Untrained, Some(initial)) => Generator::meta(initial, None)?,
                _ => continue,
            };
            self.generators.insert(method, generator);
        }
        Ok(())
    }

    /// Reloads generators, records and cache from the last saved state.
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
                let key = self.row_key(row);
                self.cache.insert(key, outcome_of_row(row));
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
                for method in self.config.search_methods() {
                    let method_dir = dir.join(method.name());
                    let generator = match method {
                        Method::Evolution => Generator::load_evolution(
                            &method_dir,
                            self.config.evolution_config(),
                            self.env.primitives.len(),
                        )?,
                        Method::Untrained => Generator::load_meta(&method_dir, false)?,
                        _ => Generator::load_meta(&method_dir, true)?,
                    };
                    self.generators.insert(method, generator);
                }
            }
            None => self.fresh_generators()?,
        }
        self.state = state;
        Ok(())
    }

    fn row_key(&self, row: &MetricRow) -> String {
        let splits = match row.phase {
            Phase::Search => vec![self.config.outer.score_split],
            Phase::Final => self.config.final_eval.splits.clone(),
        };
        cache_key(
            row.normalized.as_deref().unwrap_or(&row.program),
            row.seed,
            row.updates,
            row.warm_start.as_deref(),
            row.phase == Phase::Search && row.method == Method::DerlPop,
            &splits,
        )
    }

    fn normalize(&self, program: &str) -> Option<String> {
        let names: Vec<&str> = self.env.primitives.iter().map(String::as_str).collect();
        derl_lang::parse(program, &names)
            .ok()
            .map(|p| p.normalized())
    }

    /// One outer iteration of every search method.
    fn iteration(&mut self, iteration: u32, iterations: u32) -> anyhow::Result<()> {
        let started = Instant::now();
        let stage = format!("iteration {}/{iterations}", iteration + 1);
        let methods = self.config.search_methods();
        let group_size = self.config.outer.group_size;
        let work = self
            .run
            .path(WORK_DIR)
            .join(format!("iteration-{iteration:04}"));
        // Policies left by an attempt of this iteration that did not finish.
        let _ = std::fs::remove_dir_all(self.run.path(WORK_DIR));
        let mut plans = Vec::new();
        for &method in &methods {
            let mut rng = self.seeds.method_rng(method, iteration);
            let generator = self
                .generators
                .get_mut(&method)
                .context("a search method has no generator")?;
            let programs = generator
                .propose(group_size, self.config.meta.temperature, &mut rng)
                .with_context(|| format!("{method} at iteration {iteration}"))?;
            let pop = method == Method::DerlPop;
            let warm_start = if pop {
                self.state.pop_policy.clone()
            } else {
                None
            };
            let updates = match (&warm_start, self.config.derl_pop.updates) {
                (Some(_), Some(updates)) => updates,
                _ => self.config.inner.updates,
            };
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
                        checkpoint: pop.then(|| {
                            work.join(method.name())
                                .join(format!("p{index}-s{seed_index}"))
                        }),
                        splits: vec![self.config.outer.score_split],
                    });
                }
            }
        }
        let (rows, sources) = self.execute(&plans, &stage)?;

        // Scores per program, learning, trajectory.
        let mut trajectory = Vec::new();
        let mut lines = Vec::new();
        let mut next_pop_policy = self.state.pop_policy.clone();
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
            let mut programs = Vec::with_capacity(group_size);
            let mut scores = Vec::with_capacity(group_size);
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
            let generator = self
                .generators
                .get_mut(&method)
                .context("a search method has no generator")?;
            let update = generator
                .learn(&scores)
                .with_context(|| format!("{method} at iteration {iteration}"))?;
            let warm_start = if method == Method::DerlPop {
                self.state.pop_policy.as_ref().map(|p| p.id.clone())
            } else {
                None
            };
            if method == Method::DerlPop {
                let target = staging.join(POP_POLICY_DIR);
                let best_row = group[best_index * seeds_per_program];
                let source = sources[best_row].map(|i| &plans[i]);
                let policy = source
                    .filter(|_| rows[best_row].valid)
                    .and_then(|plan| plan.checkpoint.clone());
                let kept = match policy {
                    Some(dir) if dir.is_dir() => {
                        move_dir(&dir, &target)?;
                        Some(format!("{}/iteration-{iteration}", method.name()))
                    }
                    _ => match &self.state.pop_policy {
                        Some(previous) => {
                            copy_dir(&self.run.path(&previous.path), &target)?;
                            Some(previous.id.clone())
                        }
                        None => None,
                    },
                };
                next_pop_policy = kept.map(|id| PopPolicy {
                    id,
                    path: format!("{checkpoint_name}/{POP_POLICY_DIR}"),
                });
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
        for (&method, generator) in &self.generators {
            generator.save(&staging.join(method.name()))?;
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
        self.state.pop_policy = next_pop_policy;
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
            let program = self.best_program(method)?;
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
        let summary = self.summary()?;
        self.write_records()?;
        self.run.write_json(SUMMARY_FILE, &summary)?;
        self.run.write(REPORT_FILE, summary.markdown().as_bytes())?;
        self.state.finished = true;
        self.write_state()?;
        self.write_manifest()?;
        self.options.observer.stage_finished(&stage, &[]);
        Ok(summary)
    }

    /// The program a method takes to the final evaluation: its fixed
    /// program, or the search's best-scoring one (first found on ties).
    fn best_program(&self, method: Method) -> anyhow::Result<String> {
        match method {
            Method::OutcomeOnly => return Ok(self.env.outcome_program()),
            Method::Heuristic => return Ok(self.env.heuristic_program()),
            _ => {}
        }
        let mut best: Option<(f64, &str)> = None;
        for row in self
            .records
            .trajectory
            .iter()
            .filter(|row| row.method == method)
        {
            for (program, &score) in row.programs.iter().zip(&row.scores) {
                if best.is_none_or(|(top, _)| score > top) {
                    best = Some((score, program));
                }
            }
        }
        best.map(|(_, program)| program.to_owned())
            .with_context(|| format!("{method} has no scored program"))
    }

    fn summary(&self) -> anyhow::Result<Summary> {
        let mut methods = Vec::new();
        for &method in &self.config.experiment.methods {
            let program = self.best_program(method)?;
            let search: Vec<&MetricRow> = self
                .records
                .metrics
                .iter()
                .filter(|r| r.phase == Phase::Search && r.method == method)
                .collect();
            let finals: Vec<&MetricRow> = self
                .records
                .metrics
                .iter()
                .filter(|r| r.phase == Phase::Final && r.method == method)
                .collect();
            let search_score = method.is_search().then(|| {
                self.records
                    .trajectory
                    .iter()
                    .filter(|row| row.method == method)
                    .map(|row| row.best)
                    .fold(f64::NEG_INFINITY, f64::max)
            });
            let splits = self
                .config
                .final_eval
                .splits
                .iter()
                .map(|&split| {
                    let values: Vec<f64> = finals
                        .iter()
                        .filter_map(|row| row.evaluation.as_ref())
                        .filter_map(|evaluation| self.success(evaluation, split))
                        .collect();
                    let (mean, std) = mean_std(&values);
                    SplitResult {
                        split,
                        mean,
                        std,
                        values,
                    }
                })
                .collect();
            methods.push(MethodSummary {
                method,
                program: self.normalize(&program).unwrap_or(program),
                search_score,
                search_inner_loops: search.len(),
                search_invalid: search.iter().filter(|r| !r.valid).count(),
                search_env_steps: search
                    .iter()
                    .filter(|r| !r.cached)
                    .map(|r| r.env_steps)
                    .sum(),
                final_env_steps: finals
                    .iter()
                    .filter(|r| !r.cached)
                    .map(|r| r.env_steps)
                    .sum(),
                splits,
                final_invalid: finals.iter().filter(|r| !r.valid).count(),
            });
        }
        Ok(Summary {
            name: self.config.experiment.name.clone(),
            env: self.env.component.clone(),
            primitives: self.env.primitives.clone(),
            iterations: if self.config.search_methods().is_empty() {
                0
            } else {
                self.config.outer.iterations
            },
            group_size: self.config.outer.group_size,
            final_seeds: self.config.final_eval.seeds,
            methods,
        })
    }

    /// Success on `split` under `outer.score_mode`.
    fn success(&self, evaluation: &Evaluation, split: Split) -> Option<f64> {
        evaluation.splits.iter().find(|s| s.0 == split).map(|s| {
            match self.config.outer.score_mode {
                ScoreMode::Greedy => s.1,
                ScoreMode::Sampled => s.2,
            }
        })
    }

    /// The score an inner loop gives its program.
    fn score(&self, outcome: &Outcome, splits: &[Split]) -> f64 {
        if !outcome.valid {
            return self.config.outer.invalid_score;
        }
        let split = if splits.contains(&self.config.outer.score_split) {
            self.config.outer.score_split
        } else {
            splits
                .first()
                .copied()
                .unwrap_or(self.config.outer.score_split)
        };
        outcome
            .evaluation
            .as_ref()
            .and_then(|e| self.success(e, split))
            .unwrap_or(0.0)
    }

    fn job(&self, plan: &Plan) -> InnerJob {
        InnerJob {
            env: EnvSpec {
                component: self.config.env.component.clone(),
                settings: self.config.env.settings_strings(),
                sha256: Some(self.env.sha256.clone()),
                limits: self.config.env.limits.clone(),
            },
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
            let this = &*self;
            this.options.executor.run(&jobs, &|k, report| {
                let plan = &plans[to_run[k]];
                let score = this.score(&outcome_of_report(report), &plan.splits);
                this.options.observer.job_finished(plan.method, score);
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
                .insert(keys[i].clone(), outcome_of_report(report));
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
                    score: self.score(&outcome, &plan.splits),
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
        };
        self.run.write_json(MANIFEST_FILE, &manifest)
    }
}

fn check_splits(config: &ExperimentConfig, env: &EnvInfo) -> anyhow::Result<()> {
    let missing = |split: Split| !env.splits.contains(&split);
    if missing(config.outer.score_split) {
        bail!(
            "`outer.score_split`: `{}` has no `{}` split (it has {})",
            env.component,
            config.outer.score_split.name(),
            split_names(&env.splits)
        );
    }
    if let Some(split) = config
        .final_eval
        .splits
        .iter()
        .copied()
        .find(|&s| missing(s))
    {
        bail!(
            "`final.splits`: `{}` has no `{}` split (it has {})",
            env.component,
            split.name(),
            split_names(&env.splits)
        );
    }
    Ok(())
}

fn split_names(splits: &[Split]) -> String {
    splits
        .iter()
        .map(|s| s.name())
        .collect::<Vec<_>>()
        .join(", ")
}

fn outcome_of_report(report: &JobReport) -> Outcome {
    match &report.outcome {
        JobOutcome::Finished(result) => Outcome {
            valid: true,
            evaluation: Some(result.evaluation.clone()),
            env_steps: result.env_steps,
            reward_sha256: Some(result.reward_sha256.clone()),
            error: None,
        },
        JobOutcome::Invalid { reason } | JobOutcome::Failed { reason } => Outcome {
            valid: false,
            evaluation: None,
            env_steps: 0,
            reward_sha256: None,
            error: Some(reason.clone()),
        },
    }
}

fn outcome_of_row(row: &MetricRow) -> Outcome {
    Outcome {
        valid: row.valid,
        evaluation: row.evaluation.clone(),
        env_steps: row.env_steps,
        reward_sha256: row.reward_sha256.clone(),
        error: row.error.clone(),
    }
}

/// Index of the largest value, the first on ties.
fn argmax(values: &[f64]) -> usize {
    let mut best = 0;
    for (index, &value) in values.iter().enumerate() {
        if value > values[best] {
            best = index;
        }
    }
    best
}

fn read_manifest(run: &RunDir) -> Option<Manifest> {
    let text = std::fs::read_to_string(run.path(MANIFEST_FILE)).ok()?;
    serde_json::from_str(&text).ok()
}

/// `git rev-parse HEAD` in the current directory, if it works.
fn git_commit() -> Option<String> {
    let output = std::process::Command::new("git")
        .args(["rev-parse", "HEAD"])
        .stderr(std::process::Stdio::null())
        .output()
        .ok()?;
    if !output.status.success() {
        return None;
    }
    let commit = String::from_utf8(output.stdout).ok()?.trim().to_owned();
    (!commit.is_empty()).then_some(commit)
}

fn move_dir(from: &Path, to: &Path) -> anyhow::Result<()> {
    if let Some(parent) = to.parent() {
        std::fs::create_dir_all(parent)
            .with_context(|| format!("cannot create {}", parent.display()))?;
    }
    if std::fs::rename(from, to).is_ok() {
        return Ok(());
    }
    copy_dir(from, to)
}

fn copy_dir(from: &Path, to: &Path) -> anyhow::Result<()> {
    std::fs::create_dir_all(to).with_context(|| format!("cannot create {}", to.display()))?;
    for entry in
        std::fs::read_dir(from).with_context(|| format!("cannot read {}", from.display()))?
    {
        let entry = entry?;
        let target = to.join(entry.file_name());
        if entry.file_type()?.is_dir() {
            copy_dir(&entry.path(), &target)?;
        } else {
            let bytes = std::fs::read(entry.path())
                .with_context(|| format!("cannot read {}", entry.path().display()))?;
            write_atomic(&target, &bytes)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn argmax_takes_the_first_of_ties() {
        assert_eq!(argmax(&[0.1, 0.5, 0.5, -1.0]), 1);
        assert_eq!(argmax(&[-1.0]), 0);
    }

    #[test]
    fn seeds_are_distinct_and_stable() {
        let mut config = ExperimentConfig::with_env("corridor");
        config.outer.search_seeds = 2;
        config.final_eval.seeds = 3;
        let seeds = Seeds::of(&config);
        assert_eq!(seeds, Seeds::of(&config));
        let mut all = seeds.search.clone();
        all.extend(&seeds.final_eval);
        all.sort_unstable();
        all.dedup();
        assert_eq!(all.len(), 5);
        config.experiment.seed = 1;
        assert_ne!(Seeds::of(&config).search, seeds.search);
    }

    #[test]
    fn baseline_programs_follow_the_primitives() {
        let env = EnvInfo {
            component: "x".into(),
            sha256: String::new(),
            primitives: vec!["progress".into(), "success".into(), "speed".into()],
            splits: vec![],
        };
        assert_eq!(env.outcome_program(), "g2");
        assert_eq!(env.heuristic_program(), "g1 + g2 + g3");
        let env = EnvInfo {
            primitives: vec!["outcome".into(), "format".into()],
            ..env
        };
        assert_eq!(env.outcome_program(), "g1");
    }

    #[test]
    fn cache_keys_separate_everything_that_changes_a_result() {
        let base = cache_key("g1", 1, 10, None, false, &[Split::Validation]);
        for other in [
            cache_key("g2", 1, 10, None, false, &[Split::Validation]),
            cache_key("g1", 2, 10, None, false, &[Split::Validation]),
            cache_key("g1", 1, 11, None, false, &[Split::Validation]),
            cache_key(
                "g1",
                1,
                10,
                Some("derl_pop/iteration-0"),
                false,
                &[Split::Validation],
            ),
            cache_key("g1", 1, 10, None, true, &[Split::Validation]),
            cache_key("g1", 1, 10, None, false, &[Split::Validation, Split::Test]),
        ] {
            assert_ne!(base, other);
        }
    }
}
