//! A batch of decisions flattened into index tensors: distinct observations (by `Arc`) and
//! distinct action texts (by content), their feature ids, which pair reads which, the
//! clause layout, the header overlaps and the action contexts.

use std::collections::HashMap;

use candle_core::Tensor;

use crate::embedding_bag::EmbeddingBag;
use crate::error::{LearnError, Result};
use crate::features::FnvBuildHasher;
use crate::segments::Segments;

use super::{ActionDecision, ActionPolicy, EncodedObservation, MASKED_SCORE};

/// A batch of decisions as index tensors (see [`ActionPolicy::prepare`]).
#[derive(Clone, Debug)]
pub struct PreparedBatch {
    /// `None` when no text has a single feature.
    pub(super) bags: Option<EmbeddingBag>,
    /// The clause layout, when the policy reads clauses.
    pub(super) clauses: Option<ClauseIndex>,
    /// `(observations, numeric_dim)`, when the policy has numeric features.
    pub(super) numeric: Option<Tensor>,
    pub(super) observations: usize,
    pub(super) actions: usize,
    /// `(pairs,)` u32: the distinct observation of each (decision, action) pair.
    pub(super) pair_observation: Tensor,
    /// `(pairs,)` u32: the distinct action text of each pair.
    pub(super) pair_action: Tensor,
    /// `(pairs, 1)` f32: the header overlap of each pair, when the policy reads it.
    pub(super) pair_overlap: Option<Tensor>,
    /// Each pair's context and each observation's header, when the policy reads contexts.
    pub(super) context: Option<ContextIndex>,
    pub(super) segments: Segments,
}

/// Action contexts (see [`ActionPolicyConfig::action_context`]) as bags over the clause
/// rows of the embedded texts.
#[derive(Clone, Debug)]
pub(super) struct ContextIndex {
    /// Number of distinct clause texts (embedded after the actions).
    pub(super) clauses: usize,
    /// `(pairs, dim)`: the mean of each pair's matched clauses (zero when none match).
    pub(super) pair_context: EmbeddingBag,
    /// `(observations, dim)`: each observation's first clause (zero when it has none).
    pub(super) observation_header: EmbeddingBag,
    /// `(pairs, 1)` f32: share of the header's features found in the context, not the action.
    pub(super) pair_goal: Tensor,
}

/// Where each observation's clauses are among the embedded texts.
#[derive(Clone, Debug)]
pub(super) struct ClauseIndex {
    /// Number of distinct clause texts (embedded after the actions).
    pub(super) clauses: usize,
    /// Clause slots per observation (the batch's longest, at least 1).
    pub(super) slots: usize,
    /// `(observations * slots,)` u32: the clause in each slot; padding reads the zero row
    /// `clauses`.
    pub(super) slot_clause: Tensor,
    /// `(observations, slots)` f32: 0 for a clause, [`MASKED_SCORE`] for padding.
    pub(super) slot_mask: Tensor,
    /// `(decisions,)` u32: the distinct observation of each decision.
    pub(super) decision_observation: Tensor,
    /// `(pairs,)` u32: each pair's row in the `(decisions * max actions)` padded layout.
    pub(super) pair_padded: Tensor,
}

impl PreparedBatch {
    /// Layout of the batch (actions per decision).
    pub fn segments(&self) -> &Segments {
        &self.segments
    }

    /// Number of distinct observations embedded.
    pub fn distinct_observations(&self) -> usize {
        self.observations
    }

    /// Number of distinct action texts embedded.
    pub fn distinct_actions(&self) -> usize {
        self.actions
    }

    /// The index tensors by name (`ids`, `text_of_id`, `id_weight`, `numeric`,
    /// `slot_clause`, `slot_mask`, `pair_observation`, `pair_action`, `gather_index`),
    /// for exporting a batch to another
    /// implementation of the same model (the PyTorch benchmark).
    pub fn tensors(&self) -> HashMap<String, Tensor> {
        let mut tensors = HashMap::new();
        if let Some(bags) = &self.bags {
            let device = self.pair_observation.device();
            let count = bags.ids().len();
            let vector = |values: &[u32]| Tensor::from_slice(values, count, device);
            let weights = Tensor::from_slice(bags.id_weight(), (count, 1), device);
            if let (Ok(ids), Ok(texts), Ok(weights)) =
                (vector(bags.ids()), vector(bags.text_of_id()), weights)
            {
                tensors.insert("ids".to_owned(), ids);
                tensors.insert("text_of_id".to_owned(), texts);
                tensors.insert("id_weight".to_owned(), weights);
            }
        }
        if let Some(numeric) = &self.numeric {
            tensors.insert("numeric".to_owned(), numeric.clone());
        }
        if let Some(clauses) = &self.clauses {
            tensors.insert("slot_clause".to_owned(), clauses.slot_clause.clone());
            tensors.insert("slot_mask".to_owned(), clauses.slot_mask.clone());
        }
        tensors.insert("pair_observation".to_owned(), self.pair_observation.clone());
        tensors.insert("pair_action".to_owned(), self.pair_action.clone());
        tensors.insert(
            "gather_index".to_owned(),
            self.segments.gather_index().clone(),
        );
        tensors
    }
}

/// Action contexts flattened: matched clauses per pair, header clause per observation.
pub(super) struct FlatContext {
    pub(super) clause_ids: Vec<u32>,
    pub(super) clause_pair: Vec<u32>,
    pub(super) clause_weight: Vec<f32>,
    pub(super) header_ids: Vec<u32>,
    pub(super) header_observation: Vec<u32>,
    pub(super) pair_goal: Vec<f32>,
}

/// A batch flattened into index vectors, ready to become tensors.
pub(super) struct FlatBatch {
    /// Feature ids of every distinct text: observations, actions, then clauses.
    pub(super) ids: Vec<u32>,
    /// Which distinct text each id belongs to.
    pub(super) text_of_id: Vec<u32>,
    /// `1 / len` of the id's text (a mean over the bag).
    pub(super) id_weight: Vec<f32>,
    pub(super) observations: usize,
    pub(super) actions: usize,
    /// Clause count, slots per observation, slot clauses and masks (see [`ClauseIndex`]).
    pub(super) clauses: Option<(usize, usize, Vec<u32>, Vec<f32>)>,
    /// Distinct clause texts embedded after the actions (for attention or contexts).
    pub(super) clause_count: usize,
    /// Action contexts, when the policy reads them.
    pub(super) context: Option<FlatContext>,
    /// The distinct observation of each decision.
    pub(super) decision_observation: Vec<u32>,
    /// Row-major `(observations, numeric_dim)`.
    pub(super) numeric: Vec<f32>,
    /// For each (decision, action) pair: its distinct observation and distinct action.
    pub(super) pair_observation: Vec<u32>,
    pub(super) pair_action: Vec<u32>,
    /// Header overlap of each pair (empty when the policy does not read it).
    pub(super) pair_overlap: Vec<f32>,
    pub(super) counts: Vec<usize>,
}

impl ActionPolicy {
    /// Turns decisions into the index tensors of one forward pass: distinct observations
    /// (by `Arc`) and distinct action texts (by content), their feature ids, and which pair
    /// reads which. Prepare once to evaluate the same batch several times.
    ///
    /// # Errors
    /// [`LearnError::InvalidBatch`] for an empty batch, a decision without actions, a
    /// feature id outside the table, or numeric features of the wrong length.
    pub fn prepare(&self, decisions: &[&ActionDecision]) -> Result<PreparedBatch> {
        let flat = self.flatten(decisions)?;
        let device = &self.device;
        let id_count = flat.ids.len();
        let texts = flat.observations + flat.actions + flat.clause_count;
        let bags = (id_count > 0)
            .then(|| EmbeddingBag::new(flat.ids, flat.text_of_id, flat.id_weight, texts));
        let numeric = if self.config.numeric_dim > 0 {
            let shape = (flat.observations, self.config.numeric_dim);
            Some(Tensor::from_vec(flat.numeric, shape, device)?)
        } else {
            None
        };
        let segments = Segments::new(&flat.counts, device)?;
        let clauses = match flat.clauses {
            Some((clauses, slots, slot_clause, slot_mask)) => {
                let width = segments.width();
                let pair_padded: Vec<u32> = flat
                    .counts
                    .iter()
                    .enumerate()
                    .flat_map(|(decision, &count)| {
                        (0..count).map(move |action| (decision * width + action) as u32)
                    })
                    .collect();
                let decisions = flat.decision_observation.len();
                Some(ClauseIndex {
                    clauses,
                    slots,
                    slot_clause: Tensor::from_vec(slot_clause, flat.observations * slots, device)?,
                    slot_mask: Tensor::from_vec(slot_mask, (flat.observations, slots), device)?,
                    decision_observation: Tensor::from_vec(
                        flat.decision_observation,
                        decisions,
                        device,
                    )?,
                    pair_padded: Tensor::from_vec(
                        pair_padded,
                        flat.pair_observation.len(),
                        device,
                    )?,
                })
            }
            None => None,
        };
        let pairs = flat.pair_observation.len();
        let context = match flat.context {
            Some(context) => Some(ContextIndex {
                clauses: flat.clause_count,
                pair_context: EmbeddingBag::new(
                    context.clause_ids,
                    context.clause_pair,
                    context.clause_weight,
                    pairs,
                ),
                observation_header: EmbeddingBag::new(
                    context.header_ids,
                    context.header_observation.clone(),
                    vec![1.0; context.header_observation.len()],
                    flat.observations,
                ),
                pair_goal: Tensor::from_vec(context.pair_goal, (pairs, 1), device)?,
            }),
            None => None,
        };
        Ok(PreparedBatch {
            context,
            bags,
            clauses,
            numeric,
            observations: flat.observations,
            actions: flat.actions,
            pair_observation: Tensor::from_vec(flat.pair_observation, pairs, device)?,
            pair_action: Tensor::from_vec(flat.pair_action, pairs, device)?,
            pair_overlap: if self.config.header_overlap {
                Some(Tensor::from_vec(flat.pair_overlap, (pairs, 1), device)?)
            } else {
                None
            },
            segments,
        })
    }

    pub(super) fn flatten(&self, decisions: &[&ActionDecision]) -> Result<FlatBatch> {
        let mut observation_slot: HashMap<*const EncodedObservation, u32, FnvBuildHasher> =
            HashMap::default();
        let mut observations: Vec<&EncodedObservation> = Vec::new();
        let mut action_slot: HashMap<(&[u32], &[u32]), u32, FnvBuildHasher> = HashMap::default();
        let mut actions: Vec<(&[u32], &[u32])> = Vec::new();
        let pairs: usize = decisions
            .iter()
            .map(|decision| decision.actions.len())
            .sum();
        let mut pair_observation = Vec::with_capacity(pairs);
        let mut pair_action = Vec::with_capacity(pairs);
        let mut counts = Vec::with_capacity(decisions.len());
        let mut decision_observation = Vec::with_capacity(decisions.len());
        let mut pair_overlap = Vec::new();
        let mut header_words: Vec<u32> = Vec::new();
        for decision in decisions {
            let observation = &*decision.observation;
            let slot = *observation_slot
                .entry(std::ptr::from_ref(observation))
                .or_insert_with(|| {
                    observations.push(observation);
                    observations.len() as u32 - 1
                });
            if self.config.header_overlap {
                header_words.clear();
                header_words.extend(observation.clauses.first().into_iter().flatten());
                header_words.sort_unstable();
                header_words.dedup();
                pair_overlap.extend(
                    decision
                        .actions
                        .iter()
                        .map(|action| overlap(action, &header_words)),
                );
            }
            let goal_actions = decision.goal_actions.len();
            if goal_actions != 0 && goal_actions != decision.actions.len() {
                return Err(LearnError::InvalidBatch(format!(
                    "{goal_actions} goal-feature lists for {} actions",
                    decision.actions.len()
                )));
            }
            for (at, action) in decision.actions.iter().enumerate() {
                let goal = decision.goal_actions.get(at).map_or(&[][..], Vec::as_slice);
                let key = (action.as_slice(), goal);
                let action_index = *action_slot.entry(key).or_insert_with(|| {
                    actions.push(key);
                    actions.len() as u32 - 1
                });
                pair_observation.push(slot);
                pair_action.push(action_index);
            }
            counts.push(decision.actions.len());
            decision_observation.push(slot);
        }

        let numeric_dim = self.config.numeric_dim;
        let mut numeric = Vec::with_capacity(observations.len() * numeric_dim);
        for observation in &observations {
            if observation.numeric.len() != numeric_dim {
                return Err(LearnError::InvalidBatch(format!(
                    "observation has {} numeric features, the policy expects {numeric_dim}",
                    observation.numeric.len()
                )));
            }
            numeric.extend_from_slice(&observation.numeric);
        }

        let clauses = self
            .config
            .clause_attention
            .then(|| clause_layout(&observations));
        let embeds_clauses = self.config.clause_attention || self.config.action_context;
        let clause_texts = observations
            .iter()
            .filter(|_| embeds_clauses)
            .flat_map(|observation| {
                observation.clauses.iter().enumerate().map(|(at, clause)| {
                    let goal = observation
                        .clause_goal
                        .get(at)
                        .map_or(&[][..], Vec::as_slice);
                    (clause.as_slice(), goal)
                })
            });
        let clause_count = clause_texts.clone().count();
        let context = self
            .config
            .action_context
            .then(|| self.flatten_contexts(decisions, &observations, &pair_observation));
        let texts = observations
            .iter()
            .map(|observation| (observation.ids.as_slice(), observation.goal.as_slice()))
            .chain(actions.iter().copied())
            .chain(clause_texts);
        let total_ids: usize = texts
            .clone()
            .map(|(ids, goal)| ids.len() + goal.len())
            .sum();
        let mut ids = Vec::with_capacity(total_ids);
        let mut text_of_id = Vec::with_capacity(total_ids);
        let mut id_weight = Vec::with_capacity(total_ids);
        let buckets = self.featurizer.buckets();
        for (text, (plain, goal)) in texts.enumerate() {
            let text_ids = plain.iter().chain(goal);
            if let Some(&id) = text_ids.clone().find(|&&id| id as usize >= buckets) {
                return Err(LearnError::InvalidBatch(format!(
                    "feature id {id} outside the {buckets}-bucket table"
                )));
            }
            let count = plain.len() + goal.len();
            let weight = 1.0 / count as f32;
            ids.extend(text_ids);
            text_of_id.extend(std::iter::repeat_n(text as u32, count));
            id_weight.extend(std::iter::repeat_n(weight, count));
        }
        Ok(FlatBatch {
            ids,
            text_of_id,
            id_weight,
            observations: observations.len(),
            actions: actions.len(),
            clauses,
            clause_count,
            context,
            decision_observation,
            numeric,
            pair_observation,
            pair_action,
            pair_overlap,
            counts,
        })
    }

    /// Matched clauses of every (decision, action) pair and the header clause of every
    /// observation (see [`ActionPolicyConfig::action_context`]), in the clause numbering of
    /// the embedded texts (all clauses of the first observation, then the second's, ...).
    pub(super) fn flatten_contexts(
        &self,
        decisions: &[&ActionDecision],
        observations: &[&EncodedObservation],
        pair_observation: &[u32],
    ) -> FlatContext {
        let featurizer = &self.featurizer;
        let mut first_clause = Vec::with_capacity(observations.len());
        let mut header_ids = Vec::new();
        let mut header_observation = Vec::new();
        let mut next = 0u32;
        // Per observation: which clauses (after the header) hold each bigram, and the
        // header's distinct features.
        // Sorted (bigram, clause) pairs of each observation.
        let mut clauses_of_bigram: Vec<Vec<(u32, u32)>> = Vec::with_capacity(observations.len());
        let mut header_features: Vec<Vec<u32>> = Vec::with_capacity(observations.len());
        for (slot, observation) in observations.iter().enumerate() {
            first_clause.push(next);
            if !observation.clauses.is_empty() {
                header_ids.push(next);
                header_observation.push(slot as u32);
            }
            let mut index: Vec<(u32, u32)> = Vec::new();
            for (local, clause) in observation.clauses.iter().enumerate().skip(1) {
                index.extend(
                    featurizer
                        .bigrams(clause)
                        .iter()
                        .map(|&b| (b, local as u32)),
                );
            }
            index.sort_unstable();
            index.dedup();
            clauses_of_bigram.push(index);
            let mut header: Vec<u32> = observation.clauses.first().cloned().unwrap_or_default();
            header.sort_unstable();
            header.dedup();
            header_features.push(header);
            next += observation.clauses.len() as u32;
        }

        let mut context = FlatContext {
            clause_ids: Vec::new(),
            clause_pair: Vec::new(),
            clause_weight: Vec::new(),
            header_ids,
            header_observation,
            pair_goal: Vec::with_capacity(pair_observation.len()),
        };
        let mut matched: Vec<u32> = Vec::new();
        let mut found: Vec<u32> = Vec::new();
        let actions = decisions
            .iter()
            .flat_map(|decision| decision.actions.iter());
        for (pair, (action, &slot)) in actions.zip(pair_observation).enumerate() {
            let slot = slot as usize;
            let observation = observations[slot];
            matched.clear();
            let index = &clauses_of_bigram[slot];
            for &bigram in featurizer.bigrams(action) {
                let start = index.partition_point(|&(held, _)| held < bigram);
                let holders = index[start..]
                    .iter()
                    .take_while(|&&(held, _)| held == bigram);
                matched.extend(holders.map(|&(_, clause)| clause));
            }
            matched.sort_unstable();
            matched.dedup();
            let weight = 1.0 / matched.len().max(1) as f32;
            for &local in &matched {
                context.clause_ids.push(first_clause[slot] + local);
                context.clause_pair.push(pair as u32);
                context.clause_weight.push(weight);
            }
            let header = &header_features[slot];
            found.clear();
            found.extend(
                matched
                    .iter()
                    .flat_map(|&local| &observation.clauses[local as usize])
                    .filter(|id| header.binary_search(id).is_ok() && !action.contains(id)),
            );
            found.sort_unstable();
            found.dedup();
            context
                .pair_goal
                .push(found.len() as f32 / header.len().max(1) as f32);
        }
        context
    }
}

/// The fraction of `action`'s feature ids found in `header` (sorted, deduplicated); 0 for
/// an action without features.
pub(super) fn overlap(action: &[u32], header: &[u32]) -> f32 {
    if action.is_empty() {
        return 0.0;
    }
    let shared = action
        .iter()
        .filter(|id| header.binary_search(id).is_ok())
        .count();
    shared as f32 / action.len() as f32
}

/// Slots per observation (the longest clause list, at least 1), each slot's clause
/// (numbered after all observations' clauses in order; padding is the extra zero row) and
/// its mask. An observation without clauses attends to the zero row, unmasked.
pub(super) fn clause_layout(
    observations: &[&EncodedObservation],
) -> (usize, usize, Vec<u32>, Vec<f32>) {
    let clauses: usize = observations.iter().map(|o| o.clauses.len()).sum();
    let slots = observations
        .iter()
        .map(|o| o.clauses.len())
        .max()
        .unwrap_or(0)
        .max(1);
    let mut slot_clause = Vec::with_capacity(observations.len() * slots);
    let mut slot_mask = Vec::with_capacity(observations.len() * slots);
    let mut next = 0u32;
    for observation in observations {
        let count = observation.clauses.len();
        for slot in 0..slots {
            if slot < count {
                slot_clause.push(next);
                next += 1;
                slot_mask.push(0.0);
            } else {
                slot_clause.push(clauses as u32);
                slot_mask.push(if slot == 0 { 0.0 } else { MASKED_SCORE });
            }
        }
    }
    (clauses, slots, slot_clause, slot_mask)
}
