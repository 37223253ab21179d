//! What a pass reads: recordings by creation time and by due time, recordings by the GUIDs they
//! name, and the `sessionwindows` rows that can match a range of creation times.

use time::{Duration, OffsetDateTime};

use super::{Join, Times};
use crate::azure::AzureError;
use crate::catalogue::days::{self as day_rows, DayRow, Span};
use crate::catalogue::recording::Recording;
use crate::catalogue::repo::{self, Versioned};
use crate::catalogue::session::outcome;
use crate::dates::{days, format_date, format_utc, format_utc_millis};
use crate::tables::filter::Op;
use crate::tables::{Filter, Stored};

/// Every catalogued recording created within `span`: one query over the range of creation days.
/// A row lives under its blob's creation day and records the event time, a moment later: the day
/// before is read too when the span starts within an hour of midnight.
///
/// # Errors
/// Table errors.
pub(super) async fn created_within(
    join: &Join,
    span: Span,
) -> Result<Vec<Versioned<Recording>>, AzureError> {
    let first = format_date((span.from - Duration::hours(1)).date());
    let filter = Filter::And(vec![
        Filter::str("PartitionKey", Op::Ge, first),
        Filter::str("PartitionKey", Op::Le, format_date(span.until.date())),
        Filter::str("BlobCreated", Op::Ge, format_utc(span.from)),
        Filter::str("BlobCreated", Op::Le, format_utc(span.until)),
    ]);
    recordings(join, &filter).await
}

/// The recordings created on `since_day` or later whose `JoinDue` lies in `(after, until]`: one
/// query over a range of partitions.
///
/// # Errors
/// Table errors.
pub(super) async fn due(
    join: &Join,
    since_day: &str,
    after: Option<OffsetDateTime>,
    until: OffsetDateTime,
) -> Result<Vec<Versioned<Recording>>, AzureError> {
    let mut all = vec![
        Filter::str("PartitionKey", Op::Ge, since_day),
        Filter::str("JoinDue", Op::Le, format_utc_millis(until)),
    ];
    all.push(match after {
        Some(a) => Filter::str("JoinDue", Op::Gt, format_utc_millis(a)),
        None => Filter::str("JoinDue", Op::Gt, ""),
    });
    recordings(join, &Filter::And(all)).await
}

async fn recordings(join: &Join, filter: &Filter) -> Result<Vec<Versioned<Recording>>, AzureError> {
    repo::versioned(join.ports.tables.as_ref(), filter, usize::MAX).await
}

/// The filter, within one day partition, for the sessions whose window can contain a creation
/// time in `[from, to]`: connected, started before `to` (+ skew), and ending (end + lag, or
/// start + open max while the end is unknown) at or after `from`. Times are stored as
/// fixed-width RFC 3339 text, so the service compares them in time order; an unknown end is `""`.
pub fn window_filter(t: &Times, day: &str, from: OffsetDateTime, to: OffsetDateTime) -> Filter {
    Filter::And(vec![
        Filter::partition(day),
        Filter::str("Outcome", Op::Eq, outcome::CONNECTED),
        Filter::str(
            "Start",
            Op::Le,
            format_utc_millis(to + super::correlate::SKEW),
        ),
        Filter::Or(vec![
            Filter::str("End", Op::Ge, format_utc_millis(from - t.lag)),
            Filter::And(vec![
                Filter::str("End", Op::Eq, ""),
                Filter::str("Start", Op::Ge, format_utc_millis(from - t.open_max)),
            ]),
        ]),
    ])
}

/// The day rows (with their ETags) of the sessions that may match a recording created between
/// `from` and `to`: the start days from `from - lookback` to `to`, one query per day.
///
/// # Errors
/// Table errors.
pub(super) async fn sessions_within(
    join: &Join,
    from: OffsetDateTime,
    to: OffsetDateTime,
) -> Result<Vec<(DayRow, Stored)>, AzureError> {
    let mut rows = Vec::new();
    for day in days((from - join.times.lookback()).date(), to.date()) {
        let filter = window_filter(&join.times, &format_date(day), from, to);
        rows.extend(day_rows::query(join.ports.tables.as_ref(), &filter, usize::MAX).await?);
    }
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use time::macros::datetime;

    use super::*;
    use crate::catalogue::session::SessionRecord;
    use crate::join::correlate::{Times, in_window};

    /// The server-side filter keeps exactly the rows `in_window` can accept for some time in range.
    #[test]
    fn the_filter_keeps_every_row_that_can_match() {
        let times = Times {
            lag: Duration::minutes(30),
            open_max: Duration::hours(12),
            wait: Duration::hours(2),
            vouch: Duration::hours(24),
        };
        let base = datetime!(2025-03-14 09:00 UTC);
        let (from, to) = (base, base + Duration::minutes(20));
        let mut kept = 0;
        for start_min in (-800..60).step_by(7) {
            for end in [None, Some(5), Some(40), Some(600)] {
                for out in [outcome::CONNECTED, outcome::LOGIN_FAILED] {
                    let mut s = SessionRecord::new("t");
                    s.session_start = Some(base + Duration::minutes(start_min));
                    s.session_end = end.map(|m| base + Duration::minutes(start_min + m));
                    s.outcome = out.into();
                    let row = DayRow::of(&s).expect("row");
                    let mut e = row.to_entity();
                    crate::tables::strip_annotations(&mut e);
                    let can =
                        (0..=20).any(|m| in_window(&row, from + Duration::minutes(m), &times));
                    let f = window_filter(&times, &row.day(), from, to);
                    assert_eq!(f.matches(&e), can, "{row:?}");
                    kept += usize::from(can);
                }
            }
        }
        assert!(kept > 10, "the grid covers matching rows too");
    }
}
