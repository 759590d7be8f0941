//! A deliberately hostile text-primitives extractor, used only by the tests.
//!
//! It declares two primitives in [0, 1] (`length_parity`, `has_digit`) and
//! behaves for completions that start with none of the markers below; a
//! completion that starts with one makes the whole call misbehave, so tests
//! can check that the host types the failure, pins it on that sample, and
//! keeps every other sample's values.

use derl_sdk::*;

struct Hostile;

/// Completions that start with these make the call misbehave.
const LOOP: &str = "!loop";
const PANIC: &str = "!panic";
const NAN: &str = "!nan";
const RANGE: &str = "!range";
const COUNT: &str = "!count";
const MEMORY: &str = "!memory";
const ERROR: &str = "!error";

impl TextPrimitives for Hostile {
    fn new() -> Self {
        Hostile
    }

    fn info(&self) -> ExtractorInfo {
        ExtractorInfo {
            name: "hostile-text".into(),
            version: "0.1.0".into(),
            description: "misbehaves on completions that start with !loop, !panic, !nan, !range, !count, !memory or !error".into(),
            primitives: vec![
                PrimitiveSpec::new("length_parity", "1 when the completion has an odd byte length", 0.0, 1.0),
                PrimitiveSpec::new("has_digit", "1 when the completion holds a digit", 0.0, 1.0),
            ],
        }
    }

    fn extract_one(&self, sample: &TextSample) -> Result<Vec<f64>, String> {
        let text = sample.completion.as_str();
        if text.starts_with(LOOP) {
            #[allow(clippy::empty_loop, reason = "the endless loop is the point")]
            loop {}
        }
        if text.starts_with(PANIC) {
            panic!("the extractor panicked on purpose");
        }
        if text.starts_with(MEMORY) {
            let hoard: Vec<Vec<u8>> = (0..1 << 20).map(|_| vec![1u8; 1 << 20]).collect();
            return Ok(vec![hoard.len() as f64, 0.0]);
        }
        if text.starts_with(ERROR) {
            return Err("this sample is not to my taste".into());
        }
        let parity = (text.len() % 2) as f64;
        let digit = f64::from(u8::from(text.bytes().any(|b| b.is_ascii_digit())));
        Ok(if text.starts_with(NAN) {
            vec![f64::NAN, digit]
        } else if text.starts_with(RANGE) {
            vec![2.0, digit]
        } else if text.starts_with(COUNT) {
            vec![parity]
        } else {
            vec![parity, digit]
        })
    }
}

derl_sdk::register_text_primitives!(Hostile);
