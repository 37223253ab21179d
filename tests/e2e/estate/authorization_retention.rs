//! A workspace keeping `AuditLogs` less long than the authorization pass asks (7 days), end to
//! end through the real handler's `EstateCheck`: the one query per workspace also asks how far
//! back the table reaches, so a session whose only cover is an expired activation the workspace
//! no longer holds (and Resource Manager no longer lists) is `unknown`, its reason naming the
//! reach, never `none`; a session whose day before lies inside what the workspace holds is `none`.

use time::macros::datetime;

use super::Rig;
use super::authorization::{activation_row, sessions_arrive_in, vm};
use super::doors::{CUSTOMER, check_at};
use super::fake_arm::SUB;
use crate::harness::azurite;

#[tokio::test]
async fn a_session_before_the_workspaces_auditlogs_reach_is_unknown_and_one_after_is_none() {
    let Some(cs) = azurite() else { return };
    let (logs, env) = super::doors::quiet_workspace().await;
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let mut rig = Rig::new(&cs, &env).await;
    // Resource Manager lists nothing: Alice's activation ended days ago.
    rig.arm.with(|e| {
        e.schedules
            .insert(format!("/subscriptions/{SUB}"), (Vec::new(), Vec::new()));
    });
    // The check runs on 2026-11-25 at 09:00; the workspace holds AuditLogs from two days before.
    logs.audit_logs_kept_since(CUSTOMER, datetime!(2026-11-23 09:00 UTC));
    // Alice's activation covered her session four days ago; its row is older than the workspace
    // keeps.
    let scope = format!("/subscriptions/{SUB}/resourcegroups/rg-app");
    let window = ("2026-11-21T07:30:00Z", "2026-11-21T08:30:00Z");
    let visible = time::OffsetDateTime::now_utc() - time::Duration::minutes(5);
    let row = activation_row("audit-alice", "alice@contoso.com", &scope, window, visible);
    logs.ingest(CUSTOMER, row);
    let alice = [("0r1", "alice@contoso.com", vm(SUB, "vm-a"))];
    sessions_arrive_in(&rig, &cs, &alice, ("2026-11-21T08", None)).await;
    // Bob's session a day ago (21 hours before the check), nothing covering it.
    let bob = [("0r2", "bob@contoso.com", vm(SUB, "vm-b"))];
    sessions_arrive_in(&rig, &cs, &bob, ("2026-11-24T12", None)).await;
    let said = check_at(&mut rig, "2026-11-25T09:00:00Z").await;

    let (status, page) = rig
        .handler
        .get_json("/api/sessions?from=2026-11-20T00:00:00Z&to=2026-11-26T00:00:00Z")
        .await;
    assert_eq!(status, 200, "{page}");
    let items = page["items"].as_array().cloned().unwrap_or_default();
    let of = |who: &str| {
        (items.iter())
            .find(|i| i["userEmail"] == who)
            .cloned()
            .unwrap_or_else(|| panic!("{who}'s session listed: {page}"))
    };
    let (alice, bob) = (of("alice@contoso.com"), of("bob@contoso.com"));
    assert_eq!(alice["authorization"], "unknown", "{alice}\n{said:?}");
    let why = alice["authorizationRecord"]["reasons"].to_string();
    assert!(
        why.contains("AuditLogs are read only since 2026-11-23T09:00:00.000Z"),
        "{why}"
    );
    assert_eq!(bob["authorization"], "none", "{bob}\n{said:?}");
    assert_eq!(
        bob["authorizationRecord"]["reasons"],
        serde_json::json!([]),
        "{bob}"
    );
    // Still one query for the workspace, its reach a column of the table's counting row.
    let queries: Vec<String> = (logs.received().into_iter())
        .filter(|r| r.query.starts_with("union isfuzzy=true\n(AuditLogs"))
        .map(|r| r.query)
        .collect();
    assert_eq!(queries.len(), 1, "{queries:?}");
    assert!(
        queries[0].contains("AuditSince = min(TimeGenerated)"),
        "{}",
        queries[0]
    );
}
