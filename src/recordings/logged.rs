//! The changes pass (`CustodyActor`, each tick, custody workspace set): the recording containers'
//! delete, rename and write requests in `StorageBlobLogs` (module `crate::custody::changes`),
//! read from a cursor on `ingestion_time()`, each checked against storage and run through the
//! event path (the same rows, alerts and ids as a `BlobDeleted`/`BlobCreated` would give), with
//! the log row's requester recorded as the change's actor. This sees what raises no event:
//! Data Lake requests on accounts without a hierarchical namespace, directory deletes and renames,
//! a whole container deleted.

use time::{Duration, OffsetDateTime};

use super::compare::{Cause, synthesized};
use super::created::Recordings;
use crate::audit_logs::query::store::{self, StoredCursor};
use crate::azure::AzureError;
use crate::catalogue::recording::{Recording, RecordingKey, STATUS_CATALOGUED};
use crate::catalogue::repo::{Versioned, rows_of};
use crate::catalogue::row_source::BlobKey;
use crate::custody::awaited::Change;
use crate::custody::changes::{self, Logged, Touched};
use crate::custody::query::Access;
use crate::custody::{actor, lookup};
use crate::loganalytics::LogsQuery;
use crate::loganalytics::slice::{PageResult, advance, next_slice, tick_of, ticks};
use crate::sources::Source;
use crate::spine::{Finding, Handled};
use crate::storage::normalize_etag;

/// The cursor's row in table `auditqueries` (partition: the custody workspace).
pub const CURSOR_ROW: &str = "custody-changes";
/// Rows one query returns.
pub const PER_PAGE: usize = 1000;
/// Queries one tick sends at most (the rest waits for the next tick).
pub const PAGES: usize = 3;
/// How far back each tick reads again: rows become visible late (typically 3–10 minutes after
/// ingestion starts, up to about 20); rows handled within it are skipped by identity.
pub const OVERLAP: Duration = Duration::minutes(30);
/// Where a cursor not stored yet starts.
pub const START: Duration = Duration::HOUR;

/// How the actor of a change seen in the logs was matched.
pub const FROM_LOG: &str = "the StorageBlobLogs row of the request that made the change";

/// What one pass did.
#[derive(Debug, Default)]
pub struct Changes {
    /// Alerts and actor follow-ups.
    pub findings: Vec<Finding>,
    /// Log rows handled.
    pub rows: usize,
    /// The workspace answered 429: the rest waits for the next tick.
    pub throttled: bool,
    /// Why the pass stopped early (a failed or partial query), if it did.
    pub error: Option<String>,
}

impl Recordings {
    /// One pass of the changes in `workspace` at `now`.
    ///
    /// A row whose handling fails ends the pass (`error`, the cursor before that row) with the
    /// alerts of the rows before it, so that each deletion or replacement the logs reveal is
    /// alerted: those rows are recorded and will not be read again.
    ///
    /// # Errors
    /// The port's error when the tables or storage fail before any row was handled.
    pub async fn logged_changes(
        &self,
        logs: &dyn LogsQuery,
        workspace: &str,
        now: OffsetDateTime,
    ) -> Result<Changes, AzureError> {
        let tables = self.ports.tables.as_ref();
        let containers: Vec<String> = (self.ports.sources.recordings().iter())
            .map(|s| format!("/{}/{}", s.account(), s.container))
            .collect();
        let mut out = Changes::default();
        if containers.is_empty() {
            return Ok(out);
        }
        // Writes an earlier pass read before their recording's row existed.
        self.early_writes(now).await?;
        let mut cur = store::load(tables, workspace, CURSOR_ROW, now - START).await?;
        let (hi, overlap) = (tick_of(now), ticks(OVERLAP));
        let mut after: Option<PageResult> = None;
        for _ in 0..PAGES {
            let Some(w) = next_slice(&cur.state, hi, overlap, after.as_ref()) else {
                break;
            };
            let found = match changes::run(logs, workspace, &containers, w, PER_PAGE).await {
                Err(AzureError::Throttled { .. }) => {
                    out.throttled = true;
                    break;
                }
                Err(e) => {
                    out.error = Some(crate::telemetry::redact(&e.to_string()));
                    break;
                }
                Ok(f) if f.partial.is_some() => {
                    out.error = f.partial.map(|p| format!("partial answer: {p}"));
                    break;
                }
                Ok(f) => f,
            };
            let rows: Vec<Logged> = found.rows.into_iter().filter_map(Logged::read).collect();
            // Of a page's writes to one name by one writer only the last is checked: a storm of
            // overwrites costs one properties read, and the content found is the last writer's;
            // a write by another writer is checked too (a doubt about a content stays).
            let who = |r: &Logged| {
                let a = &r.access;
                [a.authentication.as_str(), &a.object_id, &a.auth_hash].join("\n")
            };
            let writes = |r: &Logged| r.write || r.part;
            // Walked from the last row: a write is superseded when a later one has its key.
            let mut later = std::collections::HashSet::new();
            let mut superseded: Vec<bool> = (rows.iter().rev())
                .map(|r| {
                    let k = (r.account.as_str(), r.container.as_str(), &r.touched, who(r));
                    writes(r) && !later.insert(k)
                })
                .collect();
            superseded.reverse();
            let (mut handled, mut failed) = (Vec::new(), None);
            for (row, superseded) in rows.iter().zip(superseded) {
                let id = row.id();
                if !superseded && !cur.state.seen.contains(&id) {
                    match self.logged(row, now).await {
                        Ok(n) => out.findings.extend(n),
                        Err(e) => {
                            failed = Some((id.0, e));
                            break;
                        }
                    }
                    out.rows += 1;
                }
                handled.push(id);
            }
            let next = match &failed {
                Some((t, _)) => Some(*t),
                None if found.capped => handled.last().map(|h| h.0),
                None => None,
            };
            let page = PageResult { handled, next };
            let moved = StoredCursor {
                state: advance(&cur.state, w, &page, overlap),
                etag: cur.etag.clone(),
            };
            let Some(etag) = store::save(tables, workspace, CURSOR_ROW, &moved).await? else {
                // Another instance moved the cursor: it reads on from there next tick.
                break;
            };
            if let Some((_, e)) = failed {
                // The rows before it are recorded and their cursor saved: their alerts go out
                // with this answer (a failure would drop them for good); the row that failed
                // is read again next tick.
                out.error = Some(crate::telemetry::redact(&e.to_string()));
                break;
            }
            cur = StoredCursor {
                state: moved.state,
                etag: Some(etag),
            };
            if page.next.is_none() {
                break;
            }
            after = Some(page);
        }
        Ok(out)
    }

    /// One logged request: what it touched, checked against storage, through the event path,
    /// each alert then carrying the request's requester as its actor.
    async fn logged(&self, l: &Logged, now: OffsetDateTime) -> Result<Vec<Finding>, AzureError> {
        let Some(source) = self.ports.sources.recording(&l.account, &l.container) else {
            return Ok(Vec::new());
        };
        let at = crate::dates::timestamp(&l.access.at).unwrap_or(l.ingested);
        let cause = Cause {
            at,
            request_id: &l.access.correlation_id,
            operation: &l.access.operation,
        };
        let mut alerts = Vec::new();
        match &l.touched {
            Touched::Under(paths) => {
                for p in paths {
                    alerts.extend(self.compare(source, p, Some(cause), now).await?);
                }
            }
            Touched::Name(names) => {
                let write = (l.write || l.part).then_some((&l.access, l.write));
                let names = match write {
                    Some(_) => names.clone(),
                    None => self.removed_spelling(source, names, at).await?,
                };
                for n in &names {
                    alerts.extend(self.named(source, n, write, cause, now).await?);
                }
            }
        }
        let mut out = Vec::new();
        for alert in alerts {
            let follow = self.actor_of(&alert, l).await?;
            out.push(alert);
            out.extend(follow);
        }
        Ok(out)
    }

    /// Of the spellings of a removed name (as logged, and percent-decoded: which one the table
    /// holds is not documented), those with a catalogue row; when none has one, the last (the
    /// decoded one): one name removed is one deletion, never a second row for another spelling.
    async fn removed_spelling(
        &self,
        source: &Source,
        names: &[String],
        at: OffsetDateTime,
    ) -> Result<Vec<String>, AzureError> {
        let mut rowed = Vec::new();
        for n in names {
            if self.row_named(source, n, at).await?.is_some() {
                rowed.push(n.clone());
            }
        }
        if rowed.is_empty() {
            rowed.extend(names.last().cloned());
        }
        Ok(rowed)
    }

    /// A name a request removed or wrote (`write`: the request that wrote it, and whether it
    /// wrote the whole content): a removal through [`Self::removed`], a write on a catalogued
    /// name through [`Self::written`]; a write on a name with no row yet is kept until the row
    /// exists (module `super::early`).
    async fn named(
        &self,
        source: &Source,
        name: &str,
        write: Option<(&Access, bool)>,
        cause: Cause<'_>,
        now: OffsetDateTime,
    ) -> Result<Vec<Finding>, AzureError> {
        let row = (self.row_named(source, name, cause.at).await?).map(|r| r.value);
        let handled = match (write, row) {
            (None, row) => self.removed(source, name, row.as_ref(), cause, now).await?,
            (Some((a, _)), None) => {
                self.keep_early(source, name, a, now).await?;
                Vec::new()
            }
            (Some((a, whole)), Some(row)) => {
                let write = (a, whole);
                let written = self.written(source, &row, write, cause, now).await?;
                written.into_iter().collect()
            }
        };
        Ok(handled.into_iter().flat_map(|h| h.findings).collect())
    }

    /// A removed name whose blob is gone, through the `BlobDeleted` path whether catalogued or
    /// not: a name the catalogue never read (its `BlobCreated` not handled yet, or never sent,
    /// as for a Data Lake upload and delete) gets its `deleted-before-catalogued` row there, as
    /// the event would give it. A catalogued name whose blob is there again with another content
    /// created since the removal (a delete and a re-upload, neither announced, as through the
    /// Data Lake endpoint): the removal is recorded as its `BlobDeleted` would be, and the new
    /// content catalogued as its `BlobCreated` would be, so the deletion stays in the custody
    /// trail whatever came after it. Any other name whose blob is there is left to its
    /// `BlobCreated`.
    async fn removed(
        &self,
        source: &Source,
        name: &str,
        row: Option<&Recording>,
        cause: Cause<'_>,
        now: OffsetDateTime,
    ) -> Result<Vec<Handled>, AzureError> {
        match source.store.properties(&source.blob(name)).await {
            Err(AzureError::NotFound) => {
                let event = synthesized(source, (name, row), None, Some(cause), now);
                // A name without a row: the path index was just read, so straight to the
                // `BlobDeleted` path's row-less step (a row written meanwhile is decided there).
                let handled = match row {
                    Some(_) => self.on_deleted(&event).await?,
                    None => self.gone_before(source, &event).await?,
                };
                Ok(vec![handled])
            }
            Ok(p) => match row {
                Some(r)
                    if r.status == STATUS_CATALOGUED
                        && normalize_etag(&p.etag) != normalize_etag(&r.etag)
                        && p.created.is_some_and(|c| c >= cause.at) =>
                {
                    let removal = synthesized(source, (name, Some(r)), None, Some(cause), now);
                    let deleted = self.on_deleted(&removal).await?;
                    // The content found now: as a listing finds it (its writer's request is
                    // its own log row's, recorded when that row is read).
                    let upload = synthesized(source, (name, Some(r)), Some(&p), None, now);
                    let created = self.on_created(&upload).await?.handled;
                    Ok(vec![deleted, created])
                }
                _ => Ok(Vec::new()),
            },
            Err(e) => Err(e),
        }
    }

    /// A write on a catalogued name: a whole new content (another ETag) of a catalogued row
    /// through the `BlobCreated` path (`recording.replaced`); its requester recorded as the
    /// writer of the content it made (module `super::writer`).
    async fn written(
        &self,
        source: &Source,
        row: &Recording,
        (access, whole): (&Access, bool),
        cause: Cause<'_>,
        now: OffsetDateTime,
    ) -> Result<Option<Handled>, AzureError> {
        let name = row.blob_name.as_str();
        let p = match source.store.properties(&source.blob(name)).await {
            Ok(p) => p,
            Err(AzureError::NotFound) => return Ok(None),
            Err(e) => return Err(e),
        };
        let replaced = if whole
            && row.status == STATUS_CATALOGUED
            && normalize_etag(&p.etag) != normalize_etag(&row.etag)
        {
            let event = synthesized(source, (name, Some(row)), Some(&p), Some(cause), now);
            Some(self.on_created(&event).await?.handled)
        } else {
            None
        };
        self.record_writer(source, name, access, &p, cause.at)
            .await?;
        Ok(replaced)
    }

    /// The newest catalogue row of `name` in `source` (by the path index), with its ETag.
    pub(super) async fn row_named(
        &self,
        source: &Source,
        name: &str,
        at: OffsetDateTime,
    ) -> Result<Option<Versioned<Recording>>, AzureError> {
        let probe = source.key(at, name);
        let repo = self.ports.catalogue();
        for key in rows_of(self.ports.tables.as_ref(), &probe.rk).await? {
            if let Some(r) = repo.get(&key).await? {
                return Ok(Some(r));
            }
        }
        Ok(None)
    }

    /// Records `l`'s requester as the actor of `alert` (a `recording.deleted`/`.replaced`); the
    /// follow-up, when this wrote it (else the lookup pass sends it again).
    async fn actor_of(&self, alert: &Finding, l: &Logged) -> Result<Option<Finding>, AzureError> {
        let change = match alert.kind.name {
            "recording.deleted" => Change::Deleted,
            "recording.replaced" => Change::Replaced,
            _ => return Ok(None),
        };
        let recording = alert.evidence["recordingId"].as_str();
        let Some(key) = recording.and_then(RecordingKey::parse) else {
            return Ok(None);
        };
        // The log row is the request itself: found, not probable.
        let tie = actor::Tie {
            status: crate::catalogue::writer::ACTOR_FOUND,
            how: FROM_LOG.to_owned(),
        };
        let who = actor::found(&l.access, &tie, &alert.id());
        lookup::attach(&self.ports, &key, change, &who).await
    }
}
