//! The engine, the linker, the component cache and instances under limits.

use crate::digest::Digest;
use crate::error::{CallBudget, PluginError, PluginErrorKind, classify};
use crate::limits::{Limiter, Limits};
use crate::output::{CapturedOutput, OutputPipes};
use crate::wasi::{VirtualTime, build_ctx, charge_fuel};
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;
use wasmtime::component::{Component, InstancePre, Linker, ResourceTable};
use wasmtime::{
    Config, Engine, InstanceAllocationStrategy, PoolingAllocationConfig, ProfilingStrategy, Store,
};
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};

/// How the engine is set up. Limits per call are in [`Limits`].
#[derive(Clone, Debug)]
pub struct SandboxConfig {
    /// Use wasmtime's pooling allocator: instances come from preallocated
    /// slots, making a fresh instance a few microseconds. Default: true.
    pub pooling: bool,
    /// Most instances alive at once with the pooling allocator. Default: 1024.
    pub pool_instances: u32,
    /// Largest linear memory any instance can ever have with the pooling
    /// allocator (per-instance caps in [`Limits`] stay in force below it).
    /// Default: 512 MiB.
    pub pool_max_memory_bytes: usize,
    /// Where compiled components are cached on disk by sha256 (`None`: memory
    /// only). Default: `None`.
    pub cache_dir: Option<PathBuf>,
    /// Period of the epoch ticker behind deadlines, in ms. Default: 5.
    pub epoch_tick_ms: u64,
    /// Largest wasm stack, in bytes. Default: 512 KiB.
    pub max_wasm_stack: usize,
    /// Meter fuel (the deterministic per-call budget). Turning it off leaves
    /// only the wall-clock deadline; it exists to measure metering overhead.
    /// Default: true.
    pub fuel: bool,
    /// Write `/tmp/perf-<pid>.map` so that `perf report` names the guest's
    /// compiled functions (wasmtime's perf map), for profiling a plugin.
    /// Default: false.
    pub perf_map: bool,
}

impl Default for SandboxConfig {
    fn default() -> Self {
        SandboxConfig {
            pooling: true,
            pool_instances: 1024,
            pool_max_memory_bytes: 512 << 20,
            cache_dir: None,
            epoch_tick_ms: 5,
            max_wasm_stack: 512 << 10,
            fuel: true,
            perf_map: false,
        }
    }
}

/// Capabilities an experiment grants a plugin explicitly. Nothing else is
/// reachable.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Grants {
    /// A host directory mounted read-only inside the guest.
    pub read_only_dir: Option<GrantedDir>,
}

/// A host directory mounted read-only at `guest_path`.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GrantedDir {
    /// Directory on the host.
    pub host_path: PathBuf,
    /// Where the guest sees it (e.g. `/data`).
    pub guest_path: String,
}

/// Per-store host state: WASI, the resource table, the limiter, output pipes.
pub struct StoreState {
    wasi: WasiCtx,
    table: ResourceTable,
    limiter: Limiter,
    pipes: OutputPipes,
    time: VirtualTime,
    sleep_fuel_per_second: u64,
}

impl StoreState {
    pub(crate) fn table(&mut self) -> &mut ResourceTable {
        &mut self.table
    }

    /// The guest's monotonic clock, and the fuel a second of sleep costs.
    pub(crate) fn virtual_time(&self) -> (VirtualTime, u64) {
        (self.time.clone(), self.sleep_fuel_per_second)
    }
}

impl WasiView for StoreState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

/// A component compiled once, ready for fast fresh instances.
pub struct CompiledComponent {
    digest: Digest,
    size: usize,
    component: Component,
    pre: InstancePre<StoreState>,
}

impl CompiledComponent {
    /// sha256 of the component's bytes.
    pub fn digest(&self) -> Digest {
        self.digest
    }

    /// Size of the component's bytes.
    pub fn size(&self) -> usize {
        self.size
    }

    /// The pre-instantiated component (imports resolved against the linker).
    pub fn instance_pre(&self) -> &InstancePre<StoreState> {
        &self.pre
    }

    /// Names of the component's imports (e.g. `wasi:cli/stdout@0.2.6`).
    pub fn imports(&self, sandbox: &Sandbox) -> Vec<String> {
        let ty = self.component.component_type();
        ty.imports(&sandbox.inner.engine)
            .map(|(name, _)| name.to_owned())
            .collect()
    }

    /// Names of the component's exports (e.g. `derl:plugin/reward@0.1.0`).
    pub fn exports(&self, sandbox: &Sandbox) -> Vec<String> {
        let ty = self.component.component_type();
        ty.exports(&sandbox.inner.engine)
            .map(|(name, _)| name.to_owned())
            .collect()
    }
}

struct Inner {
    engine: Engine,
    linker: Linker<StoreState>,
    config: SandboxConfig,
    cache: Mutex<HashMap<Digest, Arc<CompiledComponent>>>,
    ticker_stop: Arc<AtomicBool>,
    ticker: Mutex<Option<JoinHandle<()>>>,
}

impl Drop for Inner {
    fn drop(&mut self) {
        self.ticker_stop.store(true, Ordering::Relaxed);
        if let Some(handle) = self.ticker.lock().ok().and_then(|mut t| t.take()) {
            let _ = handle.join();
        }
    }
}

/// The sandbox: one engine, one linker, a component cache, an epoch ticker.
/// Cheap to clone; clones share everything.
#[derive(Clone)]
pub struct Sandbox {
    inner: Arc<Inner>,
}

impl Sandbox {
    /// Creates the engine, the WASI linker and the epoch ticker.
    ///
    /// # Errors
    /// `Host` if wasmtime rejects the configuration (e.g. the pooling
    /// allocator cannot reserve its address space).
    pub fn new(config: SandboxConfig) -> Result<Sandbox, PluginError> {
        let host_error = |e: wasmtime::Error| {
            PluginError::new("sandbox", PluginErrorKind::Host(format!("{e:#}")))
        };
        let mut wasm = Config::new();
        wasm.wasm_component_model(true)
            .consume_fuel(config.fuel)
            .epoch_interruption(true)
            .max_wasm_stack(config.max_wasm_stack)
            .parallel_compilation(true);
        if config.perf_map {
            wasm.profiler(ProfilingStrategy::PerfMap);
        }
        if config.pooling {
            let mut pool = PoolingAllocationConfig::default();
            pool.total_component_instances(config.pool_instances)
                .total_core_instances(config.pool_instances * 4)
                .total_memories(config.pool_instances * 2)
                .total_tables(config.pool_instances * 2)
                .max_memory_size(config.pool_max_memory_bytes)
                .max_core_instances_per_component(64)
                .max_memories_per_component(16)
                .max_tables_per_component(64);
            wasm.allocation_strategy(InstanceAllocationStrategy::Pooling(pool));
        }
        let engine = Engine::new(&wasm).map_err(host_error)?;
        let mut linker = Linker::<StoreState>::new(&engine);
        wasmtime_wasi::p2::add_to_linker_sync(&mut linker).map_err(host_error)?;
        crate::wasi::add_virtual_sleep(&mut linker).map_err(host_error)?;

        let ticker_stop = Arc::new(AtomicBool::new(false));
        let ticker = {
            let engine = engine.clone();
            let stop = ticker_stop.clone();
            let period = Duration::from_millis(config.epoch_tick_ms.max(1));
            std::thread::Builder::new()
                .name("derl-epoch-ticker".into())
                .spawn(move || {
                    while !stop.load(Ordering::Relaxed) {
                        std::thread::sleep(period);
                        engine.increment_epoch();
                    }
                })
                .map_err(|e| PluginError::new("sandbox", PluginErrorKind::Host(e.to_string())))?
        };
        Ok(Sandbox {
            inner: Arc::new(Inner {
                engine,
                linker,
                config,
                cache: Mutex::new(HashMap::new()),
                ticker_stop,
                ticker: Mutex::new(Some(ticker)),
            }),
        })
    }

    /// The wasmtime engine.
    pub fn engine(&self) -> &Engine {
        &self.inner.engine
    }

    /// The configuration the sandbox was made with.
    pub fn config(&self) -> &SandboxConfig {
        &self.inner.config
    }

    /// Compiles `bytes` (or returns the cached compilation of the same
    /// sha256) and resolves its imports against the sandbox's linker.
    ///
    /// # Errors
    /// `NotAComponent` for core modules and garbage, `UnsupportedImport` when
    /// the component imports anything the sandbox does not provide.
    pub fn load(&self, bytes: &[u8]) -> Result<Arc<CompiledComponent>, PluginError> {
        let digest = Digest::of(bytes);
        if let Some(hit) = self.inner.cache.lock().unwrap().get(&digest) {
            return Ok(hit.clone());
        }
        let label = digest.short();
        check_component_preamble(bytes)
            .map_err(|d| PluginError::new(&label, PluginErrorKind::NotAComponent(d)))?;
        let component = self.compile(bytes, digest).map_err(|e| {
            PluginError::new(&label, PluginErrorKind::NotAComponent(format!("{e:#}")))
        })?;
        let pre = self.inner.linker.instantiate_pre(&component).map_err(|e| {
            PluginError::new(&label, PluginErrorKind::UnsupportedImport(format!("{e:#}")))
        })?;
        let compiled = Arc::new(CompiledComponent {
            digest,
            size: bytes.len(),
            component,
            pre,
        });
        self.inner
            .cache
            .lock()
            .unwrap()
            .insert(digest, compiled.clone());
        Ok(compiled)
    }

    /// Compiles with wasmtime, through the on-disk cache when configured.
    fn compile(&self, bytes: &[u8], digest: Digest) -> wasmtime::Result<Component> {
        let engine = &self.inner.engine;
        let Some(dir) = &self.inner.config.cache_dir else {
            return Component::from_binary(engine, bytes);
        };
        let path = dir.join(format!("{}.cwasm", digest.to_hex()));
        if path.exists() {
            // SAFETY: the file was written by `Component::serialize` of this
            // program into a directory the user configured; wasmtime checks
            // that it was produced by a compatible engine and refuses it
            // otherwise, in which case we recompile below.
            if let Ok(component) = unsafe { Component::deserialize_file(engine, &path) } {
                return Ok(component);
            }
        }
        let component = Component::from_binary(engine, bytes)?;
        if let Ok(serialized) = component.serialize() {
            let _ = std::fs::create_dir_all(dir);
            let tmp = path.with_extension(format!("tmp{}", std::process::id()));
            if std::fs::write(&tmp, serialized).is_ok() {
                let _ = std::fs::rename(&tmp, &path);
            }
        }
        Ok(component)
    }

    /// Makes a fresh store and instantiates `component` in it with
    /// `instantiate` (typically a bindgen `...Pre::instantiate`), under
    /// `limits`. Instantiation runs guest code, so it is limited too.
    ///
    /// # Errors
    /// Any typed failure of the guest's start-up code.
    pub fn instantiate<B>(
        &self,
        component: &CompiledComponent,
        plugin: &str,
        limits: &Limits,
        seed: u64,
        grants: &Grants,
        instantiate: impl FnOnce(
            &mut Store<StoreState>,
            &InstancePre<StoreState>,
        ) -> wasmtime::Result<B>,
    ) -> Result<Instance<B>, PluginError> {
        let pipes = OutputPipes::new(limits.output_bytes);
        let time = VirtualTime::default();
        let wasi = build_ctx(seed, grants, &pipes, &time)
            .map_err(|e| PluginError::new(plugin, PluginErrorKind::Host(format!("{e:#}"))))?;
        let mut store = Store::new(
            &self.inner.engine,
            StoreState {
                wasi,
                table: ResourceTable::new(),
                limiter: Limiter::new(limits.clone()),
                pipes,
                time,
                sleep_fuel_per_second: limits.fuel_per_call,
            },
        );
        store.limiter(|state| &mut state.limiter);
        store.set_hostcall_fuel(limits.hostcall_bytes);
        if self.inner.config.fuel {
            let hostcall_fuel = limits.hostcall_fuel;
            store.call_hook(move |mut store, hook| {
                if matches!(hook, wasmtime::CallHook::CallingHost) {
                    charge_fuel(&mut store, hostcall_fuel);
                }
                Ok(())
            });
        }
        let mut instance = Instance {
            store,
            bindings: None,
            plugin: plugin.to_owned(),
            limits: limits.clone(),
            tick_ms: self.inner.config.epoch_tick_ms.max(1),
            fuel_metered: self.inner.config.fuel,
            poisoned: false,
            last_fuel_used: 0,
        };
        let pre = component.instance_pre();
        let bindings = instance.guarded(|store| instantiate(store, pre))?;
        instance.bindings = Some(bindings);
        Ok(instance)
    }
}

/// Checks the 8-byte preamble: `\0asm` then the component-layer version.
fn check_component_preamble(bytes: &[u8]) -> Result<(), String> {
    if bytes.len() < 8 || &bytes[..4] != b"\0asm" {
        return Err("the file does not start with the WebAssembly magic bytes `\\0asm`".into());
    }
    if bytes[4..8] == [1, 0, 0, 0] {
        return Err(
            "this is a core WebAssembly module, not a component (build for wasm32-wasip2, or wrap it with `wasm-tools component new`)".into(),
        );
    }
    if bytes[6..8] != [1, 0] {
        return Err(format!(
            "unknown WebAssembly layer/version bytes {:?}",
            &bytes[4..8]
        ));
    }
    Ok(())
}

/// One live instance of a component, with its store and typed bindings.
pub struct Instance<B> {
    store: Store<StoreState>,
    bindings: Option<B>,
    plugin: String,
    limits: Limits,
    tick_ms: u64,
    fuel_metered: bool,
    poisoned: bool,
    last_fuel_used: u64,
}

impl<B> Instance<B> {
    /// Calls into the guest: refuels, arms the deadline, and names any
    /// failure. After a failure the instance is poisoned and every later
    /// call fails at once; make a fresh instance.
    ///
    /// # Errors
    /// The typed failure of the call.
    pub fn call<R>(
        &mut self,
        f: impl FnOnce(&B, &mut Store<StoreState>) -> wasmtime::Result<R>,
    ) -> Result<R, PluginError> {
        let bindings = self.bindings.take().expect("instance has bindings");
        let result = self.guarded(|store| f(&bindings, store));
        self.bindings = Some(bindings);
        result
    }

    fn guarded<R>(
        &mut self,
        f: impl FnOnce(&mut Store<StoreState>) -> wasmtime::Result<R>,
    ) -> Result<R, PluginError> {
        if self.poisoned {
            return Err(self.error(PluginErrorKind::Host(
                "this instance failed earlier and was discarded".into(),
            )));
        }
        let fuel = self.limits.fuel_per_call;
        let ticks = self.limits.deadline_ms.div_ceil(self.tick_ms) + 1;
        if self.fuel_metered {
            self.store
                .set_fuel(fuel)
                .expect("fuel is enabled on the engine");
        }
        self.store.set_epoch_deadline(ticks);
        let result = f(&mut self.store);
        if self.fuel_metered {
            self.last_fuel_used = fuel - self.store.get_fuel().unwrap_or(0);
        }
        result.map_err(|error| {
            self.poisoned = true;
            let budget = CallBudget {
                fuel,
                deadline_ms: self.limits.deadline_ms,
                output_cap: self.limits.output_bytes,
            };
            let mut kind = classify(&error, &budget);
            if matches!(kind, PluginErrorKind::Trap { .. })
                && self.store.data().pipes.is_full(self.limits.output_bytes)
            {
                // Rust's `print!` panics when the host refuses a write.
                kind = PluginErrorKind::OutputLimit {
                    cap: self.limits.output_bytes,
                };
            }
            tracing::debug!(plugin = %self.plugin, error = %format!("{error:?}"), "guest call failed");
            self.error(kind)
        })
    }

    /// A typed error for this instance, with its captured stderr attached.
    pub fn error(&self, kind: PluginErrorKind) -> PluginError {
        let mut error = PluginError::new(&self.plugin, kind);
        error.stderr = self.store.data().pipes.captured().stderr;
        error
    }

    /// Marks the instance as unusable (e.g. after it returned invalid output
    /// that leaves its state in doubt).
    pub fn poison(&mut self) {
        self.poisoned = true;
    }

    /// Whether a call failed and the instance must be replaced.
    pub fn is_poisoned(&self) -> bool {
        self.poisoned
    }

    /// Fuel the last call consumed.
    pub fn last_fuel_used(&self) -> u64 {
        self.last_fuel_used
    }

    /// What the guest wrote to stdout and stderr so far (bounded).
    pub fn output(&self) -> CapturedOutput {
        self.store.data().pipes.captured()
    }

    /// The plugin's display name.
    pub fn plugin(&self) -> &str {
        &self.plugin
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn preamble_check_names_core_modules_and_garbage() {
        assert!(
            check_component_preamble(b"hello world")
                .unwrap_err()
                .contains("magic")
        );
        let core = b"\0asm\x01\0\0\0";
        assert!(
            check_component_preamble(core)
                .unwrap_err()
                .contains("core WebAssembly module")
        );
        let component = b"\0asm\x0d\0\x01\0";
        assert!(check_component_preamble(component).is_ok());
    }

    #[test]
    fn loading_garbage_is_a_typed_error() {
        let sandbox = Sandbox::new(SandboxConfig {
            pooling: false,
            ..SandboxConfig::default()
        })
        .unwrap();
        let err = sandbox.load(b"not wasm at all").err().unwrap();
        assert!(matches!(err.kind, PluginErrorKind::NotAComponent(_)));
    }
}
