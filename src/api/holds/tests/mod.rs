//! Holds API: body validation (pure) and set → sweep keeps → list → release restores, over the
//! retention test kit's in-memory stores; 400/401/403/404/409 problems.

mod approval;
mod body;

use axum::http::StatusCode;
use base64::Engine as _;
use serde_json::{Value, json};

use crate::api::ApiSettings;
use crate::api::tests::{platform, principal, send_json};
use crate::retention::hold::HOLDS_TABLE;
use crate::retention::sweep::run;
use crate::retention::{HELD_UNTIL, LEGAL_HOLD, TAG_CLASS, TAG_UNTIL};
use crate::tables::{TableStore as _, WriteMode};
use crate::testkit::Domains;
use crate::testkit::retention::{Kit, kit};

async fn send(
    k: &Kit,
    settings: ApiSettings,
    method: &str,
    uri: &str,
    body: &str,
    headers: &[(&str, &str)],
) -> (StatusCode, Value) {
    send_json(&k.state, settings, (method, uri), body, headers).await
}

async fn call(k: &Kit, method: &str, body: &str) -> (StatusCode, Value) {
    send(k, ApiSettings::key_only(), method, "/api/holds", body, &[]).await
}

/// Sets release request `id`'s `ExpiresAt` in the past.
async fn expire(k: &Kit, id: &str) {
    let mut row = k.tables.get(HOLDS_TABLE, "release", id).await;
    let row = row.as_mut().expect("get").as_mut().expect("request row");
    row.entity
        .insert("ExpiresAt".into(), json!("2000-01-01T00:00:00Z"));
    let write = k.tables.write(HOLDS_TABLE, &row.entity, WriteMode::Upsert);
    write.await.expect("expire");
}

async fn deleted(k: &Kit) -> usize {
    let (r, e) = run(&k.state.sweeper(), &k.params(400, false, 100)).await;
    assert!(e.is_none(), "{e:?}");
    r.deleted
}

#[tokio::test]
async fn set_is_idempotent_keeps_the_blob_from_the_sweep_and_release_restores() {
    let k = kit();
    let (blob, key) = k.ops_recording("a.rec", &[]).await;
    let body = json!({"recording": key.id(), "reason": "case 42"}).to_string();
    let (s, v) = call(&k, "POST", &body).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let hold_id = v["holdId"].as_str().expect("id").to_owned();
    assert_eq!(v["recordings"], json!([key.id()]));
    let (s, again) = call(&k, "POST", &body).await;
    assert_eq!(
        (s, again["holdId"].as_str()),
        (StatusCode::OK, Some(hold_id.as_str()))
    );
    let tags = k.tags(&blob).await;
    assert_eq!(
        (tags[TAG_CLASS].as_str(), tags[TAG_UNTIL].as_str()),
        (LEGAL_HOLD, HELD_UNTIL)
    );
    let headers: Vec<_> = k
        .tables
        .dump(HOLDS_TABLE)
        .into_iter()
        .filter(|s| s.entity["PartitionKey"] == "hold")
        .collect();
    assert_eq!(headers.len(), 1);
    assert_eq!(headers[0].entity["SetBy"], super::ANONYMOUS);
    assert_eq!(
        deleted(&k).await,
        0,
        "a held recording survives a sweep far in the future"
    );
    assert!(k.exists(&blob).await);

    let (s, list) = send(&k, ApiSettings::key_only(), "GET", "/api/holds", "", &[]).await;
    assert_eq!(
        (s, list["count"].clone()),
        (StatusCode::OK, json!(1)),
        "{list}"
    );
    assert_eq!(list["items"][0]["reason"], "case 42");
    let uri = format!("/api/holds?recording={}", key.id());
    let (_, one) = send(&k, ApiSettings::key_only(), "GET", &uri, "", &[]).await;
    assert_eq!(
        (one["legalHold"].clone(), one["items"][0]["holdId"].clone()),
        (json!(true), json!(hold_id))
    );

    let release = json!({"recording": key.id(), "reason": "case closed"}).to_string();
    let (s, r) = call(&k, "DELETE", &release).await;
    assert_eq!(s, StatusCode::OK, "{r}");
    assert_eq!(
        r["restored"],
        json!({"class": "ops-30d", "until": k.day(30)})
    );
    let tags = k.tags(&blob).await;
    assert_eq!(
        (tags[TAG_CLASS].as_str(), tags[TAG_UNTIL].as_str()),
        ("ops-30d", k.day(30).as_str())
    );
    let (_, list) = send(&k, ApiSettings::key_only(), "GET", "/api/holds", "", &[]).await;
    assert_eq!(
        list["count"], 0,
        "the last member released closes the hold: {list}"
    );
    assert_eq!(call(&k, "DELETE", &release).await.0, StatusCode::CONFLICT);
    assert_eq!(deleted(&k).await, 1, "released: due again");
}

#[tokio::test]
async fn bulk_holds_and_principal_names() {
    let k = kit();
    let user = [("UserName", json!("mallory"))];
    let (b1, _) = k.ops_recording("m1.rec", &user).await;
    let (b2, _) = k.ops_recording("m2.rec", &user).await;
    let (other, _) = k.ops_recording("o.rec", &[]).await;
    let day = k.day(0);
    let body = json!({"reason": "insider case", "holdId": "case-7",
        "bulk": {"from": day, "to": day, "user": "mallory"}})
    .to_string();
    let who = principal("alice@contoso.com", &["Catalogue.Hold"]);
    let strict = platform();
    let hdr = [("x-ms-client-principal", who.as_str())];
    let (s, v) = send(&k, strict.clone(), "POST", "/api/holds", &body, &hdr).await;
    assert_eq!(
        (s, v["count"].clone(), v["holdId"].clone()),
        (StatusCode::OK, json!(2), json!("case-7")),
        "{v}"
    );
    assert!(
        k.tables
            .dump(HOLDS_TABLE)
            .iter()
            .any(|s| s.entity["RowKey"] == "case-7" && s.entity["SetBy"] == "alice@contoso.com")
    );
    for (b, held) in [(&b1, true), (&b2, true), (&other, false)] {
        assert_eq!(k.tags(b).await[TAG_CLASS] == LEGAL_HOLD, held);
    }
    let (s, v) = send(&k, strict, "DELETE", "/api/holds", &body, &hdr).await;
    assert_eq!(
        (s, v["released"].clone()),
        (StatusCode::OK, json!(2)),
        "{v}"
    );
    assert_eq!(k.tags(&b1).await[TAG_CLASS], "ops-30d");
}

#[tokio::test]
async fn problems_for_bad_bodies_unknown_and_deleted_recordings_and_missing_roles() {
    let k = kit();
    let (_, key) = k.ops_recording("p.rec", &[]).await;
    for bad in [
        "",
        "not json",
        "{}",
        r#"{"reason":"x"}"#,
        r#"{"recording":"2025-01-01~eA"}"#,
    ] {
        let (s, v) = call(&k, "POST", bad).await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{bad}");
        assert_eq!(v["status"], 400);
    }
    let unknown = json!({"recording": "2025-01-01~eA", "reason": "r"}).to_string();
    assert_eq!(call(&k, "POST", &unknown).await.0, StatusCode::NOT_FOUND);
    assert_eq!(call(&k, "DELETE", &unknown).await.0, StatusCode::NOT_FOUND);
    // Not a member of the derived hold.
    let never = json!({"recording": key.id(), "reason": "r"}).to_string();
    assert_eq!(call(&k, "DELETE", &never).await.0, StatusCode::NOT_FOUND);
    let mut tomb = serde_json::Map::new();
    tomb.insert("PartitionKey".into(), json!("2025-01-01"));
    tomb.insert("RowKey".into(), json!("eA"));
    k.tables.ensure_table("deletions").await.expect("table");
    k.tables
        .write("deletions", &tomb, WriteMode::Upsert)
        .await
        .expect("tombstone");
    let (s, v) = call(&k, "POST", &unknown).await;
    assert_eq!(s, StatusCode::CONFLICT, "{v}");
    let strict = platform();
    let (s, _) = send(&k, strict.clone(), "POST", "/api/holds", &never, &[]).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    let reader = principal("bob", &["Catalogue.Read"]);
    let hdr = [("x-ms-client-principal", reader.as_str())];
    for m in ["POST", "DELETE"] {
        assert_eq!(
            send(&k, strict.clone(), m, "/api/holds", &never, &hdr)
                .await
                .0,
            StatusCode::FORBIDDEN
        );
    }
    assert_eq!(
        send(&k, strict, "GET", "/api/holds", "", &hdr).await.0,
        StatusCode::OK
    );
    let (s, _) = send(
        &k,
        ApiSettings::key_only(),
        "GET",
        "/api/holds?recordin=x",
        "",
        &[],
    )
    .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn a_two_person_release_needs_a_second_principal_with_the_role() {
    let mut k = kit();
    // Off (the default): one principal's release releases.
    let (one, one_key) = k.ops_recording("one.rec", &[]).await;
    let single = json!({"recording": one_key.id(), "reason": "case 10"}).to_string();
    let carol = principal("carol@contoso.com", &["Catalogue.Hold"]);
    let h = [("x-ms-client-principal", carol.as_str())];
    let (s, _) = send(&k, platform(), "POST", "/api/holds", &single, &h).await;
    assert_eq!(s, StatusCode::OK);
    let (s, v) = send(&k, platform(), "DELETE", "/api/holds", &single, &h).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(k.tags(&one).await[TAG_CLASS], "ops-30d");

    std::sync::Arc::make_mut(&mut k.state.config)
        .retention
        .hold_release_two_person = true;
    let (blob, key) = k.ops_recording("tp.rec", &[]).await;
    let body = json!({"recording": key.id(), "reason": "case 9", "holdId": "case-9"}).to_string();
    let alice = principal("alice@contoso.com", &["Catalogue.Hold"]);
    let alice_again = principal("ALICE@contoso.com", &["Catalogue.Hold"]);
    let bob = principal("bob@contoso.com", &["Catalogue.Hold"]);
    let reader = principal("carol@contoso.com", &["Catalogue.Read"]);
    // An application's token: the role and its object id, no user name.
    let app = base64::engine::general_purpose::STANDARD.encode(
        json!({"claims": [{"typ": "roles", "val": "Catalogue.Hold"},
            {"typ": "http://schemas.microsoft.com/identity/claims/objectidentifier", "val": "oid-app"}]})
        .to_string(),
    );
    let as_ = |p: &str| vec![("x-ms-client-principal", p.to_owned())];
    let naming = |request: &str| {
        json!({"recording": key.id(), "reason": "case 9", "holdId": "case-9", "request": request})
            .to_string()
    };
    let go_with = async |method: &str, who: &str, body: &str| {
        let h = as_(who);
        let h: Vec<(&str, &str)> = h.iter().map(|(a, b)| (*a, b.as_str())).collect();
        send(&k, platform(), method, "/api/holds", body, &h).await
    };
    let go = async |method: &str, who: &str| go_with(method, who, &body).await;
    assert_eq!(go("POST", &alice).await.0, StatusCode::OK);
    // The first release is a request: the hold stays in force.
    let (s, v) = go("DELETE", &alice).await;
    assert_eq!(s, StatusCode::ACCEPTED, "{v}");
    assert_eq!(
        (v["status"].as_str(), v["requestedBy"].as_str()),
        (Some("pending"), Some("alice@contoso.com"))
    );
    let first = v["requestId"].as_str().expect("request id").to_owned();
    assert!(
        v["awaiting"]
            .as_str()
            .is_some_and(|a| a.contains("different principal"))
    );
    assert_eq!(k.tags(&blob).await[TAG_CLASS], LEGAL_HOLD);
    // The requester again (at the same instant; another spelling of the same UPN): refused,
    // still held.
    let (s, v) = go("DELETE", &alice).await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{v}");
    let (s, v) = go("DELETE", &alice_again).await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{v}");
    assert!(
        v["detail"]
            .as_str()
            .is_some_and(|d| d.contains("requested by this principal"))
    );
    let (s, v) = go_with("DELETE", &alice, &naming(&first)).await;
    assert_eq!(s, StatusCode::FORBIDDEN, "the requester naming it: {v}");
    assert_eq!(k.tags(&blob).await[TAG_CLASS], LEGAL_HOLD);
    // Without the hold role: 403 for the role, nothing approved.
    assert_eq!(go("DELETE", &reader).await.0, StatusCode::FORBIDDEN);
    // A second person's release that names no request approves nothing: 409 naming the request.
    let (s, v) = go("DELETE", &bob).await;
    assert_eq!(s, StatusCode::CONFLICT, "{v}");
    assert!(
        v["detail"].as_str().is_some_and(|d| d.contains(&first)),
        "{v}"
    );
    // An application token is no person: neither approver nor requester.
    let (s, v) = go_with("DELETE", &app, &naming(&first)).await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{v}");
    assert!(
        v["detail"]
            .as_str()
            .is_some_and(|d| d.contains("names no user")),
        "{v}"
    );
    assert_eq!(k.tags(&blob).await[TAG_CLASS], LEGAL_HOLD);
    // An unknown request: 404.
    let (s, v) = go_with("DELETE", &bob, &naming("no-such-request")).await;
    assert_eq!(s, StatusCode::NOT_FOUND, "{v}");
    // A different person with the role releases it naming the request; both are on the record.
    let (s, v) = go_with("DELETE", &bob, &naming(&first)).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["twoPerson"]["approvedBy"], "bob@contoso.com");
    assert_eq!(v["twoPerson"]["requestId"], first.as_str());
    assert_eq!(k.tags(&blob).await[TAG_CLASS], "ops-30d");
    let rows = k.tables.dump(HOLDS_TABLE);
    let member = rows
        .iter()
        .find(|s| s.entity["PartitionKey"] == "m~case-9")
        .expect("member");
    assert_eq!(member.entity["ReleaseRequestedBy"], "alice@contoso.com");
    assert_eq!(member.entity["ReleaseApprovedBy"], "bob@contoso.com");
    assert_eq!(member.entity["ReleasedBy"], "bob@contoso.com");
    let request = rows
        .iter()
        .find(|s| s.entity["PartitionKey"] == "release")
        .expect("request");
    assert_eq!(request.entity["Status"], "released");
    // Released: a repeat is the usual 409.
    assert_eq!(go("DELETE", &bob).await.0, StatusCode::CONFLICT);

    // Placed again at the same instant (the same second): the released request approves
    // nothing; the requester alone gets a new request, and the hold stays.
    assert_eq!(go("POST", &alice).await.0, StatusCode::OK);
    assert_eq!(k.tags(&blob).await[TAG_CLASS], LEGAL_HOLD);
    let (s, v) = go("DELETE", &alice).await;
    assert_eq!(s, StatusCode::ACCEPTED, "{v}");
    let second = v["requestId"].as_str().expect("request id").to_owned();
    assert_ne!(second, first);
    assert_eq!(k.tags(&blob).await[TAG_CLASS], LEGAL_HOLD);
    let (s, v) = go_with("DELETE", &bob, &naming(&first)).await;
    assert_eq!(s, StatusCode::CONFLICT, "a released request again: {v}");
    assert_eq!(k.tags(&blob).await[TAG_CLASS], LEGAL_HOLD);
    // Past its `ExpiresAt`, an open request approves nothing either; a new one replaces it.
    expire(&k, &second).await;
    let (s, v) = go_with("DELETE", &bob, &naming(&second)).await;
    assert_eq!(s, StatusCode::CONFLICT, "{v}");
    assert!(
        v["detail"].as_str().is_some_and(|d| d.contains("expired")),
        "{v}"
    );
    assert_eq!(k.tags(&blob).await[TAG_CLASS], LEGAL_HOLD);
    let (s, v) = go("DELETE", &bob).await;
    assert_eq!(s, StatusCode::ACCEPTED, "a new request by bob: {v}");
    let third = v["requestId"].as_str().expect("request id").to_owned();
    let expired = k
        .tables
        .get(HOLDS_TABLE, "release", &second)
        .await
        .expect("get")
        .expect("row");
    assert_eq!(expired.entity["Status"], "expired");
    let (s, v) = go_with("DELETE", &alice, &naming(&third)).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(k.tags(&blob).await[TAG_CLASS], "ops-30d");
}
