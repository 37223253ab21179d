//! The page's data, made by the real pipeline: two Bastion hosts (hubs in two regions) whose audit
//! logs land in one audit-log container, each recording into its own container (two recording
//! sources, each tied to its host), and a VM of the same name behind both hubs.

use bastion_recordings::storage::azure::AzureBlobStore;
use bastion_recordings::storage::{BlobRef, BlobStore, Metadata};
use bytes::Bytes;
use serde_json::{Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::audit_logs::support::event_invocation;
use crate::harness::{AzuriteEnv, HandlerProcess, fixture, unique};

/// A user name that would run script if it were ever parsed as markup.
pub(super) const HOSTILE_USER: &str = "<img src=x onerror=\"window.__pwned=1;alert(1)\">";
/// A user name shaped like a spreadsheet formula.
pub(super) const FORMULA_USER: &str = "=cmd|' /C calc'!A0";

/// The person of the reviewer's path: the Entra user the audit record names…
pub(super) const PERSON: &str = "bob@contoso.com";
/// …who signed in to the VM as this account.
pub(super) const PERSON_ACCOUNT: &str = "administrator";

/// A Bastion host: its name as the catalogue shows it, its resource id as the audit logs carry it.
pub(super) struct Hub {
    pub(super) name: &'static str,
    pub(super) id: &'static str,
}

pub(super) const WEU: Hub = Hub {
    name: "bas-hub-weu",
    id: "/SUBSCRIPTIONS/11111111-2222-3333-4444-555555555555/RESOURCEGROUPS/RG-HUB-WEU/PROVIDERS/MICROSOFT.NETWORK/BASTIONHOSTS/BAS-HUB-WEU",
};
pub(super) const NEU: Hub = Hub {
    name: "bas-hub-neu",
    id: "/SUBSCRIPTIONS/66666666-7777-8888-9999-000000000000/RESOURCEGROUPS/RG-HUB-NEU/PROVIDERS/MICROSOFT.NETWORK/BASTIONHOSTS/BAS-HUB-NEU",
};
const HUBS: [&Hub; 2] = [&WEU, &NEU];

/// What a seeded session is.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Kind {
    Recorded,
    Unrecorded,
    Failed,
}
use Kind::{Failed, Recorded, Unrecorded};

impl Kind {
    /// The page's `data-kind`.
    pub(super) fn name(self) -> &'static str {
        match self {
            Recorded => "recorded",
            Unrecorded => "unrecorded",
            Failed => "failed",
        }
    }
}

/// One seeded session: tunnel number, VM account, VM, protocol, start and end (minutes before
/// now), kind, the host it went through, the person's Entra sign-in (`userEmail`) when the audit
/// record carries one.
pub(super) struct Seed(
    pub(super) u8,
    pub(super) &'static str,
    pub(super) &'static str,
    pub(super) &'static str,
    pub(super) i64,
    pub(super) i64,
    pub(super) Kind,
    pub(super) &'static Hub,
    pub(super) Option<&'static str>,
);

/// `VM-APP-01` exists behind both hubs, with sessions overlapping in time: two machines, two lanes.
pub(super) const SEEDS: &[Seed] = &[
    Seed(
        1,
        "alice",
        "VM-WEB-01",
        "ssh",
        170,
        120,
        Recorded,
        &WEU,
        None,
    ),
    Seed(
        2,
        HOSTILE_USER,
        "VM-WEB-01",
        "ssh",
        110,
        95,
        Recorded,
        &WEU,
        None,
    ),
    Seed(3, "bob", "VM-DB-02", "rdp", 150, 60, Unrecorded, &WEU, None),
    Seed(
        4,
        FORMULA_USER,
        "VM-DB-02",
        "rdp",
        75,
        75,
        Failed,
        &WEU,
        None,
    ),
    Seed(5, "carol", "VM-APP-01", "ssh", 45, 20, Recorded, &WEU, None),
    Seed(
        6,
        PERSON_ACCOUNT,
        "VM-APP-01",
        "ssh",
        50,
        25,
        Recorded,
        &NEU,
        Some(PERSON),
    ),
    Seed(
        7,
        "erin",
        "VM-APP-01",
        "rdp",
        140,
        100,
        Unrecorded,
        &NEU,
        None,
    ),
    Seed(
        8,
        "frank",
        "VM-JUMP-04",
        "ssh",
        100,
        80,
        Recorded,
        &NEU,
        None,
    ),
];

impl Seed {
    pub(super) fn tunnel(&self) -> String {
        format!("a0000000-0000-4000-8000-{:012}", self.0)
    }
}

pub(super) fn at(now: OffsetDateTime, minutes_ago: i64) -> String {
    (now - time::Duration::minutes(minutes_ago))
        .format(&Rfc3339)
        .expect("time")
}

/// The recording containers, one per hub, and `RECORDINGS_SOURCES` tying each to its hub (WEU by
/// name, NEU by resource id: both spellings a deployment may use).
pub(super) fn recording_sources(env: &mut AzuriteEnv) -> [String; 2] {
    let containers = [unique("recweu"), unique("recneu")];
    let list = format!(
        "AzureWebJobsStorage:{}@{},AzureWebJobsStorage:{}@{}",
        containers[0], WEU.name, containers[1], NEU.id
    );
    env.vars.insert("RECORDINGS_SOURCES".to_owned(), list);
    containers
}

/// Audit-log lines of one seed: the connect (or failed login) record, and the end record.
fn audit_lines(s: &Seed, now: OffsetDateTime) -> String {
    let vm_id = format!(
        "/SUBSCRIPTIONS/S/RESOURCEGROUPS/RG/PROVIDERS/MICROSOFT.COMPUTE/VIRTUALMACHINES/{}",
        s.2
    );
    let props = |message: &str| {
        let mut p = json!({"userName": s.1, "clientIpAddress": "203.0.113.10", "clientPort": 50000,
            "protocol": s.3, "targetResourceId": vm_id, "message": message, "tunnelId": s.tunnel()});
        if let Some(email) = s.8 {
            p["userEmail"] = json!(email);
        }
        p
    };
    let record = |time: String, op: &str, props: Value| {
        json!({"time": time, "resourceId": s.7.id, "operationName": format!("Microsoft.Network/BastionHost/{op}"),
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
pub(super) fn event(file: &str, container: &str, name: &str) -> Value {
    let mut inv = event_invocation(file, container, name);
    inv["Data"]["eventGridEvent"]["eventTime"] = json!(at(OffsetDateTime::now_utc(), 0));
    inv
}

pub(super) async fn invoke_ok(handler: &HandlerProcess, function: &str, inv: &Value) {
    let (status, reply) = handler.invoke(function, inv).await;
    assert_eq!(status, 200, "{function}: {reply} {}", handler.log_text());
}

/// Seeds every session through the audit-log pipeline (one `PT1H.json` per hub, as Bastion's
/// diagnostic setting writes them) and every recorded one through `RecordingCreated` into its
/// hub's container (`containers`, in [`HUBS`] order).
pub(super) async fn seed(
    handler: &HandlerProcess,
    env: &AzuriteEnv,
    blobs: &AzureBlobStore,
    containers: &[String; 2],
    now: OffsetDateTime,
) {
    let logs = env.audit_logs();
    for hub in HUBS {
        let hour = format!(
            "resourceId={}/y={:04}/m={:02}/d={:02}/h={:02}/m=00/PT1H.json",
            hub.id,
            now.year(),
            u8::from(now.month()),
            now.day(),
            now.hour()
        );
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
        let on_hub = SEEDS.iter().filter(|s| s.7.name == hub.name);
        let text: String = on_hub.map(|s| audit_lines(s, now)).collect();
        blobs
            .append(&blob, Bytes::from(text))
            .await
            .expect("append");
    }
    let mut tick = fixture("invocations/timer.invocation.json");
    tick["Metadata"]["sys"]["MethodName"] = json!("AuditLogTail");
    tick["Metadata"]["sys"]["UtcNow"] = json!(at(now, 0));
    invoke_ok(handler, "AuditLogTail", &tick).await;
    for s in SEEDS.iter().filter(|s| s.6 == Recorded) {
        let hub = HUBS.iter().position(|h| h.name == s.7.name);
        let container = &containers[hub.expect("a seeded hub")];
        let name = format!("{}/{}.mp4", s.2.to_ascii_lowercase(), s.tunnel());
        let blob = BlobRef::new(container.clone(), name.clone());
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
    // The next minute's tick (the same minute's would be a duplicate period, planning nothing).
    tick["Metadata"]["sys"]["UtcNow"] = json!(at(now, -1));
    invoke_ok(handler, "AuditLogTail", &tick).await;
}
