//! The limit for a backfill: the fewest storage calls that produce what the catalogue's readers
//! see, with the handler's clients, `concurrency` items in flight, containers in the handler's
//! order (the audit logs, then each recordings container). Items stay independent except for what
//! a phase can share for fewer calls: the day partitions read once, the index rows written last.
//!
//! First its five tables are created. Per container: `list` pages. Per audit-log hour: one
//! retention tag write, ranged reads of the handler's chunk size to the end, then per session seen
//! in the hour one `sessions` upsert and one `sessionwindows` upsert (a connected session only in
//! the hour that holds its end), and per failed login one
//! `failedlogins` upsert. Per recording: one retention tag write; the join's lookup (a point read of
//! the session when the name carries a tunnel id, else every page of the `sessionwindows` day
//! partitions the handler's join reads, each day once in the phase, matched by the library's own
//! time match, and a point read of the session when one candidate fits); one `recordingpaths` upsert
//! (the path a `BlobDeleted` event finds the row by) and one catalogue row insert;
//! and one upsert per session found or candidate, marking its window. Last, the `recordingindex` rows the
//! API's VM and user filters read, every row of the phase grouped by partition, 100 to a batch.
//!
//! Left out on purpose, so they count as the handler's overhead: reads before writes (merges,
//! ETag conditions), cursors and checkpoints (resumability), re-reads of rows just written, and
//! `recordingkeys` rows (by which a session arriving after the backfill finds its recording).

use bastion_recordings::audit_logs::parse::parse_lines;
use bastion_recordings::audit_logs::path::parse_blob_path;
use bastion_recordings::audit_logs::repo::FAILED_TABLE;
use bastion_recordings::audit_logs::tail::batch::Batch;
use bastion_recordings::azure::AzureError;
use bastion_recordings::catalogue::days::{DAYS_TABLE, DayRow};
use bastion_recordings::catalogue::key::{index_partition, index_time_key, put_index};
use bastion_recordings::catalogue::policy::audit_log_retention;
use bastion_recordings::catalogue::policy::{Subject, merge_tags};
use bastion_recordings::catalogue::recording::{Confidence, Recording, RecordingKey};
use bastion_recordings::catalogue::repo::RECORDING_PATHS_TABLE;
use bastion_recordings::catalogue::session::{SESSION_ROW, SESSIONS_TABLE, SessionRecord, outcome};
use bastion_recordings::config::Config;
use bastion_recordings::dates::{format_date, timestamp};
use bastion_recordings::join::correlate::{Times, decide};
use bastion_recordings::storage::{BlobItem, BlobRef, BlobStore, Tags};
use bastion_recordings::tables::keys::{MAX_KEY_BYTES, is_digest};
use bastion_recordings::tables::{Entity, Filter, Stored, TableStore, WriteMode};
use futures::StreamExt as _;
use serde_json::json;
use std::collections::BTreeMap;

use time::{Date, Duration, OffsetDateTime};

/// Where the bare client works, and with what.
pub(crate) struct Bare<'a> {
    pub(crate) blobs: &'a dyn BlobStore,
    pub(crate) tables: &'a dyn TableStore,
    pub(crate) config: &'a Config,
    /// The audit-log container.
    pub(crate) audit: &'a str,
    /// Recording containers and their hosts; the first is the default source.
    pub(crate) recordings: Vec<(String, String)>,
    pub(crate) from: OffsetDateTime,
    pub(crate) to: OffsetDateTime,
    pub(crate) concurrency: usize,
}

/// What the bare client did.
#[derive(Debug, Default)]
pub(crate) struct Done {
    pub(crate) audit_blobs: usize,
    pub(crate) recordings: usize,
    pub(crate) sessions_found: usize,
}

type Failure = Box<dyn std::error::Error + Send + Sync>;

impl Bare<'_> {
    /// The first phase: its tables, then every audit-log hour of the range; the first failure
    /// stops it.
    pub(crate) async fn audit_logs(&self, done: &mut Done) -> Result<(), Failure> {
        for t in [
            SESSIONS_TABLE,
            DAYS_TABLE,
            FAILED_TABLE,
            RECORDING_PATHS_TABLE,
            "recordings",
        ] {
            self.tables.ensure_table(t).await?;
        }
        let hours: Vec<BlobItem> = self
            .listed(self.audit)
            .await?
            .into_iter()
            .filter(|i| {
                parse_blob_path(&i.name).is_ok_and(|h| h.hour >= self.from && h.hour < self.to)
            })
            .collect();
        let mut s = futures::stream::iter(&hours)
            .map(|i| self.audit_blob(i))
            .buffered(self.concurrency);
        while let Some(r) = s.next().await {
            r?;
            done.audit_blobs += 1;
        }
        Ok(())
    }

    /// The second phase: every recording of the range, container by container, then the index
    /// rows of them all, each partition's rows together (the fewest batches there can be).
    pub(crate) async fn recordings(&self, done: &mut Done) -> Result<(), Failure> {
        let phase = Phase::default();
        for (n, (container, _)) in self.recordings.iter().enumerate() {
            let items: Vec<BlobItem> = self
                .listed(container)
                .await?
                .into_iter()
                .filter(|i| {
                    i.props
                        .created
                        .is_some_and(|t| t >= self.from && t < self.to)
                })
                .collect();
            let mut s = futures::stream::iter(&items)
                .map(|i| self.recording(n, container, i, &phase))
                .buffered(self.concurrency);
            while let Some(r) = s.next().await {
                done.sessions_found += usize::from(r?);
                done.recordings += 1;
            }
        }
        let keys = std::mem::take(&mut *phase.index.lock().expect("index rows"));
        put_index(self.tables, &keys).await?;
        Ok(())
    }

    /// Every listed blob of `container`, page by page.
    async fn listed(&self, container: &str) -> Result<Vec<BlobItem>, AzureError> {
        let (mut out, mut marker) = (Vec::new(), None);
        loop {
            let page = self.blobs.list(container, None, marker).await?;
            out.extend(page.items);
            marker = page.next;
            if marker.is_none() {
                return Ok(out);
            }
        }
    }

    async fn audit_blob(&self, item: &BlobItem) -> Result<(), Failure> {
        let blob = BlobRef::new(self.audit, item.name.clone());
        let hour = parse_blob_path(&item.name)?;
        let created = item.props.created.unwrap_or(hour.hour);
        let (tags, _) = audit_log_retention(
            &self.config.policy,
            &self.config.retention.audit_logs_class,
            &Tags::new(),
            created,
        );
        self.blobs.set_tags(&blob, &tags, None).await?;
        let audit = &self.config.audit;
        let len = audit.tail_chunk_bytes.max(audit.max_line_bytes + 1);
        let mut data = Vec::new();
        loop {
            match self.blobs.read_range(&blob, data.len() as u64, len).await {
                Ok(chunk) => {
                    let short = (chunk.len() as u64) < len;
                    data.extend_from_slice(&chunk);
                    if short {
                        break;
                    }
                }
                Err(AzureError::RangeNotSatisfiable) => break,
                Err(e) => return Err(e.into()),
            }
        }
        let host = hour.bastion_host.clone();
        let mut batch = Batch::for_chunk(data.len());
        parse_lines(
            &data,
            0,
            &mut |_, rec| batch.add_at(0, &rec, b"", &host, audit.failed_login_bucket),
            &mut |_, _| {},
        );
        for f in batch.folded() {
            let session = &f.session;
            // A connected session is written by the hour that holds its end (every generated
            // session ends within the range): hours run concurrently, and an upsert from the hour
            // of its connect record alone, landing last, would leave it without its end.
            if session.outcome == outcome::CONNECTED && session.session_end.is_none() {
                continue;
            }
            self.upsert(SESSIONS_TABLE, session.to_entity()).await?;
            if let Some(w) = DayRow::of(session) {
                self.upsert(DAYS_TABLE, w.to_entity()).await?;
            }
        }
        for (_, f) in &batch.failed {
            let pk = format!("{}-{}", f.window.unix_timestamp(), f.vm);
            let mut e = Entity::new();
            e.insert("PartitionKey".into(), json!(pk));
            e.insert("RowKey".into(), json!(f.tunnel_id));
            e.insert("User".into(), json!(f.user));
            self.upsert(FAILED_TABLE, e).await?;
        }
        Ok(())
    }

    /// One recording of container number `n`; `true` when its session was found by tunnel id. Its
    /// index rows (VM and user of the session found) are held in `phase`.
    async fn recording(
        &self,
        n: usize,
        container: &str,
        item: &BlobItem,
        phase: &Phase,
    ) -> Result<bool, Failure> {
        let blob = BlobRef::new(container, item.name.clone());
        let created = item.props.created.unwrap_or(self.from);
        let subject = Subject {
            container,
            blob: &item.name,
            metadata: Some(&item.props.metadata),
            ..Default::default()
        };
        let (tags, retention) = merge_tags(
            &Tags::new(),
            &self.config.policy.classify(&subject, created),
        );
        self.blobs.set_tags(&blob, &tags, None).await?;
        let tunnel = tunnel_of(&item.name);
        let (session, confidence, marked) = match &tunnel {
            Some(t) => {
                let s = self.tables.get(SESSIONS_TABLE, t, SESSION_ROW).await?;
                let confidence = if s.is_some() { "exact" } else { "none" };
                (s, confidence, Vec::new())
            }
            None => self.unkeyed(n, item, created, phase).await?,
        };
        let account = self.blobs.account();
        let key = RecordingKey::for_source_blob(created, account, container, &item.name);
        let mut row = Entity::new();
        for (k, v) in [
            ("PartitionKey", json!(key.pk)),
            ("RowKey", json!(key.rk)),
            ("Container", json!(container)),
            ("BlobName", json!(item.name)),
            ("BastionHost", json!(self.recordings[n].1)),
            ("ContentLength", json!(item.props.content_length)),
            ("ETag", json!(item.props.etag)),
            ("RetentionClass", json!(retention.class)),
            ("SessionTunnel", json!(tunnel.clone().unwrap_or_default())),
        ] {
            row.insert(k.into(), v);
        }
        // No match is no field, as the handler writes it.
        if confidence != "none" {
            row.insert("MatchConfidence".into(), json!(confidence));
        }
        // What the API's VM and user filters find the row by, from the session found.
        for k in [
            "TargetVm",
            "TargetResourceId",
            "UserName",
            "UserEmail",
            "SessionStart",
        ] {
            if let Some(v) = session.as_ref().and_then(|s| s.entity.get(k)) {
                row.insert(k.into(), v.clone());
            }
        }
        phase
            .index
            .lock()
            .expect("index rows")
            .extend(index_keys(&key, &row));
        // The path index a `BlobDeleted` event finds the row by, written before the row.
        let mut path = Entity::new();
        path.insert("PartitionKey".into(), json!(key.rk));
        path.insert("RowKey".into(), json!(key.pk));
        path.insert("RecordingId".into(), json!(key.id()));
        self.upsert(RECORDING_PATHS_TABLE, path).await?;
        self.tables
            .write("recordings", &row, WriteMode::Insert)
            .await?;
        // The sessions a time match names (one or several candidates), each marked once.
        for mut mark in marked {
            mark.insert("RecordingIds".into(), json!(key.id()));
            self.upsert(DAYS_TABLE, mark).await?;
        }
        let Some(s) = session.filter(|_| tunnel.is_some()) else {
            return Ok(false);
        };
        let Some(record) = SessionRecord::from_entity(&s.entity) else {
            return Ok(true);
        };
        let Some(w) = DayRow::of(&record) else {
            return Ok(true);
        };
        let mut mark = w.to_entity();
        mark.insert("Recorded".into(), json!(true));
        mark.insert("RecordingIds".into(), json!(key.id()));
        self.upsert(DAYS_TABLE, mark).await?;
        Ok(true)
    }

    /// The match of a recording named without a tunnel id, by time against the `sessionwindows`
    /// rows the handler's join reads (the library's own matching): the session of a single
    /// candidate (one point read), the confidence, and the `(day, tunnel)` rows to mark.
    async fn unkeyed(
        &self,
        n: usize,
        item: &BlobItem,
        created: OffsetDateTime,
        phase: &Phase,
    ) -> Result<(Option<Stored>, &'static str, Vec<Entity>), AzureError> {
        let audit = &self.config.audit;
        let stored = self.day_rows_around(created, &phase.days).await?;
        let rows: Vec<DayRow> = stored.iter().filter_map(DayRow::from_entity).collect();
        let times = Times {
            lag: audit.upload_lag,
            open_max: audit.open_session_max,
            wait: audit.session_wait,
            vouch: audit.vouch_lag,
        };
        let rec = unjoined(item, created, &self.recordings[n].1);
        let (Some(m), _) = decide(&rec, |_| None, &rows, &times, created + Duration::days(1))
        else {
            return Ok((None, "none", Vec::new()));
        };
        // Each marked as stored (an upsert replaces the row).
        let marked = m
            .tunnels
            .iter()
            .filter_map(|t| stored.iter().find(|e| e.get("RowKey") == Some(&json!(t))))
            .cloned()
            .collect();
        let session = match m.confidence {
            Confidence::Probable => {
                self.tables
                    .get(SESSIONS_TABLE, &m.tunnels[0], SESSION_ROW)
                    .await?
            }
            _ => None,
        };
        Ok((session, m.confidence.as_str(), marked))
    }

    /// The `sessionwindows` rows of the day partitions the handler's join reads around `t`, every
    /// page of each day read once in the phase (`days`).
    async fn day_rows_around(
        &self,
        t: OffsetDateTime,
        days: &tokio::sync::Mutex<BTreeMap<Date, Vec<Entity>>>,
    ) -> Result<Vec<Entity>, AzureError> {
        let span = self.config.audit.open_session_max.max(Duration::days(1));
        let mut held = days.lock().await;
        let (mut day, mut out) = ((t - span).date(), Vec::new());
        loop {
            if let std::collections::btree_map::Entry::Vacant(vacant) = held.entry(day) {
                let f = Filter::partition(&format_date(day));
                let (mut rows, mut next) = (Vec::new(), None);
                loop {
                    let page = self
                        .tables
                        .query(DAYS_TABLE, Some(&f), Some(1000), next)
                        .await?;
                    rows.extend(page.items.into_iter().map(|r| r.entity));
                    next = page.next;
                    if next.is_none() {
                        break;
                    }
                }
                vacant.insert(rows);
            }
            out.extend(held[&day].iter().cloned());
            match day.next_day() {
                Some(d) if d <= t.date() => day = d,
                _ => return Ok(out),
            }
        }
    }

    async fn upsert(&self, table: &str, e: Entity) -> Result<(), AzureError> {
        self.tables
            .write(table, &e, WriteMode::Upsert)
            .await
            .map(|_| ())
    }
}

/// What the recordings of a phase share: the index rows held for the end, the days read.
#[derive(Default)]
struct Phase {
    index: std::sync::Mutex<std::collections::BTreeSet<(String, String)>>,
    days: tokio::sync::Mutex<BTreeMap<Date, Vec<Entity>>>,
}

/// A listed recording as the library's time match reads it: its name, metadata, creation time and
/// the host of its source.
fn unjoined(item: &BlobItem, created: OffsetDateTime, host: &str) -> Recording {
    Recording {
        key: RecordingKey::for_source_blob(created, "", "", &item.name),
        blob_url: String::new(),
        account: String::new(),
        source_bastion: host.to_owned(),
        container: String::new(),
        blob_name: item.name.clone(),
        content_length: item.props.content_length,
        content_type: String::new(),
        blob_type: String::new(),
        etag: String::new(),
        sequencer: String::new(),
        event_id: String::new(),
        blob_created: created,
        created: Some(created),
        first_seen: created,
        retention_class: String::new(),
        retain_until: String::new(),
        candidate_keys: Vec::new(),
        metadata: serde_json::to_string(&item.props.metadata).unwrap_or_default(),
        status: String::new(),
        joined: None,
        rejoin_at: None,
        hold: Default::default(),
        shortened: None,
        deletion: None,
        hash: None,
        replaced: None,
        retagged: None,
        actor: None,
        below_min_bytes: None,
        suspect_alerted: None,
        growing: false,
        outside_deletions: Vec::new(),
        writer: None,
    }
}

/// The index rows the join writes for `row` (of `key`): one per VM and user value of its session,
/// keyed by the session's start (none without a session).
fn index_keys(key: &RecordingKey, row: &Entity) -> Vec<(String, String)> {
    let get = |p: &str| {
        row.get(p)
            .and_then(|v| v.as_str())
            .filter(|v| !v.is_empty())
    };
    let id = key.id_key(MAX_KEY_BYTES - 25);
    let Some(start) = get("SessionStart")
        .and_then(timestamp)
        .filter(|_| !is_digest(&id))
    else {
        return Vec::new();
    };
    let rk = format!("{}~{id}", index_time_key(start));
    let mut keys: Vec<(String, String)> = [
        ("vm", "TargetVm"),
        ("vm", "TargetResourceId"),
        ("user", "UserName"),
        ("user", "UserEmail"),
    ]
    .into_iter()
    .filter_map(|(kind, p)| index_partition(kind, get(p)?))
    .map(|pk| (pk, rk.clone()))
    .collect();
    keys.sort();
    keys.dedup();
    keys
}

/// The tunnel id a recording's name carries (its last segment's stem, when that is a GUID).
fn tunnel_of(name: &str) -> Option<String> {
    let stem = name.rsplit('/').next()?.split('.').next()?;
    uuid::Uuid::parse_str(stem).ok().map(|u| u.to_string())
}
