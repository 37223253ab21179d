//! Retirement: a cursor is retired 48 h after its hour, only once the blob was read to its end.

use time::Duration;

use crate::testkit::audit::NOW;
use crate::testkit::tail::{connected, connects, run, started, started_with};

#[tokio::test]
async fn cursors_retire_after_the_window_reading_a_final_partial_line() {
    let k = started().await;
    let last = connected("late", "2025-03-14T09:59:00Z");
    k.append(last.trim_end().as_bytes()).await;
    assert_eq!(
        run(&k, NOW).await.records,
        1,
        "a complete object is a whole record, newline or not"
    );
    // A writer that stopped mid-record: waits for the rest while the blob may grow.
    k.append(br#"{"time":"2025-03-14T09:59:30Z","properties":{"tunnelId":"cut""#)
        .await;
    let r = run(&k, NOW).await;
    assert_eq!((r.records, r.corrupt), (0, 0), "a partial line waits");
    let later = NOW + Duration::hours(48);
    let r = run(&k, later).await;
    assert_eq!(
        (r.records, r.corrupt),
        (0, 1),
        "at retirement the partial line is final: quarantined"
    );
    assert!(k.cursor().await.done);
    assert_eq!(
        run(&k, later).await.blobs,
        0,
        "retired cursors are not read"
    );
}

#[tokio::test]
async fn a_budget_cut_does_not_retire_a_cursor_with_unread_bytes() {
    let k = started_with(|audit| {
        audit.tail_max_bytes = 1;
        audit.tail_chunk_bytes = 1;
        audit.max_line_bytes = 1000;
    })
    .await;
    let text = connects("r", 5);
    k.append(text.as_bytes()).await;
    let later = NOW + Duration::hours(49);
    let mut total = 0;
    for _ in 0..10 {
        total += run(&k, later).await.records;
        if k.cursor().await.done {
            break;
        }
    }
    assert_eq!(total, 5, "every record read before retirement");
    assert!(k.cursor().await.done);
}
