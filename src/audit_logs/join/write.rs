//! Writing one recording's join result: re-tag, index rows, then the catalogue row (ETag
//! conditional), and nothing at all when the row would not change.

use super::Join;
use super::fields::{apply_join, unchanged};
use super::retag;
use crate::audit_logs::correlate::Match;
use crate::audit_logs::sessions::SessionRecord;
use crate::catalogue::index;
use crate::catalogue::model::CatalogueEntry;
use crate::catalogue::repo::{CatalogueRepo, Versioned};
use crate::invocation::HandlerError;
use crate::tables::{TableError, WriteMode};

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

/// Applies `m` (and the matched `session`'s fields) to `row` as read (value, ETag, entity).
///
/// # Errors
/// `Retryable` on storage failures.
pub(super) async fn write_join(
    join: &Join,
    row: &Versioned<CatalogueEntry>,
    m: &Match,
    session: Option<&SessionRecord>,
) -> Result<RowWrite, HandlerError> {
    let mut entity = row.raw.clone();
    apply_join(&mut entity, m, session);
    let mut entry = row.value.clone();
    if let Some(s) = session {
        retag::retag(join, &mut entry, s).await?;
    }
    if unchanged(&entity, &row.raw) && entry == row.value {
        return Ok(RowWrite::Unchanged);
    }
    // Index rows first: a crash before the row write leaves an extra (re-checked) index row,
    // never a joined row that a VM/user query cannot find.
    let mut written = entity.clone();
    written.extend(entry.to_entity());
    let repo = CatalogueRepo::new(join.tables.clone());
    let written_row = match index::upsert_added(join.tables.as_ref(), &row.raw, &written).await {
        Ok(()) => {
            repo.write(&entry, Some(&entity), WriteMode::IfMatch(row.etag.clone()))
                .await
        }
        Err(e) => Err(e),
    };
    match written_row {
        Ok(_) => {
            index::remove_stale(join.tables.as_ref(), &row.raw, &written).await?;
            Ok(RowWrite::Rewritten)
        }
        Err(TableError::PreconditionFailed | TableError::NotFound) => Ok(RowWrite::Lost),
        Err(e @ TableError::Rejected(_)) => {
            let cause = crate::telemetry::redact(&e.to_string());
            tracing::error!(recording = %row.value.key.id(), error.cause_chain = %cause, "the join's row was refused by the table service; left as it is");
            Ok(RowWrite::Refused)
        }
        Err(e) => Err(e.into()),
    }
}
