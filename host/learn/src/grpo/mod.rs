//! Group Relative Policy Optimization, shared by both of DERL's loops.
//!
//! The inner loop trains the environment policy on groups of episodes of the same task
//! scored by a Meta-Reward; the outer loop trains the Meta-Optimizer on groups of reward
//! programs scored by the validation success of the policies they produced. Both hand
//! [`GrpoTrainer::update`] a list of groups of [`Episode`]s; the model behind it is any
//! [`crate::PolicyModel`].
//!
//! One update:
//! 1. advantages per group ([`group_advantages`], mode [`AdvantageMode`]), applied to every
//!    decision of the episode;
//! 2. the reference policy's log-probabilities, once (when `kl_coef > 0`);
//! 3. `epochs` passes; each shuffles the episodes (ChaCha8, stream = update index) and cuts
//!    them into minibatches of about `minibatch_decisions` decisions;
//! 4. per minibatch: for each micro-batch, one batched evaluation of the policy, its share
//!    of the loss of [`grpo_loss`] (weighted per [`LossAggregation`] over the whole
//!    minibatch) and backward; then the summed gradients, global-norm clipping, AdamW.

mod advantages;
mod config;
mod loss;
mod trainer;

pub use advantages::group_advantages;
pub use config::{AdvantageMode, ClipRange, GrpoConfig, LossAggregation};
pub use loss::{LossInputs, LossTerms, clipped_surrogate, grpo_loss, is_clipped, k3_kl};
pub use trainer::{
    Episode, GrpoTrainer, Step, TRAINER_STATE_FILE, TRAINER_TENSORS_FILE, UpdateStats,
};
