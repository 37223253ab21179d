//! devhost without storage: process environment, readiness, log relay, timers through the admin
//! API (TimerInfo shape, retry policy), `/api/*` forwarding, restart after a crash, graceful stop.

use std::time::Duration;

use serde_json::{Value, json};

use super::{Devhost, TempApp, assert_host_headers, is_guid, is_offset_seconds, is_utc_7};

pub(super) const T: Duration = Duration::from_secs(15);

pub(super) fn app() -> TempApp {
    TempApp::new(
        json!({}),
        &[
            (
                "Tick",
                json!({"bindings": [{"type": "timerTrigger", "direction": "in", "name": "timer", "schedule": "0 0 0 1 1 *"}]}),
            ),
            (
                "TickRetry",
                json!({"bindings": [{"type": "timerTrigger", "direction": "in", "name": "timer", "schedule": "0 0 0 1 1 *", "useMonitor": false}],
                       "retry": {"strategy": "fixedDelay", "maxRetryCount": 2, "delayInterval": "00:00:00.2"}}),
            ),
            (
                "Api",
                json!({"bindings": [{"type": "httpTrigger", "direction": "in", "name": "req", "route": "{*path}"},
                                    {"type": "http", "direction": "out", "name": "res"}]}),
            ),
        ],
    )
}

pub(super) async fn started(app: &TempApp) -> Devhost {
    let d = Devhost::spawn(&app.root, None, &[("DEVHOST_WATCH", "")]).await;
    d.wait_log("devhost handler ready", T).await;
    d
}

#[tokio::test]
async fn devhost_starts_the_handler_like_the_host_and_relays_its_output() {
    let app = app();
    let d = started(&app).await;
    let start = &app.starts()[0];
    assert!(
        start["FUNCTIONS_CUSTOMHANDLER_PORT"]
            .as_str()
            .and_then(|p| p.parse::<u16>().ok())
            .is_some_and(|p| p > 0),
        "{start}"
    );
    assert!(
        is_guid(&start["FUNCTIONS_CUSTOMHANDLER_WORKER_ID"]),
        "{start}"
    );
    assert_eq!(
        start["FUNCTIONS_APP_ROOT_PATH"],
        app.root.to_string_lossy().as_ref()
    );
    d.wait_log("[handler] recorder listening", T).await;
    d.wait_log("[handler:warn] recorder warning line", T).await;
    let status = reqwest::get(d.url("/admin/host/status"))
        .await
        .expect("status");
    assert_eq!(status.status().as_u16(), 200);
}

#[tokio::test]
async fn admin_api_fires_a_timer_with_the_host_timerinfo_shape() {
    let app = app();
    let d = started(&app).await;
    let client = reqwest::Client::new();
    let res = client
        .post(d.url("/admin/functions/Tick"))
        .json(&json!({"input": ""}))
        .send()
        .await
        .expect("admin");
    assert_eq!(res.status().as_u16(), 202);
    let calls = app.wait_calls("/Tick", 1, T).await;
    assert_eq!(calls.len(), 1, "{}", d.log_text());
    assert_host_headers(&calls[0]);
    let body = &calls[0]["json"];
    let timer = &body["Data"]["timer"];
    assert_eq!(timer["Schedule"], json!({"AdjustForDST": true}));
    assert_eq!(timer["ScheduleStatus"]["Last"], "0001-01-01T00:00:00");
    assert!(
        is_offset_seconds(&timer["ScheduleStatus"]["Next"]),
        "{timer}"
    );
    assert!(
        timer["ScheduleStatus"]["Next"]
            .as_str()
            .is_some_and(|n| n.ends_with("-01-01T00:00:00+00:00")),
        "{timer}"
    );
    assert!(
        timer["ScheduleStatus"]["LastUpdated"]
            .as_str()
            .is_some_and(|s| s.ends_with("+00:00")),
        "{timer}"
    );
    assert_eq!(timer["IsPastDue"], false);
    let meta = body["Metadata"].as_object().expect("metadata");
    assert_eq!(
        meta.keys().collect::<Vec<_>>(),
        ["sys"],
        "timer metadata is only sys"
    );
    assert_eq!(meta["sys"]["MethodName"], "Tick");
    assert!(
        is_utc_7(&meta["sys"]["UtcNow"]) && is_guid(&meta["sys"]["RandGuid"]),
        "{body}"
    );
    d.wait_log("devhost function=Tick log: recorded", T).await;

    let missing = client
        .post(d.url("/admin/functions/Nope"))
        .send()
        .await
        .expect("admin");
    assert_eq!(missing.status().as_u16(), 404);
    let http = client
        .post(d.url("/admin/functions/Api"))
        .send()
        .await
        .expect("admin");
    assert_eq!(http.status().as_u16(), 400);
}

#[tokio::test]
async fn timer_retry_policy_retries_with_retry_context() {
    let app = app();
    app.script(json!({"TickRetry": {"fail": 2, "status": 500}}));
    let d = started(&app).await;
    reqwest::Client::new()
        .post(d.url("/admin/functions/TickRetry"))
        .send()
        .await
        .expect("admin");
    let calls = app.wait_calls("/TickRetry", 3, T).await;
    assert_eq!(calls.len(), 3, "{}", d.log_text());
    assert!(calls[0]["json"]["Metadata"].get("RetryContext").is_none());
    assert_eq!(
        calls[0]["json"]["Data"]["timer"]["ScheduleStatus"],
        Value::Null,
        "useMonitor false"
    );
    for (i, c) in calls.iter().enumerate().skip(1) {
        let rc = &c["json"]["Metadata"]["RetryContext"];
        assert_eq!(rc["RetryCount"], i, "{rc}");
        assert_eq!(rc["MaxRetryCount"], 2);
    }
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert_eq!(app.calls("/TickRetry").len(), 3, "no retry after success");
}

#[tokio::test]
async fn api_requests_are_forwarded_verbatim() {
    let app = app();
    let d = started(&app).await;
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client");
    let res = client
        .get(d.url("/api/things/1?code=k&vm=a&vm=b"))
        .header("X-Test", "1")
        .send()
        .await
        .expect("get");
    assert_eq!(res.status().as_u16(), 418, "handler status returned as is");
    assert_eq!(res.headers()["x-recorder"], "yes");
    let echoed: Value = res.json().await.expect("echo");
    assert_eq!(echoed["path"], "/api/things/1?code=k&vm=a%2Cb");
    assert_eq!(echoed["method"], "GET");
    assert_eq!(echoed["body"], "");
    let h = &echoed["headers"];
    assert_eq!(h["x-test"], "1");
    assert!(is_guid(&h["x-azure-functions-invocationid"]), "{h}");
    assert!(h["x-azure-functions-hostversion"].is_string());
    assert!(
        h["user-agent"]
            .as_str()
            .is_some_and(|u| u.contains("Azure-Functions-Host/")),
        "{h}"
    );
    assert_eq!(h["host"], d.addr, "original Host header kept");

    let res = client
        .post(d.url("/api/items"))
        .header("Content-Type", "text/plain")
        .body("hello")
        .send()
        .await
        .expect("post");
    let echoed: Value = res.json().await.expect("echo");
    assert_eq!(
        (echoed["method"].as_str(), echoed["body"].as_str()),
        (Some("POST"), Some("hello"))
    );
    assert_eq!(echoed["headers"]["content-length"], "5");

    let redirect = client
        .get(d.url("/api/redirect"))
        .send()
        .await
        .expect("redirect");
    assert_eq!(
        redirect.status().as_u16(),
        302,
        "redirects are not followed"
    );
    assert_eq!(redirect.headers()["location"], "/elsewhere");
    let outside = client.get(d.url("/other")).send().await.expect("outside");
    assert_eq!(outside.status().as_u16(), 404);
}
