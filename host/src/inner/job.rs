//! One inner loop as a pure function of a serializable job: load the
//! environment and the reward, train a policy with GRPO, evaluate it.
//!
//! A job names its components by bundled name or path, optionally pinned by
//! sha256, and carries every knob and the seed, so the same job gives the
//! same result on any machine: the local executor runs jobs in threads,
//! `derl inner-loop --job job.json` runs one from the command line, and a
//! cluster executor could ship them elsewhere.

use super::kinds::policy_kind;
use super::policy::PolicyConfig;
use super::rollout::EnvPool;
use super::train::{Evaluation, InnerConfig, InnerError, UpdateRecord, derive_seed};
use crate::bundled;
use crate::plugin::{EnvLimits, EnvironmentPlugin, RewardProgram};
use anyhow::{Context, bail};
use derl_env_api::Split;
use derl_sandbox::{Digest, Limits, Sandbox};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// The environment of a job.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EnvSpec {
    /// A bundled environment's name (`household`) or a component path.
    pub component: String,
    /// Settings passed to `configure` (e.g. `max-steps`).
    #[serde(default)]
    pub settings: Vec<(String, String)>,
    /// When set, the component must have this sha256.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sha256: Option<String>,
    /// Its sandbox limits, grants and host budgets. Default
    /// [`EnvLimits::default`].
    #[serde(default, skip_serializing_if = "is_default")]
    pub limits: EnvLimits,
}

impl EnvSpec {
    /// A bundled environment or component path with default settings.
    pub fn named(component: &str) -> EnvSpec {
        EnvSpec {
            component: component.to_owned(),
            settings: Vec::new(),
            sha256: None,
            limits: EnvLimits::default(),
        }
    }

    /// The component's bytes, checked against `sha256` when pinned.
    ///
    /// # Errors
    /// An unknown name, an unreadable file or a digest mismatch.
    pub fn bytes(&self) -> anyhow::Result<Vec<u8>> {
        let bytes = component_bytes(&self.component, "environment")?;
        check_digest(&self.component, &bytes, self.sha256.as_deref())?;
        Ok(bytes)
    }

    /// Loads the environment into `sandbox`.
    ///
    /// # Errors
    /// As [`EnvSpec::bytes`], or any plugin failure while loading.
    pub fn load(&self, sandbox: &Sandbox) -> anyhow::Result<EnvironmentPlugin> {
        let bytes = self.bytes()?;
        EnvironmentPlugin::load(sandbox, &bytes, &self.settings, &self.limits)
            .with_context(|| format!("loading environment `{}`", self.component))
    }
}

/// The reward of a job: a Meta-Reward program or a reward component.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "snake_case")]
pub enum RewardSpec {
    /// Source text in the Meta-Reward language, compiled by the job; its
    /// calls run under [`Limits::default`].
    Program(String),
    /// A reward component file.
    Component {
        /// Its path.
        path: PathBuf,
        /// When set, the component must have this sha256.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        sha256: Option<String>,
        /// The sandbox limits of its calls. Default [`Limits::default`]; a
        /// Python reward wants `python_limits()` (its interpreter needs more
        /// fuel and memory).
        #[serde(default, skip_serializing_if = "is_default")]
        limits: Limits,
    },
}

impl RewardSpec {
    /// `spec` as given on a command line: a reward component when it names a
    /// file that starts with the wasm magic (`\0asm`), whatever its name;
    /// a program otherwise.
    pub fn from_arg(spec: &str) -> RewardSpec {
        if is_wasm_file(Path::new(spec)) {
            RewardSpec::Component {
                path: PathBuf::from(spec),
                sha256: None,
                limits: Limits::default(),
            }
        } else {
            RewardSpec::Program(spec.to_owned())
        }
    }

    /// The sandbox limits of the reward's calls.
    pub fn limits(&self) -> Limits {
        match self {
            RewardSpec::Program(_) => Limits::default(),
            RewardSpec::Component { limits, .. } => limits.clone(),
        }
    }

    /// Compiles (a program, checked against `primitive_names`) or reads (a
    /// component) the reward's bytes. A program that does not parse is an
    /// error of kind [`JobError::InvalidProgram`].
    ///
    /// # Errors
    /// An invalid program, an unreadable file or a digest mismatch.
    pub fn bytes(&self, primitive_names: &[&str]) -> Result<Vec<u8>, JobError> {
        match self {
            RewardSpec::Program(source) => {
                let program = derl_lang::parse(source, primitive_names).map_err(|e| {
                    let hint = if Path::new(source).extension().is_some_and(|e| e == "wasm") {
                        format!(" (and no component file `{source}` exists)")
                    } else {
                        String::new()
                    };
                    JobError::InvalidProgram(format!("{e}{hint}"))
                })?;
                derl_lang::compile(&program)
                    .map_err(|e| JobError::Failed(anyhow::anyhow!("compiling `{source}`: {e}")))
            }
            RewardSpec::Component { path, sha256, .. } => {
                let bytes = std::fs::read(path)
                    .with_context(|| format!("cannot read reward component {}", path.display()))?;
                check_digest(&path.display().to_string(), &bytes, sha256.as_deref())?;
                Ok(bytes)
            }
        }
    }

    /// The reward loaded into `sandbox` under its limits, a program's
    /// primitive names resolved against `primitive_names`: the one path from
    /// a spec to a program, for jobs and `derl reward score` alike.
    ///
    /// # Errors
    /// As [`RewardSpec::bytes`], or a plugin failure while loading.
    pub fn program(
        &self,
        sandbox: &Sandbox,
        primitive_names: &[&str],
    ) -> Result<RewardProgram, JobError> {
        let bytes = self.bytes(primitive_names)?;
        RewardProgram::load(sandbox, &bytes, self.limits()).map_err(JobError::Reward)
    }

    /// Loads the reward into `sandbox` for `env`'s primitives and checks that
    /// it can score episodes of that many primitives.
    ///
    /// # Errors
    /// As [`RewardSpec::program`], or a program that reads more primitives
    /// than `env` has.
    pub fn load(
        &self,
        sandbox: &Sandbox,
        env: &EnvironmentPlugin,
    ) -> Result<RewardProgram, JobError> {
        let names: Vec<&str> = env
            .info()
            .primitives
            .iter()
            .map(|p| p.name.as_str())
            .collect();
        let reward = self.program(sandbox, &names)?;
        let needed = reward.info().min_stride as usize;
        if needed > names.len() {
            return Err(JobError::InvalidProgram(format!(
                "the reward reads {needed} primitives; `{}` has {}",
                env.info().name,
                names.len()
            )));
        }
        Ok(reward)
    }
}

/// Whether `path` is a file that starts with the wasm magic `\0asm` (a
/// component, or a core module that loading then rejects by name).
pub fn is_wasm_file(path: &Path) -> bool {
    use std::io::Read;
    let mut magic = [0u8; 4];
    std::fs::File::open(path)
        .and_then(|mut file| file.read_exact(&mut magic))
        .is_ok_and(|()| magic == *b"\0asm")
}

fn is_default<T: Default + PartialEq>(value: &T) -> bool {
    *value == T::default()
}

/// Why a job produced no trained policy.
#[derive(Debug, thiserror::Error)]
pub enum JobError {
    /// The program does not parse or does not fit the environment.
    #[error("invalid program: {0}")]
    InvalidProgram(String),
    /// The reward component failed while loading or scoring.
    #[error("the reward program failed: {0}")]
    Reward(derl_sandbox::PluginError),
    /// Anything else: the environment, the policy, the file system.
    #[error(transparent)]
    Failed(#[from] anyhow::Error),
}

impl JobError {
    /// Whether the failure is the reward's fault (the outer loop scores
    /// such a Meta-Reward as invalid) rather than the experiment's.
    pub fn is_reward_fault(&self) -> bool {
        matches!(self, JobError::InvalidProgram(_) | JobError::Reward(_))
    }
}

/// One inner loop: everything that decides its result.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InnerJob {
    /// The environment.
    pub env: EnvSpec,
    /// The reward.
    pub reward: RewardSpec,
    /// Budget and shape of training.
    #[serde(default)]
    pub inner: InnerConfig,
    /// Policy architecture and GRPO settings.
    #[serde(default)]
    pub policy: PolicyConfig,
    /// The job's seed: weights, tasks, samples and evaluation tasks.
    pub seed: u64,
    /// Start from this saved policy instead of fresh weights (DERL-pop).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub warm_start: Option<PathBuf>,
    /// Splits evaluated at the end. Default: validation.
    #[serde(default = "default_splits")]
    pub eval_splits: Vec<Split>,
    /// Save the trained policy here.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub checkpoint: Option<PathBuf>,
}

fn default_splits() -> Vec<Split> {
    vec![Split::Validation]
}

/// What a finished inner loop reports.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct InnerResult {
    /// The reward's description (a program's normalized form).
    pub reward: String,
    /// sha256 of the reward component.
    pub reward_sha256: String,
    /// sha256 of the environment component.
    pub env_sha256: String,
    /// Success per evaluated split.
    pub evaluation: Evaluation,
    /// The last training update's statistics.
    pub last_update: Option<UpdateRecord>,
    /// Environment steps taken by training and evaluation.
    pub env_steps: u64,
}

impl InnerResult {
    /// Validation success of the policy as it acts (sampling its actions):
    /// the outer loop's default score. The inner-loop policies see one
    /// observation at a time, and where observations alias (the same text
    /// in different states) the best memoryless policy is stochastic, so
    /// greedy success can be 0 for a policy that succeeds most of the time;
    /// greedy success is reported beside it.
    pub fn validation_success(&self) -> f64 {
        self.evaluation.sampled(Split::Validation).unwrap_or(0.0)
    }
}

/// Runs `job`: loads its components, trains, evaluates, saves the policy
/// when asked. Calls `on_update` after every training update.
///
/// # Errors
/// [`JobError::InvalidProgram`] or [`JobError::Reward`] when the reward is
/// at fault; [`JobError::Failed`] otherwise.
pub fn run_job(
    sandbox: &Sandbox,
    job: &InnerJob,
    mut on_update: impl FnMut(&UpdateRecord),
) -> Result<InnerResult, JobError> {
    let kind = policy_kind(&job.policy.kind)?;
    let env = job.env.load(sandbox)?;
    let reward = job.reward.load(sandbox, &env)?;
    let features = env.info().feature_count as usize;
    let env_sha256 = env.digest().to_hex();
    let mut learner = match &job.warm_start {
        Some(dir) => kind.warm_start(&job.policy, dir, features, job.seed)?,
        None => kind.fresh(&job.policy, features, derive_seed(job.seed, 1))?,
    };
    let mut pool = EnvPool::new(env, derive_seed(job.seed, 2));
    let (records, train_steps) = match learner.train(
        &mut pool,
        &reward,
        &job.inner,
        derive_seed(job.seed, 3),
        derive_seed(job.seed, 4),
        &mut on_update,
    ) {
        Ok(done) => done,
        Err(InnerError::Reward(error)) => return Err(JobError::Reward(error)),
        Err(InnerError::Other(error)) => return Err(JobError::Failed(error)),
    };
    let (evaluation, eval_steps) = learner.evaluate(
        &mut pool,
        &job.eval_splits,
        job.inner.eval_episodes,
        derive_seed(job.seed, 4),
    )?;
    if let Some(dir) = &job.checkpoint {
        let metadata = serde_json::json!({
            "job": job,
            "env_sha256": env_sha256,
            "reward_sha256": reward.digest().to_hex(),
            "updates": records.len(),
            "evaluation": evaluation,
        });
        learner.save(dir, &metadata)?;
    }
    Ok(InnerResult {
        reward: reward.info().description.clone(),
        reward_sha256: reward.digest().to_hex(),
        env_sha256,
        evaluation,
        last_update: records.last().cloned(),
        env_steps: train_steps + eval_steps,
    })
}

/// The bytes of a bundled environment (by name) or of a component file.
///
/// # Errors
/// Neither a bundled name nor a readable file.
pub fn component_bytes(spec: &str, what: &str) -> anyhow::Result<Vec<u8>> {
    if let Some(bundled) = bundled::environment(spec) {
        return Ok(bundled.bytes.to_vec());
    }
    let path = Path::new(spec);
    if !path.exists() {
        bail!(
            "{what} `{spec}` is neither bundled ({}) nor an existing file",
            bundled::environment_names().join(", ")
        );
    }
    std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))
}

fn check_digest(name: &str, bytes: &[u8], expected: Option<&str>) -> anyhow::Result<()> {
    if let Some(expected) = expected {
        let actual = Digest::of(bytes).to_hex();
        if !actual.eq_ignore_ascii_case(expected) {
            bail!("`{name}` has sha256 {actual}, but the job pins {expected}");
        }
    }
    Ok(())
}
