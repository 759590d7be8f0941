//! WASI with no ambient authority: no arguments, no environment, no network,
//! no files unless granted, deterministic clocks and seeded randomness.

use crate::output::OutputPipes;
use crate::sandbox::Grants;
use derl_env_api::seeds::derive_seed;
use rand::SeedableRng;
use rand::rngs::StdRng;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;
use wasmtime_wasi::{FsPerms, HostMonotonicClock, HostWallClock, WasiCtx, WasiCtxBuilder};

/// Guests see the wall clock start at this Unix time (2000-01-01T00:00:00Z).
pub const DETERMINISTIC_EPOCH_SECS: u64 = 946_684_800;

/// Nanoseconds the deterministic clocks advance on every reading.
const TICK_NANOS: u64 = 1_000;

/// A wall clock that starts at [`DETERMINISTIC_EPOCH_SECS`] and advances by
/// one microsecond per reading, so time-polling guests progress identically
/// on every run.
struct DeterministicWallClock {
    readings: AtomicU64,
}

impl HostWallClock for DeterministicWallClock {
    fn resolution(&self) -> Duration {
        Duration::from_nanos(TICK_NANOS)
    }

    fn now(&self) -> Duration {
        let reading = self.readings.fetch_add(1, Ordering::Relaxed);
        Duration::from_secs(DETERMINISTIC_EPOCH_SECS) + Duration::from_nanos(reading * TICK_NANOS)
    }
}

/// The virtual time of one instance's monotonic clock, in nanoseconds:
/// each reading advances it by one microsecond, each sleep by its length.
#[derive(Clone, Default)]
pub(crate) struct VirtualTime(Arc<AtomicU64>);

impl VirtualTime {
    /// Advances the clock by `nanos`, returning the time before.
    fn advance(&self, nanos: u64) -> u64 {
        self.0.fetch_add(nanos, Ordering::Relaxed)
    }

    fn now(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }
}

/// A monotonic clock that starts at 0 and advances by one microsecond per
/// reading (and by the length of every sleep).
struct DeterministicMonotonicClock {
    time: VirtualTime,
}

impl HostMonotonicClock for DeterministicMonotonicClock {
    fn resolution(&self) -> u64 {
        TICK_NANOS
    }

    fn now(&self) -> u64 {
        self.time.advance(TICK_NANOS)
    }
}

/// Builds the WASI context of one instance, whose monotonic clock reads
/// `time`.
pub(crate) fn build_ctx(
    seed: u64,
    grants: &Grants,
    pipes: &OutputPipes,
    time: &VirtualTime,
) -> wasmtime::Result<WasiCtx> {
    let mut builder = WasiCtxBuilder::new();
    builder
        .stdout(pipes.stdout())
        .stderr(pipes.stderr())
        .wall_clock(DeterministicWallClock {
            readings: AtomicU64::new(0),
        })
        .monotonic_clock(DeterministicMonotonicClock { time: time.clone() })
        .secure_random(StdRng::seed_from_u64(derive_seed(seed, 1)))
        .insecure_random(StdRng::seed_from_u64(derive_seed(seed, 2)))
        .insecure_random_seed(
            (u128::from(derive_seed(seed, 3)) << 64) | u128::from(derive_seed(seed, 4)),
        )
        .allow_tcp(false)
        .allow_udp(false)
        .allow_ip_name_lookup(false);
    if let Some(dir) = &grants.read_only_dir {
        builder.preopened_dir(&dir.host_path, &dir.guest_path, FsPerms::ReadOnly)?;
    }
    Ok(builder.build())
}

/// The `wasi:clocks` version whose functions are replaced (the one
/// wasmtime-wasi 48 provides; guests importing older 0.2 versions match it).
const MONOTONIC_CLOCK: &str = "wasi:clocks/monotonic-clock@0.2.12";

/// A pollable that is ready at once: time inside the sandbox is virtual.
struct VirtualTimeElapsed;

#[wasmtime_wasi::async_trait]
impl wasmtime_wasi::p2::Pollable for VirtualTimeElapsed {
    async fn ready(&mut self) {}
}

/// Takes `amount` from the fuel a store has left (down to none: the guest
/// then fails with `FuelExhausted` at its next instruction). Does nothing
/// where fuel is not metered.
pub(crate) fn charge_fuel<T>(store: &mut wasmtime::StoreContextMut<'_, T>, amount: u64) {
    if let Ok(left) = store.get_fuel() {
        let _ = store.set_fuel(left.saturating_sub(amount));
    }
}

/// The fuel of busy work lasting `nanos` of virtual time, at
/// `fuel_per_second`.
fn sleep_fuel(nanos: u64, fuel_per_second: u64) -> u64 {
    let fuel = u128::from(nanos) * u128::from(fuel_per_second) / 1_000_000_000;
    u64::try_from(fuel).unwrap_or(u64::MAX)
}

/// Replaces `subscribe-duration` and `subscribe-instant` so that a guest
/// that sleeps (`std::thread::sleep`, timeouts) returns at once instead of
/// blocking the host thread, where neither fuel nor deadlines can reach it.
/// The sleep advances the guest's monotonic clock by its length and costs
/// the fuel of busy work that long, so a guest cannot wait its way past its
/// budget.
pub(crate) fn add_virtual_sleep(
    linker: &mut wasmtime::component::Linker<crate::StoreState>,
) -> wasmtime::Result<()> {
    use wasmtime::StoreContextMut;
    use wasmtime::component::Resource;
    use wasmtime_wasi::p2::DynPollable;

    fn sleep(
        mut store: StoreContextMut<'_, crate::StoreState>,
        nanos: u64,
    ) -> wasmtime::Result<(Resource<DynPollable>,)> {
        let (time, fuel_per_second) = store.data().virtual_time();
        time.advance(nanos);
        charge_fuel(&mut store, sleep_fuel(nanos, fuel_per_second));
        let table = store.data_mut().table();
        let ready = table.push(VirtualTimeElapsed)?;
        Ok((wasmtime_wasi::p2::subscribe(table, ready)?,))
    }

    linker.allow_shadowing(true);
    let mut clock = linker.instance(MONOTONIC_CLOCK)?;
    clock.func_wrap("subscribe-duration", |store, (nanos,): (u64,)| {
        sleep(store, nanos)
    })?;
    clock.func_wrap("subscribe-instant", |store, (when,): (u64,)| {
        let now = store.data().virtual_time().0.now();
        sleep(store, when.saturating_sub(now))
    })?;
    linker.allow_shadowing(false);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clocks_are_deterministic_and_advance() {
        let wall = DeterministicWallClock {
            readings: AtomicU64::new(0),
        };
        let first = wall.now();
        assert_eq!(first, Duration::from_secs(DETERMINISTIC_EPOCH_SECS));
        assert!(wall.now() > first);
        let mono = DeterministicMonotonicClock {
            time: VirtualTime::default(),
        };
        assert_eq!(mono.now(), 0);
        assert_eq!(mono.now(), TICK_NANOS);
        mono.time.advance(5_000);
        assert_eq!(mono.now(), 2 * TICK_NANOS + 5_000);
    }

    #[test]
    fn a_sleep_costs_the_fuel_of_busy_work_as_long() {
        assert_eq!(sleep_fuel(1_000_000_000, 2_000_000_000), 2_000_000_000);
        assert_eq!(sleep_fuel(1_000, 2_000_000_000), 2_000);
        assert_eq!(sleep_fuel(u64::MAX, u64::MAX), u64::MAX);
    }
}
