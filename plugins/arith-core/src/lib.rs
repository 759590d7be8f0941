//! `arith`: GSM8k-like arithmetic word problems for derl, as a plain-Rust
//! [`derl_env_api::Environment`] ([`Arith`]).
//!
//! A task is a word problem written from a template (shopping, trips,
//! baking, ages, savings, collections, reading, bills, gardens; four unseen
//! templates for `ood`). The policy solves it like a person with a
//! calculator: each step combines two available numbers (those the problem
//! states and earlier results, each used once), undoes the last computation,
//! or answers an available number, which ends the episode. See
//! `docs/environments/arith.md`.
//!
//! The primitives mirror the DERL reference's math rewards: `outcome`,
//! `format`, `structure`, `loose_outcome`, plus a dense `progress`.
//!
//! Modules, in data-flow order: [`rng`] (seeded randomness), [`problem`]
//! (operations, problems, the template builder), [`templates`],
//! [`generate`] (tasks and splits), [`pool`] (numbers and admissible
//! actions), [`episode`] (state and steps), [`render`] (text), [`expert`]
//! (scripted solver), [`primitives`], and [`env`](mod@env) (the environment).

pub mod env;
pub mod episode;
pub mod expert;
pub mod generate;
pub mod pool;
pub mod primitives;
pub mod problem;
pub mod render;
pub mod rng;
pub mod templates;

pub use env::{Arith, Settings};
