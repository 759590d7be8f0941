//! The derl sandbox: runs untrusted WebAssembly components under hard limits.
//!
//! One [`Sandbox`] owns one wasmtime [`wasmtime::Engine`], one linker that
//! provides WASI 0.2 with no ambient authority, a cache of compiled
//! components keyed by sha256, and the epoch ticker behind wall-clock
//! deadlines. Every call into a guest goes through [`Instance::call`], which
//! refuels the store, arms the deadline and turns every failure into a typed
//! [`PluginError`]. A store that failed is poisoned and must be dropped: the
//! wrappers built on top make a fresh instance from the cached
//! [`wasmtime::component::InstancePre`].
//!
//! The sandbox knows nothing about reinforcement learning: environment and
//! reward wrappers live in the `derl` crate.

mod digest;
mod error;
mod limits;
mod output;
pub mod printable;
mod sandbox;
mod wasi;

pub use digest::Digest;
pub use error::{InterfaceError, PluginError, PluginErrorKind};
pub use limits::Limits;
pub use output::CapturedOutput;
pub use sandbox::{
    CompiledComponent, GrantedDir, Grants, Instance, Sandbox, SandboxConfig, StoreState,
};
pub use wasi::DETERMINISTIC_EPOCH_SECS;
