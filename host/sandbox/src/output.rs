//! Bounded capture of a guest's stdout and stderr.

use wasmtime_wasi::p2::pipe::MemoryOutputPipe;

/// What an instance wrote to stdout and stderr (each at most
/// `Limits::output_bytes`), decoded lossily as UTF-8.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CapturedOutput {
    /// Captured standard output.
    pub stdout: String,
    /// Captured standard error.
    pub stderr: String,
}

/// The two pipes handed to WASI; clones share the buffers.
#[derive(Clone)]
pub(crate) struct OutputPipes {
    stdout: MemoryOutputPipe,
    stderr: MemoryOutputPipe,
}

impl OutputPipes {
    pub(crate) fn new(capacity: usize) -> Self {
        OutputPipes {
            stdout: MemoryOutputPipe::new(capacity),
            stderr: MemoryOutputPipe::new(capacity),
        }
    }

    pub(crate) fn stdout(&self) -> MemoryOutputPipe {
        self.stdout.clone()
    }

    pub(crate) fn stderr(&self) -> MemoryOutputPipe {
        self.stderr.clone()
    }

    /// Whether stdout or stderr reached `capacity` (further writes fail).
    pub(crate) fn is_full(&self, capacity: usize) -> bool {
        self.stdout.contents().len() >= capacity || self.stderr.contents().len() >= capacity
    }

    pub(crate) fn captured(&self) -> CapturedOutput {
        CapturedOutput {
            stdout: String::from_utf8_lossy(&self.stdout.contents()).into_owned(),
            stderr: String::from_utf8_lossy(&self.stderr.contents()).into_owned(),
        }
    }
}
