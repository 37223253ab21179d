//! Runs every function over recording stores, the way the host would call them, and returns what
//! each did to storage.
//!
//! Order matters: ingest (RecordingCreated → RecordingHash, the audit-log functions), the
//! notifications they produced (NotifyWebhook, claims), verification, the catalogue API (reads,
//! detail with a download link, sessions, holds set/list/release, health, page), heartbeats, a
//! poison payload (quarantine), the `handler backfill` CLI, and last RetentionSweep ten years on,
//! when every class has expired, so it finds, re-checks and deletes in both Bastion containers.

use std::sync::{Arc, Mutex};

use axum::http::Method;
use bastion_recordings::app::router;
use bastion_recordings::backfill::{self, Kind, Options, progress::Progress};
use bastion_recordings::catalogue::policy::Policy;
use bastion_recordings::state::{AppState, Stores};
use bastion_recordings::storage::{BlobRef, BlobStore, Metadata};
use bastion_testkit::clock::FixedClock;
use bastion_testkit::loganalytics::activity;
use bastion_testkit::loganalytics::{FakeLogs, FakeRow};
use bastion_testkit::state::Replace as _;
use bastion_testkit::storage::intercept::Intercepted;
use bastion_testkit::storage::memory::InMemoryBlobStore;
use bastion_testkit::tables::memory::InMemoryTables;
use bytes::Bytes;
use serde_json::json;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use time::macros::datetime;

use super::record::{
    APP, AUDIT_LOGS, Blobs, Ingest, Ledger, Links, Logs, Queues, RECORDINGS, SETUP, Seen, Tables,
};
use super::rig::{Rig, bindings, blob_event, queue_message, values};
use crate::harness::{fixture, fixture_bytes};

/// The containers the app settings name (the Bicep defaults).
pub(super) const RECORDINGS_CONTAINER: &str = "recordings";
pub(super) const AUDIT_CONTAINER: &str = "insights-logs-bastionauditlogs";
const HOUR: &str = "resourceId=/SUBSCRIPTIONS/11111111-2222-3333-4444-555555555555/RESOURCEGROUPS/RG-HUB-WEU/PROVIDERS/MICROSOFT.NETWORK/BASTIONHOSTS/BAS-HUB-WEU/y=2025/m=03/d=14/h=09/m=00/PT1H.json";

/// The workspace source the settings name.
pub(super) const WORKSPACE: &str = "a1b2c3d4-0000-4000-8000-000000000001";
/// The custody workspace (its own, so the tables each kind of workspace is read for are told apart).
pub(super) const CUSTODY_WORKSPACE: &str = "a1b2c3d4-0000-4000-8000-000000000002";
/// The group holding a role on the session targets' subscription (PIM for Groups).
pub(super) const PIM_GROUP: &str = "1c4a9e1f-0000-4000-8000-0000000000c3";

/// The loopback fake holding one Bastion audit row of the workspace.
fn workspace() -> FakeLogs {
    let fake = FakeLogs::default();
    fake.workspace(CUSTODY_WORKSPACE);
    let values = json!({
        "TimeGenerated": "2025-03-14T09:40:00.000Z",
        "_ResourceId": "/subscriptions/11111111-2222-3333-4444-555555555555/resourcegroups/rg-hub-weu/providers/microsoft.network/bastionhosts/bas-hub-weu",
        "OperationName": "Microsoft.Network/BastionHost/connect", "Message": "Successfully Connected.",
        "UserName": "azureuser", "TunnelId": "0b0c2d7e-8b1a-4c3e-9d2f-6a7b8c9d0e1f",
        "SessionEndTime": "", "Duration": null,
    });
    fake.ingest(
        WORKSPACE,
        FakeRow {
            ingested: datetime!(2025-03-14 11:00 UTC),
            visible_from: OffsetDateTime::UNIX_EPOCH,
            values: values.as_object().cloned().unwrap_or_default(),
        },
    );
    // A just-in-time request whose Activity log row carries no request body: the check reads
    // its policy's requests through Resource Manager.
    let policy = "/subscriptions/11111111-2222-3333-4444-555555555555/resourceGroups/rg-app-weu/providers/Microsoft.Security/locations/westeurope/jitNetworkAccessPolicies/default";
    let jit = json!({
        "TimeGenerated": "2025-03-14T12:10:00.000Z",
        "OperationNameValue": "MICROSOFT.SECURITY/LOCATIONS/JITNETWORKACCESSPOLICIES/INITIATE/ACTION",
        "ActivityStatusValue": "Success", "Caller": "grace@contoso.com",
        "CallerIpAddress": "198.51.100.9", "_ResourceId": policy.to_ascii_lowercase(),
        "ResourceId": policy.to_ascii_uppercase(),
        "SubscriptionId": "11111111-2222-3333-4444-555555555555", "CorrelationId": "j-1",
        "Category": "Administrative",
        "Properties_d": {"statusCode": "Accepted", "eventCategory": "Administrative"},
    });
    fake.ingest(
        WORKSPACE,
        activity::row(
            jit.as_object().cloned().unwrap_or_default(),
            OffsetDateTime::UNIX_EPOCH,
        ),
    );
    // The same under the BYPASS_SCOPES subscription: its policy (and VM) are read there.
    let bypass = policy
        .replace(
            "11111111-2222-3333-4444-555555555555",
            super::arm::BYPASS_SUBSCRIPTION,
        )
        .replace("rg-app-weu", "rg-bypass-0");
    let mut other = jit.clone();
    other["_ResourceId"] = json!(bypass.to_ascii_lowercase());
    other["ResourceId"] = json!(bypass.to_ascii_uppercase());
    other["SubscriptionId"] = json!(super::arm::BYPASS_SUBSCRIPTION);
    other["CorrelationId"] = json!("j-2");
    fake.ingest(
        WORKSPACE,
        activity::row(
            other.as_object().cloned().unwrap_or_default(),
            OffsetDateTime::UNIX_EPOCH,
        ),
    );
    // A watched VM (a session target of the audit log) moved into a BYPASS_SCOPES subscription's
    // group: the check confirms the VM at its new id there (`GET {vm}`, its `vmId`), so that read
    // needs its grant there too.
    let group = "/subscriptions/11111111-2222-3333-4444-555555555555/resourceGroups/rg-app-weu";
    let body =
        json!({"resources": [super::arm::MOVED_VM], "targetResourceGroup": super::arm::MOVED_TO});
    let start = json!({"statusCode": "Accepted", "requestbody": body.to_string()});
    for (status, properties) in [("Start", start), ("Success", json!({"statusCode": "OK"}))] {
        let moved = json!({
            "TimeGenerated": "2025-03-14T12:20:00.000Z",
            "OperationNameValue": "MICROSOFT.RESOURCES/SUBSCRIPTIONS/RESOURCEGROUPS/MOVERESOURCES/ACTION",
            "ActivityStatusValue": status, "Caller": "bob@contoso.com",
            "CallerIpAddress": "198.51.100.4", "_ResourceId": group.to_ascii_lowercase(),
            "ResourceId": group.to_ascii_uppercase(),
            "SubscriptionId": "11111111-2222-3333-4444-555555555555", "CorrelationId": "m-1",
            "Category": "Administrative", "Properties_d": properties,
        });
        fake.ingest(
            WORKSPACE,
            activity::row(
                moved.as_object().cloned().unwrap_or_default(),
                OffsetDateTime::UNIX_EPOCH,
            ),
        );
    }
    fake
}

/// The recorded calls, and the functions (folder names and tools) that ran.
pub(super) struct Exercised {
    pub(super) seen: Seen,
    pub(super) ran: Vec<String>,
    /// The Microsoft Graph requests (method, path) the functions made.
    pub(super) graph: Vec<(String, String)>,
    /// The Logs Query API queries the functions sent.
    pub(super) queries: Vec<super::record::Query>,
}

/// Runs everything; `rx` receives the webhook notifications.
pub(super) async fn exercise(webhook: &str) -> Exercised {
    let ledger = Ledger::default();
    let store = |connection: &'static str, account: &str| {
        let hook = Blobs {
            ledger: ledger.clone(),
            connection,
        };
        Arc::new(Intercepted::with(InMemoryBlobStore::new(account), hook))
    };
    let (recordings, logs, app) = (
        store(RECORDINGS, "strec"),
        store(AUDIT_LOGS, "stlogs"),
        store(APP, "stapp"),
    );
    // The recording source names the watched host, so the estate check reads its account's settings.
    let (host, account) = (super::arm::host(), super::arm::account());
    let sources = format!("RECORDINGS_STORAGE:{RECORDINGS_CONTAINER}@{host}");
    let logs_sources = format!("AUDITLOGS_STORAGE:{AUDIT_CONTAINER}");
    let arm = super::arm::Arm::start(&ledger).await;
    // The people of the sessions, resolved by ReviewQueue through Graph's Get user.
    let graph = crate::reviews::graph::FakeGraph::start(
        &[("alice@contoso.com", "6f1d2c3b-0000-4000-8000-0000000000a1")],
        0,
        &[],
    )
    .await;
    graph.group(
        PIM_GROUP,
        vec![crate::reviews::graph::membership(
            PIM_GROUP,
            ("6f1d2c3b-0000-4000-8000-0000000000a1", "alice@contoso.com"),
            true,
            ("2025-03-14T09:00:00Z", Some("2025-03-14T17:00:00Z")),
        )],
        false,
    );
    // Its members as Graph's transitive members list gives them (a plain member read too).
    graph.members(
        PIM_GROUP,
        &[("6f1d2c3b-0000-4000-8000-0000000000a1", "alice@contoso.com")],
        false,
    );
    let bypass = format!("/subscriptions/{}", super::arm::BYPASS_SUBSCRIPTION);
    let env = [
        ("RECORDINGS_SOURCES", sources.as_str()),
        ("AUDITLOGS_SOURCES", logs_sources.as_str()),
        ("CATALOGUE_DOWNLOAD_LINKS", "true"),
        ("CATALOGUE_AUTH", "none"),
        ("NOTIFY_ALLOW_INSECURE_LOOPBACK", "true"),
        ("NOTIFY_WEBHOOK_URL", webhook),
        ("NOTIFY_WEBHOOK_SECRET", crate::notify::SECRET),
        ("BASTION_HOSTS", host.as_str()),
        ("RECORDINGS_ACCOUNT_IDS", account.as_str()),
        ("BASTION_DISCONNECT", "true"),
        ("BYPASS_SCOPES", bypass.as_str()),
        ("AUDITLOGS_WORKSPACES", WORKSPACE),
        ("GRAPH_ENDPOINT", graph.base.as_str()),
        // The optional authorization sources: Graph's PIM for Groups, SigninLogs in the query.
        ("AUTHZ_PIM_GROUPS", "true"),
        ("AUTHZ_SIGNIN_MFA", "true"),
        ("CATALOGUE_AUTH_ALLOW_INSECURE_LOOPBACK", "true"),
        // The custody workspace: the detail reads the recording's trail, CustodyActor its lookups.
        ("CUSTODY_WORKSPACE_ID", CUSTODY_WORKSPACE),
        // base64 of the seed [7; 32]: EvidencePack writes (and so has its blob calls checked).
        (
            "EVIDENCE_SIGNING_KEY",
            "BwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwc=",
        ),
    ];
    let config = bastion_testkit::state::config(&env).expect("config");
    let tables = Arc::new(Intercepted::with(
        InMemoryTables::new(),
        Tables(ledger.clone()),
    ));
    let stores = Stores {
        recordings: recordings.clone(),
        audit_logs: logs.clone(),
        app_blobs: app,
        tables,
    };
    let clock = Arc::new(FixedClock::new(datetime!(2025-03-14 10:00 UTC)));
    // The Sentinel export on: the functions record their rows, SentinelExport sends them.
    let mut state = AppState::assemble(config, Policy::builtin(), stores, clock.clone())
        .with_arm(arm.client())
        .with_ingestion(Arc::new(Ingest(ledger.clone())));
    state.links = bastion_recordings::storage::links::Links::one(Arc::new(Links(ledger.clone())));
    state.queues = Arc::new(Queues(ledger.clone()));
    let queries = Arc::new(Mutex::new(Vec::new()));
    state.logs = Some(Arc::new(Logs {
        ledger: ledger.clone(),
        fake: workspace(),
        queries: queries.clone(),
    }));
    let mut rig = Rig {
        ledger: ledger.clone(),
        router: router(state.clone()),
        state,
        bindings: bindings(),
        ran: Vec::new(),
    };

    ledger.run_as(SETUP);
    let rec = BlobRef::new(RECORDINGS_CONTAINER, "vm-app-01/session.mp4");
    recordings
        .put(
            &rec,
            Bytes::from_static(b"recording"),
            "video/mp4",
            &Metadata::new(),
        )
        .await
        .expect("put");
    let hour = BlobRef::new(AUDIT_CONTAINER, HOUR);
    logs.create_append(&hour, "application/json")
        .await
        .expect("create");
    // A second person as alice's `azureuser` on her VM: a shared account, whose VM's extensions
    // the check reads with its subscription's VM list.
    let sample = String::from_utf8(fixture_bytes("auditlogs/PT1H.sample.jsonl")).expect("text");
    let (first, rest) = sample.split_once('\n').unwrap_or_default();
    let shared = (first.replace("alice@contoso.com", "dave@contoso.com"))
        .replace("09:03:54.776Z", "09:20:00.000Z")
        .replace("6a7b8c9d0e1f", "6a7b8c9d0e2a");
    logs.append(&hour, Bytes::from(format!("{first}\n{shared}\n{rest}")))
        .await
        .expect("append");
    let timer = fixture("invocations/timer.invocation.json")["Data"].clone();

    let out = rig
        .invoke(
            "RecordingCreated",
            blob_event("strec", RECORDINGS_CONTAINER, &rec.name),
            json!({}),
            "processed",
        )
        .await;
    let mut notifications = values(&out, "notifications");
    let hashes = values(&out, "hashRequests");
    assert!(
        !hashes.is_empty(),
        "RecordingCreated asked for no hash: {out}"
    );
    for h in &hashes {
        let (data, meta) = queue_message(h);
        rig.invoke("RecordingHash", data, meta, "processed").await;
    }
    // Before the audit logs join it to a session of 2025: the row then sorts by that start.
    // The in-memory store stamps blobs with the real creation time (the partition) and the event
    // time is now (the sort time), so the row is today's.
    let today = OffsetDateTime::now_utc().date();
    let list = rig
        .api(
            Method::GET,
            &format!("/api/recordings?from={today}&to={today}"),
            None,
        )
        .await;
    let id = list["items"][0]["id"]
        .as_str()
        .unwrap_or_else(|| panic!("no catalogued recording: {list}"))
        .to_owned();
    let detail = rig
        .api(Method::GET, &format!("/api/recordings/{id}"), None)
        .await;
    assert_eq!(detail["download"]["available"], json!(true), "{detail}");
    let hold = json!({"recording": id, "reason": "permission test"});
    rig.api(Method::POST, "/api/holds", Some(hold.clone()))
        .await;
    rig.api(Method::GET, &format!("/api/holds?recording={id}"), None)
        .await;
    rig.api(Method::DELETE, "/api/holds", Some(hold)).await;
    let out = rig
        .invoke(
            "AuditLogCreated",
            blob_event("stlogs", AUDIT_CONTAINER, HOUR),
            json!({}),
            "processed",
        )
        .await;
    notifications.extend(values(&out, "notifications"));
    let at = |t: &str| json!({"sys": {"MethodName": "", "UtcNow": t}});
    for (f, now) in [
        ("AuditLogTail", "2025-03-14T11:30:00Z"),
        ("AuditLogQuery", "2025-03-14T11:30:00Z"),
        ("Reconcile", "2025-03-14T12:17:00Z"),
        ("EstateCheck", "2025-03-14T12:30:00Z"),
        ("LiveSessions", "2025-03-14T12:35:00Z"),
        // Again with the result under the host (the specification's example) and a next page
        // that answers 202 itself; then a check that asks about the RDP session's VM.
        ("LiveSessions", "2025-03-14T12:40:00Z"),
        ("EstateCheck", "2025-03-14T12:45:00Z"),
        ("ReviewQueue", "2025-03-14T12:20:00Z"),
        ("ReviewQueue", "2025-03-16T12:20:00Z"),
        ("CustodyActor", "2025-03-16T12:21:00Z"),
    ] {
        if now == "2025-03-14T12:40:00Z" {
            arm.fake.with(|e| {
                e.lro = crate::estate::fake_arm::lro::Lro::HostLocation;
                e.page_accepted = true;
            });
        }
        // The checks' Resource Manager budget counts calls by the clock: 15 minutes apart.
        if f == "EstateCheck" {
            clock.set(time::OffsetDateTime::parse(now, &Rfc3339).expect("time"));
        }
        let mut meta = at(now);
        meta["sys"]["MethodName"] = json!(f);
        let out = rig.invoke(f, timer.clone(), meta, "any").await;
        notifications.extend(values(&out, "notifications"));
    }
    notifications.push(crate::notify::notification("permissions", "critical"));
    for n in &notifications {
        let (data, meta) = queue_message(n);
        rig.invoke("NotifyWebhook", data, meta, "any").await;
    }
    let mut meta = at("2025-03-14T12:40:30Z");
    meta["sys"]["MethodName"] = json!("SentinelExport");
    rig.invoke("SentinelExport", timer.clone(), meta, "processed")
        .await;
    let tomorrow = (OffsetDateTime::now_utc() + time::Duration::days(1)).date();
    let mut meta = at(&format!("{tomorrow}T03:00:00Z"));
    meta["sys"]["MethodName"] = json!("IntegrityVerify");
    rig.invoke("IntegrityVerify", timer.clone(), meta, "any")
        .await;
    let mut meta = at("2025-04-01T04:00:00Z");
    meta["sys"]["MethodName"] = json!("EvidencePack");
    rig.invoke("EvidencePack", timer.clone(), meta, "processed")
        .await;

    rig.api(
        Method::GET,
        "/api/sessions?from=2025-03-13&to=2025-03-14",
        None,
    )
    .await;
    rig.api(Method::GET, "/api/reviews/queue", None).await;
    rig.api(
        Method::GET,
        "/api/reviews/figures?from=2025-03-13&to=2025-03-14",
        None,
    )
    .await;
    rig.api(
        Method::GET,
        "/api/reviews?from=2025-03-13&to=2025-03-14",
        None,
    )
    .await;
    rig.api(Method::GET, "/api/health", None).await;
    rig.api(Method::GET, "/api/estate", None).await;
    rig.api(Method::GET, "/api/sessions/live", None).await;
    rig.api(Method::GET, "/api/ui", None).await;

    ledger.run_as("heartbeat flush");
    bastion_recordings::health::flush::flush(&rig.state.heartbeats, &*rig.state.ports.tables)
        .await
        .expect("flush");
    rig.ran.push("heartbeat flush".to_owned());
    rig.invoke(
        "RecordingCreated",
        json!({"eventGridEvent": {"id": 1}}),
        json!({}),
        "poisoned",
    )
    .await;

    // The API route and `handler disconnect` share this path; the route needs a principal, which
    // the exercise's `CATALOGUE_AUTH=none` has not.
    ledger.run_as("disconnect");
    let client = rig.state.arm.clone().expect("arm");
    let req = bastion_recordings::estate::disconnect::Request {
        host: &host,
        session_id: "5f0c2d7e-8b1a-4c3e-9d2f-6a7b8c9d0e1f",
        reason: "permission test",
        who: "cli:permissions",
    };
    let tables = rig.state.ports.tables.clone();
    let now = datetime!(2025-03-14 12:36 UTC);
    bastion_recordings::estate::disconnect::disconnect(
        tables.as_ref(),
        &rig.state.ports.outbox,
        client.as_ref(),
        &req,
        now,
    )
    .await
    .expect("disconnect");
    rig.ran.push("disconnect".to_owned());

    ledger.run_as("handler backfill");
    let opts = Options {
        from: datetime!(2025-03-14 00:00 UTC),
        to: (OffsetDateTime::now_utc() + time::Duration::days(1)),
        concurrency: 2,
        kinds: vec![Kind::AuditLogs, Kind::Recordings],
        dry_run: false,
        restart: true,
        limit: None,
        hash: true,
    };
    let mut emitted = 0;
    backfill::run(&rig.state, &opts, &mut Progress::hidden(), &mut |_, _| {
        emitted += 1
    })
    .await
    .expect("backfill");
    rig.ran.push("handler backfill".to_owned());

    let mut meta = at("2035-03-16T02:00:00Z");
    meta["sys"]["MethodName"] = json!("RetentionSweep");
    rig.invoke("RetentionSweep", timer, meta, "processed").await;
    let unknown = arm.unknown.lock().expect("unknown").clone();
    assert!(
        unknown.is_empty(),
        "Resource Manager calls no permission mapping knows: {unknown:?}"
    );
    Exercised {
        seen: ledger.seen(),
        ran: rig.ran,
        graph: graph.requests(),
        queries: queries.lock().expect("queries").clone(),
    }
}
