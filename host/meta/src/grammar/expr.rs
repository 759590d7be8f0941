//! Expression trees of the grammar: parsing token sequences, printing them back with the
//! fewest parentheses, evaluating them, and addressing subtrees (for evolution).
//!
//! The parser is written independently of the automaton, so each checks the other.
//! Precedence is the usual one: `* /` bind tighter than `+ -`, both associate to the left,
//! and a leading unary minus applies to the first factor (`-a*b` is `(-a)*b`, which equals
//! `-(a*b)` in floating point too).

use super::token::Token;

/// A binary arithmetic operator.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum BinaryOp {
    /// `+`
    Add,
    /// `-`
    Subtract,
    /// `*`
    Multiply,
    /// `/`
    Divide,
}

impl BinaryOp {
    /// Every operator, in a fixed order.
    pub const ALL: [Self; 4] = [Self::Add, Self::Subtract, Self::Multiply, Self::Divide];

    /// The operator's token.
    pub fn token(self) -> Token {
        match self {
            Self::Add => Token::Plus,
            Self::Subtract => Token::Minus,
            Self::Multiply => Token::Times,
            Self::Divide => Token::Divide,
        }
    }

    fn precedence(self) -> u8 {
        match self {
            Self::Add | Self::Subtract => SUM,
            Self::Multiply | Self::Divide => PRODUCT,
        }
    }
}

/// A two-argument function.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Function {
    /// `min(a, b)`
    Min,
    /// `max(a, b)`
    Max,
}

impl Function {
    /// The token opening a call (`min(` or `max(`).
    pub fn token(self) -> Token {
        match self {
            Self::Min => Token::Min,
            Self::Max => Token::Max,
        }
    }
}

/// A Meta-Reward expression.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Expr {
    /// Primitive `g{index + 1}`.
    Primitive(u16),
    /// The grammar's constant number `index`.
    Constant(u16),
    /// `-operand`
    Negate(Box<Expr>),
    /// `left op right`
    Binary(BinaryOp, Box<Expr>, Box<Expr>),
    /// `min(left, right)` or `max(left, right)`
    Call(Function, Box<Expr>, Box<Expr>),
}

const SUM: u8 = 1;
const PRODUCT: u8 = 2;
const ATOM: u8 = 3;

impl Expr {
    /// `left op right`.
    pub fn binary(op: BinaryOp, left: Expr, right: Expr) -> Self {
        Self::Binary(op, Box::new(left), Box::new(right))
    }

    /// `function(left, right)`.
    pub fn call(function: Function, left: Expr, right: Expr) -> Self {
        Self::Call(function, Box::new(left), Box::new(right))
    }

    /// `-operand`.
    pub fn negate(operand: Expr) -> Self {
        Self::Negate(Box::new(operand))
    }

    /// Parses a complete token sequence (a trailing `End` is allowed).
    ///
    /// # Errors
    /// A description of the first problem: unexpected token, missing `)`, trailing tokens.
    pub fn parse(tokens: &[Token]) -> Result<Self, String> {
        let tokens = match tokens.split_last() {
            Some((Token::End, rest)) => rest,
            _ => tokens,
        };
        let mut parser = Parser { tokens, at: 0 };
        let expr = parser.expression()?;
        match parser.peek() {
            None => Ok(expr),
            Some(token) => Err(format!("unexpected {token:?} at token {}", parser.at)),
        }
    }

    /// The tokens of this expression, with parentheses only where the parser needs them;
    /// [`Expr::parse`] of the result gives back `self`.
    pub fn tokens(&self) -> Vec<Token> {
        let mut tokens = Vec::new();
        self.emit(0, true, &mut tokens);
        tokens
    }

    fn precedence(&self) -> u8 {
        match self {
            Self::Binary(op, ..) => op.precedence(),
            _ => ATOM,
        }
    }

    /// Appends the tokens of `self` where an operand of at least `min_precedence` is
    /// needed; `at_start` says an expression starts here (where a unary minus may go).
    fn emit(&self, min_precedence: u8, at_start: bool, out: &mut Vec<Token>) {
        let negation_misplaced = matches!(self, Self::Negate(_)) && !at_start;
        if self.precedence() < min_precedence || negation_misplaced {
            out.push(Token::Open);
            self.emit(0, true, out);
            out.push(Token::Close);
            return;
        }
        match self {
            Self::Primitive(index) => out.push(Token::Primitive(*index)),
            Self::Constant(index) => out.push(Token::Constant(*index)),
            Self::Negate(operand) => {
                out.push(Token::Minus);
                operand.emit(ATOM, false, out);
            }
            Self::Binary(op, left, right) => {
                let precedence = op.precedence();
                left.emit(precedence, at_start, out);
                out.push(op.token());
                // Left associativity: an equal-precedence right operand needs parentheses.
                right.emit(precedence + 1, false, out);
            }
            Self::Call(function, left, right) => {
                out.push(function.token());
                left.emit(0, true, out);
                out.push(Token::Comma);
                right.emit(0, true, out);
                out.push(Token::Close);
            }
        }
    }

    /// Whether a primitive occurs anywhere.
    pub fn uses_primitive(&self) -> bool {
        self.subtrees()
            .iter()
            .any(|node| matches!(node, Self::Primitive(_)))
    }

    /// Every subtree in pre-order (`self` first); [`Expr::replace_subtree`] takes an index
    /// into this list.
    pub fn subtrees(&self) -> Vec<&Expr> {
        let mut nodes = Vec::new();
        self.collect(&mut nodes);
        nodes
    }

    fn collect<'a>(&'a self, nodes: &mut Vec<&'a Expr>) {
        nodes.push(self);
        for child in self.children() {
            child.collect(nodes);
        }
    }

    /// The direct operands.
    pub fn children(&self) -> Vec<&Expr> {
        match self {
            Self::Primitive(_) | Self::Constant(_) => Vec::new(),
            Self::Negate(operand) => vec![operand],
            Self::Binary(_, left, right) | Self::Call(_, left, right) => vec![left, right],
        }
    }

    /// Number of nodes.
    pub fn size(&self) -> usize {
        1 + self
            .children()
            .iter()
            .map(|child| child.size())
            .sum::<usize>()
    }

    /// A copy with the subtree at pre-order position `index` replaced by `replacement`
    /// (`self` unchanged when `index` is out of range).
    pub fn replace_subtree(&self, index: usize, replacement: &Expr) -> Expr {
        let mut copy = self.clone();
        let mut remaining = index;
        copy.replace_in_place(&mut remaining, replacement);
        copy
    }

    /// Walks in pre-order, counting `remaining` down; returns true once replaced.
    fn replace_in_place(&mut self, remaining: &mut usize, replacement: &Expr) -> bool {
        if *remaining == 0 {
            *self = replacement.clone();
            return true;
        }
        *remaining -= 1;
        match self {
            Self::Primitive(_) | Self::Constant(_) => false,
            Self::Negate(operand) => operand.replace_in_place(remaining, replacement),
            Self::Binary(_, left, right) | Self::Call(_, left, right) => {
                left.replace_in_place(remaining, replacement)
                    || right.replace_in_place(remaining, replacement)
            }
        }
    }
}

/// Recursive descent over tokens.
struct Parser<'a> {
    tokens: &'a [Token],
    at: usize,
}

impl Parser<'_> {
    fn peek(&self) -> Option<Token> {
        self.tokens.get(self.at).copied()
    }

    fn next(&mut self) -> Option<Token> {
        let token = self.peek();
        self.at += usize::from(token.is_some());
        token
    }

    fn expect(&mut self, expected: Token) -> Result<(), String> {
        match self.next() {
            Some(token) if token == expected => Ok(()),
            other => Err(format!(
                "expected {expected:?} at token {}, found {other:?}",
                self.at
            )),
        }
    }

    /// `term (('+' | '-') term)*`, the first term possibly negated.
    fn expression(&mut self) -> Result<Expr, String> {
        let mut expr = self.term(true)?;
        while let Some(token @ (Token::Plus | Token::Minus)) = self.peek() {
            self.at += 1;
            let op = if token == Token::Plus {
                BinaryOp::Add
            } else {
                BinaryOp::Subtract
            };
            expr = Expr::binary(op, expr, self.term(false)?);
        }
        Ok(expr)
    }

    /// `['-'] atom (('*' | '/') atom)*`, the minus only when `may_negate`.
    fn term(&mut self, may_negate: bool) -> Result<Expr, String> {
        let mut expr = if may_negate && self.peek() == Some(Token::Minus) {
            self.at += 1;
            Expr::negate(self.atom()?)
        } else {
            self.atom()?
        };
        while let Some(token @ (Token::Times | Token::Divide)) = self.peek() {
            self.at += 1;
            let op = if token == Token::Times {
                BinaryOp::Multiply
            } else {
                BinaryOp::Divide
            };
            expr = Expr::binary(op, expr, self.atom()?);
        }
        Ok(expr)
    }

    /// A primitive, a constant, `( expression )` or a call.
    fn atom(&mut self) -> Result<Expr, String> {
        let at = self.at;
        match self.next() {
            Some(Token::Primitive(index)) => Ok(Expr::Primitive(index)),
            Some(Token::Constant(index)) => Ok(Expr::Constant(index)),
            Some(Token::Open) => {
                let inner = self.expression()?;
                self.expect(Token::Close)?;
                Ok(inner)
            }
            Some(opener @ (Token::Min | Token::Max)) => {
                let function = if opener == Token::Min {
                    Function::Min
                } else {
                    Function::Max
                };
                let left = self.expression()?;
                self.expect(Token::Comma)?;
                let right = self.expression()?;
                self.expect(Token::Close)?;
                Ok(Expr::call(function, left, right))
            }
            other => Err(format!(
                "expected an operand at token {at}, found {other:?}"
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const G1: Token = Token::Primitive(0);
    const G2: Token = Token::Primitive(1);
    const G3: Token = Token::Primitive(2);
    const CONSTANTS: [f64; 3] = [0.5, 2.0, 3.0];

    /// The value of the printed program as the reward language computes it
    /// (the grammar has no evaluator of its own).
    fn value(tokens: &[Token], primitives: &[f64]) -> f64 {
        let grammar = crate::Grammar::new(
            crate::GrammarConfig {
                constants: CONSTANTS.to_vec(),
                max_tokens: 40,
                min_max: true,
                ..crate::GrammarConfig::default()
            },
            3,
        )
        .unwrap();
        let printed = grammar
            .vocabulary()
            .render(&Expr::parse(tokens).unwrap().tokens());
        derl_lang::parse(&printed, &[])
            .unwrap_or_else(|error| panic!("{printed}: {error}"))
            .eval(primitives)
    }

    #[test]
    fn precedence_and_associativity() {
        use Token::{Minus, Plus, Times};
        // g1 - g2 - g3 = (g1 - g2) - g3
        assert_eq!(value(&[G1, Minus, G2, Minus, G3], &[10.0, 3.0, 2.0]), 5.0);
        // g1 + g2 * g3
        assert_eq!(value(&[G1, Plus, G2, Times, G3], &[1.0, 2.0, 3.0]), 7.0);
        // g1 / g2 / g3
        let divide = Token::Divide;
        assert_eq!(value(&[G1, divide, G2, divide, G3], &[8.0, 2.0, 2.0]), 2.0);
        // -g1 * g2 + 0.5
        let negated = [Minus, G1, Times, G2, Plus, Token::Constant(0)];
        assert_eq!(value(&negated, &[2.0, 3.0]), -5.5);
    }

    #[test]
    fn printing_uses_minimal_parentheses_and_round_trips() {
        use Token::{Close, Minus, Open, Plus, Times};
        let cases: Vec<Vec<Token>> = vec![
            vec![G1, Plus, G2, Plus, G3],
            vec![G1, Plus, Open, G2, Plus, G3, Close],
            vec![Open, G1, Plus, G2, Close, Times, G3],
            vec![G1, Minus, Open, G2, Minus, G3, Close],
            vec![Minus, G1, Times, G2],
            vec![Minus, Open, G1, Times, G2, Close],
            vec![Minus, Open, Minus, G1, Close],
            vec![G1, Times, Open, Minus, G2, Close],
            vec![
                Token::Max,
                Minus,
                G1,
                Token::Comma,
                G2,
                Plus,
                G3,
                Close,
                Times,
                G1,
            ],
        ];
        for tokens in cases {
            let expr = Expr::parse(&tokens).unwrap();
            assert_eq!(expr.tokens(), tokens, "{expr:?}");
        }
        // Redundant parentheses disappear.
        let redundant = [Open, Open, G1, Close, Times, G2, Close, Plus, G3];
        let expr = Expr::parse(&redundant).unwrap();
        assert_eq!(expr.tokens(), [G1, Times, G2, Plus, G3]);
    }

    #[test]
    fn malformed_sequences_are_rejected() {
        use Token::{Close, Comma, Minus, Open, Plus, Times};
        let bad: [&[Token]; 7] = [
            &[],
            &[G1, Plus],
            &[Open, G1],
            &[G1, Close],
            &[G1, Times, Minus, G2],
            &[Token::Min, G1, Close],
            &[Open, G1, Comma, G2, Close],
        ];
        for tokens in bad {
            assert!(Expr::parse(tokens).is_err(), "{tokens:?}");
        }
    }

    #[test]
    fn subtrees_are_addressed_in_pre_order() {
        // (g1 + 0.5) * g2
        let expr = Expr::binary(
            BinaryOp::Multiply,
            Expr::binary(BinaryOp::Add, Expr::Primitive(0), Expr::Constant(0)),
            Expr::Primitive(1),
        );
        assert_eq!(expr.size(), 5);
        let nodes = expr.subtrees();
        assert_eq!(nodes.len(), 5);
        assert_eq!(nodes[2], &Expr::Primitive(0));
        assert_eq!(nodes[4], &Expr::Primitive(1));
        let replaced = expr.replace_subtree(3, &Expr::Primitive(2));
        assert_eq!(
            replaced.tokens(),
            [
                Token::Open,
                G1,
                Token::Plus,
                G3,
                Token::Close,
                Token::Times,
                G2
            ]
        );
        assert_eq!(expr.replace_subtree(9, &Expr::Primitive(2)), expr);
        assert!(expr.uses_primitive());
        assert!(!Expr::Constant(1).uses_primitive());
    }
}
