//! The search methods an experiment compares, and the registry that names
//! them.
//!
//! A method either searches (each outer iteration it proposes a group of
//! programs, the runner scores them by their inner loops, and the method
//! learns from the scores) or is a baseline with one program fixed by the
//! environment. Every method is one [`MethodKind`] in [`REGISTRY`]; the
//! experiment's `methods` list selects them by name. To add one, write a
//! [`SearchMethod`], describe it with a [`MethodKind`] and list it in
//! [`REGISTRY`] (docs/extending.md, "Adding a search method").
//!
//! - [`meta`]: the Meta-Optimizer methods: DERL, DERL-pop, untrained sampling.
//! - [`evolution`]: the (mu+lambda) black-box baseline.
//! - [`fixed`]: outcome-only and the equal-weight heuristic.
//! - [`landscape`]: a fixed panel of programs, every one trained, to see
//!   whether a reward search has anything to find.

mod evolution;
mod fixed;
pub mod landscape;
mod meta;

use super::env_info::EnvInfo;
use super::seeds::Seeds;
use crate::experiment::ExperimentConfig;
use anyhow::{Context, bail};
use derl_meta::{Grammar, MetaOptimizer, PretrainStats, Program, select_seeds};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::cell::OnceCell;
use std::cmp::Ordering;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::path::Path;

/// A searching method between iterations: proposes a group, learns from its
/// scores, and saves its whole state so that a resumed run continues it
/// exactly.
pub trait SearchMethod {
    /// The next group of `group_size` programs (source text), drawn from
    /// `rng` (derived from the experiment seed, the method and the
    /// iteration).
    fn propose(&mut self, group_size: usize, rng: &mut ChaCha8Rng) -> anyhow::Result<Vec<String>>;

    /// Learns from the scores of the group proposed last, one per program in
    /// order. Returns the update's statistics for `trajectory.jsonl`, if any.
    fn learn(&mut self, scores: &[f64]) -> anyhow::Result<Option<serde_json::Value>>;

    /// Writes the whole state to `dir` (created if needed); the method's
    /// [`Strategy::Search::restore`] reads it back.
    fn save(&self, dir: &Path) -> anyhow::Result<()>;
}

/// How a method produces its programs.
pub enum Strategy {
    /// One program fixed by the environment, no search.
    Fixed(fn(&EnvInfo) -> String),
    /// A search over outer iterations.
    Search {
        /// A new search at the start of a run.
        start: fn(&mut MethodContext<'_>) -> anyhow::Result<Box<dyn SearchMethod>>,
        /// A search saved by [`SearchMethod::save`] in the given directory.
        restore: fn(&mut MethodContext<'_>, &Path) -> anyhow::Result<Box<dyn SearchMethod>>,
        /// Whether each iteration's inner loops warm-start from the policy of
        /// the previous iteration's best inner loop.
        hand_over: Option<HandOver>,
    },
}

/// A search whose inner loops continue the best policy of the previous
/// iteration (DERL-pop) instead of starting fresh.
pub struct HandOver {
    /// GRPO updates of a warm-started inner loop (`None`: `inner.updates`).
    pub updates: fn(&ExperimentConfig) -> Option<u32>,
}

/// A method as the registry knows it.
pub struct MethodKind {
    /// The name in configs, records and reports.
    pub name: &'static str,
    /// A number of its own from which its random streams derive, so that
    /// adding or reordering methods changes no other method's results.
    pub stream: u64,
    /// One line for help and docs.
    pub about: &'static str,
    /// How it produces programs.
    pub strategy: Strategy,
    /// Which splits its search inner loops evaluate.
    pub search_splits: SearchSplits,
}

/// The splits a method's search inner loops evaluate.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SearchSplits {
    /// `outer.score_split` alone, which scores the program.
    ScoreSplit,
    /// Every split of the final evaluation (`final.splits`); the score is
    /// still success on `outer.score_split`.
    FinalSplits,
}

/// A method of the registry: a cheap handle, compared, ordered and hashed
/// by its stream, written as its name.
#[derive(Clone, Copy)]
pub struct Method(&'static MethodKind);

/// Every method, in the default report order.
pub const REGISTRY: &[Method] = &[
    Method::DERL,
    Method::DERL_POP,
    Method::OUTCOME_ONLY,
    Method::HEURISTIC,
    Method::EVOLUTION,
    Method::UNTRAINED,
    Method::LANDSCAPE,
];

/// The methods an experiment compares when its config names none: DERL,
/// DERL-pop and the four baselines (not the landscape, which is a study of
/// its own).
pub const DEFAULT_METHODS: &[Method] = &[
    Method::DERL,
    Method::DERL_POP,
    Method::OUTCOME_ONLY,
    Method::HEURISTIC,
    Method::EVOLUTION,
    Method::UNTRAINED,
];

impl Method {
    /// The Meta-Optimizer trained with GRPO on validation scores.
    pub const DERL: Method = Method(&meta::DERL);
    /// DERL whose inner loops warm-start from the previous iteration's best policy.
    pub const DERL_POP: Method = Method(&meta::DERL_POP);
    /// The environment's success primitive alone.
    pub const OUTCOME_ONLY: Method = Method(&fixed::OUTCOME_ONLY);
    /// The equal-weight sum of every primitive.
    pub const HEURISTIC: Method = Method(&fixed::HEURISTIC);
    /// (mu+lambda) evolution over the same grammar, no gradient.
    pub const EVOLUTION: Method = Method(&evolution::EVOLUTION);
    /// Samples from the initial Meta-Optimizer, never updated.
    pub const UNTRAINED: Method = Method(&meta::UNTRAINED);
    /// A fixed panel of programs, each trained (see [`landscape`]).
    pub const LANDSCAPE: Method = Method(&landscape::LANDSCAPE);

    /// Every registered method, in the default report order.
    pub fn all() -> &'static [Method] {
        REGISTRY
    }

    /// The registered method called `name`.
    pub fn named(name: &str) -> Option<Method> {
        REGISTRY
            .iter()
            .copied()
            .find(|method| method.name() == name)
    }

    /// The name used in configs, metrics and reports.
    pub fn name(self) -> &'static str {
        self.0.name
    }

    /// Its registry entry.
    pub fn kind(self) -> &'static MethodKind {
        self.0
    }

    /// Whether the method searches over programs (runs outer iterations);
    /// the others use one fixed program.
    pub fn is_search(self) -> bool {
        matches!(self.0.strategy, Strategy::Search { .. })
    }

    /// How its inner loops continue the previous iteration's best policy,
    /// if they do.
    pub fn hand_over(self) -> Option<&'static HandOver> {
        match &self.0.strategy {
            Strategy::Search { hand_over, .. } => hand_over.as_ref(),
            Strategy::Fixed(_) => None,
        }
    }

    /// The program of a fixed-program method for `env`.
    pub fn fixed_program(self, env: &EnvInfo) -> Option<String> {
        match &self.0.strategy {
            Strategy::Fixed(program) => Some(program(env)),
            Strategy::Search { .. } => None,
        }
    }

    /// The splits its search inner loops evaluate under `config`.
    pub fn search_splits(self, config: &ExperimentConfig) -> Vec<derl_env_api::Split> {
        match self.0.search_splits {
            SearchSplits::ScoreSplit => vec![config.outer.score_split],
            SearchSplits::FinalSplits => config.final_eval.splits.clone(),
        }
    }

    /// A stable number per method for deriving its random streams.
    pub fn stream(self) -> u64 {
        self.0.stream
    }

    /// The names of every registered method, for error messages.
    pub fn known_names() -> String {
        REGISTRY
            .iter()
            .map(|method| method.name())
            .collect::<Vec<_>>()
            .join(", ")
    }
}

impl PartialEq for Method {
    fn eq(&self, other: &Self) -> bool {
        self.stream() == other.stream()
    }
}

impl Eq for Method {}

impl PartialOrd for Method {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Method {
    fn cmp(&self, other: &Self) -> Ordering {
        self.stream().cmp(&other.stream())
    }
}

impl Hash for Method {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.stream().hash(state);
    }
}

impl fmt::Debug for Method {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl fmt::Display for Method {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl Serialize for Method {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.name())
    }
}

impl<'de> Deserialize<'de> for Method {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let name = String::deserialize(deserializer)?;
        Method::named(&name).ok_or_else(|| {
            serde::de::Error::custom(format!(
                "unknown method `{name}`; known methods: {}",
                Method::known_names()
            ))
        })
    }
}

/// What a search method starts or restores from: the run's configuration,
/// environment and seeds, and the pieces every Meta-Optimizer method of a
/// run shares (built once, on first use).
pub struct MethodContext<'a> {
    /// The method being built.
    pub method: Method,
    /// The run's configuration.
    pub config: &'a ExperimentConfig,
    /// Its environment.
    pub env: &'a EnvInfo,
    /// Its seeds.
    pub seeds: &'a Seeds,
    shared: &'a SharedStart,
}

impl MethodContext<'_> {
    /// The seed programs that fit the grammar over the environment's
    /// primitives (`meta.seeds_file`, else the built-in ones).
    ///
    /// # Errors
    /// An invalid grammar or an unreadable seeds file.
    pub fn seed_programs(&self) -> anyhow::Result<&[Program]> {
        if let Some(programs) = self.shared.seed_programs.get() {
            return Ok(programs);
        }
        let primitive_count = self.env.primitives.len();
        let grammar = Grammar::new(self.config.meta.model.grammar.clone(), primitive_count)
            .context("`meta.model.grammar`")?;
        let text = match &self.config.meta.seeds_file {
            Some(path) => std::fs::read_to_string(path)
                .with_context(|| format!("`meta.seeds_file`: cannot read {}", path.display()))?,
            None => derl_meta::DEFAULT_SEEDS.to_owned(),
        };
        let programs = select_seeds(&text, &grammar).programs;
        Ok(self.shared.seed_programs.get_or_init(|| programs))
    }

    /// The run's initial Meta-Optimizer: initialised from the experiment
    /// seed and cold-started on the seed programs, once per run, so that
    /// every Meta-Optimizer method starts from the same weights.
    ///
    /// # Errors
    /// An invalid model configuration, or a cold start without a seed
    /// program that fits the grammar.
    pub fn initial_meta(&self) -> anyhow::Result<&MetaOptimizer> {
        if let Some(model) = self.shared.initial_meta.get() {
            return Ok(model);
        }
        let primitive_count = self.env.primitives.len();
        let mut model = MetaOptimizer::new(
            self.config.meta.model.clone(),
            primitive_count,
            self.seeds.meta_init,
        )
        .context("`meta.model`")?;
        let epochs = self.config.meta.pretrain_epochs as usize;
        if epochs > 0 {
            let programs = self.seed_programs()?;
            if programs.is_empty() {
                bail!(
                    "`meta.pretrain_epochs` is {epochs} but no seed program fits the grammar \
                     over {primitive_count} primitives (see `meta.seeds_file`)"
                );
            }
            let mut rng = ChaCha8Rng::seed_from_u64(self.seeds.meta_pretrain);
            let stats = model
                .pretrain(programs, epochs, &mut rng)
                .context("the Meta-Optimizer's cold start")?;
            let _ = self.shared.pretrain.set(stats);
        }
        Ok(self.shared.initial_meta.get_or_init(|| model))
    }
}

/// What the Meta-Optimizer methods of one run share.
#[derive(Default)]
pub struct SharedStart {
    seed_programs: OnceCell<Vec<Program>>,
    initial_meta: OnceCell<MetaOptimizer>,
    pretrain: OnceCell<PretrainStats>,
}

impl SharedStart {
    /// The cold start's statistics, when one ran.
    pub fn pretrain_stats(&self) -> Option<&PretrainStats> {
        self.pretrain.get()
    }

    /// A new search of `method` for the run described by the arguments.
    ///
    /// # Errors
    /// `method` does not search, or its start fails.
    pub fn start(
        &self,
        method: Method,
        config: &ExperimentConfig,
        env: &EnvInfo,
        seeds: &Seeds,
    ) -> anyhow::Result<Box<dyn SearchMethod>> {
        let Strategy::Search { start, .. } = &method.kind().strategy else {
            bail!("{method} does not search");
        };
        start(&mut self.context(method, config, env, seeds))
            .with_context(|| format!("starting {method}"))
    }

    /// The search of `method` saved in `dir`.
    ///
    /// # Errors
    /// `method` does not search, or its saved state cannot be read.
    pub fn restore(
        &self,
        method: Method,
        config: &ExperimentConfig,
        env: &EnvInfo,
        seeds: &Seeds,
        dir: &Path,
    ) -> anyhow::Result<Box<dyn SearchMethod>> {
        let Strategy::Search { restore, .. } = &method.kind().strategy else {
            bail!("{method} does not search");
        };
        restore(&mut self.context(method, config, env, seeds), dir)
            .with_context(|| format!("restoring {method} from {}", dir.display()))
    }

    fn context<'a>(
        &'a self,
        method: Method,
        config: &'a ExperimentConfig,
        env: &'a EnvInfo,
        seeds: &'a Seeds,
    ) -> MethodContext<'a> {
        MethodContext {
            method,
            config,
            env,
            seeds,
            shared: self,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn names_and_streams_are_unique() {
        let names: HashSet<&str> = REGISTRY.iter().map(|m| m.name()).collect();
        let streams: HashSet<u64> = REGISTRY.iter().map(|m| m.stream()).collect();
        assert_eq!(names.len(), REGISTRY.len());
        assert_eq!(streams.len(), REGISTRY.len());
    }

    #[test]
    fn methods_are_read_and_written_by_name() {
        for &method in REGISTRY {
            let text = serde_json::to_string(&method).unwrap();
            assert_eq!(text, format!("\"{}\"", method.name()));
            assert_eq!(serde_json::from_str::<Method>(&text).unwrap(), method);
        }
        let error = serde_json::from_str::<Method>("\"derl-pop\"").unwrap_err();
        assert!(
            error.to_string().contains("unknown method `derl-pop`"),
            "{error}"
        );
        assert!(error.to_string().contains("derl_pop"), "{error}");
    }

    #[test]
    fn the_fixed_methods_do_not_search_and_the_others_do() {
        let fixed: Vec<&str> = REGISTRY
            .iter()
            .filter(|m| !m.is_search())
            .map(|m| m.name())
            .collect();
        assert_eq!(fixed, ["outcome_only", "heuristic"]);
        let handing_over: Vec<&str> = REGISTRY
            .iter()
            .filter(|m| m.hand_over().is_some())
            .map(|m| m.name())
            .collect();
        assert_eq!(handing_over, ["derl_pop"]);
        assert!(!DEFAULT_METHODS.contains(&Method::LANDSCAPE));
        assert_eq!(DEFAULT_METHODS.len() + 1, REGISTRY.len());
    }
}
