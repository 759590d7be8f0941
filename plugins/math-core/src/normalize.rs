//! Comparing two answers after numeric normalisation. The DERL reference
//! compares the extracted strings exactly, so `12`, `12.0` and `12,000` vs
//! `12000` differ there; here both sides are first cleaned of typesetting
//! (`$`, spacing macros, `\text{}`/`\mathrm{}` wrappers, a trailing period,
//! surrounding braces, white space) and, when both read as numbers (integers,
//! decimals with thousands separators, `a/b`, `\frac{a}{b}`, `\dfrac`,
//! `\tfrac`, a trailing `%` kept as part of the text), compared as numbers.

/// Whether `answer` equals `reference` after normalisation. Empty answers
/// (after cleaning) never match.
pub fn answers_match(answer: &str, reference: &str, tolerance: f64) -> bool {
    let (answer, reference) = (clean(answer), clean(reference));
    if answer.is_empty() || reference.is_empty() {
        return false;
    }
    match (number(&answer), number(&reference)) {
        (Some(a), Some(b)) => (a - b).abs() <= tolerance * a.abs().max(b.abs()).max(1.0),
        _ => answer == reference,
    }
}

/// Typesetting that is dropped.
const SPACING: [&str; 7] = ["\\left", "\\right", "\\!", "\\,", "\\;", "\\:", "\\ "];

/// Wrappers whose content is kept.
const WRAPPERS: [&str; 4] = ["\\text{", "\\textbf{", "\\mathrm{", "\\mathbf{"];

/// Most layers of surrounding braces removed (`{{7}}` is 7): bounded, so a
/// megabyte of nested braces costs a few linear passes, not one per layer.
const MAX_UNWRAPPED_BRACES: usize = 4;

/// The answer without typesetting: spacing macros, `$`, `\left`/`\right`,
/// `\text{...}`-style wrappers (their content kept), white space, a trailing
/// period, up to four layers of surrounding braces, a leading `+`.
pub fn clean(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(c) = rest.chars().next() {
        if c == '\\' {
            if let Some(after) = strip_any(rest, &SPACING) {
                rest = after;
                continue;
            }
            if let Some(after) = strip_any(rest, &WRAPPERS) {
                // Keep the wrapped text; its closing brace is dropped below.
                out.push('\u{0}');
                rest = after;
                continue;
            }
        }
        // A NUL of the input is dropped: it marks wrappers here.
        if c != '$' && c != '\u{0}' && !c.is_whitespace() {
            out.push(c);
        }
        rest = &rest[c.len_utf8()..];
    }
    let out = drop_wrapper_braces(&out);
    let mut out = out.trim_end_matches('.');
    for _ in 0..MAX_UNWRAPPED_BRACES {
        match out.strip_prefix('{').and_then(|o| o.strip_suffix('}')) {
            Some(inner) if balanced(inner) => out = inner,
            _ => break,
        }
    }
    out.strip_prefix('+').unwrap_or(out).to_owned()
}

/// Removes each wrapper marker (`\u{0}`) and the brace that closes it.
fn drop_wrapper_braces(text: &str) -> String {
    if !text.contains('\u{0}') {
        return text.to_owned();
    }
    let mut out = String::with_capacity(text.len());
    // Depths (in braces opened after the marker) at which a wrapper closes.
    let mut open_wrappers: Vec<usize> = Vec::new();
    let mut depth = 0usize;
    for c in text.chars() {
        match c {
            '\u{0}' => open_wrappers.push(depth),
            '{' => {
                depth += 1;
                out.push(c);
            }
            '}' if open_wrappers.last() == Some(&depth) => {
                open_wrappers.pop();
            }
            '}' => {
                depth = depth.saturating_sub(1);
                out.push(c);
            }
            _ => out.push(c),
        }
    }
    out
}

fn strip_any<'a>(text: &'a str, prefixes: &[&str]) -> Option<&'a str> {
    prefixes.iter().find_map(|p| text.strip_prefix(p))
}

fn balanced(text: &str) -> bool {
    let mut depth = 0i64;
    for b in text.bytes() {
        match b {
            b'{' => depth += 1,
            b'}' => {
                depth -= 1;
                if depth < 0 {
                    return false;
                }
            }
            _ => {}
        }
    }
    depth == 0
}

/// The value of a cleaned answer that is a number: a decimal (thousands
/// separators allowed in groups of three), `a/b`, or `\frac{a}{b}`
/// (`\dfrac`, `\tfrac`) of two decimals, each optionally negative.
pub fn number(text: &str) -> Option<f64> {
    let (negative, body) = match text.strip_prefix('-') {
        Some(body) => (true, body),
        None => (false, text),
    };
    let value = fraction(body).or_else(|| decimal(body))?;
    Some(if negative { -value } else { value })
}

/// A decimal, optionally negative (the parts of a fraction: no nesting, so
/// `1/2/3/...` is one pass, not one call per slash).
fn signed_decimal(text: &str) -> Option<f64> {
    match text.strip_prefix('-') {
        Some(body) => decimal(body).map(|v| -v),
        None => decimal(text),
    }
}

fn fraction(text: &str) -> Option<f64> {
    let latex = ["\\frac", "\\dfrac", "\\tfrac"]
        .iter()
        .find_map(|p| text.strip_prefix(p));
    let (numerator, denominator) = match latex {
        Some(args) => {
            let args = args.strip_prefix('{')?;
            let (numerator, rest) = args.split_once('}')?;
            let denominator = rest.strip_prefix('{')?.strip_suffix('}')?;
            (numerator, denominator)
        }
        None => text.split_once('/')?,
    };
    let (n, d) = (signed_decimal(numerator)?, signed_decimal(denominator)?);
    (d != 0.0).then_some(n / d)
}

fn decimal(text: &str) -> Option<f64> {
    let (integer, fractional) = match text.split_once('.') {
        Some((i, f)) => (i, Some(f)),
        None => (text, None),
    };
    let digits_only = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    let integer_ok = if integer.contains(',') {
        let mut groups = integer.split(',');
        let first = groups.next().unwrap_or("");
        (1..=3).contains(&first.len())
            && digits_only(first)
            && groups.all(|g| g.len() == 3 && digits_only(g))
    } else {
        integer.is_empty() || digits_only(integer)
    };
    let fractional_ok = fractional.is_none_or(digits_only);
    if !integer_ok || !fractional_ok || (integer.is_empty() && fractional.is_none()) {
        return None;
    }
    let plain: String = text.chars().filter(|&c| c != ',').collect();
    plain.parse::<f64>().ok().filter(|v| v.is_finite())
}

#[cfg(test)]
mod tests {
    use super::*;

    const TOL: f64 = 1e-9;

    #[test]
    fn numbers_match_whatever_their_typesetting() {
        assert!(answers_match("12", "12.0", TOL));
        assert!(answers_match("12,000", "12000", TOL));
        assert!(answers_match("$-3.5$", "-3.50", TOL));
        assert!(answers_match("\\frac{1}{2}", "0.5", TOL));
        assert!(answers_match("\\dfrac{3}{4}", "3/4", TOL));
        assert!(answers_match("{7}", "7", TOL));
        assert!(answers_match("7.", "7", TOL));
        assert!(answers_match("+7", "7", TOL));
        assert!(answers_match("\\text{5}", "5", TOL));
        assert!(answers_match("1\\,000", "1000", TOL));
    }

    #[test]
    fn different_answers_do_not_match() {
        assert!(!answers_match("12", "13", TOL));
        assert!(!answers_match("1/2", "2", TOL));
        assert!(!answers_match("", "", TOL));
        assert!(!answers_match("x", "", TOL));
        assert!(
            !answers_match("1,23", "123", TOL),
            "1,23 is not a thousands grouping"
        );
    }

    #[test]
    fn text_answers_match_after_cleaning() {
        assert!(answers_match("\\text{Monday}", "Monday", TOL));
        assert!(answers_match("x + 1", "x+1", TOL));
        assert!(!answers_match("x+1", "x+2", TOL));
    }

    #[test]
    fn a_zero_denominator_is_not_a_number() {
        assert_eq!(number("1/0"), None);
        assert_eq!(number("\\frac{1}{0}"), None);
        assert!(!answers_match("1/0", "2/0", TOL));
        assert!(answers_match("1/0", "1/0", TOL), "compared as text");
    }

    #[test]
    fn huge_digit_strings_are_linear() {
        let big = "9".repeat(1 << 20);
        assert_eq!(number(&big), None, "overflows to infinity, so not a number");
        assert!(answers_match(&big, &big, TOL));
        let slashes = "1/".repeat(1 << 19) + "1";
        assert_eq!(number(&slashes), None);
        let braces = format!("{}7{}", "{".repeat(1 << 19), "}".repeat(1 << 19));
        assert!(
            !answers_match(&braces, "7", TOL),
            "only four layers are unwrapped"
        );
        assert!(answers_match("{{7}}", "7", TOL));
    }
}
