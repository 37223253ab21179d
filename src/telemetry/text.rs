//! Outside text on its way to a reader: a log line ([`escape_controls`]) or a person's screen
//! ([`isolate`], [`show_bidi_controls`]). Values from audit logs, blob names, principals and
//! Resource Manager are chosen by someone else; they may carry line breaks (which would start a
//! forged log line) or Unicode directional controls (which reorder the text around them:
//! `U+202E` RIGHT-TO-LEFT OVERRIDE makes "alice\u{202E} → vm-01" read backwards).
//!
//! **Bidi rule** (the page, the evidence report, Teams and Slack cards, the same everywhere):
//! 1. The explicit directional controls inside a value — embeddings and overrides `U+202A`–`U+202E`,
//!    isolates `U+2066`–`U+2069` — are shown as their code point (`[U+202E]`) instead of acting:
//!    a reviewer sees the trick, and no stray `U+2069` can end the isolation below early. The
//!    implicit marks (`U+200E`, `U+200F`, `U+061C`) stay: they cannot reach outside an isolate.
//! 2. Each value is isolated from the text around it: HTML puts it in its own `<bdi>` element (or an
//!    element with `unicode-bidi: isolate`); plain text, markdown and card text wrap it in
//!    `U+2068` FIRST STRONG ISOLATE … `U+2069` POP DIRECTIONAL ISOLATE, which a right-to-left name
//!    also needs to keep the arrows and labels beside it in place. A client without isolate support
//!    shows them as nothing (they are invisible format characters), and rule 1 already keeps every
//!    override out.

use std::borrow::Cow;
use std::fmt::Write as _;

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

/// `value` for plain text, markdown or a card: its controls shown, isolated in `U+2068` … `U+2069`
/// (rule 2). Empty stays empty.
pub fn isolate(value: &str) -> String {
    if value.is_empty() {
        return String::new();
    }
    let shown = show_bidi_controls(value);
    let mut out = String::with_capacity(shown.len() + 6);
    out.push(FSI);
    out.push_str(&shown);
    out.push(PDI);
    out
}

/// True for what must never reach a log line as itself: control characters (a line break would
/// start a forged line, an escape sequence would drive the terminal), the Unicode line and
/// paragraph separators, and the directional controls.
fn must_escape(c: char) -> bool {
    c.is_control() || matches!(c, '\u{2028}' | '\u{2029}') || is_bidi_control(c)
}

/// `value` with every control character escaped (`\n`, `\r`, `\t`, else `\u{…}`), so that one
/// logged value stays on its line and says what it holds.
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
