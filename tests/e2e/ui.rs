//! The timeline page in headless Chromium against the real handler on Azurite (`TEST_UI=1`, set by
//! scripts/test.sh after scripts/browser.sh): sessions from audit-log lines through
//! `AuditLogCreated` + `AuditLogTail`, recordings through `RecordingCreated`, then
//! `node tests/ui/timeline.mjs` drives the page (filter, paging, timeline kinds, hostile values as
//! text, no script execution, CSP) and writes target/ui/timeline.png.

use std::time::Duration;

use bastion_recordings::config::{Config, Storage};
use bastion_recordings::storage::azure::AzureBlobStore;
use bastion_recordings::storage::{BlobRef, BlobStore, Metadata};
use bytes::Bytes;
use serde_json::{Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::harness::{AzuriteEnv, HandlerProcess, azurite, fixture};

const KEY: &str = "test-function-key";
const BASTION: &str = "/SUBSCRIPTIONS/11111111-2222-3333-4444-555555555555/RESOURCEGROUPS/RG-HUB/PROVIDERS/MICROSOFT.NETWORK/BASTIONHOSTS/BAS-HUB";
/// A user name that would run script if it were ever parsed as markup.
const HOSTILE_USER: &str = "<img src=x onerror=\"window.__pwned=1;alert(1)\">";
/// A user name shaped like a spreadsheet formula.
const FORMULA_USER: &str = "=cmd|' /C calc'!A0";

/// What a seeded session is.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Recorded,
    Unrecorded,
    Failed,
}
use Kind::{Failed, Recorded, Unrecorded};

/// One seeded session: tunnel number, user, VM, protocol, start and end (minutes before now), kind.
struct Seed(u8, &'static str, &'static str, &'static str, i64, i64, Kind);

const SEEDS: &[Seed] = &[
    Seed(1, "alice", "VM-WEB-01", "ssh", 170, 120, Recorded),
    Seed(2, HOSTILE_USER, "VM-WEB-01", "ssh", 110, 95, Recorded),
    Seed(3, "bob", "VM-DB-02", "rdp", 150, 60, Unrecorded),
    Seed(4, FORMULA_USER, "VM-DB-02", "rdp", 75, 75, Failed),
    Seed(5, "carol", "VM-APP-03", "ssh", 45, 20, Recorded),
];

impl Kind {
    /// The page's `data-kind`.
    fn name(self) -> &'static str {
        match self {
            Recorded => "recorded",
            Unrecorded => "unrecorded",
            Failed => "failed",
        }
    }
}

impl Seed {
    fn tunnel(&self) -> String {
        format!("a0000000-0000-4000-8000-{:012}", self.0)
    }
}

fn at(now: OffsetDateTime, minutes_ago: i64) -> String {
    (now - time::Duration::minutes(minutes_ago))
        .format(&Rfc3339)
        .expect("time")
}

/// `datetime-local` text (UTC) of `t`.
fn local(t: OffsetDateTime) -> String {
    at(t, 0)[..16].to_owned()
}

/// Audit-log lines of one seed: the connect (or failed login) record, and the end record.
fn audit_lines(s: &Seed, now: OffsetDateTime) -> String {
    let vm_id = format!(
        "/SUBSCRIPTIONS/S/RESOURCEGROUPS/RG/PROVIDERS/MICROSOFT.COMPUTE/VIRTUALMACHINES/{}",
        s.2
    );
    let props = |message: &str| {
        json!({"userName": s.1, "clientIpAddress": "203.0.113.10", "clientPort": 50000,
            "protocol": s.3, "targetResourceId": vm_id, "message": message, "tunnelId": s.tunnel()})
    };
    let record = |time: String, op: &str, props: Value| {
        json!({"time": time, "resourceId": BASTION, "operationName": format!("Microsoft.Network/BastionHost/{op}"),
            "category": "BastionAuditLogs", "properties": props})
        .to_string()
            + "\n"
    };
    if s.6 == Failed {
        return record(at(now, s.4), "connect", props("Login Failed"));
    }
    let mut end = props("session ended");
    end["sessionStartTime"] = json!(at(now, s.4));
    end["sessionEndTime"] = json!(at(now, s.5));
    end["duration"] = json!((s.4 - s.5) * 60_000);
    record(at(now, s.4), "connect", props("Successfully Connected."))
        + &record(at(now, s.5), "disconnect", end)
}

/// The fixture event, pointed at `container/name` on Azurite's account, sent now.
fn event(file: &str, container: &str, name: &str) -> Value {
    let mut inv = fixture(file);
    let ev = &mut inv["Data"]["eventGridEvent"];
    ev["eventTime"] = json!(at(OffsetDateTime::now_utc(), 0));
    ev["topic"] = json!(
        "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Storage/storageAccounts/devstoreaccount1"
    );
    ev["subject"] = json!(format!(
        "/blobServices/default/containers/{container}/blobs/{name}"
    ));
    ev["data"]["url"] = json!(format!(
        "http://127.0.0.1:10000/devstoreaccount1/{container}/{name}"
    ));
    inv
}

async fn invoke_ok(handler: &HandlerProcess, function: &str, inv: &Value) {
    let (status, reply) = handler.invoke(function, inv).await;
    assert_eq!(status, 200, "{function}: {reply} {}", handler.log_text());
}

/// Seeds every session through the audit-log pipeline and every recorded one through RecordingCreated.
async fn seed(
    handler: &HandlerProcess,
    env: &AzuriteEnv,
    blobs: &AzureBlobStore,
    now: OffsetDateTime,
) {
    let logs = env.get("AUDITLOGS_CONTAINER");
    let hour = format!(
        "{BASTION}/y={:04}/m={:02}/d={:02}/h={:02}/m=00/PT1H.json",
        now.year(),
        u8::from(now.month()),
        now.day(),
        now.hour()
    );
    let hour = format!("resourceId={hour}");
    let blob = BlobRef::new(logs, hour.clone());
    blobs
        .create_append(&blob, "application/json")
        .await
        .expect("append blob");
    invoke_ok(
        handler,
        "AuditLogCreated",
        &event("invocations/auditlog-created.invocation.json", logs, &hour),
    )
    .await;
    let text: String = SEEDS.iter().map(|s| audit_lines(s, now)).collect();
    blobs
        .append(&blob, Bytes::from(text))
        .await
        .expect("append");
    let mut tick = fixture("invocations/timer.invocation.json");
    tick["Metadata"]["sys"]["MethodName"] = json!("AuditLogTail");
    tick["Metadata"]["sys"]["UtcNow"] = json!(at(now, 0));
    invoke_ok(handler, "AuditLogTail", &tick).await;
    let container = env.get("RECORDINGS_CONTAINER");
    for s in SEEDS.iter().filter(|s| s.6 == Recorded) {
        let name = format!("{}/{}.mp4", s.2.to_ascii_lowercase(), s.tunnel());
        let blob = BlobRef::new(container, name.clone());
        blobs
            .put(
                &blob,
                Bytes::from_static(b"recording"),
                "video/mp4",
                &Metadata::new(),
            )
            .await
            .expect("upload");
        invoke_ok(
            handler,
            "RecordingCreated",
            &event(
                "invocations/recording-created.invocation.json",
                container,
                &name,
            ),
        )
        .await;
    }
    invoke_ok(handler, "AuditLogTail", &tick).await;
}

/// What the page must show for the seeds.
fn expectations(now: OffsetDateTime) -> Value {
    let kinds = |k: Kind| SEEDS.iter().filter(|s| s.6 == k).count();
    let mut vms: Vec<String> = SEEDS.iter().map(|s| s.2.to_ascii_lowercase()).collect();
    vms.sort();
    vms.dedup();
    let on_db = || SEEDS.iter().filter(|s| s.2 == "VM-DB-02");
    let mut db_kinds: Vec<&str> = on_db().map(|s| s.6.name()).collect();
    db_kinds.sort_unstable();
    json!({
        "key": KEY, "pageSize": 2,
        "from": local(now - time::Duration::hours(4)), "to": local(now + time::Duration::hours(1)),
        "tooWideFrom": local(now - time::Duration::days(60)),
        "recordings": kinds(Recorded),
        "kinds": {"recorded": kinds(Recorded), "unrecorded": kinds(Unrecorded), "failed": kinds(Failed)},
        "vms": vms,
        "hostileTable": [HOSTILE_USER], "hostileTimeline": [HOSTILE_USER, FORMULA_USER],
        "filter": {"user": "alice", "recordings": 1, "entries": 1},
        // Mixed case: VM names match case-insensitively.
        "vmFilter": {
            "vm": "Vm-Db-02", "protocol": "rdp", "kinds": db_kinds,
            "recordings": on_db().filter(|s| s.6 == Recorded).count(),
        },
    })
}

#[tokio::test]
async fn timeline_page_in_headless_chromium() {
    if std::env::var("TEST_UI").ok().as_deref() != Some("1") {
        eprintln!(
            "skipping: TEST_UI is not 1 (scripts/test.sh runs scripts/browser.sh and sets it)"
        );
        return;
    }
    let cs = azurite().expect("TEST_UI=1 needs Azurite (TEST_AZURITE=1, as scripts/test.sh sets)");
    let env = AzuriteEnv::new(&cs);
    let config = Config::from_lookup(&|k| env.vars.get(k).cloned()).expect("config");
    let Storage::Connected { app, .. } = &config.storage else {
        panic!("connected storage")
    };
    let blobs = AzureBlobStore::new(app).expect("blobs");
    let handler = HandlerProcess::spawn(&env.pairs()).await;
    let now = OffsetDateTime::now_utc();
    seed(&handler, &env, &blobs, now).await;

    let root = env!("CARGO_MANIFEST_DIR");
    let dir = format!("{root}/target/ui");
    std::fs::create_dir_all(&dir).expect("target/ui");
    let expect_path = format!("{dir}/expect.json");
    std::fs::write(&expect_path, expectations(now).to_string()).expect("expect.json");
    let run = tokio::process::Command::new("node")
        .arg(format!("{root}/tests/ui/timeline.mjs"))
        .arg(format!("http://{}", handler.addr))
        .arg(&expect_path)
        .arg(format!("{dir}/timeline.png"))
        .current_dir(format!("{root}/tests/ui"))
        .kill_on_drop(true)
        .output();
    let out = tokio::time::timeout(Duration::from_secs(180), run)
        .await
        .expect("browser test finished in time")
        .expect("node runs (scripts/browser.sh)");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success() && stdout.contains("ui: ok"),
        "browser test failed:\n{stdout}\n{stderr}\nhandler log:\n{}",
        handler.log_text()
    );
    println!("{stdout}");
}
