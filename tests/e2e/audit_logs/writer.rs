//! The writer check end to end on Azurite, the custody workspace answered by the Log Analytics
//! fake with documented `StorageBlobLogs` columns: a recording whose write the logs show made
//! through a SAS (as Bastion writes) stays exact and its session recorded; the same content shown
//! written with the account key becomes `suspect` (`written-by-other-principal`) once the
//! `CustodyActor` tick reads the row and the audit-log tick's join decides again: its session is
//! unrecorded in `/api/sessions` and `recording.suspect` goes out once, naming the writer.

use std::collections::BTreeMap;

use bastion_recordings::storage::BlobRef;
use bastion_recordings::tables::get_str;
use bastion_testkit::loganalytics::blobs;
use bastion_testkit::loganalytics::{FakeLogs, serve};
use serde_json::{Value, json};
use time::{Duration, OffsetDateTime};

use super::planted::{audit_hour, catalogue, of_kind, recording_rows, session, tally, utc};
use super::support::Env;
use crate::harness::{self, AzuriteEnv, HandlerProcess, fixture};

pub(super) const WS: &str = "c0ffee00-0000-4000-8000-0000000000a7";
const KEYED: &str = "d0d0d0d0-0000-4000-8000-0000000000d4";
const SIGNED: &str = "d0d0d0d0-0000-4000-8000-0000000000e5";

/// The handler with the custody workspace on the fake, the product's minimum size, a short grace.
pub(super) async fn spawn(cs: &str, fake: &FakeLogs) -> Env {
    fake.workspace(WS);
    let endpoint = serve(fake.clone()).await.expect("fake");
    let az = AzuriteEnv::new(cs);
    let mut pairs: Vec<(&str, &str)> = az.pairs();
    pairs.retain(|(k, _)| *k != "RECORDING_MIN_BYTES");
    pairs.extend([
        ("RECORDING_MIN_BYTES", "4096"),
        ("UNRECORDED_GRACE_MINUTES", "1"),
        ("CUSTODY_WORKSPACE_ID", WS),
        ("LOGANALYTICS_ENDPOINT", endpoint.as_str()),
        ("CATALOGUE_AUTH_ALLOW_INSECURE_LOOPBACK", "true"),
        // The evidence pack (its signing key, a test value).
        (
            "EVIDENCE_SIGNING_KEY",
            "BwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwc=",
        ),
    ]);
    let handler = HandlerProcess::spawn(&pairs).await;
    Env::with(cs, az, handler)
}

/// A `PutBlob` row of `name` with the table reference's columns, ingested now: made with `auth`
/// from `ip`, returning `etag`.
pub(super) fn put_blob(
    fake: &FakeLogs,
    e: &Env,
    name: &str,
    etag: &str,
    auth: &str,
    ip: &str,
    at: OffsetDateTime,
) {
    let container = e.env.recordings();
    let hash = match auth {
        "SAS" => "key1(5RTE34),SasSignature(04D64C)",
        _ => "key1(5RTE34)",
    };
    let values = json!({
        "TimeGenerated": utc(at), "AccountName": "devstoreaccount1",
        "OperationName": "PutBlob", "StatusCode": "201", "StatusText": "Success",
        "Uri": format!("https://devstoreaccount1.blob.core.windows.net/{container}/{name}"),
        "ObjectKey": format!("/devstoreaccount1/{container}/{name}"),
        "CallerIpAddress": ip, "AuthenticationType": auth, "AuthenticationHash": hash,
        "RequesterObjectId": "", "RequesterUpn": "", "RequesterAppId": "",
        "Etag": format!("\"{etag}\""), "CorrelationId": format!("{auth}-{name}"),
        "UserAgentHeader": "azsdk-rust-storage", "Protocol": "HTTPS", "Category": "StorageWrite",
        "ServiceType": "blob", "Location": "westeurope",
    });
    let values = values.as_object().cloned().unwrap_or_default();
    fake.ingest(WS, blobs::row(values, OffsetDateTime::now_utc()));
}

/// What the ticks sent: each notification id with how often it came, and the `recording.suspect`
/// bodies.
#[derive(Default)]
pub(super) struct Seen {
    pub(super) ids: BTreeMap<(String, String), usize>,
    pub(super) suspect: Vec<Value>,
}

/// One run of timer `method` at `at`, answered 200, its notifications kept.
pub(super) async fn tick(e: &Env, method: &str, at: OffsetDateTime, seen: &mut Seen) {
    let mut inv = fixture("invocations/timer.invocation.json");
    inv["Metadata"]["sys"]["MethodName"] = json!(method);
    inv["Metadata"]["sys"]["UtcNow"] = json!(utc(at));
    let (status, reply) = e.handler.invoke(method, &inv).await;
    assert_eq!(status, 200, "{reply}");
    tally(&reply, &mut seen.ids);
    let out = &reply["Outputs"]["notifications"];
    let list = match out {
        Value::Array(items) => items.clone(),
        Value::Null => Vec::new(),
        one => vec![one.clone()],
    };
    let suspect = list
        .into_iter()
        .filter(|n| n["type"] == "recording.suspect");
    seen.suspect.extend(suspect);
}

/// Whether `/api/sessions` shows each tunnel's session recorded.
pub(super) async fn recorded(e: &Env, day: OffsetDateTime, tunnels: [&str; 2]) -> [Value; 2] {
    let day = bastion_recordings::dates::format_date(day.date());
    let (status, body) = e
        .handler
        .get_json(&format!("/api/sessions?from={day}&to={day}"))
        .await;
    assert_eq!(status, 200, "{body}");
    tunnels.map(|t| {
        body["items"]
            .as_array()
            .and_then(|items| items.iter().find(|i| i["sessionId"] == t))
            .map(|i| i["recorded"].clone())
            .unwrap_or_else(|| panic!("{t} in {body}"))
    })
}

#[tokio::test]
async fn a_recording_the_logs_show_written_with_the_account_key_does_not_vouch() {
    let Some(cs) = harness::azurite() else { return };
    let fake = FakeLogs::default();
    let e = spawn(&cs, &fake).await;
    let t0 = OffsetDateTime::now_utc()
        .replace_nanosecond(0)
        .expect("time");
    let t = |m: i64| t0 + Duration::minutes(m);
    let text = session(KEYED, t(-30), t(-20), "vm-k") + &session(SIGNED, t(-30), t(-20), "vm-s");
    audit_hour(&e, t0 - Duration::hours(1), text).await;
    let mut seen = Seen::default();
    tick(&e, "AuditLogTail", t(0), &mut seen).await;
    let container = e.env.recordings().to_owned();
    let mut ids = Vec::new();
    for tunnel in [KEYED, SIGNED] {
        let name = format!("rec/{tunnel}.webm");
        let (id, reply) = catalogue(&e, &name, vec![7; 5000], t(-10)).await;
        tally(&reply, &mut seen.ids);
        let blob = BlobRef::new(container.clone(), name.clone());
        let etag = e.blobs.properties(&blob).await.expect("props").etag;
        ids.push((id, name, etag));
    }
    // Both uploads logged as made through a SAS: the matches stand.
    for (_, name, etag) in &ids {
        put_blob(&fake, &e, name, etag, "SAS", "20.50.2.9:443", t(-10));
    }
    let custody = |m: i64| OffsetDateTime::now_utc() + Duration::minutes(m);
    tick(&e, "CustodyActor", custody(1), &mut seen).await;
    for m in [3, 4] {
        tick(&e, "AuditLogTail", t(m), &mut seen).await;
    }
    let row = recording_rows(&e).await;
    for (id, _, _) in &ids {
        let r = row(id);
        assert_eq!(get_str(&r, "MatchConfidence"), Some("exact"), "{r:?}");
        assert_eq!(get_str(&r, "WriterAuthType"), Some("SAS"), "{r:?}");
    }
    assert_eq!(
        recorded(&e, t(-30), [KEYED, SIGNED]).await,
        [json!(true), json!(true)]
    );
    assert!(seen.suspect.is_empty(), "{:?}", seen.suspect);

    // The same content of one of them shown written with the account key.
    let (keyed, name, etag) = &ids[0];
    put_blob(
        &fake,
        &e,
        name,
        etag,
        "AccountKey",
        "198.51.100.23:50112",
        t(-10),
    );
    tick(&e, "CustodyActor", custody(2), &mut seen).await;
    for m in [6, 7, 9] {
        tick(&e, "AuditLogTail", t(m), &mut seen).await;
    }
    tick(&e, "CustodyActor", custody(3), &mut seen).await;
    tick(&e, "AuditLogTail", t(10), &mut seen).await;
    let row = recording_rows(&e).await;
    let k = row(keyed);
    assert_eq!(
        (get_str(&k, "MatchConfidence"), get_str(&k, "MatchReason")),
        (Some("suspect"), Some("written-by-other-principal")),
        "{k:?}"
    );
    assert_eq!(
        get_str(&k, "MatchCandidates"),
        Some(KEYED),
        "its claim is kept"
    );
    assert_eq!(get_str(&k, "WriterAuthType"), Some("AccountKey"));
    assert_eq!(get_str(&k, "WriterCallerIp"), Some("198.51.100.23:50112"));
    assert_eq!(get_str(&row(&ids[1].0), "MatchConfidence"), Some("exact"));
    assert_eq!(
        recorded(&e, t(-30), [KEYED, SIGNED]).await,
        [json!(false), json!(true)]
    );

    let suspect = of_kind(&seen.ids, "recording.suspect");
    assert_eq!(suspect.len(), 1, "one alert: {:?}", seen.ids);
    assert_eq!(suspect[0].1, 1, "sent once across ticks: {:?}", seen.ids);
    let data = &seen.suspect[0]["data"];
    assert_eq!(data["recordingId"], keyed.as_str());
    assert_eq!(data["reason"], "written-by-other-principal");
    assert_eq!(data["writer"]["authenticationType"], "AccountKey");
    assert_eq!(data["writer"]["callerIpAddress"], "198.51.100.23:50112");
    assert_eq!(data["writer"]["operation"], "PutBlob");
    let (status, detail) = e
        .handler
        .get_json(&format!("/api/recordings/{keyed}"))
        .await;
    assert_eq!(status, 200, "{detail}");
    assert_eq!(
        detail["recording"]["matchReason"], "written-by-other-principal",
        "{detail}"
    );
}
