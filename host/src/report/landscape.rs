//! The landscape table of a run with the `landscape` method: every panel
//! program's success per split (mean and 95% confidence interval over the
//! search seeds), and the **headroom**: how far the best program is above
//! the better of outcome-only and the equal-weight sum, with its interval.

use crate::experiment::{ExperimentConfig, Method, ScoreMode};
use crate::outer::{EnvInfo, MetricRow, Phase};
use derl_env_api::Split;
use std::collections::BTreeMap;
use std::fmt::Write as _;

/// One program's success on one split over its seeds.
#[derive(Clone, Debug, PartialEq)]
pub struct Interval {
    /// Mean over seeds.
    pub mean: f64,
    /// Half-width of the 95% t-interval (0 with one seed).
    pub half_width: f64,
    /// Seeds.
    pub n: usize,
}

impl Interval {
    /// The mean and 95% t-interval of `values`.
    pub fn of(values: &[f64]) -> Interval {
        let n = values.len();
        let mean = values.iter().sum::<f64>() / n.max(1) as f64;
        if n < 2 {
            return Interval {
                mean,
                half_width: 0.0,
                n,
            };
        }
        let variance = values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1) as f64;
        Interval {
            mean,
            half_width: t_975(n - 1) * (variance / n as f64).sqrt(),
            n,
        }
    }

    /// The standard error the half-width came from.
    fn standard_error(&self) -> f64 {
        if self.n < 2 {
            0.0
        } else {
            self.half_width / t_975(self.n - 1)
        }
    }
}

/// The 97.5% quantile of Student's t with `df` degrees of freedom.
fn t_975(df: usize) -> f64 {
    const TABLE: [f64; 30] = [
        12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.160,
        2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086, 2.080, 2.074, 2.069, 2.064, 2.060, 2.056,
        2.052, 2.048, 2.045, 2.042,
    ];
    match df {
        0 => f64::NAN,
        1..=30 => TABLE[df - 1],
        _ => 1.96,
    }
}

/// Per normalized program (in panel order), its interval on each split.
pub fn landscape(
    config: &ExperimentConfig,
    metrics: &[MetricRow],
) -> Vec<(String, Vec<(Split, Interval)>)> {
    let rows: Vec<&MetricRow> = metrics
        .iter()
        .filter(|row| row.phase == Phase::Search && row.method == Method::LANDSCAPE)
        .collect();
    let mut order: Vec<String> = Vec::new();
    let mut values: BTreeMap<(String, Split), Vec<f64>> = BTreeMap::new();
    let mut seen_seeds: BTreeMap<String, Vec<u64>> = BTreeMap::new();
    for row in rows {
        let program = row
            .normalized
            .clone()
            .unwrap_or_else(|| row.program.clone());
        let seeds = seen_seeds.entry(program.clone()).or_default();
        if seeds.contains(&row.seed) {
            continue; // proposed again after the panel wrapped: the same inner loop
        }
        seeds.push(row.seed);
        if !order.contains(&program) {
            order.push(program.clone());
        }
        for &split in &config.final_eval.splits {
            let success = row.evaluation.as_ref().and_then(|evaluation| {
                evaluation.splits.iter().find(|s| s.0 == split).map(|s| {
                    match config.outer.score_mode {
                        ScoreMode::Greedy => s.1,
                        ScoreMode::Sampled => s.2,
                    }
                })
            });
            // An invalid program trained nothing: it succeeds nowhere.
            values
                .entry((program.clone(), split))
                .or_default()
                .push(success.unwrap_or(0.0));
        }
    }
    order
        .into_iter()
        .map(|program| {
            let splits = config
                .final_eval
                .splits
                .iter()
                .map(|&split| {
                    let v = values
                        .get(&(program.clone(), split))
                        .cloned()
                        .unwrap_or_default();
                    (split, Interval::of(&v))
                })
                .collect();
            (program, splits)
        })
        .collect()
}

/// The landscape section of `report.md`; empty without landscape rows.
/// The headroom needs the run's environment (`manifest.json`).
pub fn markdown(config: &ExperimentConfig, metrics: &[MetricRow], env: Option<&EnvInfo>) -> String {
    let table = landscape(config, metrics);
    if table.is_empty() {
        return String::new();
    }
    let splits = &config.final_eval.splits;
    let seeds = table
        .iter()
        .flat_map(|(_, s)| s.iter().map(|(_, i)| i.n))
        .max()
        .unwrap_or(0);
    let mut text = format!(
        "\n## Landscape\n\n{} programs x {seeds} seeds at the experiment's inner budget; success \
         ({}) as mean [95% t-interval over seeds, clipped to [0, 1]]; the score split is \
         `{}`.\n\n| program |",
        table.len(),
        match config.outer.score_mode {
            ScoreMode::Greedy => "greedy",
            ScoreMode::Sampled => "sampled",
        },
        config.outer.score_split.name()
    );
    for split in splits {
        let _ = write!(text, " {} |", split.name());
    }
    text.push_str("\n|---|");
    text.push_str(&"---|".repeat(splits.len()));
    text.push('\n');
    let mut sorted = table.clone();
    let score_at = |row: &(String, Vec<(Split, Interval)>)| {
        row.1
            .iter()
            .find(|(s, _)| *s == config.outer.score_split)
            .map_or(0.0, |(_, i)| i.mean)
    };
    sorted.sort_by(|a, b| score_at(b).total_cmp(&score_at(a)));
    for (program, intervals) in &sorted {
        let _ = write!(text, "| `{}` |", program.replace('|', "\\|"));
        for (_, interval) in intervals {
            let _ = write!(text, " {} |", cell(interval));
        }
        text.push('\n');
    }
    if let Some(env) = env {
        let (outcome, heuristic) = (env.outcome_program(), env.heuristic_program());
        for &split in splits {
            if let Some(line) = headroom(&table, split, &env.primitives, &outcome, &heuristic) {
                text.push_str(&line);
            }
        }
    }
    text
}

/// `mean [low, high]`, the interval clipped to the [0, 1] a success rate
/// lives in.
fn cell(interval: &Interval) -> String {
    format!(
        "{:.3} [{:.3}, {:.3}]",
        interval.mean,
        (interval.mean - interval.half_width).max(0.0),
        (interval.mean + interval.half_width).min(1.0)
    )
}

/// The headroom line for `split`: the best program's mean minus the better
/// of outcome-only and the heuristic, with a 95% interval from both
/// programs' standard errors (degrees of freedom of the smaller sample).
fn headroom(
    table: &[(String, Vec<(Split, Interval)>)],
    split: Split,
    primitives: &[String],
    outcome: &str,
    heuristic: &str,
) -> Option<String> {
    let names: Vec<&str> = primitives.iter().map(String::as_str).collect();
    let normalize = |program: &str| {
        derl_lang::parse(program, &names)
            .map(|p| p.normalized())
            .unwrap_or_else(|_| program.to_owned())
    };
    let at = |program: &str| -> Option<Interval> {
        let key = normalize(program);
        table
            .iter()
            .find(|(p, _)| *p == key)
            .and_then(|(_, s)| s.iter().find(|(s, _)| *s == split))
            .map(|(_, i)| i.clone())
    };
    let baseline = [at(outcome), at(heuristic)]
        .into_iter()
        .flatten()
        .max_by(|a, b| a.mean.total_cmp(&b.mean))?;
    // The first of the best (panel order), as the runner breaks ties.
    let (best_program, best) = table
        .iter()
        .filter_map(|(p, s)| s.iter().find(|(s, _)| *s == split).map(|(_, i)| (p, i)))
        .fold(
            None,
            |best: Option<(&String, &Interval)>, candidate| match best {
                Some(top) if top.1.mean >= candidate.1.mean => Some(top),
                _ => Some(candidate),
            },
        )?;
    let difference = best.mean - baseline.mean;
    let df = best.n.min(baseline.n).saturating_sub(1);
    let half = t_975(df.max(1))
        * (best.standard_error().powi(2) + baseline.standard_error().powi(2)).sqrt();
    Some(format!(
        "\nHeadroom on {}: the best program (`{best_program}`, {:.3}) minus the better of \
         outcome-only and the heuristic ({:.3}) = {difference:+.3} [{:+.3}, {:+.3}]{}\n",
        split.name(),
        best.mean,
        baseline.mean,
        difference - half,
        difference + half,
        if difference - half > 0.0 {
            "; above zero"
        } else {
            "; inside the noise"
        }
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn intervals_use_the_t_quantile_of_their_seeds() {
        let interval = Interval::of(&[0.2, 0.4, 0.6]);
        assert!((interval.mean - 0.4).abs() < 1e-12);
        // sd 0.2, se 0.2 / sqrt(3), t(2) = 4.303
        assert!((interval.half_width - 4.303 * 0.2 / 3f64.sqrt()).abs() < 1e-9);
        assert_eq!(Interval::of(&[0.5]).half_width, 0.0);
    }
}
