//! The black-box baseline: (mu+lambda) evolution over the Meta-Optimizer's
//! grammar, no gradient.

use super::{MethodContext, MethodKind, SearchMethod, SearchSplits, Strategy};
use anyhow::Context;
use derl_meta::{Evolution, EvolutionState};
use rand_chacha::ChaCha8Rng;
use std::path::Path;

const EVOLUTION_FILE: &str = "evolution.json";

/// Evolution.
pub(super) const EVOLUTION: MethodKind = MethodKind {
    name: "evolution",
    stream: 5,
    about: "(mu+lambda) evolution over the same grammar, no gradient",
    strategy: Strategy::Search {
        start,
        restore,
        hand_over: None,
    },
    search_splits: SearchSplits::ScoreSplit,
};

/// A population and the group proposed last, awaiting its scores.
struct EvolutionSearch {
    evolution: Evolution,
    pending: Vec<String>,
}

fn start(context: &mut MethodContext<'_>) -> anyhow::Result<Box<dyn SearchMethod>> {
    let evolution = Evolution::new(
        context.config.evolution_config(),
        context.env.primitives.len(),
        context.seed_programs()?,
    )?;
    Ok(Box::new(EvolutionSearch {
        evolution,
        pending: Vec::new(),
    }))
}

fn restore(context: &mut MethodContext<'_>, dir: &Path) -> anyhow::Result<Box<dyn SearchMethod>> {
    let path = dir.join(EVOLUTION_FILE);
    let text = std::fs::read_to_string(&path)
        .with_context(|| format!("cannot read {}", path.display()))?;
    let state: EvolutionState = serde_json::from_str(&text)
        .with_context(|| format!("{} is not an evolution state", path.display()))?;
    let evolution = Evolution::restore(
        context.config.evolution_config(),
        context.env.primitives.len(),
        &state,
    )?;
    Ok(Box::new(EvolutionSearch {
        evolution,
        pending: Vec::new(),
    }))
}

impl SearchMethod for EvolutionSearch {
    fn propose(&mut self, _group_size: usize, rng: &mut ChaCha8Rng) -> anyhow::Result<Vec<String>> {
        self.pending = self.evolution.propose(rng);
        Ok(self.pending.clone())
    }

    fn learn(&mut self, scores: &[f64]) -> anyhow::Result<Option<serde_json::Value>> {
        anyhow::ensure!(
            self.pending.len() == scores.len(),
            "{} programs but {} scores",
            self.pending.len(),
            scores.len()
        );
        let scored: Vec<(String, f64)> =
            self.pending.drain(..).zip(scores.iter().copied()).collect();
        self.evolution.tell(&scored)?;
        Ok(None)
    }

    fn save(&self, dir: &Path) -> anyhow::Result<()> {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
        let text = serde_json::to_string_pretty(&self.evolution.state())?;
        crate::experiment::write_atomic(&dir.join(EVOLUTION_FILE), text.as_bytes())
    }
}
