//! Load benchmark of the real `handler` process (the in-memory regression guard), run by `cargo bench --bench
//! handler`: cold start (exec → first 200 on a RecordingCreated invocation), idle RSS, binary size,
//! and RecordingCreated throughput/latency over loopback beside a bare axum JSON echo measured in
//! the same run with the same load generator ([`load`]: `wrk` when installed). In-memory stores:
//! the test kit's `handler-in-memory` (the product's handler over them; build it first with
//! `cargo build --release -p bastion-testkit --bins`); the handler's stdout (one log line per
//! invocation) is drained through a pipe, as the Functions host does.
//!
//! After the closed-loop rounds (throughput, and latency at saturation), open-loop rounds
//! ([`paced`]) measure latency at a fixed offered load: `--load` (percent, default 50) of the
//! handler's median throughput, offered to the echo and the handler alike.
//!
//! Usage: `cargo bench --bench handler -- [--seconds N] [--concurrency N] [--runs N]
//! [--rounds N] [--load PERCENT | --rate N] [--generator wrk|builtin] [--text-logs]`; `--rate`
//! runs only the paced rounds, at that rate. `BENCH_RUST_LOG` overrides the handler's log filter
//! (`info`), e.g. `warn` to measure without a line per invocation. The handler logs JSON, as it does under
//! the Functions host; `--text-logs` measures the plain-text format of local runs instead.

mod load;
mod paced;

use std::process::Stdio;
use std::time::Instant;

use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::process::{Child, Command};

use load::{Generator, PLACEHOLDER};

/// The echo runs on the handler's allocator, so the ratio compares the work, not the allocators.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

const FIXTURE: &str =
    include_str!("../../tests/fixtures/invocations/recording-created.invocation.json");

fn arg(name: &str, default: u64) -> u64 {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

async fn spawn(bin: &str, args: &[&str], seed: &str) -> (Child, String, Instant) {
    let started = Instant::now();
    let mut child = Command::new(bin)
        .args(args)
        .env("FUNCTIONS_CUSTOMHANDLER_PORT", "0")
        .env("HANDLER_IN_MEMORY_ACCOUNT", "stbastrecweu01")
        .env("HANDLER_IN_MEMORY_SEED", seed)
        .env(
            "RUST_LOG",
            std::env::var("BENCH_RUST_LOG").unwrap_or("info".into()),
        )
        .env(
            "LOG_FORMAT",
            if std::env::args().any(|a| a == "--text-logs") {
                "compact"
            } else {
                "json"
            },
        )
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
    // Keep draining stdout so logging never blocks the server. Raw reads, not lines: the drain
    // shares the 2 cores with the server, and splitting lines here is the bench's cost, not its.
    let mut rest = lines.into_inner();
    tokio::spawn(async move {
        let mut buf = vec![0u8; 1 << 16];
        while rest.read(&mut buf).await.is_ok_and(|n| n > 0) {}
    });
    (child, addr, started)
}

/// CPU time (user + system) the process has used, in µs (`/proc/<pid>/stat`, 100 ticks/s).
fn cpu_us(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // Fields after the `(comm)`, which may contain spaces, starting with the state letter: utime
    // and stime are the 12th and 13th. Counted by position: dropping the fields that are not
    // numbers (the state) once shifted them, and this read stime and cutime instead.
    let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let field = |i: usize| -> f64 {
        rest.split_whitespace()
            .nth(i)
            .and_then(|v| v.parse().ok())
            .unwrap_or(0.0)
    };
    (field(11) + field(12)) * 10_000.0
}

/// One round against a server: its figures plus the server's CPU µs per request.
async fn measure(
    generator: Generator,
    server: &Child,
    addr: &str,
    (secs, conc): (u64, u64),
    distinct: bool,
) -> (load::Figures, f64) {
    let pid = server.id().unwrap_or(0);
    let before = cpu_us(pid);
    let f = generator
        .run(addr, "/RecordingCreated", secs, conc, distinct)
        .await;
    let requests = f.0 * secs as f64;
    (f, (cpu_us(pid) - before) / requests.max(1.0))
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

/// One request over a fresh connection with a raw HTTP/1.1 client: the measured interval should
/// be the server's start-up, not a client library's (reqwest's first request costs milliseconds).
async fn post_once(addr: &str, path: &str, body: &str) -> String {
    let mut conn = tokio::net::TcpStream::connect(addr).await.expect("connect");
    let head = format!(
        "POST {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\n{}X-Azure-Functions-InvocationId: {}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        load::HOST_HEADERS,
        load::invocation_id(0, 0),
        body.len()
    );
    conn.write_all(head.as_bytes()).await.expect("write");
    conn.write_all(body.as_bytes()).await.expect("write");
    let mut out = String::new();
    conn.read_to_string(&mut out).await.expect("read");
    out
}

/// CPU time all threads of `pid` have run, in ms (`schedstat`: nanoseconds, unlike `stat` ticks).
fn cpu_ms_all_threads(pid: u32) -> f64 {
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return 0.0;
    };
    tasks
        .filter_map(Result::ok)
        .filter_map(|t| std::fs::read_to_string(t.path().join("schedstat")).ok())
        .filter_map(|s| s.split_whitespace().next()?.parse::<f64>().ok())
        .sum::<f64>()
        / 1e6
}

/// Medians of: exec → first 200 (ms), the handler's CPU time until then (ms; less sensitive to
/// a busy machine than the wall clock), idle RSS (MiB).
async fn cold_start(bin: &str, runs: u64) -> (f64, f64, f64) {
    let (mut starts, mut cpu, mut rss) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..runs {
        let (child, addr, started) = spawn(bin, &[], PLACEHOLDER).await;
        let res = post_once(&addr, "/RecordingCreated", FIXTURE).await;
        starts.push(started.elapsed().as_secs_f64() * 1000.0);
        assert!(res.starts_with("HTTP/1.1 200"), "{res}");
        assert!(res.contains("catalogued recording"), "{res}");
        let pid = child.id().unwrap_or(0);
        cpu.push(cpu_ms_all_threads(pid));
        rss.push(rss_kib(pid) as f64 / 1024.0);
    }
    (median(&mut starts), median(&mut cpu), median(&mut rss))
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

/// The test kit's `handler-in-memory`, beside this profile's `handler`.
fn in_memory_handler() -> String {
    let handler = std::path::Path::new(env!("CARGO_BIN_EXE_handler"));
    let bin = handler.with_file_name(format!("handler-in-memory{}", std::env::consts::EXE_SUFFIX));
    assert!(
        bin.is_file(),
        "no {}: run `cargo build --release -p bastion-testkit --bins` first",
        bin.display()
    );
    bin.to_str().expect("utf-8 path").to_owned()
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
        // BENCH_HANDLER_BIN: another build of the in-memory handler (before/after in one run).
        let bin = std::env::var("BENCH_HANDLER_BIN").unwrap_or_else(|_| in_memory_handler());
        let bin = bin.as_str();
        let (secs, conc, runs) = (arg("--seconds", 5), arg("--concurrency", 32), arg("--runs", 21));
        let me = std::env::current_exe().expect("exe");
        let me = me.to_str().expect("utf8");
        // `--rate N`: only the paced rounds, at N requests/s.
        if let Some(rate) = std::env::args().position(|a| a == "--rate").map(|_| arg("--rate", 0)) {
            return paced_rounds(bin, me, rate as f64).await;
        }
        let size = std::fs::metadata(bin).map(|m| m.len()).unwrap_or(0) as f64 / 1e6;
        let (cold, cpu, rss) = cold_start(bin, runs).await;
        println!("binary_size_mb={size:.2} cold_start_ms_median={cold:.2} cold_start_cpu_ms_median={cpu:.2} idle_rss_mib_median={rss:.1} (runs={runs})");
        let generator = Generator::choose();
        println!("generator={generator:?} seconds={secs} concurrency={conc}");
        let mut results = Vec::new();
        for round in 0..arg("--rounds", 3) {
            let (echo, echo_addr, _) = spawn(me, &["--echo"], "").await;
            let (e, ecpu) = measure(generator, &echo, &echo_addr, (secs, conc), false).await;
            drop(echo);
            let (h, addr, _) = spawn(bin, &[], &generator.seed(conc)).await;
            let (f, hcpu) = measure(generator, &h, &addr, (secs, conc), true).await;
            println!("round={round} echo_rps={:.0} echo_p50_ms={:.3} echo_p99_ms={:.3} echo_cpu_us={ecpu:.1} handler_rps={:.0} handler_p50_ms={:.3} handler_p99_ms={:.3} handler_cpu_us={hcpu:.1} ratio={:.2}", e.0, e.1, e.2, f.0, f.1, f.2, f.0 / e.0);
            results.push([e.0, f.0, f.1, f.2, f.0 / e.0, ecpu, hcpu]);
        }
        let pick = |i: usize| median(&mut results.iter().map(|r| r[i]).collect::<Vec<_>>());
        println!(
            "MEDIAN echo_rps={:.0} handler_rps={:.0} handler_p50_ms={:.3} handler_p99_ms={:.3} ratio={:.2} echo_cpu_us_per_req={:.1} handler_cpu_us_per_req={:.1}",
            pick(0),
            pick(1),
            pick(2),
            pick(3),
            pick(4),
            pick(5),
            pick(6)
        );
        paced_rounds(bin, me, pick(1) * arg("--load", 50) as f64 / 100.0).await;
    });
}

/// Open-loop rounds at `rate` requests/s against the echo and the handler, alternately.
async fn paced_rounds(bin: &str, me: &str, rate: f64) {
    let secs = arg("--seconds", 5);
    let mut results = Vec::new();
    for round in 0..arg("--rounds", 3) {
        let mut figures = Vec::new();
        for (server, args, seed) in [
            (me, &["--echo"][..], String::new()),
            (bin, &[][..], paced::seed(rate, secs)),
        ] {
            let (child, addr, _) = spawn(server, args, &seed).await;
            let f = tokio::task::spawn_blocking(move || {
                paced::run(&addr, "/RecordingCreated", rate, secs)
            })
            .await
            .expect("paced round");
            drop(child);
            figures.push(f);
        }
        let (e, h) = (figures[0], figures[1]);
        println!(
            "paced round={round} offered_rps={rate:.0} echo_rps={:.0} echo_p50_ms={:.3} echo_p99_ms={:.3} echo_p999_ms={:.3} handler_rps={:.0} handler_p50_ms={:.3} handler_p99_ms={:.3} handler_p999_ms={:.3} generator_lag_p50_ms={:.3}",
            e.rate, e.p50, e.p99, e.p999, h.rate, h.p50, h.p99, h.p999, h.lag_p50
        );
        results.push([e.p99, h.p50, h.p99, h.p999]);
    }
    let pick = |i: usize| median(&mut results.iter().map(|r| r[i]).collect::<Vec<_>>());
    println!(
        "PACED MEDIAN offered_rps={rate:.0} echo_p99_ms={:.3} handler_p50_ms={:.3} handler_p99_ms={:.3} handler_p999_ms={:.3}",
        pick(0),
        pick(1),
        pick(2),
        pick(3)
    );
}
