//! `MetaRewardCore`: a Meta-Reward (a program or a reward component) over the
//! primitives of a text-primitives extractor, behind `derl.MetaReward` and
//! `derl.PythonReward`. Every batch runs without the GIL.

use crate::errors::{bad_argument, job_error, plugin_error};
use crate::shared::{PyPrimitive, from_json_over, py_primitives, sandbox};
use derl::inner::RewardSpec;
use derl::plugin::{TextBudgets, TextExtractor};
use derl::text_reward::TextReward;
use derl_env_api::TextSample;
use derl_sandbox::Limits;
use pyo3::prelude::*;

/// One sample's outcome as Python sees it: the score or `None`, the
/// primitive values (empty when extraction failed), and the failure's kind
/// name and message.
type SampleOutcome = (Option<f64>, Vec<f64>, Option<(String, String)>);

/// An extractor's declaration as Python sees it: name, version, description,
/// primitives.
type PyExtractorInfo = (String, String, String, Vec<PyPrimitive>);

/// A sandboxed Meta-Reward over text primitives.
#[pyclass(module = "derl._derl", frozen)]
pub struct MetaRewardCore {
    reward: TextReward,
}

/// The bytes of the extractor `spec`: a bundled name or a component file.
fn extractor_bytes(spec: &str) -> PyResult<Vec<u8>> {
    if let Some(bundled) = derl::bundled::extractor(spec) {
        return Ok(bundled.bytes.to_vec());
    }
    std::fs::read(spec).map_err(|e| {
        bad_argument(format!(
            "primitives: `{spec}` is neither a bundled extractor ({}) nor a readable component file ({e})",
            derl::bundled::extractor_names().join(", ")
        ))
    })
}

/// Samples from three equally long lists; a length mismatch names the list.
fn samples(
    prompts: Vec<String>,
    completions: Vec<String>,
    references: Vec<String>,
) -> PyResult<Vec<TextSample>> {
    let n = completions.len();
    for (name, len) in [("prompts", prompts.len()), ("references", references.len())] {
        if len != n {
            return Err(bad_argument(format!(
                "{name} has {len} items but completions has {n}: every sample needs one of each"
            )));
        }
    }
    Ok(prompts
        .into_iter()
        .zip(completions)
        .zip(references)
        .map(|((prompt, completion), reference)| TextSample {
            prompt,
            completion,
            reference,
        })
        .collect())
}

#[pymethods]
impl MetaRewardCore {
    /// `reward`: a Meta-Reward program (`outcome + 0.5*format`) or the path
    /// of a reward component; `python` gives a component Python rewards'
    /// limits as the base of `reward_limits`.
    #[new]
    #[allow(
        clippy::too_many_arguments,
        reason = "the Python constructor's keyword arguments, one each"
    )]
    #[pyo3(signature = (reward, extractor, settings, reward_limits=None, extractor_limits=None, budgets=None, python=false))]
    fn new(
        py: Python<'_>,
        reward: &str,
        extractor: &str,
        settings: Vec<(String, String)>,
        reward_limits: Option<&str>,
        extractor_limits: Option<&str>,
        budgets: Option<&str>,
        python: bool,
    ) -> PyResult<MetaRewardCore> {
        let sandbox = sandbox()?;
        let bytes = extractor_bytes(extractor)?;
        let extractor_limits = from_json_over(extractor_limits, Limits::default(), "limits")?;
        let budgets = from_json_over(budgets, TextBudgets::default(), "budgets")?;
        let mut spec = RewardSpec::from_arg(reward);
        let base = if python {
            derl::python_reward::python_limits()
        } else {
            Limits::default()
        };
        match &mut spec {
            RewardSpec::Component { limits, .. } => {
                *limits = from_json_over(reward_limits, base, "reward_limits")?;
            }
            RewardSpec::Program(_) if reward_limits.is_some() => {
                return Err(bad_argument(
                    "reward_limits applies to reward components; a program runs under the default limits".into(),
                ));
            }
            RewardSpec::Program(_) => {}
        }
        py.detach(|| {
            let extractor =
                TextExtractor::load(sandbox, &bytes, &settings, extractor_limits, budgets)
                    .map_err(|e| plugin_error(&e))?;
            let names = extractor.names();
            let program = spec.program(sandbox, &names).map_err(|e| job_error(&e))?;
            let reward = TextReward::new(extractor, program).map_err(|e| plugin_error(&e))?;
            Ok(MetaRewardCore { reward })
        })
    }

    /// The extractor's primitive names, `g1` first.
    #[getter]
    fn names(&self) -> Vec<String> {
        self.reward
            .extractor()
            .names()
            .into_iter()
            .map(str::to_owned)
            .collect()
    }

    /// The extractor's declaration: name, version, description and
    /// `(name, description, min, max)` per primitive.
    #[getter]
    fn extractor_info(&self) -> PyExtractorInfo {
        let info = self.reward.extractor().info();
        (
            info.name.clone(),
            info.version.clone(),
            info.description.clone(),
            py_primitives(&info.primitives),
        )
    }

    /// What the reward program says it is (a program's normalized text).
    #[getter]
    fn description(&self) -> String {
        self.reward.program().info().description.clone()
    }

    /// sha256 of the reward component and of the extractor component.
    #[getter]
    fn digests(&self) -> (String, String) {
        (
            self.reward.program().digest().to_hex(),
            self.reward.extractor().digest().to_hex(),
        )
    }

    /// One score per sample; the first failure raises.
    fn score(
        &self,
        py: Python<'_>,
        prompts: Vec<String>,
        completions: Vec<String>,
        references: Vec<String>,
    ) -> PyResult<Vec<f64>> {
        let samples = samples(prompts, completions, references)?;
        py.detach(|| self.reward.score(&samples))
            .map_err(|e| plugin_error(&e))
    }

    /// One `(score or None, primitives, (kind, message) or None)` per
    /// sample: a failure belongs to the sample that caused it. With
    /// `first_failure_only`, retries stop at the first failed sample (the
    /// caller raises it).
    #[pyo3(signature = (prompts, completions, references, first_failure_only=false))]
    fn score_each(
        &self,
        py: Python<'_>,
        prompts: Vec<String>,
        completions: Vec<String>,
        references: Vec<String>,
        first_failure_only: bool,
    ) -> PyResult<Vec<SampleOutcome>> {
        let samples = samples(prompts, completions, references)?;
        let retries = if first_failure_only {
            1
        } else {
            derl::plugin::text::MAX_SOLO_RETRIES
        };
        let scored = py
            .detach(|| self.reward.score_each(&samples, retries))
            .map_err(|e| plugin_error(&e))?;
        Ok(scored
            .into_iter()
            .map(|s| match s.score {
                Ok(score) => (Some(score), s.primitives, None),
                Err(e) => (
                    None,
                    s.primitives,
                    Some((e.kind.name().to_owned(), e.to_string())),
                ),
            })
            .collect())
    }

    /// The primitive values of every sample, one row each; the first
    /// failure raises.
    fn primitives(
        &self,
        py: Python<'_>,
        prompts: Vec<String>,
        completions: Vec<String>,
        references: Vec<String>,
    ) -> PyResult<Vec<Vec<f64>>> {
        let samples = samples(prompts, completions, references)?;
        let stride = self.reward.extractor().stride();
        let values = py
            .detach(|| self.reward.extractor().extract(&samples))
            .map_err(|e| plugin_error(&e))?;
        Ok(values.chunks(stride).map(<[f64]>::to_vec).collect())
    }
}
