//! Open-loop latency rounds: requests are *scheduled* at a fixed rate, whatever the server does,
//! and each latency is measured from its scheduled time (corrected for coordinated omission, as
//! wrk2 does). A closed-loop generator at saturation (wrk -c32) measures queueing instead: there,
//! by Little's law, mean latency = connections / throughput, whatever the server's own tail.
//!
//! Each of [`CONNECTIONS`] blocking threads owns one keep-alive connection and every
//! `CONNECTIONS`-th slot of the schedule. Threads sleep with `thread::sleep` (high-resolution
//! timers), not tokio's timer, whose 1 ms wheel would bunch the requests. A thread that falls
//! behind sends at once and the lateness counts against the server, so generator lag can only
//! inflate the figures, never hide a slow server; the median lag is reported beside them.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use crate::load::{FIXTURE_PATH, invocation};

/// Connections (one thread each).
pub(crate) const CONNECTIONS: u64 = 4;
/// Blob-name prefix of the paced threads (`p<thread>x<n>`), seeded in the handler.
pub(crate) const PREFIX: &str = "p";

/// Latency percentiles (ms) of one paced round, the achieved rate, and the generator's median
/// send lag behind its schedule (ms).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Paced {
    pub(crate) rate: f64,
    pub(crate) p50: f64,
    pub(crate) p99: f64,
    pub(crate) p999: f64,
    pub(crate) lag_p50: f64,
}

/// Blob names the handler must have seeded for paced rounds at `rate` for `seconds`.
pub(crate) fn seed(rate: f64, seconds: u64) -> String {
    let per_thread = (rate * seconds as f64 / CONNECTIONS as f64).ceil() as u64 + 1;
    (0..CONNECTIONS)
        .map(|t| format!("{PREFIX}{t}x:{per_thread}"))
        .collect::<Vec<_>>()
        .join(",")
}

/// Posts the fixture invocation at `rate` requests/s for `seconds` to `http://{addr}{path}`.
pub(crate) fn run(addr: &str, path: &str, rate: f64, seconds: u64) -> Paced {
    let fixture = std::fs::read_to_string(format!("{}/{FIXTURE_PATH}", env!("CARGO_MANIFEST_DIR")))
        .expect("fixture");
    let interval = Duration::from_secs_f64(CONNECTIONS as f64 / rate);
    let per_thread = (rate * seconds as f64 / CONNECTIONS as f64) as u64;
    // Start a little ahead so every thread has connected before its first slot.
    let start = Instant::now() + Duration::from_millis(50);
    let threads: Vec<_> = (0..CONNECTIONS)
        .map(|t| {
            let (addr, path, fixture) = (addr.to_owned(), path.to_owned(), fixture.clone());
            // Slots of thread t: start + t·(1/rate) + k·interval.
            let offset = Duration::from_secs_f64(t as f64 / rate);
            std::thread::spawn(move || {
                let mut conn = Connection::open(&addr);
                let (mut lat, mut lag) = (Vec::new(), Vec::new());
                for k in 0..per_thread {
                    let due = start + offset + interval * k as u32;
                    if let Some(wait) = due.checked_duration_since(Instant::now()) {
                        std::thread::sleep(wait);
                    }
                    let sent = Instant::now();
                    let body = invocation(&fixture, &format!("{PREFIX}{t}x{k}"));
                    conn.post(&addr, &path, &crate::load::invocation_id(t, k), &body);
                    lat.push(due.elapsed().as_secs_f64() * 1000.0);
                    lag.push(sent.duration_since(due).as_secs_f64() * 1000.0);
                }
                (lat, lag)
            })
        })
        .collect();
    let (mut lat, mut lag) = (Vec::new(), Vec::new());
    for t in threads {
        let (l, g) = t.join().expect("paced thread");
        lat.extend(l);
        lag.extend(g);
    }
    let elapsed = start.elapsed().as_secs_f64();
    lat.sort_by(f64::total_cmp);
    lag.sort_by(f64::total_cmp);
    let pct = |v: &[f64], p: f64| v[((v.len() as f64 * p) as usize).min(v.len() - 1)];
    Paced {
        rate: lat.len() as f64 / elapsed,
        p50: pct(&lat, 0.5),
        p99: pct(&lat, 0.99),
        p999: pct(&lat, 0.999),
        lag_p50: pct(&lag, 0.5),
    }
}

/// A keep-alive HTTP/1.1 connection with just enough client to post and read one response: the
/// generator must cost the shared cores as little as possible.
struct Connection {
    stream: TcpStream,
    buf: Vec<u8>,
}

impl Connection {
    fn open(addr: &str) -> Self {
        let stream = TcpStream::connect(addr).expect("connect");
        stream.set_nodelay(true).expect("nodelay");
        Self {
            stream,
            buf: Vec::with_capacity(8192),
        }
    }

    /// Posts `body` and reads the whole response; panics unless it is a 200.
    fn post(&mut self, addr: &str, path: &str, invocation_id: &str, body: &str) {
        let head = format!(
            "POST {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json; charset=utf-8\r\n{}X-Azure-Functions-InvocationId: {invocation_id}\r\nContent-Length: {}\r\n\r\n",
            crate::load::HOST_HEADERS,
            body.len()
        );
        let mut request = head.into_bytes();
        request.extend_from_slice(body.as_bytes());
        self.stream.write_all(&request).expect("write");
        self.buf.clear();
        let mut chunk = [0u8; 4096];
        let (head_len, body_len) = loop {
            let n = self.stream.read(&mut chunk).expect("read");
            assert!(n > 0, "server closed the connection");
            self.buf.extend_from_slice(&chunk[..n]);
            if let Some(end) = find(&self.buf, b"\r\n\r\n") {
                break (end + 4, content_length(&self.buf[..end]));
            }
        };
        assert!(self.buf.starts_with(b"HTTP/1.1 200"), "non-200 response");
        while self.buf.len() < head_len + body_len {
            let n = self.stream.read(&mut chunk).expect("read");
            assert!(n > 0, "server closed the connection");
            self.buf.extend_from_slice(&chunk[..n]);
        }
    }
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

fn content_length(head: &[u8]) -> usize {
    String::from_utf8_lossy(head)
        .lines()
        .find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.eq_ignore_ascii_case("content-length")
                .then(|| v.trim().parse().ok())?
        })
        .expect("content-length")
}
