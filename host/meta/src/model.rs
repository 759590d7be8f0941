//! The Meta-Optimizer's network: a token embedding, a stack of GRU layers and a linear
//! read-out over the grammar's vocabulary.
//!
//! The model is autoregressive: the input at position `t` is the token at `t - 1` (a
//! dedicated start token at `t = 0`), and the output is a distribution over the next token,
//! restricted to the automaton's mask and sharpened or flattened by the sampling
//! temperature. As a [`PolicyModel`] each sampled token is one decision: GRPO recomputes its
//! probability by running each distinct program once, time-major, and gathering the
//! positions it asks for.
//!
//! The gate layout follows PyTorch's `nn.GRU` (reset, update, new; `h' = n + z (h - n)`).
//! Weights are stored `(fan_in, fan_out)` so that `x.matmul(w)` applies them.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

use candle_core::{DType, Device, Tensor, Var};
use derl_learn::init::{parameter_rng, uniform};
use derl_learn::segments::{evaluate_rows, masked_log_softmax};
use derl_learn::{DecisionEvaluation, LearnError, Parameters, PolicyModel, checkpoint};
use serde::{Deserialize, Serialize};

use crate::decoding::{ProgramTrace, TokenDecision};
use crate::error::{MetaError, Result};
use crate::grammar::{Grammar, GrammarConfig};

/// Model kind recorded in checkpoints.
pub const META_OPTIMIZER_KIND: &str = "derl-meta/meta-optimizer";

const EMBEDDING: &str = "embedding";
const OUTPUT_WEIGHT: &str = "output.weight";
const OUTPUT_BIAS: &str = "output.bias";
/// Embedding entries are uniform in `±EMBEDDING_INIT_BOUND`.
const EMBEDDING_INIT_BOUND: f64 = 1.0;
/// The read-out starts small, so the first samples are close to uniform over the mask.
const OUTPUT_INIT_GAIN: f64 = 0.5;

/// Architecture of the Meta-Optimizer and the grammar it decodes.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MetaOptimizerConfig {
    /// The programs it may emit.
    pub grammar: GrammarConfig,
    /// Width of the token embedding. Default 32.
    pub embedding_dim: usize,
    /// Width of each GRU layer. Default 64.
    pub hidden_dim: usize,
    /// Number of stacked GRU layers (1 to 4). Default 1.
    pub layers: usize,
    /// Settings of supervised cold-start pretraining.
    pub pretrain: PretrainConfig,
}

impl Default for MetaOptimizerConfig {
    fn default() -> Self {
        Self {
            grammar: GrammarConfig::default(),
            embedding_dim: 32,
            hidden_dim: 64,
            layers: 1,
            pretrain: PretrainConfig::default(),
        }
    }
}

/// Settings of [`MetaOptimizer::pretrain`] (AdamW on the mean negative log-likelihood of
/// seed programs, every choice the mask leaves open counting once).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PretrainConfig {
    /// AdamW learning rate. Default `3e-3`.
    pub learning_rate: f64,
    /// Programs per optimizer step. Default 16.
    pub batch_programs: usize,
    /// Global gradient-norm clip; `null` turns it off. Default 1.0.
    pub max_grad_norm: Option<f64>,
}

impl Default for PretrainConfig {
    fn default() -> Self {
        Self {
            learning_rate: 3e-3,
            batch_programs: 16,
            max_grad_norm: Some(1.0),
        }
    }
}

impl MetaOptimizerConfig {
    /// Checks every documented range.
    ///
    /// # Errors
    /// [`MetaError::InvalidConfig`] naming the first offending field.
    pub fn validate(&self) -> Result<()> {
        let invalid = |message: &str| Err(MetaError::InvalidConfig(message.into()));
        self.grammar.validate()?;
        if self.embedding_dim == 0 || self.hidden_dim == 0 {
            return invalid("embedding_dim and hidden_dim must be positive");
        }
        if !(1..=4).contains(&self.layers) {
            return invalid("layers must be in 1..=4");
        }
        let pretrain = &self.pretrain;
        if !(pretrain.learning_rate.is_finite() && pretrain.learning_rate > 0.0) {
            return invalid("pretrain.learning_rate must be positive");
        }
        if pretrain.batch_programs == 0 {
            return invalid("pretrain.batch_programs must be positive");
        }
        if let Some(max) = pretrain.max_grad_norm
            && !(max.is_finite() && max > 0.0)
        {
            return invalid("pretrain.max_grad_norm must be positive (or null)");
        }
        Ok(())
    }
}

/// What a checkpoint records to rebuild the model before filling its weights.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct SavedArchitecture {
    config: MetaOptimizerConfig,
    primitive_count: usize,
    seed: u64,
}

/// One GRU layer's weights.
#[derive(Clone, Debug)]
struct GruLayer {
    /// `(input, 3 * hidden)`: reset, update and new gates.
    input_weight: Var,
    /// `(hidden, 3 * hidden)`.
    hidden_weight: Var,
    /// `(3 * hidden,)`.
    input_bias: Var,
    /// `(3 * hidden,)`.
    hidden_bias: Var,
}

impl GruLayer {
    fn names(layer: usize) -> [String; 4] {
        ["input_weight", "hidden_weight", "input_bias", "hidden_bias"]
            .map(|part| format!("gru.{layer}.{part}"))
    }

    /// `(rows, 3H)` input projections for a `(rows, input)` batch.
    fn project_input(&self, inputs: &Tensor) -> candle_core::Result<Tensor> {
        inputs
            .matmul(self.input_weight.as_tensor())?
            .broadcast_add(self.input_bias.as_tensor())
    }

    /// One step: the next `(batch, H)` hidden state from projected inputs `(batch, 3H)`.
    fn cell(&self, gates_in: &Tensor, hidden: &Tensor) -> candle_core::Result<Tensor> {
        let width = hidden.dim(1)?;
        let gates_hidden = hidden
            .matmul(self.hidden_weight.as_tensor())?
            .broadcast_add(self.hidden_bias.as_tensor())?;
        let reset_update = candle_nn::ops::sigmoid(
            &(gates_in.narrow(1, 0, 2 * width)? + gates_hidden.narrow(1, 0, 2 * width)?)?,
        )?;
        let reset = reset_update.narrow(1, 0, width)?;
        let update = reset_update.narrow(1, width, width)?;
        let candidate = (gates_in.narrow(1, 2 * width, width)?
            + (reset * gates_hidden.narrow(1, 2 * width, width)?)?)?
        .tanh()?;
        &candidate + (update * (hidden - &candidate)?)?
    }
}

#[derive(Clone, Debug)]
struct Weights {
    /// `(vocabulary + 1, embedding)`: the last row is the start token.
    embedding: Var,
    layers: Vec<GruLayer>,
    /// `(hidden, vocabulary)`.
    output_weight: Var,
    /// `(vocabulary,)`.
    output_bias: Var,
}

/// The grammar-constrained autoregressive generator of Meta-Reward programs.
///
/// `clone` shares the weights (candle variables are handles); use
/// [`PolicyModel::snapshot`] for an independent copy.
#[derive(Clone, Debug)]
pub struct MetaOptimizer {
    config: MetaOptimizerConfig,
    grammar: Grammar,
    seed: u64,
    device: Device,
    parameters: Parameters,
    weights: Weights,
}

impl MetaOptimizer {
    /// A model for an environment with `primitive_count` primitives, with fresh weights
    /// drawn from `seed` (on the CPU).
    ///
    /// # Errors
    /// [`MetaError::InvalidConfig`] for an invalid configuration or primitive count.
    pub fn new(config: MetaOptimizerConfig, primitive_count: usize, seed: u64) -> Result<Self> {
        config.validate()?;
        let grammar = Grammar::new(config.grammar.clone(), primitive_count)?;
        let device = Device::Cpu;
        let vocabulary = grammar.vocabulary().len();
        let (embedding, hidden) = (config.embedding_dim, config.hidden_dim);
        let mut parameters = Parameters::new();
        let mut insert = |name: &str, dims: &[usize], bound: f64| -> Result<()> {
            let value = if bound == 0.0 {
                Tensor::zeros(dims, DType::F32, &device)?
            } else {
                uniform(&mut parameter_rng(seed, name), dims, bound, &device)?
            };
            parameters.insert(name, &value)?;
            Ok(())
        };
        insert(
            EMBEDDING,
            &[vocabulary + 1, embedding],
            EMBEDDING_INIT_BOUND,
        )?;
        // PyTorch's GRU initialisation: every entry uniform in ±1/sqrt(hidden).
        let gru_bound = 1.0 / (hidden as f64).sqrt();
        for layer in 0..config.layers {
            let input = if layer == 0 { embedding } else { hidden };
            let [input_weight, hidden_weight, input_bias, hidden_bias] = GruLayer::names(layer);
            insert(&input_weight, &[input, 3 * hidden], gru_bound)?;
            insert(&hidden_weight, &[hidden, 3 * hidden], gru_bound)?;
            insert(&input_bias, &[3 * hidden], gru_bound)?;
            insert(&hidden_bias, &[3 * hidden], gru_bound)?;
        }
        insert(
            OUTPUT_WEIGHT,
            &[hidden, vocabulary],
            OUTPUT_INIT_GAIN * gru_bound,
        )?;
        insert(OUTPUT_BIAS, &[vocabulary], 0.0)?;
        Self::from_parameters(config, grammar, seed, parameters)
    }

    fn from_parameters(
        config: MetaOptimizerConfig,
        grammar: Grammar,
        seed: u64,
        parameters: Parameters,
    ) -> Result<Self> {
        let var = |name: &str| {
            parameters.get(name).cloned().ok_or_else(|| {
                MetaError::InvalidConfig(format!("meta-optimizer lacks parameter `{name}`"))
            })
        };
        let layers = (0..config.layers)
            .map(|layer| {
                let [input_weight, hidden_weight, input_bias, hidden_bias] = GruLayer::names(layer);
                Ok(GruLayer {
                    input_weight: var(&input_weight)?,
                    hidden_weight: var(&hidden_weight)?,
                    input_bias: var(&input_bias)?,
                    hidden_bias: var(&hidden_bias)?,
                })
            })
            .collect::<Result<_>>()?;
        let weights = Weights {
            embedding: var(EMBEDDING)?,
            layers,
            output_weight: var(OUTPUT_WEIGHT)?,
            output_bias: var(OUTPUT_BIAS)?,
        };
        Ok(Self {
            config,
            grammar,
            seed,
            device: Device::Cpu,
            parameters,
            weights,
        })
    }

    /// The configuration.
    pub fn config(&self) -> &MetaOptimizerConfig {
        &self.config
    }

    /// The grammar it decodes (vocabulary, automaton, program checks).
    pub fn grammar(&self) -> &Grammar {
        &self.grammar
    }

    /// The seed the initial weights were drawn from.
    pub fn seed(&self) -> u64 {
        self.seed
    }

    /// The device the weights live on.
    pub fn device(&self) -> &Device {
        &self.device
    }

    /// Id of the start token (the embedding row before the first token).
    pub(crate) fn start_token(&self) -> u32 {
        self.grammar.vocabulary().len() as u32
    }

    /// Zero hidden states, one `(batch, H)` tensor per layer.
    pub(crate) fn initial_hidden(&self, batch: usize) -> candle_core::Result<Vec<Tensor>> {
        (0..self.config.layers)
            .map(|_| Tensor::zeros((batch, self.config.hidden_dim), DType::F32, &self.device))
            .collect()
    }

    /// One decoding step for a batch: feeds `previous` token ids, updates `hidden` and
    /// returns the `(batch, vocabulary)` logits of the next token.
    pub(crate) fn step(
        &self,
        previous: &[u32],
        hidden: &mut [Tensor],
    ) -> candle_core::Result<Tensor> {
        let ids = Tensor::from_slice(previous, previous.len(), &self.device)?;
        let mut inputs = self.weights.embedding.as_tensor().index_select(&ids, 0)?;
        for (layer, state) in self.weights.layers.iter().zip(hidden.iter_mut()) {
            *state = layer.cell(&layer.project_input(&inputs)?, state)?;
            inputs = state.clone();
        }
        self.read_out(&inputs)
    }

    /// `(rows, vocabulary)` logits from `(rows, H)` top-layer states.
    fn read_out(&self, states: &Tensor) -> candle_core::Result<Tensor> {
        states
            .matmul(self.weights.output_weight.as_tensor())?
            .broadcast_add(self.weights.output_bias.as_tensor())
    }

    /// Top-layer states for `batch` sequences over `steps` positions, from time-major input
    /// ids (`inputs[t * batch + b]`); row `t * batch + b` of the result is position `t` of
    /// sequence `b`.
    fn run_sequences(
        &self,
        inputs: &[u32],
        batch: usize,
        steps: usize,
    ) -> candle_core::Result<Tensor> {
        let ids = Tensor::from_slice(inputs, inputs.len(), &self.device)?;
        let mut sequence = self.weights.embedding.as_tensor().index_select(&ids, 0)?;
        for layer in &self.weights.layers {
            let gates_in = layer.project_input(&sequence)?;
            let mut hidden =
                Tensor::zeros((batch, self.config.hidden_dim), DType::F32, &self.device)?;
            let mut outputs = Vec::with_capacity(steps);
            for step in 0..steps {
                hidden = layer.cell(&gates_in.narrow(0, step * batch, batch)?, &hidden)?;
                outputs.push(hidden.clone());
            }
            sequence = Tensor::cat(&outputs, 0)?;
        }
        Ok(sequence)
    }

    /// Writes the weights and architecture to `dir` (see [`derl_learn::checkpoint`]);
    /// `user` is stored verbatim (outer step, run configuration, ...).
    ///
    /// # Errors
    /// On a file-system or serialisation failure.
    pub fn save(&self, dir: &Path, user: &serde_json::Value) -> Result<()> {
        let architecture = SavedArchitecture {
            config: self.config.clone(),
            primitive_count: self.grammar.primitive_count(),
            seed: self.seed,
        };
        let model = serde_json::to_value(&architecture)
            .map_err(|error| MetaError::InvalidConfig(error.to_string()))?;
        checkpoint::save(dir, &self.parameters, META_OPTIMIZER_KIND, model, user)?;
        Ok(())
    }

    /// Rebuilds a model saved by [`MetaOptimizer::save`] (architecture from the metadata,
    /// then the weights, verified against their digest) and returns the caller's metadata.
    ///
    /// # Errors
    /// [`MetaError::Learn`] when files are missing, of another model kind, or do not match.
    pub fn load(dir: &Path) -> Result<(Self, serde_json::Value)> {
        let metadata = checkpoint::read_metadata(dir)?;
        metadata.expect_kind(dir, META_OPTIMIZER_KIND)?;
        let architecture: SavedArchitecture = serde_json::from_value(metadata.model.clone())
            .map_err(|error| LearnError::Checkpoint {
                path: dir.to_path_buf(),
                message: format!("model architecture: {error}"),
            })?;
        let model = Self::new(
            architecture.config,
            architecture.primitive_count,
            architecture.seed,
        )?;
        checkpoint::load_weights(dir, &model.parameters, &metadata)?;
        Ok((model, metadata.user))
    }
}

/// The batch layout of [`PolicyModel::evaluate`]: distinct programs and where each
/// decision's row comes from.
struct EvaluationLayout {
    /// Time-major input ids, `steps * programs`.
    inputs: Vec<u32>,
    programs: usize,
    steps: usize,
    /// Row of each decision in the `(steps * programs)` state matrix.
    rows: Vec<u32>,
    /// `(decisions, vocabulary)` mask, row-major.
    valid: Vec<u8>,
    /// `1 / temperature` of each decision.
    inverse_temperature: Vec<f32>,
}

impl MetaOptimizer {
    fn layout(&self, decisions: &[&TokenDecision]) -> derl_learn::Result<EvaluationLayout> {
        let width = self.grammar.vocabulary().len();
        let invalid = |message: String| Err(LearnError::InvalidBatch(message));
        let mut slots: HashMap<*const ProgramTrace, usize> = HashMap::new();
        let mut traces: Vec<&ProgramTrace> = Vec::new();
        let mut slot_of_decision = Vec::with_capacity(decisions.len());
        let mut steps = 0;
        for decision in decisions {
            let trace: &ProgramTrace = &decision.trace;
            if decision.position >= trace.token_ids.len()
                || trace.masks.len() != trace.token_ids.len()
            {
                return invalid(format!(
                    "decision at position {} of a program of {} tokens and {} masks",
                    decision.position,
                    trace.token_ids.len(),
                    trace.masks.len()
                ));
            }
            if trace.masks[decision.position].len() != width {
                return invalid(format!(
                    "mask of width {} for a vocabulary of {width}",
                    trace.masks[decision.position].len()
                ));
            }
            if !(trace.temperature.is_finite() && trace.temperature > 0.0) {
                return invalid(format!("temperature {}", trace.temperature));
            }
            let slot = match slots.get(&Arc::as_ptr(&decision.trace)) {
                Some(&slot) => slot,
                None => {
                    if let Some(&id) = trace.token_ids.iter().find(|&&id| id as usize >= width) {
                        return invalid(format!("token id {id} outside a vocabulary of {width}"));
                    }
                    slots.insert(Arc::as_ptr(&decision.trace), traces.len());
                    traces.push(trace);
                    traces.len() - 1
                }
            };
            slot_of_decision.push(slot);
            steps = steps.max(decision.position + 1);
        }
        let programs = traces.len();
        let start = self.start_token();
        let mut inputs = Vec::with_capacity(steps * programs);
        for step in 0..steps {
            for trace in &traces {
                let previous = match step {
                    0 => Some(start),
                    _ => trace.token_ids.get(step - 1).copied(),
                };
                // Padding after the end of a shorter program: never read back.
                inputs.push(previous.unwrap_or(start));
            }
        }
        let mut rows = Vec::with_capacity(decisions.len());
        let mut valid = Vec::with_capacity(decisions.len() * width);
        let mut inverse_temperature = Vec::with_capacity(decisions.len());
        for (decision, &slot) in decisions.iter().zip(&slot_of_decision) {
            rows.push((decision.position * programs + slot) as u32);
            valid.extend(
                decision.trace.masks[decision.position]
                    .iter()
                    .map(|&ok| u8::from(ok)),
            );
            inverse_temperature.push((1.0 / decision.trace.temperature) as f32);
        }
        Ok(EvaluationLayout {
            inputs,
            programs,
            steps,
            rows,
            valid,
            inverse_temperature,
        })
    }

    /// `(decisions, vocabulary)` masked, tempered log-probabilities at each decision.
    pub(crate) fn decision_log_probs(
        &self,
        decisions: &[&TokenDecision],
    ) -> derl_learn::Result<Tensor> {
        if decisions.is_empty() {
            return Err(LearnError::InvalidBatch("no decisions".into()));
        }
        let layout = self.layout(decisions)?;
        let count = decisions.len();
        let width = self.grammar.vocabulary().len();
        let states = self.run_sequences(&layout.inputs, layout.programs, layout.steps)?;
        let rows = Tensor::from_vec(layout.rows, count, &self.device)?;
        let logits = self.read_out(&states.index_select(&rows, 0)?)?;
        let inverse_temperature =
            Tensor::from_vec(layout.inverse_temperature, (count, 1), &self.device)?;
        let valid = Tensor::from_vec(layout.valid, (count, width), &self.device)?;
        masked_log_softmax(&logits.broadcast_mul(&inverse_temperature)?, &valid)
    }
}

impl PolicyModel for MetaOptimizer {
    type Decision = TokenDecision;

    fn evaluate(
        &self,
        decisions: &[&TokenDecision],
        actions: &[u32],
    ) -> derl_learn::Result<DecisionEvaluation> {
        if decisions.len() != actions.len() {
            return Err(LearnError::InvalidBatch(format!(
                "{} decisions but {} actions",
                decisions.len(),
                actions.len()
            )));
        }
        evaluate_rows(&self.decision_log_probs(decisions)?, actions)
    }

    fn parameters(&self) -> &Parameters {
        &self.parameters
    }

    fn snapshot(&self) -> derl_learn::Result<Self> {
        Self::from_parameters(
            self.config.clone(),
            self.grammar.clone(),
            self.seed,
            self.parameters.deep_copy()?,
        )
        .map_err(|error| match error {
            MetaError::Learn(error) => error,
            other => LearnError::InvalidConfig(other.to_string()),
        })
    }
}

#[cfg(test)]
mod tests {
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;
    use serde_json::json;

    use super::*;

    fn small_config(layers: usize) -> MetaOptimizerConfig {
        MetaOptimizerConfig {
            embedding_dim: 8,
            hidden_dim: 12,
            layers,
            ..MetaOptimizerConfig::default()
        }
    }

    fn scratch_dir(name: &str) -> std::path::PathBuf {
        let dir = std::env::temp_dir().join(format!("derl-meta-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        dir
    }

    /// Every open decision of `count` programs sampled with `seed`.
    fn decisions(model: &MetaOptimizer, count: usize, seed: u64) -> Vec<TokenDecision> {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        model
            .sample_group(count, 1.0, &mut rng)
            .unwrap()
            .iter()
            .flat_map(|sample| TokenDecision::all_of(&sample.trace))
            .collect()
    }

    fn log_probs(model: &MetaOptimizer, decisions: &[TokenDecision]) -> Vec<f32> {
        let refs: Vec<&TokenDecision> = decisions.iter().collect();
        let actions: Vec<u32> = decisions.iter().map(TokenDecision::action).collect();
        model
            .evaluate(&refs, &actions)
            .unwrap()
            .log_probs
            .to_vec1()
            .unwrap()
    }

    #[test]
    fn weights_follow_the_seed() {
        let digest = |seed| {
            MetaOptimizer::new(small_config(1), 3, seed)
                .unwrap()
                .parameters()
                .digest()
                .unwrap()
        };
        assert_eq!(digest(4), digest(4));
        assert_ne!(digest(4), digest(5));
        let model = MetaOptimizer::new(small_config(2), 3, 4).unwrap();
        // Embedding, 4 per GRU layer, read-out weight and bias.
        assert_eq!(model.parameters().len(), 1 + 2 * 4 + 2);
        // Defaults with 5 primitives: a vocabulary of 18 tokens (+1 start token).
        let default = MetaOptimizer::new(MetaOptimizerConfig::default(), 5, 0).unwrap();
        assert_eq!(default.grammar().vocabulary().len(), 18);
        let expected = 19 * 32 + (32 * 192 + 64 * 192 + 2 * 192) + (64 * 18 + 18);
        assert_eq!(default.parameters().element_count(), expected);
        assert_eq!(expected, 20_594);
    }

    #[test]
    fn invalid_configurations_are_rejected() {
        let bad = [
            MetaOptimizerConfig {
                hidden_dim: 0,
                ..small_config(1)
            },
            small_config(0),
            small_config(5),
            MetaOptimizerConfig {
                pretrain: PretrainConfig {
                    batch_programs: 0,
                    ..PretrainConfig::default()
                },
                ..small_config(1)
            },
        ];
        for config in bad {
            assert!(MetaOptimizer::new(config, 3, 0).is_err());
        }
        assert!(MetaOptimizer::new(small_config(1), 0, 0).is_err());
    }

    #[test]
    fn save_then_load_gives_identical_probabilities() {
        let dir = scratch_dir("round-trip");
        let model = MetaOptimizer::new(small_config(2), 4, 9).unwrap();
        for (_, var) in model.parameters().iter() {
            var.set(&var.affine(1.3, 0.01).unwrap()).unwrap();
        }
        let user = json!({"outer_step": 3});
        model.save(&dir, &user).unwrap();
        let (loaded, loaded_user) = MetaOptimizer::load(&dir).unwrap();
        assert_eq!(loaded_user, user);
        assert_eq!(loaded.config(), model.config());
        assert_eq!(loaded.grammar().primitive_count(), 4);
        let batch = decisions(&model, 6, 1);
        assert_eq!(log_probs(&model, &batch), log_probs(&loaded, &batch));
        std::fs::remove_dir_all(&dir).unwrap();
        assert!(MetaOptimizer::load(&dir).is_err());
    }

    #[test]
    fn snapshots_are_independent() {
        let model = MetaOptimizer::new(small_config(1), 3, 2).unwrap();
        let frozen = model.snapshot().unwrap();
        let batch = decisions(&model, 4, 3);
        let before = log_probs(&frozen, &batch);
        for (_, var) in model.parameters().iter() {
            var.set(&var.affine(2.0, 0.1).unwrap()).unwrap();
        }
        assert_eq!(log_probs(&frozen, &batch), before);
        assert_ne!(log_probs(&model, &batch), before);
    }

    #[test]
    fn evaluation_rejects_inconsistent_batches() {
        let model = MetaOptimizer::new(small_config(1), 3, 2).unwrap();
        let batch = decisions(&model, 2, 5);
        let refs: Vec<&TokenDecision> = batch.iter().collect();
        let actions: Vec<u32> = batch.iter().map(TokenDecision::action).collect();
        assert!(model.evaluate(&refs, &actions[1..]).is_err());
        assert!(model.evaluate(&[], &[]).is_err());
        let beyond = TokenDecision {
            trace: Arc::clone(&batch[0].trace),
            position: batch[0].trace.token_ids.len(),
        };
        assert!(model.evaluate(&[&beyond], &[0]).is_err());
        let mut narrow = (*batch[0].trace).clone();
        narrow.masks[0].pop();
        let narrow = TokenDecision {
            trace: Arc::new(narrow),
            position: 0,
        };
        assert!(model.evaluate(&[&narrow], &[1]).is_err());
        let width = model.grammar().vocabulary().len() as u32;
        assert!(model.evaluate(&refs[..1], &[width]).is_err());
        // A masked action gets a log-probability near MASKED_LOGIT, which GRPO refuses.
        let masked = batch[0].trace.masks[batch[0].position]
            .iter()
            .position(|&ok| !ok)
            .unwrap() as u32;
        let value = model.evaluate(&refs[..1], &[masked]).unwrap().log_probs;
        assert!(value.to_vec1::<f32>().unwrap()[0] < -1e8);
    }
}
