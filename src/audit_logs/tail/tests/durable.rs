//! Durability of derived state: a failed burst check is retried without new records, and a
//! session whose start day moves back takes its `sessionwindows` row (and join state and review) along.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use super::bursts;

use crate::audit_logs::detect::failed::{MARKER, UNCHECKED};
use crate::audit_logs::repo::FAILED_TABLE;
use crate::azure::AzureError;
use crate::catalogue::days::{Before, put as put_day};
use crate::catalogue::days::{DAYS_TABLE, DayRow};
use crate::tables::Filter;
use crate::tables::ops::{get, query_all};
use crate::testkit::audit::{Kit, NOW, line};
use crate::testkit::tables::intercept::{BeforeTableCall, Intercepted, TableCall};
use crate::testkit::tail::{connected, failed_logins, run, started};

/// Makes burst-marker writes fail transiently while `down` is set.
struct FlakyMarkers {
    down: AtomicBool,
}

#[async_trait::async_trait]
impl BeforeTableCall for FlakyMarkers {
    async fn before(&self, call: TableCall<'_>) -> Result<(), AzureError> {
        let marker = matches!(call, TableCall::Write(_, _, e)
            if e.get("RowKey").and_then(|v| v.as_str()) == Some(MARKER));
        if marker && self.down.load(Ordering::SeqCst) {
            return Err(AzureError::Transient("HTTP 503: busy".into()));
        }
        Ok(())
    }
}

#[tokio::test]
async fn a_failed_burst_check_is_retried_next_tick_without_new_records() {
    let mut k = started().await;
    let flaky = Arc::new(Intercepted::with(
        k.state.ports.tables.clone(),
        FlakyMarkers {
            down: AtomicBool::new(true),
        },
    ));
    k.state.ports.tables = flaky.clone();
    let text = failed_logins(6);
    k.append(text.as_bytes()).await;
    let r = run(&k, NOW).await;
    assert_eq!(
        (r.records, bursts(&r)),
        (6, 0),
        "the check failed transiently"
    );
    let unchecked = Filter::partition(UNCHECKED);
    let listed = query_all(&*k.state.ports.tables, FAILED_TABLE, &unchecked, 10).await;
    assert_eq!(
        listed.expect("unchecked").len(),
        2,
        "both partitions kept unchecked"
    );
    assert_eq!(bursts(&run(&k, NOW).await), 0, "still down");
    flaky.hook().down.store(false, Ordering::SeqCst);
    let r = run(&k, NOW).await;
    assert_eq!(
        (r.records, bursts(&r)),
        (0, 2),
        "retried with no new record"
    );
    let listed = query_all(&*k.state.ports.tables, FAILED_TABLE, &unchecked, 10).await;
    assert!(listed.expect("unchecked").is_empty(), "settled");
    assert_eq!(bursts(&run(&k, NOW).await), 0, "once");
}

async fn day_rows(k: &Kit, day: &str) -> Vec<DayRow> {
    query_all(
        &*k.state.ports.tables,
        DAYS_TABLE,
        &Filter::partition(day),
        100,
    )
    .await
    .expect("query")
    .iter()
    .filter_map(|s| DayRow::from_entity(&s.entity))
    .collect()
}

#[tokio::test]
async fn an_earlier_start_moves_the_day_row_with_its_join_state() {
    let k = started().await;
    let t = "0a0a0a0a-0000-4000-8000-00000000000a";
    k.append(connected(t, "2025-03-14T00:10:00Z").as_bytes())
        .await;
    run(&k, NOW).await;
    let rows = day_rows(&k, "2025-03-14").await;
    assert_eq!(rows.len(), 1, "{rows:?}");
    // A recording that names the session, joined by the next tick.
    let key = k
        .recording(
            &format!("rec-{t}"),
            time::macros::datetime!(2025-03-14 00:20 UTC),
            &[],
        )
        .await;
    run(&k, NOW).await;
    assert!(day_rows(&k, "2025-03-14").await[0].recorded);
    // Reviewed: the review the row carries moves with it.
    let review = crate::catalogue::days::ReviewMark {
        id: "r-1".into(),
        verdict: "ok".into(),
        reviewer: "auditor@contoso.com".into(),
        at: NOW,
    };
    crate::catalogue::days::put_review(
        k.state.ports.tables.as_ref(),
        &k.state.ports.outbox,
        "2025-03-14",
        t,
        &review,
        NOW,
    )
    .await
    .expect("reviewed");
    let extra =
        r#","sessionStartTime":"2025-03-13T23:55:00Z","sessionEndTime":"2025-03-14T00:30:00Z""#;
    let ended = line(
        t,
        "2025-03-14T00:30:00Z",
        "Session Ended",
        "VM1",
        "u",
        extra,
    );
    k.append(ended.as_bytes()).await;
    run(&k, NOW).await;
    assert!(
        day_rows(&k, "2025-03-14").await.is_empty(),
        "old day row removed"
    );
    let moved = day_rows(&k, "2025-03-13").await;
    assert_eq!(moved.len(), 1, "{moved:?}");
    assert!(
        moved[0].recorded && moved[0].recording_ids == [key.id()],
        "{moved:?}"
    );
    assert_eq!(moved[0].start.day(), 13);
    assert_eq!(moved[0].review.as_ref(), Some(&review), "{moved:?}");
    assert!(moved[0].end.is_some() && moved[0].end_arrived_at.is_some());
    // A replay of the same move (e.g. after a crash before the offset was saved) changes nothing.
    let session = super::session(&k, t).await.expect("session");
    let before = get(&*k.state.ports.tables, DAYS_TABLE, "2025-03-13", t)
        .await
        .expect("get");
    put_day(
        k.state.ports.tables.as_ref(),
        &k.state.ports.outbox,
        &session,
        NOW,
        Before::Day(Some("2025-03-14")),
        None,
        None,
    )
    .await
    .expect("replay");
    let after = get(&*k.state.ports.tables, DAYS_TABLE, "2025-03-13", t)
        .await
        .expect("get");
    assert_eq!(before.map(|s| s.etag), after.map(|s| s.etag), "no rewrite");
    assert!(day_rows(&k, "2025-03-14").await.is_empty());
}
