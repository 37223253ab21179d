//! Component tests of the actor lookup over in-memory tables and the Log Analytics fake serving
//! `StorageBlobLogs` rows late, partially, throttled, or never.

use std::sync::Arc;

use serde_json::{Map, Value, json};
use time::{Duration, OffsetDateTime};

use super::CustodySettings;
use super::awaited::{self, Change, LOOKUPS_TABLE, Lookup};
use super::lookup::pass;
use crate::catalogue::recording::{Recording, STATUS_DELETED_OUTSIDE};
use crate::dates::format_utc;
use crate::testkit::clock::FixedClock;
use crate::testkit::loganalytics::blobs;
use crate::testkit::loganalytics::{FakeLogs, Fault};
use crate::testkit::storage::memory::InMemoryBlobStore;
use crate::testkit::tables::memory::InMemoryTables;

const WS: &str = "a1b2c3d4-0000-4000-8000-000000000001";
const NAME: &str = "<img src=x>/5f0c2d7e.rec";

struct Kit {
    ports: crate::ports::Ports,
    logs: FakeLogs,
    row: Recording,
    at: OffsetDateTime,
    settings: CustodySettings,
}

async fn kit() -> Kit {
    let at = OffsetDateTime::now_utc().replace_nanosecond(0).expect("ns");
    let tables = Arc::new(InMemoryTables::new());
    let ports = crate::testkit::ports(
        Arc::new(InMemoryBlobStore::new("acct")),
        tables,
        Arc::new(FixedClock::new(at)),
    );
    let mut row = crate::testkit::audit::recording_row(NAME, at - Duration::days(1));
    row.account = "acct".into();
    row.status = STATUS_DELETED_OUTSIDE.into();
    ports
        .catalogue()
        .update(&row.key, None, |_| Some(row.clone()))
        .await
        .expect("row");
    let lookup = Lookup::new("alert-1", &row.id(), Change::Deleted, at, "req-1");
    awaited::add(ports.tables.as_ref(), &lookup)
        .await
        .expect("lookup");
    let logs = FakeLogs::default();
    logs.workspace(WS);
    let settings = CustodySettings {
        workspace: Some(WS.into()),
        actor_wait: Duration::minutes(20),
    };
    Kit {
        ports,
        logs,
        row,
        at,
        settings,
    }
}

impl Kit {
    fn log(&self, op: &str, at: OffsetDateTime, request: &str, upn: &str) {
        let values: Map<String, Value> = json!({
            "TimeGenerated": format_utc(at), "OperationName": op, "StatusCode": "202",
            "AuthenticationType": "OAuth", "RequesterUpn": upn,
            "RequesterObjectId": "0b7c1a3e-0000-4000-8000-00000000000a", "RequesterAppId": "",
            "CallerIpAddress": "203.0.113.7:50112", "UserAgentHeader": "<script>alert(1)</script>",
            "CorrelationId": request, "ObjectKey": format!("/acct/recordings/{NAME}"),
            "Uri": "https://acct.blob.core.windows.net/recordings/x",
        })
        .as_object()
        .cloned()
        .unwrap_or_default();
        self.logs
            .ingest(WS, blobs::row(values, OffsetDateTime::now_utc()));
    }

    async fn pass(&self, minutes: i64) -> super::lookup::Pass {
        let now = self.at + Duration::minutes(minutes);
        pass(&self.ports, &self.logs, &self.settings, WS, now)
            .await
            .expect("pass")
    }

    async fn actor(&self) -> Option<crate::catalogue::recording::Actor> {
        let r = self.ports.catalogue().get(&self.row.key).await;
        r.expect("get").expect("row").value.actor
    }

    async fn lookups(&self) -> usize {
        awaited::awaiting(self.ports.tables.as_ref(), 10)
            .await
            .expect("lookups")
            .len()
    }
}

#[tokio::test]
async fn late_logs_name_the_deleter_once_they_arrive() {
    let k = kit().await;
    // The workspace holds a read of the blob, not yet the deletion.
    k.log("GetBlob", k.at - Duration::minutes(3), "read", "reader@x");
    let first = k.pass(2).await;
    assert_eq!((first.recorded, first.waiting), (0, 1));
    assert!(first.findings.is_empty() && k.actor().await.is_none());
    // The deletion's row arrives (another request nearer in time, but not the event's).
    k.log(
        "DeleteBlob",
        k.at + Duration::seconds(1),
        "other",
        "nearer@x",
    );
    k.log(
        "DeleteBlob",
        k.at - Duration::seconds(2),
        "req-1",
        "<b>mallory</b>@x",
    );
    let found = k.pass(9).await;
    assert_eq!(found.recorded, 1);
    let n = found.findings[0].told().to_output();
    assert_eq!(n["notificationId"], "alert-1.actor");
    assert_eq!(n["type"], "recording.actor");
    assert_eq!(n["data"]["requesterUpn"], "<b>mallory</b>@x");
    assert_eq!(n["data"]["userAgent"], "<script>alert(1)</script>");
    let actor = k.actor().await.expect("actor");
    assert_eq!(
        (actor.status.as_str(), actor.upn.as_str()),
        ("found", "<b>mallory</b>@x")
    );
    assert_eq!(actor.caller_ip, "203.0.113.7:50112");
    // The next pass emits the same follow-up once more, then the lookup is gone; no more queries.
    let again = k.pass(10).await;
    assert_eq!(again.findings[0].id(), "alert-1.actor");
    assert_eq!(k.lookups().await, 0);
    let sent = k.logs.received().len();
    assert!(k.pass(11).await.findings.is_empty());
    assert_eq!(k.logs.received().len(), sent);
    let q = &k.logs.received()[0].query;
    assert!(
        q.contains("StorageBlobLogs") && q.contains("DeleteBlob"),
        "{q}"
    );
}

#[tokio::test]
async fn throttled_and_partial_answers_wait_for_a_whole_one() {
    let k = kit().await;
    k.log("DeleteBlob", k.at, "req-1", "m@x");
    k.logs.faults([Fault::ThrottleBare]);
    let throttled = k.pass(5).await;
    assert!(
        throttled.throttled && throttled.recorded == 0,
        "{throttled:?}"
    );
    let stored =
        crate::tables::ops::get(k.ports.tables.as_ref(), LOOKUPS_TABLE, "pending", "alert-1")
            .await
            .expect("get")
            .expect("kept");
    assert!(
        crate::tables::get_str(&stored.entity, "LastError").is_some_and(|e| !e.is_empty()),
        "{stored:?}"
    );
    // A partial answer drops the row (one row halved): still waiting.
    k.logs.faults([Fault::Partial]);
    assert_eq!(k.pass(6).await.recorded, 0);
    assert_eq!(k.pass(7).await.recorded, 1);
    assert_eq!(k.actor().await.expect("actor").status, "found");
}

#[tokio::test]
async fn logs_that_never_arrive_leave_the_actor_unknown_with_the_reason() {
    let k = kit().await;
    assert_eq!(k.pass(19).await.waiting, 1);
    let over = k.pass(20).await;
    assert_eq!(over.recorded, 1);
    let actor = k.actor().await.expect("actor");
    assert_eq!(actor.status, "unknown");
    assert!(
        actor.reason.contains("DeleteBlob") && actor.reason.contains("20 minutes"),
        "{}",
        actor.reason
    );
    let n = over.findings[0].told().to_output();
    assert_eq!(n["notificationId"], "alert-1.actor");
    assert!(
        n["title"]
            .as_str()
            .is_some_and(|t| t.ends_with("actor unknown")),
        "{n}"
    );
    // A workspace that refuses: the reason names the role.
    let k = kit().await;
    k.logs.forbid(WS, true);
    k.pass(1).await;
    k.pass(25).await;
    let actor = k.actor().await.expect("actor");
    assert!(
        actor.reason.contains("Log Analytics Reader"),
        "{}",
        actor.reason
    );
}
