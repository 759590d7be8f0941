//! The program tree and its normalized printing.

use std::fmt::{self, Write as _};

/// A binary operation: infix arithmetic and comparisons, and the two-argument
/// functions `min` and `max`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum BinaryOp {
    /// `a + b`.
    Add,
    /// `a - b`.
    Sub,
    /// `a * b`.
    Mul,
    /// `a / b`; 0 when `b` is zero.
    Div,
    /// `a < b`: 1 or 0.
    Lt,
    /// `a <= b`: 1 or 0.
    Le,
    /// `a > b`: 1 or 0.
    Gt,
    /// `a >= b`: 1 or 0.
    Ge,
    /// `a == b`: 1 or 0.
    Eq,
    /// `a != b`: 1 or 0.
    Ne,
    /// `min(a, b)`.
    Min,
    /// `max(a, b)`.
    Max,
}

impl BinaryOp {
    /// The operator's source text (`+`, `<=`) or the function's name (`min`).
    pub fn symbol(self) -> &'static str {
        match self {
            BinaryOp::Add => "+",
            BinaryOp::Sub => "-",
            BinaryOp::Mul => "*",
            BinaryOp::Div => "/",
            BinaryOp::Lt => "<",
            BinaryOp::Le => "<=",
            BinaryOp::Gt => ">",
            BinaryOp::Ge => ">=",
            BinaryOp::Eq => "==",
            BinaryOp::Ne => "!=",
            BinaryOp::Min => "min",
            BinaryOp::Max => "max",
        }
    }

    /// Whether the operation is a comparison (producing 1 or 0).
    pub fn is_comparison(self) -> bool {
        matches!(
            self,
            BinaryOp::Lt | BinaryOp::Le | BinaryOp::Gt | BinaryOp::Ge | BinaryOp::Eq | BinaryOp::Ne
        )
    }

    /// Whether the operation is written as a function call (`min(a, b)`).
    pub fn is_function(self) -> bool {
        matches!(self, BinaryOp::Min | BinaryOp::Max)
    }
}

/// A Meta-Reward expression. Trees made by [`crate::parse`] hold only finite,
/// non-negative numbers (a negative constant is [`Expr::Neg`] of a number).
#[derive(Clone, Debug, PartialEq)]
pub enum Expr {
    /// A constant.
    Number(f64),
    /// The primitive at this 0-based index (`g1` is index 0).
    Primitive(usize),
    /// `-a`.
    Neg(Box<Expr>),
    /// `abs(a)`.
    Abs(Box<Expr>),
    /// `a op b` or `op(a, b)`.
    Binary(BinaryOp, Box<Expr>, Box<Expr>),
    /// `if(condition, then, otherwise)`: `then` when `condition != 0`.
    If(Box<Expr>, Box<Expr>, Box<Expr>),
    /// `clamp(x, lo, hi)`, defined as `min(max(x, lo), hi)`.
    Clamp(Box<Expr>, Box<Expr>, Box<Expr>),
}

/// Binding strength of an expression's outermost construct, weakest first.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Level {
    Comparison,
    Sum,
    Product,
    Unary,
    Atom,
}

impl Expr {
    /// One more than the highest primitive index read (0 if none).
    pub fn min_stride(&self) -> usize {
        match self {
            Expr::Number(_) => 0,
            Expr::Primitive(index) => index + 1,
            Expr::Neg(a) | Expr::Abs(a) => a.min_stride(),
            Expr::Binary(_, a, b) => a.min_stride().max(b.min_stride()),
            Expr::If(a, b, c) | Expr::Clamp(a, b, c) => {
                a.min_stride().max(b.min_stride()).max(c.min_stride())
            }
        }
    }

    fn level(&self) -> Level {
        match self {
            Expr::Number(x) if x.is_sign_negative() => Level::Unary,
            Expr::Number(_)
            | Expr::Primitive(_)
            | Expr::Abs(_)
            | Expr::If(..)
            | Expr::Clamp(..) => Level::Atom,
            Expr::Neg(_) => Level::Unary,
            Expr::Binary(op, ..) => match op {
                BinaryOp::Add | BinaryOp::Sub => Level::Sum,
                BinaryOp::Mul | BinaryOp::Div => Level::Product,
                BinaryOp::Min | BinaryOp::Max => Level::Atom,
                _ => Level::Comparison,
            },
        }
    }

    /// Writes `self` where the grammar needs at least `needed`, adding
    /// parentheses only when `self` binds more loosely.
    fn write_at(&self, out: &mut String, needed: Level) {
        if self.level() < needed {
            out.push('(');
            self.write(out);
            out.push(')');
        } else {
            self.write(out);
        }
    }

    fn write(&self, out: &mut String) {
        match self {
            Expr::Number(x) => write_number(out, *x),
            Expr::Primitive(index) => {
                let _ = write!(out, "g{}", index + 1);
            }
            Expr::Neg(a) => {
                out.push('-');
                a.write_at(out, Level::Unary);
            }
            Expr::Abs(a) => write_call(out, "abs", &[a]),
            Expr::Binary(op, a, b) if op.is_function() => write_call(out, op.symbol(), &[a, b]),
            Expr::Binary(op, a, b) => {
                let (left, right) = match self.level() {
                    Level::Sum => (Level::Sum, Level::Product),
                    Level::Product => (Level::Product, Level::Unary),
                    // Comparisons do not chain: both operands are sums.
                    _ => (Level::Sum, Level::Sum),
                };
                a.write_at(out, left);
                out.push(' ');
                out.push_str(op.symbol());
                out.push(' ');
                b.write_at(out, right);
            }
            Expr::If(a, b, c) => write_call(out, "if", &[a, b, c]),
            Expr::Clamp(a, b, c) => write_call(out, "clamp", &[a, b, c]),
        }
    }
}

fn write_call(out: &mut String, name: &str, args: &[&Expr]) {
    out.push_str(name);
    out.push('(');
    for (i, arg) in args.iter().enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        arg.write_at(out, Level::Comparison);
    }
    out.push(')');
}

/// Writes a number in its plain shortest round-trip form (`1000`, `0.05`)
/// when that has at most 16 characters, else in the shorter of the plain and
/// the scientific (`1e300`) forms; either parses back exactly, and no number
/// takes more than 23 characters.
fn write_number(out: &mut String, x: f64) {
    if x.is_sign_negative() && !x.is_nan() {
        out.push('-');
    }
    let x = x.abs();
    let plain = format!("{x}");
    let scientific = format!("{x:e}");
    out.push_str(if plain.len() > 16 && scientific.len() < plain.len() {
        &scientific
    } else {
        &plain
    });
}

/// Prints the normalized form: primitives as `gK`, minimal parentheses,
/// numbers in their shortest exact form. For trees made by [`crate::parse`] it
/// parses back to an equal tree; a non-finite [`Expr::Number`] prints as
/// `inf` or `NaN`, which does not parse.
impl fmt::Display for Expr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut out = String::new();
        self.write(&mut out);
        f.write_str(&out)
    }
}

/// A parsed Meta-Reward program.
#[derive(Clone, Debug, PartialEq)]
pub struct Program {
    pub(crate) expr: Expr,
    pub(crate) min_stride: usize,
}

impl Program {
    pub(crate) fn new(expr: Expr) -> Program {
        let min_stride = expr.min_stride();
        Program { expr, min_stride }
    }

    /// The expression tree.
    pub fn expr(&self) -> &Expr {
        &self.expr
    }

    /// The normalized source text; `parse(&p.normalized(), names)` gives back
    /// a program equal to `p` (for any `names`).
    pub fn normalized(&self) -> String {
        self.expr.to_string()
    }

    /// One more than the highest primitive index the program reads (0 if it
    /// reads none): the smallest row length it can score.
    pub fn min_stride(&self) -> usize {
        self.min_stride
    }
}

/// The normalized form (see [`Program::normalized`]).
impl fmt::Display for Program {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.expr, f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn num(x: f64) -> Box<Expr> {
        Box::new(Expr::Number(x))
    }

    fn g(i: usize) -> Box<Expr> {
        Box::new(Expr::Primitive(i))
    }

    #[test]
    fn numbers_print_in_their_shortest_exact_form() {
        let cases = [
            (0.5, "0.5"),
            (3.0, "3"),
            (0.0, "0"),
            (1e300, "1e300"),
            (1.5e-7, "0.00000015"),
            (1.5e-17, "1.5e-17"),
            (1234.5, "1234.5"),
            (100.0, "100"),
            (1000.0, "1000"),
            (10000.0, "10000"),
            (1e16, "1e16"),
            (f64::MAX, "1.7976931348623157e308"),
            (5e-324, "5e-324"),
        ];
        for (x, text) in cases {
            let mut out = String::new();
            write_number(&mut out, x);
            assert_eq!(out, text, "{x:?}");
            assert_eq!(out.parse::<f64>().unwrap().to_bits(), x.to_bits());
        }
    }

    #[test]
    fn parentheses_are_minimal() {
        let sub = Expr::Binary(
            BinaryOp::Sub,
            g(0),
            Box::new(Expr::Binary(BinaryOp::Add, g(1), g(2))),
        );
        assert_eq!(sub.to_string(), "g1 - (g2 + g3)");
        let left = Expr::Binary(
            BinaryOp::Sub,
            Box::new(Expr::Binary(BinaryOp::Add, g(1), g(2))),
            g(0),
        );
        assert_eq!(left.to_string(), "g2 + g3 - g1");
        let neg_product = Expr::Neg(Box::new(Expr::Binary(BinaryOp::Mul, g(0), num(2.0))));
        assert_eq!(neg_product.to_string(), "-(g1 * 2)");
        let product_of_neg = Expr::Binary(BinaryOp::Mul, Box::new(Expr::Neg(g(0))), num(2.0));
        assert_eq!(product_of_neg.to_string(), "-g1 * 2");
        let cmp = Expr::Binary(
            BinaryOp::Lt,
            Box::new(Expr::Binary(BinaryOp::Lt, g(0), g(1))),
            num(1.0),
        );
        assert_eq!(cmp.to_string(), "(g1 < g2) < 1");
        let call = Expr::Binary(
            BinaryOp::Min,
            Box::new(Expr::Binary(BinaryOp::Ge, g(0), g(1))),
            Box::new(Expr::Neg(g(1))),
        );
        assert_eq!(call.to_string(), "min(g1 >= g2, -g2)");
        let double_neg = Expr::Neg(Box::new(Expr::Neg(num(1.0))));
        assert_eq!(double_neg.to_string(), "--1");
        let div = Expr::Binary(
            BinaryOp::Div,
            g(0),
            Box::new(Expr::Binary(BinaryOp::Mul, g(1), g(2))),
        );
        assert_eq!(div.to_string(), "g1 / (g2 * g3)");
    }

    #[test]
    fn min_stride_is_one_past_the_highest_index() {
        assert_eq!(Expr::Number(1.0).min_stride(), 0);
        let e = Expr::If(g(2), num(1.0), Box::new(Expr::Abs(g(6))));
        assert_eq!(e.min_stride(), 7);
    }
}
