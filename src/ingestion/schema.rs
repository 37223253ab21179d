//! A declaration of custom tables and their streams (the shape of `sentinel/tables.json`): each
//! table's name, the data collection rule stream that feeds it, its stable id column and its
//! columns with the types a DCR stream declaration accepts. The loopback fake
//! (the test kit's `ingestion::check_record`) holds one record to its stream's columns.

use serde::Deserialize;

/// Columns Log Analytics reserves: a custom table may not declare them.
pub const RESERVED: &[&str] = &[
    "_ResourceId",
    "id",
    "_SubscriptionId",
    "TenantId",
    "Type",
    "UniqueId",
    "Title",
];

/// Longest column name.
pub const MAX_COLUMN_NAME: usize = 45;

/// Every table of a declaration.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Declaration {
    /// The tables, in the order the drain sends them.
    pub tables: Vec<TableDecl>,
}

/// One custom table. The columns are in the shape of a DCR stream declaration (name and type),
/// so the Bicep hands them to the rule as they are; their descriptions, for the table schema, sit
/// beside them.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TableDecl {
    /// Table name (`…_CL`).
    pub name: String,
    /// DCR stream name (`Custom-…`).
    pub stream: String,
    /// The stable id column.
    pub id: String,
    /// What the table holds.
    pub description: String,
    /// The columns.
    pub columns: Vec<Column>,
    /// What each column holds, by name.
    pub descriptions: std::collections::BTreeMap<String, String>,
}

/// One column.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Column {
    /// Name.
    pub name: String,
    /// Type, as a DCR stream declaration spells it.
    #[serde(rename = "type")]
    pub kind: ColumnType,
}

/// The column types of a DCR stream declaration.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ColumnType {
    /// Text.
    String,
    /// 32-bit integer.
    Int,
    /// 64-bit integer.
    Long,
    /// Floating point.
    Real,
    /// `true` / `false`.
    Boolean,
    /// ISO 8601 date and time.
    Datetime,
    /// Any JSON value.
    Dynamic,
}

impl Declaration {
    /// Parses a declaration.
    ///
    /// # Errors
    /// Not JSON of this shape.
    pub fn parse(text: &str) -> Result<Self, String> {
        serde_json::from_str(text).map_err(|e| format!("table declaration: {e}"))
    }

    /// The table named `name`.
    pub fn by_name(&self, name: &str) -> Option<&TableDecl> {
        self.tables.iter().find(|t| t.name == name)
    }

    /// What breaks the service's naming rules: `_CL` tables, `Custom-` streams, column names of
    /// at most 45 letters, digits and underscores starting with a letter, no reserved name, no
    /// duplicate, `TimeGenerated` a datetime and the id column a declared string.
    pub fn problems(&self) -> Vec<String> {
        let mut out = Vec::new();
        for t in &self.tables {
            if !t.name.ends_with("_CL") || !t.stream.starts_with("Custom-") {
                out.push(format!("{}: tables end _CL, streams start Custom-", t.name));
            }
            let mut seen = std::collections::HashSet::new();
            for c in &t.columns {
                let valid = c.name.len() <= MAX_COLUMN_NAME
                    && c.name.starts_with(|ch: char| ch.is_ascii_alphabetic())
                    && c.name
                        .chars()
                        .all(|ch| ch.is_ascii_alphanumeric() || ch == '_');
                if !valid || RESERVED.iter().any(|r| r.eq_ignore_ascii_case(&c.name)) {
                    out.push(format!("{}.{}: not a valid column name", t.name, c.name));
                }
                if !seen.insert(c.name.to_ascii_lowercase()) {
                    out.push(format!("{}.{}: declared twice", t.name, c.name));
                }
            }
            let typed = |name: &str, kind: ColumnType| {
                t.columns.iter().any(|c| c.name == name && c.kind == kind)
            };
            if !typed("TimeGenerated", ColumnType::Datetime) {
                out.push(format!("{}: no TimeGenerated datetime column", t.name));
            }
            if !typed(&t.id, ColumnType::String) {
                out.push(format!(
                    "{}: id column {} is not a string column",
                    t.name, t.id
                ));
            }
            let named: std::collections::BTreeSet<&String> =
                t.columns.iter().map(|c| &c.name).collect();
            if named != t.descriptions.keys().collect() {
                out.push(format!(
                    "{}: every column, and only they, described",
                    t.name
                ));
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::testkit::ingestion::check_record;

    fn table() -> TableDecl {
        let d = Declaration::parse(
            r#"{"tables":[{"name":"T_CL","stream":"Custom-T","id":"RowId","description":"t",
            "columns":[{"name":"TimeGenerated","type":"datetime"},{"name":"RowId","type":"string"},
                       {"name":"Count","type":"int"},{"name":"Size","type":"long"},
                       {"name":"On","type":"boolean"},{"name":"Data","type":"dynamic"}],
            "descriptions":{"TimeGenerated":"","RowId":"","Count":"","Size":"","On":"","Data":""}}]}"#,
        )
        .expect("parses");
        assert!(d.problems().is_empty(), "{:?}", d.problems());
        d.tables[0].clone()
    }

    #[test]
    fn records_of_the_declared_columns_and_types_pass() {
        let t = table();
        let ok = json!({"TimeGenerated": "2025-03-14T09:42:17.123Z", "RowId": "a", "Count": 3,
            "Size": 5_000_000_000_i64, "On": true, "Data": {"x": [1]}});
        assert_eq!(check_record(&t, ok.as_object().expect("object")), Ok(()));
        let nulls = json!({"TimeGenerated": null, "Count": null, "On": null});
        assert_eq!(check_record(&t, nulls.as_object().expect("object")), Ok(()));
    }

    #[test]
    fn unknown_and_mistyped_columns_are_refused() {
        let t = table();
        for bad in [
            json!({"RowID": "a"}),
            json!({"Count": "3"}),
            json!({"Count": 5_000_000_000_i64}),
            json!({"Size": 1.5}),
            json!({"On": "true"}),
            json!({"TimeGenerated": "yesterday"}),
        ] {
            assert!(
                check_record(&t, bad.as_object().expect("object")).is_err(),
                "{bad}"
            );
        }
    }

    #[test]
    fn naming_rules_are_checked() {
        let mut d = Declaration {
            tables: vec![table()],
        };
        d.tables[0].columns[1].name = "Title".into();
        d.tables[0].name = "T".into();
        let p = d.problems();
        assert!(p.iter().any(|p| p.contains("_CL")), "{p:?}");
        assert!(p.iter().any(|p| p.contains("Title")), "{p:?}");
        assert!(p.iter().any(|p| p.contains("id column")), "{p:?}");
    }
}
