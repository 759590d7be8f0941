//! The pushdown automaton behind grammar-constrained decoding.
//!
//! [`GrammarState`] is the state after a prefix of tokens: the stack of open constructs
//! (parentheses, first or second argument of a call), whether an operand is expected,
//! whether the expression just started (the only place a unary minus may go), whether a
//! primitive has appeared, and the length so far. [`GrammarState::admissible`] is the
//! decoding mask: a token is admissible when the grammar allows it *and* the shortest way to
//! finish after it (close every construct, supply a missing operand and a primitive if none
//! was used yet) still fits in the length budget. Every admissible prefix can therefore be
//! completed, so sampling never gets stuck and always ends with a valid program of at most
//! `max_tokens` tokens that uses at least one primitive.

use super::token::{Token, Vocabulary};

/// A construct the automaton has opened and not yet closed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Frame {
    /// `(` awaiting `)`.
    Paren,
    /// `min(`/`max(` inside its first argument, awaiting `,`.
    CallFirst,
    /// `min(`/`max(` inside its second argument, awaiting `)`.
    CallSecond,
}

impl Frame {
    /// Fewest tokens that close this frame once the operand inside it is complete.
    fn closing_cost(self) -> usize {
        match self {
            Self::Paren | Self::CallSecond => 1,
            // `,` then a primitive then `)`.
            Self::CallFirst => 3,
        }
    }
}

/// The automaton's state after a prefix (see the module documentation).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GrammarState {
    frames: Vec<Frame>,
    expecting_operand: bool,
    at_expression_start: bool,
    has_primitive: bool,
    length: usize,
    finished: bool,
    max_tokens: usize,
}

/// Why a token cannot follow a prefix.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Rejection {
    /// The grammar does not allow the token here.
    Ungrammatical,
    /// The token is allowed but no completion after it fits in the length budget.
    TooLong,
    /// The program has already ended.
    Finished,
}

impl GrammarState {
    /// The state before the first token, for programs of at most `max_tokens` tokens.
    pub fn new(max_tokens: usize) -> Self {
        Self {
            frames: Vec::new(),
            expecting_operand: true,
            at_expression_start: true,
            has_primitive: false,
            length: 0,
            finished: false,
            max_tokens,
        }
    }

    /// Tokens consumed so far (`End` not counted).
    pub fn length(&self) -> usize {
        self.length
    }

    /// Whether `End` has been consumed.
    pub fn is_finished(&self) -> bool {
        self.finished
    }

    /// Whether a primitive has appeared.
    pub fn has_primitive(&self) -> bool {
        self.has_primitive
    }

    /// Number of open parentheses and calls.
    pub fn depth(&self) -> usize {
        self.frames.len()
    }

    /// Whether `End` may come now: a complete expression with a primitive.
    pub fn is_accepting(&self) -> bool {
        !self.finished && !self.expecting_operand && self.frames.is_empty() && self.has_primitive
    }

    /// Fewest further tokens (`End` not counted) that turn this prefix into a complete
    /// program.
    pub fn min_completion(&self) -> usize {
        if self.finished {
            return 0;
        }
        let operand = usize::from(self.expecting_operand);
        let closing: usize = self.frames.iter().map(|frame| frame.closing_cost()).sum();
        let free_operand_slot = self.expecting_operand || self.frames.contains(&Frame::CallFirst);
        // Without a slot for a primitive, one is added as `+ g1`.
        let primitive = if self.has_primitive || free_operand_slot {
            0
        } else {
            2
        };
        operand + closing + primitive
    }

    /// Whether the grammar allows `token` here, length aside.
    fn grammatical(&self, token: Token) -> bool {
        if self.finished {
            return false;
        }
        if self.expecting_operand {
            return match token {
                Token::Primitive(_)
                | Token::Constant(_)
                | Token::Open
                | Token::Min
                | Token::Max => true,
                Token::Minus => self.at_expression_start,
                _ => false,
            };
        }
        match token {
            Token::Plus | Token::Minus | Token::Times | Token::Divide => true,
            Token::Close => matches!(self.frames.last(), Some(Frame::Paren | Frame::CallSecond)),
            Token::Comma => self.frames.last() == Some(&Frame::CallFirst),
            Token::End => self.frames.is_empty() && self.has_primitive,
            _ => false,
        }
    }

    /// The state after `token`, or why `token` cannot come next.
    ///
    /// # Errors
    /// The [`Rejection`] when `token` is not admissible here.
    pub fn advanced(&self, token: Token) -> Result<Self, Rejection> {
        if self.finished {
            return Err(Rejection::Finished);
        }
        if !self.grammatical(token) {
            return Err(Rejection::Ungrammatical);
        }
        let mut next = self.clone();
        next.apply(token);
        if next.length + next.min_completion() > self.max_tokens {
            return Err(Rejection::TooLong);
        }
        Ok(next)
    }

    /// Consumes `token`, assumed grammatical.
    fn apply(&mut self, token: Token) {
        if token == Token::End {
            self.finished = true;
            return;
        }
        self.length += 1;
        let was_expecting = self.expecting_operand;
        self.at_expression_start = false;
        match token {
            Token::Primitive(_) => {
                self.has_primitive = true;
                self.expecting_operand = false;
            }
            Token::Constant(_) => self.expecting_operand = false,
            Token::Open => self.open(Frame::Paren),
            Token::Min | Token::Max => self.open(Frame::CallFirst),
            // A unary minus keeps expecting an operand; a binary operator starts expecting.
            Token::Minus if was_expecting => {}
            Token::Plus | Token::Minus | Token::Times | Token::Divide => {
                self.expecting_operand = true;
            }
            Token::Close => {
                self.frames.pop();
            }
            Token::Comma => {
                if let Some(top) = self.frames.last_mut() {
                    *top = Frame::CallSecond;
                }
                self.expecting_operand = true;
                self.at_expression_start = true;
            }
            Token::End => unreachable!("handled above"),
        }
    }

    fn open(&mut self, frame: Frame) {
        self.frames.push(frame);
        self.expecting_operand = true;
        self.at_expression_start = true;
    }

    /// The decoding mask: `mask[id]` says whether the vocabulary's token `id` is admissible.
    /// At least one entry is true unless the program has finished.
    pub fn admissible(&self, vocabulary: &Vocabulary) -> Vec<bool> {
        vocabulary
            .tokens()
            .iter()
            .map(|&token| self.advanced(token).is_ok())
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::grammar::GrammarConfig;

    fn vocabulary(max_tokens: usize, min_max: bool) -> Vocabulary {
        let config = GrammarConfig {
            max_tokens,
            min_max,
            ..GrammarConfig::default()
        };
        Vocabulary::new(&config, 3).unwrap()
    }

    fn run(tokens: &[Token], max_tokens: usize) -> Result<GrammarState, Rejection> {
        tokens
            .iter()
            .try_fold(GrammarState::new(max_tokens), |state, &token| {
                state.advanced(token)
            })
    }

    const G1: Token = Token::Primitive(0);
    const G2: Token = Token::Primitive(1);
    const HALF: Token = Token::Constant(2);

    #[test]
    fn accepts_complete_programs_only() {
        let program = [G1, Token::Plus, HALF, Token::Times, G2, Token::End];
        assert!(run(&program, 24).unwrap().is_finished());
        // A constant alone has no primitive.
        assert_eq!(run(&[HALF, Token::End], 24), Err(Rejection::Ungrammatical));
        // Unbalanced parenthesis, dangling operator.
        assert_eq!(
            run(&[Token::Open, G1, Token::End], 24),
            Err(Rejection::Ungrammatical)
        );
        assert_eq!(
            run(&[G1, Token::Plus, Token::End], 24),
            Err(Rejection::Ungrammatical)
        );
    }

    #[test]
    fn unary_minus_only_opens_an_expression() {
        assert!(run(&[Token::Minus, G1, Token::End], 24).is_ok());
        assert!(
            run(
                &[G1, Token::Plus, Token::Open, Token::Minus, G2, Token::Close],
                24
            )
            .is_ok()
        );
        assert_eq!(
            run(&[G1, Token::Times, Token::Minus], 24),
            Err(Rejection::Ungrammatical)
        );
        assert_eq!(
            run(&[Token::Minus, Token::Minus], 24),
            Err(Rejection::Ungrammatical)
        );
    }

    #[test]
    fn calls_need_a_comma_then_a_close() {
        let call = [Token::Min, G1, Token::Comma, HALF, Token::Close, Token::End];
        assert!(run(&call, 24).is_ok());
        assert_eq!(
            run(&[Token::Min, G1, Token::Close], 24),
            Err(Rejection::Ungrammatical)
        );
        assert_eq!(
            run(&[Token::Open, G1, Token::Comma], 24),
            Err(Rejection::Ungrammatical)
        );
    }

    #[test]
    fn the_length_budget_is_enforced_ahead_of_time() {
        // With 3 tokens, `0.5 +` would need `g1` and then nothing else: fine; `0.5 *` too.
        assert!(run(&[HALF, Token::Plus, G1, Token::End], 3).is_ok());
        // With 2 tokens a constant first can never gain a primitive.
        assert_eq!(run(&[HALF], 2), Err(Rejection::TooLong));
        // `(` needs at least `( g1 )`.
        assert_eq!(run(&[Token::Open], 2), Err(Rejection::TooLong));
        assert!(run(&[Token::Open], 3).is_ok());
        // A call needs at least `min( g1 , g2 )`.
        assert_eq!(run(&[Token::Min], 4), Err(Rejection::TooLong));
        assert!(run(&[Token::Min], 5).is_ok());
        // A budget of 1 allows exactly a primitive.
        let state = GrammarState::new(1);
        let vocabulary = vocabulary(1, true);
        let mask = state.admissible(&vocabulary);
        let allowed: Vec<Token> = vocabulary
            .tokens()
            .iter()
            .zip(&mask)
            .filter_map(|(&token, &ok)| ok.then_some(token))
            .collect();
        assert_eq!(allowed, [G1, G2, Token::Primitive(2)]);
    }

    #[test]
    fn a_call_with_a_pending_argument_counts_as_a_free_primitive_slot() {
        // `min(0.5` still has its second argument for a primitive: `, g1 )` = 3 more.
        let state = run(&[Token::Min, HALF], 24).unwrap();
        assert_eq!(state.min_completion(), 3);
        // `min(0.5, 0.5` has none: `) + g1` = 3 more.
        let state = run(&[Token::Min, HALF, Token::Comma, HALF], 24).unwrap();
        assert_eq!(state.min_completion(), 3);
        assert_eq!(state.depth(), 1);
    }

    #[test]
    fn finished_programs_admit_nothing() {
        let state = run(&[G1, Token::End], 24).unwrap();
        assert!(
            state
                .admissible(&vocabulary(24, true))
                .iter()
                .all(|&ok| !ok)
        );
        assert_eq!(state.advanced(G2), Err(Rejection::Finished));
    }
}
