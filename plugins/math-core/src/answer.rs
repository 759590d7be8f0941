//! Finding the final answer in a text, as the DERL reference does
//! (`extract_answer` in its `meta_reward_grpo.py`): a GSM8K `#### N` line
//! first, then the last `\boxed{...}` (or `\boxed X`, or `\fbox{...}`), else
//! the whole text. Every scan is a single linear pass: no recursion, no
//! backtracking, whatever the nesting or the length.

/// The final answer of `text`, borrowed from it.
pub fn final_answer(text: &str) -> &str {
    if text.contains("####") {
        gsm8k_answer(text)
    } else if text.contains("\\boxed{") {
        boxed_answer(text).unwrap_or("")
    } else {
        text
    }
}

/// The number after the first `#### ` that is followed by one (`-`, digits,
/// `.` and `,`), or "" when none is (the reference's
/// `#### (\-?[0-9\.\,]+)`). Commas are removed later, by normalisation.
fn gsm8k_answer(text: &str) -> &str {
    let mut rest = text;
    while let Some(at) = rest.find("#### ") {
        let after = &rest[at + 5..];
        let digits_from = usize::from(after.starts_with('-'));
        let len = after[digits_from..]
            .bytes()
            .take_while(|b| b.is_ascii_digit() || *b == b'.' || *b == b',')
            .count();
        if len > 0 {
            return &after[..digits_from + len];
        }
        rest = &rest[at + 1..];
    }
    ""
}

/// The content of the last boxed answer, as the reference's
/// `last_boxed_only_string` then `remove_boxed`: when `\boxed ` (with a
/// space) occurs, what follows its last occurrence up to a `$`; otherwise the
/// braces after the last `\boxed` (or, without one, the last `\fbox`), matched
/// by counting. `None` when the braces never close.
pub fn boxed_answer(text: &str) -> Option<&str> {
    if let Some(at) = text.rfind("\\boxed ") {
        let after = &text[at + "\\boxed ".len()..];
        return Some(after.split('$').next().unwrap_or(""));
    }
    let (at, macro_len) = match text.rfind("\\boxed") {
        Some(at) => (at, "\\boxed".len()),
        None => (text.rfind("\\fbox")?, "\\fbox".len()),
    };
    let tail = &text[at + macro_len..];
    let mut depth = 0usize;
    for (offset, byte) in tail.bytes().enumerate() {
        match byte {
            b'{' => depth += 1,
            b'}' if depth > 0 => {
                depth -= 1;
                if depth == 0 {
                    let inner = &tail[..offset];
                    return inner.strip_prefix('{');
                }
            }
            b'}' => return None,
            _ => {}
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_gsm8k_marker_comes_first() {
        assert_eq!(final_answer("so 3+4 = 7\n#### 7"), "7");
        assert_eq!(final_answer("#### -1,234.5 dollars"), "-1,234.5");
        assert_eq!(final_answer("#### none\n#### 12"), "12");
        assert_eq!(final_answer("#### none"), "");
        assert_eq!(final_answer("#### 5 and \\boxed{6}"), "5");
    }

    #[test]
    fn the_last_box_wins_and_braces_nest() {
        assert_eq!(final_answer("\\boxed{1} then \\boxed{2}"), "2");
        assert_eq!(final_answer("\\boxed{\\frac{1}{2}}."), "\\frac{1}{2}");
        // As the reference: without `\boxed{` the whole text is the answer.
        assert_eq!(final_answer("$\\boxed 42$ done"), "$\\boxed 42$ done");
        assert_eq!(boxed_answer("$\\boxed 42$ done"), Some("42"));
        assert_eq!(final_answer("\\boxed{1} or $\\boxed 2$"), "2");
        assert_eq!(final_answer("\\boxed{unclosed {"), "");
        assert_eq!(boxed_answer("\\fbox{9}"), Some("9"));
        assert_eq!(boxed_answer("no box"), None);
    }

    #[test]
    fn without_a_marker_the_answer_is_the_whole_text() {
        assert_eq!(final_answer("42"), "42");
        assert_eq!(final_answer(""), "");
    }

    #[test]
    fn deep_nesting_is_one_linear_pass() {
        let deep = format!("\\boxed{}{}", "{".repeat(1 << 20), "}".repeat(1 << 20));
        assert_eq!(final_answer(&deep).len(), (1 << 20) * 2 - 2);
        let unclosed = format!("\\boxed{}", "{".repeat(1 << 20));
        assert_eq!(final_answer(&unclosed), "");
    }
}
