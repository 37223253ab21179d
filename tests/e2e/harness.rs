//! Test harness: fixtures, Azurite settings, and a spawned `handler` process on port 0.
//!
//! `TEST_AZURITE=1` with `AZURITE_CONNECTION_STRING` (written by `scripts/azurite.sh`) enables the
//! storage-backed tests; set but unreachable is a failure, unset is a skip with a message.

#![allow(dead_code, unreachable_pub, missing_docs)]

use std::collections::HashMap;
use std::process::Stdio;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::Value;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

/// The `devhost` binary (its own workspace crate, so cargo gives this test no path to it): built
/// once per test run with the same cargo and profile, beside the `handler` binary.
pub fn devhost_bin() -> std::path::PathBuf {
    static BUILT: std::sync::OnceLock<std::path::PathBuf> = std::sync::OnceLock::new();
    BUILT
        .get_or_init(|| {
            let handler = std::path::Path::new(env!("CARGO_BIN_EXE_handler"));
            let release = handler
                .parent()
                .is_some_and(|d| d.ends_with("release"))
                .then_some("--release");
            let status = std::process::Command::new(env!("CARGO"))
                .args(["build", "--quiet", "--locked", "-p", "devhost"])
                .args(release)
                .current_dir(env!("CARGO_MANIFEST_DIR"))
                .status()
                .expect("run cargo build -p devhost");
            assert!(status.success(), "cargo build -p devhost failed");
            let bin = handler.with_file_name(format!("devhost{}", std::env::consts::EXE_SUFFIX));
            assert!(bin.exists(), "no devhost binary at {}", bin.display());
            bin
        })
        .clone()
}

/// The test kit's `handler-in-memory` (the product's `handler` over in-memory stores), beside the
/// `handler` binary: `scripts/test.sh` builds it (`cargo build -p bastion-testkit --bins`, in the
/// tests' profile) before `cargo test`; absent, it is a failure saying so.
pub fn in_memory_handler() -> std::path::PathBuf {
    let handler = std::path::Path::new(env!("CARGO_BIN_EXE_handler"));
    let bin = handler.with_file_name(format!("handler-in-memory{}", std::env::consts::EXE_SUFFIX));
    let release = if handler.parent().is_some_and(|d| d.ends_with("release")) {
        " --release"
    } else {
        ""
    };
    assert!(
        bin.is_file(),
        "no {}: run `cargo build -p bastion-testkit --bins{release}` before the tests \
         (scripts/test.sh does)",
        bin.display()
    );
    bin
}

/// Reads a fixture under `tests/fixtures/`.
pub fn fixture(path: &str) -> Value {
    let full = format!("{}/tests/fixtures/{path}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&full).unwrap_or_else(|e| panic!("fixture {full}: {e}"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("fixture {full}: {e}"))
}

/// Raw fixture bytes.
pub fn fixture_bytes(path: &str) -> Vec<u8> {
    let full = format!("{}/tests/fixtures/{path}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read(&full).unwrap_or_else(|e| panic!("fixture {full}: {e}"))
}

/// The day the sample audit hour's sessions are moved to (they ran on 2025-03-14 from 09:03 to
/// 09:42 UTC): today when the test process starts after they would have ended (09:45 UTC), else
/// yesterday. Chosen once per process: a test that runs across 09:45 keeps one day (a second
/// choice made later put its query on another day than its records). Azurite gives a blob the
/// real time it was uploaded as its creation time, and a recording vouches for a session only when
/// created within its window plus `RECORDING_VOUCH_LAG_HOURS`: a process that starts shortly
/// before 09:45 chooses yesterday and may upload after 09:42, more than the product's 24 hours
/// after those sessions, so the tests' settings allow 48 ([`VOUCH_LAG_HOURS`]).
pub fn sample_day() -> time::Date {
    static DAY: std::sync::OnceLock<time::Date> = std::sync::OnceLock::new();
    *DAY.get_or_init(|| {
        let now = time::OffsetDateTime::now_utc();
        if now.time() >= time::macros::time!(09:45) {
            now.date()
        } else {
            now.date().previous_day().unwrap_or(now.date())
        }
    })
}

/// `RECORDING_VOUCH_LAG_HOURS` of the tests' settings: a sample session moved to yesterday
/// ([`sample_day`]) ended less than 48 hours before any upload of the run. The tests of the
/// product's own bound (24 hours) set it back.
pub const VOUCH_LAG_HOURS: &str = "48";

/// `YYYY-MM-DD` of [`sample_day`] moved by `days`.
pub fn sample_date(days: i64) -> String {
    bastion_recordings::dates::format_date(sample_day() + time::Duration::days(days))
}

/// `text` with the sample's days (2025-03-13, 2025-03-14, also as `y=2025/m=03/d=14`) moved to
/// [`sample_day`] (the day before, the day): times of day are kept.
pub fn on_sample_day(text: &str) -> String {
    let d = sample_day();
    text.replace("2025-03-13", &sample_date(-1))
        .replace("2025-03-14", &sample_date(0))
        .replace(
            "y=2025/m=03/d=14",
            &format!(
                "y={}/m={:02}/d={:02}",
                d.year(),
                u8::from(d.month()),
                d.day()
            ),
        )
}

/// A fixture's bytes (UTF-8 text) moved to [`sample_day`] ([`on_sample_day`]).
pub fn fixture_on_sample_day(path: &str) -> Vec<u8> {
    on_sample_day(&String::from_utf8_lossy(&fixture_bytes(path))).into_bytes()
}

/// The Azurite connection string, or `None` (with a note) when storage tests are disabled.
pub fn azurite() -> Option<String> {
    if std::env::var("TEST_AZURITE").ok().as_deref() != Some("1") {
        eprintln!("skipping: TEST_AZURITE is not 1 (run scripts/test.sh to include storage tests)");
        return None;
    }
    let cs = std::env::var("AZURITE_CONNECTION_STRING")
        .expect("TEST_AZURITE=1 needs AZURITE_CONNECTION_STRING (scripts/azurite.sh)");
    let blob = cs
        .split(';')
        .find_map(|p| p.strip_prefix("BlobEndpoint="))
        .expect("BlobEndpoint in connection string");
    let addr = url::Url::parse(blob).expect("url");
    let hostport = format!(
        "{}:{}",
        addr.host_str().unwrap_or("127.0.0.1"),
        addr.port().unwrap_or(10000)
    );
    std::net::TcpStream::connect_timeout(&hostport.parse().expect("addr"), Duration::from_secs(2))
        .unwrap_or_else(|e| panic!("TEST_AZURITE=1 but Azurite is unreachable at {hostport}: {e}"));
    Some(cs)
}

/// A name unique to this test process and call: isolates containers and tables on a shared Azurite.
pub fn unique(prefix: &str) -> String {
    static N: AtomicU32 = AtomicU32::new(0);
    format!(
        "{prefix}{}x{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    )
}

/// A running `handler` process; killed on drop.
pub struct HandlerProcess {
    pub addr: String,
    pub child: Child,
    pub logs: Arc<Mutex<Vec<String>>>,
    client: reqwest::Client,
}

impl HandlerProcess {
    /// Spawns `handler` with `FUNCTIONS_CUSTOMHANDLER_PORT=0` plus `env`, waits for its address.
    pub async fn spawn(env: &[(&str, &str)]) -> Self {
        Self::spawn_bin(env!("CARGO_BIN_EXE_handler"), env).await
    }

    /// [`spawn`](Self::spawn) of the in-memory handler ([`in_memory_handler`]).
    pub async fn spawn_in_memory(env: &[(&str, &str)]) -> Self {
        let bin = in_memory_handler();
        Self::spawn_bin(bin.to_str().expect("utf-8 path"), env).await
    }

    pub async fn spawn_bin(bin: &str, env: &[(&str, &str)]) -> Self {
        let mut cmd = Command::new(bin);
        cmd.env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("FUNCTIONS_CUSTOMHANDLER_PORT", "0")
            .env("RUST_LOG", "debug")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        for (k, v) in env {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().expect("spawn handler");
        let stdout = child.stdout.take().expect("stdout");
        let stderr = child.stderr.take().expect("stderr");
        let mut lines = BufReader::new(stdout).lines();
        let first = tokio::time::timeout(Duration::from_secs(20), lines.next_line()).await;
        let Ok(Ok(Some(first))) = first else {
            let mut err = String::new();
            let _ = tokio::io::AsyncReadExt::read_to_string(&mut BufReader::new(stderr), &mut err)
                .await;
            panic!("handler did not announce its address; stderr: {err}");
        };
        let addr = first
            .strip_prefix("listening addr=")
            .unwrap_or_else(|| panic!("unexpected first line {first}"))
            .to_owned();
        let logs = Arc::new(Mutex::new(Vec::new()));
        let sink = logs.clone();
        tokio::spawn(async move {
            while let Ok(Some(line)) = lines.next_line().await {
                sink.lock().expect("logs").push(line);
            }
        });
        let sink = logs.clone();
        tokio::spawn(async move {
            let mut lines = BufReader::new(stderr).lines();
            while let Ok(Some(line)) = lines.next_line().await {
                sink.lock().expect("logs").push(format!("STDERR {line}"));
            }
        });
        Self {
            addr,
            child,
            logs,
            client: reqwest::Client::new(),
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// GETs `path` without credentials: the status and the JSON body.
    pub async fn get_json(&self, path: &str) -> (u16, Value) {
        let res = self.client.get(self.url(path)).send().await.expect("get");
        let status = res.status().as_u16();
        (status, res.json().await.expect("json"))
    }

    /// POSTs an invocation the way the host does, then delivers the work units a planning timer
    /// sent (`Outputs.workunits`) to this handler as the host's queue would ([`Self::deliver`]),
    /// folding their notifications into the reply's: a test of a timer's effects reads them as
    /// one tick's. A tick whose every unit failed its last delivery answers with that unit's reply.
    pub async fn invoke(&self, function: &str, body: &Value) -> (u16, Value) {
        let (status, mut reply) = self.invoke_plan(function, body).await;
        let units = queue_outputs(&reply, "workunits");
        if status != 200 || units.is_empty() {
            return (status, reply);
        }
        let mut last_failed = None;
        let mut failed = 0;
        for unit in &units {
            let (s, r) = self.deliver(unit, MAX_DEQUEUE).await;
            if s != 200 {
                failed += 1;
                last_failed = Some((s, r));
                continue;
            }
            let mut logs = r["Logs"].as_array().cloned().unwrap_or_default();
            if let Some(all) = reply["Logs"].as_array_mut() {
                all.append(&mut logs);
            }
            let mut n = queue_outputs(&r, "notifications");
            if n.is_empty() {
                continue;
            }
            let mut all = queue_outputs(&reply, "notifications");
            all.append(&mut n);
            reply["Outputs"]["notifications"] = Value::Array(all);
        }
        match last_failed {
            Some(f) if failed == units.len() => f,
            _ => (status, reply),
        }
    }

    /// POSTs an invocation the way the host does: host headers, chunked JSON body.
    pub async fn invoke_plan(&self, function: &str, body: &Value) -> (u16, Value) {
        let (status, _ct, text) = self
            .invoke_raw(function, serde_json::to_vec(body).expect("json"))
            .await;
        let v = serde_json::from_str(&text)
            .unwrap_or_else(|e| panic!("non-JSON reply {status}: {text}: {e}"));
        (status, v)
    }

    /// Delivers one `workunits` message to `WorkUnit` as the queue trigger does, again on each
    /// failure (`DequeueCount` 1, 2, …) up to `max_dequeue` deliveries: the last reply.
    pub async fn deliver(&self, unit: &Value, max_dequeue: u32) -> (u16, Value) {
        let mut last = (0, Value::Null);
        for dequeue in 1..=max_dequeue {
            last = self
                .invoke_plan("WorkUnit", &unit_invocation(unit, dequeue))
                .await;
            if last.0 == 200 {
                break;
            }
        }
        last
    }

    /// POSTs raw bytes; returns status, content type and body text.
    pub async fn invoke_raw(&self, function: &str, body: Vec<u8>) -> (u16, String, String) {
        let stream = futures::stream::iter(vec![Ok::<_, std::io::Error>(body)]);
        let res = self
            .client
            .post(self.url(&format!("/{function}")))
            .header("Content-Type", "application/json; charset=utf-8")
            .header(
                "X-Azure-Functions-InvocationId",
                uuid::Uuid::new_v4().to_string(),
            )
            .header("X-Azure-Functions-HostVersion", "4.1037.0.0")
            .header("User-Agent", "Azure-Functions-Host/4.1037.0.0")
            .body(reqwest::Body::wrap_stream(stream))
            .send()
            .await
            .expect("invoke");
        let status = res.status().as_u16();
        let ct = res
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        (status, ct, res.text().await.expect("body"))
    }

    /// All log lines so far.
    pub fn log_text(&self) -> String {
        self.logs.lock().expect("logs").join("\n")
    }

    /// Waits (5 s at most) for a log line containing `needle`. The handler's lines reach stdout
    /// from its log writer thread, so a line may arrive just after the answer it belongs to.
    pub async fn wait_log(&self, needle: &str) {
        wait_for_text(|| self.log_text(), needle, Duration::from_secs(5)).await;
    }

    /// The log once no line has arrived for 200 ms (2 s at most): for checks that a line is
    /// absent, which would otherwise pass on a line still queued.
    pub async fn quiet_log_text(&self) -> String {
        let give_up_at = std::time::Instant::now() + Duration::from_secs(2);
        let mut seen = self.logs.lock().expect("logs").len();
        while std::time::Instant::now() < give_up_at {
            tokio::time::sleep(Duration::from_millis(200)).await;
            let now = self.logs.lock().expect("logs").len();
            if now == seen {
                break;
            }
            seen = now;
        }
        self.log_text()
    }
}

/// Waits for `needle` in `text()`; panics with the text after `timeout`.
pub async fn wait_for_text(text: impl Fn() -> String, needle: &str, timeout: Duration) {
    let give_up_at = std::time::Instant::now() + timeout;
    while !text().contains(needle) {
        assert!(
            std::time::Instant::now() < give_up_at,
            "no log line with {needle:?}; log:\n{}",
            text()
        );
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

/// Environment for a handler on Azurite with isolated container and table names.
pub struct AzuriteEnv {
    pub connection: String,
    pub vars: HashMap<String, String>,
}

impl AzuriteEnv {
    pub fn new(connection: &str) -> Self {
        let mut vars = HashMap::new();
        vars.insert("AzureWebJobsStorage".to_owned(), connection.to_owned());
        let rec = format!("AzureWebJobsStorage:{}", unique("rec"));
        vars.insert("RECORDINGS_SOURCES".to_owned(), rec);
        let logs = format!("AzureWebJobsStorage:{}", unique("logs"));
        vars.insert("AUDITLOGS_SOURCES".to_owned(), logs);
        vars.insert("QUARANTINE_CONTAINER".to_owned(), unique("quar"));
        vars.insert("TABLE_PREFIX".to_owned(), unique("t"));
        // A local run: the function key is the only credential (the auth tests override this).
        vars.insert("CATALOGUE_AUTH".to_owned(), "none".to_owned());
        // The tests' recordings are a few bytes of text, not videos: only an empty blob is too
        // small to vouch for a session here (the planted-blob tests set the product's default).
        vars.insert("RECORDING_MIN_BYTES".to_owned(), "1".to_owned());
        vars.insert(
            "RECORDING_VOUCH_LAG_HOURS".to_owned(),
            VOUCH_LAG_HOURS.to_owned(),
        );
        Self {
            connection: connection.to_owned(),
            vars,
        }
    }

    pub fn pairs(&self) -> Vec<(&str, &str)> {
        self.vars
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect()
    }

    pub fn get(&self, k: &str) -> &str {
        self.vars.get(k).map(String::as_str).unwrap_or_default()
    }

    /// The container of the first `RECORDINGS_SOURCES` entry (the default source's).
    pub fn recordings(&self) -> &str {
        first_container(self.get("RECORDINGS_SOURCES"))
    }

    /// The container of the first `AUDITLOGS_SOURCES` entry.
    pub fn audit_logs(&self) -> &str {
        first_container(self.get("AUDITLOGS_SOURCES"))
    }
}

/// `<connection>:<container>[@<bastion>]` of a source list's first entry: the container.
fn first_container(list: &str) -> &str {
    let entry = list.split(',').next().unwrap_or_default();
    let head = entry.split('@').next().unwrap_or_default();
    head.split_once(':').map_or("", |(_, c)| c.trim())
}

/// Follows continuation tokens through a paged catalogue API: `get(token)` fetches one page
/// (status, body); returns `key` of every item, in page order. At most `max_pages` pages.
pub async fn collect_pages<F, Fut>(max_pages: usize, key: &str, mut get: F) -> Vec<String>
where
    F: FnMut(Option<String>) -> Fut,
    Fut: std::future::Future<Output = (u16, String)>,
{
    let (mut seen, mut token) = (Vec::new(), None::<String>);
    for _ in 0..max_pages {
        let (status, body) = get(token.take()).await;
        assert_eq!(status, 200, "{body}");
        let v: Value = serde_json::from_str(&body).expect("json");
        seen.extend(
            v["items"]
                .as_array()
                .expect("items")
                .iter()
                .map(|i| i[key].as_str().expect("item key").to_owned()),
        );
        match v["continuation"].as_str() {
            Some(t) => token = Some(t.to_owned()),
            None => break,
        }
    }
    seen
}

/// The first log line of an invocation's answer (empty when there is none).
pub(crate) fn first_log(v: &serde_json::Value) -> &str {
    v["Logs"][0].as_str().unwrap_or_default()
}

/// host.json's `maxDequeueCount`.
pub const MAX_DEQUEUE: u32 = 5;

/// The messages a reply sends to queue output `binding` (one object or an array of them).
pub fn queue_outputs(reply: &Value, binding: &str) -> Vec<Value> {
    match &reply["Outputs"][binding] {
        Value::Array(a) => a.clone(),
        Value::Null => Vec::new(),
        one => vec![one.clone()],
    }
}

/// The queue trigger's invocation of `WorkUnit` for `unit`, its `dequeue`th delivery: the message
/// double-encoded in `Data.message`, its top-level properties (double-encoded scalars) and the
/// message's `DequeueCount` in `Metadata` (Learn "Azure Queue storage trigger": message metadata).
pub fn unit_invocation(unit: &Value, dequeue: u32) -> Value {
    let text = serde_json::to_string(unit).expect("json");
    let mut meta = serde_json::Map::new();
    for (k, v) in unit.as_object().into_iter().flatten() {
        meta.insert(k.clone(), Value::String(v.to_string()));
    }
    meta.insert("DequeueCount".into(), Value::String(dequeue.to_string()));
    meta.insert(
        "Id".into(),
        Value::String(format!("\"{}\"", uuid::Uuid::new_v4())),
    );
    meta.insert(
        "sys".into(),
        serde_json::json!({"MethodName": "WorkUnit", "UtcNow": unit["at"], "RandGuid": uuid::Uuid::new_v4().to_string()}),
    );
    serde_json::json!({"Data": {"message": Value::String(Value::String(text).to_string())}, "Metadata": meta})
}
