//! A row recorded again as a quarter hour turns (a redelivered event, a second instance) lands in
//! two buckets; it is sent once, its last version, whether the buckets are open or closed when the
//! drain comes, and over any order of writes, clock moves and drains.

use std::collections::BTreeMap;
use std::time::Duration as StdDuration;

use proptest::prelude::*;
use time::Duration;

use super::{Rig, STREAM, fake, review, rig};
use crate::export::outbox;

/// Records review `i` with comment `v` (its version).
async fn record(r: &Rig, i: usize, v: &str) {
    let mut row = review(i, 0);
    row.comment = v.to_owned();
    r.ports.outbox.record(&row).await.expect("recorded");
}

/// Per review id, the comments the fake accepted, in order.
fn received(r: &Rig) -> BTreeMap<String, Vec<String>> {
    let mut out: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for a in r.fake.accepted().into_iter().filter(|a| a.stream == STREAM) {
        let s = |k: &str| a.record[k].as_str().expect(k).to_owned();
        out.entry(s("ReviewId")).or_default().push(s("Comment"));
    }
    out
}

/// Fifty reviews recorded a second before 09:15 and again (half of them changed) a second after,
/// ten more after only: two buckets. Drained while both are open, or once both are closed, each
/// review arrives once, with its last comment, and nothing waits.
#[tokio::test]
async fn a_row_recorded_on_both_sides_of_a_quarter_hour_is_sent_once_its_last_version() {
    for settled in [false, true] {
        let r = rig(fake()).await;
        r.clock.advance(Duration::seconds(14 * 60 + 59));
        for i in 0..50 {
            record(&r, i, "first").await;
        }
        r.clock.advance(Duration::seconds(2));
        for i in 0..60 {
            record(
                &r,
                i,
                if i.is_multiple_of(2) {
                    "second"
                } else {
                    "first"
                },
            )
            .await;
        }
        assert_eq!(r.buckets().await.len(), 2, "the quarter hour turned");
        if settled {
            r.clock.advance(Duration::hours(1));
        }
        let report = r.drain("a", StdDuration::from_secs(30)).await;
        assert_eq!(report.error, None, "{report:?}");
        assert_eq!(report.superseded, 50, "settled {settled}: {report:?}");
        let got = received(&r);
        assert_eq!(got.len(), 60, "settled {settled}");
        let order = r.fake.ids(STREAM);
        let mut sorted = order.clone();
        sorted.sort();
        assert_eq!(order, sorted, "settled {settled}: in time order");
        for (id, comments) in &got {
            let i: usize = id.trim_start_matches("r-").parse().expect("id");
            let last = if i.is_multiple_of(2) {
                "second"
            } else {
                "first"
            };
            assert_eq!(
                comments,
                &[last],
                "settled {settled}: {id} once, its last version"
            );
        }
        assert_eq!(r.waiting().await, 0, "settled {settled}");
        // Nothing left to send later either (a superseded row of an open bucket is removed).
        r.clock.advance(Duration::hours(1));
        let again = r.drain("a", StdDuration::from_secs(30)).await;
        assert_eq!(again.calls, 0, "settled {settled}: {again:?}");
        assert!(r.buckets().await.is_empty(), "settled {settled}");
        assert_eq!(received(&r), got);
    }
}

/// One step of a schedule.
#[derive(Debug, Clone)]
enum Step {
    /// Record review `id` at version `v`.
    Record(usize, u8),
    /// Move the clock on.
    Wait(i64),
    /// One drain run (no fault, time enough).
    Drain,
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        4 => (0..8usize, 0..4u8).prop_map(|(i, v)| Step::Record(i, v)),
        3 => (1..420i64).prop_map(Step::Wait),
        1 => Just(Step::Drain),
    ]
}

/// Runs `steps`, then waits an hour and drains: per id, the versions the model expects sent (one
/// per drain that found it recorded since it was last sent: its last version then) and those the
/// fake accepted.
async fn run(steps: &[Step]) -> (BTreeMap<String, Vec<String>>, BTreeMap<String, Vec<String>>) {
    let r = rig(fake()).await;
    let mut want: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut waiting: BTreeMap<usize, u8> = BTreeMap::new();
    let drain = |waiting: &mut BTreeMap<usize, u8>, want: &mut BTreeMap<String, Vec<String>>| {
        for (i, v) in std::mem::take(waiting) {
            want.entry(format!("r-{i:05}"))
                .or_default()
                .push(format!("v{v}"));
        }
    };
    for s in steps.iter().chain([&Step::Wait(3600), &Step::Drain]) {
        match s {
            Step::Record(i, v) => {
                record(&r, *i, &format!("v{v}")).await;
                waiting.insert(*i, *v);
            }
            Step::Wait(secs) => r.clock.advance(Duration::seconds(*secs)),
            Step::Drain => {
                let report = r.drain("a", StdDuration::from_secs(30)).await;
                assert_eq!(report.error, None, "{report:?}");
                drain(&mut waiting, &mut want);
            }
        }
    }
    assert_eq!(r.waiting().await, 0);
    let t = r.ports.tables.as_ref();
    assert!(
        outbox::recorded(t, crate::export::Table::Reviews)
            .await
            .expect("rows")
            .is_empty()
    );
    (want, received(&r))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    /// Over any order of writes, clock moves (across quarter hours, open and closed buckets) and
    /// drains, each drain sends each row recorded since its last send once, its last version.
    #[test]
    fn each_drain_sends_each_row_recorded_since_once_its_last_version(
        steps in proptest::collection::vec(step(), 1..40)
    ) {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        let (want, got) = rt.block_on(run(&steps));
        prop_assert_eq!(got, want);
    }
}
