//! Finding growth by listing: a quiet tick lists each host once and reads nothing, whatever it
//! watches; only the blob that grew is read; an hour blob whose event was lost is found by the
//! same listing; the work bound is bytes and records, growth left unread is read first next tick;
//! retirement without a read.

use crate::testkit::DefaultSources;
use bytes::Bytes;
use time::Duration;
use time::macros::datetime;

use super::session;
use crate::audit_logs::created::register;
use crate::audit_logs::repo::{Cursor, CursorRepo};
use crate::storage::BlobStore;
use crate::testkit::Domains;
use crate::testkit::audit::{Kit, NOW, PATH, kit};
use crate::testkit::tail::{connected, connects, run, started, started_with};

/// The hour blob of `host` (a Bastion host name) at `h` hours before 09:00 on 2025-03-14.
fn path(host: &str, back: i64) -> String {
    let hour = datetime!(2025-03-14 09:00 UTC) - Duration::hours(back);
    PATH.replace("BAS-HUB-WEU", host).replace(
        "/y=2025/m=03/d=14/h=09/",
        &format!(
            "/y={}/m={:02}/d={:02}/h={:02}/",
            hour.year(),
            u8::from(hour.month()),
            hour.day(),
            hour.hour()
        ),
    )
}

/// Creates and registers (as `AuditLogCreated` does, without reading) `n` hour blobs of `host`.
async fn watch(k: &Kit, host: &str, n: i64) -> Vec<String> {
    let source = k.state.ports.sources.default_audit_logs();
    let mut names = Vec::new();
    for back in 0..n {
        let name = path(host, back);
        k.blobs
            .create_append(&source.blob(name.as_str()), "application/json")
            .await
            .expect("create");
        register(&k.state.tailer(), source, &name, NOW, NOW, false)
            .await
            .expect("register")
            .expect("a PT1H.json path");
        names.push(name);
    }
    names
}

async fn append(k: &Kit, name: &str, text: &str) {
    let blob = k.state.ports.sources.default_audit_logs().blob(name);
    k.blobs
        .append(&blob, Bytes::copy_from_slice(text.as_bytes()))
        .await
        .expect("append");
}

async fn cursor_of(k: &Kit, name: &str) -> Cursor {
    let hour = crate::audit_logs::path::parse_blob_path(name)
        .expect("path")
        .hour;
    let sources = &k.state.ports.sources;
    let at = sources.cursor_source(sources.default_audit_logs());
    CursorRepo::new(k.state.ports.tables.clone())
        .get(at, name, hour)
        .await
        .expect("get")
        .expect("cursor")
}

/// Blob calls of one tick at `at`, and its report.
async fn counted(k: &Kit, at: time::OffsetDateTime) -> (u64, super::TickReport) {
    let before = k.blobs.calls();
    let r = run(k, at).await;
    (k.blobs.calls() - before, r)
}

#[tokio::test]
async fn a_quiet_tick_lists_each_host_once_and_reads_no_blob_however_many_it_watches() {
    let k = kit(None);
    watch(&k, "BAS-A", 49).await;
    watch(&k, "BAS-B", 1).await;
    run(&k, NOW).await;
    let (calls, r) = counted(&k, NOW).await;
    assert_eq!(
        (calls, r.blobs, r.hosts, r.grown),
        (2, 0, 2, 0),
        "one listing per host, no read: {r:?}"
    );
    // The same with one watched blob per host: as many calls.
    let small = kit(None);
    watch(&small, "BAS-A", 1).await;
    watch(&small, "BAS-B", 1).await;
    run(&small, NOW).await;
    assert_eq!(counted(&small, NOW).await.0, 2);
}

#[tokio::test]
async fn only_the_blob_that_grew_is_read() {
    let k = kit(None);
    let names = watch(&k, "BAS-A", 49).await;
    run(&k, NOW).await;
    let late = &names[30];
    append(
        &k,
        late,
        &connected(
            "0a0a0a0a-0000-4000-8000-000000000001",
            "2025-03-13T03:10:00Z",
        ),
    )
    .await;
    let (calls, r) = counted(&k, NOW).await;
    assert_eq!((calls, r.blobs, r.records, r.grown), (2, 1, 1, 1), "{r:?}");
    assert!(
        session(&k, "0a0a0a0a-0000-4000-8000-000000000001")
            .await
            .is_some()
    );
    let c = cursor_of(&k, late).await;
    assert_eq!(c.seen_length, c.offset, "read to its end: {c:?}");
    assert_eq!(counted(&k, NOW).await.0, 1, "quiet again: the listing only");
}

#[tokio::test]
async fn an_hour_blob_whose_event_was_lost_is_found_by_the_next_listing() {
    let k = started().await;
    let lost = path("BAS-HUB-WEU", 20);
    let blob = k
        .state
        .ports
        .sources
        .default_audit_logs()
        .blob(lost.as_str());
    k.blobs
        .create_append(&blob, "application/json")
        .await
        .expect("create");
    let tunnel = "0b0b0b0b-0000-4000-8000-000000000002";
    append(&k, &lost, &connected(tunnel, "2025-03-13T13:20:00Z")).await;
    let r = run(&k, NOW).await;
    assert_eq!((r.registered, r.records), (1, 1), "{r:?}");
    assert!(session(&k, tunnel).await.is_some());
    let c = cursor_of(&k, &lost).await;
    assert_eq!((c.offset, c.done), (c.seen_length, false));
    let tags = k.blobs.get_tags(&blob).await.expect("tags");
    assert!(
        tags.contains_key(crate::retention::TAG_CLASS),
        "tagged as AuditLogCreated tags"
    );
    assert_eq!(run(&k, NOW).await.registered, 0, "registered once");
}

#[tokio::test]
async fn growth_left_unread_is_marked_and_read_before_newer_growth() {
    // One record per tick: what a tick cannot read waits, oldest growth first.
    let k = started_with(|audit| audit.tail_max_records = 1).await;
    let names = watch(&k, "BAS-A", 4).await;
    let (h9, h8, h7, h6) = (&names[0], &names[1], &names[2], &names[3]);
    append(
        &k,
        h7,
        &connected(
            "00000007-0000-4000-8000-000000000000",
            "2025-03-14T07:10:00Z",
        ),
    )
    .await;
    append(
        &k,
        h8,
        &connected(
            "00000008-0000-4000-8000-000000000000",
            "2025-03-14T08:10:00Z",
        ),
    )
    .await;
    let r = run(&k, NOW).await;
    assert_eq!((r.records, r.grown, r.left), (1, 2, 1), "{r:?}");
    assert!(
        session(&k, "00000007-0000-4000-8000-000000000000")
            .await
            .is_some()
    );
    assert_eq!(
        cursor_of(&k, h8).await.grown_at,
        Some(NOW),
        "marked when left"
    );
    // Newer growth, in an older hour: the marked growth goes first all the same.
    append(
        &k,
        h6,
        &connected(
            "00000006-0000-4000-8000-000000000000",
            "2025-03-14T06:10:00Z",
        ),
    )
    .await;
    let later = NOW + Duration::minutes(1);
    let r = run(&k, later).await;
    assert_eq!((r.records, r.grown, r.left), (1, 2, 1), "{r:?}");
    assert!(
        session(&k, "00000008-0000-4000-8000-000000000000")
            .await
            .is_some()
    );
    assert!(
        session(&k, "00000006-0000-4000-8000-000000000000")
            .await
            .is_none()
    );
    assert_eq!(cursor_of(&k, h8).await.grown_at, None, "read to its end");
    assert_eq!(cursor_of(&k, h6).await.grown_at, Some(later));
    run(&k, later + Duration::minutes(1)).await;
    assert!(
        session(&k, "00000006-0000-4000-8000-000000000000")
            .await
            .is_some()
    );
    assert_eq!(cursor_of(&k, h9).await.grown_at, None, "never grew");
}

#[tokio::test]
async fn a_tick_reads_within_its_records_allowance_and_continues_next_tick() {
    let k = started_with(|audit| {
        audit.tail_max_records = 3;
        audit.max_line_bytes = 1000;
        audit.tail_chunk_bytes = 1;
    })
    .await;
    let text = connects("rr", 10);
    k.append(text.as_bytes()).await;
    let first = run(&k, NOW).await;
    // Checked after each ranged read (about two records of 1 KB each here).
    assert!((3..=5).contains(&first.records), "{first:?}");
    assert_eq!(k.cursor().await.grown_at, Some(NOW), "left unread: marked");
    let mut total = first.records;
    for i in 1..10 {
        total += run(&k, NOW + Duration::minutes(i)).await.records;
    }
    assert_eq!(total, 10);
    assert_eq!(k.cursor().await.grown_at, None);
}

#[tokio::test]
async fn a_quiet_cursor_past_the_window_retires_without_a_read_and_a_gone_blob_retires() {
    let k = started().await;
    k.append(connected("r1", "2025-03-14T09:10:00Z").as_bytes())
        .await;
    run(&k, NOW).await;
    // The same host's blob of two days later, watched then.
    let later = NOW + Duration::hours(49);
    let source = k.state.ports.sources.default_audit_logs();
    let fresh = path("BAS-HUB-WEU", -49);
    k.blobs
        .create_append(&source.blob(fresh.as_str()), "application/json")
        .await
        .expect("create");
    register(&k.state.tailer(), source, &fresh, later, later, false)
        .await
        .expect("register");
    let (calls, _) = counted(&k, later).await;
    assert_eq!(calls, 1, "the listing only");
    assert!(k.cursor().await.done);
    assert!(!cursor_of(&k, &fresh).await.done);
    // A blob deleted under its cursor: the listing misses it, one properties call confirms.
    let names = watch(&k, "BAS-A", 1).await;
    let blob = k
        .state
        .ports
        .sources
        .default_audit_logs()
        .blob(names[0].as_str());
    k.blobs
        .delete_guarded(&blob, None, None)
        .await
        .expect("delete");
    run(&k, NOW).await;
    assert!(cursor_of(&k, &names[0]).await.done);
}
