//! Writing a batch: per folded session its index row (with the pending-join range when a field the
//! join uses changed) and then its session row; then failed logins. The join itself runs once per
//! tick over every pending row (`Joiner::run_pending`), not here.
//!
//! The index row is written before the session row: a crash in between re-reads the chunk, finds
//! the session still changed and writes both again, so a pending join can never be lost.

use std::collections::BTreeSet;

use serde_json::Value;
use time::OffsetDateTime;

use super::{Batch, Folded};
use crate::audit_logs::correlate::{Span, window_span};
use crate::audit_logs::detect::failed;
use crate::audit_logs::join::Deadline;
use crate::audit_logs::repo::windows::{Before, put_window_pending};
use crate::audit_logs::repo::{SESSIONS_TABLE, window_of};
use crate::audit_logs::sessions::{SESSION_ROW, SessionRecord};
use crate::audit_logs::tail::Tailer;
use crate::invocation::HandlerError;
use crate::tables::ops::{get, write_creating_table};
use crate::tables::{TableError, WriteMode};

/// Attempts of the session row's read-modify-write before giving up (as a retryable error).
const ATTEMPTS: usize = 6;
/// Sessions written at once; the deadline is checked between such groups.
const SESSIONS_IN_FLIGHT: usize = 8;

/// What a flush did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Flushed {
    /// Session rows changed.
    pub sessions: usize,
    /// Failed-login partitions touched (for burst detection).
    pub failed_partitions: BTreeSet<String>,
    /// Cut by the deadline: only the records before this blob offset were written.
    pub cut: Option<u64>,
}

/// Writes a batch: session upserts (merged into the stored rows), index rows and failed logins.
/// When `deadline` passes it stops after the sessions in hand (at least one group per call, so every
/// call makes progress) and reports where the records it wrote end.
///
/// # Errors
/// `Retryable` on storage failures.
pub async fn flush(
    tail: &Tailer,
    batch: Batch<'_>,
    now: OffsetDateTime,
    deadline: &Deadline,
) -> Result<Flushed, HandlerError> {
    let mut out = Flushed::default();
    let mut rest = batch.folded.as_slice();
    let mut first = true;
    while let Some(next) = rest.first() {
        if !first && deadline.passed() {
            out.cut = Some(next.first_offset);
            break;
        }
        // Sessions are distinct rows: a few at a time rather than one round trip after another;
        // the first alone, as it creates the tables on their first use.
        let group = if first { 1 } else { SESSIONS_IN_FLIGHT };
        first = false;
        let (now_in, later) = rest.split_at(rest.len().min(group));
        let changed =
            futures::future::try_join_all(now_in.iter().map(|f| upsert(tail, f, now))).await?;
        out.sessions += changed.into_iter().filter(|c| *c).count();
        rest = later;
    }
    let end = out.cut.unwrap_or(u64::MAX);
    for (_, f) in batch.failed.iter().filter(|(at, _)| *at < end) {
        out.failed_partitions
            .extend(failed::record(&tail.ports.tables, f).await?);
    }
    // Before the chunk's offset is saved: a crash from here on re-reads the chunk.
    failed::mark_pending(&tail.ports.tables, &out.failed_partitions).await?;
    Ok(out)
}

/// Merges one folded session into its stored row; `false` when nothing changed.
async fn upsert(
    tail: &Tailer,
    folded: &Folded<'_>,
    now: OffsetDateTime,
) -> Result<bool, HandlerError> {
    let tunnel = folded.tunnel_id.as_ref();
    let raw = folded
        .raw
        .as_ref()
        .map(|(_, l)| String::from_utf8_lossy(l).into_owned());
    // Not `tables::ops::update`: the index row is written between the read and this write.
    for _ in 0..ATTEMPTS {
        let current = get(
            tail.ports.tables.as_ref(),
            SESSIONS_TABLE,
            &crate::audit_logs::sessions::tunnel_key(tunnel),
            SESSION_ROW,
        )
        .await?;
        let before = current
            .as_ref()
            .and_then(|s| SessionRecord::from_entity(&s.entity));
        let mut after = before.clone().unwrap_or_else(|| SessionRecord::new(tunnel));
        after.merge(&folded.session);
        after.cap_fields();
        if before.as_ref() == Some(&after) {
            return Ok(false);
        }
        let changed = |view: fn(&SessionRecord) -> ListedView<'_>| {
            before.as_ref().is_none_or(|b| view(b) != view(&after))
        };
        let join_changed = changed(|s| (join_relevant(s), None));
        if join_changed || changed(listed) {
            let from = before.as_ref().map(window_of);
            let pending = join_changed.then(|| affected(tail, before.as_ref(), &after));
            // A session seen for the first time has no index row yet: inserted without a read.
            let was = from
                .as_ref()
                .map_or(Before::New, |d| Before::Day(d.as_deref()));
            put_window_pending(&tail.ports.tables, &after, now, was, pending.flatten()).await?;
        }
        let mut e = current
            .as_ref()
            .map(|s| s.entity.clone())
            .unwrap_or_default();
        e.extend(after.to_entity());
        if let Some(line) = &raw {
            e.insert("LastRaw".into(), Value::String(line.clone()));
        }
        let mode = current
            .as_ref()
            .map_or(WriteMode::Insert, |s| WriteMode::IfMatch(s.etag.clone()));
        match write_creating_table(tail.ports.tables.as_ref(), SESSIONS_TABLE, &e, mode).await {
            Ok(_) => return Ok(true),
            Err(TableError::Conflict | TableError::PreconditionFailed | TableError::NotFound) => {}
            Err(e) => return Err(e.into()),
        }
    }
    Err(HandlerError::storage(anyhow::anyhow!(
        "{SESSIONS_TABLE} row of {tunnel} kept changing under {ATTEMPTS} attempts"
    )))
}

/// The creation times of recordings whose join a change from `before` to `after` may affect: the
/// old window and the new one.
fn affected(tail: &Tailer, before: Option<&SessionRecord>, after: &SessionRecord) -> Option<Span> {
    let span = |s: &SessionRecord| {
        let start = s.session_start.or(s.first_record_time)?;
        let (lag, open) = (tail.join.upload_lag, tail.join.open_session_max);
        Some(window_span(start, s.session_end, lag, open))
    };
    match (before.and_then(span), span(after)) {
        (Some(a), Some(b)) => Some(a.union(b)),
        (a, b) => a.or(b),
    }
}

type JoinView<'a> = (
    Option<OffsetDateTime>,
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
        // The index row's start (and day partition) falls back to the first record's time.
        s.session_start.or(s.first_record_time),
        s.session_start,
        s.session_end,
        &s.outcome,
        &s.target_vm,
        &s.user_name,
        &s.user_email,
        &s.bastion_host,
    )
}
