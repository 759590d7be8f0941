//! What a run records: one [`MetricRow`] per inner loop (`metrics.jsonl`),
//! one [`TrajectoryRow`] per method and outer iteration
//! (`trajectory.jsonl`), wall times apart ([`TimingRow`], `timings.jsonl`),
//! and the final comparison ([`Summary`], `summary.json`, `report.md`).
//!
//! `metrics.jsonl` and `trajectory.jsonl` hold no wall time and no absolute
//! path, so the same configuration and seed give byte-identical files on any
//! machine, with any number of workers, resumed or not.

use crate::experiment::Method;
use crate::inner::Evaluation;
use derl_env_api::Split;
use serde::{Deserialize, Serialize};
use std::fmt::Write as _;

/// Which part of a run an inner loop belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    /// The outer loop's search: the inner loop scores a proposed program.
    Search,
    /// The final evaluation: a fresh policy trained with a method's best program.
    Final,
}

/// One inner loop (a line of `metrics.jsonl`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MetricRow {
    /// Search or final evaluation.
    pub phase: Phase,
    /// The method that proposed the program.
    pub method: Method,
    /// Outer iteration (search only).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub iteration: Option<u32>,
    /// Position of the program in its group (search), 0 in the final phase.
    pub index: usize,
    /// Which of the phase's seeds (search: `outer.search_seeds`, final:
    /// `final.seeds`).
    pub seed_index: u32,
    /// The inner loop's seed.
    pub seed: u64,
    /// The program as proposed.
    pub program: String,
    /// Its normalized form (absent when it does not parse).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub normalized: Option<String>,
    /// The policy the inner loop started from (DERL-pop), by iteration.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub warm_start: Option<String>,
    /// Training updates of the inner loop.
    pub updates: u32,
    /// Whether the reward ran without fault.
    pub valid: bool,
    /// The score given to the outer loop (`outer.invalid_score` when invalid).
    pub score: f64,
    /// Success per evaluated split (valid only).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub evaluation: Option<Evaluation>,
    /// Environment steps of training and evaluation (0 when invalid).
    pub env_steps: u64,
    /// sha256 of the compiled reward component (valid only).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub reward_sha256: Option<String>,
    /// Why the program is invalid.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub error: Option<String>,
    /// Whether the result came from the run's cache (an identical inner loop
    /// ran before); its steps were not spent again.
    pub cached: bool,
}

/// One method's outer iteration (a line of `trajectory.jsonl`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TrajectoryRow {
    /// The method.
    pub method: Method,
    /// The iteration, from 0.
    pub iteration: u32,
    /// The group's programs, in sampling order.
    pub programs: Vec<String>,
    /// Their scores (mean over `outer.search_seeds`).
    pub scores: Vec<f64>,
    /// The best score of the group.
    pub best: f64,
    /// The program with the best score (first in the group on ties).
    pub best_program: String,
    /// The mean score of the group.
    pub mean: f64,
    /// How many programs were invalid.
    pub invalid: usize,
    /// Environment steps spent by the iteration (cached inner loops excluded).
    pub env_steps: u64,
    /// The policy DERL-pop's inner loops started from.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub warm_start: Option<String>,
    /// Statistics of the Meta-Optimizer's GRPO update (DERL, DERL-pop).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub update: Option<serde_json::Value>,
}

/// Wall times (a line of `timings.jsonl`): either one inner loop or one stage.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TimingRow {
    /// `iteration N` or `final`.
    pub stage: String,
    /// The inner loop's method (absent for a whole stage).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub method: Option<Method>,
    /// The inner loop's position in its group.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub index: Option<usize>,
    /// The inner loop's seed index.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub seed_index: Option<u32>,
    /// Wall-clock seconds.
    pub wall_seconds: f64,
}

/// Mean and spread of one split's final success over seeds.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SplitResult {
    /// The split.
    pub split: Split,
    /// Mean success over the seeds whose inner loop was valid.
    pub mean: f64,
    /// Sample standard deviation (0 with one seed).
    pub std: f64,
    /// Success per seed.
    pub values: Vec<f64>,
}

/// One method's line of the comparison.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MethodSummary {
    /// The method.
    pub method: Method,
    /// Its best program (normalized when it parses).
    pub program: String,
    /// The program's best search score (search methods).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub search_score: Option<f64>,
    /// Inner loops run by the search (cached ones included).
    pub search_inner_loops: usize,
    /// Invalid programs met by the search.
    pub search_invalid: usize,
    /// Environment steps spent by the search.
    pub search_env_steps: u64,
    /// Environment steps of the final evaluation.
    pub final_env_steps: u64,
    /// Final success per split (greedy or sampled per `outer.score_mode`).
    pub splits: Vec<SplitResult>,
    /// Final inner loops whose reward failed.
    pub final_invalid: usize,
}

impl MethodSummary {
    /// The best search score to three decimals, `-` for a method without a search.
    pub fn search_score_text(&self) -> String {
        self.search_score
            .map_or_else(|| "-".to_owned(), |score| format!("{score:.3}"))
    }
}

/// The comparison of a finished run (`summary.json`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    /// `experiment.name`.
    pub name: String,
    /// The environment component.
    pub env: String,
    /// Names of the primitives `g1..gN`.
    pub primitives: Vec<String>,
    /// Outer iterations run.
    pub iterations: u32,
    /// Programs per iteration.
    pub group_size: usize,
    /// Fresh policies per method in the final evaluation.
    pub final_seeds: u32,
    /// One line per method, in configuration order.
    pub methods: Vec<MethodSummary>,
}

/// The rows of a `.jsonl` record file; a missing file has none.
///
/// # Errors
/// A read failure, or a damaged line (the message names the file and the line).
pub fn read_jsonl<T: serde::de::DeserializeOwned>(
    path: &std::path::Path,
) -> anyhow::Result<Vec<T>> {
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(error) => anyhow::bail!("cannot read {}: {error}", path.display()),
    };
    text.lines()
        .enumerate()
        .filter(|(_, line)| !line.trim().is_empty())
        .map(|(index, line)| {
            serde_json::from_str(line)
                .map_err(|error| anyhow::anyhow!("{} line {}: {error}", path.display(), index + 1))
        })
        .collect()
}

/// Mean and sample standard deviation.
pub fn mean_std(values: &[f64]) -> (f64, f64) {
    if values.is_empty() {
        return (0.0, 0.0);
    }
    let n = values.len() as f64;
    let mean = values.iter().sum::<f64>() / n;
    if values.len() < 2 {
        return (mean, 0.0);
    }
    let variance = values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1.0);
    (mean, variance.sqrt())
}

impl Summary {
    /// The splits of the final evaluation, in order.
    fn splits(&self) -> Vec<Split> {
        self.methods
            .first()
            .map(|m| m.splits.iter().map(|s| s.split).collect())
            .unwrap_or_default()
    }

    /// The comparison as a plain-text table for a terminal.
    pub fn table(&self) -> String {
        let splits = self.splits();
        let mut header: Vec<String> = vec!["method".into(), "best program".into()];
        header.extend(splits.iter().map(|s| s.name().to_owned()));
        header.push("search score".into());
        header.push("env steps".into());
        let mut rows = vec![header];
        for method in &self.methods {
            let mut row = vec![method.method.name().to_owned(), method.program.clone()];
            row.extend(method.splits.iter().map(split_cell));
            row.push(method.search_score_text());
            row.push(steps_cell(method.search_env_steps + method.final_env_steps));
            rows.push(row);
        }
        let widths: Vec<usize> = (0..rows[0].len())
            .map(|column| {
                rows.iter()
                    .map(|r| r[column].chars().count())
                    .max()
                    .unwrap_or(0)
            })
            .collect();
        let mut text = String::new();
        for (index, row) in rows.iter().enumerate() {
            let line: Vec<String> = row
                .iter()
                .zip(&widths)
                .map(|(cell, width)| format!("{cell:<width$}"))
                .collect();
            let _ = writeln!(text, "{}", line.join("  ").trim_end());
            if index == 0 {
                let rule: Vec<String> = widths.iter().map(|w| "-".repeat(*w)).collect();
                let _ = writeln!(text, "{}", rule.join("  "));
            }
        }
        let _ = writeln!(
            text,
            "\nsuccess: mean ± std over {} fresh policies per method; primitives: {}",
            self.final_seeds,
            self.primitive_legend()
        );
        text
    }

    /// The comparison as a markdown document (`report.md`).
    pub fn markdown(&self) -> String {
        let splits = self.splits();
        let mut text = format!(
            "# {}: DERL on `{}`\n\n{} outer iterations of {} programs per search method; \
             final success is the mean ± std over {} fresh policies trained with each \
             method's best program.\n\nPrimitives: {}.\n\n",
            self.name,
            self.env,
            self.iterations,
            self.group_size,
            self.final_seeds,
            self.primitive_legend()
        );
        text.push_str("| method | best program |");
        for split in &splits {
            let _ = write!(text, " {} |", split.name());
        }
        text.push_str(
            " search score | invalid | env steps (search) | env steps (final) |\n|---|---|",
        );
        text.push_str(&"---|".repeat(splits.len() + 4));
        text.push('\n');
        for method in &self.methods {
            let _ = write!(text, "| {} | `{}` |", method.method.name(), method.program);
            for split in &method.splits {
                let _ = write!(text, " {} |", split_cell(split));
            }
            let _ = writeln!(
                text,
                " {} | {} | {} | {} |",
                method.search_score_text(),
                method.search_invalid,
                method.search_env_steps,
                method.final_env_steps
            );
        }
        text
    }

    fn primitive_legend(&self) -> String {
        self.primitives
            .iter()
            .enumerate()
            .map(|(index, name)| format!("g{}={name}", index + 1))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

fn split_cell(split: &SplitResult) -> String {
    if split.values.is_empty() {
        "invalid".to_owned()
    } else {
        format!("{:.3} ± {:.3}", split.mean, split.std)
    }
}

fn steps_cell(steps: u64) -> String {
    if steps >= 10_000_000 {
        format!("{:.1}M", steps as f64 / 1e6)
    } else if steps >= 10_000 {
        format!("{}k", steps / 1000)
    } else {
        steps.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mean_std_uses_the_sample_deviation() {
        assert_eq!(mean_std(&[]), (0.0, 0.0));
        assert_eq!(mean_std(&[0.5]), (0.5, 0.0));
        let (mean, std) = mean_std(&[1.0, 3.0]);
        assert_eq!(mean, 2.0);
        assert!((std - 2f64.sqrt()).abs() < 1e-12);
    }

    #[test]
    fn tables_show_every_method_and_split() {
        let summary = Summary {
            name: "t".into(),
            env: "corridor".into(),
            primitives: vec!["success".into(), "has_key".into()],
            iterations: 2,
            group_size: 4,
            final_seeds: 2,
            methods: vec![
                MethodSummary {
                    method: Method::DERL,
                    program: "g1 + 0.5*g2".into(),
                    search_score: Some(0.75),
                    search_inner_loops: 8,
                    search_invalid: 1,
                    search_env_steps: 12_345,
                    final_env_steps: 100,
                    splits: vec![SplitResult {
                        split: Split::Test,
                        mean: 0.5,
                        std: 0.1,
                        values: vec![0.4, 0.6],
                    }],
                    final_invalid: 0,
                },
                MethodSummary {
                    method: Method::OUTCOME_ONLY,
                    program: "g1".into(),
                    search_score: None,
                    search_inner_loops: 0,
                    search_invalid: 0,
                    search_env_steps: 0,
                    final_env_steps: 90,
                    splits: vec![SplitResult {
                        split: Split::Test,
                        mean: 0.0,
                        std: 0.0,
                        values: vec![],
                    }],
                    final_invalid: 2,
                },
            ],
        };
        let table = summary.table();
        assert!(table.contains("derl"), "{table}");
        assert!(table.contains("0.500 ± 0.100"), "{table}");
        assert!(table.contains("invalid"), "{table}");
        assert!(table.contains("12k"), "{table}");
        assert!(table.contains("g2=has_key"), "{table}");
        let markdown = summary.markdown();
        assert!(
            markdown.contains("| derl | `g1 + 0.5*g2` | 0.500 ± 0.100 | 0.750 | 1 | 12345 | 100 |"),
            "{markdown}"
        );
        assert!(
            markdown.contains("| outcome_only | `g1` | invalid | - |"),
            "{markdown}"
        );
    }
}
