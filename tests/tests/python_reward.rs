//! Python rewards end to end: `plugins/python-reward/*.py` built with
//! componentize-py, inspected, scored against values computed here, and the
//! hostile ones each stopped with their typed error.
//!
//! Needs componentize-py (`bash scripts/setup-python.sh`). Without it these
//! tests print why and pass, unless `CI` is set: there the venv must exist.
//! Each file is built once per run (components are ~18 MB and compile
//! slowly), into `$CARGO_TARGET_TMPDIR/python-reward/`, which also holds the
//! sandbox's disk cache.

use derl::plugin::{RewardProgram, World, inspect};
use derl::python_reward::{BuildError, BuildOptions, python_limits};
use derl_sandbox::{
    CompiledComponent, Limits, PluginError, PluginErrorKind, Sandbox, SandboxConfig,
};
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

/// Where the Python files live.
fn source(file: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../plugins/python-reward")
        .join(file)
}

/// This run's scratch directory, emptied once per test binary.
fn work_dir() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("python-reward");
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("scratch directory");
        dir
    })
}

/// The componentize-py to build with, or `None` (after saying why) when it
/// is not installed outside CI.
fn tool() -> Option<PathBuf> {
    static TOOL: OnceLock<Option<PathBuf>> = OnceLock::new();
    TOOL.get_or_init(|| match derl::python_reward::locate_componentize_py() {
        Ok(tool) => Some(tool),
        Err(error) if std::env::var_os("CI").is_some() => {
            panic!("CI is set, so Python rewards must be tested: {error}")
        }
        Err(error) => {
            eprintln!("skipping the Python reward tests: {error}");
            None
        }
    })
    .clone()
}

/// A built Python reward: its bytes, and their compilation in [`sandbox`].
struct Built {
    bytes: Vec<u8>,
    component: Arc<CompiledComponent>,
}

impl Built {
    fn program(&self, limits: Limits) -> RewardProgram {
        RewardProgram::from_component(sandbox(), self.component.clone(), limits)
            .expect("the program loads")
    }
}

/// Builds and compiles `file` once per test binary.
fn build_once(cell: &'static OnceLock<Built>, file: &str) -> Option<&'static Built> {
    let tool = tool()?;
    Some(cell.get_or_init(|| {
        let out = work_dir().join(file).with_extension("wasm");
        let options = BuildOptions {
            tool: Some(tool),
            ..BuildOptions::default()
        };
        let built = derl::python_reward::build_with(&source(file), &out, &options)
            .unwrap_or_else(|e| panic!("building {file}: {e}"));
        let bytes = std::fs::read(&built.path).expect("the built component");
        assert_eq!(bytes.len(), built.size);
        assert_eq!(derl_sandbox::Digest::of(&bytes), built.digest);
        let started = Instant::now();
        let component = sandbox().load(&bytes).expect("the component compiles");
        eprintln!(
            "{file}: built {} bytes in {:.1} s, compiled in {:.1} s",
            built.size,
            built.seconds,
            started.elapsed().as_secs_f64()
        );
        Built { bytes, component }
    }))
}

macro_rules! component {
    ($fn_name:ident, $file:literal) => {
        fn $fn_name() -> Option<&'static Built> {
            static CELL: OnceLock<Built> = OnceLock::new();
            build_once(&CELL, $file)
        }
    };
}

component!(example, "reward.py");
component!(hostile_loop, "hostile_loop.py");
component!(hostile_memory, "hostile_memory.py");
component!(hostile_socket, "hostile_socket.py");

/// One sandbox for the whole binary, caching compiled components on disk.
fn sandbox() -> &'static Sandbox {
    static SANDBOX: OnceLock<Sandbox> = OnceLock::new();
    SANDBOX.get_or_init(|| {
        Sandbox::new(SandboxConfig {
            cache_dir: Some(work_dir().join("cache")),
            ..SandboxConfig::default()
        })
        .expect("sandbox")
    })
}

/// `plugins/python-reward/reward.py`, written again in Rust.
fn example_reward(row: &[f64]) -> f64 {
    let (success, progress) = (row[0], row[1]);
    let stalled = success < 0.5 && progress >= 0.9;
    10.0 * success + 2.0 * (progress / 0.3).tanh() - if stalled { 0.5 } else { 0.0 }
}

/// A deterministic batch of `episodes` rows of `stride` values in [0, 1],
/// success (column 0) being 0 or 1.
fn batch(episodes: usize, stride: usize, seed: u64) -> Vec<f64> {
    let mut rng = derl_env_api::seeds::SplitMix64::new(seed);
    let mut next = move || rng.next_unit();
    (0..episodes * stride)
        .map(|i| {
            let value = next();
            if i % stride == 0 {
                value.round()
            } else {
                value
            }
        })
        .collect()
}

fn assert_scores_match(scores: &[f64], values: &[f64], stride: usize) {
    assert_eq!(scores.len(), values.len() / stride);
    for (episode, (score, row)) in scores.iter().zip(values.chunks(stride)).enumerate() {
        let expected = example_reward(row);
        // CPython's libm and Rust's may differ in the last bit of tanh.
        assert!(
            (score - expected).abs() <= 1e-12 * expected.abs().max(1.0),
            "episode {episode} {row:?}: Python {score}, Rust {expected}"
        );
    }
}

#[test]
fn the_example_builds_and_inspects_as_a_reward_program() {
    let Some(example) = example() else { return };
    let inspection = inspect(sandbox(), &example.bytes).expect("the example inspects");
    assert_eq!(inspection.world, World::Reward);
    assert_eq!(inspection.size, example.bytes.len());
    let info = inspection
        .reward
        .expect("a reward program describes itself");
    assert_eq!(
        info.description,
        "10*success + 2*tanh(progress/0.3) - 0.5*[no success but progress >= 0.9]"
    );
    assert_eq!(info.min_stride, 2);
    // WASI, and the shared types of the reward interface.
    assert!(
        inspection
            .imports
            .iter()
            .all(|i| i.starts_with("wasi:") || i == derl_env_api::contract::TYPES_INTERFACE),
        "{:?}",
        inspection.imports
    );
}

#[test]
fn the_example_scores_like_its_rust_transcription() {
    let Some(example) = example() else { return };
    let program = example.program(python_limits());
    let edges = [
        0.0, 0.0, //
        1.0, 0.0, //
        0.0, 0.89, //
        0.0, 0.9, //
        0.0, 1.0, //
        1.0, 1.0, //
        1.0, 0.95,
    ];
    let scores = program.score(2, &edges).expect("scores");
    assert_scores_match(&scores, &edges, 2);
    assert_eq!(scores[0], 0.0);
    assert!(scores[3] < scores[2], "the stall penalty applies at 0.9");

    // Wider rows (household reports 6 primitives): only the first two count.
    let wide = batch(256, 6, 7);
    assert_scores_match(&program.score(6, &wide).expect("scores"), &wide, 6);
    let large = batch(4096, 2, 11);
    assert_scores_match(&program.score(2, &large).expect("scores"), &large, 2);
    assert_eq!(
        program.score(2, &[]).expect("empty batch"),
        Vec::<f64>::new()
    );
}

#[test]
fn rows_narrower_than_min_stride_are_refused_before_the_call() {
    let Some(example) = example() else { return };
    let program = example.program(python_limits());
    match program.score(1, &[1.0, 0.0]).unwrap_err().kind {
        PluginErrorKind::InvalidOutput(message) => {
            assert!(message.contains("reads 2 primitives"), "{message}")
        }
        other => panic!("expected invalid output, got {other:?}"),
    }
}

/// Scores one row with a hostile program twice: both calls fail the same
/// way (the second in a fresh instance), and the example still scores in
/// the same sandbox afterwards.
fn provoke(hostile: &Built, limits: Limits) -> PluginError {
    let program = hostile.program(limits);
    let first = program.score(2, &[1.0, 0.5]).expect_err("must fail");
    let second = program.score(2, &[1.0, 0.5]).expect_err("must fail again");
    assert_eq!(
        first.kind, second.kind,
        "a fresh instance fails the same way"
    );
    if let Some(example) = example() {
        let healthy = example.program(python_limits());
        assert_scores_match(&healthy.score(2, &[1.0, 0.5]).unwrap(), &[1.0, 0.5], 2);
    }
    first
}

#[test]
fn an_endless_loop_runs_out_of_fuel() {
    let Some(hostile) = hostile_loop() else {
        return;
    };
    let limits = Limits {
        fuel_per_call: 1_000_000_000,
        ..python_limits()
    };
    let error = provoke(hostile, limits);
    assert_eq!(
        error.kind,
        PluginErrorKind::FuelExhausted {
            budget: 1_000_000_000
        }
    );
}

#[test]
fn an_endless_loop_hits_the_deadline_when_fuel_is_plentiful() {
    let Some(hostile) = hostile_loop() else {
        return;
    };
    let limits = Limits {
        fuel_per_call: u64::MAX / 2,
        deadline_ms: 500,
        ..python_limits()
    };
    let error = provoke(hostile, limits);
    assert_eq!(error.kind, PluginErrorKind::Deadline { millis: 500 });
}

#[test]
fn a_huge_list_hits_the_memory_cap() {
    let Some(hostile) = hostile_memory() else {
        return;
    };
    match provoke(hostile, python_limits()).kind {
        PluginErrorKind::MemoryLimit { cap, requested } => {
            assert_eq!(cap, python_limits().memory_bytes);
            assert!(requested > cap, "{requested} <= {cap}");
        }
        other => panic!("expected a memory limit, got {other:?}"),
    }
}

#[test]
fn sockets_are_unavailable() {
    let Some(hostile) = hostile_socket() else {
        return;
    };
    match provoke(hostile, python_limits()).kind {
        PluginErrorKind::Guest(message) => assert_eq!(
            message,
            "episode 0: PermissionError: [Errno 2] Permission denied"
        ),
        other => panic!("expected the program's own error, got {other:?}"),
    }
}

#[test]
fn a_module_without_reward_fails_to_build_with_the_tools_message() {
    let Some(tool) = tool() else { return };
    let module = work_dir().join("no_reward.py");
    std::fs::write(&module, "DESCRIPTION = 'forgot the function'\n").unwrap();
    let options = BuildOptions {
        tool: Some(tool),
        ..BuildOptions::default()
    };
    let out = work_dir().join("no_reward.wasm");
    match derl::python_reward::build_with(&module, &out, &options) {
        Err(BuildError::ToolFailed { output, .. }) => assert!(
            output.contains("no_reward.py must define a function `reward(primitives) -> float`"),
            "{output}"
        ),
        Err(other) => panic!("expected the tool to fail, got {other}"),
        Ok(built) => panic!("built {built:?}"),
    }
    assert!(!out.exists(), "no component is written on failure");
}

#[test]
fn a_second_load_reads_the_compiled_component_from_the_disk_cache() {
    let Some(example) = example() else { return };
    let cache = sandbox().config().cache_dir.clone().expect("a disk cache");
    let digest = example.component.digest();
    let cached = cache.join(format!("{}.cwasm", digest.to_hex()));
    let written = std::fs::metadata(&cached).expect("compiling wrote the cache file");

    // A new sandbox has an empty memory cache: only the disk can spare it
    // the compilation.
    let started = Instant::now();
    let fresh = Sandbox::new(SandboxConfig {
        cache_dir: Some(cache),
        pooling: false,
        ..SandboxConfig::default()
    })
    .unwrap();
    let program =
        RewardProgram::load(&fresh, &example.bytes, python_limits()).expect("second load");
    let second_load = started.elapsed();
    assert_eq!(program.digest(), digest);
    let after = std::fs::metadata(&cached).unwrap();
    assert_eq!(
        after.modified().unwrap(),
        written.modified().unwrap(),
        "the second load used the cache file instead of compiling and rewriting it"
    );
    assert_eq!(after.len(), written.len());
    assert_scores_match(&program.score(2, &[0.0, 0.5]).unwrap(), &[0.0, 0.5], 2);
    eprintln!("load from the disk cache in a new sandbox: {second_load:?}");
}

/// Median of `runs` timings of `f`.
fn median(runs: usize, mut f: impl FnMut()) -> Duration {
    let mut samples: Vec<Duration> = (0..runs)
        .map(|_| {
            let started = Instant::now();
            f();
            started.elapsed()
        })
        .collect();
    samples.sort();
    samples[runs / 2]
}

/// What a Python reward costs beside a compiled one (the Rust
/// `reward-running-max`): first load with and without the disk cache, and
/// one batch (a fresh instance plus the call) at several sizes.
#[test]
#[ignore = "measurement: cargo test -p derl-tests --test python_reward -- --ignored --nocapture"]
fn costs_beside_a_compiled_reward() {
    let Some(example) = example() else { return };
    let compiled_bytes = std::fs::read(derl_artifacts::REWARD_RUNNING_MAX).expect("built");
    let cache = work_dir().join("cost-cache");
    let pooled = || {
        Sandbox::new(SandboxConfig {
            cache_dir: Some(cache.clone()),
            ..SandboxConfig::default()
        })
        .unwrap()
    };
    let mut loaded = Vec::new();
    for (name, bytes, limits) in [
        ("python", &example.bytes, python_limits()),
        ("compiled", &compiled_bytes, Limits::default()),
    ] {
        let started = Instant::now();
        RewardProgram::load(&pooled(), bytes, limits.clone()).expect("loads");
        let cold = started.elapsed();
        let started = Instant::now();
        let program = RewardProgram::load(&pooled(), bytes, limits).expect("loads");
        let cached = started.elapsed();
        println!("{name}: first load {cold:.2?} (compiles), {cached:.2?} from the disk cache");
        loaded.push((name, program));
    }
    for episodes in [0, 256, 4096] {
        let values = batch(episodes, 2, 3);
        for (name, program) in &loaded {
            let scores = program.score(2, &values).expect("scores");
            assert_eq!(scores.len(), episodes);
            let time = median(9, || {
                std::hint::black_box(program.score(2, &values).expect("scores"));
            });
            println!("{name}: batch of {episodes} episodes, median of 9: {time:.2?}");
        }
    }
}
