//! Component tests over the in-memory stores and the in-process fake of the query API: the
//! differential test (the same records through `PT1H.json` and through a workspace give the same
//! rows and notifications; through both, nothing doubles), paging, late visibility, partial
//! answers, throttling and a refused workspace.

use std::sync::Arc;

use serde_json::{Map, Value, json};
use time::{Duration, OffsetDateTime};

use super::*;
use crate::audit_logs::repo::FAILED_TABLE;
use crate::catalogue::days::DAYS_TABLE;
use crate::catalogue::session::SESSIONS_TABLE;
use crate::tables::Entity;
use crate::testkit::audit::{Kit, NOW, kit};
use crate::testkit::loganalytics::{FakeLogs, FakeRow, Fault};

const WS: &str = "a1b2c3d4-0000-4000-8000-000000000001";
const HOST_ID: &str = "/SUBSCRIPTIONS/S/RESOURCEGROUPS/RG-HUB-WEU/PROVIDERS/MICROSOFT.NETWORK/BASTIONHOSTS/BAS-HUB-WEU";

/// One audit record, as both sources carry it.
struct Rec {
    tunnel: String,
    time: String,
    message: &'static str,
    user: &'static str,
    vm: &'static str,
    ended: Option<(String, String, i64)>,
}

fn at(min: i64) -> String {
    crate::dates::format_utc_millis(NOW - Duration::minutes(60 - min))
}

/// An unrecorded session, an ended one and a burst of failed logins (threshold 5).
fn records() -> Vec<Rec> {
    let mut v = vec![
        Rec {
            tunnel: "aaaaaaaa-0000-4000-8000-000000000001".into(),
            time: at(10),
            message: "Successfully Connected.",
            user: "alice",
            vm: "VM-APP-01",
            ended: None,
        },
        Rec {
            tunnel: "bbbbbbbb-0000-4000-8000-000000000002".into(),
            time: at(20),
            message: "Successfully Connected.",
            user: "bob",
            vm: "VM-APP-02",
            ended: Some((at(20), at(25), 300_000)),
        },
    ];
    for i in 0..6 {
        v.push(Rec {
            tunnel: format!("ffffffff-0000-4000-8000-00000000001{i}"),
            time: at(30 + i),
            message: "Login Failed",
            user: "mallory",
            vm: "VM-APP-03",
            ended: None,
        });
    }
    v
}

fn line(r: &Rec) -> String {
    let ended = r.ended.as_ref().map_or(String::new(), |(s, e, d)| {
        format!(r#","sessionStartTime":"{s}","sessionEndTime":"{e}","duration":{d}"#)
    });
    format!(
        r#"{{"time":"{}","resourceId":"{HOST_ID}","operationName":"Microsoft.Network/BastionHost/connect","category":"BastionAuditLogs","properties":{{"userName":"{}","clientIpAddress":"203.0.113.9","clientPort":50123,"protocol":"ssh","targetResourceId":"/SUBSCRIPTIONS/S/RESOURCEGROUPS/RG-APP/PROVIDERS/MICROSOFT.COMPUTE/VIRTUALMACHINES/{}","targetVMIPAddress":"10.0.0.4","resourceType":"VM","message":"{}","tunnelId":"{}"{ended}}}}}"#,
        r.time, r.user, r.vm, r.message, r.tunnel
    ) + "\n"
}

fn row(r: &Rec, ingested: OffsetDateTime) -> FakeRow {
    let (start, end, duration) = match &r.ended {
        Some((s, e, d)) => (json!(s), json!(e), json!(d)),
        None => (Value::Null, json!(""), Value::Null),
    };
    let values: Map<String, Value> = json!({
        "TimeGenerated": r.time, "_ResourceId": HOST_ID.to_ascii_lowercase(),
        "OperationName": "Microsoft.Network/BastionHost/connect", "Message": r.message,
        "UserName": r.user, "UserEmail": "", "ClientIpAddress": "203.0.113.9", "ClientPort": 50123,
        "Protocol": "ssh", "TargetResourceId": format!("/SUBSCRIPTIONS/S/RESOURCEGROUPS/RG-APP/PROVIDERS/MICROSOFT.COMPUTE/VIRTUALMACHINES/{}", r.vm),
        "TargetVMIPAddress": "10.0.0.4", "ResourceType": "VM", "TunnelId": r.tunnel,
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

fn query(k: &Kit, fake: &FakeLogs, page_rows: usize) -> Query {
    Query {
        tail: crate::state::tailer(&k.state),
        logs: Arc::new(fake.clone()),
        settings: Arc::new(QuerySettings {
            workspaces: vec![Workspace {
                id: WS.into(),
                bastion: None,
            }],
            page_rows,
            ..QuerySettings::default()
        }),
    }
}

fn workspace_with(recs: &[Rec]) -> FakeLogs {
    let fake = FakeLogs::default();
    fake.workspace(WS);
    for (i, r) in recs.iter().enumerate() {
        fake.ingest(
            WS,
            row(
                r,
                NOW - Duration::minutes(10) + Duration::milliseconds(i as i64),
            ),
        );
    }
    fake
}

/// When the unrecorded session's grace (30 minutes after its end arrived) has passed.
const LATER: OffsetDateTime = NOW.saturating_add(Duration::minutes(31));

async fn storage_tick(k: &Kit, recs: &[Rec], now: OffsetDateTime) -> Vec<String> {
    if now == NOW {
        k.create_log().await;
        let text: String = recs.iter().map(line).collect();
        k.append(text.as_bytes()).await;
        k.register().await;
    }
    let r = crate::testkit::tail::ticked(&k.state, now).await;
    ids(&r.findings)
}

async fn via_storage(k: &Kit, recs: &[Rec]) -> Vec<String> {
    let mut n = storage_tick(k, recs, NOW).await;
    n.extend(storage_tick(k, recs, LATER).await);
    n.sort();
    n
}

async fn workspace_tick(
    k: &Kit,
    fake: &FakeLogs,
    page_rows: usize,
    now: OffsetDateTime,
) -> (QueryReport, Vec<String>) {
    let mut r = tick(&query(k, fake, page_rows), now).await.expect("query");
    // As its entry point: the burst checks, then the join's part.
    let (a, ports) = (&k.state.audit, &k.state.ports);
    let (threshold, bucket) = (a.failed_login_threshold, a.failed_login_bucket);
    r.joined.findings = crate::audit_logs::detect::unchecked::run_unchecked(
        &*ports.tables,
        &ports.sources,
        threshold,
        bucket,
    )
    .await;
    crate::testkit::tail::join_part(&k.state, now, &mut r.joined).await;
    let n = ids(&r.joined.findings);
    (r, n)
}

async fn via_workspace(k: &Kit, fake: &FakeLogs, page_rows: usize) -> (QueryReport, Vec<String>) {
    let (r, mut n) = workspace_tick(k, fake, page_rows, NOW).await;
    n.extend(workspace_tick(k, fake, page_rows, LATER).await.1);
    n.sort();
    (r, n)
}

/// The workspace's stored status row.
async fn ws_status(k: &Kit) -> store::Status {
    store::status(k.state.ports.tables.as_ref(), WS)
        .await
        .expect("status")
        .expect("row")
}

fn ids(n: &[crate::spine::Finding]) -> Vec<String> {
    let mut v: Vec<String> = n
        .iter()
        .map(|n| format!("{} {}", n.kind.name, n.id()))
        .collect();
    v.sort();
    v
}

/// Every row of the tables the audit path writes, without the service's and the source's own
/// columns (`Timestamp`, the raw evidence `LastRaw`).
async fn rows(k: &Kit) -> Vec<(String, Vec<Entity>)> {
    let mut out = Vec::new();
    for t in [SESSIONS_TABLE, DAYS_TABLE, FAILED_TABLE] {
        let page = k
            .state
            .ports
            .tables
            .query(t, None, Some(1000), None)
            .await
            .expect("rows");
        let mut items: Vec<Entity> = page
            .items
            .into_iter()
            .map(|s| {
                let mut e = s.entity;
                e.remove("Timestamp");
                e.remove("LastRaw");
                e
            })
            .collect();
        items.sort_by_key(|e| format!("{}|{}", e["PartitionKey"], e["RowKey"]));
        out.push((t.to_owned(), items));
    }
    out
}

#[tokio::test]
async fn the_same_records_through_storage_or_a_workspace_give_the_same_rows_and_notifications() {
    let recs = records();
    let (a, b) = (kit(None), kit(None));
    let from_storage = via_storage(&a, &recs).await;
    let (report, from_workspace) = via_workspace(&b, &workspace_with(&recs), 10_000).await;
    assert_eq!(report.stored, recs.len() as u64);
    assert_eq!(report.queries, 1, "a quiet slice costs one query");
    let kinds: Vec<&str> = from_storage
        .iter()
        .map(|s| s.split(' ').next().unwrap_or(""))
        .collect();
    assert!(kinds.contains(&"session.unrecorded"), "{from_storage:?}");
    assert!(kinds.contains(&"login.failed.burst"), "{from_storage:?}");
    assert_eq!(from_workspace, from_storage, "same notifications, same ids");
    let (ra, rb) = (rows(&a).await, rows(&b).await);
    assert!(!ra[0].1.is_empty());
    assert_eq!(rb, ra, "same session, window and failed-login rows");
}

#[tokio::test]
async fn through_both_sources_nothing_is_doubled_whichever_comes_first() {
    let recs = records();
    let single = kit(None);
    let expected = via_storage(&single, &recs).await;
    for storage_first in [true, false] {
        let k = kit(None);
        let fake = workspace_with(&recs);
        let mut all = Vec::new();
        for now in [NOW, LATER] {
            let storage = storage_tick(&k, &recs, now).await;
            let workspace = workspace_tick(&k, &fake, 10_000, now).await.1;
            if storage_first {
                all.extend(storage);
                all.extend(workspace);
            } else {
                // Same tick time, the workspace's read first.
                all.extend(workspace);
                all.extend(storage);
            }
        }
        all.sort();
        assert_eq!(all, expected, "storage first: {storage_first}");
        assert_eq!(rows(&k).await, rows(&single).await);
    }
}

#[tokio::test]
async fn small_pages_and_repeated_ticks_store_each_row_once() {
    let recs = records();
    let (a, b) = (kit(None), kit(None));
    let expected = via_storage(&a, &recs).await;
    let fake = workspace_with(&recs);
    let (r1, mut n) = workspace_tick(&b, &fake, 3, NOW).await;
    assert_eq!(r1.stored, recs.len() as u64);
    assert_eq!(r1.queries, 3, "8 rows by pages of 3: 3 queries");
    let (r2, n2) = workspace_tick(&b, &fake, 3, NOW + Duration::minutes(1)).await;
    assert_eq!(r2.stored, 0, "the overlap is re-read, nothing stored twice");
    assert!(n2.is_empty(), "{n2:?}");
    n.extend(workspace_tick(&b, &fake, 3, LATER).await.1);
    n.sort();
    assert_eq!(n, expected);
    assert_eq!(rows(&b).await, rows(&a).await);
}

#[tokio::test]
async fn a_record_visible_late_within_the_overlap_is_still_read() {
    let recs = records();
    let k = kit(None);
    let fake = workspace_with(&recs[..1]);
    workspace_tick(&k, &fake, 10_000, NOW).await;
    // Ingested before the cursor, visible only now (and its TimeGenerated an hour old).
    let mut late = row(&recs[1], NOW - Duration::minutes(3));
    late.visible_from = OffsetDateTime::UNIX_EPOCH;
    fake.ingest(WS, late);
    let (r, _) = workspace_tick(&k, &fake, 10_000, NOW + Duration::minutes(1)).await;
    assert_eq!(r.stored, 1);
    let s = crate::catalogue::session::get(&*k.state.ports.tables, &recs[1].tunnel)
        .await
        .expect("get");
    assert!(s.is_some(), "the late record's session is stored");
}

#[tokio::test]
async fn a_partial_answer_moves_nothing_and_a_smaller_page_reads_it_all() {
    let recs = records();
    let k = kit(None);
    let fake = workspace_with(&recs);
    fake.faults([Fault::Partial]);
    let (r, _) = workspace_tick(&k, &fake, 10_000, NOW).await;
    assert_eq!(r.stored, recs.len() as u64);
    assert_eq!(r.queries, 2);
    let sent = fake.received();
    assert!(sent[1].query.ends_with("| take 5001"), "{}", sent[1].query);
}

#[tokio::test]
async fn an_answer_that_breaks_off_is_asked_again_smaller_and_read_whole() {
    let recs = records();
    let k = kit(None);
    let fake = workspace_with(&recs);
    fake.faults([Fault::Cut, Fault::Cut]);
    let (r, _) = workspace_tick(&k, &fake, 10_000, NOW).await;
    assert_eq!((r.failed, r.stored), (0, recs.len() as u64));
    let sent = fake.received();
    assert!(sent[2].query.ends_with("| take 2501"), "{}", sent[2].query);
    let s = ws_status(&k).await;
    assert_eq!(s.error, None, "a page read whole clears the break: {s:?}");
}

#[tokio::test]
async fn an_answer_that_always_breaks_off_is_reported_and_loses_nothing() {
    let recs = records();
    let k = kit(None);
    let fake = workspace_with(&recs);
    // Pages of 10,000 halved down to 1: fourteen queries, every answer broken off.
    fake.faults(vec![Fault::Cut; 14]);
    let (r, _) = workspace_tick(&k, &fake, 10_000, NOW).await;
    assert_eq!(
        (r.failed, r.stored),
        (1, 0),
        "the last break is the tick's error"
    );
    assert_eq!(fake.received().len(), 14);
    let s = ws_status(&k).await;
    assert!(
        s.error.as_deref().is_some_and(|e| e.contains("unreadable")),
        "{s:?}"
    );
    let (r, _) = workspace_tick(&k, &fake, 10_000, NOW + Duration::minutes(1)).await;
    assert_eq!(r.stored, recs.len() as u64, "every row once, the next tick");
    let (r, _) = workspace_tick(&k, &fake, 10_000, NOW + Duration::minutes(2)).await;
    assert_eq!(r.stored, 0, "and never again");
}

#[tokio::test]
async fn a_throttled_or_refused_workspace_is_reported_and_the_cursor_stays() {
    let recs = records();
    let k = kit(None);
    let fake = workspace_with(&recs);
    fake.faults([Fault::Throttle(120)]);
    let (r, _) = workspace_tick(&k, &fake, 10_000, NOW).await;
    assert_eq!((r.failed, r.stored), (1, 0));
    let s = ws_status(&k).await;
    assert!(
        s.error.as_deref().is_some_and(|e| e.starts_with("429")),
        "{s:?}"
    );
    assert_eq!(s.retry_after, Some(NOW + Duration::seconds(120)));
    let (r, _) = workspace_tick(&k, &fake, 10_000, NOW + Duration::minutes(1)).await;
    assert_eq!(r.workspaces, 0, "not asked again inside Retry-After");
    assert_eq!(fake.received().len(), 1);

    let k = kit(None);
    fake.forbid(WS, true);
    let (r, _) = workspace_tick(&k, &fake, 10_000, NOW).await;
    assert_eq!(r.failed, 1);
    let s = ws_status(&k).await;
    assert_eq!(
        s.error.as_deref(),
        Some(
            "403: missing role Bastion workspace table reader (or Log Analytics Reader) on workspace a1b2c3d4-0000-4000-8000-000000000001"
        )
    );
    fake.forbid(WS, false);
    let (r, _) = workspace_tick(&k, &fake, 10_000, NOW + Duration::minutes(1)).await;
    assert_eq!(r.stored, recs.len() as u64, "nothing lost while refused");
    let s = ws_status(&k).await;
    assert_eq!(s.error, None);
}

/// A query the service times out (504 after the request's `Prefer: wait`) shrinks the page like
/// a partial answer: a heavy slice costs a smaller page, never the cursor. Each query asks the
/// service to stop within what is left of the reading budget (half of the tick's 120 s here).
#[tokio::test]
async fn a_server_timeout_shrinks_the_page_like_a_partial_answer() {
    let recs = records();
    let k = kit(None);
    let fake = workspace_with(&recs);
    fake.faults([Fault::Timeout(std::time::Duration::from_millis(50))]);
    let (r, _) = workspace_tick(&k, &fake, 10_000, NOW).await;
    assert_eq!((r.failed, r.stored, r.queries), (0, recs.len() as u64, 2));
    let sent = fake.received();
    assert!(sent[1].query.ends_with("| take 5001"), "{}", sent[1].query);
    assert_eq!(
        sent[0].wait,
        Some(60),
        "Prefer: wait within the reading budget"
    );
    assert_eq!(ws_status(&k).await.error, None);
}

/// Kusto caps a result at 500,000 rows: a page of 500,000 would ask for one more to learn
/// whether more follow; the query never asks for more than the cap.
#[tokio::test]
async fn no_query_asks_for_more_rows_than_the_service_returns() {
    let recs = records();
    let k = kit(None);
    let fake = workspace_with(&recs);
    let (r, _) = workspace_tick(&k, &fake, 500_000, NOW).await;
    assert_eq!((r.failed, r.stored), (0, recs.len() as u64));
    let sent = fake.received();
    assert!(
        sent[0].query.ends_with("| take 500000"),
        "{}",
        sent[0].query
    );
}

/// The Logs Query API documents 429 without saying it sends `Retry-After`: without one the
/// workspace waits a back-off of this app's own (a minute, doubling while it stays throttled),
/// instead of being asked again every tick.
#[tokio::test]
async fn a_429_without_retry_after_backs_off_on_its_own() {
    let recs = records();
    let k = kit(None);
    let fake = workspace_with(&recs);
    fake.faults([Fault::ThrottleBare, Fault::ThrottleBare]);
    let (r, _) = workspace_tick(&k, &fake, 10_000, NOW).await;
    assert_eq!(r.failed, 1);
    let s = ws_status(&k).await;
    assert_eq!(
        (s.retry_after, s.throttled),
        (Some(NOW + Duration::minutes(1)), 1)
    );
    assert!(
        s.error
            .as_deref()
            .is_some_and(|e| e.contains("back-off of this app's own")),
        "{s:?}"
    );
    let (r, _) = workspace_tick(&k, &fake, 10_000, NOW + Duration::seconds(30)).await;
    assert_eq!(r.workspaces, 0, "not asked again inside the back-off");
    let (r, _) = workspace_tick(&k, &fake, 10_000, NOW + Duration::seconds(61)).await;
    assert_eq!(r.failed, 1);
    let s = ws_status(&k).await;
    assert_eq!(
        (s.retry_after, s.throttled),
        (Some(NOW + Duration::seconds(61) + Duration::minutes(2)), 2),
        "doubled"
    );
    let (r, _) = workspace_tick(&k, &fake, 10_000, NOW + Duration::minutes(4)).await;
    assert_eq!((r.failed, r.stored), (0, recs.len() as u64));
    let s = ws_status(&k).await;
    assert_eq!((s.retry_after, s.throttled, s.error), (None, 0, None));
    assert_eq!(fake.received().len(), 3);
}

/// A workspace that holds no data answers 204 without a body: a read of nothing, not a failure.
#[tokio::test]
async fn a_workspace_without_data_answers_204_and_is_read_as_empty() {
    let k = kit(None);
    let fake = workspace_with(&[]);
    let (r, _) = workspace_tick(&k, &fake, 10_000, NOW).await;
    assert_eq!((r.workspaces, r.failed, r.stored), (1, 0, 0));
    assert_eq!(ws_status(&k).await.error, None);
}

mod fold;
mod history;
