//! Lexer and recursive-descent parser, depth-checked so that no input can
//! overflow the stack, with errors that point at the offending byte.

use crate::ast::{BinaryOp, Expr, Program};
use crate::limits::{MAX_DEPTH, MAX_PRIMITIVES, MAX_SOURCE_BYTES, MAX_TOKENS};
use std::fmt;

/// What kind of mistake a [`ParseError`] reports.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ParseErrorKind {
    /// The text does not follow the grammar (including an empty program).
    Syntax,
    /// A name that is neither a declared primitive nor a function.
    UnknownName,
    /// `gK` with `K = 0`, beyond the declared primitives, or beyond
    /// [`MAX_PRIMITIVES`].
    PrimitiveOutOfRange,
    /// A number too large for a double (it would be infinite).
    NumberOutOfRange,
    /// More than [`MAX_SOURCE_BYTES`] bytes or [`MAX_TOKENS`] tokens.
    TooLong,
    /// Nested deeper than [`MAX_DEPTH`] levels.
    TooDeep,
}

/// A program that cannot be parsed: what is wrong and where. Its `Display`
/// shows the message, the byte position and the source line with a caret
/// under the offending spot.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParseError {
    kind: ParseErrorKind,
    position: usize,
    message: String,
    /// ` (line L, column C)`, empty for one-line sources.
    location: String,
    /// The source line around the position (at most 32 characters each side).
    excerpt: String,
    /// Spaces and a `^` under the position in `excerpt`.
    caret: String,
}

impl ParseError {
    fn new(source: &str, position: usize, kind: ParseErrorKind, message: String) -> ParseError {
        let position = floor_char_boundary(source, position.min(source.len()));
        let (location, excerpt, caret) = render(source, position);
        ParseError {
            kind,
            position,
            message,
            location,
            excerpt,
            caret,
        }
    }

    /// What kind of mistake this is.
    pub fn kind(&self) -> ParseErrorKind {
        self.kind
    }

    /// Byte offset of the offending spot in the source (the source's length
    /// for "the end of the program").
    pub fn position(&self) -> usize {
        self.position
    }

    /// The message alone, without position or excerpt.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// The excerpt of the source line and, under it, the caret line.
    pub fn excerpt(&self) -> (&str, &str) {
        (&self.excerpt, &self.caret)
    }
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} at byte {}{}\n  {}\n  {}",
            self.message, self.position, self.location, self.excerpt, self.caret
        )
    }
}

impl std::error::Error for ParseError {}

fn floor_char_boundary(source: &str, mut position: usize) -> usize {
    while !source.is_char_boundary(position) {
        position -= 1;
    }
    position
}

/// Characters of context shown on each side of the error position.
const CONTEXT_CHARS: usize = 32;

/// Renders the line holding `position` (at most [`CONTEXT_CHARS`] characters
/// either side) and a caret under `position`.
fn render(source: &str, position: usize) -> (String, String, String) {
    let line_start = source[..position].rfind('\n').map_or(0, |i| i + 1);
    let line_end = source[position..]
        .find('\n')
        .map_or(source.len(), |i| position + i);
    let location = if source.contains('\n') {
        let line = source[..position].matches('\n').count() + 1;
        let column = source[line_start..position].chars().count() + 1;
        format!(" (line {line}, column {column})")
    } else {
        String::new()
    };
    let before: Vec<char> = source[line_start..position].chars().collect();
    let after: Vec<char> = source[position..line_end].chars().collect();
    let shown_before = before.len().min(CONTEXT_CHARS);
    let shown_after = after.len().min(CONTEXT_CHARS);
    let printable = |c: char| if c.is_control() { ' ' } else { c };
    let mut excerpt = String::new();
    if shown_before < before.len() {
        excerpt.push_str("...");
    }
    excerpt.extend(
        before[before.len() - shown_before..]
            .iter()
            .map(|&c| printable(c)),
    );
    let caret_column = excerpt.chars().count();
    excerpt.extend(after[..shown_after].iter().map(|&c| printable(c)));
    if shown_after < after.len() {
        excerpt.push_str("...");
    }
    let caret = format!("{}^", " ".repeat(caret_column));
    (location, excerpt.trim_end().to_owned(), caret)
}

/// Longest primitive name a program can refer to, in bytes.
pub const MAX_NAME_BYTES: usize = 64;

/// Why programs could not refer to a primitive called `name` by that name
/// (`None` when they can): empty, longer than [`MAX_NAME_BYTES`], not an
/// identifier (letters, digits and `_`, not starting with a digit), or of the
/// form `g<digits>`, which always means a position.
pub fn primitive_name_problem(name: &str) -> Option<String> {
    let bytes = name.as_bytes();
    if bytes.is_empty() {
        return Some("is empty".into());
    }
    if bytes.len() > MAX_NAME_BYTES {
        return Some(format!(
            "is {} bytes long, more than {MAX_NAME_BYTES}",
            bytes.len()
        ));
    }
    if !is_ident_start(bytes[0]) || !bytes.iter().all(|&b| is_ident_continue(b)) {
        return Some(
            "is not an identifier (letters, digits and `_`, not starting with a digit)".into(),
        );
    }
    let positional = name
        .strip_prefix('g')
        .is_some_and(|digits| !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()));
    if positional {
        return Some(format!(
            "has the form g<digits>, which programs read as a position (`{name}` would not mean this primitive)"
        ));
    }
    None
}

/// Parses a Meta-Reward program.
///
/// `names` are the environment's primitive names in declaration order:
/// `names[0]` is `g1`. Primitives may always be written `gK`; with names, `K`
/// must be at most `names.len()`, without (an empty slice) at most
/// [`MAX_PRIMITIVES`]. Names that are not identifiers, or have the form
/// `g<digits>`, can only be referred to as `gK`; when a name repeats, the
/// first one counts.
///
/// # Errors
/// A [`ParseError`] naming the first problem and its byte position.
pub fn parse(source: &str, names: &[&str]) -> Result<Program, ParseError> {
    if source.len() > MAX_SOURCE_BYTES {
        return Err(ParseError::new(
            source,
            MAX_SOURCE_BYTES,
            ParseErrorKind::TooLong,
            format!(
                "the program is {} bytes long; the limit is {MAX_SOURCE_BYTES}",
                source.len()
            ),
        ));
    }
    let mut parser = Parser {
        source,
        names,
        at: 0,
        peeked: None,
        tokens: 0,
        depth: 0,
    };
    let first = parser.peek()?;
    if first.tok == Tok::End {
        return Err(parser.error(
            first.start,
            ParseErrorKind::Syntax,
            "the program is empty: expected a number, a primitive, '(' or a function".into(),
        ));
    }
    let expr = parser.expression()?;
    let next = parser.next()?;
    if next.tok != Tok::End {
        let message = if next.tok == Tok::RParen {
            "found ')' with no matching '('".to_owned()
        } else {
            format!(
                "expected an operator or the end of the program, found {}",
                parser.describe(&next)
            )
        };
        return Err(parser.error(next.start, ParseErrorKind::Syntax, message));
    }
    Ok(Program::new(expr))
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Tok {
    Number(f64),
    Ident,
    Plus,
    Minus,
    Star,
    Slash,
    LParen,
    RParen,
    Comma,
    Lt,
    Le,
    Gt,
    Ge,
    EqEq,
    Ne,
    End,
}

#[derive(Clone, Copy, Debug)]
struct Token {
    tok: Tok,
    start: usize,
    end: usize,
}

/// The functions: name, arity, and how to call them (for messages).
const FUNCTIONS: [(&str, usize, &str); 5] = [
    ("min", 2, "min(a, b)"),
    ("max", 2, "max(a, b)"),
    ("abs", 1, "abs(a)"),
    ("clamp", 3, "clamp(x, lo, hi)"),
    ("if", 3, "if(condition, then, otherwise)"),
];

fn function_list() -> String {
    FUNCTIONS
        .iter()
        .map(|(_, _, usage)| *usage)
        .collect::<Vec<_>>()
        .join(", ")
}

fn is_ident_start(b: u8) -> bool {
    b.is_ascii_alphabetic() || b == b'_'
}

fn is_ident_continue(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

struct Parser<'a> {
    source: &'a str,
    names: &'a [&'a str],
    /// Lexer position (bytes).
    at: usize,
    peeked: Option<Token>,
    tokens: usize,
    depth: usize,
}

impl Parser<'_> {
    fn error(&self, position: usize, kind: ParseErrorKind, message: String) -> ParseError {
        ParseError::new(self.source, position, kind, message)
    }

    fn text(&self, token: &Token) -> &str {
        &self.source[token.start..token.end]
    }

    /// How a token is named in messages.
    fn describe(&self, token: &Token) -> String {
        match token.tok {
            Tok::End => "the end of the program".into(),
            _ => format!("'{}'", self.text(token)),
        }
    }

    fn peek(&mut self) -> Result<Token, ParseError> {
        if let Some(token) = self.peeked {
            return Ok(token);
        }
        let token = self.lex()?;
        self.peeked = Some(token);
        Ok(token)
    }

    fn next(&mut self) -> Result<Token, ParseError> {
        let token = self.peek()?;
        self.peeked = None;
        Ok(token)
    }

    /// Reads the next token, counting it against [`MAX_TOKENS`].
    fn lex(&mut self) -> Result<Token, ParseError> {
        let bytes = self.source.as_bytes();
        while self.at < bytes.len() && bytes[self.at].is_ascii_whitespace() {
            self.at += 1;
        }
        let start = self.at;
        let Some(&b) = bytes.get(start) else {
            return Ok(Token {
                tok: Tok::End,
                start,
                end: start,
            });
        };
        self.tokens += 1;
        if self.tokens > MAX_TOKENS {
            return Err(self.error(
                start,
                ParseErrorKind::TooLong,
                format!("the program has more than {MAX_TOKENS} tokens"),
            ));
        }
        let next = bytes.get(start + 1).copied();
        let (tok, len) = match b {
            b'+' => (Tok::Plus, 1),
            b'-' => (Tok::Minus, 1),
            b'*' => (Tok::Star, 1),
            b'/' => (Tok::Slash, 1),
            b'(' => (Tok::LParen, 1),
            b')' => (Tok::RParen, 1),
            b',' => (Tok::Comma, 1),
            b'<' if next == Some(b'=') => (Tok::Le, 2),
            b'<' => (Tok::Lt, 1),
            b'>' if next == Some(b'=') => (Tok::Ge, 2),
            b'>' => (Tok::Gt, 1),
            b'=' if next == Some(b'=') => (Tok::EqEq, 2),
            b'!' if next == Some(b'=') => (Tok::Ne, 2),
            b'=' => {
                return Err(self.error(
                    start,
                    ParseErrorKind::Syntax,
                    "'=' is not an operator: write '==' to compare".into(),
                ));
            }
            b'!' => {
                return Err(self.error(
                    start,
                    ParseErrorKind::Syntax,
                    "'!' is not an operator: write '!=' to compare".into(),
                ));
            }
            b'0'..=b'9' | b'.' => return self.number(start),
            _ if is_ident_start(b) => {
                let len = bytes[start..]
                    .iter()
                    .take_while(|&&c| is_ident_continue(c))
                    .count();
                (Tok::Ident, len)
            }
            _ => {
                let c = self.source[start..].chars().next().unwrap_or('?');
                return Err(self.error(
                    start,
                    ParseErrorKind::Syntax,
                    format!("unexpected character {c:?}"),
                ));
            }
        };
        self.at = start + len;
        Ok(Token {
            tok,
            start,
            end: self.at,
        })
    }

    /// `digits [. digits*] [exponent] | . digits [exponent]`.
    fn number(&mut self, start: usize) -> Result<Token, ParseError> {
        let bytes = self.source.as_bytes();
        let digits = |from: usize| {
            bytes[from..]
                .iter()
                .take_while(|c| c.is_ascii_digit())
                .count()
        };
        let mut end = start + digits(start);
        if bytes.get(end) == Some(&b'.') {
            let fraction = digits(end + 1);
            if end == start && fraction == 0 {
                return Err(self.error(
                    start,
                    ParseErrorKind::Syntax,
                    "expected a digit after '.'".into(),
                ));
            }
            end += 1 + fraction;
        }
        if matches!(bytes.get(end), Some(b'e' | b'E')) {
            let sign = usize::from(matches!(bytes.get(end + 1), Some(b'+' | b'-')));
            let exponent = digits(end + 1 + sign);
            if exponent == 0 {
                return Err(self.error(
                    end,
                    ParseErrorKind::Syntax,
                    "expected the digits of an exponent after 'e'".into(),
                ));
            }
            end += 1 + sign + exponent;
        }
        let text = &self.source[start..end];
        let value: f64 = text.parse().map_err(|_| {
            self.error(
                start,
                ParseErrorKind::Syntax,
                format!("'{text}' is not a number"),
            )
        })?;
        if !value.is_finite() {
            return Err(self.error(
                start,
                ParseErrorKind::NumberOutOfRange,
                format!("the number {text} is too large (the largest is about 1.8e308)"),
            ));
        }
        self.at = end;
        Ok(Token {
            tok: Tok::Number(value),
            start,
            end,
        })
    }

    /// Opens one nesting level at `position`.
    fn enter(&mut self, position: usize) -> Result<(), ParseError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(self.error(
                position,
                ParseErrorKind::TooDeep,
                format!(
                    "the program nests deeper than {MAX_DEPTH} levels (every parenthesis, function call and unary minus opens one)"
                ),
            ));
        }
        Ok(())
    }

    fn leave(&mut self) {
        self.depth -= 1;
    }

    /// `sum [comparison sum]`: comparisons do not chain.
    fn expression(&mut self) -> Result<Expr, ParseError> {
        let left = self.sum()?;
        let Some(op) = comparison(self.peek()?.tok) else {
            return Ok(left);
        };
        self.next()?;
        let right = self.sum()?;
        let after = self.peek()?;
        if comparison(after.tok).is_some() {
            return Err(self.error(
                after.start,
                ParseErrorKind::Syntax,
                format!(
                    "comparisons do not chain: put parentheses around one of them, as in (a {} b) {} c",
                    op.symbol(),
                    self.text(&after)
                ),
            ));
        }
        Ok(Expr::Binary(op, Box::new(left), Box::new(right)))
    }

    /// `product {(+|-) product}`.
    fn sum(&mut self) -> Result<Expr, ParseError> {
        let mut left = self.product()?;
        loop {
            let op = match self.peek()?.tok {
                Tok::Plus => BinaryOp::Add,
                Tok::Minus => BinaryOp::Sub,
                _ => return Ok(left),
            };
            self.next()?;
            let right = self.product()?;
            left = Expr::Binary(op, Box::new(left), Box::new(right));
        }
    }

    /// `unary {(*|/) unary}`.
    fn product(&mut self) -> Result<Expr, ParseError> {
        let mut left = self.unary()?;
        loop {
            let op = match self.peek()?.tok {
                Tok::Star => BinaryOp::Mul,
                Tok::Slash => BinaryOp::Div,
                _ => return Ok(left),
            };
            self.next()?;
            let right = self.unary()?;
            left = Expr::Binary(op, Box::new(left), Box::new(right));
        }
    }

    /// `- unary | atom`.
    fn unary(&mut self) -> Result<Expr, ParseError> {
        let token = self.peek()?;
        if token.tok != Tok::Minus {
            return self.atom();
        }
        self.next()?;
        self.enter(token.start)?;
        let operand = self.unary()?;
        self.leave();
        Ok(Expr::Neg(Box::new(operand)))
    }

    /// A number, a primitive, a call or a parenthesized expression.
    fn atom(&mut self) -> Result<Expr, ParseError> {
        let token = self.next()?;
        match token.tok {
            Tok::Number(value) => Ok(Expr::Number(value)),
            Tok::Ident if self.peek()?.tok == Tok::LParen => self.call(&token),
            Tok::Ident => self.primitive(&token).map(Expr::Primitive),
            Tok::LParen => {
                self.enter(token.start)?;
                let inner = self.expression()?;
                let close = self.next()?;
                if close.tok != Tok::RParen {
                    return Err(self.error(
                        close.start,
                        ParseErrorKind::Syntax,
                        format!(
                            "expected an operator or ')' to close the '(' at byte {}, found {}",
                            token.start,
                            self.describe(&close)
                        ),
                    ));
                }
                self.leave();
                Ok(inner)
            }
            _ => Err(self.error(
                token.start,
                ParseErrorKind::Syntax,
                format!(
                    "expected a number, a primitive, '(' or a function, found {}",
                    self.describe(&token)
                ),
            )),
        }
    }

    /// `name ( expression {, expression} )` with the function's arity.
    fn call(&mut self, name: &Token) -> Result<Expr, ParseError> {
        let text = self.text(name);
        let Some(&(function, arity, usage)) = FUNCTIONS.iter().find(|(f, ..)| *f == text) else {
            let message = if self.lookup(text).is_some() {
                format!(
                    "'{text}' is a primitive, not a function: put an operator between it and '('"
                )
            } else {
                format!(
                    "unknown function '{text}'; the functions are {}",
                    function_list()
                )
            };
            return Err(self.error(name.start, ParseErrorKind::UnknownName, message));
        };
        let open = self.next()?;
        self.enter(open.start)?;
        let mut args = Vec::with_capacity(arity);
        for i in 0..arity {
            if i > 0 {
                let comma = self.next()?;
                if comma.tok != Tok::Comma {
                    return Err(self.error(
                        comma.start,
                        ParseErrorKind::Syntax,
                        format!(
                            "expected an operator or ',' and another argument ({usage} takes {arity}), found {}",
                            self.describe(&comma)
                        ),
                    ));
                }
            }
            args.push(self.expression()?);
        }
        let close = self.next()?;
        if close.tok != Tok::RParen {
            let plural = if arity == 1 { "argument" } else { "arguments" };
            return Err(self.error(
                close.start,
                ParseErrorKind::Syntax,
                format!(
                    "expected an operator or ')' ({usage} takes {arity} {plural}), found {}",
                    self.describe(&close)
                ),
            ));
        }
        self.leave();
        let mut args = args.into_iter().map(Box::new);
        let mut arg = || {
            args.next()
                .expect("the loop above pushed `arity` arguments")
        };
        Ok(match function {
            "min" => Expr::Binary(BinaryOp::Min, arg(), arg()),
            "max" => Expr::Binary(BinaryOp::Max, arg(), arg()),
            "abs" => Expr::Abs(arg()),
            "clamp" => Expr::Clamp(arg(), arg(), arg()),
            _ => Expr::If(arg(), arg(), arg()),
        })
    }

    /// The declared name's index, if `text` is one.
    fn lookup(&self, text: &str) -> Option<usize> {
        self.names.iter().position(|n| *n == text)
    }

    /// Resolves `gK` or a declared name to a 0-based index.
    fn primitive(&self, token: &Token) -> Result<usize, ParseError> {
        let text = self.text(token);
        let out_of_range =
            |message: String| self.error(token.start, ParseErrorKind::PrimitiveOutOfRange, message);
        let positional = text
            .strip_prefix('g')
            .filter(|digits| !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()));
        let number = if let Some(digits) = positional {
            // Saturates: any number this large is out of range anyway.
            let k = digits.parse::<usize>().unwrap_or(usize::MAX);
            if k == 0 {
                return Err(out_of_range(
                    "there is no g0: primitives are numbered from g1".into(),
                ));
            }
            if !self.names.is_empty() && k > self.names.len() {
                let count = self.names.len();
                let declared = if count == 1 {
                    "1 primitive (g1)".to_owned()
                } else {
                    format!("{count} primitives (g1..g{count})")
                };
                return Err(out_of_range(format!(
                    "{text} does not exist: the environment declares {declared}"
                )));
            }
            k
        } else if let Some(index) = self.lookup(text) {
            index + 1
        } else if FUNCTIONS.iter().any(|(f, ..)| *f == text) {
            let usage = FUNCTIONS.iter().find(|(f, ..)| *f == text).map(|f| f.2);
            return Err(self.error(
                token.start,
                ParseErrorKind::Syntax,
                format!(
                    "'{text}' is a function: call it as {}",
                    usage.unwrap_or(text)
                ),
            ));
        } else {
            return Err(self.error(
                token.start,
                ParseErrorKind::UnknownName,
                self.unknown_primitive(text),
            ));
        };
        if number > MAX_PRIMITIVES {
            return Err(out_of_range(format!(
                "{text} is primitive number {number}, beyond the limit of {MAX_PRIMITIVES} primitives"
            )));
        }
        Ok(number - 1)
    }

    fn unknown_primitive(&self, text: &str) -> String {
        if self.names.is_empty() {
            return format!(
                "unknown primitive '{text}'; no primitive names were given, so write primitives as g1, g2, ... (up to g{MAX_PRIMITIVES})"
            );
        }
        const SHOWN: usize = 16;
        let count = self.names.len();
        let mut available = if count == 1 {
            "g1".to_owned()
        } else {
            format!("g1..g{count}")
        };
        for name in self.names.iter().take(SHOWN) {
            available.push_str(", ");
            available.push_str(name);
        }
        if count > SHOWN {
            available.push_str(&format!(", ... ({} more)", count - SHOWN));
        }
        let suggestion = self
            .names
            .iter()
            .map(|name| (edit_distance(text, name), *name))
            .filter(|(distance, name)| *distance <= 2 && *distance < name.chars().count())
            .min_by_key(|(distance, _)| *distance)
            .map(|(_, name)| format!(" (did you mean '{name}'?)"))
            .unwrap_or_default();
        format!("unknown primitive '{text}'{suggestion}; available: {available}")
    }
}

fn comparison(tok: Tok) -> Option<BinaryOp> {
    Some(match tok {
        Tok::Lt => BinaryOp::Lt,
        Tok::Le => BinaryOp::Le,
        Tok::Gt => BinaryOp::Gt,
        Tok::Ge => BinaryOp::Ge,
        Tok::EqEq => BinaryOp::Eq,
        Tok::Ne => BinaryOp::Ne,
        _ => return None,
    })
}

/// Levenshtein distance, for "did you mean" suggestions.
fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.iter().enumerate() {
        let mut current = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            let substitute = previous[j] + usize::from(ca != cb);
            current[j + 1] = substitute.min(previous[j + 1] + 1).min(current[j] + 1);
        }
        previous = current;
    }
    previous[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(source: &str, names: &[&str]) -> ParseError {
        parse(source, names).expect_err(source)
    }

    fn tree(source: &str) -> Expr {
        parse(source, &[])
            .unwrap_or_else(|e| panic!("{e}"))
            .expr()
            .clone()
    }

    fn g(i: usize) -> Box<Expr> {
        Box::new(Expr::Primitive(i))
    }

    fn n(x: f64) -> Box<Expr> {
        Box::new(Expr::Number(x))
    }

    #[test]
    fn errors_point_at_the_offending_byte_with_a_caret() {
        let e = err("g1 + )", &[]);
        assert_eq!(e.kind(), ParseErrorKind::Syntax);
        assert_eq!(e.position(), 5);
        assert_eq!(
            e.message(),
            "expected a number, a primitive, '(' or a function, found ')'"
        );
        assert_eq!(
            e.to_string(),
            "expected a number, a primitive, '(' or a function, found ')' at byte 5\n  g1 + )\n       ^"
        );
        let e = err("g1 +", &[]);
        assert_eq!(e.position(), 4);
        assert!(e.message().ends_with("found the end of the program"), "{e}");
        assert_eq!(e.excerpt(), ("g1 +", "    ^"));
    }

    #[test]
    fn empty_programs_are_refused() {
        for source in ["", "   ", "\n\t"] {
            let e = err(source, &[]);
            assert!(e.message().starts_with("the program is empty"), "{e}");
        }
    }

    #[test]
    fn trailing_tokens_and_unbalanced_parentheses() {
        let e = err("g1 g2", &[]);
        assert_eq!(e.position(), 3);
        assert_eq!(
            e.message(),
            "expected an operator or the end of the program, found 'g2'"
        );
        let e = err("g1)", &[]);
        assert_eq!(e.message(), "found ')' with no matching '('");
        let e = err("(g1 + 1", &[]);
        assert_eq!(e.position(), 7);
        assert_eq!(
            e.message(),
            "expected an operator or ')' to close the '(' at byte 0, found the end of the program"
        );
        assert_eq!(err("2g1", &[]).position(), 1);
    }

    #[test]
    fn long_lines_are_shown_around_the_error() {
        let source = format!("{}) + {}g2", "g1 + ".repeat(40), "g2 + ".repeat(40));
        let e = err(&source, &[]);
        let (excerpt, caret) = e.excerpt();
        assert!(
            excerpt.starts_with("...") && excerpt.ends_with("..."),
            "{excerpt}"
        );
        assert_eq!(excerpt.chars().nth(caret.len() - 1), Some(')'));
    }

    #[test]
    fn multi_line_sources_name_line_and_column() {
        let e = err("g1 +\n  0.5 * \n  * g2", &[]);
        assert_eq!(e.position(), 16);
        assert!(
            e.to_string().contains("at byte 16 (line 3, column 3)"),
            "{e}"
        );
        assert_eq!(e.excerpt(), ("  * g2", "  ^"));
    }

    #[test]
    fn unknown_names_list_the_available_ones() {
        let names = ["success", "progress", "steps"];
        let e = err("g1 + sucess", &names);
        assert_eq!(e.kind(), ParseErrorKind::UnknownName);
        assert_eq!(e.position(), 5);
        assert_eq!(
            e.message(),
            "unknown primitive 'sucess' (did you mean 'success'?); available: g1..g3, success, progress, steps"
        );
        let e = err("reward", &names);
        assert_eq!(
            e.message(),
            "unknown primitive 'reward'; available: g1..g3, success, progress, steps"
        );
        let e = err("success", &[]);
        assert!(e.message().contains("no primitive names were given"), "{e}");
        let many: Vec<String> = (0..20).map(|i| format!("p{i}")).collect();
        let many: Vec<&str> = many.iter().map(String::as_str).collect();
        let e = err("q", &many);
        assert!(e.message().ends_with("p15, ... (4 more)"), "{e}");
    }

    #[test]
    fn primitive_names_that_programs_cannot_use_are_named() {
        for good in ["success", "valid_actions", "_x", "g", "gx1", "min", "G1"] {
            assert_eq!(primitive_name_problem(good), None, "{good}");
        }
        for (bad, why) in [
            ("", "empty"),
            ("g1", "position"),
            ("g007", "position"),
            ("3", "identifier"),
            ("a+b", "identifier"),
            ("two words", "identifier"),
            ("\u{1b}[2J", "identifier"),
            ("caf\u{e9}", "identifier"),
        ] {
            let problem = primitive_name_problem(bad).unwrap_or_default();
            assert!(problem.contains(why), "{bad:?}: {problem}");
        }
        assert!(
            primitive_name_problem(&"x".repeat(65))
                .unwrap()
                .contains("65 bytes")
        );
        assert_eq!(primitive_name_problem(&"x".repeat(64)), None);
    }

    #[test]
    fn primitives_resolve_by_name_and_position() {
        let names = ["success", "progress", "min", "if"];
        let p = parse("success + 0.5*progress - g4 + min + if", &names).unwrap();
        assert_eq!(p.normalized(), "g1 + 0.5 * g2 - g4 + g3 + g4");
        assert_eq!(p.min_stride(), 4);
        // Leading zeros are allowed; g-numbers are always positional.
        assert_eq!(
            parse("g01", &["g2", "x"]).unwrap().expr(),
            &Expr::Primitive(0)
        );
        // The first of repeated names counts.
        assert_eq!(
            parse("a", &["b", "a", "a"]).unwrap().expr(),
            &Expr::Primitive(1)
        );
        assert_eq!(parse("1 + 2", &names).unwrap().min_stride(), 0);
    }

    #[test]
    fn primitive_numbers_are_checked() {
        let names = ["a", "b", "c", "d", "e"];
        let e = err("g1 + g9", &names);
        assert_eq!(e.kind(), ParseErrorKind::PrimitiveOutOfRange);
        assert_eq!(e.position(), 5);
        assert_eq!(
            e.message(),
            "g9 does not exist: the environment declares 5 primitives (g1..g5)"
        );
        assert_eq!(
            err("g2", &["a"]).message(),
            "g2 does not exist: the environment declares 1 primitive (g1)"
        );
        let e = err("g0", &[]);
        assert_eq!(
            e.message(),
            "there is no g0: primitives are numbered from g1"
        );
        assert_eq!(parse("g1024", &[]).unwrap().min_stride(), 1024);
        let e = err("g1025", &[]);
        assert_eq!(e.kind(), ParseErrorKind::PrimitiveOutOfRange);
        assert!(e.message().contains("limit of 1024"), "{e}");
        let e = err("g99999999999999999999999999", &[]);
        assert_eq!(e.kind(), ParseErrorKind::PrimitiveOutOfRange);
        let huge: Vec<String> = (0..2000).map(|i| format!("p{i}")).collect();
        let huge: Vec<&str> = huge.iter().map(String::as_str).collect();
        assert_eq!(parse("p1023", &huge).unwrap().min_stride(), 1024);
        assert_eq!(
            err("p1024", &huge).kind(),
            ParseErrorKind::PrimitiveOutOfRange
        );
    }

    #[test]
    fn numbers() {
        for (source, value) in [
            ("3", 3.0),
            ("0.5", 0.5),
            (".5", 0.5),
            ("1.", 1.0),
            ("1e3", 1000.0),
            ("1E-3", 0.001),
            ("2.5e+2", 250.0),
            ("1e-400", 0.0),
            ("007", 7.0),
        ] {
            assert_eq!(tree(source), Expr::Number(value), "{source}");
        }
        let e = err("1e400", &[]);
        assert_eq!(e.kind(), ParseErrorKind::NumberOutOfRange);
        assert!(e.message().contains("too large"), "{e}");
        let e = err("1e+", &[]);
        assert_eq!(e.position(), 1);
        assert_eq!(e.message(), "expected the digits of an exponent after 'e'");
        assert_eq!(err(".", &[]).message(), "expected a digit after '.'");
        assert_eq!(err("1.2.3", &[]).position(), 3);
    }

    #[test]
    fn precedence_and_associativity() {
        use BinaryOp::*;
        let b = |op, l, r| Box::new(Expr::Binary(op, l, r));
        assert_eq!(tree("g1 - g2 - g3"), *b(Sub, b(Sub, g(0), g(1)), g(2)));
        assert_eq!(tree("g1 / g2 / g3"), *b(Div, b(Div, g(0), g(1)), g(2)));
        assert_eq!(tree("g1 + g2 * g3"), *b(Add, g(0), b(Mul, g(1), g(2))));
        assert_eq!(tree("-g1 * g2"), *b(Mul, Box::new(Expr::Neg(g(0))), g(1)));
        assert_eq!(
            tree("g1 + 1 < g2 * 2"),
            *b(Lt, b(Add, g(0), n(1.0)), b(Mul, g(1), n(2.0)))
        );
        assert_eq!(tree("(g1 < g2) < 1"), *b(Lt, b(Lt, g(0), g(1)), n(1.0)));
        assert_eq!(tree("((g1))"), Expr::Primitive(0));
        assert_eq!(tree("--g1"), Expr::Neg(Box::new(Expr::Neg(g(0)))));
        assert_eq!(
            tree("if(g1 >= 0.5, clamp(g2, 0, 1), abs(g3))"),
            Expr::If(
                b(Ge, g(0), n(0.5)),
                Box::new(Expr::Clamp(g(1), n(0.0), n(1.0))),
                Box::new(Expr::Abs(g(2)))
            )
        );
    }

    #[test]
    fn comparisons_do_not_chain() {
        let e = err("g1 < g2 < g3", &[]);
        assert_eq!(e.position(), 8);
        assert_eq!(
            e.message(),
            "comparisons do not chain: put parentheses around one of them, as in (a < b) < c"
        );
    }

    #[test]
    fn function_calls_are_checked() {
        let e = err("min(g1)", &[]);
        assert_eq!(e.position(), 6);
        assert_eq!(
            e.message(),
            "expected an operator or ',' and another argument (min(a, b) takes 2), found ')'"
        );
        let e = err("abs(g1, g2)", &[]);
        assert_eq!(e.position(), 6);
        assert_eq!(
            e.message(),
            "expected an operator or ')' (abs(a) takes 1 argument), found ','"
        );
        let e = err("pow(g1, 2)", &[]);
        assert_eq!(e.kind(), ParseErrorKind::UnknownName);
        assert!(
            e.message()
                .starts_with("unknown function 'pow'; the functions are min(a, b)")
        );
        let e = err("success(1)", &["success"]);
        assert!(
            e.message().contains("is a primitive, not a function"),
            "{e}"
        );
        let e = err("max + 1", &[]);
        assert_eq!(e.message(), "'max' is a function: call it as max(a, b)");
        assert!(parse("MIN(1, 2)", &[]).is_err());
        assert_eq!(tree("min ( g1 , g2 )"), tree("min(g1,g2)"));
    }

    #[test]
    fn stray_characters_are_named() {
        let e = err("g1 = g2", &[]);
        assert_eq!(e.message(), "'=' is not an operator: write '==' to compare");
        assert_eq!(
            err("!g1", &[]).message(),
            "'!' is not an operator: write '!=' to compare"
        );
        let e = err("g1 & g2", &[]);
        assert_eq!(e.message(), "unexpected character '&'");
        assert_eq!(e.position(), 3);
        let e = err("g1 + é", &[]);
        assert_eq!(e.position(), 5);
        assert_eq!(e.excerpt(), ("g1 + é", "     ^"));
        assert_eq!(err("g1 + g2 - g-3", &[]).position(), 10);
    }

    #[test]
    fn nesting_is_limited_without_overflowing_the_stack() {
        let ok = format!("{}g1{}", "(".repeat(MAX_DEPTH), ")".repeat(MAX_DEPTH));
        assert_eq!(tree(&ok), Expr::Primitive(0));
        for source in [
            "(".repeat(10_000),
            format!("{}g1{}", "(".repeat(10_000), ")".repeat(10_000)),
            "-".repeat(10_000) + "g1",
            "abs(".repeat(10_000),
            "if(1,".repeat(10_000),
        ] {
            let e = err(&source, &[]);
            assert_eq!(e.kind(), ParseErrorKind::TooDeep, "{e}");
            assert!(e.message().contains("deeper than 64 levels"), "{e}");
        }
        assert_eq!(err(&"(".repeat(10_000), &[]).position(), 64);
    }

    #[test]
    fn size_is_limited() {
        let huge = "g1+".repeat(350_000) + "g1";
        let e = err(&huge, &[]);
        assert_eq!(e.kind(), ParseErrorKind::TooLong);
        assert_eq!(
            e.message(),
            format!(
                "the program is {} bytes long; the limit is 65536",
                huge.len()
            )
        );
        let many = "1+".repeat(600) + "1";
        let e = err(&many, &[]);
        assert_eq!(e.kind(), ParseErrorKind::TooLong);
        assert_eq!(e.message(), "the program has more than 1024 tokens");
        assert_eq!(e.position(), 1024);
        let most = "1+".repeat(511) + "1";
        assert!(parse(&most, &[]).is_ok());
        // Whitespace is free (within the byte limit).
        let spaced = format!("{}g1", " ".repeat(60_000));
        assert!(parse(&spaced, &[]).is_ok());
        // A multi-byte character straddling the byte limit.
        let straddle = format!("{}é", " ".repeat(MAX_SOURCE_BYTES - 1));
        let e = err(&straddle, &[]);
        assert_eq!(e.kind(), ParseErrorKind::TooLong);
        assert_eq!(e.position(), MAX_SOURCE_BYTES - 1);
    }

    #[test]
    fn the_meta_optimizer_renderings_parse() {
        for (source, normalized) in [
            ("g1 + 0.5*g2", "g1 + 0.5 * g2"),
            ("-0.1*g3 + g1", "-0.1 * g3 + g1"),
            ("min(g1, -g2)", "min(g1, -g2)"),
            ("max(g1, g2) - 0.5*g3", "max(g1, g2) - 0.5 * g3"),
            ("g1 + 0.5*g2*g3 - 0.1*g4", "g1 + 0.5 * g2 * g3 - 0.1 * g4"),
            ("(g1 - g2)*(g3 + 0.01)", "(g1 - g2) * (g3 + 0.01)"),
            ("g1/(g2 - g2)", "g1 / (g2 - g2)"),
        ] {
            let p = parse(source, &[]).unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(p.normalized(), normalized);
            assert_eq!(parse(&p.normalized(), &[]).unwrap(), p);
        }
    }

    #[test]
    fn the_documented_examples_hold() {
        let names = ["success", "progress", "steps"];
        for (source, normalized) in [
            (
                "success + 0.5*progress*g3 - 0.1*(steps)",
                "g1 + 0.5 * g2 * g3 - 0.1 * g3",
            ),
            ("-0.1*g3 + g1", "-0.1 * g3 + g1"),
            ("(g1 - (g2 + g3)) * (2)", "(g1 - (g2 + g3)) * 2"),
        ] {
            assert_eq!(parse(source, &names).unwrap().normalized(), normalized);
        }
        let e = err("g1 + sucess", &names);
        assert_eq!(
            e.to_string(),
            "unknown primitive 'sucess' (did you mean 'success'?); available: g1..g3, success, progress, steps at byte 5\n  g1 + sucess\n       ^"
        );
    }

    #[test]
    fn edit_distance_counts_edits() {
        assert_eq!(edit_distance("sucess", "success"), 1);
        assert_eq!(edit_distance("", "abc"), 3);
        assert_eq!(edit_distance("kitten", "sitting"), 3);
    }
}
