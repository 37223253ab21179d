//! Reading one row of a query answer by its column names: the answer gives `columns` once and each
//! row as a list of values in that order. A `dynamic` column (an object, an array) may come as the
//! value itself or as its JSON text, so both read the same.

use serde_json::Value;

/// The cell of column `name` (`None`: no such column).
pub fn cell<'a>(columns: &[String], row: &'a [Value], name: &str) -> Option<&'a Value> {
    columns
        .iter()
        .position(|c| c == name)
        .and_then(|i| row.get(i))
}

/// The cell of column `name` as text (a missing column or null reads empty).
pub fn text(columns: &[String], row: &[Value], name: &str) -> String {
    match cell(columns, row, name) {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Null) | None => String::new(),
        Some(other) => other.to_string(),
    }
}

/// A dynamic value as JSON: JSON text parsed (null when it is not JSON), anything else as it is.
pub fn dynamic(v: Option<&Value>) -> Value {
    match v {
        Some(Value::String(s)) => serde_json::from_str(s).unwrap_or(Value::Null),
        Some(v) => v.clone(),
        None => Value::Null,
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn a_column_reads_by_name_and_dynamic_text_reads_as_its_value() {
        let columns = vec!["A".to_owned(), "B".to_owned(), "C".to_owned()];
        let row = vec![json!("x"), json!(3), json!("{\"k\": [1]}")];
        assert_eq!(text(&columns, &row, "A"), "x");
        assert_eq!(text(&columns, &row, "B"), "3");
        assert_eq!(text(&columns, &row, "D"), "");
        assert_eq!(dynamic(cell(&columns, &row, "C")), json!({"k": [1]}));
        assert_eq!(dynamic(cell(&columns, &row, "A")), Value::Null);
        assert_eq!(dynamic(Some(&json!({"k": 1}))), json!({"k": 1}));
    }
}
