//! Featurizing with a memory: an episode's observations repeat most of their clauses from
//! one step to the next (`unvisited cabinet 2`, the task) and its actions come back every
//! step, so [`ActionPolicy::encode_decision_cached`] hashes each distinct clause, action and
//! goal text once and joins the observation's bag from its clauses' features.
//!
//! The result is exactly [`ActionPolicy::encode_decision`]'s: a text's words are its
//! clauses' words in order (clauses are cut at characters that are not part of a word),
//! and its bigrams are its clauses' bigrams with one bigram across each clause boundary.

use std::collections::HashMap;

use crate::features::{Featurizer, FnvBuildHasher, GoalTerms};

use super::ActionPolicy;
use super::encoding::{ActionDecision, EncodedObservation, listed_clauses};

/// Texts remembered before the cache starts over (about 200 bytes each).
const DEFAULT_CAPACITY: usize = 1 << 16;

/// Features of texts seen before, for one featurizer (see the module documentation).
#[derive(Clone, Debug)]
pub struct FeatureCache {
    texts: HashMap<String, CachedText, FnvBuildHasher>,
    /// Per task clause: its goal terms and the goal features of texts under it.
    goals: HashMap<String, CachedGoal, FnvBuildHasher>,
    entries: usize,
    capacity: usize,
}

#[derive(Clone, Debug)]
struct CachedText {
    /// As [`Featurizer::encode`]: the words, then the bigrams.
    ids: Vec<u32>,
    words: usize,
    /// First and last lowercase words (`None` for a text without a word).
    ends: Option<(String, String)>,
}

#[derive(Clone, Debug)]
struct CachedGoal {
    terms: GoalTerms,
    texts: HashMap<String, Vec<u32>, FnvBuildHasher>,
}

impl Default for FeatureCache {
    fn default() -> Self {
        Self::with_capacity(DEFAULT_CAPACITY)
    }
}

impl FeatureCache {
    /// A cache that starts over once it holds `capacity` texts.
    pub fn with_capacity(capacity: usize) -> Self {
        Self {
            texts: HashMap::default(),
            goals: HashMap::default(),
            entries: 0,
            capacity: capacity.max(1),
        }
    }

    /// Number of texts remembered.
    pub fn len(&self) -> usize {
        self.entries
    }

    /// Whether nothing is remembered.
    pub fn is_empty(&self) -> bool {
        self.entries == 0
    }

    /// Forgets everything when `more` texts might not fit.
    fn make_room(&mut self, more: usize) {
        if self.entries + more > self.capacity {
            self.texts.clear();
            self.goals.clear();
            self.entries = 0;
        }
    }

    fn text(&mut self, featurizer: &Featurizer, text: &str) -> &CachedText {
        if !self.texts.contains_key(text) {
            let (ids, ends) = featurizer.encode_with_ends(text);
            let words = if featurizer.word_bigrams() {
                ids.len().div_ceil(2)
            } else {
                ids.len()
            };
            self.texts
                .insert(text.to_owned(), CachedText { ids, words, ends });
            self.entries += 1;
        }
        &self.texts[text]
    }

    fn ids(&mut self, featurizer: &Featurizer, text: &str) -> Vec<u32> {
        self.text(featurizer, text).ids.clone()
    }

    fn goal_ids(&mut self, featurizer: &Featurizer, task: &str, text: &str) -> Vec<u32> {
        if !self.goals.contains_key(task) {
            let goal = CachedGoal {
                terms: GoalTerms::of(task),
                texts: HashMap::default(),
            };
            self.goals.insert(task.to_owned(), goal);
            self.entries += 1;
        }
        let goal = self.goals.get_mut(task).expect("inserted above");
        if let Some(ids) = goal.texts.get(text) {
            return ids.clone();
        }
        let ids = featurizer.encode_goal(text, &goal.terms);
        goal.texts.insert(text.to_owned(), ids.clone());
        self.entries += 1;
        ids
    }

    /// [`Featurizer::encode`] of the clauses joined (by characters outside words).
    fn joined_ids(&mut self, featurizer: &Featurizer, clauses: &[&str]) -> Vec<u32> {
        for clause in clauses {
            self.text(featurizer, clause);
        }
        let parts: Vec<&CachedText> = clauses.iter().map(|clause| &self.texts[*clause]).collect();
        let mut ids = Vec::with_capacity(parts.iter().map(|part| part.ids.len() + 1).sum());
        for part in &parts {
            ids.extend_from_slice(&part.ids[..part.words]);
        }
        if featurizer.word_bigrams() {
            let mut previous: Option<&str> = None;
            for part in &parts {
                let Some((first, last)) = &part.ends else {
                    continue;
                };
                if let Some(previous) = previous {
                    ids.push(featurizer.bigram_id(previous, first));
                }
                ids.extend_from_slice(&part.ids[part.words..]);
                previous = Some(last);
            }
        }
        ids
    }
}

impl ActionPolicy {
    /// [`ActionPolicy::encode_decision`] through `cache`: the same decision, with each
    /// clause, action and goal text hashed only the first time the cache sees it.
    pub fn encode_decision_cached<S: AsRef<str>>(
        &self,
        cache: &mut FeatureCache,
        task: &str,
        text: &str,
        numeric: &[f32],
        actions: &[S],
    ) -> ActionDecision {
        let featurizer = &self.featurizer;
        let listed = listed_clauses(task, text);
        let goal_texts = if self.config.goal_features {
            listed.len() + actions.len()
        } else {
            0
        };
        cache.make_room(listed.len() + actions.len() + goal_texts + 1);
        let clauses: Vec<Vec<u32>> = listed
            .iter()
            .take(self.clauses_read())
            .map(|clause| cache.ids(featurizer, clause))
            .collect();
        let header = listed.first().copied().unwrap_or("");
        let (goal, clause_goal, goal_actions) = if self.config.goal_features {
            let goals: Vec<Vec<u32>> = listed
                .iter()
                .enumerate()
                .map(|(at, clause)| match at {
                    0 => Vec::new(),
                    _ => cache.goal_ids(featurizer, header, clause),
                })
                .collect();
            let clause_goal = goals[..clauses.len().min(goals.len())].to_vec();
            let goal_actions = actions
                .iter()
                .map(|action| cache.goal_ids(featurizer, header, action.as_ref()))
                .collect();
            (goals.concat(), clause_goal, goal_actions)
        } else {
            (Vec::new(), Vec::new(), std::sync::Arc::from([]))
        };
        let observation = EncodedObservation {
            ids: cache.joined_ids(featurizer, &listed),
            numeric: numeric.to_vec(),
            clauses,
            goal,
            clause_goal,
        };
        ActionDecision {
            observation: std::sync::Arc::new(observation),
            actions: actions
                .iter()
                .map(|action| cache.ids(featurizer, action.as_ref()))
                .collect(),
            goal_actions,
        }
    }
}

#[cfg(test)]
mod tests {
    use candle_core::Device;

    use super::*;
    use crate::action_policy::ActionPolicyConfig;
    use crate::features::FeaturizerConfig;

    fn policy(goal_features: bool, word_bigrams: bool) -> ActionPolicy {
        let config = ActionPolicyConfig {
            featurizer: FeaturizerConfig {
                word_bigrams,
                ..FeaturizerConfig::default()
            },
            header_overlap: true,
            action_context: true,
            goal_features,
            ..ActionPolicyConfig::default()
        };
        ActionPolicy::new(config, &Device::Cpu).unwrap()
    }

    const CASES: &[(&str, &str, &[&str])] = &[
        (
            "put a clean mug in cabinet 2",
            "You are in the kitchen. On the shelf 1, you see a mug 1.\nunvisited cabinet 2; unvisited sink 1",
            &["go to cabinet 2", "take mug 1 from shelf 1", "look"],
        ),
        ("", "", &["look"]),
        ("...", "Only punctuation? !!; ..\n  \n", &["wait"]),
        ("", "no task here. the first clause leads", &["Go", "go"]),
        (
            "Heat ÄPFEL and İstanbul",
            "ßtraße 3.5 km; x.y.z!  Ends with a dot.",
            &["take äpfel 1", ""],
        ),
        (
            "task",
            "one;two;three\nfour. five? six! seven",
            &["one two", "three four"],
        ),
    ];

    #[test]
    fn cached_decisions_equal_fresh_ones() {
        for (goal_features, word_bigrams) in [(true, true), (false, true), (true, false)] {
            let policy = policy(goal_features, word_bigrams);
            let mut cache = FeatureCache::default();
            for round in 0..2 {
                for (task, text, actions) in CASES {
                    let fresh = policy.encode_decision(task, text, &[], actions);
                    let cached =
                        policy.encode_decision_cached(&mut cache, task, text, &[], actions);
                    assert_eq!(
                        *cached.observation, *fresh.observation,
                        "round {round}: {task:?} / {text:?}"
                    );
                    assert_eq!(cached.actions, fresh.actions);
                    assert_eq!(cached.goal_actions, fresh.goal_actions);
                }
            }
            assert!(!cache.is_empty());
        }
    }

    #[test]
    fn a_full_cache_starts_over_and_still_gives_the_same_features() {
        let policy = policy(true, true);
        let mut cache = FeatureCache::with_capacity(8);
        for (task, text, actions) in CASES.iter().cycle().take(20) {
            let fresh = policy.encode_decision(task, text, &[], actions);
            let cached = policy.encode_decision_cached(&mut cache, task, text, &[], actions);
            assert_eq!(*cached.observation, *fresh.observation);
            assert_eq!(cached.actions, fresh.actions);
        }
        assert!(cache.len() <= 8 + 16, "{}", cache.len());
    }
}
