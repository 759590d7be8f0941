//! What every class of the module shares: one sandbox per process, limits
//! read from JSON, and component bytes named by a bundled name or a path.

use crate::errors::{bad_argument, plugin_error};
use derl_sandbox::{Sandbox, SandboxConfig};
use pyo3::prelude::*;
use std::sync::OnceLock;

/// A primitive as Python sees it: `(name, description, min, max)`.
pub type PyPrimitive = (String, String, f64, f64);

/// The primitives of a declaration, as Python sees them.
pub fn py_primitives(specs: &[derl_env_api::PrimitiveSpec]) -> Vec<PyPrimitive> {
    specs
        .iter()
        .map(|p| (p.name.clone(), p.description.clone(), p.min, p.max))
        .collect()
}

/// The process's sandbox (one engine, one compile cache), created on first
/// use with derl's on-disk cache of compiled components.
pub fn sandbox() -> PyResult<&'static Sandbox> {
    static SANDBOX: OnceLock<Result<Sandbox, derl_sandbox::PluginError>> = OnceLock::new();
    SANDBOX
        .get_or_init(|| {
            Sandbox::new(SandboxConfig {
                cache_dir: derl::cli::cache_dir(),
                ..SandboxConfig::default()
            })
        })
        .as_ref()
        .map_err(plugin_error)
}

/// A serde config (sandbox `Limits`, text budgets) from a JSON object of its
/// fields over `base`: `{"fuel_per_call": 1000000}` changes one field and
/// keeps the rest. An unknown field or a wrong type is a `ValueError` naming
/// `argument` and the field.
pub fn from_json_over<T>(json: Option<&str>, base: T, argument: &str) -> PyResult<T>
where
    T: serde::Serialize + serde::de::DeserializeOwned,
{
    let Some(json) = json else {
        return Ok(base);
    };
    let mut merged = serde_json::to_value(&base).map_err(|e| bad_argument(e.to_string()))?;
    let given: serde_json::Value =
        serde_json::from_str(json).map_err(|e| bad_argument(format!("{argument}: {e}")))?;
    let serde_json::Value::Object(given) = given else {
        return Err(bad_argument(format!("{argument} must be a dict")));
    };
    for (key, value) in given {
        merged[key] = value;
    }
    serde_json::from_value(merged).map_err(|e| bad_argument(format!("{argument}: {e}")))
}
