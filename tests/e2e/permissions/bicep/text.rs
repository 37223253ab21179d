//! Lexical helpers for reading Bicep: comments, balanced brackets, `key: value` fields, quoted
//! lists, role ids, identifiers.

/// The file without `//` comments (outside strings).
pub(in crate::permissions) fn strip_comments(text: &str) -> String {
    text.lines()
        .map(|line| {
            let mut quoted = false;
            let b = line.as_bytes();
            let mut end = line.len();
            for i in 0..b.len() {
                match b[i] {
                    b'\'' => quoted = !quoted,
                    b'/' if !quoted && b.get(i + 1) == Some(&b'/') => {
                        end = i;
                        break;
                    }
                    _ => {}
                }
            }
            &line[..end]
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// The balanced `{...}` / `[...]` text starting at the first opener of `s` (strings skipped).
pub(super) fn balanced(s: &str) -> &str {
    let (mut depth, mut quoted, mut start) = (0i32, false, None);
    for (i, c) in s.char_indices() {
        match c {
            '\'' => quoted = !quoted,
            '{' | '[' if !quoted => {
                start.get_or_insert(i);
                depth += 1;
            }
            '}' | ']' if !quoted => {
                depth -= 1;
                if depth == 0 {
                    return &s[start.unwrap_or(0)..=i];
                }
            }
            _ => {}
        }
    }
    s
}

/// The value after `key:` inside `body` (to the end of its line, or a balanced list).
pub(super) fn field<'a>(body: &'a str, key: &str) -> Option<&'a str> {
    let needle = format!("{key}:");
    let i = body
        .match_indices(&needle)
        .find(|(i, _)| body[..*i].ends_with([' ', '\n', '{']))?
        .0;
    let v = body[i + needle.len()..].trim_start();
    Some(if v.starts_with('[') {
        balanced(v)
    } else {
        v.lines().next().unwrap_or("").trim()
    })
}

/// The quoted strings of a `[...]` list.
pub(super) fn strings(list: &str) -> Vec<String> {
    list.split('\'')
        .skip(1)
        .step_by(2)
        .map(str::to_owned)
        .collect()
}

/// A list given inline or through `var <name> = [...]`.
pub(super) fn list(text: &str, value: &str) -> Result<Vec<String>, String> {
    if value.starts_with('[') {
        return Ok(strings(value));
    }
    let decl = format!("var {value} = ");
    let i = text
        .find(&decl)
        .ok_or_else(|| format!("no `var {value}`"))?;
    Ok(strings(balanced(&text[i + decl.len()..])))
}

pub(super) fn guids(s: &str) -> Vec<String> {
    let b = s.as_bytes();
    (0..b.len().saturating_sub(35))
        .filter(|&i| {
            (0..36).all(|k| match k {
                8 | 13 | 18 | 23 => b[i + k] == b'-',
                _ => b[i + k].is_ascii_hexdigit(),
            })
        })
        .map(|i| s[i..i + 36].to_ascii_lowercase())
        .collect()
}

/// `(...)` at the start of `s`, parentheses balanced, without the outer pair.
pub(super) fn balanced_parens(s: &str) -> &str {
    let s = s.trim_start();
    let mut depth = 0;
    for (i, c) in s.char_indices() {
        match c {
            '(' => depth += 1,
            ')' => {
                depth -= 1;
                if depth == 0 {
                    return &s[1..i];
                }
            }
            _ => {}
        }
    }
    s
}

/// `expr` with the identifier `name` (not parts of longer names) replaced by `by`.
pub(super) fn replace_ident(expr: &str, name: &str, by: &str) -> String {
    let ident = |c: char| c.is_ascii_alphanumeric() || c == '_';
    let mut out = String::new();
    let mut word = String::new();
    let mut quoted = false;
    for c in expr.chars().chain(std::iter::once(' ')) {
        if c == '\'' {
            quoted = !quoted;
        }
        if ident(c) && !quoted {
            word.push(c);
            continue;
        }
        out.push_str(if word == name { by } else { &word });
        word.clear();
        out.push(c);
    }
    out.pop();
    out
}

/// The items of an unquoted `[a, b]` list (identifiers).
pub(super) fn split_list(list: &str) -> Vec<String> {
    list.trim_matches(['[', ']'])
        .split([',', '\n'])
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}
