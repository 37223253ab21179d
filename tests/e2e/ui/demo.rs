//! The reviewer's path (`tests/ui/reviewer.mjs`) on the demo's data: what `scripts/demo.sh` seeds
//! (`examples/demo_seed/mod.rs`, included here, not copied), on the demo's settings (two Bastion
//! hosts, each recording into its own container; the example retention policy; the product's
//! smallest recording size), driven through the handler as devhost would drive it: an
//! `AuditLogCreated` and tail ticks for each host's audit hour, a `RecordingCreated` per upload.
//! Then bob's recording on the first host is overwritten (a custody event), hashed and verified
//! by `IntegrityVerify`, as the reviewer's test on the UI data does, and the browser walks the
//! path by keyboard to bob's session, with axe-core in every state and both widths.

use bastion_recordings::config::Config;
use bastion_recordings::storage::azure::AzureBlobStore;
use bastion_recordings::storage::{BlobRef, BlobStore, Metadata};
use bytes::Bytes;
use serde_json::json;
use time::OffsetDateTime;

use super::seed::{at, event, invoke_ok};
use super::{browser_check_as, local, rank_queue};
use crate::harness::{AzuriteEnv, HandlerProcess, azurite, fixture, unique};

#[path = "../../../examples/demo_seed/mod.rs"]
mod data;

/// A sequencer newer than the fixture event's: the overwrite comes after the first write.
const LATER: &str = "0000000000000000000000000001A2B30000000000e00000";

/// An `AuditLogTail` tick at `now`.
async fn tail(handler: &HandlerProcess, now: OffsetDateTime) {
    let mut tick = fixture("invocations/timer.invocation.json");
    tick["Metadata"]["sys"]["MethodName"] = json!("AuditLogTail");
    tick["Metadata"]["sys"]["UtcNow"] = json!(at(now, 0));
    invoke_ok(handler, "AuditLogTail", &tick).await;
}

/// `RecordingCreated` for `blob`, of `len` bytes, with the event's `sequencer` when given.
async fn created(handler: &HandlerProcess, blob: &BlobRef, len: usize, sequencer: Option<&str>) {
    let mut inv = event(
        "invocations/recording-created.invocation.json",
        &blob.container,
        &blob.name,
    );
    inv["Data"]["eventGridEvent"]["data"]["contentLength"] = json!(len);
    if let Some(s) = sequencer {
        inv["Data"]["eventGridEvent"]["data"]["sequencer"] = json!(s);
    }
    let (status, reply) = handler.invoke("RecordingCreated", &inv).await;
    assert_eq!(status, 200, "{reply} {}", handler.log_text());
    // A replacement asks for the new bytes' hash: answered as the queue trigger would.
    let req = &reply["Outputs"]["hashRequests"];
    if sequencer.is_some() {
        assert!(
            req.is_object(),
            "a hash request after the replacement: {reply}"
        );
        let message = json!({"Data": {"message": serde_json::to_string(&req.to_string()).expect("json")},
            "Metadata": {"DequeueCount": 1, "sys": {"MethodName": "RecordingHash"}}});
        invoke_ok(handler, "RecordingHash", &message).await;
    }
}

#[tokio::test]
async fn reviewers_path_on_the_demos_data_by_keyboard_in_headless_chromium() {
    if std::env::var("TEST_UI").ok().as_deref() != Some("1") {
        eprintln!(
            "skipping: TEST_UI is not 1 (scripts/test.sh runs scripts/browser.sh and sets it)"
        );
        return;
    }
    let cs = azurite().expect("TEST_UI=1 needs Azurite (TEST_AZURITE=1, as scripts/test.sh sets)");
    let mut env = AzuriteEnv::new(&cs);
    // The demo's settings (scripts/demo.sh), on containers of this test's own.
    let containers = [unique("recweu"), unique("recneu")];
    env.vars.remove("RECORDING_MIN_BYTES");
    // The hosts by resource id, the estate checks off (no Resource Manager), as the demo has them.
    let ids = ["bas-hub-weu", "bas-hub-neu"].map(data::host_id);
    let sources = format!(
        "AzureWebJobsStorage:{}@{},AzureWebJobsStorage:{}@{}",
        containers[0], ids[0], containers[1], ids[1]
    );
    let policy = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/examples/retention-policy.toml"
    );
    for (k, v) in [
        ("RECORDINGS_SOURCES", sources.as_str()),
        ("RETENTION_POLICY", policy),
        ("CATALOGUE_DOWNLOAD_LINKS", "true"),
        ("BASTION_HOSTS", "none"),
    ] {
        env.vars.insert(k.to_owned(), v.to_owned());
    }
    let config = Config::from_lookup(&|k| env.vars.get(k).cloned()).expect("config");
    let app = &config.storage.app;
    let blobs = AzureBlobStore::new(app).expect("blobs");
    let handler = HandlerProcess::spawn(&env.pairs()).await;

    // The demo's seed, each write followed by the event devhost would raise for it.
    let (hour, now) = data::this_hour().expect("this hour");
    for (blob, lines, host) in data::audit_blobs(&config, hour, now).expect("audit blobs") {
        blobs
            .create_append(&blob, "application/json")
            .await
            .expect("append blob");
        let inv = event(
            "invocations/auditlog-created.invocation.json",
            &blob.container,
            &blob.name,
        );
        invoke_ok(&handler, "AuditLogCreated", &inv).await;
        blobs
            .append(&blob, Bytes::from(lines))
            .await
            .unwrap_or_else(|e| panic!("{host}'s audit hour: {e}"));
    }
    tail(&handler, now).await;
    for up in data::uploads(&config, now) {
        blobs
            .put(
                &up.blob,
                up.body.clone(),
                "application/octet-stream",
                &up.meta,
            )
            .await
            .unwrap_or_else(|e| panic!("{}'s recording: {e}", up.host));
        created(&handler, &up.blob, up.body.len(), None).await;
    }
    tail(&handler, now).await;

    // Bob's recording on the first host is overwritten with other bytes, hashed and verified.
    let session = data::tunnel(data::BOB, 0);
    let name = format!("PLACEHOLDER-{session}");
    let blob = BlobRef::new(containers[0].clone(), name.clone());
    let other = Bytes::from(vec![b'o'; 70 * 1024]);
    blobs
        .put(
            &blob,
            other.clone(),
            "application/octet-stream",
            &Metadata::new(),
        )
        .await
        .expect("overwrite");
    created(&handler, &blob, other.len(), Some(LATER)).await;
    let mut tick = fixture("invocations/timer.invocation.json");
    tick["Metadata"]["sys"]["MethodName"] = json!("IntegrityVerify");
    tick["Metadata"]["sys"]["UtcNow"] = json!(at(OffsetDateTime::now_utc(), 0));
    invoke_ok(&handler, "IntegrityVerify", &tick).await;
    rank_queue(&handler, now).await;

    let expect = json!({
        "key": "test-function-key",
        "from": local(now - time::Duration::hours(4)), "to": local(now + time::Duration::hours(1)),
        "person": "bob@contoso.com", "account": "administrator", "vm": "vm-win-02",
        "host": "bas-hub-weu", "session": session, "blob": name,
        // Bob has a recording behind each host: the search finds both, the path opens this one.
        "rows": 2,
        // The demo names its hosts by resource id: the link opens this host's own page.
        "hostId": ids[0],
        // An unjoined upload's portal link: its own source's host, by its resource id.
        "hostIds": {"bas-hub-weu": ids[0], "bas-hub-neu": ids[1]},
        "verification": "intact", "custody": "Replaced",
        "reviewer": "function-key caller", "comment": "checked the replaced recording: ticket raised",
        "noReadLink": "No read link: download links need an Entra identity",
    });
    // Files as target/ui/reviewer-demo*.png, beside the UI data's reviewer*.png.
    browser_check_as(
        &handler,
        "reviewer",
        "reviewer-demo",
        &expect,
        "reviewer: ok",
        240,
    )
    .await;
}
