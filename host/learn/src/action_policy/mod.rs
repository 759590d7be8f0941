//! The inner loop's policy: scores every admissible action of an observation.
//!
//! Observation and action texts are bags of hashed word and bigram features (one shared
//! embedding table, mean over the bag); the observation may add numeric features through a
//! linear map. A one-hidden-layer MLP scores each (observation, action) pair from
//! `[obs, act, obs * act]`, and a softmax over each decision's admissible actions gives the
//! policy.
//!
//! An observation is its task (the goal in words, the `task` field of the contract) and its
//! situation text. The bag reads the task, then the text. Clause by clause, the task is the
//! first clause, the **header**, and the text's clauses (lines, `;`-separated items,
//! sentences; see [`crate::features::clauses`]) follow it; an observation with no word in
//! its task reads the text's first clause as the header.
//!
//! With clause attention (`clause_attention`, off by default) the observation is also read
//! clause by clause, each clause a bag of its own. Every action attends over its observation's clauses (scores
//! `clause · (W_q act)`, `W_q` starting as a sharp identity, so an action first looks at
//! the clauses that share its words: `go to cabinet 1` at `unvisited cabinet 1`), and the
//! MLP also reads the header (the task),
//! the attended context `ctx` and the products `header * act`, `ctx * act` and
//! `ctx * header`. A mean over a hundred words drowns the one object name that decides
//! between `take` actions; the header and the attended clause keep it visible.
//!
//! With header overlap (`header_overlap`, off by default) the hidden layer also reads one
//! number per pair: the fraction of the action's features found in the header clause.
//!
//! With action contexts (`action_context`, off by default) every pair also reads the
//! clauses after the header that share a word bigram with its action (hard, lexical
//! attention: `go to cabinet 2` reads `unvisited cabinet 2`), as the bag `c` in
//! `[c, c * act, c * header]`, and the share of the header's features that this context
//! adds to the action's own.
//!
//! A batch of decisions is computed in a fixed, small number of tensor operations:
//! distinct observations (by `Arc`) and distinct action texts (by content) are embedded
//! once, the hidden layer's observation and action parts are applied per distinct text
//! and gathered per pair, and only the interaction term is computed per pair.

//!
//! - `config`: [`ActionPolicyConfig`], the architecture and its optional blocks.
//! - `encoding`: observations and actions featurized once ([`EncodedObservation`],
//!   [`ActionDecision`]).
//! - `batch`: a batch of decisions flattened into index tensors ([`PreparedBatch`]).
//! - `logits`: the forward pass, distributions, sampling and log-probabilities.

mod batch;
mod config;
mod encoding;
mod feature_cache;
mod fused;
#[cfg(test)]
mod fused_tests;
mod logits;
#[cfg(test)]
mod tests;

pub use batch::PreparedBatch;
pub use config::{ActionPolicyConfig, PolicyKernel};
pub use encoding::{ActionDecision, EncodedObservation};
pub use feature_cache::FeatureCache;
pub use logits::ActionDistributions;

use std::path::Path;

use candle_core::{DType, Device, Tensor, Var};

use crate::checkpoint;
use crate::error::{LearnError, Result};
use crate::features::Featurizer;
use crate::init::{linear_weight, parameter_rng, uniform};
use crate::optim::Gradients;
use crate::params::Parameters;
use crate::policy::{DecisionEvaluation, PolicyModel, default_loss_gradients};
use crate::segments::evaluate_rows;

/// Name under which [`ActionPolicy`] checkpoints record their model kind.
pub const ACTION_POLICY_KIND: &str = "derl-learn/action-policy";

const EMBEDDING: &str = "embedding";
const NUMERIC: &str = "numeric";
const HIDDEN_OBSERVATION: &str = "hidden.observation";
const HIDDEN_ACTION: &str = "hidden.action";
const HIDDEN_INTERACTION: &str = "hidden.interaction";
const HIDDEN_BIAS: &str = "hidden.bias";
const OUTPUT: &str = "output";
const ATTENTION_QUERY: &str = "attention.query";
const HIDDEN_HEADER: &str = "hidden.header";
const HIDDEN_HEADER_ACTION: &str = "hidden.header_action";
const HIDDEN_CONTEXT: &str = "hidden.context";
const HIDDEN_CONTEXT_ACTION: &str = "hidden.context_action";
const HIDDEN_CONTEXT_HEADER: &str = "hidden.context_header";
const HIDDEN_HEADER_OVERLAP: &str = "hidden.header_overlap";
const HIDDEN_ACTION_CONTEXT: &str = "hidden.action_context";
const HIDDEN_ACTION_CONTEXT_ACTION: &str = "hidden.action_context_action";
const HIDDEN_ACTION_CONTEXT_HEADER: &str = "hidden.action_context_header";
const HIDDEN_ACTION_CONTEXT_GOAL: &str = "hidden.action_context_goal";

/// Attention scores are `ATTENTION_SHARPNESS * clause · (W_q act)`: bag means are short
/// vectors (a shared word adds about `dim / 12 / (len_a * len_c)` to the dot product), so
/// without it attention would start out uniform.
const ATTENTION_SHARPNESS: f64 = 16.0;
/// Additive score of a padding slot (an observation with fewer clauses than the batch's
/// longest): its attention weight is exactly 0.
const MASKED_SCORE: f32 = -1e9;

/// Embedding entries start uniform in `±EMBEDDING_INIT_BOUND`.
const EMBEDDING_INIT_BOUND: f64 = 0.5;
/// The output layer starts this much smaller than a default linear layer, so the initial
/// policy is close to uniform over the admissible actions.
const OUTPUT_INIT_GAIN: f64 = 0.01;

/// The hashed-feature MLP action scorer (see the module documentation).
#[derive(Clone, Debug)]
pub struct ActionPolicy {
    config: ActionPolicyConfig,
    featurizer: Featurizer,
    device: Device,
    parameters: Parameters,
    weights: Weights,
}

#[derive(Clone, Debug)]
struct Weights {
    embedding: Var,
    numeric: Option<Var>,
    hidden_observation: Var,
    hidden_action: Var,
    hidden_interaction: Var,
    hidden_bias: Var,
    output: Var,
    attention: Option<AttentionWeights>,
    /// `(1, hidden)`: the header-overlap feature's column of the hidden layer.
    header_overlap: Option<Var>,
    action_context: Option<ActionContextWeights>,
}

/// The hidden layer's blocks reading action contexts.
#[derive(Clone, Debug)]
struct ActionContextWeights {
    /// `(dim, hidden)` for the context bag.
    context: Var,
    /// `(dim, hidden)` for `context * action`.
    context_action: Var,
    /// `(dim, hidden)` for `context * header`.
    context_header: Var,
    /// `(1, hidden)` for the context's share of the header.
    goal: Var,
}

/// The clause-attention part of the policy (see the module documentation).
#[derive(Clone, Debug)]
struct AttentionWeights {
    /// `(dim, dim)` query map applied to action embeddings.
    query: Var,
    header: Var,
    header_action: Var,
    context: Var,
    context_action: Var,
    context_header: Var,
}

impl ActionPolicy {
    /// A policy with fresh weights drawn from `config.seed`.
    ///
    /// # Errors
    /// [`LearnError::InvalidConfig`] for a zero width or a bad featurizer configuration.
    pub fn new(config: ActionPolicyConfig, device: &Device) -> Result<Self> {
        let featurizer = Featurizer::new(config.featurizer.clone())?;
        if config.embedding_dim == 0 || config.hidden_dim == 0 {
            return Err(LearnError::InvalidConfig(
                "embedding_dim and hidden_dim must be positive".into(),
            ));
        }
        if !(1..=256).contains(&config.max_clauses) {
            return Err(LearnError::InvalidConfig(format!(
                "max_clauses must be in 1..=256, got {}",
                config.max_clauses
            )));
        }
        let (dim, hidden, seed) = (config.embedding_dim, config.hidden_dim, config.seed);
        let mut parameters = Parameters::new();
        let rng = |name| parameter_rng(seed, name);
        parameters.insert(
            EMBEDDING,
            &uniform(
                &mut rng(EMBEDDING),
                &[featurizer.buckets(), dim],
                EMBEDDING_INIT_BOUND,
                device,
            )?,
        )?;
        if config.numeric_dim > 0 {
            let weight = linear_weight(&mut rng(NUMERIC), config.numeric_dim, dim, 1.0, device)?;
            parameters.insert(NUMERIC, &weight)?;
        }
        // The hidden blocks are one linear layer over the concatenation of their inputs.
        let mut blocks = vec![HIDDEN_OBSERVATION, HIDDEN_ACTION, HIDDEN_INTERACTION];
        if config.clause_attention {
            blocks.extend([
                HIDDEN_HEADER,
                HIDDEN_HEADER_ACTION,
                HIDDEN_CONTEXT,
                HIDDEN_CONTEXT_ACTION,
                HIDDEN_CONTEXT_HEADER,
            ]);
            let identity = Tensor::eye(dim, DType::F32, device)?;
            parameters.insert(ATTENTION_QUERY, &identity)?;
        }
        if config.action_context {
            blocks.extend([
                HIDDEN_ACTION_CONTEXT,
                HIDDEN_ACTION_CONTEXT_ACTION,
                HIDDEN_ACTION_CONTEXT_HEADER,
            ]);
        }
        let scalar_inputs = usize::from(config.header_overlap) + usize::from(config.action_context);
        let blocks_and_overlap = blocks.len() + scalar_inputs;
        let bound_gain = (1.0 / blocks_and_overlap as f64).sqrt();
        for name in blocks {
            parameters.insert(
                name,
                &linear_weight(&mut rng(name), dim, hidden, bound_gain, device)?,
            )?;
        }
        if config.header_overlap {
            let name = HIDDEN_HEADER_OVERLAP;
            let weight = linear_weight(&mut rng(name), 1, hidden, bound_gain, device)?;
            parameters.insert(name, &weight)?;
        }
        if config.action_context {
            let name = HIDDEN_ACTION_CONTEXT_GOAL;
            let weight = linear_weight(&mut rng(name), 1, hidden, bound_gain, device)?;
            parameters.insert(name, &weight)?;
        }
        parameters.insert(HIDDEN_BIAS, &Tensor::zeros(hidden, DType::F32, device)?)?;
        let output = linear_weight(&mut rng(OUTPUT), hidden, 1, OUTPUT_INIT_GAIN, device)?;
        parameters.insert(OUTPUT, &output)?;
        Self::from_parameters(config, featurizer, parameters, device)
    }

    fn from_parameters(
        config: ActionPolicyConfig,
        featurizer: Featurizer,
        parameters: Parameters,
        device: &Device,
    ) -> Result<Self> {
        let var = |name: &str| {
            parameters.get(name).cloned().ok_or_else(|| {
                LearnError::InvalidConfig(format!("action policy lacks parameter `{name}`"))
            })
        };
        let attention = if config.clause_attention {
            Some(AttentionWeights {
                query: var(ATTENTION_QUERY)?,
                header: var(HIDDEN_HEADER)?,
                header_action: var(HIDDEN_HEADER_ACTION)?,
                context: var(HIDDEN_CONTEXT)?,
                context_action: var(HIDDEN_CONTEXT_ACTION)?,
                context_header: var(HIDDEN_CONTEXT_HEADER)?,
            })
        } else {
            None
        };
        let header_overlap = if config.header_overlap {
            Some(var(HIDDEN_HEADER_OVERLAP)?)
        } else {
            None
        };
        let action_context = if config.action_context {
            Some(ActionContextWeights {
                context: var(HIDDEN_ACTION_CONTEXT)?,
                context_action: var(HIDDEN_ACTION_CONTEXT_ACTION)?,
                context_header: var(HIDDEN_ACTION_CONTEXT_HEADER)?,
                goal: var(HIDDEN_ACTION_CONTEXT_GOAL)?,
            })
        } else {
            None
        };
        let weights = Weights {
            action_context,
            embedding: var(EMBEDDING)?,
            numeric: parameters.get(NUMERIC).cloned(),
            attention,
            header_overlap,
            hidden_observation: var(HIDDEN_OBSERVATION)?,
            hidden_action: var(HIDDEN_ACTION)?,
            hidden_interaction: var(HIDDEN_INTERACTION)?,
            hidden_bias: var(HIDDEN_BIAS)?,
            output: var(OUTPUT)?,
        };
        Ok(Self {
            config,
            featurizer,
            device: device.clone(),
            parameters,
            weights,
        })
    }

    /// The configuration the policy was built from.
    pub fn config(&self) -> &ActionPolicyConfig {
        &self.config
    }

    /// The featurizer matching this policy's embedding table.
    pub fn featurizer(&self) -> &Featurizer {
        &self.featurizer
    }

    /// The device the weights live on.
    pub fn device(&self) -> &Device {
        &self.device
    }

    /// Writes the weights and metadata to `dir` (see [`crate::checkpoint`]); `user` is stored
    /// verbatim (step, config, hashes of the environment and reward components, ...).
    ///
    /// # Errors
    /// On a file-system or serialisation failure.
    pub fn save(&self, dir: &Path, user: &serde_json::Value) -> Result<()> {
        let model = serde_json::to_value(&self.config)
            .map_err(|error| LearnError::checkpoint(dir, error.to_string()))?;
        checkpoint::save(dir, &self.parameters, ACTION_POLICY_KIND, model, user)
    }

    /// Rebuilds a policy saved by [`ActionPolicy::save`]: the architecture from the
    /// metadata, then the weights (verified against the recorded digest). Returns the
    /// caller's metadata too.
    ///
    /// # Errors
    /// [`LearnError::Checkpoint`] when files are missing, of another model kind, or do not
    /// match; [`LearnError::Io`] on a read failure.
    pub fn load(dir: &Path, device: &Device) -> Result<(Self, serde_json::Value)> {
        let metadata = checkpoint::read_metadata(dir)?;
        metadata.expect_kind(dir, ACTION_POLICY_KIND)?;
        let config: ActionPolicyConfig = serde_json::from_value(metadata.model.clone())
            .map_err(|error| LearnError::checkpoint(dir, format!("model config: {error}")))?;
        let policy = Self::new(config, device)?;
        checkpoint::load_weights(dir, &policy.parameters, &metadata)?;
        Ok((policy, metadata.user))
    }
}

impl PolicyModel for ActionPolicy {
    type Decision = ActionDecision;

    fn evaluate(
        &self,
        decisions: &[&ActionDecision],
        actions: &[u32],
    ) -> Result<DecisionEvaluation> {
        let distributions = self.distributions(decisions)?;
        distributions.segments.check_actions(actions)?;
        evaluate_rows(&distributions.log_probs, actions)
    }

    fn loss_gradients<T>(
        &self,
        decisions: &[&ActionDecision],
        actions: &[u32],
        loss: impl FnOnce(&DecisionEvaluation) -> Result<(Tensor, T)>,
    ) -> Result<(Gradients, T)> {
        if !self.runs_fused() {
            return default_loss_gradients(self, decisions, actions, loss);
        }
        let pass = self.fused_forward(self.flatten(decisions)?)?;
        pass.check_actions(actions)?;
        let (chosen, entropy) = pass.chosen(actions);
        let n = chosen.len();
        let log_probs = Var::from_vec(chosen, n, &self.device)?;
        let entropy = Var::from_slice(entropy, n, &self.device)?;
        let evaluation = DecisionEvaluation {
            log_probs: log_probs.as_tensor().clone(),
            entropy: entropy.as_tensor().clone(),
        };
        let (loss, value) = loss(&evaluation)?;
        let store = loss.backward()?;
        let upstream = |var: &Var| -> Result<Vec<f32>> {
            match store.get(var.as_tensor()) {
                Some(grad) => Ok(grad.to_vec1()?),
                None => Ok(vec![0.0; n]),
            }
        };
        let gradients =
            pass.backward(self, actions, &upstream(&log_probs)?, &upstream(&entropy)?)?;
        Ok((gradients, value))
    }

    fn parameters(&self) -> &Parameters {
        &self.parameters
    }

    fn snapshot(&self) -> Result<Self> {
        Self::from_parameters(
            self.config.clone(),
            self.featurizer.clone(),
            self.parameters.deep_copy()?,
            &self.device,
        )
    }
}
