//! The client against a scripted loopback Resource Manager answering in the shapes the Network
//! provider and the specifications document: long-running operations with status and result URLs
//! under `/locations/`, status bodies, 202 and 204 without bodies, pages that answer 202, the
//! documented `startTime` example, and the api-version fallback.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::http::{HeaderMap, HeaderName, StatusCode, Uri};
use axum::response::IntoResponse;
use serde_json::{Value, json};

use super::*;

const SUB: &str = "11111111-2222-3333-4444-555555555555";
const HOST: &str = "/subscriptions/11111111-2222-3333-4444-555555555555/resourceGroups/rg/providers/Microsoft.Network/bastionHosts/b1";

/// One scripted answer: status, headers, body (a `{base}` in a header's value or the body is the
/// server's URL).
#[derive(Clone)]
struct Answer(u16, Vec<(&'static str, String)>, String);

fn answer(status: u16, headers: &[(&'static str, &str)], body: Value) -> Answer {
    let body = if body.is_null() {
        String::new()
    } else {
        body.to_string()
    };
    Answer(
        status,
        headers.iter().map(|(k, v)| (*k, (*v).to_owned())).collect(),
        body,
    )
}

/// Answers by `METHOD path` in order (the last one repeats); records every request with the
/// time it came.
#[derive(Clone, Default)]
struct Script {
    answers: Arc<Mutex<HashMap<String, VecDeque<Answer>>>>,
    seen: Arc<Mutex<Vec<(String, Instant)>>>,
}

impl Script {
    fn on(&self, key: &str, answers: Vec<Answer>) -> &Self {
        self.answers
            .lock()
            .unwrap()
            .insert(key.to_owned(), answers.into());
        self
    }

    fn seen(&self) -> Vec<String> {
        self.seen
            .lock()
            .unwrap()
            .iter()
            .map(|(k, _)| k.clone())
            .collect()
    }

    fn times(&self, key: &str) -> Vec<Instant> {
        let seen = self.seen.lock().unwrap();
        seen.iter()
            .filter(|(k, _)| k.starts_with(key))
            .map(|(_, t)| *t)
            .collect()
    }
}

async fn serve(script: Script) -> String {
    let base = Arc::new(Mutex::new(String::new()));
    let b = base.clone();
    let handler = move |method: axum::http::Method, uri: Uri| {
        let (script, base) = (script.clone(), b.clone());
        async move {
            let key = format!("{method} {}", uri.path());
            let query = uri.query().unwrap_or_default().to_owned();
            script
                .seen
                .lock()
                .unwrap()
                .push((format!("{key}?{query}"), Instant::now()));
            let mut all = script.answers.lock().unwrap();
            let Some(q) = all.get_mut(&key) else {
                let body = json!({"error": {"code": "ResourceNotFound", "message": "none"}});
                return (StatusCode::NOT_FOUND, axum::Json(body)).into_response();
            };
            let Answer(status, headers, body) = if q.len() > 1 {
                q.pop_front().unwrap()
            } else {
                q.front().cloned().unwrap()
            };
            let base = base.lock().unwrap().clone();
            let mut h = HeaderMap::new();
            for (k, v) in headers {
                h.insert(
                    HeaderName::from_static(k),
                    v.replace("{base}", &base).parse().unwrap(),
                );
            }
            if !body.is_empty() {
                h.insert(
                    "content-type",
                    "application/json; charset=utf-8".parse().unwrap(),
                );
            }
            let body = body.replace("{base}", &base);
            (StatusCode::from_u16(status).unwrap(), h, body).into_response()
        }
    };
    let app = axum::Router::new().fallback(handler);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    *base.lock().unwrap() = url.clone();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    url
}

fn client(url: &str) -> ArmClient {
    ArmClient::loopback(url, Duration::from_secs(5))
}

fn session(id: &str) -> Value {
    // The specification's own example: `startTime` not RFC 3339.
    json!({"sessionId": id, "startTime": "2019-1-1T12:00:00.0000Z", "targetSubscriptionId": "subid",
        "resourceType": "VM", "targetHostName": "vm01", "targetResourceGroup": "rg1", "userName": "user",
        "targetIpAddress": "1.1.1.1", "protocol": "SSH",
        "targetResourceId": "/subscriptions/subid/resourceGroups/rg1/providers/Microsoft.Compute/virtualMachines/vm01",
        "sessionDurationInMins": 0.0})
}

const STATUS: &str = "/subscriptions/11111111-2222-3333-4444-555555555555/providers/Microsoft.Network/locations/westeurope/operations/op-1";
const RESULT: &str = "/subscriptions/11111111-2222-3333-4444-555555555555/providers/Microsoft.Network/locations/westeurope/operationResults/op-1";

fn accepted(retry_after: Option<&str>) -> Answer {
    let mut h = vec![
        (
            "location",
            format!("{{base}}{RESULT}?api-version=2026-01-01"),
        ),
        (
            "azure-asyncoperation",
            format!("{{base}}{STATUS}?api-version=2026-01-01"),
        ),
    ];
    if let Some(r) = retry_after {
        h.push(("retry-after", r.to_owned()));
    }
    Answer(202, h, String::new())
}

fn status(s: &str) -> Answer {
    answer(
        200,
        &[("retry-after", "1")],
        json!({"id": STATUS, "name": "op-1", "status": s, "startTime": "2026-11-25T12:00:00Z"}),
    )
}

/// The list at `path` was asked at `api`, and its 429's `Retry-After` (1 s) waited out.
fn asked_and_waited(s: &Script, path: &str, api: &str) {
    let seen = s.seen();
    assert!(
        seen[0].ends_with(&format!("?api-version={api}")),
        "{seen:?}"
    );
    let waited = s.times(&format!("GET {path}?"));
    assert!(
        waited[1] - waited[0] >= Duration::from_millis(900),
        "Retry-After not honoured"
    );
}

/// The Network provider's usual answer: 202 with both URLs under `/locations/`; the status monitor
/// is polled through `InProgress` to `Succeeded`, waiting its `Retry-After` each time, and only
/// then is the result read from `Location`. The in-progress bodies are never taken for a page
/// (that emptied every host's live sessions).
#[tokio::test]
async fn the_status_monitor_is_polled_to_its_end_and_the_result_read_from_location() {
    let s = Script::default();
    s.on(
        &format!("POST {HOST}/getActiveSessions"),
        vec![accepted(Some("1"))],
    )
    .on(
        &format!("GET {STATUS}"),
        vec![
            status("InProgress"),
            status("InProgress"),
            status("Succeeded"),
        ],
    )
    .on(
        &format!("GET {RESULT}"),
        vec![answer(
            200,
            &[],
            json!({"value": [session("s-1"), session("s-2")]}),
        )],
    );
    let url = serve(s.clone()).await;
    let started = Instant::now();
    let got = client(&url).active_sessions(HOST).await.expect("sessions");
    assert_eq!(
        got.iter()
            .map(|s| s.session_id.as_str())
            .collect::<Vec<_>>(),
        ["s-1", "s-2"]
    );
    assert_eq!(
        got[0].started(),
        Some(time::macros::datetime!(2019-01-01 12:00 UTC)),
        "the documented example is read"
    );
    assert!(
        started.elapsed() >= Duration::from_secs(3),
        "Retry-After: 1 before each of 3 polls"
    );
    let seen = s.seen();
    assert_eq!(
        seen.iter()
            .filter(|k| k.contains("/operations/op-1"))
            .count(),
        3,
        "{seen:?}"
    );
    assert_eq!(
        seen.iter()
            .filter(|k| k.contains("/operationResults/op-1"))
            .count(),
        1
    );
    assert!(seen[0].contains("api-version=2026-01-01"), "{seen:?}");
}

/// Without `Retry-After` the poll waits the default interval (scaled here).
#[tokio::test]
async fn without_retry_after_the_default_interval_is_waited() {
    let s = Script::default();
    s.on(
        &format!("POST {HOST}/getActiveSessions"),
        vec![accepted(None)],
    )
    .on(
        &format!("GET {STATUS}"),
        vec![answer(200, &[], json!({"status": "Succeeded"}))],
    )
    .on(
        &format!("GET {RESULT}"),
        vec![answer(200, &[], json!({"value": []}))],
    );
    let url = serve(s.clone()).await;
    let mut c = client(&url);
    c.driver.poll_default = Duration::from_millis(700);
    c.active_sessions(HOST).await.expect("sessions");
    let post = s.times("POST")[0];
    let poll = s.times(&format!("GET {STATUS}"))[0];
    assert!(poll.duration_since(post) >= Duration::from_millis(690));
}

/// A poll under `/locations/` refused with 403 names the permission it needs and where: not
/// the host's action, which a role on the host already grants.
#[tokio::test]
async fn a_refused_location_poll_names_the_subscription_permission() {
    let s = Script::default();
    let forbidden = answer(
        403,
        &[],
        json!({"error": {"code": "AuthorizationFailed", "message": "no"}}),
    );
    s.on(
        &format!("POST {HOST}/getActiveSessions"),
        vec![accepted(Some("0"))],
    )
    .on(&format!("GET {STATUS}"), vec![forbidden]);
    let url = serve(s).await;
    let err = client(&url)
        .active_sessions(HOST)
        .await
        .expect_err("refused");
    let text = err.to_string();
    assert!(
        text.contains(&format!(
            "Microsoft.Network/locations/operations/read at subscription scope (/subscriptions/{SUB})"
        )),
        "{text}"
    );
    assert!(!text.contains("getactivesessions/action"), "{text}");
}

/// A failed operation is an error, never an empty list.
#[tokio::test]
async fn a_failed_operation_is_an_error() {
    let s = Script::default();
    s.on(
        &format!("POST {HOST}/getActiveSessions"),
        vec![accepted(Some("0"))],
    )
    .on(
        &format!("GET {STATUS}"),
        vec![answer(
            200,
            &[],
            json!({"status": "Failed", "error": {"code": "InternalServerError", "message": "x"}}),
        )],
    );
    let url = serve(s).await;
    let err = client(&url)
        .active_sessions(HOST)
        .await
        .expect_err("failed");
    assert!(err.to_string().contains("ended Failed"), "{err}");
}

/// The specification's own example: `Location` under the host, polled 202 (no body) then 200; a
/// next page that itself answers 202 is polled the same way; a 204 is a result without content.
#[tokio::test]
async fn location_only_polls_pages_that_answer_202_and_204() {
    let s = Script::default();
    let under_host = format!("{HOST}/getActiveSessions/operationResults/op-9");
    let page2 = format!("{HOST}/getActiveSessions/pages/2");
    let page2_op = format!("{HOST}/getActiveSessions/operationResults/op-10");
    s.on(
        &format!("POST {HOST}/getActiveSessions"),
        vec![Answer(
            202,
            vec![
                ("location", format!("{{base}}{under_host}?api-version=2026-01-01")),
                ("retry-after", "0".into()),
            ],
            String::new(),
        )],
    )
    .on(
        &format!("GET {under_host}"),
        vec![
            Answer(202, vec![("location", format!("{{base}}{under_host}")), ("retry-after", "0".into())], String::new()),
            answer(
                200,
                &[],
                json!({"value": [session("s-1")], "nextLink": format!("{url}{page2}?api-version=2026-01-01", url = "{base}")}),
            ),
        ],
    )
    .on(
        &format!("GET {page2}"),
        vec![Answer(
            202,
            vec![("location", format!("{{base}}{page2_op}")), ("retry-after", "0".into())],
            String::new(),
        )],
    )
    .on(&format!("GET {page2_op}"), vec![answer(200, &[], json!({"value": [session("s-2")]}))]);
    let url = serve(s.clone()).await;
    let got = client(&url).active_sessions(HOST).await.expect("sessions");
    assert_eq!(got.len(), 2, "{:?}", s.seen());

    let s = Script::default();
    s.on(
        &format!("POST {HOST}/getActiveSessions"),
        vec![answer(204, &[], Value::Null)],
    );
    let url = serve(s).await;
    assert!(
        client(&url)
            .active_sessions(HOST)
            .await
            .expect("204")
            .is_empty()
    );
}

/// A poll that would pass the end of the run is not waited: the call ends with the operation
/// still running, which the watch reports, never as "no sessions".
#[tokio::test]
async fn a_poll_past_the_end_of_the_run_ends_the_call() {
    let s = Script::default();
    s.on(
        &format!("POST {HOST}/getActiveSessions"),
        vec![accepted(Some("30"))],
    );
    let url = serve(s).await;
    let c: Arc<dyn ResourceManager> = Arc::new(client(&url));
    let bounded = crate::arm::bounded(&c, Instant::now() + Duration::from_secs(5));
    let started = Instant::now();
    let err = bounded
        .active_sessions(HOST)
        .await
        .expect_err("still running");
    assert!(err.to_string().contains("still running"), "{err}");
    assert!(started.elapsed() < Duration::from_secs(2));
}

/// Where Resource Manager does not know 2026-01-01, the older version is used (once refused,
/// never asked again), and a host answering without the new properties reads as before.
#[tokio::test]
async fn a_refused_api_version_falls_back_to_the_older_one() {
    let s = Script::default();
    let refused = answer(
        400,
        &[],
        json!({"error": {"code": "NoRegisteredProviderFound", "message": "No registered resource provider found for location 'westeurope' and API version '2026-01-01'"}}),
    );
    let old = answer(
        200,
        &[],
        json!({"id": HOST, "name": "b1", "sku": {"name": "Premium"},
            "properties": {"provisioningState": "Succeeded", "enableSessionRecording": true}}),
    );
    s.on(&format!("GET {HOST}"), vec![refused, old]);
    let url = serve(s.clone()).await;
    let c = client(&url);
    let host = c.bastion_host(HOST).await.expect("host");
    assert!(host.properties.enable_session_recording);
    assert!(host.properties.session_recording_configuration.is_none());
    c.bastion_host(HOST).await.expect("again");
    let versions: Vec<String> = s
        .seen()
        .iter()
        .map(|k| {
            k.rsplit("api-version=")
                .next()
                .unwrap_or_default()
                .to_owned()
        })
        .collect();
    assert_eq!(versions, ["2026-01-01", "2024-05-01", "2024-05-01"]);
}

/// No diagnostic setting is `200 {"value": []}`; the API's errors are a top-level `{code, message}`.
#[tokio::test]
async fn diagnostic_settings_none_and_errors_as_documented() {
    let s = Script::default();
    let path = format!("{HOST}/providers/Microsoft.Insights/diagnosticSettings");
    s.on(
        &format!("GET {path}"),
        vec![answer(200, &[], json!({"value": []}))],
    );
    let url = serve(s.clone()).await;
    assert!(
        client(&url)
            .diagnostic_settings(HOST)
            .await
            .expect("none")
            .is_empty()
    );
    s.on(
        &format!("GET {path}"),
        vec![answer(
            400,
            &[],
            json!({"code": "BadRequest", "message": "The resource type is not supported"}),
        )],
    );
    let err = client(&url)
        .diagnostic_settings(HOST)
        .await
        .expect_err("refused");
    assert!(err.to_string().contains("BadRequest"), "{err}");
}

/// A 202 naming only the status monitor: its in-progress bodies are never a result, and the
/// operation's result is the `properties` of the monitor that succeeded (read until then, a body
/// such as `{"status": "InProgress"}` once emptied every host's live sessions).
#[tokio::test]
async fn a_monitor_without_location_gives_its_properties_never_a_status_body() {
    let s = Script::default();
    let monitor_only = Answer(
        202,
        vec![
            (
                "azure-asyncoperation",
                format!("{{base}}{STATUS}?api-version=2026-01-01"),
            ),
            ("retry-after", "0".into()),
        ],
        String::new(),
    );
    s.on(
        &format!("POST {HOST}/getActiveSessions"),
        vec![monitor_only],
    )
    .on(
        &format!("GET {STATUS}"),
        vec![
            answer(
                200,
                &[("retry-after", "0")],
                json!({"status": "InProgress"}),
            ),
            answer(
                200,
                &[],
                json!({"status": "Succeeded",
                    "properties": {"value": [session("s-1")]}}),
            ),
        ],
    );
    let url = serve(s.clone()).await;
    let got = client(&url).active_sessions(HOST).await.expect("sessions");
    assert_eq!(got.len(), 1, "{:?}", s.seen());
    // Succeeded with neither a Location nor properties: an error, not an empty list.
    let s = Script::default();
    s.on(
        &format!("POST {HOST}/getActiveSessions"),
        vec![Answer(
            202,
            vec![
                ("azure-asyncoperation", format!("{{base}}{STATUS}")),
                ("retry-after", "0".into()),
            ],
            String::new(),
        )],
    )
    .on(
        &format!("GET {STATUS}"),
        vec![answer(200, &[], json!({"status": "Succeeded"}))],
    );
    let url = serve(s).await;
    let err = client(&url)
        .active_sessions(HOST)
        .await
        .expect_err("no result");
    assert!(err.to_string().contains("named no result"), "{err}");
}

/// PIM's schedule lists at a subscription (api-version 2020-10-01, the specification's example
/// `GetRoleAssignmentScheduleInstancesByScope.json` as the items): every page through `nextLink`,
/// a 429 waited out after its `Retry-After`, and a 403 naming Reader at the subscription.
#[tokio::test]
async fn schedule_instances_are_read_through_every_page_and_a_refusal_names_reader() {
    let sub = format!("/subscriptions/{SUB}");
    let path = format!("{sub}/providers/Microsoft.Authorization/roleAssignmentScheduleInstances");
    let item = |name: &str| {
        json!({"properties": {"assignmentType": "Activated", "scope": sub, "principalId": "a3bb8764-cb92-4276-9d2a-ca1e895e55ea",
            "principalType": "User", "status": "Accepted", "startDateTime": "2020-09-09T21:35:27.91Z",
            "endDateTime": "2020-09-10T05:35:17.91Z", "memberType": "Direct",
            "roleDefinitionId": format!("{sub}/providers/Microsoft.Authorization/roleDefinitions/c8d4ff99-41c3-41a8-9f60-21dfdad59608"),
            "expandedProperties": {"principal": {"id": "a3bb8764-cb92-4276-9d2a-ca1e895e55ea", "displayName": "User Account", "email": "user@my-tenant.com", "type": "User"}}},
            "name": name, "id": format!("{sub}/providers/Microsoft.Authorization/RoleAssignmentScheduleInstances/{name}"),
            "type": "Microsoft.Authorization/RoleAssignmentScheduleInstances"})
    };
    let s = Script::default();
    let page2 = format!("{path}/page2");
    s.on(
        &format!("GET {path}"),
        vec![
            answer(429, &[("retry-after", "1")], json!({"error": {"code": "TooManyRequests", "message": "slow down"}})),
            answer(200, &[], json!({"value": [item("i1")], "nextLink": format!("{{base}}{page2}?api-version=2020-10-01")})),
        ],
    )
    .on(&format!("GET {page2}"), vec![answer(200, &[], json!({"value": [item("i2")]}))]);
    let url = serve(s.clone()).await;
    let got = client(&url)
        .schedule_instances(&sub)
        .await
        .expect("instances");
    let names: Vec<&str> = got.iter().map(|i| i.name.as_str()).collect();
    assert_eq!(names, ["i1", "i2"], "{:?}", s.seen());
    assert_eq!(
        got[0]
            .properties
            .expanded_properties
            .principal
            .email
            .as_deref(),
        Some("user@my-tenant.com")
    );
    asked_and_waited(&s, &path, "2020-10-01");

    let s = Script::default();
    s.on(
        &format!("GET {sub}/providers/Microsoft.Authorization/roleAssignmentScheduleRequests"),
        vec![answer(
            403,
            &[],
            json!({"error": {"code": "AuthorizationFailed", "message": "no"}}),
        )],
    );
    let url = serve(s).await;
    let err = client(&url).schedule_requests(&sub).await.expect_err("403");
    let text = err.to_string();
    assert!(
        text.contains("Reader at subscription scope (/subscriptions/"),
        "{text}"
    );
    assert!(
        text.contains("Microsoft.Authorization/roleAssignmentScheduleRequests/read"),
        "{text}"
    );
}

/// The role definitions at a subscription (api-version 2022-04-01, items as the specification's
/// `GetRoleDefinitionById.json` and `GetRoleDefinitionAtScope.json` give them): every page
/// through `nextLink`, and a 403 naming Reader at the subscription and the action.
#[tokio::test]
async fn role_definitions_are_listed_through_every_page_and_a_refusal_names_the_action() {
    let sub = format!("/subscriptions/{SUB}");
    let path = format!("{sub}/providers/Microsoft.Authorization/roleDefinitions");
    let item = |name: &str| {
        json!({"properties": {"roleName": "Role name", "type": "roletype", "description": "Role description",
            "assignableScopes": ["/subscriptions/subId"],
            "permissions": [{"actions": ["action"], "notActions": [], "dataActions": ["dataAction"], "notDataActions": []}]},
            "id": format!("{sub}/providers/Microsoft.Authorization/roleDefinitions/{name}"),
            "type": "Microsoft.Authorization/roleDefinitions", "name": name})
    };
    let s = Script::default();
    let page2 = format!("{path}/page2");
    s.on(
        &format!("GET {path}"),
        vec![answer(200, &[], json!({"value": [item("d1")], "nextLink": format!("{{base}}{page2}?api-version=2022-04-01")}))],
    )
    .on(&format!("GET {page2}"), vec![answer(200, &[], json!({"value": [item("d2")]}))]);
    let url = serve(s.clone()).await;
    let got = client(&url)
        .role_definitions(&sub)
        .await
        .expect("definitions");
    let names: Vec<&str> = got.iter().filter_map(|d| d.name.as_deref()).collect();
    assert_eq!(names, ["d1", "d2"], "{:?}", s.seen());
    assert_eq!(
        got[0].properties.permissions[0].data_actions,
        ["dataAction"]
    );
    assert!(
        s.seen()
            .iter()
            .any(|q| q.contains("api-version=2022-04-01")),
        "{:?}",
        s.seen()
    );

    let s = Script::default();
    s.on(
        &format!("GET {path}"),
        vec![answer(
            403,
            &[],
            json!({"error": {"code": "AuthorizationFailed", "message": "no"}}),
        )],
    );
    let url = serve(s).await;
    let err = client(&url).role_definitions(&sub).await.expect_err("403");
    let text = err.to_string();
    assert!(
        text.contains("Reader at subscription scope (/subscriptions/"),
        "{text}"
    );
    assert!(
        text.contains("Microsoft.Authorization/roleDefinitions/read"),
        "{text}"
    );
}

/// The Compute list of a subscription's VMs (api-version 2024-07-01, "Virtual Machines - List
/// All"; items as the specification's `VirtualMachine_ListAll_MaximumSet_Gen.json`, `resources`
/// its extensions, and `…_MinimumSet_Gen.json`, without): every page, a 429 waited out, a 403
/// naming Reader at the subscription and the action.
#[tokio::test]
async fn the_vm_list_is_read_through_every_page_with_extensions_and_a_refusal_names_reader() {
    let sub = format!("/subscriptions/{SUB}");
    let path = format!("{sub}/providers/Microsoft.Compute/virtualMachines");
    let vm = |name: &str| {
        format!("{sub}/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/{name}")
    };
    let first = json!({"id": vm("a"), "name": "a", "type": "Microsoft.Compute/virtualMachines",
        "location": "eastus", "properties": {"vmId": "0f47b100-583c-48e3-a4c0-aefc2c9bbcc1"},
        "resources": [{"id": format!("{}/extensions/AADLoginForWindows", vm("a")), "name": "AADLoginForWindows",
            "properties": {"publisher": "Microsoft.Azure.ActiveDirectory", "type": "AADLoginForWindows",
                "typeHandlerVersion": "2.0", "provisioningState": "Succeeded"}}]});
    let page2 = format!("{path}/page2");
    let throttled = json!({"error": {"code": "TooManyRequests", "message": "slow down"}});
    let s = Script::default();
    s.on(
        &format!("GET {path}"),
        vec![
            answer(429, &[("retry-after", "1")], throttled),
            answer(200, &[], json!({"value": [first], "nextLink": format!("{{base}}{page2}?api-version=2024-07-01")})),
        ],
    )
    .on(&format!("GET {page2}"), vec![answer(200, &[], json!({"value": [{"id": vm("b"), "location": "eastus"}]}))]);
    let url = serve(s.clone()).await;
    let got = client(&url).virtual_machines(&sub).await.expect("vms");
    let entra = ["AADSSHLoginForLinux", "AADLoginForWindows"];
    let told: Vec<(&str, Result<bool, crate::arm::model::Untold>)> = (got.iter())
        .map(|v| {
            (
                v.id.rsplit('/').next().unwrap_or_default(),
                v.has_any(&entra),
            )
        })
        .collect();
    let untold = Err(crate::arm::model::Untold::NoResources);
    assert_eq!(told, [("a", Ok(true)), ("b", untold)], "{:?}", s.seen());
    asked_and_waited(&s, &path, "2024-07-01");

    let s = Script::default();
    let refused = json!({"error": {"code": "AuthorizationFailed", "message": "no"}});
    s.on(&format!("GET {path}"), vec![answer(403, &[], refused)]);
    let url = serve(s).await;
    let err = client(&url).virtual_machines(&sub).await.expect_err("403");
    let text = err.to_string();
    assert!(
        text.contains(&format!("Reader at subscription scope ({sub})")),
        "{text}"
    );
    assert!(
        text.contains("Microsoft.Compute/virtualMachines/read"),
        "{text}"
    );
}
