//! The Meta-Reward language of DERL (arXiv 2512.13399): a program composing an
//! environment's atomic primitives, e.g. `g1 + 0.5*g2*g3 - 0.1*g4`, parsed
//! here, evaluated natively and compiled to a sandboxed reward component.
//!
//! - [`parse`] turns source text into a [`Program`], resolving primitive names
//!   against the environment's, with precise, caret-rendered [`ParseError`]s
//!   and hard limits on size and nesting (see [`limits`]).
//! - [`Program::normalized`] prints the canonical form (primitives as `gK`,
//!   minimal parentheses) that parses back to the same tree.
//! - [`Program::eval`] and [`Program::score`] are the reference semantics.
//! - [`compile`] emits a WebAssembly component implementing the
//!   `derl:plugin/reward-program` world that computes bit for bit what
//!   [`Program::score`] computes, and imports nothing.
//!
//! The language and its semantics are specified in `docs/reward-language.md`.
//!
//! ```
//! let program = derl_lang::parse("success + 0.5*progress/g3", &["success", "progress", "steps"])?;
//! assert_eq!(program.normalized(), "g1 + 0.5 * g2 / g3");
//! assert_eq!(program.min_stride(), 3);
//! assert_eq!(program.eval(&[1.0, 1.0, 0.0]), 1.0); // x / 0 is 0
//! let component: Vec<u8> = derl_lang::compile(&program)?;
//! assert_eq!(&component[..4], b"\0asm");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod ast;
mod compile;
mod eval;
mod parse;
#[cfg(test)]
mod proptests;
#[cfg(any(test, feature = "proptest"))]
pub mod strategies;

pub use ast::{BinaryOp, Expr, Program};
pub use compile::{CompileError, compile};
pub use eval::ScoreError;
pub use parse::{MAX_NAME_BYTES, ParseError, ParseErrorKind, parse, primitive_name_problem};

/// Hard limits enforced by [`parse`]. They bound the work of every later stage
/// and guarantee that the normalized form of any accepted program is accepted
/// again.
pub mod limits {
    /// Longest accepted source text, in bytes.
    pub const MAX_SOURCE_BYTES: usize = 64 * 1024;
    /// Most tokens (numbers, names, operators, parentheses, commas) in a program.
    pub const MAX_TOKENS: usize = 1024;
    /// Deepest nesting: every parenthesis, function call and unary minus opens
    /// one level.
    pub const MAX_DEPTH: usize = 64;
    /// Highest primitive number: `g1..g1024`.
    pub const MAX_PRIMITIVES: usize = 1024;
}
