//! Lookups of the join: session rows by tunnel id, and the `sessionwindows` rows that can match
//! recordings created in a time range.

use time::{Duration, OffsetDateTime};

use super::Joiner;
use crate::audit_logs::correlate::SKEW;
use crate::audit_logs::repo::{SESSIONS_TABLE, WINDOWS_TABLE, WindowRow};
use crate::audit_logs::sessions::{SESSION_ROW, SessionRecord, outcome};
use crate::dates::days;
use crate::dates::{format_date, format_utc_millis};
use crate::tables::filter::Op;
use crate::tables::ops::query_all;
use crate::tables::{Filter, Stored, TableError, TableStore};

/// Most `sessionwindows` rows read per day partition.
const MAX_ROWS_PER_DAY: usize = 5000;

/// Reads a session row.
///
/// # Errors
/// Table errors.
pub async fn get_session(
    tables: &dyn TableStore,
    tunnel: &str,
) -> Result<Option<SessionRecord>, TableError> {
    let stored = crate::tables::ops::get(
        tables,
        SESSIONS_TABLE,
        &crate::audit_logs::sessions::tunnel_key(&tunnel.to_ascii_lowercase()),
        SESSION_ROW,
    )
    .await?;
    Ok(stored.and_then(|s| SessionRecord::from_entity(&s.entity)))
}

/// The filter, within one day partition, for the sessions whose window can contain a creation
/// time in `[from, to]` (see [`in_window`](crate::audit_logs::correlate::in_window)): connected,
/// started before `to` (+ skew), and ending (end + lag, or start + open max while the end is
/// unknown) at or after `from`. Times are stored as fixed-width RFC 3339 text, so the service
/// compares them in time order; an unknown end is stored as `""`. `upload_lag` and
/// `open_session_max` are the join's settings (`AUDIT_UPLOAD_LAG`, `AUDIT_OPEN_SESSION_MAX`).
pub fn window_filter(
    day: &str,
    from: OffsetDateTime,
    to: OffsetDateTime,
    upload_lag: Duration,
    open_session_max: Duration,
) -> Filter {
    WindowBounds::new(from, to, upload_lag, open_session_max).filter(day)
}

/// The time bounds of [`window_filter`] as stored text, formatted once for all the day partitions
/// of one lookup.
struct WindowBounds {
    start_max: String,
    end_min: String,
    open_start_min: String,
}

impl WindowBounds {
    fn new(
        from: OffsetDateTime,
        to: OffsetDateTime,
        upload_lag: Duration,
        open_session_max: Duration,
    ) -> Self {
        Self {
            start_max: format_utc_millis(to + SKEW),
            end_min: format_utc_millis(from - upload_lag),
            open_start_min: format_utc_millis(from - open_session_max),
        }
    }

    fn filter(&self, day: &str) -> Filter {
        Filter::And(vec![
            Filter::partition(day),
            Filter::str("Outcome", Op::Eq, outcome::CONNECTED),
            Filter::str("Start", Op::Le, &self.start_max),
            Filter::Or(vec![
                Filter::str("End", Op::Ge, &self.end_min),
                Filter::And(vec![
                    Filter::str("End", Op::Eq, ""),
                    Filter::str("Start", Op::Ge, &self.open_start_min),
                ]),
            ]),
        ])
    }
}

/// Index rows (with their ETags) of the sessions that may match a recording created between
/// `from` and `to`: the start days from `from - lookback` to `to`, one query per day.
pub(super) async fn windows_for(
    join: &Joiner,
    from: OffsetDateTime,
    to: OffsetDateTime,
) -> Result<Vec<(WindowRow, Stored)>, TableError> {
    windows_within(join, from, to, MAX_ROWS_PER_DAY).await
}

/// [`windows_for`] with at most `per_day` rows read per day partition.
pub(super) async fn windows_within(
    join: &Joiner,
    from: OffsetDateTime,
    to: OffsetDateTime,
    per_day: usize,
) -> Result<Vec<(WindowRow, Stored)>, TableError> {
    let mut rows = Vec::new();
    let bounds = WindowBounds::new(from, to, join.upload_lag, join.open_session_max);
    for day in days((from - join.lookback()).date(), to.date()) {
        let filter = bounds.filter(&format_date(day));
        let found = query_all(&join.ports.tables, WINDOWS_TABLE, &filter, per_day).await?;
        rows.extend(
            found
                .into_iter()
                .filter_map(|s| Some((WindowRow::from_entity(&s.entity)?, s))),
        );
    }
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use time::Duration;
    use time::macros::datetime;

    use super::*;
    use crate::audit_logs::correlate::in_window;
    use crate::tables::Entity;

    fn entity_of(start: OffsetDateTime, end: Option<OffsetDateTime>, outcome: &str) -> Entity {
        let t = format_utc_millis;
        serde_json::json!({
            "PartitionKey": "2025-03-14", "RowKey": "t", "Start": t(start),
            "End": end.map(t).unwrap_or_default(), "Outcome": outcome,
        })
        .as_object()
        .cloned()
        .expect("object")
    }

    /// The server-side filter keeps exactly the rows `in_window` can accept for some time in range.
    #[test]
    fn the_filter_keeps_every_row_that_can_match() {
        let ports = crate::testkit::ports(
            Arc::new(crate::storage::memory::InMemoryBlobStore::new("a")),
            Arc::new(crate::tables::memory::InMemoryTables::new()),
            Arc::new(crate::clock::SystemClock),
        );
        let join = Joiner {
            ports,
            policy: Arc::new(crate::retention::policy::Policy::builtin()),
            upload_lag: Duration::minutes(30),
            open_session_max: Duration::hours(12),
            session_wait: Duration::hours(2),
            tail_window: Duration::hours(48),
            gate: Arc::default(),
            deferred_index: None,
            windows: None,
            probe_keys: false,
        };
        let base = datetime!(2025-03-14 09:00 UTC);
        let (from, to) = (base, base + Duration::minutes(20));
        let mut kept = 0;
        for start_min in (-800..60).step_by(7) {
            for end in [None, Some(5), Some(40), Some(600)] {
                for out in [outcome::CONNECTED, outcome::LOGIN_FAILED] {
                    let start = base + Duration::minutes(start_min);
                    let end = end.map(|m| start + Duration::minutes(m));
                    let e = entity_of(start, end, out);
                    let row = WindowRow::from_entity(&e).expect("row");
                    let can = (0..=20).any(|m| {
                        in_window(
                            &row,
                            from + Duration::minutes(m),
                            join.upload_lag,
                            join.open_session_max,
                        )
                    });
                    let f = window_filter(
                        "2025-03-14",
                        from,
                        to,
                        join.upload_lag,
                        join.open_session_max,
                    );
                    assert_eq!(f.matches(&e), can, "{row:?}");
                    kept += usize::from(can);
                }
            }
        }
        assert!(kept > 10, "the grid covers matching rows too");
    }
}
