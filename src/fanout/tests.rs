use time::macros::datetime;
use time::{Duration, OffsetDateTime};

use super::store::{self, Passed, state};
use super::*;
use crate::tables::testing::memory::InMemoryTables;

const T: OffsetDateTime = datetime!(2026-11-25 12:05:00.250 UTC);

fn hosts(n: usize) -> Vec<String> {
    (0..n).map(|i| format!("/subscriptions/s/b{i}")).collect()
}

#[tokio::test]
async fn a_period_is_planned_once_whatever_ticks_and_instances_plan_it() {
    let t = InMemoryTables::new();
    let first = plan(&t, "LiveSessions", &hosts(3), T, T)
        .await
        .expect("plan");
    assert_eq!(first.units.len(), 3);
    assert!(!first.duplicate);
    // The same tick, a second later on another instance: the same period, nothing sent.
    let again = plan(&t, "LiveSessions", &hosts(3), T + Duration::seconds(1), T)
        .await
        .expect("plan");
    assert!(again.duplicate && again.units.is_empty(), "{again:?}");
    // Another timer's period is its own.
    let other = plan(&t, "EstateCheck", &hosts(3), T, T)
        .await
        .expect("plan");
    assert_eq!(other.units.len(), 3);
    // The next period plans again, with stable ids per (timer, unit, period).
    let next = plan(&t, "LiveSessions", &hosts(3), T + Duration::minutes(5), T)
        .await
        .expect("plan");
    assert_eq!(next.units.len(), 3);
    assert_ne!(next.units[0].unit_id, first.units[0].unit_id);
    assert_eq!(
        first.units[0].unit_id,
        Unit::new("LiveSessions", &hosts(1)[0], T + Duration::seconds(30)).unit_id
    );
}

#[tokio::test]
async fn a_unit_runs_once_a_period_and_a_dead_claim_is_taken_over_by_its_redelivery() {
    let t = InMemoryTables::new();
    let u = Unit::new("LiveSessions", "h1", T);
    let term = Duration::minutes(10);
    let mine = store::claim(&t, &u, 1, T, term).await.expect("claim");
    let mine = mine.expect("free");
    // A duplicate first delivery meanwhile: another instance runs it.
    let dup = store::claim(&t, &u, 1, T, term).await.expect("claim");
    assert_eq!(dup.err(), Some(Passed::RunningElsewhere));
    // The next period is not planned while it runs.
    let next = plan(
        &t,
        "LiveSessions",
        &["h1".into(), "h2".into()],
        T + Duration::minutes(5),
        T,
    )
    .await
    .expect("plan");
    assert_eq!(next.running, ["h1"]);
    assert_eq!(next.units.len(), 1);
    // Its instance dies: the redelivery (dequeue 2) takes the claim over and finishes it.
    let again = store::claim(&t, &u, 2, T + Duration::seconds(40), term)
        .await
        .expect("claim")
        .expect("taken over");
    store::finish(&t, again, state::DONE, "", T + Duration::minutes(1))
        .await
        .expect("finish");
    // The dead claim's late ending changes nothing.
    store::finish(&t, mine, state::FAILED, "x", T + Duration::minutes(2))
        .await
        .expect("finish");
    let done = store::claim(&t, &u, 3, T + Duration::minutes(2), term).await;
    assert_eq!(done.expect("claim").err(), Some(Passed::Done));
    let p = stats::of_timer(&t, "LiveSessions", T + Duration::minutes(2))
        .await
        .expect("stats");
    assert_eq!(p.period.as_deref(), Some("2026-11-25T12:10:00.000Z"));
    assert_eq!((p.planned, p.skipped_running), (1, 1));
    // An older period's message after a newer one ran is superseded.
    let newer = Unit::new("LiveSessions", "h1", T + Duration::minutes(5));
    let c = store::claim(&t, &newer, 1, T + Duration::minutes(6), term)
        .await
        .expect("claim")
        .expect("free");
    store::finish(&t, c, state::DONE, "", T + Duration::minutes(6))
        .await
        .expect("finish");
    let late = store::claim(&t, &u, 4, T + Duration::minutes(7), term).await;
    assert_eq!(late.expect("claim").err(), Some(Passed::Superseded));
}

#[tokio::test]
async fn the_health_counts_a_period_and_names_a_poisoned_unit() {
    let t = InMemoryTables::new();
    let p = plan(&t, "LiveSessions", &hosts(3), T, T)
        .await
        .expect("plan");
    let now = T + Duration::seconds(5);
    let term = Duration::minutes(10);
    let [a, b, c] = [&p.units[0], &p.units[1], &p.units[2]];
    let ca = store::claim(&t, a, 1, now, term)
        .await
        .expect("claim")
        .expect("a");
    store::finish(&t, ca, state::DONE, "", now)
        .await
        .expect("done");
    let cb = store::claim(&t, b, 5, now, term)
        .await
        .expect("claim")
        .expect("b");
    store::finish(&t, cb, state::POISONED, "403", now)
        .await
        .expect("poisoned");
    let _running = store::claim(&t, c, 1, now, term)
        .await
        .expect("claim")
        .expect("c");
    let s = stats::of_timer(&t, "LiveSessions", now)
        .await
        .expect("stats");
    assert_eq!((s.planned, s.done, s.failed, s.running), (3, 1, 1, 1));
    assert_eq!(s.poisoned, vec![b.unit.as_str()]);
    // Its term over, a dead claim no longer counts as running.
    let later = stats::of_timer(&t, "LiveSessions", now + term)
        .await
        .expect("stats");
    assert_eq!(later.running, 0);
}
