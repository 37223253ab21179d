//! devhost end-to-end tests: the real `devhost` binary drives a scripted recorder handler
//! (`tests/e2e/recorder.py`) or the real `handler`, on Azurite where storage is involved.
//!
//! This file holds the harness: a temporary app root and a spawned devhost process.

#![allow(dead_code, unreachable_pub, missing_docs)]

mod azure;
mod basics;
mod eventgrid;
mod lifecycle;
mod queues;
mod real_handler;

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

use crate::harness::unique;

/// A temporary app root with the recorder as its handler.
pub struct TempApp {
    pub root: PathBuf,
}

impl TempApp {
    /// `queues` is `extensions.queues` in host.json; `functions` are (name, function.json).
    pub fn new(queues: Value, functions: &[(&str, Value)]) -> Self {
        let root = std::env::temp_dir().join(unique("devhost-app-"));
        std::fs::create_dir_all(&root).expect("temp app root");
        let recorder = root.join("recorder.py");
        std::fs::copy(
            format!("{}/tests/e2e/recorder.py", env!("CARGO_MANIFEST_DIR")),
            &recorder,
        )
        .expect("copy recorder");
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::set_permissions(&recorder, std::fs::Permissions::from_mode(0o755)).expect("chmod");
        let host = json!({
            "version": "2.0",
            "customHandler": { "description": { "defaultExecutablePath": "recorder.py" }, "enableForwardingHttpRequest": true },
            "functionTimeout": "00:00:20",
            "extensions": { "http": { "routePrefix": "api" }, "queues": queues }
        });
        std::fs::write(root.join("host.json"), host.to_string()).expect("host.json");
        for (name, def) in functions {
            let dir = root.join("functions").join(name);
            std::fs::create_dir_all(&dir).expect("function dir");
            std::fs::write(dir.join("function.json"), def.to_string()).expect("function.json");
        }
        Self { root }
    }

    /// Replaces the recorder's reply script.
    pub fn script(&self, script: Value) {
        std::fs::write(self.root.join("script.json"), script.to_string()).expect("script.json");
    }

    /// Every recorded request (and start line) so far.
    pub fn requests(&self) -> Vec<Value> {
        let text = std::fs::read_to_string(self.root.join("requests.jsonl")).unwrap_or_default();
        text.lines()
            .filter_map(|l| serde_json::from_str(l).ok())
            .collect()
    }

    /// Recorded requests to `path`, with their body parsed when it is JSON.
    pub fn calls(&self, path: &str) -> Vec<Value> {
        self.requests()
            .into_iter()
            .filter(|r| r["path"] == path)
            .map(|mut r| {
                let parsed = r["body"]
                    .as_str()
                    .and_then(|b| serde_json::from_str::<Value>(b).ok());
                if let Some(p) = parsed {
                    r["json"] = p;
                }
                r
            })
            .collect()
    }

    /// Waits until at least `n` calls to `path` were recorded.
    pub async fn wait_calls(&self, path: &str, n: usize, timeout: Duration) -> Vec<Value> {
        let give_up_at = Instant::now() + timeout;
        loop {
            let calls = self.calls(path);
            if calls.len() >= n || Instant::now() > give_up_at {
                return calls;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// The recorder's start records (one per handler process start).
    pub fn starts(&self) -> Vec<Value> {
        self.requests()
            .into_iter()
            .filter_map(|r| r.get("start").cloned())
            .collect()
    }
}

impl Drop for TempApp {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.root);
    }
}

/// A running devhost; stopped with SIGTERM on drop so its handler stops too.
pub struct Devhost {
    pub addr: String,
    child: Child,
    logs: Arc<Mutex<Vec<String>>>,
}

impl Devhost {
    /// Spawns devhost on port 0 for `root` with only PATH and `env` in its environment.
    pub async fn spawn(root: &Path, handler: Option<&str>, env: &[(&str, &str)]) -> Self {
        let mut cmd = Command::new(crate::harness::devhost_bin());
        cmd.env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("DEVHOST_PORT", "0")
            .arg("--app-root")
            .arg(root);
        if let Some(h) = handler {
            cmd.arg("--handler").arg(h);
        }
        for (k, v) in env {
            cmd.env(k, v);
        }
        cmd.stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        let mut child = cmd.spawn().expect("spawn devhost");
        let mut out = BufReader::new(child.stdout.take().expect("stdout")).lines();
        let first = tokio::time::timeout(Duration::from_secs(20), out.next_line()).await;
        let Ok(Ok(Some(first))) = first else {
            let mut err = String::new();
            let stderr = child.stderr.take().expect("stderr");
            let _ = tokio::io::AsyncReadExt::read_to_string(&mut BufReader::new(stderr), &mut err)
                .await;
            panic!("devhost did not announce its address; stderr: {err}");
        };
        let addr = first
            .strip_prefix("devhost listening addr=")
            .unwrap_or_else(|| panic!("unexpected first line {first}"))
            .to_owned();
        let logs = Arc::new(Mutex::new(Vec::new()));
        let sink = logs.clone();
        tokio::spawn(async move {
            while let Ok(Some(line)) = out.next_line().await {
                sink.lock().expect("logs").push(line);
            }
        });
        let sink = logs.clone();
        let mut err = BufReader::new(child.stderr.take().expect("stderr")).lines();
        tokio::spawn(async move {
            while let Ok(Some(line)) = err.next_line().await {
                sink.lock().expect("logs").push(format!("STDERR {line}"));
            }
        });
        Self { addr, child, logs }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    pub fn log_text(&self) -> String {
        self.logs.lock().expect("logs").join("\n")
    }

    /// Waits for a log line containing `needle`; panics with the log on timeout.
    pub async fn wait_log(&self, needle: &str, timeout: Duration) {
        crate::harness::wait_for_text(|| self.log_text(), needle, timeout).await;
    }

    /// Waits (15 s at most) for devhost to exit by itself.
    pub async fn wait_exit(&mut self) -> Option<i32> {
        tokio::time::timeout(Duration::from_secs(15), self.child.wait())
            .await
            .ok()?
            .ok()?
            .code()
    }

    /// SIGTERM, then waits for the exit status.
    pub async fn stop(&mut self) -> Option<i32> {
        if let Some(pid) = self.child.id() {
            let _ = std::process::Command::new("kill")
                .arg("-TERM")
                .arg(pid.to_string())
                .status();
        }
        tokio::time::timeout(Duration::from_secs(15), self.child.wait())
            .await
            .ok()?
            .ok()?
            .code()
    }
}

impl Drop for Devhost {
    fn drop(&mut self) {
        if let Some(pid) = self.child.id() {
            let _ = std::process::Command::new("kill")
                .arg("-TERM")
                .arg(pid.to_string())
                .status();
            std::thread::sleep(Duration::from_millis(300));
        }
    }
}

/// `2025-03-14T09:42:18.2345678Z`.
pub fn is_utc_7(s: &Value) -> bool {
    let s = s.as_str().unwrap_or_default();
    s.len() == 28
        && s.ends_with('Z')
        && s.as_bytes()[19] == b'.'
        && time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339).is_ok()
}

/// `2025-03-14T09:42:20+00:00`.
pub fn is_offset_seconds(s: &Value) -> bool {
    let s = s.as_str().unwrap_or_default();
    s.len() == 25
        && s.ends_with("+00:00")
        && time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339).is_ok()
}

pub fn is_guid(s: &Value) -> bool {
    s.as_str()
        .is_some_and(|s| uuid::Uuid::parse_str(s).is_ok() && s.len() == 36)
}

/// The headers every payload-mode invocation carries.
pub fn assert_host_headers(call: &Value) {
    let h = &call["headers"];
    assert_eq!(call["method"], "POST");
    assert_eq!(h["content-type"], "application/json; charset=utf-8");
    assert!(is_guid(&h["x-azure-functions-invocationid"]), "{h}");
    assert!(
        h["x-azure-functions-hostversion"]
            .as_str()
            .is_some_and(|v| v.starts_with("4.")),
        "{h}"
    );
    assert!(
        h["user-agent"]
            .as_str()
            .is_some_and(|v| v.starts_with("Azure-Functions-Host/")),
        "{h}"
    );
    assert_eq!(
        call["chunked"], true,
        "the host sends invocation bodies chunked"
    );
}
