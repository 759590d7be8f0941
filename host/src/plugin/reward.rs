//! `RewardProgram`: a reward component (compiled Meta-Reward, hand-written or
//! Python) loaded into the sandbox, scoring batches of episode primitives.

use super::environment::interface_problem;
use super::versions::{RewardBindings as Bindings, Version};
pub use derl_env_api::RewardInfo;
use derl_sandbox::{
    CompiledComponent, Digest, Grants, Instance, Limits, PluginError, PluginErrorKind, Sandbox,
};
use std::sync::Arc;

/// The largest score magnitude the inner loop trains on
/// ([`RewardProgram::score_for_training`]). A group's mean, variance and
/// advantages stay finite for any scores within it; larger finite scores
/// (1e308) would overflow them into NaN.
pub const MAX_SCORE_MAGNITUDE: f64 = 1e12;

/// A reward component, compiled and checked. Every [`RewardProgram::score`]
/// call runs in a fresh instance, so scores are a pure function of the batch
/// and a failure never leaks into the next call.
#[derive(Clone)]
pub struct RewardProgram {
    sandbox: Sandbox,
    component: Arc<CompiledComponent>,
    limits: Limits,
    version: Version,
    info: RewardInfo,
    label: String,
}

impl RewardProgram {
    /// Compiles `bytes`, checks that it implements the reward world and
    /// reads `describe()`.
    ///
    /// # Errors
    /// `NotAComponent`, `UnsupportedImport`, `InterfaceMismatch`, or any
    /// failure of the guest's code.
    pub fn load(
        sandbox: &Sandbox,
        bytes: &[u8],
        limits: Limits,
    ) -> Result<RewardProgram, PluginError> {
        let component = sandbox.load(bytes)?;
        Self::from_component(sandbox, component, limits)
    }

    /// Like [`RewardProgram::load`] for an already compiled component.
    ///
    /// # Errors
    /// As [`RewardProgram::load`].
    pub fn from_component(
        sandbox: &Sandbox,
        component: Arc<CompiledComponent>,
        limits: Limits,
    ) -> Result<RewardProgram, PluginError> {
        let label = format!("reward {}", component.digest().short());
        let version = super::exported_version(sandbox, &component, "reward", &label)?;
        Bindings::check(version, component.instance_pre()).map_err(|e| {
            PluginError::new(
                &label,
                PluginErrorKind::InterfaceMismatch(interface_problem(
                    &e,
                    &version.interface("reward"),
                )),
            )
        })?;
        let mut program = RewardProgram {
            sandbox: sandbox.clone(),
            component,
            limits,
            version,
            info: RewardInfo {
                description: String::new(),
                min_stride: 0,
            },
            label,
        };
        let mut instance = program.fresh_instance()?;
        program.info = instance.call(|b, s| b.describe(s))?;
        Ok(program)
    }

    fn fresh_instance(&self) -> Result<Instance<Bindings>, PluginError> {
        self.sandbox.instantiate(
            &self.component,
            &self.label,
            &self.limits,
            0,
            &Grants::default(),
            |store, pre| {
                let version = self.version;
                super::instantiate_typed(store, pre, &version.interface("reward"), |s, i| {
                    Bindings::new(version, s, i)
                })
            },
        )
    }

    /// What the program says about itself.
    pub fn info(&self) -> &RewardInfo {
        &self.info
    }

    /// sha256 of the component.
    pub fn digest(&self) -> Digest {
        self.component.digest()
    }

    /// Scores `values.len() / stride` episodes (row-major primitive vectors)
    /// in one sandboxed call.
    ///
    /// # Errors
    /// `InvalidOutput` for a malformed batch (checked before the call), for
    /// the wrong number of scores, or for a NaN or infinite score (naming the
    /// episode); `Guest` for the program's own error; any typed failure of
    /// the guest (fuel, deadline, memory, trap...).
    pub fn score(&self, stride: usize, values: &[f64]) -> Result<Vec<f64>, PluginError> {
        let invalid = |m: String| PluginError::new(&self.label, PluginErrorKind::InvalidOutput(m));
        if stride == 0 && !values.is_empty() {
            return Err(invalid(
                "a batch with values needs a non-zero stride".into(),
            ));
        }
        if stride != 0 && !values.len().is_multiple_of(stride) {
            return Err(invalid(format!(
                "{} values are not a whole number of rows of {stride}",
                values.len()
            )));
        }
        if !values.is_empty() && stride < self.info.min_stride as usize {
            return Err(invalid(format!(
                "the program reads {} primitives but the batch has rows of {stride}",
                self.info.min_stride
            )));
        }
        let rows = values.len().checked_div(stride).unwrap_or(0);
        let mut instance = self.fresh_instance()?;
        let values = values.to_vec();
        let scores = instance
            .call(|b, s| b.score(s, stride as u32, values))?
            .map_err(|m| instance.error(PluginErrorKind::Guest(m)))?;
        if scores.len() != rows {
            return Err(instance.error(PluginErrorKind::InvalidOutput(format!(
                "{} scores returned for {rows} episodes",
                scores.len()
            ))));
        }
        if let Some((episode, value)) = scores.iter().enumerate().find(|(_, v)| !v.is_finite()) {
            return Err(instance.error(PluginErrorKind::InvalidOutput(format!(
                "score of episode {episode} is {value}"
            ))));
        }
        Ok(scores)
    }

    /// [`RewardProgram::score`] for training: every score must also lie within
    /// ±[`MAX_SCORE_MAGNITUDE`], so that group statistics stay finite.
    ///
    /// # Errors
    /// As [`RewardProgram::score`], and `InvalidOutput` naming the first
    /// episode whose score is beyond the magnitude.
    pub fn score_for_training(
        &self,
        stride: usize,
        values: &[f64],
    ) -> Result<Vec<f64>, PluginError> {
        let scores = self.score(stride, values)?;
        match scores
            .iter()
            .enumerate()
            .find(|(_, v)| v.abs() > MAX_SCORE_MAGNITUDE)
        {
            Some((episode, value)) => Err(PluginError::new(
                &self.label,
                PluginErrorKind::InvalidOutput(format!(
                    "score of episode {episode} is {value:e}, beyond the ±{MAX_SCORE_MAGNITUDE:e} the inner loop trains on (group statistics of such scores overflow)"
                )),
            )),
            None => Ok(scores),
        }
    }
}
