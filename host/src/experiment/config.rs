//! The experiment configuration: one TOML file with every knob of a DERL run
//! (environment, inner-loop budget, policy, outer loop, Meta-Optimizer,
//! baselines, final evaluation).
//!
//! Parsing is strict: unknown keys and values of the wrong type are errors
//! that name the key and its line ([`ExperimentConfig::from_toml`]), and
//! [`ExperimentConfig::validate`] rejects out-of-range values naming the key
//! (`outer.group_size must be at least 2, got 1`). A table written in the
//! file starts from *this experiment's* defaults and overrides only the keys
//! it sets: `[policy.grpo] kl_coef = 0.1` keeps the policy's default learning
//! rate. The reference of every key is `docs/experiments.md`.

use crate::inner::{InnerConfig, PolicyConfig};
pub use crate::outer::methods::Method;
use crate::plugin::EnvLimits;
use derl_env_api::Split;
use derl_learn::GrpoConfig;
use derl_meta::{MetaOptimizerConfig, MutationWeights};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;

/// The embedded default experiment (`derl demo`): DERL against outcome-only
/// and the heuristic on `household`, sized to finish in minutes on 2 cores.
pub const DEMO_CONFIG: &str = include_str!("../../../docs/configs/demo.toml");

/// A configuration that cannot be used, with the key at fault in its message.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct ConfigError {
    message: String,
}

impl ConfigError {
    fn new(message: impl Into<String>) -> Self {
        ConfigError {
            message: message.into(),
        }
    }

    fn key(key: &str, message: impl fmt::Display) -> Self {
        ConfigError::new(format!("`{key}` {message}"))
    }
}

/// Every knob of a DERL experiment (see `docs/experiments.md`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExperimentConfig {
    /// Name, seed, methods, workers.
    #[serde(default)]
    pub experiment: ExperimentSection,
    /// The environment every inner loop trains on.
    pub env: EnvSection,
    /// The inner loop's budget (the same for every method).
    #[serde(default)]
    pub inner: InnerConfig,
    /// The inner-loop policy and its GRPO settings.
    #[serde(default)]
    pub policy: PolicyConfig,
    /// The outer loop: iterations, group size, scoring.
    #[serde(default)]
    pub outer: OuterSection,
    /// The Meta-Optimizer (DERL, DERL-pop, untrained sampling).
    #[serde(default)]
    pub meta: MetaSection,
    /// DERL-pop's warm-started inner loops.
    #[serde(default)]
    pub derl_pop: DerlPopSection,
    /// The black-box evolution baseline.
    #[serde(default)]
    pub evolution: EvolutionSection,
    /// The final evaluation of each method's best program.
    #[serde(default, rename = "final")]
    pub final_eval: FinalSection,
    /// Where inner loops run. Results do not depend on it.
    #[serde(default, skip_serializing_if = "ExecutorSection::is_default")]
    pub executor: ExecutorSection,
}

/// `[executor]`: where inner loops run (see `derl run --executor`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ExecutorSection {
    /// A registered executor: `local` (a thread pool in this process, of
    /// `experiment.workers` threads), `command` (each inner loop a process
    /// running `command`), `ray` (jobs on a Ray cluster at `address`).
    /// Default `local`.
    pub kind: String,
    /// `command`: the program and its arguments, with `{job}` where the job
    /// file's path goes and `{report}` where the report must be written.
    /// Default: this binary's `inner-loop --job {job} --out {report}`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub command: Option<Vec<String>>,
    /// `ray`: the Ray dashboard's address (`http://127.0.0.1:8265`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub address: Option<String>,
    /// `ray`: the `derl` binary on the workers (a path or a name on their
    /// PATH). Default `derl`.
    pub derl: String,
    /// `ray`: CPUs each inner loop reserves. Default 1.
    pub num_cpus: f64,
    /// `ray`: GPUs each inner loop reserves. Default 0.
    pub num_gpus: f64,
    /// `command`, `ray`: times a failed inner loop (a lost node, a crashed
    /// command; never an invalid reward) is run again. Default 2.
    pub retries: u32,
    /// `command`, `ray`: seconds after which an inner loop is stopped and
    /// counts as failed (none: no limit). Default none.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timeout_s: Option<f64>,
}

impl Default for ExecutorSection {
    fn default() -> Self {
        ExecutorSection {
            kind: "local".into(),
            command: None,
            address: None,
            derl: "derl".into(),
            num_cpus: 1.0,
            num_gpus: 0.0,
            retries: 2,
            timeout_s: None,
        }
    }
}

impl ExecutorSection {
    fn is_default(&self) -> bool {
        *self == ExecutorSection::default()
    }
}

/// `[experiment]`: what runs and how it is seeded.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ExperimentSection {
    /// A label for reports and the default run directory. Default `experiment`.
    pub name: String,
    /// The seed every other seed is derived from. Default 0.
    pub seed: u64,
    /// Methods compared, in report order. Default: DERL, DERL-pop and the
    /// four baselines.
    pub methods: Vec<Method>,
    /// Inner loops run at once (0: one per available core). Results do not
    /// depend on it. Default 0.
    pub workers: usize,
}

impl Default for ExperimentSection {
    fn default() -> Self {
        ExperimentSection {
            name: "experiment".into(),
            seed: 0,
            methods: crate::outer::methods::DEFAULT_METHODS.to_vec(),
            workers: 0,
        }
    }
}

/// `[env]`: the environment component.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EnvSection {
    /// A bundled environment (`household`, `lab`, `arith`, `corridor`) or a
    /// component path. Required.
    pub component: String,
    /// Settings passed to the environment's `configure` (`max-steps = 40`);
    /// values may be strings, integers, floats or booleans. Default none.
    #[serde(default)]
    pub settings: BTreeMap<String, toml::Value>,
    /// When set, the component must have this sha256. Default none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sha256: Option<String>,
    /// `[env.limits]`: the sandbox limits of each call (`[env.limits.sandbox]`),
    /// grants and the host's budgets (`[env.limits.budgets]`). Default
    /// [`EnvLimits::default`].
    #[serde(default, skip_serializing_if = "is_default_limits")]
    pub limits: EnvLimits,
}

fn is_default_limits(limits: &EnvLimits) -> bool {
    *limits == EnvLimits::default()
}

impl EnvSection {
    /// The settings as the `(key, value)` strings an environment receives.
    pub fn settings_strings(&self) -> Vec<(String, String)> {
        self.settings
            .iter()
            .map(|(key, value)| {
                let value = match value {
                    toml::Value::String(text) => text.clone(),
                    other => other.to_string(),
                };
                (key.clone(), value)
            })
            .collect()
    }
}

/// Which success rate of an inner loop scores its program.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ScoreMode {
    /// The policy's most likely action at every step.
    #[default]
    Greedy,
    /// Actions sampled from the policy.
    Sampled,
}

/// `[outer]`: the outer loop.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct OuterSection {
    /// Outer iterations of every search method. Default 20.
    pub iterations: u32,
    /// Programs per iteration (G). Default 8.
    pub group_size: usize,
    /// The split whose success rate scores a program. Default `validation`.
    pub score_split: Split,
    /// Greedy or sampled success. Default `greedy`.
    pub score_mode: ScoreMode,
    /// The score of an invalid Meta-Reward (does not parse, traps, NaN,
    /// budget exhausted). Default -1.
    pub invalid_score: f64,
    /// Inner loops per program during the search, with different seeds
    /// shared by every program; the score is their mean. Default 1.
    pub search_seeds: u32,
}

impl Default for OuterSection {
    fn default() -> Self {
        OuterSection {
            iterations: 20,
            group_size: 8,
            score_split: Split::Validation,
            score_mode: ScoreMode::Greedy,
            invalid_score: -1.0,
            search_seeds: 1,
        }
    }
}

/// `[meta]`: the Meta-Optimizer.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MetaSection {
    /// Architecture, grammar and cold-start optimiser (derl-meta's
    /// `MetaOptimizerConfig`).
    pub model: MetaOptimizerConfig,
    /// GRPO of the Meta-Optimizer. Default: learning rate `3e-3`, KL
    /// coefficient 0.05 to the initial weights, otherwise derl-learn's
    /// defaults.
    pub grpo: GrpoConfig,
    /// Sampling temperature. Default 1.
    pub temperature: f64,
    /// Epochs of supervised cold start on the seed programs (0: none).
    /// Default 60.
    pub pretrain_epochs: u32,
    /// A file of seed programs, one a line (default: derl-meta's built-in
    /// seeds, `g1` being the outcome signal). Also the evolution baseline's
    /// first generation.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub seeds_file: Option<PathBuf>,
}

impl Default for MetaSection {
    fn default() -> Self {
        MetaSection {
            model: MetaOptimizerConfig::default(),
            grpo: GrpoConfig {
                learning_rate: 3e-3,
                kl_coef: 0.05,
                ..GrpoConfig::default()
            },
            temperature: 1.0,
            pretrain_epochs: 60,
            seeds_file: None,
        }
    }
}

/// `[derl_pop]`: DERL-pop.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DerlPopSection {
    /// Training updates of a warm-started inner loop (iterations after the
    /// first); default `inner.updates`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub updates: Option<u32>,
}

/// `[evolution]`: the (mu+lambda) baseline; its grammar is
/// `meta.model.grammar` and lambda is `outer.group_size`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct EvolutionSection {
    /// Survivors kept per generation. Default 4.
    pub mu: usize,
    /// Probability that an offspring comes from crossover. Default 0.25.
    pub crossover_rate: f64,
    /// Relative weights of the mutation operators. Default 1 each.
    pub mutation: MutationWeights,
    /// Depth of random subtrees. Default 2.
    pub random_depth: usize,
}

impl Default for EvolutionSection {
    fn default() -> Self {
        let defaults = derl_meta::EvolutionConfig::default();
        EvolutionSection {
            mu: defaults.mu,
            crossover_rate: defaults.crossover_rate,
            mutation: defaults.mutation,
            random_depth: defaults.random_depth,
        }
    }
}

/// `[final]`: fresh policies trained with each method's best program.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct FinalSection {
    /// Seeds (fresh policies) per method. Default 3.
    pub seeds: u32,
    /// Splits evaluated. Default `validation`, `test`, `ood`.
    pub splits: Vec<Split>,
}

impl Default for FinalSection {
    fn default() -> Self {
        FinalSection {
            seeds: 3,
            splits: vec![Split::Validation, Split::Test, Split::Ood],
        }
    }
}

impl ExperimentConfig {
    /// The defaults of every key, with `env.component` set to `component`.
    pub fn with_env(component: &str) -> Self {
        ExperimentConfig {
            experiment: ExperimentSection::default(),
            env: EnvSection {
                component: component.to_owned(),
                settings: BTreeMap::new(),
                sha256: None,
                limits: EnvLimits::default(),
            },
            inner: InnerConfig::default(),
            policy: PolicyConfig::default(),
            outer: OuterSection::default(),
            meta: MetaSection::default(),
            derl_pop: DerlPopSection::default(),
            evolution: EvolutionSection::default(),
            final_eval: FinalSection::default(),
            executor: ExecutorSection::default(),
        }
    }

    /// The embedded demo configuration ([`DEMO_CONFIG`]).
    ///
    /// # Errors
    /// Never for the shipped file (a test checks it).
    pub fn demo() -> Result<Self, ConfigError> {
        Self::from_toml(DEMO_CONFIG, "the embedded demo config")
    }

    /// Parses and validates a configuration; `origin` names the file in
    /// errors. Every table starts from the experiment's defaults.
    ///
    /// # Errors
    /// Malformed TOML, an unknown key, a value of the wrong type (the
    /// message shows the key and its line), or a value out of range.
    pub fn from_toml(text: &str, origin: &str) -> Result<Self, ConfigError> {
        let config = parse_over_defaults(text, origin, |given| {
            let component = given
                .get("env")
                .and_then(|env| env.get("component"))
                .and_then(|c| c.as_str())
                .unwrap_or_default();
            Self::with_env(component)
        })?;
        config
            .validate()
            .map_err(|e| ConfigError::new(format!("{origin}: {e}")))?;
        Ok(config)
    }

    /// The configuration as TOML, every key explicit (the run directory's
    /// `config.toml`); [`ExperimentConfig::from_toml`] reads it back equal.
    ///
    /// # Errors
    /// When a value has no TOML form (a seed above `i64::MAX`).
    pub fn to_toml(&self) -> Result<String, ConfigError> {
        toml::to_string(self).map_err(|e| ConfigError::new(format!("cannot write config: {e}")))
    }

    /// Checks every value against its documented range.
    ///
    /// # Errors
    /// The first bad value, naming its key.
    pub fn validate(&self) -> Result<(), ConfigError> {
        self.validate_experiment()?;
        self.validate_env()?;
        self.validate_inner()?;
        self.validate_outer()?;
        self.validate_meta()?;
        if self.derl_pop.updates == Some(0) {
            return Err(ConfigError::key("derl_pop.updates", "must be at least 1"));
        }
        let evolution = self.evolution_config();
        if self.evolution.mu == 0 {
            return Err(ConfigError::key("evolution.mu", "must be at least 1"));
        }
        if !(0.0..=1.0).contains(&self.evolution.crossover_rate) {
            return Err(ConfigError::key(
                "evolution.crossover_rate",
                format_args!("must be in [0, 1], got {}", self.evolution.crossover_rate),
            ));
        }
        if self.evolution.random_depth > 8 {
            return Err(ConfigError::key(
                "evolution.random_depth",
                format_args!("must be at most 8, got {}", self.evolution.random_depth),
            ));
        }
        evolution
            .validate()
            .map_err(|e| ConfigError::key("evolution.mutation", e))?;
        if self.final_eval.seeds == 0 {
            return Err(ConfigError::key("final.seeds", "must be at least 1"));
        }
        self.validate_executor()?;
        if self.final_eval.splits.is_empty() {
            return Err(ConfigError::key(
                "final.splits",
                "must name at least one split",
            ));
        }
        if let Some(split) = duplicate(&self.final_eval.splits) {
            return Err(ConfigError::key(
                "final.splits",
                format_args!("lists `{}` twice", split.name()),
            ));
        }
        Ok(())
    }

    fn validate_executor(&self) -> Result<(), ConfigError> {
        let executor = &self.executor;
        if let Err(error) = crate::outer::executor::executor_kind(&executor.kind) {
            return Err(ConfigError::key("executor.kind", error));
        }
        if let Some(command) = &executor.command
            && let Err(error) = crate::outer::executor::check_command(command)
        {
            return Err(ConfigError::new(error.to_string()));
        }
        for (key, value) in [
            ("executor.num_cpus", executor.num_cpus),
            ("executor.num_gpus", executor.num_gpus),
        ] {
            if !(value.is_finite() && value >= 0.0) {
                return Err(ConfigError::key(
                    key,
                    format_args!("must be a number >= 0, got {value}"),
                ));
            }
        }
        if let Some(timeout) = executor.timeout_s
            && !(timeout.is_finite() && timeout > 0.0)
        {
            return Err(ConfigError::key(
                "executor.timeout_s",
                format_args!("must be a positive number of seconds, got {timeout}"),
            ));
        }
        Ok(())
    }

    fn validate_experiment(&self) -> Result<(), ConfigError> {
        let section = &self.experiment;
        if section.name.trim().is_empty() {
            return Err(ConfigError::key("experiment.name", "must not be empty"));
        }
        if section.methods.is_empty() {
            return Err(ConfigError::key(
                "experiment.methods",
                "must name at least one method",
            ));
        }
        if let Some(method) = duplicate(&section.methods) {
            return Err(ConfigError::key(
                "experiment.methods",
                format_args!("lists `{method}` twice"),
            ));
        }
        if i64::try_from(section.seed).is_err() {
            return Err(ConfigError::key(
                "experiment.seed",
                format_args!("must be at most {}, got {}", i64::MAX, section.seed),
            ));
        }
        Ok(())
    }

    fn validate_env(&self) -> Result<(), ConfigError> {
        if self.env.component.trim().is_empty() {
            return Err(ConfigError::key(
                "env.component",
                "is required: a bundled environment (household, lab, arith, corridor) or a component path",
            ));
        }
        for (key, value) in &self.env.settings {
            if matches!(
                value,
                toml::Value::Array(_) | toml::Value::Table(_) | toml::Value::Datetime(_)
            ) {
                return Err(ConfigError::key(
                    &format!("env.settings.{key}"),
                    "must be a string, a number or a boolean",
                ));
            }
        }
        if let Some(digest) = &self.env.sha256
            && !(digest.len() == 64 && digest.chars().all(|c| c.is_ascii_hexdigit()))
        {
            return Err(ConfigError::key(
                "env.sha256",
                format_args!("must be 64 hexadecimal digits, got `{digest}`"),
            ));
        }
        Ok(())
    }

    fn validate_inner(&self) -> Result<(), ConfigError> {
        let inner = &self.inner;
        for (key, value, least) in [
            ("inner.updates", inner.updates, 1),
            ("inner.tasks_per_update", inner.tasks_per_update, 1),
            ("inner.group_size", inner.group_size, 2),
            ("inner.eval_episodes", inner.eval_episodes, 1),
        ] {
            if value < least {
                return Err(ConfigError::key(
                    key,
                    format_args!("must be at least {least}, got {value}"),
                ));
            }
        }
        self.policy
            .grpo
            .validate()
            .map_err(|e| ConfigError::key("policy.grpo", strip_invalid(&e.to_string())))?;
        let kind = crate::inner::policy_kind(&self.policy.kind)
            .map_err(|e| ConfigError::key("policy.kind", format_args!("is wrong: {e}")))?;
        kind.check(&self.policy)
            .map_err(|e| ConfigError::key("policy.model", strip_invalid(&e.to_string())))?;
        Ok(())
    }

    fn validate_outer(&self) -> Result<(), ConfigError> {
        let outer = &self.outer;
        let searching = self.experiment.methods.iter().any(|m| m.is_search());
        if searching && outer.iterations == 0 {
            return Err(ConfigError::key(
                "outer.iterations",
                "must be at least 1 when a search method (derl, derl_pop, evolution, untrained) runs",
            ));
        }
        if outer.group_size < 2 {
            return Err(ConfigError::key(
                "outer.group_size",
                format_args!(
                    "must be at least 2 (GRPO compares programs within a group), got {}",
                    outer.group_size
                ),
            ));
        }
        if outer.score_split == Split::Train {
            return Err(ConfigError::key(
                "outer.score_split",
                "must be a held-out split (validation, test or ood), not `train`",
            ));
        }
        if !outer.invalid_score.is_finite() {
            return Err(ConfigError::key("outer.invalid_score", "must be finite"));
        }
        if outer.search_seeds == 0 {
            return Err(ConfigError::key("outer.search_seeds", "must be at least 1"));
        }
        Ok(())
    }

    fn validate_meta(&self) -> Result<(), ConfigError> {
        let meta = &self.meta;
        meta.model
            .validate()
            .map_err(|e| ConfigError::key("meta.model", strip_invalid(&e.to_string())))?;
        meta.grpo
            .validate()
            .map_err(|e| ConfigError::key("meta.grpo", strip_invalid(&e.to_string())))?;
        if !(meta.temperature.is_finite() && meta.temperature > 0.0) {
            return Err(ConfigError::key(
                "meta.temperature",
                format_args!("must be finite and positive, got {}", meta.temperature),
            ));
        }
        if let Some(path) = &meta.seeds_file
            && !path.is_file()
        {
            return Err(ConfigError::key(
                "meta.seeds_file",
                format_args!("`{}` is not a readable file", path.display()),
            ));
        }
        Ok(())
    }

    /// The evolution baseline's full configuration (grammar from
    /// `meta.model.grammar`, lambda from `outer.group_size`).
    pub fn evolution_config(&self) -> derl_meta::EvolutionConfig {
        derl_meta::EvolutionConfig {
            grammar: self.meta.model.grammar.clone(),
            mu: self.evolution.mu,
            lambda: self.outer.group_size,
            crossover_rate: self.evolution.crossover_rate,
            mutation: self.evolution.mutation.clone(),
            random_depth: self.evolution.random_depth,
        }
    }

    /// The methods that search over programs, in configuration order.
    pub fn search_methods(&self) -> Vec<Method> {
        self.experiment
            .methods
            .iter()
            .copied()
            .filter(|m| m.is_search())
            .collect()
    }
}

/// Parses `text` (from `origin`, named in errors) with the keys it gives
/// over `defaults(given table)`, so a partial table keeps the defaults of
/// the keys it leaves out (not its type's own defaults).
///
/// # Errors
/// Malformed TOML, an unknown key or a value of the wrong type; the
/// message shows the key and its line.
pub(crate) fn parse_over_defaults<T: Serialize + serde::de::DeserializeOwned>(
    text: &str,
    origin: &str,
    defaults: impl FnOnce(&toml::Table) -> T,
) -> Result<T, ConfigError> {
    // Pass 1: strict, typed, with spans: unknown keys and wrong types are
    // reported with the offending line.
    toml::from_str::<T>(text).map_err(|e| ConfigError::new(format!("{origin}: {e}")))?;
    // Pass 2: the given keys over the defaults.
    let given: toml::Table =
        toml::from_str(text).map_err(|e| ConfigError::new(format!("{origin}: {e}")))?;
    let mut merged = toml::Table::try_from(defaults(&given))
        .map_err(|e| ConfigError::new(format!("{origin}: serializing defaults: {e}")))?;
    merge_tables(&mut merged, given);
    toml::Value::Table(merged)
        .try_into()
        .map_err(|e| ConfigError::new(format!("{origin}: {e}")))
}

/// Overwrites `base` with `given`, table by table (arrays and scalars are
/// replaced whole).
fn merge_tables(base: &mut toml::Table, given: toml::Table) {
    for (key, value) in given {
        match (base.get_mut(&key), value) {
            (Some(toml::Value::Table(base_table)), toml::Value::Table(given_table)) => {
                merge_tables(base_table, given_table);
            }
            (_, value) => {
                base.insert(key, value);
            }
        }
    }
}

fn duplicate<T: PartialEq + Copy>(items: &[T]) -> Option<T> {
    items
        .iter()
        .enumerate()
        .find(|(index, item)| items[..*index].contains(item))
        .map(|(_, item)| *item)
}

/// Drops the "invalid configuration: " prefix of the crates' errors.
fn strip_invalid(message: &str) -> String {
    message
        .strip_prefix("invalid configuration: ")
        .unwrap_or(message)
        .to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<ExperimentConfig, ConfigError> {
        ExperimentConfig::from_toml(text, "test.toml")
    }

    #[test]
    fn the_demo_config_parses_and_round_trips() {
        let demo = ExperimentConfig::demo().unwrap();
        assert_eq!(demo.env.component, "household");
        let text = demo.to_toml().unwrap();
        assert_eq!(parse(&text).unwrap(), demo);
    }

    #[test]
    fn environment_limits_are_read_round_trip_and_reject_unknown_keys() {
        let text = "[env]\ncomponent = \"household\"\n\
                    [env.limits.sandbox]\nfuel_per_call = 1000\n\
                    [env.limits.budgets]\nepisode_ms = 5\nactions = 8\n";
        let config = parse(text).unwrap();
        assert_eq!(config.env.limits.sandbox.fuel_per_call, 1000);
        assert_eq!(config.env.limits.budgets.episode_ms, 5);
        assert_eq!(config.env.limits.budgets.actions, 8);
        assert_eq!(
            config.env.limits.budgets.job_ms,
            crate::plugin::HostBudgets::default().job_ms
        );
        let written = config.to_toml().unwrap();
        assert!(written.contains("episode_ms = 5"), "{written}");
        assert_eq!(parse(&written).unwrap(), config);
        let plain = ExperimentConfig::with_env("household").to_toml().unwrap();
        assert!(!plain.contains("limits"), "{plain}");
        let typo = parse("[env]\ncomponent = \"household\"\n[env.limits.budgets]\nepisode = 5\n")
            .unwrap_err();
        assert!(typo.to_string().contains("episode"), "{typo}");
    }

    #[test]
    fn every_shipped_config_parses_and_round_trips() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/configs");
        let mut seen = 0;
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_some_and(|e| e == "toml") {
                let text = std::fs::read_to_string(&path).unwrap();
                let config = ExperimentConfig::from_toml(&text, &path.display().to_string())
                    .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
                assert_eq!(parse(&config.to_toml().unwrap()).unwrap(), config);
                seen += 1;
            }
        }
        assert!(seen >= 4, "demo, household, lab and arith configs: {seen}");
    }

    #[test]
    fn the_results_configs_keep_the_policy_their_tables_were_measured_with() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/configs");
        for name in ["household", "lab", "arith"] {
            let path = dir.join(format!("{name}.toml"));
            let text = std::fs::read_to_string(&path).unwrap();
            let config = parse(&text).unwrap();
            // The inner loop's default before goal features: the plain bag model.
            assert_eq!(
                config.policy.model,
                derl_learn::ActionPolicyConfig::default(),
                "{name}"
            );
            assert_eq!(
                config.policy.grpo,
                GrpoConfig {
                    learning_rate: 3e-3,
                    epochs: 2,
                    minibatch_decisions: 256,
                    microbatch_decisions: 256,
                    ..GrpoConfig::default()
                },
                "{name}"
            );
        }
    }

    #[test]
    fn a_minimal_config_takes_every_default() {
        let config = parse("[env]\ncomponent = \"corridor\"\n").unwrap();
        assert_eq!(config, ExperimentConfig::with_env("corridor"));
        assert_eq!(config.meta.grpo.kl_coef, 0.05);
        assert_eq!(
            config.experiment.methods,
            crate::outer::methods::DEFAULT_METHODS.to_vec()
        );
    }

    #[test]
    fn a_partial_table_keeps_the_experiment_defaults_of_its_other_keys() {
        let config =
            parse("[env]\ncomponent = \"corridor\"\n[meta.grpo]\nepochs = 3\n[policy.grpo]\nkl_coef = 0.1\n")
                .unwrap();
        assert_eq!(config.meta.grpo.epochs, 3);
        assert_eq!(config.meta.grpo.kl_coef, 0.05);
        assert_eq!(config.meta.grpo.learning_rate, 3e-3);
        assert_eq!(config.policy.grpo.kl_coef, 0.1);
        assert_eq!(
            config.policy.grpo.learning_rate,
            PolicyConfig::default().grpo.learning_rate
        );
    }

    #[test]
    fn unknown_keys_are_named() {
        let error = parse("[env]\ncomponent = \"corridor\"\n[outer]\niteratons = 3\n")
            .unwrap_err()
            .to_string();
        assert!(error.contains("iteratons"), "{error}");
        let error = parse("[env]\ncomponent = \"corridor\"\n[meta.model.grammar]\nmax_len = 3\n")
            .unwrap_err()
            .to_string();
        assert!(error.contains("max_len"), "{error}");
        let error = parse("[env]\ncomponent = \"corridor\"\n[bogus]\nx = 1\n")
            .unwrap_err()
            .to_string();
        assert!(error.contains("bogus"), "{error}");
    }

    #[test]
    fn values_of_the_wrong_type_are_named() {
        let error = parse("[env]\ncomponent = \"corridor\"\n[outer]\ngroup_size = \"eight\"\n")
            .unwrap_err()
            .to_string();
        assert!(error.contains("group_size"), "{error}");
        let error = parse(
            "[env]\ncomponent = \"corridor\"\n[experiment]\nmethods = [\"derl\", \"magic\"]\n",
        )
        .unwrap_err()
        .to_string();
        assert!(error.contains("magic"), "{error}");
        assert!(error.contains("known methods: derl, derl_pop"), "{error}");
    }

    #[test]
    fn the_executor_is_written_only_when_it_is_not_the_default() {
        let config = parse("[env]\ncomponent = \"corridor\"\n").unwrap();
        assert_eq!(config.executor.kind, "local");
        assert!(!config.to_toml().unwrap().contains("[executor]"));
        let mut other = config.clone();
        other.executor.kind = "elsewhere".into();
        let text = other.to_toml().unwrap();
        assert!(text.contains("[executor]"), "{text}");
        let error = parse(&text).unwrap_err().to_string();
        assert!(error.contains("`elsewhere`"), "{error}");
    }

    #[test]
    fn out_of_range_values_are_named() {
        let cases = [
            ("[outer]\ngroup_size = 1\n", "outer.group_size"),
            ("[outer]\nscore_split = \"train\"\n", "outer.score_split"),
            ("[outer]\niterations = 0\n", "outer.iterations"),
            ("[inner]\nupdates = 0\n", "inner.updates"),
            ("[meta]\ntemperature = 0.0\n", "meta.temperature"),
            ("[meta.grpo]\nlearning_rate = -1.0\n", "meta.grpo"),
            ("[meta.model]\nlayers = 9\n", "meta.model"),
            ("[policy.grpo]\nclip_epsilon = 2.0\n", "policy.grpo"),
            ("[policy]\nkind = \"transformer\"\n", "policy.kind"),
            (
                "[policy.model.featurizer]\nbucket_bits = 2\n",
                "policy.model",
            ),
            ("[final]\nseeds = 0\n", "final.seeds"),
            ("[final]\nsplits = [\"test\", \"test\"]\n", "final.splits"),
            ("[executor]\nkind = \"slurm\"\n", "executor.kind"),
            (
                "[evolution]\ncrossover_rate = 1.5\n",
                "evolution.crossover_rate",
            ),
            ("[experiment]\nmethods = []\n", "experiment.methods"),
            (
                "[experiment]\nmethods = [\"derl\", \"derl\"]\n",
                "experiment.methods",
            ),
            ("[derl_pop]\nupdates = 0\n", "derl_pop.updates"),
            (
                "[meta]\nseeds_file = \"/nonexistent/seeds.txt\"\n",
                "meta.seeds_file",
            ),
        ];
        for (text, key) in cases {
            let text = format!("[env]\ncomponent = \"corridor\"\n{text}");
            let error = parse(&text).unwrap_err().to_string();
            assert!(error.contains(key), "{key}: {error}");
        }
        let error = parse("[env]\ncomponent = \"\"\n").unwrap_err().to_string();
        assert!(error.contains("env.component"), "{error}");
        let error = parse("[env]\ncomponent = \"corridor\"\nsha256 = \"abc\"\n")
            .unwrap_err()
            .to_string();
        assert!(error.contains("env.sha256"), "{error}");
        let error = parse("[env]\ncomponent = \"corridor\"\n[env.settings]\nmax-steps = [1]\n")
            .unwrap_err()
            .to_string();
        assert!(error.contains("env.settings.max-steps"), "{error}");
    }

    #[test]
    fn the_env_section_is_required() {
        let error = parse("[outer]\niterations = 2\n").unwrap_err().to_string();
        assert!(error.contains("env"), "{error}");
    }

    #[test]
    fn settings_become_strings() {
        let config = parse(
            "[env]\ncomponent = \"corridor\"\n[env.settings]\nmax-steps = 30\nmode = \"hard\"\nnoisy = true\n",
        )
        .unwrap();
        assert_eq!(
            config.env.settings_strings(),
            vec![
                ("max-steps".to_owned(), "30".to_owned()),
                ("mode".to_owned(), "hard".to_owned()),
                ("noisy".to_owned(), "true".to_owned()),
            ]
        );
    }

    #[test]
    fn only_baselines_need_no_iterations() {
        let config = parse(
            "[env]\ncomponent = \"corridor\"\n[experiment]\nmethods = [\"outcome_only\", \"heuristic\"]\n[outer]\niterations = 0\n",
        )
        .unwrap();
        assert!(config.search_methods().is_empty());
    }
}
