//! The (mu+lambda) baseline: every proposal is a valid program of the grammar, and
//! selection improves a synthetic fitness.

use std::collections::HashSet;

use derl_meta::evolution::EvolutionState;
use derl_meta::{DEFAULT_SEEDS, Evolution, EvolutionConfig, Grammar, GrammarConfig, select_seeds};
use proptest::prelude::*;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

/// The weight of `g1` (value at `g1 = 1` minus value at 0, other primitives 0, in the
/// reward language's arithmetic) minus a size penalty; -1 when undefined (as the outer
/// loop scores an invalid reward).
fn g1_weight_minus_size(grammar: &Grammar, source: &str) -> f64 {
    let program = grammar.parse_program(source).unwrap();
    let reward = derl_lang::parse(source, &[]).unwrap();
    let mut primitives = vec![0.0; grammar.primitive_count()];
    let at_zero = reward.eval(&primitives);
    primitives[0] = 1.0;
    let at_one = reward.eval(&primitives);
    let weight = at_one - at_zero;
    if weight.is_finite() {
        weight.min(1e6) - 0.05 * program.tokens().len() as f64
    } else {
        -1.0
    }
}

fn run(config: EvolutionConfig, primitives: usize, generations: usize, seed: u64) -> Vec<f64> {
    let grammar = Grammar::new(config.grammar.clone(), primitives).unwrap();
    let mut evolution = Evolution::new(config, primitives, &[]).unwrap();
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut best = Vec::with_capacity(generations);
    for _ in 0..generations {
        let proposals = evolution.propose(&mut rng);
        let scored: Vec<(String, f64)> = proposals
            .into_iter()
            .map(|source| {
                let fitness = g1_weight_minus_size(&grammar, &source);
                (source, fitness)
            })
            .collect();
        evolution.tell(&scored).unwrap();
        best.push(evolution.best().unwrap().fitness);
    }
    best
}

#[test]
fn selection_improves_a_synthetic_fitness() {
    let config = EvolutionConfig {
        grammar: GrammarConfig {
            max_tokens: 16,
            ..GrammarConfig::default()
        },
        ..EvolutionConfig::default()
    };
    let best = run(config, 3, 30, 1);
    println!("best fitness per generation: {best:.2?}");
    // (mu+lambda) never loses its best; it should also find weights well above 1.
    assert!(best.windows(2).all(|pair| pair[1] >= pair[0]));
    assert!(best[29] > best[0] + 5.0, "{} -> {}", best[0], best[29]);
}

#[test]
fn the_first_generation_starts_from_the_initial_programs() {
    let config = EvolutionConfig {
        lambda: 40,
        ..EvolutionConfig::default()
    };
    let grammar = Grammar::new(config.grammar.clone(), 3).unwrap();
    let seeds = select_seeds(DEFAULT_SEEDS, &grammar).programs;
    let mut evolution = Evolution::new(config, 3, &seeds).unwrap();
    let proposals = evolution.propose(&mut ChaCha8Rng::seed_from_u64(0));
    assert_eq!(proposals.len(), 40);
    let seed_sources: HashSet<&str> = seeds.iter().map(|p| p.source()).collect();
    let from_seeds = proposals
        .iter()
        .filter(|s| seed_sources.contains(s.as_str()))
        .count();
    assert_eq!(from_seeds, seeds.len().min(40));
    let distinct: HashSet<&String> = proposals.iter().collect();
    assert_eq!(distinct.len(), 40);
}

#[test]
fn tell_merges_repeats_and_rejects_bad_scores() {
    let mut evolution = Evolution::new(
        EvolutionConfig {
            mu: 2,
            ..EvolutionConfig::default()
        },
        2,
        &[],
    )
    .unwrap();
    evolution
        .tell(&[
            ("g1".into(), 0.2),
            ("g2".into(), 0.5),
            ("g1 + g2".into(), 0.1),
        ])
        .unwrap();
    let sources: Vec<String> = evolution
        .population()
        .into_iter()
        .map(|i| i.source)
        .collect();
    assert_eq!(sources, ["g2", "g1"]);
    evolution.tell(&[("g1".into(), 1.0)]).unwrap();
    let best = evolution.best().unwrap();
    assert_eq!((best.source.as_str(), best.evaluations), ("g1", 2));
    assert!((best.fitness - 0.6).abs() < 1e-12);
    assert_eq!(evolution.generation(), 2);
    let before = evolution.state();
    assert!(evolution.tell(&[("g1".into(), f64::NAN)]).is_err());
    assert!(evolution.tell(&[("g3".into(), 0.0)]).is_err());
    assert!(evolution.tell(&[("g1 +".into(), 0.0)]).is_err());
    assert_eq!(evolution.state(), before);
}

#[test]
fn a_restored_run_continues_identically() {
    let config = EvolutionConfig::default();
    let grammar = Grammar::new(config.grammar.clone(), 3).unwrap();
    let score = |proposals: Vec<String>| -> Vec<(String, f64)> {
        proposals
            .into_iter()
            .map(|s| {
                let f = g1_weight_minus_size(&grammar, &s);
                (s, f)
            })
            .collect()
    };
    let mut evolution = Evolution::new(config.clone(), 3, &[]).unwrap();
    let mut rng = ChaCha8Rng::seed_from_u64(3);
    for _ in 0..3 {
        let scored = score(evolution.propose(&mut rng));
        evolution.tell(&scored).unwrap();
    }
    let state: EvolutionState =
        serde_json::from_str(&serde_json::to_string(&evolution.state()).unwrap()).unwrap();
    let mut restored = Evolution::restore(config, 3, &state).unwrap();
    let mut rng_restored = rng.clone();
    assert_eq!(
        evolution.propose(&mut rng),
        restored.propose(&mut rng_restored)
    );
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    /// Whatever the grammar and the scores, proposals are valid programs within the budget.
    #[test]
    fn proposals_are_always_valid(
        seed in any::<u64>(),
        max_tokens in 1usize..24,
        primitives in 1usize..5,
        min_max in any::<bool>(),
        negation in any::<bool>(),
        crossover_rate in 0.0f64..1.0,
        mu in 1usize..6,
        lambda in 1usize..10,
    ) {
        let grammar_config = GrammarConfig { max_tokens, min_max, negation, ..GrammarConfig::default() };
        let config = EvolutionConfig { grammar: grammar_config.clone(), mu, lambda, crossover_rate, ..EvolutionConfig::default() };
        let grammar = Grammar::new(grammar_config, primitives).unwrap();
        let mut evolution = Evolution::new(config, primitives, &[]).unwrap();
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        for generation in 0..8 {
            let proposals = evolution.propose(&mut rng);
            prop_assert_eq!(proposals.len(), lambda);
            let mut scored = Vec::new();
            for (index, source) in proposals.into_iter().enumerate() {
                let program = grammar.parse_program(&source);
                prop_assert!(program.is_ok(), "{}: {:?}", source, program);
                let reward = derl_lang::parse(&source, &[]);
                prop_assert!(reward.is_ok(), "derl-lang rejects {}: {:?}", source, reward.err());
                let program = program.unwrap();
                prop_assert!(program.tokens().len() <= max_tokens);
                prop_assert!(program.expr().uses_primitive());
                // Arbitrary but deterministic scores.
                scored.push((source, ((seed as usize + index * 7 + generation) % 11) as f64));
            }
            evolution.tell(&scored).unwrap();
            prop_assert!(evolution.population().len() <= mu);
        }
    }
}
