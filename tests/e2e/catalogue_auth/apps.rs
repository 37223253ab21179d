//! Applications do not review, end to end on Azurite through the real `handler` validating bearer
//! tokens of a local OpenID issuer (`CATALOGUE_AUTH=jwt`): an app-only token with the review role
//! (client credentials: `roles`, `oid`, `azp`, no user claim; with or without Entra's
//! `idtyp: app`, also when it carries a name claim beside `idtyp: app`) is refused with 403 and
//! the reason, the attempt recorded in `reviewrefusals` under its object id, nothing written to
//! the log, the latest reviews or the queue; a user's token with the same role records its review.

use reqwest::Method;
use serde_json::{Value, json};

use super::issuer::{Issuer, SigningKey};
use crate::audit_logs::support::start;
use crate::catalogue_sessions::http;
use crate::harness::HandlerProcess;

const APP_OID: &str = "0b7c1a3e-0000-4000-8000-0000000000ff";

/// `POST /api/reviews` of `recording` with bearer `token`.
async fn review(h: &HandlerProcess, token: &str, recording: &str) -> (u16, Value) {
    let body = json!({"recording": recording, "verdict": "ok"});
    let auth = format!("Bearer {token}");
    let hdr = [("authorization", auth.as_str())];
    let (s, text, _) = http(h, Method::POST, "/api/reviews", Some(&body), &hdr).await;
    (s, serde_json::from_str(&text).unwrap_or(Value::Null))
}

#[tokio::test]
async fn an_application_token_is_refused_a_review_and_a_user_is_not() {
    let Some(e) = start().await else { return };
    let key = SigningKey::generate("k1");
    let issuer = Issuer::start(&[&key]).await;
    let settings = issuer.settings();
    let mut pairs = e.env.pairs();
    pairs.extend(settings.iter().map(|(k, v)| (*k, v.as_str())));
    let api = HandlerProcess::spawn(&pairs).await;
    let id = e.catalogue("reviewed-by-an-app.rec").await;

    // Client credentials, as Entra issues them to an application: no user claim.
    let mut app = issuer.claims(&["Catalogue.Review"]);
    let claims = app.as_object_mut().expect("claims");
    claims.remove("preferred_username");
    claims.insert("oid".into(), json!(APP_OID));
    claims.insert("sub".into(), json!(APP_OID));
    claims.insert("azp".into(), json!("6e0f5a2d-0000-4000-8000-00000000a9c1"));
    let mut marked = app.clone();
    marked["idtyp"] = json!("app");
    // A name claim beside `idtyp: app` names no user either.
    let mut named = marked.clone();
    named["email"] = json!("robot@contoso.com");
    for (case, claims) in [("no idtyp", &app), ("idtyp", &marked), ("named", &named)] {
        let (s, v) = review(&api, &key.sign(claims), &id).await;
        assert_eq!(s, 403, "{case}: {v}");
        assert!(
            v["detail"]
                .as_str()
                .is_some_and(|d| d.contains("application token")),
            "{case}: {v}"
        );
    }
    let rows = |t: &'static str| {
        let tables = e.tables.clone();
        async move {
            tables
                .query(t, None, None, None)
                .await
                .map_or_else(|_| Vec::new(), |p| p.items)
        }
    };
    assert!(rows("reviews").await.is_empty(), "nothing in the log");
    assert!(rows("reviewlatest").await.is_empty(), "not the latest");
    let refused = rows("reviewrefusals").await;
    assert_eq!(
        refused.len(),
        1,
        "the same attempt, recorded once: {refused:?}"
    );
    for r in &refused {
        assert_eq!(r.entity["ReviewerObjectId"], APP_OID, "{:?}", r.entity);
        assert_eq!(r.entity["SubjectId"], id.as_str());
    }

    // A user with the same role: recorded.
    let user = key.sign(&issuer.claims(&["Catalogue.Review"]));
    let (s, v) = review(&api, &user, &id).await;
    assert_eq!(s, 201, "{v}");
    assert_eq!(v["reviewer"], "auditor@contoso.com");
}
