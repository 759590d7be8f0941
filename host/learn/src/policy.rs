//! The interface GRPO trains through.
//!
//! Any model that can recompute, for a batch of recorded decisions, the log-probability of
//! the action taken and the entropy of its distribution can be trained by
//! [`crate::grpo::GrpoTrainer`]: the hashed-feature action scorer of the inner loop
//! ([`crate::ActionPolicy`]), a recurrent or transformer policy, or the outer loop's
//! Meta-Optimizer, whose decisions are grammar-token positions with a validity mask.

use candle_core::Tensor;

use crate::error::Result;
use crate::optim::Gradients;
use crate::params::Parameters;

/// A policy's view of a batch of decisions, as tensors that gradients flow through.
#[derive(Clone, Debug)]
pub struct DecisionEvaluation {
    /// `(n,)` f32: log-probability of the chosen action at each decision.
    pub log_probs: Tensor,
    /// `(n,)` f32: entropy (nats) of the full action distribution at each decision.
    pub entropy: Tensor,
}

/// A trainable stochastic policy over discrete choices.
///
/// Implementations should evaluate a whole batch in a few large tensor operations: the
/// trainer calls [`PolicyModel::evaluate`] once per minibatch of thousands of decisions.
///
/// For an autoregressive token model (the Meta-Optimizer), a `Decision` can be "position
/// `t` of sequence `s`" holding an `Arc` of the sequence and of its per-step validity mask;
/// `evaluate` then runs each distinct sequence once and gathers the positions asked for.
///
/// Models and decisions are `Sync` so that the trainer can evaluate micro-batches on
/// several threads ([`crate::GrpoConfig::threads`]).
pub trait PolicyModel: Sync {
    /// Everything needed to recompute the action distribution at one decision point:
    /// observation and admissible actions, or a token prefix and its validity mask.
    type Decision: Sync;

    /// Log-probability of `actions[i]` at `decisions[i]`, and the entropy there.
    ///
    /// # Errors
    /// When the lengths differ, an action is out of range for its decision, or a tensor
    /// operation fails.
    fn evaluate(
        &self,
        decisions: &[&Self::Decision],
        actions: &[u32],
    ) -> Result<DecisionEvaluation>;

    /// The gradient of a loss computed from this batch's evaluation: `loss` turns the
    /// evaluation into a scalar loss tensor (and anything else the caller wants back), and
    /// the gradient of that scalar comes back for every parameter it depends on. The
    /// default runs candle's autograd through [`PolicyModel::evaluate`]
    /// ([`default_loss_gradients`]); a model with a hand-written backward pass overrides
    /// it.
    ///
    /// # Errors
    /// As [`PolicyModel::evaluate`], or `loss`'s error.
    fn loss_gradients<T>(
        &self,
        decisions: &[&Self::Decision],
        actions: &[u32],
        loss: impl FnOnce(&DecisionEvaluation) -> Result<(Tensor, T)>,
    ) -> Result<(Gradients, T)>
    where
        Self: Sized,
    {
        default_loss_gradients(self, decisions, actions, loss)
    }

    /// The trainable parameters. They are shared handles: an optimizer that updates them
    /// updates this model.
    fn parameters(&self) -> &Parameters;

    /// An independent model with the same architecture and a copy of the current weights:
    /// the frozen reference policy of the KL term, or a DERL-pop warm start (train the
    /// snapshot; the original stays as it was).
    ///
    /// # Errors
    /// When copying the weights fails.
    fn snapshot(&self) -> Result<Self>
    where
        Self: Sized;
}

/// [`PolicyModel::loss_gradients`] through candle's autograd: evaluate, compute the loss,
/// backpropagate.
///
/// # Errors
/// As [`PolicyModel::evaluate`], or `loss`'s error.
pub fn default_loss_gradients<M: PolicyModel, T>(
    model: &M,
    decisions: &[&M::Decision],
    actions: &[u32],
    loss: impl FnOnce(&DecisionEvaluation) -> Result<(Tensor, T)>,
) -> Result<(Gradients, T)> {
    let evaluation = model.evaluate(decisions, actions)?;
    let (loss, value) = loss(&evaluation)?;
    let gradients = Gradients::from_backward(model.parameters(), &loss.backward()?);
    Ok((gradients, value))
}
