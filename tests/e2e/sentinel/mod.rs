//! The export to Microsoft Sentinel end to end: the real `handler` on Azurite records rows where
//! their facts change and `SentinelExport` sends them to the loopback fake of the Logs Ingestion
//! API (`bastion_testkit::ingestion`), which holds every record to the stream declarations
//! read from `sentinel/tables.json`. Reviews, estate findings, disconnects and detections arrive with
//! exactly the ids expected ([`facts`]); so they do under a 429 storm and a lost answer, after an
//! outage of an hour (in time order), and with two instances recording and draining at once; the
//! tokens are for the Logs Ingestion audience ([`identity`]); unset, nothing changes.

mod catalogue;
mod facts;
mod identity;
mod sessions;

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use bastion_recordings::ingestion::schema::Declaration;
use bastion_testkit::ingestion::{FakeIngestion, Fault, serve};
use serde_json::{Value, json};
use time::OffsetDateTime;

use crate::harness::{AzuriteEnv, HandlerProcess, fixture};

/// The rule's immutable id the fake serves.
pub(crate) const DCR: &str = "dcr-0000000000000000000000000000e2e0";
pub(crate) const DETECTIONS: &str = "Custom-BastionDetections";
pub(crate) const REVIEWS: &str = "Custom-BastionReviews";
pub(crate) const FINDINGS: &str = "Custom-BastionFindings";
pub(crate) const DISCONNECTS: &str = "Custom-BastionDisconnects";

/// The declaration as the Bicep reads it: the file, not the handler's embedded copy.
pub(crate) fn declaration() -> Declaration {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/sentinel/tables.json");
    Declaration::parse(&std::fs::read_to_string(path).expect("sentinel/tables.json"))
        .expect("declaration")
}

/// The fake, served; its URL.
pub(crate) async fn fake() -> (FakeIngestion, String) {
    let fake = FakeIngestion::new(declaration(), DCR);
    let url = serve(fake.clone()).await.expect("serve the fake");
    (fake, url)
}

/// The settings that turn the export on, to the fake at `url`.
pub(crate) fn settings(url: &str) -> [(&'static str, String); 3] {
    [
        ("SENTINEL_INGESTION_ENDPOINT", url.to_owned()),
        ("SENTINEL_DCR_IMMUTABLE_ID", DCR.to_owned()),
        ("CATALOGUE_AUTH_ALLOW_INSECURE_LOOPBACK", "true".to_owned()),
    ]
}

/// A notification as the pipeline makes it (its id the digest of `kind` and `fact`).
pub(crate) fn notification(kind: &str, fact: &str, at: OffsetDateTime) -> Value {
    json!({
        "type": kind, "notificationId": bastion_recordings::spine::stable_id(kind, fact),
        "time": bastion_recordings::dates::format_utc_millis(at), "severity": "warning",
        "title": format!("{kind} {fact}"),
        "data": {"tunnelId": fact, "bastionHost": "bas-hub-weu", "userName": "azureuser", "targetVm": "vm-app-01"},
    })
}

/// Delivers `n` through `NotifyWebhook` as the host does (the queue message is its JSON text).
pub(crate) async fn deliver(h: &HandlerProcess, n: &Value) {
    let mut inv = fixture("invocations/queue-message.invocation.json");
    inv["Data"]["message"] = json!(n.to_string());
    let (status, body) = h.invoke("NotifyWebhook", &inv).await;
    assert_eq!(status, 200, "{body}\n{}", h.log_text());
}

/// One `SentinelExport` tick: status and reply.
pub(crate) async fn export(h: &HandlerProcess) -> (u16, Value) {
    let mut inv = fixture("invocations/timer.invocation.json");
    inv["Metadata"]["sys"]["MethodName"] = json!("SentinelExport");
    inv["Metadata"]["sys"]["UtcNow"] = json!(bastion_recordings::dates::format_utc_millis(
        OffsetDateTime::now_utc()
    ));
    h.invoke("SentinelExport", &inv).await
}

/// Ticks until a tick finds nothing waiting (at most `max`): the replies.
pub(crate) async fn drain(h: &HandlerProcess, max: usize) -> Vec<(u16, Value)> {
    let mut out = Vec::new();
    for _ in 0..max {
        let r = export(h).await;
        let done = r.0 == 200 && r.1.to_string().contains("nothing waits");
        out.push(r);
        if done {
            return out;
        }
    }
    out
}

/// The `/api/health` document of the Sentinel export (as a reader sees it: the details need
/// `Catalogue.Read` where a principal is asked for).
pub(crate) async fn health(h: &HandlerProcess) -> Value {
    let reader = crate::catalogue_sessions::principal(&["Catalogue.Read"]);
    let hdr = [("x-ms-client-principal", reader.as_str())];
    let (status, text, _) =
        crate::catalogue_sessions::http(h, reqwest::Method::GET, "/api/health", None, &hdr).await;
    let doc: Value = serde_json::from_str(&text).expect("json");
    assert!(status == 200 || status == 503, "{doc}");
    doc["sentinel"].clone()
}

/// How many times each id arrived on `stream`.
pub(crate) fn counts(fake: &FakeIngestion, stream: &str) -> BTreeMap<String, usize> {
    let mut out = BTreeMap::new();
    for id in fake.ids(stream) {
        *out.entry(id).or_insert(0) += 1;
    }
    out
}

/// The distinct ids that arrived on `stream`.
pub(crate) fn ids(fake: &FakeIngestion, stream: &str) -> BTreeSet<String> {
    fake.ids(stream).into_iter().collect()
}

/// A handler on Azurite with the export on, to the fake at `url`.
pub(crate) async fn handler(cs: &str, url: &str) -> (AzuriteEnv, HandlerProcess) {
    let mut env = AzuriteEnv::new(cs);
    for (k, v) in settings(url) {
        env.vars.insert(k.to_owned(), v);
    }
    let h = HandlerProcess::spawn(&env.pairs()).await;
    (env, h)
}

#[tokio::test]
async fn an_hour_long_outage_is_shown_and_drained_afterwards_in_order() {
    let Some(cs) = crate::harness::azurite() else {
        return;
    };
    let (fake, url) = fake().await;
    let (_env, h) = handler(&cs, &url).await;
    fake.outage(true);
    // An hour of detections, one a minute, recorded while the service is down.
    let now = OffsetDateTime::now_utc();
    let mut want = BTreeSet::new();
    for m in (0..=60).rev() {
        let n = notification(
            "session.unrecorded",
            &format!("tunnel-{m:03}"),
            now - time::Duration::minutes(m),
        );
        want.insert(n["notificationId"].as_str().expect("id").to_owned());
        deliver(&h, &n).await;
    }
    let (status, reply) = export(&h).await;
    assert_eq!(status, 500, "the outage fails the tick: {reply}");
    let doc = health(&h).await;
    let d = &doc["streams"]["Detections"];
    assert_eq!(d["rows"], 61, "{doc}");
    assert!(d["ageMinutes"].as_i64().is_some_and(|a| a >= 59), "{doc}");
    assert!(
        d["lastError"].as_str().is_some_and(|e| e.contains("503")),
        "{doc}"
    );
    let (_, full) = h.get_json("/api/health").await;
    assert!(
        full["reasons"]
            .to_string()
            .contains("Sentinel export: Detections has 61 row(s) waiting"),
        "{full}"
    );
    assert!(fake.accepted().is_empty());

    fake.outage(false);
    let replies = drain(&h, 5).await;
    assert!(replies.iter().all(|(s, _)| *s == 200), "{replies:?}");
    assert_eq!(ids(&fake, DETECTIONS), want, "every id, none other");
    let times: Vec<String> = fake
        .accepted()
        .iter()
        .map(|a| a.record["TimeGenerated"].as_str().expect("time").to_owned())
        .collect();
    let mut sorted = times.clone();
    sorted.sort();
    assert_eq!(times, sorted, "drained in time order");
    assert!(counts(&fake, DETECTIONS).values().all(|n| *n == 1));
    let doc = health(&h).await;
    assert_eq!(doc["streams"]["Detections"]["rows"], 0, "{doc}");
    assert_eq!(
        doc["streams"]["Detections"]["lastError"],
        Value::Null,
        "{doc}"
    );
    assert_eq!(doc["streams"]["Detections"]["sent"], 61);
}

#[tokio::test]
async fn two_instances_record_and_drain_every_row_once() {
    let Some(cs) = crate::harness::azurite() else {
        return;
    };
    let (fake, url) = fake().await;
    let (env, a) = handler(&cs, &url).await;
    let b = HandlerProcess::spawn(&env.pairs()).await;
    let now = OffsetDateTime::now_utc();
    let mut want = BTreeSet::new();
    for i in 0..120 {
        let n = notification(
            "login.failed.burst",
            &format!("burst-{i:03}"),
            now - time::Duration::seconds(i),
        );
        want.insert(n["notificationId"].as_str().expect("id").to_owned());
        // Each delivered by one instance, a tenth by both (a redelivered message).
        deliver(if i % 2 == 0 { &a } else { &b }, &n).await;
        if i % 10 == 0 {
            deliver(&b, &n).await;
        }
    }
    // Some calls slow, so the two drains overlap.
    fake.faults([Fault::Throttle(1), Fault::Pass, Fault::Throttle(1)]);
    for _ in 0..3 {
        let (ra, rb) = tokio::join!(export(&a), export(&b));
        assert_eq!(ra.0, 200, "{}", ra.1);
        assert_eq!(rb.0, 200, "{}", rb.1);
    }
    assert_eq!(ids(&fake, DETECTIONS), want);
    let twice: Vec<_> = counts(&fake, DETECTIONS)
        .into_iter()
        .filter(|(_, n)| *n > 1)
        .collect();
    assert!(twice.is_empty(), "one drain at a time: {twice:?}");
    assert_eq!(health(&a).await["streams"]["Detections"]["rows"], 0);
}

#[tokio::test]
async fn unset_nothing_is_recorded_or_sent() {
    let Some(cs) = crate::harness::azurite() else {
        return;
    };
    let env = AzuriteEnv::new(&cs);
    let h = HandlerProcess::spawn(&env.pairs()).await;
    let n = notification("session.unrecorded", "tunnel-x", OffsetDateTime::now_utc());
    deliver(&h, &n).await;
    let (status, reply) = export(&h).await;
    assert_eq!(status, 200, "{reply}");
    assert!(
        reply.to_string().contains("Sentinel export is off"),
        "{reply}"
    );
    assert_eq!(health(&h).await, json!({"enabled": false}));
    let conn = bastion_recordings::azure::connection::StorageConnection::resolve("T", &|k| {
        (k == "T").then(|| cs.clone())
    })
    .expect("parses")
    .expect("set");
    let tables =
        bastion_recordings::tables::rest::TableRestClient::new(&conn, env.get("TABLE_PREFIX"))
            .expect("client");
    let outbox = bastion_recordings::tables::TableStore::list_tables(
        &tables,
        bastion_recordings::export::outbox::OUTBOX_TABLE,
    )
    .await
    .expect("tables");
    assert!(outbox.is_empty(), "no outbox table: {outbox:?}");
    tokio::time::sleep(Duration::from_millis(10)).await;
}
