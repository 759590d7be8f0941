//! Python reward programs: builds a Python module into a component of the
//! `derl:plugin/reward-program` world with componentize-py.
//!
//! # The convention
//!
//! A Python reward is one `.py` file whose name is a Python identifier. It
//! defines `reward`, which scores one episode from its primitive values (in
//! the environment's declaration order: `g1` is `primitives[0]`), and may
//! define `DESCRIPTION` and `MIN_STRIDE`:
//!
//! ```python
//! DESCRIPTION = "success plus half the progress"  # default: the module docstring
//! MIN_STRIDE = 2  # one more than the highest index read; default 0
//!
//! def reward(primitives: list[float]) -> float:
//!     return primitives[0] + 0.5 * primitives[1]
//! ```
//!
//! derl generates the adapter module ([`adapter_source`]) that exports the
//! `reward` interface: `score` calls `reward` once per row, and an exception
//! raised by `reward` (or a result `float()` refuses) becomes the program's
//! own error, `episode N: ExceptionType: message`, which the host reports as
//! [`PluginErrorKind::Guest`](derl_sandbox::PluginErrorKind::Guest). A NaN or
//! infinite result is refused by the host as invalid output.
//!
//! Top-level code runs once, at build time, inside componentize-py's
//! pre-initialiser, and its state is snapshotted into the component: keep it
//! to imports and constants. Modules in the file's directory can be imported;
//! of the standard library, what CPython for WASI provides (no sockets, no
//! threads, no subprocesses). Builds are not byte-reproducible (the snapshot
//! of CPython's heap differs from build to build), so the component's sha256
//! identifies the built artefact, not the source: keep the component.
//!
//! # Cost
//!
//! A component embeds CPython and is about 18 MB; compiling it takes seconds,
//! so give the sandbox a `cache_dir` to compile it once. Python rewards need
//! more memory and fuel than compiled Meta-Rewards: run them under
//! [`python_limits`].

use derl_sandbox::{Digest, Limits};
use std::ffi::OsString;
use std::fmt;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// Environment variable naming the componentize-py executable to use
/// instead of the one in the project's virtual environment.
pub const TOOL_ENV: &str = "DERL_COMPONENTIZE_PY";

/// The one command that installs componentize-py (from the repository root).
pub const SETUP_COMMAND: &str = "bash scripts/setup-python.sh";

/// The virtual environment `scripts/setup-python.sh` creates, relative to
/// the repository root.
pub const VENV_DIR: &str = ".venv-componentize";

/// Name of the generated adapter module; user modules may not take it.
pub const ADAPTER_MODULE: &str = "derl_reward_adapter";

/// How long a build may take before the tool is stopped. Top-level code of
/// the module runs during the build, so a module that loops at import time
/// would otherwise hang it.
pub const DEFAULT_BUILD_TIMEOUT: Duration = Duration::from_secs(300);

/// Most bytes of the tool's output kept for an error message (the tail).
const KEPT_OUTPUT_BYTES: usize = 16 << 10;

/// Module names the generated bindings, componentize-py's runtime or the
/// adapter already use.
const RESERVED_MODULES: [&str; 6] = [
    ADAPTER_MODULE,
    "wit_world",
    "componentize_py_types",
    "componentize_py_runtime",
    "componentize_py_async_support",
    "poll_loop",
];

const PYTHON_KEYWORDS: [&str; 35] = [
    "False", "None", "True", "and", "as", "assert", "async", "await", "break", "class", "continue",
    "def", "del", "elif", "else", "except", "finally", "for", "from", "global", "if", "import",
    "in", "is", "lambda", "nonlocal", "not", "or", "pass", "raise", "return", "try", "while",
    "with", "yield",
];

const TYPES_WIT: &str = include_str!("../../wit/v0.3.0/types.wit");
const TEXT_WIT: &str = include_str!("../../wit/v0.3.0/text.wit");
const WORLDS_WIT: &str = include_str!("../../wit/v0.3.0/worlds.wit");

/// Limits for Python reward programs. CPython needs more than the defaults
/// made for compiled Meta-Rewards: its pre-initialised heap is about 25 MiB
/// before the first call, and interpreting costs roughly 50 times the fuel
/// of compiled code. Memory: 256 MiB; fuel: 20 billion (a few seconds of
/// interpretation, enough for batches of tens of thousands of episodes);
/// deadline: 10 s. Everything else as [`Limits::default`].
pub fn python_limits() -> Limits {
    Limits {
        fuel_per_call: 20_000_000_000,
        deadline_ms: 10_000,
        memory_bytes: 256 << 20,
        ..Limits::default()
    }
}

/// A built Python reward component.
#[derive(Clone, Debug, PartialEq)]
pub struct BuiltReward {
    /// Where the component was written.
    pub path: PathBuf,
    /// Its size in bytes.
    pub size: usize,
    /// Its sha256.
    pub digest: Digest,
    /// Wall-clock seconds the build took.
    pub seconds: f64,
}

/// How to build: which tool and how long it may run.
#[derive(Clone, Debug)]
pub struct BuildOptions {
    /// The componentize-py executable; `None` finds it with
    /// [`locate_componentize_py`].
    pub tool: Option<PathBuf>,
    /// The tool is stopped after this long.
    pub timeout: Duration,
}

impl Default for BuildOptions {
    fn default() -> Self {
        BuildOptions {
            tool: None,
            timeout: DEFAULT_BUILD_TIMEOUT,
        }
    }
}

/// Why a Python reward could not be built.
#[derive(Debug)]
pub enum BuildError {
    /// componentize-py is not installed where derl looks for it.
    ToolMissing {
        /// The paths looked at, in order.
        searched: Vec<PathBuf>,
    },
    /// [`TOOL_ENV`] names a file that does not exist.
    ToolOverrideMissing {
        /// The path the variable holds.
        path: PathBuf,
    },
    /// The source path cannot name a Python module.
    InvalidModule {
        /// The path given.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// A file operation failed.
    Io {
        /// What was being done, e.g. "cannot read reward.py".
        action: String,
        /// The underlying error.
        error: std::io::Error,
    },
    /// componentize-py exited with an error (a syntax error, an exception at
    /// import time, a module without `reward`...).
    ToolFailed {
        /// The tool's exit status.
        status: ExitStatus,
        /// The tail of what it printed (stderr, then stdout).
        output: String,
    },
    /// componentize-py ran past the timeout and was stopped.
    TimedOut {
        /// The timeout.
        timeout: Duration,
        /// The tail of what it printed.
        output: String,
    },
}

impl fmt::Display for BuildError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BuildError::ToolMissing { searched } => {
                let searched: Vec<String> =
                    searched.iter().map(|p| p.display().to_string()).collect();
                write!(
                    f,
                    "componentize-py is not installed (looked for {}); to install it, run `{SETUP_COMMAND}` in the derl repository, or set {TOOL_ENV} to a componentize-py executable",
                    searched.join(", ")
                )
            }
            BuildError::ToolOverrideMissing { path } => write!(
                f,
                "{TOOL_ENV} is set to {}, which does not exist; unset it to use the project's venv (run `{SETUP_COMMAND}` to install it)",
                path.display()
            ),
            BuildError::InvalidModule { path, reason } => {
                write!(f, "{} cannot be a Python reward: {reason}", path.display())
            }
            BuildError::Io { action, error } => write!(f, "{action}: {error}"),
            BuildError::ToolFailed { status, output } => {
                write!(
                    f,
                    "componentize-py failed ({status}):\n{}",
                    output.trim_end()
                )
            }
            BuildError::TimedOut { timeout, output } => write!(
                f,
                "componentize-py did not finish within {} s and was stopped (does the module's top-level code loop?)\n{}",
                timeout.as_secs(),
                output.trim_end()
            ),
        }
    }
}

impl std::error::Error for BuildError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            BuildError::Io { error, .. } => Some(error),
            _ => None,
        }
    }
}

/// Builds the Python reward module `source` into a reward component at
/// `out`, with the componentize-py that [`locate_componentize_py`] finds.
///
/// # Errors
/// See [`BuildError`]; when componentize-py is missing the message says to
/// run `bash scripts/setup-python.sh`.
pub fn build(source: &Path, out: &Path) -> Result<BuiltReward, BuildError> {
    build_with(source, out, &BuildOptions::default())
}

/// [`build`] with explicit options.
///
/// # Errors
/// As [`build`].
pub fn build_with(
    source: &Path,
    out: &Path,
    options: &BuildOptions,
) -> Result<BuiltReward, BuildError> {
    let started = Instant::now();
    let module = module_name(source)?;
    let source = std::path::absolute(source).map_err(|error| BuildError::Io {
        action: format!("cannot resolve {}", source.display()),
        error,
    })?;
    if !source.is_file() {
        return Err(BuildError::InvalidModule {
            path: source,
            reason: "no such file".into(),
        });
    }
    let module_dir = source.parent().expect("an absolute file path has a parent");
    let tool = match &options.tool {
        Some(tool) => tool.clone(),
        None => locate_componentize_py()?,
    };

    let staging = StagingDir::create()?;
    let wit_dir = staging.path().join("wit");
    let adapter_dir = staging.path().join("adapter");
    let component = staging.path().join("reward.wasm");
    write(&wit_dir.join("types.wit"), TYPES_WIT)?;
    write(&wit_dir.join("text.wit"), TEXT_WIT)?;
    write(&wit_dir.join("worlds.wit"), WORLDS_WIT)?;
    write(
        &adapter_dir.join(format!("{ADAPTER_MODULE}.py")),
        &adapter_source(&module),
    )?;

    let args: Vec<OsString> = vec![
        "-d".into(),
        wit_dir.into(),
        "-w".into(),
        "reward-program".into(),
        "componentize".into(),
        ADAPTER_MODULE.into(),
        "-p".into(),
        module_dir.into(),
        "-p".into(),
        adapter_dir.into(),
        "-o".into(),
        component.clone().into(),
    ];
    run_tool(&tool, &args, staging.path(), options.timeout)?;

    let bytes = std::fs::read(&component).map_err(|error| BuildError::Io {
        action: "componentize-py reported success but wrote no component".into(),
        error,
    })?;
    std::fs::write(out, &bytes).map_err(|error| BuildError::Io {
        action: format!("cannot write {}", out.display()),
        error,
    })?;
    Ok(BuiltReward {
        path: out.to_path_buf(),
        size: bytes.len(),
        digest: Digest::of(&bytes),
        seconds: started.elapsed().as_secs_f64(),
    })
}

/// Finds componentize-py: the path in [`TOOL_ENV`] when set, else the
/// project's venv ([`VENV_DIR`]) under the current directory, else under the
/// repository this binary was built from.
///
/// # Errors
/// `ToolOverrideMissing` when the variable names nothing; `ToolMissing`
/// (whose message says to run [`SETUP_COMMAND`]) when no venv has it.
pub fn locate_componentize_py() -> Result<PathBuf, BuildError> {
    let repository = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let candidates = [PathBuf::from("."), repository]
        .iter()
        .map(|root| venv_tool(root))
        .collect::<Vec<_>>();
    locate_in(std::env::var_os(TOOL_ENV), &candidates)
}

/// The componentize-py executable inside the venv under `root`.
fn venv_tool(root: &Path) -> PathBuf {
    if cfg!(windows) {
        root.join(VENV_DIR)
            .join("Scripts")
            .join("componentize-py.exe")
    } else {
        root.join(VENV_DIR).join("bin").join("componentize-py")
    }
}

/// The override when given (it must exist), else the first existing
/// candidate; made absolute, because the build runs the tool from a scratch
/// directory where a relative `./.venv-componentize/...` would not resolve.
fn locate_in(
    override_path: Option<OsString>,
    candidates: &[PathBuf],
) -> Result<PathBuf, BuildError> {
    let absolute = |path: &Path| std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
    if let Some(path) = override_path.filter(|p| !p.is_empty()) {
        let path = PathBuf::from(path);
        return if path.is_file() {
            Ok(absolute(&path))
        } else {
            Err(BuildError::ToolOverrideMissing { path })
        };
    }
    candidates
        .iter()
        .find(|c| c.is_file())
        .map(|c| absolute(c))
        .ok_or_else(|| BuildError::ToolMissing {
            searched: candidates.to_vec(),
        })
}

/// The Python module name of `source`: its file stem, which must be an
/// identifier that is neither a keyword nor reserved by the bindings.
///
/// # Errors
/// `InvalidModule`, saying why.
pub fn module_name(source: &Path) -> Result<String, BuildError> {
    let invalid = |reason: String| BuildError::InvalidModule {
        path: source.to_path_buf(),
        reason,
    };
    if source.extension().and_then(|e| e.to_str()) != Some("py") {
        return Err(invalid("the file name must end in `.py`".into()));
    }
    let stem = source
        .file_stem()
        .and_then(|s| s.to_str())
        .ok_or_else(|| invalid("the file name is not valid text".into()))?;
    let mut chars = stem.chars();
    let is_identifier = chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_');
    if !is_identifier {
        return Err(invalid(format!(
            "`{stem}` is not a Python module name (letters, digits and `_`, not starting with a digit)"
        )));
    }
    if PYTHON_KEYWORDS.contains(&stem) {
        return Err(invalid(format!("`{stem}` is a Python keyword")));
    }
    if RESERVED_MODULES.contains(&stem) {
        return Err(invalid(format!(
            "the module name `{stem}` is used by the generated bindings; rename the file"
        )));
    }
    Ok(stem.to_owned())
}

/// The Python adapter that exports the `reward` interface for the user
/// module `module` (see the module docs for the convention it implements).
/// It checks the module at build time, so a module without `reward` or
/// with a malformed `DESCRIPTION` or `MIN_STRIDE` fails to build.
pub fn adapter_source(module: &str) -> String {
    ADAPTER_TEMPLATE.replace("{module}", module)
}

const ADAPTER_TEMPLATE: &str = r#""""Generated by derl: exports the reward module `{module}` as the
derl:plugin/reward interface. Do not edit; edit {module}.py instead."""

import {module} as _user
from componentize_py_types import Err
from wit_world import exports
from wit_world.imports.types import Batch, RewardInfo


def _read_module():
    reward = getattr(_user, "reward", None)
    if not callable(reward):
        raise TypeError("{module}.py must define a function `reward(primitives) -> float`")
    description = getattr(_user, "DESCRIPTION", None)
    if description is None:
        description = (_user.__doc__ or "").strip() or "Python reward `{module}`"
    if not isinstance(description, str):
        raise TypeError("{module}.DESCRIPTION must be a str")
    min_stride = getattr(_user, "MIN_STRIDE", 0)
    if isinstance(min_stride, bool) or not isinstance(min_stride, int) or not 0 <= min_stride < 2**32:
        raise TypeError("{module}.MIN_STRIDE must be an int from 0 to 2**32 - 1")
    return reward, RewardInfo(description=description, min_stride=min_stride)


_reward, _info = _read_module()


class Reward(exports.Reward):
    def score(self, batch: Batch) -> list[float]:
        stride, values = batch.stride, batch.values
        if stride == 0:
            return []
        scores = []
        for episode, start in enumerate(range(0, len(values), stride)):
            try:
                scores.append(float(_reward(values[start:start + stride])))
            except Exception as error:
                raise Err(f"episode {episode}: {type(error).__name__}: {error}") from None
        return scores

    def describe(self) -> RewardInfo:
        return _info
"#;

fn write(path: &Path, text: &str) -> Result<(), BuildError> {
    let io = |error| BuildError::Io {
        action: format!("cannot write {}", path.display()),
        error,
    };
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).map_err(io)?;
    }
    std::fs::write(path, text).map_err(io)
}

/// Runs `tool` with `args` in `cwd`, stopping it after `timeout`.
fn run_tool(
    tool: &Path,
    args: &[OsString],
    cwd: &Path,
    timeout: Duration,
) -> Result<(), BuildError> {
    let mut child = Command::new(tool)
        .args(args)
        .current_dir(cwd)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|error| BuildError::Io {
            action: format!("cannot run {}", tool.display()),
            error,
        })?;
    let stdout = drain(child.stdout.take());
    let stderr = drain(child.stderr.take());
    let deadline = Instant::now() + timeout;
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break Some(status),
            Ok(None) if Instant::now() >= deadline => {
                let _ = child.kill();
                let _ = child.wait();
                break None;
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(20)),
            Err(error) => {
                let _ = child.kill();
                return Err(BuildError::Io {
                    action: format!("cannot wait for {}", tool.display()),
                    error,
                });
            }
        }
    };
    let output = [stderr, stdout]
        .into_iter()
        .map(|reader| reader.join().unwrap_or_default())
        .filter(|text| !text.trim().is_empty())
        .collect::<Vec<_>>()
        .join("\n");
    let output = tail(&output, KEPT_OUTPUT_BYTES);
    match status {
        Some(status) if status.success() => Ok(()),
        Some(status) => Err(BuildError::ToolFailed { status, output }),
        None => Err(BuildError::TimedOut { timeout, output }),
    }
}

/// Reads a child's pipe to the end on its own thread.
fn drain(pipe: Option<impl Read + Send + 'static>) -> std::thread::JoinHandle<String> {
    std::thread::spawn(move || {
        let mut bytes = Vec::new();
        if let Some(mut pipe) = pipe {
            let _ = pipe.read_to_end(&mut bytes);
        }
        String::from_utf8_lossy(&bytes).into_owned()
    })
}

/// The last `max` bytes of `text` (on a character boundary), marked as cut.
fn tail(text: &str, max: usize) -> String {
    if text.len() <= max {
        return text.to_owned();
    }
    let mut start = text.len() - max;
    while !text.is_char_boundary(start) {
        start += 1;
    }
    format!("[... earlier output cut ...]\n{}", &text[start..])
}

/// A fresh directory under the system temp dir, removed on drop.
struct StagingDir(PathBuf);

impl StagingDir {
    fn create() -> Result<StagingDir, BuildError> {
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        let base = std::env::temp_dir();
        loop {
            let n = COUNTER.fetch_add(1, Ordering::Relaxed);
            let path = base.join(format!(
                "derl-python-reward-{}-{nanos:x}-{n}",
                std::process::id()
            ));
            match std::fs::create_dir(&path) {
                Ok(()) => return Ok(StagingDir(path)),
                Err(error) if error.kind() == std::io::ErrorKind::AlreadyExists => continue,
                Err(error) => {
                    return Err(BuildError::Io {
                        action: format!("cannot create {}", path.display()),
                        error,
                    });
                }
            }
        }
    }

    fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for StagingDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn module_names_must_be_python_identifiers() {
        assert_eq!(
            module_name(Path::new("rewards/shaped_v2.py")).unwrap(),
            "shaped_v2"
        );
        for (path, reason) in [
            ("reward.txt", "must end in `.py`"),
            ("reward", "must end in `.py`"),
            ("2nd.py", "not a Python module name"),
            ("my-reward.py", "not a Python module name"),
            ("lambda.py", "Python keyword"),
            ("wit_world.py", "used by the generated bindings"),
            ("derl_reward_adapter.py", "used by the generated bindings"),
        ] {
            let message = module_name(Path::new(path)).unwrap_err().to_string();
            assert!(message.contains(reason), "{path}: {message}");
            assert!(message.starts_with(path), "{path}: {message}");
        }
    }

    #[test]
    fn a_missing_tool_names_the_setup_command() {
        let missing = std::env::temp_dir().join("derl-no-such-venv/bin/componentize-py");
        let message = locate_in(None, std::slice::from_ref(&missing))
            .unwrap_err()
            .to_string();
        assert!(
            message.contains("run `bash scripts/setup-python.sh`"),
            "{message}"
        );
        assert!(
            message.contains(&missing.display().to_string()),
            "{message}"
        );
    }

    #[test]
    fn the_override_wins_and_must_exist() {
        let existing = std::env::current_exe().unwrap();
        let found = locate_in(Some(existing.clone().into()), &[]).unwrap();
        assert_eq!(found, existing);
        let absent = std::env::temp_dir().join("derl-no-such-tool");
        let message = locate_in(Some(absent.into()), std::slice::from_ref(&existing))
            .unwrap_err()
            .to_string();
        assert!(message.contains(TOOL_ENV), "{message}");
        assert_eq!(
            locate_in(Some(OsString::new()), std::slice::from_ref(&existing)).unwrap(),
            existing
        );
    }

    #[cfg(unix)]
    #[test]
    fn a_relative_tool_path_is_made_absolute() {
        // The build runs the tool from a scratch directory: `./.venv-componentize/...`
        // found from the repository root must not be handed over relative.
        let exe = std::env::current_exe().unwrap();
        // `../../..` up to the root, then down to the executable: relative to the cwd.
        let cwd = std::env::current_dir().unwrap();
        let mut relative: PathBuf = cwd
            .components()
            .filter(|c| matches!(c, std::path::Component::Normal(_)))
            .map(|_| "..")
            .collect();
        relative.push(exe.strip_prefix("/").unwrap());
        assert!(relative.is_relative() && relative.is_file());
        let found = locate_in(None, std::slice::from_ref(&relative)).unwrap();
        assert!(found.is_absolute(), "{}", found.display());
        assert!(found.is_file() && found.ends_with(exe.file_name().unwrap()));
        let overridden = locate_in(Some(relative.clone().into_os_string()), &[]).unwrap();
        assert_eq!(overridden, found);
    }

    #[test]
    fn the_adapter_imports_the_user_module_and_exports_reward() {
        let adapter = adapter_source("shaped");
        assert!(adapter.contains("import shaped as _user"));
        assert!(adapter.contains("class Reward(exports.Reward):"));
        assert!(adapter.contains("shaped.py must define"));
        assert!(!adapter.contains("{module}"));
    }

    #[test]
    fn the_embedded_wit_defines_the_reward_world() {
        assert!(WORLDS_WIT.contains("world reward-program"));
        assert!(TYPES_WIT.contains("interface reward"));
    }

    #[cfg(unix)]
    #[test]
    fn a_failing_tool_reports_its_output() {
        let staging = StagingDir::create().unwrap();
        let script = staging.path().join("fails.sh");
        std::fs::write(
            &script,
            "echo 'NameError: name x is not defined' >&2; exit 3",
        )
        .unwrap();
        let error = run_tool(
            Path::new("sh"),
            &[script.into()],
            staging.path(),
            Duration::from_secs(30),
        )
        .unwrap_err();
        match error {
            BuildError::ToolFailed { status, output } => {
                assert_eq!(status.code(), Some(3));
                assert!(output.contains("NameError"), "{output}");
            }
            other => panic!("expected ToolFailed, got {other}"),
        }
    }

    #[cfg(unix)]
    #[test]
    fn a_tool_past_the_timeout_is_stopped() {
        let staging = StagingDir::create().unwrap();
        let started = Instant::now();
        let error = run_tool(
            Path::new("sleep"),
            &["30".into()],
            staging.path(),
            Duration::from_millis(200),
        )
        .unwrap_err();
        assert!(matches!(error, BuildError::TimedOut { .. }), "{error}");
        assert!(started.elapsed() < Duration::from_secs(10));
    }

    #[test]
    fn the_staging_dir_is_removed_on_drop() {
        let staging = StagingDir::create().unwrap();
        let path = staging.path().to_path_buf();
        std::fs::write(path.join("file"), "x").unwrap();
        drop(staging);
        assert!(!path.exists());
    }

    #[test]
    fn tails_keep_the_end_on_a_char_boundary() {
        assert_eq!(tail("short", 10), "short");
        let cut = tail("ééééé", 3);
        assert!(cut.ends_with("é"), "{cut}");
        assert!(cut.starts_with("[... earlier output cut ...]"));
    }
}
