//! Plain-Rust mirror of the `text-primitives` interface (`wit/v0.3.0/text.wit`):
//! primitives of language-model samples for Meta-Rewards that train language
//! models. The WIT documentation is the contract.

use crate::PrimitiveSpec;

/// One sample (WIT `text-sample`): a prompt, the model's completion and the
/// reference answer (empty when the dataset has none).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TextSample {
    /// The prompt the model was given.
    pub prompt: String,
    /// What the model wrote.
    pub completion: String,
    /// The reference answer.
    pub reference: String,
}

impl TextSample {
    /// A sample from borrowed text.
    pub fn new(prompt: &str, completion: &str, reference: &str) -> TextSample {
        TextSample {
            prompt: prompt.to_owned(),
            completion: completion.to_owned(),
            reference: reference.to_owned(),
        }
    }

    /// Bytes of text the sample carries.
    pub fn byte_len(&self) -> usize {
        self.prompt.len() + self.completion.len() + self.reference.len()
    }
}

/// What an extractor declares (WIT `extractor-info`).
#[derive(Clone, Debug, PartialEq)]
pub struct ExtractorInfo {
    /// Short unique name (`math`).
    pub name: String,
    /// Semantic version.
    pub version: String,
    /// What the primitives measure.
    pub description: String,
    /// The primitives of each sample, in order: `g1` is the first.
    pub primitives: Vec<PrimitiveSpec>,
}

/// A text-primitives extractor: the logic behind a `text-primitives-plugin`
/// component. Values must be a pure function of the settings and the sample.
pub trait TextPrimitives {
    /// A fresh extractor with default settings.
    fn new() -> Self
    where
        Self: Sized;

    /// Applies key/value settings; the default accepts none.
    fn configure(&mut self, settings: &[(String, String)]) -> Result<(), String> {
        match settings.first() {
            None => Ok(()),
            Some((key, _)) => Err(format!("this extractor has no setting `{key}`")),
        }
    }

    /// Describes the extractor.
    fn info(&self) -> ExtractorInfo;

    /// The primitive values of one sample, in declaration order.
    fn extract_one(&self, sample: &TextSample) -> Result<Vec<f64>, String>;

    /// The primitive values of every sample, row-major. The default calls
    /// [`TextPrimitives::extract_one`] per sample and names the sample of an
    /// error.
    fn extract(&self, samples: &[TextSample]) -> Result<Vec<f64>, String> {
        let mut values = Vec::with_capacity(samples.len() * self.info().primitives.len());
        for (index, sample) in samples.iter().enumerate() {
            let row = self
                .extract_one(sample)
                .map_err(|e| format!("sample {index}: {e}"))?;
            values.extend(row);
        }
        Ok(values)
    }
}
