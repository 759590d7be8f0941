//! Conversions between the generated WIT types and the plain `derl-env-api` types.

use crate::bindings::environment::derl::plugin::types as wit;
use derl_env_api as api;

pub(crate) fn split(split: wit::Split) -> api::Split {
    match split {
        wit::Split::Train => api::Split::Train,
        wit::Split::Validation => api::Split::Validation,
        wit::Split::Test => api::Split::Test,
        wit::Split::Ood => api::Split::Ood,
    }
}

fn wit_split(split: api::Split) -> wit::Split {
    match split {
        api::Split::Train => wit::Split::Train,
        api::Split::Validation => wit::Split::Validation,
        api::Split::Test => wit::Split::Test,
        api::Split::Ood => wit::Split::Ood,
    }
}

pub(crate) fn env_info(info: api::EnvInfo) -> wit::EnvInfo {
    wit::EnvInfo {
        name: info.name,
        version: info.version,
        description: info.description,
        max_steps: info.max_steps,
        split_max_steps: info
            .split_max_steps
            .into_iter()
            .map(|(split, steps)| (wit_split(split), steps))
            .collect(),
        primitives: info
            .primitives
            .into_iter()
            .map(|p| wit::PrimitiveSpec {
                name: p.name,
                description: p.description,
                min: p.min,
                max: p.max,
            })
            .collect(),
        splits: info.splits.into_iter().map(wit_split).collect(),
        disjoint_splits: info.disjoint_splits,
        feature_count: info.feature_count,
    }
}

pub(crate) fn observation(obs: api::Observation) -> wit::Observation {
    wit::Observation {
        task: obs.task,
        text: obs.text,
        actions: obs.actions,
        features: obs.features,
    }
}

pub(crate) fn step_result(result: api::StepResult) -> wit::StepResult {
    wit::StepResult {
        observation: observation(result.observation),
        feedback: result.feedback,
        terminated: result.terminated,
        truncated: result.truncated,
        primitives: result.primitives,
    }
}

pub(crate) fn env_error(error: api::EnvError) -> wit::EnvError {
    match error {
        api::EnvError::InvalidSetting(m) => wit::EnvError::InvalidSetting(m),
        api::EnvError::UnknownSplit(m) => wit::EnvError::UnknownSplit(m),
        api::EnvError::UnknownTask(m) => wit::EnvError::UnknownTask(m),
        api::EnvError::InvalidAction(m) => wit::EnvError::InvalidAction(m),
        api::EnvError::NoEpisode(m) => wit::EnvError::NoEpisode(m),
    }
}
