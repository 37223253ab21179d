//! `IntegrityVerify`: settings, the bounded salted sample, and a run over the fakes that finds a
//! tampered and a missing recording, emits them on the `notifications` output and stores each
//! recording's result (`integritychecks`).

use std::time::Instant;

use bytes::Bytes;
use serde_json::{Value, json};
use time::macros::datetime;

use super::checks;
use super::tests::{catalogue, content, put, queue_invocation};
use super::timer::{self, lookback_days, select};
use crate::catalogue::RECORDINGS_TABLE;
use crate::catalogue::policy::Policy;
use crate::config::integrity_sample as sample_size;
use crate::invocation::{Invocation, Outcome};
use crate::notify::OUTPUT_BINDING;
use crate::storage::{BlobStore, Metadata};
use crate::tables::{TableStore, WriteMode};
use crate::testkit::{Fakes, fakes};

/// A timer invocation at the real "now" (the in-memory store dates blobs by the wall clock, and
/// the catalogue partitions by blob creation).
fn timer_invocation(id: &str) -> Invocation {
    let now = crate::dates::format_utc(time::OffsetDateTime::now_utc());
    crate::testkit::timer_invocation("IntegrityVerify", id, &now)
}

#[test]
fn sample_setting_is_bounded_and_lookback_follows_the_policy() {
    let read = |v: &str| crate::setting::read_pairs(&[("INTEGRITY_VERIFY_SAMPLE", v)], sample_size);
    assert_eq!(read(""), (50, vec![]));
    assert_eq!(read(" 7 "), (7, vec![]));
    for bad in ["0", "-3", "100001", "many"] {
        assert_eq!(read(bad).1.len(), 1, "{bad} is a start-up problem");
    }
    let builtin = Policy::builtin();
    let longest = builtin
        .classes
        .values()
        .filter_map(|c| c.days)
        .max()
        .expect("days");
    assert_eq!(lookback_days(&builtin), longest + 1);
    let mut only_holds = builtin.clone();
    only_holds.classes.retain(|_, c| c.days.is_none());
    assert_eq!(lookback_days(&only_holds), 3660, "capped at ten years");
}

async fn seed(f: &Fakes, day: &str, n: usize, hashed: bool) {
    f.tables.ensure_table(RECORDINGS_TABLE).await.expect("t");
    let created = crate::dates::timestamp(&format!("{day}T01:00:00Z")).expect("day");
    for i in 0..n {
        let mut r = crate::testkit::audit::recording_row(&format!("r{i}"), created);
        r.hash = hashed.then(|| crate::catalogue::recording::Hash {
            sha256: "00".into(),
            length: 1,
            etag: String::new(),
            at: String::new(),
        });
        f.tables
            .write(RECORDINGS_TABLE, &r.to_entity(), WriteMode::Upsert)
            .await
            .expect("w");
    }
}

fn ids(rows: &[crate::catalogue::recording::Recording]) -> Vec<String> {
    rows.iter().map(|r| r.id()).collect()
}

#[tokio::test]
async fn the_sample_is_bounded_salted_and_only_of_hashed_rows() {
    let f = fakes();
    let now = datetime!(2025-03-16 03:00 UTC);
    seed(&f, "2025-03-16", 30, true).await;
    seed(&f, "2025-03-10", 30, true).await;
    seed(&f, "2025-03-12", 40, false).await;
    seed(&f, "2024-01-01", 5, true).await; // outside a 10-day lookback
    let a = ids(&select(&f.state.ports, now, 10, 10, "run-a")
        .await
        .expect("a"));
    assert_eq!(a.len(), 10);
    assert!(
        a.iter()
            .all(|i| i.starts_with("2025-03-16") || i.starts_with("2025-03-10"))
    );
    assert_eq!(
        a,
        ids(&select(&f.state.ports, now, 10, 10, "run-a")
            .await
            .expect("again"))
    );
    let b = ids(&select(&f.state.ports, now, 10, 10, "run-b")
        .await
        .expect("b"));
    assert_ne!(a, b, "each run samples afresh");
    let all = select(&f.state.ports, now, 10, 1000, "x")
        .await
        .expect("all");
    assert_eq!(
        all.len(),
        60,
        "every hashed row in range, none unhashed or older"
    );
    let empty = fakes();
    assert!(
        select(&empty.state.ports, now, 10, 5, "x")
            .await
            .expect("no table")
            .is_empty()
    );
}

fn kinds(out: &Outcome) -> Vec<String> {
    let Outcome::Processed { outputs, .. } = out else {
        panic!("{out:?}")
    };
    let v = outputs.value(OUTPUT_BINDING).unwrap_or(Value::Null);
    let items = match v {
        Value::Array(a) => a,
        Value::Null => vec![],
        one => vec![one],
    };
    let mut k: Vec<String> = items
        .iter()
        .map(|n| n["type"].as_str().unwrap_or_default().to_owned())
        .collect();
    k.sort();
    k
}

#[tokio::test]
async fn a_run_reports_tampered_and_missing_recordings_through_the_output() {
    let f = fakes();
    let mut names = Vec::new();
    let mut keys = Vec::new();
    for name in ["a.mp4", "b.mp4", "c.mp4"] {
        put(&f, name, content(500)).await;
        let req = catalogue(&f, name, "01").await;
        keys.push(
            crate::catalogue::recording::RecordingKey::parse(
                req["recordingId"].as_str().expect("id"),
            )
            .expect("key"),
        );
        crate::functions::integrity::recording_hash(f.state.clone(), queue_invocation(&req))
            .await
            .expect("hash");
        names.push(name);
    }
    let clean =
        crate::functions::integrity::integrity_verify(f.state.clone(), timer_invocation("w1"))
            .await
            .expect("run");
    assert_eq!(kinds(&clean), Vec::<String>::new(), "{clean:?}");
    let b = crate::storage::BlobRef::new("recordings", "b.mp4");
    f.blobs
        .put(&b, Bytes::from_static(b"edited"), "x", &Metadata::new())
        .await
        .expect("tamper");
    let c = crate::storage::BlobRef::new("recordings", "c.mp4");
    let etag = f.blobs.properties(&c).await.expect("p").etag;
    f.blobs
        .delete_guarded(&c, Some(&etag), None)
        .await
        .expect("delete");
    let out =
        crate::functions::integrity::integrity_verify(f.state.clone(), timer_invocation("w2"))
            .await
            .expect("run");
    // The overwrite dropped b's index tags (a Put Blob replaces them): restored and reported.
    assert_eq!(
        kinds(&out),
        [
            "recording.missing",
            "recording.retagged",
            "recording.tampered"
        ],
        "{out:?}"
    );
    // Each recording's result is stored as its latest verification, by this run.
    let stored = |keys: Vec<crate::catalogue::recording::RecordingKey>| {
        let f = &f;
        async move {
            let mut out = Vec::new();
            for k in keys {
                let day = checks::of_day(f.tables.as_ref(), &k.pk).await.expect("day");
                let (at, result) = day.get(&k.rk).cloned().expect("a result");
                let row = f
                    .tables
                    .get(checks::CHECKS_TABLE, &k.pk, &k.rk)
                    .await
                    .expect("get")
                    .expect("row");
                assert!(!at.is_empty());
                out.push((result, row.entity["Run"].clone()));
            }
            out
        }
    };
    assert_eq!(
        stored(keys.clone()).await,
        [
            ("intact".to_owned(), json!("w2")),
            ("tampered".to_owned(), json!("w2")),
            ("missing".to_owned(), json!("w2")),
        ]
    );
    // A slower, older run finishing late leaves the newer result.
    let old = checks::Check {
        at: datetime!(2020-01-01 0:00 UTC),
        result: "intact",
        run: "old".into(),
    };
    checks::store(f.tables.as_ref(), &keys[1], &old)
        .await
        .expect("store");
    assert_eq!(
        stored(vec![keys[1].clone()]).await,
        [("tampered".to_owned(), json!("w2"))]
    );
    let Outcome::Processed { summary, .. } = &out else {
        panic!()
    };
    assert!(
        summary.contains("3 sampled") && summary.contains("1 intact"),
        "{summary}"
    );
    // The same facts next week carry the same notification ids (delivery deduplicates them); the
    // tags restored last week are no fact any more.
    let again =
        crate::functions::integrity::integrity_verify(f.state.clone(), timer_invocation("w3"))
            .await
            .expect("run");
    let id = |o: &Outcome| match o {
        Outcome::Processed { outputs, .. } => {
            let all = outputs.value(OUTPUT_BINDING).unwrap_or_default();
            let tampered = all.as_array().into_iter().flatten();
            let mut tampered = tampered.filter(|n| n["type"] == "recording.tampered");
            tampered.next().map(|n| n["notificationId"].clone())
        }
        Outcome::Skipped { .. } => None,
    };
    assert!(id(&out).is_some());
    assert_eq!(id(&out), id(&again));
    // Over budget: nothing is hashed, nothing is claimed.
    let now = time::OffsetDateTime::now_utc();
    let rows = select(&f.state.ports, now, 30, 10, "s")
        .await
        .expect("rows");
    assert_eq!(rows.len(), 3);
    let late = Outcome::from(timer::run(&f.state.ports, rows, now, Instant::now(), "late").await);
    assert_eq!(kinds(&late), Vec::<String>::new());
    assert!(
        matches!(&late, Outcome::Processed { summary, .. } if summary.contains("3 over budget"))
    );
}

/// The `recording.retagged` outputs of `out`.
fn retagged(out: &Outcome) -> Vec<Value> {
    let Outcome::Processed { outputs, .. } = out else {
        panic!("{out:?}")
    };
    let items = match outputs.value(OUTPUT_BINDING).unwrap_or(Value::Null) {
        Value::Array(a) => a,
        Value::Null => vec![],
        one => vec![one],
    };
    items
        .into_iter()
        .filter(|n| n["type"] == "recording.retagged")
        .collect()
}

#[tokio::test]
async fn the_hash_job_and_the_run_restore_tags_changed_outside_and_alert_under_one_id() {
    use crate::retention::{TAG_CLASS, TAG_UNTIL};
    let f = fakes();
    put(&f, "t.mp4", content(50)).await;
    let req = catalogue(&f, "t.mp4", "01").await;
    let hash =
        || crate::functions::integrity::recording_hash(f.state.clone(), queue_invocation(&req));
    assert!(retagged(&hash().await.expect("hash")).is_empty());
    let b = crate::storage::BlobRef::new("recordings", "t.mp4");
    let good = f.blobs.get_tags(&b).await.expect("tags");
    let mut moved = good.clone();
    moved.insert(TAG_UNTIL.into(), "2000-01-01".into());
    moved.insert(TAG_CLASS.into(), "ops-30d".into());
    f.blobs
        .set_tags(&b, &moved, None)
        .await
        .expect("outside write");
    // The hash is current (a skip), yet the tags are judged and the skip alerts.
    let by_hash = retagged(&hash().await.expect("hash"));
    assert_eq!(by_hash.len(), 1, "{by_hash:?}");
    assert_eq!(by_hash[0]["data"]["foundRetainUntil"], "2000-01-01");
    assert_eq!(f.blobs.get_tags(&b).await.expect("tags"), good, "restored");
    let run = |id: &'static str| {
        crate::functions::integrity::integrity_verify(f.state.clone(), timer_invocation(id))
    };
    assert!(retagged(&run("w1").await.expect("run")).is_empty());
    f.blobs
        .set_tags(&b, &moved, None)
        .await
        .expect("outside write");
    let by_run = retagged(&run("w2").await.expect("run"));
    assert_eq!(by_run.len(), 1, "{by_run:?}");
    assert_eq!(by_run[0]["notificationId"], by_hash[0]["notificationId"]);
    assert_eq!(f.blobs.get_tags(&b).await.expect("tags"), good, "restored");
}
