//! Reference semantics: the native evaluator. The compiled component performs
//! the same IEEE-754 double operations, so both agree bit for bit on every
//! result that is not NaN (a NaN result is an invalid output either way).

use crate::ast::{BinaryOp, Expr, Program};

/// `a / b`, or 0 when `b` is zero (either sign), so `x / 0 = 0` and `0 / 0 = 0`.
pub(crate) fn div(a: f64, b: f64) -> f64 {
    if b != 0.0 { a / b } else { 0.0 }
}

/// The smaller of `a` and `b`; `a` when they are equal (so `min(0, -0)` is
/// `0`); the other argument when one is NaN.
pub(crate) fn min(a: f64, b: f64) -> f64 {
    if b < a || a.is_nan() { b } else { a }
}

/// The larger of `a` and `b`; `a` when they are equal; the other argument
/// when one is NaN.
pub(crate) fn max(a: f64, b: f64) -> f64 {
    if b > a || a.is_nan() { b } else { a }
}

fn truth(condition: bool) -> f64 {
    if condition { 1.0 } else { 0.0 }
}

impl Expr {
    /// Evaluates the expression on one row of primitives; a primitive beyond
    /// the row reads as NaN.
    pub(crate) fn eval(&self, row: &[f64]) -> f64 {
        match self {
            Expr::Number(x) => *x,
            Expr::Primitive(index) => row.get(*index).copied().unwrap_or(f64::NAN),
            Expr::Neg(a) => -a.eval(row),
            Expr::Abs(a) => a.eval(row).abs(),
            Expr::Binary(op, a, b) => {
                let (a, b) = (a.eval(row), b.eval(row));
                match op {
                    BinaryOp::Add => a + b,
                    BinaryOp::Sub => a - b,
                    BinaryOp::Mul => a * b,
                    BinaryOp::Div => div(a, b),
                    BinaryOp::Lt => truth(a < b),
                    BinaryOp::Le => truth(a <= b),
                    BinaryOp::Gt => truth(a > b),
                    BinaryOp::Ge => truth(a >= b),
                    BinaryOp::Eq => truth(a == b),
                    BinaryOp::Ne => truth(a != b),
                    BinaryOp::Min => min(a, b),
                    BinaryOp::Max => max(a, b),
                }
            }
            Expr::If(condition, then, otherwise) => {
                let (then, otherwise) = (then.eval(row), otherwise.eval(row));
                if condition.eval(row) != 0.0 {
                    then
                } else {
                    otherwise
                }
            }
            Expr::Clamp(x, lo, hi) => {
                let (x, lo) = (x.eval(row), lo.eval(row));
                min(max(x, lo), hi.eval(row))
            }
        }
    }
}

/// Why a batch cannot be scored; the message is exactly the compiled
/// component's `err` text for the same batch.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ScoreError(pub String);

impl Program {
    /// Evaluates the program on one episode's primitives (`primitives[0]` is
    /// `g1`). A primitive beyond the slice reads as NaN; check
    /// [`Program::min_stride`] first. The result may be NaN or infinite (e.g.
    /// `1e308 * 10`), which a reward host treats as an invalid output.
    pub fn eval(&self, primitives: &[f64]) -> f64 {
        self.expr.eval(primitives)
    }

    /// Scores a row-major batch exactly as the compiled component does: one
    /// value per row of `stride` primitives.
    ///
    /// # Errors
    /// When `stride` is below [`Program::min_stride`] (even for an empty
    /// batch), when `stride` is 0 and there are values, or when `values` is
    /// not a whole number of rows.
    pub fn score(&self, stride: usize, values: &[f64]) -> Result<Vec<f64>, ScoreError> {
        if stride < self.min_stride {
            return Err(ScoreError(format!(
                "the program reads primitives up to g{} but the batch's stride is {stride}",
                self.min_stride
            )));
        }
        if stride == 0 {
            if values.is_empty() {
                return Ok(Vec::new());
            }
            return Err(ScoreError(format!(
                "a batch of {} values needs a non-zero stride",
                values.len()
            )));
        }
        if !values.len().is_multiple_of(stride) {
            return Err(ScoreError(format!(
                "a batch of {} values is not a whole number of rows of stride {stride}",
                values.len()
            )));
        }
        Ok(values
            .chunks_exact(stride)
            .map(|row| self.expr.eval(row))
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use crate::parse;

    fn eval(source: &str, row: &[f64]) -> f64 {
        parse(source, &[]).unwrap().eval(row)
    }

    #[test]
    fn division_by_zero_yields_zero() {
        assert_eq!(eval("g1 / 0", &[3.0]).to_bits(), 0f64.to_bits());
        assert_eq!(eval("0 / 0", &[]).to_bits(), 0f64.to_bits());
        assert_eq!(eval("-1 / -0", &[]).to_bits(), 0f64.to_bits());
        assert_eq!(eval("g1 / g2", &[1.0, 0.0]), 0.0);
        assert_eq!(eval("g1 / g2", &[1.0, 4.0]), 0.25);
        // A NaN divisor is not zero: the NaN propagates.
        assert!(eval("1 / (0 * (1e308 * 10))", &[]).is_nan());
    }

    #[test]
    fn paper_example() {
        let row = [1.0, 0.5, 0.25, 2.0];
        let expected = 1.0 + 0.5 * 0.5 * 0.25 - 0.1 * 2.0;
        assert_eq!(eval("g1 + 0.5*g2*g3 - 0.1*g4", &row), expected);
    }

    #[test]
    fn comparisons_and_if() {
        assert_eq!(eval("g1 < g2", &[1.0, 2.0]), 1.0);
        assert_eq!(eval("g1 >= g2", &[1.0, 2.0]), 0.0);
        assert_eq!(eval("g1 == 1", &[1.0]), 1.0);
        assert_eq!(eval("g1 != 1", &[1.0]), 0.0);
        assert_eq!(eval("if(g1, 10, 20)", &[0.0]), 20.0);
        assert_eq!(eval("if(g1, 10, 20)", &[-0.0]), 20.0);
        assert_eq!(eval("if(g1, 10, 20)", &[0.1]), 10.0);
        // NaN is not zero: the `then` branch.
        assert_eq!(eval("if(0 * (1e308 * 10), 10, 20)", &[]), 10.0);
        // Comparisons with NaN are false, except `!=`.
        assert_eq!(eval("(0 * (1e308 * 10)) == (0 * (1e308 * 10))", &[]), 0.0);
        assert_eq!(eval("(0 * (1e308 * 10)) != 1", &[]), 1.0);
    }

    #[test]
    fn min_max_abs_clamp() {
        assert_eq!(eval("min(g1, -g2)", &[1.0, 2.0]), -2.0);
        assert_eq!(eval("max(g1, -g2)", &[1.0, 2.0]), 1.0);
        assert_eq!(eval("abs(-3)", &[]), 3.0);
        assert_eq!(eval("clamp(g1, 0, 1)", &[1.5]), 1.0);
        assert_eq!(eval("clamp(g1, 0, 1)", &[-1.5]), 0.0);
        assert_eq!(eval("clamp(g1, 0, 1)", &[0.25]), 0.25);
        // lo > hi: hi wins.
        assert_eq!(eval("clamp(g1, 1, 0)", &[0.5]), 0.0);
        // Equal arguments: the first one, signed zeros included.
        assert_eq!(eval("min(0, -0)", &[]).to_bits(), 0f64.to_bits());
        assert_eq!(eval("min(-0, 0)", &[]).to_bits(), (-0f64).to_bits());
        assert_eq!(eval("max(-0, 0)", &[]).to_bits(), (-0f64).to_bits());
        // NaN loses against a number on either side.
        let nan = "(0 * (1e308 * 10))";
        assert_eq!(eval(&format!("min({nan}, 2)"), &[]), 2.0);
        assert_eq!(eval(&format!("min(2, {nan})"), &[]), 2.0);
        assert_eq!(eval(&format!("max({nan}, 2)"), &[]), 2.0);
        assert_eq!(eval(&format!("max(2, {nan})"), &[]), 2.0);
    }

    #[test]
    fn overflow_gives_infinity_and_missing_primitives_read_as_nan() {
        assert_eq!(eval("1e308 * 10", &[]), f64::INFINITY);
        assert!(eval("1e308 * 10 - 1e308 * 10", &[]).is_nan());
        assert!(eval("g3", &[1.0]).is_nan());
    }

    #[test]
    fn score_checks_the_batch_like_the_component() {
        let p = parse("g1 + g3", &[]).unwrap();
        assert_eq!(
            p.score(3, &[1.0, 0.0, 2.0, 4.0, 0.0, 8.0]),
            Ok(vec![3.0, 12.0])
        );
        assert_eq!(p.score(4, &[]), Ok(vec![]));
        assert_eq!(
            p.score(2, &[]).unwrap_err().0,
            "the program reads primitives up to g3 but the batch's stride is 2"
        );
        assert_eq!(
            p.score(3, &[1.0; 7]).unwrap_err().0,
            "a batch of 7 values is not a whole number of rows of stride 3"
        );
        let constant = parse("1", &[]).unwrap();
        assert_eq!(constant.score(0, &[]), Ok(vec![]));
        assert_eq!(
            constant.score(0, &[1.0]).unwrap_err().0,
            "a batch of 1 values needs a non-zero stride"
        );
        assert_eq!(constant.score(2, &[5.0, 6.0]), Ok(vec![1.0]));
    }
}
