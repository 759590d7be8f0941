//! Policies and the GRPO trainer shared by derl's inner loop (a policy over environment
//! actions) and outer loop (a Meta-Optimizer generating reward programs token by token).
//!
//! - [`PolicyModel`]: what GRPO needs from a model (batched log-probabilities and
//!   entropies, its parameters, a frozen copy).
//! - [`ActionPolicy`]: hashed word/bigram embedding bags and a small MLP scoring each
//!   admissible action; batched, seeded, checkpointable.
//! - [`grpo`]: group-relative advantages, clipped surrogate, k3 KL, AdamW with global-norm
//!   clipping, per-update statistics, resumable state.
//! - [`Featurizer`], [`segments`], [`sampling`]: the pieces a new model reuses.
//!
//! Every random choice comes from a seed: weights from the model seed (never candle's
//! unseeded generator), samples from a caller-owned ChaCha generator, minibatch shuffles
//! from the GRPO seed. On CPU, results are identical with any number of threads.

pub mod action_policy;
pub mod allocator;
pub mod checkpoint;
pub mod dense;
pub mod embedding_bag;
pub mod error;
pub mod features;
pub mod gradients;
pub mod grpo;
pub mod init;
pub mod optim;
pub mod parallel;
pub mod params;
pub mod policy;
pub mod sampling;
pub mod segments;

pub use action_policy::{
    ActionDecision, ActionDistributions, ActionPolicy, ActionPolicyConfig, EncodedObservation,
    FeatureCache, PolicyKernel, PreparedBatch,
};
pub use error::{LearnError, Result};
pub use features::{BucketHash, Featurizer, FeaturizerConfig, GoalTerms};
pub use grpo::{Episode, GrpoConfig, GrpoTrainer, Step, UpdateStats};
pub use params::Parameters;
pub use policy::{DecisionEvaluation, PolicyModel};
pub use sampling::SampledAction;

/// Inner loops run in parallel: policies, decisions and trainers must cross threads.
const fn assert_send_sync<T: Send + Sync>() {}
const _: () = {
    assert_send_sync::<ActionPolicy>();
    assert_send_sync::<ActionDecision>();
    assert_send_sync::<GrpoTrainer<ActionPolicy>>();
    assert_send_sync::<Episode<ActionDecision>>();
};
