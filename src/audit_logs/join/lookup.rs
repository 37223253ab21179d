//! Lookups of the join: session rows by tunnel id.

use super::super::repo::{self, SESSIONS_TABLE};
use super::super::sessions::{SESSION_ROW, SessionRecord};
use crate::app::AppState;
use crate::tables::TableError;

/// Reads a session row.
///
/// # Errors
/// Table errors.
pub async fn get_session(
    state: &AppState,
    tunnel: &str,
) -> Result<Option<SessionRecord>, TableError> {
    let stored = repo::get(
        &state.tables,
        SESSIONS_TABLE,
        &tunnel.to_ascii_lowercase(),
        SESSION_ROW,
    )
    .await?;
    Ok(stored.and_then(|s| SessionRecord::from_entity(&s.entity)))
}
