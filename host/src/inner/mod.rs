//! DERL's inner loop: batched rollouts on environment components, GRPO
//! training with a reward program, evaluation by success rate.

pub mod job;
pub mod kinds;
pub mod policy;
pub mod rollout;
pub mod train;

pub use job::{EnvSpec, InnerJob, InnerResult, JobError, RewardSpec, run_job};
pub use kinds::{InnerPolicy, POLICY_KINDS, PolicyKind, SavePolicy, policy_kind};
pub use policy::{ActionKind, PolicyConfig, PolicyLearner};
pub use rollout::{ActMode, Actor, Decision, EnvPool, Episode, EpisodeJob, RolloutTimes};
pub use train::{
    Evaluation, InnerConfig, InnerError, Learner, UpdateRecord, evaluate, success_rate, train,
};
