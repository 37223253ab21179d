//! One estate on a fresh Azurite: `hosts` Bastion hosts, `watched` hour blobs each (the hours up to
//! the bench's start), registered as `AuditLogCreated` registers them; the app over counting
//! clients (what a tick calls is counted), and plain clients for what the bench does itself
//! (appends, reading the sessions back: not counted).
//!
//! Only library calls that the base revision has too are used, so the same file builds against it.

use bastion_testkit::DefaultSources;
use std::collections::BTreeSet;
use std::sync::Arc;

use bastion_recordings::audit_logs::created;
use bastion_recordings::catalogue::policy::Policy;
use bastion_recordings::clock::SystemClock;
use bastion_recordings::state::AppState;
use bastion_recordings::storage::azure::AzureBlobStore;
use bastion_recordings::storage::{BlobRef, BlobStore};
use bastion_recordings::tables::rest::TableRestClient;
use bastion_recordings::tables::{TableStore, get_str};
use bytes::Bytes;
use time::macros::datetime;
use time::{Duration, OffsetDateTime};

use crate::common::{self, Calls, Counted};

/// When the bench's estate starts: the newest watched hour begins here.
pub(crate) const T0: OffsetDateTime = datetime!(2025-03-14 10:00 UTC);

/// The estate and its clients.
pub(crate) struct Estate {
    pub(crate) state: AppState,
    pub(crate) counted: Counted,
    pub(crate) plain: AzureBlobStore,
    pub(crate) tables: TableRestClient,
    pub(crate) container: String,
}

/// The hour blob of host `h` at `hour`.
pub(crate) fn blob_name(h: usize, hour: OffsetDateTime) -> String {
    format!(
        "resourceId=/SUBSCRIPTIONS/11111111-2222-3333-4444-555555555555/RESOURCEGROUPS/RG-BENCH/PROVIDERS/MICROSOFT.NETWORK/BASTIONHOSTS/BAS-{h:04}/y={}/m={:02}/d={:02}/h={:02}/m=00/PT1H.json",
        hour.year(),
        u8::from(hour.month()),
        hour.day(),
        hour.hour()
    )
}

impl Estate {
    /// A fresh estate on Azurite `cs`: `hosts` × `watched` empty hour blobs, each registered.
    pub(crate) async fn new(cs: &str, hosts: usize, watched: usize) -> Self {
        let id = common::run_id();
        let container = format!("aud-{}", &id[..12]);
        let env = vec![
            ("AzureWebJobsStorage", cs.to_owned()),
            ("TABLE_PREFIX", format!("t{}", &id[..10])),
            (
                "AUDITLOGS_SOURCES",
                format!("AzureWebJobsStorage:{container}"),
            ),
            (
                "RECORDINGS_SOURCES",
                format!("AzureWebJobsStorage:rec-{}", &id[..12]),
            ),
        ];
        let config = common::config(&env);
        let counted = common::clients(&config);
        let app = &config.storage.app;
        let plain = AzureBlobStore::new(app).expect("blob client");
        let tables = TableRestClient::new(app, &config.table_prefix).expect("table client");
        let stores = bastion_testkit::state::stores(counted.0.clone(), counted.1.clone());
        let state = AppState::assemble(config, Policy::builtin(), stores, Arc::new(SystemClock));
        let e = Self {
            state,
            counted,
            plain,
            tables,
            container,
        };
        let names: Vec<String> = (0..hosts)
            .flat_map(|h| {
                (0..watched).map(move |back| blob_name(h, T0 - Duration::hours(back as i64)))
            })
            .collect();
        let plain = &e.plain;
        let made = common::drive(names.len(), 16, |i| {
            let blob = BlobRef::new(e.container.clone(), names[i].clone());
            async move { plain.create_append(&blob, "application/json").await.is_ok() }
        })
        .await;
        assert_eq!(made.failed, 0, "hour blobs created");
        let tail = bastion_recordings::state::tailer(&e.state);
        let source = e.state.ports.sources.default_audit_logs();
        let registered = common::drive(names.len(), 16, |i| {
            let (tail, name) = (&tail, &names[i]);
            async move {
                created::register(tail, source, name, T0, T0, false)
                    .await
                    .is_ok_and(|r| r.is_some())
            }
        })
        .await;
        assert_eq!(registered.failed, 0, "hour blobs registered");
        e
    }

    /// Creates the hour blob of host `h` at `hour` and registers it as `AuditLogCreated` does (the
    /// registration is the app's work: counted).
    pub(crate) async fn create(&self, h: usize, hour: OffsetDateTime) {
        let name = blob_name(h, hour);
        let blob = BlobRef::new(self.container.clone(), name.clone());
        self.plain
            .create_append(&blob, "application/json")
            .await
            .expect("create");
        let tail = bastion_recordings::state::tailer(&self.state);
        let source = self.state.ports.sources.default_audit_logs();
        created::register(&tail, source, &name, hour, hour, true)
            .await
            .expect("register");
    }

    /// Appends `text` to the hour blob of host `h` at `hour` (not counted).
    pub(crate) async fn append(&self, h: usize, hour: OffsetDateTime, text: String) {
        let blob = BlobRef::new(self.container.clone(), blob_name(h, hour));
        self.plain
            .append(&blob, Bytes::from(text))
            .await
            .expect("append");
    }

    /// One `AuditLogTail` tick at `now`: its records.
    pub(crate) async fn tick(&self, now: OffsetDateTime) -> u64 {
        let tail = bastion_recordings::state::tailer(&self.state);
        bastion_testkit::tail::tick(&tail, now)
            .await
            .expect("tick")
            .records
    }

    /// The calls counted so far.
    pub(crate) fn calls(&self) -> Calls {
        Calls::of(&self.counted)
    }

    /// The tunnel ids that have a session row (not counted).
    pub(crate) async fn sessions(&self) -> BTreeSet<String> {
        let (mut out, mut next) = (BTreeSet::new(), None);
        loop {
            let page = match self.tables.query("sessions", None, Some(1000), next).await {
                Ok(p) => p,
                Err(bastion_recordings::azure::AzureError::NotFound) => return out,
                Err(e) => panic!("sessions: {e}"),
            };
            out.extend(
                page.items
                    .iter()
                    .filter_map(|s| get_str(&s.entity, "PartitionKey").map(str::to_owned)),
            );
            next = page.next;
            if next.is_none() {
                return out;
            }
        }
    }
}

/// A connect record of session `tunnel` at `at`.
pub(crate) fn record(tunnel: &str, at: OffsetDateTime, h: usize) -> String {
    let at = bastion_recordings::dates::format_utc(at);
    format!(
        r#"{{"time":"{at}","resourceId":"/SUBSCRIPTIONS/11111111-2222-3333-4444-555555555555/RESOURCEGROUPS/RG-BENCH/PROVIDERS/MICROSOFT.NETWORK/BASTIONHOSTS/BAS-{h:04}","operationName":"Microsoft.Network/BastionHost/connect","category":"BastionAuditLogs","properties":{{"userName":"user{h}","clientIpAddress":"203.0.113.9","protocol":"ssh","targetResourceId":"/SUBSCRIPTIONS/11111111-2222-3333-4444-555555555555/RESOURCEGROUPS/RG-APP/PROVIDERS/MICROSOFT.COMPUTE/VIRTUALMACHINES/VM-{h:03}","message":"Successfully Connected.","tunnelId":"{tunnel}"}}}}"#
    ) + "\n"
}
