//! `AuditLogTail`'s hosts growing: before a growing tick, one connect record of a new session per
//! host, appended at a second of the minute before the tick to that host's hour blob
//! (`insights-logs-bastionauditlogs`' layout, `…/BASTIONHOSTS/<HOST>/y=…/h=…/m=00/PT1H.json`, as the
//! e2e tests seed them), the blob created and registered as `AuditLogCreated` registers it the
//! first time an hour is written (the event's work, not the tick's: on direct clients, not
//! counted). After the tick, the `sessions` table is read (not counted): a record's lag is the
//! simulated time from its append to the tick that wrote its session row, plus that tick's wall
//! time, in ticks of a minute.

use bastion_testkit::DefaultSources;
use std::collections::{BTreeMap, BTreeSet};
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
use time::{Duration, OffsetDateTime};

use crate::estate::{AUDIT_LOGS, host};

/// The appends and what is still unseen.
pub(crate) struct Growth {
    state: AppState,
    blobs: AzureBlobStore,
    tables: TableRestClient,
    /// The (host, hour) blobs made.
    made: BTreeSet<(usize, i64)>,
    /// Records not yet seen: tunnel id to append time.
    pending: BTreeMap<String, OffsetDateTime>,
    appended: u64,
}

/// Host `i`'s hour blob holding `at`.
fn blob_name(i: usize, at: OffsetDateTime) -> String {
    format!(
        "resourceId={}/y={}/m={:02}/d={:02}/h={:02}/m=00/PT1H.json",
        host(i).to_ascii_uppercase(),
        at.year(),
        u8::from(at.month()),
        at.day(),
        at.hour()
    )
}

/// A connect record of session `tunnel` on host `i` at `at`.
fn record(tunnel: &str, at: OffsetDateTime, i: usize) -> String {
    let at = bastion_recordings::dates::format_utc(at);
    format!(
        r#"{{"time":"{at}","resourceId":"{}","operationName":"Microsoft.Network/BastionHost/connect","category":"BastionAuditLogs","properties":{{"userName":"user{i}","clientIpAddress":"203.0.113.9","protocol":"ssh","targetResourceId":"/SUBSCRIPTIONS/11111111-2222-3333-4444-555555555555/RESOURCEGROUPS/RG-APP/PROVIDERS/MICROSOFT.COMPUTE/VIRTUALMACHINES/VM-{i:03}","message":"Successfully Connected.","tunnelId":"{tunnel}"}}}}"#,
        host(i).to_ascii_uppercase()
    ) + "\n"
}

impl Growth {
    /// On Azurite `direct` (not through the proxy), the tables of `prefix`.
    pub(crate) fn new(direct: &str, prefix: &str) -> Self {
        let env = vec![
            ("AzureWebJobsStorage", direct.to_owned()),
            ("TABLE_PREFIX", prefix.to_owned()),
            (
                "AUDITLOGS_SOURCES",
                format!("AzureWebJobsStorage:{AUDIT_LOGS}"),
            ),
            (
                "RECORDINGS_SOURCES",
                "AzureWebJobsStorage:recordings".to_owned(),
            ),
        ];
        let config = crate::common::config(&env);
        let (blobs, tables) = crate::common::clients(&config);
        let app = &config.storage.app;
        let plain = AzureBlobStore::new(app).expect("blob client");
        let rest = TableRestClient::new(app, prefix).expect("table client");
        let stores = bastion_testkit::state::stores(blobs, tables);
        let state = AppState::assemble(config, Policy::builtin(), stores, Arc::new(SystemClock));
        Self {
            state,
            blobs: plain,
            tables: rest,
            made: BTreeSet::new(),
            pending: BTreeMap::new(),
            appended: 0,
        }
    }

    /// Before the tick at `now` (the `seq`th growing one): a record per host of `n`.
    pub(crate) async fn append(&mut self, n: usize, now: OffsetDateTime, seq: u64) {
        let at: Vec<OffsetDateTime> = (0..n)
            .map(|i| {
                let ms = (i as i64 * 7919 + seq as i64 * 104_729) % 60_000;
                now - Duration::minutes(1) + Duration::milliseconds(ms)
            })
            .collect();
        let new: Vec<bool> = (0..n)
            .map(|i| {
                let hour = at[i].unix_timestamp() / 3600;
                self.made.insert((i, hour))
            })
            .collect();
        let tunnels: Vec<String> = (0..n)
            .map(|i| format!("{seq:08x}-0000-4000-8000-{i:012x}"))
            .collect();
        let (me, tail) = (&*self, bastion_recordings::state::tailer(&self.state));
        let source = me.state.ports.sources.default_audit_logs();
        let (new, when, tunnels) = (&new, &at, &tunnels);
        let done = crate::common::drive(n, 16, |i| {
            let (tail, at) = (&tail, when[i]);
            let name = blob_name(i, at);
            let blob = BlobRef::new(AUDIT_LOGS.to_owned(), name.clone());
            let text = record(&tunnels[i], at, i);
            async move {
                if new[i] {
                    let hour = at.replace_time(time::Time::MIDNIGHT)
                        + Duration::hours(i64::from(at.hour()));
                    let made = me.blobs.create_append(&blob, "application/json").await;
                    let reg = created::register(tail, source, &name, hour, at, false).await;
                    if made.is_err() || reg.is_err() {
                        return false;
                    }
                }
                // Up to 3 tries: the busy emulator may leave a call unanswered.
                for _ in 0..3 {
                    if me
                        .blobs
                        .append(&blob, Bytes::from(text.clone()))
                        .await
                        .is_ok()
                    {
                        return true;
                    }
                }
                false
            }
        })
        .await;
        assert_eq!(done.failed, 0, "records appended");
        self.pending
            .extend(tunnels.iter().cloned().zip(at.iter().copied()));
        self.appended += n as u64;
    }

    /// After the tick at `now` that ended `wall` seconds after it began: the lag of each record
    /// now seen, in ticks; and how many are still unseen.
    pub(crate) async fn seen(&mut self, now: OffsetDateTime, wall: f64) -> (Vec<f64>, usize) {
        if self.pending.is_empty() {
            return (Vec::new(), 0);
        }
        let (mut rows, mut next) = (BTreeSet::new(), None);
        loop {
            let page = self.tables.query("sessions", None, Some(1000), next).await;
            let Ok(page) = page else { break };
            rows.extend(
                page.items
                    .iter()
                    .filter_map(|s| get_str(&s.entity, "PartitionKey").map(str::to_owned)),
            );
            next = page.next;
            if next.is_none() {
                break;
            }
        }
        let mut lags = Vec::new();
        self.pending.retain(|tunnel, at| {
            if !rows.contains(tunnel) {
                return true;
            }
            lags.push(((now - *at).as_seconds_f64() + wall) / 60.0);
            false
        });
        (lags, self.pending.len())
    }
}
