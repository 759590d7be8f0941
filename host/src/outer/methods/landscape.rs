//! The reward landscape: a fixed panel of programs, each trained on every
//! search seed, to see whether there is anything for a search to find.
//!
//! The panel, for an environment whose success primitive is `gS`: the
//! outcome alone; the equal-weight sum; the outcome plus and minus half of
//! each other primitive (`gS + 0.5 * gK`, `gS - 0.5 * gK`, which covers the
//! docs' hand-shaped `success + 0.5*progress`); then samples of the untrained
//! Meta-Optimizer until [`PANEL_SIZE`] distinct programs. Each iteration
//! proposes the next `outer.group_size` of them (from the start again once
//! all were proposed: those repeats come from the cache), and its inner
//! loops evaluate every split of `final.splits`. `derl report` turns the
//! rows into the landscape table and the headroom (`report::landscape`).

use super::{MethodContext, MethodKind, SearchMethod, SearchSplits, Strategy};
use crate::outer::env_info::EnvInfo;
use anyhow::Context;
use derl_env_api::seeds::derive_seed;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};
use std::path::Path;

/// Programs in the panel (fewer when the Meta-Optimizer's samples run out
/// of new ones).
pub const PANEL_SIZE: usize = 24;
const STATE_FILE: &str = "landscape.json";
/// Rounds of Meta-Optimizer samples tried before the panel stays short.
const SAMPLE_ROUNDS: usize = 32;

/// The landscape.
pub(super) const LANDSCAPE: MethodKind = MethodKind {
    name: "landscape",
    stream: 7,
    about: "a fixed panel of programs, each trained, for the reward landscape and its headroom",
    strategy: Strategy::Search {
        start,
        restore,
        hand_over: None,
    },
    search_splits: SearchSplits::FinalSplits,
};

/// The panel and how far it has been proposed.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
struct Landscape {
    panel: Vec<String>,
    next: usize,
}

/// The hand-made part of the panel for `env`: outcome, the equal-weight
/// sum, and the outcome plus and minus half of each other primitive.
pub fn fixed_panel(env: &EnvInfo) -> Vec<String> {
    let outcome = env.outcome_program();
    let mut panel = vec![outcome.clone(), env.heuristic_program()];
    for k in 1..=env.primitives.len() {
        let other = format!("g{k}");
        if other != outcome {
            panel.push(format!("{outcome} + 0.5 * {other}"));
            panel.push(format!("{outcome} - 0.5 * {other}"));
        }
    }
    panel
}

fn start(context: &mut MethodContext<'_>) -> anyhow::Result<Box<dyn SearchMethod>> {
    let names: Vec<&str> = context.env.primitives.iter().map(String::as_str).collect();
    let normalized = |program: &str| {
        derl_lang::parse(program, &names)
            .map(|p| p.normalized())
            .with_context(|| format!("the panel's program `{program}`"))
    };
    let mut panel = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for program in fixed_panel(context.env) {
        if seen.insert(normalized(&program)?) {
            panel.push(program);
        }
    }
    let model = context.initial_meta()?;
    let mut rng = ChaCha8Rng::seed_from_u64(derive_seed(
        context.seeds.experiment,
        0x700 + context.method.stream(),
    ));
    for _ in 0..SAMPLE_ROUNDS {
        if panel.len() >= PANEL_SIZE {
            break;
        }
        let group = model
            .sample_group(8, context.config.meta.temperature, &mut rng)
            .context("sampling the panel from the Meta-Optimizer")?;
        for sample in group {
            if panel.len() < PANEL_SIZE && seen.insert(normalized(sample.source())?) {
                panel.push(sample.source().to_owned());
            }
        }
    }
    Ok(Box::new(Landscape { panel, next: 0 }))
}

fn restore(_: &mut MethodContext<'_>, dir: &Path) -> anyhow::Result<Box<dyn SearchMethod>> {
    let path = dir.join(STATE_FILE);
    let text = std::fs::read_to_string(&path)
        .with_context(|| format!("cannot read {}", path.display()))?;
    let landscape: Landscape = serde_json::from_str(&text)
        .with_context(|| format!("{} is not a landscape state", path.display()))?;
    Ok(Box::new(landscape))
}

impl SearchMethod for Landscape {
    fn propose(&mut self, group_size: usize, _: &mut ChaCha8Rng) -> anyhow::Result<Vec<String>> {
        anyhow::ensure!(!self.panel.is_empty(), "the landscape's panel is empty");
        let group = (0..group_size)
            .map(|i| self.panel[(self.next + i) % self.panel.len()].clone())
            .collect();
        self.next += group_size;
        Ok(group)
    }

    fn learn(&mut self, _: &[f64]) -> anyhow::Result<Option<serde_json::Value>> {
        Ok(None)
    }

    fn save(&self, dir: &Path) -> anyhow::Result<()> {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
        let text = serde_json::to_string_pretty(self)?;
        crate::experiment::write_atomic(&dir.join(STATE_FILE), text.as_bytes())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(primitives: &[&str]) -> EnvInfo {
        EnvInfo {
            component: "x".into(),
            sha256: String::new(),
            primitives: primitives.iter().map(|p| p.to_string()).collect(),
            splits: vec![],
        }
    }

    #[test]
    fn the_fixed_panel_adds_each_other_primitive_both_ways() {
        let panel = fixed_panel(&env(&["progress", "success", "speed"]));
        assert_eq!(
            panel,
            [
                "g2",
                "g1 + g2 + g3",
                "g2 + 0.5 * g1",
                "g2 - 0.5 * g1",
                "g2 + 0.5 * g3",
                "g2 - 0.5 * g3"
            ]
        );
        for program in &panel {
            derl_lang::parse(program, &[]).unwrap();
        }
    }

    #[test]
    fn groups_walk_the_panel_and_wrap() {
        let mut landscape = Landscape {
            panel: vec!["g1".into(), "g2".into(), "g1 + g2".into()],
            next: 0,
        };
        let mut rng = ChaCha8Rng::seed_from_u64(0);
        assert_eq!(landscape.propose(2, &mut rng).unwrap(), ["g1", "g2"]);
        assert_eq!(landscape.propose(2, &mut rng).unwrap(), ["g1 + g2", "g1"]);
    }
}
