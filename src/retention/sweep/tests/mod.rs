//! Sweep state machine over in-memory fakes: every path of the list.

use crate::testkit::Domains;
use serde_json::{Value, json};

use super::announce::UNANNOUNCED_PK;
use super::{Report, digest, run};
use crate::catalogue::policy::Policy;
use crate::catalogue::recording::RecordingKey;
use crate::retention::tags::{hold_tags, release_tags};
use crate::retention::tombstone::{DELETIONS_TABLE, INTENT_PK, Tombstone, write_intent};
use crate::retention::{HELD_UNTIL, LEGAL_HOLD, TAG_CLASS, TAG_UNTIL};
use crate::storage::{BlobRef, BlobStore};
use crate::tables::Stored;
use crate::testkit::retention::{Hook, Kit, kit, kit_with};

mod policy;
mod recovery;
mod retagged;

async fn sweep(k: &Kit, days: i64, dry: bool, max: usize) -> Report {
    let (report, err) = run(&k.state.sweeper(), &k.params(days, dry, max)).await;
    assert!(err.is_none(), "{err:?}");
    report
}

/// A due recording `name` whose delete meets `hook`, swept once: the kit, the blob, its key and
/// the run's report.
async fn raced(name: &str, hook: fn(String) -> Hook) -> (Kit, BlobRef, RecordingKey, Report) {
    let k = kit();
    let (b, key) = k.ops_recording(name, &[]).await;
    k.blobs.arm(hook(b.name.clone()));
    let r = sweep(&k, 400, false, 10).await;
    (k, b, key, r)
}

/// The digest a timer run would emit after `r`, as the handler records it.
async fn emitted(k: &Kit, r: &Report) -> Option<crate::notify::Notification> {
    let d = digest::prepare(k.state.ports.tables.as_ref(), r, k.t0).await?;
    d.forget_listed(k.state.ports.tables.as_ref()).await;
    Some(d.finding.told())
}

/// The blob names a digest lists.
fn listed(n: &crate::notify::Notification) -> Vec<String> {
    n.data["items"]
        .as_array()
        .map(|items| {
            items
                .iter()
                .filter_map(|i| i["blob"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

fn tombstones(k: &Kit) -> Vec<Stored> {
    k.tables
        .dump(DELETIONS_TABLE)
        .into_iter()
        .filter(|s| {
            ![INTENT_PK, UNANNOUNCED_PK].contains(&s.entity["PartitionKey"].as_str().unwrap_or(""))
        })
        .collect()
}

fn intents(k: &Kit) -> usize {
    k.tables
        .dump(DELETIONS_TABLE)
        .iter()
        .filter(|s| s.entity["PartitionKey"] == INTENT_PK)
        .count()
}

#[tokio::test]
async fn deletes_only_the_expired_and_leaves_evidence() {
    let k = kit();
    let (old, old_key) = k
        .ops_recording(
            "old.rec",
            &[
                ("MatchConfidence", json!("exact")),
                ("MatchCandidates", json!("t-1")),
                ("TunnelId", json!("t-1")),
                ("Sha256", json!("ab12")),
            ],
        )
        .await;
    let (future, _) = k.recording("future.rec", "sox-7y", &k.day(2557), &[]).await;
    let (held, held_key) = k.ops_recording("held.rec", &[]).await;
    k.blobs
        .set_tags(&held, &hold_tags(&k.tags(&held).await), None)
        .await
        .expect("hold");
    let r = sweep(&k, 400, false, 100).await;
    assert_eq!(
        (r.candidates, r.deleted, r.held),
        (1, 1, 0),
        "held and future blobs are outside the range: {r:?}"
    );
    assert!(!k.exists(&old).await && k.exists(&future).await && k.exists(&held).await);
    let t = &tombstones(&k)[0].entity;
    assert_eq!(
        (t["PartitionKey"].clone(), t["RowKey"].clone()),
        (json!(old_key.pk), json!(old_key.rk))
    );
    assert_eq!(
        t["BlobUrl"],
        "https://acct.blob.core.windows.net/recordings/old.rec"
    );
    assert_eq!(t["CatalogueKey"], json!(old_key.id()));
    assert_eq!(
        (t["RetentionClass"].clone(), t["RetainUntil"].clone()),
        (json!("ops-30d"), json!(k.day(30)))
    );
    assert_eq!(
        (t["Reason"].clone(), t["Outcome"].clone()),
        (json!("retention-expired"), json!("deleted"))
    );
    assert_eq!(
        (t["Sha256"].clone(), t["InvocationId"].clone()),
        (json!("ab12"), json!("inv-sweep"))
    );
    assert!(
        t["DeletedAt"]
            .as_str()
            .is_some_and(|s| s.starts_with(&k.day(400)))
    );
    let row = k.row(&old_key).await;
    assert_eq!(
        (row["Status"].clone(), row["TunnelId"].clone()),
        (json!("deleted"), json!("t-1")),
        "other properties kept"
    );
    assert_eq!(row["DeletionReason"], "retention-expired");
    assert_eq!(k.row(&held_key).await["Status"], "catalogued");
    assert_eq!(intents(&k), 0);
    let n = emitted(&k, &r).await.expect("digest");
    assert_eq!(
        (n.kind.as_str(), n.data["counts"]["deleted"].clone()),
        ("retention.deleted", json!(1))
    );
    assert_eq!(n.data["items"][0]["blob"], "recordings/old.rec");
    let again = sweep(&k, 400, false, 100).await;
    assert_eq!(
        (again.candidates, tombstones(&k).len()),
        (0, 1),
        "a re-run finds nothing and duplicates nothing"
    );
    assert!(
        emitted(&k, &again).await.is_none(),
        "no digest for an empty run once the last one was emitted"
    );
}

#[tokio::test]
async fn kept_through_the_last_day_and_deleted_the_day_after() {
    let k = kit();
    let (b, _) = k.ops_recording("edge.rec", &[]).await;
    assert_eq!(sweep(&k, 30, false, 10).await.candidates, 0);
    assert!(k.exists(&b).await);
    assert_eq!(sweep(&k, 31, false, 10).await.deleted, 1);
}

#[tokio::test]
async fn a_hold_known_only_to_the_catalogue_wins_and_repairs_the_tags() {
    let k = kit();
    let (b, key) = k
        .ops_recording("stale.rec", &[("LegalHold", json!(true))])
        .await;
    let r = sweep(&k, 400, false, 10).await;
    assert_eq!((r.candidates, r.retagged, r.deleted), (1, 1, 0));
    assert_eq!(r.alerts.len(), 1, "the row is the truth: reported");
    assert!(k.exists(&b).await);
    assert_eq!(
        k.tags(&b).await[TAG_UNTIL],
        HELD_UNTIL,
        "tags now agree with the row"
    );
    assert_eq!(k.row(&key).await["Status"], "catalogued");
}

#[tokio::test]
async fn held_then_released_is_deleted_on_its_original_date() {
    let k = kit();
    let (b, _) = k.ops_recording("rel.rec", &[]).await;
    let held = hold_tags(&k.tags(&b).await);
    k.blobs.set_tags(&b, &held, None).await.expect("hold");
    assert_eq!(sweep(&k, 400, false, 10).await.candidates, 0);
    let (released, _) = release_tags(&held, None).expect("restorable");
    k.blobs
        .set_tags(&b, &released, None)
        .await
        .expect("release");
    assert_eq!(sweep(&k, 400, false, 10).await.deleted, 1);
}

#[tokio::test]
async fn changed_after_listing_is_skipped_without_evidence() {
    let (k, b, key, r) = raced("changed.rec", Hook::OverwriteBeforeDelete).await;
    assert_eq!((r.changed, r.deleted), (1, 0));
    assert!(k.exists(&b).await);
    assert!(tombstones(&k).is_empty() && intents(&k) == 0);
    assert_eq!(k.row(&key).await["Status"], "catalogued");
}

#[tokio::test]
async fn already_deleted_is_done_with_a_tombstone() {
    let (k, _, key, r) = raced("gone.rec", Hook::VanishBeforeDelete).await;
    assert_eq!((r.already_gone, r.deleted), (1, 0));
    assert_eq!(tombstones(&k)[0].entity["Outcome"], "already-gone");
    assert_eq!(k.row(&key).await["Status"], "deleted");
    // Gone at the delete: also what a delete whose answer was lost looks like to its retry.
    let n = emitted(&k, &r).await.expect("digest");
    assert_eq!(listed(&n), ["recordings/gone.rec"]);
}

#[tokio::test]
async fn dry_run_reports_and_deletes_nothing() {
    let k = kit();
    let (a, _) = k.ops_recording("a.rec", &[]).await;
    let (b, _) = k.recording("b.rec", "pci-1y", &k.day(365), &[]).await;
    let r = sweep(&k, 400, true, 10).await;
    assert_eq!((r.would_delete, r.deleted), (2, 0));
    assert!(k.exists(&a).await && k.exists(&b).await);
    assert!(k.tables.dump(DELETIONS_TABLE).is_empty());
    let n = emitted(&k, &r).await.expect("digest");
    assert_eq!(n.data["dryRun"], true);
    assert_eq!(n.data["items"].as_array().map(Vec::len), Some(2));
    let real = sweep(&k, 400, false, 10).await;
    let real = emitted(&k, &real).await.expect("digest");
    assert_ne!(
        n.notification_id, real.notification_id,
        "dry and real runs are different facts"
    );
}

#[tokio::test]
async fn the_bound_stops_a_run_and_the_next_run_continues() {
    let k = kit();
    for i in 0..5 {
        k.ops_recording(&format!("r{i}.rec"), &[]).await;
    }
    let first = sweep(&k, 400, false, 2).await;
    assert_eq!((first.deleted, first.bound_reached), (2, true));
    let mut digests = vec![emitted(&k, &first).await.expect("digest")];
    let second = sweep(&k, 400, false, 2).await;
    assert_eq!(second.deleted, 2);
    digests.push(emitted(&k, &second).await.expect("digest"));
    let last = sweep(&k, 400, false, 2).await;
    assert_eq!(
        (last.deleted, k.blobs.inner().names("recordings").len()),
        (1, 0)
    );
    digests.push(emitted(&k, &last).await.expect("digest"));
    assert_eq!(tombstones(&k).len(), 5);
    // Three runs on one day, three different facts: none is dropped as a repeat of another.
    let ids: std::collections::BTreeSet<&str> =
        digests.iter().map(|n| n.notification_id.as_str()).collect();
    let blobs: std::collections::BTreeSet<String> = digests.iter().flat_map(listed).collect();
    assert_eq!((ids.len(), blobs.len()), (3, 5));
}
