//! The one query the workspace source sends: the Bastion audit table over an `ingestion_time()`
//! slice, oldest first, one page at a time. Nothing from outside reaches the text but the slice
//! bounds (formatted here) and a Bastion name checked at start-up (`[a-z0-9._-]`).

use time::Duration;

use super::row::{INGESTED_AT, projected};
use crate::loganalytics::slice::{Slice, iso, ticks};

/// The workspace table Bastion's `BastionAuditLogs` category lands in.
pub const TABLE: &str = "MicrosoftAzureBastionAuditLogs";

pub use crate::loganalytics::ROW_CAP;

/// How far before its ingestion a record's `TimeGenerated` may lie and still be read (the
/// `timespan` filters on it).
pub const LATE_MAX: Duration = Duration::days(2);

/// The query of one page: rows ingested in `w`, oldest first, at most `take` (capped at [`ROW_CAP`]).
pub fn page(w: Slice, take: usize, bastion: Option<&str>) -> String {
    let take = take.clamp(1, ROW_CAP);
    let host = bastion
        .filter(|b| {
            b.bytes()
                .all(|c| c.is_ascii_alphanumeric() || b"._-".contains(&c))
        })
        .map(|b| format!("| where _ResourceId endswith \"/bastionhosts/{b}\"\n"))
        .unwrap_or_default();
    let columns: Vec<&str> = projected().collect();
    format!(
        "{TABLE}\n| where ingestion_time() >= datetime({}) and ingestion_time() < datetime({})\n{host}| extend {INGESTED_AT} = ingestion_time()\n| project {}\n| order by {INGESTED_AT} asc\n| take {take}",
        iso(w.lo),
        iso(w.hi),
        columns.join(", "),
    )
}

/// The request's `timespan` on `TimeGenerated`: the slice widened by [`LATE_MAX`] and an hour.
pub fn timespan(w: Slice) -> String {
    format!(
        "{}/{}",
        iso(w.lo.saturating_sub(ticks(LATE_MAX))),
        iso(w.hi.saturating_add(ticks(Duration::HOUR)))
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::loganalytics::slice::tick_of;

    #[test]
    fn bounds_are_sent_to_the_100ns() {
        let t = tick_of(time::macros::datetime!(2025-03-14 09:03:54.1234567 UTC));
        assert_eq!(iso(t), "2025-03-14T09:03:54.1234567Z");
        let q = page(Slice { lo: t, hi: t + 1 }, 10_001, Some("bas-hub-weu"));
        assert!(q.contains(
            "ingestion_time() >= datetime(2025-03-14T09:03:54.1234567Z) and ingestion_time() < datetime(2025-03-14T09:03:54.1234568Z)"
        ));
        assert!(q.ends_with("| take 10001"));
        assert!(q.contains("endswith \"/bastionhosts/bas-hub-weu\""));
    }

    #[test]
    fn a_host_name_that_could_break_the_query_is_left_out() {
        let q = page(Slice { lo: 0, hi: 1 }, 1, Some("x\" or 1==1"));
        assert!(!q.contains("endswith"));
    }

    #[test]
    fn the_timespan_covers_late_records() {
        let t = tick_of(time::macros::datetime!(2025-03-14 09:00:00 UTC));
        assert_eq!(
            timespan(Slice { lo: t, hi: t + 1 }),
            "2025-03-12T09:00:00.0000000Z/2025-03-14T10:00:00.0000001Z"
        );
    }
}
