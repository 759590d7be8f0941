//! The generator side of DERL's outer loop.
//!
//! - [`grammar`]: the Meta-Reward grammar as tokens, and the pushdown automaton whose mask
//!   makes every sampled token sequence a valid program that uses a primitive and fits the
//!   length budget.
//! - [`MetaOptimizer`]: a small autoregressive GRU over the grammar's tokens, sampled
//!   under that mask ([`MetaOptimizer::sample_group`]), cold-started on seed programs
//!   ([`MetaOptimizer::pretrain`], [`seeds`]), and trained by derl-learn's GRPO as a
//!   [`derl_learn::PolicyModel`] whose decisions are token positions ([`TokenDecision`]).
//! - [`evolution`]: the black-box baseline, (mu+lambda) mutation and crossover over the
//!   same grammar.
//!
//! Every random choice comes from a caller-owned seeded generator or from a seed given at
//! construction; the same inputs give the same programs and weights.

pub mod decoding;
pub mod error;
pub mod evolution;
pub mod grammar;
pub mod model;
pub mod pretrain;
pub mod seeds;

pub use decoding::{ProgramTrace, SampledProgram, TokenDecision, group_episodes};
pub use error::{MetaError, Result};
pub use evolution::{Evolution, EvolutionConfig, EvolutionState, Individual, MutationWeights};
pub use grammar::{Expr, Grammar, GrammarConfig, Program, Token};
pub use model::{MetaOptimizer, MetaOptimizerConfig, PretrainConfig};
pub use pretrain::PretrainStats;
pub use seeds::{DEFAULT_SEEDS, SeedSelection, select_seeds};
