//! The app's managed identity taken from the platform whatever the storage connection: with a key
//! `AzureWebJobsStorage` (Azurite, as a deployment with a connection string has), the calls that
//! need a token (the Logs Ingestion API here) get it from `IDENTITY_ENDPOINT` + `IDENTITY_HEADER`,
//! for the user-assigned identity `AZURE_CLIENT_ID` names; with no identity at all, start-up stops
//! naming each setting that needs one.

use bastion_testkit::ingestion::{FakeIngestion, serve};
use time::OffsetDateTime;

use super::CLIENT_ID;
use super::endpoint::IdentityEndpoint;
use crate::harness::{AzuriteEnv, HandlerProcess};
use crate::sentinel::{DCR, DETECTIONS, declaration, deliver, export, ids, notification, settings};

const AUDIENCE: &str = "https://monitor.azure.com";

#[tokio::test]
async fn a_key_storage_connection_still_sends_the_platform_identitys_token() {
    let Some(cs) = crate::harness::azurite() else {
        return;
    };
    let idp = IdentityEndpoint::start().await;
    // The fake refuses a call without a token for the monitor audience (401).
    let fake = FakeIngestion::new(declaration(), DCR).with_audience(AUDIENCE);
    let url = serve(fake.clone()).await.expect("serve");
    let mut env = AzuriteEnv::new(&cs);
    for (k, v) in settings(&url) {
        env.vars.insert(k.to_owned(), v);
    }
    env.vars
        .insert("IDENTITY_ENDPOINT".to_owned(), idp.url.clone());
    env.vars
        .insert("IDENTITY_HEADER".to_owned(), "platform".to_owned());
    env.vars
        .insert("AZURE_CLIENT_ID".to_owned(), CLIENT_ID.to_owned());
    let h = HandlerProcess::spawn(&env.pairs()).await;
    let n = notification("session.unrecorded", "tunnel-p", OffsetDateTime::now_utc());
    deliver(&h, &n).await;
    let (status, reply) = export(&h).await;
    assert_eq!(status, 200, "{reply}\n{}", h.log_text());
    assert_eq!(ids(&fake, DETECTIONS).len(), 1, "accepted with the token");
    let asked = idp.requests("platform");
    assert!(
        asked.iter().any(|r| r.resource.as_deref() == Some(AUDIENCE)
            && r.client_id.as_deref() == Some(CLIENT_ID)),
        "a token for {AUDIENCE}, for the user-assigned identity: {asked:?}"
    );
}

#[tokio::test]
async fn without_any_identity_start_up_stops_naming_the_settings_that_need_one() {
    let env = [
        ("AzureWebJobsStorage", "UseDevelopmentStorage=true"),
        (
            "SENTINEL_INGESTION_ENDPOINT",
            "https://dce-x.westeurope-1.ingest.monitor.azure.com",
        ),
        ("SENTINEL_DCR_IMMUTABLE_ID", DCR),
        (
            "AUDITLOGS_WORKSPACES",
            "a1b2c3d4-0000-4000-8000-0000000000d1",
        ),
        (
            "CUSTODY_WORKSPACE_ID",
            "a1b2c3d4-0000-4000-8000-0000000000d1",
        ),
        // The endpoint without its secret is not the platform's identity.
        ("IDENTITY_ENDPOINT", "http://127.0.0.1:9/msi/token"),
    ];
    // A handler that starts would serve until killed: give it 30 s to stop by itself.
    let run = tokio::process::Command::new(env!("CARGO_BIN_EXE_handler"))
        .env_clear()
        .env("FUNCTIONS_CUSTOMHANDLER_PORT", "0")
        .envs(env.iter().copied())
        .kill_on_drop(true)
        .output();
    let out = tokio::time::timeout(std::time::Duration::from_secs(30), run)
        .await
        .expect("start-up stops instead of serving")
        .expect("run handler");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "start-up must stop: {stderr}");
    for setting in [
        "SENTINEL_INGESTION_ENDPOINT",
        "AUDITLOGS_WORKSPACES",
        "CUSTODY_WORKSPACE_ID",
    ] {
        assert!(
            stderr.contains(&format!("{setting}: its calls need a token")),
            "{setting} not named: {stderr}"
        );
    }
    assert!(
        stderr.contains("invalid configuration"),
        "one message: {stderr}"
    );
}
