//! Throttling (503 + `Retry-After`) and connection resets: an invocation either rides them out
//! within Event Grid's wait or answers 500 (retryable) — never 200 + quarantine, which would drop
//! a good event — and the redelivery after the fault loses nothing.

use super::proxy::{Fault, Proxy, Rule, Service};
use super::rig::{self, EVENT_GRID_WAIT, announced, quarantined, timed};
use crate::audit_logs::support::Env;

/// Runs `inv` under `rule`: `Ok` when it succeeded despite the fault, `Err(())` when it answered
/// 500 and the redelivery without the fault succeeded. Checks the timing and that nothing was
/// quarantined; returns the recording id announced.
async fn under(e: &Env, proxy: &Proxy, rule: Rule, name: &str) -> Result<String, String> {
    let inv = rig::recording(e, name).await;
    proxy.add(rule);
    let (status, reply, took) = timed(&e.handler, "RecordingCreated", &inv).await;
    proxy.clear();
    assert!(took < EVENT_GRID_WAIT, "{name}: answered after {took:?}");
    assert_eq!(
        quarantined(e, "RecordingCreated").await,
        0,
        "{name}: {reply}"
    );
    match status {
        200 => Ok(announced(&reply)),
        500 => {
            let (status, reply) = e.handler.invoke("RecordingCreated", &inv).await;
            assert_eq!(status, 200, "{name}: redelivery: {reply}");
            Err(announced(&reply))
        }
        other => panic!("{name}: {other} {reply}"),
    }
}

fn throttle(service: Service) -> Rule {
    Rule::new(Fault::Status(503, 1)).service(service)
}

#[tokio::test]
async fn throttled_calls_are_ridden_out_or_retryable_never_poison() {
    let Some((e, proxy)) = rig::start(&[]).await else {
        return;
    };
    // One throttled answer from each service: the clients honour `Retry-After` and succeed.
    for (service, name) in [
        (Service::Table, "t-once.rec"),
        (Service::Blob, "b-once.rec"),
    ] {
        let r = under(&e, &proxy, throttle(service), name).await;
        assert!(r.is_ok(), "{name}: {r:?}\n{}", e.handler.log_text());
    }
    // Throttled on every call: retryable (500), never poison; the redelivery catalogues it.
    for (service, name) in [
        (Service::Table, "t-always.rec"),
        (Service::Blob, "b-always.rec"),
    ] {
        let r = under(&e, &proxy, throttle(service).always(), name).await;
        assert!(r.is_err(), "{name}: {r:?}");
    }
    assert!(proxy.fired(Fault::Status(503, 1)) >= 2 + 2 * 2);
}

#[tokio::test]
async fn reset_connections_are_retryable_and_the_redelivery_loses_nothing() {
    let Some((e, proxy)) = rig::start(&[]).await else {
        return;
    };
    let reset = |service| Rule::new(Fault::Reset).service(service);
    // A single reset is retried by the client.
    let once = under(
        &e,
        &proxy,
        reset(Service::Table).method("POST"),
        "r-once.rec",
    )
    .await;
    assert!(once.is_ok(), "{once:?}\n{}", e.handler.log_text());
    // Every insert, or every blob read, reset mid-request: 500, then a clean redelivery.
    let insert = reset(Service::Table).method("POST").always();
    assert!(under(&e, &proxy, insert, "r-insert.rec").await.is_err());
    let read = reset(Service::Blob).always();
    assert!(under(&e, &proxy, read, "r-read.rec").await.is_err());
    assert_eq!(rig::rows(&e).await.len(), 3, "one row each, none lost");
}
