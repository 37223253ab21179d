//! `GET /api/sessions` and the holds API/CLI end to end on Azurite, through the real `handler`
//! process, with data made by the real pipeline: audit records appended to a `PT1H.json` append
//! blob → `AuditLogCreated` → `AuditLogTail` (sessions + `sessionwindows` index), recordings uploaded
//! and catalogued by `RecordingCreated` (exact join to Alice's session). Covers paging across
//! continuation tokens and days, recorded / unrecorded / failed sessions, CSV of hostile values,
//! 401/403, and hold set → tags held → release restores (API and CLI).

mod holds;

use serde_json::{Value, json};

use crate::audit_logs::support::{ALICE, Env, start};
use crate::harness::{HandlerProcess, fixture_on_sample_day, sample_date};

/// A session with hostile user values, starting the day before the sample's sessions.
const HOSTILE_TUNNEL: &str = "0badf00d-0000-4000-8000-000000000001";
const HOSTILE_USER: &str = "=HYPERLINK(\"http://evil\",\"x\"),+1";
const FAILED_TUNNEL: &str = "a1b2c3d4-0000-4000-8000-000000000002";

fn hostile_record(day_before: &str) -> String {
    let rec = json!({"time": format!("{day_before}T23:59:00.000Z"),
        "resourceId": "/SUBSCRIPTIONS/S/RESOURCEGROUPS/RG/PROVIDERS/MICROSOFT.NETWORK/BASTIONHOSTS/BAS-HUB-WEU",
        "operationName": "Microsoft.Network/BastionHost/connect",
        "properties": {"userName": HOSTILE_USER, "userEmail": "@evil\nline@contoso.com", "protocol": "ssh",
            "clientIpAddress": "-203.0.113.99",
            "targetResourceId": "/SUBSCRIPTIONS/S/RESOURCEGROUPS/RG/PROVIDERS/MICROSOFT.COMPUTE/VIRTUALMACHINES/VM-E2E",
            "message": "Successfully Connected.", "tunnelId": HOSTILE_TUNNEL}});
    format!("{rec}\n")
}

/// The sample hour plus the hostile session, tailed; Alice's recording catalogued. The sessions
/// are moved to [`sample_day`](crate::harness::sample_day), so the recording uploaded now vouches
/// for Alice's (recorded).
pub(crate) async fn seed(e: &Env) -> String {
    let text = fixture_on_sample_day("auditlogs/PT1H.sample.jsonl");
    seed_with(e, text, &sample_date(-1)).await
}

/// [`seed`] with the sample's own days (March 2025), for the tests of a month's figures: Alice's
/// recording, uploaded now, names her session but was created long after it, so it vouches for
/// none (`suspect`, `outside-window`) and her session stays unrecorded.
pub(crate) async fn seed_in_march_2025(e: &Env) -> String {
    let text = crate::harness::fixture_bytes("auditlogs/PT1H.sample.jsonl");
    seed_with(e, text, "2025-03-13").await
}

async fn seed_with(e: &Env, mut text: Vec<u8>, day_before: &str) -> String {
    e.create(9).await;
    // The sample ends with a partial line; complete it so the hostile record is a line of its own.
    text.push(b'\n');
    text.extend_from_slice(hostile_record(day_before).as_bytes());
    e.append(9, &text).await;
    e.tick().await;
    let id = e.catalogue(&format!("PLACEHOLDER-{ALICE}")).await;
    // The recording marks its session; the next tick derives its recorded state.
    e.tick().await;
    id
}

pub(crate) async fn http(
    handler: &HandlerProcess,
    method: reqwest::Method,
    path: &str,
    body: Option<&Value>,
    headers: &[(&str, &str)],
) -> (u16, String, reqwest::header::HeaderMap) {
    let mut rb = reqwest::Client::new().request(method, handler.url(path));
    for (k, v) in headers {
        rb = rb.header(*k, *v);
    }
    if let Some(b) = body {
        rb = rb.json(b);
    }
    let res = rb.send().await.expect("request");
    let (status, hdrs) = (res.status().as_u16(), res.headers().clone());
    (status, res.text().await.expect("body"), hdrs)
}

pub(crate) fn principal(roles: &[&str]) -> String {
    use base64::Engine as _;
    let mut claims: Vec<Value> = roles
        .iter()
        .map(|r| json!({"typ": "roles", "val": r}))
        .collect();
    claims.push(json!({"typ": "preferred_username", "val": "auditor@contoso.com"}));
    base64::engine::general_purpose::STANDARD.encode(json!({"claims": claims}).to_string())
}

#[tokio::test]
async fn sessions_page_across_tokens_with_recorded_unrecorded_and_failed() {
    let Some(e) = start().await else { return };
    let recording = seed(&e).await;
    let base = format!(
        "/api/sessions?from={}&to={}&code=fnkey",
        sample_date(-1),
        sample_date(0)
    );
    let (s, body, _) = http(&e.handler, reqwest::Method::GET, &base, None, &[]).await;
    assert_eq!(s, 200, "{body}");
    let all: Value = serde_json::from_str(&body).expect("json");
    let items = all["items"].as_array().expect("items").clone();
    let ids: Vec<&str> = items
        .iter()
        .map(|i| i["sessionId"].as_str().expect("id"))
        .collect();
    assert_eq!(
        ids.first(),
        Some(&HOSTILE_TUNNEL),
        "sorted by start, across days: {ids:?}"
    );
    for t in [ALICE, FAILED_TUNNEL, HOSTILE_TUNNEL] {
        assert!(ids.contains(&t), "{t} in {ids:?}");
    }
    let by_id = |t: &str| {
        items
            .iter()
            .find(|i| i["sessionId"] == t)
            .expect("item")
            .clone()
    };
    let alice = by_id(ALICE);
    assert_eq!(
        (alice["outcome"].as_str(), alice["recordingId"].as_str()),
        (Some("success"), Some(recording.as_str())),
        "{alice}"
    );
    assert_eq!(alice["userEmail"], "alice@contoso.com");
    assert_eq!(alice["targetVm"], "vm-app-01");
    assert!(
        alice["targetResourceId"]
            .as_str()
            .expect("rid")
            .to_ascii_lowercase()
            .ends_with("/virtualmachines/vm-app-01")
    );
    let failed = by_id(FAILED_TUNNEL);
    assert_eq!(
        (failed["outcome"].as_str(), failed["recordingId"].clone()),
        (Some("failed-login"), Value::Null)
    );
    assert_eq!(by_id(HOSTILE_TUNNEL)["recorded"], false);

    // Paging, one per page: every session exactly once, in the same order.
    let seen = crate::harness::collect_pages(20, "sessionId", |token| {
        let path = token.map_or(format!("{base}&limit=1"), |t| {
            format!("{base}&limit=1&continuation={t}")
        });
        let handler = &e.handler;
        async move {
            let (s, body, _) = http(handler, reqwest::Method::GET, &path, None, &[]).await;
            (s, body)
        }
    })
    .await;
    assert_eq!(seen, ids);

    // Filters: failed logins only; by client IP; by VM resource id (case-insensitive).
    for (filter, want) in [
        ("status=failed-login", vec![FAILED_TUNNEL]),
        ("status=recorded", vec![ALICE]),
        ("ip=198.51.100.7", vec![FAILED_TUNNEL]),
        (
            "vm=%2Fsubscriptions%2Fs%2Fresourcegroups%2Frg%2Fproviders%2Fmicrosoft.compute%2Fvirtualmachines%2Fvm-e2e",
            vec![HOSTILE_TUNNEL],
        ),
    ] {
        let (s, body, _) = http(
            &e.handler,
            reqwest::Method::GET,
            &format!("{base}&{filter}"),
            None,
            &[],
        )
        .await;
        assert_eq!(s, 200, "{body}");
        let v: Value = serde_json::from_str(&body).expect("json");
        let got: Vec<&str> = v["items"]
            .as_array()
            .expect("items")
            .iter()
            .map(|i| i["sessionId"].as_str().expect("id"))
            .collect();
        assert_eq!(got, want, "{filter}");
    }

    // CSV: hostile values defused and quoted; the token travels in a header.
    let (s, csv, hdrs) = http(
        &e.handler,
        reqwest::Method::GET,
        &format!("{base}&limit=1"),
        None,
        &[("accept", "text/csv")],
    )
    .await;
    assert_eq!(s, 200, "{csv}");
    assert!(hdrs.contains_key("x-continuation"));
    assert!(
        csv.contains("\"'=HYPERLINK(\"\"http://evil\"\",\"\"x\"\"),'+1\""),
        "a formula after the comma is defused too: {csv}"
    );
    assert!(csv.contains("\"'@evil\nline@contoso.com\""), "{csv}");
    assert!(csv.contains(",'-203.0.113.99,"), "{csv}");
    let (s, body, _) = http(
        &e.handler,
        reqwest::Method::GET,
        "/api/sessions?from=2025-01-01&to=2025-03-14",
        None,
        &[],
    )
    .await;
    assert_eq!(s, 400, "range bounded: {body}");
}

#[tokio::test]
async fn sessions_and_holds_require_principal_and_roles_behind_platform_authentication() {
    let Some(e) = start().await else { return };
    let mut pairs = e.env.pairs();
    pairs.push(("CATALOGUE_AUTH", "platform"));
    let strict = HandlerProcess::spawn(&pairs).await;
    let path = "/api/sessions?from=2025-03-13&to=2025-03-14";
    let body = json!({"recording": "2025-03-14~eA", "reason": "r"});
    let (reader, holder) = (
        principal(&["Catalogue.Read"]),
        principal(&["Catalogue.Hold"]),
    );
    for (method, p, b, hdr, want) in [
        (reqwest::Method::GET, path, None, None, 401),
        (reqwest::Method::GET, path, None, Some(&holder), 403),
        (reqwest::Method::GET, path, None, Some(&reader), 200),
        (reqwest::Method::POST, "/api/holds", Some(&body), None, 401),
        (
            reqwest::Method::POST,
            "/api/holds",
            Some(&body),
            Some(&reader),
            403,
        ),
        (
            reqwest::Method::DELETE,
            "/api/holds",
            Some(&body),
            Some(&reader),
            403,
        ),
        (
            reqwest::Method::POST,
            "/api/holds",
            Some(&body),
            Some(&holder),
            404,
        ),
    ] {
        let headers: Vec<(&str, &str)> = hdr
            .iter()
            .map(|h| ("x-ms-client-principal", h.as_str()))
            .collect();
        let (s, text, _) = http(&strict, method.clone(), p, b, &headers).await;
        assert_eq!(s, want, "{method} {p}: {text}");
        assert!(
            !text.contains("windows.net") && !text.contains("devstoreaccount1"),
            "{text}"
        );
    }
}
