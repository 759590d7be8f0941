//! The inner loop's policy: scores every admissible action of an observation.
//!
//! Observation and action texts are bags of hashed word and bigram features (one shared
//! embedding table, mean over the bag); the observation may add numeric features through a
//! linear map. A one-hidden-layer MLP scores each (observation, action) pair from
//! `[obs, act, obs * act]`, and a softmax over each decision's admissible actions gives the
//! policy.
//!
//! A batch of decisions is computed in a fixed, small number of tensor operations:
//! distinct observations (by `Arc`) and distinct action texts (by content) are embedded
//! once, the hidden layer's observation and action parts are applied per distinct text
//! and gathered per pair, and only the interaction term is computed per pair.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

use candle_core::{DType, Device, Tensor, Var};
use rand::RngCore;
use serde::{Deserialize, Serialize};

use crate::checkpoint;
use crate::error::{LearnError, Result};
use crate::features::{Featurizer, FeaturizerConfig, FnvBuildHasher};
use crate::init::{linear_weight, parameter_rng, uniform};
use crate::params::Parameters;
use crate::policy::{DecisionEvaluation, PolicyModel};
use crate::sampling::{SampledAction, argmax, sample_log_probs};
use crate::segments::{Segments, evaluate_rows, rows_to_vecs};

/// Name under which [`ActionPolicy`] checkpoints record their model kind.
pub const ACTION_POLICY_KIND: &str = "derl-learn/action-policy";

const EMBEDDING: &str = "embedding";
const NUMERIC: &str = "numeric";
const HIDDEN_OBSERVATION: &str = "hidden.observation";
const HIDDEN_ACTION: &str = "hidden.action";
const HIDDEN_INTERACTION: &str = "hidden.interaction";
const HIDDEN_BIAS: &str = "hidden.bias";
const OUTPUT: &str = "output";

/// Embedding entries start uniform in `±EMBEDDING_INIT_BOUND`.
const EMBEDDING_INIT_BOUND: f64 = 0.5;
/// The output layer starts this much smaller than a default linear layer, so the initial
/// policy is close to uniform over the admissible actions.
const OUTPUT_INIT_GAIN: f64 = 0.01;

/// Architecture and seed of an [`ActionPolicy`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ActionPolicyConfig {
    /// How observation and action texts are hashed into features.
    pub featurizer: FeaturizerConfig,
    /// Width of the feature embeddings. Default 32.
    pub embedding_dim: usize,
    /// Width of the hidden layer. Default 64.
    pub hidden_dim: usize,
    /// Length of every observation's numeric feature vector (0: none). Default 0.
    pub numeric_dim: usize,
    /// Seed of the initial weights. Default 0.
    pub seed: u64,
}

impl Default for ActionPolicyConfig {
    fn default() -> Self {
        Self {
            featurizer: FeaturizerConfig::default(),
            embedding_dim: 32,
            hidden_dim: 64,
            numeric_dim: 0,
            seed: 0,
        }
    }
}

/// An observation featurized once and shared by every decision that sees it.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct EncodedObservation {
    /// Hashed feature ids of the observation text (see [`Featurizer::encode`]).
    pub ids: Vec<u32>,
    /// Numeric features; exactly [`ActionPolicyConfig::numeric_dim`] values.
    pub numeric: Vec<f32>,
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
}

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

/// A batch of decisions as index tensors (see [`ActionPolicy::prepare`]).
#[derive(Clone, Debug)]
pub struct PreparedBatch {
    /// `None` when no text has a single feature.
    bags: Option<BagIndex>,
    /// `(observations, numeric_dim)`, when the policy has numeric features.
    numeric: Option<Tensor>,
    observations: usize,
    actions: usize,
    /// `(pairs,)` u32: the distinct observation of each (decision, action) pair.
    pair_observation: Tensor,
    /// `(pairs,)` u32: the distinct action text of each pair.
    pair_action: Tensor,
    segments: Segments,
}

#[derive(Clone, Debug)]
struct BagIndex {
    /// `(ids,)` u32: feature ids of every distinct text, observations first, then actions.
    ids: Tensor,
    /// `(ids,)` u32: the distinct text each id belongs to.
    text_of_id: Tensor,
    /// `(ids, 1)` f32: `1 / len` of the id's text, so bags are means.
    id_weight: Tensor,
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
    /// `pair_observation`, `pair_action`, `gather_index`), for exporting a batch to another
    /// implementation of the same model (the PyTorch benchmark).
    pub fn tensors(&self) -> HashMap<String, Tensor> {
        let mut tensors = HashMap::new();
        if let Some(bags) = &self.bags {
            tensors.insert("ids".to_owned(), bags.ids.clone());
            tensors.insert("text_of_id".to_owned(), bags.text_of_id.clone());
            tensors.insert("id_weight".to_owned(), bags.id_weight.clone());
        }
        if let Some(numeric) = &self.numeric {
            tensors.insert("numeric".to_owned(), numeric.clone());
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
}

/// A batch flattened into index vectors, ready to become tensors.
struct FlatBatch {
    /// Feature ids of every distinct text, observations first, then actions.
    ids: Vec<u32>,
    /// Which distinct text each id belongs to.
    text_of_id: Vec<u32>,
    /// `1 / len` of the id's text (a mean over the bag).
    id_weight: Vec<f32>,
    observations: usize,
    actions: usize,
    /// Row-major `(observations, numeric_dim)`.
    numeric: Vec<f32>,
    /// For each (decision, action) pair: its distinct observation and distinct action.
    pair_observation: Vec<u32>,
    pair_action: Vec<u32>,
    counts: Vec<usize>,
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
        // The three hidden blocks are one linear layer over the concatenation [obs, act, obs*act].
        for name in [HIDDEN_OBSERVATION, HIDDEN_ACTION, HIDDEN_INTERACTION] {
            let bound_gain = (1.0f64 / 3.0).sqrt();
            parameters.insert(
                name,
                &linear_weight(&mut rng(name), dim, hidden, bound_gain, device)?,
            )?;
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
        let weights = Weights {
            embedding: var(EMBEDDING)?,
            numeric: parameters.get(NUMERIC).cloned(),
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

    /// Featurizes an observation (text plus numeric features).
    pub fn encode_observation(&self, text: &str, numeric: &[f32]) -> EncodedObservation {
        EncodedObservation {
            ids: self.featurizer.encode(text),
            numeric: numeric.to_vec(),
        }
    }

    /// Featurizes a list of admissible action texts.
    pub fn encode_actions<S: AsRef<str>>(&self, actions: &[S]) -> Arc<[Vec<u32>]> {
        actions
            .iter()
            .map(|action| self.featurizer.encode(action.as_ref()))
            .collect()
    }

    /// Featurizes a whole decision point (convenient for tests and one-off calls; a rollout
    /// loop should encode each observation once and share the `Arc`s).
    pub fn encode_decision<S: AsRef<str>>(
        &self,
        observation: &str,
        numeric: &[f32],
        actions: &[S],
    ) -> ActionDecision {
        ActionDecision {
            observation: Arc::new(self.encode_observation(observation, numeric)),
            actions: self.encode_actions(actions),
        }
    }

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
        let bags = if id_count == 0 {
            None
        } else {
            Some(BagIndex {
                ids: Tensor::from_vec(flat.ids, id_count, device)?,
                text_of_id: Tensor::from_vec(flat.text_of_id, id_count, device)?,
                id_weight: Tensor::from_vec(flat.id_weight, (id_count, 1), device)?,
            })
        };
        let numeric = if self.config.numeric_dim > 0 {
            let shape = (flat.observations, self.config.numeric_dim);
            Some(Tensor::from_vec(flat.numeric, shape, device)?)
        } else {
            None
        };
        let pairs = flat.pair_observation.len();
        Ok(PreparedBatch {
            bags,
            numeric,
            observations: flat.observations,
            actions: flat.actions,
            pair_observation: Tensor::from_vec(flat.pair_observation, pairs, device)?,
            pair_action: Tensor::from_vec(flat.pair_action, pairs, device)?,
            segments: Segments::new(&flat.counts, device)?,
        })
    }

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
        let rows = self.distributions(decisions)?.to_vecs()?;
        Ok(rows
            .iter()
            .map(|log_probs| {
                let action = sample_log_probs(log_probs, rng);
                SampledAction {
                    action: action as u32,
                    log_prob: log_probs[action],
                }
            })
            .collect())
    }

    /// The most probable action of each decision (the first on ties), for evaluation.
    ///
    /// # Errors
    /// As [`ActionPolicy::distributions`].
    pub fn greedy(&self, decisions: &[&ActionDecision]) -> Result<Vec<SampledAction>> {
        let rows = self.distributions(decisions)?.to_vecs()?;
        Ok(rows
            .iter()
            .map(|log_probs| {
                let action = argmax(log_probs);
                SampledAction {
                    action: action as u32,
                    log_prob: log_probs[action],
                }
            })
            .collect())
    }

    /// Log-probability of `actions[i]` at `decisions[i]`.
    ///
    /// # Errors
    /// As [`ActionPolicy::distributions`], or when an action is out of range.
    pub fn log_probs(&self, decisions: &[&ActionDecision], actions: &[u32]) -> Result<Vec<f32>> {
        Ok(self.evaluate(decisions, actions)?.log_probs.to_vec1()?)
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

    fn flatten(&self, decisions: &[&ActionDecision]) -> Result<FlatBatch> {
        let mut observation_slot: HashMap<*const EncodedObservation, u32, FnvBuildHasher> =
            HashMap::default();
        let mut observations: Vec<&EncodedObservation> = Vec::new();
        let mut action_slot: HashMap<&[u32], u32, FnvBuildHasher> = HashMap::default();
        let mut actions: Vec<&[u32]> = Vec::new();
        let pairs: usize = decisions
            .iter()
            .map(|decision| decision.actions.len())
            .sum();
        let mut pair_observation = Vec::with_capacity(pairs);
        let mut pair_action = Vec::with_capacity(pairs);
        let mut counts = Vec::with_capacity(decisions.len());
        for decision in decisions {
            let observation = &*decision.observation;
            let slot = *observation_slot
                .entry(std::ptr::from_ref(observation))
                .or_insert_with(|| {
                    observations.push(observation);
                    observations.len() as u32 - 1
                });
            for action in decision.actions.iter() {
                let action_index = *action_slot.entry(action.as_slice()).or_insert_with(|| {
                    actions.push(action);
                    actions.len() as u32 - 1
                });
                pair_observation.push(slot);
                pair_action.push(action_index);
            }
            counts.push(decision.actions.len());
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

        let texts = observations
            .iter()
            .map(|observation| observation.ids.as_slice())
            .chain(actions.iter().copied());
        let total_ids: usize = texts.clone().map(<[u32]>::len).sum();
        let mut ids = Vec::with_capacity(total_ids);
        let mut text_of_id = Vec::with_capacity(total_ids);
        let mut id_weight = Vec::with_capacity(total_ids);
        let buckets = self.featurizer.buckets();
        for (text, text_ids) in texts.enumerate() {
            if let Some(&id) = text_ids.iter().find(|&&id| id as usize >= buckets) {
                return Err(LearnError::InvalidBatch(format!(
                    "feature id {id} outside the {buckets}-bucket table"
                )));
            }
            let weight = 1.0 / text_ids.len() as f32;
            ids.extend_from_slice(text_ids);
            text_of_id.extend(std::iter::repeat_n(text as u32, text_ids.len()));
            id_weight.extend(std::iter::repeat_n(weight, text_ids.len()));
        }
        Ok(FlatBatch {
            ids,
            text_of_id,
            id_weight,
            observations: observations.len(),
            actions: actions.len(),
            numeric,
            pair_observation,
            pair_action,
            counts,
        })
    }

    /// `(pairs,)` logits for every (decision, action) pair of the batch.
    fn pair_logits(&self, batch: &PreparedBatch) -> Result<Tensor> {
        let weights = &self.weights;
        let texts = batch.observations + batch.actions;
        let bags = Tensor::zeros((texts, self.config.embedding_dim), DType::F32, &self.device)?;
        let bags = match &batch.bags {
            Some(index) => {
                let features = weights
                    .embedding
                    .index_select(&index.ids, 0)?
                    .broadcast_mul(&index.id_weight)?;
                bags.index_add(&index.text_of_id, &features, 0)?
            }
            None => bags,
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
        let hidden = (hidden + hidden_action.index_select(pair_action, 0)?)?.relu()?;
        Ok(hidden.matmul(&weights.output)?.squeeze(1)?)
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

#[cfg(test)]
mod tests {
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    use super::*;

    fn small_config(seed: u64) -> ActionPolicyConfig {
        ActionPolicyConfig {
            featurizer: FeaturizerConfig {
                bucket_bits: 10,
                word_bigrams: true,
            },
            embedding_dim: 8,
            hidden_dim: 16,
            numeric_dim: 2,
            seed,
        }
    }

    fn decisions(policy: &ActionPolicy) -> Vec<ActionDecision> {
        vec![
            policy.encode_decision(
                "goal: pick the red block",
                &[0.5, 1.0],
                &["red", "blue", "green"],
            ),
            policy.encode_decision("you see a door", &[0.0, -1.0], &["open door", "wait"]),
            policy.encode_decision("", &[1.0, 1.0], &["red"]),
        ]
    }

    #[test]
    fn distributions_are_normalised_per_decision() {
        let policy = ActionPolicy::new(small_config(1), &Device::Cpu).unwrap();
        let decisions = decisions(&policy);
        let refs: Vec<_> = decisions.iter().collect();
        let rows = policy.distributions(&refs).unwrap().to_vecs().unwrap();
        assert_eq!(rows.iter().map(Vec::len).collect::<Vec<_>>(), [3, 2, 1]);
        for row in &rows {
            let total: f32 = row.iter().map(|lp| lp.exp()).sum();
            assert!((total - 1.0).abs() < 1e-5, "{row:?}");
        }
        assert_eq!(rows[2], [0.0]);
    }

    #[test]
    fn a_decision_scores_the_same_alone_and_in_a_batch() {
        let policy = ActionPolicy::new(small_config(2), &Device::Cpu).unwrap();
        let decisions = decisions(&policy);
        let refs: Vec<_> = decisions.iter().collect();
        let together = policy.distributions(&refs).unwrap().to_vecs().unwrap();
        for (decision, expected) in decisions.iter().zip(&together) {
            let alone = policy
                .distributions(&[decision])
                .unwrap()
                .to_vecs()
                .unwrap();
            for (a, b) in alone[0].iter().zip(expected) {
                assert!((a - b).abs() < 1e-6);
            }
        }
    }

    #[test]
    fn action_order_permutes_the_scores() {
        let policy = ActionPolicy::new(small_config(3), &Device::Cpu).unwrap();
        let forward = policy.encode_decision("pick the red block", &[0.0, 0.0], &["red", "blue"]);
        let backward = policy.encode_decision("pick the red block", &[0.0, 0.0], &["blue", "red"]);
        let rows = policy
            .distributions(&[&forward, &backward])
            .unwrap()
            .to_vecs()
            .unwrap();
        assert!((rows[0][0] - rows[1][1]).abs() < 1e-6);
        assert!((rows[0][1] - rows[1][0]).abs() < 1e-6);
    }

    #[test]
    fn same_seed_same_weights_and_samples() {
        let sample = |model_seed, rng_seed| {
            let policy = ActionPolicy::new(small_config(model_seed), &Device::Cpu).unwrap();
            let decisions = decisions(&policy);
            let refs: Vec<_> = decisions.iter().collect();
            let mut rng = ChaCha8Rng::seed_from_u64(rng_seed);
            let draws: Vec<_> = (0..20)
                .flat_map(|_| policy.sample(&refs, &mut rng).unwrap())
                .collect();
            (policy.parameters().digest().unwrap(), draws)
        };
        assert_eq!(sample(4, 9), sample(4, 9));
        assert_ne!(sample(4, 9).0, sample(5, 9).0);
        assert_ne!(sample(4, 9).1, sample(4, 10).1);
    }

    #[test]
    fn sampled_log_probs_match_recomputed_ones() {
        let policy = ActionPolicy::new(small_config(6), &Device::Cpu).unwrap();
        let decisions = decisions(&policy);
        let refs: Vec<_> = decisions.iter().collect();
        let sampled = policy
            .sample(&refs, &mut ChaCha8Rng::seed_from_u64(1))
            .unwrap();
        let actions: Vec<_> = sampled.iter().map(|s| s.action).collect();
        let recomputed = policy.log_probs(&refs, &actions).unwrap();
        for (s, r) in sampled.iter().zip(&recomputed) {
            assert_eq!(s.log_prob, *r);
        }
        let greedy = policy.greedy(&refs).unwrap();
        let rows = policy.distributions(&refs).unwrap().to_vecs().unwrap();
        for (choice, row) in greedy.iter().zip(&rows) {
            assert!(row.iter().all(|&lp| lp <= choice.log_prob));
        }
    }

    #[test]
    fn bad_batches_are_rejected() {
        let policy = ActionPolicy::new(small_config(7), &Device::Cpu).unwrap();
        let no_actions = policy.encode_decision::<&str>("x", &[0.0, 0.0], &[]);
        assert!(matches!(
            policy.distributions(&[&no_actions]),
            Err(LearnError::InvalidBatch(_))
        ));
        let wrong_numeric = policy.encode_decision("x", &[0.0], &["a"]);
        assert!(policy.distributions(&[&wrong_numeric]).is_err());
        let out_of_table = ActionDecision {
            observation: Arc::new(EncodedObservation {
                ids: vec![1 << 10],
                numeric: vec![0.0, 0.0],
            }),
            actions: policy.encode_actions(&["a"]),
        };
        assert!(policy.distributions(&[&out_of_table]).is_err());
        assert!(policy.distributions(&[]).is_err());
        let fine = policy.encode_decision("x", &[0.0, 0.0], &["a", "b"]);
        assert!(policy.evaluate(&[&fine], &[2]).is_err());
        assert!(policy.evaluate(&[&fine], &[1, 0]).is_err());
    }

    #[test]
    fn gradients_reach_every_parameter() {
        let policy = ActionPolicy::new(small_config(8), &Device::Cpu).unwrap();
        let decisions = decisions(&policy);
        let refs: Vec<_> = decisions.iter().collect();
        let evaluation = policy.evaluate(&refs, &[1, 0, 0]).unwrap();
        let grads = evaluation.log_probs.sum_all().unwrap().backward().unwrap();
        for (name, var) in policy.parameters().iter() {
            let grad = grads.get(var.as_tensor());
            assert!(grad.is_some(), "no gradient for {name}");
            let norm: f32 = grad
                .unwrap()
                .sqr()
                .unwrap()
                .sum_all()
                .unwrap()
                .to_scalar()
                .unwrap();
            assert!(norm.is_finite() && norm > 0.0, "{name}: {norm}");
        }
    }

    #[test]
    fn snapshot_does_not_follow_updates() {
        let policy = ActionPolicy::new(small_config(9), &Device::Cpu).unwrap();
        let frozen = policy.snapshot().unwrap();
        let decisions = decisions(&policy);
        let refs: Vec<_> = decisions.iter().collect();
        let before = frozen.log_probs(&refs, &[0, 0, 0]).unwrap();
        let output = policy.parameters().get(OUTPUT).unwrap();
        output.set(&output.affine(50.0, 0.1).unwrap()).unwrap();
        assert_eq!(frozen.log_probs(&refs, &[0, 0, 0]).unwrap(), before);
        assert_ne!(policy.log_probs(&refs, &[0, 0, 0]).unwrap(), before);
    }

    #[test]
    fn distinct_observations_and_action_texts_are_embedded_once() {
        let policy = ActionPolicy::new(small_config(10), &Device::Cpu).unwrap();
        let first = policy.encode_decision("a hall", &[0.0, 0.0], &["go north", "go south"]);
        let same_observation = ActionDecision {
            observation: Arc::clone(&first.observation),
            actions: policy.encode_actions(&["go south", "wait", "go north"]),
        };
        let other = policy.encode_decision("a hall", &[0.0, 0.0], &["wait"]);
        let batch = policy
            .prepare(&[&first, &same_observation, &other])
            .unwrap();
        assert_eq!(
            batch.distinct_observations(),
            2,
            "shared by Arc, not by content"
        );
        assert_eq!(batch.distinct_actions(), 3, "shared by content");
        assert_eq!(batch.segments().counts(), [2, 3, 1]);
        let tensors = batch.tensors();
        assert_eq!(
            tensors["pair_action"].to_vec1::<u32>().unwrap(),
            [0, 1, 1, 2, 0, 2]
        );
        assert_eq!(
            tensors["pair_observation"].to_vec1::<u32>().unwrap(),
            [0, 0, 0, 0, 0, 1]
        );
        let prepared = policy.distributions_of(&batch).unwrap().to_vecs().unwrap();
        let direct = policy
            .distributions(&[&first, &same_observation, &other])
            .unwrap()
            .to_vecs()
            .unwrap();
        assert_eq!(prepared, direct);
    }

    #[test]
    fn config_rejects_unknown_fields() {
        let config: ActionPolicyConfig =
            serde_json::from_str(r#"{"hidden_dim": 8, "featurizer": {"bucket_bits": 9}}"#).unwrap();
        assert_eq!(config.hidden_dim, 8);
        assert_eq!(config.embedding_dim, 32);
        assert!(serde_json::from_str::<ActionPolicyConfig>(r#"{"hidden": 8}"#).is_err());
    }
}
