//! The fused kernel: the forward and backward passes of the bag policy (with or without
//! numeric features, header overlap and action contexts; not clause attention) written
//! out by hand on plain slices, instead of candle's graph of small tensor operations.
//!
//! It computes the same function as [`ActionPolicy::pair_logits`] with fewer passes over
//! memory: every per-pair input of the hidden layer (`obs * act`, the context bag `c`,
//! `c * act`, `c * header`, the overlap and goal shares) is written once into one
//! `(pairs, columns)` matrix and multiplied by the hidden blocks stacked into one
//! `(columns, hidden)` weight, so the layer is one matrix product forward and two
//! backward; the observation and action blocks are applied once per distinct text; the
//! softmax, entropy and their gradients run per decision in one loop; no intermediate is
//! allocated twice and no graph is recorded.
//!
//! The sums are grouped differently from the candle version (one product over the stacked
//! columns instead of one per block, added in another order), so results agree with it to
//! float rounding, not bit for bit (the tests check both the values and the gradients
//! against candle's autograd). Each row's forward values depend only on that row, so a
//! rollout's draws are the same for any number of threads.

use std::collections::BTreeMap;

use candle_core::{CpuStorage, Storage, Tensor, Var};

use crate::dense::{MatRef, matmul};
use crate::error::{LearnError, Result};
use crate::gradients::{Gradient, Gradients, RowGradient};

use super::batch::FlatBatch;
use super::{
    ActionPolicy, HIDDEN_ACTION, HIDDEN_ACTION_CONTEXT, HIDDEN_ACTION_CONTEXT_ACTION,
    HIDDEN_ACTION_CONTEXT_GOAL, HIDDEN_ACTION_CONTEXT_HEADER, HIDDEN_BIAS, HIDDEN_HEADER_OVERLAP,
    HIDDEN_INTERACTION, HIDDEN_OBSERVATION, NUMERIC, OUTPUT,
};

/// Which parameter each block of rows of the stacked pair weight comes from, in column
/// order of the pair matrix, with its row count.
fn pair_blocks(policy: &ActionPolicy) -> Vec<(&'static str, usize)> {
    let (config, dim) = (&policy.config, policy.config.embedding_dim);
    let mut blocks = vec![(HIDDEN_INTERACTION, dim)];
    if config.action_context {
        blocks.extend([
            (HIDDEN_ACTION_CONTEXT, dim),
            (HIDDEN_ACTION_CONTEXT_ACTION, dim),
            (HIDDEN_ACTION_CONTEXT_HEADER, dim),
        ]);
    }
    if config.header_overlap {
        blocks.push((HIDDEN_HEADER_OVERLAP, 1));
    }
    if config.action_context {
        blocks.push((HIDDEN_ACTION_CONTEXT_GOAL, 1));
    }
    blocks
}

/// Runs `read` on the values of a contiguous f32 CPU tensor, in place.
fn with_values<R>(tensor: &Tensor, read: impl FnOnce(&[f32]) -> R) -> Result<R> {
    let (storage, layout) = tensor.storage_and_layout();
    match (&*storage, layout.contiguous_offsets()) {
        (Storage::Cpu(CpuStorage::F32(values)), Some((start, end))) => {
            Ok(read(&values[start..end]))
        }
        _ => Err(LearnError::InvalidBatch(
            "the fused kernel needs contiguous f32 CPU weights".into(),
        )),
    }
}

fn values_of(var: &Var) -> Result<Vec<f32>> {
    with_values(var.as_tensor(), <[f32]>::to_vec)
}

/// Row `index` of a row-major matrix with `width` columns.
fn row(values: &[f32], index: usize, width: usize) -> &[f32] {
    &values[index * width..][..width]
}

fn row_mut(values: &mut [f32], index: usize, width: usize) -> &mut [f32] {
    &mut values[index * width..][..width]
}

fn add_into(sum: &mut [f32], values: &[f32]) {
    for (sum, value) in sum.iter_mut().zip(values) {
        *sum += value;
    }
}

fn add_scaled(sum: &mut [f32], values: &[f32], scale: f32) {
    for (sum, value) in sum.iter_mut().zip(values) {
        *sum += value * scale;
    }
}

/// A batch's forward pass, kept for its backward pass.
pub(super) struct FusedPass {
    flat: FlatBatch,
    /// `(texts, dim)`: every distinct text's bag (observations, actions, clauses).
    bags: Vec<f32>,
    /// `(observations, dim)`: the observation rows with their numeric part.
    observation: Vec<f32>,
    /// `(pairs, dim)`: each pair's context bag (empty without action contexts).
    context: Vec<f32>,
    /// `(observations, dim)`: each observation's header clause (empty without contexts).
    header: Vec<f32>,
    /// `(pairs, columns)`: the pair inputs of the hidden layer.
    pair_inputs: Vec<f32>,
    /// `(columns, hidden)`: the stacked pair blocks of the hidden layer.
    pair_weight: Vec<f32>,
    /// `(pairs, hidden)`: the hidden layer before the ReLU.
    hidden: Vec<f32>,
    /// `(hidden,)`: the output layer.
    output: Vec<f32>,
    /// `(pairs,)`: log-probability of every pair's action at its decision.
    log_probs: Vec<f32>,
    /// `(decisions,)`: entropy of each decision's distribution.
    entropy: Vec<f32>,
    /// Where each decision's pairs start.
    starts: Vec<usize>,
}

impl ActionPolicy {
    /// Whether this policy's passes run on the fused kernel.
    pub(super) fn runs_fused(&self) -> bool {
        self.config.kernel == super::PolicyKernel::Fused && !self.config.clause_attention
    }

    /// The forward pass of a flattened batch (see the module documentation).
    pub(super) fn fused_forward(&self, flat: FlatBatch) -> Result<FusedPass> {
        let config = &self.config;
        let (dim, hidden_dim) = (config.embedding_dim, config.hidden_dim);
        let weights = &self.weights;
        let (observations, actions) = (flat.observations, flat.actions);
        let texts = observations + actions + flat.clause_count;
        let pairs = flat.pair_observation.len();
        if flat.counts.is_empty() {
            return Err(LearnError::InvalidBatch("no decisions".into()));
        }
        if let Some(position) = flat.counts.iter().position(|&count| count == 0) {
            return Err(LearnError::InvalidBatch(format!(
                "decision {position} has no admissible action"
            )));
        }

        let mut bags = vec![0f32; texts * dim];
        with_values(weights.embedding.as_tensor(), |table| {
            let entries = flat.ids.iter().zip(&flat.text_of_id).zip(&flat.id_weight);
            for ((&id, &text), &weight) in entries {
                add_scaled(
                    row_mut(&mut bags, text as usize, dim),
                    row(table, id as usize, dim),
                    weight,
                );
            }
        })?;
        let mut observation = bags[..observations * dim].to_vec();
        if let Some(numeric) = &weights.numeric {
            let numeric_weight = values_of(numeric)?;
            let numeric_dim = config.numeric_dim;
            matmul(
                &mut observation,
                MatRef::new(&flat.numeric, observations, numeric_dim),
                MatRef::new(&numeric_weight, numeric_dim, dim),
                true,
            );
        }
        let action = &bags[observations * dim..(observations + actions) * dim];
        let clauses = &bags[(observations + actions) * dim..];

        let mut hidden_observation = vec![0f32; observations * hidden_dim];
        matmul(
            &mut hidden_observation,
            MatRef::new(&observation, observations, dim),
            MatRef::new(&values_of(&weights.hidden_observation)?, dim, hidden_dim),
            false,
        );
        let bias = values_of(&weights.hidden_bias)?;
        let mut hidden_action: Vec<f32> = bias.repeat(actions);
        matmul(
            &mut hidden_action,
            MatRef::new(action, actions, dim),
            MatRef::new(&values_of(&weights.hidden_action)?, dim, hidden_dim),
            true,
        );

        let (mut context, mut header) = (Vec::new(), Vec::new());
        if let Some(flat_context) = &flat.context {
            context = vec![0f32; pairs * dim];
            let entries = flat_context
                .clause_ids
                .iter()
                .zip(&flat_context.clause_pair)
                .zip(&flat_context.clause_weight);
            for ((&clause, &pair), &weight) in entries {
                add_scaled(
                    row_mut(&mut context, pair as usize, dim),
                    row(clauses, clause as usize, dim),
                    weight,
                );
            }
            header = vec![0f32; observations * dim];
            let headers = flat_context
                .header_ids
                .iter()
                .zip(&flat_context.header_observation);
            for (&clause, &observation) in headers {
                add_into(
                    row_mut(&mut header, observation as usize, dim),
                    row(clauses, clause as usize, dim),
                );
            }
        }

        let blocks = pair_blocks(self);
        let columns: usize = blocks.iter().map(|(_, rows)| rows).sum();
        let mut pair_weight = Vec::with_capacity(columns * hidden_dim);
        for (name, _) in &blocks {
            let var = self.parameters.get(name).ok_or_else(|| {
                LearnError::InvalidConfig(format!("action policy lacks parameter `{name}`"))
            })?;
            pair_weight.extend(values_of(var)?);
        }
        let mut pair_inputs = vec![0f32; pairs * columns];
        for pair in 0..pairs {
            let (o, a) = (
                flat.pair_observation[pair] as usize,
                flat.pair_action[pair] as usize,
            );
            let (obs, act) = (row(&observation, o, dim), row(action, a, dim));
            let inputs = row_mut(&mut pair_inputs, pair, columns);
            for j in 0..dim {
                inputs[j] = obs[j] * act[j];
            }
            let mut column = dim;
            if flat.context.is_some() {
                let (ctx, head) = (row(&context, pair, dim), row(&header, o, dim));
                for j in 0..dim {
                    inputs[dim + j] = ctx[j];
                    inputs[2 * dim + j] = ctx[j] * act[j];
                    inputs[3 * dim + j] = ctx[j] * head[j];
                }
                column = 4 * dim;
            }
            if config.header_overlap {
                inputs[column] = flat.pair_overlap[pair];
                column += 1;
            }
            if let Some(flat_context) = &flat.context {
                inputs[column] = flat_context.pair_goal[pair];
            }
        }

        let mut hidden = vec![0f32; pairs * hidden_dim];
        matmul(
            &mut hidden,
            MatRef::new(&pair_inputs, pairs, columns),
            MatRef::new(&pair_weight, columns, hidden_dim),
            false,
        );
        for pair in 0..pairs {
            let (o, a) = (
                flat.pair_observation[pair] as usize,
                flat.pair_action[pair] as usize,
            );
            let sum = row_mut(&mut hidden, pair, hidden_dim);
            add_into(sum, row(&hidden_observation, o, hidden_dim));
            add_into(sum, row(&hidden_action, a, hidden_dim));
        }
        let output = values_of(&weights.output)?;
        let logits: Vec<f32> = hidden
            .chunks_exact(hidden_dim)
            .map(|units| {
                units
                    .iter()
                    .zip(&output)
                    .map(|(&unit, &weight)| unit.max(0.0) * weight)
                    .sum()
            })
            .collect();

        let mut starts = Vec::with_capacity(flat.counts.len());
        let mut log_probs = Vec::with_capacity(pairs);
        let mut entropy = Vec::with_capacity(flat.counts.len());
        for &count in &flat.counts {
            let start = log_probs.len();
            starts.push(start);
            let row = &logits[start..start + count];
            let peak = row.iter().copied().fold(f32::NEG_INFINITY, f32::max);
            let normaliser = row.iter().map(|&z| (z - peak).exp()).sum::<f32>().ln();
            log_probs.extend(row.iter().map(|&z| z - peak - normaliser));
            let decision = &log_probs[start..];
            entropy.push(-decision.iter().map(|&lp| lp.exp() * lp).sum::<f32>());
        }
        Ok(FusedPass {
            flat,
            bags,
            observation,
            context,
            header,
            pair_inputs,
            pair_weight,
            hidden,
            output,
            log_probs,
            entropy,
            starts,
        })
    }
}

impl FusedPass {
    /// Checks that `actions[i]` is admissible at decision `i`.
    pub(super) fn check_actions(&self, actions: &[u32]) -> Result<()> {
        let counts = &self.flat.counts;
        if actions.len() != counts.len() {
            return Err(LearnError::InvalidBatch(format!(
                "{} decisions but {} actions",
                counts.len(),
                actions.len()
            )));
        }
        match actions
            .iter()
            .zip(counts)
            .position(|(&action, &count)| action as usize >= count)
        {
            Some(decision) => Err(LearnError::InvalidBatch(format!(
                "decision {decision}: action {} but only {} admissible",
                actions[decision], counts[decision]
            ))),
            None => Ok(()),
        }
    }

    /// Each decision's log-probabilities, cut to its action count.
    pub(super) fn rows(&self) -> Vec<Vec<f32>> {
        self.starts
            .iter()
            .zip(&self.flat.counts)
            .map(|(&start, &count)| self.log_probs[start..start + count].to_vec())
            .collect()
    }

    /// The log-probability of `actions[i]` at decision `i`, and each decision's entropy.
    pub(super) fn chosen(&self, actions: &[u32]) -> (Vec<f32>, &[f32]) {
        let chosen = self
            .starts
            .iter()
            .zip(actions)
            .map(|(&start, &action)| self.log_probs[start + action as usize])
            .collect();
        (chosen, &self.entropy)
    }

    /// The gradients of every parameter for a loss whose gradient is `grad_log_prob[i]`
    /// with respect to the chosen log-probability of decision `i` and `grad_entropy[i]`
    /// with respect to its entropy.
    /// The pass's buffers are reused for the gradients, so it is consumed.
    pub(super) fn backward(
        mut self,
        policy: &ActionPolicy,
        actions: &[u32],
        grad_log_prob: &[f32],
        grad_entropy: &[f32],
    ) -> Result<Gradients> {
        let config = &policy.config;
        let (dim, hidden_dim) = (config.embedding_dim, config.hidden_dim);
        let flat = &self.flat;
        let (observations, actions_count) = (flat.observations, flat.actions);
        let texts = observations + actions_count + flat.clause_count;
        let pairs = flat.pair_observation.len();
        let columns = self.pair_weight.len() / hidden_dim;
        let mut grads: BTreeMap<&'static str, (Vec<f32>, Vec<usize>)> = BTreeMap::new();

        // Softmax and entropy per decision: d lp_k / d z_j = [j = k] - p_j and
        // d H / d z_j = -p_j (lp_j + H).
        let mut grad_logit = vec![0f32; pairs];
        for (decision, (&start, &count)) in self.starts.iter().zip(&flat.counts).enumerate() {
            let (taken, entropy) = (actions[decision] as usize, self.entropy[decision]);
            let (g_lp, g_h) = (grad_log_prob[decision], grad_entropy[decision]);
            for j in 0..count {
                let lp = self.log_probs[start + j];
                let p = lp.exp();
                let indicator = if j == taken { 1.0 } else { 0.0 };
                grad_logit[start + j] = g_lp * (indicator - p) - g_h * p * (lp + entropy);
            }
        }

        let mut grad_output = vec![0f32; hidden_dim];
        // The hidden layer's gradient overwrites its values, unit by unit.
        let mut grad_hidden = std::mem::take(&mut self.hidden);
        let per_pair = grad_hidden.chunks_exact_mut(hidden_dim).zip(&grad_logit);
        for (units, &g) in per_pair {
            for ((unit, sum), &weight) in units.iter_mut().zip(&mut grad_output).zip(&self.output) {
                let active = *unit > 0.0;
                *sum += unit.max(0.0) * g;
                *unit = if active { g * weight } else { 0.0 };
            }
        }
        grads.insert(OUTPUT, (grad_output, vec![hidden_dim, 1]));

        let mut grad_bias = vec![0f32; hidden_dim];
        let mut grad_hidden_observation = vec![0f32; observations * hidden_dim];
        let mut grad_hidden_action = vec![0f32; actions_count * hidden_dim];
        for pair in 0..pairs {
            let (o, a) = (
                flat.pair_observation[pair] as usize,
                flat.pair_action[pair] as usize,
            );
            let g = row(&grad_hidden, pair, hidden_dim);
            add_into(row_mut(&mut grad_hidden_observation, o, hidden_dim), g);
            add_into(row_mut(&mut grad_hidden_action, a, hidden_dim), g);
        }
        for g in grad_hidden_action.chunks_exact(hidden_dim) {
            add_into(&mut grad_bias, g);
        }
        grads.insert(HIDDEN_BIAS, (grad_bias, vec![hidden_dim]));

        let mut grad_pair_weight = vec![0f32; columns * hidden_dim];
        matmul(
            &mut grad_pair_weight,
            MatRef::new(&self.pair_inputs, pairs, columns).t(),
            MatRef::new(&grad_hidden, pairs, hidden_dim),
            false,
        );
        let mut offset = 0;
        for (name, rows) in pair_blocks(policy) {
            let block =
                grad_pair_weight[offset * hidden_dim..(offset + rows) * hidden_dim].to_vec();
            grads.insert(name, (block, vec![rows, hidden_dim]));
            offset += rows;
        }
        // The inputs' gradient overwrites the inputs (no longer needed after the weights').
        let mut grad_inputs = std::mem::take(&mut self.pair_inputs);
        matmul(
            &mut grad_inputs,
            MatRef::new(&grad_hidden, pairs, hidden_dim),
            MatRef::new(&self.pair_weight, columns, hidden_dim).t(),
            false,
        );

        let action = &self.bags[observations * dim..(observations + actions_count) * dim];
        let mut grad_observation = vec![0f32; observations * dim];
        let mut grad_action = vec![0f32; actions_count * dim];
        let mut grad_header = vec![0f32; self.header.len()];
        // The context's gradient overwrites the context bag, element by element.
        let mut context = std::mem::take(&mut self.context);
        let has_context = flat.context.is_some();
        for pair in 0..pairs {
            let (o, a) = (
                flat.pair_observation[pair] as usize,
                flat.pair_action[pair] as usize,
            );
            let g = row(&grad_inputs, pair, columns);
            let (obs, act) = (row(&self.observation, o, dim), row(action, a, dim));
            let g_interaction = &g[..dim];
            let g_obs = row_mut(&mut grad_observation, o, dim);
            for ((sum, &gi), &y) in g_obs.iter_mut().zip(g_interaction).zip(act) {
                *sum += gi * y;
            }
            let g_act = row_mut(&mut grad_action, a, dim);
            for ((sum, &gi), &x) in g_act.iter_mut().zip(g_interaction).zip(obs) {
                *sum += gi * x;
            }
            if has_context {
                let head = row(&self.header, o, dim);
                let g_head = row_mut(&mut grad_header, o, dim);
                let ctx = row_mut(&mut context, pair, dim);
                let (g_plain, g_act_product, g_head_product) =
                    (&g[dim..2 * dim], &g[2 * dim..3 * dim], &g[3 * dim..4 * dim]);
                for j in 0..dim {
                    let c = ctx[j];
                    g_act[j] += g_act_product[j] * c;
                    g_head[j] += g_head_product[j] * c;
                    ctx[j] = g_plain[j] + g_act_product[j] * act[j] + g_head_product[j] * head[j];
                }
            }
        }
        let grad_context = context;

        let mut grad_weight_observation = vec![0f32; dim * hidden_dim];
        matmul(
            &mut grad_weight_observation,
            MatRef::new(&self.observation, observations, dim).t(),
            MatRef::new(&grad_hidden_observation, observations, hidden_dim),
            false,
        );
        grads.insert(
            HIDDEN_OBSERVATION,
            (grad_weight_observation, vec![dim, hidden_dim]),
        );
        let weight_observation = values_of(&policy.weights.hidden_observation)?;
        matmul(
            &mut grad_observation,
            MatRef::new(&grad_hidden_observation, observations, hidden_dim),
            MatRef::new(&weight_observation, dim, hidden_dim).t(),
            true,
        );
        let mut grad_weight_action = vec![0f32; dim * hidden_dim];
        matmul(
            &mut grad_weight_action,
            MatRef::new(action, actions_count, dim).t(),
            MatRef::new(&grad_hidden_action, actions_count, hidden_dim),
            false,
        );
        grads.insert(HIDDEN_ACTION, (grad_weight_action, vec![dim, hidden_dim]));
        let weight_action = values_of(&policy.weights.hidden_action)?;
        matmul(
            &mut grad_action,
            MatRef::new(&grad_hidden_action, actions_count, hidden_dim),
            MatRef::new(&weight_action, dim, hidden_dim).t(),
            true,
        );
        if policy.weights.numeric.is_some() {
            let numeric_dim = config.numeric_dim;
            let mut grad_numeric = vec![0f32; numeric_dim * dim];
            matmul(
                &mut grad_numeric,
                MatRef::new(&flat.numeric, observations, numeric_dim).t(),
                MatRef::new(&grad_observation, observations, dim),
                false,
            );
            grads.insert(NUMERIC, (grad_numeric, vec![numeric_dim, dim]));
        }

        let mut table_gradient = None;
        if !flat.ids.is_empty() {
            let mut grad_bags = vec![0f32; texts * dim];
            grad_bags[..observations * dim].copy_from_slice(&grad_observation);
            grad_bags[observations * dim..(observations + actions_count) * dim]
                .copy_from_slice(&grad_action);
            if let Some(flat_context) = &flat.context {
                let clause_start = observations + actions_count;
                let entries = flat_context
                    .clause_ids
                    .iter()
                    .zip(&flat_context.clause_pair)
                    .zip(&flat_context.clause_weight);
                for ((&clause, &pair), &weight) in entries {
                    add_scaled(
                        row_mut(&mut grad_bags, clause_start + clause as usize, dim),
                        row(&grad_context, pair as usize, dim),
                        weight,
                    );
                }
                let headers = flat_context
                    .header_ids
                    .iter()
                    .zip(&flat_context.header_observation);
                for (&clause, &observation) in headers {
                    add_into(
                        row_mut(&mut grad_bags, clause_start + clause as usize, dim),
                        row(&grad_header, observation as usize, dim),
                    );
                }
            }
            let buckets = policy.featurizer.buckets();
            // Each touched table row's place among the gradient's rows (in row order).
            let mut place = vec![u32::MAX; buckets];
            for &id in &flat.ids {
                place[id as usize] = 0;
            }
            let mut rows = Vec::new();
            for (id, slot) in place.iter_mut().enumerate() {
                if *slot == 0 {
                    *slot = rows.len() as u32;
                    rows.push(id as u32);
                }
            }
            let mut grad_rows = vec![0f32; rows.len() * dim];
            let entries = flat.ids.iter().zip(&flat.text_of_id).zip(&flat.id_weight);
            for ((&id, &text), &weight) in entries {
                let at = place[id as usize] as usize;
                add_scaled(
                    row_mut(&mut grad_rows, at, dim),
                    row(&grad_bags, text as usize, dim),
                    weight,
                );
            }
            table_gradient = Some(RowGradient::new((buckets, dim), rows, grad_rows)?);
        }

        let device = policy.device();
        let mut gradients = Gradients::default();
        for (name, (values, shape)) in grads {
            gradients.insert(
                name,
                Gradient::Dense(Tensor::from_vec(values, shape, device)?),
            );
        }
        if let Some(table) = table_gradient {
            gradients.insert(super::EMBEDDING, Gradient::Rows(table));
        }
        Ok(gradients)
    }
}
