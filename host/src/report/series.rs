//! Chart data extracted from a run's records: pure functions, no drawing.

use crate::experiment::Method;
use crate::outer::{MetricRow, Phase, Summary, TrajectoryRow};
use derl_env_api::Split;
use std::collections::BTreeMap;

/// One search method's outer iterations, in iteration order.
#[derive(Clone, Debug, PartialEq)]
pub struct MethodTrajectory {
    /// The method.
    pub method: Method,
    /// One row per iteration (the last one read wins if an iteration
    /// appears twice).
    pub rows: Vec<TrajectoryRow>,
}

impl MethodTrajectory {
    /// `(iteration from 1, best score)` per iteration.
    pub fn best(&self) -> Vec<(f64, f64)> {
        self.rows
            .iter()
            .map(|row| (f64::from(row.iteration) + 1.0, row.best))
            .collect()
    }

    /// `(iteration from 1, mean score)` per iteration.
    pub fn mean(&self) -> Vec<(f64, f64)> {
        self.rows
            .iter()
            .map(|row| (f64::from(row.iteration) + 1.0, row.mean))
            .collect()
    }
}

/// The trajectory of every method that has one: methods in `order` first
/// (the configuration's report order), then any other method in the rows.
pub fn trajectories(rows: &[TrajectoryRow], order: &[Method]) -> Vec<MethodTrajectory> {
    let mut by_method: BTreeMap<Method, BTreeMap<u32, &TrajectoryRow>> = BTreeMap::new();
    for row in rows {
        by_method
            .entry(row.method)
            .or_default()
            .insert(row.iteration, row);
    }
    ordered(order, by_method.keys().copied())
        .into_iter()
        .filter_map(|method| {
            let rows = by_method.get(&method)?;
            Some(MethodTrajectory {
                method,
                rows: rows.values().map(|row| (*row).clone()).collect(),
            })
        })
        .collect()
}

/// A search method's best score so far against the environment steps it
/// has spent: the success curve of a search.
#[derive(Clone, Debug, PartialEq)]
pub struct StepCurve {
    /// The method.
    pub method: Method,
    /// `(cumulative environment steps, best program score so far)`, one
    /// point per scored program, in the order the search proposed them.
    pub points: Vec<(u64, f64)>,
}

/// A program's search inner loops: score sum, inner loops, steps spent.
type ProgramTotals = (f64, u32, u64);

/// A method's final `(mean, std)` per split, `None` where invalid.
pub type SplitBars = Vec<Option<(f64, f64)>>;

/// The success curve of every search method with search inner loops in
/// `metrics`, methods in `order` first.
///
/// A program's score is the mean of its inner loops' scores (one per search
/// seed); its steps are those of its inner loops that actually ran (cached
/// ones cost nothing, as in `trajectory.jsonl`). Programs are taken in
/// iteration order, then in group order.
pub fn step_curves(metrics: &[MetricRow], order: &[Method]) -> Vec<StepCurve> {
    let mut programs: BTreeMap<Method, BTreeMap<(u32, usize), ProgramTotals>> = BTreeMap::new();
    for row in metrics.iter().filter(|row| row.phase == Phase::Search) {
        let entry = programs
            .entry(row.method)
            .or_default()
            .entry((row.iteration.unwrap_or(0), row.index))
            .or_insert((0.0, 0, 0));
        entry.0 += row.score;
        entry.1 += 1;
        if !row.cached {
            entry.2 += row.env_steps;
        }
    }
    ordered(order, programs.keys().copied())
        .into_iter()
        .filter_map(|method| {
            let mut steps = 0u64;
            let mut best = f64::NEG_INFINITY;
            let points = programs
                .get(&method)?
                .values()
                .map(|&(sum, count, spent)| {
                    steps += spent;
                    best = best.max(sum / f64::from(count.max(1)));
                    (steps, best)
                })
                .collect();
            Some(StepCurve { method, points })
        })
        .collect()
}

/// The cumulative steps at which `curve` first reached `target`, if it did.
pub fn steps_to_reach(curve: &StepCurve, target: f64) -> Option<u64> {
    curve
        .points
        .iter()
        .find(|&&(_, best)| best >= target)
        .map(|&(steps, _)| steps)
}

/// One method's final success per split: `(mean, std)`, `None` when every
/// final inner loop of the method was invalid.
#[derive(Clone, Debug, PartialEq)]
pub struct FinalBars {
    /// The splits, in the summary's order.
    pub splits: Vec<Split>,
    /// Per method (summary order), one entry per split of `splits`.
    pub methods: Vec<(Method, SplitBars)>,
}

impl FinalBars {
    /// The final evaluation of `summary`.
    pub fn of(summary: &Summary) -> FinalBars {
        let mut splits: Vec<Split> = Vec::new();
        for method in &summary.methods {
            for result in &method.splits {
                if !splits.contains(&result.split) {
                    splits.push(result.split);
                }
            }
        }
        let methods = summary
            .methods
            .iter()
            .map(|method| {
                let values = splits
                    .iter()
                    .map(|split| {
                        method
                            .splits
                            .iter()
                            .find(|result| result.split == *split && !result.values.is_empty())
                            .map(|result| (result.mean, result.std))
                    })
                    .collect();
                (method.method, values)
            })
            .collect();
        FinalBars { splits, methods }
    }

    /// The highest `mean + std` (0 when nothing is valid).
    pub fn top(&self) -> f64 {
        self.methods
            .iter()
            .flat_map(|(_, values)| values.iter().flatten())
            .map(|(mean, std)| mean + std)
            .fold(0.0, f64::max)
    }
}

/// `order`, then the methods of `present` that `order` lacks.
fn ordered(order: &[Method], present: impl Iterator<Item = Method>) -> Vec<Method> {
    let mut methods = order.to_vec();
    for method in present {
        if !methods.contains(&method) {
            methods.push(method);
        }
    }
    methods
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::outer::{MethodSummary, SplitResult};

    fn trajectory_row(method: Method, iteration: u32, best: f64, mean: f64) -> TrajectoryRow {
        TrajectoryRow {
            method,
            iteration,
            programs: vec!["g1".into(), "g2".into()],
            scores: vec![best, 2.0 * mean - best],
            best,
            best_program: format!("g{}", iteration + 1),
            mean,
            invalid: 0,
            env_steps: 100,
            warm_start: None,
            update: None,
        }
    }

    fn metric_row(
        method: Method,
        iteration: u32,
        index: usize,
        seed_index: u32,
        score: f64,
        steps: u64,
        cached: bool,
    ) -> MetricRow {
        MetricRow {
            phase: Phase::Search,
            method,
            iteration: Some(iteration),
            index,
            seed_index,
            seed: u64::from(seed_index),
            program: "g1".into(),
            normalized: Some("g1".into()),
            warm_start: None,
            updates: 3,
            valid: true,
            score,
            evaluation: None,
            env_steps: steps,
            reward_sha256: None,
            error: None,
            cached,
        }
    }

    #[test]
    fn steps_to_reach_is_the_first_point_at_or_above_the_target() {
        let curve = StepCurve {
            method: Method::DERL_POP,
            points: vec![(10, 0.2), (25, 0.5), (40, 0.7)],
        };
        assert_eq!(steps_to_reach(&curve, 0.5), Some(25));
        assert_eq!(steps_to_reach(&curve, 0.1), Some(10));
        assert_eq!(steps_to_reach(&curve, 0.8), None);
    }

    #[test]
    fn trajectories_follow_the_configured_order_and_sort_iterations() {
        let rows = vec![
            trajectory_row(Method::EVOLUTION, 1, 0.5, 0.25),
            trajectory_row(Method::DERL, 1, 0.75, 0.5),
            trajectory_row(Method::DERL, 0, 0.5, 0.0),
            trajectory_row(Method::EVOLUTION, 0, 0.25, 0.0),
            trajectory_row(Method::UNTRAINED, 0, 0.0, -0.5),
        ];
        let series = trajectories(
            &rows,
            &[Method::EVOLUTION, Method::OUTCOME_ONLY, Method::DERL],
        );
        let methods: Vec<Method> = series.iter().map(|s| s.method).collect();
        // Untrained is not in the order but has rows: it comes last.
        assert_eq!(
            methods,
            vec![Method::EVOLUTION, Method::DERL, Method::UNTRAINED]
        );
        assert_eq!(series[1].best(), vec![(1.0, 0.5), (2.0, 0.75)]);
        assert_eq!(series[1].mean(), vec![(1.0, 0.0), (2.0, 0.5)]);
        assert_eq!(series[2].best(), vec![(1.0, 0.0)]);
    }

    #[test]
    fn a_repeated_iteration_keeps_the_last_row() {
        let rows = vec![
            trajectory_row(Method::DERL, 0, 0.5, 0.0),
            trajectory_row(Method::DERL, 0, 0.75, 0.25),
        ];
        let series = trajectories(&rows, &[Method::DERL]);
        assert_eq!(series[0].best(), vec![(1.0, 0.75)]);
    }

    #[test]
    fn step_curves_average_seeds_skip_cached_steps_and_keep_the_best() {
        let metrics = vec![
            // Iteration 0: program 0 on two seeds (mean 0.5), program 1 (0.25).
            metric_row(Method::DERL, 0, 0, 0, 0.25, 10, false),
            metric_row(Method::DERL, 0, 0, 1, 0.75, 10, false),
            metric_row(Method::DERL, 0, 1, 0, 0.25, 30, false),
            metric_row(Method::DERL, 0, 1, 1, 0.25, 30, false),
            // Iteration 1: a cached repeat costs nothing; a better program.
            metric_row(Method::DERL, 1, 0, 0, 0.5, 10, true),
            metric_row(Method::DERL, 1, 0, 1, 0.5, 10, true),
            metric_row(Method::DERL, 1, 1, 0, 1.0, 5, false),
            metric_row(Method::DERL, 1, 1, 1, 0.5, 5, false),
            // DERL-pop spends fewer steps for the same scores.
            metric_row(Method::DERL_POP, 0, 0, 0, 0.5, 4, false),
        ];
        let mut with_final = metrics.clone();
        let mut final_row = metric_row(Method::DERL, 0, 0, 0, 1.0, 1000, false);
        final_row.phase = Phase::Final;
        final_row.iteration = None;
        with_final.push(final_row);
        let curves = step_curves(&with_final, &[Method::DERL, Method::DERL_POP]);
        assert_eq!(curves.len(), 2);
        assert_eq!(curves[0].method, Method::DERL);
        assert_eq!(
            curves[0].points,
            vec![(20, 0.5), (80, 0.5), (80, 0.5), (90, 0.75)]
        );
        assert_eq!(curves[1].points, vec![(4, 0.5)]);
        assert!(step_curves(&[], &[Method::DERL]).is_empty());
    }

    #[test]
    fn final_bars_mark_invalid_methods_and_find_the_top() {
        let split = |split, mean, std, values: Vec<f64>| SplitResult {
            split,
            mean,
            std,
            values,
        };
        let method = |method, splits| MethodSummary {
            method,
            program: "g1".into(),
            search_score: None,
            search_inner_loops: 0,
            search_invalid: 0,
            search_env_steps: 0,
            final_env_steps: 0,
            splits,
            final_invalid: 0,
        };
        let summary = Summary {
            name: "t".into(),
            env: "corridor".into(),
            primitives: vec!["success".into()],
            iterations: 1,
            group_size: 2,
            final_seeds: 2,
            methods: vec![
                method(
                    Method::DERL,
                    vec![
                        split(Split::Validation, 0.5, 0.25, vec![0.25, 0.75]),
                        split(Split::Test, 0.75, 0.0, vec![0.75, 0.75]),
                    ],
                ),
                method(
                    Method::OUTCOME_ONLY,
                    vec![
                        split(Split::Validation, 0.0, 0.0, vec![]),
                        split(Split::Test, 0.0, 0.0, vec![]),
                    ],
                ),
            ],
        };
        let bars = FinalBars::of(&summary);
        assert_eq!(bars.splits, vec![Split::Validation, Split::Test]);
        assert_eq!(
            bars.methods,
            vec![
                (Method::DERL, vec![Some((0.5, 0.25)), Some((0.75, 0.0))]),
                (Method::OUTCOME_ONLY, vec![None, None]),
            ]
        );
        assert_eq!(bars.top(), 0.75);
    }
}
