//! Every kind of row through the real handler, from the facts that make them: an estate finding
//! opened and cleared on the fake Resource Manager (`EstateCheck`), a review posted to the API, a
//! live session disconnected through the API and announced (`LiveSessions`), and every
//! notification those produced delivered through `NotifyWebhook`. Then `SentinelExport` sends them,
//! plainly, and under a 429 storm with a lost answer.

use std::collections::BTreeSet;

use bastion_recordings::catalogue::RECORDINGS_TABLE;
use bastion_recordings::catalogue::key::RecordingKey;
use bastion_recordings::tables::WriteMode;
use bastion_recordings::tables::ops::write_creating_table;
use bastion_testkit::ingestion::{FakeIngestion, Fault};
use reqwest::Method;
use serde_json::{Value, json};
use time::OffsetDateTime;

use super::{
    DETECTIONS, DISCONNECTS, FINDINGS, REVIEWS, counts, deliver, drain, export, fake, health, ids,
    settings,
};
use crate::catalogue_sessions::{http, principal};
use crate::estate::fake_arm::{SUB, host_id};
use crate::estate::{Rig, notifications};

/// What the facts should produce: the ids per table.
struct Expected {
    detections: BTreeSet<String>,
    review: String,
    disconnect: String,
}

/// A live session on b1, started now.
fn live(id: &str) -> Value {
    let now = bastion_recordings::dates::format_utc_millis(OffsetDateTime::now_utc());
    json!({"sessionId": id, "startTime": now, "targetSubscriptionId": SUB, "resourceType": "VM",
        "targetHostName": "vm-app-01", "targetResourceGroup": "rg-app-weu", "userName": "alice",
        "targetIpAddress": "10.10.1.4", "protocol": "SSH",
        "targetResourceId": format!("/subscriptions/{SUB}/resourceGroups/rg-app-weu/providers/Microsoft.Compute/virtualMachines/vm-app-01"),
        "sessionDurationInMins": 1.5})
}

/// A `LiveSessions` tick now: its notifications.
async fn live_now(rig: &mut Rig) -> Vec<Value> {
    let mut inv = rig.next_timer("LiveSessions");
    inv["Metadata"]["sys"]["UtcNow"] = json!(bastion_recordings::dates::format_utc_millis(
        OffsetDateTime::now_utc()
    ));
    let (status, body) = rig.handler.invoke("LiveSessions", &inv).await;
    assert_eq!(status, 200, "{body}\n{}", rig.handler.log_text());
    notifications(&body)
}

/// A handler watching b1 on the fake Resource Manager, the export on to `fake`.
async fn rig(cs: &str, url: &str) -> Rig {
    let s = settings(url);
    let mut extra: Vec<(&str, &str)> = s.iter().map(|(k, v)| (*k, v.as_str())).collect();
    extra.push(("CATALOGUE_AUTH", "platform"));
    extra.push(("BASTION_DISCONNECT", "true"));
    Rig::new(cs, &extra).await
}

/// Makes one fact of each kind; delivers every notification they raise.
async fn make_facts(rig: &mut Rig) -> Expected {
    let mut raised = Vec::new();
    // An estate episode: recording off, then on again.
    rig.arm
        .with(|e| e.host("b1")["properties"]["enableSessionRecording"] = json!(false));
    raised.extend(rig.check().await);
    rig.arm
        .with(|e| e.host("b1")["properties"]["enableSessionRecording"] = json!(true));
    raised.extend(rig.check().await);
    let kinds: Vec<&str> = raised.iter().filter_map(|n| n["type"].as_str()).collect();
    assert_eq!(kinds, ["estate.finding", "estate.resolved"], "{raised:?}");

    // A review of a catalogued recording.
    let key = RecordingKey::for_source_blob(
        OffsetDateTime::now_utc(),
        "devstoreaccount1",
        "recordings",
        "vm-app-01/5f0c2d7e-8b1a-4c3e-9d2f-6a7b8c9d0e1f.webm",
    );
    let row = json!({"PartitionKey": key.pk, "RowKey": key.rk, "RecordingId": key.id(),
        "BastionHost": "b1", "TargetVm": "vm-app-01", "UserName": "alice",
        "BlobCreated": bastion_recordings::dates::format_utc(OffsetDateTime::now_utc()),
        "Status": "catalogued"});
    let tables = rig.tables();
    write_creating_table(
        &tables,
        RECORDINGS_TABLE,
        row.as_object().expect("row"),
        WriteMode::Upsert,
    )
    .await
    .expect("catalogue row");
    let reviewer = principal(&["Catalogue.Review"]);
    let body = json!({"recording": key.id(), "verdict": "incident", "comment": "keys copied out"});
    let hdr = [("x-ms-client-principal", reviewer.as_str())];
    let (s, text, _) = http(
        &rig.handler,
        Method::POST,
        "/api/reviews",
        Some(&body),
        &hdr,
    )
    .await;
    assert_eq!(s, 201, "{text}");
    let review = serde_json::from_str::<Value>(&text).expect("json")["reviewId"]
        .as_str()
        .expect("id")
        .to_owned();

    // A disconnect: the session is seen live, disconnected through the API, then announced.
    let host = host_id("b1").to_ascii_lowercase();
    rig.arm.with(|e| {
        e.sessions.insert(host, vec![live("s-1")]);
    });
    raised.extend(live_now(rig).await);
    let responder = principal(&["Catalogue.Disconnect"]);
    let hdr = [("x-ms-client-principal", responder.as_str())];
    let (s, text, _) = http(
        &rig.handler,
        Method::POST,
        "/api/sessions/live/s-1/disconnect",
        Some(&json!({"reason": "credential leak INC-7"})),
        &hdr,
    )
    .await;
    assert_eq!(s, 200, "{text}");
    let disconnect = serde_json::from_str::<Value>(&text).expect("json")["id"]
        .as_str()
        .expect("id")
        .to_owned();
    let announced = live_now(rig).await;
    assert!(
        announced
            .iter()
            .any(|n| n["type"] == "session.disconnected"),
        "{announced:?}"
    );
    raised.extend(announced);

    for n in &raised {
        deliver(&rig.handler, n).await;
    }
    Expected {
        detections: raised
            .iter()
            .map(|n| n["notificationId"].as_str().expect("id").to_owned())
            .collect(),
        review,
        disconnect,
    }
}

/// Every kind arrived with exactly the ids expected; the finding opened then cleared, the
/// disconnect asked then answered; nothing waits.
async fn assert_arrived(fake: &FakeIngestion, rig: &Rig, want: &Expected) {
    assert_eq!(ids(fake, DETECTIONS), want.detections);
    assert_eq!(ids(fake, REVIEWS), BTreeSet::from([want.review.clone()]));
    let findings: Vec<_> = fake
        .accepted()
        .into_iter()
        .filter(|a| a.stream == FINDINGS)
        .collect();
    let states: Vec<&str> = findings
        .iter()
        .filter_map(|a| a.record["Status"].as_str())
        .collect();
    let mut distinct = states.clone();
    distinct.dedup();
    assert_eq!(distinct, ["open", "resolved"], "{findings:?}");
    assert_eq!(ids(fake, FINDINGS).len(), 1, "one episode, one id");
    assert_eq!(findings[0].record["Finding"], "recording-off");
    assert_eq!(
        findings[0].record["BastionResourceId"],
        json!(host_id("b1"))
    );
    let disconnects: Vec<_> = fake
        .accepted()
        .into_iter()
        .filter(|a| a.stream == DISCONNECTS)
        .collect();
    assert_eq!(
        ids(fake, DISCONNECTS),
        BTreeSet::from([want.disconnect.clone()])
    );
    let states: Vec<&str> = disconnects
        .iter()
        .filter_map(|a| a.record["State"].as_str())
        .collect();
    let mut distinct = states.clone();
    distinct.dedup();
    assert_eq!(distinct, ["Requested", "Disconnected"]);
    assert_eq!(
        disconnects.last().expect("row").record["DecidedBy"],
        "auditor@contoso.com"
    );
    let doc = health(&rig.handler).await;
    for t in ["Detections", "Reviews", "Findings", "Disconnects"] {
        assert_eq!(doc["streams"][t]["rows"], 0, "{t}: {doc}");
        assert_eq!(doc["streams"][t]["lastError"], Value::Null, "{t}: {doc}");
    }
}

#[tokio::test]
async fn every_kind_of_row_arrives_with_exactly_the_ids_expected() {
    let Some(cs) = crate::harness::azurite() else {
        return;
    };
    let (fake, url) = fake().await;
    let mut rig = rig(&cs, &url).await;
    let want = make_facts(&mut rig).await;
    let replies = drain(&rig.handler, 4).await;
    assert!(replies.iter().all(|(s, _)| *s == 200), "{replies:?}");
    assert_arrived(&fake, &rig, &want).await;
    for stream in [DETECTIONS, REVIEWS] {
        assert!(
            counts(&fake, stream).values().all(|n| *n == 1),
            "{stream}: once each"
        );
    }
    // Every call was within the limit and gzip-compressed JSON the fake decompressed.
    assert!(
        fake.received()
            .iter()
            .all(|r| r.status == 204 && r.json_bytes > r.body_bytes / 2)
    );
}

#[tokio::test]
async fn a_429_storm_and_a_lost_answer_lose_nothing() {
    let Some(cs) = crate::harness::azurite() else {
        return;
    };
    let (fake, url) = fake().await;
    let mut rig = rig(&cs, &url).await;
    let want = make_facts(&mut rig).await;
    // The first table's call: a 429 ridden out within the run, then the service commits and the
    // connection closes without an answer, which is also how it answers a call too large: the
    // call is halved, each half ridden out through a 429 of its own. The next table's call: a
    // wait past the run, which ends it.
    fake.faults([
        Fault::Throttle(1),
        Fault::LoseAnswer,
        Fault::Throttle(1),
        Fault::Pass,
        Fault::Throttle(1),
        Fault::Pass,
        Fault::Throttle(600),
    ]);
    let (status, reply) = export(&rig.handler).await;
    assert_eq!(status, 200, "a throttled run is not a failure: {reply}");
    assert!(reply.to_string().contains("throttled"), "{reply}");
    let doc = health(&rig.handler).await;
    let stopped: Vec<&str> = ["Findings", "Reviews", "Disconnects"]
        .into_iter()
        .filter(|t| {
            doc["streams"][t]["lastError"]
                .as_str()
                .is_some_and(|e| e.contains("throttled"))
        })
        .collect();
    assert_eq!(
        stopped.len(),
        1,
        "the table the wait stopped shows it: {doc}"
    );
    let lost_call = fake
        .received()
        .iter()
        .position(|r| r.status == 0)
        .expect("a call lost its answer");
    let replies = drain(&rig.handler, 4).await;
    assert!(replies.iter().all(|(s, _)| *s == 200), "{replies:?}");
    assert_arrived(&fake, &rig, &want).await;
    // Only the call whose answer was lost arrived twice, all of it.
    let twice: BTreeSet<String> = fake
        .accepted()
        .iter()
        .filter(|a| a.request == lost_call)
        .map(|a| {
            a.record["NotificationId"]
                .as_str()
                .unwrap_or_default()
                .to_owned()
        })
        .collect();
    let counted = counts(&fake, DETECTIONS);
    assert!(!twice.is_empty());
    for (id, n) in &counted {
        assert_eq!(*n, if twice.contains(id) { 2 } else { 1 }, "{id}");
    }
}
