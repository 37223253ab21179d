//! Records valid as JSON but too big for a table: the tail keeps going instead of failing the blob
//! on every tick (the in-memory tables refuse what the service refuses).

use super::super::*;
use crate::audit_logs::join::get_session;
use crate::audit_logs::sessions::MAX_FIELD;
use crate::audit_logs::testkit::{NOW, kit, line};
use crate::testing::Domains;

#[tokio::test]
async fn oversized_fields_are_cut_and_unkeyable_tunnels_skipped_not_retried_forever() {
    let k = kit(None);
    k.create_log().await;
    k.register().await;
    let huge_user = "u".repeat(100 * 1024);
    let bad_tunnel = format!("{}/{}", "t".repeat(1500), "x");
    let text = line(
        "t-big",
        "2025-03-14T09:20:00Z",
        "Successfully Connected.",
        "VM1",
        &huge_user,
        "",
    ) + &line(
        &bad_tunnel,
        "2025-03-14T09:21:00Z",
        "Successfully Connected.",
        "VM1",
        "u",
        "",
    ) + &line(
        "t-ok",
        "2025-03-14T09:22:00Z",
        "Successfully Connected.",
        "VM2",
        "alice",
        "",
    );
    k.append(text.as_bytes()).await;
    let r = tick(&k.state.tail(), NOW).await.expect("tick");
    assert_eq!((r.blobs, r.failed, r.records), (1, 0, 3), "{r:?}");
    let big = get_session(&k.state.ports.tables, "t-big")
        .await
        .expect("read")
        .expect("stored");
    assert_eq!(big.user_name.len(), MAX_FIELD);
    assert!(
        get_session(&k.state.ports.tables, "t-ok")
            .await
            .expect("read")
            .is_some()
    );
    let again = tick(&k.state.tail(), NOW).await.expect("tick");
    assert_eq!(
        (again.failed, again.records),
        (0, 0),
        "nothing left to retry: {again:?}"
    );
}
