//! The `sessionwindows` index: PK = session start day, RK = tunnelId, with the fields heuristic
//! matching and detections need, so both are partition-scoped queries over a day or two instead of
//! scans. Join state (`Recorded`, `RecordingIds`) and detection markers (`UnrecordedNotified`) live
//! here and survive session updates. It also carries every field `GET /api/sessions` shows
//! (client IP, target resource id, duration), so listing sessions is one partition query per day.
//!
//! **Pending joins.** When a session's join-relevant fields change, the tail writes its row with
//! `JoinFrom`/`JoinUntil`: the creation times of the recordings whose join may have changed (its old
//! and new windows together, widened by every further change until joined). The tick's join finds
//! these rows with one query and clears the range in the same conditional write that records its
//! marks ([`marks`]), so a crash before that leaves the session pending, never forgotten.

use serde_json::Value;
use time::OffsetDateTime;

use super::WINDOWS_TABLE;
use crate::audit_logs::correlate::Span;
use crate::audit_logs::sessions::{SessionRecord, tunnel_key};
use crate::dates::format_date;
use crate::dates::{format_utc_millis, timestamp};
use crate::tables::ops::{get, update_from};
use crate::tables::{Entity, TableError, TableStore, get_list, get_str};

pub mod marks;

pub use marks::{mark_pending, pending_rows, settle, settle_batch};

/// Most recording ids kept per session row.
pub const MAX_IDS: usize = 20;

/// A session as seen by the index.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WindowRow {
    /// Tunnel id.
    pub tunnel_id: String,
    /// Start (or first record) time.
    pub start: OffsetDateTime,
    /// End, when known.
    pub end: Option<OffsetDateTime>,
    /// Bastion host.
    pub host: String,
    /// VM name.
    pub vm: String,
    /// VM user.
    pub user_name: String,
    /// Portal user.
    pub user_email: String,
    /// Protocol.
    pub protocol: String,
    /// Outcome.
    pub outcome: String,
    /// When the end became known to us (processing time): the grace period counts from here.
    pub end_arrived_at: Option<OffsetDateTime>,
    /// The current match of at least one recording names this session (exactly, heuristically or
    /// as an ambiguous candidate): derived by the join while the session is not pending, and
    /// withdrawn when no match names it any more.
    pub recorded: bool,
    /// Ids of the recordings whose current match names it (the first [`MAX_IDS`]).
    pub recording_ids: Vec<String>,
    /// `session.unrecorded` already emitted.
    pub unrecorded_notified: bool,
    /// Creation times of recordings whose join may have changed with this session, until joined.
    pub pending: Option<Span>,
}

/// The index partition (start day) of a session, when it has any time at all.
pub fn window_of(s: &SessionRecord) -> Option<String> {
    s.session_start
        .or(s.first_record_time)
        .map(|t| format_date(t.date()))
}

impl WindowRow {
    /// Reads an index entity.
    pub fn from_entity(e: &Entity) -> Option<Self> {
        let s = |k: &str| get_str(e, k).unwrap_or_default().to_owned();
        let t = |k: &str| get_str(e, k).and_then(timestamp);
        let b = |k: &str| e.get(k).and_then(Value::as_bool).unwrap_or(false);
        Some(Self {
            tunnel_id: get_str(e, "RowKey")?.to_owned(),
            start: t("Start")?,
            end: t("End"),
            host: s("BastionHost"),
            vm: s("TargetVm"),
            user_name: s("UserName"),
            user_email: s("UserEmail"),
            protocol: s("Protocol"),
            outcome: s("Outcome"),
            end_arrived_at: t("EndArrivedAt"),
            recorded: b("Recorded"),
            recording_ids: get_list(e, "RecordingIds").map(str::to_owned).collect(),
            unrecorded_notified: b("UnrecordedNotified"),
            pending: pending_of(e),
        })
    }
}

/// The pending range of an index entity (`JoinFrom`/`JoinUntil`), if any.
pub fn pending_of(e: &Entity) -> Option<Span> {
    let t = |k: &str| get_str(e, k).and_then(timestamp);
    Some(Span {
        from: t("JoinFrom")?,
        until: t("JoinUntil")?,
    })
}

/// Sets (or, with `None`, clears) the pending range of an index entity.
pub(crate) fn set_pending(e: &mut Entity, span: Option<Span>) {
    let (from, until) = span.map_or_else(Default::default, |s| {
        (format_utc_millis(s.from), format_utc_millis(s.until))
    });
    set(e, "JoinFrom", from);
    set(e, "JoinUntil", until);
}

fn set(e: &mut Entity, k: &str, v: impl Into<Value>) {
    e.insert(k.to_owned(), v.into());
}

/// Writes the index row of `s` (keeping join state and markers); `arrived` is "now". `from` is the
/// partition its row was written under before this change: when a later record revealed an earlier
/// start day, the old row's join state is carried into the new one and the old row is deleted (an
/// `If-Match` delete, re-carried when the old row changed meanwhile). Idempotent: once moved, the
/// old row is gone and a replay only rewrites the same new row.
///
/// # Errors
/// Table errors.
pub async fn put_window(
    tables: &dyn TableStore,
    s: &SessionRecord,
    arrived: OffsetDateTime,
    from: Option<&str>,
) -> Result<(), TableError> {
    put_window_pending(tables, s, arrived, Before::Day(from), None).await
}

/// Where a session's index row stood before a change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Before<'a> {
    /// The session had no row: its index row (written before the session row) is inserted without
    /// a read. One a crash left between the two writes makes the insert conflict; it is read and
    /// merged then, so a wrong guess costs a call, never a row.
    New,
    /// Under this start day (`None`: the session had no time, so no index row).
    Day(Option<&'a str>),
}

/// [`put_window`], also widening the row's pending range by `pending` (the recordings whose join
/// this change may affect), in the same write.
///
/// # Errors
/// Table errors.
pub async fn put_window_pending(
    tables: &dyn TableStore,
    s: &SessionRecord,
    arrived: OffsetDateTime,
    before: Before<'_>,
    pending: Option<Span>,
) -> Result<(), TableError> {
    let Some(pk) = window_of(s) else {
        return Ok(());
    };
    let fresh = Fresh {
        s,
        arrived,
        pending,
        new: before == Before::New,
    };
    let from = match before {
        Before::New => None,
        Before::Day(from) => from,
    };
    let Some(old_pk) = from.filter(|d| *d != pk) else {
        return write_window(tables, &pk, &fresh, None).await;
    };
    // Not `tables::ops::update`: the race is on deleting the old copy, not on writing a row.
    for _ in 0..MOVE_ATTEMPTS {
        let old = get(tables, WINDOWS_TABLE, old_pk, &tunnel_key(&s.tunnel_id)).await?;
        write_window(tables, &pk, &fresh, old.as_ref().map(|o| &o.entity)).await?;
        let Some(old) = old else {
            return Ok(());
        };
        match tables
            .delete(
                WINDOWS_TABLE,
                old_pk,
                &tunnel_key(&s.tunnel_id),
                Some(&old.etag),
            )
            .await
        {
            Ok(()) | Err(TableError::NotFound) => return Ok(()),
            Err(TableError::PreconditionFailed) => {} // changed meanwhile: carry again
            Err(e) => return Err(e),
        }
    }
    Err(TableError::Transient(format!(
        "{WINDOWS_TABLE} row of {} kept changing while moving it",
        s.tunnel_id
    )))
}

/// Attempts at moving a row whose old copy keeps changing.
const MOVE_ATTEMPTS: usize = 4;

/// What [`write_window`] writes: the session, "now", and the pending range to add; `new`: the
/// row is presumed absent (not read before the insert).
struct Fresh<'a> {
    s: &'a SessionRecord,
    arrived: OffsetDateTime,
    pending: Option<Span>,
    new: bool,
}

/// Widens the pending range of `e` by `span`.
pub(crate) fn widen(e: &mut Entity, span: Option<Span>) {
    if let Some(span) = span {
        let wide = pending_of(e).map_or(span, |p| p.union(span));
        set_pending(e, Some(wide));
    }
}

/// Merges the join state and markers of `old` (a row of the same session under another day) into
/// `e`: flags are OR-ed, recording ids united, the first known end and its arrival kept, pending
/// ranges united.
fn carry(e: &mut Entity, old: &Entity) {
    widen(e, pending_of(old));
    for flag in ["Recorded", "UnrecordedNotified"] {
        if old.get(flag) == Some(&Value::Bool(true)) {
            set(e, flag, true);
        }
    }
    for k in ["End", "EndArrivedAt"] {
        let empty = get_str(e, k).is_none_or(str::is_empty);
        if let Some(v) = get_str(old, k).filter(|v| !v.is_empty() && empty) {
            set(e, k, v.to_owned());
        }
    }
    let mut ids: Vec<&str> = get_list(e, "RecordingIds").collect();
    for id in get_list(old, "RecordingIds") {
        if !ids.contains(&id) && ids.len() < MAX_IDS {
            ids.push(id);
        }
    }
    let joined = ids.join(",");
    if !joined.is_empty() {
        set(e, "RecordingIds", joined);
    }
}

/// The session's text fields an index row carries: those the join's time match reads, and those
/// `GET /api/sessions` lists from this index alone (no point reads).
pub fn session_fields(s: &SessionRecord) -> [(&'static str, &str); 8] {
    [
        ("BastionHost", &s.bastion_host),
        ("TargetVm", &s.target_vm),
        ("UserName", &s.user_name),
        ("UserEmail", &s.user_email),
        ("Protocol", &s.protocol),
        ("Outcome", &s.outcome),
        ("ClientIp", &s.client_ip),
        ("TargetResourceId", &s.target_resource_id),
    ]
}

async fn write_window(
    tables: &dyn TableStore,
    pk: &str,
    fresh: &Fresh<'_>,
    old: Option<&Entity>,
) -> Result<(), TableError> {
    let (s, arrived) = (fresh.s, fresh.arrived);
    let start = s.session_start.or(s.first_record_time);
    let t = |v: Option<OffsetDateTime>| v.map(format_utc_millis).unwrap_or_default();
    let current = if fresh.new {
        None
    } else {
        get(tables, WINDOWS_TABLE, pk, &tunnel_key(&s.tunnel_id)).await?
    };
    let tunnel = &tunnel_key(&s.tunnel_id);
    update_from(tables, WINDOWS_TABLE, pk, tunnel, current, &mut |cur| {
        let mut e = cur.map(|s| s.entity.clone()).unwrap_or_default();
        if let Some(old) = old {
            carry(&mut e, old);
        }
        let had_end = get_str(&e, "End").is_some_and(|v| !v.is_empty());
        set(&mut e, "Start", t(start));
        set(&mut e, "End", t(s.session_end));
        for (k, v) in session_fields(s) {
            set(&mut e, k, v);
        }
        match s.effective_duration_ms() {
            Some(d) => crate::tables::int64(&mut e, "DurationMs", d),
            None => {
                e.remove("DurationMs");
                e.remove("DurationMs@odata.type");
            }
        }
        for flag in ["Recorded", "UnrecordedNotified"] {
            e.entry(flag).or_insert(Value::Bool(false));
        }
        if s.session_end.is_some() && !had_end {
            set(&mut e, "EndArrivedAt", format_utc_millis(arrived));
        }
        widen(&mut e, fresh.pending);
        // Compared without `@odata.type` annotations (reads may or may not carry them), so an
        // unchanged row is never rewritten.
        let differs = |c: &Entity| {
            let (mut a, mut b) = (c.clone(), e.clone());
            crate::tables::strip_annotations(&mut a);
            crate::tables::strip_annotations(&mut b);
            a != b
        };
        cur.map(|s| &s.entity).is_none_or(differs).then_some(e)
    })
    .await?;
    Ok(())
}
