//! Managed identity end to end: the real `handler` (and devhost, for queues) with identity-only
//! settings and no account key anywhere in its environment, against an HTTPS Azurite in OAuth
//! mode and a fake of the App Service / Flex Consumption identity endpoint. Every function the
//! app serves gets its token from that endpoint; the token is fetched once per process and
//! refreshed before it expires; a user-assigned identity sends its client id; an endpoint that
//! fails, is down or freezes makes invocations answer 500 within the storage timeout, with one
//! line naming the setting and the endpoint, and never quarantines a good event; a half-configured
//! identity stops start-up. With a key storage connection, the platform's identity
//! (`IDENTITY_ENDPOINT`, `AZURE_CLIENT_ID`) still gives the calls that need one their token, and
//! without any identity such a setting stops start-up ([`platform`]). Needs `TEST_AZURITE=1`, an
//! Azurite install and the `openssl` CLI.

pub(crate) mod endpoint;
mod failures;
mod platform;
mod queues;
pub(crate) mod rig;
mod sources;

use std::time::{Duration, Instant};

use crate::harness::{HandlerProcess, fixture_bytes};
use endpoint::{API_VERSION, STORAGE};
use rig::{ALICE, HOUR, Rig, pairs, timer};

/// A user-assigned identity's client id.
const CLIENT_ID: &str = "0f9d5b3c-6a41-4e8e-9b1d-2c7e4f6a8b90";

fn today() -> String {
    let d = time::OffsetDateTime::now_utc().date();
    format!("{:04}-{:02}-{:02}", d.year(), u8::from(d.month()), d.day())
}

#[tokio::test]
async fn identity_only_settings_run_every_function_on_one_cached_token() {
    let Some(rig) = Rig::start().await else {
        return;
    };
    // The first token lives 305 s: the SDK refreshes 300 s before expiry, so 5 s from now.
    rig.idp.next_lifetimes(&[305]);
    let env = rig.env("handler", Some(CLIENT_ID));
    let h = HandlerProcess::spawn(&pairs(&env)).await;
    // No tunnel id in the name: the recording stays on today's page (an exact join would move it
    // to its session's day).
    let name = "vm-app-01/session-1.mp4";

    rig.put_blob(&rig.recordings, name, b"recording").await;
    let created = rig.event(
        "invocations/recording-created.invocation.json",
        &rig.recordings,
        name,
    );
    let (s, out) = h.invoke("RecordingCreated", &created).await;
    assert_eq!(s, 200, "{out} {}", h.log_text());
    let id = out["Outputs"]["hashRequests"]["recordingId"]
        .as_str()
        .unwrap_or_else(|| panic!("catalogued: {out}"))
        .to_owned();

    rig.create_append(&rig.logs, HOUR).await;
    let log_created = rig.event(
        "invocations/auditlog-created.invocation.json",
        &rig.logs,
        HOUR,
    );
    let (s, out) = h.invoke("AuditLogCreated", &log_created).await;
    assert_eq!(s, 200, "{out}");
    // The sample's last line is partial: it waits (unread, not quarantined) for its end.
    let sample = fixture_bytes("auditlogs/PT1H.sample.jsonl");
    rig.append(&rig.logs, HOUR, sample).await;
    let (s, out) = h.invoke("AuditLogTail", &timer("AuditLogTail")).await;
    assert_eq!(s, 200, "{out}");
    assert!(
        out["Logs"]
            .as_array()
            .into_iter()
            .flatten()
            .any(|l| l.as_str().unwrap_or_default().contains("4 records")),
        "the sample's records were read: {out}"
    );
    let (s, out) = h.invoke("RetentionSweep", &timer("RetentionSweep")).await;
    assert_eq!(s, 200, "{out}");

    let (s, list) = h
        .get_json(&format!("/api/recordings?from={0}&to={0}", today()))
        .await;
    assert_eq!(s, 200, "{list}");
    assert_eq!(list["items"][0]["id"], id.as_str(), "{list}");
    let (s, doc) = h.get_json(&format!("/api/recordings/{id}")).await;
    assert_eq!(s, 200, "{doc}");
    assert_eq!(
        doc["download"]["available"], true,
        "a user-delegation link signed with the shared identity: {doc}"
    );
    let (s, sessions) = h
        .get_json("/api/sessions?from=2025-03-14&to=2025-03-14")
        .await;
    assert_eq!(s, 200, "{sessions}");
    assert!(sessions.to_string().contains(ALICE), "{sessions}");
    let (s, health) = h.get_json("/api/health").await;
    assert_eq!(s, 200, "{health}");
    assert!(
        health["poisonQueues"]["notifications-poison"].is_u64(),
        "queue depths read with the identity: {health}"
    );

    // One token for every client of the process (blob, table, queue, delegation key), refreshed
    // once when the short first lifetime runs out, and not again.
    let first = rig.idp.requests("handler");
    assert!(
        (1..=2).contains(&first.len()),
        "one token, not one per request: {first:?}"
    );
    let give_up_at = Instant::now() + Duration::from_secs(20);
    while rig.idp.requests("handler").len() < 2 {
        assert!(Instant::now() < give_up_at, "no refresh before expires_on");
        let (s, _) = h
            .get_json(&format!("/api/recordings?from={0}&to={0}", today()))
            .await;
        assert_eq!(s, 200);
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    for _ in 0..5 {
        let (s, _) = h.invoke("RetentionSweep", &timer("RetentionSweep")).await;
        assert_eq!(s, 200);
    }
    let all = rig.idp.requests("handler");
    assert_eq!(all.len(), 2, "refreshed once, then cached: {all:?}");
    let gap = all[1].at - all[0].at;
    assert!(
        gap >= Duration::from_secs(4),
        "refreshed only near expiry, after {gap:?}"
    );
    for r in &all {
        assert_eq!(r.api_version.as_deref(), Some(API_VERSION), "{r:?}");
        assert_eq!(r.resource.as_deref(), Some(STORAGE), "{r:?}");
        assert_eq!(
            r.client_id.as_deref(),
            Some(CLIENT_ID),
            "user-assigned: {r:?}"
        );
        assert!(r.metadata, "{r:?}");
    }
    assert!(
        rig.list(&rig.quarantine).await.is_empty(),
        "nothing quarantined"
    );

    // `handler backfill`: a one-shot process of its own, one token of its own. (Awaited, not
    // blocking: the identity endpoint it asks runs on this test's runtime.)
    let backfill = rig.env("backfill", Some(CLIENT_ID));
    let tomorrow = time::OffsetDateTime::now_utc().date() + time::Duration::days(1);
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_handler"))
        .args(["backfill", "--from", "2025-01-01", "--to"])
        .arg(format!(
            "{:04}-{:02}-{:02}",
            tomorrow.year(),
            u8::from(tomorrow.month()),
            tomorrow.day()
        ))
        .env_clear()
        .envs(backfill.iter().map(|(k, v)| (k, v)))
        .env("CATALOGUE_MAX_RANGE_DAYS", "366")
        .output()
        .await
        .expect("run handler backfill");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("\"summary\""), "{stdout}");
    assert_eq!(
        rig.idp.requests("backfill").len(),
        1,
        "one token per process"
    );
}

#[tokio::test]
async fn half_configured_identity_settings_stop_start_up_naming_the_setting() {
    let app = ("AzureWebJobsStorage__accountName", "acct");
    let listed = ("RECORDINGS_SOURCES", "RECORDINGS_STORAGE:recordings");
    let cases: [(&[(&str, &str)], &str); 4] = [
        (
            &[("AzureWebJobsStorage__credential", "managedidentity")],
            "AzureWebJobsStorage__credential: set, but neither",
        ),
        (
            &[("AzureWebJobsStorage__clientId", CLIENT_ID)],
            "AzureWebJobsStorage__clientId: set, but neither",
        ),
        (
            &[app, listed, ("RECORDINGS_STORAGE__clientId", CLIENT_ID)],
            "RECORDINGS_STORAGE__clientId: set, but neither",
        ),
        (
            &[app, ("AzureWebJobsStorage__credential", "clientsecret")],
            "AzureWebJobsStorage__credential: only managedidentity is supported",
        ),
    ];
    for (env, expected) in cases {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_handler"))
            .env_clear()
            .env("FUNCTIONS_CUSTOMHANDLER_PORT", "0")
            .envs(env.iter().copied())
            .output()
            .expect("run handler");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{env:?} must stop start-up");
        assert!(stderr.contains(expected), "{expected} missing: {stderr}");
        assert!(
            !stderr.contains(CLIENT_ID),
            "values are never shown: {stderr}"
        );
    }
}
