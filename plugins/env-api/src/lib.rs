//! Plain-Rust mirror of the `derl:plugin` contract (`wit/v0.3.0/`, the latest
//! version; see [`contract`]): environments, reward programs and, in [`text`],
//! text-primitives extractors.
//!
//! Environment cores implement [`Environment`] with no WebAssembly bindings, so
//! they can be unit-tested and benchmarked natively; the SDK (`derl-sdk`) adapts
//! any [`Environment`] to the component world with one `register_environment!`
//! line, and the host converts every version's WIT types into these. Every item
//! mirrors the WIT item of the same name; the WIT documentation is the contract.

pub mod contract;
pub mod seeds;
pub mod text;

pub use text::{ExtractorInfo, TextPrimitives, TextSample};

use std::fmt;

/// A data split (WIT `split`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "lowercase"))]
pub enum Split {
    /// Tasks used for training.
    Train,
    /// Same distribution as train, held out for model selection.
    Validation,
    /// Same distribution as train, held out for the final report.
    Test,
    /// Structurally unseen tasks.
    Ood,
}

impl Split {
    /// Every split, in declaration order.
    pub const ALL: [Split; 4] = [Split::Train, Split::Validation, Split::Test, Split::Ood];

    /// The lower-case name used in configs and on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Split::Train => "train",
            Split::Validation => "validation",
            Split::Test => "test",
            Split::Ood => "ood",
        }
    }

    /// Parses a split name as written by [`Split::name`].
    pub fn from_name(name: &str) -> Option<Split> {
        Split::ALL.into_iter().find(|split| split.name() == name)
    }

    /// A stable small integer per split, for deriving per-split seeds.
    pub fn index(self) -> u64 {
        self as u64
    }
}

impl fmt::Display for Split {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// One atomic primitive reported at episode end (WIT `primitive-spec`).
#[derive(Clone, Debug, PartialEq)]
pub struct PrimitiveSpec {
    /// Short identifier (`success`, `progress`).
    pub name: String,
    /// One sentence for humans.
    pub description: String,
    /// Smallest value ever reported.
    pub min: f64,
    /// Largest value ever reported.
    pub max: f64,
}

impl PrimitiveSpec {
    /// Builds a spec from borrowed text.
    pub fn new(name: &str, description: &str, min: f64, max: f64) -> Self {
        PrimitiveSpec {
            name: name.to_owned(),
            description: description.to_owned(),
            min,
            max,
        }
    }
}

/// What an environment is and what it reports (WIT `env-info`).
#[derive(Clone, Debug, PartialEq)]
pub struct EnvInfo {
    /// Short name.
    pub name: String,
    /// Version of the environment's logic.
    pub version: String,
    /// One paragraph for humans.
    pub description: String,
    /// Episodes are truncated after this many steps in every split that
    /// `split_max_steps` does not name.
    pub max_steps: u32,
    /// Per-split step limits replacing `max_steps` (each split at most once).
    pub split_max_steps: Vec<(Split, u32)>,
    /// Primitives in report order (`g1` is index 0).
    pub primitives: Vec<PrimitiveSpec>,
    /// Splits with tasks.
    pub splits: Vec<Split>,
    /// Whether no task appears in two splits.
    pub disjoint_splits: bool,
    /// Length of every observation's `features`.
    pub feature_count: u32,
}

impl EnvInfo {
    /// The step limit of `split`: its entry in `split_max_steps`, else `max_steps`.
    pub fn max_steps_in(&self, split: Split) -> u32 {
        self.split_max_steps
            .iter()
            .find(|(named, _)| *named == split)
            .map_or(self.max_steps, |&(_, steps)| steps)
    }

    /// The largest step limit of any split.
    pub fn longest_max_steps(&self) -> u32 {
        self.split_max_steps
            .iter()
            .map(|&(_, steps)| steps)
            .fold(self.max_steps, u32::max)
    }

    /// Index of the task-success primitive: the one named `success`, else the
    /// first (the rule of `env-info.primitives`).
    pub fn success_index(&self) -> usize {
        success_index(self.primitives.iter().map(|p| p.name.as_str()))
    }
}

/// Index of the task-success primitive among primitive `names`: the one named
/// `success`, else the first (the rule of `env-info.primitives`).
pub fn success_index<'a>(names: impl IntoIterator<Item = &'a str>) -> usize {
    names
        .into_iter()
        .position(|name| name == SUCCESS_PRIMITIVE)
        .unwrap_or(0)
}

/// The name of the task-success primitive.
pub const SUCCESS_PRIMITIVE: &str = "success";

/// What the policy sees at one step (WIT `observation`).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Observation {
    /// The episode's task in words (the same at every step).
    pub task: String,
    /// The situation: location, surroundings, inventory, recent history.
    pub text: String,
    /// Admissible actions in a stable order.
    pub actions: Vec<String>,
    /// Optional numeric features (`EnvInfo::feature_count` values).
    pub features: Vec<f32>,
}

/// The outcome of one step (WIT `step-result`).
#[derive(Clone, Debug, PartialEq)]
pub struct StepResult {
    /// Observation after the action.
    pub observation: Observation,
    /// What happened, in words.
    pub feedback: String,
    /// Ended in a terminal state.
    pub terminated: bool,
    /// Ended by reaching the step limit.
    pub truncated: bool,
    /// One value per declared primitive, present exactly when the episode ended.
    pub primitives: Option<Vec<f64>>,
}

impl Observation {
    /// The task and the situation as one text, the task first on its own line:
    /// what a reader of the whole observation sees (`derl play`, text policies).
    pub fn full_text(&self) -> String {
        join_task(&self.task, &self.text)
    }
}

/// `task` and `text` joined the way [`Observation::full_text`] joins them.
pub fn join_task(task: &str, text: &str) -> String {
    let mut joined = String::with_capacity(task.len() + 1 + text.len());
    joined.push_str(task);
    joined.push('\n');
    joined.push_str(text);
    joined
}

/// What a reward program says about itself (WIT `reward-info`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RewardInfo {
    /// Human-readable form of the program.
    pub description: String,
    /// One more than the highest primitive index the program reads.
    pub min_stride: u32,
}

impl StepResult {
    /// Whether the episode has ended.
    pub fn done(&self) -> bool {
        self.terminated || self.truncated
    }
}

/// Why an environment refused a call (WIT `env-error`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum EnvError {
    /// Unknown setting key or unusable value.
    InvalidSetting(String),
    /// A split the environment does not generate.
    UnknownSplit(String),
    /// A task index at or beyond the split's task count.
    UnknownTask(String),
    /// An action index at or beyond the number of admissible actions.
    InvalidAction(String),
    /// No running episode.
    NoEpisode(String),
}

impl fmt::Display for EnvError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EnvError::InvalidSetting(m) => write!(f, "invalid setting: {m}"),
            EnvError::UnknownSplit(m) => write!(f, "unknown split: {m}"),
            EnvError::UnknownTask(m) => write!(f, "unknown task: {m}"),
            EnvError::InvalidAction(m) => write!(f, "invalid action: {m}"),
            EnvError::NoEpisode(m) => write!(f, "no running episode: {m}"),
        }
    }
}

impl std::error::Error for EnvError {}

/// An environment: the logic behind an environment plugin.
///
/// One value runs one episode at a time. Everything must be deterministic in
/// `(settings, split, task, seed)`.
pub trait Environment {
    /// A fresh environment with default settings.
    fn new() -> Self
    where
        Self: Sized;

    /// Applies key/value settings; the default accepts none.
    fn configure(&mut self, settings: &[(String, String)]) -> Result<(), EnvError> {
        match settings.first() {
            None => Ok(()),
            Some((key, _)) => Err(EnvError::InvalidSetting(format!(
                "this environment has no setting `{key}`"
            ))),
        }
    }

    /// Describes the environment.
    fn info(&self) -> EnvInfo;

    /// Number of tasks in `split`.
    fn task_count(&self, split: Split) -> u32;

    /// Starts task `task` of `split` with `seed`.
    fn reset(&mut self, split: Split, task: u32, seed: u64) -> Result<Observation, EnvError>;

    /// Takes the admissible action at index `action`.
    fn step(&mut self, action: u32) -> Result<StepResult, EnvError>;

    /// The scripted solver's action, if the environment has one.
    fn expert_action(&self) -> Result<Option<u32>, EnvError> {
        Ok(None)
    }
}

/// Parses a setting value, naming the key in the error.
pub fn parse_setting<T: std::str::FromStr>(key: &str, value: &str) -> Result<T, EnvError> {
    value
        .trim()
        .parse()
        .map_err(|_| EnvError::InvalidSetting(format!("`{key}` = `{value}` is not a valid value")))
}

/// Parses a setting value that must lie in `range`, naming the key in the error:
/// "`max-steps` = 4 is outside 5..=200".
pub fn parse_setting_in<T>(
    key: &str,
    value: &str,
    range: std::ops::RangeInclusive<T>,
) -> Result<T, EnvError>
where
    T: std::str::FromStr + PartialOrd + std::fmt::Display,
{
    let parsed: T = parse_setting(key, value)?;
    if range.contains(&parsed) {
        Ok(parsed)
    } else {
        Err(EnvError::InvalidSetting(format!(
            "`{key}` = {parsed} is outside {}..={}",
            range.start(),
            range.end()
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_names_round_trip() {
        for split in Split::ALL {
            assert_eq!(Split::from_name(split.name()), Some(split));
        }
        assert_eq!(Split::from_name("dev"), None);
    }

    #[test]
    fn parse_setting_in_checks_the_range() {
        assert_eq!(parse_setting_in::<u32>("history", "3", 0..=10), Ok(3));
        assert_eq!(
            parse_setting_in::<u32>("max-steps", "4", 5..=200),
            Err(EnvError::InvalidSetting(
                "`max-steps` = 4 is outside 5..=200".into()
            ))
        );
        assert!(parse_setting_in::<u32>("history", "x", 0..=10).is_err());
    }

    #[test]
    fn parse_setting_names_the_key() {
        assert_eq!(parse_setting::<u32>("max-steps", " 40 "), Ok(40));
        let err = parse_setting::<u32>("max-steps", "lots").unwrap_err();
        assert!(err.to_string().contains("max-steps"));
    }
}
