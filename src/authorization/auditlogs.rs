//! PIM's rows in the Entra `AuditLogs` table (Entra audit logs sent to a workspace; Azure
//! Monitor's example query "View PIM role activations and approvals"): activations of a role
//! (Azure RBAC) or of a group membership (PIM for Groups), and approvals. They keep history the
//! Resource Manager lists no longer show (an expired activation leaves them) and name approvers.
//!
//! Read in the table's documented columns: `Id`, `TimeGenerated`, `OperationName`, `Result`,
//! `ResultReason` (the justification), `InitiatedBy` (`user.userPrincipalName`, `user.id`),
//! `TargetResources` (a list of `{id, displayName, type, userPrincipalName}`) and
//! `AdditionalDetails` (a list of `{key, value}` whose order differs by activity: read by key,
//! case-insensitive, never by position). The keys read (`StartTime`, `ExpirationTime`,
//! `TicketNumber`, `TicketSystem`, and a scope under `ResourceId` or `Scope` when no target is a
//! scope) are not documented per activity: a row without a start or a scope covers nothing.
//!
//! The same query brings Entra's plain group membership changes ("Add member to group", "Remove
//! member from group": `Category` `GroupManagement`, logged by `Core Directory`, Learn's
//! "Microsoft Entra audit log activity reference"): the member is the `User` target (`id`,
//! `userPrincipalName`), the group the `Group` target's `id`, else the user target's
//! `modifiedProperties` entry named `Group.ObjectID` (its `newValue` when added, `oldValue` when
//! removed; read by name, never by position). They tell a group's membership at a session's start
//! from its members read since ([`super::decide`]).

use serde_json::Value;
use time::{Duration, OffsetDateTime};

use super::evidence::{Evidence, Kind, Source, low, ticket};
use super::mfa::READ_MARK;
use crate::dates::{format_utc_millis, timestamp};
use crate::loganalytics::row::{dynamic, text};

/// The table.
pub const TABLE: &str = "AuditLogs";
/// The counting row's column holding the earliest `TimeGenerated` the workspace holds in the
/// query's timespan (null when it holds none).
pub const SINCE: &str = "AuditSince";

/// How far before a workspace's cursor each query starts again: a row is stamped with its
/// `ingestion_time()` before it can be queried, so one stamped just before the last query's end
/// may have been invisible to it. Rows read twice are the same evidence (kept by id).
pub const OVERLAP: Duration = Duration::minutes(10);

/// The query: PIM's successful activation and approval rows, and the group membership changes,
/// ingested in `[lo, hi)`
/// (`ingestion_time()`, Log Analytics' time a row reached the workspace, however late after its
/// `TimeGenerated`), within the request's timespan on `TimeGenerated`, oldest first, at most
/// `rows` (no outside value goes into it); a fuzzy `union` whose counting row of the table
/// ([`READ_MARK`]) says it was read and how far back the workspace holds it (its earliest
/// `TimeGenerated` in the timespan, [`SINCE`]: a workspace keeping `AuditLogs` less than asked, or
/// receiving them only lately, holds none before); with `signins`, the VM sign-ins of `SigninLogs`
/// and their counting row too ([`super::mfa::legs`]), still one query.
pub fn query(rows: usize, signins: bool, (lo, hi): (OffsetDateTime, OffsetDateTime)) -> String {
    let audit = format!(
        "(AuditLogs\n\
         | where ingestion_time() >= datetime({}) and ingestion_time() < datetime({})\n\
         | where Result =~ \"success\"\n\
         | where (LoggedByService =~ \"PIM\" and (OperationName has \"PIM activation\" or OperationName has \"approved\"))\n\
         \x20   or (Category =~ \"GroupManagement\" and OperationName in~ (\"Add member to group\", \"Remove member from group\"))\n\
         | project Type, Id, TimeGenerated, OperationName, Result, ResultReason, InitiatedBy, \
         TargetResources, AdditionalDetails)",
        format_utc_millis(lo),
        format_utc_millis(hi)
    );
    let mark = format!(
        "(AuditLogs | summarize AuditRows = count(), {SINCE} = min(TimeGenerated) | extend Type = \"AuditLogs{READ_MARK}\")"
    );
    let legs = if signins {
        let (rows, counted) = super::mfa::legs();
        [audit, rows, mark, counted].join(",\n")
    } else {
        [audit, mark].join(",\n")
    };
    format!("union isfuzzy=true\n{legs}\n| order by TimeGenerated asc nulls first\n| take {rows}")
}

/// The value under `key` (any case) of an `AdditionalDetails` list.
pub fn detail(details: &Value, key: &str) -> String {
    details
        .as_array()
        .into_iter()
        .flatten()
        .find(|d| {
            d["key"]
                .as_str()
                .is_some_and(|k| k.eq_ignore_ascii_case(key))
        })
        .and_then(|d| d.get("value"))
        .map(|v| match v {
            Value::String(s) => s.clone(),
            Value::Null => String::new(),
            other => other.to_string(),
        })
        .unwrap_or_default()
}

/// The targets of `kind` (any case).
fn targets<'a>(all: &'a Value, kind: &'a str) -> impl Iterator<Item = &'a Value> + 'a {
    (all.as_array().into_iter().flatten()).filter(move |t| {
        t["type"]
            .as_str()
            .is_some_and(|k| k.eq_ignore_ascii_case(kind))
    })
}

fn field(v: &Value, name: &str) -> String {
    v[name].as_str().unwrap_or_default().to_owned()
}

/// Whether `id` names a scope (a management group, subscription, group or resource).
fn is_scope(id: &str) -> bool {
    let id = id.to_ascii_lowercase();
    id.starts_with("/subscriptions/") || id.starts_with("/providers/microsoft.management/")
}

/// One answer row as evidence; `None` for a row that is not an activation or approval.
pub fn read(columns: &[String], row: &[Value]) -> Option<Evidence> {
    let cell = |n: &str| crate::loganalytics::row::cell(columns, row, n);
    let op = text(columns, row, "OperationName").to_ascii_lowercase();
    let at = timestamp(&text(columns, row, "TimeGenerated"))?;
    let initiated = dynamic(cell("InitiatedBy"));
    let all = dynamic(cell("TargetResources"));
    let details = dynamic(cell("AdditionalDetails"));
    let by = initiated.get("user").cloned().unwrap_or(Value::Null);
    let user = targets(&all, "User").next().cloned().unwrap_or(Value::Null);
    let id_of = |kind| {
        (targets(&all, kind).next()).map_or_else(String::new, |t| low(Some(&field(t, "id"))))
    };
    if let Some(kind) = [
        ("add member to group", Kind::MemberAdded),
        ("remove member from group", Kind::MemberRemoved),
    ]
    .into_iter()
    .find_map(|(name, k)| (op == name).then_some(k))
    {
        return member_change(kind, (text(columns, row, "Id"), at), &all);
    }
    let kind = if op.contains("approved") {
        Kind::Approval
    } else if op.contains("pim activation") && op.contains("to group") {
        Kind::GroupActivation
    } else if op.contains("pim activation") {
        Kind::Pim
    } else {
        return None;
    };
    // The person: the approval's target user; the activation's initiator (else its target).
    let person = match kind {
        Kind::Approval => &user,
        _ if by.is_object() => &by,
        _ => &user,
    };
    let scope = all
        .as_array()
        .into_iter()
        .flatten()
        .map(|t| field(t, "id"))
        .find(|id| is_scope(id))
        .or_else(|| {
            ["ResourceId", "Scope"]
                .into_iter()
                .map(|k| detail(&details, k))
                .find(|v| is_scope(v))
        })
        .unwrap_or_default();
    let start = timestamp(&detail(&details, "StartTime"));
    Some(Evidence {
        id: low(Some(&text(columns, row, "Id"))),
        source: Some(Source::AuditLogs),
        kind: Some(kind),
        principal: low(Some(&field(person, "id"))),
        names: Some(field(person, "userPrincipalName"))
            .filter(|n| !n.is_empty())
            .into_iter()
            .collect(),
        group: id_of("Group"),
        scope: low(Some(&scope)),
        role: id_of("Role"),
        start: start.filter(|_| kind != Kind::Approval).or(Some(at)),
        end: timestamp(&detail(&details, "ExpirationTime")),
        approver: match kind {
            Kind::Approval => field(&by, "userPrincipalName"),
            _ => String::new(),
        },
        justification: text(columns, row, "ResultReason"),
        ticket: ticket(
            Some(&detail(&details, "TicketSystem")),
            Some(&detail(&details, "TicketNumber")),
        ),
        ..Evidence::default()
    })
}

/// A membership change row: its member (the `User` target), the group (the `Group` target, else
/// the member's `Group.ObjectID` property) and when; `None` without a member or a group.
fn member_change(kind: Kind, (id, at): (String, OffsetDateTime), all: &Value) -> Option<Evidence> {
    let user = targets(all, "User").next()?;
    let side = if kind == Kind::MemberAdded {
        "newValue"
    } else {
        "oldValue"
    };
    let property = (user
        .get("modifiedProperties")
        .and_then(Value::as_array)
        .into_iter()
        .flatten())
    .find(|p| (p["displayName"].as_str()).is_some_and(|n| n.eq_ignore_ascii_case("Group.ObjectID")))
    .map(|p| field(p, side).trim_matches('"').to_owned());
    let group = (targets(all, "Group").next().map(|g| field(g, "id")))
        .filter(|g| !g.is_empty())
        .or(property)
        .filter(|g| !g.is_empty())?;
    let principal = field(user, "id");
    let upn = field(user, "userPrincipalName");
    (!principal.is_empty() || !upn.is_empty()).then(|| Evidence {
        id: low(Some(&id)),
        source: Some(Source::AuditLogs),
        kind: Some(kind),
        principal: low(Some(&principal)),
        names: Some(upn).filter(|n| !n.is_empty()).into_iter().collect(),
        group: low(Some(&group)),
        start: Some(at),
        end: Some(at),
        ..Evidence::default()
    })
}

#[cfg(test)]
mod tests {
    use time::macros::datetime;

    use super::*;

    /// The queries `tests/kql/authz-auditlogs*.kql` hold: the KQL check (`scripts/kql.sh`)
    /// resolves them against the tables' documented columns, so the text it accepts is the one
    /// this module sends.
    #[test]
    fn the_checked_queries_are_the_ones_sent() {
        let ingested = (
            datetime!(2026-11-25 08:50 UTC),
            datetime!(2026-11-25 09:00:00.123 UTC),
        );
        let checked = include_str!("../../tests/kql/authz-auditlogs.kql");
        assert_eq!(query(50_001, false, ingested), checked.trim_end());
        let checked = include_str!("../../tests/kql/authz-auditlogs-signins.kql");
        assert_eq!(query(50_001, true, ingested), checked.trim_end());
    }
}
