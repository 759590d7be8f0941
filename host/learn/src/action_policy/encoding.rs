//! Observations and actions featurized once: the task and situation text as a bag, the
//! clauses when the policy reads them, the goal features, and whole decision points.

use std::sync::Arc;

#[cfg(doc)]
use crate::features::Featurizer;
use crate::features::{self, GoalTerms};

use super::ActionPolicy;
#[cfg(doc)]
use super::ActionPolicyConfig;

/// An observation featurized once and shared by every decision that sees it.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct EncodedObservation {
    /// Hashed feature ids of the observation text (see [`Featurizer::encode`]).
    pub ids: Vec<u32>,
    /// Numeric features; exactly [`ActionPolicyConfig::numeric_dim`] values.
    pub numeric: Vec<f32>,
    /// Hashed feature ids of each clause, when the policy reads clauses (else empty).
    pub clauses: Vec<Vec<u32>>,
    /// Goal features of the text after the header clause, when the policy reads them (see
    /// [`ActionPolicyConfig::goal_features`]); pooled with `ids`.
    pub goal: Vec<u32>,
    /// Goal features of each clause in `clauses` (the header's are empty), when the policy
    /// reads clauses and goal features (else empty); pooled with the clause's ids.
    pub clause_goal: Vec<Vec<u32>>,
}

/// One decision point: an observation and its admissible actions, featurized.
///
/// Both parts are `Arc`s so that recording a decision for training costs two reference
/// counts; the policy embeds each distinct observation and action text once per batch.
#[derive(Clone, Debug)]
pub struct ActionDecision {
    /// The observation.
    pub observation: Arc<EncodedObservation>,
    /// Hashed feature ids of each admissible action text, in the environment's order.
    pub actions: Arc<[Vec<u32>]>,
    /// Goal features of each action (see [`ActionPolicyConfig::goal_features`]), pooled
    /// with its ids; empty when the policy does not read them.
    pub goal_actions: Arc<[Vec<u32>]>,
}

impl ActionPolicy {
    /// Featurizes an observation: its task, its situation text and its numeric features.
    ///
    /// The task is the header clause (what header overlap, action contexts and goal
    /// features compare with); the situation text's clauses follow it. The bag of words
    /// reads the task and then the text. An observation without a task (no word in it)
    /// reads the first clause of its text as the header.
    pub fn encode_observation(
        &self,
        task: &str,
        text: &str,
        numeric: &[f32],
    ) -> EncodedObservation {
        let listed = listed_clauses(task, text);
        let goal = self.goal_terms(&listed);
        self.encode_observation_under(task, text, &listed, numeric, goal.as_ref())
    }

    /// [`ActionPolicy::encode_observation`] with the clauses listed (the header first) and
    /// the goal terms read (`None` when the policy does not read goal features).
    pub(super) fn encode_observation_under(
        &self,
        task: &str,
        text: &str,
        listed: &[&str],
        numeric: &[f32],
        goal: Option<&GoalTerms>,
    ) -> EncodedObservation {
        let clauses: Vec<Vec<u32>> = listed
            .iter()
            .take(self.clauses_read())
            .map(|clause| self.featurizer.encode(clause))
            .collect();
        let (goal, clause_goal) = match goal {
            Some(terms) => {
                let goals: Vec<Vec<u32>> = listed
                    .iter()
                    .enumerate()
                    .map(|(at, clause)| match at {
                        0 => Vec::new(),
                        _ => self.featurizer.encode_goal(clause, terms),
                    })
                    .collect();
                let clause_goal = goals[..clauses.len().min(goals.len())].to_vec();
                (goals.concat(), clause_goal)
            }
            None => (Vec::new(), Vec::new()),
        };
        EncodedObservation {
            ids: self.featurizer.encode(&format!("{task}\n{text}")),
            numeric: numeric.to_vec(),
            clauses,
            goal,
            clause_goal,
        }
    }

    /// How many of an observation's listed clauses the policy featurizes one by one: all
    /// (up to `max_clauses`) for attention or contexts, the header alone for header
    /// overlap, none otherwise.
    pub(super) fn clauses_read(&self) -> usize {
        let reads_all = self.config.clause_attention || self.config.action_context;
        match (reads_all, self.config.header_overlap) {
            (true, _) => self.config.max_clauses,
            (false, true) => 1,
            (false, false) => 0,
        }
    }

    /// The goal terms of the header clause (the first of `listed`), when the policy reads
    /// goal features.
    pub(super) fn goal_terms(&self, listed: &[&str]) -> Option<GoalTerms> {
        self.config
            .goal_features
            .then(|| GoalTerms::of(listed.first().copied().unwrap_or("")))
    }

    /// Goal features of each action under `goal` (empty when the policy does not read them;
    /// see [`ActionPolicyConfig::goal_features`]).
    pub(super) fn encode_goal_actions<S: AsRef<str>>(
        &self,
        goal: Option<&GoalTerms>,
        actions: &[S],
    ) -> Arc<[Vec<u32>]> {
        match goal {
            Some(terms) => actions
                .iter()
                .map(|action| self.featurizer.encode_goal(action.as_ref(), terms))
                .collect(),
            None => Arc::new([]),
        }
    }

    /// Featurizes a list of admissible action texts.
    pub fn encode_actions<S: AsRef<str>>(&self, actions: &[S]) -> Arc<[Vec<u32>]> {
        actions
            .iter()
            .map(|action| self.featurizer.encode(action.as_ref()))
            .collect()
    }

    /// Featurizes a whole decision point: the observation (its task and its situation
    /// text, see [`ActionPolicy::encode_observation`]), its actions and, when the policy
    /// reads them, their goal features (the task read once). A rollout encodes each
    /// observation once and shares the resulting `Arc`s between the decisions it records.
    pub fn encode_decision<S: AsRef<str>>(
        &self,
        task: &str,
        text: &str,
        numeric: &[f32],
        actions: &[S],
    ) -> ActionDecision {
        let listed = listed_clauses(task, text);
        let goal = self.goal_terms(&listed);
        ActionDecision {
            observation: Arc::new(self.encode_observation_under(
                task,
                text,
                &listed,
                numeric,
                goal.as_ref(),
            )),
            actions: self.encode_actions(actions),
            goal_actions: self.encode_goal_actions(goal.as_ref(), actions),
        }
    }
}

/// The clauses of `text` that hold a word: those [`Featurizer::encode_clauses`] keeps.
pub(super) fn worded_clauses(text: &str) -> impl Iterator<Item = &str> {
    features::clauses(text).filter(|clause| clause.chars().any(char::is_alphanumeric))
}

/// The clauses an observation is read as, the header first: the task as one clause, then
/// the worded clauses of the situation text; without a word in the task, the text's
/// worded clauses alone (its first is the header).
pub(super) fn listed_clauses<'a>(task: &'a str, text: &'a str) -> Vec<&'a str> {
    let header = task.chars().any(char::is_alphanumeric).then_some(task);
    header.into_iter().chain(worded_clauses(text)).collect()
}
