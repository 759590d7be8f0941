//! Environments named on the command line: a bundled name or a file path,
//! plus `--set key=value` settings.

use crate::bundled;
use crate::plugin::EnvironmentPlugin;
use anyhow::{Context, bail};
use derl_sandbox::{Grants, Limits, Sandbox};
use std::borrow::Cow;
use std::path::Path;

/// The bytes of the environment `spec`: a bundled name (`household`) or a path.
pub(crate) fn environment_bytes(spec: &str) -> anyhow::Result<Cow<'static, [u8]>> {
    if let Some(bundled) = bundled::environment(spec) {
        return Ok(Cow::Borrowed(bundled.bytes));
    }
    let path = Path::new(spec);
    if !path.exists() {
        bail!(
            "`{spec}` is neither a bundled environment ({}) nor an existing file",
            bundled::environment_names().join(", ")
        );
    }
    Ok(Cow::Owned(super::read_component(path)?))
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
    let bytes = environment_bytes(spec)?;
    let settings = parse_settings(settings)?;
    EnvironmentPlugin::load(
        sandbox,
        &bytes,
        &settings,
        Limits::default(),
        Grants::default(),
    )
    .with_context(|| format!("loading environment `{spec}`"))
}
