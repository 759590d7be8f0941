//! The DERL reference's four math primitives over language-model samples
//! (its `verl/utils/reward_score/meta_reward_grpo.py`), as plain Rust that the
//! `math-extractor` component exports through the SDK:
//!
//! | primitive | 1 when | the reference |
//! |---|---|---|
//! | `outcome` | the completion's final answer equals the reference's after numeric normalisation | `g1_outcome_reward`: exact string equality |
//! | `format` | the completion has a `\boxed{` answer | `g2_format_reward` |
//! | `reasoning` | at least `min_steps` numbered items or step markers | `g3_cot_reward` (two) |
//! | `loose_outcome` | the reference's final answer appears in the completion | `g4_loose_outcome_reward` |
//!
//! Values are 0 or 1. The reference adds 1e-6 to each (so that its Python
//! `eval` of a Meta-Reward never divides by zero); derl's programs define
//! `x / 0 = 0`, so the offset is left out. Where the reference's empty-text
//! rules differ (it counts an empty completion as matching an empty reference),
//! a sample without a reference answer scores 0 on both outcome primitives.

mod answer;
mod normalize;
mod structure;

pub use answer::{boxed_answer, final_answer};
pub use normalize::{answers_match, clean, number};
pub use structure::step_marks;

use derl_env_api::{ExtractorInfo, PrimitiveSpec, TextPrimitives, TextSample};

/// Names of the four primitives, in order (`g1` to `g4`).
pub const PRIMITIVE_NAMES: [&str; 4] = ["outcome", "format", "reasoning", "loose_outcome"];

/// The math extractor and its settings.
#[derive(Clone, Debug, PartialEq)]
pub struct MathExtractor {
    /// Numbered items or step markers that make `reasoning` 1 (setting
    /// `min_steps`, 1 to 100, default 2 as in the reference).
    pub min_steps: usize,
    /// Relative tolerance of numeric equality (setting `tolerance`, 0 to
    /// 0.1, default 1e-9): `|a - b| <= tolerance * max(1, |a|, |b|)`.
    pub tolerance: f64,
}

impl Default for MathExtractor {
    fn default() -> Self {
        MathExtractor {
            min_steps: 2,
            tolerance: 1e-9,
        }
    }
}

impl MathExtractor {
    /// The four primitive values of one sample.
    pub fn primitives(&self, sample: &TextSample) -> [f64; 4] {
        let completion = sample.completion.as_str();
        let reference = final_answer(&sample.reference);
        let has_reference = !reference.trim().is_empty();
        let outcome =
            has_reference && answers_match(final_answer(completion), reference, self.tolerance);
        let format = completion.contains("\\boxed{");
        let (items, steps) = step_marks(completion, self.min_steps);
        let reasoning = items >= self.min_steps || steps >= self.min_steps;
        let loose = has_reference && completion.contains(reference);
        [outcome, format, reasoning, loose].map(|hit| if hit { 1.0 } else { 0.0 })
    }
}

impl TextPrimitives for MathExtractor {
    fn new() -> Self {
        MathExtractor::default()
    }

    fn configure(&mut self, settings: &[(String, String)]) -> Result<(), String> {
        for (key, value) in settings {
            match key.as_str() {
                "min_steps" => match value.trim().parse::<usize>() {
                    Ok(n) if (1..=100).contains(&n) => self.min_steps = n,
                    _ => {
                        return Err(format!(
                            "`min_steps` = `{value}` is not a whole number from 1 to 100"
                        ));
                    }
                },
                "tolerance" => match value.trim().parse::<f64>() {
                    Ok(t) if (0.0..=0.1).contains(&t) => self.tolerance = t,
                    _ => {
                        return Err(format!(
                            "`tolerance` = `{value}` is not a number from 0 to 0.1"
                        ));
                    }
                },
                other => {
                    return Err(format!(
                        "the math extractor has no setting `{other}` (it has `min_steps` and `tolerance`)"
                    ));
                }
            }
        }
        Ok(())
    }

    fn info(&self) -> ExtractorInfo {
        let spec = |name: &str, description: &str| PrimitiveSpec::new(name, description, 0.0, 1.0);
        ExtractorInfo {
            name: "math".into(),
            version: "1.0.0".into(),
            description: "The DERL reference's math primitives: final answer correct, boxed format, step-by-step structure, reference answer present anywhere".into(),
            primitives: vec![
                spec(PRIMITIVE_NAMES[0], "1 when the final answer (#### N, else the last \\boxed{}, else the whole text) equals the reference's after numeric normalisation"),
                spec(PRIMITIVE_NAMES[1], "1 when the completion contains a \\boxed{ answer"),
                spec(PRIMITIVE_NAMES[2], "1 when the completion has at least min_steps numbered items (1. 2. ...) or step markers (Step 1, step 2 ...)"),
                spec(PRIMITIVE_NAMES[3], "1 when the reference's final answer appears anywhere in the completion"),
            ],
        }
    }

    fn extract_one(&self, sample: &TextSample) -> Result<Vec<f64>, String> {
        Ok(self.primitives(sample).to_vec())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn values(completion: &str, reference: &str) -> [f64; 4] {
        MathExtractor::default().primitives(&TextSample::new("", completion, reference))
    }

    #[test]
    fn a_correct_boxed_stepwise_answer_scores_every_primitive() {
        let completion =
            "Step 1: 3 apples plus 4 apples.\nStep 2: that is 7.\nSo the answer is \\boxed{7}.";
        assert_eq!(values(completion, "7"), [1.0, 1.0, 1.0, 1.0]);
    }

    #[test]
    fn a_wrong_final_answer_that_mentions_the_reference_is_only_loose() {
        let completion = "7 is tempting, but \\boxed{8}";
        assert_eq!(values(completion, "7"), [0.0, 1.0, 0.0, 1.0]);
    }

    #[test]
    fn references_in_gsm8k_form_are_read_as_their_answer() {
        let reference = "Natalia sold 48/2 = 24 clips in May.\n#### 72";
        assert_eq!(
            values("1. 48 + 24\n2. = 72\n#### 72", reference),
            [1.0, 0.0, 1.0, 1.0]
        );
        assert_eq!(values("The answer is \\boxed{72.0}", reference)[0], 1.0);
    }

    #[test]
    fn a_plain_completion_is_its_own_answer() {
        assert_eq!(values(" 1,000 ", "1000"), [1.0, 0.0, 0.0, 0.0]);
    }

    #[test]
    fn without_a_reference_the_outcome_primitives_are_zero() {
        assert_eq!(values("\\boxed{7}", ""), [0.0, 1.0, 0.0, 0.0]);
        assert_eq!(values("", ""), [0.0, 0.0, 0.0, 0.0]);
    }

    #[test]
    fn settings_are_checked_and_named() {
        let mut math = MathExtractor::default();
        math.configure(&[("min_steps".into(), "3".into())]).unwrap();
        assert_eq!(
            math.primitives(&TextSample::new("", "1. a 2. b", "x"))[2],
            0.0
        );
        let err = math
            .configure(&[("min_steps".into(), "0".into())])
            .unwrap_err();
        assert!(err.contains("min_steps"), "{err}");
        let err = math
            .configure(&[("tolerance".into(), "NaN".into())])
            .unwrap_err();
        assert!(err.contains("tolerance"), "{err}");
        let err = math
            .configure(&[("strict".into(), "1".into())])
            .unwrap_err();
        assert!(err.contains("`strict`"), "{err}");
    }

    #[test]
    fn the_declaration_matches_the_values() {
        let info = MathExtractor::default().info();
        let names: Vec<&str> = info.primitives.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(names, PRIMITIVE_NAMES);
        let rows = MathExtractor::default()
            .extract(&[
                TextSample::new("", "\\boxed{1}", "1"),
                TextSample::default(),
            ])
            .unwrap();
        assert_eq!(rows.len(), 8);
    }

    #[test]
    fn hostile_text_is_scored_in_one_pass() {
        let megabyte = "step ".repeat(200_000) + "\\boxed{" + &"{".repeat(100_000);
        let v = values(&megabyte, "3");
        assert_eq!(v, [0.0, 1.0, 0.0, 0.0]);
    }
}
