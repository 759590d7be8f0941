//! Tokens, the vocabulary a model chooses from, and the text form of token sequences.

use std::collections::HashMap;

use super::config::GrammarConfig;
use crate::error::{MetaError, Result};

/// Largest primitive count a grammar accepts.
pub const MAX_PRIMITIVES: usize = 1024;

/// One token of a Meta-Reward program.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Token {
    /// Closes the program (sampling only; never printed).
    End,
    /// Primitive `g{index + 1}`.
    Primitive(u16),
    /// The grammar's constant number `index`.
    Constant(u16),
    /// `+`
    Plus,
    /// `-`, binary after an operand, unary at the start of an expression.
    Minus,
    /// `*`
    Times,
    /// `/`
    Divide,
    /// `(`
    Open,
    /// `)`, closing a parenthesis or a `min(`/`max(` call.
    Close,
    /// `,` between the two arguments of a call.
    Comma,
    /// `min(`: opens a two-argument call.
    Min,
    /// `max(`: opens a two-argument call.
    Max,
}

/// The tokens a grammar can emit, numbered densely: the ids of a model's output layer.
///
/// Layout: `End` = 0, primitives `1..=N`, then the constants, then `+ - *`, `/` when
/// enabled, `( )`, and `, min( max(` when enabled.
#[derive(Clone, Debug, PartialEq)]
pub struct Vocabulary {
    tokens: Vec<Token>,
    ids: HashMap<Token, u32>,
    constants: Vec<f64>,
    primitive_count: usize,
}

impl Vocabulary {
    /// The vocabulary of `config` over `primitive_count` primitives.
    ///
    /// # Errors
    /// [`MetaError::InvalidConfig`] for an invalid configuration or a primitive count outside
    /// `1..=`[`MAX_PRIMITIVES`].
    pub fn new(config: &GrammarConfig, primitive_count: usize) -> Result<Self> {
        config.validate()?;
        if !(1..=MAX_PRIMITIVES).contains(&primitive_count) {
            return Err(MetaError::InvalidConfig(format!(
                "primitive count must be in 1..={MAX_PRIMITIVES}, got {primitive_count}"
            )));
        }
        let mut tokens = vec![Token::End];
        tokens.extend((0..primitive_count).map(|index| Token::Primitive(index as u16)));
        tokens.extend((0..config.constants.len()).map(|index| Token::Constant(index as u16)));
        tokens.extend([Token::Plus, Token::Minus, Token::Times]);
        if config.division {
            tokens.push(Token::Divide);
        }
        tokens.extend([Token::Open, Token::Close]);
        if config.min_max {
            tokens.extend([Token::Comma, Token::Min, Token::Max]);
        }
        let ids = tokens
            .iter()
            .enumerate()
            .map(|(id, &token)| (token, id as u32))
            .collect();
        Ok(Self {
            tokens,
            ids,
            constants: config.constants.clone(),
            primitive_count,
        })
    }

    /// Number of tokens (the width of a model's output).
    pub fn len(&self) -> usize {
        self.tokens.len()
    }

    /// Always false: `End` and a primitive are always present.
    pub fn is_empty(&self) -> bool {
        self.tokens.is_empty()
    }

    /// Every token, in id order.
    pub fn tokens(&self) -> &[Token] {
        &self.tokens
    }

    /// The token with id `id`, if any.
    pub fn token(&self, id: u32) -> Option<Token> {
        self.tokens.get(id as usize).copied()
    }

    /// The id of `token`, if this vocabulary has it.
    pub fn id(&self, token: Token) -> Option<u32> {
        self.ids.get(&token).copied()
    }

    /// Number of primitives `g1..gN`.
    pub fn primitive_count(&self) -> usize {
        self.primitive_count
    }

    /// The constant values, indexed by [`Token::Constant`].
    pub fn constants(&self) -> &[f64] {
        &self.constants
    }

    /// The text of one token (`g3`, `0.5`, `min(`; empty for `End`).
    pub fn text(&self, token: Token) -> String {
        match token {
            Token::End => String::new(),
            Token::Primitive(index) => format!("g{}", usize::from(index) + 1),
            // Rust prints the shortest text that parses back to the same f64, never in
            // exponent form.
            Token::Constant(index) => format!("{}", self.constants[usize::from(index)]),
            Token::Plus => "+".into(),
            Token::Minus => "-".into(),
            Token::Times => "*".into(),
            Token::Divide => "/".into(),
            Token::Open => "(".into(),
            Token::Close => ")".into(),
            Token::Comma => ",".into(),
            Token::Min => "min(".into(),
            Token::Max => "max(".into(),
        }
    }

    /// Source text of a token sequence: `g1 + 0.5*g2`, `-0.1*g3 + g1`, `min(g1, -g2)`.
    /// `End` tokens are dropped.
    pub fn render(&self, tokens: &[Token]) -> String {
        let mut text = String::new();
        let mut previous: Option<Token> = None;
        let mut previous_is_unary = false;
        for &token in tokens.iter().filter(|&&token| token != Token::End) {
            if let Some(before) = previous
                && !(previous_is_unary || tight_before(before) || tight_after(token))
            {
                text.push(' ');
            }
            text.push_str(&self.text(token));
            previous_is_unary = token == Token::Minus && opens_expression(previous);
            previous = Some(token);
        }
        text
    }

    /// Splits source text into tokens. Whitespace is free; `min` and `max` must be followed
    /// by `(`; a number must equal one of the constants exactly.
    ///
    /// # Errors
    /// [`MetaError::InvalidProgram`] for an unknown character, primitive or constant.
    pub fn tokenize(&self, text: &str) -> Result<Vec<Token>> {
        let fail = |reason: String| Err(MetaError::program(text, reason));
        let bytes = text.as_bytes();
        let mut tokens = Vec::new();
        let mut at = 0;
        while at < bytes.len() {
            let byte = bytes[at];
            let single = match byte {
                b'+' => Some(Token::Plus),
                b'-' => Some(Token::Minus),
                b'*' => Some(Token::Times),
                b'/' => Some(Token::Divide),
                b'(' => Some(Token::Open),
                b')' => Some(Token::Close),
                b',' => Some(Token::Comma),
                _ => None,
            };
            if byte.is_ascii_whitespace() {
                at += 1;
            } else if let Some(token) = single {
                tokens.push(token);
                at += 1;
            } else if byte == b'g' {
                let digits = run_length(&bytes[at + 1..], |b| b.is_ascii_digit());
                let number: usize = match text[at + 1..at + 1 + digits].parse() {
                    Ok(number) => number,
                    Err(_) => return fail(format!("`g` without a primitive number at {at}")),
                };
                if !(1..=self.primitive_count).contains(&number) {
                    return fail(format!(
                        "primitive g{number} outside g1..g{}",
                        self.primitive_count
                    ));
                }
                tokens.push(Token::Primitive((number - 1) as u16));
                at += 1 + digits;
            } else if byte.is_ascii_digit() || byte == b'.' {
                let length = run_length(&bytes[at..], |b| b.is_ascii_digit() || b == b'.');
                let literal = &text[at..at + length];
                let Ok(value) = literal.parse::<f64>() else {
                    return fail(format!("malformed number `{literal}`"));
                };
                let Some(index) = self.constants.iter().position(|&c| c == value) else {
                    return fail(format!(
                        "constant {literal} is not one of {:?}",
                        self.constants
                    ));
                };
                tokens.push(Token::Constant(index as u16));
                at += length;
            } else if let Some(function) = [("min", Token::Min), ("max", Token::Max)]
                .into_iter()
                .find_map(|(name, token)| text[at..].starts_with(name).then_some(token))
            {
                let spaces = run_length(&bytes[at + 3..], |b| b.is_ascii_whitespace());
                if bytes.get(at + 3 + spaces) != Some(&b'(') {
                    return fail(format!("`min`/`max` without `(` at {at}"));
                }
                tokens.push(function);
                at += 3 + spaces + 1;
            } else {
                let character = text[at..].chars().next().unwrap_or('?');
                return fail(format!("unexpected `{character}` at {at}"));
            }
        }
        if let Some(&missing) = tokens.iter().find(|&&token| self.id(token).is_none()) {
            return fail(format!(
                "`{}` is disabled in this grammar",
                self.text(missing)
            ));
        }
        Ok(tokens)
    }
}

fn run_length(bytes: &[u8], accept: impl Fn(u8) -> bool) -> usize {
    bytes.iter().take_while(|&&byte| accept(byte)).count()
}

/// Whether an expression starts after `previous` (so a `-` there is unary).
pub(crate) fn opens_expression(previous: Option<Token>) -> bool {
    matches!(
        previous,
        None | Some(Token::Open | Token::Min | Token::Max | Token::Comma)
    )
}

/// Tokens printed without a space after them.
fn tight_before(token: Token) -> bool {
    matches!(
        token,
        Token::Open | Token::Min | Token::Max | Token::Times | Token::Divide
    )
}

/// Tokens printed without a space before them.
fn tight_after(token: Token) -> bool {
    matches!(
        token,
        Token::Close | Token::Comma | Token::Times | Token::Divide
    )
}
