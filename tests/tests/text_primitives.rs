//! Text-primitives extractors through the real host: the bundled math
//! extractor on handwritten and hostile completions, a hostile extractor's
//! misbehaviours typed and pinned on the sample that caused them, and
//! Meta-Rewards composed over extracted primitives.

use derl::inner::RewardSpec;
use derl::plugin::text::MAX_SOLO_RETRIES;
use derl::plugin::{TextBudgets, TextExtractor};
use derl::text_reward::TextReward;
use derl_env_api::TextSample;
use derl_sandbox::{Limits, PluginErrorKind};
use derl_tests::{component, sandbox};
use std::time::{Duration, Instant};

fn math() -> TextExtractor {
    TextExtractor::load(
        sandbox(),
        derl::bundled::extractor("math").unwrap().bytes,
        &[],
        Limits::default(),
        TextBudgets::default(),
    )
    .unwrap()
}

fn hostile() -> TextExtractor {
    TextExtractor::load(
        sandbox(),
        &component(derl_artifacts::HOSTILE_TEXT),
        &[],
        Limits {
            fuel_per_call: 200_000_000,
            deadline_ms: 1000,
            ..Limits::default()
        },
        TextBudgets::default(),
    )
    .unwrap()
}

fn completions(texts: &[&str]) -> Vec<TextSample> {
    texts.iter().map(|t| TextSample::new("", t, "7")).collect()
}

#[test]
fn the_component_computes_what_the_native_core_computes() {
    let samples = vec![
        TextSample::new("q", "Step 1: 3+4.\nStep 2: = 7\n\\boxed{7}", "7"),
        TextSample::new("q", "\\boxed{7.0}", "#### 7"),
        TextSample::new("q", "1. a\n2. b\nso 8", "7"),
        TextSample::new("q", "", ""),
    ];
    let extracted = math().extract(&samples).unwrap();
    let native: Vec<f64> = samples
        .iter()
        .flat_map(|s| math_core::MathExtractor::default().primitives(s))
        .collect();
    assert_eq!(extracted, native);
    assert_eq!(
        extracted,
        [
            1., 1., 1., 1., 1., 1., 0., 1., 0., 0., 1., 0., 0., 0., 0., 0.
        ]
    );
}

#[test]
fn settings_reach_every_call_and_bad_ones_fail_at_load() {
    let strict = TextExtractor::load(
        sandbox(),
        derl::bundled::extractor("math").unwrap().bytes,
        &[("min_steps".into(), "3".into())],
        Limits::default(),
        TextBudgets::default(),
    )
    .unwrap();
    let two_steps = completions(&["1. a\n2. b"]);
    assert_eq!(strict.extract(&two_steps).unwrap()[2], 0.0);
    assert_eq!(math().extract(&two_steps).unwrap()[2], 1.0);
    let error = TextExtractor::load(
        sandbox(),
        derl::bundled::extractor("math").unwrap().bytes,
        &[("min_steps".into(), "many".into())],
        Limits::default(),
        TextBudgets::default(),
    )
    .err()
    .expect("a bad setting fails");
    assert!(
        matches!(&error.kind, PluginErrorKind::Guest(m) if m.contains("min_steps")),
        "{error}"
    );
}

#[test]
fn hostile_text_is_scored_within_the_limits_and_never_hangs() {
    let megabyte = "step ".repeat(200_000) + "\\boxed{7}";
    let braces = format!("\\boxed{}{}", "{".repeat(1 << 20), "}".repeat(1 << 20));
    let unclosed = format!("\\boxed{}", "{".repeat(1 << 21));
    let slashes = format!("\\boxed{{{}1}}", "1/".repeat(1 << 20));
    let numbered = "1. ".repeat(1 << 19);
    let samples = completions(&[&megabyte, &braces, &unclosed, &slashes, &numbered]);
    let started = Instant::now();
    let values = math().extract(&samples).unwrap();
    assert!(started.elapsed() < Duration::from_secs(10));
    assert_eq!(values.len(), 20);
    assert_eq!(&values[0..4], &[1.0, 1.0, 0.0, 1.0]);
    assert_eq!(&values[8..12], &[0.0, 1.0, 0.0, 0.0], "unclosed braces");
    assert_eq!(values[18], 1.0, "numbered items");
}

#[test]
fn text_beyond_the_budgets_is_refused_before_the_guest_runs() {
    let tight = TextBudgets {
        sample_bytes: 100,
        batch_samples: 3,
        ..TextBudgets::default()
    };
    let math = TextExtractor::load(
        sandbox(),
        derl::bundled::extractor("math").unwrap().bytes,
        &[],
        Limits::default(),
        tight,
    )
    .unwrap();
    let long = "x".repeat(200);
    let error = math.extract(&completions(&["a", &long])).unwrap_err();
    assert!(
        matches!(&error.kind, PluginErrorKind::OverBudget { what, limit: 100, .. } if what.contains("sample 1")),
        "{error}"
    );
    let error = math.extract(&completions(&["a"; 4])).unwrap_err();
    assert!(
        matches!(&error.kind, PluginErrorKind::OverBudget { what, .. } if what == "samples in one batch"),
        "{error}"
    );
}

#[test]
fn batches_larger_than_a_call_are_split_and_give_the_same_values() {
    let texts: Vec<String> = (0..50).map(|i| format!("{i}. \\boxed{{{i}}}")).collect();
    let samples: Vec<TextSample> = texts.iter().map(|t| TextSample::new("", t, "7")).collect();
    let small_calls = TextExtractor::load(
        sandbox(),
        derl::bundled::extractor("math").unwrap().bytes,
        &[],
        Limits::default(),
        TextBudgets {
            call_samples: 7,
            call_bytes: 64,
            ..TextBudgets::default()
        },
    )
    .unwrap();
    assert_eq!(
        small_calls.extract(&samples).unwrap(),
        math().extract(&samples).unwrap()
    );
}

#[test]
fn a_hostile_extractor_fails_with_the_right_kind_each_time() {
    let hostile = hostile();
    type Expected = fn(&PluginErrorKind) -> bool;
    let cases: [(&str, Expected); 7] = [
        ("!loop", |k| {
            matches!(
                k,
                PluginErrorKind::FuelExhausted { .. } | PluginErrorKind::Deadline { .. }
            )
        }),
        ("!panic", |k| matches!(k, PluginErrorKind::Trap { .. })),
        (
            "!nan",
            |k| matches!(k, PluginErrorKind::InvalidOutput(m) if m.contains("length_parity") && m.contains("NaN")),
        ),
        (
            "!range",
            |k| matches!(k, PluginErrorKind::InvalidOutput(m) if m.contains("outside its declared range")),
        ),
        (
            "!count",
            |k| matches!(k, PluginErrorKind::InvalidOutput(m) if m.contains("values returned for 2 samples")),
        ),
        ("!memory", |k| {
            matches!(k, PluginErrorKind::MemoryLimit { .. })
        }),
        (
            "!error",
            |k| matches!(k, PluginErrorKind::Guest(m) if m.contains("sample 1: this sample is not to my taste")),
        ),
    ];
    for (marker, expected) in cases {
        let error = hostile
            .extract(&completions(&["fine 1", marker]))
            .expect_err(marker);
        assert!(expected(&error.kind), "{marker}: {error}");
        // A fresh instance for every call: the extractor still works.
        assert_eq!(
            hostile.extract(&completions(&["abc"])).unwrap(),
            vec![1.0, 0.0]
        );
    }
}

#[test]
fn each_failure_is_pinned_on_its_sample_and_the_others_keep_their_values() {
    let results = hostile()
        .extract_each(
            &completions(&["ab", "!panic", "abc1", "!nan"]),
            MAX_SOLO_RETRIES,
        )
        .unwrap();
    assert_eq!(results[0].as_ref().unwrap(), &vec![0.0, 0.0]);
    assert!(matches!(
        results[1].as_ref().unwrap_err().kind,
        PluginErrorKind::Trap { .. }
    ));
    assert_eq!(results[2].as_ref().unwrap(), &vec![0.0, 1.0]);
    let nan = results[3].as_ref().unwrap_err();
    assert!(
        matches!(&nan.kind, PluginErrorKind::InvalidOutput(m) if m.starts_with("sample 3:")),
        "{nan}"
    );
}

#[test]
fn a_loop_on_every_sample_costs_a_bounded_number_of_calls() {
    let hostile = TextExtractor::load(
        sandbox(),
        &component(derl_artifacts::HOSTILE_TEXT),
        &[],
        Limits {
            fuel_per_call: 20_000_000,
            ..Limits::default()
        },
        TextBudgets::default(),
    )
    .unwrap();
    let samples = completions(&["!loop"; 40]);
    let results = hostile.extract_each(&samples, MAX_SOLO_RETRIES).unwrap();
    assert_eq!(results.len(), 40);
    assert!(results.iter().all(|r| matches!(
        r.as_ref().unwrap_err().kind,
        PluginErrorKind::FuelExhausted { .. }
    )));
    let retried = results
        .iter()
        .filter(|r| !r.as_ref().unwrap_err().plugin.contains("not retried"))
        .count();
    assert_eq!(retried, MAX_SOLO_RETRIES);
}

#[test]
fn a_meta_reward_composes_the_extracted_primitives() {
    let extractor = math();
    let names = extractor.names();
    let program = RewardSpec::Program("outcome + 0.5*format - 0.25*(1 - reasoning)".into())
        .program(sandbox(), &names)
        .unwrap();
    let reward = TextReward::new(extractor, program).unwrap();
    let samples = vec![
        TextSample::new("", "Step 1: 3+4\nStep 2: 7\n\\boxed{7}", "7"),
        TextSample::new("", "\\boxed{8}", "7"),
        TextSample::new("", "7", "7"),
    ];
    assert_eq!(reward.score(&samples).unwrap(), vec![1.5, 0.25, 0.75]);
    let each = reward.score_each(&samples, MAX_SOLO_RETRIES).unwrap();
    assert_eq!(each[1].primitives, vec![0.0, 1.0, 0.0, 0.0]);
    assert_eq!(*each[2].score.as_ref().unwrap(), 0.75);
}

#[test]
fn a_program_that_reads_more_primitives_than_extracted_is_refused() {
    let extractor = math();
    let program = RewardSpec::Program("g5".into())
        .program(sandbox(), &[])
        .unwrap();
    let error = TextReward::new(extractor, program)
        .err()
        .expect("g5 of four");
    assert!(error.to_string().contains("declares 4"), "{error}");
}

#[test]
fn an_environment_is_not_an_extractor() {
    let error = TextExtractor::load(
        sandbox(),
        &component(derl_artifacts::HOUSEHOLD),
        &[],
        Limits::default(),
        TextBudgets::default(),
    )
    .err()
    .expect("an environment");
    assert!(
        matches!(&error.kind, PluginErrorKind::InterfaceMismatch(m) if m.contains("text-primitives")),
        "{error}"
    );
}
