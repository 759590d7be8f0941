//! The policy's architecture: widths, seed and the optional blocks (clause attention,
//! header overlap, action contexts, goal features), each off by default.

use serde::{Deserialize, Serialize};

#[cfg(doc)]
use super::ActionPolicy;
#[cfg(doc)]
use crate::features::Featurizer;
use crate::features::FeaturizerConfig;

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
    /// How the forward and backward passes are computed. Default [`PolicyKernel::Candle`].
    pub kernel: PolicyKernel,
}

/// How an [`ActionPolicy`]'s forward and backward passes are computed. Both compute the
/// same function; they differ in the grouping of float sums, so results agree to rounding,
/// not bit for bit.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PolicyKernel {
    /// candle's tensor operations and autograd: the reference implementation, and the
    /// only one for clause attention.
    #[default]
    Candle,
    /// Hand-written passes on plain slices, one matrix product for the pair part of the
    /// hidden layer (see the `fused` module); a policy with clause attention runs on
    /// candle.
    Fused,
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
            kernel: PolicyKernel::default(),
        }
    }
}
