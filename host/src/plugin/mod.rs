//! Host-side wrappers of the two plugin worlds: environments and reward
//! programs, plus inspection of an arbitrary component.

mod bindings;
pub mod environment;
pub mod inspect;
pub mod reward;

pub use environment::{EnvInstance, EnvironmentPlugin};
pub use inspect::{World, inspect};
pub use reward::RewardProgram;

/// Export name of the environment interface.
pub const ENVIRONMENT_INTERFACE: &str = "derl:plugin/environment@0.1.0";
/// Export name of the reward interface.
pub const REWARD_INTERFACE: &str = "derl:plugin/reward@0.1.0";

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
