//! Writing one recording's join result: re-tag, mark sessions, index rows, then the catalogue row
//! (ETag conditional), and nothing at all when the row would not change.
//!
//! **Sessions first.** When the sessions a recording's match names change (from `old` to `new`),
//! every session of `old ∪ new` is marked pending before the row is written, so the session-side
//! join derives their recorded state again from every recording that can name them: a session the
//! recording leaves loses its mark, one it joins gains it. A crash or a lost race after the marks
//! only costs that derivation; it can never leave a session marked by a recording that moved on.

use std::collections::HashSet;

use super::Joiner;
use super::fields::{apply_join, named, stored_named, unchanged};
use super::lookup::get_session;
use super::retag;
use crate::audit_logs::correlate::Match;
use crate::audit_logs::repo::WindowRow;
use crate::audit_logs::repo::windows::{mark_pending, window_of};
use crate::audit_logs::sessions::SessionRecord;
use crate::catalogue::index;
use crate::catalogue::model::CatalogueEntry;
use crate::catalogue::repo::{CatalogueRepo, Versioned};
use crate::dates::format_date;
use crate::invocation::HandlerError;
use crate::tables::{Entity, TableError, WriteMode};

/// What [`write_join`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum RowWrite {
    /// The row already holds this result: nothing written.
    Unchanged,
    /// The row was rewritten.
    Rewritten,
    /// The row changed (or vanished) since it was read: read it again and retry.
    Lost,
    /// The table service refused the row (it would break a size or key rule): the same write
    /// fails every time, so it is logged and left, never retried forever.
    Refused,
}

/// How a join marks the sessions whose recorded state its writes change.
#[derive(Debug, Default)]
pub(super) struct Marks<'a> {
    /// Sessions the caller settles itself afterwards (the round's pending sessions): not marked.
    pub deferred: Option<&'a HashSet<String>>,
    /// Index rows the caller holds (their start day locates them without a session read).
    pub rows: &'a [WindowRow],
    /// Sessions marked pending: their index rows' `(start day, tunnel id)`.
    pub marked: Vec<(String, String)>,
    /// Sessions already marked by this caller (each once).
    pub done: HashSet<String>,
}

/// Applies `m` (and the matched `session`'s fields; `None`: no session fits) to `row` as read
/// (value, ETag, entity).
///
/// # Errors
/// `Retryable` on storage failures.
pub(super) async fn write_join(
    join: &Joiner,
    row: &Versioned<CatalogueEntry>,
    m: Option<&Match>,
    session: Option<&SessionRecord>,
    marks: &mut Marks<'_>,
) -> Result<RowWrite, HandlerError> {
    // Nothing fits and nothing was joined: the row's other properties are not the join's.
    if m.is_none() && !row.raw.contains_key("MatchConfidence") {
        return Ok(RowWrite::Unchanged);
    }
    let (entry, entity) = joined(join, row.value.clone(), &row.raw, m, session).await?;
    if unchanged(&entity, &row.raw) && entry == row.value {
        return Ok(RowWrite::Unchanged);
    }
    mark_sessions(join, &stored_named(&row.raw), m, session, marks).await?;
    Ok(match write_row(join, row, &entry, entity).await? {
        Written::Row => RowWrite::Rewritten,
        Written::Lost => RowWrite::Lost,
        Written::Refused => RowWrite::Refused,
    })
}

/// [`write_join`] for a row about to be inserted (`entry`, absent from the table): the sessions
/// `m` names marked and its index rows held or written, as before any join's write, and the
/// entry (re-tagged by the session's fields) with the join properties to insert it with, so the
/// insert carries the join.
///
/// # Errors
/// `Retryable` on storage failures.
pub(super) async fn join_insert(
    join: &Joiner,
    entry: CatalogueEntry,
    m: Option<&Match>,
    session: Option<&SessionRecord>,
    marks: &mut Marks<'_>,
) -> Result<(CatalogueEntry, Entity), HandlerError> {
    let none = Entity::new();
    let (entry, props) = joined(join, entry, &none, m, session).await?;
    mark_sessions(join, &[], m, session, marks).await?;
    let mut written = props.clone();
    written.extend(entry.to_entity());
    index_first(join, &none, &written).await?;
    Ok((entry, props))
}

/// `raw` (a row's entity) with the join of `m` applied, and `entry` re-tagged by the matched
/// session's fields.
async fn joined(
    join: &Joiner,
    mut entry: CatalogueEntry,
    raw: &Entity,
    m: Option<&Match>,
    session: Option<&SessionRecord>,
) -> Result<(CatalogueEntry, Entity), HandlerError> {
    let mut entity = raw.clone();
    apply_join(&mut entity, m, session);
    if let Some(s) = session {
        retag::retag(join, &mut entry, s).await?;
    }
    Ok((entry, entity))
}

/// Marks pending every session of `old ∪ new` (what the row names now and what `m` names) when
/// the two differ: sessions first, before the row is written.
async fn mark_sessions(
    join: &Joiner,
    old: &[String],
    m: Option<&Match>,
    session: Option<&SessionRecord>,
    marks: &mut Marks<'_>,
) -> Result<(), TableError> {
    let new = named(m);
    if old == new {
        return Ok(());
    }
    let mut all: Vec<&String> = old.iter().chain(new).collect();
    all.sort();
    all.dedup();
    for t in all {
        if marks.deferred.is_some_and(|d| d.contains(t)) || !marks.done.insert(t.clone()) {
            continue;
        }
        if let Some(pk) = mark(join, t, marks.rows, session).await? {
            marks.marked.push((pk, t.clone()));
        }
    }
    Ok(())
}

/// Marks session `tunnel` pending, finding its index row among `rows`, from the matched `session`
/// the caller read, or through its session row; returns the row's partition when there is one.
async fn mark(
    join: &Joiner,
    tunnel: &str,
    rows: &[WindowRow],
    session: Option<&SessionRecord>,
) -> Result<Option<String>, TableError> {
    let held = join.windows.as_ref().and_then(|w| w.stored(tunnel));
    let listed = rows.iter().find(|r| r.tunnel_id == tunnel);
    let pk = match (&held, listed) {
        (Some((pk, _)), _) => Some(pk.clone()),
        (None, Some(r)) => Some(format_date(r.start.date())),
        // The session just read for the match: its start day locates the row without reading it again.
        (None, None) => match session.filter(|s| s.tunnel_id == tunnel) {
            Some(s) => window_of(s),
            None => get_session(&join.ports.tables, tunnel)
                .await?
                .and_then(|s| window_of(&s)),
        },
    };
    let Some(pk) = pk else { return Ok(None) };
    // The row as held for the page, so the mark is one conditional write (a changed row is re-read).
    let read = match (&join.windows, held) {
        (_, Some((_, row))) => Some(row),
        (Some(w), None) => w.on_day(join.ports.tables.as_ref(), &pk, tunnel).await?,
        (None, None) => None,
    };
    let stored = mark_pending(
        &join.ports.tables,
        &pk,
        tunnel,
        read,
        join.upload_lag,
        join.open_session_max,
    )
    .await?;
    if let (Some(w), Some(row)) = (&join.windows, &stored) {
        w.written(tunnel, &pk, row.clone());
    }
    Ok(stored.map(|_| pk))
}

/// What [`write_row`] did.
enum Written {
    /// Written.
    Row,
    /// Changed since it was read.
    Lost,
    /// Refused by the table service.
    Refused,
}

/// Writes the row (index rows first) conditionally on the ETag it was read at.
async fn write_row(
    join: &Joiner,
    row: &Versioned<CatalogueEntry>,
    entry: &CatalogueEntry,
    entity: Entity,
) -> Result<Written, HandlerError> {
    // Index rows first: a crash before the row write leaves an extra (re-checked) index row,
    // never a joined row that a VM/user query cannot find.
    let mut written = entity.clone();
    written.extend(entry.to_entity());
    let repo = CatalogueRepo::new(join.ports.tables.clone());
    let written_row = match index_first(join, &row.raw, &written).await {
        Ok(()) => {
            repo.write(entry, Some(&entity), WriteMode::IfMatch(row.etag.clone()))
                .await
        }
        Err(e) => Err(e),
    };
    match written_row {
        Ok(_) => {
            index::remove_stale(join.ports.tables.as_ref(), &row.raw, &written).await?;
            Ok(Written::Row)
        }
        Err(TableError::PreconditionFailed | TableError::NotFound) => Ok(Written::Lost),
        Err(e @ TableError::Rejected(_)) => {
            let cause = crate::telemetry::redact(&e.to_string());
            tracing::error!(recording = %row.value.key.id(), error.cause_chain = %cause, "the join's row was refused by the table service; left as it is");
            Ok(Written::Refused)
        }
        Err(e) => Err(e.into()),
    }
}

/// The index rows `written` adds to `before` (the row as stored, empty for a new one), before the
/// row is written.
async fn index_first(join: &Joiner, before: &Entity, written: &Entity) -> Result<(), TableError> {
    match &join.deferred_index {
        // Held for the caller's batch, written before it records progress past this row.
        Some(held) => {
            held.add(index::added(before, written));
            Ok(())
        }
        None => index::upsert_added(join.ports.tables.as_ref(), before, written).await,
    }
}
