//! Cross-site request forgery in headless Chromium (`TEST_UI=1`): the real handler on Azurite with
//! `CATALOGUE_AUTH=platform` behind a stand-in for App Service authentication (a proxy in this test
//! that turns its session cookie into `x-ms-client-principal`, keeps `Host`, and strips any
//! principal header a client sends), Resource Manager played by the estate e2e's fake. Pages on
//! another site (`127.0.0.2`) and on the same site but another origin (`127.0.0.1`, another port)
//! submit `<form enctype="text/plain" method=POST>` whose fields spell JSON to place a hold, record
//! an `ok` review and disconnect a live session, in a browser holding the session cookie
//! (`SameSite=None; Secure`, set by the stand-in's sign-in, so Chromium sends it on those forms too):
//! every one is refused and nothing happens. The app's own page still works:
//! its review panel signs off a queued session, and the queue shows a user name holding a
//! right-to-left override isolated, the override shown as its code point
//! (`node tests/ui/csrf.mjs`).

use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderName, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use bastion_recordings::config::Config;
use bastion_recordings::storage::azure::AzureBlobStore;
use bastion_recordings::storage::{BlobRef, BlobStore, Metadata};
use bastion_recordings::tables::WriteMode;
use bastion_recordings::tables::ops::write_creating_table;
use bytes::Bytes;
use serde_json::{Value, json};

use crate::audit_logs::support::event_invocation;
use crate::catalogue_sessions::http;
use crate::estate::Rig;
use crate::estate::fake_arm::host_id;
use crate::harness::{HandlerProcess, azurite};

/// The stand-in's session cookie.
const COOKIE: &str = "AppServiceAuthSession";
/// A user name whose override would reverse the queue entry around it if it acted.
const BIDI_USER: &str = "eve\u{202E}nimda";
/// The queued session the panel signs off.
const TUNNEL: &str = "c0000000-0000-4000-8000-000000000001";

/// One request through the stand-in: method, path, whether the session cookie came, the answer.
#[derive(Debug, Clone)]
struct Seen {
    method: String,
    path: String,
    cookie: bool,
    origin: String,
    status: u16,
}

#[derive(Clone)]
struct StandIn {
    handler: String,
    client: reqwest::Client,
    seen: Arc<Mutex<Vec<Seen>>>,
}

fn principal() -> String {
    use base64::Engine as _;
    let roles = [
        "Catalogue.Read",
        "Catalogue.Hold",
        "Catalogue.Review",
        "Catalogue.Disconnect",
    ];
    let mut claims: Vec<Value> = roles
        .iter()
        .map(|r| json!({"typ": "roles", "val": r}))
        .collect();
    claims.push(json!({"typ": "preferred_username", "val": "reviewer@contoso.com"}));
    base64::engine::general_purpose::STANDARD.encode(json!({"claims": claims}).to_string())
}

/// App Service authentication as the browser meets it: the session cookie becomes the principal
/// header; `Host` and every other header reach the handler as sent.
async fn stand_in(State(s): State<StandIn>, req: Request) -> Response {
    let (parts, body) = req.into_parts();
    // Signing in sets the session cookie, sent with every request to this host from then on.
    if parts.uri.path() == "/.auth/login/aad" {
        let cookie = format!("{COOKIE}=signed-in; Path=/; SameSite=None; Secure; HttpOnly");
        return ([("set-cookie", cookie)], Html("signed in")).into_response();
    }
    let body = axum::body::to_bytes(body, 1 << 20)
        .await
        .unwrap_or_default();
    let cookie = parts
        .headers
        .get_all("cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .any(|v| v.contains(&format!("{COOKIE}=")));
    let mut headers = HeaderMap::new();
    for (k, v) in &parts.headers {
        let drop = [
            "cookie",
            "x-ms-client-principal",
            "content-length",
            "connection",
        ];
        if !drop.contains(&k.as_str()) {
            headers.append(k.clone(), v.clone());
        }
    }
    if cookie {
        let p = principal();
        headers.insert(
            HeaderName::from_static("x-ms-client-principal"),
            p.parse().expect("value"),
        );
    }
    let path = parts
        .uri
        .path_and_query()
        .map_or("/", |p| p.as_str())
        .to_owned();
    let res = s
        .client
        .request(parts.method.clone(), format!("http://{}{path}", s.handler))
        .headers(headers)
        .body(body)
        .send()
        .await;
    let Ok(res) = res else {
        return StatusCode::BAD_GATEWAY.into_response();
    };
    let status = res.status().as_u16();
    s.seen.lock().expect("log").push(Seen {
        method: parts.method.to_string(),
        path: parts.uri.path().to_owned(),
        cookie,
        origin: parts
            .headers
            .get("origin")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned(),
        status,
    });
    let mut out = Response::builder().status(status);
    for (k, v) in res.headers() {
        if !["content-length", "transfer-encoding", "connection"].contains(&k.as_str()) {
            out = out.header(k, v);
        }
    }
    let bytes = res.bytes().await.unwrap_or_default();
    out.body(Body::from(bytes)).expect("response")
}

/// The attacker's pages: each auto-submits one text/plain form whose field spells JSON.
fn attacker(app: &str, recording: &str) -> Router {
    let form = |path: &str, json_head: String| {
        let page = format!(
            "<!doctype html><title>win a prize</title><form method=POST enctype=\"text/plain\" \
             action=\"{app}{path}\"><input type=hidden name='{json_head}' value='\"}}'></form>\
             <script>document.forms[0].submit()</script>"
        );
        move || async move { Html(page) }
    };
    Router::new()
        .route(
            "/hold.html",
            axum::routing::get(form(
                "/api/holds",
                format!("{{\"recording\":\"{recording}\",\"reason\":\"prize"),
            )),
        )
        .route(
            "/review.html",
            axum::routing::get(form(
                "/api/reviews",
                format!("{{\"recording\":\"{recording}\",\"verdict\":\"ok\",\"comment\":\"prize"),
            )),
        )
        .route(
            "/disconnect.html",
            axum::routing::get(form(
                "/api/sessions/live/s-1/disconnect",
                "{\"reason\":\"prize".to_owned(),
            )),
        )
}

async fn serve(router: Router, addr: &str) -> u16 {
    let listener = tokio::net::TcpListener::bind(addr).await.expect("bind");
    let port = listener.local_addr().expect("addr").port();
    tokio::spawn(async move {
        let _ = axum::serve(listener, router).await;
    });
    port
}

/// Calls the handler directly as a reader with every role.
async fn api(
    h: &HandlerProcess,
    method: reqwest::Method,
    path: &str,
    body: Option<&Value>,
) -> (u16, Value) {
    let p = principal();
    let (s, text, _) = http(
        h,
        method,
        path,
        body,
        &[("x-ms-client-principal", p.as_str())],
    )
    .await;
    (s, serde_json::from_str(&text).unwrap_or(Value::Null))
}

/// A recording catalogued by the real `RecordingCreated`; its id.
async fn recording(rig: &Rig) -> String {
    let sources = rig.env.get("RECORDINGS_SOURCES").to_owned();
    let container = sources
        .split_once(':')
        .and_then(|(_, rest)| rest.split_once('@'))
        .map(|(c, _)| c.to_owned())
        .expect("container");
    let config = Config::from_lookup(&|k| rig.env.vars.get(k).cloned()).expect("config");
    let app = &config.storage.app;
    let blobs = AzureBlobStore::new(app).expect("blobs");
    let name = "vm-app-01/a0000000-0000-4000-8000-000000000077.mp4";
    blobs
        .put(
            &BlobRef::new(container.clone(), name),
            Bytes::from_static(b"recording"),
            "video/mp4",
            &Metadata::new(),
        )
        .await
        .expect("upload");
    let mut inv = event_invocation(
        "invocations/recording-created.invocation.json",
        &container,
        name,
    );
    let now = bastion_recordings::dates::format_utc(time::OffsetDateTime::now_utc());
    inv["Data"]["eventGridEvent"]["eventTime"] = json!(now);
    let (s, reply) = rig.handler.invoke("RecordingCreated", &inv).await;
    assert_eq!(s, 200, "{reply}");
    let today = bastion_recordings::dates::format_date(time::OffsetDateTime::now_utc().date());
    let (s, list) = api(
        &rig.handler,
        reqwest::Method::GET,
        &format!("/api/recordings?from={today}&to={today}"),
        None,
    )
    .await;
    assert_eq!((s, &list["count"]), (200, &json!(1)), "{list}");
    list["items"][0]["id"].as_str().expect("id").to_owned()
}

/// A live session `s-1` on host `b1`, and a session queued for review whose user name holds a
/// right-to-left override.
async fn rows(rig: &Rig) {
    let tables = rig.tables();
    let now = time::OffsetDateTime::now_utc();
    let at = bastion_recordings::dates::format_utc_millis(now);
    let day = bastion_recordings::dates::format_date(now.date());
    let host = host_id("b1");
    let live = json!({
        "PartitionKey": bastion_recordings::estate::host_key(&host), "RowKey": bastion_recordings::estate::live::session_key("s-1"),
        "Host": host, "HostName": "b1", "SessionId": "s-1", "UserName": "alice", "TargetHost": "vm-app-01",
        "TargetIp": "10.10.1.4", "Protocol": "SSH", "StartTime": at, "FirstSeen": at, "LastSeen": at, "Status": "live",
    });
    let session = json!({
        "PartitionKey": TUNNEL, "RowKey": "session", "TunnelId": TUNNEL, "UserName": BIDI_USER,
        "TargetVm": "vm-app-01", "BastionHost": "b1", "SessionStart": at, "Outcome": "connected",
    });
    let rank = bastion_recordings::reviews::queue::entry::rank_key(100, now, TUNNEL);
    let queued = json!({
        "PartitionKey": bastion_recordings::reviews::queue::entry::PARTITION,
        "RowKey": rank, "TunnelId": TUNNEL, "SessionDay": day,
        "Score": "100", "Reasons": "unrecorded", "Start": at, "End": at, "DueAt": at,
        "UserName": BIDI_USER, "TargetVm": "vm-app-01", "BastionHost": "b1", "ClientIp": "203.0.113.10",
        "Outcome": "connected", "Recorded": false, "RecordingIds": "", "OverdueNotified": false,
    });
    // Its entry names the rank row, as `ReviewQueue` writes them.
    let entry = json!({
        "PartitionKey": bastion_recordings::reviews::queue::entry::PARTITION,
        "RowKey": bastion_recordings::reviews::queue::entry::entry_key(TUNNEL), "TunnelId": TUNNEL,
        "Rank": rank, "Reviewed": false, "OverdueNotified": false, "OverdueBy": "",
    });
    for (table, row) in [
        ("livesessions", live),
        ("sessions", session),
        ("reviewqueue", queued),
        ("reviewqueue", entry),
    ] {
        write_creating_table(
            &tables,
            table,
            row.as_object().expect("row"),
            WriteMode::Upsert,
        )
        .await
        .expect(table);
    }
}

#[tokio::test]
async fn forms_from_other_origins_change_nothing_and_the_app_s_own_page_works() {
    if std::env::var("TEST_UI").ok().as_deref() != Some("1") {
        eprintln!(
            "skipping: TEST_UI is not 1 (scripts/test.sh runs scripts/browser.sh and sets it)"
        );
        return;
    }
    let cs = azurite().expect("TEST_UI=1 needs Azurite (TEST_AZURITE=1, as scripts/test.sh sets)");
    let extra = [
        ("CATALOGUE_AUTH", "platform"),
        ("BASTION_DISCONNECT", "true"),
    ];
    let rig = Rig::new(&cs, &extra).await;
    let id = recording(&rig).await;
    rows(&rig).await;
    let seen = Arc::new(Mutex::new(Vec::new()));
    let state = StandIn {
        handler: rig.handler.addr.clone(),
        client: reqwest::Client::new(),
        seen: seen.clone(),
    };
    let app_port = serve(
        Router::new().fallback(stand_in).with_state(state),
        "127.0.0.1:0",
    )
    .await;
    // `localhost`: Chromium keeps a `Secure` cookie for it over plain http (a loopback test).
    let app = format!("http://localhost:{app_port}");
    let evil_port = serve(attacker(&app, &id), "0.0.0.0:0").await;
    let expect = json!({
        "cookie": COOKIE,
        "attackers": [format!("http://127.0.0.2:{evil_port}"), format!("http://localhost:{evil_port}")],
        "pages": ["hold", "review", "disconnect"],
        "bidiUser": BIDI_USER,
        "reviewer": "reviewer@contoso.com",
    });
    super::browser_check_at(&app, &rig.handler, "csrf", &expect, "csrf ui: ok", 120).await;

    // Every forged request reached the app, was refused, and changed nothing.
    let seen = seen.lock().expect("log").clone();
    let forged: Vec<&Seen> = seen
        .iter()
        .filter(|s| s.method == "POST" && s.origin.contains(&format!(":{evil_port}")))
        .collect();
    assert_eq!(forged.len(), 6, "{seen:#?}");
    assert!(forged.iter().all(|s| s.status == 403), "{forged:#?}");
    assert!(
        forged.iter().all(|s| s.cookie),
        "every forged form carried the session cookie (SameSite=None): {forged:#?}"
    );
    let (_, holds) = api(&rig.handler, reqwest::Method::GET, "/api/holds", None).await;
    assert_eq!(holds["count"], json!(0), "no hold: {holds}");
    let (_, detail) = api(
        &rig.handler,
        reqwest::Method::GET,
        &format!("/api/recordings/{id}"),
        None,
    )
    .await;
    assert_eq!(
        detail["review"],
        Value::Null,
        "no review of the recording: {detail}"
    );
    let asked = rig.arm.with(|e| e.disconnect_requests.clone());
    assert!(
        asked.is_empty(),
        "no disconnect reached Resource Manager: {asked:?}"
    );
    // The page's own sign-off went through the same layer.
    let panel: Vec<&Seen> = seen
        .iter()
        .filter(|s| s.method == "POST" && s.path == "/api/reviews" && s.origin == app)
        .collect();
    assert_eq!(panel.len(), 1, "{seen:#?}");
    assert_eq!(panel[0].status, 201);
}
