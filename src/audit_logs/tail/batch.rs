//! One chunk's worth of parsed records, folded per tunnel before any table write (so a chunk with
//! many records of one session costs one upsert), and its flush to the tables.

use std::collections::{BTreeSet, HashMap};

use serde_json::Value;
use time::OffsetDateTime;

use crate::app::AppState;
use crate::audit_logs::detect::failed;
use crate::audit_logs::join;
use crate::audit_logs::parse::{LineError, Record};
use crate::audit_logs::repo::{self, SESSIONS_TABLE, windows::put_window};
use crate::audit_logs::sessions::{RecordKind, SESSION_ROW, SessionRecord, classify, tunnel_of};
use crate::invocation::HandlerError;

/// Longest raw line kept on a session row (`LastRaw`): keeps unknown fields without risking the
/// 64 KiB property limit.
const MAX_RAW: usize = 16 * 1024;

/// Records of one chunk.
#[derive(Debug, Default)]
pub struct Batch {
    /// Partial sessions by tunnel id.
    pub sessions: HashMap<String, SessionRecord>,
    /// Latest raw record per tunnel (time, line).
    pub raw: HashMap<String, (Option<OffsetDateTime>, String)>,
    /// Failed logins seen.
    pub failed: Vec<failed::FailedLogin>,
    /// Records without a tunnel id (cannot be sessionized; counted).
    pub unkeyed: u64,
    /// Records folded.
    pub records: u64,
    /// Corrupt lines: (offset, reason, line).
    pub corrupt: Vec<(LineError, Vec<u8>)>,
}

impl Batch {
    /// Folds one record; `line` is its raw text (for `LastRaw`).
    pub fn add(&mut self, rec: &Record<'_>, line: &[u8], host: &str, window: time::Duration) {
        self.records += 1;
        let Some(tunnel) = tunnel_of(rec) else {
            self.unkeyed += 1;
            return;
        };
        let session = self
            .sessions
            .entry(tunnel.clone())
            .or_insert_with(|| SessionRecord::new(&tunnel));
        session.merge_record(rec, host);
        let time = rec
            .time
            .as_ref()
            .and_then(|t| crate::invocation::decode::timestamp(t.as_str()));
        let op = rec.operation_name.as_ref().map_or("", |t| t.as_str());
        let msg = rec.properties.message.as_ref().map_or("", |t| t.as_str());
        if classify(op, msg) == RecordKind::LoginFailed {
            let mut one = SessionRecord::new(&tunnel);
            one.merge_record(rec, host);
            if let Some(f) = failed::FailedLogin::from_session(&one, time, window) {
                self.failed.push(f);
            }
        }
        let newer = self.raw.get(&tunnel).is_none_or(|(t, _)| time >= *t);
        if newer && line.len() <= MAX_RAW {
            self.raw
                .insert(tunnel, (time, String::from_utf8_lossy(line).into_owned()));
        }
    }
}

/// What a flush did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Flushed {
    /// Session rows changed.
    pub sessions: usize,
    /// Recordings (re)joined.
    pub joined: usize,
    /// Failed-login partitions touched (for burst detection).
    pub failed_partitions: BTreeSet<String>,
}

/// Writes a batch: session upserts (merge into the stored row), index rows, failed logins, and the
/// join for sessions whose join-relevant fields changed.
///
/// # Errors
/// `Retryable` on storage failures.
pub async fn flush(
    state: &AppState,
    batch: Batch,
    now: OffsetDateTime,
) -> Result<Flushed, HandlerError> {
    let mut out = Flushed::default();
    for (tunnel, delta) in batch.sessions {
        let raw = batch.raw.get(&tunnel).map(|(_, l)| l.as_str());
        let Some((before, after)) = upsert_session(state, &delta, raw).await? else {
            continue;
        };
        out.sessions += 1;
        let changed = |view: fn(&SessionRecord) -> ListedView<'_>| {
            before.as_ref().is_none_or(|b| view(b) != view(&after))
        };
        let join_changed = changed(|s| (join_relevant(s), None));
        if join_changed || changed(listed) {
            put_window(&state.tables, &after, now).await?;
        }
        if join_changed {
            out.joined += join::join_session(state, &after).await?;
        }
    }
    for f in &batch.failed {
        out.failed_partitions
            .extend(failed::record(&state.tables, f).await?);
    }
    Ok(out)
}

type JoinView<'a> = (
    Option<OffsetDateTime>,
    Option<OffsetDateTime>,
    &'a str,
    &'a str,
    &'a str,
    &'a str,
    &'a str,
);

/// What the `sessionwindows` row shows beyond the join view (see `GET /api/sessions`).
type ListedView<'a> = (
    JoinView<'a>,
    Option<(&'a str, &'a str, &'a str, Option<i64>)>,
);

fn listed(s: &SessionRecord) -> ListedView<'_> {
    (
        join_relevant(s),
        Some((
            &s.client_ip,
            &s.target_resource_id,
            &s.protocol,
            s.effective_duration_ms(),
        )),
    )
}

fn join_relevant(s: &SessionRecord) -> JoinView<'_> {
    (
        s.session_start,
        s.session_end,
        &s.outcome,
        &s.target_vm,
        &s.user_name,
        &s.user_email,
        &s.bastion_host,
    )
}

/// Merges `delta` into the stored session; `None` when nothing changed.
async fn upsert_session(
    state: &AppState,
    delta: &SessionRecord,
    raw: Option<&str>,
) -> Result<Option<(Option<SessionRecord>, SessionRecord)>, HandlerError> {
    let mut result = None;
    repo::update(
        &state.tables,
        SESSIONS_TABLE,
        &delta.tunnel_id,
        SESSION_ROW,
        &mut |cur| {
            let before = cur.and_then(SessionRecord::from_entity);
            let mut merged = before
                .clone()
                .unwrap_or_else(|| SessionRecord::new(&delta.tunnel_id));
            merged.merge(delta);
            if before.as_ref() == Some(&merged) {
                result = None;
                return None;
            }
            let mut e = cur.cloned().unwrap_or_default();
            e.extend(merged.to_entity());
            if let Some(line) = raw {
                e.insert("LastRaw".into(), Value::String(line.to_owned()));
            }
            result = Some((before, merged));
            Some(e)
        },
    )
    .await?;
    Ok(result)
}
