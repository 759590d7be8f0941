//! The black-box baseline: (mu+lambda) evolution of Meta-Reward programs over the same
//! grammar as the Meta-Optimizer (Eureka-style search without gradients).
//!
//! A generation: [`Evolution::propose`] returns `lambda` programs (the first generation
//! takes the initial programs and fills up with random ones; later ones are offspring of
//! uniformly drawn survivors, by subtree crossover with probability `crossover_rate`, else
//! by one mutation); the outer loop scores them; [`Evolution::tell`] adds the scores and
//! keeps the best `mu` of survivors and newcomers. Offspring are valid programs within the
//! length budget, and distinct from each other and from the survivors whenever a few
//! attempts allow it. A program scored twice keeps the mean of its scores.

mod config;
mod operators;

use std::collections::HashSet;

use derl_learn::sampling::{uniform_index, unit_f64};
use rand::RngCore;
use serde::{Deserialize, Serialize};

pub use config::{EvolutionConfig, MutationWeights};
use operators::Variation;

use crate::error::{MetaError, Result};
use crate::grammar::{Expr, Grammar, Program};

/// Attempts at a valid, new offspring before a duplicate is accepted.
const MAX_ATTEMPTS: usize = 32;

/// A scored member of the population.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Individual {
    /// The program's source text.
    pub source: String,
    /// Mean of its scores.
    pub fitness: f64,
    /// How many scores the mean is over.
    pub evaluations: u32,
}

/// Everything needed to resume an evolution run.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EvolutionState {
    /// Generations told so far.
    pub generation: u64,
    /// The survivors, best first.
    pub population: Vec<Individual>,
    /// Programs the first generation starts from (source text).
    pub initial: Vec<String>,
}

/// The (mu+lambda) evolution baseline (see the module documentation).
#[derive(Clone, Debug)]
pub struct Evolution {
    config: EvolutionConfig,
    grammar: Grammar,
    initial: Vec<Program>,
    population: Vec<(Program, Individual)>,
    generation: u64,
}

impl Evolution {
    /// An evolution over `primitive_count` primitives whose first generation starts from
    /// `initial` (for example the cold-start seeds; may be empty).
    ///
    /// # Errors
    /// [`MetaError::InvalidConfig`] for an invalid configuration;
    /// [`MetaError::InvalidProgram`] when an initial program is not in the grammar.
    pub fn new(
        config: EvolutionConfig,
        primitive_count: usize,
        initial: &[Program],
    ) -> Result<Self> {
        config.validate()?;
        let grammar = Grammar::new(config.grammar.clone(), primitive_count)?;
        let initial = initial
            .iter()
            .map(|program| grammar.check_tokens(program.tokens()))
            .collect::<Result<_>>()?;
        Ok(Self {
            config,
            grammar,
            initial,
            population: Vec::new(),
            generation: 0,
        })
    }

    /// Rebuilds an evolution from [`Evolution::state`].
    ///
    /// # Errors
    /// As [`Evolution::new`], and when a saved program is not in the grammar.
    pub fn restore(
        config: EvolutionConfig,
        primitive_count: usize,
        state: &EvolutionState,
    ) -> Result<Self> {
        let grammar = Grammar::new(config.grammar.clone(), primitive_count)?;
        let initial: Vec<Program> = state
            .initial
            .iter()
            .map(|source| grammar.parse_program(source))
            .collect::<Result<_>>()?;
        let mut evolution = Self::new(config, primitive_count, &initial)?;
        evolution.population = state
            .population
            .iter()
            .map(|individual| {
                Ok((
                    grammar.parse_program(&individual.source)?,
                    individual.clone(),
                ))
            })
            .collect::<Result<_>>()?;
        evolution.generation = state.generation;
        Ok(evolution)
    }

    /// The resumable state.
    pub fn state(&self) -> EvolutionState {
        EvolutionState {
            generation: self.generation,
            population: self.population().to_vec(),
            initial: self.initial.iter().map(|p| p.source().to_owned()).collect(),
        }
    }

    /// The configuration.
    pub fn config(&self) -> &EvolutionConfig {
        &self.config
    }

    /// The grammar programs are drawn from.
    pub fn grammar(&self) -> &Grammar {
        &self.grammar
    }

    /// Generations told so far.
    pub fn generation(&self) -> u64 {
        self.generation
    }

    /// The survivors, best first (empty before the first [`Evolution::tell`]).
    pub fn population(&self) -> Vec<Individual> {
        self.population
            .iter()
            .map(|(_, individual)| individual.clone())
            .collect()
    }

    /// The best survivor, if any.
    pub fn best(&self) -> Option<&Individual> {
        self.population.first().map(|(_, individual)| individual)
    }

    /// The next `lambda` programs to score, as source text.
    pub fn propose(&mut self, rng: &mut impl RngCore) -> Vec<String> {
        let variation = Variation::new(&self.grammar);
        let mut seen: HashSet<String> = self
            .population
            .iter()
            .map(|(program, _)| program.source().to_owned())
            .collect();
        let mut proposals = Vec::with_capacity(self.config.lambda);
        if self.population.is_empty() {
            let mut initial = self.initial.clone();
            while !initial.is_empty() && proposals.len() < self.config.lambda {
                let program = initial.remove(uniform_index(rng, initial.len()));
                if seen.insert(program.source().to_owned()) {
                    proposals.push(program.source().to_owned());
                }
            }
        }
        while proposals.len() < self.config.lambda {
            let child = self.offspring(&variation, &seen, rng);
            seen.insert(child.source().to_owned());
            proposals.push(child.source().to_owned());
        }
        proposals
    }

    /// One new program: an offspring of the survivors (random before the first tell),
    /// distinct from `seen` unless [`MAX_ATTEMPTS`] attempts fail.
    fn offspring(
        &self,
        variation: &Variation<'_>,
        seen: &HashSet<String>,
        rng: &mut impl RngCore,
    ) -> Program {
        let mut fallback = None;
        for _ in 0..MAX_ATTEMPTS {
            let candidate = self.candidate(variation, rng);
            let Ok(program) = self.grammar.program(&candidate) else {
                continue;
            };
            if !seen.contains(program.source()) {
                return program;
            }
            fallback.get_or_insert(program);
        }
        fallback.unwrap_or_else(|| self.smallest_program())
    }

    fn candidate(&self, variation: &Variation<'_>, rng: &mut impl RngCore) -> Expr {
        let parents = &self.population;
        if parents.is_empty() {
            return variation.random_expr(self.config.random_depth, rng);
        }
        let parent = |rng: &mut _| parents[uniform_index(rng, parents.len())].0.expr();
        if parents.len() >= 2 && unit_f64(rng) < self.config.crossover_rate {
            let first = parent(rng);
            let second = parent(rng);
            return variation.crossover(first, second, rng);
        }
        let chosen = parent(rng);
        variation
            .mutate(chosen, &self.config.mutation, rng)
            .unwrap_or_else(|| variation.random_expr(self.config.random_depth, rng))
    }

    /// `g1`, valid in every grammar.
    fn smallest_program(&self) -> Program {
        self.grammar
            .program(&Expr::Primitive(0))
            .expect("a single primitive fits every grammar")
    }

    /// Adds scored programs (usually the last proposal) and keeps the best `mu` of
    /// survivors and newcomers; the generation count goes up by one. Ties go to the
    /// shorter program, then to the earlier one.
    ///
    /// # Errors
    /// [`MetaError::InvalidScore`] for a score that is not finite,
    /// [`MetaError::InvalidProgram`] for a program outside the grammar; the population is
    /// unchanged then.
    pub fn tell(&mut self, scored: &[(String, f64)]) -> Result<()> {
        let mut newcomers = Vec::with_capacity(scored.len());
        for (source, fitness) in scored {
            if !fitness.is_finite() {
                return Err(MetaError::InvalidScore(format!(
                    "`{source}` scored {fitness}"
                )));
            }
            newcomers.push((self.grammar.parse_program(source)?, *fitness));
        }
        for (program, fitness) in newcomers {
            let existing = self
                .population
                .iter_mut()
                .find(|(member, _)| member.source() == program.source());
            match existing {
                Some((_, individual)) => {
                    let count = f64::from(individual.evaluations);
                    individual.fitness = (individual.fitness * count + fitness) / (count + 1.0);
                    individual.evaluations += 1;
                }
                None => {
                    let individual = Individual {
                        source: program.source().to_owned(),
                        fitness,
                        evaluations: 1,
                    };
                    self.population.push((program, individual));
                }
            }
        }
        self.population.sort_by(|(a, x), (b, y)| {
            y.fitness
                .total_cmp(&x.fitness)
                .then(a.tokens().len().cmp(&b.tokens().len()))
        });
        self.population.truncate(self.config.mu);
        self.generation += 1;
        Ok(())
    }
}
