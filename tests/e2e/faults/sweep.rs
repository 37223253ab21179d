//! `RetentionSweep` under faults: a run that deletes and then fails (or is killed) must not take
//! its deletions out of the digest, and a delete whose answer was lost is still listed.

use std::collections::BTreeSet;

use super::proxy::{Fault, Proxy, Rule, Service};
use super::rig::spawn;
use bastion_recordings::storage::BlobStore;

use crate::retention::azurite::{Env, setup};

/// Three expired recordings. The first run deletes `a`, loses the answer to the delete of `b` (the
/// service deleted it; the client's retry finds it gone) and cannot reach the service for `c`
/// (connection reset on every try), so it fails after finishing its page and emits nothing. The
/// retry deletes `c`; its digest must list all three, since no earlier digest announced `a` or `b`.
#[tokio::test]
async fn a_failed_run_s_deletions_are_announced_by_the_retry() {
    let Some(e) = setup() else { return };
    for name in ["a.rec", "b.rec", "c.rec"] {
        e.recording(name, 30, false).await;
    }
    let proxy = Proxy::start(&e.env.connection).await;
    let h = spawn(&e.env, &proxy.connection, &[]).await;
    let delete = |name: &str, fault| {
        Rule::new(fault)
            .service(Service::Blob)
            .method("DELETE")
            .path(name)
    };
    proxy.add(delete("/b.rec", Fault::DropAnswer));
    proxy.add(delete("/c.rec", Fault::Reset).always());
    let (status, body) = h.invoke("RetentionSweep", &e.timer(400)).await;
    assert_eq!(status, 500, "{body}\n{}", h.log_text());
    assert_eq!(proxy.fired(Fault::DropAnswer), 1);
    assert!(proxy.fired(Fault::Reset) >= 1);
    assert_eq!(left(&e).await, ["c.rec"], "c survived the run");

    proxy.clear();
    let (status, body) = h.invoke("RetentionSweep", &e.timer(400)).await;
    assert_eq!(status, 200, "{body}\n{}", h.log_text());
    let digest = &body["Outputs"]["notifications"];
    assert_eq!(digest["type"], "retention.deleted", "{body}");
    let listed: BTreeSet<&str> = digest["data"]["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter_map(|i| i["blob"].as_str())
        .filter_map(|b| b.rsplit('/').next())
        .collect();
    assert_eq!(
        listed,
        BTreeSet::from(["a.rec", "b.rec", "c.rec"]),
        "{digest}"
    );
    assert!(left(&e).await.is_empty());
    // Announced: a later run on the same day has nothing to say.
    let (status, body) = h.invoke("RetentionSweep", &e.timer(400)).await;
    assert_eq!(status, 200, "{body}");
    assert!(body["Outputs"]["notifications"].is_null(), "{body}");
}

/// Names of the recordings still stored.
async fn left(e: &Env) -> Vec<String> {
    let page = e
        .blobs
        .list(e.env.recordings(), None, None)
        .await
        .expect("list");
    page.items.into_iter().map(|b| b.name).collect()
}
