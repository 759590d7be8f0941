//! Seed programs for the cold start: a text file of one program a line.

use crate::error::MetaError;
use crate::grammar::{Grammar, Program};

/// The seed file shipped with the crate (`host/meta/seeds.txt`): 34 programs over
/// `g1..g5`, `g1` being the outcome signal by convention.
pub const DEFAULT_SEEDS: &str = include_str!("../seeds.txt");

/// The programs of a seed file that fit a grammar, and the lines that do not.
#[derive(Debug)]
pub struct SeedSelection {
    /// Programs in file order.
    pub programs: Vec<Program>,
    /// Lines left out (a primitive the environment lacks, a constant outside the
    /// grammar, too long, malformed), with the reason.
    pub rejected: Vec<(String, MetaError)>,
}

/// Parses a seed file: one program a line, blank lines and `#` comments ignored.
pub fn select_seeds(text: &str, grammar: &Grammar) -> SeedSelection {
    let mut selection = SeedSelection {
        programs: Vec::new(),
        rejected: Vec::new(),
    };
    for line in text.lines() {
        let line = line.split('#').next().unwrap_or("").trim();
        if line.is_empty() {
            continue;
        }
        match grammar.parse_program(line) {
            Ok(program) => selection.programs.push(program),
            Err(error) => selection.rejected.push((line.to_owned(), error)),
        }
    }
    selection
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::grammar::GrammarConfig;

    #[test]
    fn the_shipped_seeds_fit_the_default_grammar_with_five_primitives() {
        let grammar = Grammar::new(GrammarConfig::default(), 5).unwrap();
        let selection = select_seeds(DEFAULT_SEEDS, &grammar);
        assert!(selection.rejected.is_empty(), "{:?}", selection.rejected);
        assert_eq!(selection.programs.len(), 34);
        // Printing is canonical: the file is written the way the grammar prints.
        for program in &selection.programs {
            assert_eq!(
                grammar.program(program.expr()).unwrap().source(),
                program.source()
            );
        }
    }

    #[test]
    fn seeds_beyond_the_primitive_count_are_skipped() {
        let grammar = Grammar::new(GrammarConfig::default(), 2).unwrap();
        let selection = select_seeds(DEFAULT_SEEDS, &grammar);
        assert_eq!(selection.programs.len(), 12);
        assert!(
            selection
                .rejected
                .iter()
                .all(|(line, _)| line.contains("g3") || line.contains("g4") || line.contains("g5"))
        );
        let text = "g1 # outcome only\n\n  # nothing\ng1 + 0.3*g2\n";
        let selection = select_seeds(text, &grammar);
        assert_eq!(selection.programs.len(), 1);
        assert_eq!(selection.rejected.len(), 1);
    }
}
