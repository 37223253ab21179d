//! Records valid as JSON but too big for a table: the tail keeps going instead of failing the blob
//! on every tick (the in-memory tables refuse what the service refuses).

use super::session;

use crate::catalogue::session::MAX_FIELD;
use crate::testkit::audit::{NOW, line};
use crate::testkit::tail::{connected, run, started};

#[tokio::test]
async fn oversized_fields_are_cut_and_unkeyable_tunnels_skipped_not_retried_forever() {
    let k = started().await;
    let huge_user = "u".repeat(100 * 1024);
    let bad_tunnel = format!("{}/{}", "t".repeat(1500), "x");
    let connect = "Successfully Connected.";
    let text = line(
        "t-big",
        "2025-03-14T09:20:00Z",
        connect,
        "VM1",
        &huge_user,
        "",
    ) + &connected(&bad_tunnel, "2025-03-14T09:21:00Z")
        + &line("t-ok", "2025-03-14T09:22:00Z", connect, "VM2", "alice", "");
    k.append(text.as_bytes()).await;
    let r = run(&k, NOW).await;
    assert_eq!((r.blobs, r.failed, r.records), (1, 0, 3), "{r:?}");
    let big = session(&k, "t-big").await.expect("stored");
    assert_eq!(big.user_name.len(), MAX_FIELD);
    assert!(session(&k, "t-ok").await.is_some());
    let again = run(&k, NOW).await;
    assert_eq!(
        (again.failed, again.records),
        (0, 0),
        "nothing left to retry: {again:?}"
    );
}
