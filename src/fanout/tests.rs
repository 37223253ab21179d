use time::macros::datetime;
use time::{Duration, OffsetDateTime};

use super::store::{self, Ending, Passed, TERM, state};
use super::*;
use crate::tables::{TableStore, WriteMode};
use crate::testkit::tables::intercept::CountingTables;
use crate::testkit::tables::memory::InMemoryTables;

const T: OffsetDateTime = datetime!(2026-11-25 12:05:00.250 UTC);

fn hosts(n: usize) -> Vec<String> {
    (0..n).map(|i| format!("/subscriptions/s/b{i}")).collect()
}

/// [`super::plan`] with no unit left out unchanged.
async fn plan(
    t: &dyn TableStore,
    timer: &str,
    units: &[String],
    at: OffsetDateTime,
    now: OffsetDateTime,
) -> Result<Plan, AzureError> {
    let ledger = store::ledger(t, timer).await?;
    super::plan(t, (timer, ledger), units, 0, at, now).await
}

#[tokio::test]
async fn the_units_left_out_unchanged_are_counted_with_the_period() {
    let t = InMemoryTables::new();
    let ledger = store::ledger(&t, "AuditLogTail").await.expect("rows");
    super::plan(&t, ("AuditLogTail", ledger), &hosts(2), 3, T, T)
        .await
        .expect("plan");
    let p = stats::of_timer(&t, "AuditLogTail", T).await.expect("stats");
    assert_eq!((p.planned, p.unchanged, p.skipped_running), (2, 3, 0));
    assert_eq!(p.to_json()["unchanged"], 3);
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
    // Once they ended, the next period plans again, with stable ids per (timer, unit, period).
    for u in &first.units {
        ended(&t, u, &end(state::DONE, 0)).await;
    }
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

fn end(state: &'static str, failed_periods: u32) -> Ending {
    Ending {
        state,
        error: String::new(),
        quiet: state == state::DONE,
        failed_periods,
        scope: String::new(),
    }
}

async fn ended(t: &InMemoryTables, u: &Unit, e: &Ending) {
    t.write(store::WORK_TABLE, &store::ending(u, e), WriteMode::Upsert)
        .await
        .expect("ending");
}

#[tokio::test]
async fn a_unit_not_ended_is_not_planned_again_and_a_redelivery_of_a_done_one_runs_nothing() {
    let t = InMemoryTables::new();
    let two = ["h1".to_owned(), "h2".to_owned()];
    let first = plan(&t, "LiveSessions", &two, T, T).await.expect("plan");
    let [h1, h2] = [&first.units[0], &first.units[1]];
    ended(&t, h2, &end(state::DONE, 0)).await;
    // h1 is still queued or running: the next period plans h2 alone, carrying its quiet ending.
    let next_at = T + Duration::minutes(5);
    let next = plan(&t, "LiveSessions", &two, next_at, next_at)
        .await
        .expect("plan");
    assert_eq!(next.running, ["h1"]);
    assert_eq!(next.units.len(), 1);
    assert!(next.units[0].quiet && next.units[0].unit == "h2");
    // h1's message delivered again: its row does not say done, so it runs and ends.
    assert_eq!(store::passed(&t, h1).await.expect("passed"), None);
    ended(&t, h1, &end(state::DONE, 0)).await;
    // Delivered once more after that (its delete lost): done already.
    let again = store::passed(&t, h1).await.expect("passed");
    assert_eq!(again, Some(Passed::Done));
    // Past its term, a unit whose message was lost is planned again; the old message then finds
    // its unit superseded.
    let late = next_at + TERM;
    let lost = plan(&t, "LiveSessions", &two, late, late + Duration::minutes(1));
    let lost = lost.await.expect("plan");
    assert_eq!(lost.units.len(), 2, "h2 not ended, past its term: {lost:?}");
    let stale = store::passed(&t, &next.units[0]).await.expect("passed");
    assert_eq!(
        stale,
        Some(Passed::Superseded(lost.units[0].period.clone()))
    );
}

#[tokio::test]
async fn an_instances_endings_ending_together_share_one_transaction() {
    let t = CountingTables::new(InMemoryTables::new());
    let units: Vec<Unit> = (hosts(40).iter())
        .map(|h| Unit::new("LiveSessions", h, T))
        .collect();
    let endings = endings::Endings::default();
    let writes = (units.iter()).map(|u| endings.write(&t, store::ending(u, &end(state::DONE, 0))));
    for r in futures::future::join_all(writes).await {
        r.expect("written");
    }
    let calls = t.count(Some(store::WORK_TABLE), None);
    // The first ending goes alone (and creates the table); the others wait and go together.
    assert!(calls <= 4, "{calls} calls for 40 endings");
    let s = stats::of_timer(&t, "LiveSessions", T).await.expect("stats");
    let rows = store::units(&t, "LiveSessions").await.expect("rows");
    assert_eq!(rows.len(), 40);
    assert!(
        rows.values()
            .all(|r| store::carried(&r.entity) == (true, 0)),
        "{s:?}"
    );
}

#[tokio::test]
async fn a_claim_waits_for_no_linger_and_takes_the_waiting_endings_along() {
    let t = CountingTables::new(InMemoryTables::new());
    let p = plan(&t, "LiveSessions", &hosts(3), T, T)
        .await
        .expect("plan");
    let before = t.count(Some(store::WORK_TABLE), None);
    let endings = endings::Endings::default();
    // Two units end (their write lingers for others), then a third unit starts.
    let ends =
        (p.units[..2].iter()).map(|u| endings.write(&t, store::ending(u, &end(state::DONE, 0))));
    let claim = async {
        tokio::task::yield_now().await;
        let start = std::time::Instant::now();
        let claimed = endings.claim(&t, store::claim(&p.units[2])).await;
        (claimed, start.elapsed())
    };
    let started = std::time::Instant::now();
    let (ended, (claimed, took)) = tokio::join!(futures::future::join_all(ends), claim);
    claimed.expect("claimed");
    assert!(took < endings::LINGER, "the claim waited {took:?}");
    assert!(ended.iter().all(Result::is_ok), "{ended:?}");
    assert!(
        started.elapsed() < endings::LINGER,
        "the endings' wait is cut short"
    );
    let calls = t.count(Some(store::WORK_TABLE), None) - before;
    assert_eq!(calls, 1, "the claim and the two endings in one transaction");
    let s = stats::of_timer(&t, "LiveSessions", T).await.expect("stats");
    assert_eq!((s.done, s.running), (2, 1));
}

#[tokio::test]
async fn a_refused_claim_is_superseded_by_a_later_period_or_claimed_by_another_copy() {
    let t = InMemoryTables::new();
    let early = plan(&t, "LiveSessions", &hosts(1), T, T)
        .await
        .expect("plan");
    // Two ticks racing: the later period plans the unit again before the earlier one's runs.
    let at = T + TERM;
    let later = plan(&t, "LiveSessions", &hosts(1), at, at)
        .await
        .expect("plan");
    let endings = endings::Endings::default();
    let stale = endings.claim(&t, store::claim(&early.units[0])).await;
    assert!(
        matches!(stale, Err(crate::azure::AzureError::PreconditionFailed)),
        "{stale:?}"
    );
    let why = store::refused(&t, &early.units[0]).await.expect("read");
    assert_eq!(why, Passed::Superseded(later.units[0].period.clone()));
    assert_ne!(later.units[0].period, early.units[0].period);
    // The later period's message put twice: the second copy finds it claimed.
    endings
        .claim(&t, store::claim(&later.units[0]))
        .await
        .expect("claimed");
    let copy = endings.claim(&t, store::claim(&later.units[0])).await;
    assert!(
        matches!(copy, Err(crate::azure::AzureError::PreconditionFailed)),
        "{copy:?}"
    );
    let why = store::refused(&t, &later.units[0]).await.expect("read");
    assert_eq!(why, Passed::Claimed);
}

#[tokio::test]
async fn the_health_counts_a_period_and_names_a_poisoned_unit_once_with_its_periods() {
    let t = InMemoryTables::new();
    let p = plan(&t, "LiveSessions", &hosts(4), T, T)
        .await
        .expect("plan");
    let now = T + Duration::seconds(5);
    let [a, b, c, d] = [&p.units[0], &p.units[1], &p.units[2], &p.units[3]];
    ended(&t, a, &end(state::DONE, 0)).await;
    ended(&t, b, &end(state::POISONED, 1)).await;
    let paused = Ending {
        scope: "s/microsoft.network".into(),
        ..end(state::DEFERRED, 0)
    };
    ended(&t, d, &paused).await;
    let s = stats::of_timer(&t, "LiveSessions", now)
        .await
        .expect("stats");
    assert_eq!((s.planned, s.done, s.failed), (4, 1, 1));
    assert_eq!(
        (s.queued, s.running),
        (1, 0),
        "c planned, not claimed: queued"
    );
    // A delivery claims c: running. A second copy of its message finds the row changed.
    let claimed = store::write_some(&t, &[store::claim(c)]).await;
    assert!(claimed[0].is_ok(), "{claimed:?}");
    let again = store::write_some(&t, &[store::claim(c)]).await;
    assert!(
        matches!(again[0], Err(crate::azure::AzureError::PreconditionFailed)),
        "{again:?}"
    );
    let s = stats::of_timer(&t, "LiveSessions", now)
        .await
        .expect("stats");
    assert_eq!((s.queued, s.running), (0, 1));
    assert_eq!(s.deferred, [(d.unit.clone(), "s/microsoft.network".into())]);
    assert_eq!(s.poisoned, [(b.unit.clone(), 1)]);
    // Past their term, units not ended no longer count as queued or running.
    let later = stats::of_timer(&t, "LiveSessions", now + TERM)
        .await
        .expect("stats");
    assert_eq!(later.running, 0);
    // Planned again and poisoned again: named once, with its two periods running.
    let at = T + Duration::minutes(5);
    let next = plan(&t, "LiveSessions", &hosts(4), at, at + TERM)
        .await
        .expect("plan");
    let b2 = next
        .units
        .iter()
        .find(|u| u.unit == b.unit)
        .expect("b planned again");
    assert_eq!(b2.failed_periods, 1);
    let planned = stats::of_timer(&t, "LiveSessions", at)
        .await
        .expect("stats");
    assert_eq!(
        planned.poisoned,
        [(b.unit.clone(), 1)],
        "still named while planned"
    );
    ended(&t, b2, &end(state::POISONED, 2)).await;
    let (doc, named) = stats::report(&t, &["LiveSessions"], at)
        .await
        .expect("report");
    assert_eq!(
        named,
        [format!("LiveSessions: {}, 2 periods running", b.unit)]
    );
    assert_eq!(doc["LiveSessions"]["poisonedPeriods"][&b.unit], 2);
    // Done the period after: no longer named.
    ended(&t, b2, &end(state::DONE, 0)).await;
    let s = stats::of_timer(&t, "LiveSessions", at)
        .await
        .expect("stats");
    assert!(s.poisoned.is_empty(), "{s:?}");
}

#[tokio::test]
async fn a_period_of_units_that_ended_is_recorded_by_one_transaction_writing_no_unit_row() {
    let t = CountingTables::new(InMemoryTables::new());
    let many = hosts(250);
    let first = plan(&t, "LiveSessions", &many, T, T).await.expect("plan");
    for u in &first.units {
        ended(t.inner(), u, &end(state::DONE, 0)).await;
    }
    let rows = store::units(&t, "LiveSessions").await.expect("rows");
    t.reset();
    let at = T + Duration::minutes(1);
    let next = plan(&t, "LiveSessions", &many, at, at).await.expect("plan");
    assert_eq!(next.units.len(), 250);
    // The unit rows and the planning rows read (a query each), the period recorded.
    let by = |op| t.count(Some(store::WORK_TABLE), Some(op));
    assert_eq!((by("query"), by("batch"), t.total()), (2, 1, 3));
    let after = store::units(&t, "LiveSessions").await.expect("rows");
    assert_eq!(after, rows, "no unit row written");
    // Each message claims its row as it was read: once.
    for u in &next.units {
        assert_eq!(u.etag, rows[&u.unit].etag);
    }
    let claims: Vec<_> = next.units.iter().take(2).map(store::claim).collect();
    assert!(
        store::write_some(&t, &claims)
            .await
            .iter()
            .all(Result::is_ok)
    );
    let again = store::write_some(&t, &claims[..1]).await;
    assert!(
        matches!(again[0], Err(crate::azure::AzureError::PreconditionFailed)),
        "{again:?}"
    );
}

#[tokio::test]
async fn a_unit_planned_whose_message_is_not_claimed_yet_is_not_planned_again_within_its_term() {
    let t = InMemoryTables::new();
    let two = ["h1".to_owned(), "h2".to_owned()];
    let first = plan(&t, "LiveSessions", &two, T, T).await.expect("plan");
    for u in &first.units {
        ended(&t, u, &end(state::DONE, 0)).await;
    }
    // The next period plans both; h2 is claimed and ends, h1's message waits in the queue.
    let at = T + Duration::minutes(1);
    let next = plan(&t, "LiveSessions", &two, at, at).await.expect("plan");
    let h2 = next.units.iter().find(|u| u.unit == "h2").expect("h2");
    store::write_some(&t, &[store::claim(h2)]).await[0]
        .as_ref()
        .expect("claimed");
    ended(&t, h2, &end(state::DONE, 0)).await;
    let s = stats::of_timer(&t, "LiveSessions", at)
        .await
        .expect("stats");
    assert_eq!((s.planned, s.queued, s.done), (2, 1, 1), "h1 queued: {s:?}");
    let later = at + Duration::minutes(1);
    let third = plan(&t, "LiveSessions", &two, later, later)
        .await
        .expect("plan");
    assert_eq!(third.running, ["h1"], "{third:?}");
    assert_eq!(third.units.len(), 1);
    // Past its term its message counts as lost: h1 is planned again, its row written, so the
    // old message, delivered late after all, finds its unit superseded.
    let past = at + TERM;
    let fourth = plan(&t, "LiveSessions", &two, past, past)
        .await
        .expect("plan");
    let h1 = fourth.units.iter().find(|u| u.unit == "h1").expect("h1");
    let old = next.units.iter().find(|u| u.unit == "h1").expect("h1");
    assert_ne!(h1.etag, old.etag);
    let stale = store::passed(&t, old).await.expect("passed");
    assert_eq!(stale, Some(Passed::Superseded(h1.period.clone())));
}

#[tokio::test]
async fn planning_rows_past_their_term_leave_with_the_next_periods() {
    let t = InMemoryTables::new();
    let one = hosts(1);
    for minute in 0..15 {
        let at = T + Duration::minutes(minute);
        let p = plan(&t, "Reconcile", &one, at, at).await.expect("plan");
        for u in &p.units {
            ended(&t, u, &end(state::DONE, 0)).await;
        }
    }
    let ledger = store::ledger(&t, "Reconcile").await.expect("rows");
    let periods: Vec<i64> = (ledger.plans.iter())
        .filter_map(|r| {
            crate::tables::get_str(&r.entity, "PlannedAt").and_then(crate::dates::timestamp)
        })
        .map(|at| (at - T).whole_minutes())
        .collect();
    // Recorded at minute 14: those of minutes 5 and later were within its term.
    assert_eq!(periods, (5..15).collect::<Vec<_>>());
    let s = stats::of_timer(&t, "Reconcile", T + Duration::minutes(14))
        .await
        .expect("stats");
    assert_eq!((s.planned, s.done), (1, 1));
}

/// Two ticks of adjacent periods racing, in every order of their reads and records and either
/// period reading first: each unit is planned by one of them (a settled unit, and a new one),
/// every message's claim goes through, and once the units ended the next tick plans them all:
/// none looks pending for a plan whose claim was refused.
#[tokio::test]
async fn racing_ticks_plan_each_unit_once_in_every_interleaving() {
    // 0: A reads its rows, 1: A records, 2: B reads, 3: B records (each reads before it records).
    let orders = [
        [0, 1, 2, 3],
        [0, 2, 1, 3],
        [0, 2, 3, 1],
        [2, 0, 1, 3],
        [2, 0, 3, 1],
        [2, 3, 0, 1],
    ];
    let all = hosts(3);
    for order in orders {
        for at in [[1, 2], [2, 1]].map(|m| m.map(|m| T + Duration::minutes(m))) {
            let t = InMemoryTables::new();
            let first = plan(&t, "AuditLogTail", &all[..2], T, T)
                .await
                .expect("plan");
            for u in &first.units {
                ended(&t, u, &end(state::DONE, 0)).await;
            }
            let now = T + Duration::minutes(2);
            let mut ledgers = [None, None];
            let mut plans = [None, None];
            for step in order {
                let who = step / 2;
                if step % 2 == 0 {
                    let read = store::ledger(&t, "AuditLogTail").await.expect("rows");
                    ledgers[who] = Some(read);
                } else {
                    let ledger = ledgers[who].take().expect("read first");
                    let p = super::plan(&t, ("AuditLogTail", ledger), &all, 0, at[who], now);
                    plans[who] = Some(p.await.expect("plan"));
                }
            }
            let sent: Vec<&Unit> = plans.iter().flatten().flat_map(|p| &p.units).collect();
            let mut names: Vec<&str> = sent.iter().map(|u| u.unit.as_str()).collect();
            names.sort_unstable();
            assert_eq!(names, all, "{order:?} {at:?}: {plans:?}");
            for u in sent.iter().rev() {
                let claimed = store::write_some(&t, &[store::claim(u)]).await;
                assert!(claimed[0].is_ok(), "{order:?} {at:?} {}", u.unit);
                ended(&t, u, &end(state::DONE, 0)).await;
            }
            let later = T + Duration::minutes(3);
            let next = plan(&t, "AuditLogTail", &all, later, later).await;
            let next = next.expect("plan");
            assert_eq!(
                (next.units.len(), next.running.len()),
                (3, 0),
                "{order:?} {at:?}: {next:?}"
            );
        }
    }
}
