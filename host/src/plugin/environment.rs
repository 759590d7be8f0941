//! `EnvironmentPlugin`: an environment component loaded into the sandbox, and
//! `EnvInstance`: one fresh instance running episodes.

use super::accept::{HostBudgets, over_time};
use super::versions::{EnvBindings as Bindings, Version};
use derl_env_api::{EnvInfo, Observation, Split, StepResult};
use derl_sandbox::{
    CompiledComponent, Digest, Grants, Instance, Limits, PluginError, PluginErrorKind, Sandbox,
    StoreState,
};
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Everything that bounds an environment: the sandbox's limits on each
/// call, what it is granted, and the host's budgets on what it hands over.
/// A job's environment spec carries them (serde); every field defaults.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct EnvLimits {
    /// Limits of each call into the guest (fuel, deadline, memory...).
    pub sandbox: Limits,
    /// Capabilities granted (none by default).
    pub grants: Grants,
    /// The most the host accepts from the guest (text, actions, steps, time).
    pub budgets: HostBudgets,
}

impl EnvLimits {
    /// The defaults with other sandbox limits.
    pub fn sandbox(limits: Limits) -> EnvLimits {
        EnvLimits {
            sandbox: limits,
            ..EnvLimits::default()
        }
    }
}

/// An environment component, compiled and checked, ready to make instances.
#[derive(Clone)]
pub struct EnvironmentPlugin {
    sandbox: Sandbox,
    component: Arc<CompiledComponent>,
    settings: Vec<(String, String)>,
    limits: Limits,
    grants: Grants,
    version: Version,
    budgets: Arc<HostBudgets>,
    info: Arc<EnvInfo>,
    task_counts: [u32; 4],
}

impl EnvironmentPlugin {
    /// Compiles `bytes`, checks that it implements the environment world,
    /// configures a first instance with `settings` and reads its info.
    ///
    /// # Errors
    /// `NotAComponent`, `UnsupportedImport`, `InterfaceMismatch` for a
    /// component that is not an environment, `Guest` for rejected settings,
    /// `InvalidOutput` for an info that breaks the contract, or any failure of
    /// the guest's code.
    pub fn load(
        sandbox: &Sandbox,
        bytes: &[u8],
        settings: &[(String, String)],
        limits: &EnvLimits,
    ) -> Result<EnvironmentPlugin, PluginError> {
        let component = sandbox.load(bytes)?;
        Self::from_component(sandbox, component, settings, limits)
    }

    /// Like [`EnvironmentPlugin::load`] for an already compiled component.
    ///
    /// # Errors
    /// As [`EnvironmentPlugin::load`].
    pub fn from_component(
        sandbox: &Sandbox,
        component: Arc<CompiledComponent>,
        settings: &[(String, String)],
        limits: &EnvLimits,
    ) -> Result<EnvironmentPlugin, PluginError> {
        let label = component.digest().short();
        let version = super::exported_version(sandbox, &component, "environment", &label)?;
        Bindings::check(version, component.instance_pre()).map_err(|e| {
            PluginError::new(
                &label,
                PluginErrorKind::InterfaceMismatch(interface_problem(
                    &e,
                    &version.interface("environment"),
                )),
            )
        })?;
        let mut plugin = EnvironmentPlugin {
            sandbox: sandbox.clone(),
            component,
            settings: settings.to_vec(),
            limits: limits.sandbox.clone(),
            grants: limits.grants.clone(),
            version,
            budgets: Arc::new(limits.budgets.clone()),
            info: Arc::new(EnvInfo {
                name: label,
                version: String::new(),
                description: String::new(),
                max_steps: 0,
                split_max_steps: vec![],
                primitives: vec![],
                splits: vec![],
                disjoint_splits: false,
                feature_count: 0,
            }),
            task_counts: [0; 4],
        };
        let mut instance = plugin.fresh_instance(0)?;
        let info = instance.call(|b, s| b.info(s))?;
        plugin
            .budgets
            .check_info(&info)
            .map_err(|kind| instance.error(kind))?;
        let mut task_counts = [0; 4];
        for split in Split::ALL {
            task_counts[split.index() as usize] = instance.call(|b, s| b.task_count(s, split))?;
        }
        plugin.info = Arc::new(info);
        plugin.task_counts = task_counts;
        Ok(plugin)
    }

    /// What the environment declared.
    pub fn info(&self) -> &EnvInfo {
        &self.info
    }

    /// Number of tasks in `split`.
    pub fn task_count(&self, split: Split) -> u32 {
        self.task_counts[split.index() as usize]
    }

    /// What the host accepts from this environment.
    pub fn budgets(&self) -> &HostBudgets {
        &self.budgets
    }

    /// The contract version the component was built against.
    pub fn contract_version(&self) -> &'static str {
        self.version.number()
    }

    /// sha256 of the component.
    pub fn digest(&self) -> Digest {
        self.component.digest()
    }

    /// The compiled component.
    pub fn component(&self) -> &Arc<CompiledComponent> {
        &self.component
    }

    /// The settings every instance is configured with.
    pub fn settings(&self) -> &[(String, String)] {
        &self.settings
    }

    /// A fresh, configured instance for running episodes. `seed` seeds the
    /// instance's WASI randomness (episodes are seeded by `reset`).
    ///
    /// # Errors
    /// Any failure of the guest while starting or configuring.
    pub fn instance(&self, seed: u64) -> Result<EnvInstance, PluginError> {
        Ok(EnvInstance {
            plugin: self.clone(),
            seed,
            instance: Some(self.fresh_instance(seed)?),
            running: false,
            split: Split::Train,
            steps: 0,
            action_count: 0,
            episode_time: Duration::ZERO,
            guest_time: Duration::ZERO,
        })
    }

    fn fresh_instance(&self, seed: u64) -> Result<Instance<Bindings>, PluginError> {
        let mut instance = self.sandbox.instantiate(
            &self.component,
            &self.info.name,
            &self.limits,
            seed,
            &self.grants,
            |store, pre| {
                let version = self.version;
                super::instantiate_typed(store, pre, &version.interface("environment"), |s, i| {
                    Bindings::new(version, s, i)
                })
            },
        )?;
        if !self.settings.is_empty() {
            let settings = self.settings.clone();
            instance
                .call(|b, s| b.configure(s, &settings))?
                .map_err(|e| instance.error(PluginErrorKind::Guest(e.to_string())))?;
        }
        Ok(instance)
    }
}

/// One instance of an environment running one episode at a time. After a
/// failure that poisons the instance, the next `reset` transparently starts
/// from a fresh instance.
pub struct EnvInstance {
    plugin: EnvironmentPlugin,
    seed: u64,
    instance: Option<Instance<Bindings>>,
    running: bool,
    /// The running episode's split and steps taken, against its step limit.
    split: Split,
    steps: u32,
    /// Admissible actions of the last observation (the expert must pick one).
    action_count: usize,
    /// Wall time of the guest's calls in the running episode, and over the
    /// life of this instance (fresh instances included).
    episode_time: Duration,
    guest_time: Duration,
}

impl EnvInstance {
    /// Starts task `task` of `split` with `seed`.
    ///
    /// # Errors
    /// `Guest` for a refused reset (unknown task), `InvalidOutput` for an
    /// observation that breaks the contract, or any failure of the guest.
    pub fn reset(
        &mut self,
        split: Split,
        task: u32,
        seed: u64,
    ) -> Result<Observation, PluginError> {
        let (info, budgets) = (self.plugin.info.clone(), self.plugin.budgets.clone());
        self.episode_time = Duration::ZERO;
        let result = self.timed(|b, s| b.reset(s, split, task, seed))?;
        let instance = self.live_instance()?;
        let observation =
            result.map_err(|e| instance.error(PluginErrorKind::Guest(e.to_string())))?;
        if let Err(kind) = budgets.check_observation(&observation, &info, false) {
            instance.poison();
            return Err(instance.error(kind));
        }
        self.running = true;
        (self.split, self.steps, self.action_count) = (split, 0, observation.actions.len());
        Ok(observation)
    }

    /// Takes the admissible action at index `action`.
    ///
    /// # Errors
    /// `Guest` for a refused step (index out of range, no episode),
    /// `InvalidOutput` for a result that breaks the contract (primitives
    /// missing, NaN or out of range, no actions while running), or any
    /// failure of the guest.
    pub fn step(&mut self, action: u32) -> Result<StepResult, PluginError> {
        let (info, budgets) = (self.plugin.info.clone(), self.plugin.budgets.clone());
        let (split, steps) = (self.split, self.steps + 1);
        let result = self.timed(|b, s| b.step(s, action))?;
        let instance = self.live_instance()?;
        let result = result.map_err(|e| instance.error(PluginErrorKind::Guest(e.to_string())))?;
        if let Err(kind) = budgets.check_step(&result, &info, split, steps) {
            instance.poison();
            let error = instance.error(kind);
            self.running = false;
            return Err(error);
        }
        self.running = !result.done();
        (self.steps, self.action_count) = (steps, result.observation.actions.len());
        Ok(result)
    }

    /// The scripted solver's action, if the environment has one.
    ///
    /// # Errors
    /// `Guest` when no episode runs, or any failure of the guest.
    pub fn expert_action(&mut self) -> Result<Option<u32>, PluginError> {
        let count = self.action_count;
        let action = self.timed(|b, s| b.expert_action(s))?;
        let instance = self.live_instance()?;
        let action = action.map_err(|e| instance.error(PluginErrorKind::Guest(e.to_string())))?;
        match action {
            Some(index) if index as usize >= count => {
                Err(instance.error(PluginErrorKind::InvalidOutput(format!(
                    "the expert chose action {index}, but the observation lists {count}"
                ))))
            }
            _ => Ok(action),
        }
    }

    /// Wall time the guest's calls took over this instance's life.
    pub fn guest_time(&self) -> Duration {
        self.guest_time
    }

    /// Calls the guest, adding the call's wall time to the episode's and
    /// the instance's guest time. A failed call gives its own error; a call
    /// that takes the episode past its budget ends the episode with
    /// `TimeBudget` and the instance is replaced.
    fn timed<R>(
        &mut self,
        call: impl FnOnce(&Bindings, &mut wasmtime::Store<StoreState>) -> wasmtime::Result<R>,
    ) -> Result<R, PluginError> {
        let started = Instant::now();
        let result = self.live_instance()?.call(call);
        let spent = started.elapsed();
        self.episode_time += spent;
        self.guest_time += spent;
        let result = result?;
        let limit_ms = self.plugin.budgets.episode_ms;
        if self.episode_time.as_millis() <= u128::from(limit_ms) {
            return Ok(result);
        }
        self.running = false;
        let kind = over_time("episode", limit_ms, self.episode_time);
        match self.instance.as_mut() {
            Some(instance) => {
                instance.poison();
                Err(instance.error(kind))
            }
            None => Err(PluginError::new(&self.plugin.info.name, kind)),
        }
    }

    /// Whether an episode is running.
    pub fn is_running(&self) -> bool {
        self.running
    }

    /// Fuel used by the last call.
    pub fn last_fuel_used(&self) -> u64 {
        self.instance.as_ref().map_or(0, |i| i.last_fuel_used())
    }

    /// What the instance wrote to stdout/stderr (bounded).
    pub fn output(&self) -> derl_sandbox::CapturedOutput {
        self.instance
            .as_ref()
            .map(|i| i.output())
            .unwrap_or_default()
    }

    fn live_instance(&mut self) -> Result<&mut Instance<Bindings>, PluginError> {
        let poisoned = self.instance.as_ref().is_none_or(|i| i.is_poisoned());
        if poisoned {
            self.running = false;
            self.instance = None;
            self.instance = Some(self.plugin.fresh_instance(self.seed)?);
        }
        Ok(self.instance.as_mut().expect("instance was just made"))
    }
}

/// Explains why a component does not match an interface.
pub(crate) fn interface_problem(error: &wasmtime::Error, interface: &str) -> String {
    let cause = format!("{error:#}");
    if cause.contains("no exported instance") || cause.contains("not found") {
        format!("the component does not export `{interface}` ({cause})")
    } else {
        format!("the component's `{interface}` has the wrong shape: {cause}")
    }
}
