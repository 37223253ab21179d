//! Component tests of the catalogue API over the in-memory fakes: validation, filters, sort order,
//! paging across days and tokens, CSV escaping, authorization, detail reads and their audit rows.

mod csrf;
mod detail;
mod health;
mod links;
mod midnight;
mod outage;
mod session;
mod sessions;
mod units;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use base64::Engine as _;
use serde_json::{Value, json};
use tower::ServiceExt as _;

use super::auth::AuthMode;
use super::{ApiSettings, routes_with};
use crate::catalogue::RECORDINGS_TABLE;
use crate::catalogue::recording::Recording;
use crate::state::AppState;
use crate::tables::{TableStore, WriteMode};
use crate::testkit::{Fakes, fakes};

/// Writes the catalogue row of `blob` created at `created` with `extra` properties, as the
/// catalogue's writer stores it: session properties join it (exactly) to a session.
pub(super) async fn row(f: &Fakes, blob: &str, created: &str, extra: Value) -> String {
    let t = crate::dates::timestamp(created).expect("time");
    let mut e = crate::testkit::audit::recording_row(blob, t).to_entity();
    e.insert("RetentionClass".into(), "ops-30d".into());
    e.insert("Status".into(), "catalogued".into());
    e.insert("ContentLength".into(), "10".into());
    if let Value::Object(x) = extra {
        let session = [
            "Tunnel", "Session", "User", "Target", "ClientIp", "Protocol",
        ];
        let joined = x.keys().any(|k| session.iter().any(|p| k.starts_with(p)));
        if joined {
            e.insert("TunnelId".into(), format!("t-{blob}").into());
            e.insert("MatchConfidence".into(), "exact".into());
        }
        e.extend(x);
    }
    let r = Recording::from_entity(&e).expect("a catalogue row");
    f.tables
        .ensure_table(RECORDINGS_TABLE)
        .await
        .expect("table");
    f.tables
        .write(RECORDINGS_TABLE, &r.to_entity(), WriteMode::Upsert)
        .await
        .expect("write");
    r.id()
}

/// Sends `method uri` with `body` and `headers` through the API router over `state`: the status,
/// content type and body. A request other than `GET` without a `content-type` among `headers`
/// says `application/json`, as the API's clients do.
pub(super) async fn send(
    state: &AppState,
    settings: ApiSettings,
    (method, uri): (&str, &str),
    body: &str,
    headers: &[(&str, &str)],
) -> (StatusCode, String, String) {
    let mut req = Request::builder().method(method).uri(uri);
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let typed = headers
        .iter()
        .any(|(k, _)| k.eq_ignore_ascii_case("content-type"));
    if method != "GET" && !typed {
        req = req.header("content-type", "application/json");
    }
    let res = routes_with(state.clone(), settings)
        .oneshot(req.body(Body::from(body.to_owned())).expect("request"))
        .await
        .expect("response");
    let status = res.status();
    let ct = res
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let body = axum::body::to_bytes(res.into_body(), 1 << 24)
        .await
        .expect("body");
    (status, ct, String::from_utf8_lossy(&body).into_owned())
}

/// [`send`] with the body read as JSON (`Null` when it is not).
pub(super) async fn send_json(
    state: &AppState,
    settings: ApiSettings,
    request: (&str, &str),
    body: &str,
    headers: &[(&str, &str)],
) -> (StatusCode, Value) {
    let (s, _, b) = send(state, settings, request, body, headers).await;
    (s, serde_json::from_str(&b).unwrap_or(Value::Null))
}

/// Sends `GET uri` with `headers` through the API router.
pub(super) async fn get(
    f: &Fakes,
    settings: ApiSettings,
    uri: &str,
    headers: &[(&str, &str)],
) -> (StatusCode, String, String) {
    send(&f.state, settings, ("GET", uri), "", headers).await
}

/// `GET uri` with the function key only: its status and body.
pub(super) async fn get_text(f: &Fakes, uri: &str) -> (StatusCode, String) {
    let (s, _, body) = get(f, ApiSettings::key_only(), uri, &[]).await;
    (s, body)
}

pub(super) async fn get_json(f: &Fakes, uri: &str) -> (StatusCode, Value) {
    send_json(&f.state, ApiSettings::key_only(), ("GET", uri), "", &[]).await
}

/// An App Service authentication principal (`x-ms-client-principal`) named `name`, with `roles`.
pub(super) fn principal(name: &str, roles: &[&str]) -> String {
    let mut claims: Vec<Value> = roles
        .iter()
        .map(|r| json!({"typ": "roles", "val": r}))
        .collect();
    claims.push(json!({"typ": "preferred_username", "val": name}));
    base64::engine::general_purpose::STANDARD.encode(json!({ "claims": claims }).to_string())
}

/// Settings behind App Service authentication (`CATALOGUE_AUTH=platform`).
pub(super) fn platform() -> ApiSettings {
    ApiSettings {
        auth: AuthMode::Platform,
        ..ApiSettings::key_only()
    }
}

fn ids(v: &Value) -> Vec<String> {
    v["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|i| i["blobName"].as_str().expect("name").to_owned())
        .collect()
}

#[tokio::test]
async fn bad_filters_are_400_problems_naming_the_parameter() {
    let f = fakes();
    for (uri, param) in [
        ("/api/recordings", "from"),
        ("/api/recordings?from=2025-03-01", "to"),
        ("/api/recordings?from=2025-03-01&to=2025-05-01", "to"),
        ("/api/recordings?from=2025-03-02&to=2025-03-01", "to"),
        ("/api/recordings?from=yesterday&to=2025-03-01", "from"),
        (
            "/api/recordings?from=2025-03-01&to=2025-03-02&limit=0",
            "limit",
        ),
        (
            "/api/recordings?from=2025-03-01&to=2025-03-02&limit=abc",
            "limit",
        ),
        ("/api/recordings?from=2025-03-01&to=2025-03-02&usr=x", "usr"),
        (
            "/api/recordings?from=2025-03-01&to=2025-03-02&format=xml",
            "format",
        ),
        (
            "/api/recordings?from=2025-03-01&to=2025-03-02&continuation=zz",
            "continuation",
        ),
    ] {
        let (s, ct, body) = get(&f, ApiSettings::key_only(), uri, &[]).await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{uri}");
        assert_eq!(ct, "application/problem+json");
        let v: Value = serde_json::from_str(&body).expect("json");
        assert_eq!(v["status"], 400);
        assert!(
            v["detail"].as_str().expect("detail").starts_with(param),
            "{uri}: {body}"
        );
    }
    let (s, v) = get_json(&f, "/api/nothing-here").await;
    assert_eq!((s, &v["status"]), (StatusCode::NOT_FOUND, &json!(404)));
}

#[tokio::test]
async fn pages_follow_session_start_across_days_and_tokens() {
    let f = fakes();
    // Creation days 03-01..03-03; session starts out of row-key order within a day.
    for (name, created, start) in [
        (
            "d1-b",
            "2025-03-01T10:00:00Z",
            Some("2025-03-01T08:00:00.000Z"),
        ),
        ("d1-a", "2025-03-01T11:00:00Z", None),
        (
            "d1-c",
            "2025-03-01T09:00:00Z",
            Some("2025-03-01T07:00:00.000Z"),
        ),
        ("d2-z", "2025-03-02T05:00:00Z", None),
        ("d3-y", "2025-03-03T06:00:00Z", None),
        ("d3-x", "2025-03-03T07:00:00Z", None),
        ("outside", "2025-03-04T00:00:00Z", None),
    ] {
        let extra = start.map_or(json!({}), |s| json!({ "SessionStart": s }));
        row(&f, name, created, extra).await;
    }
    let expected = ["d1-c", "d1-b", "d1-a", "d2-z", "d3-y", "d3-x"];
    for limit in 1..=7 {
        let base = format!("/api/recordings?from=2025-03-01&to=2025-03-03&limit={limit}");
        let (mut seen, mut token, mut pages) = (Vec::new(), None::<String>, 0);
        loop {
            let uri = match &token {
                Some(t) => format!("{base}&continuation={t}"),
                None => base.clone(),
            };
            let (s, v) = get_json(&f, &uri).await;
            assert_eq!(s, StatusCode::OK, "{v}");
            assert!(ids(&v).len() <= limit);
            seen.extend(ids(&v));
            pages += 1;
            assert!(pages < 20, "paging does not terminate");
            match v["continuation"].as_str() {
                Some(t) => token = Some(t.to_owned()),
                None => break,
            }
        }
        assert_eq!(seen, expected, "limit {limit}");
    }
    // A token is bound to its query.
    let (_, v) = get_json(&f, "/api/recordings?from=2025-03-01&to=2025-03-03&limit=2").await;
    let t = v["continuation"].as_str().expect("token");
    let (s, _) = get_json(
        &f,
        &format!("/api/recordings?from=2025-03-01&to=2025-03-03&limit=2&user=x&continuation={t}"),
    )
    .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn filters_are_case_insensitive_and_cover_joined_fields() {
    let f = fakes();
    let joined = json!({"UserName": "Alice", "UserEmail": "Alice@Contoso.com", "ClientIp": "203.0.113.7",
        "TargetVm": "vm-app-01", "Protocol": "ssh", "MatchConfidence": "exact",
        "TargetResourceId": "/subscriptions/S/resourceGroups/RG/providers/Microsoft.Compute/virtualMachines/vm-app-01"});
    row(&f, "joined", "2025-03-01T10:00:00Z", joined).await;
    row(
        &f,
        "plain",
        "2025-03-01T11:00:00Z",
        json!({"Status": "deleted"}),
    )
    .await;
    let base = "/api/recordings?from=2025-03-01T00:00:00Z&to=2025-03-02T00:00:00Z";
    for (filter, want) in [
        ("user=alice", vec!["joined"]),
        ("user=ALICE%40contoso.com", vec!["joined"]),
        ("ip=203.0.113.7", vec!["joined"]),
        ("vm=VM-APP-01", vec!["joined"]),
        (
            "vm=%2Fsubscriptions%2Fs%2Fresourcegroups%2Frg%2Fproviders%2Fmicrosoft.compute%2Fvirtualmachines%2Fvm-app-01",
            vec!["joined"],
        ),
        ("protocol=rdp", vec![]),
        ("status=deleted", vec!["plain"]),
        ("class=ops-30d", vec!["joined", "plain"]),
        ("confidence=exact", vec!["joined"]),
        ("confidence=none", vec!["plain"]),
        ("user=alice&protocol=rdp", vec![]),
    ] {
        let (s, v) = get_json(&f, &format!("{base}&{filter}")).await;
        assert_eq!(s, StatusCode::OK, "{filter}");
        assert_eq!(ids(&v), want, "{filter}");
    }
    // The time range applies to the session start, not only the partition.
    let (_, v) = get_json(
        &f,
        "/api/recordings?from=2025-03-01T10:30:00Z&to=2025-03-01T12:00:00Z",
    )
    .await;
    assert_eq!(ids(&v), ["plain"]);
}

#[tokio::test]
async fn csv_defuses_formulas_and_quotes_hostile_values() {
    let f = fakes();
    let hostile = "=HYPERLINK(\"http://x\",\"y\"), and\nmore";
    row(
        &f,
        "a,b",
        "2025-03-01T10:00:00Z",
        json!({"UserName": hostile, "ClientIp": "+1", "Protocol": "@x", "TargetVm": "-2"}),
    )
    .await;
    for (uri, headers) in [
        (
            "/api/recordings?from=2025-03-01&to=2025-03-01&format=csv",
            vec![],
        ),
        (
            "/api/recordings?from=2025-03-01&to=2025-03-01",
            vec![("accept", "text/csv")],
        ),
    ] {
        let (s, ct, body) = get(&f, ApiSettings::key_only(), uri, &headers).await;
        assert_eq!(s, StatusCode::OK);
        assert!(ct.starts_with("text/csv"), "{ct}");
        let lines: Vec<&str> = body.split("\r\n").collect();
        assert!(lines[0].starts_with("id,sessionStart,"), "{}", lines[0]);
        assert!(
            body.contains("\"'=HYPERLINK(\"\"http://x\"\",\"\"y\"\"), and\nmore\""),
            "{body}"
        );
        assert!(
            body.contains(",'+1,") && body.contains(",'@x,") && body.contains(",'-2,"),
            "{body}"
        );
        assert!(body.contains(",\"a,b\","), "{body}");
    }
}
