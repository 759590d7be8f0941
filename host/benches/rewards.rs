//! Reward programs, measured in one run on the same programs and the same
//! seeded batches (256 and 4096 episodes of 6 primitives):
//!
//! 1. a compiled Meta-Reward component scoring a batch through
//!    `RewardProgram::score` (a fresh instance per call, as the inner loop
//!    uses it; also a warm instance reused across calls) versus the native
//!    evaluator `derl_lang::Program::score`;
//! 2. versus CPython `eval(program_string, {"__builtins__": None}, values)`
//!    per sample, as the DERL authors' code does (`benches/reward_eval.py`);
//! 3. the time to compile one program end to end (parse, `derl_lang::compile`,
//!    wasmtime compile without disk cache, instantiate and `describe`);
//! 4. the Python example reward `plugins/python-reward/reward.py` built with
//!    componentize-py: per batch, first load, and a load from the disk cache.
//!
//! Run: `cargo bench -p derl --bench rewards`

mod timing;

use derl::plugin::{REWARD_INTERFACE, RewardProgram};
use derl_sandbox::{CompiledComponent, Grants, Instance, Limits, Sandbox, SandboxConfig};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};
use timing::median_per_call;
use wasmtime::component::{ComponentType, Lower, TypedFunc};

/// Primitives per episode.
const STRIDE: usize = 6;
/// Episodes per batch.
const BATCHES: [usize; 2] = [256, 4096];
/// Timed runs per measure; the median is reported.
const RUNS: usize = 9;
/// Each timed run repeats the measured call for at least this long.
const RUN_TIME: Duration = Duration::from_millis(20);

/// A program in the Meta-Reward language and the same program in Python.
struct Case {
    name: &'static str,
    source: &'static str,
    python: &'static str,
}

const CASES: [Case; 3] = [
    Case {
        name: "P1",
        source: "g1",
        python: "g1",
    },
    Case {
        name: "P2",
        source: "g1 + 0.5*g2*g3 - 0.1*g4",
        python: "g1 + 0.5*g2*g3 - 0.1*g4",
    },
    Case {
        name: "P3",
        source: "if(g1 > 0.5, 10*g1 + max(g2, 0.5*g3), min(g2, g3) - 0.1*g4) \
                 + clamp(g5 - g6, -0.5, 0.5) + abs(g2 - g3) / (g4 + 1) \
                 - 0.2*max(min(g5, g6), 0.25)",
        python: "(10*g1 + max(g2, 0.5*g3) if g1 > 0.5 else min(g2, g3) - 0.1*g4) \
                 + min(max(g5 - g6, -0.5), 0.5) + abs(g2 - g3) / (g4 + 1) \
                 - 0.2*max(min(g5, g6), 0.25)",
    },
];

/// The seeded batch: `g1` is a success flag (0 or 1, 30% ones), the other
/// primitives are uniform in [0, 1).
fn batch_values(rows: usize) -> Vec<f64> {
    let mut rng = ChaCha8Rng::seed_from_u64(7);
    let mut values = Vec::with_capacity(rows * STRIDE);
    for _ in 0..rows {
        values.push(if rng.random_bool(0.3) { 1.0 } else { 0.0 });
        for _ in 1..STRIDE {
            values.push(rng.random::<f64>());
        }
    }
    values
}

/// Median time per call of `f` over `RUNS` runs of at least `RUN_TIME`.
fn per_call(mut f: impl FnMut()) -> Duration {
    let started = Instant::now();
    f();
    let once = started.elapsed().max(Duration::from_nanos(1));
    let iterations = (RUN_TIME.as_nanos() / once.as_nanos()).clamp(1, 1_000_000) as u32;
    median_per_call(RUNS, iterations, f)
}

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

fn us(d: Duration) -> f64 {
    d.as_secs_f64() * 1e6
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

/// Left-to-right sum of the scores, as `reward_eval.py` computes it.
fn checksum(scores: &[f64]) -> f64 {
    scores.iter().fold(0.0, |sum, s| sum + s)
}

/// The WIT `batch` record, for calling `score` on a warm instance.
#[derive(ComponentType, Lower, Clone)]
#[component(record)]
struct Batch {
    stride: u32,
    values: Vec<f64>,
}

type ScoreFn = TypedFunc<(Batch,), (Result<Vec<f64>, String>,)>;

/// An instance kept alive across calls, with its typed `score` export.
fn warm_instance(sandbox: &Sandbox, component: &CompiledComponent) -> Instance<ScoreFn> {
    sandbox
        .instantiate(
            component,
            "warm reward",
            &Limits::default(),
            0,
            &Grants::default(),
            |store, pre| {
                let instance = pre.instantiate(&mut *store)?;
                let interface = instance
                    .get_export_index(&mut *store, None, REWARD_INTERFACE)
                    .ok_or_else(|| wasmtime::Error::msg("no reward interface"))?;
                let score = instance
                    .get_export_index(&mut *store, Some(&interface), "score")
                    .ok_or_else(|| wasmtime::Error::msg("no score export"))?;
                instance.get_typed_func(&mut *store, score)
            },
        )
        .expect("warm instance")
}

/// Median time per `score` call on a warm instance. The compiled programs
/// allocate with a bump allocator that never frees, so each run uses a new
/// instance (made outside the timed region) for a bounded number of calls.
fn warm_per_call(sandbox: &Sandbox, component: &CompiledComponent, values: &[f64]) -> Duration {
    let calls = (4_000_000 / (values.len() * 8)).clamp(1, 200) as u32;
    let batch = Batch {
        stride: STRIDE as u32,
        values: values.to_vec(),
    };
    let samples = (0..RUNS)
        .map(|_| {
            let mut instance = warm_instance(sandbox, component);
            let started = Instant::now();
            for _ in 0..calls {
                let (scores,) = instance
                    .call(|score, store| score.call(store, (batch.clone(),)))
                    .expect("warm call");
                std::hint::black_box(scores.expect("scores"));
            }
            started.elapsed() / calls
        })
        .collect();
    median(samples)
}

/// One program, ready to score.
struct Loaded {
    case: &'static Case,
    native: derl_lang::Program,
    program: RewardProgram,
    component: std::sync::Arc<CompiledComponent>,
    bytes: usize,
}

/// Per-batch figures of one program on one batch size.
struct Figures {
    native: Duration,
    compiled: Duration,
    warm: Duration,
    /// Minor page faults per fresh-instance call.
    faults: f64,
    checksum: f64,
}

/// Minor page faults of this process so far (`/proc/self/stat`), if known.
fn minor_faults() -> Option<u64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // Fields after the parenthesised command name; minflt is field 10.
    let after = &stat[stat.rfind(')')? + 2..];
    after.split_whitespace().nth(7)?.parse().ok()
}

/// Mean minor page faults per call of `f` over 200 calls (NaN if unknown).
fn faults_per_call(mut f: impl FnMut()) -> f64 {
    const CALLS: u32 = 200;
    let before = minor_faults();
    for _ in 0..CALLS {
        f();
    }
    match (before, minor_faults()) {
        (Some(a), Some(b)) => (b - a) as f64 / f64::from(CALLS),
        _ => f64::NAN,
    }
}

fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "unknown".into())
}

/// A directory under the system temp dir, removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new(tag: &str) -> TempDir {
        let path = std::env::temp_dir().join(format!("derl-bench-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&path);
        std::fs::create_dir_all(&path).expect("temp dir");
        TempDir(path)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// One line of `reward_eval.py`'s output.
#[derive(serde::Deserialize)]
struct PythonFigure {
    program: String,
    mode: String,
    rows: usize,
    seconds_per_batch: f64,
    checksum_bits: String,
}

impl PythonFigure {
    fn checksum(&self) -> f64 {
        f64::from_bits(u64::from_str_radix(&self.checksum_bits, 16).expect("hex checksum"))
    }
}

/// Runs `benches/reward_eval.py` on the same values; `None` (with a note)
/// when python3 cannot run it.
fn cpython(
    values: &[f64],
    reward_module: Option<&Path>,
    dir: &Path,
) -> Option<HashMap<(String, String, usize), PythonFigure>> {
    let values_path = dir.join("values.f64");
    let bytes: Vec<u8> = values.iter().flat_map(|v| v.to_le_bytes()).collect();
    std::fs::write(&values_path, bytes).expect("write values");
    let spec = serde_json::json!({
        "values": values_path,
        "stride": STRIDE,
        "batches": BATCHES,
        "programs": CASES.iter().map(|c| serde_json::json!({"name": c.name, "python": c.python})).collect::<Vec<_>>(),
        "runs": 5,
        "min_seconds": 0.05,
        "reward_module": reward_module,
    });
    let spec_path = dir.join("spec.json");
    std::fs::write(&spec_path, spec.to_string()).expect("write spec");
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../benches/reward_eval.py");
    let output = match Command::new("python3")
        .arg(&script)
        .arg(&spec_path)
        .output()
    {
        Ok(output) => output,
        Err(e) => {
            println!("note: cannot run python3 ({e}); CPython baseline skipped");
            return None;
        }
    };
    if !output.status.success() {
        println!(
            "note: {} failed ({}); CPython baseline skipped:\n{}",
            script.display(),
            output.status,
            String::from_utf8_lossy(&output.stderr)
        );
        return None;
    }
    let figures = String::from_utf8_lossy(&output.stdout)
        .lines()
        .map(|line| {
            let f: PythonFigure = serde_json::from_str(line)
                .unwrap_or_else(|e| panic!("reward_eval.py printed `{line}`: {e}"));
            ((f.program.clone(), f.mode.clone(), f.rows), f)
        })
        .collect();
    Some(figures)
}

fn main() {
    println!("load average (1, 5, 15 min) at start: {}\n", load_average());
    let sandbox = Sandbox::new(SandboxConfig::default()).expect("sandbox");
    let values = batch_values(*BATCHES.iter().max().expect("batches"));

    println!("Programs (stride {STRIDE}; g1 in {{0, 1}}, g2..g6 uniform in [0, 1)):\n");
    let loaded: Vec<Loaded> = CASES
        .iter()
        .map(|case| {
            let native = derl_lang::parse(case.source, &[]).expect("parses");
            let bytes = derl_lang::compile(&native).expect("compiles");
            let program = RewardProgram::load(&sandbox, &bytes, Limits::default()).expect("loads");
            let component = sandbox.load(&bytes).expect("cached component");
            println!("- {}: `{}`", case.name, native.normalized());
            Loaded {
                case,
                native,
                program,
                component,
                bytes: bytes.len(),
            }
        })
        .collect();

    // 1. Compiled component versus native evaluator.
    let empty = per_call(|| {
        std::hint::black_box(loaded[0].program.score(STRIDE, &[]).expect("empty batch"));
    });
    let mut figures: HashMap<(&str, usize), Figures> = HashMap::new();
    for l in &loaded {
        for rows in BATCHES {
            let batch = &values[..rows * STRIDE];
            let native_scores = l.native.score(STRIDE, batch).expect("native scores");
            let compiled_scores = l.program.score(STRIDE, batch).expect("compiled scores");
            assert!(
                native_scores
                    .iter()
                    .zip(&compiled_scores)
                    .all(|(a, b)| a.to_bits() == b.to_bits()),
                "{}: compiled and native scores differ",
                l.case.name
            );
            let native = per_call(|| {
                std::hint::black_box(l.native.score(STRIDE, batch).expect("scores"));
            });
            let compiled = per_call(|| {
                std::hint::black_box(l.program.score(STRIDE, batch).expect("scores"));
            });
            let warm = warm_per_call(&sandbox, &l.component, batch);
            let faults = faults_per_call(|| {
                std::hint::black_box(l.program.score(STRIDE, batch).expect("scores"));
            });
            figures.insert(
                (l.case.name, rows),
                Figures {
                    native,
                    compiled,
                    warm,
                    checksum: checksum(&native_scores),
                    faults,
                },
            );
        }
    }
    println!("\n## Compiled component vs native evaluator (per batch, median of {RUNS} runs)\n");
    println!(
        "| program | episodes | native `Program::score`, us | compiled, fresh instance, us | ratio | compiled, warm instance, us | ratio (warm) | page faults per fresh call |"
    );
    println!("|---|---|---|---|---|---|---|---|");
    for l in &loaded {
        for rows in BATCHES {
            let f = &figures[&(l.case.name, rows)];
            println!(
                "| {} | {rows} | {:.2} | {:.2} | {:.2}x | {:.2} | {:.2}x | {:.1} |",
                l.case.name,
                us(f.native),
                us(f.compiled),
                f.compiled.as_secs_f64() / f.native.as_secs_f64(),
                us(f.warm),
                f.warm.as_secs_f64() / f.native.as_secs_f64(),
                f.faults,
            );
        }
    }
    let empty_faults = faults_per_call(|| {
        std::hint::black_box(loaded[0].program.score(STRIDE, &[]).expect("empty batch"));
    });
    println!(
        "\nFixed cost of a fresh-instance call (empty batch: store, WASI context, instantiate, one call): {:.2} us, {empty_faults:.1} minor page faults.",
        us(empty)
    );

    // 4 (build first, so the CPython run can include the same module).
    let python_dir = TempDir::new("python-reward");
    let reward_source =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../plugins/python-reward/reward.py");
    let python_component = python_dir.0.join("reward.wasm");
    let built = match derl::python_reward::build(&reward_source, &python_component) {
        Ok(built) => Some(built),
        Err(e) => {
            println!(
                "\nnote: the Python example reward was not built, its figures are skipped: {e}"
            );
            None
        }
    };

    // 2. CPython eval per sample.
    let cpython_dir = TempDir::new("cpython");
    let py = cpython(
        &values,
        built.as_ref().map(|_| reward_source.as_path()),
        &cpython_dir.0,
    );
    if let Some(py) = &py {
        println!(
            "\n## Compiled component vs CPython `eval` per sample (per batch; CPython: median of 5 runs, {})\n",
            python_version()
        );
        println!(
            "| program | episodes | CPython `eval(string)`, us | CPython `eval(code object)`, us | compiled, fresh instance, us | speedup vs `eval(string)` | speedup vs `eval(code)` |"
        );
        println!("|---|---|---|---|---|---|---|");
        for l in &loaded {
            for rows in BATCHES {
                let f = &figures[&(l.case.name, rows)];
                let get = |mode: &str| {
                    let p = &py[&(l.case.name.to_owned(), mode.to_owned(), rows)];
                    assert_eq!(
                        p.checksum().to_bits(),
                        f.checksum.to_bits(),
                        "{} ({mode}, {rows} rows): CPython and native scores differ",
                        l.case.name
                    );
                    p.seconds_per_batch
                };
                let (string, code) = (get("eval-string"), get("eval-code"));
                let compiled = f.compiled.as_secs_f64();
                println!(
                    "| {} | {rows} | {:.0} | {:.0} | {:.2} | {:.0}x | {:.0}x |",
                    l.case.name,
                    string * 1e6,
                    code * 1e6,
                    compiled * 1e6,
                    string / compiled,
                    code / compiled,
                );
            }
        }
        println!("\nEvery CPython score sum equals the native one bit for bit.");
    }

    // 3. Compile one program end to end.
    println!(
        "\n## Compiling one program end to end (median of {RUNS}, a fresh sandbox each, no disk cache)\n"
    );
    println!(
        "| program | component bytes | parse, us | `derl_lang::compile`, us | wasmtime compile (`Sandbox::load`), ms | instantiate + `describe`, us | total, ms |"
    );
    println!("|---|---|---|---|---|---|---|");
    for l in &loaded {
        let mut stages: [Vec<Duration>; 5] = Default::default();
        for _ in 0..RUNS {
            let fresh = Sandbox::new(SandboxConfig::default()).expect("sandbox");
            let t0 = Instant::now();
            let program = derl_lang::parse(l.case.source, &[]).expect("parses");
            let t1 = Instant::now();
            let bytes = derl_lang::compile(&program).expect("compiles");
            let t2 = Instant::now();
            let component = fresh.load(&bytes).expect("wasmtime compiles");
            let t3 = Instant::now();
            let reward = RewardProgram::from_component(&fresh, component, Limits::default())
                .expect("instantiates");
            let t4 = Instant::now();
            std::hint::black_box(reward);
            for (stage, d) in stages
                .iter_mut()
                .zip([t1 - t0, t2 - t1, t3 - t2, t4 - t3, t4 - t0])
            {
                stage.push(d);
            }
        }
        let [parse, compile, wasmtime, instantiate, total] = stages.map(median);
        println!(
            "| {} | {} | {:.1} | {:.1} | {:.2} | {:.1} | {:.2} |",
            l.case.name,
            l.bytes,
            us(parse),
            us(compile),
            ms(wasmtime),
            us(instantiate),
            ms(total)
        );
    }

    // 4. The Python example reward.
    if let Some(built) = built {
        python_reward(&built, &python_dir.0, &figures, py.as_ref(), &values);
    }
    println!("\nload average (1, 5, 15 min) at end: {}", load_average());
}

fn python_version() -> String {
    Command::new("python3")
        .arg("--version")
        .output()
        .ok()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        .filter(|v| !v.is_empty())
        .unwrap_or_else(|| "python3".into())
}

fn python_reward(
    built: &derl::python_reward::BuiltReward,
    dir: &Path,
    figures: &HashMap<(&str, usize), Figures>,
    py: Option<&HashMap<(String, String, usize), PythonFigure>>,
    values: &[f64],
) {
    let bytes = std::fs::read(&built.path).expect("read built component");
    let limits = derl::python_reward::python_limits();
    let config = || SandboxConfig {
        cache_dir: Some(dir.join("cache")),
        ..SandboxConfig::default()
    };

    let first_sandbox = Sandbox::new(config()).expect("sandbox");
    let t0 = Instant::now();
    let component = first_sandbox.load(&bytes).expect("Python reward compiles");
    let t1 = Instant::now();
    let program = RewardProgram::from_component(&first_sandbox, component, limits.clone())
        .expect("Python reward instantiates");
    let t2 = Instant::now();

    let second_sandbox = Sandbox::new(config()).expect("sandbox");
    let t3 = Instant::now();
    let component = second_sandbox
        .load(&bytes)
        .expect("Python reward from the cache");
    let t4 = Instant::now();
    let again = RewardProgram::from_component(&second_sandbox, component, limits.clone())
        .expect("Python reward instantiates");
    let t5 = Instant::now();
    std::hint::black_box(again);

    println!(
        "\n## The Python example reward (`plugins/python-reward/reward.py`, componentize-py, `python_limits()`)\n"
    );
    println!(
        "Component: {:.1} MB, built in {:.1} s.\n",
        built.size as f64 / 1e6,
        built.seconds
    );
    println!("| load | `Sandbox::load`, ms | instantiate + `describe`, ms | total, ms |");
    println!("|---|---|---|---|");
    println!(
        "| first (wasmtime compile, writes the disk cache) | {:.0} | {:.1} | {:.0} |",
        ms(t1 - t0),
        ms(t2 - t1),
        ms(t2 - t0)
    );
    println!(
        "| second (fresh sandbox, from the disk cache) | {:.0} | {:.1} | {:.0} |",
        ms(t4 - t3),
        ms(t5 - t4),
        ms(t5 - t3)
    );

    let empty = per_call(|| {
        std::hint::black_box(program.score(STRIDE, &[]).expect("empty batch"));
    });
    println!(
        "\n| episodes | Python component, fresh instance, ms | same `reward.py` in native CPython, ms | compiled P2, ms | compiled P3, ms | Python component / compiled P3 |"
    );
    println!("|---|---|---|---|---|---|");
    for rows in BATCHES {
        let batch = &values[..rows * STRIDE];
        let scores = program.score(STRIDE, batch).expect("Python reward scores");
        let time = per_call(|| {
            std::hint::black_box(program.score(STRIDE, batch).expect("scores"));
        });
        let native_cpython = py
            .and_then(|py| py.get(&("reward_module".to_owned(), "reward-module".to_owned(), rows)));
        if let Some(n) = native_cpython {
            let (a, b) = (checksum(&scores), n.checksum());
            assert!(
                (a - b).abs() <= 1e-9 * a.abs().max(1.0),
                "{rows} rows: the Python component sums to {a}, native CPython to {b}"
            );
        }
        let compiled = |name: &str| figures[&(name, rows)].compiled;
        println!(
            "| {rows} | {:.2} | {} | {:.3} | {:.3} | {:.0}x |",
            ms(time),
            native_cpython.map_or("-".into(), |n| format!("{:.2}", n.seconds_per_batch * 1e3)),
            ms(compiled("P2")),
            ms(compiled("P3")),
            time.as_secs_f64() / compiled("P3").as_secs_f64()
        );
    }
    let faults = faults_per_call(|| {
        std::hint::black_box(program.score(STRIDE, &[]).expect("empty batch"));
    });
    println!(
        "\nFixed cost of a fresh-instance call of the Python component (empty batch): {:.2} ms, {faults:.0} minor page faults.",
        ms(empty)
    );
}
