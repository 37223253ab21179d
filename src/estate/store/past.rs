//! A door episode that opened and closed between two checks, recorded already closed on the
//! finding's row (ETag-conditionally, so of two instances one writes it): as the row's episode when
//! it is the newest and the row is not open, else among its earlier episodes ([`history`]).
//! Announced once (`estate.finding`, its `resolvedAt` set) at `medium` and above. An episode of
//! that finding on the host that opened within its span (a check saw the door open, or this
//! episode is recorded already) leaves the row as it is.

use time::OffsetDateTime;

use super::history::{self, Earlier};
use super::table::episode;
use crate::dates::{format_utc_millis, timestamp};
use crate::estate::findings::Finding;
use crate::tables::{Entity, Stored, get_str};

/// True when an episode of row `e` opened within `[from, until]`.
fn seen_within(e: &Entity, (from, until): (OffsetDateTime, OffsetDateTime)) -> bool {
    let within = |t: &str| timestamp(t).is_some_and(|t| from <= t && t <= until);
    get_str(e, "OpenedAt").is_some_and(within)
        || history::of(e).iter().any(|x| within(&x.opened_at))
}

/// The row after recording `f`, open over `span`, on `cur`: `None` when it is there already.
pub(super) fn with_past(
    cur: Option<&Stored>,
    host: &str,
    f: &Finding,
    span: (OffsetDateTime, OffsetDateTime),
    at: &str,
    me: &str,
) -> Option<Entity> {
    if cur.is_some_and(|c| seen_within(&c.entity, span)) {
        return None;
    }
    let (opened, closed) = (format_utc_millis(span.0), format_utc_millis(span.1));
    let newest = cur.is_none_or(|c| {
        get_str(&c.entity, "Status") != Some("open")
            && get_str(&c.entity, "OpenedAt").and_then(timestamp) < Some(span.0)
    });
    if !newest {
        let mut e = cur?.entity.clone();
        let earlier = Earlier {
            opened_at: opened,
            resolved_at: closed,
            severity: f.level.as_str().to_owned(),
            evidence: f.evidence.clone(),
        };
        e.insert(history::EARLIER.into(), history::with_earlier(&e, earlier)?);
        return Some(e);
    }
    let mut entity = episode(cur, host, f, &opened, at, me);
    entity.insert("Status".into(), "resolved".into());
    entity.insert("ResolvedAt".into(), closed.into());
    entity.insert("ResolvedBy".into(), me.into());
    Some(entity)
}

#[cfg(test)]
mod tests {
    use time::macros::datetime;

    use super::*;
    use crate::estate::findings::Level;
    use crate::estate::store::record_past as record;
    use crate::testkit::tables::memory::InMemoryTables;

    #[tokio::test]
    async fn a_closed_episode_is_recorded_and_announced_once_beside_the_open_one() {
        let tables = InMemoryTables::new();
        let vm =
            "/subscriptions/s/resourcegroups/g/providers/microsoft.compute/virtualmachines/vm1";
        let f = |e: &str| Finding {
            code: "door:network-path".into(),
            level: Level::Medium,
            evidence: e.into(),
        };
        let span = (
            datetime!(2026-11-25 10:00 UTC),
            datetime!(2026-11-25 10:05 UTC),
        );
        let now = datetime!(2026-11-25 10:15 UTC);
        let n = record(&tables, vm, &f("first by a@x"), span, now)
            .await
            .expect("recorded");
        assert_eq!(n.len(), 1);
        assert_eq!(n[0].evidence["resolvedAt"], "2026-11-25T10:05:00.000Z");
        // The next check sees the same rows: nothing again.
        let later = now + time::Duration::minutes(15);
        let again = record(&tables, vm, &f("first by a@x"), span, later).await;
        assert!(again.expect("read").is_empty());
        // An older one found later goes among the earlier episodes, announced once too.
        let older = (
            span.0 - time::Duration::hours(2),
            span.0 - time::Duration::hours(1),
        );
        assert_eq!(
            record(&tables, vm, &f("older"), older, now)
                .await
                .expect("ok")
                .len(),
            1
        );
        let rows = super::super::list(&tables).await.expect("rows").rows;
        assert_eq!(rows.len(), 1);
        assert_eq!(
            (rows[0].status.as_str(), rows[0].evidence.as_str()),
            ("resolved", "first by a@x")
        );
        assert_eq!(rows[0].earlier.len(), 1);
        assert_eq!(rows[0].earlier[0].evidence, "older");
        assert!(
            record(&tables, vm, &f("older"), older, now)
                .await
                .expect("ok")
                .is_empty()
        );
    }
}
