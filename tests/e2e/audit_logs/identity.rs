//! The writer check against the host's recording identity end to end on Azurite: `EstateCheck`
//! reads host `b1` from the Resource Manager fake (API 2026-01-01, recording into the watched
//! container with its system-assigned identity) and stores that identity's object id; the Log
//! Analytics fake then answers documented `StorageBlobLogs` rows: a recording written by the host's
//! identity stays exact, one written by another Entra principal becomes `suspect`
//! (`writer-not-recording-identity`), and so does one whose write was logged before its
//! `BlobCreated` was handled, once its row exists; `recording.suspect` goes out once for each. The
//! writes come after the host's first check: the next check confirms the identity was still in
//! force when they were written, and judges them again.

use std::collections::BTreeMap;

use bastion_recordings::storage::{BlobRef, Metadata};
use bastion_recordings::tables::get_str;
use bastion_testkit::loganalytics::blobs;
use bastion_testkit::loganalytics::{FakeLogs, serve};
use bytes::Bytes;
use serde_json::{Value, json};
use time::{Duration, OffsetDateTime};

use super::planted::{audit_hour, catalogue, of_kind, recording_rows, session, tally, utc};
use super::support::{Env, event_invocation};
use crate::estate::fake_arm::{Estate, FakeArm, principal};
use crate::harness::{self, AzuriteEnv, HandlerProcess, fixture};

pub(super) const WS: &str = "c0ffee00-0000-4000-8000-0000000000b8";
const HOSTED: &str = "d0d0d0d0-0000-4000-8000-0000000000f1";
const OTHER: &str = "d0d0d0d0-0000-4000-8000-0000000000f2";
const EARLY: &str = "d0d0d0d0-0000-4000-8000-0000000000f3";
pub(super) const OTHER_OID: &str = "6b1d2e3f-4a5b-4c6d-8e7f-9a0b1c2d3e4f";
const ACCOUNT: &str = "devstoreaccount1";

/// The handler watching host `b1` on the Resource Manager fake, the custody workspace on the Log
/// Analytics fake.
pub(super) async fn spawn(cs: &str, fake: &FakeLogs) -> (Env, FakeArm) {
    fake.workspace(WS);
    let endpoint = serve(fake.clone()).await.expect("fake");
    let az = AzuriteEnv::new(cs);
    let container = az.recordings().to_owned();
    let mut estate = Estate::default();
    estate.add_healthy("b1", ACCOUNT, &container, ACCOUNT);
    let arm = FakeArm::start(estate).await;
    let watched = crate::estate::watching(&container, ACCOUNT, &arm.url);
    let mut pairs: Vec<(&str, &str)> = az.pairs();
    pairs.retain(|(k, _)| !["RECORDING_MIN_BYTES", "RECORDINGS_SOURCES"].contains(k));
    pairs.extend(watched.iter().map(|(k, v)| (*k, v.as_str())));
    pairs.extend([
        ("RECORDING_MIN_BYTES", "4096"),
        ("UNRECORDED_GRACE_MINUTES", "1"),
        ("CUSTODY_WORKSPACE_ID", WS),
        ("LOGANALYTICS_ENDPOINT", endpoint.as_str()),
    ]);
    let handler = HandlerProcess::spawn(&pairs).await;
    (Env::with(cs, az, handler), arm)
}

/// A successful write of `name` as the table reference's columns log it, by Entra principal
/// `oid`, returning `etag`, ingested now.
pub(super) fn oauth_write(
    fake: &FakeLogs,
    e: &Env,
    (op, name, etag): (&str, &str, &str),
    oid: &str,
) {
    let container = e.env.recordings();
    let values = json!({
        "TimeGenerated": utc(OffsetDateTime::now_utc() - Duration::minutes(4)),
        "AccountName": ACCOUNT, "OperationName": op, "StatusCode": "201", "StatusText": "Success",
        "Uri": format!("https://{ACCOUNT}.blob.core.windows.net/{container}/{name}"),
        "ObjectKey": format!("/{ACCOUNT}/{container}/{name}"),
        "CallerIpAddress": "20.50.2.9:443", "AuthenticationType": "OAuth",
        "AuthenticationHash": "8C9D2A8E4F6B1C3D5E7F9A0B1C2D3E4F5A6B7C8D9E0F1A2B3C4D5E6F7A8B9C0D",
        "RequesterObjectId": oid, "RequesterUpn": "", "RequesterAppId": "",
        "RequesterTenantId": "00000000-0000-0000-0000-0000000000f1",
        "Etag": format!("\"{etag}\""), "CorrelationId": format!("{op}-{name}"),
        "UserAgentHeader": "azsdk-rust-storage", "Protocol": "HTTPS", "Category": "StorageWrite",
        "ServiceType": "blob", "Location": "westeurope",
    });
    let values = values.as_object().cloned().unwrap_or_default();
    fake.ingest(WS, blobs::row(values, OffsetDateTime::now_utc()));
}

/// One run of timer `method` at `at`, answered 200; its notifications tallied, the suspect kept.
pub(super) async fn tick(
    e: &Env,
    method: &str,
    at: OffsetDateTime,
    seen: &mut BTreeMap<(String, String), usize>,
    suspect: &mut Vec<Value>,
) {
    let mut inv = fixture("invocations/timer.invocation.json");
    inv["Metadata"]["sys"]["MethodName"] = json!(method);
    inv["Metadata"]["sys"]["UtcNow"] = json!(utc(at));
    let (status, reply) = e.handler.invoke(method, &inv).await;
    assert_eq!(status, 200, "{reply}\n{}", e.handler.log_text());
    tally(&reply, seen);
    let list = match &reply["Outputs"]["notifications"] {
        Value::Array(items) => items.clone(),
        Value::Null => Vec::new(),
        one => vec![one.clone()],
    };
    suspect.extend(
        list.into_iter()
            .filter(|n| n["type"] == "recording.suspect"),
    );
}

#[tokio::test]
async fn an_entra_write_vouches_only_by_the_hosts_recording_identity() {
    let Some(cs) = harness::azurite() else { return };
    let fake = FakeLogs::default();
    let (e, _arm) = spawn(&cs, &fake).await;
    let (mut seen, mut suspect) = (BTreeMap::new(), Vec::new());
    let t0 = OffsetDateTime::now_utc().replace_nanosecond(0).expect("t");
    let t = |m: i64| t0 + Duration::minutes(m);
    tick(&e, "EstateCheck", t(-30), &mut seen, &mut suspect).await;
    let text = [HOSTED, OTHER, EARLY]
        .iter()
        .map(|s| session(s, t(-30), t(-20), "vm-i"))
        .collect::<String>();
    audit_hour(&e, t0 - Duration::hours(1), text).await;
    tick(&e, "AuditLogTail", t(0), &mut seen, &mut suspect).await;
    let container = e.env.recordings().to_owned();
    let mut ids = BTreeMap::new();
    for tunnel in [HOSTED, OTHER] {
        let name = format!("rec/{tunnel}.webm");
        let (id, reply) = catalogue(&e, &name, vec![7; 5000], t(-10)).await;
        tally(&reply, &mut seen);
        let blob = BlobRef::new(container.clone(), name.clone());
        let etag = e.blobs.properties(&blob).await.expect("props").etag;
        let oid = if tunnel == HOSTED {
            principal("b1")
        } else {
            OTHER_OID.to_owned()
        };
        oauth_write(&fake, &e, ("PutBlob", &name, &etag), &oid);
        ids.insert(tunnel, id);
    }
    // Written, and its write logged, before its BlobCreated is handled.
    let early = format!("rec/{EARLY}.webm");
    let blob = BlobRef::new(container.clone(), early.clone());
    let body = Bytes::from(vec![7; 5000]);
    (e.blobs
        .put(&blob, body, "application/octet-stream", &Metadata::new())
        .await)
        .expect("put");
    let etag = e.blobs.properties(&blob).await.expect("props").etag;
    oauth_write(&fake, &e, ("PutBlockList", &early, &etag), OTHER_OID);
    let custody = |m: i64| OffsetDateTime::now_utc() + Duration::minutes(m);
    tick(&e, "CustodyActor", custody(1), &mut seen, &mut suspect).await;
    let mut inv = event_invocation(
        "invocations/recording-created.invocation.json",
        &container,
        &early,
    );
    inv["Data"]["eventGridEvent"]["eventTime"] = json!(utc(t(-10)));
    let (status, reply) = e.handler.invoke("RecordingCreated", &inv).await;
    assert_eq!(status, 200, "{reply}");
    tally(&reply, &mut seen);
    let id = reply["Outputs"]["hashRequests"]["recordingId"]
        .as_str()
        .expect("id");
    ids.insert(EARLY, id.to_owned());
    tick(&e, "CustodyActor", custody(2), &mut seen, &mut suspect).await;
    // The next check, after the writes: the same identity, so it was in force when they were made.
    tick(&e, "EstateCheck", t(2), &mut seen, &mut suspect).await;
    for m in [3, 4, 6] {
        tick(&e, "AuditLogTail", t(m), &mut seen, &mut suspect).await;
    }

    let row = recording_rows(&e).await;
    let hosted = row(&ids[HOSTED]);
    assert_eq!(
        get_str(&hosted, "MatchConfidence"),
        Some("exact"),
        "{hosted:?}"
    );
    assert_eq!(
        get_str(&hosted, "WriterVerdict"),
        Some("vouches"),
        "{hosted:?}"
    );
    for tunnel in [OTHER, EARLY] {
        let r = row(&ids[tunnel]);
        assert_eq!(
            (get_str(&r, "MatchConfidence"), get_str(&r, "MatchReason")),
            (Some("suspect"), Some("writer-not-recording-identity")),
            "{tunnel}: {r:?}"
        );
        assert_eq!(get_str(&r, "WriterObjectId"), Some(OTHER_OID));
        assert_eq!(
            get_str(&r, "WriterExpected"),
            Some(principal("b1").as_str())
        );
    }
    let sent = of_kind(&seen, "recording.suspect");
    assert_eq!(sent.len(), 2, "one alert each: {seen:?}");
    assert!(sent.iter().all(|(_, n)| *n == 1), "each once: {seen:?}");
    let reasons: Vec<&Value> = suspect.iter().map(|n| &n["data"]["reason"]).collect();
    assert!(
        reasons
            .iter()
            .all(|r| *r == "writer-not-recording-identity"),
        "{reasons:?}"
    );
    let data = &suspect[0]["data"];
    assert_eq!(data["writer"]["requesterObjectId"], OTHER_OID);
    assert_eq!(
        data["writer"]["recordingIdentities"],
        principal("b1").as_str()
    );
}
