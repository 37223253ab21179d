//! The estate checks with the app's managed identity, as in Azure: no account key anywhere, tokens
//! for Resource Manager from the identity endpoint, and a fake Resource Manager that refuses a
//! request without an unexpired bearer token (401), so a check that sent none would fail.

use super::fake_arm::{Estate, FakeArm};
use super::{notifications, watching};
use crate::harness::HandlerProcess;
use crate::identity::rig::{Rig, pairs, timer};
use crate::tls_azurite::ACCOUNT;
use crate::workspaces::rig::unexpired_jwt;

#[tokio::test]
async fn the_checks_use_identity_tokens_for_resource_manager() {
    let Some(rig) = Rig::start().await else {
        return;
    };
    rig.container(&rig.recordings).await;
    let mut estate = Estate::default();
    estate.add_healthy("b1", ACCOUNT, &rig.recordings, ACCOUNT);
    estate.token_check = Some(|t| t.is_some_and(unexpired_jwt));
    let arm = FakeArm::start(estate).await;
    let mut env: Vec<(String, String)> = rig
        .env("handler", None)
        .into_iter()
        .filter(|(k, _)| k != "RECORDINGS_SOURCES")
        .collect();
    for (k, v) in watching(&rig.recordings, ACCOUNT, &arm.url) {
        env.push((k.to_owned(), v));
    }
    let handler = HandlerProcess::spawn(&pairs(&env)).await;

    let (status, body) = handler.invoke("EstateCheck", &timer("EstateCheck")).await;
    assert_eq!(status, 200, "{body}\n{}", handler.log_text());
    assert!(
        notifications(&body).is_empty(),
        "a healthy host read with accepted tokens: no finding, no check-failed: {body}"
    );
    let tokens = arm.with(|e| e.tokens.clone());
    assert!(
        tokens.len() >= 4,
        "host, settings, blob service, container: {tokens:?}"
    );
    assert!(
        tokens
            .iter()
            .all(|t| t.as_deref().is_some_and(unexpired_jwt)),
        "every Resource Manager request carried an identity token"
    );
    let asked: Vec<String> = rig
        .idp
        .requests("handler")
        .into_iter()
        .filter_map(|r| r.resource)
        .collect();
    assert!(
        asked.iter().any(|r| r.trim_end_matches('/') == arm.url),
        "a token for Resource Manager's own endpoint was asked for: {asked:?}"
    );

    // The same check with the tokens refused: the failure is a finding, never a crash.
    arm.with(|e| e.token_check = Some(|_| false));
    // The next period (a tick of the same minute is the same period: planned once).
    let mut next = timer("EstateCheck");
    next["Metadata"]["sys"]["UtcNow"] = serde_json::json!("2025-03-14T11:45:00.0000000Z");
    let (status, body) = handler.invoke("EstateCheck", &next).await;
    assert_eq!(status, 200, "{body}");
    let found: Vec<String> = notifications(&body)
        .iter()
        .filter_map(|n| n["data"]["finding"].as_str().map(str::to_owned))
        .collect();
    assert!(
        found.iter().any(|f| f.starts_with("check-failed:")),
        "refused tokens make the check fail visibly: {found:?}"
    );
}
