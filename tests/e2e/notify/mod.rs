//! `NotifyWebhook` end to end: the real handler process delivering to a scriptable local receiver.
//!
//! The receiver (axum, in this test process, on 127.0.0.1:0) records every request and answers from
//! a per-path script (status, `Retry-After`, body, delay), defaulting to 200. Invocations are built
//! like the host builds them (`Data.message` double-encoded, string metadata).

#![allow(unreachable_pub)]

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::IntoResponse;
use serde_json::{Value, json};

use crate::harness::HandlerProcess;

pub const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
const ROTATED: &str = "whsec_BwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwc=";
const TEAMS_TOKEN: &str = "teamsSigTOKEN123";
const SLACK_TOKEN: &str = "slackHookTOKEN456";

/// One scripted answer.
#[derive(Clone, Debug)]
pub struct Reply {
    pub status: u16,
    pub body: &'static str,
    pub retry_after: Option<&'static str>,
    pub delay: Duration,
}

pub fn reply(status: u16, body: &'static str) -> Reply {
    Reply {
        status,
        body,
        retry_after: None,
        delay: Duration::ZERO,
    }
}

/// One recorded request.
#[derive(Clone, Debug)]
pub struct Hit {
    pub path: String,
    pub headers: HashMap<String, String>,
    pub body: Vec<u8>,
    pub at: Instant,
}

impl Hit {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).expect("json body")
    }
}

#[derive(Default)]
struct Script {
    replies: HashMap<String, VecDeque<Reply>>,
    hits: Vec<Hit>,
}

/// The scriptable receiver.
#[derive(Clone)]
pub struct Receiver {
    pub base: String,
    script: Arc<Mutex<Script>>,
}

impl Receiver {
    pub async fn start() -> Self {
        let script = Arc::new(Mutex::new(Script::default()));
        let app = axum::Router::new()
            .fallback(answer)
            .with_state(script.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let base = format!("http://{}", listener.local_addr().expect("addr"));
        tokio::spawn(async move { axum::serve(listener, app).await.expect("serve") });
        Self { base, script }
    }

    pub fn script(&self, path: &str, replies: &[Reply]) {
        self.script
            .lock()
            .expect("script")
            .replies
            .entry(path.to_owned())
            .or_default()
            .extend(replies.iter().cloned());
    }

    pub fn hits(&self, path: &str) -> Vec<Hit> {
        self.script
            .lock()
            .expect("script")
            .hits
            .iter()
            .filter(|h| h.path == path)
            .cloned()
            .collect()
    }

    pub fn total(&self) -> usize {
        self.script.lock().expect("script").hits.len()
    }
}

async fn answer(
    State(script): State<Arc<Mutex<Script>>>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> impl IntoResponse {
    let path = uri.path().to_owned();
    let headers = headers
        .iter()
        .map(|(k, v)| {
            (
                k.as_str().to_owned(),
                v.to_str().unwrap_or_default().to_owned(),
            )
        })
        .collect();
    let r = {
        let mut s = script.lock().expect("script");
        s.hits.push(Hit {
            path: path.clone(),
            headers,
            body: body.to_vec(),
            at: Instant::now(),
        });
        s.replies
            .get_mut(&path)
            .and_then(VecDeque::pop_front)
            .unwrap_or_else(|| reply(200, "ok"))
    };
    tokio::time::sleep(r.delay).await;
    let mut h = HeaderMap::new();
    if let Some(ra) = r.retry_after {
        h.insert("retry-after", ra.parse().expect("header"));
    }
    (StatusCode::from_u16(r.status).expect("status"), h, r.body)
}

pub const TEAMS: &str = "/teams/workflows/abc/triggers/manual/paths/invoke";
pub const SLACK: &str = "/services/T000/B000";
pub const HOOK: &str = "/hook";

/// Handler settings pointing every destination at `rx`; `extra` overrides.
pub fn env(rx: &Receiver, extra: &[(&str, &str)]) -> Vec<(String, String)> {
    let mut v: Vec<(String, String)> = vec![
        ("NOTIFY_ALLOW_INSECURE_LOOPBACK".into(), "true".into()),
        (
            "NOTIFY_TEAMS_URL".into(),
            format!("{}{TEAMS}?sig={TEAMS_TOKEN}", rx.base),
        ),
        (
            "NOTIFY_SLACK_URL".into(),
            format!("{}{SLACK}/{SLACK_TOKEN}", rx.base),
        ),
        ("NOTIFY_WEBHOOK_URL".into(), format!("{}{HOOK}", rx.base)),
        (
            "NOTIFY_WEBHOOK_SECRET".into(),
            format!("{SECRET} {ROTATED}"),
        ),
        (
            "CATALOGUE_BASE_URL".into(),
            "https://func.example.net/api".into(),
        ),
    ];
    for (k, val) in extra {
        v.retain(|(key, _)| key != k);
        if !val.is_empty() {
            v.push(((*k).to_owned(), (*val).to_owned()));
        }
    }
    v
}

/// The in-memory handler with `env`.
pub async fn spawn(env: &[(String, String)]) -> HandlerProcess {
    let pairs: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    HandlerProcess::spawn_in_memory(&pairs).await
}

/// `handler` with `env` (its storage settings among them).
pub async fn spawn_connected(env: &[(String, String)]) -> HandlerProcess {
    let pairs: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    HandlerProcess::spawn(&pairs).await
}

pub fn notification(fact: &str, severity: &str) -> Value {
    let id = bastion_recordings::spine::stable_id("session.unrecorded", fact);
    json!({
        "type": "session.unrecorded", "notificationId": id, "time": "2025-03-14T09:42:17Z", "severity": severity,
        "title": "Session without a recording",
        "data": {"recordingId": "2025-03-14~abc", "vm": "vm-app-01", "user": "alice", "userEmail": "alice@example.com",
            "clientIp": "203.0.113.7", "bastionResourceId": "/subscriptions/s1/resourceGroups/rg/providers/Microsoft.Network/bastionHosts/bas1"},
    })
}

/// A queue-trigger invocation as the host sends it (see `queue-message.invocation.json`).
pub fn invocation(n: &Value, dequeue: u32) -> Value {
    let text = n.to_string();
    json!({
        "Data": {"message": serde_json::to_string(&text).expect("json")},
        "Metadata": {
            "DequeueCount": dequeue.to_string(),
            "Id": "\"b4f2a1c3-5d6e-4f70-8a9b-0c1d2e3f4a5b\"",
            "PopReceipt": "\"AgAAAAMAAAAAAAAAq3xY9mSV2wE=\"",
            "InsertionTime": "2025-03-14T09:42:20+00:00",
            "type": serde_json::to_string(&n["type"]).expect("json"),
            "notificationId": serde_json::to_string(&n["notificationId"]).expect("json"),
            "data": n["data"],
            "sys": {"MethodName": "NotifyWebhook", "UtcNow": "2025-03-14T09:42:21.3456789Z", "RandGuid": uuid::Uuid::new_v4().to_string()},
        },
    })
}

/// Verifies a Standard Webhooks request with Python's hmac/hashlib/base64 (an independent
/// implementation): `true` when any `v1,` signature matches under `secret`.
pub fn python_verifies(hit: &Hit, secret: &str) -> bool {
    let script = r#"
import base64, hashlib, hmac, sys
secret, msg_id, ts, sigs = sys.argv[1:5]
body = sys.stdin.buffer.read()
key = base64.b64decode(secret.split("_", 1)[1])
want = base64.b64encode(hmac.new(key, msg_id.encode() + b"." + ts.encode() + b"." + body, hashlib.sha256).digest()).decode()
ok = any(s.startswith("v1,") and hmac.compare_digest(s[3:], want) for s in sigs.split(" "))
sys.exit(0 if ok else 1)
"#;
    let h = |k: &str| hit.headers.get(k).cloned().unwrap_or_default();
    let mut child = std::process::Command::new("python3")
        .args([
            "-c",
            script,
            secret,
            &h("webhook-id"),
            &h("webhook-timestamp"),
            &h("webhook-signature"),
        ])
        .stdin(std::process::Stdio::piped())
        .spawn()
        .expect("python3");
    std::io::Write::write_all(&mut child.stdin.take().expect("stdin"), &hit.body).expect("write");
    child.wait().expect("wait").success()
}

/// No secret or URL token in any log line.
pub async fn assert_no_secrets(h: &HandlerProcess) {
    let logs = h.quiet_log_text().await;
    for s in [
        TEAMS_TOKEN,
        SLACK_TOKEN,
        &SECRET[6..],
        &ROTATED[6..],
        "B000/",
    ] {
        assert!(!logs.contains(s), "{s} leaked into logs:\n{logs}");
    }
}

mod bench;
mod clients;
mod delivery;
mod failures;
mod hostile;
mod oversize;
mod race;
