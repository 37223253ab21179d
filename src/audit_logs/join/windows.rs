//! Index rows (`sessionwindows`) around a recording: candidates for heuristic matching, and the
//! rows a match marks as recorded.

use time::Duration;

use super::super::correlate::Match;
use super::super::repo::{self, WINDOWS_TABLE, WindowRow, query_all};
use super::super::sessions::SessionRecord;
use crate::app::AppState;
use crate::catalogue::model::CatalogueEntry;
use crate::retention::policy::format_date;
use crate::tables::{Filter, TableError};

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

pub(super) async fn matched_windows(
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
