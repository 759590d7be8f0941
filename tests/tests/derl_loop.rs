//! The bi-level DERL loop end to end on the small `corridor` environment,
//! with tiny budgets: determinism across worker counts, resume equivalence,
//! invalid Meta-Rewards scored without stopping the run, and configuration
//! errors that name their key.

use derl::experiment::{ExperimentConfig, Method};
use derl::inner::{InnerJob, RewardSpec};
use derl::outer::{
    Executor, JobReport, LocalExecutor, MetricRow, RunOptions, RunStatus, Silent, Summary,
    TrajectoryRow, resume, start,
};
use derl_env_api::Split;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// A scratch directory for `name`, emptied first.
fn scratch(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join("derl-loop")
        .join(name);
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

/// Every method, two iterations of three programs, budgets of a few dozen
/// corridor episodes per inner loop.
fn tiny_config() -> ExperimentConfig {
    let mut config = ExperimentConfig::with_env("corridor");
    config.experiment.name = "tiny".into();
    config.experiment.seed = 7;
    config.inner.updates = 3;
    config.inner.tasks_per_update = 4;
    config.inner.group_size = 4;
    config.policy.grpo.learning_rate = 0.05;
    config.inner.eval_episodes = 8;
    // Sampled success varies between programs even after two updates, so the
    // Meta-Optimizer's GRPO steps move its weights.
    config.outer.score_mode = derl::experiment::ScoreMode::Sampled;
    config.policy.model.embedding_dim = 8;
    config.policy.model.hidden_dim = 8;
    config.policy.model.featurizer.bucket_bits = 10;
    config.outer.iterations = 2;
    config.outer.group_size = 3;
    config.meta.pretrain_epochs = 2;
    config.meta.model.grammar.max_tokens = 8;
    config.derl_pop.updates = Some(1);
    config.final_eval.seeds = 1;
    config.final_eval.splits = vec![Split::Validation, Split::Test];
    config.validate().expect("the test config is valid");
    config
}

fn executor(workers: usize) -> LocalExecutor {
    LocalExecutor::new(derl_tests::sandbox().clone(), workers)
}

fn options<'a>(executor: &'a dyn Executor, stop_after: Option<u32>) -> RunOptions<'a> {
    RunOptions {
        executor,
        sandbox: derl_tests::sandbox(),
        observer: &Silent,
        stop_after,
    }
}

fn read(dir: &Path, file: &str) -> String {
    std::fs::read_to_string(dir.join(file)).unwrap_or_else(|e| panic!("{file}: {e}"))
}

fn rows<T: serde::de::DeserializeOwned>(dir: &Path, file: &str) -> Vec<T> {
    read(dir, file)
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect()
}

fn finished(status: RunStatus) -> Summary {
    match status {
        RunStatus::Finished(summary) => summary,
        other => panic!("the run did not finish: {other:?}"),
    }
}

/// The uninterrupted run with two workers, shared by the tests below.
fn baseline() -> &'static PathBuf {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = scratch("baseline");
        let executor = executor(2);
        finished(start(&tiny_config(), &dir, &options(&executor, None)).unwrap());
        dir
    })
}

#[test]
fn a_run_records_every_inner_loop_and_compares_every_method() {
    let dir = baseline();
    let config = tiny_config();
    let metrics: Vec<MetricRow> = rows(dir, "metrics.jsonl");
    let search = 4 * 2 * 3; // search methods x iterations x group
    let finals = 6; // methods x final seeds
    assert_eq!(metrics.len(), search + finals);
    assert!(metrics.iter().all(|row| row.valid), "{metrics:?}");
    // DERL-pop's second iteration starts from the first iteration's best policy,
    // with its own budget.
    let pop: Vec<&MetricRow> = metrics
        .iter()
        .filter(|r| r.method == Method::DERL_POP && r.iteration == Some(1))
        .collect();
    assert_eq!(pop.len(), 3);
    assert!(
        pop.iter()
            .all(|r| r.warm_start.as_deref() == Some("derl_pop/iteration-0") && r.updates == 1)
    );
    // Wall times live apart from the metrics.
    assert!(!read(dir, "metrics.jsonl").contains("wall"));
    assert!(read(dir, "timings.jsonl").contains("wall_seconds"));
    let trajectory: Vec<TrajectoryRow> = rows(dir, "trajectory.jsonl");
    assert_eq!(trajectory.len(), 4 * 2);
    for row in &trajectory {
        assert_eq!(row.programs.len(), 3);
        let best = row.scores.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        assert_eq!(row.best, best);
        // The trained Meta-Optimizers report their GRPO update.
        assert_eq!(
            row.update.is_some(),
            [Method::DERL, Method::DERL_POP].contains(&row.method)
        );
    }
    // Scores differ within some group, so some update moved the weights.
    assert!(
        trajectory
            .iter()
            .filter_map(|row| row.update.as_ref())
            .any(|update| update["grad_norm"].as_f64().unwrap() > 0.0),
        "{trajectory:?}"
    );
    let summary: Summary = serde_json::from_str(&read(dir, "summary.json")).unwrap();
    let methods: Vec<Method> = summary.methods.iter().map(|m| m.method).collect();
    assert_eq!(methods, config.experiment.methods);
    let outcome = &summary.methods[2];
    assert_eq!(outcome.program, "g1");
    assert_eq!(summary.methods[3].program, "g1 + g2");
    for method in &summary.methods {
        assert_eq!(method.splits.len(), 2);
        assert!(method.splits.iter().all(|s| (0.0..=1.0).contains(&s.mean)));
    }
    // The manifest pins the environment and every reward component.
    let manifest: serde_json::Value = serde_json::from_str(&read(dir, "manifest.json")).unwrap();
    assert_eq!(manifest["derl_version"], env!("CARGO_PKG_VERSION"));
    assert_eq!(
        manifest["environment"]["sha256"].as_str().unwrap().len(),
        64
    );
    assert!(manifest["rewards"]["g1"].as_str().is_some(), "{manifest}");
    assert_eq!(manifest["seeds"]["experiment"], 7);
    // The resolved config reads back equal.
    let (resolved, _) = derl::outer::read_config(dir).unwrap();
    assert_eq!(resolved, config);
    assert!(read(dir, "report.md").contains("| derl |"));
}

#[test]
fn the_same_config_and_seed_give_identical_metrics_with_one_and_two_workers() {
    let dir = scratch("one-worker");
    let executor = executor(1);
    finished(start(&tiny_config(), &dir, &options(&executor, None)).unwrap());
    for file in ["metrics.jsonl", "trajectory.jsonl", "summary.json"] {
        assert_eq!(read(&dir, file), read(baseline(), file), "{file} differs");
    }
}

#[test]
fn a_resumed_run_ends_with_the_same_results_as_an_uninterrupted_one() {
    let dir = scratch("resumed");
    let executor = executor(2);
    let status = start(&tiny_config(), &dir, &options(&executor, Some(1))).unwrap();
    assert_eq!(
        status,
        RunStatus::Stopped {
            completed_iterations: 1
        }
    );
    assert!(!dir.join("summary.json").exists());
    // A run directory that holds a run is not started over.
    let error = start(&tiny_config(), &dir, &options(&executor, None)).unwrap_err();
    assert!(error.to_string().contains("--resume"), "{error}");
    // Simulate a kill late in the second iteration: its records and its
    // checkpoint were written, its state was not.
    let metrics = read(&dir, "metrics.jsonl");
    let last = metrics.lines().last().unwrap().to_owned();
    std::fs::write(dir.join("metrics.jsonl"), format!("{metrics}{last}\n")).unwrap();
    std::fs::create_dir_all(dir.join("checkpoints/iteration-0001/derl")).unwrap();
    finished(resume(&dir, &options(&executor, None)).unwrap());
    for file in ["metrics.jsonl", "trajectory.jsonl", "summary.json"] {
        assert_eq!(read(&dir, file), read(baseline(), file), "{file} differs");
    }
    // Resuming a finished run only reports it.
    let metrics = read(&dir, "metrics.jsonl");
    let again = finished(resume(&dir, &options(&executor, None)).unwrap());
    assert_eq!(again, derl::outer::read_summary(&dir).unwrap());
    assert_eq!(read(&dir, "metrics.jsonl"), metrics);
}

/// Replaces the reward of the first job of every batch by a program that
/// reads a primitive corridor lacks.
struct Sabotage(LocalExecutor);

impl Executor for Sabotage {
    fn parallelism(&self) -> usize {
        self.0.parallelism()
    }

    fn run(
        &self,
        jobs: &[InnerJob],
        on_done: &(dyn Fn(usize, &JobReport) + Sync),
    ) -> Vec<JobReport> {
        let mut jobs = jobs.to_vec();
        if let Some(first) = jobs.first_mut() {
            first.reward = RewardSpec::Program("g1 + 0.5*g7".into());
        }
        self.0.run(&jobs, on_done)
    }
}

#[test]
fn an_invalid_program_scores_minus_one_and_the_run_goes_on() {
    let dir = scratch("invalid");
    let mut config = tiny_config();
    config.experiment.methods = vec![Method::DERL, Method::OUTCOME_ONLY];
    let executor = Sabotage(executor(2));
    let summary = finished(start(&config, &dir, &options(&executor, None)).unwrap());
    let metrics: Vec<MetricRow> = rows(&dir, "metrics.jsonl");
    let invalid: Vec<&MetricRow> = metrics.iter().filter(|r| !r.valid).collect();
    // At least the first inner loop of each iteration and of the final
    // evaluation (more if a sabotaged program comes back from the cache).
    assert!(invalid.len() >= 3, "{metrics:?}");
    for row in &invalid {
        assert_eq!(row.score, -1.0);
        assert_eq!(row.env_steps, 0);
        assert!(row.error.as_deref().unwrap().contains("g7"), "{row:?}");
    }
    assert!(metrics.iter().any(|r| r.valid), "{metrics:?}");
    let trajectory: Vec<TrajectoryRow> = rows(&dir, "trajectory.jsonl");
    assert_eq!(trajectory.len(), 2);
    for row in &trajectory {
        assert!(row.invalid >= 1);
        assert!(row.scores.contains(&-1.0));
        // The Meta-Optimizer still learned from the group.
        assert!(row.update.is_some());
    }
    assert!(summary.methods[0].search_invalid >= 2);
    assert_eq!(summary.methods[0].final_invalid, 1);
    assert_eq!(summary.methods[1].final_invalid, 0);
}

#[test]
fn configuration_errors_name_the_key() {
    let base = "[env]\ncomponent = \"corridor\"\n";
    let cases = [
        ("[outer]\ngroup_sise = 4\n", "group_sise"),
        ("[outer]\ngroup_size = \"four\"\n", "group_size"),
        ("[outer]\ngroup_size = 1\n", "outer.group_size"),
        ("[inner]\neval_episodes = 0\n", "inner.eval_episodes"),
        ("[meta.grpo]\nkl_coef = -1.0\n", "meta.grpo"),
        ("[experiment]\nmethods = [\"derl\", \"eureka\"]\n", "eureka"),
    ];
    for (text, key) in cases {
        let error = ExperimentConfig::from_toml(&format!("{base}{text}"), "bad.toml")
            .unwrap_err()
            .to_string();
        assert!(error.contains(key), "{key}: {error}");
        assert!(error.contains("bad.toml"), "{error}");
    }
}

#[test]
fn a_missing_environment_is_named_before_any_work() {
    let mut config = tiny_config();
    config.env.component = "/nonexistent/env.wasm".into();
    let dir = scratch("no-env");
    let executor = executor(1);
    let error = start(&config, &dir, &options(&executor, None)).unwrap_err();
    assert!(format!("{error:#}").contains("env.component"), "{error:#}");
    assert!(!dir.exists());
}
