//! Throughput to a local receiver (ignored by default; run manually):
//! `cargo test --release --test e2e notify::bench -- --ignored --nocapture`.
//! Reports the median of three runs and, in the same run, the rate of direct POSTs from this
//! process to the same receiver, so the handler's overhead shows as a ratio.

use std::time::Instant;

use super::*;

const N: usize = 300;
const CONCURRENCY: usize = 16;

async fn run_handler(h: &HandlerProcess, round: usize) -> f64 {
    let invs: Vec<Value> = (0..N)
        .map(|i| invocation(&notification(&format!("bench{round}-{i}"), "info"), 1))
        .collect();
    let started = Instant::now();
    let stream = futures::stream::iter(invs.iter().map(|inv| h.invoke("NotifyWebhook", inv)));
    let results: Vec<(u16, Value)> =
        futures::StreamExt::collect(futures::StreamExt::buffer_unordered(stream, CONCURRENCY))
            .await;
    assert!(results.iter().all(|(s, _)| *s == 200));
    N as f64 / started.elapsed().as_secs_f64()
}

async fn run_direct(rx: &Receiver) -> f64 {
    let client = reqwest::Client::new();
    let url = format!("{}{HOOK}", rx.base);
    let started = Instant::now();
    let stream = futures::stream::iter(
        (0..N).map(|i| client.post(&url).body(format!("{{\"i\":{i}}}")).send()),
    );
    let results: Vec<_> =
        futures::StreamExt::collect(futures::StreamExt::buffer_unordered(stream, CONCURRENCY))
            .await;
    assert!(results.iter().all(Result::is_ok));
    N as f64 / started.elapsed().as_secs_f64()
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

#[tokio::test]
#[ignore = "benchmark: run manually"]
async fn deliveries_per_second() {
    let rx = Receiver::start().await;
    let h = spawn(&env(
        &rx,
        &[
            ("NOTIFY_TEAMS_URL", ""),
            ("NOTIFY_SLACK_URL", ""),
            ("RUST_LOG", "info"),
        ],
    ))
    .await;
    let mut handler = Vec::new();
    let mut direct = Vec::new();
    for round in 0..3 {
        handler.push(run_handler(&h, round).await);
        direct.push(run_direct(&rx).await);
    }
    let (m, d) = (median(handler.clone()), median(direct.clone()));
    eprintln!("webhook deliveries/s through the handler: {handler:.0?} → median {m:.0}");
    eprintln!(
        "direct POSTs/s to the same receiver:      {direct:.0?} → median {d:.0}; handler/direct = {:.2}",
        m / d
    );
    assert_eq!(rx.hits(HOOK).len(), 3 * N * 2);
}
