//! Word problems: the four operations, the quantities a problem states, its
//! gold solution, and [`Draft`], the builder templates use to write one.

use crate::rng::hash_words;

/// Largest value any computation may produce; larger results are not offered.
pub const MAX_VALUE: u64 = 999_999;

/// Most numbers a problem states (its givens, distractor included).
pub const MAX_GIVENS: usize = 6;

/// A calculator operation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Op {
    /// `left + right`.
    Add,
    /// `left - right`, only when the result is positive.
    Subtract,
    /// `left * right`, only when neither factor is 1.
    Multiply,
    /// `left / right`, only when exact, with a divisor above 1.
    Divide,
}

impl Op {
    /// Every operation, in the order actions list them.
    pub const ALL: [Op; 4] = [Op::Add, Op::Subtract, Op::Multiply, Op::Divide];

    /// The verb that starts an action's text.
    pub fn verb(self) -> &'static str {
        match self {
            Op::Add => "add",
            Op::Subtract => "subtract",
            Op::Multiply => "multiply",
            Op::Divide => "divide",
        }
    }

    /// The symbol used on the scratchpad.
    pub fn symbol(self) -> char {
        match self {
            Op::Add => '+',
            Op::Subtract => '-',
            Op::Multiply => '*',
            Op::Divide => '/',
        }
    }

    /// What a result of this operation is called (`sum`, `product`, ...).
    pub fn result_name(self) -> &'static str {
        match self {
            Op::Add => "sum",
            Op::Subtract => "difference",
            Op::Multiply => "product",
            Op::Divide => "quotient",
        }
    }

    /// Whether the operands may be swapped without changing the result.
    pub fn is_commutative(self) -> bool {
        matches!(self, Op::Add | Op::Multiply)
    }

    /// `left op right`, or `None` when the calculator refuses it: a result
    /// that is not a positive integer up to [`MAX_VALUE`], a factor of 1, or a
    /// division by 1.
    pub fn apply(self, left: u64, right: u64) -> Option<u64> {
        let value = match self {
            Op::Add => left.checked_add(right)?,
            Op::Subtract => left.checked_sub(right).filter(|&d| d > 0)?,
            Op::Multiply if left > 1 && right > 1 => left.checked_mul(right)?,
            Op::Divide if right > 1 && left > right && left.is_multiple_of(right) => left / right,
            Op::Multiply | Op::Divide => return None,
        };
        (value <= MAX_VALUE).then_some(value)
    }
}

/// A number stated in a problem, with the words that say what it counts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Quantity {
    /// The number.
    pub value: u64,
    /// A short noun phrase taken from the problem (`dollars each`).
    pub label: String,
}

/// One calculator step: `left op right = value`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Computation {
    /// The operation.
    pub op: Op,
    /// First operand (the larger one for subtraction and division).
    pub left: u64,
    /// Second operand.
    pub right: u64,
    /// The result.
    pub value: u64,
}

impl Computation {
    /// Whether `other` is the same computation, operands possibly swapped
    /// when the operation is commutative.
    pub fn same_as(&self, other: &Computation) -> bool {
        let swapped =
            self.op.is_commutative() && (self.left, self.right) == (other.right, other.left);
        self.op == other.op
            && self.value == other.value
            && ((self.left, self.right) == (other.left, other.right) || swapped)
    }

    /// The step as written on the scratchpad (`4 * 3 = 12`).
    pub fn render(&self) -> String {
        format!(
            "{} {} {} = {}",
            self.left,
            self.op.symbol(),
            self.right,
            self.value
        )
    }
}

/// A generated word problem with its gold solution.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Problem {
    /// Name of the template that wrote it.
    pub template: &'static str,
    /// The problem as the solver reads it.
    pub text: String,
    /// The numbers the text states, in reading order; distinct, all above 1.
    pub givens: Vec<Quantity>,
    /// The gold solution: uses every given except a distractor exactly once
    /// and every intermediate value exactly once; intermediate values are
    /// distinct and differ from every given; the last step's value is the
    /// answer.
    pub solution: Vec<Computation>,
    /// Identity of the arithmetic (template, core numbers, operations),
    /// independent of names and distractors; it decides the split.
    pub key: u64,
}

impl Problem {
    /// The gold answer.
    pub fn answer(&self) -> u64 {
        self.solution.last().map_or(0, |step| step.value)
    }

    /// Whether `value` is one of the stated numbers.
    pub fn is_given(&self, value: u64) -> bool {
        self.givens.iter().any(|q| q.value == value)
    }
}

/// A sentence of a problem and the numbers it states, in order.
#[derive(Clone, Debug)]
struct Sentence {
    text: String,
    quantities: Vec<Quantity>,
}

impl Sentence {
    fn new(text: String, quantities: &[(u64, &str)]) -> Self {
        let quantities = quantities
            .iter()
            .map(|&(value, label)| Quantity {
                value,
                label: label.to_owned(),
            })
            .collect();
        Sentence { text, quantities }
    }
}

/// A problem being written by a template: statements, a question and the
/// gold solution; [`Draft::finish`] checks it and assembles the [`Problem`].
#[derive(Clone, Debug, Default)]
pub struct Draft {
    statements: Vec<Sentence>,
    question: Option<Sentence>,
    distractor: Option<(usize, Sentence)>,
    solution: Vec<Computation>,
}

impl Draft {
    /// An empty draft.
    pub fn new() -> Self {
        Draft::default()
    }

    /// Adds a statement sentence stating `quantities` (value, label) in order.
    pub fn state(&mut self, text: String, quantities: &[(u64, &str)]) {
        self.statements.push(Sentence::new(text, quantities));
    }

    /// Sets the question sentence, which may state numbers too.
    pub fn ask(&mut self, text: String, quantities: &[(u64, &str)]) {
        self.question = Some(Sentence::new(text, quantities));
    }

    /// Appends `left op right` to the gold solution and returns its value, or
    /// `None` when the calculator would refuse it.
    pub fn compute(&mut self, op: Op, left: u64, right: u64) -> Option<u64> {
        let value = op.apply(left, right)?;
        self.solution.push(Computation {
            op,
            left,
            right,
            value,
        });
        Some(value)
    }

    /// Number of statement sentences (a distractor goes before one of them,
    /// or after the last).
    pub fn statement_count(&self) -> usize {
        self.statements.len()
    }

    /// Number of numbers stated so far, distractor included.
    pub fn given_count(&self) -> usize {
        let question = self
            .question
            .iter()
            .map(|q| q.quantities.len())
            .sum::<usize>();
        let distractor = self
            .distractor
            .iter()
            .map(|(_, d)| d.quantities.len())
            .sum::<usize>();
        self.statements
            .iter()
            .map(|s| s.quantities.len())
            .sum::<usize>()
            + question
            + distractor
    }

    /// Inserts an irrelevant sentence stating one number before statement
    /// `position` (or after the last statement when `position` equals
    /// [`Draft::statement_count`]), replacing any earlier distractor.
    pub fn distract(&mut self, position: usize, text: String, value: u64, label: &str) {
        let position = position.min(self.statements.len());
        self.distractor = Some((position, Sentence::new(text, &[(value, label)])));
    }

    /// Identity of the arithmetic: template, core numbers (in any order, so
    /// rewording does not change it) and operations.
    pub fn key(&self, template: &str) -> u64 {
        let core = self.statements.iter().chain(&self.question);
        let mut values: Vec<u64> = core
            .flat_map(|s| s.quantities.iter().map(|q| q.value))
            .collect();
        values.sort_unstable();
        let mut words = vec![name_hash(template)];
        words.extend(values);
        words.push(u64::MAX);
        words.extend(self.solution.iter().map(|c| c.op as u64));
        hash_words(&words)
    }

    /// Checks the draft and assembles the problem; `None` when it breaks a
    /// rule of [`Problem`] (a core number unused or used twice, a repeated
    /// value, ...), states more than [`MAX_GIVENS`] numbers or has no
    /// question.
    pub fn finish(&self, template: &'static str) -> Option<Problem> {
        let question = self.question.as_ref()?;
        let mut sentences: Vec<&Sentence> = self.statements.iter().collect();
        if let Some((position, distractor)) = &self.distractor {
            sentences.insert(*position, distractor);
        }
        sentences.push(question);
        let givens: Vec<Quantity> = sentences
            .iter()
            .flat_map(|s| s.quantities.iter().cloned())
            .collect();
        let text = sentences
            .iter()
            .map(|s| s.text.as_str())
            .collect::<Vec<_>>()
            .join(" ");
        let problem = Problem {
            template,
            text,
            givens,
            solution: self.solution.clone(),
            key: self.key(template),
        };
        let core_used = self
            .statements
            .iter()
            .chain([question])
            .flat_map(|s| &s.quantities)
            .all(|q| {
                problem
                    .solution
                    .iter()
                    .any(|c| c.left == q.value || c.right == q.value)
            });
        (core_used && is_well_formed(&problem)).then_some(problem)
    }
}

/// Whether a problem keeps the invariants documented on [`Problem`].
fn is_well_formed(problem: &Problem) -> bool {
    let givens: Vec<u64> = problem.givens.iter().map(|q| q.value).collect();
    if problem.solution.is_empty() || givens.is_empty() || givens.len() > MAX_GIVENS {
        return false;
    }
    let distinct_givens = givens
        .iter()
        .enumerate()
        .all(|(i, v)| *v > 1 && *v <= MAX_VALUE && !givens[..i].contains(v));
    let mut seen = givens.clone();
    let mut available = givens;
    for step in &problem.solution {
        for operand in [step.left, step.right] {
            match available.iter().position(|&v| v == operand) {
                Some(i) => available.swap_remove(i),
                None => return false,
            };
        }
        if seen.contains(&step.value) || step.value < 2 {
            return false;
        }
        seen.push(step.value);
        available.push(step.value);
    }
    let intermediates = &problem.solution[..problem.solution.len() - 1];
    let all_consumed = intermediates.iter().all(|c| !available.contains(&c.value));
    distinct_givens && all_consumed
}

/// A stable 64-bit hash of a name (FNV-1a).
pub fn name_hash(name: &str) -> u64 {
    name.bytes().fold(0xCBF2_9CE4_8422_2325, |acc, byte| {
        (acc ^ u64::from(byte)).wrapping_mul(0x0100_0000_01B3)
    })
}

/// Problems shared by the crate's unit tests.
#[cfg(test)]
pub(crate) mod fixtures {
    use super::{Draft, Op, Problem};

    /// "Ann has 20 dollars and buys 4 pens at 3 dollars each": 20 - 4 * 3 = 8,
    /// before `finish`.
    pub(crate) fn shopping() -> Draft {
        let mut draft = Draft::new();
        draft.state("Ann has 20 dollars.".into(), &[(20, "dollars")]);
        draft.state(
            "She buys 4 pens at 3 dollars each.".into(),
            &[(4, "pens"), (3, "dollars each")],
        );
        draft.ask("How many dollars are left?".into(), &[]);
        let cost = draft.compute(Op::Multiply, 4, 3).unwrap();
        draft.compute(Op::Subtract, 20, cost).unwrap();
        draft
    }

    /// [`shopping`], finished.
    pub(crate) fn shopping_problem() -> Problem {
        shopping().finish("shopping").unwrap()
    }
}

#[cfg(test)]
mod tests {
    use super::fixtures::shopping;
    use super::*;

    #[test]
    fn commutative_computations_match_with_swapped_operands() {
        let sum = Computation {
            op: Op::Add,
            left: 3,
            right: 4,
            value: 7,
        };
        let swapped = Computation {
            left: 4,
            right: 3,
            ..sum
        };
        assert!(sum.same_as(&swapped));
        let difference = Computation {
            op: Op::Subtract,
            left: 9,
            right: 2,
            value: 7,
        };
        assert!(!difference.same_as(&Computation {
            left: 2,
            right: 9,
            ..difference
        }));
        assert!(!sum.same_as(&difference));
    }

    #[test]
    fn calculator_refuses_what_is_not_a_positive_integer() {
        assert_eq!(Op::Add.apply(3, 4), Some(7));
        assert_eq!(Op::Subtract.apply(9, 4), Some(5));
        assert_eq!(Op::Subtract.apply(4, 4), None);
        assert_eq!(Op::Subtract.apply(4, 9), None);
        assert_eq!(Op::Multiply.apply(6, 7), Some(42));
        assert_eq!(Op::Multiply.apply(1, 7), None);
        assert_eq!(Op::Divide.apply(42, 6), Some(7));
        assert_eq!(Op::Divide.apply(43, 6), None);
        assert_eq!(Op::Divide.apply(42, 1), None);
        assert_eq!(Op::Multiply.apply(MAX_VALUE, 2), None);
        assert_eq!(Op::Add.apply(MAX_VALUE, 1), None);
    }

    #[test]
    fn finish_assembles_text_givens_and_answer() {
        let problem = shopping().finish("shopping").unwrap();
        assert_eq!(
            problem.text,
            "Ann has 20 dollars. She buys 4 pens at 3 dollars each. How many dollars are left?"
        );
        let values: Vec<u64> = problem.givens.iter().map(|q| q.value).collect();
        assert_eq!(values, [20, 4, 3]);
        assert_eq!(problem.answer(), 8);
        assert_eq!(problem.solution[0].render(), "4 * 3 = 12");
    }

    #[test]
    fn distractor_keeps_the_key_and_lands_in_place() {
        let plain = shopping();
        let mut distracted = shopping();
        distracted.distract(1, "It is 31 degrees outside.".into(), 31, "degrees");
        assert_eq!(plain.key("shopping"), distracted.key("shopping"));
        assert_ne!(plain.key("shopping"), plain.key("other"));
        let problem = distracted.finish("shopping").unwrap();
        let values: Vec<u64> = problem.givens.iter().map(|q| q.value).collect();
        assert_eq!(values, [20, 31, 4, 3]);
        assert!(
            problem
                .text
                .contains("dollars. It is 31 degrees outside. She")
        );
    }

    #[test]
    fn finish_rejects_broken_drafts() {
        let mut repeated = shopping();
        repeated.distract(0, "Bo is 12 years old.".into(), 12, "years old");
        assert!(
            repeated.finish("t").is_none(),
            "distractor equals an intermediate"
        );

        let mut unused = Draft::new();
        unused.state(
            "A 5 and a 6 and a 7.".into(),
            &[(5, "a"), (6, "b"), (7, "c")],
        );
        unused.ask("?".into(), &[]);
        unused.compute(Op::Add, 5, 6);
        assert!(unused.finish("t").is_none(), "7 is never used");

        let mut unknown = Draft::new();
        unknown.state("A 5 and a 6.".into(), &[(5, "a"), (6, "b")]);
        unknown.ask("?".into(), &[]);
        unknown.compute(Op::Add, 5, 6);
        unknown.compute(Op::Add, 11, 9);
        assert!(unknown.finish("t").is_none(), "9 is not stated");

        let mut reused = Draft::new();
        reused.state("A 5 and a 6.".into(), &[(5, "a"), (6, "b")]);
        reused.ask("?".into(), &[]);
        reused.compute(Op::Add, 5, 6);
        reused.compute(Op::Add, 11, 5);
        assert!(reused.finish("t").is_none(), "5 is used twice");

        let mut dangling = Draft::new();
        let four = [(5, "a"), (6, "b"), (7, "c"), (8, "d")];
        dangling.state("A 5, a 6, a 7 and an 8.".into(), &four);
        dangling.ask("?".into(), &[]);
        dangling.compute(Op::Add, 5, 6);
        dangling.compute(Op::Multiply, 7, 8);
        assert!(dangling.finish("t").is_none(), "11 is never used");

        let mut unasked = Draft::new();
        unasked.state("A 5 and a 6.".into(), &[(5, "a"), (6, "b")]);
        unasked.compute(Op::Add, 5, 6);
        assert!(unasked.finish("t").is_none(), "no question");
    }
}
