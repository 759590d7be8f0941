//! `derl._derl`: the extension module of the `derl` Python package. The
//! Python layer (`python/derl/`) gives it the interfaces TRL, verl and
//! Gymnasium users know; this layer holds the sandboxed objects and releases
//! the GIL around every call into a component.

mod env;
mod errors;
mod rows;
mod shared;
mod text;

use pyo3::prelude::*;

/// The module: exception classes, the cores, and what the host bundles.
#[pymodule]
fn _derl(module: &Bound<'_, PyModule>) -> PyResult<()> {
    errors::register(module)?;
    module.add_class::<text::MetaRewardCore>()?;
    module.add_class::<rows::RewardCore>()?;
    module.add_class::<env::EnvCore>()?;
    module.add_function(wrap_pyfunction!(rows::build_python_reward, module)?)?;
    module.add("__version__", env!("CARGO_PKG_VERSION"))?;
    module.add("CONTRACT_VERSION", derl_env_api::contract::VERSION)?;
    module.add("BUNDLED_ENVIRONMENTS", derl::bundled::environment_names())?;
    module.add("BUNDLED_EXTRACTORS", derl::bundled::extractor_names())?;
    Ok(())
}
