//! The Meta-Reward grammar as tokens: configuration, vocabulary, the pushdown automaton
//! that masks decoding, expression trees, and [`Grammar`], which ties them together and
//! validates programs.

mod automaton;
mod config;
mod expr;
mod token;

pub use automaton::{GrammarState, Rejection};
pub use config::{GrammarConfig, MAX_TOKENS_LIMIT};
pub use expr::{BinaryOp, Expr, Function};
pub use token::{MAX_PRIMITIVES, Token, Vocabulary};

use derl_learn::sampling::uniform_index;
use rand::RngCore;

use crate::error::{MetaError, Result};

/// A grammar over a fixed number of primitives: the vocabulary plus the length budget.
#[derive(Clone, Debug, PartialEq)]
pub struct Grammar {
    config: GrammarConfig,
    vocabulary: Vocabulary,
}

/// A program known to be in its grammar: its tokens, its tree and its source text.
#[derive(Clone, Debug, PartialEq)]
pub struct Program {
    tokens: Vec<Token>,
    expr: Expr,
    source: String,
}

impl Program {
    /// The tokens (no `End`).
    pub fn tokens(&self) -> &[Token] {
        &self.tokens
    }

    /// The expression tree.
    pub fn expr(&self) -> &Expr {
        &self.expr
    }

    /// The source text, valid in derl-lang.
    pub fn source(&self) -> &str {
        &self.source
    }
}

impl Grammar {
    /// The grammar of `config` over primitives `g1..g{primitive_count}`.
    ///
    /// # Errors
    /// [`MetaError::InvalidConfig`] for an invalid configuration or primitive count.
    pub fn new(config: GrammarConfig, primitive_count: usize) -> Result<Self> {
        let vocabulary = Vocabulary::new(&config, primitive_count)?;
        Ok(Self { config, vocabulary })
    }

    /// The configuration.
    pub fn config(&self) -> &GrammarConfig {
        &self.config
    }

    /// The tokens and their ids.
    pub fn vocabulary(&self) -> &Vocabulary {
        &self.vocabulary
    }

    /// Number of primitives.
    pub fn primitive_count(&self) -> usize {
        self.vocabulary.primitive_count()
    }

    /// The automaton's state before the first token.
    pub fn start(&self) -> GrammarState {
        GrammarState::new(self.config.max_tokens)
    }

    /// Checks a token sequence (a trailing `End` is allowed) with the automaton and the
    /// parser and returns the program.
    ///
    /// # Errors
    /// [`MetaError::InvalidProgram`] naming the first offending token, or an incomplete
    /// program.
    pub fn check_tokens(&self, tokens: &[Token]) -> Result<Program> {
        let body = match tokens.split_last() {
            Some((Token::End, body)) => body,
            _ => tokens,
        };
        let source = self.vocabulary.render(body);
        let error = |reason: String| MetaError::program(source.clone(), reason);
        let fail = |reason: String| Err(error(reason));
        let mut state = self.start();
        for (position, &token) in body.iter().enumerate() {
            if token == Token::End || self.vocabulary.id(token).is_none() {
                return fail(format!(
                    "token {position} ({token:?}) is not in the vocabulary"
                ));
            }
            state = match state.advanced(token) {
                Ok(next) => next,
                Err(Rejection::TooLong) => {
                    return fail(format!(
                        "longer than {} tokens or without a primitive",
                        self.config.max_tokens
                    ));
                }
                Err(rejection) => {
                    return fail(format!("token {position} ({token:?}): {rejection:?}"));
                }
            };
        }
        if !state.is_accepting() {
            let reason = if body.is_empty() || state.has_primitive() {
                "incomplete program"
            } else {
                "no primitive"
            };
            return fail(reason.into());
        }
        let expr = Expr::parse(body).map_err(error)?;
        Ok(Program {
            tokens: body.to_vec(),
            expr,
            source,
        })
    }

    /// Tokenizes and checks source text (e.g. a line of a seed file).
    ///
    /// # Errors
    /// [`MetaError::InvalidProgram`] when the text is not a program of this grammar.
    pub fn parse_program(&self, source: &str) -> Result<Program> {
        self.check_tokens(&self.vocabulary.tokenize(source)?)
    }

    /// The program of an expression tree, printed with minimal parentheses.
    ///
    /// # Errors
    /// [`MetaError::InvalidProgram`] when it is too long, has no primitive, or uses a
    /// token this grammar lacks.
    pub fn program(&self, expr: &Expr) -> Result<Program> {
        self.check_tokens(&expr.tokens())
    }
}

impl Grammar {
    /// A program drawn token by token uniformly among the admissible tokens: the
    /// automaton alone, without a model (a random-search baseline and a test oracle).
    ///
    /// # Panics
    /// Never for a valid grammar: every admissible prefix can be completed (the
    /// automaton's invariant, exercised by the property tests).
    pub fn sample_uniform(&self, rng: &mut impl RngCore) -> Program {
        let mut state = self.start();
        let mut tokens = Vec::new();
        while !state.is_finished() {
            let admissible: Vec<Token> = self
                .vocabulary
                .tokens()
                .iter()
                .zip(state.admissible(&self.vocabulary))
                .filter_map(|(&token, ok)| ok.then_some(token))
                .collect();
            let token = admissible[uniform_index(rng, admissible.len())];
            state = state
                .advanced(token)
                .expect("an admissible token is accepted");
            tokens.push(token);
        }
        self.check_tokens(&tokens)
            .expect("the automaton only completes valid programs")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grammar(min_max: bool) -> Grammar {
        let config = GrammarConfig {
            min_max,
            ..GrammarConfig::default()
        };
        Grammar::new(config, 3).unwrap()
    }

    #[test]
    fn source_text_round_trips() {
        let grammar = grammar(true);
        for source in [
            "g1",
            "g1 + 0.5*g2",
            "g1 + 0.1*g2 - 0.1*g3",
            "-0.1*g3 + g1",
            "(g1 + g2)/2",
            "g1*(-g2)",
            "min(g1, -g2) + max(0.5*g3, g1)",
            "-(-g1)",
        ] {
            let program = grammar.parse_program(source).unwrap();
            assert_eq!(program.source(), source);
            let printed = grammar.program(program.expr()).unwrap();
            assert_eq!(printed.source(), source, "canonical form of {source}");
        }
    }

    #[test]
    fn tokenizer_is_forgiving_about_spacing_and_number_forms() {
        let grammar = grammar(true);
        let program = grammar
            .parse_program(" g1+.5 *g2-1.0*min (g3,g1) ")
            .unwrap();
        assert_eq!(program.source(), "g1 + 0.5*g2 - 1*min(g3, g1)");
    }

    #[test]
    fn programs_outside_the_grammar_are_rejected() {
        let grammar = grammar(false);
        for source in [
            "",
            "0.5",
            "0.5*2",
            "g4",
            "g0",
            "g1 + 0.3",
            "g1 +",
            "(g1",
            "g1)",
            "g1 * -g2",
            "--g1",
            "min(g1, g2)",
            "g1 ^ g2",
            "g1 + g2 + g3 + g1 + g2 + g3 + g1 + g2 + g3 + g1 + g2 + g3 + g1",
        ] {
            let error = grammar.parse_program(source).unwrap_err();
            assert!(
                matches!(error, MetaError::InvalidProgram { .. }),
                "{source}: {error}"
            );
        }
        let no_division = Grammar::new(
            GrammarConfig {
                division: false,
                ..GrammarConfig::default()
            },
            2,
        )
        .unwrap();
        assert!(no_division.parse_program("g1/2").is_err());
        assert!(no_division.parse_program("g1*2").is_ok());
    }

    #[test]
    fn vocabulary_layout_follows_the_configuration() {
        let small = grammar(false).vocabulary().clone();
        // End, g1..g3, 6 constants, + - * /, ( ).
        assert_eq!(small.len(), 1 + 3 + 6 + 4 + 2);
        assert_eq!(small.id(Token::End), Some(0));
        assert_eq!(small.id(Token::Primitive(2)), Some(3));
        assert_eq!(small.id(Token::Min), None);
        let large = grammar(true).vocabulary().clone();
        assert_eq!(large.len(), small.len() + 3);
        for (id, &token) in large.tokens().iter().enumerate() {
            assert_eq!(large.id(token), Some(id as u32));
            assert_eq!(large.token(id as u32), Some(token));
        }
    }
}
