//! The workspace source through the real handler on Azurite, against the loopback fake of the
//! Logs Query API served over HTTP: rows become session rows, a refused workspace is shown in
//! `/api/health` while the other is read, and a second tick (a restart reads the same window
//! again through its overlap) stores nothing twice.

mod differential;
pub(crate) mod rig;
mod scenarios;

use bastion_testkit::loganalytics::{FakeLogs, FakeRow, Fault, serve};
use serde_json::{Value, json};
use time::{Duration, OffsetDateTime};

use crate::audit_logs::support::{Env, count};
use crate::harness::{self, AzuriteEnv, HandlerProcess, fixture};

const OK: &str = "a1b2c3d4-0000-4000-8000-00000000000a";
const REFUSED: &str = "a1b2c3d4-0000-4000-8000-00000000000b";
const TUNNEL: &str = "0e0c2d7e-8b1a-4c3e-9d2f-6a7b8c9d0e1f";

fn row(ingested: OffsetDateTime) -> FakeRow {
    // Generated before its ingestion (the request's timespan reaches two days before the window).
    let at = bastion_recordings::dates::format_utc_millis(ingested - Duration::minutes(30));
    let values = json!({
        "TimeGenerated": at,
        "_ResourceId": "/subscriptions/s/resourcegroups/rg-hub-weu/providers/microsoft.network/bastionhosts/bas-hub-weu",
        "OperationName": "Microsoft.Network/BastionHost/connect", "Message": "Successfully Connected.",
        "UserName": "azureuser", "ClientIpAddress": "203.0.113.45", "ClientPort": 51544, "Protocol": "ssh",
        "TargetResourceId": "/SUBSCRIPTIONS/S/RESOURCEGROUPS/RG-APP/PROVIDERS/MICROSOFT.COMPUTE/VIRTUALMACHINES/VM-APP-01",
        "TunnelId": TUNNEL, "SessionStartTime": at, "SessionEndTime": "", "Duration": null,
    });
    FakeRow {
        ingested,
        visible_from: OffsetDateTime::UNIX_EPOCH,
        values: values.as_object().cloned().unwrap_or_default(),
    }
}

fn tick(now: OffsetDateTime) -> Value {
    let mut inv = fixture("invocations/timer.invocation.json");
    inv["Metadata"]["sys"]["MethodName"] = json!("AuditLogQuery");
    inv["Metadata"]["sys"]["UtcNow"] = json!(bastion_recordings::dates::format_utc(now));
    inv
}

#[tokio::test]
async fn a_workspace_is_read_once_and_a_refused_one_is_shown_in_health() {
    let Some(cs) = harness::azurite() else {
        return;
    };
    let fake = FakeLogs::default();
    let now = OffsetDateTime::now_utc();
    fake.workspace(OK);
    fake.workspace(REFUSED);
    fake.ingest(OK, row(now - Duration::minutes(10)));
    fake.forbid(REFUSED, true);
    let endpoint = serve(fake.clone()).await.expect("fake");
    let mut env = AzuriteEnv::new(&cs);
    for (k, v) in [
        ("AUDITLOGS_WORKSPACES", format!("{OK},{REFUSED}")),
        ("LOGANALYTICS_ENDPOINT", endpoint),
        ("CATALOGUE_AUTH_ALLOW_INSECURE_LOOPBACK", "true".into()),
    ] {
        env.vars.insert(k.into(), v);
    }
    let handler = HandlerProcess::spawn(&env.pairs()).await;
    let e = Env::with(&cs, env, handler);

    let (status, reply) = e.handler.invoke("AuditLogQuery", &tick(now)).await;
    assert_eq!(status, 200, "{reply}");
    assert_eq!(count(&reply, "rows"), 1, "{reply}");
    let session = e.tables.get("sessions", TUNNEL, "session").await;
    assert!(
        matches!(session, Ok(Some(_))),
        "the workspace row's session is stored: {session:?}"
    );

    let (_, health) = e.handler.get_json("/api/health").await;
    let docs = health["sources"].as_array().cloned().unwrap_or_default();
    let of = |id: &str| docs.iter().find(|d| d["workspace"] == json!(id)).cloned();
    let refused = of(REFUSED).unwrap_or_else(|| panic!("no refused workspace in {health}"));
    assert_eq!(refused["reachable"], json!(false), "{health}");
    assert!(
        refused["error"]
            .as_str()
            .is_some_and(|e| e.contains("403: missing role Bastion workspace table reader")),
        "{health}"
    );
    assert_eq!(
        of(OK).map(|d| d["reachable"].clone()),
        Some(json!(true)),
        "{health}"
    );
    // One unit per workspace: the refused one failed each of its deliveries, named in health.
    let units = &health["workUnits"]["AuditLogQuery"];
    assert_eq!(
        [&units["planned"], &units["done"], &units["failed"]],
        [&json!(2), &json!(1), &json!(1)],
        "{health}"
    );
    assert_eq!(units["poisoned"], json!([REFUSED]), "{health}");

    // A restarted handler ticks a minute later: the overlap is asked again, nothing is stored twice.
    let (_, reply) = e
        .handler
        .invoke("AuditLogQuery", &tick(now + Duration::minutes(1)))
        .await;
    assert_eq!(count(&reply, "rows"), 0, "{reply}");
    let sent = fake.received();
    assert!(
        sent.iter().any(|r| r.workspace == REFUSED),
        "the refused one was asked"
    );
    assert!(sent.iter().filter(|r| r.workspace == OK).count() >= 2);
}

#[tokio::test]
async fn a_429_storm_is_ridden_out_honouring_retry_after() {
    let Some(cs) = harness::azurite() else {
        return;
    };
    let fake = FakeLogs::default();
    let now = OffsetDateTime::now_utc();
    fake.ingest(OK, row(now - Duration::minutes(10)));
    fake.faults([Fault::Throttle(1), Fault::Throttle(1), Fault::Throttle(1)]);
    let endpoint = serve(fake.clone()).await.expect("fake");
    let mut env = AzuriteEnv::new(&cs);
    for (k, v) in [
        ("AUDITLOGS_WORKSPACES", OK.to_owned()),
        ("LOGANALYTICS_ENDPOINT", endpoint),
        ("CATALOGUE_AUTH_ALLOW_INSECURE_LOOPBACK", "true".into()),
    ] {
        env.vars.insert(k.into(), v);
    }
    let handler = HandlerProcess::spawn(&env.pairs()).await;
    let started = std::time::Instant::now();
    let (status, reply) = handler.invoke("AuditLogQuery", &tick(now)).await;
    assert_eq!(status, 200, "{reply}");
    assert_eq!(count(&reply, "rows"), 1, "nothing lost: {reply}");
    assert_eq!(fake.received().len(), 4, "three 429s, then the answer");
    assert!(
        started.elapsed() >= std::time::Duration::from_secs(3),
        "Retry-After waited"
    );
}

/// A heavy window the service gives up on: 504 once the request's `Prefer: wait` (or here the
/// query's own 21 s, longer than the client's ordinary 20 s a try) has passed. The handler asks
/// for a wait within its reading budget, gives the try longer than that, takes the 504 for a page
/// too large and reads the window in smaller pages within the same tick: the cursor moves on.
#[tokio::test]
async fn a_query_the_service_times_out_is_read_in_smaller_pages() {
    let Some(cs) = harness::azurite() else {
        return;
    };
    let fake = FakeLogs::default();
    let now = OffsetDateTime::now_utc();
    fake.ingest(OK, row(now - Duration::minutes(10)));
    fake.faults([Fault::Timeout(std::time::Duration::from_secs(21))]);
    let endpoint = serve(fake.clone()).await.expect("fake");
    let mut env = AzuriteEnv::new(&cs);
    for (k, v) in [
        ("AUDITLOGS_WORKSPACES", OK.to_owned()),
        ("LOGANALYTICS_ENDPOINT", endpoint),
        ("CATALOGUE_AUTH_ALLOW_INSECURE_LOOPBACK", "true".into()),
    ] {
        env.vars.insert(k.into(), v);
    }
    let handler = HandlerProcess::spawn(&env.pairs()).await;
    let started = std::time::Instant::now();
    let (status, reply) = handler.invoke("AuditLogQuery", &tick(now)).await;
    assert_eq!(status, 200, "{reply}");
    assert_eq!(count(&reply, "rows"), 1, "read in the same tick: {reply}");
    assert!(started.elapsed() >= std::time::Duration::from_secs(21));
    let sent = fake.received();
    assert_eq!(sent.len(), 2, "{sent:?}");
    let wait = sent[0].wait.expect("Prefer: wait sent");
    assert!(
        (21..=60).contains(&wait),
        "within the reading budget: {wait}"
    );
    assert!(sent[1].query.ends_with("| take 5001"), "{}", sent[1].query);
    let (_, health) = handler.get_json("/api/health").await;
    let docs = health["sources"].as_array().cloned().unwrap_or_default();
    let ws = docs.iter().find(|d| d["workspace"] == json!(OK)).cloned();
    assert_eq!(
        ws.map(|d| d["reachable"].clone()),
        Some(json!(true)),
        "{health}"
    );
}

/// A workspace that has no data at all answers 204 without a body: read as nothing, not shown as
/// unreachable.
#[tokio::test]
async fn a_workspace_without_data_is_reachable() {
    let Some(cs) = harness::azurite() else {
        return;
    };
    let fake = FakeLogs::default();
    fake.workspace(OK);
    let endpoint = serve(fake.clone()).await.expect("fake");
    let mut env = AzuriteEnv::new(&cs);
    for (k, v) in [
        ("AUDITLOGS_WORKSPACES", OK.to_owned()),
        ("LOGANALYTICS_ENDPOINT", endpoint),
        ("CATALOGUE_AUTH_ALLOW_INSECURE_LOOPBACK", "true".into()),
    ] {
        env.vars.insert(k.into(), v);
    }
    let handler = HandlerProcess::spawn(&env.pairs()).await;
    let (status, reply) = handler
        .invoke("AuditLogQuery", &tick(OffsetDateTime::now_utc()))
        .await;
    assert_eq!(status, 200, "{reply}");
    let (_, health) = handler.get_json("/api/health").await;
    let docs = health["sources"].as_array().cloned().unwrap_or_default();
    let ws = docs.iter().find(|d| d["workspace"] == json!(OK)).cloned();
    assert_eq!(
        ws.map(|d| d["reachable"].clone()),
        Some(json!(true)),
        "{health}"
    );
}
