//! derl's typed failures as Python exceptions: one class per sandbox error
//! kind, all under `derl.DerlError`, so a caller catches exactly the failure
//! it expects (`except derl.FuelExhausted`) and never mistakes one for a 0.

use derl_sandbox::{PluginError, PluginErrorKind};
use pyo3::exceptions::{PyException, PyValueError};
use pyo3::prelude::*;
use pyo3::{PyErr, create_exception};

create_exception!(
    _derl,
    DerlError,
    PyException,
    "Base class of every derl failure. `kind` is the failure's stable name (`fuel-exhausted`, `trap`, ...)."
);
create_exception!(
    _derl,
    FuelExhausted,
    DerlError,
    "A sandboxed call used up its fuel (its deterministic instruction budget)."
);
create_exception!(
    _derl,
    Deadline,
    DerlError,
    "A sandboxed call ran past its wall-clock deadline."
);
create_exception!(
    _derl,
    MemoryLimit,
    DerlError,
    "A sandboxed call tried to grow its memory beyond the cap."
);
create_exception!(
    _derl,
    StackOverflow,
    DerlError,
    "A sandboxed call exhausted its stack (unbounded recursion)."
);
create_exception!(
    _derl,
    OutputLimit,
    DerlError,
    "A sandboxed call wrote more than the captured output limit."
);
create_exception!(
    _derl,
    Trap,
    DerlError,
    "A sandboxed call trapped (a panic, unreachable code, an out-of-bounds access)."
);
create_exception!(
    _derl,
    GuestError,
    DerlError,
    "The component returned an error of its own (a Python reward's exception, an extractor's complaint)."
);
create_exception!(
    _derl,
    InvalidOutput,
    DerlError,
    "The component returned what the contract forbids: NaN, infinity, a value outside its range, the wrong number of values."
);
create_exception!(
    _derl,
    OverBudget,
    DerlError,
    "Input or output beyond what the host accepts (a sample's bytes, a batch's samples, an observation's text)."
);
create_exception!(
    _derl,
    TimeBudget,
    DerlError,
    "A component's calls together took longer than the budget of an episode or a job."
);
create_exception!(
    _derl,
    InterfaceMismatch,
    DerlError,
    "The component does not implement the expected world (an environment given as an extractor, say)."
);
create_exception!(
    _derl,
    NotAComponent,
    DerlError,
    "The bytes are not a WebAssembly component."
);
create_exception!(
    _derl,
    UnsupportedImport,
    DerlError,
    "The component imports something the sandbox does not provide."
);
create_exception!(
    _derl,
    InvalidProgram,
    DerlError,
    "A Meta-Reward program that does not parse or reads primitives that do not exist."
);
create_exception!(
    _derl,
    BuildError,
    DerlError,
    "A Python reward could not be compiled into a component (componentize-py missing, a syntax error, a timeout)."
);
create_exception!(
    _derl,
    HostError,
    DerlError,
    "derl itself failed (the engine, a file): not the component's fault."
);

/// Registers every exception class on the module.
pub fn register(module: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = module.py();
    module.add("DerlError", py.get_type::<DerlError>())?;
    module.add("FuelExhausted", py.get_type::<FuelExhausted>())?;
    module.add("Deadline", py.get_type::<Deadline>())?;
    module.add("MemoryLimit", py.get_type::<MemoryLimit>())?;
    module.add("StackOverflow", py.get_type::<StackOverflow>())?;
    module.add("OutputLimit", py.get_type::<OutputLimit>())?;
    module.add("Trap", py.get_type::<Trap>())?;
    module.add("GuestError", py.get_type::<GuestError>())?;
    module.add("InvalidOutput", py.get_type::<InvalidOutput>())?;
    module.add("OverBudget", py.get_type::<OverBudget>())?;
    module.add("TimeBudget", py.get_type::<TimeBudget>())?;
    module.add("InterfaceMismatch", py.get_type::<InterfaceMismatch>())?;
    module.add("NotAComponent", py.get_type::<NotAComponent>())?;
    module.add("UnsupportedImport", py.get_type::<UnsupportedImport>())?;
    module.add("InvalidProgram", py.get_type::<InvalidProgram>())?;
    module.add("BuildError", py.get_type::<BuildError>())?;
    module.add("HostError", py.get_type::<HostError>())?;
    Ok(())
}

/// The Python exception for a sandbox failure, its message the error's own
/// (which names the component and what happened), with `kind` set.
pub fn plugin_error(error: &PluginError) -> PyErr {
    let message = error.to_string();
    let err = match &error.kind {
        PluginErrorKind::NotAComponent(_) => NotAComponent::new_err(message),
        PluginErrorKind::UnsupportedImport(_) => UnsupportedImport::new_err(message),
        PluginErrorKind::InterfaceMismatch(_) => InterfaceMismatch::new_err(message),
        PluginErrorKind::FuelExhausted { .. } => FuelExhausted::new_err(message),
        PluginErrorKind::Deadline { .. } => Deadline::new_err(message),
        PluginErrorKind::MemoryLimit { .. } => MemoryLimit::new_err(message),
        PluginErrorKind::StackOverflow => StackOverflow::new_err(message),
        PluginErrorKind::OutputLimit { .. } => OutputLimit::new_err(message),
        PluginErrorKind::Trap { .. } => Trap::new_err(message),
        PluginErrorKind::Guest(_) => GuestError::new_err(message),
        PluginErrorKind::InvalidOutput(_) => InvalidOutput::new_err(message),
        PluginErrorKind::OverBudget { .. } => OverBudget::new_err(message),
        PluginErrorKind::TimeBudget { .. } => TimeBudget::new_err(message),
        PluginErrorKind::Host(_) => HostError::new_err(message),
    };
    Python::attach(|py| {
        let _ = err.value(py).setattr("kind", error.kind.name());
    });
    err
}

/// The Python exception for any failure of the host library: a sandbox
/// failure anywhere in its chain keeps its class; an invalid program is
/// `InvalidProgram`; the rest is `HostError`.
pub fn anyhow_error(error: &anyhow::Error) -> PyErr {
    if let Some(plugin) = error.chain().find_map(|e| e.downcast_ref::<PluginError>()) {
        let err = plugin_error(plugin);
        return with_context(err, error);
    }
    if let Some(job) = error.downcast_ref::<derl::inner::JobError>() {
        return job_error(job);
    }
    HostError::new_err(format!("{error:#}"))
}

/// The Python exception for a job error (a reward that fails to load).
pub fn job_error(error: &derl::inner::JobError) -> PyErr {
    match error {
        derl::inner::JobError::InvalidProgram(message) => {
            InvalidProgram::new_err(format!("invalid program: {message}"))
        }
        derl::inner::JobError::Reward(plugin) => plugin_error(plugin),
        derl::inner::JobError::Failed(other) => anyhow_error(other),
    }
}

/// `err` with the outer context of `error` in front of its message.
fn with_context(err: PyErr, error: &anyhow::Error) -> PyErr {
    let full = format!("{error:#}");
    Python::attach(|py| {
        let value = err.value(py);
        let _ = value.setattr("args", (full,));
    });
    err
}

/// A `ValueError` naming the argument that is wrong.
pub fn bad_argument(message: String) -> PyErr {
    PyValueError::new_err(message)
}
