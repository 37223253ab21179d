//! The review queue on Azurite through the real `handler`: `ReviewQueue` indexes sessions written
//! as the tail writes them, `GET /api/reviews/queue` ranks them, and two instances running the
//! timer at once raise each `review.overdue` exactly once. `queue_speed_for_a_month_of_sessions`
//! (with `REVIEW_QUEUE_BENCH=1`) seeds a month of 60,000 sessions and prints the queue's answer time.

use std::time::Instant;

use bastion_recordings::tables::{Entity, TableStore, WriteMode};
use futures::StreamExt as _;
use reqwest::Method;
use serde_json::{Value, json};

use crate::audit_logs::support::{Env, start};
use crate::catalogue_sessions::http;
use crate::harness::{HandlerProcess, fixture};

fn timer_at(now: &str) -> Value {
    let mut inv = fixture("invocations/timer.invocation.json");
    inv["Metadata"]["sys"]["MethodName"] = json!("ReviewQueue");
    inv["Metadata"]["sys"]["UtcNow"] = json!(now);
    inv
}

fn notifications(reply: &Value) -> Vec<Value> {
    match &reply["Outputs"]["notifications"] {
        Value::Array(a) => a.clone(),
        Value::Null => Vec::new(),
        v => vec![v.clone()],
    }
}

/// A `sessionwindows` row as the tail writes it.
fn window(tunnel: &str, start: &str, end: &str, user: &str, vm: &str, recorded: bool) -> Value {
    json!({"PartitionKey": &start[..10], "RowKey": tunnel, "Start": start, "End": end,
        "BastionHost": "bas-e2e", "TargetVm": vm, "UserName": user, "UserEmail": "",
        "ClientIp": "203.0.113.5", "Protocol": "ssh", "Outcome": "connected", "Recorded": recorded})
}

async fn put(tables: &dyn TableStore, rows: Vec<Value>) {
    tables.ensure_table("sessionwindows").await.expect("table");
    futures::stream::iter(rows.into_iter().map(|r| async move {
        let e = r.as_object().expect("object").clone();
        // A busy Azurite drops a connection now and then: an upsert is safe to repeat.
        let mut tries = 0;
        while let Err(err) = tables.write("sessionwindows", &e, WriteMode::Upsert).await {
            tries += 1;
            assert!(tries < 5, "write: {err}");
            tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        }
    }))
    .buffer_unordered(16)
    .collect::<Vec<()>>()
    .await;
}

/// Rows grouped by day and written 100 to a batch (the bench's seeding, not what it measures).
async fn put_batched(tables: &dyn TableStore, rows: Vec<Value>) {
    tables.ensure_table("sessionwindows").await.expect("table");
    let mut by_day: std::collections::BTreeMap<String, Vec<(Entity, WriteMode)>> =
        std::collections::BTreeMap::new();
    for r in rows {
        let e = r.as_object().expect("object").clone();
        let day = e["PartitionKey"].as_str().expect("pk").to_owned();
        by_day.entry(day).or_default().push((e, WriteMode::Upsert));
    }
    let chunks: Vec<Vec<(Entity, WriteMode)>> = by_day
        .into_values()
        .flat_map(|v| v.chunks(100).map(<[_]>::to_vec).collect::<Vec<_>>())
        .collect();
    futures::stream::iter(chunks.into_iter().map(|c| async move {
        let mut tries = 0;
        while let Err(err) = tables.batch("sessionwindows", &c).await {
            tries += 1;
            assert!(tries < 5, "batch: {err}");
            tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        }
    }))
    .buffer_unordered(4)
    .collect::<Vec<()>>()
    .await;
}

fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|l| l.split(' ').take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_default()
}

async fn run(h: &HandlerProcess, now: &str) -> Value {
    let (s, reply) = h.invoke("ReviewQueue", &timer_at(now)).await;
    assert_eq!(s, 200, "{reply} {}", h.log_text());
    reply
}

#[tokio::test]
async fn overdue_is_raised_once_across_two_instances() {
    let Some(e) = start().await else { return };
    put(
        e.tables.as_ref(),
        vec![
            // Unrecorded: queued.
            window(
                "od-1",
                "2025-03-14T10:00:00.000Z",
                "2025-03-14T10:10:00.000Z",
                "ann",
                "vm-1",
                false,
            ),
            // Recorded, in hours, but the user's first to the VM: queued.
            window(
                "od-2",
                "2025-03-14T11:00:00.000Z",
                "2025-03-14T11:10:00.000Z",
                "ben",
                "vm-2",
                true,
            ),
        ],
    )
    .await;
    let first = run(&e.handler, "2025-03-14T12:00:00.0000000Z").await;
    assert!(notifications(&first).is_empty(), "not due yet: {first}");
    let (s, text, _) = http(&e.handler, Method::GET, "/api/reviews/queue", None, &[]).await;
    assert_eq!(s, 200, "{text}");
    let q: Value = serde_json::from_str(&text).expect("json");
    let ids: Vec<&str> = q["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter_map(|i| i["sessionId"].as_str())
        .collect();
    assert_eq!(ids, ["od-1", "od-2"], "unrecorded first: {q}");
    assert_eq!(
        q["items"][0]["reasons"],
        json!(["unrecorded", "first-to-vm-in-30-days"])
    );

    // Two instances run the timer at the same moment, a day later.
    let other = HandlerProcess::spawn(&e.env.pairs()).await;
    let now = "2025-03-15T12:00:00.0000000Z";
    let (a, b) = tokio::join!(run(&e.handler, now), run(&other, now));
    let mut sent: Vec<(String, String)> = notifications(&a)
        .into_iter()
        .chain(notifications(&b))
        .map(|n| {
            assert_eq!(n["type"], "review.overdue");
            (
                n["data"]["tunnelId"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned(),
                n["notificationId"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect();
    sent.sort();
    assert_eq!(
        sent.iter().map(|(t, _)| t.as_str()).collect::<Vec<_>>(),
        ["od-1", "od-2"]
    );
    // Again on both: nothing new.
    let (a, b) = tokio::join!(run(&e.handler, now), run(&other, now));
    assert!(notifications(&a).is_empty() && notifications(&b).is_empty());
}

/// 60,000 sessions over 30 days (5 hosts, 300 users, 150 VMs, a third outside office hours, one
/// in 20 unrecorded) as the tail writes them, indexed by the timer, then the queue read 20 times.
#[tokio::test]
async fn queue_speed_for_a_month_of_sessions() {
    if std::env::var("REVIEW_QUEUE_BENCH").ok().as_deref() != Some("1") {
        eprintln!("skipping: REVIEW_QUEUE_BENCH is not 1");
        return;
    }
    let Some(e) = start().await else { return };
    let seeding = Instant::now();
    let mut rows = Vec::with_capacity(60_000);
    for i in 0..60_000u32 {
        let day = 1 + i / 2000;
        let minute = (i % 2000) * 24 * 60 / 2000;
        let start = format!(
            "2025-03-{day:02}T{:02}:{:02}:00.000Z",
            minute / 60,
            minute % 60
        );
        let end = format!(
            "2025-03-{day:02}T{:02}:{:02}:30.000Z",
            minute / 60,
            minute % 60
        );
        let mut w = window(
            &format!("bench-{i:05}"),
            &start,
            &end,
            &format!("user{}", i % 300),
            &format!("vm{}", i % 150),
            i % 20 != 0,
        );
        w["BastionHost"] = json!(format!("bas-{}", i % 5));
        rows.push(w);
    }
    put_batched(e.tables.as_ref(), rows).await;
    eprintln!(
        "seeded 60000 sessions in {:?} (load average {})",
        seeding.elapsed(),
        load_average()
    );
    // The first indexing: every day once, two days a run as the timer does (yesterday, today).
    let indexing = Instant::now();
    let mut slowest = std::time::Duration::ZERO;
    for day in (2..=30).step_by(2) {
        let tick = Instant::now();
        let reply = run(&e.handler, &format!("2025-03-{day:02}T23:59:00.0000000Z")).await;
        slowest = slowest.max(tick.elapsed());
        eprintln!(
            "2025-03-{day:02}: {:?} {}",
            tick.elapsed(),
            reply["Logs"][0]
        );
    }
    eprintln!(
        "indexed 30 days in {:?} (slowest run {slowest:?}; load average {})",
        indexing.elapsed(),
        load_average()
    );
    // A tick with nothing new (the steady state every 5 minutes).
    let steady = Instant::now();
    run(&e.handler, "2025-03-30T23:59:00.0000000Z").await;
    eprintln!("a tick with nothing new: {:?}", steady.elapsed());
    let mut times = Vec::new();
    let mut count = 0;
    for _ in 0..20 {
        let t = Instant::now();
        let (s, text, _) = http(
            &e.handler,
            Method::GET,
            "/api/reviews/queue?limit=100",
            None,
            &[],
        )
        .await;
        times.push(t.elapsed());
        assert_eq!(s, 200);
        count = serde_json::from_str::<Value>(&text).expect("json")["count"]
            .as_u64()
            .unwrap_or_default();
    }
    times.sort();
    let queued = e
        .tables
        .query("reviewqueue", None, Some(1000), None)
        .await
        .map(|p| p.items.len())
        .unwrap_or_default();
    eprintln!(
        "GET /api/reviews/queue?limit=100 over 60000 sessions: median {:?}, max {:?} ({count} items; queue holds >= {queued} rows; load average {})",
        times[times.len() / 2],
        times[times.len() - 1],
        load_average()
    );
    assert_eq!(count, 100);
    let _: &Env = &e;
}

/// An audit record of `tunnel` by `user`, as Bastion writes it.
fn line(
    tunnel: &str,
    user: &str,
    time: &str,
    op: &str,
    message: &str,
    end: Option<&str>,
) -> String {
    let mut props = json!({"userName": user, "protocol": "ssh", "clientIpAddress": "203.0.113.9",
        "targetResourceId": "/SUBSCRIPTIONS/S/RESOURCEGROUPS/RG/PROVIDERS/MICROSOFT.COMPUTE/VIRTUALMACHINES/VM-E2E",
        "message": message, "tunnelId": tunnel});
    if let Some(end) = end {
        props["sessionStartTime"] = json!("2025-03-14T10:00:00Z");
        props["sessionEndTime"] = json!(end);
    }
    json!({"time": time, "resourceId": "/SUBSCRIPTIONS/S/RESOURCEGROUPS/RG/PROVIDERS/MICROSOFT.NETWORK/BASTIONHOSTS/BAS-HUB-WEU",
        "operationName": format!("Microsoft.Network/BastionHost/{op}"), "category": "BastionAuditLogs",
        "properties": props})
    .to_string()
        + "\n"
}

/// One user name of 800 characters (its user-to-VM key would pass the table's 1 KiB) goes through
/// `AuditLogTail` and `ReviewQueue`: the timer succeeds, that session and the others are queued.
#[tokio::test]
async fn a_user_name_of_800_characters_is_queued_end_to_end() {
    let Some(e) = start().await else { return };
    let long = format!("{}@contoso.com", "l".repeat(788));
    assert_eq!(long.chars().count(), 800);
    e.create(10).await;
    let mut text = String::new();
    for (tunnel, user) in [
        ("6e0c2d7e-8b1a-4c3e-9d2f-6a7b8c9d0e01", long.as_str()),
        ("6e0c2d7e-8b1a-4c3e-9d2f-6a7b8c9d0e02", "bob"),
    ] {
        text += &line(
            tunnel,
            user,
            "2025-03-14T10:00:00Z",
            "connect",
            "Successfully Connected.",
            None,
        );
        text += &line(
            tunnel,
            user,
            "2025-03-14T10:20:00Z",
            "disconnect",
            "session ended",
            Some("2025-03-14T10:20:00Z"),
        );
    }
    e.append(10, text.as_bytes()).await;
    e.tick().await;
    let stored = e
        .session("6e0c2d7e-8b1a-4c3e-9d2f-6a7b8c9d0e01")
        .await
        .expect("the tail stored the session");
    assert_eq!(stored["UserName"], json!(long));
    // A day on (both ended without a recording long ago): queued, and the run succeeds.
    let reply = run(&e.handler, "2025-03-15T12:00:00.0000000Z").await;
    assert!(
        reply["Logs"].to_string().contains("queued"),
        "{reply} {}",
        e.handler.log_text()
    );
    let (s, text, _) = http(&e.handler, Method::GET, "/api/reviews/queue", None, &[]).await;
    assert_eq!(s, 200, "{text}");
    let q: Value = serde_json::from_str(&text).expect("json");
    let users: Vec<&str> = q["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter_map(|i| i["userName"].as_str())
        .collect();
    assert!(
        users.contains(&long.as_str()),
        "the long name is queued: {q}"
    );
    assert!(users.contains(&"bob"), "the others too: {q}");
    // A second run changes nothing and still succeeds.
    run(&e.handler, "2025-03-15T12:05:00.0000000Z").await;
}
