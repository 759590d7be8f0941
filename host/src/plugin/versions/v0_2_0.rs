//! `derl:plugin@0.2.0` (`wit/v0.2.0/`), the latest version: its bindings and
//! the conversions of its types into the plain ones, field for field.

/// Host bindings of the `environment-plugin` world.
pub mod environment {
    wasmtime::component::bindgen!({
        world: "environment-plugin",
        path: "../wit/v0.2.0",
    });
}

/// Host bindings of the `reward-program` world.
pub mod reward {
    wasmtime::component::bindgen!({
        world: "reward-program",
        path: "../wit/v0.2.0",
    });
}

pub(crate) use reward::derl::plugin::types as reward_types;

super::convert::shared_conversions!(environment::derl::plugin::types);
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
