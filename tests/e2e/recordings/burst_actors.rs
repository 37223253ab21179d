//! The actors of a burst's folded alerts, end to end on Azurite with the Log Analytics fake
//! answering documented `StorageBlobLogs` rows: eight overwrites of one recording within one
//! window send five `recording.replaced` alone and fold three; every one of the eight gets its
//! actor lookup; the five alone get their own `recording.actor`, the three folded none of their
//! own, and once all are known one `recording.actor` of the burst (its id: the burst alert's id +
//! `.actor`) names the requester with how many folded alerts it made; nothing is sent again.
//! Without a custody workspace the burst alert still goes out, promising no actor, and no
//! follow-up ever does.

use std::collections::BTreeMap;

use bastion_recordings::storage::BlobRef;
use bastion_testkit::loganalytics::FakeLogs;
use serde_json::Value;

use super::Rig;
use super::unannounced::{UPN, custody_rig, custody_tick, forge, log, of_type, sent};
use crate::harness::azurite;

#[tokio::test]
async fn a_bursts_folded_alerts_get_their_actors_named_by_one_follow_up() {
    let Some(cs) = azurite() else { return };
    let fake = FakeLogs::default();
    let rig = custody_rig(&cs, &fake, "60").await;
    let name = "burst.rec";
    rig.catalogued(name).await;
    let blob = BlobRef::new(rig.container(), name);
    let mut alone = Vec::new();
    for i in 0..8u32 {
        let v = forge(&rig, &blob, 0x0f0_0000 + i).await;
        for n in of_type(&sent(&v), "recording.replaced") {
            alone.push(n["notificationId"].as_str().expect("id").to_owned());
        }
    }
    assert_eq!(alone.len(), 5, "the first five alone, three folded");
    // The overwrites' request (the fixture event's time and request id), logged with its requester.
    let at = bastion_recordings::dates::timestamp("2025-03-14T09:42:17Z").expect("t");
    let key = format!("/devstoreaccount1/{}/{name}", rig.container());
    log(
        &fake,
        "devstoreaccount1",
        &key,
        "PutBlob",
        at,
        "9c1e4b2a-701e-0012-3c4d-a1b2c3000000",
    );
    // Each notification id with how often it came, and the last body under it.
    let mut seen: BTreeMap<String, (usize, Value)> = BTreeMap::new();
    let closed = bastion_recordings::dates::timestamp("2025-03-14T10:00:00Z").expect("t");
    for pass in 0..4 {
        let v = custody_tick(&rig, closed + time::Duration::minutes(pass)).await;
        for n in sent(&v) {
            let id = n["notificationId"].as_str().unwrap_or_default().to_owned();
            let e = seen.entry(id).or_insert((0, Value::Null));
            e.0 += 1;
            e.1 = n;
        }
    }
    let bursts = of(&seen, "recording.replaced");
    assert_eq!(bursts.len(), 1, "one burst alert: {seen:?}");
    let (burst_id, (_, burst)) = bursts[0];
    assert_eq!(burst["data"]["count"], 8, "{burst}");
    let folded: Vec<String> = burst["data"]["foldedAlertIds"]
        .as_array()
        .expect("ids")
        .iter()
        .filter_map(|v| v.as_str().map(str::to_owned))
        .collect();
    assert_eq!(folded.len(), 3, "{burst}");
    let actors = of(&seen, "recording.actor");
    let ids: Vec<&String> = actors.iter().map(|(id, _)| *id).collect();
    for a in &alone {
        assert!(
            ids.contains(&&format!("{a}.actor")),
            "{a}'s own follow-up: {ids:?}"
        );
    }
    for f in &folded {
        assert!(
            !ids.contains(&&format!("{f}.actor")),
            "no follow-up of its own: {f}"
        );
    }
    let follow = seen
        .get(&format!("{burst_id}.actor"))
        .unwrap_or_else(|| panic!("the burst's follow-up in {ids:?}"));
    assert!(follow.0 <= 2, "sent on at most two passes: {}", follow.0);
    let d = &follow.1["data"];
    assert_eq!(d["foldedAlerts"], 3, "{d}");
    assert_eq!(d["actors"][0]["requesterUpn"], UPN, "{d}");
    assert_eq!(d["actors"][0]["alerts"], 3, "{d}");
    assert_eq!(d["actors"][0]["actorStatus"], "found", "{d}");
    assert_eq!(actors.len(), alone.len() + 1, "nothing else: {ids:?}");
}

#[tokio::test]
async fn without_a_custody_workspace_the_burst_goes_out_promising_no_actor() {
    let Some(cs) = azurite() else { return };
    let rig = Rig::new(&cs).await;
    let name = "burst.rec";
    rig.catalogued(name).await;
    let blob = BlobRef::new(rig.container(), name);
    let mut alone = 0;
    for i in 0..8u32 {
        let v = forge(&rig, &blob, 0x0f1_0000 + i).await;
        alone += of_type(&sent(&v), "recording.replaced").len();
    }
    assert_eq!(alone, 5, "the first five alone, three folded");
    let mut seen: BTreeMap<String, (usize, Value)> = BTreeMap::new();
    let closed = bastion_recordings::dates::timestamp("2025-03-14T10:00:00Z").expect("t");
    // However late the runs: the burst closes, and nothing follows it.
    for pass in [0, 1, 2, 60 * 24] {
        let v = custody_tick(&rig, closed + time::Duration::minutes(pass)).await;
        for n in sent(&v) {
            let id = n["notificationId"].as_str().unwrap_or_default().to_owned();
            let e = seen.entry(id).or_insert((0, Value::Null));
            e.0 += 1;
            e.1 = n;
        }
    }
    let bursts = of(&seen, "recording.replaced");
    assert_eq!(bursts.len(), 1, "one burst alert: {seen:?}");
    let (_, (times, burst)) = bursts[0];
    assert!(*times <= 2, "on at most two passes: {times}");
    let d = &burst["data"];
    assert_eq!(d["count"], 8, "{d}");
    assert_eq!(d["actorLookups"], false, "{d}");
    assert_eq!(d["actorsPending"], 0, "no actor promised: {d}");
    assert_eq!(d["actors"], serde_json::json!([]), "{d}");
    assert!(of(&seen, "recording.actor").is_empty(), "{seen:?}");
}

/// The notifications of one type in `seen`: id, how often it came, its last body.
fn of<'a>(
    seen: &'a BTreeMap<String, (usize, Value)>,
    kind: &str,
) -> Vec<(&'a String, &'a (usize, Value))> {
    seen.iter()
        .filter(|(_, (_, n))| n["type"] == kind)
        .collect()
}
