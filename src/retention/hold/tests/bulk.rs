//! Bulk holds (by VM and day range) with bulk release.

use serde_json::json;

use super::super::HOLDS_TABLE;
use super::super::bulk::{Selector, hold_bulk, release_hold};
use super::{actor, deleted};
use crate::ports::RequestError;
use crate::tables::Entity;
use crate::testkit::retention::{Kit, kit};

/// The first `holds` row whose `prop` is `value`.
fn holds_row(k: &Kit, prop: &str, value: &str) -> Entity {
    let mut rows = k.tables.dump(HOLDS_TABLE).into_iter().map(|s| s.entity);
    rows.find(|e| e[prop] == value)
        .unwrap_or_else(|| panic!("no holds row with {prop} {value}"))
}

#[tokio::test]
async fn bulk_hold_by_vm_and_days_then_bulk_release() {
    let k = kit();
    let (a, _) = k
        .ops_recording("a.rec", &[("TargetVm", json!("vm-a"))])
        .await;
    let (b, _) = k
        .ops_recording(
            "b.rec",
            &[
                ("MatchConfidence", json!("heuristic")),
                ("MatchCandidates", json!("t-a")),
                ("TunnelId", json!("t-a")),
                ("TargetVm", json!("vm-a")),
                ("UserName", json!("alice")),
            ],
        )
        .await;
    let (c, _) = k
        .ops_recording("c.rec", &[("TargetVm", json!("vm-b"))])
        .await;
    let sel = |from, to, vm: Option<&str>, user: Option<&str>| Selector {
        from_day: k.day(from),
        to_day: k.day(to),
        vm: vm.map(Into::into),
        user: user.map(Into::into),
        ..Selector::default()
    };
    for (hold_id, by, want) in [
        ("inc-7", sel(-1, 1, Some("vm-a"), None), 2),
        ("inc-8", sel(0, 0, None, Some("alice")), 1),
        ("inc-9", sel(5, 9, None, None), 0),
    ] {
        let n = hold_bulk(&k.state.ports, hold_id, &by, &actor(&k, hold_id)).await;
        assert_eq!(n.expect("bulk"), want, "{hold_id}");
    }
    let backwards = sel(1, 0, None, None);
    assert!(matches!(
        hold_bulk(&k.state.ports, "x", &backwards, &actor(&k, "x")).await,
        Err(RequestError::Invalid(_))
    ));
    assert_eq!(deleted(&k, 400).await, 1, "only the vm-b recording goes");
    assert!(k.exists(&a).await && k.exists(&b).await && !k.exists(&c).await);
    assert_eq!(
        release_hold(&k.state.ports, "inc-7", &actor(&k, "closed"))
            .await
            .expect("release"),
        2
    );
    assert_eq!(deleted(&k, 400).await, 1, "b is still held by inc-8");
    let header = holds_row(&k, "RowKey", "inc-7");
    assert_eq!(
        (&header["Status"], &header["ReleasedBy"]),
        (&json!("released"), &json!("auditor@example.com"))
    );
}

/// A bulk hold takes recordings by the day their session started: one begun before midnight and
/// recorded after it (a row in the next day's partition) belongs to the day before.
#[tokio::test]
async fn bulk_holds_select_sessions_by_start_day_across_midnight() {
    let k = kit();
    let late = json!(format!("{}T23:40:00.000Z", k.day(-1)));
    let joined = |t: &str| {
        [
            ("MatchConfidence", json!("heuristic")),
            ("MatchCandidates", json!(t)),
            ("TunnelId", json!(t)),
            ("TargetVm", json!("vm-n")),
        ]
    };
    let mut late_row = joined("t-late").to_vec();
    late_row.push(("SessionStart", late));
    k.ops_recording("late.rec", &late_row).await;
    k.ops_recording("plain.rec", &joined("t-plain")).await;
    for (hold_id, from, to, want) in [
        ("h-before", -1, -1, 1),
        ("h-created", 0, 0, 1),
        ("h-both", -1, 0, 2),
        ("h-after", 1, 1, 0),
    ] {
        let sel = Selector {
            from_day: k.day(from),
            to_day: k.day(to),
            vm: Some("vm-n".into()),
            ..Selector::default()
        };
        let n = hold_bulk(&k.state.ports, hold_id, &sel, &actor(&k, "x")).await;
        assert_eq!(n.expect("bulk"), want, "{hold_id}");
    }
}
