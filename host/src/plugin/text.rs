//! `TextExtractor`: a text-primitives component (`derl:plugin/text-primitives`,
//! new in 0.3.0) loaded into the sandbox, computing the primitives of
//! language-model samples.
//!
//! Every call runs in a fresh instance (configured with the extractor's
//! settings first), so values are a pure function of the settings and the
//! batch, and a failure never leaks into the next call. Batches larger than
//! [`TextBudgets::call_bytes`] or [`TextBudgets::call_samples`] are split
//! into several calls, so the guest's memory holds one bounded chunk at a
//! time.

use super::accept::HostBudgets;
use super::environment::interface_problem;
use super::versions::latest::text::TextPrimitivesPlugin as Bindings;
use super::versions::latest::text::TextPrimitivesPluginPre as BindingsPre;
use super::versions::latest::text::exports::derl::plugin::text_primitives as wit;
use derl_env_api::contract::TEXT_PRIMITIVES_INTERFACE;
use derl_env_api::{ExtractorInfo, PrimitiveSpec, TextSample};
use derl_sandbox::{
    CompiledComponent, Digest, Grants, Instance, Limits, PluginError, PluginErrorKind, Sandbox,
};
use serde::{Deserialize, Serialize};
use std::ops::Range;
use std::sync::Arc;

/// The most text the host hands an extractor. The defaults take megabyte
/// completions and batches of thousands; larger input is refused with
/// `OverBudget` before any guest code runs.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TextBudgets {
    /// Bytes of one sample (prompt, completion and reference together).
    /// Default 4 MiB.
    pub sample_bytes: usize,
    /// Bytes of text in one call; larger batches are split. Default 8 MiB.
    pub call_bytes: usize,
    /// Samples in one call; larger batches are split. Default 4096.
    pub call_samples: usize,
    /// Samples in one batch, all calls together. Default 1,048,576.
    pub batch_samples: usize,
}

impl Default for TextBudgets {
    fn default() -> Self {
        TextBudgets {
            sample_bytes: 4 << 20,
            call_bytes: 8 << 20,
            call_samples: 4096,
            batch_samples: 1 << 20,
        }
    }
}

/// A text-primitives component, compiled, configured once to check its
/// settings, and checked.
#[derive(Clone)]
pub struct TextExtractor {
    sandbox: Sandbox,
    component: Arc<CompiledComponent>,
    settings: Vec<(String, String)>,
    limits: Limits,
    budgets: TextBudgets,
    info: ExtractorInfo,
    label: String,
}

impl TextExtractor {
    /// Compiles `bytes`, checks that it implements the text-primitives world,
    /// applies `settings` in a first instance and reads its info.
    ///
    /// # Errors
    /// `NotAComponent`, `UnsupportedImport`, `InterfaceMismatch` for a
    /// component that is not an extractor, `Guest` for rejected settings,
    /// `InvalidOutput` or `OverBudget` for an info that breaks the contract,
    /// or any failure of the guest's code.
    pub fn load(
        sandbox: &Sandbox,
        bytes: &[u8],
        settings: &[(String, String)],
        limits: Limits,
        budgets: TextBudgets,
    ) -> Result<TextExtractor, PluginError> {
        let component = sandbox.load(bytes)?;
        Self::from_component(sandbox, component, settings, limits, budgets)
    }

    /// Like [`TextExtractor::load`] for an already compiled component.
    ///
    /// # Errors
    /// As [`TextExtractor::load`].
    pub fn from_component(
        sandbox: &Sandbox,
        component: Arc<CompiledComponent>,
        settings: &[(String, String)],
        limits: Limits,
        budgets: TextBudgets,
    ) -> Result<TextExtractor, PluginError> {
        let label = format!("extractor {}", component.digest().short());
        let exports = component.exports(sandbox);
        if !exports.iter().any(|e| e == TEXT_PRIMITIVES_INTERFACE) {
            return Err(PluginError::new(
                &label,
                PluginErrorKind::InterfaceMismatch(format!(
                    "the component does not export `{TEXT_PRIMITIVES_INTERFACE}` (it exports [{}])",
                    exports.join(", ")
                )),
            ));
        }
        BindingsPre::new(component.instance_pre().clone()).map_err(|e| {
            PluginError::new(
                &label,
                PluginErrorKind::InterfaceMismatch(interface_problem(
                    &e,
                    TEXT_PRIMITIVES_INTERFACE,
                )),
            )
        })?;
        let mut extractor = TextExtractor {
            sandbox: sandbox.clone(),
            component,
            settings: settings.to_vec(),
            limits,
            budgets,
            info: ExtractorInfo {
                name: label.clone(),
                version: String::new(),
                description: String::new(),
                primitives: vec![],
            },
            label,
        };
        let mut instance = extractor.configured_instance()?;
        let info = instance.call(|b, s| b.derl_plugin_text_primitives().call_info(s))?;
        let info = ExtractorInfo {
            name: info.name,
            version: info.version,
            description: info.description,
            primitives: info
                .primitives
                .into_iter()
                .map(|p| PrimitiveSpec {
                    name: p.name,
                    description: p.description,
                    min: p.min,
                    max: p.max,
                })
                .collect(),
        };
        HostBudgets::default()
            .check_extractor_info(&info)
            .map_err(|kind| instance.error(kind))?;
        extractor.label = format!("extractor {}", info.name);
        extractor.info = info;
        Ok(extractor)
    }

    /// A fresh instance with the settings applied.
    fn configured_instance(&self) -> Result<Instance<Bindings>, PluginError> {
        let mut instance = self.sandbox.instantiate(
            &self.component,
            &self.label,
            &self.limits,
            0,
            &Grants::default(),
            |store, pre| {
                super::instantiate_typed(store, pre, TEXT_PRIMITIVES_INTERFACE, |s, i| {
                    Bindings::new(s, i)
                })
            },
        )?;
        if !self.settings.is_empty() {
            instance
                .call(|b, s| {
                    b.derl_plugin_text_primitives()
                        .call_configure(s, &self.settings)
                })?
                .map_err(|m| instance.error(PluginErrorKind::Guest(format!("settings: {m}"))))?;
        }
        Ok(instance)
    }

    /// What the extractor declared.
    pub fn info(&self) -> &ExtractorInfo {
        &self.info
    }

    /// The primitive names, in order (`g1` first).
    pub fn names(&self) -> Vec<&str> {
        self.info
            .primitives
            .iter()
            .map(|p| p.name.as_str())
            .collect()
    }

    /// Values per sample (the number of primitives).
    pub fn stride(&self) -> usize {
        self.info.primitives.len()
    }

    /// sha256 of the component.
    pub fn digest(&self) -> Digest {
        self.component.digest()
    }

    /// The settings every call starts with.
    pub fn settings(&self) -> &[(String, String)] {
        &self.settings
    }

    /// The primitives of every sample, row-major (`samples.len() *
    /// stride()` values), in as few calls as the budgets allow.
    ///
    /// # Errors
    /// `OverBudget` for a sample or a batch beyond [`TextBudgets`] (before
    /// any call); `Guest` for the extractor's own error; `InvalidOutput` for
    /// the wrong number of values, a NaN or a value outside its declared
    /// range (naming the sample and the primitive); any typed failure of the
    /// guest (fuel, deadline, memory, trap...). An error in a later call of
    /// a split batch names the samples of that call.
    pub fn extract(&self, samples: &[TextSample]) -> Result<Vec<f64>, PluginError> {
        self.check_batch_size(samples.len())?;
        let chunks = call_ranges(&self.budgets, samples);
        let split = chunks.len() > 1;
        let mut values = Vec::with_capacity(samples.len() * self.stride());
        for range in chunks {
            let chunk = self
                .extract_call(&samples[range.clone()], range.start)
                .map_err(|e| if split { in_samples(e, &range) } else { e })?;
            values.extend(chunk);
        }
        Ok(values)
    }

    /// Like [`TextExtractor::extract`], one result per sample: a call that
    /// fails is retried one sample at a time (see [`per_sample`], which
    /// stops after `failures_in_a_row` retries fail in a row), so each
    /// failure belongs to the sample that caused it and every other sample
    /// keeps its values.
    ///
    /// # Errors
    /// Only a batch beyond [`TextBudgets::batch_samples`] fails as a whole.
    pub fn extract_each(
        &self,
        samples: &[TextSample],
        failures_in_a_row: usize,
    ) -> Result<Vec<Result<Vec<f64>, PluginError>>, PluginError> {
        self.check_batch_size(samples.len())?;
        let mut results = Vec::with_capacity(samples.len());
        for range in call_ranges(&self.budgets, samples) {
            let whole = self
                .extract_call(&samples[range.clone()], range.start)
                .map(|values| values.chunks(self.stride()).map(<[f64]>::to_vec).collect());
            let solo = |at: usize| {
                self.extract_call(std::slice::from_ref(&samples[at]), at)
                    .map(|mut rows| {
                        rows.truncate(self.stride());
                        rows
                    })
            };
            results.extend(per_sample(range.clone(), whole, failures_in_a_row, solo));
        }
        Ok(results)
    }

    /// One sandboxed call for `samples`, the first of which is sample
    /// `first` of the caller's batch; values checked.
    fn extract_call(&self, samples: &[TextSample], first: usize) -> Result<Vec<f64>, PluginError> {
        if let Some((at, sample)) = samples
            .iter()
            .enumerate()
            .find(|(_, s)| s.byte_len() > self.budgets.sample_bytes)
        {
            return Err(PluginError::new(
                &self.label,
                PluginErrorKind::OverBudget {
                    what: format!("bytes of text in sample {}", first + at),
                    limit: self.budgets.sample_bytes as u64,
                    actual: sample.byte_len() as u64,
                },
            ));
        }
        let batch: Vec<wit::TextSample> = samples
            .iter()
            .map(|s| wit::TextSample {
                prompt: s.prompt.clone(),
                completion: s.completion.clone(),
                reference: s.reference.clone(),
            })
            .collect();
        let mut instance = self.configured_instance()?;
        let values = instance
            .call(|b, s| b.derl_plugin_text_primitives().call_extract(s, &batch))?
            .map_err(|m| instance.error(PluginErrorKind::Guest(m)))?;
        self.check_values(&values, samples.len(), first)
            .map_err(|kind| instance.error(kind))?;
        Ok(values)
    }

    fn check_values(
        &self,
        values: &[f64],
        samples: usize,
        first: usize,
    ) -> Result<(), PluginErrorKind> {
        let stride = self.stride();
        if values.len() != samples * stride {
            return Err(PluginErrorKind::InvalidOutput(format!(
                "{} values returned for {samples} samples of {stride} primitives (expected {})",
                values.len(),
                samples * stride
            )));
        }
        for (at, value) in values.iter().enumerate() {
            let spec = &self.info.primitives[at % stride];
            if !(value.is_finite() && spec.min <= *value && *value <= spec.max) {
                return Err(PluginErrorKind::InvalidOutput(format!(
                    "sample {}: primitive `{}` is {value}, outside its declared range [{}, {}]",
                    first + at / stride,
                    spec.name,
                    spec.min,
                    spec.max
                )));
            }
        }
        Ok(())
    }

    fn check_batch_size(&self, samples: usize) -> Result<(), PluginError> {
        if samples > self.budgets.batch_samples {
            return Err(PluginError::new(
                &self.label,
                PluginErrorKind::OverBudget {
                    what: "samples in one batch".into(),
                    limit: self.budgets.batch_samples as u64,
                    actual: samples as u64,
                },
            ));
        }
        Ok(())
    }
}

/// `samples` split into consecutive calls of at most `call_samples` samples
/// and, unless one sample alone is larger, `call_bytes` bytes (an empty batch
/// is one empty call).
fn call_ranges(budgets: &TextBudgets, samples: &[TextSample]) -> Vec<Range<usize>> {
    let mut ranges = Vec::new();
    let (mut start, mut bytes) = (0, 0usize);
    for (at, sample) in samples.iter().enumerate() {
        let len = sample.byte_len();
        let full = at - start >= budgets.call_samples.max(1)
            || (at > start && bytes + len > budgets.call_bytes);
        if full {
            ranges.push(start..at);
            (start, bytes) = (at, 0);
        }
        bytes += len;
    }
    if start < samples.len() || samples.is_empty() {
        ranges.push(start..samples.len());
    }
    ranges
}

/// The usual bound on samples retried alone after a call fails, when each of
/// them fails again: a reward that fails on every sample (an endless loop
/// that runs to its deadline, say) costs this many extra calls per failed
/// call, not one per sample. A caller that stops at the first failure
/// (raising it) passes 1.
pub const MAX_SOLO_RETRIES: usize = 8;

/// One result per sample of `range` from the call's result `whole`: its
/// values when it succeeded; the call's own failure when it held one sample;
/// otherwise each sample retried alone with `solo(index)`, until
/// `failures_in_a_row` (at least 1) retries in a row have failed, after
/// which the remaining samples get the last failure, marked as not retried
/// (deterministic: it depends on the results, not on time).
pub fn per_sample<T>(
    range: Range<usize>,
    whole: Result<Vec<T>, PluginError>,
    failures_in_a_row: usize,
    mut solo: impl FnMut(usize) -> Result<T, PluginError>,
) -> Vec<Result<T, PluginError>> {
    match whole {
        Ok(values) => return values.into_iter().map(Ok).collect(),
        Err(error) if range.len() == 1 => return vec![Err(error)],
        Err(_) => {}
    }
    let limit = failures_in_a_row.max(1);
    let mut results = Vec::with_capacity(range.len());
    let mut failed = 0;
    let end = range.end;
    for at in range {
        if failed >= limit {
            let Some(Err(last)) = results.last() else {
                unreachable!("a failure in a row is an error")
            };
            let last = not_retried(last);
            results.extend((at..end).map(|_| Err(last.clone())));
            break;
        }
        let result = solo(at);
        failed = if result.is_err() { failed + 1 } else { 0 };
        results.push(result);
    }
    results
}

fn not_retried(error: &PluginError) -> PluginError {
    let mut error = error.clone();
    if !error.plugin.ends_with(NOT_RETRIED) {
        error.plugin.push_str(NOT_RETRIED);
    }
    error
}

const NOT_RETRIED: &str = " (not retried alone: the samples before it all failed the same way)";

/// `error` with the samples of the call it came from.
fn in_samples(mut error: PluginError, range: &Range<usize>) -> PluginError {
    error.plugin = format!(
        "{} (call for samples {}..{})",
        error.plugin, range.start, range.end
    );
    error
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(bytes: usize) -> TextSample {
        TextSample::new("", &"x".repeat(bytes), "")
    }

    fn split(call_bytes: usize, call_samples: usize, samples: &[TextSample]) -> Vec<Range<usize>> {
        let budgets = TextBudgets {
            call_bytes,
            call_samples,
            ..TextBudgets::default()
        };
        call_ranges(&budgets, samples)
    }

    fn failure(n: usize) -> PluginError {
        PluginError::new("test", PluginErrorKind::Guest(format!("sample {n}")))
    }

    #[test]
    fn a_failed_call_is_retried_sample_by_sample() {
        let results = per_sample(10..14, Err(failure(99)), MAX_SOLO_RETRIES, |at| {
            if at == 11 { Err(failure(at)) } else { Ok(at) }
        });
        assert_eq!(results, vec![Ok(10), Err(failure(11)), Ok(12), Ok(13)]);
        let whole = per_sample(0..2, Ok(vec![7, 8]), 8, |_| {
            panic!("no retry after success")
        });
        assert_eq!(whole, vec![Ok(7), Ok(8)]);
        let alone = per_sample(5..6, Err::<Vec<usize>, _>(failure(5)), 8, |_| {
            panic!("a one-sample call's failure is already that sample's")
        });
        assert_eq!(alone, vec![Err(failure(5))]);
        assert_eq!(whole, vec![Ok(7), Ok(8)]);
    }

    #[test]
    fn retries_stop_after_a_run_of_failures() {
        let mut calls = 0;
        let results = per_sample(
            0..100,
            Err::<Vec<usize>, _>(failure(99)),
            MAX_SOLO_RETRIES,
            |at| {
                calls += 1;
                Err(failure(at))
            },
        );
        assert_eq!(calls, MAX_SOLO_RETRIES);
        assert_eq!(results.len(), 100);
        let last = results[99].as_ref().unwrap_err();
        assert!(last.plugin.ends_with(NOT_RETRIED), "{}", last.plugin);
        assert_eq!(last.kind, failure(MAX_SOLO_RETRIES - 1).kind);
        let mut calls = 0;
        let first_only = per_sample(0..5, Err::<Vec<usize>, _>(failure(9)), 1, |at| {
            calls += 1;
            Err(failure(at))
        });
        assert_eq!((calls, first_only[0].clone()), (1, Err(failure(0))));
    }

    #[test]
    fn batches_split_by_bytes_and_by_samples() {
        let samples: Vec<TextSample> = [4, 4, 4, 1, 1, 1, 1, 20].map(sample).to_vec();
        assert_eq!(split(10, 3, &samples), vec![0..2, 2..5, 5..7, 7..8]);
        assert_eq!(
            split(10, 3, &samples[7..]),
            vec![0..1],
            "one large sample is one call"
        );
        assert_eq!(split(10, 3, &[]), vec![0..0]);
    }
}
