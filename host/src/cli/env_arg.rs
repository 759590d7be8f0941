//! Environments named on the command line: a bundled name or a file path,
//! plus `--set key=value` settings.

use crate::inner::EnvSpec;
use crate::inner::job::component_bytes;
use crate::plugin::{EnvLimits, EnvironmentPlugin};
use anyhow::Context;
use derl_sandbox::Sandbox;

/// The bytes of the environment `spec`: a bundled name (`household`) or a path.
pub(crate) fn environment_bytes(spec: &str) -> anyhow::Result<Vec<u8>> {
    component_bytes(spec, "environment")
}

/// Parses `key=value` settings.
pub(crate) fn parse_settings(pairs: &[String]) -> anyhow::Result<Vec<(String, String)>> {
    pairs
        .iter()
        .map(|pair| {
            let (key, value) = pair
                .split_once('=')
                .with_context(|| format!("setting `{pair}` is not of the form key=value"))?;
            Ok((key.trim().to_owned(), value.trim().to_owned()))
        })
        .collect()
}

/// Loads the environment `spec` with `settings` into `sandbox`.
pub(crate) fn load_environment(
    sandbox: &Sandbox,
    spec: &str,
    settings: &[String],
) -> anyhow::Result<EnvironmentPlugin> {
    EnvSpec {
        component: spec.to_owned(),
        settings: parse_settings(settings)?,
        sha256: None,
        limits: EnvLimits::default(),
    }
    .load(sandbox)
}
