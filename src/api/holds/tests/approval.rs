//! A two-person release whose release failed after the approval: the approval was consumed by the
//! approver's attempt. The requester alone cannot use it (403), nor can a third person (409); the
//! approver's retry finishes it; past its `ExpiresAt` nobody can (409, marked `expired`).

use axum::http::StatusCode;
use serde_json::{Value, json};

use super::send;
use crate::api::tests::{platform, principal};
use crate::retention::hold::HOLDS_TABLE;
use crate::retention::{LEGAL_HOLD, TAG_CLASS};
use crate::tables::{TableStore as _, WriteMode};
use crate::testkit::retention::{Kit, kit};

/// `DELETE /api/holds` of `body` as principal `who`.
async fn release(k: &Kit, who: &str, body: &Value) -> (StatusCode, Value) {
    let h = [("x-ms-client-principal", who)];
    send(k, platform(), "DELETE", "/api/holds", &body.to_string(), &h).await
}

/// Holds `name`, has alice request its release, and leaves the request as bob's approval whose
/// release then failed before it changed the hold (a storage error on the hold's rows) leaves it:
/// `approved`, by bob, the hold still in force. The body naming the request.
async fn approved_but_failed(k: &Kit, name: &str, hold: &str) -> Value {
    let (blob, key) = k.ops_recording(name, &[]).await;
    let mut body = json!({"recording": key.id(), "reason": "case 70", "holdId": hold});
    let alice = principal("alice@contoso.com", &["Catalogue.Hold"]);
    let h = [("x-ms-client-principal", alice.as_str())];
    let (s, _) = send(k, platform(), "POST", "/api/holds", &body.to_string(), &h).await;
    assert_eq!(s, StatusCode::OK);
    let (s, v) = release(k, &alice, &body).await;
    assert_eq!(s, StatusCode::ACCEPTED, "{v}");
    body["request"] = v["requestId"].clone();
    let id = body["request"].as_str().expect("request id");
    let mut row = k.tables.get(HOLDS_TABLE, "release", id).await;
    let row = row.as_mut().expect("get").as_mut().expect("request row");
    for (p, v) in [
        ("Status", "approved"),
        ("ApprovedBy", "bob@contoso.com"),
        ("ApprovedByObjectId", ""),
        ("ApprovedByNames", "bob@contoso.com"),
        ("ApprovedAt", "2026-01-01T00:00:00Z"),
        ("ApproveReason", "case 70"),
    ] {
        row.entity.insert(p.into(), json!(v));
    }
    let write = k.tables.write(HOLDS_TABLE, &row.entity, WriteMode::Upsert);
    write.await.expect("approved");
    assert_eq!(k.tags(&blob).await[TAG_CLASS], LEGAL_HOLD);
    body
}

#[tokio::test]
async fn an_approval_left_by_a_failed_release_is_the_approvers_alone_and_expires() {
    let mut k = kit();
    std::sync::Arc::make_mut(&mut k.state.config)
        .retention
        .hold_release_two_person = true;
    let alice = principal("alice@contoso.com", &["Catalogue.Hold"]);
    let bob = principal("bob@contoso.com", &["Catalogue.Hold"]);
    let carol = principal("carol@contoso.com", &["Catalogue.Hold"]);

    let body = approved_but_failed(&k, "failed-once.rec", "case-70").await;
    let blob = crate::storage::BlobRef::new("recordings", "failed-once.rec");
    // The requester alone, naming the approved request: refused, still held.
    let (s, v) = release(&k, &alice, &body).await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{v}");
    assert!(
        v["detail"]
            .as_str()
            .is_some_and(|d| d.contains("never its requester")),
        "{v}"
    );
    assert_eq!(k.tags(&blob).await[TAG_CLASS], LEGAL_HOLD);
    // Someone else: the approval is not theirs.
    let (s, v) = release(&k, &carol, &body).await;
    assert_eq!(s, StatusCode::CONFLICT, "{v}");
    assert_eq!(k.tags(&blob).await[TAG_CLASS], LEGAL_HOLD);
    // The approver's retry finishes what the approval allowed.
    let (s, v) = release(&k, &bob, &body).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["twoPerson"]["approvedBy"], "bob@contoso.com");
    assert_eq!(k.tags(&blob).await[TAG_CLASS], "ops-30d");

    // An approval expires as a request does: past `ExpiresAt`, not even its approver uses it.
    let body = approved_but_failed(&k, "failed-then-late.rec", "case-71").await;
    let id = body["request"].as_str().expect("request id");
    super::expire(&k, id).await;
    let (s, v) = release(&k, &bob, &body).await;
    assert_eq!(s, StatusCode::CONFLICT, "{v}");
    assert!(
        v["detail"].as_str().is_some_and(|d| d.contains("expired")),
        "{v}"
    );
    let late = crate::storage::BlobRef::new("recordings", "failed-then-late.rec");
    assert_eq!(k.tags(&late).await[TAG_CLASS], LEGAL_HOLD);
    let row = k.tables.get(HOLDS_TABLE, "release", id).await;
    assert_eq!(row.expect("get").expect("row").entity["Status"], "expired");
}
