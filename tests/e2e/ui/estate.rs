//! The page's estate strip and "live now" lane in headless Chromium (`TEST_UI=1`): the real
//! handler on Azurite, Resource Manager played by the estate e2e's loopback fake. Host `b1` has
//! recording switched off (a high finding, stored by a real `EstateCheck` tick); one live session
//! is written straight into `livesessions` (the table `GET /api/sessions/live` reads) with a host,
//! user and VM name Resource Manager could never vouch for. `node tests/ui/estate.mjs` checks the
//! strip, the lane, hostile values as literal text only, and keeps `target/ui/estate.png`.

use bastion_recordings::tables::WriteMode;
use bastion_recordings::tables::keys::{MAX_KEY_BYTES, Spelling, key};
use bastion_recordings::tables::ops::write_creating_table;
use serde_json::json;

use crate::estate::Rig;
use crate::estate::fake_arm::host_id;
use crate::harness::azurite;

/// Would run script if it were ever parsed as markup.
const HOSTILE_HOST: &str = "<img src=x onerror=alert(1)>";
/// Would become a link if it were ever rendered as markdown.
const HOSTILE_USER: &str = "[x](https://evil.example)";
/// Would run script if it were ever used as a link target.
const HOSTILE_VM: &str = "javascript:alert(1)";

#[tokio::test]
async fn estate_strip_and_live_lane_in_headless_chromium() {
    if std::env::var("TEST_UI").ok().as_deref() != Some("1") {
        eprintln!(
            "skipping: TEST_UI is not 1 (scripts/test.sh runs scripts/browser.sh and sets it)"
        );
        return;
    }
    let cs = azurite().expect("TEST_UI=1 needs Azurite (TEST_AZURITE=1, as scripts/test.sh sets)");
    let mut rig = Rig::new(&cs, &[]).await;
    rig.arm
        .with(|e| e.host("b1")["properties"]["enableSessionRecording"] = json!(false));
    let opened = rig.check().await;
    assert_eq!(opened.len(), 1, "{opened:?}");
    assert_eq!(opened[0]["data"]["finding"], "recording-off");
    let host = host_id("b1");
    let start = bastion_recordings::dates::format_utc_millis(time::OffsetDateTime::now_utc());
    let row = json!({
        "PartitionKey": key(&host.to_ascii_lowercase(), Spelling::Encoded, MAX_KEY_BYTES), "RowKey": "s-hostile",
        "Host": host, "HostName": HOSTILE_HOST, "SessionId": "s-hostile",
        "UserName": HOSTILE_USER, "TargetHost": HOSTILE_VM, "TargetIp": "10.10.1.4",
        "Protocol": "SSH", "StartTime": start, "FirstSeen": start, "LastSeen": start,
        "Status": "live", "Unrecordable": "recording-off",
    });
    write_creating_table(
        &rig.tables(),
        "livesessions",
        row.as_object().expect("row"),
        WriteMode::Upsert,
    )
    .await
    .expect("live row");
    let (status, live) = rig.handler.get_json("/api/sessions/live").await;
    assert_eq!((status, &live["count"]), (200, &json!(1)), "{live}");

    let expect = json!({
        "key": "test-function-key",
        "host": {"name": "b1", "finding": "recording-off", "status": "high"},
        "live": {"hostName": HOSTILE_HOST, "user": HOSTILE_USER, "vm": HOSTILE_VM},
        "hostile": [HOSTILE_HOST, HOSTILE_USER, HOSTILE_VM],
    });
    super::browser_check(&rig.handler, "estate", &expect, "estate ui: ok", 120).await;
}
