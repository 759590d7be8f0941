//! Any text: parsing never panics; what parses prints a normalized form that
//! parses back to the same tree and evaluates without panicking.

#![no_main]

use libfuzzer_sys::fuzz_target;

const NAMES: [&str; 3] = ["success", "progress", "steps"];

fuzz_target!(|data: &[u8]| {
    let Ok(source) = std::str::from_utf8(data) else {
        return;
    };
    match derl_lang::parse(source, &NAMES) {
        Ok(program) => {
            let text = program.normalized();
            let again = derl_lang::parse(&text, &NAMES)
                .unwrap_or_else(|e| panic!("normalized form {text:?} does not parse: {e}"));
            assert_eq!(again, program, "{text}");
            let _ = program.eval(&[1.0, 0.5, -2.0]);
        }
        Err(error) => {
            assert!(source.is_char_boundary(error.position()));
            let _ = error.to_string();
        }
    }
});
