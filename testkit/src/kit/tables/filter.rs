//! The in-memory fake's evaluation of the product's structured table [`Filter`], as the Table
//! service evaluates the OData it renders: strings compare ordinally, numbers numerically, and a
//! missing property never matches.

use std::cmp::Ordering;

use bastion_recordings::tables::Entity;
use bastion_recordings::tables::filter::{Filter, Lit, Op};
use serde_json::Value;

/// The partition `filter` is restricted to (`PartitionKey eq 'x'`, alone or in a top-level
/// `and`), if any.
pub fn pinned_partition(filter: &Filter) -> Option<&str> {
    match filter {
        Filter::Cmp(prop, Op::Eq, Lit::Str(v)) if prop == "PartitionKey" => Some(v),
        Filter::And(parts) => parts.iter().find_map(pinned_partition),
        _ => None,
    }
}

/// Evaluates `filter` against `entity`, as the service would.
pub fn matches(filter: &Filter, entity: &Entity) -> bool {
    match filter {
        Filter::Cmp(prop, op, lit) => entity
            .get(prop)
            .and_then(|v| compare(v, lit))
            .is_some_and(|o| holds(*op, o)),
        Filter::And(parts) => parts.iter().all(|p| matches(p, entity)),
        Filter::Or(parts) => parts.iter().any(|p| matches(p, entity)),
    }
}

fn holds(op: Op, ord: Ordering) -> bool {
    match op {
        Op::Eq => ord == Ordering::Equal,
        Op::Ne => ord != Ordering::Equal,
        Op::Gt => ord == Ordering::Greater,
        Op::Ge => ord != Ordering::Less,
        Op::Lt => ord == Ordering::Less,
        Op::Le => ord != Ordering::Greater,
    }
}

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
    fn evaluates_like_the_service() {
        let e = json!({"PartitionKey": "p", "N": "42", "B": true, "S": "abc"});
        let e = e.as_object().expect("object");
        assert!(matches(&Filter::int("N", Op::Ge, 42), e));
        assert!(!matches(&Filter::int("N", Op::Gt, 42), e));
        assert!(matches(&Filter::bool("B", true), e));
        assert!(matches(&Filter::str("S", Op::Lt, "abd"), e));
        assert!(
            !matches(&Filter::str("Missing", Op::Ne, "x"), e),
            "missing property never matches"
        );
        assert!(matches(
            &Filter::Or(vec![Filter::str("S", Op::Eq, "zz"), Filter::partition("p")]),
            e
        ));
    }
}
