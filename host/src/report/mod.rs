//! `derl report DIR`: charts, a markdown summary and a self-contained HTML
//! page built from a run directory's records.
//!
//! Data flows one way: the report only reads what the runner wrote
//! (`config.toml`, `manifest.json`, `metrics.jsonl`, `trajectory.jsonl`,
//! `summary.json`) and writes into `DIR/report/` plus `DIR/report.md`; it
//! never changes a record. An unfinished run gets the charts of what exists
//! and a note saying so.
//!
//! - [`series`]: the pure extraction of chart data from the records.
//! - [`charts`]: the SVG and PNG charts (plotters; text in PNGs drawn with
//!   the embedded DejaVu Sans through ab_glyph, no system fonts).
//! - [`html`]: `index.html` (inline SVGs, inline CSS, no script, no external
//!   reference) and HTML escaping.

pub mod charts;
pub mod html;
pub mod landscape;
pub mod series;

use crate::experiment::{ExperimentConfig, write_atomic};
use crate::outer::layout::{
    MANIFEST_FILE, METRICS_FILE, REPORT_FILE, SUMMARY_FILE, TIMINGS_FILE, TRAJECTORY_FILE,
};
use crate::outer::{
    Manifest, MetricRow, Summary, TimingRow, TrajectoryRow, read_config, read_jsonl, read_summary,
};
use anyhow::{Context, bail};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// The folder of a run directory that holds the charts and `index.html`.
pub const REPORT_DIR: &str = "report";
/// Search score per outer iteration (SVG).
pub const SCORES_SVG: &str = "scores.svg";
/// Search score per outer iteration (PNG).
pub const SCORES_PNG: &str = "scores.png";
/// Final success and best-so-far score against environment steps (SVG).
pub const SUCCESS_SVG: &str = "success.svg";
/// Final success and best-so-far score against environment steps (PNG).
pub const SUCCESS_PNG: &str = "success.png";
/// The page that shows everything together.
pub const INDEX_HTML: &str = "index.html";

/// Everything a report is built from, read from a run directory.
#[derive(Clone, Debug)]
pub struct RunRecords {
    /// The run directory.
    pub dir: PathBuf,
    /// The resolved configuration (`config.toml`).
    pub config: ExperimentConfig,
    /// `config.toml` as written.
    pub config_text: String,
    /// `manifest.json`, when written.
    pub manifest: Option<Manifest>,
    /// `metrics.jsonl` (empty when absent).
    pub metrics: Vec<MetricRow>,
    /// `trajectory.jsonl` (empty when absent).
    pub trajectory: Vec<TrajectoryRow>,
    /// `timings.jsonl` (empty when absent): wall times, not part of the results.
    pub timings: Vec<TimingRow>,
    /// `summary.json`, present when the run finished.
    pub summary: Option<Summary>,
}

impl RunRecords {
    /// Reads the records of the run in `dir`. Missing `.jsonl` files and a
    /// missing `manifest.json` or `summary.json` are an unfinished run, not
    /// an error.
    ///
    /// # Errors
    /// `dir` does not exist or holds no `config.toml`; a file cannot be
    /// read; a damaged line of a `.jsonl` file (the message names the file
    /// and the line) or a damaged JSON file.
    pub fn read(dir: &Path) -> anyhow::Result<RunRecords> {
        if !dir.is_dir() {
            bail!("{} does not exist or is not a directory", dir.display());
        }
        let (config, config_text) = read_config(dir)?;
        let manifest_path = dir.join(MANIFEST_FILE);
        let manifest = match read_optional(&manifest_path)? {
            Some(text) => Some(
                serde_json::from_str(&text)
                    .with_context(|| format!("{} is damaged", manifest_path.display()))?,
            ),
            None => None,
        };
        let summary = if dir.join(SUMMARY_FILE).exists() {
            Some(read_summary(dir)?)
        } else {
            None
        };
        Ok(RunRecords {
            dir: dir.to_owned(),
            config,
            config_text,
            manifest,
            metrics: read_jsonl(&dir.join(METRICS_FILE))?,
            trajectory: read_jsonl(&dir.join(TRAJECTORY_FILE))?,
            timings: read_jsonl(&dir.join(TIMINGS_FILE))?,
            summary,
        })
    }

    /// Whether the run finished (its final evaluation is recorded).
    pub fn finished(&self) -> bool {
        self.summary.is_some()
    }

    /// Outer iterations recorded in `trajectory.jsonl`.
    pub fn completed_iterations(&self) -> u32 {
        self.trajectory
            .iter()
            .map(|row| row.iteration + 1)
            .max()
            .unwrap_or(0)
    }

    /// The note shown for an unfinished run (`None` when finished).
    pub fn unfinished_note(&self) -> Option<String> {
        if self.finished() {
            return None;
        }
        Some(format!(
            "This run is unfinished: {} of {} outer iterations recorded and no final \
             evaluation yet; `derl run --resume {}` finishes it.",
            self.completed_iterations(),
            self.planned_iterations(),
            self.dir.display()
        ))
    }

    /// Outer iterations the configuration asks for (0 without a search method).
    pub fn planned_iterations(&self) -> u32 {
        if self.config.search_methods().is_empty() {
            0
        } else {
            self.config.outer.iterations
        }
    }
}

/// The files a report wrote.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReportFiles {
    /// `DIR/report/`.
    pub dir: PathBuf,
    /// `DIR/report/scores.svg`.
    pub scores_svg: PathBuf,
    /// `DIR/report/scores.png`.
    pub scores_png: PathBuf,
    /// `DIR/report/success.svg`.
    pub success_svg: PathBuf,
    /// `DIR/report/success.png`.
    pub success_png: PathBuf,
    /// `DIR/report/index.html`.
    pub index_html: PathBuf,
    /// `DIR/report.md`.
    pub markdown: PathBuf,
}

impl ReportFiles {
    /// Every file, in the order they are listed to the user.
    pub fn all(&self) -> [&Path; 6] {
        [
            &self.index_html,
            &self.markdown,
            &self.scores_svg,
            &self.scores_png,
            &self.success_svg,
            &self.success_png,
        ]
    }
}

/// Reads the run in `dir` and writes its report: the charts and
/// `index.html` into `DIR/report/`, and `DIR/report.md`.
///
/// # Errors
/// As [`RunRecords::read`], or a chart or file that cannot be written.
pub fn write_report(dir: &Path) -> anyhow::Result<ReportFiles> {
    write(&RunRecords::read(dir)?)
}

/// Writes the report of `records` (see [`write_report`]). Every file is
/// written atomically.
///
/// # Errors
/// A chart that cannot be drawn or a file that cannot be written.
pub fn write(records: &RunRecords) -> anyhow::Result<ReportFiles> {
    let out = records.dir.join(REPORT_DIR);
    std::fs::create_dir_all(&out).with_context(|| format!("cannot create {}", out.display()))?;
    let files = ReportFiles {
        scores_svg: out.join(SCORES_SVG),
        scores_png: out.join(SCORES_PNG),
        success_svg: out.join(SUCCESS_SVG),
        success_png: out.join(SUCCESS_PNG),
        index_html: out.join(INDEX_HTML),
        markdown: records.dir.join(REPORT_FILE),
        dir: out,
    };
    let scores = charts::ScoresFigure::of(records);
    let success = charts::SuccessFigure::of(records);
    let scores_svg = charts::svg(&scores)?;
    let success_svg = charts::svg(&success)?;
    write_atomic(&files.scores_svg, scores_svg.as_bytes())?;
    write_atomic(&files.success_svg, success_svg.as_bytes())?;
    charts::png(&scores, &files.scores_png)?;
    charts::png(&success, &files.success_png)?;
    let page = html::index(records, &scores_svg, &success_svg);
    write_atomic(&files.index_html, page.as_bytes())?;
    write_atomic(&files.markdown, markdown(records).as_bytes())?;
    Ok(files)
}

/// `report.md`: the summary table (or the unfinished note), links to the
/// charts, and the best program of every outer iteration per method.
pub fn markdown(records: &RunRecords) -> String {
    let mut text = match &records.summary {
        Some(summary) => summary.markdown(),
        None => format!(
            "# {}: DERL on `{}` (unfinished)\n\n{}\n",
            records.config.experiment.name,
            records.config.env.component,
            records.unfinished_note().unwrap_or_default()
        ),
    };
    let _ = write!(
        text,
        "\n## Charts\n\n\
         Everything together, readable offline: [{REPORT_DIR}/{INDEX_HTML}]({REPORT_DIR}/{INDEX_HTML}).\n\n\
         ![search score per outer iteration]({REPORT_DIR}/{SCORES_SVG})\n\n\
         ![success per method]({REPORT_DIR}/{SUCCESS_SVG})\n\n\
         PNG versions: [{SCORES_PNG}]({REPORT_DIR}/{SCORES_PNG}), \
         [{SUCCESS_PNG}]({REPORT_DIR}/{SUCCESS_PNG}).\n"
    );
    let trajectories =
        series::trajectories(&records.trajectory, &records.config.experiment.methods);
    if !trajectories.is_empty() {
        text.push_str("\n## Best program per iteration\n");
    }
    for trajectory in &trajectories {
        let _ = write!(
            text,
            "\n### {}\n\n| iteration | best | mean | invalid | env steps | best program |\n\
             |---|---|---|---|---|---|\n",
            trajectory.method
        );
        for row in &trajectory.rows {
            let _ = writeln!(
                text,
                "| {} | {:.3} | {:.3} | {} | {} | `{}` |",
                row.iteration + 1,
                row.best,
                row.mean,
                row.invalid,
                row.env_steps,
                row.best_program.replace('|', "\\|").replace('`', "'")
            );
        }
    }
    text.push_str(&search_cost(records));
    text.push_str(&landscape::markdown(
        &records.config,
        &records.metrics,
        records.manifest.as_ref().map(|m| &m.environment),
    ));
    text
}

/// Per method: search environment steps, inner-loop wall time (from `timings.jsonl`), and
/// the search steps spent before a program first scored at least DERL's best search score
/// (what DERL-pop's warm starts are meant to save). Empty without a search method.
fn search_cost(records: &RunRecords) -> String {
    let curves = series::step_curves(&records.metrics, &records.config.experiment.methods);
    if curves.is_empty() {
        return String::new();
    }
    let derl_best = curves
        .iter()
        .find(|curve| curve.method == crate::experiment::Method::DERL)
        .and_then(|curve| curve.points.last())
        .map(|&(_, best)| best);
    let mut text = String::from(
        "\n## Search cost\n\n| method | search env steps | inner-loop wall time (search and final) |",
    );
    match derl_best {
        Some(best) => {
            let _ = write!(
                text,
                " search steps to reach DERL's best ({best:.3}) |\n|---|---|---|---|\n"
            );
        }
        None => text.push_str("\n|---|---|---|\n"),
    }
    for curve in &curves {
        let steps = curve.points.last().map_or(0, |&(steps, _)| steps);
        let seconds: Vec<f64> = records
            .timings
            .iter()
            .filter(|row| row.method == Some(curve.method))
            .map(|row| row.wall_seconds)
            .collect();
        let wall = if seconds.is_empty() {
            "-".to_owned()
        } else {
            format!("{:.1} min", seconds.iter().sum::<f64>() / 60.0)
        };
        let _ = write!(text, "| {} | {steps} | {wall} |", curve.method);
        if let Some(best) = derl_best {
            let reached = series::steps_to_reach(curve, best)
                .map_or_else(|| "never".to_owned(), |steps| steps.to_string());
            let _ = write!(text, " {reached} |");
        }
        text.push('\n');
    }
    text
}

/// The text of `path`, or `None` when it does not exist.
fn read_optional(path: &Path) -> anyhow::Result<Option<String>> {
    match std::fs::read_to_string(path) {
        Ok(text) => Ok(Some(text)),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(error) => Err(error).with_context(|| format!("cannot read {}", path.display())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scratch(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("derl-report-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn jsonl_errors_name_the_file_and_the_line() {
        let dir = scratch("jsonl");
        let path = dir.join("rows.jsonl");
        std::fs::write(&path, "1\n\n2\n{oops\n").unwrap();
        let error = read_jsonl::<u32>(&path).unwrap_err().to_string();
        assert!(error.contains("rows.jsonl line 4:"), "{error}");
        std::fs::write(&path, "1\n\n2\n").unwrap();
        assert_eq!(read_jsonl::<u32>(&path).unwrap(), vec![1, 2]);
        assert!(
            read_jsonl::<u32>(&dir.join("absent.jsonl"))
                .unwrap()
                .is_empty()
        );
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn a_missing_directory_is_named() {
        let dir = scratch("missing").join("nowhere");
        let error = RunRecords::read(&dir).unwrap_err().to_string();
        assert!(
            error.contains("nowhere") && error.contains("does not exist"),
            "{error}"
        );
        let empty = scratch("empty");
        let error = format!("{:#}", RunRecords::read(&empty).unwrap_err());
        assert!(error.contains("config.toml"), "{error}");
        std::fs::remove_dir_all(empty).unwrap();
    }
}
