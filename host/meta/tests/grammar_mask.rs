//! The decoding mask never yields an invalid program: thousands of samples from randomly
//! initialised models and from a uniform-over-mask sampler, checked by the independent
//! expression parser and by the reward language's parser; and the mask never excludes a
//! valid program.

use derl_meta::grammar::{BinaryOp, Function};
use derl_meta::{Expr, Grammar, GrammarConfig, MetaOptimizer, MetaOptimizerConfig, Token};
use proptest::prelude::*;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

/// Checks one program without the automaton: the tokens parse, the tree prints back to
/// the same program, it uses a primitive, fits the budget, and the text round-trips.
fn assert_well_formed(grammar: &Grammar, tokens: &[Token], source: &str) {
    let config = grammar.config();
    assert!(
        tokens.len() <= config.max_tokens,
        "{source}: {} tokens",
        tokens.len()
    );
    assert!(!tokens.contains(&Token::End), "{source}");
    let expr = Expr::parse(tokens).unwrap_or_else(|error| panic!("{source}: {error}"));
    assert!(expr.uses_primitive(), "{source}");
    let vocabulary = grammar.vocabulary();
    for token in tokens {
        assert!(vocabulary.id(*token).is_some(), "{source}: {token:?}");
    }
    assert_eq!(vocabulary.render(tokens), source);
    assert_eq!(vocabulary.tokenize(source).unwrap(), tokens, "{source}");
    let reparsed = Expr::parse(&expr.tokens()).unwrap();
    assert_eq!(reparsed, expr);
    // The reward language, which scores the program, reads what the grammar printed.
    let names: Vec<String> = (1..=grammar.primitive_count())
        .map(|k| format!("p{k}"))
        .collect();
    let names: Vec<&str> = names.iter().map(String::as_str).collect();
    let reward = derl_lang::parse(source, &names)
        .unwrap_or_else(|error| panic!("derl-lang rejects `{source}`: {error}"));
    assert!(reward.min_stride() <= grammar.primitive_count(), "{source}");
}

fn configurations() -> Vec<GrammarConfig> {
    vec![
        GrammarConfig::default(),
        GrammarConfig {
            max_tokens: 7,
            min_max: true,
            ..GrammarConfig::default()
        },
        GrammarConfig {
            max_tokens: 40,
            min_max: true,
            division: false,
            negation: false,
            constants: vec![0.25, 3.0],
        },
        GrammarConfig {
            max_tokens: 1,
            ..GrammarConfig::default()
        },
    ]
}

#[test]
fn model_samples_are_always_valid() {
    let mut checked = 0;
    for (index, grammar) in configurations().into_iter().enumerate() {
        let config = MetaOptimizerConfig {
            grammar,
            embedding_dim: 16,
            hidden_dim: 32,
            layers: 1 + index % 2,
            ..MetaOptimizerConfig::default()
        };
        let model = MetaOptimizer::new(config, 2 + index, index as u64).unwrap();
        let mut rng = ChaCha8Rng::seed_from_u64(100 + index as u64);
        for temperature in [0.5, 1.0, 3.0] {
            for _ in 0..2 {
                for sample in model.sample_group(250, temperature, &mut rng).unwrap() {
                    let tokens = sample.program.tokens();
                    assert_well_formed(model.grammar(), tokens, sample.source());
                    checked += 1;
                }
            }
        }
    }
    assert_eq!(checked, 4 * 3 * 2 * 250);
}

#[test]
fn uniform_samples_are_always_valid_and_reach_the_budget() {
    for grammar in configurations() {
        let max_tokens = grammar.max_tokens;
        let grammar = Grammar::new(grammar, 5).unwrap();
        let mut rng = ChaCha8Rng::seed_from_u64(7);
        let mut longest = 0;
        for _ in 0..5_000 {
            let program = grammar.sample_uniform(&mut rng);
            assert_well_formed(&grammar, program.tokens(), program.source());
            longest = longest.max(program.tokens().len());
        }
        // Uniform choices wander: the budget, not the sampler, ends the longest programs.
        assert!(
            longest + 2 >= max_tokens,
            "longest {longest} of {max_tokens}"
        );
    }
}

fn arbitrary_expr(primitives: u16, constants: u16) -> impl Strategy<Value = Expr> {
    let leaf = prop_oneof![
        (0..primitives).prop_map(Expr::Primitive),
        (0..constants).prop_map(Expr::Constant),
    ];
    leaf.prop_recursive(5, 24, 2, |inner| {
        prop_oneof![
            inner.clone().prop_map(Expr::negate),
            (0..4usize, inner.clone(), inner.clone()).prop_map(|(op, a, b)| Expr::binary(
                BinaryOp::ALL[op],
                a,
                b
            )),
            (any::<bool>(), inner.clone(), inner).prop_map(|(min, a, b)| {
                let function = if min { Function::Min } else { Function::Max };
                Expr::call(function, a, b)
            }),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    /// Completeness: the automaton admits every program of the grammar that fits.
    #[test]
    fn the_mask_admits_every_valid_program(expr in arbitrary_expr(3, 6), max_tokens in 1usize..30) {
        let config = GrammarConfig { max_tokens, min_max: true, ..GrammarConfig::default() };
        let grammar = Grammar::new(config, 3).unwrap();
        let tokens = expr.tokens();
        prop_assert_eq!(Expr::parse(&tokens).unwrap(), expr.clone());
        let fits = tokens.len() <= max_tokens && expr.uses_primitive();
        match grammar.program(&expr) {
            Ok(program) => {
                prop_assert!(fits);
                prop_assert_eq!(program.expr(), &expr);
                // Every prefix's next token was in the mask.
                let mut state = grammar.start();
                for token in tokens.iter().chain([&Token::End]) {
                    let id = grammar.vocabulary().id(*token).unwrap() as usize;
                    prop_assert!(state.admissible(grammar.vocabulary())[id]);
                    state = state.advanced(*token).unwrap();
                }
            }
            Err(error) => prop_assert!(!fits, "{}", error),
        }
    }

    /// Soundness over random configurations: uniform walks over the mask never get stuck
    /// and always end in a valid program.
    #[test]
    fn uniform_walks_never_get_stuck(
        seed in any::<u64>(),
        max_tokens in 1usize..32,
        primitives in 1usize..6,
        division in any::<bool>(),
        negation in any::<bool>(),
        min_max in any::<bool>(),
    ) {
        let config = GrammarConfig { max_tokens, division, negation, min_max, ..GrammarConfig::default() };
        let grammar = Grammar::new(config, primitives).unwrap();
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        for _ in 0..20 {
            let program = grammar.sample_uniform(&mut rng);
            assert_well_formed(&grammar, program.tokens(), program.source());
        }
    }
}
