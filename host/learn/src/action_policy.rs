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

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

use candle_core::{DType, Device, Tensor, Var};
use rand::RngCore;
use serde::{Deserialize, Serialize};

use crate::checkpoint;
use crate::embedding_bag::EmbeddingBag;
use crate::error::{LearnError, Result};
use crate::features::{self, Featurizer, FeaturizerConfig, FnvBuildHasher, GoalTerms};
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
    /// Whether actions attend over the observation's clauses and the MLP reads the header
    /// clause (see the module documentation). Default false: on household it has not yet
    /// beaten the bag model at equal updates and costs about twice the time per update.
    pub clause_attention: bool,
    /// Most clauses read per observation (the first ones), 1..=256. Default 48.
    pub max_clauses: usize,
    /// Whether the MLP reads, per (observation, action) pair, the fraction of the action's
    /// features (words and bigrams) that occur in the observation's header clause (the
    /// task): `take tomato 1 ...` overlaps `cool some tomato and put it in cabinet 1` where
    /// `take apple 1 ...` barely does. Default false.
    pub header_overlap: bool,
    /// Whether each action also reads its context: the observation's clauses after the
    /// header that share a word bigram with the action (`go to cabinet 2` reads
    /// `unvisited cabinet 2`, `take mug 1 from shelf 1` reads `On the shelf 1, you see a mug
    /// 1`), averaged into one bag, and the share of the header's features that this context
    /// holds beyond the action's own (the goal's object seen at the place an action leads
    /// to). Default false.
    pub action_context: bool,
    /// Whether every text also reads as it relates to the task (see
    /// [`Featurizer::encode_goal`]): words of the task clause are replaced by one
    /// placeholder in the actions and the observation's other clauses, and the bigrams and
    /// trigrams around it become features of their own (`take <goal> 1`, `unvisited <goal>
    /// <goal>`, `carrying a <goal> 1`), shared by every task. Default false.
    pub goal_features: bool,
}

impl Default for ActionPolicyConfig {
    fn default() -> Self {
        Self {
            featurizer: FeaturizerConfig::default(),
            embedding_dim: 32,
            hidden_dim: 64,
            numeric_dim: 0,
            seed: 0,
            clause_attention: false,
            max_clauses: 48,
            header_overlap: false,
            action_context: false,
            goal_features: false,
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
    bags: Option<EmbeddingBag>,
    /// The clause layout, when the policy reads clauses.
    clauses: Option<ClauseIndex>,
    /// `(observations, numeric_dim)`, when the policy has numeric features.
    numeric: Option<Tensor>,
    observations: usize,
    actions: usize,
    /// `(pairs,)` u32: the distinct observation of each (decision, action) pair.
    pair_observation: Tensor,
    /// `(pairs,)` u32: the distinct action text of each pair.
    pair_action: Tensor,
    /// `(pairs, 1)` f32: the header overlap of each pair, when the policy reads it.
    pair_overlap: Option<Tensor>,
    /// Each pair's context and each observation's header, when the policy reads contexts.
    context: Option<ContextIndex>,
    segments: Segments,
}

/// Action contexts (see [`ActionPolicyConfig::action_context`]) as bags over the clause
/// rows of the embedded texts.
#[derive(Clone, Debug)]
struct ContextIndex {
    /// Number of distinct clause texts (embedded after the actions).
    clauses: usize,
    /// `(pairs, dim)`: the mean of each pair's matched clauses (zero when none match).
    pair_context: EmbeddingBag,
    /// `(observations, dim)`: each observation's first clause (zero when it has none).
    observation_header: EmbeddingBag,
    /// `(pairs, 1)` f32: share of the header's features found in the context, not the action.
    pair_goal: Tensor,
}

/// Where each observation's clauses are among the embedded texts.
#[derive(Clone, Debug)]
struct ClauseIndex {
    /// Number of distinct clause texts (embedded after the actions).
    clauses: usize,
    /// Clause slots per observation (the batch's longest, at least 1).
    slots: usize,
    /// `(observations * slots,)` u32: the clause in each slot; padding reads the zero row
    /// `clauses`.
    slot_clause: Tensor,
    /// `(observations, slots)` f32: 0 for a clause, [`MASKED_SCORE`] for padding.
    slot_mask: Tensor,
    /// `(decisions,)` u32: the distinct observation of each decision.
    decision_observation: Tensor,
    /// `(pairs,)` u32: each pair's row in the `(decisions * max actions)` padded layout.
    pair_padded: Tensor,
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

/// Action contexts flattened: matched clauses per pair, header clause per observation.
struct FlatContext {
    clause_ids: Vec<u32>,
    clause_pair: Vec<u32>,
    clause_weight: Vec<f32>,
    header_ids: Vec<u32>,
    header_observation: Vec<u32>,
    pair_goal: Vec<f32>,
}

/// A batch flattened into index vectors, ready to become tensors.
struct FlatBatch {
    /// Feature ids of every distinct text: observations, actions, then clauses.
    ids: Vec<u32>,
    /// Which distinct text each id belongs to.
    text_of_id: Vec<u32>,
    /// `1 / len` of the id's text (a mean over the bag).
    id_weight: Vec<f32>,
    observations: usize,
    actions: usize,
    /// Clause count, slots per observation, slot clauses and masks (see [`ClauseIndex`]).
    clauses: Option<(usize, usize, Vec<u32>, Vec<f32>)>,
    /// Distinct clause texts embedded after the actions (for attention or contexts).
    clause_count: usize,
    /// Action contexts, when the policy reads them.
    context: Option<FlatContext>,
    /// The distinct observation of each decision.
    decision_observation: Vec<u32>,
    /// Row-major `(observations, numeric_dim)`.
    numeric: Vec<f32>,
    /// For each (decision, action) pair: its distinct observation and distinct action.
    pair_observation: Vec<u32>,
    pair_action: Vec<u32>,
    /// Header overlap of each pair (empty when the policy does not read it).
    pair_overlap: Vec<f32>,
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
    fn encode_observation_under(
        &self,
        task: &str,
        text: &str,
        listed: &[&str],
        numeric: &[f32],
        goal: Option<&GoalTerms>,
    ) -> EncodedObservation {
        // Header overlap alone reads only the first clause.
        let reads_all = self.config.clause_attention || self.config.action_context;
        let clauses_read = match (reads_all, self.config.header_overlap) {
            (true, _) => self.config.max_clauses,
            (false, true) => 1,
            (false, false) => 0,
        };
        let clauses: Vec<Vec<u32>> = listed
            .iter()
            .take(clauses_read)
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

    /// The goal terms of the header clause (the first of `listed`), when the policy reads
    /// goal features.
    fn goal_terms(&self, listed: &[&str]) -> Option<GoalTerms> {
        self.config
            .goal_features
            .then(|| GoalTerms::of(listed.first().copied().unwrap_or("")))
    }

    /// Goal features of each action under `goal` (empty when the policy does not read them;
    /// see [`ActionPolicyConfig::goal_features`]).
    fn encode_goal_actions<S: AsRef<str>>(
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
            self.distributions(chunk)?.to_vecs()
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
    fn flatten_contexts(
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
        let mut clauses_of_bigram: Vec<HashMap<u32, Vec<u32>, FnvBuildHasher>> =
            Vec::with_capacity(observations.len());
        let mut header_features: Vec<Vec<u32>> = Vec::with_capacity(observations.len());
        for (slot, observation) in observations.iter().enumerate() {
            first_clause.push(next);
            if !observation.clauses.is_empty() {
                header_ids.push(next);
                header_observation.push(slot as u32);
            }
            let mut index: HashMap<u32, Vec<u32>, FnvBuildHasher> = HashMap::default();
            for (local, clause) in observation.clauses.iter().enumerate().skip(1) {
                for &bigram in featurizer.bigrams(clause) {
                    let holders = index.entry(bigram).or_default();
                    if holders.last() != Some(&(local as u32)) {
                        holders.push(local as u32);
                    }
                }
            }
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
            for bigram in featurizer.bigrams(action) {
                if let Some(holders) = clauses_of_bigram[slot].get(bigram) {
                    matched.extend(holders);
                }
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

    /// `(pairs,)` logits for every (decision, action) pair of the batch.
    fn pair_logits(&self, batch: &PreparedBatch) -> Result<Tensor> {
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

/// The clauses of `text` that hold a word: those [`Featurizer::encode_clauses`] keeps.
fn worded_clauses(text: &str) -> impl Iterator<Item = &str> {
    features::clauses(text).filter(|clause| clause.chars().any(char::is_alphanumeric))
}

/// The clauses an observation is read as, the header first: the task as one clause, then
/// the worded clauses of the situation text; without a word in the task, the text's
/// worded clauses alone (its first is the header).
fn listed_clauses<'a>(task: &'a str, text: &'a str) -> Vec<&'a str> {
    let header = task.chars().any(char::is_alphanumeric).then_some(task);
    header.into_iter().chain(worded_clauses(text)).collect()
}

/// The fraction of `action`'s feature ids found in `header` (sorted, deduplicated); 0 for
/// an action without features.
fn overlap(action: &[u32], header: &[u32]) -> f32 {
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
fn clause_layout(observations: &[&EncodedObservation]) -> (usize, usize, Vec<u32>, Vec<f32>) {
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
                ..FeaturizerConfig::default()
            },
            embedding_dim: 8,
            hidden_dim: 16,
            numeric_dim: 2,
            seed,
            clause_attention: true,
            max_clauses: 8,
            header_overlap: true,
            action_context: true,
            goal_features: true,
        }
    }

    fn decisions(policy: &ActionPolicy) -> Vec<ActionDecision> {
        vec![
            policy.encode_decision(
                "",
                "goal: pick the red block. You see a red block; a blue block",
                &[0.5, 1.0],
                &["red", "a blue", "green"],
            ),
            policy.encode_decision("", "you see a door", &[0.0, -1.0], &["open door", "wait"]),
            policy.encode_decision("", "", &[1.0, 1.0], &["red"]),
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
        let forward =
            policy.encode_decision("", "pick the red block", &[0.0, 0.0], &["red", "blue"]);
        let backward =
            policy.encode_decision("", "pick the red block", &[0.0, 0.0], &["blue", "red"]);
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
        let no_actions = policy.encode_decision::<&str>("", "x", &[0.0, 0.0], &[]);
        assert!(matches!(
            policy.distributions(&[&no_actions]),
            Err(LearnError::InvalidBatch(_))
        ));
        let wrong_numeric = policy.encode_decision("", "x", &[0.0], &["a"]);
        assert!(policy.distributions(&[&wrong_numeric]).is_err());
        let out_of_table = ActionDecision {
            observation: Arc::new(EncodedObservation {
                ids: vec![1 << 10],
                numeric: vec![0.0, 0.0],
                ..EncodedObservation::default()
            }),
            actions: policy.encode_actions(&["a"]),
            goal_actions: Arc::new([]),
        };
        assert!(policy.distributions(&[&out_of_table]).is_err());
        assert!(policy.distributions(&[]).is_err());
        let fine = policy.encode_decision("", "x", &[0.0, 0.0], &["a", "b"]);
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
        let first = policy.encode_decision("", "a hall", &[0.0, 0.0], &["go north", "go south"]);
        let same_observation = ActionDecision {
            observation: Arc::clone(&first.observation),
            actions: policy.encode_actions(&["go south", "wait", "go north"]),
            goal_actions: Arc::new([]),
        };
        let other = policy.encode_decision("", "a hall", &[0.0, 0.0], &["wait"]);
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
    fn the_bag_model_has_no_attention_parameters_and_still_batches_consistently() {
        let config = ActionPolicyConfig {
            clause_attention: false,
            header_overlap: false,
            action_context: false,
            ..small_config(11)
        };
        let policy = ActionPolicy::new(config, &Device::Cpu).unwrap();
        assert!(policy.parameters().get(ATTENTION_QUERY).is_none());
        let decisions = decisions(&policy);
        assert!(decisions.iter().all(|d| d.observation.clauses.is_empty()));
        let refs: Vec<_> = decisions.iter().collect();
        let together = policy.distributions(&refs).unwrap().to_vecs().unwrap();
        let alone = policy
            .distributions(&[&decisions[0]])
            .unwrap()
            .to_vecs()
            .unwrap();
        for (a, b) in alone[0].iter().zip(&together[0]) {
            assert!((a - b).abs() < 1e-6);
        }
    }

    #[test]
    fn clauses_change_the_scores_only_with_attention() {
        let scores = |clause_attention: bool, text: &str| {
            let config = ActionPolicyConfig {
                clause_attention,
                header_overlap: false,
                action_context: false,
                goal_features: false,
                ..small_config(12)
            };
            let policy = ActionPolicy::new(config, &Device::Cpu).unwrap();
            let decision =
                policy.encode_decision("", text, &[0.0, 0.0], &["take red 1", "take blue 2"]);
            policy
                .distributions(&[&decision])
                .unwrap()
                .to_vecs()
                .unwrap()
        };
        // Same words, same bag; different clause structure.
        let (one, two) = ("find red 1 blue 2", "find red 1. blue 2");
        assert_eq!(scores(false, one), scores(false, two));
        assert_ne!(scores(true, one), scores(true, two));
    }

    #[test]
    fn rows_are_the_same_computed_on_any_number_of_threads() {
        let policy = ActionPolicy::new(
            ActionPolicyConfig {
                embedding_dim: 32,
                hidden_dim: 64,
                ..small_config(15)
            },
            &Device::Cpu,
        )
        .unwrap();
        let decisions: Vec<ActionDecision> = (0..97)
            .map(|i| {
                let actions: Vec<String> = (0..(3 + i % 11))
                    .map(|a| format!("go to cabinet {a}; take mug {i} from shelf {a}"))
                    .collect();
                policy.encode_decision(
                    &format!("Your task is to: put mug {i} in desk 1."),
                    &format!("unvisited cabinet {i}; searched shelf 2 with a mug 1."),
                    &[i as f32 / 97.0, 1.0],
                    &actions,
                )
            })
            .collect();
        let refs: Vec<&ActionDecision> = decisions.iter().collect();
        let one = policy.log_prob_rows(&refs, 1).unwrap();
        assert_eq!(one, policy.distributions(&refs).unwrap().to_vecs().unwrap());
        for threads in [2, 3, 8] {
            assert_eq!(
                policy.log_prob_rows(&refs, threads).unwrap(),
                one,
                "{threads} threads"
            );
        }
    }

    #[test]
    fn goal_features_relate_every_text_to_the_task() {
        let policy = ActionPolicy::new(small_config(14), &Device::Cpu).unwrap();
        let actions = ["take mug 1 from shelf 1", "take pen 1 from shelf 1"];
        let decision = |task: &str| {
            policy.encode_decision(
                &format!("Your task is to: put a {task} in desk 1."),
                "On the shelf 1, you see a mug 1.",
                &[0.0, 0.0],
                &actions,
            )
        };
        let (mug, pen) = (decision("mug"), decision("pen"));
        // The task's object gets the goal features, whichever object that is.
        assert!(!mug.goal_actions[0].is_empty() && mug.goal_actions[1].is_empty());
        assert_eq!(mug.goal_actions[0], pen.goal_actions[1]);
        assert!(pen.goal_actions[0].is_empty());
        // The clause that shows the mug relates to the mug task only.
        assert_eq!(
            mug.observation.clause_goal.len(),
            mug.observation.clauses.len()
        );
        assert!(
            mug.observation.clause_goal[0].is_empty(),
            "not the header itself"
        );
        assert!(!mug.observation.clause_goal[1].is_empty());
        assert!(pen.observation.clause_goal[1].is_empty());
        assert_eq!(mug.observation.goal, mug.observation.clause_goal[1]);
        // The plain features do not depend on the task's object.
        assert_eq!(mug.actions, pen.actions);
        let rows = |decision: &ActionDecision| {
            policy
                .distributions(&[decision])
                .unwrap()
                .to_vecs()
                .unwrap()
        };
        let plain = ActionDecision {
            goal_actions: Arc::new([]),
            ..mug.clone()
        };
        assert_ne!(rows(&mug), rows(&plain));
        let off = ActionPolicy::new(
            ActionPolicyConfig {
                goal_features: false,
                ..small_config(14)
            },
            &Device::Cpu,
        )
        .unwrap();
        let unread = off.encode_decision(
            "Your task is to: put a mug in desk 1.",
            "",
            &[0.0, 0.0],
            &actions,
        );
        assert!(unread.goal_actions.is_empty() && unread.observation.goal.is_empty());
        let short = ActionDecision {
            goal_actions: Arc::new([Vec::new()]),
            ..mug.clone()
        };
        assert!(matches!(
            policy.distributions(&[&short]),
            Err(LearnError::InvalidBatch(_))
        ));
    }

    #[test]
    fn the_task_field_is_the_header_wherever_the_text_states_it() {
        let policy = ActionPolicy::new(small_config(14), &Device::Cpu).unwrap();
        let actions = ["take mug 1", "take pen 1"];
        let task = "Your task is to: put a mug in desk 1.";
        let text = "You are in the office. You see a pen 1 and a mug 1.";
        // A one-clause task read from the field encodes exactly as the same text with the
        // task as its first line (how 0.1 observations are read).
        let field = policy.encode_decision(task, text, &[0.0, 0.0], &actions);
        let joined = policy.encode_decision("", &format!("{task}\n{text}"), &[0.0, 0.0], &actions);
        assert_eq!(*field.observation, *joined.observation);
        assert_eq!(field.goal_actions, joined.goal_actions);
        // A task of several sentences is one header clause, and goal features follow it
        // even when the text puts another sentence first.
        let long_task = "Your task is to melt the ice. Once the ice is liquid, focus on it.";
        let decision = policy.encode_decision(long_task, text, &[0.0, 0.0], &actions);
        assert_eq!(
            decision.observation.clauses[0],
            policy.featurizer().encode(long_task)
        );
        let late = policy.encode_decision(
            "Your task is to: put a pen in desk 1.",
            "You are in the office. Pens are nice. You see a pen 1 and a mug 1.",
            &[0.0, 0.0],
            &actions,
        );
        assert!(late.goal_actions[0].is_empty() && !late.goal_actions[1].is_empty());
    }

    #[test]
    fn header_overlap_is_the_shared_fraction_of_the_action_features() {
        assert_eq!(overlap(&[1, 2, 3, 4], &[2, 4, 9]), 0.5);
        assert_eq!(overlap(&[7, 7], &[7]), 1.0);
        assert_eq!(overlap(&[], &[7]), 0.0);
        assert_eq!(overlap(&[1], &[]), 0.0);
    }

    #[test]
    fn header_overlap_separates_actions_that_only_the_task_tells_apart() {
        let config = ActionPolicyConfig {
            clause_attention: false,
            ..small_config(14)
        };
        let policy = ActionPolicy::new(config, &Device::Cpu).unwrap();
        // Both objects are in view; only the header names the tomato.
        let decision = policy.encode_decision(
            "Your task is to: cool some tomato.",
            "You see an apple 1 and a tomato 1",
            &[0.0, 0.0],
            &["take apple 1", "take tomato 1"],
        );
        let batch = policy.prepare(&[&decision]).unwrap();
        let overlaps = batch.pair_overlap.as_ref().unwrap().flatten_all().unwrap();
        let overlaps = overlaps.to_vec1::<f32>().unwrap();
        assert!(overlaps[1] > overlaps[0], "{overlaps:?}");
        let without = ActionPolicy::new(
            ActionPolicyConfig {
                header_overlap: false,
                clause_attention: false,
                ..small_config(14)
            },
            &Device::Cpu,
        )
        .unwrap();
        let decision = without.encode_decision("", "x", &[0.0, 0.0], &["a"]);
        assert!(
            without
                .prepare(&[&decision])
                .unwrap()
                .pair_overlap
                .is_none()
        );
        assert!(without.parameters().get(HIDDEN_HEADER_OVERLAP).is_none());
    }

    #[test]
    fn an_action_reads_the_clauses_that_share_a_bigram_with_it() {
        // Enough buckets, well mixed, that no two of the test's bigrams share one.
        let config = ActionPolicyConfig {
            clause_attention: false,
            featurizer: FeaturizerConfig {
                bucket_bits: 16,
                hash: crate::features::BucketHash::Mixed,
                ..FeaturizerConfig::default()
            },
            ..small_config(15)
        };
        let policy = ActionPolicy::new(config, &Device::Cpu).unwrap();
        let task = "Your task is to: put some mug in shelf 1.";
        let observation = "You are at the door.\n\
                           Known places: searched cabinet 2 with mug 1; unvisited cabinet 1; \
                           unvisited shelf 1.";
        let actions = [
            "go to cabinet 2",
            "go to cabinet 1",
            "look",
            "go to shelf 1",
        ];
        let decision = policy.encode_decision(task, observation, &[0.0, 0.0], &actions);
        let observations = [&*decision.observation];
        let context = policy.flatten_contexts(&[&decision], &observations, &[0, 0, 0, 0]);
        // Clauses: 0 header, 1 "You are at the door", 2 "Known places: searched cabinet 2
        // with mug 1", 3 "unvisited cabinet 1", 4 "unvisited shelf 1" (the header's own
        // "shelf 1" is not a context).
        assert_eq!(context.clause_ids, [2, 3, 4]);
        assert_eq!(context.clause_pair, [0, 1, 3]);
        assert_eq!(context.clause_weight, [1.0; 3]);
        assert_eq!(
            (context.header_ids, context.header_observation),
            (vec![0], vec![0])
        );
        // Only cabinet 2 holds something of the task (the mug) that the action lacks.
        assert!(context.pair_goal[0] > 0.0, "{:?}", context.pair_goal);
        assert_eq!(context.pair_goal[1..], [0.0; 3]);

        let scores = |text: &str| {
            let decision = policy.encode_decision(task, text, &[0.0, 0.0], &actions);
            policy
                .distributions(&[&decision])
                .unwrap()
                .to_vecs()
                .unwrap()
        };
        // Swapping the statuses of the two cabinets changes their scores.
        let swapped = observation
            .replace("cabinet 2 with", "cabinet 9 with")
            .replace("unvisited cabinet 1", "searched cabinet 1 with mug 1")
            .replace("cabinet 9 with mug 1", "unvisited cabinet 2");
        let (before, after) = (scores(observation), scores(&swapped));
        assert_ne!(before[0][0], after[0][0]);
        assert_ne!(before[0][1], after[0][1]);
    }

    #[test]
    fn without_action_context_the_policy_has_no_context_parameters() {
        let config = ActionPolicyConfig {
            action_context: false,
            clause_attention: false,
            header_overlap: false,
            ..small_config(16)
        };
        let policy = ActionPolicy::new(config, &Device::Cpu).unwrap();
        assert!(policy.parameters().get(HIDDEN_ACTION_CONTEXT).is_none());
        let decision = policy.encode_decision("", "a b. c d", &[0.0, 0.0], &["c d"]);
        assert!(decision.observation.clauses.is_empty());
        assert!(policy.prepare(&[&decision]).unwrap().context.is_none());
    }

    #[test]
    fn max_clauses_is_checked_and_applied() {
        let bad = ActionPolicyConfig {
            max_clauses: 0,
            ..small_config(13)
        };
        assert!(matches!(
            ActionPolicy::new(bad, &Device::Cpu),
            Err(LearnError::InvalidConfig(_))
        ));
        let policy = ActionPolicy::new(small_config(13), &Device::Cpu).unwrap();
        let long: String = (0..20).map(|i| format!("clause {i}. ")).collect();
        assert_eq!(
            policy
                .encode_observation("", &long, &[0.0, 0.0])
                .clauses
                .len(),
            8
        );
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
