//! A two-person release approval is used once, by its approver, end to end on Azurite through the
//! real `handler` (platform authentication, `HOLD_RELEASE_TWO_PERSON=true`): Alice requests the
//! release of her hold; Bob's approval is left unfinished, as a release that failed after the
//! approval leaves it (the request `approved` by Bob, the hold in force). Alice alone naming the
//! request is refused (403), the recording stays held; Bob's retry releases it.

use bastion_recordings::storage::{BlobRef, BlobStore};
use bastion_recordings::tables::{TableStore, WriteMode};
use reqwest::Method;
use serde_json::json;

use super::duties::{call, catalogued, principal};
use crate::harness::{HandlerProcess, azurite};
use crate::recordings::Rig;

#[tokio::test]
async fn an_approval_left_unfinished_is_not_the_requesters_to_use() {
    let Some(cs) = azurite() else { return };
    let mut rig = Rig::new(&cs).await;
    for (k, v) in [
        ("CATALOGUE_AUTH", "platform"),
        ("HOLD_RELEASE_TWO_PERSON", "true"),
    ] {
        rig.env.vars.insert(k.into(), v.into());
    }
    let api = HandlerProcess::spawn(&rig.env.pairs()).await;
    let tables = rig.tables();
    let id = catalogued(&rig, "approved-then-failed.rec").await;
    let alice = principal("alice@contoso.com", &["Catalogue.Hold"]);
    let bob = principal("bob@contoso.com", &["Catalogue.Hold"]);
    let hold = json!({"recording": id, "reason": "case 76", "holdId": "case-76"});
    let (s, _) = call(&api, Method::POST, "/api/holds", &hold, &alice).await;
    assert_eq!(s, 200);
    let (s, v) = call(&api, Method::DELETE, "/api/holds", &hold, &alice).await;
    assert_eq!(s, 202, "{v}");
    let request = v["requestId"].as_str().expect("request id").to_owned();

    // Bob's approval, its release failed before it changed the hold.
    let mut row = tables
        .get("holds", "release", &request)
        .await
        .expect("get")
        .expect("request");
    for (k, v) in [
        ("Status", "approved"),
        ("ApprovedBy", "bob@contoso.com"),
        ("ApprovedByNames", "bob@contoso.com"),
        ("ApprovedAt", "2026-01-01T00:00:00Z"),
    ] {
        row.entity.insert(k.into(), json!(v));
    }
    tables
        .write("holds", &row.entity, WriteMode::IfMatch(row.etag))
        .await
        .expect("approved");

    let blob = BlobRef::new(rig.container(), "approved-then-failed.rec");
    let class = async || rig.blobs().get_tags(&blob).await.expect("tags")["retentionClass"].clone();
    let mut naming = hold.clone();
    naming["request"] = json!(request);
    let (s, v) = call(&api, Method::DELETE, "/api/holds", &naming, &alice).await;
    assert_eq!(s, 403, "the requester alone: {v}");
    assert_eq!(class().await, "legal-hold");
    let (s, v) = call(&api, Method::DELETE, "/api/holds", &naming, &bob).await;
    assert_eq!(s, 200, "the approver's retry: {v}");
    assert_ne!(class().await, "legal-hold");
    let row = tables.get("holds", "release", &request).await;
    assert_eq!(row.expect("get").expect("row").entity["Status"], "released");
}
