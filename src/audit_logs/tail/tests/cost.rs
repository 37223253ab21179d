//! Storage calls of `AuditLogTail` ticks, counted over the in-memory fakes (blob and table calls):
//! the per-tick figures docs/cost.md multiplies by the ticks of a month. Printed with
//! `cargo test --lib audit_logs::tail::tests::cost -- --nocapture`.

use crate::testkit::DefaultSources;
use crate::testkit::Domains;
use std::sync::Arc;

use crate::audit_logs::created::register;
use crate::storage::{BlobRef, BlobStore};
use crate::testkit::audit::{Kit, NOW, PATH, Tally, kit};

fn counted() -> (Kit, Arc<Tally>) {
    let mut k = kit(None);
    let tally = Arc::new(Tally::new(k.state.ports.tables.clone()));
    k.state.ports.tables = tally.clone();
    (k, tally)
}

/// Blob and table calls of one tick a minute after `NOW` (four ticks in five: the fifth also
/// reads the growing recordings, one query more), with the per-table detail.
async fn one_tick(k: &Kit, tally: &Tally) -> (u64, u64) {
    tick_at(k, tally, NOW + time::Duration::minutes(1)).await
}

/// [`one_tick`] at `at`.
async fn tick_at(k: &Kit, tally: &Tally, at: time::OffsetDateTime) -> (u64, u64) {
    tally.reset();
    let blobs = k.blobs.calls();
    crate::testkit::tail::run(k, at).await;
    (k.blobs.calls() - blobs, tally.count(None, None))
}

#[tokio::test]
async fn storage_calls_of_a_tick_idle_unchanged_and_with_new_records() {
    let (k, tally) = counted();
    let idle = one_tick(&k, &tally).await;
    let looking = tick_at(&k, &tally, NOW + time::Duration::minutes(5)).await;
    assert_eq!(
        looking,
        (idle.0, idle.1 + 1),
        "the growing recordings' query"
    );
    k.create_log().await;
    tally.reset();
    let blobs = k.blobs.calls();
    k.register().await;
    let created = (k.blobs.calls() - blobs, tally.count(None, None));
    one_tick(&k, &tally).await;
    let unchanged = one_tick(&k, &tally).await;
    // A second hour blob of the window, unchanged: the marginal calls of each active cursor.
    let earlier = PATH.replace("/h=09/", "/h=08/");
    let blob = BlobRef::new(k.blob().container, earlier.as_str());
    k.blobs
        .create_append(&blob, "application/json")
        .await
        .expect("create");
    let source = k.state.ports.sources.default_audit_logs();
    register(&k.state.tailer(), source, &earlier, NOW, NOW, false)
        .await
        .expect("register");
    one_tick(&k, &tally).await;
    let two = one_tick(&k, &tally).await;
    let tunnel = "00000001-0000-4000-8000-000000000000";
    k.append(crate::testkit::tail::connected(tunnel, "2025-03-14T09:10:00Z").as_bytes())
        .await;
    let one_record = one_tick(&k, &tally).await;
    eprintln!(
        "storage calls (blob, table): AuditLogCreated registering an hour blob {created:?}; \
         AuditLogTail per tick: no cursor {idle:?}, one hour blob unchanged {unchanged:?}, \
         two unchanged {two:?}, one of them with one new record {one_record:?}"
    );
    // Bounds, so a change that multiplies the calls of the minute timer shows up here: a watched
    // hour blob that did not grow costs nothing beyond its host's one listing.
    assert!(idle.0 + idle.1 <= 6, "{idle:?}");
    assert_eq!(unchanged.0, 1, "one listing, no read: {unchanged:?}");
    assert!(unchanged.1 <= idle.1 + 1, "{unchanged:?}");
    assert_eq!(two, unchanged, "flat in the watched blobs of a host");
    assert!(one_record.0 + one_record.1 <= 40, "{one_record:?}");
}
