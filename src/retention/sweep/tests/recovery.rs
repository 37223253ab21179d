//! Failures mid-run: a transient error finishes the page then fails the run; a crash after the
//! delete is finished from its intent; a stale intent for a living blob is dropped. Deletions of a
//! run that emitted no digest (failed, killed) are listed by the next digest.

use super::*;
use crate::testkit::Domains;

#[tokio::test]
async fn a_transient_failure_finishes_the_page_then_fails_the_run() {
    let k = kit();
    let (bad, _) = k.ops_recording("bad.rec", &[]).await;
    let (good, _) = k.ops_recording("good.rec", &[]).await;
    k.blobs.arm(Hook::FailProperties(bad.name.clone()));
    let (r, err) = run(&k.state.sweeper(), &k.params(400, false, 10)).await;
    assert!(err.is_some());
    assert_eq!((r.failed, r.deleted), (1, 1));
    assert!(k.exists(&bad).await && !k.exists(&good).await);
    k.blobs.disarm_all();
    let retry = sweep(&k, 400, false, 10).await;
    assert_eq!(retry.deleted, 1, "the retry finishes the work");
    // The failed run emitted nothing: the retry's digest lists its deletion too.
    let mut blobs = listed(&emitted(&k, &retry).await.expect("digest"));
    blobs.sort();
    assert_eq!(blobs, ["recordings/bad.rec", "recordings/good.rec"]);
}

#[tokio::test]
async fn a_run_killed_before_its_digest_left_is_announced_by_the_next_run() {
    let k = kit();
    for name in ["k1.rec", "k2.rec"] {
        k.ops_recording(name, &[]).await;
    }
    // Deleted, then the process died before the digest reached the outputs.
    assert_eq!(sweep(&k, 400, false, 10).await.deleted, 2);
    let next = sweep(&k, 401, false, 10).await;
    assert_eq!(next.deleted, 0);
    let n = emitted(&k, &next)
        .await
        .expect("a digest for the earlier deletions");
    assert_eq!(listed(&n).len(), 2, "{n:?}");
    assert!(
        emitted(&k, &sweep(&k, 401, false, 10).await)
            .await
            .is_none(),
        "announced once"
    );
}

#[tokio::test]
async fn a_crash_after_the_delete_is_finished_by_the_next_run() {
    let k = kit();
    let (b, key) = k.ops_recording("crash.rec", &[]).await;
    let etag = k.blobs.properties(&b).await.expect("props").etag;
    let t = Tombstone {
        key: key.clone(),
        blob_url: "u".into(),
        catalogue_key: Some(key.id()),
        class: "ops-30d".into(),
        retain_until: k.day(30),
        sha256: None,
        invocation_id: "crashed-run".into(),
        reason: "retention-expired".into(),
        etag: etag.clone(),
    };
    write_intent(k.tables.as_ref(), &t).await.expect("intent");
    k.blobs
        .delete_guarded(&b, Some(&etag), None)
        .await
        .expect("delete");
    let r = sweep(&k, 400, false, 10).await;
    assert_eq!(r.recovered, 1);
    assert_eq!(intents(&k), 0);
    assert_eq!(tombstones(&k)[0].entity["InvocationId"], "crashed-run");
    assert_eq!(k.row(&key).await["Status"], "deleted");
    let parsed = Tombstone::from_entity(&tombstones(&k)[0].entity).expect("parses");
    assert_eq!(parsed.key, RecordingKey::parse(&key.id()).expect("key"));
    let n = emitted(&k, &r).await.expect("digest");
    assert_eq!(
        listed(&n),
        ["recordings/crash.rec"],
        "the crashed run's deletion"
    );
}

#[tokio::test]
async fn a_stale_intent_for_a_living_blob_is_dropped() {
    let k = kit();
    let (b, key) = k.recording("alive.rec", "sox-7y", &k.day(2557), &[]).await;
    let t = Tombstone {
        key,
        blob_url: String::new(),
        catalogue_key: None,
        class: LEGAL_HOLD.into(),
        retain_until: String::new(),
        sha256: None,
        invocation_id: "x".into(),
        reason: "r".into(),
        etag: "e".into(),
    };
    write_intent(k.tables.as_ref(), &t).await.expect("intent");
    let r = sweep(&k, 400, false, 10).await;
    assert_eq!((r.recovered, intents(&k)), (0, 0));
    assert!(k.exists(&b).await);
    let _: Value = json!(r);
}

#[tokio::test]
async fn a_hold_set_between_the_recheck_and_the_delete_wins_at_the_service() {
    let (k, b, key, r) = raced("race.rec", Hook::HoldBeforeDelete).await;
    assert_eq!((r.changed, r.deleted), (1, 0), "{r:?}");
    assert!(
        k.exists(&b).await,
        "the tag condition of the delete kept it"
    );
    assert_eq!(k.tags(&b).await[TAG_UNTIL], HELD_UNTIL);
    assert!(tombstones(&k).is_empty() && intents(&k) == 0);
    assert_eq!(k.row(&key).await["Status"], "catalogued");
}
