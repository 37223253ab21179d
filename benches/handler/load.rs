//! Load generators for the throughput rounds: `wrk` (C, event loop; preferred: it spends far less
//! CPU per request than an in-process client, and the client shares the 2 cores with the server)
//! and a built-in reqwest generator used when `wrk` is not installed. Both post the fixture
//! invocation with a distinct blob name per request (`distinct`) or always the same one (echo).

use std::process::Stdio;
use std::time::{Duration, Instant};

use tokio::process::Command;

/// The blob name in the fixture, replaced per request.
pub(crate) const PLACEHOLDER: &str = "PLACEHOLDER-5f0c2d7e-8b1a-4c3e-9d2f-6a7b8c9d0e1f";
/// The fixture, relative to the crate root (the wrk script reads it from `FIXTURE`).
pub(crate) const FIXTURE_PATH: &str =
    "tests/fixtures/invocations/recording-created.invocation.json";
/// Threads of the wrk generator; blob names are `w<thread>x<n>`.
pub(crate) const WRK_THREADS: u64 = 2;

/// One measured round: requests/s, p50 and p99 latency in ms.
pub(crate) type Figures = (f64, f64, f64);

/// Which client produces the load.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Generator {
    /// `wrk` with `scripts/bench/recording-created.lua`.
    Wrk,
    /// The in-process reqwest client.
    Builtin,
}

impl Generator {
    /// `wrk` when installed, unless `--generator builtin` asks otherwise.
    pub(crate) fn choose() -> Self {
        let args: Vec<String> = std::env::args().collect();
        let wanted = args
            .iter()
            .position(|a| a == "--generator")
            .and_then(|i| args.get(i + 1));
        let wrk_ok = std::process::Command::new("wrk")
            .arg("--version")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok();
        match wanted.map(String::as_str) {
            Some("builtin") => Self::Builtin,
            _ if wrk_ok => Self::Wrk,
            _ => Self::Builtin,
        }
    }

    /// Blob names the handler must have seeded for one round (`HANDLER_IN_MEMORY_SEED`).
    pub(crate) fn seed(self, concurrency: u64) -> String {
        let (prefix, workers) = match self {
            Self::Wrk => ("w", WRK_THREADS),
            Self::Builtin => ("b", concurrency),
        };
        (0..workers)
            .map(|w| format!("{prefix}{w}x:{}", 400_000 / workers))
            .collect::<Vec<_>>()
            .join(",")
    }

    /// Runs one round against `http://{addr}{path}`.
    pub(crate) async fn run(
        self,
        addr: &str,
        path: &str,
        seconds: u64,
        concurrency: u64,
        distinct: bool,
    ) -> Figures {
        match self {
            Self::Wrk => wrk(addr, path, seconds, concurrency).await,
            Self::Builtin => builtin(addr, path, seconds, concurrency, distinct).await,
        }
    }
}

/// The headers the Functions host adds to every invocation besides its id,
/// as HTTP header lines; all generators send them, and a fresh [`invocation_id`] per request.
pub(crate) const HOST_HEADERS: &str =
    "X-Azure-Functions-HostVersion: 4.1037.1.1\r\nUser-Agent: Azure-Functions-Host/4.1037.1.1\r\n";

/// A GUID-shaped invocation id, distinct per (worker, request).
pub(crate) fn invocation_id(worker: u64, n: u64) -> String {
    format!("{worker:08x}-0000-4000-8000-{n:012x}")
}

/// The fixture invocation for blob `name`.
pub(crate) fn invocation(fixture: &str, name: &str) -> String {
    fixture.replace(PLACEHOLDER, name)
}

/// wrk always sends distinct names: the echo ignores them, and both servers then get the same client.
async fn wrk(addr: &str, path: &str, seconds: u64, concurrency: u64) -> Figures {
    let root = env!("CARGO_MANIFEST_DIR");
    let out = Command::new("wrk")
        .args([
            "-t",
            &WRK_THREADS.to_string(),
            "-c",
            &concurrency.to_string(),
        ])
        .args(["-d", &format!("{seconds}s"), "--latency", "-s"])
        .arg(format!("{root}/scripts/bench/recording-created.lua"))
        .arg(format!("http://{addr}{path}"))
        .env("FIXTURE", format!("{root}/{FIXTURE_PATH}"))
        .stderr(Stdio::inherit())
        .output()
        .await
        .expect("wrk");
    let text = String::from_utf8_lossy(&out.stdout);
    let line = text
        .lines()
        .find(|l| l.starts_with("WRK "))
        .unwrap_or_else(|| panic!("no summary from wrk: {text}"));
    let field = |k: &str| -> f64 {
        line.split_whitespace()
            .find_map(|kv| kv.strip_prefix(k)?.strip_prefix('='))
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("{k} missing in {line}"))
    };
    assert_eq!(field("errors"), 0.0, "{line}");
    assert_eq!(field("non2xx"), 0.0, "{line}");
    (field("rps"), field("p50_ms"), field("p99_ms"))
}

/// Runs `concurrency` keep-alive workers for `seconds`.
async fn builtin(
    addr: &str,
    path: &str,
    seconds: u64,
    concurrency: u64,
    distinct: bool,
) -> Figures {
    let fixture: &'static str =
        include_str!("../../tests/fixtures/invocations/recording-created.invocation.json");
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(concurrency as usize)
        .build()
        .expect("client");
    let give_up_at = Instant::now() + Duration::from_secs(seconds);
    let started = Instant::now();
    let workers = (0..concurrency).map(|w| {
        let (client, url) = (client.clone(), format!("http://{addr}{path}"));
        tokio::spawn(async move {
            let (mut lat, mut n) = (Vec::new(), 0u64);
            while Instant::now() < give_up_at {
                let name = if distinct {
                    format!("b{w}x{n}")
                } else {
                    "b".into()
                };
                let t = Instant::now();
                let mut req = client
                    .post(&url)
                    .header("content-type", "application/json; charset=utf-8")
                    .header("x-azure-functions-invocationid", invocation_id(w, n));
                for (header, value) in HOST_HEADERS.lines().filter_map(|l| l.split_once(": ")) {
                    req = req.header(header, value);
                }
                let res = req
                    .body(invocation(fixture, &name))
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
