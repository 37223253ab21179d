//! The SDK-backed store against a scripted local HTTP server: the SAS is added to every attempt
//! (once), properties are parsed, transport failures are transient and redacted.

use super::AzureBlobStore;
use crate::storage::{BlobKind, BlobRef, BlobStore};
use crate::testkit::{closed_service, loopback_connection, scripted_service as server};

const PROPS: &str = "HTTP/1.1 200 OK\r\nContent-Length: 3\r\nContent-Type: text/plain\r\nETag: \"0x8D1\"\r\n\
x-ms-blob-type: AppendBlob\r\nx-ms-meta-Owner: alice\r\nx-ms-tag-count: 2\r\n\
x-ms-creation-time: Sun, 22 Nov 2026 10:00:00 GMT\r\nLast-Modified: Sun, 22 Nov 2026 11:00:00 GMT\r\nConnection: close\r\n\r\n";
const BUSY: &str = "HTTP/1.1 503 Busy\r\nx-ms-error-code: ServerBusy\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";

fn store(blob: &str) -> AzureBlobStore {
    store_with(blob, Default::default())
}

fn store_with(blob: &str, timeouts: crate::azure::Timeouts) -> AzureBlobStore {
    AzureBlobStore::new(&loopback_connection(blob, timeouts)).expect("store")
}

#[tokio::test]
async fn every_attempt_carries_exactly_one_sas_and_properties_parse() {
    let (url, seen) = server(vec![BUSY.into(), PROPS.into()]).await;
    let p = store(&url)
        .properties(&BlobRef::new("c", "dir/a b.txt"))
        .await
        .expect("retried, then ok");
    let lines = seen.lock().expect("log").clone();
    assert_eq!(lines.len(), 2, "{lines:?}");
    for line in &lines {
        assert_eq!(line.matches("sig=").count(), 1, "{line}");
        assert_eq!(line.matches("sv=").count(), 1, "{line}");
        // The SDK escapes `/` inside the blob name; the service decodes it (names round trip).
        assert!(
            line.contains("/devstoreaccount1/c/dir%2Fa%20b.txt?"),
            "{line}"
        );
    }
    assert_eq!(
        (p.content_length, p.etag.as_str(), p.kind),
        (3, "0x8D1", Some(BlobKind::Append))
    );
    assert_eq!(p.metadata.get("owner").map(String::as_str), Some("alice"));
    assert_eq!(p.tag_count, Some(2));
    assert!(
        p.created
            .is_some_and(|c| c < p.last_modified.expect("modified"))
    );
}

#[tokio::test]
async fn unreachable_service_is_transient_and_never_shows_the_sas() {
    let r = store(&closed_service())
        .properties(&BlobRef::new("c", "b"))
        .await;
    let (e, _) = crate::testkit::failure_without_sas(r);
    assert!(e.is_retryable(), "{e}");
}

#[tokio::test]
async fn a_frozen_service_fails_the_call_at_its_total_timeout_retryably() {
    let (url, accepted) = crate::testkit::frozen_service().await;
    let d = crate::testkit::short_timeouts();
    let started = std::time::Instant::now();
    let r = store_with(&url, d)
        .properties(&BlobRef::new("c", "b"))
        .await;
    let took = started.elapsed();
    assert!(matches!(&r, Err(e) if e.is_retryable()), "{r:?}");
    let late = d.total + std::time::Duration::from_millis(500);
    // The policy gives up at once when its next back-off would pass the end: after the second try
    // at the earliest, which cannot end before the total less one try.
    assert!(took >= d.total - d.per_try && took < late, "{took:?}");
    assert!(
        accepted.load(std::sync::atomic::Ordering::SeqCst) >= 2,
        "each try timed out after the per-try timeout and was retried"
    );
}
