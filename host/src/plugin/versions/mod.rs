//! Every accepted version of the `derl:plugin` contract: one module of
//! wasmtime bindings and conversions per frozen WIT folder (`wit/v0.1.0/`,
//! `wit/v0.2.0/`, `wit/v0.3.0/`), and the version-agnostic [`EnvBindings`] and
//! [`RewardBindings`] that the plugin wrappers call (text-primitives
//! extractors exist since 0.3.0 only: [`latest::text`]). Whatever version a
//! component was built against, the host sees the latest plain types of
//! `derl-env-api`.
//!
//! Adding a version: freeze its WIT folder, add a module here with its
//! bindings and its conversions into the latest types, and one variant to each
//! enum.

mod convert;
pub mod v0_1_0;
pub mod v0_2_0;
pub mod v0_3_0;

pub use v0_3_0 as latest;

use derl_env_api::contract::{self, SUPPORTED_VERSIONS};
use derl_env_api::{EnvError, EnvInfo, Observation, RewardInfo, Split, StepResult};
use derl_sandbox::StoreState;
use wasmtime::Store;
use wasmtime::component::{Instance, InstancePre};

/// A version of the contract that the host accepts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Version {
    /// `derl:plugin@0.1.0`: no task field, one step limit for every split.
    V0_1_0,
    /// `derl:plugin@0.2.0`: the task field, per-split step limits.
    V0_2_0,
    /// `derl:plugin@0.3.0`, the latest: 0.2.0's environment and reward worlds
    /// unchanged, plus the text-primitives world.
    V0_3_0,
}

impl Version {
    /// Every accepted version, newest first (the order a component is matched in).
    pub const NEWEST_FIRST: [Version; 3] = [Version::V0_3_0, Version::V0_2_0, Version::V0_1_0];

    /// The semver text (`0.3.0`).
    pub fn number(self) -> &'static str {
        match self {
            Version::V0_1_0 => SUPPORTED_VERSIONS[0],
            Version::V0_2_0 => SUPPORTED_VERSIONS[1],
            Version::V0_3_0 => SUPPORTED_VERSIONS[2],
        }
    }

    /// The export name of `interface` (`environment`, `reward`) in this version.
    pub fn interface(self, interface: &str) -> String {
        contract::interface(interface, self.number())
    }

    /// The newest version whose `interface` is among `exports`.
    pub fn exported(exports: &[String], interface: &str) -> Option<Version> {
        Self::NEWEST_FIRST
            .into_iter()
            .find(|version| exports.contains(&version.interface(interface)))
    }
}

/// The typed exports of an environment component of any accepted version.
pub enum EnvBindings {
    /// Built against 0.1.0.
    V0_1_0(v0_1_0::environment::EnvironmentPlugin),
    /// Built against 0.2.0.
    V0_2_0(v0_2_0::environment::EnvironmentPlugin),
    /// Built against 0.3.0.
    V0_3_0(v0_3_0::environment::EnvironmentPlugin),
}

/// Runs `$body` with `$b` bound to the version's bindings and `$v` to its module.
macro_rules! per_version {
    ($self:expr, $enum:ident, $b:ident, $v:ident => $body:expr) => {
        match $self {
            $enum::V0_1_0($b) => {
                use v0_1_0 as $v;
                $body
            }
            $enum::V0_2_0($b) => {
                use v0_2_0 as $v;
                $body
            }
            $enum::V0_3_0($b) => {
                use v0_3_0 as $v;
                $body
            }
        }
    };
}

type Calls<T> = wasmtime::Result<Result<T, EnvError>>;

impl EnvBindings {
    /// Checks that `pre` implements the environment world of `version`.
    ///
    /// # Errors
    /// The type checker's explanation of the mismatch.
    pub fn check(version: Version, pre: &InstancePre<StoreState>) -> wasmtime::Result<()> {
        match version {
            Version::V0_1_0 => {
                v0_1_0::environment::EnvironmentPluginPre::new(pre.clone()).map(drop)
            }
            Version::V0_2_0 => {
                v0_2_0::environment::EnvironmentPluginPre::new(pre.clone()).map(drop)
            }
            Version::V0_3_0 => {
                v0_3_0::environment::EnvironmentPluginPre::new(pre.clone()).map(drop)
            }
        }
    }

    /// Type-checks an instance's exports against `version`.
    ///
    /// # Errors
    /// The type checker's explanation of the mismatch.
    pub fn new(
        version: Version,
        store: &mut Store<StoreState>,
        instance: &Instance,
    ) -> wasmtime::Result<EnvBindings> {
        Ok(match version {
            Version::V0_1_0 => EnvBindings::V0_1_0(v0_1_0::environment::EnvironmentPlugin::new(
                store, instance,
            )?),
            Version::V0_2_0 => EnvBindings::V0_2_0(v0_2_0::environment::EnvironmentPlugin::new(
                store, instance,
            )?),
            Version::V0_3_0 => EnvBindings::V0_3_0(v0_3_0::environment::EnvironmentPlugin::new(
                store, instance,
            )?),
        })
    }

    /// `configure(settings)`.
    pub fn configure(
        &self,
        store: &mut Store<StoreState>,
        settings: &[(String, String)],
    ) -> Calls<()> {
        per_version!(self, EnvBindings, b, v => Ok(b
            .derl_plugin_environment()
            .call_configure(store, settings)?
            .map_err(v::env_error)))
    }

    /// `info()`, in the latest types.
    pub fn info(&self, store: &mut Store<StoreState>) -> wasmtime::Result<EnvInfo> {
        per_version!(self, EnvBindings, b, v => Ok(v::env_info(
            b.derl_plugin_environment().call_info(store)?
        )))
    }

    /// `task-count(split)`.
    pub fn task_count(&self, store: &mut Store<StoreState>, split: Split) -> wasmtime::Result<u32> {
        per_version!(self, EnvBindings, b, v => b
            .derl_plugin_environment()
            .call_task_count(store, v::wit_split(split)))
    }

    /// `reset(split, task, seed)`, in the latest types.
    pub fn reset(
        &self,
        store: &mut Store<StoreState>,
        split: Split,
        task: u32,
        seed: u64,
    ) -> Calls<Observation> {
        per_version!(self, EnvBindings, b, v => Ok(b
            .derl_plugin_environment()
            .call_reset(store, v::wit_split(split), task, seed)?
            .map(v::observation)
            .map_err(v::env_error)))
    }

    /// `step(action)`, in the latest types.
    pub fn step(&self, store: &mut Store<StoreState>, action: u32) -> Calls<StepResult> {
        per_version!(self, EnvBindings, b, v => Ok(b
            .derl_plugin_environment()
            .call_step(store, action)?
            .map(v::step_result)
            .map_err(v::env_error)))
    }

    /// `expert-action()`.
    pub fn expert_action(&self, store: &mut Store<StoreState>) -> Calls<Option<u32>> {
        per_version!(self, EnvBindings, b, v => Ok(b
            .derl_plugin_environment()
            .call_expert_action(store)?
            .map_err(v::env_error)))
    }
}

/// The typed exports of a reward component of any accepted version.
pub enum RewardBindings {
    /// Built against 0.1.0.
    V0_1_0(v0_1_0::reward::RewardProgram),
    /// Built against 0.2.0.
    V0_2_0(v0_2_0::reward::RewardProgram),
    /// Built against 0.3.0.
    V0_3_0(v0_3_0::reward::RewardProgram),
}

impl RewardBindings {
    /// Checks that `pre` implements the reward world of `version`.
    ///
    /// # Errors
    /// The type checker's explanation of the mismatch.
    pub fn check(version: Version, pre: &InstancePre<StoreState>) -> wasmtime::Result<()> {
        match version {
            Version::V0_1_0 => v0_1_0::reward::RewardProgramPre::new(pre.clone()).map(drop),
            Version::V0_2_0 => v0_2_0::reward::RewardProgramPre::new(pre.clone()).map(drop),
            Version::V0_3_0 => v0_3_0::reward::RewardProgramPre::new(pre.clone()).map(drop),
        }
    }

    /// Type-checks an instance's exports against `version`.
    ///
    /// # Errors
    /// The type checker's explanation of the mismatch.
    pub fn new(
        version: Version,
        store: &mut Store<StoreState>,
        instance: &Instance,
    ) -> wasmtime::Result<RewardBindings> {
        Ok(match version {
            Version::V0_1_0 => {
                RewardBindings::V0_1_0(v0_1_0::reward::RewardProgram::new(store, instance)?)
            }
            Version::V0_2_0 => {
                RewardBindings::V0_2_0(v0_2_0::reward::RewardProgram::new(store, instance)?)
            }
            Version::V0_3_0 => {
                RewardBindings::V0_3_0(v0_3_0::reward::RewardProgram::new(store, instance)?)
            }
        })
    }

    /// `score(batch)`: the program's scores or its own error.
    pub fn score(
        &self,
        store: &mut Store<StoreState>,
        stride: u32,
        values: Vec<f64>,
    ) -> wasmtime::Result<Result<Vec<f64>, String>> {
        per_version!(self, RewardBindings, b, v => {
            let batch = v::reward_types::Batch { stride, values };
            b.derl_plugin_reward().call_score(store, &batch)
        })
    }

    /// `describe()`.
    pub fn describe(&self, store: &mut Store<StoreState>) -> wasmtime::Result<RewardInfo> {
        per_version!(self, RewardBindings, b, v => {
            let info: v::reward_types::RewardInfo = b.derl_plugin_reward().call_describe(store)?;
            Ok(RewardInfo {
                description: info.description,
                min_stride: info.min_stride,
            })
        })
    }
}
