//! Host-side wrappers of the plugin worlds: environments, reward programs
//! and text-primitives extractors, plus inspection of an arbitrary component.

pub mod accept;
pub mod environment;
pub mod inspect;
pub mod reward;
pub mod text;
pub mod versions;

pub use accept::HostBudgets;
pub use derl_env_api::contract::{ENVIRONMENT_INTERFACE, REWARD_INTERFACE};
pub use environment::{EnvInstance, EnvLimits, EnvironmentPlugin};
pub use inspect::{World, inspect};
pub use reward::RewardProgram;
pub use text::{TextBudgets, TextExtractor};
pub use versions::Version;

/// The newest accepted version of `interface` (`environment`, `reward`) that
/// `component` exports.
///
/// # Errors
/// `InterfaceMismatch` naming the interface and every accepted version when
/// the component exports none of them.
pub(crate) fn exported_version(
    sandbox: &derl_sandbox::Sandbox,
    component: &derl_sandbox::CompiledComponent,
    interface: &str,
    label: &str,
) -> Result<Version, derl_sandbox::PluginError> {
    let exports = component.exports(sandbox);
    Version::exported(&exports, interface).ok_or_else(|| {
        let accepted: Vec<String> = Version::NEWEST_FIRST
            .iter()
            .map(|version| format!("`{}`", version.interface(interface)))
            .collect();
        derl_sandbox::PluginError::new(
            label,
            derl_sandbox::PluginErrorKind::InterfaceMismatch(format!(
                "the component does not export {} (it exports [{}])",
                accepted.join(" or "),
                exports.join(", ")
            )),
        )
    })
}

/// Instantiates a pre-instantiated component and type-checks its exports
/// with `typed` (a bindgen `new`), reporting a shape mismatch as an
/// interface error rather than a trap.
pub(crate) fn instantiate_typed<B>(
    store: &mut wasmtime::Store<derl_sandbox::StoreState>,
    pre: &wasmtime::component::InstancePre<derl_sandbox::StoreState>,
    interface: &str,
    typed: impl FnOnce(
        &mut wasmtime::Store<derl_sandbox::StoreState>,
        &wasmtime::component::Instance,
    ) -> wasmtime::Result<B>,
) -> wasmtime::Result<B> {
    let instance = pre.instantiate(&mut *store)?;
    typed(store, &instance).map_err(|e| {
        wasmtime::Error::new(derl_sandbox::InterfaceError(
            environment::interface_problem(&e, interface),
        ))
    })
}
