//! The workspace rig: the identity rig (HTTPS Azurite in OAuth mode, the fake identity endpoint,
//! identity-only settings) plus the loopback fake of the Logs Query API served over HTTP, which
//! accepts only unexpired bearer tokens; audit records written both ways (a `PT1H.json` line and a
//! `MicrosoftAzureBastionAuditLogs` row) and the readers the scenarios count with.

use std::collections::BTreeSet;
use std::sync::Arc;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use bastion_testkit::loganalytics::{FakeLogs, FakeRow, serve};
use serde_json::{Map, Value, json};
use time::{Duration, OffsetDateTime};

use crate::harness::{HandlerProcess, on_sample_day, unique};
use crate::identity::rig::{HOUR, Rig};

/// The workspace (customer id).
pub(crate) const WS: &str = "a1b2c3d4-0000-4000-8000-0000000000e2";
/// The resource a Logs Query API token is asked for.
pub(crate) const LOGS_RESOURCE: &str = "https://api.loganalytics.io";
/// The Bastion of the records (the sample hour's path names it).
const HOST_ID: &str = "/SUBSCRIPTIONS/11111111-2222-3333-4444-555555555555/RESOURCEGROUPS/RG-HUB-WEU/PROVIDERS/MICROSOFT.NETWORK/BASTIONHOSTS/BAS-HUB-WEU";
/// The timer's "now" of the first ticks (the records lie in the hour before).
pub(crate) const T: OffsetDateTime = time::macros::datetime!(2025-03-14 11:30 UTC);

/// One audit record, as both sources carry it.
#[derive(Debug, Clone)]
pub(crate) struct Rec {
    pub(crate) tunnel: String,
    pub(crate) time: OffsetDateTime,
    pub(crate) message: &'static str,
    pub(crate) user: &'static str,
    pub(crate) vm: String,
    /// Ended: (start, end, duration ms).
    pub(crate) ended: Option<(OffsetDateTime, OffsetDateTime, i64)>,
}

fn ms(t: OffsetDateTime) -> String {
    bastion_recordings::dates::format_utc_millis(t)
}

/// An ended session of `user` on `vm` (`n` makes the tunnel id) starting at `start`.
pub(crate) fn session(n: u32, user: &'static str, start: OffsetDateTime) -> Rec {
    Rec {
        tunnel: format!("5e55{n:04x}-0000-4000-8000-000000000001"),
        time: start,
        message: "Successfully Connected.",
        user,
        vm: format!("VM-APP-{n:02}"),
        ended: Some((start, start + Duration::minutes(5), 300_000)),
    }
}

/// A failed login of `user` (`n` makes the tunnel id).
pub(crate) fn failed(n: u32, user: &'static str, at: OffsetDateTime) -> Rec {
    Rec {
        tunnel: format!("fa11{n:04x}-0000-4000-8000-000000000002"),
        time: at,
        message: "Login Failed",
        user,
        vm: "VM-APP-99".into(),
        ended: None,
    }
}

impl Rec {
    /// The `PT1H.json` line.
    pub(crate) fn line(&self) -> String {
        let ended = self.ended.map_or(String::new(), |(s, e, d)| {
            format!(
                r#","sessionStartTime":"{}","sessionEndTime":"{}","duration":{d}"#,
                ms(s),
                ms(e)
            )
        });
        format!(
            r#"{{"time":"{}","resourceId":"{HOST_ID}","operationName":"Microsoft.Network/BastionHost/connect","category":"BastionAuditLogs","properties":{{"userName":"{}","clientIpAddress":"203.0.113.9","clientPort":50123,"protocol":"ssh","targetResourceId":"/SUBSCRIPTIONS/S/RESOURCEGROUPS/RG-APP/PROVIDERS/MICROSOFT.COMPUTE/VIRTUALMACHINES/{}","targetVMIPAddress":"10.0.0.4","resourceType":"VM","message":"{}","tunnelId":"{}"{ended}}}}}"#,
            ms(self.time),
            self.user,
            self.vm,
            self.message,
            self.tunnel
        ) + "\n"
    }

    /// The workspace row, ingested at `ingested`.
    pub(crate) fn row(&self, ingested: OffsetDateTime) -> FakeRow {
        let (start, end, duration) = match self.ended {
            Some((s, e, d)) => (json!(ms(s)), json!(ms(e)), json!(d)),
            None => (Value::Null, json!(""), Value::Null),
        };
        let values: Map<String, Value> = json!({
            "TimeGenerated": ms(self.time), "_ResourceId": HOST_ID.to_ascii_lowercase(),
            "OperationName": "Microsoft.Network/BastionHost/connect", "Message": self.message,
            "UserName": self.user, "UserEmail": "", "ClientIpAddress": "203.0.113.9", "ClientPort": 50123,
            "Protocol": "ssh", "TargetResourceId": format!("/SUBSCRIPTIONS/S/RESOURCEGROUPS/RG-APP/PROVIDERS/MICROSOFT.COMPUTE/VIRTUALMACHINES/{}", self.vm),
            "TargetVMIPAddress": "10.0.0.4", "ResourceType": "VM", "TunnelId": self.tunnel,
            "SessionStartTime": start, "SessionEndTime": end, "Duration": duration,
        })
        .as_object()
        .cloned()
        .unwrap_or_default();
        FakeRow {
            ingested,
            visible_from: OffsetDateTime::UNIX_EPOCH,
            values,
        }
    }
}

/// True for an unexpired JWT (what the fake identity endpoint issues).
pub(crate) fn unexpired_jwt(token: &str) -> bool {
    let Some(claims) = token.split('.').nth(1) else {
        return false;
    };
    let Ok(bytes) = URL_SAFE_NO_PAD.decode(claims) else {
        return false;
    };
    serde_json::from_slice::<Value>(&bytes)
        .ok()
        .and_then(|c| c["exp"].as_i64())
        .is_some_and(|exp| exp > OffsetDateTime::now_utc().unix_timestamp())
}

pub(crate) struct WsRig {
    pub(crate) rig: Rig,
    pub(crate) fake: FakeLogs,
    endpoint: String,
}

impl WsRig {
    /// `None` (skip) unless `TEST_AZURITE=1` and an Azurite install is found.
    pub(crate) async fn start() -> Option<Self> {
        let rig = Rig::start().await?;
        let fake = FakeLogs::default().with_token_check(Arc::new(|t| t.is_some_and(unexpired_jwt)));
        fake.workspace(WS);
        let endpoint = serve(fake.clone()).await.expect("serve the fake");
        Some(Self {
            rig,
            fake,
            endpoint,
        })
    }

    /// Identity-only settings under table prefix `prefix`, reading audit blobs from `logs` and,
    /// when `workspace`, the workspace too (`extra` on top).
    pub(crate) fn env(
        &self,
        prefix: &str,
        logs: &str,
        workspace: bool,
        extra: &[(&str, &str)],
    ) -> Vec<(String, String)> {
        let mut env: Vec<(String, String)> = self
            .rig
            .env("handler", None)
            .into_iter()
            .filter(|(k, _)| k != "TABLE_PREFIX" && k != "AUDITLOGS_SOURCES")
            .collect();
        let mut add = |k: &str, v: &str| env.push((k.to_owned(), v.to_owned()));
        add("TABLE_PREFIX", prefix);
        add("AUDITLOGS_SOURCES", &format!("AzureWebJobsStorage:{logs}"));
        add("RECORDING_VOUCH_LAG_HOURS", crate::harness::VOUCH_LAG_HOURS);
        if workspace {
            add("AUDITLOGS_WORKSPACES", WS);
            add("LOGANALYTICS_ENDPOINT", &self.endpoint);
            add("CATALOGUE_AUTH_ALLOW_INSECURE_LOOPBACK", "true");
        }
        for (k, v) in extra {
            add(k, v);
        }
        env
    }

    pub(crate) async fn spawn(env: &[(String, String)]) -> HandlerProcess {
        HandlerProcess::spawn(&crate::identity::rig::pairs(env)).await
    }

    /// Ingests `recs` into the workspace from `at` on, a millisecond apart.
    pub(crate) fn ingest(&self, recs: &[Rec], at: OffsetDateTime) {
        for (i, r) in recs.iter().enumerate() {
            self.fake
                .ingest(WS, r.row(at + Duration::milliseconds(i as i64)));
        }
    }

    /// Archives `recs` as the sample hour's `PT1H.json` in `logs`, on the sample day
    /// ([`on_sample_day`]), and registers it on `h`.
    pub(crate) async fn archive(&self, h: &HandlerProcess, logs: &str, recs: &[Rec]) {
        let hour = on_sample_day(HOUR);
        self.rig.create_append(logs, &hour).await;
        let created = self
            .rig
            .event("invocations/auditlog-created.invocation.json", logs, &hour);
        let (s, out) = h.invoke("AuditLogCreated", &created).await;
        assert_eq!(s, 200, "{out}");
        let text: String = recs.iter().map(Rec::line).collect();
        self.rig.append(logs, &hour, text.into_bytes()).await;
    }

    /// The queries the fake answered carried tokens from the identity endpoint, asked for the
    /// Logs Query API's resource.
    pub(crate) fn assert_identity_tokens(&self) {
        let sent = self.fake.received();
        assert!(!sent.is_empty(), "the workspace was queried");
        assert!(
            sent.iter()
                .all(|r| r.token.as_deref().is_some_and(unexpired_jwt)),
            "every query carried a bearer token"
        );
        let asked: Vec<Option<String>> = self
            .rig
            .idp
            .requests("handler")
            .into_iter()
            .map(|r| r.resource)
            .collect();
        assert!(
            asked.iter().any(|r| r.as_deref() == Some(LOGS_RESOURCE)),
            "a token for the Logs Query API was asked of the identity endpoint: {asked:?}"
        );
    }
}

/// A fresh name for a table prefix or container.
pub(crate) fn fresh(prefix: &str) -> String {
    unique(prefix)
}

/// A timer invocation of `function` at `now`.
pub(crate) fn timer(function: &str, now: OffsetDateTime) -> Value {
    let mut inv = crate::harness::fixture("invocations/timer.invocation.json");
    inv["Metadata"]["sys"]["MethodName"] = json!(function);
    inv["Metadata"]["sys"]["UtcNow"] = json!(bastion_recordings::dates::format_utc(now));
    inv
}

/// Invokes `function` at `now` on `h`; returns the `(type, id)` of the notifications it output.
pub(crate) async fn tick(
    h: &HandlerProcess,
    function: &str,
    now: OffsetDateTime,
) -> Vec<(String, String)> {
    let (status, reply) = h.invoke(function, &timer(function, now)).await;
    assert_eq!(status, 200, "{function}: {reply} {}", h.log_text());
    notifications(&reply)
}

/// The `(type, id)` of a reply's notifications.
pub(crate) fn notifications(reply: &Value) -> Vec<(String, String)> {
    let out = &reply["Outputs"]["notifications"];
    let list = match out {
        Value::Array(items) => items.clone(),
        Value::Object(_) => vec![out.clone()],
        _ => Vec::new(),
    };
    list.iter()
        .map(|n| {
            let s = |k: &str| n[k].as_str().unwrap_or_default().to_owned();
            (s("type"), s("notificationId"))
        })
        .collect()
}

/// The sessions `/api/sessions` lists for the records' day (2025-03-14), by session id.
pub(crate) async fn sessions(h: &HandlerProcess) -> Vec<Value> {
    sessions_on(h, "2025-03-14").await
}

/// The sessions `/api/sessions` lists for `day` (`YYYY-MM-DD`), by session id.
pub(crate) async fn sessions_on(h: &HandlerProcess, day: &str) -> Vec<Value> {
    let (status, body) = h
        .get_json(&format!("/api/sessions?from={day}&to={day}"))
        .await;
    assert_eq!(status, 200, "{body}");
    let mut items = body["items"].as_array().cloned().unwrap_or_default();
    items.sort_by_key(|i| i["sessionId"].as_str().unwrap_or_default().to_owned());
    items
}

/// Distinct notification `(type, id)`s: a repeat under the same id is delivered once.
pub(crate) fn distinct(n: &[(String, String)]) -> BTreeSet<(String, String)> {
    n.iter().cloned().collect()
}
