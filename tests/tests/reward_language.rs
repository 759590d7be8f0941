//! Meta-Reward programs compiled by derl-lang, run in the real sandbox: the
//! component scores exactly what the native evaluator computes (bit for
//! bit), describes itself, and every hostile program ends in a typed error.

use derl::plugin::RewardProgram;
use derl_lang::strategies::expr;
use derl_lang::{ParseErrorKind, Program, compile, parse};
use derl_sandbox::{Limits, PluginError, PluginErrorKind};
use derl_tests::sandbox;
use proptest::prelude::*;
use std::time::Instant;
use wasmtime::Store;
use wasmtime::component::{Component, ComponentType, Linker, Lower, TypedFunc};

const NAMES: [&str; 4] = ["success", "progress", "steps", "distance"];

fn program(source: &str) -> Program {
    parse(source, &NAMES).unwrap_or_else(|e| panic!("{e}"))
}

fn load(program: &Program, limits: Limits) -> RewardProgram {
    let bytes = compile(program).expect("compiles");
    RewardProgram::load(sandbox(), &bytes, limits).expect("loads")
}

fn invalid_output(error: PluginError) -> String {
    match error.kind {
        PluginErrorKind::InvalidOutput(message) => message,
        other => panic!("expected an invalid output, got {other:?}"),
    }
}

/// Checks that the component's scores are the native ones, bit for bit, or
/// that the host refused a non-finite score naming the first such episode.
fn assert_agrees(program: &Program, reward: &RewardProgram, stride: usize, values: &[f64]) {
    let native = program.score(stride, values).expect("a well-formed batch");
    match native.iter().position(|v| !v.is_finite()) {
        None => {
            let scored = reward
                .score(stride, values)
                .unwrap_or_else(|e| panic!("{program}: {e}"));
            let bits = |v: &[f64]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
            assert_eq!(bits(&scored), bits(&native), "{program} on {values:?}");
        }
        Some(episode) => {
            let message = invalid_output(reward.score(stride, values).unwrap_err());
            assert!(
                message.starts_with(&format!("score of episode {episode} is ")),
                "{program}: {message}"
            );
        }
    }
}

/// The batch record of the WIT, for calling `score` below the host's checks.
#[derive(ComponentType, Lower)]
#[component(record)]
struct Batch {
    stride: u32,
    values: Vec<f64>,
}

/// A compiled reward instantiated directly with wasmtime on the sandbox's
/// engine, so that `score` can be called without the host's batch checks
/// and repeatedly in one instance.
struct Direct {
    store: Store<()>,
    score: TypedFunc<(Batch,), (Result<Vec<f64>, String>,)>,
}

impl Direct {
    fn new(bytes: &[u8]) -> Direct {
        let engine = sandbox().engine();
        let component = Component::new(engine, bytes).expect("compiles");
        let mut store = Store::new(engine, ());
        store.set_fuel(1 << 40).unwrap();
        store.set_epoch_deadline(1 << 40);
        let instance = Linker::<()>::new(engine)
            .instantiate(&mut store, &component)
            .expect("instantiates with no imports provided");
        let interface = instance
            .get_export_index(&mut store, None, derl_env_api::contract::REWARD_INTERFACE)
            .expect("exports the reward interface");
        let score = instance
            .get_export_index(&mut store, Some(&interface), "score")
            .expect("exports score");
        let score = instance
            .get_typed_func(&mut store, score)
            .expect("score has the WIT signature");
        Direct { store, score }
    }

    fn score(&mut self, stride: u32, values: &[f64]) -> Result<Vec<f64>, String> {
        let batch = Batch {
            stride,
            values: values.to_vec(),
        };
        self.score
            .call(&mut self.store, (batch,))
            .expect("score returns")
            .0
    }
}

/// Calls `score` once in a fresh direct instance.
fn score_directly(bytes: &[u8], stride: u32, values: &[f64]) -> Result<Vec<f64>, String> {
    Direct::new(bytes).score(stride, values)
}

// Random programs (derl_lang::strategies), printed, parsed back.

/// Finite primitive values: ordinary ones, and often the signed zeros and
/// extremes where min/max, division and overflow are delicate.
fn value() -> impl Strategy<Value = f64> {
    prop_oneof![
        3 => (-20i32..=20).prop_map(|n| f64::from(n) / 4.0),
        2 => prop::sample::select(vec![0.0, -0.0, 1.0, -1.0, 1e300, -1e300, 1e-310]),
        1 => any::<u64>()
            .prop_map(f64::from_bits)
            .prop_filter("finite", |x| x.is_finite()),
    ]
}

proptest! {
    // Each case compiles a component with wasmtime (tens of ms).
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn compiled_and_native_agree_bit_for_bit(
        tree in expr(4, 5, 40),
        extra_columns in 0usize..2,
        batches in prop::collection::vec(prop::collection::vec(value(), 0..40), 1..4),
    ) {
        let program = parse(&tree.to_string(), &NAMES).expect("printed trees parse");
        let reward = load(&program, Limits::default());
        prop_assert_eq!(&reward.info().description, &program.normalized());
        prop_assert_eq!(reward.info().min_stride as usize, program.min_stride());
        let stride = program.min_stride().max(1) + extra_columns;
        for values in batches {
            let whole = values.len() / stride * stride;
            assert_agrees(&program, &reward, stride, &values[..whole]);
        }
    }
}

#[test]
fn describe_returns_the_normalized_text_and_min_stride() {
    let program = program("success + 0.5*progress*g3 - 0.1*(distance)");
    let reward = load(&program, Limits::default());
    assert_eq!(reward.info().description, "g1 + 0.5 * g2 * g3 - 0.1 * g4");
    assert_eq!(reward.info().min_stride, 4);
    let constant = load(&program_of("0.25"), Limits::default());
    assert_eq!(constant.info().description, "0.25");
    assert_eq!(constant.info().min_stride, 0);
    // A program that reads no primitive scores any stride, even zero.
    assert_eq!(constant.score(0, &[]).unwrap(), Vec::<f64>::new());
    assert_eq!(constant.score(3, &[1.0, 2.0, 3.0]).unwrap(), vec![0.25]);
}

fn program_of(source: &str) -> Program {
    parse(source, &[]).unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn the_papers_example_scores_as_written() {
    let program = program_of("g1 + 0.5*g2*g3 - 0.1*g4");
    let reward = load(&program, Limits::default());
    let values = [1.0, 0.5, 0.25, 2.0, 0.0, 1.0, 1.0, 0.0];
    let scores = reward.score(4, &values).unwrap();
    assert_eq!(
        scores,
        vec![
            1.0 + 0.5 * 0.5 * 0.25 - 0.1 * 2.0,
            0.0 + 0.5 * 1.0 * 1.0 - 0.1 * 0.0
        ]
    );
}

#[test]
fn division_by_zero_yields_zero() {
    let reward = load(&program_of("0/0 + g1/g2 + g1/0"), Limits::default());
    let scores = reward.score(2, &[3.0, 0.0, 3.0, -0.0, 6.0, 2.0]).unwrap();
    assert_eq!(
        scores.iter().map(|s| s.to_bits()).collect::<Vec<_>>(),
        [0f64.to_bits(), 0f64.to_bits(), 3f64.to_bits()]
    );
}

#[test]
fn min_max_and_signed_zeros_match_the_native_semantics() {
    let sources = [
        "min(g1, g2)",
        "max(g1, g2)",
        "min(g1 * (1e308 * 10) - g1 * (1e308 * 10), g2)",
        "max(g2, g1 * (1e308 * 10) - g1 * (1e308 * 10))",
        "clamp(g1, g2, 0.5)",
        "if(g1 - g1, 1, -g2)",
        "-g1 * g2",
        "abs(-g1) == g1",
    ];
    let rows = [0.0, -0.0, -0.0, 0.0, 1.0, -1.0, -2.5, 0.75, 1e300, -1e300];
    for source in sources {
        let program = program_of(source);
        let reward = load(&program, Limits::default());
        assert_agrees(&program, &reward, 2, &rows);
    }
}

#[test]
fn overflow_is_an_invalid_output_not_a_panic() {
    let reward = load(&program_of("1e308 * 1e308"), Limits::default());
    let message = invalid_output(reward.score(1, &[0.0]).unwrap_err());
    assert_eq!(message, "score of episode 0 is inf");
    let reward = load(&program_of("g1 * 1e308 - g1 * 1e308"), Limits::default());
    let message = invalid_output(reward.score(1, &[1.0, 10.0]).unwrap_err());
    assert_eq!(message, "score of episode 1 is NaN");
    // The same program is fine where it stays finite.
    assert_eq!(reward.score(1, &[0.5]).unwrap(), vec![0.0]);
    // A literal that is itself too large never reaches the compiler.
    assert_eq!(
        parse("1e309", &[]).unwrap_err().kind(),
        ParseErrorKind::NumberOutOfRange
    );
}

#[test]
fn empty_batches_score_to_nothing() {
    let program = program("success - 0.01 * steps");
    let reward = load(&program, Limits::default());
    assert_eq!(reward.score(3, &[]).unwrap(), Vec::<f64>::new());
    assert_eq!(reward.score(4, &[]).unwrap(), Vec::<f64>::new());
}

#[test]
fn undeclared_primitives_are_parse_errors() {
    let error = parse("success + g5", &NAMES).unwrap_err();
    assert_eq!(error.kind(), ParseErrorKind::PrimitiveOutOfRange);
    assert!(
        error.to_string().contains(
            "g5 does not exist: the environment declares 4 primitives (g1..g4) at byte 10"
        )
    );
    let error = parse("sucess", &NAMES).unwrap_err();
    assert_eq!(
        error.message(),
        "unknown primitive 'sucess' (did you mean 'success'?); available: g1..g4, success, progress, steps, distance"
    );
}

#[test]
fn batches_of_the_wrong_shape_are_refused() {
    let program = program("success + steps");
    let bytes = compile(&program).unwrap();
    let reward = RewardProgram::load(sandbox(), &bytes, Limits::default()).unwrap();
    // The host refuses malformed batches before calling the program.
    let message = invalid_output(reward.score(3, &[1.0; 7]).unwrap_err());
    assert!(message.contains("not a whole number of rows"), "{message}");
    let message = invalid_output(reward.score(2, &[1.0; 4]).unwrap_err());
    assert!(message.contains("reads 3 primitives"), "{message}");
    // An empty batch of too short rows reaches the program, which refuses it
    // with its own error, the one the native scorer gives.
    match reward.score(2, &[]).unwrap_err().kind {
        PluginErrorKind::Guest(message) => {
            assert_eq!(message, program.score(2, &[]).unwrap_err().0);
            assert_eq!(
                message,
                "the program reads primitives up to g3 but the batch's stride is 2"
            );
        }
        other => panic!("expected the program's own error, got {other:?}"),
    }
    // Below the host's checks, the program checks every batch itself.
    for (stride, values) in [
        (3u32, &[1.0; 7][..]),
        (2, &[1.0; 4][..]),
        (0, &[1.0][..]),
        (3, &[2.0; 6][..]),
        (5, &[2.0; 10][..]),
        (3, &[][..]),
    ] {
        let direct = score_directly(&bytes, stride, values);
        let native = program.score(stride as usize, values).map_err(|e| e.0);
        assert_eq!(direct, native, "stride {stride}, {} values", values.len());
    }
    let direct = score_directly(&bytes, 1_000_000_007, &[1.0; 7]);
    assert_eq!(
        direct.unwrap_err(),
        "a batch of 7 values is not a whole number of rows of stride 1000000007"
    );
    let constant = compile(&program_of("7")).unwrap();
    assert_eq!(
        score_directly(&constant, 0, &[1.0; 12]).unwrap_err(),
        "a batch of 12 values needs a non-zero stride"
    );
    assert_eq!(score_directly(&constant, 0, &[]), Ok(vec![]));
}

#[test]
fn large_batches_grow_memory_and_respect_the_cap() {
    let program = program_of("g1 * 2 + g2");
    let values: Vec<f64> = (0..200_000).map(f64::from).collect();
    let reward = load(&program, Limits::default());
    let scores = reward.score(2, &values).unwrap();
    assert_eq!(scores, program.score(2, &values).unwrap());
    let capped = load(
        &program,
        Limits {
            memory_bytes: 1 << 20,
            ..Limits::default()
        },
    );
    let error = capped.score(2, &values).unwrap_err();
    assert!(
        matches!(error.kind, PluginErrorKind::MemoryLimit { .. }),
        "{error}"
    );
    // A batch that fits still works with the cap.
    assert_eq!(capped.score(2, &values[..1000]).unwrap().len(), 500);
}

#[test]
fn the_largest_programs_run() {
    let deep = format!("{}g1{}", "-(".repeat(32), ")".repeat(32));
    let wide = vec!["g1 * 0.5"; 250].join(" + ");
    for source in [deep, wide] {
        let program = program_of(&source);
        let reward = load(&program, Limits::default());
        assert_agrees(&program, &reward, 1, &[1.0, -2.0, 0.25]);
    }
}

/// Prints what a reward costs; the numbers are in the report of the work.
#[test]
fn a_batch_of_64_rows_scores_quickly() {
    let program = program_of("g1 + 0.5*g2*g3 - 0.1*g4 + min(g1, -g2) + if(g3 > 0.5, 1, 0)");
    let bytes = compile(&program).unwrap();
    // The second compilation: the WIT is resolved once per process.
    let started = Instant::now();
    assert_eq!(compile(&program).unwrap(), bytes);
    let compile_time = started.elapsed();
    let started = Instant::now();
    let reward = RewardProgram::load(sandbox(), &bytes, Limits::default()).unwrap();
    let load_time = started.elapsed();
    let values: Vec<f64> = (0..256).map(|i| f64::from(i) / 256.0).collect();
    reward.score(4, &values).unwrap();
    let calls = 200;
    let started = Instant::now();
    for _ in 0..calls {
        reward.score(4, &values).unwrap();
    }
    let per_call = started.elapsed() / calls;
    // The same with a constant program: the cost of the call itself.
    let constant = load(&program_of("1"), Limits::default());
    let started = Instant::now();
    for _ in 0..calls {
        constant.score(4, &values).unwrap();
    }
    let baseline = started.elapsed() / calls;
    // The call alone, in one warm instance.
    let mut direct = Direct::new(&bytes);
    let expected = program.score(4, &values).unwrap();
    assert_eq!(direct.score(4, &values).unwrap(), expected);
    let started = Instant::now();
    for _ in 0..calls {
        direct.score(4, &values).unwrap();
    }
    let warm = started.elapsed() / calls;
    eprintln!(
        "{} bytes; derl-lang compile {compile_time:?}; wasmtime load {load_time:?}; score 64 rows: {per_call:?} per host call (fresh instance included; {baseline:?} for a constant program), {warm:?} in a warm instance",
        bytes.len()
    );
    assert!(per_call.as_millis() < 50, "{per_call:?} per call");
}
