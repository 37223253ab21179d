//! The recording side of the join: a recording was catalogued (`RecordingCreated`, `Reconcile`),
//! so its GUIDs are indexed for sessions arriving later and it is joined with the sessions known
//! now: point reads of `sessions` for its GUIDs; else, when it names a GUID and is younger than the
//! wait, it awaits that session; else the `sessionwindows` days around its creation.

use time::OffsetDateTime;

use super::lookup::{get_session, windows_for};
use super::write::{Marks, RowWrite, join_insert, write_join};
use super::{Joiner, hints, source_bastion};
use crate::audit_logs::correlate::{Confidence, Match, RecordingFacts, match_unkeyed};
use crate::audit_logs::repo::{RECORDING_KEYS_TABLE, WindowRow};
use crate::audit_logs::sessions::SessionRecord;
use crate::catalogue::model::{CatalogueEntry, RecordingKey};
use crate::catalogue::repo::{CatalogueRepo, Versioned};
use crate::invocation::HandlerError;
use crate::tables::{Entity, TableError, WriteMode};

/// Attempts at the conditional catalogue write.
const ATTEMPTS: usize = 5;

/// Records the GUIDs of a recording in `recordingkeys` so a session arriving later finds it.
///
/// # Errors
/// Table errors.
pub async fn index_recording_keys(join: &Joiner, entry: &CatalogueEntry) -> Result<(), TableError> {
    let room = crate::tables::keys::MAX_KEY_BYTES;
    for key in &entry.candidate_keys {
        let mut e = Entity::new();
        // A candidate is a GUID found in the recording, keyed as the tunnel id it may be.
        let pk = crate::audit_logs::sessions::tunnel_key(key);
        e.insert("PartitionKey".into(), pk.into());
        e.insert("RowKey".into(), entry.key.id_key(room).into());
        e.insert("RecordingId".into(), entry.key.id().into());
        crate::tables::ops::write_creating_table(
            join.ports.tables.as_ref(),
            RECORDING_KEYS_TABLE,
            &e,
            WriteMode::Upsert,
        )
        .await?;
    }
    Ok(())
}

/// Hook after a recording is catalogued (`RecordingCreated`, `Reconcile`): indexes its GUIDs for
/// sessions arriving later, then joins it with the sessions known now.
///
/// # Errors
/// `Retryable` on storage failures.
pub async fn after_catalogue(
    join: &Joiner,
    key: &RecordingKey,
) -> Result<Option<Match>, HandlerError> {
    let Some(row) = CatalogueRepo::new(join.ports.tables.clone())
        .get(key)
        .await?
    else {
        return Ok(None);
    };
    after_write(join, row).await
}

/// [`after_catalogue`] for a row its caller holds at its current ETag (just written, or just
/// read): the same work without reading the row again. A row changed meanwhile fails the
/// conditional write, which re-reads.
///
/// # Errors
/// `Retryable` on storage failures.
pub async fn after_write(
    join: &Joiner,
    row: Versioned<CatalogueEntry>,
) -> Result<Option<Match>, HandlerError> {
    index_recording_keys(join, &row.value).await?;
    let key = row.value.key.clone();
    Ok(join_from(join, &key, Some(row), join.ports.clock.now())
        .await?
        .0)
}

/// What a recording's join puts into its catalogue insert ([`before_insert`]).
#[derive(Debug)]
pub struct Prepared {
    /// The row to insert (re-tagged by the matched session's fields).
    pub entry: CatalogueEntry,
    /// The join properties to insert it with (none when no session fits).
    pub props: Entity,
    /// When the match was decided.
    now: OffsetDateTime,
    /// Sessions marked pending: `(start day, tunnel id)`.
    marked: Vec<(String, String)>,
}

/// The join of a recording about to be inserted (`entry`, not in the table yet): everything
/// [`after_write`] does before its row write (GUIDs indexed, the match, the sessions it names
/// marked, its index rows), so one insert writes the row joined instead of an insert and a
/// rewrite. The caller inserts [`Prepared::entry`] with [`Prepared::props`], then calls
/// [`after_insert`]; a lost insert race only leaves extra marks (work, never wrong).
///
/// # Errors
/// `Retryable` on storage failures.
pub async fn before_insert(join: &Joiner, entry: CatalogueEntry) -> Result<Prepared, HandlerError> {
    index_recording_keys(join, &entry).await?;
    let now = join.ports.clock.now();
    let found = find_match(join, &entry, now).await?;
    let mut marks = Marks::default();
    let (m, session) = (found.m.as_ref(), found.session.as_ref());
    let (entry, props) = join_insert(join, entry, m, session, &mut marks).await?;
    Ok(Prepared {
        entry,
        props,
        now,
        marked: marks.marked,
    })
}

/// After the insert of a [`Prepared`] row: marked sessions older than the tick's horizon are
/// derived now, as after any recording's join.
///
/// # Errors
/// `Retryable` on storage failures.
pub async fn after_insert(join: &Joiner, prepared: &Prepared) -> Result<(), HandlerError> {
    join.settle_old(prepared.now, &prepared.marked).await
}

/// Recomputes the join of one catalogued recording and writes it (row, tags; the sessions it
/// leaves or joins marked pending) when it changed. Returns the match, if any (an awaiting recording's names no session).
///
/// # Errors
/// `Retryable` on storage failures.
pub async fn join_recording(
    join: &Joiner,
    key: &RecordingKey,
) -> Result<Option<Match>, HandlerError> {
    Ok(join_from(join, key, None, join.ports.clock.now()).await?.0)
}

/// The join loop; the first attempt uses `known` when given (a row its caller holds at its current
/// ETag), every retry after a lost race re-reads. Returns the match the row now holds (after a
/// refused write: none) and the sessions it marked pending. Marked sessions older than the tick's
/// horizon (a recording restored or copied long after its session) are derived here and now.
pub(super) async fn join_from(
    join: &Joiner,
    key: &RecordingKey,
    known: Option<Versioned<CatalogueEntry>>,
    now: OffsetDateTime,
) -> Result<(Option<Match>, usize), HandlerError> {
    let (held, marked) = decide(join, key, known, now).await?;
    join.settle_old(now, &marked).await?;
    Ok((held, marked.len()))
}

/// [`join_from`] without deriving old sessions.
pub(super) async fn decide(
    join: &Joiner,
    key: &RecordingKey,
    mut known: Option<Versioned<CatalogueEntry>>,
    now: OffsetDateTime,
) -> Result<(Option<Match>, Vec<(String, String)>), HandlerError> {
    let repo = CatalogueRepo::new(join.ports.tables.clone());
    let mut marks = Marks::default();
    // Not `tables::ops::update`: each attempt reads sessions and writes index rows around the write.
    for _ in 0..ATTEMPTS {
        let row = match known.take() {
            Some(row) => row,
            None => match repo.get(key).await? {
                Some(row) => row,
                None => return Ok((None, marks.marked)),
            },
        };
        let found = find_match(join, &row.value, now).await?;
        match write_join(
            join,
            &row,
            found.m.as_ref(),
            found.session.as_ref(),
            &mut marks,
        )
        .await?
        {
            RowWrite::Unchanged | RowWrite::Rewritten => return Ok((found.m, marks.marked)),
            RowWrite::Refused => return Ok((None, marks.marked)),
            RowWrite::Lost => {}
        }
    }
    Err(HandlerError::storage(anyhow::anyhow!(
        "catalogue row {} kept changing during the join",
        key.id()
    )))
}

/// A match with the session it names, when it names one.
struct Found {
    m: Option<Match>,
    session: Option<SessionRecord>,
}

async fn find_match(
    join: &Joiner,
    entry: &CatalogueEntry,
    now: OffsetDateTime,
) -> Result<Found, TableError> {
    for k in &entry.candidate_keys {
        if let Some(s) = get_session(&join.ports.tables, k).await? {
            let m = Match {
                confidence: Confidence::Exact,
                tunnels: vec![s.tunnel_id.clone()],
            };
            return Ok(Found {
                m: Some(m),
                session: Some(s),
            });
        }
    }
    let t = entry.blob_created;
    let times = join.times(now);
    let names_guid = !entry.candidate_keys.is_empty();
    let facts = RecordingFacts {
        created: t,
        hints: hints(entry),
        bastion: source_bastion(entry),
    };
    // Awaiting its own session needs no index read; rows read ahead for its page need none either.
    let read: Vec<WindowRow>;
    let rows: &[WindowRow] = match &join.windows {
        _ if names_guid && times.now < t + times.wait => &[],
        Some(held) => held.rows(),
        None => {
            read = windows_for(join, t, t)
                .await?
                .into_iter()
                .map(|(row, _)| row)
                .collect();
            &read
        }
    };
    let m = match_unkeyed(&facts, names_guid, rows, times);
    let session = match &m {
        Some(Match {
            confidence: Confidence::Heuristic,
            tunnels,
        }) => get_session(&join.ports.tables, &tunnels[0]).await?,
        _ => None,
    };
    Ok(Found { m, session })
}
