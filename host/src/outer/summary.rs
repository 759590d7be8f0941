//! How inner loops score their programs, which program each method takes to
//! the final evaluation, and the final per-method summary.

use super::cache::Outcome;
use super::env_info::EnvInfo;
use super::records::{
    MethodSummary, MetricRow, Phase, SplitResult, Summary, TrajectoryRow, mean_std,
};
use crate::experiment::{ExperimentConfig, Method, ScoreMode};
use crate::inner::Evaluation;
use anyhow::Context;
use derl_env_api::Split;

/// Success on `split` under `outer.score_mode`.
pub(crate) fn success(
    config: &ExperimentConfig,
    evaluation: &Evaluation,
    split: Split,
) -> Option<f64> {
    evaluation
        .splits
        .iter()
        .find(|s| s.0 == split)
        .map(|s| match config.outer.score_mode {
            ScoreMode::Greedy => s.1,
            ScoreMode::Sampled => s.2,
        })
}

/// The score an inner loop evaluated on `splits` gives its program: success
/// on `outer.score_split` (or the first split evaluated), or
/// `outer.invalid_score` for an invalid reward.
pub(crate) fn score(config: &ExperimentConfig, outcome: &Outcome, splits: &[Split]) -> f64 {
    if !outcome.valid {
        return config.outer.invalid_score;
    }
    let split = if splits.contains(&config.outer.score_split) {
        config.outer.score_split
    } else {
        splits.first().copied().unwrap_or(config.outer.score_split)
    };
    outcome
        .evaluation
        .as_ref()
        .and_then(|e| success(config, e, split))
        .unwrap_or(0.0)
}

/// The program `method` takes to the final evaluation: its fixed program,
/// or the search's best-scoring one (first found on ties).
pub(crate) fn best_program(
    env: &EnvInfo,
    trajectory: &[TrajectoryRow],
    method: Method,
) -> anyhow::Result<String> {
    if let Some(program) = method.fixed_program(env) {
        return Ok(program);
    }
    let mut best: Option<(f64, &str)> = None;
    for row in trajectory.iter().filter(|row| row.method == method) {
        for (program, &score) in row.programs.iter().zip(&row.scores) {
            if best.is_none_or(|(top, _)| score > top) {
                best = Some((score, program));
            }
        }
    }
    best.map(|(_, program)| program.to_owned())
        .with_context(|| format!("{method} has no scored program"))
}

/// Index of the largest value, the first on ties.
pub(crate) fn argmax(values: &[f64]) -> usize {
    let mut best = 0;
    for (index, &value) in values.iter().enumerate() {
        if value > values[best] {
            best = index;
        }
    }
    best
}

/// The summary of a finished run from its records.
pub(crate) fn summarize(
    config: &ExperimentConfig,
    env: &EnvInfo,
    metrics: &[MetricRow],
    trajectory: &[TrajectoryRow],
) -> anyhow::Result<Summary> {
    let normalize = |program: &str| {
        let names: Vec<&str> = env.primitives.iter().map(String::as_str).collect();
        derl_lang::parse(program, &names)
            .ok()
            .map(|p| p.normalized())
    };
    let mut methods = Vec::new();
    for &method in &config.experiment.methods {
        let program = best_program(env, trajectory, method)?;
        let rows = |phase: Phase| -> Vec<&MetricRow> {
            metrics
                .iter()
                .filter(|r| r.phase == phase && r.method == method)
                .collect()
        };
        let (search, finals) = (rows(Phase::Search), rows(Phase::Final));
        let search_score = method.is_search().then(|| {
            trajectory
                .iter()
                .filter(|row| row.method == method)
                .map(|row| row.best)
                .fold(f64::NEG_INFINITY, f64::max)
        });
        let splits = config
            .final_eval
            .splits
            .iter()
            .map(|&split| {
                let values: Vec<f64> = finals
                    .iter()
                    .filter_map(|row| row.evaluation.as_ref())
                    .filter_map(|evaluation| success(config, evaluation, split))
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
        let spent = |rows: &[&MetricRow]| -> u64 {
            rows.iter().filter(|r| !r.cached).map(|r| r.env_steps).sum()
        };
        methods.push(MethodSummary {
            method,
            program: normalize(&program).unwrap_or(program),
            search_score,
            search_inner_loops: search.len(),
            search_invalid: search.iter().filter(|r| !r.valid).count(),
            search_env_steps: spent(&search),
            final_env_steps: spent(&finals),
            splits,
            final_invalid: finals.iter().filter(|r| !r.valid).count(),
        });
    }
    Ok(Summary {
        name: config.experiment.name.clone(),
        env: env.component.clone(),
        primitives: env.primitives.clone(),
        iterations: if config.search_methods().is_empty() {
            0
        } else {
            config.outer.iterations
        },
        group_size: config.outer.group_size,
        final_seeds: config.final_eval.seeds,
        methods,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn argmax_takes_the_first_of_ties() {
        assert_eq!(argmax(&[0.1, 0.5, 0.5, -1.0]), 1);
        assert_eq!(argmax(&[-1.0]), 0);
    }
}
