//! Cold start: supervised pretraining on seed programs.
//!
//! The loss is the mean negative log-likelihood of the seed programs' tokens under the
//! masked model at temperature 1, over the decisions the mask leaves open (forced tokens
//! carry no loss). It goes through [`PolicyModel::evaluate`], the same path GRPO uses.

use std::sync::Arc;

use derl_learn::optim::{AdamW, AdamWSettings, Gradients, clip_scale};
use derl_learn::sampling::shuffle;
use derl_learn::{LearnError, PolicyModel};
use rand::RngCore;
use serde::{Deserialize, Serialize};

use crate::decoding::{ProgramTrace, TokenDecision};
use crate::error::{MetaError, Result};
use crate::grammar::Program;
use crate::model::MetaOptimizer;

/// What [`MetaOptimizer::pretrain`] did.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PretrainStats {
    /// Seed programs trained on.
    pub programs: usize,
    /// Open decisions in them (the loss is a mean over these).
    pub decisions: usize,
    /// Passes over the programs.
    pub epochs: usize,
    /// Optimizer steps taken.
    pub optimizer_steps: usize,
    /// Mean negative log-likelihood per open decision before training.
    pub initial_nll: f64,
    /// Mean training loss of each epoch (measured before each step).
    pub epoch_losses: Vec<f64>,
    /// Mean negative log-likelihood per open decision after training.
    pub final_nll: f64,
}

impl MetaOptimizer {
    /// Mean negative log-likelihood per open decision of `programs` at temperature 1.
    ///
    /// # Errors
    /// [`MetaError::InvalidProgram`] for a program of another grammar,
    /// [`MetaError::InvalidConfig`] when there is no open decision at all; tensor errors.
    pub fn nll(&self, programs: &[Program]) -> Result<f64> {
        let traces = self.teacher_traces(programs)?;
        let decisions: Vec<TokenDecision> = traces.iter().flat_map(TokenDecision::all_of).collect();
        self.mean_nll(&decisions)
    }

    /// Trains the weights on `programs` for `epochs` passes in shuffled minibatches of
    /// `config.pretrain.batch_programs` (AdamW, gradient clipping as configured). The
    /// optimizer state is fresh at every call.
    ///
    /// # Errors
    /// As [`MetaOptimizer::nll`]; [`MetaError::Learn`] when a gradient is not finite.
    pub fn pretrain(
        &mut self,
        programs: &[Program],
        epochs: usize,
        rng: &mut impl RngCore,
    ) -> Result<PretrainStats> {
        let settings = self.config().pretrain.clone();
        let traces = self.teacher_traces(programs)?;
        let decisions: Vec<Vec<TokenDecision>> = traces.iter().map(TokenDecision::all_of).collect();
        let all: Vec<TokenDecision> = decisions.iter().flatten().cloned().collect();
        let initial_nll = self.mean_nll(&all)?;
        let mut optimizer = AdamW::new(AdamWSettings {
            learning_rate: settings.learning_rate,
            beta1: 0.9,
            beta2: 0.999,
            epsilon: 1e-8,
            weight_decay: 0.0,
        });
        let mut order: Vec<usize> = (0..programs.len()).collect();
        let mut epoch_losses = Vec::with_capacity(epochs);
        for _ in 0..epochs {
            shuffle(&mut order, rng);
            let (mut loss_sum, mut count) = (0.0, 0usize);
            for batch in order.chunks(settings.batch_programs) {
                let batch: Vec<&TokenDecision> =
                    batch.iter().flat_map(|&index| &decisions[index]).collect();
                if batch.is_empty() {
                    continue;
                }
                let actions: Vec<u32> = batch.iter().map(|decision| decision.action()).collect();
                let loss = self
                    .evaluate(&batch, &actions)?
                    .log_probs
                    .mean_all()?
                    .neg()?;
                loss_sum += f64::from(loss.to_scalar::<f32>()?) * batch.len() as f64;
                count += batch.len();
                let grads = Gradients::from_backward(self.parameters(), &loss.backward()?);
                let norm = grads.global_norm()?;
                if !norm.is_finite() {
                    return Err(LearnError::InvalidBatch(format!(
                        "pretraining gradient norm {norm}"
                    ))
                    .into());
                }
                let scale = clip_scale(norm, settings.max_grad_norm);
                optimizer.step(self.parameters(), &grads, scale)?;
            }
            epoch_losses.push(loss_sum / count.max(1) as f64);
        }
        Ok(PretrainStats {
            programs: programs.len(),
            decisions: all.len(),
            epochs,
            optimizer_steps: optimizer.steps() as usize,
            initial_nll,
            epoch_losses,
            final_nll: self.mean_nll(&all)?,
        })
    }

    fn teacher_traces(&self, programs: &[Program]) -> Result<Vec<Arc<ProgramTrace>>> {
        programs
            .iter()
            .map(|program| {
                Ok(Arc::new(ProgramTrace::of_program(
                    self.grammar(),
                    program,
                    1.0,
                )?))
            })
            .collect()
    }

    fn mean_nll(&self, decisions: &[TokenDecision]) -> Result<f64> {
        if decisions.is_empty() {
            return Err(MetaError::InvalidConfig(
                "no open decision in the programs (every token forced)".into(),
            ));
        }
        let refs: Vec<&TokenDecision> = decisions.iter().collect();
        let actions: Vec<u32> = decisions.iter().map(TokenDecision::action).collect();
        let log_probs = self.evaluate(&refs, &actions)?.log_probs.detach();
        Ok(-f64::from(log_probs.mean_all()?.to_scalar::<f32>()?))
    }
}
