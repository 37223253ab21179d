//! The instances of the run: `devhost` (the repository's stand-in for the Functions host) each
//! with its own `handler`, all consuming queue `workunits` on the same Azurite as Functions'
//! instances do: the queue trigger dequeues a batch (`batchSize` 32) with a visibility timeout,
//! posts each message to its handler as the host does, deletes it on success, leaves it for
//! redelivery on failure and moves it to `workunits-poison` after `maxDequeueCount` (5), all as
//! `host.json` says (docs/devhost.md). Every timer is disabled on them (the bench fires the
//! ticks), and no container is watched.

use std::process::Stdio;
use std::time::Duration;

use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt as _, BufReader};
use tokio::process::{Child, Command};

/// A running devhost and its handler; stopped with SIGTERM (devhost then stops its handler).
pub(crate) struct Instance {
    addr: String,
    child: Child,
}

/// The timers of the app root (functions with a `timerTrigger`).
pub(crate) fn timers() -> Vec<String> {
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/functions");
    let mut out: Vec<String> = std::fs::read_dir(root)
        .expect("functions/")
        .filter_map(Result::ok)
        .filter(|d| {
            std::fs::read_to_string(d.path().join("function.json"))
                .is_ok_and(|t| t.contains("timerTrigger"))
        })
        .map(|d| d.file_name().to_string_lossy().into_owned())
        .collect();
    out.sort();
    out
}

impl Instance {
    /// Starts devhost on the app root with `env` (the handler's settings).
    pub(crate) async fn start(env: &[(String, String)]) -> Self {
        let mut cmd = Command::new(crate::harness::devhost_bin());
        cmd.env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("DEVHOST_PORT", "0")
            .env("DEVHOST_WATCH", "")
            .env("RUST_LOG", "warn")
            .arg("--app-root")
            .arg(env!("CARGO_MANIFEST_DIR"))
            .arg("--handler")
            .arg(env!("CARGO_BIN_EXE_handler"))
            .stdout(Stdio::piped())
            .stderr(Stdio::null());
        for t in timers() {
            cmd.env(format!("AzureWebJobs.{t}.Disabled"), "true");
        }
        for (k, v) in env {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().expect("spawn devhost");
        let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
        let first = tokio::time::timeout(Duration::from_secs(60), lines.next_line())
            .await
            .expect("devhost announces its address")
            .expect("stdout")
            .expect("a line");
        let addr = first
            .strip_prefix("devhost listening addr=")
            .unwrap_or_else(|| panic!("unexpected first line {first}"))
            .to_owned();
        // Drained, so a full pipe never stops it; failures show in the table and the counts.
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        Self { addr, child }
    }

    /// Puts `unit` on the work queue through devhost's admin API (its queue output: one message),
    /// up to 5 times when the emulator does not answer (devhost tries its queue calls once; the
    /// host's output binding retries, and a unit put twice runs once: its claim).
    pub(crate) async fn enqueue(&self, http: &reqwest::Client, unit: &Value) {
        let url = format!("http://{}/admin/functions/WorkUnit", self.addr);
        let body = json!({"input": unit.to_string()});
        let mut last = String::new();
        for attempt in 1..=5u64 {
            match http.post(&url).json(&body).send().await {
                Ok(r) if r.status().as_u16() == 202 => return,
                Ok(r) => last = format!("{}: {:?}", r.status(), r.text().await),
                Err(e) => last = e.to_string(),
            }
            tokio::time::sleep(Duration::from_millis(200 * attempt)).await;
        }
        panic!("devhost admin: {last}");
    }

    /// SIGTERM, then the exit (devhost stops its handler first).
    pub(crate) async fn stop(mut self) {
        if let Some(pid) = self.child.id() {
            let _ = std::process::Command::new("kill")
                .arg("-TERM")
                .arg(pid.to_string())
                .status();
        }
        let _ = tokio::time::timeout(Duration::from_secs(15), self.child.wait()).await;
    }
}
