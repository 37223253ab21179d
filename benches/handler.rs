//! Load benchmark of the real `handler` process (issue #2 figures), run by `scripts/bench.sh`:
//! cold start (exec → first 200 on a RecordingCreated invocation), idle RSS, binary size, and
//! RecordingCreated throughput/latency over loopback beside a bare axum JSON echo measured in the
//! same run with the same client. In-memory stores; stdout of the handler goes to /dev/null.
//!
//! Usage: `cargo bench --bench handler -- [--seconds N] [--concurrency N] [--runs N]`.

use std::process::Stdio;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

const FIXTURE: &str =
    include_str!("../tests/fixtures/invocations/recording-created.invocation.json");

fn arg(name: &str, default: u64) -> u64 {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn invocation(blob: &str) -> Vec<u8> {
    let mut v: Value = serde_json::from_str(FIXTURE).expect("fixture");
    v["Data"]["eventGridEvent"]["subject"] = json!(format!(
        "/blobServices/default/containers/recordings/blobs/{blob}"
    ));
    serde_json::to_vec(&v).expect("json")
}

async fn spawn(bin: &str, args: &[&str], seed: &str) -> (Child, String, Instant) {
    let started = Instant::now();
    let mut child = Command::new(bin)
        .args(args)
        .env("FUNCTIONS_CUSTOMHANDLER_PORT", "0")
        .env("HANDLER_IN_MEMORY", "true")
        .env("HANDLER_IN_MEMORY_ACCOUNT", "stbastrecweu01")
        .env("HANDLER_IN_MEMORY_SEED", seed)
        .env("RUST_LOG", "info")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("spawn");
    let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
    let first = lines.next_line().await.expect("read").expect("line");
    let addr = first
        .strip_prefix("listening addr=")
        .expect("address line")
        .to_owned();
    // Keep draining stdout so logging never blocks the server.
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    (child, addr, started)
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

async fn cold_start(bin: &str, runs: u64) -> (f64, f64) {
    let client = reqwest::Client::new();
    let (mut starts, mut rss) = (Vec::new(), Vec::new());
    for _ in 0..runs {
        let (child, addr, started) =
            spawn(bin, &[], "PLACEHOLDER-5f0c2d7e-8b1a-4c3e-9d2f-6a7b8c9d0e1f").await;
        let res = client
            .post(format!("http://{addr}/RecordingCreated"))
            .body(FIXTURE)
            .send()
            .await
            .expect("invoke");
        assert_eq!(res.status(), 200);
        let text = res.text().await.expect("body");
        assert!(text.contains("catalogued recording"), "{text}");
        starts.push(started.elapsed().as_secs_f64() * 1000.0);
        rss.push(rss_kib(child.id().unwrap_or(0)) as f64 / 1024.0);
    }
    (median(&mut starts), median(&mut rss))
}

/// Runs `concurrency` keep-alive workers for `seconds`; returns (requests/s, p50 ms, p99 ms).
async fn load(
    addr: &str,
    path: &str,
    seconds: u64,
    concurrency: u64,
    distinct: bool,
) -> (f64, f64, f64) {
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(concurrency as usize)
        .build()
        .expect("client");
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let started = Instant::now();
    let workers = (0..concurrency).map(|w| {
        let (client, url) = (client.clone(), format!("http://{addr}{path}"));
        tokio::spawn(async move {
            let mut lat = Vec::new();
            let mut n = 0u64;
            while Instant::now() < deadline {
                let body = invocation(&if distinct {
                    format!("b{w}x{n}")
                } else {
                    "b".into()
                });
                let t = Instant::now();
                let res = client
                    .post(&url)
                    .header("content-type", "application/json; charset=utf-8")
                    .body(body)
                    .send()
                    .await
                    .expect("send");
                assert_eq!(res.status(), 200);
                let _ = res.bytes().await.expect("body");
                lat.push(t.elapsed().as_secs_f64() * 1000.0);
                n += 1;
            }
            lat
        })
    });
    // Spawn every worker before awaiting any: the iterator above is lazy.
    let workers: Vec<_> = workers.collect();
    let mut all: Vec<f64> = Vec::new();
    for w in workers {
        all.extend(w.await.expect("worker"));
    }
    let rate = all.len() as f64 / started.elapsed().as_secs_f64();
    all.sort_by(f64::total_cmp);
    let pct = |p: f64| all[((all.len() as f64 * p) as usize).min(all.len() - 1)];
    (rate, pct(0.5), pct(0.99))
}

async fn echo_server() {
    use axum::{Json, Router, routing::post};
    let app = Router::new().route(
        "/RecordingCreated",
        post(|Json(v): Json<Value>| async move {
            Json(json!({"Outputs": {}, "Logs": [], "ReturnValue": v["Metadata"]["sys"]}))
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    println!("listening addr={}", listener.local_addr().expect("addr"));
    axum::serve(listener, app).await.expect("serve");
}

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    if std::env::args().any(|a| a == "--echo") {
        return rt.block_on(echo_server());
    }
    rt.block_on(async {
        let bin = env!("CARGO_BIN_EXE_handler");
        let (secs, conc, runs) = (arg("--seconds", 5), arg("--concurrency", 32), arg("--runs", 21));
        let size = std::fs::metadata(bin).map(|m| m.len()).unwrap_or(0) as f64 / 1e6;
        let (cold, rss) = cold_start(bin, runs).await;
        println!("binary_size_mb={size:.2} cold_start_ms_median={cold:.2} idle_rss_mib_median={rss:.1} (runs={runs})");
        let me = std::env::current_exe().expect("exe");
        let me = me.to_str().expect("utf8");
        let mut results = Vec::new();
        for round in 0..3 {
            let (_echo, echo_addr, _) = spawn(me, &["--echo"], "").await;
            let e = load(&echo_addr, "/RecordingCreated", secs, conc, false).await;
            let seed: Vec<String> = (0..conc).map(|w| format!("b{w}x:{}", 400_000 / conc)).collect();
            let (_h, addr, _) = spawn(bin, &[], &seed.join(",")).await;
            let h = load(&addr, "/RecordingCreated", secs, conc, true).await;
            println!("round={round} echo_rps={:.0} echo_p50_ms={:.3} echo_p99_ms={:.3} handler_rps={:.0} handler_p50_ms={:.3} handler_p99_ms={:.3} ratio={:.2}", e.0, e.1, e.2, h.0, h.1, h.2, h.0 / e.0);
            results.push((e, h));
        }
        let mut er: Vec<f64> = results.iter().map(|r| r.0.0).collect();
        let mut hr: Vec<f64> = results.iter().map(|r| r.1.0).collect();
        let mut hp: Vec<f64> = results.iter().map(|r| r.1.2).collect();
        let mut ratio: Vec<f64> = results.iter().map(|r| r.1.0 / r.0.0).collect();
        println!("MEDIAN echo_rps={:.0} handler_rps={:.0} handler_p99_ms={:.3} ratio={:.2}", median(&mut er), median(&mut hr), median(&mut hp), median(&mut ratio));
    });
}
