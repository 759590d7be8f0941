//! What a run knows about its environment, read once when the run starts
//! or resumes.

use crate::experiment::ExperimentConfig;
use crate::inner::EnvSpec;
use anyhow::{Context, bail};
use derl_env_api::Split;
use derl_sandbox::Sandbox;
use serde::{Deserialize, Serialize};

/// What the run knows about its environment.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EnvInfo {
    /// `env.component`.
    pub component: String,
    /// The component's sha256 (every job is pinned to it).
    pub sha256: String,
    /// Primitive names, `g1..gN` in order.
    pub primitives: Vec<String>,
    /// Splits the environment has.
    pub splits: Vec<Split>,
}

impl EnvInfo {
    /// Loads the environment of `config` to read its primitives and splits.
    ///
    /// # Errors
    /// The component cannot be loaded, or its hash differs from a pinned one.
    pub fn load(config: &ExperimentConfig, sandbox: &Sandbox) -> anyhow::Result<EnvInfo> {
        let plugin = EnvInfo::spec(config, None)
            .load(sandbox)
            .context("`env.component`")?;
        let info = plugin.info();
        Ok(EnvInfo {
            component: config.env.component.clone(),
            sha256: plugin.digest().to_hex(),
            primitives: info.primitives.iter().map(|p| p.name.clone()).collect(),
            splits: info.splits.clone(),
        })
    }

    /// The environment of `config` as a job gives it: pinned to `sha256`
    /// when given (else to `env.sha256`), with its settings and limits.
    pub fn spec(config: &ExperimentConfig, sha256: Option<&str>) -> EnvSpec {
        EnvSpec {
            component: config.env.component.clone(),
            settings: config.env.settings_strings(),
            sha256: sha256
                .map(str::to_owned)
                .or_else(|| config.env.sha256.clone()),
            limits: config.env.limits.clone(),
        }
    }

    /// `g{K}` of the primitive named `success`, else `g1`: the outcome-only
    /// program.
    pub fn outcome_program(&self) -> String {
        let index = derl_env_api::success_index(self.primitives.iter().map(String::as_str));
        format!("g{}", index + 1)
    }

    /// The equal-weight sum of every primitive: the heuristic program.
    pub fn heuristic_program(&self) -> String {
        (1..=self.primitives.len().max(1))
            .map(|k| format!("g{k}"))
            .collect::<Vec<_>>()
            .join(" + ")
    }

    /// Checks that the environment has every split the configuration scores
    /// or evaluates.
    ///
    /// # Errors
    /// A split the environment lacks, named with the key that asks for it.
    pub fn check_splits(&self, config: &ExperimentConfig) -> anyhow::Result<()> {
        let missing = |split: Split| !self.splits.contains(&split);
        if missing(config.outer.score_split) {
            bail!(
                "`outer.score_split`: `{}` has no `{}` split (it has {})",
                self.component,
                config.outer.score_split.name(),
                split_names(&self.splits)
            );
        }
        if let Some(split) = config
            .final_eval
            .splits
            .iter()
            .copied()
            .find(|&s| missing(s))
        {
            bail!(
                "`final.splits`: `{}` has no `{}` split (it has {})",
                self.component,
                split.name(),
                split_names(&self.splits)
            );
        }
        Ok(())
    }
}

fn split_names(splits: &[Split]) -> String {
    splits
        .iter()
        .map(|s| s.name())
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn baseline_programs_follow_the_primitives() {
        let env = EnvInfo {
            component: "x".into(),
            sha256: String::new(),
            primitives: vec!["progress".into(), "success".into(), "speed".into()],
            splits: vec![],
        };
        assert_eq!(env.outcome_program(), "g2");
        assert_eq!(env.heuristic_program(), "g1 + g2 + g3");
        let env = EnvInfo {
            primitives: vec!["outcome".into(), "format".into()],
            ..env
        };
        assert_eq!(env.outcome_program(), "g1");
    }

    #[test]
    fn a_missing_split_is_named_with_its_key() {
        let env = EnvInfo {
            component: "x".into(),
            sha256: String::new(),
            primitives: vec!["success".into()],
            splits: vec![Split::Train, Split::Validation],
        };
        let mut config = ExperimentConfig::with_env("x");
        config.final_eval.splits = vec![Split::Validation];
        env.check_splits(&config).unwrap();
        config.final_eval.splits = vec![Split::Test];
        let error = env.check_splits(&config).unwrap_err().to_string();
        assert!(error.contains("`final.splits`"), "{error}");
        assert!(error.contains("train, validation"), "{error}");
        config.outer.score_split = Split::Ood;
        let error = env.check_splits(&config).unwrap_err().to_string();
        assert!(error.contains("`outer.score_split`"), "{error}");
    }
}
