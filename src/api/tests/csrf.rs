//! Cross-site requests through the whole router, in every authentication mode: what a page
//! elsewhere can make a browser send (a form whose `text/plain` fields spell JSON, or JSON from
//! another origin) changes nothing and is answered 415 / 403; the app's own JSON passes.

use axum::http::StatusCode;
use serde_json::{Value, json};

use super::{platform, principal, send_json};
use crate::api::ApiSettings;
use crate::retention::hold::HOLDS_TABLE;
use crate::reviews::REVIEWS_TABLE;
use crate::testkit::retention::{Kit, kit};

const HOST: (&str, &str) = ("host", "bastion-app.azurewebsites.net");
const OWN: (&str, &str) = ("origin", "https://bastion-app.azurewebsites.net");
const JSON: (&str, &str) = ("content-type", "application/json");

/// Every state-changing request the router has (and a few it has not: they must be refused the
/// same way, so a route added later is covered before it exists).
fn requests(recording: &str) -> Vec<(&'static str, String, String)> {
    let hold = json!({"recording": recording, "reason": "csrf="}).to_string();
    let review = json!({"recording": recording, "verdict": "ok", "comment": "="}).to_string();
    let reason = json!({"reason": "csrf"}).to_string();
    vec![
        ("POST", "/api/holds".into(), hold.clone()),
        ("DELETE", "/api/holds".into(), hold.clone()),
        ("POST", "/api/reviews".into(), review.clone()),
        (
            "POST",
            "/api/sessions/live/s-1/disconnect".into(),
            reason.clone(),
        ),
        ("PUT", "/api/holds".into(), hold.clone()),
        ("PATCH", "/api/reviews".into(), review),
        ("POST", "/api/recordings".into(), hold.clone()),
        ("POST", "/api/not-yet-a-route".into(), hold),
        ("DELETE", format!("/api/recordings/{recording}"), reason),
    ]
}

/// Settings of every `CATALOGUE_AUTH` mode, with a principal header holding every role (believed
/// by `platform` only).
fn modes() -> Vec<(&'static str, ApiSettings)> {
    vec![
        ("none", ApiSettings::key_only()),
        ("platform", platform()),
        ("unset", ApiSettings::default()),
    ]
}

fn every_role() -> String {
    principal(
        "reviewer@contoso.com",
        &[
            "Catalogue.Read",
            "Catalogue.Hold",
            "Catalogue.Review",
            "Catalogue.Disconnect",
        ],
    )
}

async fn nothing_changed(k: &Kit) {
    assert!(k.tables.dump(HOLDS_TABLE).is_empty(), "no hold was set");
    assert!(
        k.tables.dump(REVIEWS_TABLE).is_empty(),
        "no review was recorded"
    );
}

#[tokio::test]
async fn forms_and_other_origins_change_nothing_in_any_mode() {
    let k = kit();
    let (_, key) = k.ops_recording("a.rec", &[]).await;
    let who = every_role();
    let p = ("x-ms-client-principal", who.as_str());
    for (mode, settings) in modes() {
        for (method, uri, body) in requests(&key.id()) {
            for (headers, want) in [
                // A cross-site form: `enctype="text/plain"`, its fields spelling JSON.
                (
                    vec![
                        ("content-type", "text/plain"),
                        HOST,
                        ("origin", "https://evil.example"),
                        ("sec-fetch-site", "cross-site"),
                    ],
                    StatusCode::FORBIDDEN,
                ),
                // The same form from a sibling host of the same site.
                (
                    vec![
                        ("content-type", "text/plain"),
                        HOST,
                        ("origin", "https://other.azurewebsites.net"),
                        ("sec-fetch-site", "same-site"),
                    ],
                    StatusCode::FORBIDDEN,
                ),
                // Without any browser header: still no form body.
                (
                    vec![("content-type", "text/plain;charset=UTF-8"), HOST],
                    StatusCode::UNSUPPORTED_MEDIA_TYPE,
                ),
                (
                    vec![
                        ("content-type", "application/x-www-form-urlencoded"),
                        HOST,
                        OWN,
                    ],
                    StatusCode::UNSUPPORTED_MEDIA_TYPE,
                ),
                (
                    vec![("content-type", "multipart/form-data; boundary=x"), HOST],
                    StatusCode::UNSUPPORTED_MEDIA_TYPE,
                ),
                // JSON, but another origin said so.
                (
                    vec![JSON, HOST, ("origin", "https://evil.example")],
                    StatusCode::FORBIDDEN,
                ),
                (vec![JSON, HOST, ("origin", "null")], StatusCode::FORBIDDEN),
                (
                    vec![JSON, HOST, ("sec-fetch-site", "cross-site")],
                    StatusCode::FORBIDDEN,
                ),
            ] {
                let mut headers = headers;
                headers.push(p);
                let (s, v) =
                    send_json(&k.state, settings.clone(), (method, &uri), &body, &headers).await;
                assert_eq!(s, want, "{mode} {method} {uri} {headers:?}: {v}");
                assert_eq!(v["status"], json!(want.as_u16()), "a problem document: {v}");
            }
        }
    }
    nothing_changed(&k).await;
}

#[tokio::test]
async fn the_app_s_own_json_still_holds_and_reviews() {
    let k = kit();
    let (_, key) = k.ops_recording("a.rec", &[]).await;
    let who = every_role();
    let own = [
        ("content-type", "application/json; charset=utf-8"),
        HOST,
        OWN,
        ("sec-fetch-site", "same-origin"),
        ("x-ms-client-principal", who.as_str()),
    ];
    let hold = json!({"recording": key.id(), "reason": "case 7"}).to_string();
    let (s, v) = send_json(&k.state, platform(), ("POST", "/api/holds"), &hold, &own).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let review = json!({"recording": key.id(), "verdict": "ok"}).to_string();
    let (s, v): (StatusCode, Value) = send_json(
        &k.state,
        platform(),
        ("POST", "/api/reviews"),
        &review,
        &own,
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    assert_eq!(v["reviewer"], "reviewer@contoso.com");
    // A script or the CLI sends neither `Origin` nor `Sec-Fetch-Site`.
    let release = [JSON];
    let (s, v) = send_json(
        &k.state,
        ApiSettings::key_only(),
        ("DELETE", "/api/holds"),
        &hold,
        &release,
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    // Reads are not state-changing: a cross-site GET still reaches authentication and the route.
    let (s, _) = send_json(
        &k.state,
        ApiSettings::key_only(),
        ("GET", "/api/holds"),
        "",
        &[
            ("sec-fetch-site", "cross-site"),
            ("origin", "https://evil.example"),
        ],
    )
    .await;
    assert_eq!(s, StatusCode::OK);
}

#[tokio::test]
async fn the_guard_covers_every_api_path_of_the_app_router() {
    use axum::body::Body;
    use axum::http::Request;
    use tower::ServiceExt as _;
    let k = kit();
    let app = crate::app::router(k.state.clone());
    for method in ["POST", "PUT", "PATCH", "DELETE"] {
        for path in [
            "/api/holds",
            "/api/reviews",
            "/api/reviews/queue",
            "/api/reviews/figures",
            "/api/recordings",
            "/api/sessions",
            "/api/sessions/live/x/disconnect",
            "/api/evidence",
            "/api/estate",
            "/api/health",
            "/api/ui",
            "/api/anything/else",
        ] {
            let req = Request::builder()
                .method(method)
                .uri(path)
                .header("content-type", "text/plain")
                .body(Body::from("{\"reason\":\"x=\"}"))
                .expect("request");
            let res = app.clone().oneshot(req).await.expect("response");
            assert_eq!(
                res.status(),
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "{method} {path}"
            );
        }
    }
    nothing_changed(&k).await;
}
