//! Lookups of the join: session rows by tunnel id, and session-window index rows by day.

use time::Duration;

use super::super::repo::{self, SESSIONS_TABLE, WINDOWS_TABLE, WindowRow, query_all};
use super::super::sessions::{SESSION_ROW, SessionRecord};
use crate::dates::format_date;
use crate::state::AppState;
use crate::tables::{Filter, TableError};

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

/// Index rows of sessions that started between `t - span` and `t` (whole days).
pub(super) async fn windows_around(
    state: &AppState,
    t: time::OffsetDateTime,
    span: Duration,
) -> Result<Vec<WindowRow>, TableError> {
    let mut rows = Vec::new();
    let mut day = (t - span).date();
    while day <= t.date() {
        let found = query_all(
            &state.tables,
            WINDOWS_TABLE,
            &Filter::partition(&format_date(day)),
            5000,
        )
        .await?;
        rows.extend(
            found
                .iter()
                .filter_map(|s| WindowRow::from_entity(&s.entity)),
        );
        day = match day.next_day() {
            Some(d) => d,
            None => break,
        };
    }
    Ok(rows)
}
