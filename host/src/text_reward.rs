//! Meta-Rewards over text: a reward program (a Meta-Reward in the reward
//! language, or a reward component such as a Python reward) composing the
//! primitives of a text-primitives extractor, both sandboxed. This is what the
//! Python package's `derl.MetaReward` and `derl.PythonReward` call.
//!
//! Two ways to fail, chosen by the caller: [`TextReward::score`] fails the
//! whole batch on the first error; [`TextReward::score_each`] gives every
//! sample its own result, so that one hostile completion costs one sample
//! and the error says which.

use crate::plugin::text::per_sample;
use crate::plugin::{RewardProgram, TextExtractor};
use derl_env_api::TextSample;
use derl_sandbox::{PluginError, PluginErrorKind};

/// One sample's primitives and score, or why it has none.
#[derive(Clone, Debug)]
pub struct SampleScore {
    /// The extractor's values (empty when extraction failed).
    pub primitives: Vec<f64>,
    /// The Meta-Reward's score, or the failure of the extractor or the
    /// program for this sample.
    pub score: Result<f64, PluginError>,
}

/// A reward program over an extractor's primitives.
#[derive(Clone)]
pub struct TextReward {
    extractor: TextExtractor,
    program: RewardProgram,
}

impl TextReward {
    /// Composes `program` over `extractor`'s primitives.
    ///
    /// # Errors
    /// `InvalidOutput` when the program reads more primitives than the
    /// extractor declares.
    pub fn new(
        extractor: TextExtractor,
        program: RewardProgram,
    ) -> Result<TextReward, PluginError> {
        let reads = program.info().min_stride as usize;
        if reads > extractor.stride() {
            return Err(PluginError::new(
                format!("reward {}", program.digest().short()),
                PluginErrorKind::InvalidOutput(format!(
                    "the program reads {reads} primitives but extractor `{}` declares {} ({})",
                    extractor.info().name,
                    extractor.stride(),
                    extractor.names().join(", ")
                )),
            ));
        }
        Ok(TextReward { extractor, program })
    }

    /// The extractor.
    pub fn extractor(&self) -> &TextExtractor {
        &self.extractor
    }

    /// The reward program.
    pub fn program(&self) -> &RewardProgram {
        &self.program
    }

    /// One score per sample, all or nothing.
    ///
    /// # Errors
    /// The first failure of the extractor (see [`TextExtractor::extract`])
    /// or of the program (see [`RewardProgram::score`]).
    pub fn score(&self, samples: &[TextSample]) -> Result<Vec<f64>, PluginError> {
        let values = self.extractor.extract(samples)?;
        self.program.score(self.extractor.stride(), &values)
    }

    /// One result per sample: extraction retried sample by sample where a
    /// call fails, then every extracted sample scored in one call (retried
    /// one by one if that call fails); see [`per_sample`] for
    /// `failures_in_a_row`, the bound on retries.
    ///
    /// # Errors
    /// Only a batch beyond the extractor's `batch_samples` budget.
    pub fn score_each(
        &self,
        samples: &[TextSample],
        failures_in_a_row: usize,
    ) -> Result<Vec<SampleScore>, PluginError> {
        let stride = self.extractor.stride();
        let extracted = self.extractor.extract_each(samples, failures_in_a_row)?;
        let ok_rows: Vec<&[f64]> = extracted
            .iter()
            .filter_map(|r| r.as_ref().ok().map(Vec::as_slice))
            .collect();
        let whole = self.program.score(stride, &ok_rows.concat());
        let mut scores = per_sample(0..ok_rows.len(), whole, failures_in_a_row, |at| {
            self.program.score(stride, ok_rows[at]).map(|s| s[0])
        })
        .into_iter();
        Ok(extracted
            .into_iter()
            .map(|result| match result {
                Ok(primitives) => SampleScore {
                    primitives,
                    score: scores.next().expect("one score per extracted sample"),
                },
                Err(error) => SampleScore {
                    primitives: Vec::new(),
                    score: Err(error),
                },
            })
            .collect())
    }
}
