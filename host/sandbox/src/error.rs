//! Typed failures of guest components, and the one function that names them.

use crate::printable::{SHOWN_BYTES, printable, printable_line};
use std::fmt;
use wasmtime::Trap;

/// How much of a plugin's name an error message shows, in bytes.
const NAME_SHOWN_BYTES: usize = 128;

/// What went wrong, without the plugin's identity (see [`PluginError`]).
#[derive(Clone, Debug, PartialEq)]
pub enum PluginErrorKind {
    /// The bytes are not a WebAssembly component (a core module, garbage, or
    /// a component wasmtime cannot compile).
    NotAComponent(String),
    /// The component imports something the sandbox does not provide.
    UnsupportedImport(String),
    /// The component does not export the expected interface, or exports it
    /// with the wrong types.
    InterfaceMismatch(String),
    /// The call used up its fuel budget.
    FuelExhausted {
        /// The budget the call had.
        budget: u64,
    },
    /// The call ran past its wall-clock deadline.
    Deadline {
        /// The deadline, in milliseconds.
        millis: u64,
    },
    /// The guest tried to grow its memory beyond the cap.
    MemoryLimit {
        /// The cap, in bytes.
        cap: usize,
        /// The size the guest asked for, in bytes.
        requested: usize,
    },
    /// The guest exhausted the wasm stack (unbounded recursion).
    StackOverflow,
    /// The guest wrote more than the captured output limit to stdout or stderr.
    OutputLimit {
        /// The limit, in bytes.
        cap: usize,
    },
    /// The guest trapped (panic, unreachable, out-of-bounds access...).
    Trap {
        /// What trapped, in words.
        message: String,
        /// The wasm backtrace, when wasmtime captured one.
        backtrace: Option<String>,
    },
    /// The guest returned an error of its own (`err(...)` in the WIT).
    Guest(String),
    /// The guest returned something the contract forbids (NaN, infinity, the
    /// wrong number of values...).
    InvalidOutput(String),
    /// The guest handed the host more than the host accepts from a guest
    /// (observation text, actions, features, names...), whatever the guest's
    /// own limits allowed it to build.
    OverBudget {
        /// What was too large (`observation text bytes`, `admissible actions`).
        what: String,
        /// The most the host accepts.
        limit: u64,
        /// What the guest handed over.
        actual: u64,
    },
    /// The guest's calls together took longer than the wall-clock budget of
    /// a larger unit of work (an episode, a job), each call within its own
    /// deadline.
    TimeBudget {
        /// The unit the budget covers (`episode`, `job`).
        scope: String,
        /// The budget, in milliseconds.
        limit_ms: u64,
        /// The guest time spent when the host stopped it, in milliseconds.
        spent_ms: u64,
    },
    /// The host itself failed (e.g. the engine could not be created).
    Host(String),
}

impl PluginErrorKind {
    /// A short stable name for the kind (for metrics and logs).
    pub fn name(&self) -> &'static str {
        match self {
            PluginErrorKind::NotAComponent(_) => "not-a-component",
            PluginErrorKind::UnsupportedImport(_) => "unsupported-import",
            PluginErrorKind::InterfaceMismatch(_) => "interface-mismatch",
            PluginErrorKind::FuelExhausted { .. } => "fuel-exhausted",
            PluginErrorKind::Deadline { .. } => "deadline",
            PluginErrorKind::MemoryLimit { .. } => "memory-limit",
            PluginErrorKind::StackOverflow => "stack-overflow",
            PluginErrorKind::OutputLimit { .. } => "output-limit",
            PluginErrorKind::Trap { .. } => "trap",
            PluginErrorKind::Guest(_) => "guest-error",
            PluginErrorKind::InvalidOutput(_) => "invalid-output",
            PluginErrorKind::OverBudget { .. } => "over-budget",
            PluginErrorKind::TimeBudget { .. } => "time-budget",
            PluginErrorKind::Host(_) => "host",
        }
    }
}

impl fmt::Display for PluginErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PluginErrorKind::NotAComponent(d) => write!(f, "not a WebAssembly component: {d}"),
            PluginErrorKind::UnsupportedImport(d) => {
                write!(f, "imports something the sandbox does not provide: {d}")
            }
            PluginErrorKind::InterfaceMismatch(d) => write!(f, "interface mismatch: {d}"),
            PluginErrorKind::FuelExhausted { budget } => {
                write!(f, "ran out of fuel (budget {budget} per call)")
            }
            PluginErrorKind::Deadline { millis } => {
                write!(f, "exceeded the {millis} ms deadline")
            }
            PluginErrorKind::MemoryLimit { cap, requested } => write!(
                f,
                "tried to grow memory to {requested} bytes, beyond the cap of {cap} bytes"
            ),
            PluginErrorKind::StackOverflow => f.write_str("overflowed the wasm stack"),
            PluginErrorKind::OutputLimit { cap } => {
                write!(f, "wrote more than the {cap}-byte output limit")
            }
            PluginErrorKind::Trap { message, .. } => {
                write!(f, "trapped: {}", printable(message, SHOWN_BYTES))
            }
            PluginErrorKind::Guest(m) => {
                write!(f, "returned an error: {}", printable(m, SHOWN_BYTES))
            }
            PluginErrorKind::InvalidOutput(m) => {
                write!(f, "returned invalid output: {}", printable(m, SHOWN_BYTES))
            }
            PluginErrorKind::OverBudget {
                what,
                limit,
                actual,
            } => write!(
                f,
                "handed the host {actual} {what}, more than the {limit} the host accepts"
            ),
            PluginErrorKind::TimeBudget {
                scope,
                limit_ms,
                spent_ms,
            } => write!(
                f,
                "spent {spent_ms} ms in calls during one {scope}, beyond its {limit_ms} ms budget"
            ),
            PluginErrorKind::Host(m) => write!(f, "host failure: {m}"),
        }
    }
}

/// A failure of one plugin, with the plugin's identity attached.
#[derive(Clone, Debug, PartialEq)]
pub struct PluginError {
    /// Which plugin: its name where known, else its short sha256.
    pub plugin: String,
    /// What went wrong.
    pub kind: PluginErrorKind,
    /// Captured stderr of the failed instance, if any (bounded).
    pub stderr: String,
}

impl PluginError {
    /// A new error for `plugin`.
    pub fn new(plugin: impl Into<String>, kind: PluginErrorKind) -> Self {
        PluginError {
            plugin: plugin.into(),
            kind,
            stderr: String::new(),
        }
    }

    /// Whether the instance that produced this error must be thrown away.
    /// Guest errors and invalid outputs leave the instance usable.
    pub fn poisons_instance(&self) -> bool {
        !matches!(
            self.kind,
            PluginErrorKind::Guest(_) | PluginErrorKind::InvalidOutput(_)
        )
    }
}

impl fmt::Display for PluginError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "plugin `{}` {}",
            printable_line(&self.plugin, NAME_SHOWN_BYTES),
            self.kind
        )?;
        if let PluginErrorKind::Trap {
            backtrace: Some(backtrace),
            ..
        } = &self.kind
        {
            write!(f, "\n{}", printable(backtrace, SHOWN_BYTES))?;
        }
        if !self.stderr.trim().is_empty() {
            write!(
                f,
                "\nstderr:\n{}",
                printable(self.stderr.trim_end(), SHOWN_BYTES)
            )?;
        }
        Ok(())
    }
}

impl std::error::Error for PluginError {}

/// Wrap a typecheck failure of a component's exports in this error (as the
/// error of an instantiate closure) to have it reported as
/// [`PluginErrorKind::InterfaceMismatch`].
#[derive(Debug, Clone)]
pub struct InterfaceError(pub String);

impl fmt::Display for InterfaceError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for InterfaceError {}

/// Raised by the memory limiter; carried through wasmtime as the error of the
/// failing call.
#[derive(Debug, Clone, Copy)]
pub(crate) struct MemoryLimitHit {
    pub(crate) cap: usize,
    pub(crate) requested: usize,
}

impl fmt::Display for MemoryLimitHit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "memory limit of {} bytes exceeded (requested {})",
            self.cap, self.requested
        )
    }
}

impl std::error::Error for MemoryLimitHit {}

/// What the call that failed was given, for messages.
pub(crate) struct CallBudget {
    pub(crate) fuel: u64,
    pub(crate) deadline_ms: u64,
    pub(crate) output_cap: usize,
}

/// Names a wasmtime error from a guest call: the single place where failures
/// get their kinds.
pub(crate) fn classify(error: &wasmtime::Error, budget: &CallBudget) -> PluginErrorKind {
    if let Some(hit) = error.downcast_ref::<MemoryLimitHit>() {
        return PluginErrorKind::MemoryLimit {
            cap: hit.cap,
            requested: hit.requested,
        };
    }
    if let Some(mismatch) = error.downcast_ref::<InterfaceError>() {
        return PluginErrorKind::InterfaceMismatch(mismatch.0.clone());
    }
    if let Some(trap) = error.downcast_ref::<Trap>() {
        match trap {
            Trap::OutOfFuel => {
                return PluginErrorKind::FuelExhausted {
                    budget: budget.fuel,
                };
            }
            Trap::Interrupt => {
                return PluginErrorKind::Deadline {
                    millis: budget.deadline_ms,
                };
            }
            Trap::StackOverflow => return PluginErrorKind::StackOverflow,
            _ => {}
        }
    }
    let chain = format!("{error:#}");
    if chain.contains("write beyond capacity of MemoryOutputPipe") {
        return PluginErrorKind::OutputLimit {
            cap: budget.output_cap,
        };
    }
    let backtrace = error
        .downcast_ref::<wasmtime::WasmBacktrace>()
        .map(|bt| bt.to_string())
        .filter(|bt| !bt.trim().is_empty());
    let message = match error.downcast_ref::<Trap>() {
        Some(trap) => trap.to_string(),
        None => error.root_cause().to_string(),
    };
    PluginErrorKind::Trap { message, backtrace }
}
