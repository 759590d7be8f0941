//! Conversions that every version shares (splits, primitive specs, errors,
//! step results), written once as a macro that each version module expands
//! over its own generated types.

/// Defines `wit_split`, `api_split`, `primitive`, `env_error` and
/// `step_result` for the generated types module `$wit`; the version module
/// supplies `observation` and `env_info`.
macro_rules! shared_conversions {
    ($wit:path) => {
        use derl_env_api::{EnvError, PrimitiveSpec, Split, StepResult};
        use $wit as wit;

        /// The version's split for a plain split.
        pub(crate) fn wit_split(split: Split) -> wit::Split {
            match split {
                Split::Train => wit::Split::Train,
                Split::Validation => wit::Split::Validation,
                Split::Test => wit::Split::Test,
                Split::Ood => wit::Split::Ood,
            }
        }

        /// The plain split of the version's split.
        pub(crate) fn api_split(split: wit::Split) -> Split {
            match split {
                wit::Split::Train => Split::Train,
                wit::Split::Validation => Split::Validation,
                wit::Split::Test => Split::Test,
                wit::Split::Ood => Split::Ood,
            }
        }

        pub(crate) fn primitive(p: wit::PrimitiveSpec) -> PrimitiveSpec {
            PrimitiveSpec {
                name: p.name,
                description: p.description,
                min: p.min,
                max: p.max,
            }
        }

        pub(crate) fn env_error(error: wit::EnvError) -> EnvError {
            match error {
                wit::EnvError::InvalidSetting(m) => EnvError::InvalidSetting(m),
                wit::EnvError::UnknownSplit(m) => EnvError::UnknownSplit(m),
                wit::EnvError::UnknownTask(m) => EnvError::UnknownTask(m),
                wit::EnvError::InvalidAction(m) => EnvError::InvalidAction(m),
                wit::EnvError::NoEpisode(m) => EnvError::NoEpisode(m),
            }
        }

        pub(crate) fn step_result(result: wit::StepResult) -> StepResult {
            StepResult {
                observation: observation(result.observation),
                feedback: result.feedback,
                terminated: result.terminated,
                truncated: result.truncated,
                primitives: result.primitives,
            }
        }
    };
}

pub(super) use shared_conversions;

/// Defines `env_info` and `observation` for versions with the task field and
/// per-split step limits (0.2.0 and later), after [`shared_conversions`].
macro_rules! task_field_conversions {
    () => {
        use derl_env_api::{EnvInfo, Observation};

        pub(crate) fn env_info(info: wit::EnvInfo) -> EnvInfo {
            EnvInfo {
                name: info.name,
                version: info.version,
                description: info.description,
                max_steps: info.max_steps,
                split_max_steps: info
                    .split_max_steps
                    .into_iter()
                    .map(|(split, steps)| (api_split(split), steps))
                    .collect(),
                primitives: info.primitives.into_iter().map(primitive).collect(),
                splits: info.splits.into_iter().map(api_split).collect(),
                disjoint_splits: info.disjoint_splits,
                feature_count: info.feature_count,
            }
        }

        pub(crate) fn observation(obs: wit::Observation) -> Observation {
            Observation {
                task: obs.task,
                text: obs.text,
                actions: obs.actions,
                features: obs.features,
            }
        }
    };
}

pub(super) use task_field_conversions;
