//! The identity endpoint answering 500, frozen (accepting, never answering) or down (nothing
//! listening): a good event is answered 500 (retryable) within the storage timeout, with a log
//! line naming the connection setting and the endpoint, and nothing is quarantined; once the
//! endpoint answers again, the same event is processed.

use std::time::{Duration, Instant};

use super::endpoint::Mode;
use super::rig::{ALICE, Rig, pairs};
use crate::harness::HandlerProcess;

/// Event Grid stops waiting after 30 s; every answer must come well before.
const WITHIN: Duration = Duration::from_secs(25);

/// Invokes `RecordingCreated` with `event`; asserts 500 within [`WITHIN`] and a log line naming
/// the setting, `endpoint` and `why`. Returns how long it took.
async fn fails_in_time(
    h: &HandlerProcess,
    event: &serde_json::Value,
    endpoint: &str,
    why: &str,
) -> Duration {
    let started = Instant::now();
    let (status, _, body) = h
        .invoke_raw("RecordingCreated", serde_json::to_vec(event).expect("json"))
        .await;
    let took = started.elapsed();
    assert_eq!(status, 500, "retryable, not poison: {body}");
    assert!(took < WITHIN, "answered after {took:?}");
    let named = format!("AzureWebJobsStorage: managed identity token from {endpoint}");
    let give_up_at = Instant::now() + Duration::from_secs(5);
    loop {
        let logs = h.log_text();
        if let Some(line) = logs.lines().find(|l| l.contains(&named) && l.contains(why)) {
            assert!(
                !logs.contains("non-transport error occurred"),
                "the SDK's context must not hide the cause:\n{logs}"
            );
            eprintln!("{took:?}: {line}");
            return took;
        }
        assert!(
            Instant::now() < give_up_at,
            "no line with {named:?} and {why:?}:\n{logs}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn identity_endpoint_failing_frozen_or_down_answers_500_within_the_total_timeout() {
    let Some(rig) = Rig::start().await else {
        return;
    };
    let name = format!("vm-app-01/{ALICE}.mp4");
    rig.put_blob(&rig.recordings, &name, b"recording").await;
    let event = rig.event(
        "invocations/recording-created.invocation.json",
        &rig.recordings,
        &name,
    );
    // The endpoint as the handler names it: scheme, host and port (the path may be redacted).
    let endpoint = rig.idp.url.trim_end_matches("/msi/token").to_owned();

    rig.idp.set_mode(Mode::Fail(500));
    let h = HandlerProcess::spawn(&pairs(&rig.env("failing", None))).await;
    let failing = fails_in_time(&h, &event, &endpoint, "HTTP 500").await;
    rig.idp.set_mode(Mode::Freeze);
    let frozen = fails_in_time(&h, &event, &endpoint, "no answer within").await;

    let closed = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let down_url = format!("http://{}/msi/token", closed.local_addr().expect("addr"));
    drop(closed);
    let mut env = rig.env("down", None);
    for (k, v) in &mut env {
        if k == "IDENTITY_ENDPOINT" {
            v.clone_from(&down_url);
        }
    }
    let down = HandlerProcess::spawn(&pairs(&env)).await;
    let unreachable = fails_in_time(
        &down,
        &event,
        down_url.trim_end_matches("/msi/token"),
        "refused",
    )
    .await;
    eprintln!("identity endpoint 500: {failing:?}, frozen: {frozen:?}, down: {unreachable:?}");
    assert!(
        rig.list(&rig.quarantine).await.is_empty(),
        "a good event is never quarantined for an identity outage"
    );

    // The endpoint is back: the redelivered event is processed.
    rig.idp.set_mode(Mode::Issue);
    let (status, out) = h.invoke("RecordingCreated", &event).await;
    assert_eq!(status, 200, "{out}");
}
