//! The recording side of the join: a recording was catalogued (`RecordingCreated`, `Reconcile`),
//! so its GUIDs are indexed for sessions arriving later and it is joined with the sessions known
//! now: point reads of `sessions` for its GUIDs, else the `sessionwindows` days around its creation.

use super::lookup::{get_session, windows_for};
use super::write::{RowWrite, write_join};
use super::{Join, hints, source_bastion};
use crate::audit_logs::correlate::{Confidence, Match, RecordingFacts, match_heuristic};
use crate::audit_logs::repo::{self, RECORDING_KEYS_TABLE, WindowRow};
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
pub async fn index_recording_keys(join: &Join, entry: &CatalogueEntry) -> Result<(), TableError> {
    for key in &entry.candidate_keys {
        let mut e = Entity::new();
        e.insert("PartitionKey".into(), key.clone().into());
        e.insert("RowKey".into(), entry.key.id().into());
        crate::catalogue::repo::write_creating_table(
            join.tables.as_ref(),
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
    join: &Join,
    key: &RecordingKey,
) -> Result<Option<Match>, HandlerError> {
    let Some(row) = CatalogueRepo::new(join.tables.clone()).get(key).await? else {
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
    join: &Join,
    row: Versioned<CatalogueEntry>,
) -> Result<Option<Match>, HandlerError> {
    index_recording_keys(join, &row.value).await?;
    let key = row.value.key.clone();
    join_from(join, &key, Some(row)).await
}

/// Recomputes the join of one catalogued recording and writes it (row, tags, session marks) when it
/// changed. Returns the match, if any.
///
/// # Errors
/// `Retryable` on storage failures.
pub async fn join_recording(
    join: &Join,
    key: &RecordingKey,
) -> Result<Option<Match>, HandlerError> {
    join_from(join, key, None).await
}

/// The join loop; the first attempt uses `known` when given (a row its caller holds at its current
/// ETag), every retry after a lost race re-reads.
pub(super) async fn join_from(
    join: &Join,
    key: &RecordingKey,
    mut known: Option<Versioned<CatalogueEntry>>,
) -> Result<Option<Match>, HandlerError> {
    let repo = CatalogueRepo::new(join.tables.clone());
    for _ in 0..ATTEMPTS {
        let row = match known.take() {
            Some(row) => row,
            None => match repo.get(key).await? {
                Some(row) => row,
                None => return Ok(None),
            },
        };
        let found = find_match(join, &row.value).await?;
        let Some(m) = found.m else { return Ok(None) };
        match write_join(join, &row, &m, found.session.as_ref()).await? {
            // Marking is idempotent; repeating it on an unchanged row heals a crash between the
            // row write and the marks.
            RowWrite::Unchanged | RowWrite::Rewritten => {
                let rows = matched_windows(join, &m, found.session.as_ref(), found.rows).await?;
                repo::windows::mark_recorded(&join.tables, &rows, &key.id()).await?;
                return Ok(Some(m));
            }
            RowWrite::Refused => return Ok(None),
            RowWrite::Lost => {}
        }
    }
    Err(HandlerError::storage(anyhow::anyhow!(
        "catalogue row {} kept changing during the join",
        key.id()
    )))
}

/// A match with what was read to find it.
struct Found {
    m: Option<Match>,
    session: Option<SessionRecord>,
    rows: Vec<WindowRow>,
}

async fn find_match(join: &Join, entry: &CatalogueEntry) -> Result<Found, TableError> {
    for k in &entry.candidate_keys {
        if let Some(s) = get_session(&join.tables, k).await? {
            let m = Match {
                confidence: Confidence::Exact,
                tunnels: vec![s.tunnel_id.clone()],
            };
            return Ok(Found {
                m: Some(m),
                session: Some(s),
                rows: Vec::new(),
            });
        }
    }
    let t = entry.blob_created;
    let rows: Vec<WindowRow> = windows_for(join, t, t)
        .await?
        .into_iter()
        .map(|(row, _)| row)
        .collect();
    let facts = RecordingFacts {
        created: t,
        hints: hints(entry),
        bastion: source_bastion(entry),
    };
    let m = match_heuristic(&facts, &rows, join.upload_lag, join.open_session_max);
    let session = match &m {
        Some(Match {
            confidence: Confidence::Heuristic,
            tunnels,
        }) => get_session(&join.tables, &tunnels[0]).await?,
        _ => None,
    };
    Ok(Found { m, session, rows })
}

/// The index rows to mark for `m`: the matched session's own row (however long after the session
/// the recording was uploaded), else the candidates among the rows the match was found in.
async fn matched_windows(
    join: &Join,
    m: &Match,
    session: Option<&SessionRecord>,
    rows: Vec<WindowRow>,
) -> Result<Vec<WindowRow>, TableError> {
    if let Some(s) = session {
        if let Some(own) = rows.iter().find(|r| r.tunnel_id == s.tunnel_id) {
            return Ok(vec![own.clone()]);
        }
        return Ok(repo::windows::row_of(&join.tables, s)
            .await?
            .into_iter()
            .collect());
    }
    Ok(rows
        .into_iter()
        .filter(|r| m.tunnels.contains(&r.tunnel_id))
        .collect())
}
