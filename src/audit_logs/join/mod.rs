//! The recording ↔ session join (I/O around [`correlate`](super::correlate)).
//!
//! Order independent: [`join_recording`] recomputes one recording's match from the current sessions
//! and is called when the recording arrives (`RecordingCreated`, `Reconcile`) and, through
//! [`join_session`], for every recording that might belong to a session that just changed. Lookups
//! are bounded: exact keys are point reads (`sessions`) or one partition (`recordingkeys`); heuristic
//! matches read one or two days of `sessionwindows` or of the catalogue, filtered by time.

mod fields;
mod lookup;
pub mod retag;
mod session;

use fields::unchanged;
pub use fields::{JOIN_PROPERTIES, apply_join, hints};
pub use lookup::get_session;
use lookup::windows_around;
pub use session::join_session;

use time::Duration;

use super::correlate::{Confidence, Match, RecordingFacts, match_heuristic};
use super::repo::{self, RECORDING_KEYS_TABLE, WindowRow};
use super::sessions::SessionRecord;
use crate::catalogue::index;
use crate::catalogue::model::{CatalogueEntry, RecordingKey};
use crate::catalogue::repo::{CatalogueRepo, Versioned};
use crate::invocation::HandlerError;
use crate::state::AppState;
use crate::tables::{Entity, TableError, WriteMode};

/// Attempts at the conditional catalogue write.
const ATTEMPTS: usize = 5;

/// Records the GUIDs of a recording in `recordingkeys` so a session arriving later finds it.
///
/// # Errors
/// Table errors.
pub async fn index_recording_keys(
    state: &AppState,
    entry: &CatalogueEntry,
) -> Result<(), TableError> {
    for key in &entry.candidate_keys {
        let mut e = Entity::new();
        e.insert("PartitionKey".into(), key.clone().into());
        e.insert("RowKey".into(), entry.key.id().into());
        crate::catalogue::repo::write_creating_table(
            state.tables.as_ref(),
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
    state: &AppState,
    key: &RecordingKey,
) -> Result<Option<Match>, HandlerError> {
    let Some(row) = CatalogueRepo::new(state.tables.clone()).get(key).await? else {
        return Ok(None);
    };
    after_write(state, row).await
}

/// [`after_catalogue`] for a row its caller has just written (value, ETag and entity as written):
/// the same work without reading the row back first.
///
/// # Errors
/// `Retryable` on storage failures.
pub async fn after_write(
    state: &AppState,
    row: Versioned<CatalogueEntry>,
) -> Result<Option<Match>, HandlerError> {
    index_recording_keys(state, &row.value).await?;
    let key = row.value.key.clone();
    join_from(state, &key, Some(row)).await
}

/// Recomputes the join of one catalogued recording and writes it (row, tags, session marks) when it
/// changed. Returns the match, if any.
///
/// # Errors
/// `Retryable` on storage failures.
pub async fn join_recording(
    state: &AppState,
    key: &RecordingKey,
) -> Result<Option<Match>, HandlerError> {
    join_from(state, key, None).await
}

/// The join loop; the first attempt uses `known` when given (a row its caller holds at its current
/// ETag), every retry after a lost race re-reads.
async fn join_from(
    state: &AppState,
    key: &RecordingKey,
    mut known: Option<Versioned<CatalogueEntry>>,
) -> Result<Option<Match>, HandlerError> {
    let repo = CatalogueRepo::new(state.tables.clone());
    for _ in 0..ATTEMPTS {
        let row = match known.take() {
            Some(row) => row,
            None => match repo.get(key).await? {
                Some(row) => row,
                None => return Ok(None),
            },
        };
        let (found, session) = find_match(state, &row.value).await?;
        let Some(m) = found else { return Ok(None) };
        let mut entity = row.raw.clone();
        apply_join(&mut entity, &m, session.as_ref());
        let mut entry = row.value.clone();
        if let Some(s) = &session {
            retag::retag(state, &mut entry, s).await?;
        }
        if unchanged(&entity, &row.raw) && entry == row.value {
            // Marking is idempotent; repeating it heals a crash between the row write and the marks.
            let rows = matched_windows(state, &row.value, &m, session.as_ref()).await?;
            repo::windows::mark_recorded(&state.tables, &rows, &key.id()).await?;
            return Ok(Some(m));
        }
        // Index rows first: a crash before the row write leaves an extra (re-checked) index row,
        // never a joined row that a VM/user query cannot find.
        let mut written = entity.clone();
        written.extend(entry.to_entity());
        index::upsert(state.tables.as_ref(), &written).await?;
        match repo
            .write(&entry, Some(&entity), WriteMode::IfMatch(row.etag.clone()))
            .await
        {
            Ok(_) => {
                index::remove_stale(state.tables.as_ref(), &row.raw, &written).await?;
                let rows = matched_windows(state, &row.value, &m, session.as_ref()).await?;
                repo::windows::mark_recorded(&state.tables, &rows, &key.id()).await?;
                return Ok(Some(m));
            }
            Err(TableError::PreconditionFailed | TableError::NotFound) => continue,
            Err(e) => return Err(e.into()),
        }
    }
    Err(HandlerError::storage(anyhow::anyhow!(
        "catalogue row {} kept changing during the join",
        key.id()
    )))
}

async fn find_match(
    state: &AppState,
    entry: &CatalogueEntry,
) -> Result<(Option<Match>, Option<SessionRecord>), TableError> {
    for k in &entry.candidate_keys {
        if let Some(s) = get_session(state, k).await? {
            return Ok((
                Some(Match {
                    confidence: Confidence::Exact,
                    tunnels: vec![s.tunnel_id.clone()],
                }),
                Some(s),
            ));
        }
    }
    let audit = &state.audit;
    let rows = windows_around(
        state,
        entry.blob_created,
        audit.open_session_max.max(Duration::days(1)),
    )
    .await?;
    let facts = RecordingFacts {
        created: entry.blob_created,
        hints: hints(entry),
    };
    let m = match_heuristic(&facts, &rows, audit.upload_lag, audit.open_session_max);
    let session = match &m {
        Some(Match {
            confidence: Confidence::Heuristic,
            tunnels,
        }) => get_session(state, &tunnels[0]).await?,
        _ => None,
    };
    Ok((m, session))
}

async fn matched_windows(
    state: &AppState,
    entry: &CatalogueEntry,
    m: &Match,
    session: Option<&SessionRecord>,
) -> Result<Vec<WindowRow>, TableError> {
    if let Some(s) = session {
        // Its own index row, however long after the session the recording was uploaded.
        return Ok(repo::windows::row_of(&state.tables, s)
            .await?
            .into_iter()
            .collect());
    }
    let rows = windows_around(
        state,
        entry.blob_created,
        state.audit.open_session_max.max(Duration::days(1)),
    )
    .await?;
    Ok(rows
        .into_iter()
        .filter(|r| m.tunnels.contains(&r.tunnel_id))
        .collect())
}

#[cfg(test)]
mod tests;
