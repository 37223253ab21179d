//! A small structured filter for table queries.
//!
//! The REST client renders it to an OData `$filter` string (quotes doubled, so values cannot break
//! out of a literal); the in-memory fake evaluates it directly (the test kit's `tables::filter`).

use crate::names::named;

named! {
    /// A comparison operator.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub enum Op {
        /// Equal.
        Eq = "eq",
        /// Not equal.
        Ne = "ne",
        /// Greater than.
        Gt = "gt",
        /// Greater than or equal.
        Ge = "ge",
        /// Less than.
        Lt = "lt",
        /// Less than or equal.
        Le = "le",
    }
}

/// A literal on the right-hand side of a comparison.
#[derive(Debug, Clone, PartialEq)]
pub enum Lit {
    /// A string (also used for ISO-8601 timestamps stored as strings).
    Str(String),
    /// A 64-bit integer (rendered with the `L` suffix, matching `Edm.Int64` properties).
    Int(i64),
    /// A boolean.
    Bool(bool),
}

/// A filter expression.
#[derive(Debug, Clone, PartialEq)]
pub enum Filter {
    /// `property op literal`.
    Cmp(String, Op, Lit),
    /// All must hold.
    And(Vec<Filter>),
    /// Any must hold.
    Or(Vec<Filter>),
}

impl Filter {
    /// `property op 'string'`.
    pub fn str(prop: &str, op: Op, value: impl Into<String>) -> Self {
        Self::Cmp(prop.to_owned(), op, Lit::Str(value.into()))
    }

    /// `property op 123L`.
    pub fn int(prop: &str, op: Op, value: i64) -> Self {
        Self::Cmp(prop.to_owned(), op, Lit::Int(value))
    }

    /// `property eq true|false`.
    pub fn bool(prop: &str, value: bool) -> Self {
        Self::Cmp(prop.to_owned(), Op::Eq, Lit::Bool(value))
    }

    /// `PartitionKey eq 'pk'`.
    pub fn partition(pk: &str) -> Self {
        Self::str("PartitionKey", Op::Eq, pk)
    }

    /// Renders the OData `$filter` text.
    pub fn to_odata(&self) -> String {
        match self {
            Self::Cmp(prop, op, lit) => {
                let value = match lit {
                    Lit::Str(s) => format!("'{}'", s.replace('\'', "''")),
                    Lit::Int(i) => format!("{i}L"),
                    Lit::Bool(b) => b.to_string(),
                };
                format!("{prop} {} {value}", op.as_str())
            }
            Self::And(parts) => join(parts, " and "),
            Self::Or(parts) => join(parts, " or "),
        }
    }
}

fn join(parts: &[Filter], sep: &str) -> String {
    let rendered: Vec<String> = parts
        .iter()
        .map(|p| format!("({})", p.to_odata()))
        .collect();
    rendered.join(sep)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_odata_with_doubled_quotes() {
        let f = Filter::And(vec![
            Filter::partition("2025-03-14"),
            Filter::str("UserName", Op::Eq, "o'brien"),
        ]);
        assert_eq!(
            f.to_odata(),
            "(PartitionKey eq '2025-03-14') and (UserName eq 'o''brien')"
        );
        assert_eq!(Filter::int("Size", Op::Gt, 5).to_odata(), "Size gt 5L");
    }
}
