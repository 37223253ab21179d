//! Tags changed outside the product: the sweep refuses, restores from the row, alerts once.

use super::sweep;
use crate::spine::kinds::RECORDING_RETAGGED;

const KIND: &str = RECORDING_RETAGGED.name;
use crate::retention::{TAG_CLASS, TAG_UNTIL};
use crate::storage::BlobStore;
use crate::testkit::retention::kit;

#[tokio::test]
async fn a_retain_until_moved_earlier_is_refused_restored_and_alerted_once() {
    let k = kit();
    let (b, key) = k.ops_recording("early.rec", &[]).await;
    let mut moved = k.tags(&b).await;
    moved.insert(TAG_UNTIL.into(), k.day(1));
    moved.insert("owner".into(), "secops".into());
    k.blobs
        .set_tags(&b, &moved, None)
        .await
        .expect("outside write");

    let dry = sweep(&k, 5, true, 10).await;
    assert_eq!(
        (dry.retagged, dry.would_delete, dry.alerts.len()),
        (1, 0, 0)
    );
    assert_eq!(k.tags(&b).await, moved, "a dry run writes nothing");

    let r = sweep(&k, 5, false, 10).await;
    assert_eq!((r.candidates, r.retagged, r.deleted), (1, 1, 0), "{r:?}");
    assert!(
        k.exists(&b).await,
        "never deleted on a tag the row contradicts"
    );
    let tags = k.tags(&b).await;
    assert_eq!(
        (
            tags[TAG_UNTIL].clone(),
            tags[TAG_CLASS].as_str(),
            tags["owner"].as_str()
        ),
        (k.day(30), "ops-30d", "secops"),
        "restored from the row, the owner's tag kept"
    );
    let row = k.row(&key).await;
    assert_eq!(
        row["RetaggedFrom"],
        format!("retainUntil={}&retentionClass=ops-30d", k.day(1))
    );
    assert!(row["RetaggedAt"].as_str().is_some_and(|a| !a.is_empty()));
    assert_eq!(row["Status"], "catalogued");
    let [alert] = r.alerts.as_slice() else {
        panic!("one alert: {:?}", r.alerts)
    };
    assert_eq!(alert.kind.name, KIND);
    assert_eq!(alert.evidence["foundRetainUntil"], k.day(1));
    assert_eq!(alert.evidence["restored"], true);

    let again = sweep(&k, 5, false, 10).await;
    assert_eq!((again.candidates, again.alerts.len()), (0, 0));
    // The same tags written again are found again: the same fact, the same id.
    k.blobs
        .set_tags(&b, &moved, None)
        .await
        .expect("outside write");
    let third = sweep(&k, 5, false, 10).await;
    assert_eq!(third.alerts[0].id(), alert.id());
    assert_eq!(sweep(&k, 31, false, 10).await.deleted, 1, "due by the row");
}

#[tokio::test]
async fn a_run_that_restores_then_fails_leaves_the_alert_to_the_next_run() {
    use crate::invocation::Outcome;
    use crate::testkit::retention::Hook;
    let k = kit();
    let (b, _) = k.ops_recording("early.rec", &[]).await;
    let (bad, _) = k.ops_recording("bad.rec", &[]).await;
    let mut moved = k.tags(&b).await;
    moved.insert(TAG_UNTIL.into(), k.day(1));
    k.blobs
        .set_tags(&b, &moved, None)
        .await
        .expect("outside write");
    k.blobs.arm(Hook::FailProperties(bad.name.clone()));
    let at = crate::dates::format_utc(k.t0 + time::Duration::days(40));
    let timer = || crate::testkit::timer_invocation("RetentionSweep", "inv", &at);
    let sweep = || crate::functions::retention::retention_sweep(k.state.clone(), timer());
    assert!(
        sweep().await.is_err(),
        "the failure fails the run: no outputs"
    );
    assert_eq!(
        k.tags(&b).await[TAG_UNTIL],
        k.day(30),
        "restored all the same"
    );
    k.blobs.disarm_all();
    let types = |out: &Outcome| {
        let Outcome::Processed { outputs, .. } = out else {
            panic!("{out:?}")
        };
        let v = outputs
            .value(crate::notify::OUTPUT_BINDING)
            .unwrap_or_default();
        let all = match v {
            serde_json::Value::Array(a) => a,
            one => vec![one],
        };
        all.iter()
            .filter_map(|n| n["type"].as_str().map(str::to_owned))
            .collect::<Vec<_>>()
    };
    let retry = sweep().await.expect("the retry");
    assert!(types(&retry).contains(&KIND.to_owned()), "{retry:?}");
    let next = sweep().await.expect("the next run");
    assert!(
        !types(&next).contains(&KIND.to_owned()),
        "emitted once: {next:?}"
    );
}
