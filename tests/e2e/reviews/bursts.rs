//! One failed-login burst for the alert and the review queue, through the real handler on
//! Azurite: one user's failed logins spread over five VMs in one window raise `login.failed.burst`
//! (by the user, and from the client IP) naming the five VMs, and `ReviewQueue` ranks exactly the
//! sessions of that burst and the one right after it `failed-login-burst`, not a later one.

use std::collections::BTreeSet;

use reqwest::Method;
use serde_json::Value;

use crate::audit_logs::support::{record, start};
use crate::catalogue_sessions::http;
use crate::harness::{fixture, queue_outputs};

const FAILED: [&str; 5] = [
    "b0b0b0b0-0000-4000-8000-000000000001",
    "b0b0b0b0-0000-4000-8000-000000000002",
    "b0b0b0b0-0000-4000-8000-000000000003",
    "b0b0b0b0-0000-4000-8000-000000000004",
    "b0b0b0b0-0000-4000-8000-000000000005",
];
const AFTER: &str = "b0b0b0b0-0000-4000-8000-0000000000a1";
const LATER: &str = "b0b0b0b0-0000-4000-8000-0000000000b2";

#[tokio::test]
async fn the_queue_ranks_the_sessions_of_the_burst_the_alert_names_and_no_other() {
    let Some(e) = start().await else { return };
    e.create(9).await;
    let mut text = String::new();
    for (i, t) in FAILED.iter().enumerate() {
        let at = format!("2025-03-14T09:0{}:00Z", 3 + i);
        text += &record(t, &at, "Login Failed", "").replace("VM-E2E", &format!("VM-{i}"));
    }
    text += &record(AFTER, "2025-03-14T09:20:00Z", "Successfully Connected.", "");
    text += &record(LATER, "2025-03-14T09:50:00Z", "Successfully Connected.", "");
    e.append(9, text.as_bytes()).await;
    let tick = e.tick().await;
    let alerts: Vec<Value> = queue_outputs(&tick, "notifications")
        .into_iter()
        .filter(|n| n["type"] == "login.failed.burst")
        .collect();
    assert_eq!(alerts.len(), 2, "by the user and from the IP: {tick}");
    let named: BTreeSet<String> = (alerts.iter())
        .flat_map(|a| {
            a["data"]["tunnelIds"]
                .as_array()
                .cloned()
                .unwrap_or_default()
        })
        .filter_map(|t| t.as_str().map(str::to_owned))
        .collect();
    assert_eq!(named, FAILED.iter().map(|t| (*t).to_owned()).collect());
    for a in &alerts {
        assert_eq!(a["data"]["targetVm"], "vm-0, vm-1, vm-2, vm-3, vm-4", "{a}");
    }

    let mut inv = fixture("invocations/timer.invocation.json");
    inv["Metadata"]["sys"]["MethodName"] = "ReviewQueue".into();
    inv["Metadata"]["sys"]["UtcNow"] = "2025-03-14T12:00:00.0000000Z".into();
    let (s, reply) = e.handler.invoke("ReviewQueue", &inv).await;
    assert_eq!(s, 200, "{reply}");
    let (s, body, _) = http(&e.handler, Method::GET, "/api/reviews/queue", None, &[]).await;
    assert_eq!(s, 200, "{body}");
    let q: Value = serde_json::from_str(&body).expect("json");
    let ranked: BTreeSet<String> = (q["items"].as_array().into_iter().flatten())
        .filter(|i| {
            let reasons = i["reasons"].as_array().into_iter().flatten();
            reasons.into_iter().any(|r| r == "failed-login-burst")
        })
        .filter_map(|i| i["sessionId"].as_str().map(str::to_owned))
        .collect();
    let mut want = named;
    want.insert(AFTER.to_owned());
    assert_eq!(ranked, want, "{q}");
}
