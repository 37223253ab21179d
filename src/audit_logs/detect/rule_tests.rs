//! The burst rule through the detection's own storage and check: whatever the order the failed
//! logins arrive in and however the ticks cut them, the same bursts are raised, once each: the
//! (window, user or client IP) holding at least the threshold, on any VMs.

use std::collections::{BTreeMap, BTreeSet};

use proptest::prelude::*;
use time::macros::datetime;
use time::{Duration, OffsetDateTime};

use super::failed::{FailedLogin, store};
use super::unchecked::run_unchecked;
use crate::dates::{bucket, format_utc};
use crate::testkit::tables::memory::InMemoryTables;

const THRESHOLD: usize = 5;
const WINDOW: Duration = Duration::minutes(15);
const T0: OffsetDateTime = datetime!(2025-03-14 09:00 UTC);

/// Attempt `i`: user, client IP, VM and minute past [`T0`].
fn attempt(i: usize, &(user, ip, vm, minute): &(u8, u8, u8, i64)) -> FailedLogin {
    FailedLogin {
        tunnel_id: format!("t{i:03}"),
        window: bucket(T0 + Duration::minutes(minute), WINDOW),
        day: "2025-03-14".into(),
        vm: format!("vm-{vm}"),
        user: format!("user{user}"),
        client_ip: format!("192.0.2.{ip}"),
        host: "bas-1".into(),
    }
}

/// The bursts as the rule states them: `window|user|value` or `window|ip|value`.
fn expected(attempts: &[FailedLogin]) -> BTreeSet<String> {
    let mut counts: BTreeMap<String, usize> = BTreeMap::new();
    for a in attempts {
        let w = format_utc(a.window);
        *counts.entry(format!("{w}|user|{}", a.user)).or_default() += 1;
        *counts.entry(format!("{w}|ip|{}", a.client_ip)).or_default() += 1;
    }
    (counts.into_iter())
        .filter(|(_, n)| *n >= THRESHOLD)
        .map(|(k, _)| k)
        .collect()
}

/// Stores `attempts` in `order`, a tick's check after each one `cut` marks; the bursts raised.
async fn raised(attempts: &[FailedLogin], order: &[usize], cut: &[bool]) -> Vec<String> {
    let t = InMemoryTables::new();
    let sources = crate::testkit::fakes().state.ports.sources.clone();
    let mut found = Vec::new();
    for (n, &i) in order.iter().enumerate() {
        store(&t, &[&attempts[i]]).await.expect("store");
        if cut[n] || n + 1 == order.len() {
            found.extend(run_unchecked(&t, &sources, THRESHOLD, WINDOW).await);
        }
    }
    (found.iter())
        .map(|f| {
            let e = &f.evidence;
            let dim = if e["dimension"] == "clientIp" {
                "ip"
            } else {
                "user"
            };
            let s = |k: &str| e[k].as_str().unwrap_or_default().to_owned();
            format!("{}|{dim}|{}", s("windowStart"), s("value"))
        })
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn the_same_bursts_are_raised_once_whatever_the_arrival_order(
        rows in proptest::collection::vec((0u8..3, 0u8..3, 0u8..4, 0i64..40), 1..30),
        keys in proptest::collection::vec(any::<u32>(), 30),
        cut in proptest::collection::vec(any::<bool>(), 30),
    ) {
        let attempts: Vec<FailedLogin> = rows.iter().enumerate().map(|(i, r)| attempt(i, r)).collect();
        let mut order: Vec<usize> = (0..attempts.len()).collect();
        order.sort_by_key(|&i| keys[i]);
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
        let mut got = rt.block_on(raised(&attempts, &order, &cut));
        let n = got.len();
        got.sort();
        got.dedup();
        prop_assert_eq!(n, got.len(), "each burst raised once");
        let want: Vec<String> = expected(&attempts).into_iter().collect();
        prop_assert_eq!(got, want);
    }
}

/// One user's failed logins spread over five VMs in one window are one burst (the review queue's
/// former own rule caught these; the detection now does).
#[tokio::test]
async fn a_burst_spread_over_vms_is_one_burst_naming_them() {
    let rows: Vec<_> = (0..5).map(|vm| (1u8, vm as u8, vm as u8, 3)).collect();
    let attempts: Vec<_> = rows
        .iter()
        .enumerate()
        .map(|(i, r)| attempt(i, r))
        .collect();
    let t = InMemoryTables::new();
    let sources = crate::testkit::fakes().state.ports.sources.clone();
    for a in &attempts {
        store(&t, &[a]).await.expect("store");
    }
    let found = run_unchecked(&t, &sources, THRESHOLD, WINDOW).await;
    assert_eq!(found.len(), 1, "by one user; five client IPs: no IP burst");
    let e = &found[0].evidence;
    assert_eq!(e["userName"], "user1");
    assert_eq!(e["targetVm"], "vm-0, vm-1, vm-2, vm-3, vm-4");
    assert_eq!(e["count"], 5);
}
