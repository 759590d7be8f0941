//! The forward pass: the hidden layer over (observation, action) pairs and its optional
//! blocks, the softmax per decision, sampling, greedy choice and log-probabilities.

use candle_core::{DType, Tensor};
use rand::RngCore;

use crate::error::Result;
use crate::policy::PolicyModel;
use crate::sampling::{SampledAction, argmax, sample_log_probs};
use crate::segments::{Segments, rows_to_vecs};

use super::batch::ClauseIndex;
use super::{ATTENTION_SHARPNESS, ActionDecision, ActionPolicy, AttentionWeights, PreparedBatch};

/// Log-probabilities of every admissible action for a batch of decisions.
#[derive(Clone, Debug)]
pub struct ActionDistributions {
    /// `(decisions, max actions)` f32; entries past a decision's action count are padding
    /// with probability 0.
    pub log_probs: Tensor,
    /// Layout of the batch (actions per decision).
    pub segments: Segments,
}

impl ActionDistributions {
    /// One vector of log-probabilities per decision, cut to its action count.
    ///
    /// # Errors
    /// A candle error if the tensor cannot be read back.
    pub fn to_vecs(&self) -> Result<Vec<Vec<f32>>> {
        rows_to_vecs(&self.log_probs, self.segments.counts())
    }
}

impl ActionPolicy {
    /// The action distributions of a batch of decisions, in one forward pass.
    ///
    /// # Errors
    /// As [`ActionPolicy::prepare`].
    pub fn distributions(&self, decisions: &[&ActionDecision]) -> Result<ActionDistributions> {
        self.distributions_of(&self.prepare(decisions)?)
    }

    /// The action distributions of a prepared batch.
    ///
    /// # Errors
    /// A candle error when the batch was prepared by a policy of another shape.
    pub fn distributions_of(&self, batch: &PreparedBatch) -> Result<ActionDistributions> {
        let logits = self.pair_logits(batch)?;
        Ok(ActionDistributions {
            log_probs: batch.segments.log_softmax(&logits)?,
            segments: batch.segments.clone(),
        })
    }

    /// The log-probabilities of every admissible action of each decision, the decisions
    /// cut into `threads` contiguous chunks computed at the same time. A decision's row does
    /// not depend on the rest of its batch, so the rows are the same for any `threads`.
    ///
    /// # Errors
    /// As [`ActionPolicy::distributions`].
    pub fn log_prob_rows(
        &self,
        decisions: &[&ActionDecision],
        threads: usize,
    ) -> Result<Vec<Vec<f32>>> {
        if decisions.is_empty() {
            return self.distributions(decisions)?.to_vecs();
        }
        let chunks: Vec<&[&ActionDecision]> = decisions
            .chunks(decisions.len().div_ceil(threads.max(1)))
            .collect();
        let rows = crate::parallel::map(&chunks, threads, |chunk| {
            if self.runs_fused() {
                Ok(self.fused_forward(self.flatten(chunk)?)?.rows())
            } else {
                self.distributions(chunk)?.to_vecs()
            }
        });
        let mut all = Vec::with_capacity(decisions.len());
        for chunk_rows in rows {
            all.extend(chunk_rows?);
        }
        Ok(all)
    }

    /// Draws one action per decision from the policy, using `rng` (a seeded generator owned
    /// by the caller), and returns it with its log-probability.
    ///
    /// # Errors
    /// As [`ActionPolicy::distributions`].
    pub fn sample(
        &self,
        decisions: &[&ActionDecision],
        rng: &mut impl RngCore,
    ) -> Result<Vec<SampledAction>> {
        self.sample_on(decisions, rng, 1)
    }

    /// [`ActionPolicy::sample`] with the distributions computed on `threads` threads (see
    /// [`ActionPolicy::log_prob_rows`]); the draws are the same for any `threads`.
    ///
    /// # Errors
    /// As [`ActionPolicy::distributions`].
    pub fn sample_on(
        &self,
        decisions: &[&ActionDecision],
        rng: &mut impl RngCore,
        threads: usize,
    ) -> Result<Vec<SampledAction>> {
        let rows = self.log_prob_rows(decisions, threads)?;
        Ok(choose(&rows, |log_probs| sample_log_probs(log_probs, rng)))
    }

    /// The most probable action of each decision (the first on ties), for evaluation.
    ///
    /// # Errors
    /// As [`ActionPolicy::distributions`].
    pub fn greedy(&self, decisions: &[&ActionDecision]) -> Result<Vec<SampledAction>> {
        self.greedy_on(decisions, 1)
    }

    /// [`ActionPolicy::greedy`] with the distributions computed on `threads` threads.
    ///
    /// # Errors
    /// As [`ActionPolicy::distributions`].
    pub fn greedy_on(
        &self,
        decisions: &[&ActionDecision],
        threads: usize,
    ) -> Result<Vec<SampledAction>> {
        let rows = self.log_prob_rows(decisions, threads)?;
        Ok(choose(&rows, argmax))
    }

    /// Log-probability of `actions[i]` at `decisions[i]`.
    ///
    /// # Errors
    /// As [`ActionPolicy::distributions`], or when an action is out of range.
    pub fn log_probs(&self, decisions: &[&ActionDecision], actions: &[u32]) -> Result<Vec<f32>> {
        Ok(self.evaluate(decisions, actions)?.log_probs.to_vec1()?)
    }

    /// `(pairs,)` logits for every (decision, action) pair of the batch.
    pub(super) fn pair_logits(&self, batch: &PreparedBatch) -> Result<Tensor> {
        let weights = &self.weights;
        let clause_count = match (&batch.clauses, &batch.context) {
            (Some(layout), _) => layout.clauses,
            (None, Some(context)) => context.clauses,
            (None, None) => 0,
        };
        let texts = batch.observations + batch.actions + clause_count;
        let bags = match &batch.bags {
            Some(bag) => bag.apply(weights.embedding.as_tensor())?,
            None => Tensor::zeros((texts, self.config.embedding_dim), DType::F32, &self.device)?,
        };
        let mut observation = bags.narrow(0, 0, batch.observations)?;
        let action = bags.narrow(0, batch.observations, batch.actions)?;
        if let (Some(numeric), Some(numeric_weight)) = (&batch.numeric, &weights.numeric) {
            observation = (observation + numeric.matmul(numeric_weight)?)?;
        }

        let hidden_observation = observation.matmul(&weights.hidden_observation)?;
        let hidden_action = action
            .matmul(&weights.hidden_action)?
            .broadcast_add(&weights.hidden_bias)?;
        let (pair_observation, pair_action) = (&batch.pair_observation, &batch.pair_action);
        let interaction = (observation.index_select(pair_observation, 0)?
            * action.index_select(pair_action, 0)?)?;
        let hidden = (interaction.matmul(&weights.hidden_interaction)?
            + hidden_observation.index_select(pair_observation, 0)?)?;
        let mut hidden = (hidden + hidden_action.index_select(pair_action, 0)?)?;
        if let (Some(overlap), Some(weight)) = (&batch.pair_overlap, &weights.header_overlap) {
            hidden = (hidden + overlap.matmul(weight)?)?;
        }
        if let (Some(context_weights), Some(context)) = (&weights.action_context, &batch.context) {
            let clauses = bags.narrow(0, batch.observations + batch.actions, context.clauses)?;
            let pair_context = context.pair_context.apply(&clauses)?;
            let header = context
                .observation_header
                .apply(&clauses)?
                .index_select(pair_observation, 0)?;
            let pair_action_bag = action.index_select(pair_action, 0)?;
            hidden = (hidden
                + pair_context.matmul(&context_weights.context)?
                + (&pair_context * pair_action_bag)?.matmul(&context_weights.context_action)?
                + (&pair_context * header)?.matmul(&context_weights.context_header)?
                + context.pair_goal.matmul(&context_weights.goal)?)?;
        }
        if let (Some(attention), Some(layout)) = (&weights.attention, &batch.clauses) {
            let clauses = bags.narrow(0, batch.observations + batch.actions, layout.clauses)?;
            hidden = (hidden
                + attention.hidden(
                    &clauses,
                    &action,
                    layout,
                    &batch.segments,
                    pair_observation,
                    pair_action,
                )?)?;
        }
        let hidden = hidden.relu()?;
        Ok(hidden.matmul(&weights.output)?.squeeze(1)?)
    }
}

impl AttentionWeights {
    /// The attention blocks' `(pairs, hidden)` contribution to the hidden layer.
    ///
    /// Attention runs per decision in the padded `(decisions, max actions)` layout: one
    /// small matmul per decision of its actions' queries against its observation's clause
    /// slots, instead of a `(pairs, slots, dim)` tensor ten times the size.
    fn hidden(
        &self,
        clauses: &Tensor,
        action: &Tensor,
        layout: &ClauseIndex,
        segments: &Segments,
        pair_observation: &Tensor,
        pair_action: &Tensor,
    ) -> Result<Tensor> {
        let dim = clauses.dim(1)?;
        let padding = Tensor::zeros((1, dim), DType::F32, clauses.device())?;
        let clauses = Tensor::cat(&[clauses, &padding], 0)?;
        let observations = layout.slot_mask.dim(0)?;
        let slots = clauses.index_select(&layout.slot_clause, 0)?.reshape((
            observations,
            layout.slots,
            dim,
        ))?;
        let header = slots.narrow(1, 0, 1)?.squeeze(1)?.contiguous()?;

        let (decisions, width) = (segments.rows(), segments.width());
        let decision_slots = slots.index_select(&layout.decision_observation, 0)?;
        let query = action.matmul(&self.query)?.index_select(pair_action, 0)?;
        let query = Tensor::cat(&[&query, &padding], 0)?
            .index_select(segments.gather_index(), 0)?
            .reshape((decisions, width, dim))?;
        let mask = layout
            .slot_mask
            .index_select(&layout.decision_observation, 0)?
            .unsqueeze(1)?;
        let scores = (query.matmul(&decision_slots.transpose(1, 2)?)? * ATTENTION_SHARPNESS)?
            .broadcast_add(&mask)?;
        let peak = scores.max_keepdim(2)?.detach();
        let exp = scores.broadcast_sub(&peak)?.exp()?;
        let attention = exp.broadcast_div(&exp.sum_keepdim(2)?)?;
        let context = attention
            .matmul(&decision_slots)?
            .reshape((decisions * width, dim))?
            .index_select(&layout.pair_padded, 0)?;

        let pair_header = header.index_select(pair_observation, 0)?;
        let pair_action_embedding = action.index_select(pair_action, 0)?;
        let hidden = header
            .matmul(&self.header)?
            .index_select(pair_observation, 0)?;
        let hidden =
            (hidden + (&pair_header * &pair_action_embedding)?.matmul(&self.header_action)?)?;
        let hidden = (hidden + context.matmul(&self.context)?)?;
        let hidden =
            (hidden + (&context * &pair_action_embedding)?.matmul(&self.context_action)?)?;
        Ok((hidden + (&context * &pair_header)?.matmul(&self.context_header)?)?)
    }
}

/// The action `pick` takes in each row of log-probabilities, with its log-probability.
fn choose(rows: &[Vec<f32>], mut pick: impl FnMut(&[f32]) -> usize) -> Vec<SampledAction> {
    rows.iter()
        .map(|log_probs| {
            let action = pick(log_probs);
            SampledAction {
                action: action as u32,
                log_prob: log_probs[action],
            }
        })
        .collect()
}
