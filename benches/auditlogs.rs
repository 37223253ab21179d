//! Audit-log parse + sessionize benchmark (run by `scripts/bench-auditlogs.sh`, not a timed test).
//!
//! `auditlogs generate <file> <megabytes>` writes a realistic `PT1H.json` (≈1 KB records, many
//! tunnels: connect + end record per session, some failed logins, CRLF and a BOM now and then).
//! `auditlogs run <file> <repeats>` streams the file in 4 MiB chunks through exactly the tail's
//! code (`parse::parse_lines` into `tail::batch::Batch`, dropped per chunk as the tail flushes it)
//! and prints one JSON line per run plus the median and the peak RSS (`VmHWM`). Each run reports
//! wall time and CPU time (`/proc/thread-self/schedstat`): on a shared machine the CPU time is the
//! per-core figure.

#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufWriter, Read, Write};
use std::time::Instant;

use bastion_recordings::audit_logs::parse;
use bastion_recordings::audit_logs::tail::batch::Batch;

const CHUNK: usize = 4 << 20;

/// The handler's allocator (`src/main.rs`), so the fold allocates as it does in the product.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| a != "--bench")
        .collect();
    match args.first().map(String::as_str) {
        Some("generate") => generate(&args[1], args[2].parse().expect("megabytes")),
        Some("run") => run(
            &args[1],
            args.get(2).map_or(5, |n| n.parse().expect("repeats")),
        ),
        _ => eprintln!("usage: auditlogs generate <file> <megabytes> | run <file> [repeats]"),
    }
}

struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn guid(&mut self) -> String {
        let (a, b) = (self.next(), self.next());
        format!(
            "{:08x}-{:04x}-4{:03x}-8{:03x}-{:012x}",
            a >> 32,
            a & 0xffff,
            (a >> 16) & 0xfff,
            b & 0xfff,
            b >> 16
        )
    }
}

fn record(rng: &mut Rng, tunnel: &str, sec: u64, kind: u64) -> String {
    let (vm, user, ip) = (rng.next() % 300, rng.next() % 500, rng.next() % 250);
    let (message, op, extra) = match kind {
        0 => ("Successfully Connected.", "connect", String::new()),
        1 => ("Login Failed", "connect", String::new()),
        _ => (
            "Session Ended",
            "disconnect",
            format!(
                r#","sessionStartTime":"2025-03-14T09:{:02}:00.000Z","sessionEndTime":"2025-03-14T09:{:02}:30.000Z","duration":{}"#,
                sec % 60,
                (sec + 7) % 60,
                30_000 + sec
            ),
        ),
    };
    format!(
        r#"{{"time":"2025-03-14T09:{m:02}:{s:02}.{ms:03}Z","resourceId":"/SUBSCRIPTIONS/11111111-2222-3333-4444-555555555555/RESOURCEGROUPS/RG-HUB-WEU/PROVIDERS/MICROSOFT.NETWORK/BASTIONHOSTS/BAS-HUB-WEU","operationName":"Microsoft.Network/BastionHost/{op}","category":"BastionAuditLogs","level":"Informational","location":"westeurope","properties":{{"userName":"user{user}","userAgent":"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/122.0.0.0 Safari/537.36 Edg/122.0.2365.92","clientIpAddress":"203.0.{ip}.{ip2}","clientPort":{port},"protocol":"{proto}","targetResourceId":"/SUBSCRIPTIONS/11111111-2222-3333-4444-555555555555/RESOURCEGROUPS/RG-APP-WEU/PROVIDERS/MICROSOFT.COMPUTE/VIRTUALMACHINES/VM-APP-{vm:03}","subscriptionId":"11111111-2222-3333-4444-555555555555","message":"{message}","resourceType":"VM","targetVMIPAddress":"10.10.{ip}.{vm}","userEmail":"user{user}@contoso.com","tunnelId":"{tunnel}"{extra}}},"FluentdIngestTimestamp":"2025-03-14T09:{m:02}:{s:02}.0000000Z","Region":"westeurope","CustomerSubscriptionId":"11111111-2222-3333-4444-555555555555"}}"#,
        m = (sec / 60) % 60,
        s = sec % 60,
        ms = sec % 1000,
        ip2 = (ip * 7) % 250,
        port = 1024 + sec % 60000,
        proto = if vm % 2 == 0 { "ssh" } else { "rdp" },
    )
}

fn generate(path: &str, megabytes: u64) {
    let mut out = BufWriter::with_capacity(1 << 20, std::fs::File::create(path).expect("create"));
    out.write_all(parse::BOM).expect("write");
    let (mut rng, mut written, mut sec) = (Rng(0x9E37_79B9_7F4A_7C15), 0u64, 0u64);
    let mut open: Vec<String> = Vec::new();
    while written < megabytes << 20 {
        sec += 1;
        // Keep ~64 sessions open; close a random one (end record) half of the time.
        let line = if open.len() > 64 || (!open.is_empty() && rng.next() % 2 == 0) {
            let i = (rng.next() % open.len() as u64) as usize;
            let t = open.swap_remove(i);
            record(&mut rng, &t, sec, 2)
        } else if rng.next() % 10 == 0 {
            let t = rng.guid();
            record(&mut rng, &t, sec, 1)
        } else {
            let t = rng.guid();
            open.push(t.clone());
            record(&mut rng, &t, sec, 0)
        };
        let eol: &[u8] = if sec % 97 == 0 { b"\r\n" } else { b"\n" };
        out.write_all(line.as_bytes())
            .and_then(|()| out.write_all(eol))
            .expect("write");
        written += (line.len() + eol.len()) as u64;
    }
    out.flush().expect("flush");
    println!("{{\"generated\":\"{path}\",\"bytes\":{written}}}");
}

fn one_run(path: &str) -> (f64, f64, u64, u64, u64, u64) {
    let mut file = std::fs::File::open(path).expect("open");
    let mut buf = vec![0u8; CHUNK * 2];
    let (mut filled, mut bytes, mut records, mut sessions, mut corrupt) =
        (0usize, 0u64, 0u64, 0u64, 0u64);
    // `AUDIT_BENCH_PARSE_ONLY=1` isolates the parser from sessionizing (diagnostics only).
    let parse_only = std::env::var("AUDIT_BENCH_PARSE_ONLY").is_ok_and(|v| v == "1");
    let started = Instant::now();
    let cpu_started = cpu_secs();
    loop {
        let n = file.read(&mut buf[filled..]).expect("read");
        filled += n;
        bytes += n as u64;
        let mut batch = Batch::for_chunk(filled);
        let window = time::Duration::minutes(15);
        let data = &buf[..filled];
        let used = parse::parse_lines(
            data,
            0,
            &mut |off, rec| {
                if parse_only {
                    batch.records += u64::from(rec.time.is_some());
                    return;
                }
                // The tail hands each record its raw line (kept as `LastRaw`): do the same work here.
                let rest = &data[off as usize..];
                batch.add_at(
                    off,
                    &rec,
                    &rest[..memchr::memchr(b'\n', rest).unwrap_or(rest.len())],
                    "bas-hub-weu",
                    window,
                );
            },
            &mut |_, _| corrupt += 1,
        );
        records += batch.records;
        sessions += batch.sessions() as u64;
        drop(batch);
        if n == 0 {
            break;
        }
        buf.copy_within(used..filled, 0);
        filled -= used;
        if filled >= CHUNK {
            panic!("line longer than the chunk");
        }
    }
    (
        started.elapsed().as_secs_f64(),
        cpu_secs() - cpu_started,
        bytes,
        records,
        sessions,
        corrupt,
    )
}

/// CPU time of this thread so far (ns on CPU, from the scheduler).
fn cpu_secs() -> f64 {
    let stat = std::fs::read_to_string("/proc/thread-self/schedstat").unwrap_or_default();
    let ns: f64 = stat
        .split_whitespace()
        .next()
        .and_then(|v| v.parse().ok())
        .unwrap_or(0.0);
    ns / 1e9
}

fn peak_rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

fn run(path: &str, repeats: usize) {
    let (mut speeds, mut cpus) = (Vec::new(), Vec::new());
    for i in 0..repeats {
        let (secs, cpu, bytes, records, sessions, corrupt) = one_run(path);
        let mbps = bytes as f64 / 1e6 / secs;
        println!(
            "{{\"impl\":\"rust\",\"run\":{i},\"secs\":{secs:.3},\"cpu_secs\":{cpu:.3},\"bytes\":{bytes},\"records\":{records},\"session_upserts\":{sessions},\"corrupt\":{corrupt},\"mb_per_s\":{mbps:.1}}}"
        );
        speeds.push(secs);
        cpus.push(cpu);
    }
    speeds.sort_by(f64::total_cmp);
    cpus.sort_by(f64::total_cmp);
    let (median, cpu) = (speeds[speeds.len() / 2], cpus[cpus.len() / 2]);
    println!(
        "{{\"impl\":\"rust\",\"median_secs\":{median:.3},\"median_cpu_secs\":{cpu:.3},\"peak_rss_kib\":{}}}",
        peak_rss_kib()
    );
}
