//! The controller over sequences of answers (the order matters: it lowers at once and recovers
//! one step per answer), the header parsing, and the gate holding requests back.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use proptest::prelude::*;
use reqwest::Method;

use super::*;

const MAX: usize = 16;
/// Throttle scopes: the Network provider, the Storage provider, and Network elsewhere.
const NET: &str = "s1/microsoft.network";
const STORAGE: &str = "s1/microsoft.storage";
const OTHER_NET: &str = "s2/microsoft.network";

/// One answer: a remaining count (or none) and the requests out when it came.
fn answer() -> impl Strategy<Value = (Option<u64>, usize)> {
    (
        prop_oneof![Just(None), (0u64..80).prop_map(Some)],
        1usize..=MAX,
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    /// Whatever the order of answers: the limit stays in 1..=max, never leaves fewer than twice
    /// the requests it lets out in reserve, pauses exactly when what remains could go to the
    /// requests already out, and a lower count never allows more than a higher one would.
    #[test]
    fn the_limit_keeps_twice_its_requests_in_reserve(answers in prop::collection::vec(answer(), 1..60)) {
        let mut ctl = Controller::new(MAX);
        for (remaining, in_flight) in answers {
            let before = ctl.clone();
            let pause = ctl.answered(remaining, in_flight);
            prop_assert!((1..=MAX).contains(&ctl.limit()));
            if let Some(r) = remaining {
                prop_assert!(ctl.limit() as u64 <= (r / 2).max(1), "{r} remaining, limit {}", ctl.limit());
                prop_assert_eq!(pause.is_some(), r <= in_flight as u64);
                let mut lower = before.clone();
                lower.answered(Some(r.saturating_sub(7)), in_flight);
                prop_assert!(lower.limit() <= ctl.limit());
            } else {
                prop_assert_eq!(pause, None);
            }
        }
    }

    /// From any state, answers reporting plenty bring the limit back to max within max answers.
    #[test]
    fn it_recovers_when_the_count_rises(answers in prop::collection::vec(answer(), 0..40), plenty in (2 * MAX as u64)..10_000) {
        let mut ctl = Controller::new(MAX);
        for (remaining, in_flight) in answers {
            ctl.answered(remaining, in_flight);
        }
        for _ in 0..MAX {
            prop_assert_eq!(ctl.answered(Some(plenty), 1), None);
        }
        prop_assert_eq!(ctl.limit(), MAX);
    }
}

#[test]
fn a_falling_count_lowers_at_once_and_a_429_pauses_for_its_wait() {
    let mut ctl = Controller::new(MAX);
    assert_eq!(ctl.answered(Some(1000), MAX), None);
    assert_eq!(ctl.limit(), MAX);
    assert_eq!(ctl.answered(Some(10), MAX), Some(DRY_PAUSE));
    assert_eq!(ctl.limit(), 5, "10 remaining: 5 out at most");
    assert_eq!(ctl.answered(Some(12), 5), None);
    assert_eq!(ctl.limit(), 6, "recovers one step per answer");
    assert_eq!(
        ctl.throttled(Some(Duration::from_secs(7))),
        Duration::from_secs(7)
    );
    assert_eq!(ctl.limit(), 6, "the counts after the wait decide");
    assert_eq!(ctl.throttled(None), DRY_PAUSE);
}

#[test]
fn each_lane_reads_its_own_lowest_count() {
    let mut h = HeaderMap::new();
    for (name, v) in [
        ("x-ms-ratelimit-remaining-subscription-reads", "11999"),
        ("x-ms-ratelimit-remaining-subscription-global-reads", "40"),
        ("x-ms-ratelimit-remaining-tenant-reads", "300"),
        ("x-ms-ratelimit-remaining-subscription-writes", "1199"),
        (
            "x-ms-ratelimit-remaining-subscription-resource-requests",
            "3",
        ),
    ] {
        h.insert(name, v.parse().unwrap());
    }
    assert_eq!(Lane::Reads.remaining(&h), Some(40));
    assert_eq!(Lane::Writes.remaining(&h), Some(1199));
    assert_eq!(Lane::Reads.remaining(&HeaderMap::new()), None);
    assert_eq!(Lane::of(&Method::GET), Lane::Reads);
    assert_eq!(Lane::of(&Method::POST), Lane::Writes);
}

/// The gate lets no more than the limit out, holds a paused lane back, and leaves the other lane
/// alone.
#[tokio::test]
async fn the_gate_holds_requests_to_the_limit_and_the_pause() {
    let pacer = Arc::new(Pacer::new(4, None));
    let low: HeaderMap = [(
        "x-ms-ratelimit-remaining-subscription-reads"
            .parse()
            .unwrap(),
        "4".parse().unwrap(),
    )]
    .into_iter()
    .collect();
    {
        let _p = pacer.acquire(Lane::Reads, NET, far()).await.expect("room");
        pacer.answered(Lane::Reads, NET, StatusCode::OK, &low);
    }
    assert_eq!(pacer.limit(Lane::Reads), 2);
    let (out, most) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
    let started = Instant::now();
    let tasks: Vec<_> = (0..6)
        .map(|_| {
            let (pacer, out, most) = (pacer.clone(), out.clone(), most.clone());
            tokio::spawn(async move {
                let _p = pacer.acquire(Lane::Reads, NET, far()).await.expect("room");
                let now = out.fetch_add(1, Ordering::SeqCst) + 1;
                most.fetch_max(now, Ordering::SeqCst);
                tokio::time::sleep(Duration::from_millis(100)).await;
                out.fetch_sub(1, Ordering::SeqCst);
            })
        })
        .collect();
    tokio::task::yield_now().await;
    let writes = pacer.acquire(Lane::Writes, NET, far()).await.expect("room");
    assert_eq!(writes.lane, Lane::Writes, "the other lane is not held");
    drop(writes);
    for t in tasks {
        t.await.unwrap();
    }
    assert_eq!(
        most.load(Ordering::SeqCst),
        2,
        "never more out than the limit"
    );
    assert!(
        started.elapsed() >= Duration::from_millis(300),
        "6 at 2 at once: 3 rounds"
    );

    let throttled: HeaderMap = [(reqwest::header::RETRY_AFTER, "1".parse().unwrap())]
        .into_iter()
        .collect();
    pacer.answered(Lane::Reads, NET, StatusCode::TOO_MANY_REQUESTS, &throttled);
    let t = Instant::now();
    drop(pacer.acquire(Lane::Reads, NET, far()).await.expect("room"));
    assert!(
        t.elapsed() >= Duration::from_millis(990),
        "the lane waits the 429's Retry-After"
    );
    assert_eq!(pacer.limit(Lane::Reads), 2);
}

/// An end no test reaches.
fn far() -> std::time::Instant {
    std::time::Instant::now() + Duration::from_secs(3600)
}

/// A 429 asking for longer than the caller has left ends the caller at once, with the wait: one
/// host answering `Retry-After: 600` must not hold every other request of the run until its
/// end. A pause that ends before the end is still waited.
#[tokio::test]
async fn a_pause_past_the_end_of_the_run_answers_at_once_with_what_is_left() {
    let pacer = Pacer::new(4, None);
    let long: HeaderMap = [(reqwest::header::RETRY_AFTER, "600".parse().unwrap())]
        .into_iter()
        .collect();
    pacer.answered(Lane::Reads, NET, StatusCode::TOO_MANY_REQUESTS, &long);
    let t = Instant::now();
    let end = std::time::Instant::now() + Duration::from_secs(60);
    let left = pacer
        .acquire(Lane::Reads, NET, end)
        .await
        .expect_err("paused past the end");
    assert!(t.elapsed() < Duration::from_millis(100), "answered at once");
    assert!(
        left > Duration::from_secs(590) && left <= Duration::from_secs(600),
        "{left:?}"
    );
    assert!(
        pacer.acquire(Lane::Writes, NET, end).await.is_ok(),
        "the other lane is not paused"
    );
    let t = Instant::now();
    let storage = pacer.acquire(Lane::Reads, STORAGE, end).await;
    assert!(storage.is_ok(), "another provider's calls go on");
    assert!(t.elapsed() < Duration::from_millis(100), "at once");
    drop(storage);
    let other = pacer.acquire(Lane::Reads, OTHER_NET, end).await;
    assert!(
        other.is_ok(),
        "the provider in another subscription goes on"
    );
}
