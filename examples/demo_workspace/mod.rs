//! `demo workspace`: the demo's audit hour served by the project's loopback fake of the Logs Query
//! API instead of a `PT1H.json` blob (`scripts/demo.sh --workspace`). Each archive record becomes
//! the `MicrosoftAzureBastionAuditLogs` row Azure Monitor would ingest for it (`SessionEndTime` a
//! string, `Duration` null while open), ingested a second before the fake starts; the fake's URL
//! is printed on the first line, then it serves until killed.

use bastion_testkit::loganalytics::{FakeLogs, FakeRow, serve};
use serde_json::{Map, Value, json};
use time::OffsetDateTime;

/// The archive record `r` as the workspace row of the same event.
pub(crate) fn row_of(r: &Value, ingested: OffsetDateTime) -> FakeRow {
    let p = &r["properties"];
    let text = |v: &Value| v.as_str().unwrap_or_default().to_owned();
    let values: Map<String, Value> = json!({
        "TimeGenerated": r["time"], "_ResourceId": text(&r["resourceId"]).to_ascii_lowercase(),
        "OperationName": r["operationName"], "Message": p["message"], "UserName": p["userName"],
        "UserEmail": text(&p["userEmail"]), "ClientIpAddress": p["clientIpAddress"],
        "ClientPort": p["clientPort"], "Protocol": p["protocol"],
        "TargetResourceId": p["targetResourceId"], "TargetVMIPAddress": p["targetVMIPAddress"],
        "ResourceType": p["resourceType"], "TunnelId": p["tunnelId"],
        "SessionStartTime": p["sessionStartTime"], "SessionEndTime": text(&p["sessionEndTime"]),
        "Duration": p["duration"],
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

/// Serves `workspace` holding every record of `hours` (JSON Lines) until the process is killed.
pub(crate) async fn run(
    workspace: &str,
    hours: &[String],
) -> Result<(), Box<dyn std::error::Error>> {
    let fake = FakeLogs::default();
    fake.workspace(workspace);
    let ingested = OffsetDateTime::now_utc() - time::Duration::seconds(1);
    let mut n = 0;
    for line in hours.iter().flat_map(|h| h.lines()) {
        let record: Value = serde_json::from_str(line)?;
        fake.ingest(workspace, row_of(&record, ingested));
        n += 1;
    }
    let url = serve(fake).await?;
    println!("{url}");
    eprintln!("workspace {workspace}: {n} audit rows served by the loopback fake at {url}");
    std::future::pending::<()>().await;
    Ok(())
}
