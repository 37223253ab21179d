//! Outside text on its way to a log line ([`escape_controls`]) or a screen ([`isolate`],
//! [`show_bidi_controls`]): line breaks would forge log lines and directional controls reorder
//! text, so controls are shown as code points and each value is isolated (docs/notifications.md).

use std::borrow::Cow;
use std::fmt::Write as _;

/// The largest character boundary of `text` at or before byte `at`: where a cut to `at` bytes
/// ends without splitting a character.
pub fn char_floor(text: &str, at: usize) -> usize {
    (0..=at.min(text.len()))
        .rev()
        .find(|&i| text.is_char_boundary(i))
        .unwrap_or(0)
}

/// FIRST STRONG ISOLATE: starts an isolate whose direction is its first strong character's.
pub const FSI: char = '\u{2068}';
/// POP DIRECTIONAL ISOLATE: ends it.
pub const PDI: char = '\u{2069}';

/// True for the explicit directional formatting characters (embeddings, overrides, isolates).
pub fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

/// `value` with every explicit directional control shown as `[U+XXXX]` (rule 1).
pub fn show_bidi_controls(value: &str) -> Cow<'_, str> {
    if !value.contains(is_bidi_control) {
        return Cow::Borrowed(value);
    }
    let mut out = String::with_capacity(value.len() + 8);
    for c in value.chars() {
        if is_bidi_control(c) {
            let _ = write!(out, "[U+{:04X}]", u32::from(c));
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// `value` for plain text, markdown or a card: its controls shown, isolated in `U+2068` … `U+2069`.
pub fn isolate(value: &str) -> String {
    if value.is_empty() {
        return String::new();
    }
    format!("{FSI}{}{PDI}", show_bidi_controls(value))
}

/// True for what must never reach a log line as itself: controls, line separators, bidi controls.
fn must_escape(c: char) -> bool {
    c.is_control() || matches!(c, '\u{2028}' | '\u{2029}') || is_bidi_control(c)
}

/// `value` with every control character escaped (`\n`, `\u{…}`): one value stays on its line.
pub fn escape_controls(value: &str) -> Cow<'_, str> {
    if !value.contains(must_escape) {
        return Cow::Borrowed(value);
    }
    let mut out = String::with_capacity(value.len() + 8);
    for c in value.chars() {
        match c {
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if must_escape(c) => {
                let _ = write!(out, "\\u{{{:x}}}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cut_never_splits_a_character() {
        let text = "aé€😀";
        let cuts: Vec<usize> = (0..=12).map(|at| char_floor(text, at)).collect();
        assert_eq!(cuts, [0, 1, 1, 3, 3, 3, 6, 6, 6, 6, 10, 10, 10]);
        assert_eq!(char_floor("", 5), 0);
    }

    #[test]
    fn overrides_are_shown_and_values_isolated() {
        assert_eq!(isolate("alice"), "\u{2068}alice\u{2069}");
        assert_eq!(isolate(""), "");
        assert_eq!(
            isolate("al\u{202E}ecila"),
            "\u{2068}al[U+202E]ecila\u{2069}"
        );
        // A stray pop cannot close the isolate early.
        let v = isolate("x\u{2069}\u{202E}y");
        assert_eq!(v, "\u{2068}x[U+2069][U+202E]y\u{2069}");
        assert_eq!(v.matches(PDI).count(), 1);
        for c in [
            '\u{202A}', '\u{202B}', '\u{202C}', '\u{202D}', '\u{2066}', '\u{2067}', '\u{2068}',
        ] {
            assert!(!show_bidi_controls(&format!("a{c}b")).contains(c), "{c:?}");
        }
        // Right-to-left text and the implicit marks are the user's own text.
        assert_eq!(show_bidi_controls("שלום\u{200F}"), "שלום\u{200F}");
    }

    #[test]
    fn logged_values_stay_on_their_line() {
        let forged = "bob\nINFO catalogue API: admin signed in\r\u{1b}[31m\u{2028}\u{202E}";
        let e = escape_controls(forged);
        assert!(
            !e.contains(['\n', '\r', '\u{1b}', '\u{2028}', '\u{202E}']),
            "{e}"
        );
        assert_eq!(
            e,
            "bob\\nINFO catalogue API: admin signed in\\r\\u{1b}[31m\\u{2028}\\u{202e}"
        );
        assert!(matches!(escape_controls("plain é"), Cow::Borrowed(_)));
    }
}
