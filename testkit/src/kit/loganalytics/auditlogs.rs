//! The loopback fake's `AuditLogs` side: Entra audit rows as Learn's table
//! reference documents them (azure-docs `articles/azure-monitor/reference/tables/auditlogs.md`:
//! `Id`, `TimeGenerated`, `OperationName`, `Category`, `Result`, `ResultReason`,
//! `LoggedByService`, `InitiatedBy`, `TargetResources` and `AdditionalDetails` dynamic, sent as
//! JSON text), answering the authorization query: the request's timespan on `TimeGenerated`,
//! `Result =~ "success"`, and `LoggedByService =~ "PIM"` with `OperationName has "PIM
//! activation"` or `has "approved"`, or (when the query asks them) `Category =~
//! "GroupManagement"` with `OperationName in~ ("Add member to group", "Remove member from
//! group")` (Learn's "Microsoft Entra audit log activity reference": both logged by `Core
//! Directory`, the member a `User` target whose `modifiedProperties` name the group as
//! `Group.ObjectID` and `Group.DisplayName`, the group a `Group` target), the `project` list,
//! oldest first, at most `take` rows, in the query's fuzzy `union` beside the table's
//! `summarize AuditRows = count(), AuditSince = min(TimeGenerated)` row (a `long` and a
//! `datetime`). A workspace holds `AuditLogs` from when it was told to ([`answer`]'s `kept`:
//! retention, or Entra's diagnostic setting made late), else as far back as asked; its other
//! directory rows (Entra writes them all the time) are taken to reach back that far, so
//! `AuditSince` is the later of that and the timespan's start. The union
//! form with sign-ins adds the `SigninLogs` rows (Learn's table reference, azure-docs
//! `articles/azure-monitor/reference/tables/signinlogs.md`: `Id`, `TimeGenerated`,
//! `UserPrincipalName`, `UserId`, `AppId`, `AppDisplayName`, `ResultType` text,
//! `AuthenticationRequirement`, `AuthenticationDetails` dynamic) of the `AppId in (…)` list, and
//! its `summarize … = count()` row; as Kusto's fuzzy union does, a leg whose table the
//! workspace lacks (no `SigninLogs` row ever stored) is left out, its count row with it.

use serde_json::{Map, Value};
use time::OffsetDateTime;

use super::answers::{FakeRow, Types, answer_body, between, span, take};
use bastion_recordings::dates::{format_utc_millis, timestamp};

/// The table.
pub const TABLE: &str = "AuditLogs";

/// The sign-ins' table.
pub const SIGNIN_TABLE: &str = "SigninLogs";
/// The fuzzy union's first words.
pub const UNION: &str = "union isfuzzy=true\n(AuditLogs";

/// An `AuditLogs` row (its `Type` column set) visible from `visible_from`.
pub fn row(values: Map<String, Value>, visible_from: OffsetDateTime) -> FakeRow {
    FakeRow::of_table(TABLE, values, visible_from)
}

/// A `SigninLogs` row (its `Type` column set) visible from `visible_from`.
pub fn signin_row(values: Map<String, Value>, visible_from: OffsetDateTime) -> FakeRow {
    FakeRow::of_table(SIGNIN_TABLE, values, visible_from)
}

/// True for a row of this table or `SigninLogs` (the Entra tables this query reads).
pub fn is_audit_row(r: &FakeRow) -> bool {
    r.is_of(TABLE) || r.is_of(SIGNIN_TABLE)
}

/// The union's: `SigninLogs`' dynamic column too, and the count rows' `long`s.
const UNION_TYPES: Types = Types {
    datetime: &["TimeGenerated"],
    dynamic: &[
        "InitiatedBy",
        "TargetResources",
        "AdditionalDetails",
        "AuthenticationDetails",
    ],
};

fn union_type(c: &str) -> &'static str {
    match c {
        "AuditRows" | "SigninRows" => "long",
        "AuditSince" => "datetime",
        c => UNION_TYPES.of(c),
    }
}

/// The count row of `AuditLogs` (`audit` rows, held since `since`), and the union's
/// `SigninLogs` rows of the `AppId in (…)` list over `[from, until)` with their count row when
/// the query asks them and the workspace has the table.
fn union_rows(
    query: &str,
    stored: &[&FakeRow],
    (from, until): (OffsetDateTime, OffsetDateTime),
    (audit, since): (usize, OffsetDateTime),
) -> Option<Vec<FakeRow>> {
    let mark = |values: Value| FakeRow {
        ingested: from,
        visible_from: from,
        values: values.as_object().cloned().unwrap_or_default(),
    };
    let mut out = vec![mark(serde_json::json!({
        "Type": format!("{TABLE}Read"),
        "AuditRows": audit,
        "AuditSince": format_utc_millis(since),
    }))];
    if !query.contains(&format!("({SIGNIN_TABLE}\n")) {
        return Some(out);
    }
    let apps = query.split_once("AppId in (")?.1.split_once(')')?.0;
    let apps: Vec<&str> = apps
        .split(',')
        .map(|a| a.trim().trim_matches('"'))
        .collect();
    let signins: Vec<&&FakeRow> = stored.iter().filter(|r| r.is_of(SIGNIN_TABLE)).collect();
    if signins.is_empty() {
        return Some(out);
    }
    out.push(mark(serde_json::json!({
        "Type": format!("{SIGNIN_TABLE}Read"),
        "SigninRows": signins.len(),
    })));
    out.extend(
        signins
            .into_iter()
            .filter(|r| {
                let app = r
                    .values
                    .get("AppId")
                    .and_then(Value::as_str)
                    .unwrap_or_default();
                apps.contains(&app) && r.generated().is_some_and(|g| g >= from && g < until)
            })
            .map(|r| (*r).clone()),
    );
    Some(out)
}

/// Answers the PIM query over `stored` (visible rows of the workspace), whose `AuditLogs` are
/// held since `kept` (`None`: as far back as asked; a row generated before is gone); `None` for a
/// query the fake does not understand (answered 400).
pub fn answer(
    query: &str,
    timespan: Option<&str>,
    (stored, kept): (&[&FakeRow], Option<OffsetDateTime>),
    partial: bool,
) -> Option<Vec<u8>> {
    let (from, until) = span(timespan?)?;
    if !query.starts_with(UNION) || !query.contains("LoggedByService =~ \"PIM\"") {
        return None;
    }
    let held = |r: &&FakeRow| kept.is_none_or(|k| r.generated().is_some_and(|g| g >= k));
    let stored: Vec<&FakeRow> = stored
        .iter()
        .filter(|r| !r.is_of(TABLE) || held(r))
        .copied()
        .collect();
    let stored = stored.as_slice();
    let text = |r: &FakeRow, c: &str| {
        r.values
            .get(c)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_ascii_lowercase()
    };
    // The `ingestion_time()` bounds of the `AuditLogs` leg, when it has them.
    let bound = |op: &str| {
        between(query, &format!("ingestion_time() {op} datetime("), ")").and_then(timestamp)
    };
    let (lo, hi) = (bound(">="), bound("<"));
    let mut rows: Vec<&FakeRow> = stored
        .iter()
        .filter(|r| r.is_of(TABLE))
        .filter(|r| lo.is_none_or(|lo| r.ingested >= lo) && hi.is_none_or(|hi| r.ingested < hi))
        .filter(|r| r.generated().is_some_and(|g| g >= from && g < until))
        .filter(|r| text(r, "Result") == "success")
        .filter(|r| {
            let op = text(r, "OperationName");
            let pim = op.contains("pim activation") || op.contains("approved");
            let changes = query.contains("Category =~ \"GroupManagement\"")
                && ["add member to group", "remove member from group"].contains(&op.as_str());
            (text(r, "LoggedByService") == "pim" && pim)
                || (changes && text(r, "Category") == "groupmanagement")
        })
        .copied()
        .collect();
    let take = take(query)?;
    let mut columns: Vec<String> = Vec::new();
    for line in query.split("| project ").skip(1) {
        let line = line.split(['\n', ')']).next()?;
        for c in line.split(',').map(|c| c.trim().to_owned()) {
            if !columns.contains(&c) {
                columns.push(c);
            }
        }
    }
    columns.extend(["AuditRows", "AuditSince", "SigninRows"].map(str::to_owned));
    let audit = stored.iter().filter(|r| r.is_of(TABLE)).count();
    let since = kept.map_or(from, |k| k.max(from));
    let extra = union_rows(query, stored, (from, until), (audit, since))?;
    rows.extend(extra.iter());
    // Oldest first, a row without `TimeGenerated` (a count) first of all (`nulls first`).
    rows.sort_by_key(|r| r.generated());
    rows.truncate(take);
    if partial {
        rows.truncate(rows.len() / 2);
    }
    let cell = |r: &FakeRow, c: &str| match r.values.get(c) {
        Some(v) if union_type(c) == "dynamic" && !v.is_string() && !v.is_null() => {
            Value::String(v.to_string())
        }
        v => v.cloned().unwrap_or(Value::Null),
    };
    Some(answer_body(&columns, union_type, &rows, cell, partial))
}
