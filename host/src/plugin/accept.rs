//! What the host accepts from an environment: the contract's rules on what a
//! guest declares and returns, and [`HostBudgets`], the most the host takes
//! from a guest whatever the guest's own sandbox let it build (a guest inside
//! its 64 MiB can still hand over megabytes of text or a hundred thousand
//! actions, and the host's work per step grows with what it is given).
//!
//! Every check returns a [`PluginErrorKind`]: `OverBudget` when something is
//! larger than a budget, `InvalidOutput` when it breaks the contract; each
//! message names the field.

use derl_env_api::{EnvInfo, ExtractorInfo, Observation, PrimitiveSpec, Split, StepResult};
use derl_sandbox::PluginErrorKind;
use serde::{Deserialize, Serialize};
use std::collections::HashSet;

/// The most the host accepts from an environment guest. The defaults are far
/// above what the bundled environments use (their observations are under
/// 2 KiB with at most 32 actions) and far below what would cost the host
/// seconds or gigabytes per step.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct HostBudgets {
    /// Bytes of an observation's task and text together. Default 64 KiB.
    pub observation_bytes: usize,
    /// Bytes of a step's feedback. Default 16 KiB.
    pub feedback_bytes: usize,
    /// Admissible actions of one observation. Default 1024.
    pub actions: usize,
    /// Bytes of one action's text. Default 512.
    pub action_bytes: usize,
    /// Numeric features per observation (`info.feature-count`). Default 4096.
    pub features: u32,
    /// Primitives an environment may declare. Default 64.
    pub primitives: usize,
    /// Bytes of the environment's name and version, each. Default 64.
    pub name_bytes: usize,
    /// Bytes of a description (the environment's, each primitive's).
    /// Default 4 KiB.
    pub description_bytes: usize,
    /// The longest step limit an environment may declare for any split. The
    /// host ends every episode at its split's limit: a guest that does not
    /// end it there is an error, so no episode runs longer. Default 10,000.
    pub max_steps: u32,
    /// Wall-clock milliseconds the guest's calls may take over one episode
    /// (its reset, steps and expert queries), each call also within its own
    /// deadline. Default 30,000; the bundled environments take under 10.
    pub episode_ms: u64,
    /// Wall-clock milliseconds the environment's calls may take over one
    /// inner-loop job, all episodes and threads together. Default 1,800,000
    /// (half an hour); a bundled household job of 40 updates takes about
    /// 10 s.
    pub job_ms: u64,
}

impl Default for HostBudgets {
    fn default() -> Self {
        HostBudgets {
            observation_bytes: 64 << 10,
            feedback_bytes: 16 << 10,
            actions: 1024,
            action_bytes: 512,
            features: 4096,
            primitives: 64,
            name_bytes: 64,
            description_bytes: 4 << 10,
            max_steps: 10_000,
            episode_ms: 30_000,
            job_ms: 1_800_000,
        }
    }
}

/// The error for guest calls that took `spent` over a `scope`'s budget.
pub fn over_time(scope: &str, limit_ms: u64, spent: std::time::Duration) -> PluginErrorKind {
    PluginErrorKind::TimeBudget {
        scope: scope.to_owned(),
        limit_ms,
        spent_ms: u64::try_from(spent.as_millis()).unwrap_or(u64::MAX),
    }
}

fn over(what: &str, limit: usize, actual: usize) -> PluginErrorKind {
    PluginErrorKind::OverBudget {
        what: what.to_owned(),
        limit: limit as u64,
        actual: actual as u64,
    }
}

fn invalid(message: String) -> PluginErrorKind {
    PluginErrorKind::InvalidOutput(message)
}

fn within(what: &str, limit: usize, actual: usize) -> Result<(), PluginErrorKind> {
    if actual > limit {
        Err(over(what, limit, actual))
    } else {
        Ok(())
    }
}

/// Whether `text` holds a control character (an escape sequence, a bell...).
fn has_control(text: &str) -> bool {
    text.chars().any(char::is_control)
}

impl HostBudgets {
    /// Checks an environment's info, once, at load: sizes within budget,
    /// names printable, every primitive name usable by programs and unique,
    /// ranges finite and ordered, at least one split and no split twice,
    /// step limits above 0 and within [`HostBudgets::max_steps`].
    ///
    /// # Errors
    /// `OverBudget` or `InvalidOutput` naming the field.
    pub fn check_info(&self, info: &EnvInfo) -> Result<(), PluginErrorKind> {
        self.check_identity(&info.name, &info.version, &info.description)?;
        self.check_primitive_specs(&info.primitives)?;
        if info.splits.is_empty() {
            return Err(invalid(
                "info.splits is empty: declare at least one split".into(),
            ));
        }
        let mut splits = HashSet::new();
        if let Some(twice) = info.splits.iter().find(|split| !splits.insert(**split)) {
            return Err(invalid(format!("info.splits names {twice} twice")));
        }
        within(
            "numeric features (info.feature-count)",
            self.features as usize,
            info.feature_count as usize,
        )?;
        self.check_step_limits(info)
    }

    /// Checks a text-primitives extractor's info, once, at load: as
    /// [`HostBudgets::check_info`] checks an environment's name, version,
    /// description and primitives.
    ///
    /// # Errors
    /// `OverBudget` or `InvalidOutput` naming the field.
    pub fn check_extractor_info(&self, info: &ExtractorInfo) -> Result<(), PluginErrorKind> {
        self.check_identity(&info.name, &info.version, &info.description)?;
        self.check_primitive_specs(&info.primitives)
    }

    fn check_identity(
        &self,
        name: &str,
        version: &str,
        description: &str,
    ) -> Result<(), PluginErrorKind> {
        within("bytes of info.name", self.name_bytes, name.len())?;
        within("bytes of info.version", self.name_bytes, version.len())?;
        within(
            "bytes of info.description",
            self.description_bytes,
            description.len(),
        )?;
        if name.trim().is_empty() || has_control(name) {
            return Err(invalid(
                "info.name is empty or holds control characters".into(),
            ));
        }
        if has_control(version) {
            return Err(invalid("info.version holds control characters".into()));
        }
        Ok(())
    }

    fn check_primitive_specs(&self, specs: &[PrimitiveSpec]) -> Result<(), PluginErrorKind> {
        if specs.is_empty() {
            return Err(invalid("info declares no primitives".into()));
        }
        within("primitives (info.primitives)", self.primitives, specs.len())?;
        let mut names = HashSet::new();
        for (at, p) in specs.iter().enumerate() {
            let field = format!("info.primitives[{at}]");
            within(
                &format!("bytes of {field}.description"),
                self.description_bytes,
                p.description.len(),
            )?;
            if let Some(problem) = derl_lang::primitive_name_problem(&p.name) {
                let shown = derl_sandbox::printable::printable_line(&p.name, 64);
                return Err(invalid(format!("{field}.name `{shown}` {problem}")));
            }
            if !names.insert(p.name.as_str()) {
                return Err(invalid(format!(
                    "{field}.name `{}` is declared twice (programs would mean the first)",
                    p.name
                )));
            }
            if !(p.min.is_finite() && p.max.is_finite() && p.min <= p.max) {
                return Err(invalid(format!(
                    "primitive `{}` has an invalid range [{}, {}]",
                    p.name, p.min, p.max
                )));
            }
        }
        Ok(())
    }

    fn check_step_limits(&self, info: &EnvInfo) -> Result<(), PluginErrorKind> {
        if info.max_steps == 0 {
            return Err(invalid("info.max-steps is 0".into()));
        }
        within(
            "steps (info.max-steps)",
            self.max_steps as usize,
            info.max_steps as usize,
        )?;
        let mut named = HashSet::new();
        for (split, steps) in &info.split_max_steps {
            if *steps == 0 {
                return Err(invalid(format!(
                    "info.split-max-steps gives {split} a limit of 0"
                )));
            }
            if !named.insert(*split) {
                return Err(invalid(format!("info.split-max-steps names {split} twice")));
            }
            within(
                &format!("steps (info.split-max-steps for {split})"),
                self.max_steps as usize,
                *steps as usize,
            )?;
        }
        Ok(())
    }

    /// Checks an observation: sizes within budget, actions while the episode
    /// runs, exactly `info.feature-count` finite features.
    ///
    /// # Errors
    /// `OverBudget` or `InvalidOutput` naming the field.
    pub fn check_observation(
        &self,
        obs: &Observation,
        info: &EnvInfo,
        done: bool,
    ) -> Result<(), PluginErrorKind> {
        within(
            "bytes of observation task and text",
            self.observation_bytes,
            obs.task.len() + obs.text.len(),
        )?;
        within("admissible actions", self.actions, obs.actions.len())?;
        if let Some(longest) = obs.actions.iter().map(String::len).max() {
            within("bytes of one action's text", self.action_bytes, longest)?;
        }
        if !done && obs.actions.is_empty() {
            return Err(invalid(
                "the observation lists no admissible actions while the episode runs".into(),
            ));
        }
        if obs.features.len() != info.feature_count as usize {
            return Err(invalid(format!(
                "the observation has {} features, info declares {}",
                obs.features.len(),
                info.feature_count
            )));
        }
        if let Some(bad) = obs.features.iter().find(|f| !f.is_finite()) {
            return Err(invalid(format!(
                "the observation has a non-finite feature {bad}"
            )));
        }
        Ok(())
    }

    /// Checks a step's result, the `steps`-th of an episode of `split`: the
    /// observation and feedback, primitives exactly at the end and in range,
    /// and the episode ended by its split's step limit.
    ///
    /// # Errors
    /// `OverBudget` or `InvalidOutput` naming the field.
    pub fn check_step(
        &self,
        result: &StepResult,
        info: &EnvInfo,
        split: Split,
        steps: u32,
    ) -> Result<(), PluginErrorKind> {
        self.check_observation(&result.observation, info, result.done())?;
        within(
            "bytes of step feedback",
            self.feedback_bytes,
            result.feedback.len(),
        )?;
        let limit = info.max_steps_in(split);
        match (&result.primitives, result.done()) {
            (None, true) => Err(invalid(
                "the episode ended without reporting its primitives".into(),
            )),
            (Some(values), true) => check_primitives(values, &info.primitives),
            (Some(_), false) => Err(invalid(
                "primitives were reported while the episode is still running (report them exactly when it ends)".into(),
            )),
            (None, false) if steps >= limit => Err(invalid(format!(
                "the episode did not end at {split}'s max-steps ({limit}): set `truncated` at that step"
            ))),
            (None, false) => Ok(()),
        }
    }
}

/// Slack allowed when checking primitives against their declared ranges.
const RANGE_TOLERANCE: f64 = 1e-9;

fn check_primitives(values: &[f64], specs: &[PrimitiveSpec]) -> Result<(), PluginErrorKind> {
    if values.len() != specs.len() {
        return Err(invalid(format!(
            "{} primitive values reported, {} declared",
            values.len(),
            specs.len()
        )));
    }
    for (value, spec) in values.iter().zip(specs) {
        if !value.is_finite() {
            return Err(invalid(format!("primitive `{}` is {value}", spec.name)));
        }
        if *value < spec.min - RANGE_TOLERANCE || *value > spec.max + RANGE_TOLERANCE {
            return Err(invalid(format!(
                "primitive `{}` = {value} is outside its declared range [{}, {}]",
                spec.name, spec.min, spec.max
            )));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec() -> Vec<PrimitiveSpec> {
        vec![PrimitiveSpec::new("success", "", 0.0, 1.0)]
    }

    fn info() -> EnvInfo {
        EnvInfo {
            name: "toy".into(),
            version: "1".into(),
            description: String::new(),
            max_steps: 5,
            split_max_steps: vec![(Split::Ood, 8)],
            primitives: spec(),
            splits: vec![Split::Train, Split::Ood],
            disjoint_splits: false,
            feature_count: 0,
        }
    }

    fn message(result: Result<(), PluginErrorKind>) -> String {
        result.unwrap_err().to_string()
    }

    #[test]
    fn primitives_are_checked_for_count_finiteness_and_range() {
        assert!(check_primitives(&[1.0], &spec()).is_ok());
        assert!(message(check_primitives(&[], &spec())).contains("0 primitive values"));
        assert!(message(check_primitives(&[f64::NAN], &spec())).contains("NaN"));
        assert!(message(check_primitives(&[1.5], &spec())).contains("outside"));
    }

    #[test]
    fn info_rules_name_the_field() {
        let budgets = HostBudgets::default();
        assert_eq!(budgets.check_info(&info()), Ok(()));
        let with = |change: &dyn Fn(&mut EnvInfo)| {
            let mut info = info();
            change(&mut info);
            message(budgets.check_info(&info))
        };
        let primitive = |name: &str| {
            let name = name.to_owned();
            with(&move |i: &mut EnvInfo| i.primitives.push(PrimitiveSpec::new(&name, "", 0.0, 1.0)))
        };
        assert!(primitive("success").contains("declared twice"));
        assert!(primitive("").contains("info.primitives[1].name"));
        assert!(primitive("g1").contains("position"));
        assert!(primitive("2").contains("identifier"));
        assert!(primitive("+").contains("identifier"));
        assert!(primitive("\u{1b}[2J").contains("\\u{1b}"));
        assert!(primitive(&"n".repeat(1 << 20)).contains("bytes long"));
        assert!(with(&|i| i.splits.clear()).contains("info.splits is empty"));
        assert!(with(&|i| i.splits.push(Split::Train)).contains("twice"));
        assert!(with(&|i| i.feature_count = u32::MAX).contains("more than the 4096"));
        assert!(with(&|i| i.max_steps = u32::MAX).contains("info.max-steps"));
        assert!(with(&|i| i.split_max_steps.push((Split::Ood, 3))).contains("twice"));
        assert!(with(&|i| i.name = "\u{1b}]0;x\u{7}".into()).contains("control"));
        assert!(with(&|i| i.description = "x".repeat(5000)).contains("info.description"));
        assert!(
            with(&|i| i.primitives = (0..65)
                .map(|k| PrimitiveSpec::new(&format!("p{k}"), "", 0.0, 1.0))
                .collect())
            .contains("primitives")
        );
    }

    fn step(done: bool, primitives: Option<Vec<f64>>) -> StepResult {
        StepResult {
            observation: Observation {
                task: "t".into(),
                text: String::new(),
                actions: if done { vec![] } else { vec!["a".into()] },
                features: vec![],
            },
            feedback: String::new(),
            terminated: done,
            truncated: false,
            primitives,
        }
    }

    #[test]
    fn episodes_end_by_their_splits_limit_and_primitives_come_only_at_the_end() {
        let budgets = HostBudgets::default();
        let info = info();
        assert_eq!(
            budgets.check_step(&step(false, None), &info, Split::Train, 4),
            Ok(())
        );
        assert!(
            message(budgets.check_step(&step(false, None), &info, Split::Train, 5))
                .contains("train's max-steps (5)")
        );
        assert_eq!(
            budgets.check_step(&step(false, None), &info, Split::Ood, 7),
            Ok(())
        );
        assert!(
            message(budgets.check_step(&step(false, Some(vec![1.0])), &info, Split::Train, 1))
                .contains("still running")
        );
        assert_eq!(
            budgets.check_step(&step(true, Some(vec![1.0])), &info, Split::Train, 5),
            Ok(())
        );
    }

    #[test]
    fn oversized_observations_are_over_budget() {
        let budgets = HostBudgets::default();
        let info = info();
        let mut obs = step(false, None).observation;
        obs.text = "x".repeat(3 << 20);
        assert!(matches!(
            budgets.check_observation(&obs, &info, false),
            Err(PluginErrorKind::OverBudget { actual, .. }) if actual == (3 << 20) + 1
        ));
        let mut obs = step(false, None).observation;
        obs.actions = vec!["a".into(); 100_000];
        assert!(
            message(budgets.check_observation(&obs, &info, false))
                .contains("100000 admissible actions")
        );
        obs.actions = vec!["a".repeat(600)];
        assert!(message(budgets.check_observation(&obs, &info, false)).contains("action's text"));
    }
}
