//! The program sources of the search methods: a Meta-Optimizer (trained by
//! GRPO for DERL and DERL-pop, frozen for untrained sampling) or the
//! (mu+lambda) evolution baseline. Each proposes a group, learns from the
//! group's scores, and saves and loads its whole state for resume.

use anyhow::Context;
use derl_learn::{GrpoConfig, GrpoTrainer};
use derl_meta::{Evolution, EvolutionConfig, EvolutionState, MetaOptimizer, SampledProgram};
use rand_chacha::ChaCha8Rng;
use std::path::Path;

const MODEL_DIR: &str = "model";
const TRAINER_DIR: &str = "trainer";
const EVOLUTION_FILE: &str = "evolution.json";

/// A search method's program source.
pub(crate) enum Generator {
    /// A Meta-Optimizer; `trainer` is `None` for untrained sampling.
    Meta {
        /// The model programs are sampled from.
        model: Box<MetaOptimizer>,
        /// Its GRPO trainer (KL reference: the initial weights).
        trainer: Option<Box<GrpoTrainer<MetaOptimizer>>>,
        /// The group proposed last, awaiting its scores.
        pending: Vec<SampledProgram>,
    },
    /// The black-box baseline.
    Evolution {
        /// Its population and configuration.
        evolution: Box<Evolution>,
        /// The group proposed last, awaiting its scores.
        pending: Vec<String>,
    },
}

impl Generator {
    /// A Meta-Optimizer generator: a copy of `initial`, trained with `grpo`
    /// when given.
    pub(crate) fn meta(initial: &MetaOptimizer, grpo: Option<GrpoConfig>) -> anyhow::Result<Self> {
        use derl_learn::PolicyModel;
        let model = initial
            .snapshot()
            .context("copying the initial Meta-Optimizer")?;
        let trainer = match grpo {
            Some(config) => Some(Box::new(
                GrpoTrainer::new(config, &model)
                    .context("configuring the Meta-Optimizer's GRPO")?,
            )),
            None => None,
        };
        Ok(Generator::Meta {
            model: Box::new(model),
            trainer,
            pending: Vec::new(),
        })
    }

    /// An evolution generator.
    pub(crate) fn evolution(evolution: Evolution) -> Self {
        Generator::Evolution {
            evolution: Box::new(evolution),
            pending: Vec::new(),
        }
    }

    /// The next group of `group_size` programs (source text).
    pub(crate) fn propose(
        &mut self,
        group_size: usize,
        temperature: f64,
        rng: &mut ChaCha8Rng,
    ) -> anyhow::Result<Vec<String>> {
        match self {
            Generator::Meta { model, pending, .. } => {
                *pending = model
                    .sample_group(group_size, temperature, rng)
                    .context("sampling from the Meta-Optimizer")?;
                Ok(pending.iter().map(|s| s.source().to_owned()).collect())
            }
            Generator::Evolution {
                evolution, pending, ..
            } => {
                *pending = evolution.propose(rng);
                Ok(pending.clone())
            }
        }
    }

    /// Learns from the scores of the group proposed last (one per program,
    /// in order). Returns the GRPO update's statistics, if any.
    pub(crate) fn learn(&mut self, scores: &[f64]) -> anyhow::Result<Option<serde_json::Value>> {
        match self {
            Generator::Meta {
                model,
                trainer,
                pending,
            } => {
                let Some(trainer) = trainer else {
                    return Ok(None);
                };
                let group = derl_meta::group_episodes(pending, scores)?;
                let stats = trainer
                    .update(model, &[group])
                    .context("the Meta-Optimizer's GRPO update")?;
                pending.clear();
                Ok(Some(serde_json::to_value(stats)?))
            }
            Generator::Evolution { evolution, pending } => {
                anyhow::ensure!(
                    pending.len() == scores.len(),
                    "{} programs but {} scores",
                    pending.len(),
                    scores.len()
                );
                let scored: Vec<(String, f64)> =
                    pending.drain(..).zip(scores.iter().copied()).collect();
                evolution.tell(&scored)?;
                Ok(None)
            }
        }
    }

    /// Writes the whole state to `dir`.
    pub(crate) fn save(&self, dir: &Path) -> anyhow::Result<()> {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
        match self {
            Generator::Meta { model, trainer, .. } => {
                model
                    .save(&dir.join(MODEL_DIR), &serde_json::Value::Null)
                    .with_context(|| format!("saving the Meta-Optimizer to {}", dir.display()))?;
                if let Some(trainer) = trainer {
                    trainer
                        .save_state(&dir.join(TRAINER_DIR))
                        .with_context(|| format!("saving GRPO state to {}", dir.display()))?;
                }
            }
            Generator::Evolution { evolution, .. } => {
                let text = serde_json::to_string_pretty(&evolution.state())?;
                crate::experiment::write_atomic(&dir.join(EVOLUTION_FILE), text.as_bytes())?;
            }
        }
        Ok(())
    }

    /// Reads a Meta-Optimizer generator saved by [`Generator::save`].
    pub(crate) fn load_meta(dir: &Path, trained: bool) -> anyhow::Result<Self> {
        let (model, _) = MetaOptimizer::load(&dir.join(MODEL_DIR))
            .with_context(|| format!("loading the Meta-Optimizer in {}", dir.display()))?;
        let trainer = if trained {
            Some(Box::new(
                GrpoTrainer::load_state(&dir.join(TRAINER_DIR), &model)
                    .with_context(|| format!("loading GRPO state in {}", dir.display()))?,
            ))
        } else {
            None
        };
        Ok(Generator::Meta {
            model: Box::new(model),
            trainer,
            pending: Vec::new(),
        })
    }

    /// Reads an evolution generator saved by [`Generator::save`].
    pub(crate) fn load_evolution(
        dir: &Path,
        config: EvolutionConfig,
        primitive_count: usize,
    ) -> anyhow::Result<Self> {
        let path = dir.join(EVOLUTION_FILE);
        let text = std::fs::read_to_string(&path)
            .with_context(|| format!("cannot read {}", path.display()))?;
        let state: EvolutionState = serde_json::from_str(&text)
            .with_context(|| format!("{} is not an evolution state", path.display()))?;
        Ok(Generator::evolution(Evolution::restore(
            config,
            primitive_count,
            &state,
        )?))
    }
}
