//! Reading settings one by one while collecting every problem by name.
//!
//! [`Reader`] is what each domain's `from_reader` receives from [`crate::config::Config`]: it trims
//! values, treats an empty value as unset, and records a problem as `NAME: what is expected` — never
//! the value, which may be a secret or a Key Vault reference.

use std::fmt::Display;
use std::ops::RangeInclusive;
use std::str::FromStr;

/// A view of the environment (app settings) that remembers what was wrong with it.
pub struct Reader<'a> {
    env: &'a dyn Fn(&str) -> Option<String>,
    errors: Vec<String>,
}

impl<'a> Reader<'a> {
    /// Reads through `env` (the process environment at start-up, a map in tests).
    pub fn new(env: &'a dyn Fn(&str) -> Option<String>) -> Self {
        Self {
            env,
            errors: Vec::new(),
        }
    }

    /// The trimmed value of `name`; `None` when unset or blank.
    pub fn get(&self, name: &str) -> Option<String> {
        (self.env)(name)
            .map(|v| v.trim().to_owned())
            .filter(|v| !v.is_empty())
    }

    /// A whole number within `range`; `default` when unset. Anything else is a problem.
    pub fn number<T>(&mut self, name: &str, default: T, range: RangeInclusive<T>) -> T
    where
        T: FromStr + PartialOrd + Display + Copy,
    {
        let Some(v) = self.get(name) else {
            return default;
        };
        match v.parse::<T>() {
            Ok(n) if range.contains(&n) => n,
            _ => {
                self.problem(
                    name,
                    &format!(
                        "expected a whole number from {} to {}",
                        range.start(),
                        range.end()
                    ),
                );
                default
            }
        }
    }

    /// `true`/`false` (or `1`/`0`, any case); `default` when unset.
    pub fn flag(&mut self, name: &str, default: bool) -> bool {
        self.try_flag(name)
            .unwrap_or_else(|problem| {
                self.errors.push(problem);
                None
            })
            .unwrap_or(default)
    }

    /// [`flag`](Self::flag) without recording: `Ok(None)` when unset, else the problem's text (for
    /// settings whose problems must degrade a feature rather than stop start-up).
    ///
    /// # Errors
    /// `NAME: expected true or false`.
    pub fn try_flag(&self, name: &str) -> Result<Option<bool>, String> {
        match self.get(name).map(|v| v.to_ascii_lowercase()).as_deref() {
            None => Ok(None),
            Some("true" | "1") => Ok(Some(true)),
            Some("false" | "0") => Ok(Some(false)),
            Some(_) => Err(format!("{name}: expected true or false")),
        }
    }

    /// Records that `name` is wrong, saying what is expected.
    pub fn problem(&mut self, name: &str, expected: &str) {
        self.errors.push(format!("{name}: {expected}"));
    }

    /// Records problems found by a parser that already names its settings.
    pub fn extend(&mut self, problems: impl IntoIterator<Item = String>) {
        self.errors.extend(problems);
    }

    /// The list problems are collected in, for parsers that append to a `Vec`.
    pub fn errors_mut(&mut self) -> &mut Vec<String> {
        &mut self.errors
    }

    /// Every problem found, in the order met.
    pub fn into_errors(self) -> Vec<String> {
        self.errors
    }
}

/// Runs `f` on a reader over `pairs`, returning what it read and the problems found (unit tests).
#[cfg(test)]
pub(crate) fn read_pairs<T>(
    pairs: &[(&str, &str)],
    f: impl FnOnce(&mut Reader<'_>) -> T,
) -> (T, Vec<String>) {
    let env = |k: &str| {
        pairs
            .iter()
            .find(|(n, _)| *n == k)
            .map(|(_, v)| (*v).to_owned())
    };
    let mut r = Reader::new(&env);
    let out = f(&mut r);
    (out, r.into_errors())
}

#[cfg(test)]
mod tests {
    use super::read_pairs as with;

    #[test]
    fn numbers_in_range_defaults_and_problems_without_values() {
        let (v, errs) = with(
            &[
                ("A", " 7 "),
                ("B", "-3"),
                ("C", "abc"),
                ("D", "99"),
                ("E", ""),
            ],
            |r| {
                (
                    r.number("A", 1u32, 1..=10),
                    r.number("B", 5i64, 1..=10),
                    r.number("C", 5u64, 1..=10),
                    r.number("D", 5u16, 1..=10),
                    r.number("E", 4u8, 1..=10),
                )
            },
        );
        assert_eq!(v, (7, 5, 5, 5, 4));
        assert_eq!(
            errs,
            [
                "B: expected a whole number from 1 to 10",
                "C: expected a whole number from 1 to 10",
                "D: expected a whole number from 1 to 10",
            ]
        );
        assert!(errs.iter().all(|e| !e.contains("abc") && !e.contains("99")));
    }

    #[test]
    fn flags_accept_true_false_one_zero_only() {
        let (v, errs) = with(&[("A", "TRUE"), ("B", "0"), ("C", "yes")], |r| {
            (
                r.flag("A", false),
                r.flag("B", true),
                r.flag("C", false),
                r.flag("UNSET", true),
            )
        });
        assert_eq!(v, (true, false, false, true));
        assert_eq!(errs, ["C: expected true or false"]);
    }
}
