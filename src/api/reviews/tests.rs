//! `POST`/`GET /api/reviews` over the in-memory fakes: the reviewer is the caller (a forged body
//! field is ignored), retries are no-ops, a deleted recording's review keeps its tombstone, roles,
//! filters and CSV.

use std::sync::Arc;

use axum::http::StatusCode;
use serde_json::{Value, json};
use time::macros::datetime;

use crate::api::ApiSettings;
use crate::api::tests::{get_text, platform, principal, row, send_json};
use crate::testkit::clock::FixedClock;
use crate::testkit::{Fakes, fakes};

async fn post(
    f: &Fakes,
    settings: ApiSettings,
    body: &Value,
    headers: &[(&str, &str)],
) -> (StatusCode, Value) {
    let body = body.to_string();
    send_json(&f.state, settings, ("POST", "/api/reviews"), &body, headers).await
}

#[tokio::test]
async fn reviewer_is_the_caller_and_a_retry_is_the_same_review() {
    let mut f = fakes();
    let clock = Arc::new(FixedClock::new(datetime!(2025-03-14 10:00 UTC)));
    f.state.ports.clock = clock.clone();
    let id = row(
        &f,
        "vm-a/r1.rec",
        "2025-03-14T08:00:00Z",
        json!({"BastionHost": "bas-1", "TargetVm": "vm-a", "UserName": "alice"}),
    )
    .await;
    let body = json!({"recording": id, "verdict": "ok", "reviewer": "mallory@evil"});
    let (s, first) = post(&f, ApiSettings::key_only(), &body, &[]).await;
    assert_eq!(s, StatusCode::CREATED, "{first}");
    assert_eq!(first["reviewer"], "function-key caller");
    assert_eq!(first["bastionHost"], "bas-1");
    let (s, again) = post(&f, ApiSettings::key_only(), &body, &[]).await;
    assert_eq!((s, &again), (StatusCode::OK, &first));

    // Behind platform authentication: a reader is refused, a reviewer is named from the principal.
    let reader = principal("reader@contoso.com", &["Catalogue.Read"]);
    let reviewer = principal("rev@contoso.com", &["Catalogue.Review"]);
    let follow =
        json!({"recording": id, "verdict": "follow-up", "comment": "ask alice", "reviewer": "x"});
    let (s, _) = post(
        &f,
        platform(),
        &follow,
        &[("x-ms-client-principal", &reader)],
    )
    .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    clock.advance(time::Duration::minutes(5));
    let key = [
        ("x-ms-client-principal", reviewer.as_str()),
        ("idempotency-key", "k-1"),
    ];
    let (s, second) = post(&f, platform(), &follow, &key).await;
    assert_eq!(s, StatusCode::CREATED, "{second}");
    assert_eq!(second["reviewer"], "rev@contoso.com");
    assert_ne!(second["reviewId"], first["reviewId"]);
    // The same key for another review is a conflict, not a silent overwrite.
    let other = json!({"recording": id, "verdict": "ok"});
    let (s, _) = post(&f, platform(), &other, &key).await;
    assert_eq!(s, StatusCode::CONFLICT);

    // Both stay in the log; the latest row names the second, superseding the first.
    let (s, text) = get_text(&f, "/api/reviews?from=2025-03-14&to=2025-03-15").await;
    assert_eq!(s, StatusCode::OK);
    let v: Value = serde_json::from_str(&text).expect("json");
    assert_eq!(v["count"], 2, "{v}");
    let (_, text) = get_text(
        &f,
        "/api/reviews?from=2025-03-14&to=2025-03-15&verdict=follow-up&format=csv",
    )
    .await;
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 2, "{text}");
    assert!(lines[1].contains("rev@contoso.com") && lines[1].contains("ask alice"));
    let latest = crate::reviews::period::latest_of_days(f.tables.as_ref(), &["2025-03-14".into()])
        .await
        .expect("latest");
    let l = &latest[&format!("recording~{id}")];
    assert_eq!(l.reviewer, "rev@contoso.com");
}

#[tokio::test]
async fn bad_bodies_unknown_subjects_and_deleted_recordings() {
    let f = fakes();
    for bad in [
        json!({"verdict": "ok"}),
        json!({"recording": "2025-03-14~eA", "session": "t", "verdict": "ok"}),
        json!({"recording": "2025-03-14~eA", "verdict": "fine"}),
        json!({"recording": "2025-03-14~eA", "verdict": "incident"}),
        json!({"recording": "nope", "verdict": "ok"}),
    ] {
        let (s, v) = post(&f, ApiSettings::key_only(), &bad, &[]).await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{bad}: {v}");
    }
    let (s, _) = post(
        &f,
        ApiSettings::key_only(),
        &json!({"session": "t-none", "verdict": "ok"}),
        &[],
    )
    .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    // A recording deleted by retention: its tombstone has the catalogue key.
    let tomb = json!({"PartitionKey": "2025-03-01", "RowKey": "eA", "TombstoneId": "2025-03-01~eA",
        "DeletedAt": "2025-03-10T00:00:00Z", "Reason": "retention-expired"});
    crate::testkit::upsert(f.tables.as_ref(), "deletions", tomb).await;
    let body = json!({"recording": "2025-03-01~eA", "verdict": "incident", "comment": "late find"});
    let (s, v) = post(&f, ApiSettings::key_only(), &body, &[]).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    assert_eq!(
        (v["deletedAt"].as_str(), v["deletedReason"].as_str()),
        (Some("2025-03-10T00:00:00Z"), Some("retention-expired"))
    );
}

#[tokio::test]
async fn a_reviewer_may_not_review_their_own_session_and_the_attempt_is_recorded() {
    let mut f = fakes();
    let clock = Arc::new(FixedClock::new(datetime!(2025-03-14 10:00 UTC)));
    f.state.ports.clock = clock.clone();
    let id = row(
        &f,
        "vm-a/own.rec",
        "2025-03-14T08:00:00Z",
        json!({"BastionHost": "bas-1", "TargetVm": "vm-a", "UserName": "azureuser",
            "UserEmail": "Alice@Contoso.com"}),
    )
    .await;
    let alice = principal("alice@contoso.COM", &["Catalogue.Review"]);
    let body = json!({"recording": id, "verdict": "ok"});
    let headers = [
        ("x-ms-client-principal", alice.as_str()),
        ("x-ms-client-principal-id", "oid-alice"),
    ];
    let (s, v) = post(&f, platform(), &body, &headers).await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{v}");
    assert!(
        v["detail"]
            .as_str()
            .is_some_and(|d| d.contains("self-review")),
        "{v}"
    );
    // A retry is refused again and recorded once; nothing of a review is written.
    let (s, _) = post(&f, platform(), &body, &headers).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let rows = crate::reviews::refusal::refusals(
        f.tables.as_ref(),
        "2025-03-14",
        datetime!(2025-03-14 0:00 UTC),
        datetime!(2025-03-15 0:00 UTC),
    )
    .await
    .expect("refusals");
    assert_eq!(rows.len(), 1, "{rows:?}");
    let r = &rows[0];
    assert_eq!(r["Reviewer"], "alice@contoso.COM");
    assert_eq!(r["ReviewerObjectId"], "oid-alice");
    assert_eq!(r["SubjectId"], id.as_str());
    assert!(
        r["SessionUser"]
            .as_str()
            .is_some_and(|u| u.contains("Alice@Contoso.com"))
    );
    let (_, text) = get_text(&f, "/api/reviews?from=2025-03-14&to=2025-03-15").await;
    let log: Value = serde_json::from_str(&text).expect("json");
    assert_eq!(log["count"], 0, "{log}");
    // Someone else signs it off.
    let bob = principal("bob@contoso.com", &["Catalogue.Review"]);
    let (s, v) = post(&f, platform(), &body, &[("x-ms-client-principal", &bob)]).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
}
