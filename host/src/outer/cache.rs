//! The inner loops a run plans, and the cache that runs each distinct one
//! once.
//!
//! Within a run, an inner loop identical to one already run (same
//! normalized program, seed, update budget, warm start and evaluated
//! splits) is not run again: its row is copied with `cached: true`, and its
//! steps are not counted as spent. The cache is rebuilt from
//! `metrics.jsonl` on resume, so a resumed run hits it exactly as an
//! uninterrupted one.

use super::executor::{JobOutcome, JobReport};
use super::layout::HandedPolicy;
use super::records::{MetricRow, Phase};
use crate::experiment::{ExperimentConfig, Method};
use crate::inner::Evaluation;
use derl_env_api::Split;
use std::path::PathBuf;

/// One inner loop to run (or find in the cache).
#[derive(Clone, Debug)]
pub(crate) struct Plan {
    pub phase: Phase,
    pub method: Method,
    pub iteration: Option<u32>,
    pub index: usize,
    pub seed_index: u32,
    pub seed: u64,
    pub program: String,
    pub normalized: Option<String>,
    pub updates: u32,
    pub warm_start: Option<HandedPolicy>,
    /// Save the trained policy here (a method that hands over).
    pub checkpoint: Option<PathBuf>,
    pub splits: Vec<Split>,
}

impl Plan {
    /// Its cache key.
    pub(crate) fn key(&self) -> String {
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

/// A finished inner loop's result, as the cache keeps it.
#[derive(Clone, Debug)]
pub(crate) struct Outcome {
    pub valid: bool,
    pub evaluation: Option<Evaluation>,
    pub env_steps: u64,
    pub reward_sha256: Option<String>,
    pub error: Option<String>,
}

impl Outcome {
    /// The outcome an executor reported.
    pub(crate) fn of_report(report: &JobReport) -> Outcome {
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

    /// The outcome a metrics row records.
    pub(crate) fn of_row(row: &MetricRow) -> Outcome {
        Outcome {
            valid: row.valid,
            evaluation: row.evaluation.clone(),
            env_steps: row.env_steps,
            reward_sha256: row.reward_sha256.clone(),
            error: row.error.clone(),
        }
    }
}

/// The cache key of the inner loop a metrics row of `config`'s run records.
pub(crate) fn row_key(config: &ExperimentConfig, row: &MetricRow) -> String {
    let splits = match row.phase {
        Phase::Search => row.method.search_splits(config),
        Phase::Final => config.final_eval.splits.clone(),
    };
    cache_key(
        row.normalized.as_deref().unwrap_or(&row.program),
        row.seed,
        row.updates,
        row.warm_start.as_deref(),
        row.phase == Phase::Search && row.method.hand_over().is_some(),
        &splits,
    )
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

#[cfg(test)]
mod tests {
    use super::*;

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
