//! The fixed-program baselines: one program from the environment's
//! primitives, no search.

use super::{MethodKind, SearchSplits, Strategy};

/// Outcome-only: the success primitive alone.
pub(super) const OUTCOME_ONLY: MethodKind = MethodKind {
    name: "outcome_only",
    stream: 3,
    about: "the environment's success primitive alone",
    strategy: Strategy::Fixed(|env| env.outcome_program()),
    search_splits: SearchSplits::ScoreSplit,
};

/// The equal-weight heuristic.
pub(super) const HEURISTIC: MethodKind = MethodKind {
    name: "heuristic",
    stream: 4,
    about: "the equal-weight sum of every primitive",
    strategy: Strategy::Fixed(|env| env.heuristic_program()),
    search_splits: SearchSplits::ScoreSplit,
};
