//! `EnvCore`: one environment component instance running episodes, behind
//! `derl.make`'s Gymnasium environment. Every call into the guest runs
//! without the GIL.

use crate::errors::{anyhow_error, bad_argument, plugin_error};
use crate::shared::{PyPrimitive, from_json_over, py_primitives, sandbox};
use derl::inner::EnvSpec;
use derl::plugin::{EnvInstance, EnvLimits, EnvironmentPlugin};
use derl_env_api::{Observation, Split};
use pyo3::prelude::*;
use std::sync::Mutex;

/// An observation as Python sees it: task, text, admissible actions, features.
type PyObservation = (String, String, Vec<String>, Vec<f32>);

/// A step as Python sees it: the observation, feedback, terminated,
/// truncated, and the primitives (`None` until the episode ends).
type PyStep = (PyObservation, String, bool, bool, Option<Vec<f64>>);

/// A loaded environment and the instance that runs its episodes (behind a
/// lock: Python may share the object between threads, the instance is one
/// guest that runs one call at a time).
#[pyclass(module = "derl._derl", frozen)]
pub struct EnvCore {
    plugin: EnvironmentPlugin,
    instance: Mutex<EnvInstance>,
}

impl EnvCore {
    /// Runs `call` on the instance without the GIL.
    fn with_instance<T: Send>(
        &self,
        py: Python<'_>,
        call: impl FnOnce(&mut EnvInstance) -> Result<T, derl_sandbox::PluginError> + Send,
    ) -> PyResult<T> {
        py.detach(|| {
            let mut instance = self
                .instance
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            call(&mut instance)
        })
        .map_err(|e| plugin_error(&e))
    }
}

fn split(name: &str) -> PyResult<Split> {
    Split::from_name(name).ok_or_else(|| {
        bad_argument(format!(
            "split `{name}` is not one of train, validation, test, ood"
        ))
    })
}

fn observation(obs: Observation) -> PyObservation {
    (obs.task, obs.text, obs.actions, obs.features)
}

#[pymethods]
impl EnvCore {
    /// `env`: a bundled name (`household`) or a component path; `settings`
    /// as the environment's `configure` takes them; `limits` a JSON object
    /// of `EnvLimits` (`sandbox`, `grants`, `budgets`); `seed` the instance's
    /// (its WASI randomness).
    #[new]
    #[pyo3(signature = (env, settings, limits=None, seed=0))]
    fn new(
        py: Python<'_>,
        env: &str,
        settings: Vec<(String, String)>,
        limits: Option<&str>,
        seed: u64,
    ) -> PyResult<EnvCore> {
        let sandbox = sandbox()?;
        let limits = from_json_over(limits, EnvLimits::default(), "limits")?;
        let spec = EnvSpec {
            component: env.to_owned(),
            settings,
            sha256: None,
            limits,
        };
        py.detach(|| {
            let plugin = spec.load(sandbox).map_err(|e| anyhow_error(&e))?;
            let instance = plugin.instance(seed).map_err(|e| plugin_error(&e))?;
            Ok(EnvCore {
                plugin,
                instance: Mutex::new(instance),
            })
        })
    }

    /// `(name, version, description)`.
    #[getter]
    fn identity(&self) -> (String, String, String) {
        let info = self.plugin.info();
        (
            info.name.clone(),
            info.version.clone(),
            info.description.clone(),
        )
    }

    /// `(name, description, min, max)` per primitive, `g1` first.
    #[getter]
    fn primitives(&self) -> Vec<PyPrimitive> {
        py_primitives(&self.plugin.info().primitives)
    }

    /// The splits the environment declares.
    #[getter]
    fn splits(&self) -> Vec<&'static str> {
        self.plugin.info().splits.iter().map(|s| s.name()).collect()
    }

    /// Numeric features per observation.
    #[getter]
    fn feature_count(&self) -> u32 {
        self.plugin.info().feature_count
    }

    /// The most admissible actions the host accepts in one observation.
    #[getter]
    fn max_actions(&self) -> usize {
        self.plugin.budgets().actions
    }

    /// The most bytes of task and text the host accepts in one observation.
    #[getter]
    fn max_observation_bytes(&self) -> usize {
        self.plugin.budgets().observation_bytes
    }

    /// sha256 of the component.
    #[getter]
    fn digest(&self) -> String {
        self.plugin.digest().to_hex()
    }

    /// Tasks in `split`.
    fn task_count(&self, split_name: &str) -> PyResult<u32> {
        Ok(self.plugin.task_count(split(split_name)?))
    }

    /// The step limit of `split`.
    fn max_steps(&self, split_name: &str) -> PyResult<u32> {
        Ok(self.plugin.info().max_steps_in(split(split_name)?))
    }

    /// Starts task `task` of `split` with `seed`.
    fn reset(
        &self,
        py: Python<'_>,
        split_name: &str,
        task: u32,
        seed: u64,
    ) -> PyResult<PyObservation> {
        let split = split(split_name)?;
        let count = self.plugin.task_count(split);
        if task >= count {
            return Err(bad_argument(format!(
                "task {task} is out of range: split {split} has {count} tasks"
            )));
        }
        self.with_instance(py, |instance| instance.reset(split, task, seed))
            .map(observation)
    }

    /// Takes the admissible action at index `action`.
    fn step(&self, py: Python<'_>, action: u32) -> PyResult<PyStep> {
        self.with_instance(py, |instance| instance.step(action))
            .map(|r| {
                (
                    observation(r.observation),
                    r.feedback,
                    r.terminated,
                    r.truncated,
                    r.primitives,
                )
            })
    }

    /// The environment's scripted solver's action, when it has one.
    fn expert_action(&self, py: Python<'_>) -> PyResult<Option<u32>> {
        self.with_instance(py, EnvInstance::expert_action)
    }
}
