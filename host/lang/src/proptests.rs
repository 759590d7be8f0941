//! Property tests: normalized text parses back to the same tree, arbitrary
//! token soup never panics the parser, evaluation never panics.

use crate::ast::Program;
use crate::parse;
use crate::strategies::expr;
use proptest::prelude::*;

const NAMES: [&str; 3] = ["success", "progress", "steps"];

/// Any f64 at all, NaN and infinities included, with ordinary values common.
fn value() -> impl Strategy<Value = f64> {
    prop_oneof![
        3 => (-1000i32..1000).prop_map(|n| f64::from(n) / 10.0),
        1 => any::<u64>().prop_map(f64::from_bits),
        1 => prop::sample::select(vec![0.0, -0.0, f64::INFINITY, f64::NEG_INFINITY, f64::NAN, f64::MAX]),
    ]
}

/// Source text made of the language's tokens in random order.
fn token_soup() -> impl Strategy<Value = String> {
    let tokens = vec![
        "g1", "g2", "g7", "g0", "success", "progress", "sucess", "(", ")", "-", "+", "*", "/", "<",
        "<=", ">", ">=", "==", "!=", "min(", "max(", "abs(", "if(", "clamp(", ",", "0.5", "1e300",
        ".5", "3", "1e-9", " ", "\n", "=", "é", "1e", "min",
    ];
    prop::collection::vec(prop::sample::select(tokens), 0..40).prop_map(|t| t.concat())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn normalized_text_parses_back_to_the_same_tree(e in expr(3, 6, 48)) {
        let program = Program::new(e);
        let text = program.normalized();
        for names in [&NAMES[..], &[]] {
            let again = parse(&text, names).map_err(|e| TestCaseError::fail(format!("{text}: {e}")))?;
            prop_assert_eq!(&again, &program, "{}", text);
            prop_assert_eq!(again.normalized(), text.clone());
        }
        // Redundant parentheses change nothing.
        let wrapped = parse(&format!("(({text}))"), &[]).unwrap();
        prop_assert_eq!(wrapped, program);
    }

    #[test]
    fn token_soup_never_panics_and_what_parses_round_trips(source in token_soup()) {
        match parse(&source, &NAMES) {
            Ok(program) => {
                let text = program.normalized();
                let again = parse(&text, &NAMES).map_err(|e| TestCaseError::fail(format!("{source} -> {text}: {e}")))?;
                prop_assert_eq!(again, program);
            }
            Err(error) => {
                prop_assert!(error.position() <= source.len());
                prop_assert!(source.is_char_boundary(error.position()));
                let shown = error.to_string();
                prop_assert!(shown.contains('^'), "{}", shown);
            }
        }
    }

    #[test]
    fn evaluation_never_panics_and_score_is_eval_per_row(
        e in expr(4, 6, 48),
        values in prop::collection::vec(value(), 0..24),
    ) {
        let program = Program::new(e);
        let scored = program.score(4, &values[..values.len() / 4 * 4]).unwrap();
        for (row, score) in values.chunks_exact(4).zip(&scored) {
            prop_assert_eq!(program.eval(row).to_bits(), score.to_bits());
        }
        // Short rows read missing primitives as NaN, without panicking.
        let _ = program.eval(&values[..values.len().min(2)]);
    }
}

#[test]
fn the_largest_normalized_forms_still_parse() {
    // Long numbers and tokens at the limits: normalizing never makes a
    // program too long to parse again.
    let widest = vec!["2.2250738585072014e-308"; 512].join("+");
    let program = parse(&widest, &[]).unwrap();
    assert_eq!(parse(&program.normalized(), &[]).unwrap(), program);
    let names: Vec<String> = (0..1024).map(|i| format!("n{i}")).collect();
    let names: Vec<&str> = names.iter().map(String::as_str).collect();
    let renamed = vec!["n1023"; 512].join("+");
    let program = parse(&renamed, &names).unwrap();
    assert_eq!(parse(&program.normalized(), &names).unwrap(), program);
    let deep = format!("{}g1{}", "-(".repeat(32), ")".repeat(32));
    let program = parse(&deep, &[]).unwrap();
    assert_eq!(parse(&program.normalized(), &[]).unwrap(), program);
}
