//! Reasoning structure, as the DERL reference's `g3_cot_reward` defines it:
//! at least two numbered-list items (`\b\d+\.\s+`: a number that starts a
//! word, a period, white space) or at least two step markers (`\bstep\s*\d+`,
//! any case). Its third pattern (`step N:` / `step N.`) is a special case of
//! the second. Scanned by hand in one pass; word characters are letters,
//! digits and `_` (Unicode, as in Python's `re`), digits are ASCII.

/// Numbered-list items and step markers in `text`, each counted up to `cap`.
pub fn step_marks(text: &str, cap: usize) -> (usize, usize) {
    (numbered_items(text, cap), step_markers(text, cap))
}

fn is_word(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// Whether position `at` of `text` starts a word (nothing or a non-word
/// character before it).
fn word_starts_at(text: &str, at: usize) -> bool {
    text[..at].chars().next_back().is_none_or(|c| !is_word(c))
}

fn numbered_items(text: &str, cap: usize) -> usize {
    let bytes = text.as_bytes();
    let (mut count, mut i) = (0, 0);
    while i < bytes.len() && count < cap {
        if !bytes[i].is_ascii_digit() || !word_starts_at(text, i) {
            i += 1;
            continue;
        }
        let digits_end = i + bytes[i..].iter().take_while(|b| b.is_ascii_digit()).count();
        let after_period = digits_end + 1;
        if bytes.get(digits_end) == Some(&b'.')
            && text[after_period..]
                .chars()
                .next()
                .is_some_and(char::is_whitespace)
        {
            count += 1;
            i = after_period;
        } else {
            i = digits_end;
        }
    }
    count
}

fn step_markers(text: &str, cap: usize) -> usize {
    let bytes = text.as_bytes();
    let (mut count, mut i) = (0, 0);
    while i + 4 <= bytes.len() && count < cap {
        if !bytes[i..i + 4].eq_ignore_ascii_case(b"step") || !word_starts_at(text, i) {
            i += 1;
            continue;
        }
        let spaces = text[i + 4..]
            .chars()
            .take_while(|c| c.is_whitespace())
            .map(char::len_utf8)
            .sum::<usize>();
        let digits_from = i + 4 + spaces;
        let digits = bytes[digits_from..]
            .iter()
            .take_while(|b| b.is_ascii_digit())
            .count();
        if digits > 0 {
            count += 1;
        }
        // Nothing inside `step` and the spaces after it can start a marker.
        i = digits_from + digits;
    }
    count
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbered_lists_count_items_that_start_a_word() {
        assert_eq!(step_marks("1. add\n2. carry\n3. done", 9).0, 3);
        assert_eq!(step_marks("x1. no\na2. no", 9).0, 0);
        assert_eq!(step_marks("pi is 3.14 and 2.5 ", 9).0, 0);
        assert_eq!(
            step_marks("1.5. here", 9).0,
            1,
            "the 5 after a period starts a word"
        );
        assert_eq!(step_marks("12.\tyes", 9).0, 1);
        assert_eq!(
            step_marks("7.", 9).0,
            0,
            "needs white space after the period"
        );
    }

    #[test]
    fn step_markers_ignore_case_and_spacing() {
        assert_eq!(step_marks("Step 1: a. STEP2. b. step   3 c", 9).1, 3);
        assert_eq!(step_marks("steps 1 and footstep 2", 9).1, 0);
        assert_eq!(step_marks("step one", 9).1, 0);
        assert_eq!(step_marks("ünstep 1", 9).1, 0, "ü is a word character");
        assert_eq!(step_marks("(step 1)", 9).1, 1);
    }

    #[test]
    fn counts_stop_at_the_cap() {
        let many = "1. a ".repeat(1000);
        assert_eq!(step_marks(&many, 2).0, 2);
    }

    #[test]
    fn multibyte_text_and_long_inputs_are_safe() {
        let text = "é".repeat(1 << 19) + "step 1 step 2 ";
        assert_eq!(
            step_marks(&text, 9),
            (0, 1),
            "the first step follows a letter"
        );
        let digits = "1".repeat(1 << 20);
        assert_eq!(step_marks(&digits, 9), (0, 0));
        let almost = "step ".repeat(1 << 18);
        assert_eq!(step_marks(&almost, 9).1, 0);
    }
}
