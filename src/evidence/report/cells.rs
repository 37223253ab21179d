//! The page's pieces that every section builds with: an outside value in its own `<bdi>`, and a
//! table (a list's too) whose header row printing repeats.

use maud::{Markup, html};

use crate::telemetry::text::show_bidi_controls;

/// An outside value in the page: isolated in its own `<bdi>`, its directional controls shown, a
/// time as `2026-11-29 07:02:35Z`. A line may break at its spaces and after `@`, `/` and a `-`
/// outside a number (`<wbr>`), never inside a word: the table's columns take their widths from
/// these pieces.
pub(super) fn outside(value: &str) -> Markup {
    let time = crate::dates::readable_utc(value);
    let shown = show_bidi_controls(time.as_deref().unwrap_or(value));
    html! { bdi { @for (i, piece) in wrap_points(&shown).into_iter().enumerate() { @if i > 0 { wbr; } (piece) } } }
}

/// `text` cut after each `@` and `/`, and after each `-` not between two digits (a date); a short
/// value (an e-mail, a name) stays one piece, as narrow a column as its text.
fn wrap_points(text: &str) -> Vec<&str> {
    if text.chars().count() <= 24 {
        return vec![text];
    }
    let mut pieces = Vec::new();
    let mut start = 0;
    let mut prev = None;
    let mut chars = text.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        let next = chars.peek().map(|(_, n)| *n);
        let digits = prev.is_some_and(|p: char| p.is_ascii_digit())
            && next.is_some_and(|n| n.is_ascii_digit());
        if matches!(c, '@' | '/') || (c == '-' && !digits) {
            let end = i + c.len_utf8();
            if next.is_some() {
                pieces.push(&text[start..end]);
                start = end;
            }
        }
        prev = Some(c);
    }
    pieces.push(&text[start..]);
    pieces
}

/// A table with its caption and a header row that printing repeats on every page it spans.
pub(super) fn table(class: Option<&str>, caption: Markup, head: &[&str], body: Markup) -> Markup {
    html! {
        table class=[class] {
            caption { (caption) }
            thead { tr { @for h in head { th { (h) } } } }
            tbody { (body) }
        }
    }
}

/// A list's table: a line of outside values a row.
pub(super) fn listed<R: AsRef<[String]>>(caption: Markup, head: &[&str], rows: &[R]) -> Markup {
    let body = html! { @for row in rows { tr { @for c in row.as_ref() { td { (outside(c)) } } } } };
    table(Some("list"), caption, head, body)
}
