//! A group's membership at a session's start, end to end through the real handler's
//! `EstateCheck`: the group's members are read from Microsoft Graph at the check, after the
//! sessions started, and the same one `AuditLogs` query of the workspace brings Entra's "Add
//! member to group" / "Remove member from group" rows (Learn's AuditLogs table reference and the
//! Entra audit activity reference: `Category` `GroupManagement`, the member a `User` target, the
//! group its `Group.ObjectID` modified property or a `Group` target). Each session is decided on
//! who was a member at its start: added since, `none`; removed since, `standing`; added and
//! removed since, `none`; no change, as read.

use bastion_testkit::loganalytics::auditlogs;
use serde_json::{Value, json};

use super::authorization_sources::{decided_on_vms, graph_rig, group_role};
use super::doors::CUSTOMER;
use super::fake_arm::SUB;
use crate::harness::azurite;
use crate::reviews::graph::FakeGraph;

/// The group holding a role at the subscription.
const G: &str = "2d5b0a2e-0000-4000-8000-0000000000e1";

/// A membership change row of `who` (`oid`, `upn`) in the group at `at`. `by_property`: the group
/// named only by the member's `Group.ObjectID` property (listed after `Group.DisplayName`), no
/// `Group` target.
fn change(id: &str, (oid, upn): (&str, &str), added: bool, at: &str, by_property: bool) -> Value {
    let quoted = json!(format!("\"{G}\""));
    let (old, new) = if added {
        (Value::Null, quoted)
    } else {
        (quoted, Value::Null)
    };
    let name = json!("\"vm-admins\"");
    let mut targets = vec![
        json!({"id": oid, "displayName": null, "type": "User", "userPrincipalName": upn,
        "modifiedProperties": [
            {"displayName": "Group.DisplayName", "oldValue": if added { Value::Null } else { name.clone() }, "newValue": if added { name } else { Value::Null }},
            {"displayName": "Group.ObjectID", "oldValue": old, "newValue": new}]}),
    ];
    if !by_property {
        targets.push(
            json!({"id": G, "displayName": "vm-admins", "type": "Group", "modifiedProperties": []}),
        );
    }
    json!({"TenantId": "t", "Id": id, "TimeGenerated": at, "Category": "GroupManagement",
        "OperationName": if added { "Add member to group" } else { "Remove member from group" },
        "Result": "success", "ResultReason": "", "LoggedByService": "Core Directory", "CorrelationId": id,
        "InitiatedBy": {"user": {"id": "oid-admin", "userPrincipalName": "admin@contoso.com"}},
        "TargetResources": targets, "AdditionalDetails": []})
}

#[tokio::test]
async fn a_groups_membership_at_the_start_is_told_from_its_auditlogs_changes_since() {
    let Some(cs) = azurite() else { return };
    let (logs, env) = super::doors::quiet_workspace().await;
    let graph = FakeGraph::start(&[], 0, &[]).await;
    graph.group(G, Vec::new(), false);
    // The members as read at the check (09:00), after every session started (08:00–08:05).
    let now = [
        ("oid-alice", "alice@contoso.com"),
        ("oid-erin", "erin@contoso.com"),
        ("oid-dave", "dave@contoso.com"),
    ];
    graph.members(G, &now, false);
    let visible = time::OffsetDateTime::now_utc() - time::Duration::minutes(1);
    let rows = [
        change(
            "chg-alice",
            ("oid-alice", "alice@contoso.com"),
            true,
            "2026-11-25T08:30:00Z",
            true,
        ),
        change(
            "chg-bob",
            ("oid-bob", "bob@contoso.com"),
            false,
            "2026-11-25T08:20:00Z",
            false,
        ),
        change(
            "chg-carol-in",
            ("oid-carol", "carol@contoso.com"),
            true,
            "2026-11-25T08:10:00Z",
            false,
        ),
        change(
            "chg-carol-out",
            ("oid-carol", "carol@contoso.com"),
            false,
            "2026-11-25T08:40:00Z",
            true,
        ),
        // Dave: removed and added back before every session: as read.
        change(
            "chg-dave-out",
            ("oid-dave", "dave@contoso.com"),
            false,
            "2026-11-25T07:10:00Z",
            false,
        ),
        change(
            "chg-dave-in",
            ("oid-dave", "dave@contoso.com"),
            true,
            "2026-11-25T07:40:00Z",
            false,
        ),
    ];
    for r in rows {
        logs.ingest(
            CUSTOMER,
            auditlogs::row(r.as_object().cloned().unwrap_or_default(), visible),
        );
    }
    let mut rig = graph_rig(&cs, &env, &graph, &[]).await;
    rig.arm.with(|e| {
        let role = group_role("role-g", G, &format!("/subscriptions/{SUB}"));
        (e.schedules).insert(format!("/subscriptions/{SUB}"), (vec![role], Vec::new()));
    });
    let (_, page) = decided_on_vms(
        &mut rig,
        &cs,
        ("0f", &["alice", "bob", "carol", "dave", "erin"]),
    )
    .await;
    let mut got: Vec<(String, String, String)> = (page["items"].as_array().into_iter().flatten())
        .map(|i| {
            let record = &i["authorizationRecord"];
            (
                i["userEmail"].as_str().unwrap_or_default().to_owned(),
                i["authorization"]
                    .as_str()
                    .unwrap_or("undecided")
                    .to_owned(),
                record["reasons"].to_string(),
            )
        })
        .collect();
    got.sort();
    let truth = [
        (
            "alice@contoso.com",
            "none",
            "added at 2026-11-25T08:30:00.000Z (chg-alice), after",
        ),
        (
            "bob@contoso.com",
            "standing",
            "removed at 2026-11-25T08:20:00.000Z (chg-bob), after",
        ),
        (
            "carol@contoso.com",
            "none",
            "added at 2026-11-25T08:10:00.000Z (chg-carol-in)",
        ),
        (
            "dave@contoso.com",
            "standing",
            "no change of the person's membership",
        ),
        (
            "erin@contoso.com",
            "standing",
            "no change of the person's membership",
        ),
    ];
    assert_eq!(
        got.len(),
        truth.len(),
        "{got:?}\n{}",
        rig.handler.log_text()
    );
    for ((who, verdict, why), (w, v, reasons)) in truth.iter().zip(&got) {
        assert_eq!((w.as_str(), v.as_str()), (*who, *verdict), "{reasons}");
        assert!(reasons.contains(why), "{who}: {reasons}");
    }
}
