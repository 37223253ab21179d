//! A small structured filter for table queries.
//!
//! The REST client renders it to an OData `$filter` string (quotes doubled, so values cannot break
//! out of a literal); the in-memory fake evaluates it directly. Comparisons follow the Table service:
//! strings compare ordinally, numbers numerically, and a missing property never matches.

#[cfg(any(test, feature = "test-support"))]
use {super::Entity, serde_json::Value, std::cmp::Ordering};

/// A comparison operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    /// `eq`
    Eq,
    /// `ne`
    Ne,
    /// `gt`
    Gt,
    /// `ge`
    Ge,
    /// `lt`
    Lt,
    /// `le`
    Le,
}

impl Op {
    fn odata(self) -> &'static str {
        match self {
            Self::Eq => "eq",
            Self::Ne => "ne",
            Self::Gt => "gt",
            Self::Ge => "ge",
            Self::Lt => "lt",
            Self::Le => "le",
        }
    }

    #[cfg(any(test, feature = "test-support"))]
    fn holds(self, ord: Ordering) -> bool {
        match self {
            Self::Eq => ord == Ordering::Equal,
            Self::Ne => ord != Ordering::Equal,
            Self::Gt => ord == Ordering::Greater,
            Self::Ge => ord != Ordering::Less,
            Self::Lt => ord == Ordering::Less,
            Self::Le => ord != Ordering::Greater,
        }
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

    /// The partition a filter is restricted to (`PartitionKey eq 'x'`, alone or in a top-level
    /// `and`), if any.
    #[cfg(any(test, feature = "test-support"))]
    pub fn pinned_partition(&self) -> Option<&str> {
        match self {
            Self::Cmp(prop, Op::Eq, Lit::Str(v)) if prop == "PartitionKey" => Some(v),
            Self::And(parts) => parts.iter().find_map(Self::pinned_partition),
            _ => None,
        }
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
                format!("{prop} {} {value}", op.odata())
            }
            Self::And(parts) => join(parts, " and "),
            Self::Or(parts) => join(parts, " or "),
        }
    }

    /// Evaluates the filter against an entity, as the service would.
    #[cfg(any(test, feature = "test-support"))]
    pub fn matches(&self, entity: &Entity) -> bool {
        match self {
            Self::Cmp(prop, op, lit) => entity
                .get(prop)
                .and_then(|v| compare(v, lit))
                .is_some_and(|o| op.holds(o)),
            Self::And(parts) => parts.iter().all(|p| p.matches(entity)),
            Self::Or(parts) => parts.iter().any(|p| p.matches(entity)),
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

#[cfg(any(test, feature = "test-support"))]
fn compare(value: &Value, lit: &Lit) -> Option<Ordering> {
    match (value, lit) {
        (Value::String(s), Lit::Str(l)) => Some(s.as_str().cmp(l.as_str())),
        // Int64 values are stored as strings with an annotation.
        (Value::String(s), Lit::Int(l)) => s.parse::<i64>().ok().map(|v| v.cmp(l)),
        (Value::Number(n), Lit::Int(l)) => n.as_i64().map(|v| v.cmp(l)),
        (Value::Bool(b), Lit::Bool(l)) => Some(b.cmp(l)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

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

    #[test]
    fn evaluates_like_the_service() {
        let e = json!({"PartitionKey": "p", "N": "42", "B": true, "S": "abc"});
        let e = e.as_object().expect("object");
        assert!(Filter::int("N", Op::Ge, 42).matches(e));
        assert!(!Filter::int("N", Op::Gt, 42).matches(e));
        assert!(Filter::bool("B", true).matches(e));
        assert!(Filter::str("S", Op::Lt, "abd").matches(e));
        assert!(
            !Filter::str("Missing", Op::Ne, "x").matches(e),
            "missing property never matches"
        );
        assert!(
            Filter::Or(vec![Filter::str("S", Op::Eq, "zz"), Filter::partition("p")]).matches(e)
        );
    }
}
