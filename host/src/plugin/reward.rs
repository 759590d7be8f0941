//! `RewardProgram`: a reward component (compiled Meta-Reward, hand-written or
//! Python) loaded into the sandbox, scoring batches of episode primitives.

use super::bindings::reward::RewardProgram as Bindings;
use super::bindings::reward::RewardProgramPre;
use super::bindings::reward::derl::plugin::types as wit;
use super::environment::interface_problem;
use derl_sandbox::{
    CompiledComponent, Digest, Grants, Instance, Limits, PluginError, PluginErrorKind, Sandbox,
};
use std::sync::Arc;

/// What a reward program says about itself.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RewardInfo {
    /// Human-readable form of the program.
    pub description: String,
    /// One more than the highest primitive index the program reads.
    pub min_stride: u32,
}

/// A reward component, compiled and checked. Every [`RewardProgram::score`]
/// call runs in a fresh instance, so scores are a pure function of the batch
/// and a failure never leaks into the next call.
#[derive(Clone)]
pub struct RewardProgram {
    sandbox: Sandbox,
    component: Arc<CompiledComponent>,
    limits: Limits,
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
        RewardProgramPre::new(component.instance_pre().clone()).map_err(|e| {
            PluginError::new(
                &label,
                PluginErrorKind::InterfaceMismatch(interface_problem(&e, super::REWARD_INTERFACE)),
            )
        })?;
        let mut program = RewardProgram {
            sandbox: sandbox.clone(),
            component,
            limits,
            info: RewardInfo {
                description: String::new(),
                min_stride: 0,
            },
            label,
        };
        let mut instance = program.fresh_instance()?;
        let info = instance.call(|b, s| b.derl_plugin_reward().call_describe(s))?;
        program.info = RewardInfo {
            description: info.description,
            min_stride: info.min_stride,
        };
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
                super::instantiate_typed(store, pre, super::REWARD_INTERFACE, |s, i| {
                    Bindings::new(s, i)
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
        let batch = wit::Batch {
            stride: stride as u32,
            values: values.to_vec(),
        };
        let scores = instance
            .call(|b, s| b.derl_plugin_reward().call_score(s, &batch))?
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
}
