//! Live sessions and disconnect end to end: the real `handler` on Azurite, `getActiveSessions`
//! served by the fake as 202 + polling + `nextLink` pages. A native-client or recording-off session
//! alerts within one `LiveSessions` tick; a session the audit logs never show is
//! `session.unaudited` once its lateness window has passed; a disconnect is refused without
//! `Catalogue.Disconnect` or with `BASTION_DISCONNECT=false`, and with both it returns the service's
//! per-session state, is recorded in `disconnects` under the authenticated principal and reason, and
//! is announced once.

use bastion_recordings::tables::ops::{query_all, write_creating_table};
use bastion_recordings::tables::rest::TableRestClient;
use bastion_recordings::tables::{Filter, WriteMode};
use reqwest::Method;
use serde_json::{Value, json};

use super::fake_arm::host_id;
use super::{Rig, notifications};
use crate::catalogue_sessions::{http, principal};
use crate::harness::HandlerProcess;

/// A live session in the shape of the REST specs' example (its `startTime` written as the example
/// writes it: not zero-padded), on VM `vm`, started at 12:00.
fn live(id: &str, user: &str, vm: &str) -> Value {
    json!({"sessionId": id, "startTime": "2026-11-25T12:0:00.0000Z",
        "targetSubscriptionId": super::fake_arm::SUB, "resourceType": "VM",
        "targetHostName": vm, "targetResourceGroup": "rg-app-weu", "userName": user,
        "targetIpAddress": "10.10.1.4", "protocol": "SSH",
        "targetResourceId": format!("/subscriptions/{}/resourceGroups/rg-app-weu/providers/Microsoft.Compute/virtualMachines/{vm}", super::fake_arm::SUB),
        "sessionDurationInMins": 1.5})
}

impl Rig {
    /// One `LiveSessions` tick `minutes` after 12:00: its notifications.
    pub(crate) async fn live_at(&mut self, minutes: i64) -> Vec<Value> {
        self.tick = minutes - 1;
        let inv = self.next_timer("LiveSessions");
        let (status, body) = self.handler.invoke("LiveSessions", &inv).await;
        assert_eq!(status, 200, "{body}\n{}", self.handler.log_text());
        notifications(&body)
    }

    /// One `LiveSessions` tick now (the API's disconnect rows are dated by the real clock).
    async fn live_now(&mut self) -> Vec<Value> {
        let mut inv = self.next_timer("LiveSessions");
        let now = time::OffsetDateTime::now_utc();
        inv["Metadata"]["sys"]["UtcNow"] = json!(bastion_recordings::dates::format_utc_millis(now));
        let (status, body) = self.handler.invoke("LiveSessions", &inv).await;
        assert_eq!(status, 200, "{body}\n{}", self.handler.log_text());
        notifications(&body)
    }

    fn sessions(&self, list: Vec<Value>) {
        let host = host_id("b1").to_ascii_lowercase();
        self.arm.with(|e| {
            e.sessions.insert(host, list);
            e.lro = super::fake_arm::lro::Lro::Network;
            e.lro_polls = 2;
            e.page_size = 1;
        });
    }

    pub(crate) fn tables(&self) -> TableRestClient {
        let cs = self.env.get("AzureWebJobsStorage").to_owned();
        let conn = bastion_recordings::azure::connection::StorageConnection::resolve("T", &|k| {
            (k == "T").then(|| cs.clone())
        })
        .expect("parses")
        .expect("set");
        TableRestClient::new(&conn, self.env.get("TABLE_PREFIX")).expect("table client")
    }
}

/// `POST` a disconnect of `s-1` as principal `p`.
async fn post(
    h: &HandlerProcess,
    p: String,
    b: Value,
) -> (u16, String, reqwest::header::HeaderMap) {
    let hdr = [("x-ms-client-principal", p.as_str())];
    let path = "/api/sessions/live/s-1/disconnect";
    http(h, Method::POST, path, Some(&b), &hdr).await
}

fn kinds(ns: &[Value]) -> Vec<(String, String)> {
    let mut v: Vec<_> = ns
        .iter()
        .map(|n| {
            let s = |k: &str| n[k].as_str().unwrap_or_default().to_owned();
            (
                s("type"),
                n["data"]["sessionId"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned(),
            )
        })
        .collect();
    v.sort();
    v
}

#[tokio::test]
async fn a_native_client_or_recording_off_session_alerts_within_one_tick() {
    let Some(cs) = crate::harness::azurite() else {
        return;
    };
    let mut rig = Rig::new(&cs, &[]).await;
    rig.arm
        .with(|e| e.host("b1")["properties"]["enableTunneling"] = json!(true));
    rig.sessions(vec![
        live("s-portal", "alice", "vm-app-01"),
        live("s-native", "", "vm-app-01"),
    ]);
    let first = rig.live_at(1).await;
    assert_eq!(
        kinds(&first),
        [("session.unrecordable".into(), "s-native".into())]
    );
    assert_eq!(first[0]["data"]["bastionHost"], "b1");
    let requests = rig.arm.with(|e| e.requests.clone());
    let count = |p: &str| {
        let p = p.to_ascii_lowercase();
        requests
            .iter()
            .filter(|r| r.to_ascii_lowercase().contains(&p))
            .count()
    };
    assert_eq!(count("POST /subscriptions/"), 1, "{requests:?}");
    assert_eq!(
        count("/providers/Microsoft.Network/locations/westeurope/operations/"),
        3,
        "the status monitor polled through InProgress twice to Succeeded: {requests:?}"
    );
    assert_eq!(
        count("/providers/Microsoft.Network/locations/westeurope/operationResults/"),
        1,
        "then the result read from Location once: {requests:?}"
    );
    assert_eq!(
        count(
            "GET /subscriptions/11111111-2222-3333-4444-555555555555/resourceGroups/rg-bastion/providers/Microsoft.Network/bastionHosts/b1/getActiveSessions"
        ),
        1,
        "second page through nextLink: {requests:?}"
    );
    let (s, list) = rig.handler.get_json("/api/sessions/live").await;
    assert_eq!(s, 200, "{list}");
    assert_eq!(list["count"], 2, "{list}");
    assert!(rig.live_at(6).await.is_empty(), "announced once");
    // Recording switched off: the next new session alerts at its first sight.
    rig.arm
        .with(|e| e.host("b1")["properties"]["enableSessionRecording"] = json!(false));
    rig.sessions(vec![
        live("s-portal", "alice", "vm-app-01"),
        live("s-late", "bob", "vm-app-02"),
    ]);
    let n = rig.live_at(11).await;
    assert_eq!(
        kinds(&n),
        [("session.unrecordable".into(), "s-late".into())]
    );
    let (_, list) = rig.handler.get_json("/api/sessions/live").await;
    let ids: Vec<&str> = list["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter_map(|i| i["sessionId"].as_str())
        .collect();
    assert_eq!(ids.len(), 2, "s-native ended: {list}");
    assert!(!ids.contains(&"s-native"), "{list}");
}

#[tokio::test]
async fn a_live_session_the_audit_logs_never_show_is_unaudited_once() {
    let Some(cs) = crate::harness::azurite() else {
        return;
    };
    let mut rig = Rig::new(&cs, &[("RECORDING_SESSION_WAIT_MINUTES", "30")]).await;
    rig.sessions(vec![
        live("s-audited", "alice", "vm-app-01"),
        live("s-dark", "bob", "vm-db-01"),
    ]);
    assert!(
        rig.live_at(1).await.is_empty(),
        "recorded host: nothing at first sight"
    );
    // The audit logs show alice's session (tunnel id of their own) a few minutes after its start.
    let row = json!({"PartitionKey": "2026-11-25", "RowKey": "tunnel-7", "Start": "2026-11-25T12:02:00.000Z",
        "BastionHost": "b1", "TargetVm": "vm-app-01", "UserName": "alice", "Protocol": "ssh"});
    let tables = rig.tables();
    write_creating_table(
        &tables,
        "sessionwindows",
        row.as_object().expect("row"),
        WriteMode::Upsert,
    )
    .await
    .expect("audit row");
    assert!(
        rig.live_at(29).await.is_empty(),
        "within the lateness window"
    );
    let n = rig.live_at(31).await;
    assert_eq!(kinds(&n), [("session.unaudited".into(), "s-dark".into())]);
    assert_eq!(n[0]["data"]["targetVm"], "vm-db-01");
    assert!(rig.live_at(36).await.is_empty(), "decided once");
    let rows = query_all(
        &tables,
        "livesessions",
        &Filter::str(
            "SessionId",
            bastion_recordings::tables::filter::Op::Eq,
            "s-audited",
        ),
        10,
    )
    .await
    .expect("rows");
    assert_eq!(rows[0].entity["Audit"], "tunnel:tunnel-7");
}

#[tokio::test]
async fn disconnect_needs_the_role_and_the_switch_and_is_recorded_and_announced_once() {
    let Some(cs) = crate::harness::azurite() else {
        return;
    };
    let auth = [
        ("CATALOGUE_AUTH", "platform"),
        ("BASTION_DISCONNECT", "true"),
    ];
    let mut rig = Rig::new(&cs, &auth).await;
    // Started now: its lateness window is still open when the real-time ticks below run.
    let mut session = live("s-1", "alice", "vm-app-01");
    let now = bastion_recordings::dates::format_utc_millis(time::OffsetDateTime::now_utc());
    session["startTime"] = json!(now);
    rig.sessions(vec![session]);
    rig.live_at(1).await;
    let body = json!({"reason": "credential leak INC-7", "decidedBy": "mallory@evil.example"});
    let as_of = |roles: &[&str]| principal(roles);
    let (reader, responder) = (as_of(&["Catalogue.Read"]), as_of(&["Catalogue.Disconnect"]));
    let (s, text, _) = post(&rig.handler, reader.clone(), body.clone()).await;
    assert_eq!(s, 403, "{text}");
    let (s, text, _) = post(&rig.handler, responder.clone(), json!({"reason": " "})).await;
    assert_eq!(s, 400, "a reason is required: {text}");
    assert!(rig.arm.with(|e| e.disconnect_requests.is_empty()));
    let (s, text, _) = post(&rig.handler, responder.clone(), body.clone()).await;
    assert_eq!(s, 200, "{text}");
    let done: Value = serde_json::from_str(&text).expect("json");
    assert_eq!(done["state"], "Disconnected", "{done}");
    assert_eq!(
        done["decidedBy"], "auditor@contoso.com",
        "the principal, not the body"
    );
    assert_eq!(done["reason"], "credential leak INC-7");
    assert_eq!(rig.arm.with(|e| e.disconnect_requests.clone()), ["s-1"]);
    let day = bastion_recordings::dates::format_date(time::OffsetDateTime::now_utc().date());
    let rows = query_all(&rig.tables(), "disconnects", &Filter::partition(&day), 10)
        .await
        .expect("rows");
    assert_eq!(rows.len(), 1, "one append-only row");
    let r = &rows[0].entity;
    assert_eq!(
        (r["DecidedBy"].as_str(), r["State"].as_str()),
        (Some("auditor@contoso.com"), Some("Disconnected"))
    );
    // Announced by the next tick, once.
    let n = rig.live_now().await;
    assert_eq!(kinds(&n), [("session.disconnected".into(), "s-1".into())]);
    assert_eq!(n[0]["data"]["decidedBy"], "auditor@contoso.com");
    assert!(rig.live_now().await.is_empty(), "announced once");
    // With the switch off the same caller is refused, and Bastion is not asked.
    let mut pairs = rig.env.pairs();
    pairs.retain(|(k, _)| *k != "BASTION_DISCONNECT");
    pairs.push(("BASTION_DISCONNECT", "false"));
    let off = HandlerProcess::spawn(&pairs).await;
    let (s, text, _) = post(&off, responder, body).await;
    assert_eq!(s, 409, "{text}");
    assert_eq!(rig.arm.with(|e| e.disconnect_requests.len()), 1);
}
