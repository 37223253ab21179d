//! Helpers of the audit-log end-to-end tests: a handler on Azurite plus test-side clients, and
//! host-shaped invocations built from the fixtures.

use std::sync::Arc;

use bastion_recordings::azure::connection::StorageConnection;
use bastion_recordings::storage::azure::AzureBlobStore;
use bastion_recordings::storage::{BlobRef, BlobStore, Metadata};
use bastion_recordings::tables::rest::TableRestClient;
use bastion_recordings::tables::{Entity, TableStore};
use bytes::Bytes;
use serde_json::{Value, json};

use crate::harness::{self, AzuriteEnv, HandlerProcess, fixture};

pub(crate) const ALICE: &str = "5f0c2d7e-8b1a-4c3e-9d2f-6a7b8c9d0e1f";
pub(crate) const HOST: &str = "resourceId=/SUBSCRIPTIONS/11111111-2222-3333-4444-555555555555/RESOURCEGROUPS/RG-HUB-WEU/PROVIDERS/MICROSOFT.NETWORK/BASTIONHOSTS/BAS-HUB-WEU";

pub(crate) fn hour_path(h: u8) -> String {
    format!("{HOST}/y=2025/m=03/d=14/h={h:02}/m=00/PT1H.json")
}

pub(crate) struct Env {
    pub(crate) handler: HandlerProcess,
    pub(crate) env: AzuriteEnv,
    pub(crate) blobs: Arc<dyn BlobStore>,
    pub(crate) tables: Arc<dyn TableStore>,
    /// Ticks so far ([`Env::tick`]).
    ticks: std::sync::atomic::AtomicI64,
}

pub(crate) async fn start() -> Option<Env> {
    let cs = harness::azurite()?;
    let env = AzuriteEnv::new(&cs);
    let handler = HandlerProcess::spawn(&env.pairs()).await;
    Some(Env::with(&cs, env, handler))
}

impl Env {
    /// `handler` with test-side clients reaching Azurite `cs` directly, under `env`'s names.
    pub(crate) fn with(cs: &str, env: AzuriteEnv, handler: HandlerProcess) -> Self {
        let conn = StorageConnection::resolve("T", &|k| (k == "T").then(|| cs.to_owned()))
            .expect("parses")
            .expect("set");
        let blobs: Arc<dyn BlobStore> = Arc::new(AzureBlobStore::new(&conn).expect("blob client"));
        let tables: Arc<dyn TableStore> =
            Arc::new(TableRestClient::new(&conn, env.get("TABLE_PREFIX")).expect("table client"));
        Self {
            handler,
            env,
            blobs,
            tables,
            ticks: 0.into(),
        }
    }
}

/// A fixture invocation with the event pointed at `container/name` on Azurite's account.
pub(crate) fn event_invocation(file: &str, container: &str, name: &str) -> Value {
    let mut inv = fixture(file);
    let ev = &mut inv["Data"]["eventGridEvent"];
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

pub(crate) fn tick_invocation() -> Value {
    tick_invocation_at(0)
}

/// The `AuditLogTail` tick `minute` minutes after 11:30 (each tick its own period: a second tick
/// of the same minute is a duplicate and plans nothing).
pub(crate) fn tick_invocation_at(minute: i64) -> Value {
    let mut inv = fixture("invocations/timer.invocation.json");
    inv["Metadata"]["sys"]["MethodName"] = json!("AuditLogTail");
    inv["Metadata"]["sys"]["UtcNow"] =
        json!(format!("2025-03-14T11:{:02}:00.0000000Z", 30 + minute));
    inv
}

/// The number before `label` in the invocation's log lines (the tick summary; a planning timer's
/// units' summaries follow it, [`crate::harness::HandlerProcess::invoke`]): summed over the lines
/// that name it.
pub(crate) fn count(reply: &Value, label: &str) -> u64 {
    let lines: Vec<&str> = reply["Logs"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect();
    let counts: Vec<u64> = lines
        .iter()
        .filter_map(|log| count_in(log, label))
        .collect();
    assert!(!counts.is_empty(), "no `{label}` in {lines:?}");
    counts.iter().sum()
}

/// [`count`] over several replies: racing ticks plan the same unit in two periods, and the earlier
/// period's copy finds its row taken by the later one and runs nothing, so only one reply may name
/// `label`; at least one must.
pub(crate) fn count_all(replies: &[&Value], label: &str) -> u64 {
    let named: Vec<&&Value> = (replies.iter())
        .filter(|r| {
            (r["Logs"].as_array().into_iter().flatten())
                .filter_map(Value::as_str)
                .any(|log| count_in(log, label).is_some())
        })
        .collect();
    assert!(!named.is_empty(), "no `{label}` in {replies:?}");
    named.iter().map(|r| count(r, label)).sum()
}

fn count_in(log: &str, label: &str) -> Option<u64> {
    let words: Vec<&str> = log
        .split([' ', ',', ':', '('])
        .filter(|w| !w.is_empty())
        .collect();
    let at = words.iter().position(|w| *w == label)?;
    Some(
        words[at - 1]
            .parse()
            .unwrap_or_else(|_| panic!("no count before `{label}` in {log}")),
    )
}

impl Env {
    pub(crate) fn logs(&self) -> String {
        self.env.audit_logs().to_owned()
    }

    pub(crate) async fn create(&self, h: u8) -> Value {
        let blob = BlobRef::new(self.logs(), hour_path(h));
        self.blobs
            .create_append(&blob, "application/json")
            .await
            .expect("create append blob");
        let (status, reply) = self
            .handler
            .invoke(
                "AuditLogCreated",
                &event_invocation(
                    "invocations/auditlog-created.invocation.json",
                    &self.logs(),
                    &hour_path(h),
                ),
            )
            .await;
        assert_eq!(status, 200, "{reply} {}", self.handler.log_text());
        reply
    }

    pub(crate) async fn append(&self, h: u8, text: &[u8]) {
        self.blobs
            .append(
                &BlobRef::new(self.logs(), hour_path(h)),
                Bytes::copy_from_slice(text),
            )
            .await
            .expect("append");
    }

    /// The next `AuditLogTail` tick (a minute after the last one).
    pub(crate) async fn tick(&self) -> Value {
        let minute = self.ticks.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let (status, reply) = self
            .handler
            .invoke("AuditLogTail", &tick_invocation_at(minute))
            .await;
        assert_eq!(status, 200, "{reply} {}", self.handler.log_text());
        reply
    }

    pub(crate) async fn session(&self, tunnel: &str) -> Option<Entity> {
        self.tables
            .get("sessions", tunnel, "session")
            .await
            .expect("get session")
            .map(|s| s.entity)
    }
}

pub(crate) fn record(tunnel: &str, time: &str, message: &str, extra: &str) -> String {
    format!(
        r#"{{"time":"{time}","resourceId":"/SUBSCRIPTIONS/S/RESOURCEGROUPS/RG/PROVIDERS/MICROSOFT.NETWORK/BASTIONHOSTS/BAS-HUB-WEU","operationName":"Microsoft.Network/BastionHost/connect","properties":{{"userName":"u","protocol":"ssh","clientIpAddress":"203.0.113.9","targetResourceId":"/SUBSCRIPTIONS/S/RESOURCEGROUPS/RG/PROVIDERS/MICROSOFT.COMPUTE/VIRTUALMACHINES/VM-E2E","message":"{message}","tunnelId":"{tunnel}"{extra}}}}}"#
    ) + "\n"
}

impl Env {
    pub(crate) async fn create_again(&self, h: u8) -> Value {
        let (status, reply) = self
            .handler
            .invoke(
                "AuditLogCreated",
                &event_invocation(
                    "invocations/auditlog-created.invocation.json",
                    &self.logs(),
                    &hour_path(h),
                ),
            )
            .await;
        assert_eq!(status, 200, "{reply}");
        reply
    }

    /// Uploads a recording and catalogues it through `RecordingCreated`; returns its catalogue id.
    pub(crate) async fn catalogue(&self, name: &str) -> String {
        self.catalogue_at(name, None).await
    }

    /// [`Env::catalogue`] with the event's time set to `event_time` (RFC 3339), when given: the
    /// join's windows are around the recording's creation time, which the event carries.
    pub(crate) async fn catalogue_at(&self, name: &str, event_time: Option<&str>) -> String {
        let container = self.env.recordings().to_owned();
        self.blobs
            .put(
                &BlobRef::new(container.clone(), name.to_owned()),
                Bytes::from_static(b"recording"),
                "application/octet-stream",
                &Metadata::new(),
            )
            .await
            .expect("put");
        let mut inv = event_invocation(
            "invocations/recording-created.invocation.json",
            &container,
            name,
        );
        if let Some(t) = event_time {
            inv["Data"]["eventGridEvent"]["eventTime"] = json!(t);
        }
        let (status, reply) = self.handler.invoke("RecordingCreated", &inv).await;
        assert_eq!(status, 200, "{reply} {}", self.handler.log_text());
        reply["Outputs"]["hashRequests"]["recordingId"]
            .as_str()
            .unwrap_or_else(|| panic!("recording id in {reply}"))
            .to_owned()
    }
}
