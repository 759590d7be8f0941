//! `derl report`: the charts, `index.html` and `report.md` written from a
//! synthetic run directory (records built with the public record types),
//! finished and unfinished, and the errors for bad input.

use derl::experiment::{ExperimentConfig, Method};
use derl::outer::layout::{
    CONFIG_FILE, MANIFEST_FILE, METRICS_FILE, REPORT_FILE, SUMMARY_FILE, TRAJECTORY_FILE,
};
use derl::outer::{
    EnvInfo, Manifest, MethodSummary, MetricRow, Phase, Seeds, SplitResult, Summary, TrajectoryRow,
};
use derl::report::{ReportFiles, write_report};
use derl_env_api::Split;
use std::path::{Path, PathBuf};

const SEARCH: [Method; 4] = [
    Method::DERL,
    Method::DERL_POP,
    Method::EVOLUTION,
    Method::UNTRAINED,
];
/// A program whose text needs escaping in HTML.
const TRICKY: &str = "g1 < g2 & \"g3\" <script>";

/// A scratch directory for `name`, emptied first.
fn scratch(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join("derl-report")
        .join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn config() -> ExperimentConfig {
    let mut config = ExperimentConfig::with_env("corridor");
    config.experiment.name = "synthetic".into();
    config.outer.iterations = 3;
    config.outer.group_size = 2;
    config.final_eval.seeds = 2;
    config.final_eval.splits = vec![Split::Validation, Split::Test, Split::Ood];
    config.validate().unwrap();
    config
}

fn jsonl<T: serde::Serialize>(rows: &[T]) -> String {
    rows.iter()
        .map(|row| serde_json::to_string(row).unwrap() + "\n")
        .collect()
}

fn score(method: Method, iteration: u32, index: usize) -> f64 {
    let base = match method.name() {
        "derl" => 0.3,
        "derl_pop" => 0.35,
        "evolution" => 0.2,
        _ => 0.1,
    };
    base + 0.1 * f64::from(iteration) + 0.05 * index as f64
}

fn metric_rows(iterations: u32) -> Vec<MetricRow> {
    let mut rows = Vec::new();
    for iteration in 0..iterations {
        for method in SEARCH {
            for index in 0..2 {
                rows.push(MetricRow {
                    phase: Phase::Search,
                    method,
                    iteration: Some(iteration),
                    index,
                    seed_index: 0,
                    seed: 11,
                    program: format!("g{}", index + 1),
                    normalized: Some(format!("g{}", index + 1)),
                    warm_start: None,
                    updates: 4,
                    valid: true,
                    score: score(method, iteration, index),
                    evaluation: None,
                    // DERL-pop's warm-started inner loops are cheaper.
                    env_steps: if method == Method::DERL_POP && iteration > 0 {
                        400
                    } else {
                        1000
                    },
                    reward_sha256: Some("ab".repeat(32)),
                    error: None,
                    cached: false,
                });
            }
        }
    }
    rows
}

fn trajectory_rows(iterations: u32) -> Vec<TrajectoryRow> {
    let mut rows = Vec::new();
    for iteration in 0..iterations {
        for method in SEARCH {
            let scores = vec![score(method, iteration, 0), score(method, iteration, 1)];
            rows.push(TrajectoryRow {
                method,
                iteration,
                programs: vec!["g1".into(), TRICKY.into()],
                best: scores[1],
                mean: (scores[0] + scores[1]) / 2.0,
                scores,
                best_program: TRICKY.into(),
                invalid: 0,
                env_steps: 2000,
                warm_start: None,
                update: None,
            });
        }
    }
    rows
}

fn summary() -> Summary {
    let methods = config()
        .experiment
        .methods
        .iter()
        .map(|&method| {
            let valid = method != Method::UNTRAINED;
            MethodSummary {
                method,
                program: if method.is_search() {
                    TRICKY.into()
                } else {
                    "g1".into()
                },
                search_score: method.is_search().then_some(0.5),
                search_inner_loops: 6,
                search_invalid: 0,
                search_env_steps: 6000,
                final_env_steps: 2000,
                splits: [Split::Validation, Split::Test, Split::Ood]
                    .into_iter()
                    .map(|split| SplitResult {
                        split,
                        mean: if valid { 0.5 } else { 0.0 },
                        std: if valid { 0.1 } else { 0.0 },
                        values: if valid { vec![0.4, 0.6] } else { vec![] },
                    })
                    .collect(),
                final_invalid: if valid { 0 } else { 2 },
            }
        })
        .collect();
    Summary {
        name: "synthetic".into(),
        env: "corridor".into(),
        primitives: vec!["success".into(), "progress".into()],
        iterations: 3,
        group_size: 2,
        final_seeds: 2,
        methods,
    }
}

fn manifest(config: &ExperimentConfig) -> Manifest {
    Manifest {
        derl_version: "0.1.0".into(),
        git_commit: Some("0123456789abcdef".into()),
        config_sha256: "cd".repeat(32),
        environment: EnvInfo {
            component: "corridor".into(),
            sha256: "ef".repeat(32),
            primitives: vec!["success".into(), "progress".into()],
            splits: vec![Split::Train, Split::Validation, Split::Test, Split::Ood],
        },
        rewards: Default::default(),
        seeds: Seeds::of(config),
        executor: Some("local, 2 workers".into()),
    }
}

/// A run directory with `iterations` recorded iterations, finished or not.
fn run_dir(name: &str, iterations: u32, finished: bool) -> PathBuf {
    let dir = scratch(name);
    let config = config();
    std::fs::write(dir.join(CONFIG_FILE), config.to_toml().unwrap()).unwrap();
    std::fs::write(
        dir.join(MANIFEST_FILE),
        serde_json::to_string_pretty(&manifest(&config)).unwrap(),
    )
    .unwrap();
    std::fs::write(dir.join(METRICS_FILE), jsonl(&metric_rows(iterations))).unwrap();
    std::fs::write(
        dir.join(TRAJECTORY_FILE),
        jsonl(&trajectory_rows(iterations)),
    )
    .unwrap();
    if finished {
        let summary = summary();
        std::fs::write(
            dir.join(SUMMARY_FILE),
            serde_json::to_string_pretty(&summary).unwrap(),
        )
        .unwrap();
        std::fs::write(dir.join(REPORT_FILE), summary.markdown()).unwrap();
    }
    dir
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Every file exists, PNGs are PNGs, SVGs are SVG documents, and the page
/// is self-contained.
fn check_files(files: &ReportFiles) -> (String, String) {
    for path in files.all() {
        assert!(path.is_file(), "{} is missing", path.display());
    }
    for png in [&files.scores_png, &files.success_png] {
        let bytes = std::fs::read(png).unwrap();
        assert!(
            bytes.starts_with(b"\x89PNG\r\n\x1a\n"),
            "{} is not a PNG",
            png.display()
        );
        assert!(bytes.len() > 5000, "{} is nearly empty", png.display());
    }
    for svg in [&files.scores_svg, &files.success_svg] {
        let text = read(svg);
        assert!(text.trim_start().starts_with("<svg"), "{}", svg.display());
        assert!(text.trim_end().ends_with("</svg>"), "{}", svg.display());
    }
    // No temporary file is left behind.
    let leftovers: Vec<_> = std::fs::read_dir(&files.dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| name.contains(".tmp"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
    let html = read(&files.index_html);
    assert_eq!(html.matches("<svg").count(), 2, "both charts inline");
    for external in ["http", "<script", "<link", "src=", "url("] {
        assert!(!html.contains(external), "index.html contains {external}");
    }
    assert!(!html.contains(TRICKY));
    assert!(html.contains("g1 &lt; g2 &amp; &quot;g3&quot; &lt;script&gt;"));
    (html, read(&files.markdown))
}

#[test]
fn a_finished_run_gets_charts_a_page_and_a_markdown_report() {
    let dir = run_dir("finished", 3, true);
    let files = write_report(&dir).unwrap();
    assert_eq!(files.dir, dir.join("report"));
    let (html, markdown) = check_files(&files);
    for method in &config().experiment.methods {
        assert!(html.contains(method.name()), "{} missing", method.name());
    }
    assert!(html.contains("<h2>Summary</h2>"));
    assert!(html.contains("0.500 ± 0.100"));
    assert!(html.contains("0123456789abcdef"), "the git commit is shown");
    assert!(!html.contains("unfinished"));
    // Every search method's best program of every iteration.
    assert_eq!(html.matches("<h3>").count(), SEARCH.len());
    let scores = read(&files.scores_svg);
    assert!(scores.contains("synthetic: search score per outer iteration on corridor"));
    assert!(scores.contains("derl_pop best") && scores.contains("evolution mean"));
    let success = read(&files.success_svg);
    for label in ["validation", "test", "ood", "environment steps", "×"] {
        assert!(success.contains(label), "success.svg lacks {label}");
    }
    // report.md keeps the summary table and links the charts.
    assert!(markdown.starts_with(&summary().markdown()));
    assert!(markdown.contains("(report/scores.svg)") && markdown.contains("(report/index.html)"));
    assert!(markdown.contains("### derl_pop"));
    // The search cost: DERL's best (0.55) comes with its last program; evolution never
    // reaches it; the synthetic run has no timings.jsonl.
    assert!(markdown.contains("## Search cost"), "{markdown}");
    assert!(
        markdown.contains("| derl | 6000 | - | 6000 |"),
        "{markdown}"
    );
    assert!(
        markdown.contains("| evolution | 6000 | - | never |"),
        "{markdown}"
    );
    assert!(
        markdown.contains("| 3 | 0.550 | 0.525 | 0 | 2000 |"),
        "{markdown}"
    );
    // A second report replaces the first.
    assert_eq!(write_report(&dir).unwrap(), files);
}

#[test]
fn an_unfinished_run_gets_charts_of_what_exists_and_a_note() {
    let dir = run_dir("unfinished", 2, false);
    let files = write_report(&dir).unwrap();
    let (html, markdown) = check_files(&files);
    assert!(
        html.contains("This run is unfinished: 2 of 3 outer iterations recorded"),
        "{html}"
    );
    assert!(!html.contains("<h2>Summary</h2>"));
    assert!(markdown.contains("(unfinished)"));
    assert!(read(&files.success_svg).contains("not run yet"));
    assert!(read(&files.scores_svg).contains("(unfinished)"));
}

#[test]
fn a_run_without_any_iteration_still_gets_a_report() {
    let dir = run_dir("empty", 0, false);
    std::fs::remove_file(dir.join(METRICS_FILE)).unwrap();
    std::fs::remove_file(dir.join(TRAJECTORY_FILE)).unwrap();
    std::fs::remove_file(dir.join(MANIFEST_FILE)).unwrap();
    let files = write_report(&dir).unwrap();
    check_files_without_programs(&files);
    assert!(read(&files.scores_svg).contains("no outer iteration recorded yet"));
}

fn check_files_without_programs(files: &ReportFiles) {
    for path in files.all() {
        assert!(path.is_file(), "{} is missing", path.display());
    }
    let html = read(&files.index_html);
    assert!(html.contains("0 of 3 outer iterations"), "{html}");
    assert!(!html.contains("http"));
}

#[test]
fn a_damaged_line_is_named_by_file_and_line() {
    let dir = run_dir("damaged", 2, false);
    let path = dir.join(TRAJECTORY_FILE);
    let mut text = read(&path);
    let second = text.lines().nth(1).unwrap().to_owned();
    text = text.replacen(&second, &second[..second.len() / 2], 1);
    std::fs::write(&path, text).unwrap();
    let error = format!("{:#}", write_report(&dir).unwrap_err());
    assert!(error.contains("trajectory.jsonl line 2:"), "{error}");
    assert!(!dir.join("report").join("index.html").exists());

    let dir = run_dir("damaged-summary", 1, true);
    std::fs::write(dir.join(SUMMARY_FILE), "{").unwrap();
    let error = format!("{:#}", write_report(&dir).unwrap_err());
    assert!(error.contains("summary.json"), "{error}");
}

#[test]
fn a_missing_or_foreign_directory_is_an_error() {
    let dir = scratch("missing").join("absent");
    let error = format!("{:#}", write_report(&dir).unwrap_err());
    assert!(
        error.contains("absent") && error.contains("does not exist"),
        "{error}"
    );
    let dir = scratch("foreign");
    let error = format!("{:#}", write_report(&dir).unwrap_err());
    assert!(error.contains("no config.toml"), "{error}");
}
