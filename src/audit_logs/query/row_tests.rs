//! A workspace row and the `PT1H.json` line of the same record fold into the same session.

use serde_json::{Value, json};

use super::*;
use crate::audit_logs::parse::parse_line;
use crate::audit_logs::sessions::SessionRecord;

const LINE: &str = r#"{"time":"2025-03-14T09:03:54.776Z","resourceId":"/SUBSCRIPTIONS/11111111-2222-3333-4444-555555555555/RESOURCEGROUPS/RG-HUB-WEU/PROVIDERS/MICROSOFT.NETWORK/BASTIONHOSTS/BAS-HUB-WEU","operationName":"Microsoft.Network/BastionHost/connect","category":"BastionAuditLogs","properties":{"userName":"azureuser","clientIpAddress":"203.0.113.45","clientPort":51544,"protocol":"ssh","targetResourceId":"/SUBSCRIPTIONS/11111111-2222-3333-4444-555555555555/RESOURCEGROUPS/RG-APP-WEU/PROVIDERS/MICROSOFT.COMPUTE/VIRTUALMACHINES/VM-APP-01","subscriptionId":"11111111-2222-3333-4444-555555555555","message":"Successfully Connected.","resourceType":"VM","targetVMIPAddress":"10.10.1.4","userEmail":"alice@contoso.com","tunnelId":"5f0c2d7e-8b1a-4c3e-9d2f-6a7b8c9d0e1f","sessionStartTime":"2025-03-14T09:03:54.776Z"}}"#;

fn names() -> Vec<&'static str> {
    projected().collect()
}

fn row(end: Value, duration: Value) -> Vec<Value> {
    vec![
        json!("2025-03-14T09:05:10.1234567Z"),
        json!("2025-03-14T09:03:54.776Z"),
        json!(
            "/subscriptions/11111111-2222-3333-4444-555555555555/resourcegroups/rg-hub-weu/providers/microsoft.network/bastionhosts/bas-hub-weu"
        ),
        json!("Microsoft.Network/BastionHost/connect"),
        json!("Successfully Connected."),
        json!("azureuser"),
        json!("alice@contoso.com"),
        json!("203.0.113.45"),
        json!("ssh"),
        json!(
            "/SUBSCRIPTIONS/11111111-2222-3333-4444-555555555555/RESOURCEGROUPS/RG-APP-WEU/PROVIDERS/MICROSOFT.COMPUTE/VIRTUALMACHINES/VM-APP-01"
        ),
        json!("10.10.1.4"),
        json!("VM"),
        json!("5f0c2d7e-8b1a-4c3e-9d2f-6a7b8c9d0e1f"),
        json!("2025-03-14T09:03:54.776Z"),
        end,
        json!(51544),
        duration,
    ]
}

fn stored(line: &str) -> SessionRecord {
    let mut s = SessionRecord::new("5f0c2d7e-8b1a-4c3e-9d2f-6a7b8c9d0e1f");
    s.merge_record(&parse_line(line.as_bytes()).expect("line"), "");
    s
}

#[test]
fn an_open_session_row_folds_like_its_storage_line() {
    let cols = Columns::new(names()).expect("columns");
    let r = WorkspaceRow::new(&cols, &row(json!(""), Value::Null)).expect("row");
    let mut s = SessionRecord::new("5f0c2d7e-8b1a-4c3e-9d2f-6a7b8c9d0e1f");
    s.merge_record(&r.record(), "");
    assert_eq!(s, stored(LINE));
    assert_eq!(s.session_end, None, "an empty SessionEndTime is no end");
    assert_eq!(s.duration_ms, None, "a null Duration is no duration");
    assert_eq!(s.bastion_host, "bas-hub-weu");
}

#[test]
fn an_ended_session_row_carries_its_end_and_duration() {
    let cols = Columns::new(names()).expect("columns");
    let r = WorkspaceRow::new(
        &cols,
        &row(json!("2025-03-14T09:13:54.776Z"), json!(600000)),
    )
    .expect("row");
    let line = LINE.replace(
        r#""sessionStartTime""#,
        r#""sessionEndTime":"2025-03-14T09:13:54.776Z","duration":600000,"sessionStartTime""#,
    );
    let mut s = SessionRecord::new("5f0c2d7e-8b1a-4c3e-9d2f-6a7b8c9d0e1f");
    s.merge_record(&r.record(), "");
    assert_eq!(s, stored(&line));
    assert_eq!(s.duration_ms, Some(600_000));
}

#[test]
fn columns_are_found_by_name_in_any_order() {
    let mut names = names();
    let mut values = row(json!(""), Value::Null);
    names.reverse();
    values.reverse();
    let cols = Columns::new(names).expect("columns");
    let a = WorkspaceRow::new(&cols, &values).expect("row");
    let b = WorkspaceRow::new(
        &Columns::new(self::names()).expect("columns"),
        &row(json!(""), Value::Null),
    )
    .expect("row");
    assert_eq!(a, b, "same values, same row and digest");
}

#[test]
fn rows_differing_in_one_value_have_different_digests() {
    let cols = Columns::new(names()).expect("columns");
    let a = WorkspaceRow::new(&cols, &row(json!(""), Value::Null)).expect("row");
    let b = WorkspaceRow::new(&cols, &row(json!(""), json!(1))).expect("row");
    assert_ne!(a.digest, b.digest);
}

#[test]
fn a_row_without_ingestion_time_or_of_the_wrong_width_is_refused() {
    assert!(Columns::new(["TimeGenerated"]).is_err());
    let cols = Columns::new(names()).expect("columns");
    assert!(WorkspaceRow::new(&cols, &[json!("x")]).is_err());
    let mut v = row(json!(""), Value::Null);
    v[0] = Value::Null;
    assert!(WorkspaceRow::new(&cols, &v).is_err());
}
