//! Guest-provided text made safe to show a person: control characters
//! escaped (so a guest cannot clear the screen, move the cursor or set the
//! window title) and long text cut with a note saying how much was left out.
//! Run files keep the exact bytes; only what reaches a terminal goes through
//! here.

use std::borrow::Cow;

/// Default cut for one guest-provided string shown to a person, in bytes.
pub const SHOWN_BYTES: usize = 4096;

/// `text` with every control character except line breaks and tabs written
/// as a `\u{..}` escape, cut after about `max_bytes` bytes (at a character
/// boundary) with a note of how many bytes were left out.
pub fn printable(text: &str, max_bytes: usize) -> Cow<'_, str> {
    let clean = |c: char| !c.is_control() || c == '\n' || c == '\t';
    if text.len() <= max_bytes && text.chars().all(clean) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len().min(max_bytes) + 32);
    let mut shown = 0;
    for (at, c) in text.char_indices() {
        if shown >= max_bytes {
            out.push_str(&format!(" [... {} more bytes]", text.len() - at));
            return Cow::Owned(out);
        }
        if clean(c) {
            out.push(c);
            shown += c.len_utf8();
        } else {
            let escaped = c.escape_unicode().to_string();
            shown += escaped.len();
            out.push_str(&escaped);
        }
    }
    Cow::Owned(out)
}

/// [`printable`] on one line: line breaks and tabs are escaped too.
pub fn printable_line(text: &str, max_bytes: usize) -> Cow<'_, str> {
    if text.contains(['\n', '\t', '\r']) {
        let flat: String = text
            .chars()
            .map(|c| if c == '\n' || c == '\t' { ' ' } else { c })
            .collect();
        Cow::Owned(printable(&flat, max_bytes).into_owned())
    } else {
        printable(text, max_bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_are_escaped_and_plain_text_is_borrowed() {
        assert!(matches!(
            printable("You open the fridge 1.", 100),
            Cow::Borrowed(_)
        ));
        assert_eq!(
            printable("\u{1b}[2J\u{1b}]0;pwned\u{7}ok\nnext\tcol", 100),
            "\\u{1b}[2J\\u{1b}]0;pwned\\u{7}ok\nnext\tcol"
        );
        assert_eq!(printable_line("a\nb\tc\rd", 100), "a b c\\u{d}d");
    }

    #[test]
    fn long_text_is_cut_at_a_character_boundary_with_a_note() {
        let long = "é".repeat(1000);
        let shown = printable(&long, 11);
        assert_eq!(
            shown,
            format!("{} [... {} more bytes]", "é".repeat(6), 2000 - 12)
        );
        assert_eq!(
            printable(&"x".repeat(1 << 20), 8).len(),
            8 + " [... 1048568 more bytes]".len()
        );
    }
}
