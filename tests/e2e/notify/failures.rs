//! Failure paths: 429 with Retry-After, 5xx, slow receivers, permanent 4xx, exhaustion.

use std::time::Duration;

use super::*;

fn gaps(hits: &[Hit]) -> Vec<u128> {
    hits.windows(2)
        .map(|w| w[1].at.duration_since(w[0].at).as_millis())
        .collect()
}

#[tokio::test]
async fn throttling_and_server_errors_are_retried_within_the_budget() {
    let rx = Receiver::start().await;
    rx.script(
        HOOK,
        &[
            Reply {
                retry_after: Some("1"),
                ..reply(429, "slow down")
            },
            reply(500, "oops"),
            reply(503, ""),
            reply(200, "ok"),
        ],
    );
    let h = spawn(&env(
        &rx,
        &[("NOTIFY_TEAMS_URL", ""), ("NOTIFY_SLACK_URL", "")],
    ))
    .await;
    let (status, body) = h
        .invoke(
            "NotifyWebhook",
            &invocation(&notification("retry", "info"), 1),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let hits = rx.hits(HOOK);
    assert_eq!(hits.len(), 4);
    let g = gaps(&hits);
    eprintln!("retry timeline 429(Retry-After: 1) → 500 → 503 → 200, gaps in ms: {g:?}");
    assert!(g[0] >= 1000, "Retry-After honoured: {g:?}");
    // Backoff steps count every attempt (the 429 was attempt 1): 0.5–1 s, then 1–2 s.
    // Lower bounds are exact (a sleep never ends early); upper bounds allow `SCHED` for a loaded
    // machine (CI on 2 shared cores), still far below the next backoff step's upper end.
    const SCHED: u128 = 600;
    assert!(
        (500..=1000 + SCHED).contains(&g[1]),
        "backoff after attempt 2: {g:?}"
    );
    assert!(
        (1000..=2000 + SCHED).contains(&g[2]),
        "backoff after attempt 3: {g:?}"
    );
    // Each attempt is signed afresh and verifies.
    assert!(hits.iter().all(|hit| python_verifies(hit, SECRET)));
    h.wait_log("notify.throttled").await;
    h.wait_log("notify.retry").await;
    assert_no_secrets(&h).await;
}

#[tokio::test]
async fn persistent_failure_fails_retryably_then_exhausts_without_duplicating_others() {
    let rx = Receiver::start().await;
    let slack = format!("{SLACK}/{SLACK_TOKEN}");
    rx.script(&slack, &vec![reply(500, "boom"); 40]);
    let h = spawn(&env(&rx, &[("NOTIFY_BUDGET_MS", "2000")])).await;
    let n = notification("exhaust", "critical");
    for dequeue in 1..=5 {
        let started = std::time::Instant::now();
        let (status, body) = h.invoke("NotifyWebhook", &invocation(&n, dequeue)).await;
        assert_eq!(status, 500, "{body}");
        assert!(
            body["error"]
                .as_str()
                .is_some_and(|e| e.contains("slack: HTTP 500")),
            "{body}"
        );
        assert!(
            started.elapsed() < Duration::from_secs(4),
            "bounded by the budget"
        );
        if dequeue == 5 {
            h.wait_log("notify.exhausted").await;
        } else {
            assert!(
                !h.quiet_log_text().await.contains("notify.exhausted"),
                "exhausted only on the last dequeue"
            );
        }
    }
    assert_eq!(
        (rx.hits(TEAMS).len(), rx.hits(HOOK).len()),
        (1, 1),
        "delivered destinations are never posted again"
    );
    let attempts = rx.hits(&slack);
    eprintln!(
        "500 x N with a 2 s budget: {} slack attempts over 5 dequeues, gaps in ms: {:?}",
        attempts.len(),
        gaps(&attempts)
    );
    assert!(attempts.len() >= 5, "at least one attempt per dequeue");
    let exhausted = h
        .log_text()
        .lines()
        .find(|l| l.contains("notify.exhausted"))
        .map(str::to_owned)
        .unwrap_or_default();
    assert!(
        exhausted.contains(n["notificationId"].as_str().expect("id"))
            && !exhausted.contains("alice"),
        "{exhausted}"
    );
    // Each failed delivery ran under the one client's guard, which logged it once.
    let guarded = (h.log_text().lines())
        .filter(|l| l.contains("azure call failed") && l.contains("NotifyWebhook"))
        .count();
    assert_eq!(guarded, 5, "one failure line per dequeue");
    assert_no_secrets(&h).await;
}

#[tokio::test]
async fn permanent_refusal_is_quarantined_and_others_still_delivered() {
    let rx = Receiver::start().await;
    let slack = format!("{SLACK}/{SLACK_TOKEN}");
    rx.script(&slack, &[reply(400, "invalid_payload")]);
    rx.script(TEAMS, &[reply(410, "gone")]);
    let h = spawn(&env(&rx, &[])).await;
    let n = notification("refused", "info");
    let (status, body) = h.invoke("NotifyWebhook", &invocation(&n, 1)).await;
    assert_eq!(status, 200, "{body}");
    let log = body["Logs"][0].as_str().unwrap_or_default();
    assert!(
        log.contains("delivered to [webhook]")
            && log.contains("refused permanently by [teams,slack]"),
        "{log}"
    );
    assert_eq!(
        (
            rx.hits(&slack).len(),
            rx.hits(TEAMS).len(),
            rx.hits(HOOK).len()
        ),
        (1, 1, 1),
        "no retry of a 4xx"
    );
    // The refusal reason is logged.
    h.wait_log("invalid_payload").await;
    // Redelivery: nothing is posted again, not even to the refusing destinations.
    let (status, _) = h.invoke("NotifyWebhook", &invocation(&n, 2)).await;
    assert_eq!(status, 200);
    assert_eq!(rx.total(), 3);
    assert_no_secrets(&h).await;
}

#[tokio::test]
async fn slow_receivers_time_out_and_are_retried_and_redirects_are_not_followed() {
    let rx = Receiver::start().await;
    rx.script(
        HOOK,
        &[
            Reply {
                delay: Duration::from_secs(3),
                ..reply(200, "too late")
            },
            reply(200, "ok"),
        ],
    );
    rx.script(TEAMS, &[reply(307, "")]);
    let h = spawn(&env(
        &rx,
        &[("NOTIFY_TIMEOUT_MS", "500"), ("NOTIFY_SLACK_URL", "")],
    ))
    .await;
    let (status, body) = h
        .invoke(
            "NotifyWebhook",
            &invocation(&notification("slow", "info"), 1),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let hits = rx.hits(HOOK);
    assert_eq!(hits.len(), 2, "timed out once, then delivered");
    assert!(gaps(&hits)[0] >= 500);
    h.wait_log("timeout").await;
    assert!(
        body["Logs"][0]
            .as_str()
            .is_some_and(|l| l.contains("refused permanently by [teams]")),
        "{body}"
    );
    assert_eq!(
        rx.hits(TEAMS).len(),
        1,
        "a redirect is neither followed nor retried"
    );
    assert_no_secrets(&h).await;
}

#[tokio::test]
async fn slack_bursts_are_paced_not_dropped() {
    let rx = Receiver::start().await;
    let h = spawn(&env(
        &rx,
        &[
            ("NOTIFY_TEAMS_URL", ""),
            ("NOTIFY_WEBHOOK_URL", ""),
            ("NOTIFY_WEBHOOK_SECRET", ""),
        ],
    ))
    .await;
    let calls: Vec<_> = (0..4)
        .map(|i| invocation(&notification(&format!("burst{i}"), "info"), 1))
        .collect();
    let results =
        futures::future::join_all(calls.iter().map(|c| h.invoke("NotifyWebhook", c))).await;
    assert!(results.iter().all(|(s, _)| *s == 200), "{results:?}");
    let mut hits = rx.hits(&format!("{SLACK}/{SLACK_TOKEN}"));
    hits.sort_by_key(|h| h.at);
    assert_eq!(hits.len(), 4);
    // Sends start exactly 1 s apart; arrivals carry each request's own latency, which a loaded
    // machine stretches, so each gap gets a 300 ms allowance and the whole burst must span ≥ 2.7 s
    // (unpaced, the four arrive within a few milliseconds).
    let g = gaps(&hits);
    let span = hits[3].at.duration_since(hits[0].at).as_millis();
    assert!(
        g.iter().all(|g| *g >= 700) && span >= 2700,
        "≤ 1 message/s: gaps {g:?}, span {span} ms"
    );
}
