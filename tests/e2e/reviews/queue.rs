//! The review queue on Azurite through the real `handler`: `ReviewQueue` derives the sessions the
//! join recorded as changed, `GET /api/reviews/queue` ranks them, two instances running the timer
//! at once raise each `review.overdue` exactly once, and a Sunday session whose audit records reach
//! the archive four days later is queued and overdue. The queue's answer time at 2,000 and 20,000
//! sessions a day is `cargo bench --bench reviews`.

use bastion_recordings::catalogue::changes;
use bastion_recordings::storage::BlobRef;
use bastion_recordings::tables::{TableStore, WriteMode};
use bytes::Bytes;
use futures::StreamExt as _;
use reqwest::Method;
use serde_json::{Value, json};

use crate::audit_logs::support::{HOST, event_invocation, start};
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

/// Writes the rows as the tail writes them and records them as changed, as the join pass does.
async fn put(tables: &dyn TableStore, rows: Vec<Value>) {
    tables.ensure_table("sessionwindows").await.expect("table");
    let changed: Vec<(String, String)> = rows
        .iter()
        .map(|r| {
            let s = |k: &str| r[k].as_str().expect("key").to_owned();
            (s("PartitionKey"), s("RowKey"))
        })
        .collect();
    futures::stream::iter(rows.into_iter().map(|r| async move {
        let e = r.as_object().expect("object").clone();
        tables
            .write("sessionwindows", &e, WriteMode::Upsert)
            .await
            .expect("window");
    }))
    .buffer_unordered(16)
    .collect::<Vec<()>>()
    .await;
    changes::record(tables, &changed).await.expect("recorded");
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
    // When the run ranked it (its time), and the timer's next tick after the answer.
    assert_eq!(q["rankedAt"], "2025-03-14T12:00:00.000Z", "{q}");
    let next = q["nextRankAt"].as_str().expect("next tick");
    let next = time::OffsetDateTime::parse(next, &time::format_description::well_known::Rfc3339)
        .expect("a time");
    assert_eq!(
        next.unix_timestamp() % 300,
        0,
        "on a five-minute tick: {next}"
    );
    assert!(next > time::OffsetDateTime::now_utc(), "{next}");

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

/// An audit record of `tunnel` by `user`, as Bastion writes it.
fn line(
    tunnel: &str,
    user: &str,
    time: &str,
    op: &str,
    message: &str,
    span: Option<(&str, &str)>,
) -> String {
    let mut props = json!({"userName": user, "protocol": "ssh", "clientIpAddress": "203.0.113.9",
        "targetResourceId": "/SUBSCRIPTIONS/S/RESOURCEGROUPS/RG/PROVIDERS/MICROSOFT.COMPUTE/VIRTUALMACHINES/VM-E2E",
        "message": message, "tunnelId": tunnel});
    if let Some((start, end)) = span {
        props["sessionStartTime"] = json!(start);
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
            Some(("2025-03-14T10:00:00Z", "2025-03-14T10:20:00Z")),
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

/// A timer invocation of `function` at `now`.
fn timer(function: &str, now: &str) -> Value {
    let mut inv = timer_at(now);
    inv["Metadata"]["sys"]["MethodName"] = json!(function);
    inv
}

/// An out-of-hours session on Sunday 2025-03-09 whose audit records reach the archive on Thursday
/// (its hour blob created then): `AuditLogCreated` reads it, the tail's join pass records it as
/// changed, and `ReviewQueue` queues it (yesterday and today are the 12th and 13th) and raises
/// `review.overdue` at once, its deadline long past.
#[tokio::test]
async fn a_sunday_session_whose_records_arrive_four_days_late_is_queued_and_overdue() {
    let Some(e) = start().await else { return };
    let tunnel = "7a1c2d7e-8b1a-4c3e-9d2f-6a7b8c9d0e55";
    let hour = format!("{HOST}/y=2025/m=03/d=09/h=21/m=00/PT1H.json");
    let blob = BlobRef::new(e.logs(), hour.clone());
    e.blobs
        .create_append(&blob, "application/json")
        .await
        .expect("blob");
    let text = line(
        tunnel,
        "sunday.admin",
        "2025-03-09T21:30:00Z",
        "connect",
        "Successfully Connected.",
        None,
    ) + &line(
        tunnel,
        "sunday.admin",
        "2025-03-09T21:50:00Z",
        "disconnect",
        "session ended",
        Some(("2025-03-09T21:30:00Z", "2025-03-09T21:50:00Z")),
    );
    e.blobs
        .append(&blob, Bytes::from(text))
        .await
        .expect("append");
    let thursday = "2025-03-13T11:55:00.0000000Z";
    let mut created = event_invocation(
        "invocations/auditlog-created.invocation.json",
        &e.logs(),
        &hour,
    );
    created["Data"]["eventGridEvent"]["eventTime"] = json!(thursday);
    created["Metadata"]["sys"]["UtcNow"] = json!(thursday);
    let (s, reply) = e.handler.invoke("AuditLogCreated", &created).await;
    assert_eq!(s, 200, "{reply} {}", e.handler.log_text());
    assert!(e.session(tunnel).await.is_some(), "read: {reply}");
    let (s, reply) = e
        .handler
        .invoke(
            "AuditLogTail",
            &timer("AuditLogTail", "2025-03-13T12:00:00.0000000Z"),
        )
        .await;
    assert_eq!(s, 200, "{reply} {}", e.handler.log_text());

    let reply = run(&e.handler, "2025-03-13T12:05:00.0000000Z").await;
    let (s, text, _) = http(&e.handler, Method::GET, "/api/reviews/queue", None, &[]).await;
    assert_eq!(s, 200, "{text}");
    let q: Value = serde_json::from_str(&text).expect("json");
    let item = q["items"]
        .as_array()
        .expect("items")
        .iter()
        .find(|i| i["sessionId"] == tunnel)
        .unwrap_or_else(|| panic!("queued: {q} {reply}"))
        .clone();
    assert_eq!(
        item["reasons"],
        json!([
            "unrecorded",
            "outside-working-hours",
            "first-to-vm-in-30-days"
        ]),
        "{item}"
    );
    assert_eq!(item["overdue"], json!(true));
    let sent: Vec<Value> = notifications(&reply)
        .into_iter()
        .filter(|n| n["data"]["tunnelId"] == tunnel)
        .collect();
    assert_eq!(sent.len(), 1, "{reply}");
    assert_eq!(sent[0]["type"], "review.overdue");
    // Once: the next run finds nothing new.
    let again = run(&e.handler, "2025-03-13T12:10:00.0000000Z").await;
    assert!(notifications(&again).is_empty(), "{again}");
}
