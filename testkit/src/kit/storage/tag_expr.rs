//! Parser and evaluator for blob-tag expressions (`Find Blobs by Tags` and `x-ms-if-tags`).
//!
//! Used by the in-memory fake so it answers exactly like the service: keys in double quotes (or bare),
//! values in single quotes, `= > >= < <=` (plus `<>` and `OR` for conditions), `AND`, lexicographic
//! comparison, and a missing tag never matching.

use std::cmp::Ordering;

use bastion_recordings::storage::Tags;

use bastion_recordings::azure::AzureError;

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Key(String),
    Val(String),
    Op(&'static str),
    And,
    Or,
    Open,
    Close,
}

/// A parsed expression.
#[derive(Debug, Clone, PartialEq)]
pub enum TagExpr {
    /// `key op 'value'`.
    Cmp(String, &'static str, String),
    /// Both sides hold.
    And(Box<TagExpr>, Box<TagExpr>),
    /// Either side holds.
    Or(Box<TagExpr>, Box<TagExpr>),
}

impl TagExpr {
    /// An optional `x-ms-if-tags` condition, parsed; a malformed one is `Permanent`.
    ///
    /// # Errors
    /// `Permanent` naming what is wrong with the expression.
    pub fn condition(if_tags: Option<&str>) -> Result<Option<Self>, AzureError> {
        if_tags
            .map(Self::parse)
            .transpose()
            .map_err(AzureError::Permanent)
    }

    /// Parses an expression; `Err` with a message for malformed input (the service answers 400).
    pub fn parse(text: &str) -> Result<Self, String> {
        let toks = lex(text)?;
        let mut pos = 0;
        let expr = parse_or(&toks, &mut pos)?;
        if pos != toks.len() {
            return Err(format!("unexpected token at {pos}"));
        }
        Ok(expr)
    }

    /// Evaluates against a tag set.
    pub fn eval(&self, tags: &Tags) -> bool {
        match self {
            Self::Cmp(k, op, v) => tags
                .get(k)
                .is_some_and(|have| holds(op, have.as_str().cmp(v.as_str()))),
            Self::And(a, b) => a.eval(tags) && b.eval(tags),
            Self::Or(a, b) => a.eval(tags) || b.eval(tags),
        }
    }

    /// The tag keys named in the expression (the service returns only these).
    pub fn keys(&self) -> Vec<String> {
        match self {
            Self::Cmp(k, _, _) => vec![k.clone()],
            Self::And(a, b) | Self::Or(a, b) => {
                let mut v = a.keys();
                v.extend(b.keys());
                v
            }
        }
    }
}

fn holds(op: &str, ord: Ordering) -> bool {
    match op {
        "=" => ord == Ordering::Equal,
        "<>" => ord != Ordering::Equal,
        ">" => ord == Ordering::Greater,
        ">=" => ord != Ordering::Less,
        "<" => ord == Ordering::Less,
        _ => ord != Ordering::Greater, // "<="
    }
}

fn lex(text: &str) -> Result<Vec<Tok>, String> {
    let chars: Vec<char> = text.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        match c {
            ' ' | '\t' => i += 1,
            '(' => (out.push(Tok::Open), i += 1).1,
            ')' => (out.push(Tok::Close), i += 1).1,
            '"' | '\'' => {
                let end = chars[i + 1..]
                    .iter()
                    .position(|&x| x == c)
                    .ok_or("unterminated quote")?
                    + i
                    + 1;
                let s: String = chars[i + 1..end].iter().collect();
                out.push(if c == '"' { Tok::Key(s) } else { Tok::Val(s) });
                i = end + 1;
            }
            '<' | '>' | '=' => {
                let two: String = chars[i..(i + 2).min(chars.len())].iter().collect();
                let ops = ["<=", ">=", "<>", "<", ">", "="];
                let op = ops.into_iter().find(|o| two.starts_with(o)).unwrap_or("=");
                i += op.len();
                out.push(Tok::Op(op));
            }
            _ => {
                let end = chars[i..]
                    .iter()
                    .position(|x| " \t()<>=\"'".contains(*x))
                    .map_or(chars.len(), |p| p + i);
                let word: String = chars[i..end].iter().collect();
                out.push(match word.to_ascii_uppercase().as_str() {
                    "AND" => Tok::And,
                    "OR" => Tok::Or,
                    _ => Tok::Key(word),
                });
                i = end;
            }
        }
    }
    Ok(out)
}

fn parse_or(t: &[Tok], pos: &mut usize) -> Result<TagExpr, String> {
    let mut left = parse_and(t, pos)?;
    while t.get(*pos) == Some(&Tok::Or) {
        *pos += 1;
        left = TagExpr::Or(Box::new(left), Box::new(parse_and(t, pos)?));
    }
    Ok(left)
}

fn parse_and(t: &[Tok], pos: &mut usize) -> Result<TagExpr, String> {
    let mut left = parse_atom(t, pos)?;
    while t.get(*pos) == Some(&Tok::And) {
        *pos += 1;
        left = TagExpr::And(Box::new(left), Box::new(parse_atom(t, pos)?));
    }
    Ok(left)
}

fn parse_atom(t: &[Tok], pos: &mut usize) -> Result<TagExpr, String> {
    if t.get(*pos) == Some(&Tok::Open) {
        *pos += 1;
        let e = parse_or(t, pos)?;
        if t.get(*pos) != Some(&Tok::Close) {
            return Err("missing )".into());
        }
        *pos += 1;
        return Ok(e);
    }
    match (t.get(*pos), t.get(*pos + 1), t.get(*pos + 2)) {
        (Some(Tok::Key(k)), Some(Tok::Op(op)), Some(Tok::Val(v))) => {
            *pos += 3;
            Ok(TagExpr::Cmp(k.clone(), op, v.clone()))
        }
        _ => Err(format!("expected key op 'value' at token {pos}")),
    }
}

/// Enforces the service's tag limits so the fake rejects what Azure would reject.
pub fn validate_tags(tags: &Tags) -> Result<(), AzureError> {
    let ok_char = |c: char| c.is_ascii_alphanumeric() || " +-.:=_/".contains(c);
    if tags.len() > 10 {
        return Err(AzureError::Permanent("more than 10 tags".into()));
    }
    for (k, v) in tags {
        if k.is_empty()
            || k.len() > 128
            || v.len() > 256
            || !k.chars().all(ok_char)
            || !v.chars().all(ok_char)
        {
            return Err(AzureError::Permanent(format!("invalid tag {k:?}")));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit::maps::owned as tags;

    #[test]
    fn range_queries_compare_lexicographically() {
        let e = TagExpr::parse("\"retain-until\" < '2026-11-22'").expect("parses");
        assert!(e.eval(&tags(&[("retain-until", "2026-11-21")])));
        assert!(!e.eval(&tags(&[("retain-until", "2026-11-22")])));
        assert!(
            !e.eval(&tags(&[("other", "1")])),
            "missing key never matches"
        );
        assert_eq!(e.keys(), vec!["retain-until".to_owned()]);
    }

    #[test]
    fn conditions_support_and_or_not_equal() {
        let e = TagExpr::parse("retention-class <> 'legal-hold' AND (a = '1' OR b >= '2')")
            .expect("parses");
        assert!(e.eval(&tags(&[("retention-class", "pci-1y"), ("b", "3")])));
        assert!(!e.eval(&tags(&[("retention-class", "legal-hold"), ("a", "1")])));
    }

    #[test]
    fn malformed_expressions_are_rejected() {
        assert!(TagExpr::parse("\"k\" < ").is_err());
        assert!(TagExpr::parse("'unterminated").is_err());
        assert!(TagExpr::parse("(a = '1'").is_err());
    }
}
