//! Forwards the generated `Guest` traits to [`Environment`],
//! [`RewardProgram`] and [`TextPrimitives`] values held by the type that
//! `register_*!` defines.

use crate::bindings::environment::derl::plugin::types as env_wit;
use crate::bindings::environment::exports::derl::plugin::environment::Guest as EnvironmentGuest;
use crate::bindings::reward::derl::plugin::types as reward_wit;
use crate::bindings::reward::exports::derl::plugin::reward::Guest as RewardGuest;
use crate::bindings::text::derl::plugin::types as text_types;
use crate::bindings::text::exports::derl::plugin::text_primitives as text_wit;
use crate::convert;
use crate::{Environment, RewardProgram, TextPrimitives, TextSample};

/// Gives access to the plugin's single environment value.
pub trait EnvironmentCell {
    /// The author's environment type.
    type Env: Environment;
    /// Runs `f` on the environment, creating it on first use.
    fn with<R>(f: impl FnOnce(&mut Self::Env) -> R) -> R;
}

/// Gives access to the plugin's single reward program value.
pub trait RewardCell {
    /// The author's program type.
    type Program: RewardProgram;
    /// Runs `f` on the program, creating it on first use.
    fn with<R>(f: impl FnOnce(&mut Self::Program) -> R) -> R;
}

/// Gives access to the plugin's single text-primitives extractor.
pub trait TextPrimitivesCell {
    /// The author's extractor type.
    type Extractor: TextPrimitives;
    /// Runs `f` on the extractor, creating it on first use.
    fn with<R>(f: impl FnOnce(&mut Self::Extractor) -> R) -> R;
}

impl<T: EnvironmentCell> EnvironmentGuest for T {
    fn configure(settings: Vec<(String, String)>) -> Result<(), env_wit::EnvError> {
        T::with(|env| env.configure(&settings)).map_err(convert::env_error)
    }

    fn info() -> env_wit::EnvInfo {
        convert::env_info(T::with(|env| env.info()))
    }

    fn task_count(split: env_wit::Split) -> u32 {
        T::with(|env| env.task_count(convert::split(split)))
    }

    fn reset(
        split: env_wit::Split,
        task: u32,
        seed: u64,
    ) -> Result<env_wit::Observation, env_wit::EnvError> {
        T::with(|env| env.reset(convert::split(split), task, seed))
            .map(convert::observation)
            .map_err(convert::env_error)
    }

    fn step(action: u32) -> Result<env_wit::StepResult, env_wit::EnvError> {
        T::with(|env| env.step(action))
            .map(convert::step_result)
            .map_err(convert::env_error)
    }

    fn expert_action() -> Result<Option<u32>, env_wit::EnvError> {
        T::with(|env| env.expert_action()).map_err(convert::env_error)
    }
}

impl<T: RewardCell> RewardGuest for T {
    fn score(batch: reward_wit::Batch) -> Result<Vec<f64>, String> {
        let stride = batch.stride as usize;
        if stride == 0 && !batch.values.is_empty() {
            return Err("a batch with values must have a non-zero stride".to_owned());
        }
        if stride != 0 && !batch.values.len().is_multiple_of(stride) {
            return Err(format!(
                "batch of {} values is not a whole number of rows of {stride}",
                batch.values.len()
            ));
        }
        T::with(|program| program.score(stride, &batch.values))
    }

    fn describe() -> reward_wit::RewardInfo {
        let info = T::with(|program| program.describe());
        reward_wit::RewardInfo {
            description: info.description,
            min_stride: info.min_stride,
        }
    }
}

impl<T: TextPrimitivesCell> text_wit::Guest for T {
    fn configure(settings: Vec<(String, String)>) -> Result<(), String> {
        T::with(|extractor| extractor.configure(&settings))
    }

    fn info() -> text_wit::ExtractorInfo {
        let info = T::with(|extractor| extractor.info());
        text_wit::ExtractorInfo {
            name: info.name,
            version: info.version,
            description: info.description,
            primitives: info
                .primitives
                .into_iter()
                .map(|p| text_types::PrimitiveSpec {
                    name: p.name,
                    description: p.description,
                    min: p.min,
                    max: p.max,
                })
                .collect(),
        }
    }

    fn extract(samples: Vec<text_wit::TextSample>) -> Result<Vec<f64>, String> {
        let samples: Vec<TextSample> = samples
            .into_iter()
            .map(|s| TextSample {
                prompt: s.prompt,
                completion: s.completion,
                reference: s.reference,
            })
            .collect();
        T::with(|extractor| extractor.extract(&samples))
    }
}
