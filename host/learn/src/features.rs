//! Hashed text features: lower-cased words and word bigrams hashed into a fixed number of
//! buckets with 64-bit FNV-1a.
//!
//! The hash is part of the checkpoint format: a bucket id means the same word in every
//! process, on every platform and in every version of this crate, so it is spelled out here
//! rather than taken from `std` (whose `RandomState` is randomly keyed per process).

use std::collections::BTreeSet;
use std::hash::{BuildHasherDefault, Hasher};

use serde::{Deserialize, Serialize};

use crate::error::{LearnError, Result};

const FNV_OFFSET_BASIS: u64 = 0xcbf2_9ce4_8422_2325;
const FNV_PRIME: u64 = 0x0000_0100_0000_01b3;

/// Namespace byte hashed before a single word.
const WORD_NAMESPACE: u8 = 1;
/// Namespace byte hashed before a word bigram.
const BIGRAM_NAMESPACE: u8 = 2;
/// Byte hashed between the two words of a bigram (cannot occur inside a word).
const BIGRAM_SEPARATOR: u8 = b' ';

/// Smallest accepted `bucket_bits`.
pub const MIN_BUCKET_BITS: u32 = 8;
/// Largest accepted `bucket_bits`.
pub const MAX_BUCKET_BITS: u32 = 24;

/// 64-bit FNV-1a of `bytes`, continuing from `state` (start with [`fnv1a64`]).
pub fn fnv1a64_extend(mut state: u64, bytes: &[u8]) -> u64 {
    for &byte in bytes {
        state ^= u64::from(byte);
        state = state.wrapping_mul(FNV_PRIME);
    }
    state
}

/// 64-bit FNV-1a of `bytes`.
pub fn fnv1a64(bytes: &[u8]) -> u64 {
    fnv1a64_extend(FNV_OFFSET_BASIS, bytes)
}

/// A `Hasher` running FNV-1a: fast and deterministic, for the crate's internal hash maps
/// keyed by short id slices.
#[derive(Clone, Copy, Debug)]
pub(crate) struct FnvHasher(u64);

impl Default for FnvHasher {
    fn default() -> Self {
        Self(FNV_OFFSET_BASIS)
    }
}

impl Hasher for FnvHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        self.0 = fnv1a64_extend(self.0, bytes);
    }

    fn write_u32(&mut self, value: u32) {
        // One multiply per word instead of four: these maps only need speed and determinism.
        self.0 = (self.0 ^ u64::from(value)).wrapping_mul(FNV_PRIME);
    }
}

/// `BuildHasher` for [`FnvHasher`].
pub(crate) type FnvBuildHasher = BuildHasherDefault<FnvHasher>;

/// How a feature's 64-bit FNV-1a hash becomes a bucket id.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum BucketHash {
    /// The top bits of the raw hash. FNV-1a mixes a feature's last byte into the low bits
    /// only, so features that differ only in their last character mostly share a bucket:
    /// `cabinet 1` and `cabinet 2`, and the digits `0` to `9`. The default, and the hash of
    /// every configuration and checkpoint written before this option existed: a policy
    /// that cannot tell numbers apart generalises across them, which on arith learns
    /// faster (BENCHMARKS.md, "Household: does a better policy fix it?").
    #[default]
    TopBits,
    /// The top bits of the hash after splitmix64's finalizer, so that every byte of a
    /// feature moves every bit of its bucket: `cabinet 1` and `cabinet 2` differ. What
    /// action contexts need to tell receptacles of one kind apart.
    Mixed,
}

/// How text is turned into bucket ids.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct FeaturizerConfig {
    /// Number of hash buckets as a power of two (`2^bucket_bits` rows in the embedding
    /// table), 8..=24. Default 15 (32768 buckets).
    pub bucket_bits: u32,
    /// Whether adjacent word pairs are hashed too (lets "red block" differ from
    /// "block red"). Default true.
    pub word_bigrams: bool,
    /// How hashes become buckets. Default [`BucketHash::TopBits`].
    pub hash: BucketHash,
}

impl Default for FeaturizerConfig {
    fn default() -> Self {
        Self {
            bucket_bits: 15,
            word_bigrams: true,
            hash: BucketHash::TopBits,
        }
    }
}

/// Turns text into hashed word and bigram bucket ids.
///
/// Words are maximal runs of alphanumeric characters, lower-cased; everything else
/// separates words. Encoding `"Pick the RED block!"` gives the ids of `pick`, `the`, `red`,
/// `block`, then of the bigrams `pick the`, `the red`, `red block`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Featurizer {
    config: FeaturizerConfig,
}

impl Featurizer {
    /// A featurizer for `config`.
    ///
    /// # Errors
    /// [`LearnError::InvalidConfig`] when `bucket_bits` is outside 8..=24.
    pub fn new(config: FeaturizerConfig) -> Result<Self> {
        if !(MIN_BUCKET_BITS..=MAX_BUCKET_BITS).contains(&config.bucket_bits) {
            return Err(LearnError::InvalidConfig(format!(
                "featurizer bucket_bits must be in {MIN_BUCKET_BITS}..={MAX_BUCKET_BITS}, got {}",
                config.bucket_bits
            )));
        }
        Ok(Self { config })
    }

    /// The configuration this featurizer was built from.
    pub fn config(&self) -> &FeaturizerConfig {
        &self.config
    }

    /// Number of buckets (`2^bucket_bits`); every id is below it.
    pub fn buckets(&self) -> usize {
        1 << self.config.bucket_bits
    }

    /// Bucket ids of the words (then the bigrams) of `text`, in order, duplicates kept.
    pub fn encode(&self, text: &str) -> Vec<u32> {
        let words = lowercase_words(text);
        let bigrams = if self.config.word_bigrams {
            words.len().saturating_sub(1)
        } else {
            0
        };
        let mut ids = Vec::with_capacity(words.len() + bigrams);
        for word in &words {
            let hash = fnv1a64_extend(fnv1a64(&[WORD_NAMESPACE]), word.as_bytes());
            ids.push(self.bucket(hash));
        }
        if self.config.word_bigrams {
            for pair in words.windows(2) {
                ids.push(self.bigram_id(&pair[0], &pair[1]));
            }
        }
        ids
    }

    /// Whether [`Featurizer::encode`] lists word bigrams after the words.
    pub fn word_bigrams(&self) -> bool {
        self.config.word_bigrams
    }

    /// The bucket id [`Featurizer::encode`] gives the bigram `first second` (lowercase
    /// words).
    pub fn bigram_id(&self, first: &str, second: &str) -> u32 {
        let mut hash = fnv1a64(&[BIGRAM_NAMESPACE]);
        hash = fnv1a64_extend(hash, first.as_bytes());
        hash = fnv1a64_extend(hash, &[BIGRAM_SEPARATOR]);
        hash = fnv1a64_extend(hash, second.as_bytes());
        self.bucket(hash)
    }

    /// [`Featurizer::encode`] with the first and last (lowercase) words of `text`, which
    /// is what joining encoded texts needs (see [`crate::action_policy::FeatureCache`]).
    pub fn encode_with_ends(&self, text: &str) -> (Vec<u32>, Option<(String, String)>) {
        let ids = self.encode(text);
        let mut words = text
            .split(|c: char| !c.is_alphanumeric())
            .filter(|word| !word.is_empty());
        let first = words.next().map(str::to_lowercase);
        let ends = first.map(|first| {
            let last = words
                .next_back()
                .map_or_else(|| first.clone(), str::to_lowercase);
            (first, last)
        });
        (ids, ends)
    }

    /// The word bigrams among the ids [`Featurizer::encode`] gave for one text (it lists the
    /// `n` words, then the `n - 1` bigrams); the words themselves when bigrams are off.
    pub fn bigrams<'a>(&self, ids: &'a [u32]) -> &'a [u32] {
        if self.config.word_bigrams {
            &ids[ids.len().div_ceil(2)..]
        } else {
            ids
        }
    }

    /// Bucket ids of the first `limit` clauses of `text` (see [`clauses`]), empty clauses
    /// dropped; later clauses are not encoded.
    pub fn encode_clauses(&self, text: &str, limit: usize) -> Vec<Vec<u32>> {
        clauses(text)
            .map(|clause| self.encode(clause))
            .filter(|ids| !ids.is_empty())
            .take(limit)
            .collect()
    }

    /// Goal features of `text`: its words with the goal's (see [`GoalTerms`]) replaced by
    /// one placeholder, then the bigrams and trigrams that hold a placeholder. `take lettuce 1
    /// from fridge 1` under `cool some lettuce and put it on countertop 1` reads as `take
    /// <goal> 1 from fridge 1` and gives `take <goal>`, `<goal> 1`, `take <goal> 1` and `<goal>
    /// 1 from`: the same features as `take mug 1 ...` under a task about a mug, so what is
    /// learned about the goal's object carries over to every object. Empty when no word is
    /// the goal's.
    pub fn encode_goal(&self, text: &str, goal: &GoalTerms) -> Vec<u32> {
        let words = lowercase_words(text);
        let marked = goal.marks(&words);
        if !marked.contains(&true) {
            return Vec::new();
        }
        let tokens: Vec<&str> = words
            .iter()
            .zip(&marked)
            .map(|(word, &is_goal)| if is_goal { GOAL_TOKEN } else { word.as_str() })
            .collect();
        let mut ids = Vec::new();
        for (namespace, width) in [(GOAL_BIGRAM_NAMESPACE, 2), (GOAL_TRIGRAM_NAMESPACE, 3)] {
            for (gram, marks) in tokens.windows(width).zip(marked.windows(width)) {
                if marks.contains(&true) {
                    let mut hash = fnv1a64(&[namespace]);
                    for (position, token) in gram.iter().enumerate() {
                        if position > 0 {
                            hash = fnv1a64_extend(hash, &[BIGRAM_SEPARATOR]);
                        }
                        hash = fnv1a64_extend(hash, token.as_bytes());
                    }
                    ids.push(self.bucket(hash));
                }
            }
        }
        ids
    }

    /// The top `bucket_bits` bits of the hash, mixed first unless the configuration keeps
    /// the raw hash (see [`BucketHash`]).
    fn bucket(&self, hash: u64) -> u32 {
        let hash = match self.config.hash {
            BucketHash::Mixed => derl_env_api::seeds::mix64(hash),
            BucketHash::TopBits => hash,
        };
        (hash >> (64 - self.config.bucket_bits)) as u32
    }
}

/// Words that never mark the goal: articles, prepositions, pronouns and the like, which
/// a task clause shares with every other text.
const FUNCTION_WORDS: &[&str] = &[
    "a", "an", "the", "and", "or", "of", "in", "on", "to", "into", "onto", "at", "from", "with",
    "under", "by", "for", "is", "are", "be", "it", "its", "them", "they", "this", "that", "then",
    "some", "you", "your", "task", "one", "two", "three", "several",
];

/// Namespace byte hashed before a goal bigram (see [`Featurizer::encode_goal`]).
const GOAL_BIGRAM_NAMESPACE: u8 = 3;
/// Namespace byte hashed before a goal trigram.
const GOAL_TRIGRAM_NAMESPACE: u8 = 4;
/// What a goal word is replaced by (cannot be a word: words are alphanumeric).
const GOAL_TOKEN: &str = "<goal>";

/// The words of a task clause that mark the same words elsewhere as the goal's: its
/// content words (with their singulars, so `alarmclocks` marks `alarmclock`) and its word
/// pairs (so the `1` of `countertop 1` is the goal's when the task names `countertop 1`,
/// and the `1` of `lettuce 1` is not when it names `some lettuce`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct GoalTerms {
    words: BTreeSet<String>,
    /// [`word_pair_key`] of each adjacent pair of the task's words.
    pairs: BTreeSet<u64>,
}

impl GoalTerms {
    /// The goal terms of `task` (e.g. `Your task is to: cool some lettuce and put it on
    /// countertop 1`).
    pub fn of(task: &str) -> GoalTerms {
        let words = lowercase_words(task);
        let mut terms = GoalTerms::default();
        for word in &words {
            let content = !FUNCTION_WORDS.contains(&word.as_str())
                && !word.chars().all(|c| c.is_ascii_digit());
            if content {
                for suffix in ["es", "s"] {
                    if let Some(singular) = word.strip_suffix(suffix)
                        && singular.len() >= 3
                    {
                        terms.words.insert(singular.to_owned());
                    }
                }
                terms.words.insert(word.clone());
            }
        }
        terms.pairs = words
            .windows(2)
            .map(|pair| word_pair_key(&pair[0], &pair[1]))
            .collect();
        terms
    }

    /// Whether the task has no content word (nothing is ever marked).
    pub fn is_empty(&self) -> bool {
        self.words.is_empty()
    }

    /// Which of `words` are the goal's: a content word of the task, or a word that follows
    /// a marked word as it does in the task.
    fn marks(&self, words: &[String]) -> Vec<bool> {
        let mut marked: Vec<bool> = Vec::with_capacity(words.len());
        for (at, word) in words.iter().enumerate() {
            let follows_marked = at > 0
                && marked[at - 1]
                && self.pairs.contains(&word_pair_key(&words[at - 1], word));
            marked.push(follows_marked || self.words.contains(word));
        }
        marked
    }
}

/// A 64-bit key of the word pair `first second` (FNV-1a; a lookup key, not a feature).
fn word_pair_key(first: &str, second: &str) -> u64 {
    let hash = fnv1a64_extend(fnv1a64(first.as_bytes()), &[BIGRAM_SEPARATOR]);
    fnv1a64_extend(hash, second.as_bytes())
}

/// The clauses of `text`: pieces separated by a line break, a `;`, or a sentence end (`.`,
/// `!` or `?` followed by white space or the end of the text, so `3.5` stays whole).
pub fn clauses(text: &str) -> impl Iterator<Item = &str> {
    let bytes = text.as_bytes();
    let mut start = 0;
    let mut pieces = Vec::new();
    for (at, &byte) in bytes.iter().enumerate() {
        let sentence_end = matches!(byte, b'.' | b'!' | b'?')
            && bytes.get(at + 1).is_none_or(u8::is_ascii_whitespace);
        if byte == b'\n' || byte == b';' || sentence_end {
            pieces.push(&text[start..at]);
            start = at + 1;
        }
    }
    pieces.push(&text[start..]);
    pieces.into_iter().filter(|piece| !piece.trim().is_empty())
}

fn lowercase_words(text: &str) -> Vec<String> {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|word| !word.is_empty())
        .map(str::to_lowercase)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn featurizer() -> Featurizer {
        Featurizer::new(FeaturizerConfig::default()).unwrap()
    }

    #[test]
    fn fnv1a64_matches_reference_vectors() {
        assert_eq!(fnv1a64(b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv1a64(b"a"), 0xaf63_dc4c_8601_ec8c);
        assert_eq!(fnv1a64(b"foobar"), 0x8594_4171_f739_67e8);
    }

    #[test]
    fn encoding_ignores_case_and_punctuation() {
        let featurizer = featurizer();
        assert_eq!(
            featurizer.encode("Pick the RED block!"),
            featurizer.encode("pick, the red   block")
        );
    }

    #[test]
    fn encoding_lists_words_then_bigrams() {
        let featurizer = featurizer();
        let ids = featurizer.encode("red block");
        assert_eq!(ids.len(), 3);
        assert_eq!(ids[0], featurizer.encode("red")[0]);
        assert_eq!(ids[1], featurizer.encode("block")[0]);
        assert_ne!(ids[2], featurizer.encode("block red")[2]);
    }

    #[test]
    fn bigrams_are_the_second_part_of_an_encoding() {
        let featurizer = featurizer();
        let ids = featurizer.encode("go to cabinet 2");
        assert_eq!(featurizer.bigrams(&ids), &ids[4..]);
        assert_eq!(
            featurizer.bigrams(&ids)[2],
            featurizer.encode("cabinet 2")[2]
        );
        assert!(featurizer.bigrams(&featurizer.encode("look")).is_empty());
        assert!(featurizer.bigrams(&[]).is_empty());
        let words_only = Featurizer::new(FeaturizerConfig {
            word_bigrams: false,
            ..FeaturizerConfig::default()
        })
        .unwrap();
        let ids = words_only.encode("go to cabinet 2");
        assert_eq!(words_only.bigrams(&ids), &ids[..]);
    }

    #[test]
    fn bigrams_can_be_switched_off() {
        let featurizer = Featurizer::new(FeaturizerConfig {
            word_bigrams: false,
            ..FeaturizerConfig::default()
        })
        .unwrap();
        assert_eq!(featurizer.encode("a b c").len(), 3);
        assert!(featurizer.encode("  ...  ").is_empty());
    }

    #[test]
    fn ids_stay_below_the_bucket_count() {
        let featurizer = Featurizer::new(FeaturizerConfig {
            bucket_bits: 8,
            ..FeaturizerConfig::default()
        })
        .unwrap();
        let text: String = (0..500).map(|i| format!("w{i} ")).collect();
        let ids = featurizer.encode(&text);
        assert_eq!(ids.len(), 999);
        assert!(ids.iter().all(|&id| (id as usize) < featurizer.buckets()));
        let distinct: std::collections::BTreeSet<_> = ids.iter().collect();
        assert!(distinct.len() > 200, "hash spreads over the buckets");
    }

    #[test]
    fn clauses_split_at_lines_semicolons_and_sentence_ends() {
        let text = "Your task is to: put a mug in shelf 1.\nKnown: unvisited cabinet 1; \
                    searched desk 1 with a pen 2.\nAdd 3.5 and 2! Done?";
        let pieces: Vec<&str> = clauses(text).map(str::trim).collect();
        assert_eq!(
            pieces,
            [
                "Your task is to: put a mug in shelf 1",
                "Known: unvisited cabinet 1",
                "searched desk 1 with a pen 2",
                "Add 3.5 and 2",
                "Done",
            ]
        );
        assert_eq!(clauses(" . ;\n").count(), 0);
        let featurizer = featurizer();
        let encoded = featurizer.encode_clauses("red block. ...; blue", 8);
        assert_eq!(
            encoded,
            [featurizer.encode("red block"), featurizer.encode("blue")]
        );
        assert_eq!(
            featurizer.encode_clauses("red block. ...; blue", 1),
            [featurizer.encode("red block")]
        );
    }

    #[test]
    fn out_of_range_bucket_bits_are_rejected() {
        for bucket_bits in [0, 7, 25] {
            let config = FeaturizerConfig {
                bucket_bits,
                ..FeaturizerConfig::default()
            };
            assert!(matches!(
                Featurizer::new(config),
                Err(LearnError::InvalidConfig(_))
            ));
        }
    }

    #[test]
    fn config_rejects_unknown_fields_and_fills_defaults() {
        let config: FeaturizerConfig = serde_json::from_str(r#"{"bucket_bits": 12}"#).unwrap();
        assert_eq!(config.bucket_bits, 12);
        assert!(config.word_bigrams);
        assert!(serde_json::from_str::<FeaturizerConfig>(r#"{"buckets": 12}"#).is_err());
    }

    #[test]
    fn the_hash_is_named_in_kebab_case_and_defaults_to_the_top_bits() {
        let unnamed: FeaturizerConfig = serde_json::from_str(r#"{"bucket_bits": 15}"#).unwrap();
        assert_eq!(unnamed.hash, BucketHash::TopBits);
        let mixed: FeaturizerConfig = serde_json::from_str(r#"{"hash": "mixed"}"#).unwrap();
        assert_eq!(mixed.hash, BucketHash::Mixed);
        let written = serde_json::to_string(&mixed).unwrap();
        assert!(written.contains(r#""hash":"mixed""#), "{written}");
        assert!(serde_json::from_str::<FeaturizerConfig>(r#"{"hash": "fnv"}"#).is_err());
    }

    #[test]
    fn goal_terms_mark_the_tasks_content_words_and_their_numbers() {
        let goal = GoalTerms::of("Your task is to: cool some lettuce and put it on countertop 1.");
        let marks = |text: &str| goal.marks(&lowercase_words(text));
        assert_eq!(
            marks("take lettuce 1 from fridge 1"),
            [false, true, false, false, false, false]
        );
        assert_eq!(marks("go to countertop 1"), [false, false, true, true]);
        assert_eq!(marks("go to countertop 2"), [false, false, true, false]);
        assert_eq!(
            marks("cool lettuce 1 with fridge 1"),
            [true, true, false, false, false, false]
        );
        let plural = GoalTerms::of("find two alarmclocks and put them in drawer 3.");
        assert_eq!(
            plural.marks(&lowercase_words("take alarmclock 2 from desk 1")),
            [false, true, false, false, false, false]
        );
        assert!(GoalTerms::of("Your task is to: the and 3").is_empty());
    }

    #[test]
    fn goal_features_carry_over_between_objects() {
        let featurizer = featurizer();
        let lettuce = GoalTerms::of("cool some lettuce and put it on countertop 1.");
        let mug = GoalTerms::of("heat some mug and put it in shelf 2.");
        let take_lettuce = featurizer.encode_goal("take lettuce 1 from fridge 1", &lettuce);
        let take_mug = featurizer.encode_goal("take mug 1 from fridge 1", &mug);
        // `take <goal>`, `<goal> 1`; `take <goal> 1`, `<goal> 1 from`.
        assert_eq!(take_lettuce.len(), 4);
        assert_eq!(take_lettuce, take_mug);
        assert!(
            featurizer
                .encode_goal("take apple 1 from fridge 1", &lettuce)
                .is_empty()
        );
        let plain = featurizer.encode("take lettuce 1 from fridge 1");
        assert!(take_lettuce.iter().all(|id| !plain.contains(id)));
        // Bucket ids are part of the checkpoint format: pinned.
        assert_eq!(take_mug, TAKE_GOAL_1_FROM_FRIDGE_1);
    }

    #[test]
    fn goal_terms_of_long_texts_stay_linear() {
        let task: String = (0..20_000).map(|i| format!("w{i} ")).collect();
        let goal = GoalTerms::of(&task);
        let ids = featurizer().encode_goal(&task, &goal);
        assert_eq!(ids.len(), 2 * 20_000 - 3);
    }

    const TAKE_GOAL_1_FROM_FRIDGE_1: [u32; 4] = [12945, 2781, 6337, 6565];
    const MUG_1_MIXED: [u32; 3] = [7485, 14024, 8285];
    const MUG_1_TOP_BITS: [u32; 3] = [12495, 1047, 9066];

    #[test]
    fn the_mixed_hash_separates_features_that_differ_in_their_last_character() {
        let with = |hash| {
            Featurizer::new(FeaturizerConfig {
                hash,
                ..FeaturizerConfig::default()
            })
            .unwrap()
        };
        let digit_buckets = |featurizer: &Featurizer| {
            let digits: String = (0..10).map(|digit| format!("{digit} ")).collect();
            let words = &featurizer.encode(&digits)[..10];
            words
                .iter()
                .collect::<std::collections::BTreeSet<_>>()
                .len()
        };
        let (mixed, top_bits) = (with(BucketHash::Mixed), with(BucketHash::TopBits));
        assert_eq!(digit_buckets(&mixed), 10);
        assert!(
            digit_buckets(&top_bits) < 3,
            "the flaw the mixed hash fixes"
        );
        let (one, two) = (mixed.encode("cabinet 1"), mixed.encode("cabinet 2"));
        assert_eq!(one[0], two[0]);
        assert_ne!((one[1], one[2]), (two[1], two[2]));
        // Bucket ids are part of the checkpoint format: pinned.
        assert_eq!(mixed.encode("mug 1"), MUG_1_MIXED);
        assert_eq!(top_bits.encode("mug 1"), MUG_1_TOP_BITS);
    }
}
