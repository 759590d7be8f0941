//! `RewardCore`: a reward program or component scoring rows of primitive
//! values directly (a Gymnasium environment's episode-end reward, or a
//! Python reward used without an extractor); and `build_python_reward`,
//! componentize-py behind `derl.PythonReward`.

use crate::errors::{BuildError, bad_argument, job_error, plugin_error};
use crate::shared::{from_json_over, sandbox};
use derl::inner::RewardSpec;
use derl::plugin::RewardProgram;
use derl::python_reward::{BuildOptions, build_with};
use derl_sandbox::Limits;
use pyo3::prelude::*;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// A sandboxed reward over rows of primitive values.
#[pyclass(module = "derl._derl", frozen)]
pub struct RewardCore {
    program: RewardProgram,
}

#[pymethods]
impl RewardCore {
    /// `reward`: a program, checked against `names` (`g1` is `names[0]`),
    /// or the path of a reward component run under `limits` (over Python
    /// rewards' limits when `python`).
    #[new]
    #[pyo3(signature = (reward, names, limits=None, python=false))]
    fn new(
        py: Python<'_>,
        reward: &str,
        names: Vec<String>,
        limits: Option<&str>,
        python: bool,
    ) -> PyResult<RewardCore> {
        let sandbox = sandbox()?;
        let mut spec = RewardSpec::from_arg(reward);
        if let RewardSpec::Component { limits: own, .. } = &mut spec {
            let base = if python {
                derl::python_reward::python_limits()
            } else {
                Limits::default()
            };
            *own = from_json_over(limits, base, "limits")?;
        } else if limits.is_some() {
            return Err(bad_argument(
                "limits apply to reward components; a program runs under the default limits".into(),
            ));
        }
        let names: Vec<&str> = names.iter().map(String::as_str).collect();
        py.detach(|| spec.program(sandbox, &names))
            .map(|program| RewardCore { program })
            .map_err(|e| job_error(&e))
    }

    /// What the program says it is.
    #[getter]
    fn description(&self) -> String {
        self.program.info().description.clone()
    }

    /// The number of primitives the program reads.
    #[getter]
    fn min_stride(&self) -> u32 {
        self.program.info().min_stride
    }

    /// sha256 of the reward component.
    #[getter]
    fn digest(&self) -> String {
        self.program.digest().to_hex()
    }

    /// One score per row; every row needs the same number of values.
    fn score_rows(&self, py: Python<'_>, rows: Vec<Vec<f64>>) -> PyResult<Vec<f64>> {
        let stride = rows.first().map_or(0, Vec::len);
        if let Some((at, row)) = rows.iter().enumerate().find(|(_, r)| r.len() != stride) {
            return Err(bad_argument(format!(
                "rows[{at}] has {} values but rows[0] has {stride}: every row needs one value per primitive",
                row.len()
            )));
        }
        let values = rows.concat();
        py.detach(|| self.program.score(stride, &values))
            .map_err(|e| plugin_error(&e))
    }
}

/// Builds the Python reward module `source` into the component `out` with
/// componentize-py (`tool`, else the project's `.venv-componentize`), stopped
/// after `timeout_s`. Returns `(bytes, sha256, seconds)`.
#[pyfunction]
#[pyo3(signature = (source, out, tool=None, timeout_s=300.0))]
pub fn build_python_reward(
    py: Python<'_>,
    source: PathBuf,
    out: PathBuf,
    tool: Option<PathBuf>,
    timeout_s: f64,
) -> PyResult<(usize, String, f64)> {
    if !(timeout_s.is_finite() && timeout_s > 0.0) {
        return Err(bad_argument(format!(
            "timeout_s must be a positive number of seconds, not {timeout_s}"
        )));
    }
    let options = BuildOptions {
        tool,
        timeout: Duration::from_secs_f64(timeout_s),
    };
    let built = py
        .detach(|| build_with(Path::new(&source), Path::new(&out), &options))
        .map_err(|e| BuildError::new_err(e.to_string()))?;
    Ok((built.size, built.digest.to_hex(), built.seconds))
}
