//! Per-call and per-instance limits, and the memory limiter that enforces them.

use crate::error::MemoryLimitHit;
use serde::{Deserialize, Serialize};

/// Hard limits for one guest instance. Every field has a documented default;
/// all are configurable per plugin from the experiment config.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Limits {
    /// Fuel (deterministic instruction budget) given to each call into the
    /// guest; roughly one unit per wasm instruction. Default: 2_000_000_000
    /// (about a second of guest work). A call that runs out fails with
    /// `FuelExhausted`.
    pub fuel_per_call: u64,
    /// Wall-clock deadline per call, in milliseconds: the backstop for work
    /// fuel does not count (host calls, bulk memory copies). Default: 2000.
    pub deadline_ms: u64,
    /// Largest linear memory an instance may grow to, in bytes. Default:
    /// 64 MiB. Growing beyond it fails with `MemoryLimit`.
    pub memory_bytes: usize,
    /// Largest number of table elements per table. Default: 100_000.
    pub table_elements: usize,
    /// Largest number of core instances per store. Default: 64.
    pub instances: usize,
    /// Largest number of tables per store. Default: 64.
    pub tables: usize,
    /// Largest number of linear memories per store. Default: 16.
    pub memories: usize,
    /// Bytes of stdout and of stderr kept per instance; writing more fails
    /// the call with `OutputLimit`. Default: 64 KiB.
    pub output_bytes: usize,
    /// Largest number of bytes a guest may hand the host in one call
    /// (wasmtime's hostcall fuel). Default: 4 MiB.
    pub hostcall_bytes: usize,
    /// Fuel charged for every call the guest makes into the host (a clock
    /// reading, random bytes, a poll, a write), so that a guest looping on
    /// host calls runs out of fuel as a computing guest does. A virtual
    /// sleep costs in addition the fuel of busy work of the same length
    /// (`fuel_per_call` per second of virtual time, about). Default: 10_000.
    pub hostcall_fuel: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            fuel_per_call: 2_000_000_000,
            deadline_ms: 2000,
            memory_bytes: 64 << 20,
            table_elements: 100_000,
            instances: 64,
            tables: 64,
            memories: 16,
            output_bytes: 64 << 10,
            hostcall_bytes: 4 << 20,
            hostcall_fuel: 10_000,
        }
    }
}

/// Enforces [`Limits`] on memory and table growth, recording what was refused.
pub(crate) struct Limiter {
    limits: Limits,
    instances: usize,
}

impl Limiter {
    pub(crate) fn new(limits: Limits) -> Self {
        Limiter {
            limits,
            instances: 0,
        }
    }
}

impl wasmtime::ResourceLimiter for Limiter {
    fn memory_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        if desired > self.limits.memory_bytes {
            return Err(wasmtime::Error::new(MemoryLimitHit {
                cap: self.limits.memory_bytes,
                requested: desired,
            }));
        }
        Ok(true)
    }

    fn table_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        Ok(desired <= self.limits.table_elements)
    }

    fn instances(&self) -> usize {
        self.limits.instances.max(self.instances)
    }

    fn tables(&self) -> usize {
        self.limits.tables
    }

    fn memories(&self) -> usize {
        self.limits.memories
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use wasmtime::ResourceLimiter;

    #[test]
    fn growth_beyond_the_cap_is_an_error_naming_the_cap() {
        let mut limiter = Limiter::new(Limits {
            memory_bytes: 1 << 20,
            ..Limits::default()
        });
        assert!(limiter.memory_growing(0, 1 << 19, None).unwrap());
        let err = limiter.memory_growing(0, 2 << 20, None).unwrap_err();
        let hit = err.downcast_ref::<MemoryLimitHit>().unwrap();
        assert_eq!(hit.cap, 1 << 20);
    }

    #[test]
    fn limits_deserialize_with_defaults_and_reject_unknown_keys() {
        let limits: Limits = serde_json::from_str(r#"{"deadline_ms": 5}"#).unwrap();
        assert_eq!(limits.deadline_ms, 5);
        assert_eq!(limits.fuel_per_call, Limits::default().fuel_per_call);
        let err = serde_json::from_str::<Limits>(r#"{"fuel": 5}"#).unwrap_err();
        assert!(err.to_string().contains("fuel"));
    }
}
