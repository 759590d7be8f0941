//! derl: Differentiable Evolutionary Reinforcement Learning with sandboxed
//! WebAssembly plugins.
//!
//! Data flows one way: config -> experiment runner -> outer loop
//! (Meta-Optimizer) -> reward compiler -> inner loop (policy, GRPO) against
//! environment components -> validation score -> outer loop. This crate holds
//! the host-side wrappers of the plugin worlds ([`plugin`]) and the command
//! line ([`cli`]); the sandbox, the reward language and the learners are
//! their own crates.

pub mod bundled;
pub mod cli;
pub mod conformance;
pub mod experiment;
pub mod inner;
pub mod outer;
pub mod plugin;
pub mod python_reward;
pub mod report;
pub mod text_reward;

pub use derl_sandbox as sandbox;
