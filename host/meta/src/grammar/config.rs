//! The grammar's knobs: constants, length budget and optional operators.

use serde::{Deserialize, Serialize};

use crate::error::{MetaError, Result};

/// Longest program the configuration accepts (a sanity bound on `max_tokens`).
pub const MAX_TOKENS_LIMIT: usize = 256;

/// Which Meta-Reward programs a generator may emit.
///
/// The language is a subset of derl-lang's: primitives `g1..gN`, the constants listed here,
/// `+ - * /`, a unary minus at the start of an (sub)expression, parentheses, and optionally
/// `min(a, b)` / `max(a, b)`. Every program uses at least one primitive and has at most
/// `max_tokens` tokens.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct GrammarConfig {
    /// The numeric literals a program may use; each finite and positive, all distinct.
    /// Negative weights come from `-` (binary or leading unary). Default
    /// `[0.1, 0.2, 0.5, 1, 2, 5]`.
    pub constants: Vec<f64>,
    /// Largest number of tokens in a program (the end marker not counted); at least 1, at
    /// most [`MAX_TOKENS_LIMIT`]. Default 24.
    pub max_tokens: usize,
    /// Whether `/` is available. Default `true`.
    pub division: bool,
    /// Whether a unary minus may open an expression (`-0.1*g3 + g1`, `(-g2)`). Default
    /// `true`.
    pub negation: bool,
    /// Whether `min(a, b)` and `max(a, b)` are available. Default `false`.
    pub min_max: bool,
}

impl Default for GrammarConfig {
    fn default() -> Self {
        Self {
            constants: vec![0.1, 0.2, 0.5, 1.0, 2.0, 5.0],
            max_tokens: 24,
            division: true,
            negation: true,
            min_max: false,
        }
    }
}

impl GrammarConfig {
    /// Checks every documented range.
    ///
    /// # Errors
    /// [`MetaError::InvalidConfig`] naming the first offending field.
    pub fn validate(&self) -> Result<()> {
        let invalid = |message: String| Err(MetaError::InvalidConfig(message));
        if !(1..=MAX_TOKENS_LIMIT).contains(&self.max_tokens) {
            return invalid(format!(
                "max_tokens must be in 1..={MAX_TOKENS_LIMIT}, got {}",
                self.max_tokens
            ));
        }
        for (index, &constant) in self.constants.iter().enumerate() {
            if !(constant.is_finite() && constant > 0.0) {
                return invalid(format!("constant {constant} must be finite and positive"));
            }
            if self.constants[..index].contains(&constant) {
                return invalid(format!("constant {constant} listed twice"));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_is_valid_and_partial_json_fills_it() {
        GrammarConfig::default().validate().unwrap();
        let config: GrammarConfig =
            serde_json::from_str(r#"{"max_tokens": 12, "min_max": true}"#).unwrap();
        assert_eq!(config.max_tokens, 12);
        assert!(config.min_max);
        assert_eq!(config.constants, GrammarConfig::default().constants);
        assert!(serde_json::from_str::<GrammarConfig>(r#"{"max_len": 3}"#).is_err());
    }

    #[test]
    fn bad_values_are_rejected() {
        let bad = [
            GrammarConfig {
                max_tokens: 0,
                ..GrammarConfig::default()
            },
            GrammarConfig {
                max_tokens: MAX_TOKENS_LIMIT + 1,
                ..GrammarConfig::default()
            },
            GrammarConfig {
                constants: vec![0.5, -1.0],
                ..GrammarConfig::default()
            },
            GrammarConfig {
                constants: vec![0.0],
                ..GrammarConfig::default()
            },
            GrammarConfig {
                constants: vec![f64::INFINITY],
                ..GrammarConfig::default()
            },
            GrammarConfig {
                constants: vec![0.5, 0.5],
                ..GrammarConfig::default()
            },
        ];
        for config in bad {
            assert!(config.validate().is_err(), "{config:?}");
        }
    }
}
