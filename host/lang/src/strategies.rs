//! proptest strategies for random programs, shared by this crate's property tests and the
//! workspace's integration tests (feature `proptest`).

use crate::ast::{BinaryOp, Expr};
use proptest::prelude::*;

/// Finite, non-negative numbers (the constants the parser produces): mostly ordinary ones,
/// sometimes the extremes where printing, parsing and arithmetic are delicate.
pub fn number() -> impl Strategy<Value = f64> {
    prop_oneof![
        4 => (0u32..10_000).prop_map(|n| f64::from(n) / 100.0),
        1 => prop::sample::select(vec![0.0, 0.1, 0.5, 1e300, 1e-300, f64::MAX, 5e-324]),
        1 => any::<u64>()
            .prop_map(|bits| f64::from_bits(bits).abs())
            .prop_filter("finite", |x| x.is_finite()),
    ]
}

/// Any binary operator.
pub fn binary_op() -> impl Strategy<Value = BinaryOp> {
    use BinaryOp::*;
    prop::sample::select(vec![Add, Sub, Mul, Div, Lt, Le, Gt, Ge, Eq, Ne, Min, Max])
}

/// Trees as the parser makes them, reading primitives `0..primitives`, at most `depth` deep
/// and of about `nodes` nodes (proptest's `prop_recursive` sizes).
pub fn expr(primitives: usize, depth: u32, nodes: u32) -> impl Strategy<Value = Expr> {
    let leaf = prop_oneof![
        number().prop_map(Expr::Number),
        (0..primitives).prop_map(Expr::Primitive),
    ];
    leaf.prop_recursive(depth, nodes, 3, |inner| {
        let b = |e: Expr| Box::new(e);
        let binary = || {
            (binary_op(), inner.clone(), inner.clone())
                .prop_map(move |(op, l, r)| Expr::Binary(op, b(l), b(r)))
        };
        prop_oneof![
            inner.clone().prop_map(move |a| Expr::Neg(b(a))),
            inner.clone().prop_map(move |a| Expr::Abs(b(a))),
            // Twice: binary operators are the language's bulk.
            binary(),
            binary(),
            (inner.clone(), inner.clone(), inner.clone()).prop_map(move |(c, t, o)| Expr::If(
                b(c),
                b(t),
                b(o)
            )),
            (inner.clone(), inner.clone(), inner).prop_map(move |(x, lo, hi)| Expr::Clamp(
                b(x),
                b(lo),
                b(hi)
            )),
        ]
    })
}
