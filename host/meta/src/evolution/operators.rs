//! Variation operators on expression trees: random programs, five mutations and subtree
//! crossover. They build trees only from what the grammar offers (its operators, constants
//! and primitives); the caller checks length and the primitive requirement and retries.

use derl_learn::sampling::{uniform_index, unit_f64};
use rand::RngCore;

use super::config::MutationWeights;
use crate::grammar::{BinaryOp, Expr, Function, Grammar};

/// Probability that a random expression stops at a leaf before its depth limit.
const LEAF_PROBABILITY: f64 = 0.3;
/// Probability that a random leaf is a primitive (when the grammar has constants).
const PRIMITIVE_LEAF_PROBABILITY: f64 = 0.6;
/// Probability of a unary minus at an inner node (when the grammar allows it).
const NEGATION_PROBABILITY: f64 = 0.05;
/// Probability of a `min`/`max` call at an inner node (when the grammar has them).
const CALL_PROBABILITY: f64 = 0.1;

/// One of the five mutations.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Mutation {
    /// Another constant in place of one constant.
    Constant,
    /// Another operator in place of one binary operator (or `min` <-> `max`).
    Operator,
    /// Another primitive in place of one primitive.
    Primitive,
    /// A subtree `s` becomes `s op r` or `r op s` with a small random `r`.
    Grow,
    /// An inner node is replaced by one of its operands.
    Shrink,
}

/// The grammar's building blocks, for random choices.
pub(crate) struct Variation<'a> {
    grammar: &'a Grammar,
    operators: Vec<BinaryOp>,
}

impl<'a> Variation<'a> {
    pub(crate) fn new(grammar: &'a Grammar) -> Self {
        let operators = BinaryOp::ALL
            .into_iter()
            .filter(|&op| op != BinaryOp::Divide || grammar.config().division)
            .collect();
        Self { grammar, operators }
    }

    fn constant_count(&self) -> usize {
        self.grammar.config().constants.len()
    }

    fn random_leaf(&self, rng: &mut impl RngCore) -> Expr {
        if self.constant_count() == 0 || unit_f64(rng) < PRIMITIVE_LEAF_PROBABILITY {
            Expr::Primitive(uniform_index(rng, self.grammar.primitive_count()) as u16)
        } else {
            Expr::Constant(uniform_index(rng, self.constant_count()) as u16)
        }
    }

    fn random_operator(&self, rng: &mut impl RngCore) -> BinaryOp {
        self.operators[uniform_index(rng, self.operators.len())]
    }

    /// A random expression at most `depth` operators deep.
    pub(crate) fn random_expr(&self, depth: usize, rng: &mut impl RngCore) -> Expr {
        if depth == 0 || unit_f64(rng) < LEAF_PROBABILITY {
            return self.random_leaf(rng);
        }
        let config = self.grammar.config();
        let draw = unit_f64(rng);
        if config.negation && draw < NEGATION_PROBABILITY {
            return Expr::negate(self.random_expr(depth - 1, rng));
        }
        let left = self.random_expr(depth - 1, rng);
        let right = self.random_expr(depth - 1, rng);
        if config.min_max && draw < NEGATION_PROBABILITY + CALL_PROBABILITY {
            let function = [Function::Min, Function::Max][uniform_index(rng, 2)];
            return Expr::call(function, left, right);
        }
        Expr::binary(self.random_operator(rng), left, right)
    }

    /// Whether `mutation` can change `expr` at all.
    fn applicable(&self, mutation: Mutation, expr: &Expr) -> bool {
        let nodes = expr.subtrees();
        let any = |accept: fn(&Expr) -> bool| nodes.iter().any(|node| accept(node));
        match mutation {
            Mutation::Constant => {
                self.constant_count() >= 2 && any(|node| matches!(node, Expr::Constant(_)))
            }
            Mutation::Operator => any(|node| matches!(node, Expr::Binary(..) | Expr::Call(..))),
            Mutation::Primitive => {
                self.grammar.primitive_count() >= 2
                    && any(|node| matches!(node, Expr::Primitive(_)))
            }
            Mutation::Grow => true,
            Mutation::Shrink => nodes.len() > 1,
        }
    }

    /// Applies one mutation, chosen by `weights` among those that can change `expr`;
    /// `None` when none can.
    pub(crate) fn mutate(
        &self,
        expr: &Expr,
        weights: &MutationWeights,
        rng: &mut impl RngCore,
    ) -> Option<Expr> {
        let candidates: Vec<(Mutation, f64)> = weights
            .as_pairs()
            .into_iter()
            .filter(|&(mutation, weight)| weight > 0.0 && self.applicable(mutation, expr))
            .collect();
        let total: f64 = candidates.iter().map(|(_, weight)| weight).sum();
        let mut target = unit_f64(rng) * total;
        let mut chosen = candidates.last()?.0;
        for &(mutation, weight) in &candidates {
            if target < weight {
                chosen = mutation;
                break;
            }
            target -= weight;
        }
        Some(self.apply(chosen, expr, rng))
    }

    /// Applies `mutation`, assumed applicable.
    pub(crate) fn apply(&self, mutation: Mutation, expr: &Expr, rng: &mut impl RngCore) -> Expr {
        let nodes = expr.subtrees();
        match mutation {
            Mutation::Constant => {
                let at = pick(&nodes, rng, |node| matches!(node, Expr::Constant(_)));
                let Expr::Constant(old) = nodes[at] else {
                    unreachable!()
                };
                let new = other_index(usize::from(*old), self.constant_count(), rng);
                expr.replace_subtree(at, &Expr::Constant(new as u16))
            }
            Mutation::Primitive => {
                let at = pick(&nodes, rng, |node| matches!(node, Expr::Primitive(_)));
                let Expr::Primitive(old) = nodes[at] else {
                    unreachable!()
                };
                let new = other_index(usize::from(*old), self.grammar.primitive_count(), rng);
                expr.replace_subtree(at, &Expr::Primitive(new as u16))
            }
            Mutation::Operator => {
                let at = pick(&nodes, rng, |node| {
                    matches!(node, Expr::Binary(..) | Expr::Call(..))
                });
                let replacement = match nodes[at] {
                    Expr::Binary(op, left, right) => {
                        let current = self.operators.iter().position(|o| o == op).unwrap_or(0);
                        let new = self.operators[other_index(current, self.operators.len(), rng)];
                        Expr::Binary(new, left.clone(), right.clone())
                    }
                    Expr::Call(function, left, right) => {
                        let flipped = match function {
                            Function::Min => Function::Max,
                            Function::Max => Function::Min,
                        };
                        Expr::Call(flipped, left.clone(), right.clone())
                    }
                    other => other.clone(),
                };
                expr.replace_subtree(at, &replacement)
            }
            Mutation::Grow => {
                let at = uniform_index(rng, nodes.len());
                let addition = self.random_expr(1, rng);
                let op = self.random_operator(rng);
                let grown = if unit_f64(rng) < 0.5 {
                    Expr::binary(op, nodes[at].clone(), addition)
                } else {
                    Expr::binary(op, addition, nodes[at].clone())
                };
                expr.replace_subtree(at, &grown)
            }
            Mutation::Shrink => {
                let at = pick(&nodes, rng, |node| !node.children().is_empty());
                let children = nodes[at].children();
                let kept = children[uniform_index(rng, children.len())].clone();
                expr.replace_subtree(at, &kept)
            }
        }
    }

    /// `first` with a random subtree replaced by a random subtree of `second`.
    pub(crate) fn crossover(&self, first: &Expr, second: &Expr, rng: &mut impl RngCore) -> Expr {
        let at = uniform_index(rng, first.size());
        let donors = second.subtrees();
        let donor = donors[uniform_index(rng, donors.len())];
        first.replace_subtree(at, donor)
    }
}

/// The pre-order position of a uniformly chosen node that `accept`s (one must).
fn pick(nodes: &[&Expr], rng: &mut impl RngCore, accept: impl Fn(&Expr) -> bool) -> usize {
    let positions: Vec<usize> = (0..nodes.len()).filter(|&i| accept(nodes[i])).collect();
    positions[uniform_index(rng, positions.len())]
}

/// A uniform index in `0..count` other than `current` (`count >= 2`).
fn other_index(current: usize, count: usize, rng: &mut impl RngCore) -> usize {
    let draw = uniform_index(rng, count - 1);
    if draw >= current { draw + 1 } else { draw }
}

#[cfg(test)]
mod tests {
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    use super::*;
    use crate::grammar::GrammarConfig;

    fn grammar() -> Grammar {
        let config = GrammarConfig {
            min_max: true,
            ..GrammarConfig::default()
        };
        Grammar::new(config, 3).unwrap()
    }

    /// The node's own label, children aside.
    fn label(expr: &Expr) -> String {
        match expr {
            Expr::Binary(op, ..) => format!("{op:?}"),
            Expr::Call(function, ..) => format!("{function:?}"),
            Expr::Negate(_) => "negate".into(),
            leaf => format!("{leaf:?}"),
        }
    }

    /// Pre-order labels that differ between two trees of the same shape.
    fn changed_labels(a: &Expr, b: &Expr) -> Vec<(String, String)> {
        a.subtrees()
            .into_iter()
            .zip(b.subtrees())
            .map(|(x, y)| (label(x), label(y)))
            .filter(|(x, y)| x != y)
            .collect()
    }

    /// `g1 + 0.5*g2`, `min(g1, g3)*2`
    fn parents(grammar: &Grammar) -> [Expr; 2] {
        ["g1 + 0.5*g2", "min(g1, g3)*2"].map(|s| grammar.parse_program(s).unwrap().expr().clone())
    }

    #[test]
    fn point_mutations_change_exactly_one_leaf_or_operator() {
        let grammar = grammar();
        let variation = Variation::new(&grammar);
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        for parent in parents(&grammar) {
            for mutation in [Mutation::Constant, Mutation::Primitive, Mutation::Operator] {
                for _ in 0..50 {
                    let child = variation.apply(mutation, &parent, &mut rng);
                    assert_eq!(child.size(), parent.size());
                    let changed = changed_labels(&parent, &child);
                    assert_eq!(changed.len(), 1, "{mutation:?}: {parent:?} -> {child:?}");
                    let (before, after) = &changed[0];
                    let kind = match mutation {
                        Mutation::Constant => "Constant",
                        Mutation::Primitive => "Primitive",
                        _ => "",
                    };
                    assert!(before.starts_with(kind) && after.starts_with(kind));
                }
            }
        }
    }

    #[test]
    fn grow_and_shrink_change_the_size() {
        let grammar = grammar();
        let variation = Variation::new(&grammar);
        let mut rng = ChaCha8Rng::seed_from_u64(2);
        for parent in parents(&grammar) {
            for _ in 0..50 {
                assert!(variation.apply(Mutation::Grow, &parent, &mut rng).size() > parent.size());
                assert!(
                    variation.apply(Mutation::Shrink, &parent, &mut rng).size() < parent.size()
                );
            }
        }
    }

    #[test]
    fn mutations_that_cannot_apply_are_not_drawn() {
        let grammar = Grammar::new(GrammarConfig::default(), 1).unwrap();
        let variation = Variation::new(&grammar);
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        let only_primitive = MutationWeights {
            constant: 0.0,
            operator: 0.0,
            primitive: 1.0,
            grow: 0.0,
            shrink: 0.0,
        };
        // One primitive: nothing to replace it with.
        assert_eq!(
            variation.mutate(&Expr::Primitive(0), &only_primitive, &mut rng),
            None
        );
        let only_shrink = MutationWeights {
            primitive: 0.0,
            shrink: 1.0,
            ..only_primitive
        };
        assert_eq!(
            variation.mutate(&Expr::Primitive(0), &only_shrink, &mut rng),
            None
        );
        let grown = variation.mutate(&Expr::Primitive(0), &MutationWeights::default(), &mut rng);
        assert!(grown.unwrap().size() > 1);
    }

    #[test]
    fn crossover_takes_a_subtree_of_the_second_parent() {
        let grammar = grammar();
        let variation = Variation::new(&grammar);
        let mut rng = ChaCha8Rng::seed_from_u64(4);
        let [first, second] = parents(&grammar);
        let donors: Vec<Expr> = second.subtrees().into_iter().cloned().collect();
        for _ in 0..100 {
            let child = variation.crossover(&first, &second, &mut rng);
            let found = (0..first.size()).any(|at| {
                donors
                    .iter()
                    .any(|donor| first.replace_subtree(at, donor) == child)
            });
            assert!(found, "{child:?}");
        }
    }

    #[test]
    fn random_expressions_use_only_enabled_constructs() {
        let config = GrammarConfig {
            division: false,
            negation: false,
            min_max: false,
            ..GrammarConfig::default()
        };
        let grammar = Grammar::new(config, 2).unwrap();
        let variation = Variation::new(&grammar);
        let mut rng = ChaCha8Rng::seed_from_u64(5);
        for _ in 0..500 {
            let expr = variation.random_expr(3, &mut rng);
            for node in expr.subtrees() {
                assert!(!matches!(
                    node,
                    Expr::Negate(_) | Expr::Call(..) | Expr::Binary(BinaryOp::Divide, ..)
                ));
            }
        }
    }
}
