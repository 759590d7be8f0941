//! Grammar-constrained sampling, and the records GRPO trains on.
//!
//! [`MetaOptimizer::sample_group`] decodes a batch of programs in lockstep: at every step
//! each unfinished program's automaton state gives the mask of admissible tokens, the model's
//! logits are divided by the temperature, masked and normalised, and a token is drawn from
//! the caller's generator. Each program keeps a [`ProgramTrace`] (token ids, masks,
//! temperature) shared by all its [`TokenDecision`]s, so a GRPO update can recompute every
//! token's probability under the current weights with the same mask and temperature.

use std::sync::Arc;

use candle_core::Tensor;
use derl_learn::grpo::{Episode, Step};
use derl_learn::sampling::sample_log_probs;
use derl_learn::segments::masked_log_softmax;
use rand::RngCore;

use crate::error::{MetaError, Result};
use crate::grammar::{Grammar, Program, Token};
use crate::model::MetaOptimizer;

/// A program as a model decodes it.
#[derive(Clone, Debug, PartialEq)]
pub struct ProgramTrace {
    /// Vocabulary ids of the tokens, ending with `End` (id 0).
    pub token_ids: Vec<u32>,
    /// The automaton's mask before each token (`masks[t][id]`), as wide as the vocabulary.
    pub masks: Vec<Vec<bool>>,
    /// The temperature the logits are divided by before the softmax.
    pub temperature: f64,
}

impl ProgramTrace {
    /// The trace of a program of `grammar`: its tokens plus `End`, with the masks replayed
    /// from the automaton.
    ///
    /// # Errors
    /// [`MetaError::InvalidProgram`] when the program's tokens are not in the grammar (a
    /// program checked by another grammar), [`MetaError::InvalidConfig`] for a temperature
    /// that is not finite and positive.
    pub fn of_program(grammar: &Grammar, program: &Program, temperature: f64) -> Result<Self> {
        check_temperature(temperature)?;
        let vocabulary = grammar.vocabulary();
        let mut state = grammar.start();
        let mut token_ids = Vec::with_capacity(program.tokens().len() + 1);
        let mut masks = Vec::with_capacity(program.tokens().len() + 1);
        for &token in program.tokens().iter().chain([&Token::End]) {
            let not_in_grammar = || MetaError::program(program.source(), "not in this grammar");
            masks.push(state.admissible(vocabulary));
            token_ids.push(vocabulary.id(token).ok_or_else(not_in_grammar)?);
            state = state.advanced(token).map_err(|_| not_in_grammar())?;
        }
        Ok(Self {
            token_ids,
            masks,
            temperature,
        })
    }

    /// Positions where the mask leaves more than one token: the decisions that carry a
    /// choice (a forced token has probability 1 under every model).
    pub fn open_positions(&self) -> impl Iterator<Item = usize> + '_ {
        self.masks
            .iter()
            .enumerate()
            .filter(|(_, mask)| mask.iter().filter(|&&ok| ok).count() > 1)
            .map(|(position, _)| position)
    }
}

/// One token choice of one program: the decision type of the Meta-Optimizer as a
/// [`derl_learn::PolicyModel`].
#[derive(Clone, Debug)]
pub struct TokenDecision {
    /// The whole program (shared by its decisions).
    pub trace: Arc<ProgramTrace>,
    /// Which token: the model sees `trace.token_ids[..position]`.
    pub position: usize,
}

impl TokenDecision {
    /// The token id chosen at this decision.
    pub fn action(&self) -> u32 {
        self.trace.token_ids[self.position]
    }

    /// Every open decision of a trace (see [`ProgramTrace::open_positions`]).
    pub fn all_of(trace: &Arc<ProgramTrace>) -> Vec<Self> {
        trace
            .open_positions()
            .map(|position| Self {
                trace: Arc::clone(trace),
                position,
            })
            .collect()
    }
}

/// A program drawn by [`MetaOptimizer::sample_group`].
#[derive(Clone, Debug)]
pub struct SampledProgram {
    /// The program (tokens, tree, source text for derl-lang).
    pub program: Program,
    /// What the model saw, for GRPO.
    pub trace: Arc<ProgramTrace>,
    /// Log-probability of each token of `trace` (`End` included) under the sampling policy.
    pub log_probs: Vec<f32>,
}

impl SampledProgram {
    /// The source text, e.g. `g1 + 0.5*g2`.
    pub fn source(&self) -> &str {
        self.program.source()
    }

    /// Log-probability of the whole program (`End` included) under the sampling policy.
    pub fn log_prob(&self) -> f64 {
        self.log_probs.iter().map(|&lp| f64::from(lp)).sum()
    }

    /// A GRPO episode scored `reward`: one step per open decision (forced tokens are left
    /// out: their probability is 1 under every model).
    pub fn episode(&self, reward: f64) -> Episode<TokenDecision> {
        let steps = TokenDecision::all_of(&self.trace)
            .into_iter()
            .map(|decision| Step {
                action: decision.action(),
                sampled_log_prob: self.log_probs[decision.position],
                decision,
            })
            .collect();
        Episode { steps, reward }
    }
}

/// One GRPO group from a sampled group and its scores (validation success, or -1 for an
/// invalid Meta-Reward).
///
/// # Errors
/// [`MetaError::InvalidScore`] when the lengths differ or a score is not finite.
pub fn group_episodes(
    samples: &[SampledProgram],
    rewards: &[f64],
) -> Result<Vec<Episode<TokenDecision>>> {
    if samples.len() != rewards.len() {
        return Err(MetaError::InvalidScore(format!(
            "{} programs but {} rewards",
            samples.len(),
            rewards.len()
        )));
    }
    if let Some(reward) = rewards.iter().find(|reward| !reward.is_finite()) {
        return Err(MetaError::InvalidScore(format!("reward {reward}")));
    }
    Ok(samples
        .iter()
        .zip(rewards)
        .map(|(sample, &reward)| sample.episode(reward))
        .collect())
}

fn check_temperature(temperature: f64) -> Result<()> {
    if temperature.is_finite() && temperature > 0.0 {
        Ok(())
    } else {
        Err(MetaError::InvalidConfig(format!(
            "temperature must be finite and positive, got {temperature}"
        )))
    }
}

impl MetaOptimizer {
    /// Draws `group_size` programs, decoded in one batch under the automaton's mask with
    /// logits divided by `temperature`. Every program is valid, uses a primitive and fits
    /// the grammar's `max_tokens`.
    ///
    /// # Errors
    /// [`MetaError::InvalidConfig`] for a temperature that is not finite and positive;
    /// tensor errors.
    pub fn sample_group(
        &self,
        group_size: usize,
        temperature: f64,
        rng: &mut impl RngCore,
    ) -> Result<Vec<SampledProgram>> {
        check_temperature(temperature)?;
        let grammar = self.grammar();
        let vocabulary = grammar.vocabulary();
        let width = vocabulary.len();
        let end = vocabulary.id(Token::End).unwrap_or(0);
        let mut states = vec![grammar.start(); group_size];
        let mut traces = vec![
            ProgramTrace {
                token_ids: Vec::new(),
                masks: Vec::new(),
                temperature,
            };
            group_size
        ];
        let mut log_probs = vec![Vec::new(); group_size];
        let mut previous = vec![self.start_token(); group_size];
        let mut hidden = self.initial_hidden(group_size)?;
        let finished_mask: Vec<bool> = (0..width).map(|id| id == end as usize).collect();
        // Each step consumes a token of every unfinished program; `End` comes at the latest
        // after `max_tokens` tokens.
        for _ in 0..=grammar.config().max_tokens {
            if states.iter().all(|state| state.is_finished()) {
                break;
            }
            let masks: Vec<Vec<bool>> = states
                .iter()
                .map(|state| match state.is_finished() {
                    true => finished_mask.clone(),
                    false => state.admissible(vocabulary),
                })
                .collect();
            let valid: Vec<u8> = masks.iter().flatten().map(|&ok| u8::from(ok)).collect();
            let valid = Tensor::from_vec(valid, (group_size, width), self.device())?;
            let logits = self.step(&previous, &mut hidden)?;
            let inverse_temperature =
                Tensor::full((1.0 / temperature) as f32, (group_size, 1), self.device())?;
            let rows = masked_log_softmax(&logits.broadcast_mul(&inverse_temperature)?, &valid)?
                .to_vec2::<f32>()?;
            for (index, mask) in masks.into_iter().enumerate() {
                if states[index].is_finished() {
                    continue;
                }
                let id = sample_log_probs(&rows[index], rng);
                let token = vocabulary.token(id as u32).unwrap_or(Token::End);
                states[index] = states[index].advanced(token).map_err(|rejection| {
                    MetaError::program(
                        vocabulary.render(&self.tokens_of(&traces[index].token_ids)),
                        format!("sampled a masked token {token:?}: {rejection:?}"),
                    )
                })?;
                traces[index].token_ids.push(id as u32);
                traces[index].masks.push(mask);
                log_probs[index].push(rows[index][id]);
                previous[index] = id as u32;
            }
        }
        if let Some(index) = states.iter().position(|state| !state.is_finished()) {
            return Err(MetaError::program(
                vocabulary.render(&self.tokens_of(&traces[index].token_ids)),
                "decoding did not end within max_tokens",
            ));
        }
        traces
            .into_iter()
            .zip(log_probs)
            .map(|(trace, log_probs)| {
                let program = grammar.check_tokens(&self.tokens_of(&trace.token_ids))?;
                Ok(SampledProgram {
                    program,
                    trace: Arc::new(trace),
                    log_probs,
                })
            })
            .collect()
    }

    fn tokens_of(&self, ids: &[u32]) -> Vec<Token> {
        let vocabulary = self.grammar().vocabulary();
        ids.iter()
            .map(|&id| vocabulary.token(id).unwrap_or(Token::End))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use derl_learn::PolicyModel;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    use super::*;
    use crate::model::MetaOptimizerConfig;

    fn model() -> MetaOptimizer {
        let config = MetaOptimizerConfig {
            embedding_dim: 8,
            hidden_dim: 16,
            ..MetaOptimizerConfig::default()
        };
        MetaOptimizer::new(config, 4, 11).unwrap()
    }

    fn sources(samples: &[SampledProgram]) -> Vec<String> {
        samples.iter().map(|s| s.source().to_owned()).collect()
    }

    #[test]
    fn sampling_follows_the_generator() {
        let model = model();
        let draw = |seed| {
            let mut rng = ChaCha8Rng::seed_from_u64(seed);
            sources(&model.sample_group(8, 1.0, &mut rng).unwrap())
        };
        assert_eq!(draw(1), draw(1));
        assert_ne!(draw(1), draw(2));
        let mut rng = ChaCha8Rng::seed_from_u64(0);
        for temperature in [0.0, -1.0, f64::NAN, f64::INFINITY] {
            assert!(model.sample_group(2, temperature, &mut rng).is_err());
        }
        assert!(model.sample_group(0, 1.0, &mut rng).unwrap().is_empty());
    }

    #[test]
    fn recorded_log_probs_match_the_model_at_the_sampling_temperature() {
        let model = model();
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        for temperature in [0.5, 1.0, 2.0] {
            let samples = model.sample_group(16, temperature, &mut rng).unwrap();
            let episodes = group_episodes(&samples, &vec![0.0; samples.len()]).unwrap();
            let steps: Vec<_> = episodes.iter().flat_map(|e| &e.steps).collect();
            let decisions: Vec<&TokenDecision> = steps.iter().map(|s| &s.decision).collect();
            let actions: Vec<u32> = steps.iter().map(|s| s.action).collect();
            let evaluated: Vec<f32> = model
                .evaluate(&decisions, &actions)
                .unwrap()
                .log_probs
                .to_vec1()
                .unwrap();
            for (step, value) in steps.iter().zip(evaluated) {
                assert!(
                    (step.sampled_log_prob - value).abs() < 1e-5,
                    "{} vs {value} at temperature {temperature}",
                    step.sampled_log_prob
                );
            }
        }
    }

    #[test]
    fn traces_record_the_automaton_and_episodes_skip_forced_tokens() {
        let model = model();
        let mut rng = ChaCha8Rng::seed_from_u64(4);
        for sample in model.sample_group(32, 1.0, &mut rng).unwrap() {
            let replayed = ProgramTrace::of_program(model.grammar(), &sample.program, 1.0).unwrap();
            assert_eq!(replayed, *sample.trace);
            assert_eq!(sample.trace.token_ids.last(), Some(&0));
            assert_eq!(sample.log_probs.len(), sample.trace.token_ids.len());
            assert!(sample.log_prob() < 0.0);
            let episode = sample.episode(0.5);
            assert_eq!(episode.reward, 0.5);
            assert_eq!(episode.steps.len(), sample.trace.open_positions().count());
            for step in &episode.steps {
                let mask = &sample.trace.masks[step.decision.position];
                assert!(mask.iter().filter(|&&ok| ok).count() > 1);
                assert!(mask[step.action as usize]);
            }
        }
        let samples = model.sample_group(2, 1.0, &mut rng).unwrap();
        assert!(group_episodes(&samples, &[1.0]).is_err());
        assert!(group_episodes(&samples, &[1.0, f64::NAN]).is_err());
    }
}
