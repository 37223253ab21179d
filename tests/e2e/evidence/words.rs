//! No word of the report broken inside: every word of every table cell of `report.html` is found
//! whole in the printed PDF's text (`pdftotext -layout`), or broken only after `@`, `/` or `-`
//! (each piece then whole); and no time is shown as `…T07:02:35Z` (the report writes
//! `2026-11-29 07:02:35Z`, which may wrap at its space).

/// The text of each `<td>` of `html`, tags dropped and entities decoded.
fn cells(html: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = html;
    while let Some(at) = rest.find("<td") {
        let after = &rest[at..];
        let Some(open) = after.find('>') else { break };
        let Some(close) = after.find("</td>") else {
            break;
        };
        let inner = &after[open + 1..close];
        let mut text = String::new();
        let mut in_tag = false;
        for c in inner.chars() {
            match c {
                '<' => in_tag = true,
                '>' => in_tag = false,
                c if !in_tag => text.push(c),
                _ => {}
            }
        }
        out.push(
            text.replace("&lt;", "<")
                .replace("&gt;", ">")
                .replace("&quot;", "\"")
                .replace("&#39;", "'")
                .replace("&amp;", "&"),
        );
        rest = &after[close..];
    }
    out
}

/// True for `2026-11-29T07:…`: a time with its `T`.
fn t_time(word: &str) -> bool {
    let b = word.as_bytes();
    b.len() > 13
        && b[..4].iter().all(u8::is_ascii_digit)
        && b[4] == b'-'
        && b[7] == b'-'
        && b[10] == b'T'
        && b[11].is_ascii_digit()
}

/// The words of `html`'s table cells that the PDF's `layout` text breaks inside (or shows as a
/// `T` time); empty when none is.
pub(super) fn broken_words(html: &str, layout: &str) -> Vec<String> {
    let mut bad = Vec::new();
    let mut words = 0;
    for cell in cells(html) {
        for word in cell.split_whitespace().filter(|w| w.chars().count() >= 3) {
            words += 1;
            if t_time(word) {
                bad.push(format!("{word} (a time with its T)"));
                continue;
            }
            if layout.contains(word) {
                continue;
            }
            // Broken only where a wrap is allowed: each piece ends after `@`, `/` or `-`.
            let mut pieces = Vec::new();
            let mut piece = String::new();
            for c in word.chars() {
                piece.push(c);
                if matches!(c, '@' | '/' | '-') {
                    pieces.push(std::mem::take(&mut piece));
                }
            }
            pieces.push(piece);
            if pieces
                .iter()
                .any(|p| !p.is_empty() && !layout.contains(p.as_str()))
            {
                bad.push(word.to_owned());
            }
        }
    }
    assert!(words > 20, "the report's tables hold {words} words");
    bad.sort();
    bad.dedup();
    bad
}
