//! The GRPO trainer: from groups of scored episodes to optimizer steps.

use std::path::Path;

use candle_core::{Device, Tensor};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use super::advantages::group_advantages;
use super::config::{ClipRange, GrpoConfig, LossAggregation};
use super::loss::{LossInputs, LossTerms, grpo_loss, is_clipped, k3_kl};
use crate::checkpoint::{read_json, read_tensors, write_json, write_tensors};
use crate::error::{LearnError, Result};
use crate::optim::{AdamW, Gradients, clip_scale};
use crate::policy::{DecisionEvaluation, PolicyModel};
use crate::sampling::shuffle;
use crate::segments::MASKED_LOGIT;

/// File (inside a state directory) holding the optimizer moments and reference weights.
pub const TRAINER_TENSORS_FILE: &str = "trainer.safetensors";
/// File (inside a state directory) holding the trainer's counters and configuration.
pub const TRAINER_STATE_FILE: &str = "trainer.json";
const REFERENCE_PREFIX: &str = "reference.";
/// A recorded action whose log-probability is at or below this was masked out (or the
/// model is broken): training on it would give an infinite or `NaN` loss.
const IMPOSSIBLE_LOG_PROB: f32 = MASKED_LOGIT / 2.0;

/// One decision of an episode as recorded at sampling time.
#[derive(Clone, Debug)]
pub struct Step<D> {
    /// What the policy saw.
    pub decision: D,
    /// The action taken (index into the decision's choices).
    pub action: u32,
    /// Log-probability of `action` under the policy that sampled it.
    pub sampled_log_prob: f32,
}

/// A finished episode: its decisions and its scalar reward (the Meta-Reward's score in the
/// inner loop, the validation success of a reward program in the outer loop).
#[derive(Clone, Debug)]
pub struct Episode<D> {
    /// The decisions in order.
    pub steps: Vec<Step<D>>,
    /// The episode's reward; must be finite.
    pub reward: f64,
}

/// Statistics of one [`GrpoTrainer::update`]. Per-decision quantities are means over every
/// decision evaluation of the update (each decision counts once per epoch); `loss`,
/// `policy_loss` and the gradient norms are means over optimizer steps.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct UpdateStats {
    /// Index of this update (0 for the first).
    pub update: u64,
    /// Groups in the batch.
    pub groups: usize,
    /// Episodes in the batch.
    pub episodes: usize,
    /// Decisions in the batch.
    pub decisions: usize,
    /// Optimizer steps taken.
    pub optimizer_steps: usize,
    /// Learning rate used.
    pub learning_rate: f64,
    /// Mean episode reward.
    pub reward_mean: f64,
    /// Population standard deviation of the episode rewards.
    pub reward_std: f64,
    /// Groups whose rewards were all equal (zero advantage, no policy-gradient signal).
    pub uniform_groups: usize,
    /// Mean absolute episode advantage.
    pub advantage_abs_mean: f64,
    /// Mean total loss.
    pub loss: f64,
    /// Mean clipped-surrogate loss.
    pub policy_loss: f64,
    /// Mean k3 KL to the reference policy (`None` without a reference).
    pub kl: Option<f64>,
    /// Mean entropy of the action distributions (nats).
    pub entropy: f64,
    /// Mean importance ratio against the sampling policy.
    pub ratio_mean: f64,
    /// Largest importance ratio.
    pub ratio_max: f64,
    /// Fraction of decision evaluations where the clip was active.
    pub clip_fraction: f64,
    /// Mean k3 KL between the sampling policy and the current one (how off-policy the
    /// minibatches were).
    pub sampling_kl: f64,
    /// Mean global gradient norm before clipping.
    pub grad_norm: f64,
    /// Largest global gradient norm before clipping.
    pub grad_norm_max: f64,
    /// Optimizer steps whose gradient was scaled down.
    pub clipped_steps: usize,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct TrainerState {
    config: GrpoConfig,
    updates: u64,
    optimizer_steps: u64,
    learning_rate: f64,
    has_reference: bool,
}

/// Trains any [`PolicyModel`] with GRPO (see [`crate::grpo`] for the objective).
///
/// The trainer owns the optimizer state and, when `kl_coef > 0`, a frozen copy of the
/// policy taken at construction. The model itself stays with the caller, who samples with
/// it between updates; [`GrpoTrainer::update`] changes its weights in place.
pub struct GrpoTrainer<M: PolicyModel> {
    config: GrpoConfig,
    optimizer: AdamW,
    reference: Option<M>,
    updates: u64,
}

/// The flattened batch: one entry per decision, episodes contiguous.
struct FlatDecisions<'a, D> {
    decisions: Vec<&'a D>,
    actions: Vec<u32>,
    sampled_log_probs: Vec<f32>,
    advantages: Vec<f32>,
    /// Decision range of each episode that has decisions.
    episodes: Vec<std::ops::Range<usize>>,
}

/// What one micro-batch's forward and backward pass gives, before it is added to the
/// minibatch's gradients and the update's totals (in micro-batch order, so threads do not
/// change a number).
struct MicroPass {
    gradients: Gradients,
    ratio: Vec<f32>,
    entropy: Vec<f32>,
    log_probs: Vec<f32>,
    sampled: Vec<f32>,
    advantages: Vec<f32>,
    /// Sum of the k3 KL terms, when the KL term is on.
    kl: Option<f64>,
    loss: f64,
    policy_loss: f64,
}

impl MicroPass {
    /// Adds the per-decision statistics to `totals` (clipping counted against `clip`) and
    /// the loss to `loss`.
    fn add_to(&self, totals: &mut Totals, loss: &mut f64, clip: ClipRange) {
        for i in 0..self.ratio.len() {
            let ratio = f64::from(self.ratio[i]);
            totals.ratio += ratio;
            totals.ratio_max = totals.ratio_max.max(ratio);
            let advantage = f64::from(self.advantages[i]);
            totals.clipped += usize::from(is_clipped(ratio, advantage, clip));
            totals.sampling_kl += k3_kl(f64::from(self.log_probs[i]), f64::from(self.sampled[i]));
            totals.entropy += f64::from(self.entropy[i]);
        }
        if let Some(kl) = self.kl {
            totals.kl += kl;
        }
        totals.evaluations += self.ratio.len();
        *loss += self.loss;
        totals.policy_loss += self.policy_loss;
    }
}

/// A micro-batch's loss terms with the values they were computed from.
struct Evaluated {
    terms: LossTerms,
    log_probs: Vec<f32>,
    entropy: Vec<f32>,
}

#[derive(Default)]
struct Totals {
    evaluations: usize,
    loss: f64,
    policy_loss: f64,
    kl: f64,
    entropy: f64,
    ratio: f64,
    ratio_max: f64,
    clipped: usize,
    sampling_kl: f64,
    grad_norm: f64,
    grad_norm_max: f64,
    clipped_steps: usize,
    steps: usize,
}

impl<M: PolicyModel> GrpoTrainer<M> {
    /// A trainer for `model`; takes a [`PolicyModel::snapshot`] of it as the reference
    /// policy when `kl_coef > 0`.
    ///
    /// # Errors
    /// [`LearnError::InvalidConfig`] for an invalid configuration; a candle error if the
    /// reference copy fails.
    pub fn new(config: GrpoConfig, model: &M) -> Result<Self> {
        config.validate()?;
        let reference = if config.kl_coef > 0.0 {
            Some(model.snapshot()?)
        } else {
            None
        };
        Ok(Self {
            optimizer: AdamW::new(config.adamw()),
            config,
            reference,
            updates: 0,
        })
    }

    /// The configuration.
    pub fn config(&self) -> &GrpoConfig {
        &self.config
    }

    /// Number of updates done.
    pub fn updates(&self) -> u64 {
        self.updates
    }

    /// The frozen reference policy, if the KL term is on.
    pub fn reference(&self) -> Option<&M> {
        self.reference.as_ref()
    }

    /// Replaces the reference policy by a copy of `model` as it is now (for periodic
    /// reference resets). Does nothing when the KL term is off.
    ///
    /// # Errors
    /// When copying the weights fails.
    pub fn reset_reference(&mut self, model: &M) -> Result<()> {
        if self.reference.is_some() {
            self.reference = Some(model.snapshot()?);
        }
        Ok(())
    }

    /// Sets the learning rate of later updates (for schedules).
    pub fn set_learning_rate(&mut self, learning_rate: f64) {
        self.optimizer.set_learning_rate(learning_rate);
    }

    /// One GRPO update of `model` on `groups` (each a list of episodes of the same task):
    /// group-relative advantages, then `epochs` passes over shuffled minibatches of whole
    /// episodes, one clipped AdamW step each.
    ///
    /// # Errors
    /// [`LearnError::InvalidBatch`] when there is no decision, a reward or recorded
    /// log-probability is not finite, the model rejects a decision or gives a recorded
    /// action probability 0, or a gradient is not finite; candle errors. Minibatches
    /// before the failing one have been applied by then; the update count is unchanged.
    pub fn update(
        &mut self,
        model: &M,
        groups: &[Vec<Episode<M::Decision>>],
    ) -> Result<UpdateStats> {
        let flat = self.flatten(groups)?;
        let reference_log_probs = self.reference_log_probs(&flat)?;
        let device = device_of(model)?;
        let mut rng = ChaCha8Rng::seed_from_u64(self.config.seed);
        rng.set_stream(self.updates);
        let mut totals = Totals::default();
        let mut order: Vec<usize> = (0..flat.episodes.len()).collect();
        for _ in 0..self.config.epochs {
            shuffle(&mut order, &mut rng);
            for minibatch in Self::split(&flat, &order, self.config.minibatch_decisions) {
                self.step(
                    model,
                    &flat,
                    &minibatch,
                    reference_log_probs.as_deref(),
                    &device,
                    &mut totals,
                )?;
            }
        }
        self.updates += 1;
        Ok(self.stats(groups, &flat, &totals))
    }

    fn flatten<'a>(
        &self,
        groups: &'a [Vec<Episode<M::Decision>>],
    ) -> Result<FlatDecisions<'a, M::Decision>> {
        let size: usize = groups
            .iter()
            .flatten()
            .map(|episode| episode.steps.len())
            .sum();
        if size == 0 {
            return Err(LearnError::InvalidBatch("no decisions to train on".into()));
        }
        let mut flat = FlatDecisions {
            decisions: Vec::with_capacity(size),
            actions: Vec::with_capacity(size),
            sampled_log_probs: Vec::with_capacity(size),
            advantages: Vec::with_capacity(size),
            episodes: Vec::new(),
        };
        for group in groups {
            let rewards: Vec<f64> = group.iter().map(|episode| episode.reward).collect();
            if let Some(reward) = rewards.iter().find(|reward| !reward.is_finite()) {
                return Err(LearnError::InvalidBatch(format!("episode reward {reward}")));
            }
            let advantages = group_advantages(
                &rewards,
                self.config.advantage,
                self.config.advantage_epsilon,
            );
            for (episode, advantage) in group.iter().zip(advantages) {
                if episode.steps.is_empty() {
                    continue;
                }
                let start = flat.decisions.len();
                for step in &episode.steps {
                    if !step.sampled_log_prob.is_finite() {
                        return Err(LearnError::InvalidBatch(format!(
                            "recorded log-probability {}",
                            step.sampled_log_prob
                        )));
                    }
                    flat.decisions.push(&step.decision);
                    flat.actions.push(step.action);
                    flat.sampled_log_probs.push(step.sampled_log_prob);
                    flat.advantages.push(advantage as f32);
                }
                flat.episodes.push(start..flat.decisions.len());
            }
        }
        Ok(flat)
    }

    /// Reference log-probabilities of every decision, computed once per update.
    fn reference_log_probs(
        &self,
        flat: &FlatDecisions<'_, M::Decision>,
    ) -> Result<Option<Vec<f32>>> {
        let Some(reference) = &self.reference else {
            return Ok(None);
        };
        let mut log_probs = Vec::with_capacity(flat.decisions.len());
        let chunk = self.config.minibatch_decisions;
        for (decisions, actions) in flat.decisions.chunks(chunk).zip(flat.actions.chunks(chunk)) {
            let evaluation = reference.evaluate(decisions, actions)?;
            log_probs.extend(evaluation.log_probs.detach().to_vec1::<f32>()?);
        }
        Ok(Some(log_probs))
    }

    /// Cuts `episodes` (in order) into runs of at least `target` decisions (the last may
    /// be smaller): minibatches of shuffled episodes, and micro-batches of a minibatch.
    fn split(
        flat: &FlatDecisions<'_, M::Decision>,
        episodes: &[usize],
        target: usize,
    ) -> Vec<Vec<usize>> {
        let mut runs = Vec::new();
        let mut current = Vec::new();
        let mut size = 0;
        for &episode in episodes {
            current.push(episode);
            size += flat.episodes[episode].len();
            if size >= target {
                runs.push(std::mem::take(&mut current));
                size = 0;
            }
        }
        if !current.is_empty() {
            runs.push(current);
        }
        runs
    }

    /// One optimizer step on the minibatch `episodes`: gradients accumulated over its
    /// micro-batches, global-norm clipping, AdamW.
    fn step(
        &mut self,
        model: &M,
        flat: &FlatDecisions<'_, M::Decision>,
        episodes: &[usize],
        reference_log_probs: Option<&[f32]>,
        device: &Device,
        totals: &mut Totals,
    ) -> Result<()> {
        let decisions: usize = episodes.iter().map(|&e| flat.episodes[e].len()).sum();
        let aggregation = self.config.loss_aggregation;
        let weight = |episode: usize| -> f32 {
            match aggregation {
                LossAggregation::DecisionMean => 1.0 / decisions as f32,
                LossAggregation::EpisodeMean => {
                    1.0 / (episodes.len() * flat.episodes[episode].len()) as f32
                }
            }
        };
        let micros = Self::split(flat, episodes, self.config.microbatch_decisions);
        let passes_started = std::time::Instant::now();
        let pass = |micro: &Vec<usize>| {
            self.micro_pass(model, flat, micro, &weight, reference_log_probs, device)
        };
        let passes = crate::parallel::map(&micros, self.config.threads, pass);
        let mut gradients = Gradients::default();
        let mut loss = 0.0;
        for micro_pass in passes {
            let micro_pass = micro_pass?;
            micro_pass.add_to(totals, &mut loss, self.config.clip_range());
            gradients.accumulate(micro_pass.gradients)?;
        }
        let grad_norm = gradients.global_norm()?;
        if !grad_norm.is_finite() {
            return Err(LearnError::InvalidBatch(format!(
                "gradient norm {grad_norm} (update {}); the weights were left unchanged",
                self.updates
            )));
        }
        let scale = clip_scale(grad_norm, self.config.max_grad_norm);
        let optimizer_started = std::time::Instant::now();
        self.optimizer.step(model.parameters(), &gradients, scale)?;
        tracing::debug!(
            decisions,
            forward_backward_seconds = (optimizer_started - passes_started).as_secs_f64(),
            optimizer_seconds = optimizer_started.elapsed().as_secs_f64(),
            "grpo minibatch timing"
        );
        totals.loss += loss;
        totals.grad_norm += grad_norm;
        totals.grad_norm_max = totals.grad_norm_max.max(grad_norm);
        totals.clipped_steps += usize::from(scale < 1.0);
        totals.steps += 1;
        Ok(())
    }

    /// Forward and backward of one micro-batch: its share of the minibatch loss, its
    /// gradients and its per-decision statistics.
    fn micro_pass(
        &self,
        model: &M,
        flat: &FlatDecisions<'_, M::Decision>,
        episodes: &[usize],
        weight: &(dyn Fn(usize) -> f32 + Sync),
        reference_log_probs: Option<&[f32]>,
        device: &Device,
    ) -> Result<MicroPass> {
        let mut indices = Vec::new();
        let mut weights = Vec::new();
        for &episode in episodes {
            let range = flat.episodes[episode].clone();
            weights.extend(std::iter::repeat_n(weight(episode), range.len()));
            indices.extend(range);
        }
        let pick = |values: &[f32]| -> Vec<f32> { indices.iter().map(|&i| values[i]).collect() };
        let decisions: Vec<&M::Decision> = indices.iter().map(|&i| flat.decisions[i]).collect();
        let actions: Vec<u32> = indices.iter().map(|&i| flat.actions[i]).collect();
        let sampled = pick(&flat.sampled_log_probs);
        let advantages = pick(&flat.advantages);
        let n = indices.len();

        let constant = |values: &[f32]| Tensor::from_slice(values, n, device);
        let sampled_t = constant(&sampled)?;
        let advantages_t = constant(&advantages)?;
        let weights_t = constant(&weights)?;
        let reference_t = reference_log_probs
            .map(|r| constant(&pick(r)))
            .transpose()?;
        let loss = |evaluation: &DecisionEvaluation| -> Result<(Tensor, Evaluated)> {
            let log_probs: Vec<f32> = evaluation.log_probs.to_vec1()?;
            if let Some(position) = log_probs
                .iter()
                .position(|&lp| lp.is_nan() || lp <= IMPOSSIBLE_LOG_PROB)
            {
                return Err(LearnError::InvalidBatch(format!(
                    "the policy gives log-probability {} to a recorded action (masked or invalid)",
                    log_probs[position]
                )));
            }
            let terms = grpo_loss(
                LossInputs {
                    log_probs: &evaluation.log_probs,
                    entropy: &evaluation.entropy,
                    sampled_log_probs: &sampled_t,
                    advantages: &advantages_t,
                    weights: &weights_t,
                    reference_log_probs: reference_t.as_ref(),
                },
                self.config.clip_range(),
                self.config.kl_coef,
                self.config.entropy_coef,
            )?;
            let entropy = evaluation.entropy.to_vec1()?;
            let loss = terms.loss.clone();
            let evaluated = Evaluated {
                terms,
                log_probs,
                entropy,
            };
            Ok((loss, evaluated))
        };
        let (gradients, evaluated) = model.loss_gradients(&decisions, &actions, loss)?;
        let Evaluated {
            terms,
            log_probs,
            entropy,
        } = evaluated;

        let kl_sum = |kl: &Tensor| -> Result<f64> {
            Ok(kl.to_vec1::<f32>()?.iter().map(|&v| f64::from(v)).sum())
        };
        let kl = terms.kl.as_ref().map(kl_sum).transpose()?;
        Ok(MicroPass {
            gradients,
            ratio: terms.ratio.to_vec1()?,
            entropy,
            log_probs,
            sampled,
            advantages,
            kl,
            loss: f64::from(terms.loss.to_scalar::<f32>()?),
            policy_loss: f64::from(terms.policy_loss.to_scalar::<f32>()?),
        })
    }

    fn stats(
        &self,
        groups: &[Vec<Episode<M::Decision>>],
        flat: &FlatDecisions<'_, M::Decision>,
        totals: &Totals,
    ) -> UpdateStats {
        let rewards: Vec<f64> = groups
            .iter()
            .flatten()
            .map(|episode| episode.reward)
            .collect();
        let episodes = rewards.len();
        let reward_mean = rewards.iter().sum::<f64>() / episodes as f64;
        let reward_variance = rewards
            .iter()
            .map(|reward| (reward - reward_mean).powi(2))
            .sum::<f64>()
            / episodes as f64;
        let advantage_abs_sum: f64 = groups
            .iter()
            .flat_map(|group| {
                let rewards: Vec<f64> = group.iter().map(|episode| episode.reward).collect();
                group_advantages(
                    &rewards,
                    self.config.advantage,
                    self.config.advantage_epsilon,
                )
            })
            .map(f64::abs)
            .sum();
        let uniform_groups = groups
            .iter()
            .filter(|group| {
                group
                    .iter()
                    .all(|episode| episode.reward == group[0].reward)
            })
            .count();
        let evaluations = totals.evaluations as f64;
        let steps = totals.steps as f64;
        UpdateStats {
            update: self.updates - 1,
            groups: groups.len(),
            episodes,
            decisions: flat.decisions.len(),
            optimizer_steps: totals.steps,
            learning_rate: self.optimizer.settings().learning_rate,
            reward_mean,
            reward_std: reward_variance.sqrt(),
            uniform_groups,
            advantage_abs_mean: advantage_abs_sum / episodes as f64,
            loss: totals.loss / steps,
            policy_loss: totals.policy_loss / steps,
            kl: self.reference.as_ref().map(|_| totals.kl / evaluations),
            entropy: totals.entropy / evaluations,
            ratio_mean: totals.ratio / evaluations,
            ratio_max: totals.ratio_max,
            clip_fraction: totals.clipped as f64 / evaluations,
            sampling_kl: totals.sampling_kl / evaluations,
            grad_norm: totals.grad_norm / steps,
            grad_norm_max: totals.grad_norm_max,
            clipped_steps: totals.clipped_steps,
        }
    }

    /// Writes the optimizer moments, the reference weights, the counters and the
    /// configuration to `dir` (beside the model's own checkpoint, typically), so that a
    /// resumed run continues bit for bit.
    ///
    /// # Errors
    /// On a file-system failure.
    pub fn save_state(&self, dir: &Path) -> Result<()> {
        std::fs::create_dir_all(dir).map_err(|error| LearnError::io(dir, error))?;
        let mut tensors = self.optimizer.state_tensors()?;
        if let Some(reference) = &self.reference {
            for (name, tensor) in reference.parameters().tensors() {
                tensors.insert(format!("{REFERENCE_PREFIX}{name}"), tensor);
            }
        }
        write_tensors(&dir.join(TRAINER_TENSORS_FILE), &tensors)?;
        let state = TrainerState {
            config: self.config.clone(),
            updates: self.updates,
            optimizer_steps: self.optimizer.steps(),
            learning_rate: self.optimizer.settings().learning_rate,
            has_reference: self.reference.is_some(),
        };
        write_json(&dir.join(TRAINER_STATE_FILE), &state)
    }

    /// Restores a trainer saved by [`GrpoTrainer::save_state`] for `model` (whose weights
    /// should already be loaded from the same point of the run).
    ///
    /// # Errors
    /// [`LearnError::Checkpoint`] when files are missing or do not fit `model`.
    pub fn load_state(dir: &Path, model: &M) -> Result<Self> {
        let state: TrainerState = read_json(&dir.join(TRAINER_STATE_FILE))?;
        state.config.validate()?;
        let tensors_path = dir.join(TRAINER_TENSORS_FILE);
        let tensors = read_tensors(&tensors_path, &device_of(model)?)?;
        let mismatch = |error: LearnError| LearnError::checkpoint(&tensors_path, error.to_string());
        let mut optimizer = AdamW::new(state.config.adamw());
        optimizer.set_learning_rate(state.learning_rate);
        optimizer
            .restore(state.optimizer_steps, &tensors, model.parameters())
            .map_err(mismatch)?;
        let reference = if state.has_reference {
            let reference = model.snapshot()?;
            let weights = tensors
                .iter()
                .filter_map(|(key, tensor)| {
                    key.strip_prefix(REFERENCE_PREFIX)
                        .map(|name| (name.to_owned(), tensor.clone()))
                })
                .collect();
            reference.parameters().assign(&weights).map_err(mismatch)?;
            Some(reference)
        } else {
            None
        };
        Ok(Self {
            config: state.config,
            optimizer,
            reference,
            updates: state.updates,
        })
    }
}

fn device_of<M: PolicyModel>(model: &M) -> Result<Device> {
    model
        .parameters()
        .iter()
        .next()
        .map(|(_, var)| var.device().clone())
        .ok_or_else(|| LearnError::InvalidConfig("the model has no parameters".into()))
}

#[cfg(test)]
mod tests {
    use candle_core::{DType, Var};

    use super::*;
    use crate::params::Parameters;
    use crate::policy::DecisionEvaluation;
    use crate::segments::{evaluate_rows, masked_log_softmax};

    /// A token model in miniature: one logit table row per context, a per-decision
    /// validity mask over a fixed vocabulary (the shape of the Meta-Optimizer's decisions).
    struct MaskedTable {
        parameters: Parameters,
        logits: Var,
    }

    struct Masked {
        context: u32,
        valid: Vec<u8>,
    }

    const VOCABULARY: usize = 5;

    impl MaskedTable {
        fn new(contexts: usize) -> Self {
            let mut parameters = Parameters::new();
            let zeros = Tensor::zeros((contexts, VOCABULARY), DType::F32, &Device::Cpu).unwrap();
            let logits = parameters.insert("logits", &zeros).unwrap();
            Self { parameters, logits }
        }

        fn probabilities(&self, decision: &Masked) -> Vec<f32> {
            let valid = Tensor::from_slice(&decision.valid, (1, VOCABULARY), &Device::Cpu).unwrap();
            let row = self.logits.narrow(0, decision.context as usize, 1).unwrap();
            let log_probs = masked_log_softmax(&row, &valid).unwrap();
            log_probs
                .exp()
                .unwrap()
                .flatten_all()
                .unwrap()
                .to_vec1()
                .unwrap()
        }
    }

    impl PolicyModel for MaskedTable {
        type Decision = Masked;

        fn evaluate(&self, decisions: &[&Masked], actions: &[u32]) -> Result<DecisionEvaluation> {
            let contexts: Vec<u32> = decisions.iter().map(|d| d.context).collect();
            let valid: Vec<u8> = decisions
                .iter()
                .flat_map(|d| d.valid.iter().copied())
                .collect();
            let contexts = Tensor::from_vec(contexts, decisions.len(), &Device::Cpu)?;
            let valid = Tensor::from_vec(valid, (decisions.len(), VOCABULARY), &Device::Cpu)?;
            let logits = self.logits.index_select(&contexts, 0)?;
            evaluate_rows(&masked_log_softmax(&logits, &valid)?, actions)
        }

        fn parameters(&self) -> &Parameters {
            &self.parameters
        }

        fn snapshot(&self) -> Result<Self> {
            let parameters = self.parameters.deep_copy()?;
            let logits = parameters.get("logits").unwrap().clone();
            Ok(Self { parameters, logits })
        }
    }

    /// Rewards token 3 in context 0; tokens 0 and 4 are never valid.
    fn bandit_groups(model: &MaskedTable, seed: u64) -> Vec<Vec<Episode<Masked>>> {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let valid = vec![0u8, 1, 1, 1, 0];
        (0..8)
            .map(|_| {
                (0..6)
                    .map(|_| {
                        let decision = Masked {
                            context: 0,
                            valid: valid.clone(),
                        };
                        let probabilities = model.probabilities(&decision);
                        let log_probs: Vec<f32> = probabilities.iter().map(|p| p.ln()).collect();
                        let action = crate::sampling::sample_log_probs(&log_probs, &mut rng);
                        Episode {
                            reward: if action == 3 { 1.0 } else { 0.0 },
                            steps: vec![Step {
                                decision,
                                action: action as u32,
                                sampled_log_prob: log_probs[action],
                            }],
                        }
                    })
                    .collect()
            })
            .collect()
    }

    #[test]
    fn a_masked_token_model_trains_through_the_same_trainer() {
        let model = MaskedTable::new(1);
        let config = GrpoConfig {
            learning_rate: 0.1,
            kl_coef: 0.01,
            epochs: 2,
            minibatch_decisions: 16,
            loss_aggregation: LossAggregation::EpisodeMean,
            ..GrpoConfig::default()
        };
        let mut trainer = GrpoTrainer::new(config, &model).unwrap();
        for update in 0..15 {
            let groups = bandit_groups(&model, update);
            let stats = trainer.update(&model, &groups).unwrap();
            assert_eq!(stats.decisions, 48);
            assert_eq!(
                stats.optimizer_steps, 6,
                "3 minibatches of 16 per epoch, 2 epochs"
            );
            assert!(stats.kl.is_some_and(|kl| kl >= 0.0));
        }
        let probabilities = model.probabilities(&Masked {
            context: 0,
            valid: vec![0, 1, 1, 1, 0],
        });
        assert_eq!(probabilities[0], 0.0);
        assert_eq!(probabilities[4], 0.0);
        assert!(probabilities[3] > 0.9, "{probabilities:?}");
    }

    /// A fast learning rate with the KL and entropy terms on, so that every part of the
    /// loss moves the weights.
    fn every_term_config() -> GrpoConfig {
        GrpoConfig {
            learning_rate: 0.1,
            kl_coef: 0.01,
            entropy_coef: 0.01,
            ..GrpoConfig::default()
        }
    }

    #[test]
    fn micro_batches_give_the_same_step_as_one_pass() {
        for loss_aggregation in [LossAggregation::DecisionMean, LossAggregation::EpisodeMean] {
            let run = |microbatch_decisions| {
                let model = MaskedTable::new(1);
                let config = GrpoConfig {
                    minibatch_decisions: 48,
                    microbatch_decisions,
                    loss_aggregation,
                    ..every_term_config()
                };
                let mut trainer = GrpoTrainer::new(config, &model).unwrap();
                let stats = trainer.update(&model, &bandit_groups(&model, 3)).unwrap();
                let logits: Vec<Vec<f32>> = model.logits.to_vec2().unwrap();
                (logits, stats)
            };
            let (whole, whole_stats) = run(48);
            let (split, split_stats) = run(7);
            assert_eq!(whole_stats.optimizer_steps, 1);
            assert_eq!(split_stats.optimizer_steps, 1);
            for (a, b) in whole[0].iter().zip(&split[0]) {
                assert!((a - b).abs() < 1e-6, "{whole:?} vs {split:?}");
            }
            assert!((whole_stats.loss - split_stats.loss).abs() < 1e-6);
            assert!((whole_stats.grad_norm - split_stats.grad_norm).abs() < 1e-6);
            assert!(whole_stats.grad_norm > 0.0);
        }
    }

    #[test]
    fn threads_change_no_number() {
        let run = |threads| {
            let model = MaskedTable::new(1);
            let config = GrpoConfig {
                epochs: 2,
                minibatch_decisions: 24,
                microbatch_decisions: 5,
                threads,
                ..every_term_config()
            };
            let mut trainer = GrpoTrainer::new(config, &model).unwrap();
            let mut stats = Vec::new();
            for round in 0..3 {
                let record = trainer
                    .update(&model, &bandit_groups(&model, 3 + round))
                    .unwrap();
                assert!(record.optimizer_steps > 1);
                stats.push(record);
            }
            (model.parameters().digest().unwrap(), stats)
        };
        let one = run(1);
        for threads in [2, 3] {
            assert_eq!(run(threads), one, "{threads} threads");
        }
    }

    #[test]
    fn groups_with_equal_rewards_leave_the_policy_unchanged() {
        let model = MaskedTable::new(1);
        let mut trainer = GrpoTrainer::new(GrpoConfig::default(), &model).unwrap();
        let mut groups = bandit_groups(&model, 1);
        for episode in groups.iter_mut().flatten() {
            episode.reward = 0.25;
        }
        let before = model.parameters().digest().unwrap();
        let stats = trainer.update(&model, &groups).unwrap();
        assert_eq!(model.parameters().digest().unwrap(), before);
        assert_eq!(stats.uniform_groups, 8);
        assert_eq!(stats.advantage_abs_mean, 0.0);
        assert_eq!(stats.grad_norm, 0.0);
        assert_eq!(stats.kl, None);
    }

    #[test]
    fn bad_batches_are_rejected() {
        let model = MaskedTable::new(1);
        let mut trainer = GrpoTrainer::new(GrpoConfig::default(), &model).unwrap();
        let empty: Vec<Vec<Episode<Masked>>> = vec![vec![Episode {
            steps: Vec::new(),
            reward: 1.0,
        }]];
        assert!(matches!(
            trainer.update(&model, &empty),
            Err(LearnError::InvalidBatch(_))
        ));
        let mut groups = bandit_groups(&model, 2);
        groups[0][0].reward = f64::NAN;
        assert!(trainer.update(&model, &groups).is_err());
        let mut groups = bandit_groups(&model, 2);
        groups[1][1].steps[0].action = 4;
        let error = trainer.update(&model, &groups).unwrap_err();
        assert!(matches!(error, LearnError::InvalidBatch(_)), "{error}");
        assert_eq!(trainer.updates(), 0);
    }

    #[test]
    fn minibatches_hold_whole_episodes() {
        let model = MaskedTable::new(1);
        let trainer = GrpoTrainer::new(GrpoConfig::default(), &model).unwrap();
        let episode = |length: usize| Episode {
            steps: (0..length)
                .map(|_| Step {
                    decision: Masked {
                        context: 0,
                        valid: vec![1; VOCABULARY],
                    },
                    action: 0,
                    sampled_log_prob: -1.0,
                })
                .collect(),
            reward: length as f64,
        };
        let groups = vec![
            vec![episode(3), episode(0), episode(4)],
            vec![episode(2), episode(6)],
        ];
        let flat = trainer.flatten(&groups).unwrap();
        assert_eq!(flat.episodes, [0..3, 3..7, 7..9, 9..15]);
        assert_eq!(flat.decisions.len(), 15);
        let minibatches = GrpoTrainer::<MaskedTable>::split(&flat, &[2, 0, 3, 1], 5);
        assert_eq!(minibatches, [vec![2, 0], vec![3], vec![1]]);
        // Advantages follow the rewards within each group; the empty episode (reward 0)
        // still counts in its group's mean (7/3), so the reward-3 episode is above it.
        assert!(flat.advantages[0] > 0.0 && flat.advantages[3] > flat.advantages[0]);
        assert!(flat.advantages[7] < 0.0 && flat.advantages[9] > 0.0);
    }
}
