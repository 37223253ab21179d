//! The last line of a blob without its newline: a complete object is read at once (and the newline
//! that may follow is not a second read of it), a partial one waits, a block blob is complete.

use bytes::Bytes;

use super::session;

use crate::storage::{BlobStore, Metadata};
use crate::testkit::audit::{NOW, kit};
use crate::testkit::tail::{connected, run, started};

fn record(tunnel: &str) -> String {
    connected(tunnel, "2025-03-14T09:20:00Z")
        .trim_end()
        .to_owned()
}

#[tokio::test]
async fn a_complete_last_record_is_read_at_once_and_its_late_newline_is_no_second_read() {
    let k = started().await;
    let first = record("a1");
    k.append(first.as_bytes()).await;
    let r = run(&k, NOW).await;
    assert_eq!((r.records, r.corrupt), (1, 0));
    assert_eq!(
        k.cursor().await.offset,
        first.len() as u64,
        "consumed whole"
    );
    assert!(session(&k, "a1").await.is_some());
    // The writer ends the line later, then goes on.
    k.append(b"\r\n").await;
    let r = run(&k, NOW).await;
    assert_eq!(
        (r.records, r.corrupt),
        (0, 0),
        "the newline alone is no record"
    );
    let second = record("a2");
    k.append(format!("{second}\n").as_bytes()).await;
    let r = run(&k, NOW).await;
    assert_eq!((r.records, r.corrupt), (1, 0));
    assert_eq!(k.cursor().await.records, 2, "each record read once");
}

#[tokio::test]
async fn a_writer_that_never_ends_its_lines_is_read_record_by_record() {
    let k = started().await;
    k.append(record("b1").as_bytes()).await;
    assert_eq!(run(&k, NOW).await.records, 1);
    k.append(record("b2").as_bytes()).await;
    assert_eq!(run(&k, NOW).await.records, 1);
    assert_eq!(k.cursor().await.records, 2);
}

#[tokio::test]
async fn a_partial_last_line_waits_for_the_rest() {
    let k = started().await;
    let whole = record("c1");
    let (head, rest) = whole.split_at(whole.len() / 2);
    k.append(head.as_bytes()).await;
    let r = run(&k, NOW).await;
    assert_eq!((r.records, r.corrupt, k.cursor().await.offset), (0, 0, 0));
    k.append(rest.as_bytes()).await;
    let r = run(&k, NOW).await;
    assert_eq!(
        (r.records, r.corrupt),
        (1, 0),
        "complete now, still no newline"
    );
}

#[tokio::test]
async fn a_block_blob_is_complete_when_created() {
    let k = kit(None);
    let cut = br#"{"time":"2025-03-14T09:21:00Z","properties":{"tunnelId":"e2""#;
    let body = [format!("{}\n", record("e1")).as_bytes(), cut].concat();
    k.blobs
        .put(
            &k.blob(),
            Bytes::from(body.clone()),
            "application/json",
            &Metadata::new(),
        )
        .await
        .expect("put");
    k.register().await;
    let r = run(&k, NOW).await;
    assert_eq!(
        (r.records, r.corrupt),
        (1, 1),
        "its cut last line will never be completed: quarantined now, not in two days"
    );
    assert_eq!(k.cursor().await.offset, body.len() as u64);
}
