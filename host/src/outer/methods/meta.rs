//! The Meta-Optimizer methods: DERL (trained by GRPO on its programs'
//! scores), DERL-pop (the same, with inner loops that continue the previous
//! iteration's best policy) and untrained sampling (never updated).

use super::{HandOver, MethodContext, MethodKind, SearchMethod, SearchSplits, Strategy};
use anyhow::Context;
use derl_learn::{GrpoConfig, GrpoTrainer, PolicyModel};
use derl_meta::{MetaOptimizer, SampledProgram};
use rand_chacha::ChaCha8Rng;
use std::path::Path;

const MODEL_DIR: &str = "model";
const TRAINER_DIR: &str = "trainer";

/// DERL.
pub(super) const DERL: MethodKind = MethodKind {
    name: "derl",
    stream: 1,
    about: "the Meta-Optimizer, trained by GRPO on its programs' scores",
    strategy: Strategy::Search {
        start: start_trained,
        restore: restore_trained,
        hand_over: None,
    },
    search_splits: SearchSplits::ScoreSplit,
};

/// DERL-pop.
pub(super) const DERL_POP: MethodKind = MethodKind {
    name: "derl_pop",
    stream: 2,
    about: "DERL whose inner loops continue the previous iteration's best policy",
    strategy: Strategy::Search {
        start: start_trained,
        restore: restore_trained,
        hand_over: Some(HandOver {
            updates: |config| config.derl_pop.updates,
        }),
    },
    search_splits: SearchSplits::ScoreSplit,
};

/// Untrained sampling.
pub(super) const UNTRAINED: MethodKind = MethodKind {
    name: "untrained",
    stream: 6,
    about: "samples from the initial Meta-Optimizer, never updated",
    strategy: Strategy::Search {
        start: start_untrained,
        restore: restore_untrained,
        hand_over: None,
    },
    search_splits: SearchSplits::ScoreSplit,
};

/// A Meta-Optimizer and, when it learns, its GRPO trainer (KL reference:
/// the initial weights).
struct MetaSearch {
    model: MetaOptimizer,
    trainer: Option<GrpoTrainer<MetaOptimizer>>,
    temperature: f64,
    /// The group proposed last, awaiting its scores.
    pending: Vec<SampledProgram>,
}

fn start_trained(context: &mut MethodContext<'_>) -> anyhow::Result<Box<dyn SearchMethod>> {
    let grpo = GrpoConfig {
        seed: context.seeds.grpo(context.method),
        ..context.config.meta.grpo.clone()
    };
    start(context, Some(grpo))
}

fn start_untrained(context: &mut MethodContext<'_>) -> anyhow::Result<Box<dyn SearchMethod>> {
    start(context, None)
}

fn start(
    context: &MethodContext<'_>,
    grpo: Option<GrpoConfig>,
) -> anyhow::Result<Box<dyn SearchMethod>> {
    let model = context
        .initial_meta()?
        .snapshot()
        .context("copying the initial Meta-Optimizer")?;
    let trainer = grpo
        .map(|config| GrpoTrainer::new(config, &model))
        .transpose()
        .context("configuring the Meta-Optimizer's GRPO")?;
    Ok(Box::new(MetaSearch {
        model,
        trainer,
        temperature: context.config.meta.temperature,
        pending: Vec::new(),
    }))
}

fn restore_trained(
    context: &mut MethodContext<'_>,
    dir: &Path,
) -> anyhow::Result<Box<dyn SearchMethod>> {
    restore(context, dir, true)
}

fn restore_untrained(
    context: &mut MethodContext<'_>,
    dir: &Path,
) -> anyhow::Result<Box<dyn SearchMethod>> {
    restore(context, dir, false)
}

fn restore(
    context: &MethodContext<'_>,
    dir: &Path,
    trained: bool,
) -> anyhow::Result<Box<dyn SearchMethod>> {
    let (model, _) = MetaOptimizer::load(&dir.join(MODEL_DIR))
        .with_context(|| format!("loading the Meta-Optimizer in {}", dir.display()))?;
    let trainer = if trained {
        Some(
            GrpoTrainer::load_state(&dir.join(TRAINER_DIR), &model)
                .with_context(|| format!("loading GRPO state in {}", dir.display()))?,
        )
    } else {
        None
    };
    Ok(Box::new(MetaSearch {
        model,
        trainer,
        temperature: context.config.meta.temperature,
        pending: Vec::new(),
    }))
}

impl SearchMethod for MetaSearch {
    fn propose(&mut self, group_size: usize, rng: &mut ChaCha8Rng) -> anyhow::Result<Vec<String>> {
        self.pending = self
            .model
            .sample_group(group_size, self.temperature, rng)
            .context("sampling from the Meta-Optimizer")?;
        Ok(self.pending.iter().map(|s| s.source().to_owned()).collect())
    }

    fn learn(&mut self, scores: &[f64]) -> anyhow::Result<Option<serde_json::Value>> {
        let Some(trainer) = &mut self.trainer else {
            return Ok(None);
        };
        let group = derl_meta::group_episodes(&self.pending, scores)?;
        let stats = trainer
            .update(&self.model, &[group])
            .context("the Meta-Optimizer's GRPO update")?;
        self.pending.clear();
        Ok(Some(serde_json::to_value(stats)?))
    }

    fn save(&self, dir: &Path) -> anyhow::Result<()> {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
        self.model
            .save(&dir.join(MODEL_DIR), &serde_json::Value::Null)
            .with_context(|| format!("saving the Meta-Optimizer to {}", dir.display()))?;
        if let Some(trainer) = &self.trainer {
            trainer
                .save_state(&dir.join(TRAINER_DIR))
                .with_context(|| format!("saving GRPO state to {}", dir.display()))?;
        }
        Ok(())
    }
}
