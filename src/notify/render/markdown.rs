//! Literal text for hosts that render markdown (Teams' Adaptive Card `TextBlock`s).
//!
//! Every ASCII punctuation character is backslash-escaped (always literal in CommonMark, and it
//! breaks auto-linking), so no dialect's specials need knowing; control characters become spaces.

/// `s` as markdown that renders as exactly `s` (control characters shown as spaces).
pub fn literal(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + s.len() / 4);
    for ch in s.chars() {
        if ch.is_ascii_punctuation() {
            out.push('\\');
            out.push(ch);
        } else if ch.is_control() {
            out.push(' ');
        } else {
            out.push(ch);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Reads escaped text back the way a CommonMark parser reads backslash escapes; `None` when
    /// an ASCII punctuation character is left unescaped (it could start markup).
    fn read_back(escaped: &str) -> Option<String> {
        let mut out = String::new();
        let mut chars = escaped.chars();
        while let Some(ch) = chars.next() {
            match ch {
                '\\' => out.push(chars.next().filter(char::is_ascii_punctuation)?),
                c if c.is_ascii_punctuation() => return None,
                c => out.push(c),
            }
        }
        Some(out)
    }

    fn shown(s: &str) -> String {
        s.chars()
            .map(|c| if c.is_control() { ' ' } else { c })
            .collect()
    }

    #[test]
    fn hostile_values_become_literal_text() {
        assert_eq!(
            literal("**root** [reset](https://evil.example/login)"),
            r"\*\*root\*\* \[reset\]\(https\:\/\/evil\.example\/login\)"
        );
        assert_eq!(literal("a\n\n# b\r\t"), r"a  \# b  ");
        assert_eq!(literal("vm-01 é 漢"), r"vm\-01 é 漢");
        assert_eq!(literal(""), "");
    }

    #[test]
    fn every_short_string_reads_back_unchanged_with_no_bare_punctuation() {
        // Exhaustive over an alphabet covering every ASCII punctuation character, a letter, a
        // digit, a space, controls and non-ASCII: every string of up to 3 of them.
        let mut alphabet: Vec<char> = (0u8..128)
            .map(char::from)
            .filter(char::is_ascii_punctuation)
            .collect();
        alphabet.extend(['a', '7', ' ', '\n', '\u{7}', 'é', '\u{200b}', '😀']);
        let mut strings = vec![String::new()];
        for _ in 0..3 {
            let longer: Vec<String> = strings
                .iter()
                .flat_map(|s| alphabet.iter().map(move |c| format!("{s}{c}")))
                .collect();
            strings.extend(longer);
            strings.sort();
            strings.dedup();
        }
        assert!(strings.len() > 50_000);
        for s in &strings {
            assert_eq!(
                read_back(&literal(s)).as_deref(),
                Some(shown(s).as_str()),
                "{s:?}"
            );
        }
    }
}
