//! Shared helpers for the integration tests in `tests/tests/`.

use derl_sandbox::{Limits, Sandbox, SandboxConfig};
use std::sync::OnceLock;

/// One sandbox shared by all tests of a test binary (one engine per process).
pub fn sandbox() -> &'static Sandbox {
    static SANDBOX: OnceLock<Sandbox> = OnceLock::new();
    SANDBOX.get_or_init(|| Sandbox::new(SandboxConfig::default()).expect("sandbox"))
}

/// Reads a built guest component.
pub fn component(path: &str) -> Vec<u8> {
    std::fs::read(path).unwrap_or_else(|e| panic!("cannot read {path}: {e}"))
}

/// Tight limits that make hostile guests fail within about a second.
pub fn tight_limits() -> Limits {
    Limits {
        fuel_per_call: 200_000_000,
        deadline_ms: 1000,
        memory_bytes: 32 << 20,
        ..Limits::default()
    }
}
