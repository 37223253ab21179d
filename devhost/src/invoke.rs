//! Sends one payload-mode invocation the way the host does and judges the reply (protocol §3.1, §4.1).
//!
//! `POST http://127.0.0.1:<port>/<Function>` with the host's headers and a chunked JSON body.
//! Success = 2xx + JSON content type + a JSON body; then `Logs` are relayed and queue outputs
//! applied. Anything else (including a timeout or an empty body, which hangs the real host) fails
//! the invocation so the trigger's retry policy applies.

use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;
use tokio::sync::watch;

use crate::app_root::{FunctionDef, get_ci};
use crate::envelope::queue_messages;
use crate::process::WorkerState;
use crate::queues::Queues;

/// The host version devhost claims (`X-Azure-Functions-HostVersion`).
pub(crate) const HOST_VERSION: &str = "4.1037.0.0";

/// Sends invocations to the current handler process.
#[derive(Clone)]
pub(crate) struct Invoker {
    client: reqwest::Client,
    worker: watch::Receiver<WorkerState>,
    queues: Arc<Queues>,
    /// `functionTimeout` + 1 min, the host's HttpClient timeout.
    default_timeout: Duration,
}

impl Invoker {
    /// The handler's state, to wait on.
    pub(crate) fn worker(&self) -> watch::Receiver<WorkerState> {
        self.worker.clone()
    }

    /// An invoker following `worker`.
    pub(crate) fn new(
        worker: watch::Receiver<WorkerState>,
        queues: Arc<Queues>,
        function_timeout: Duration,
    ) -> Self {
        Self {
            client: reqwest::Client::new(),
            worker,
            queues,
            default_timeout: function_timeout.saturating_add(Duration::from_secs(60)),
        }
    }

    /// The host's own per-call timeout.
    pub(crate) fn default_timeout(&self) -> Duration {
        self.default_timeout
    }

    /// The handler's port, waiting (like the host) while it starts.
    pub(crate) async fn port(&self) -> Result<u16, String> {
        let mut rx = self.worker.clone();
        let wait = rx.wait_for(|s| !matches!(s, WorkerState::Starting));
        match tokio::time::timeout(Duration::from_secs(30), wait).await {
            Ok(Ok(s)) => match *s {
                WorkerState::Ready(p) => Ok(p),
                _ => Err("handler is not running".into()),
            },
            Ok(Err(_)) => Err("handler is not running".into()),
            Err(_) => Err("Initialization timed out waiting for the handler".into()),
        }
    }

    /// Invokes `f` with `body`; `Ok(reply)` only for a successful invocation whose outputs were applied.
    pub(crate) async fn invoke(
        &self,
        f: &FunctionDef,
        body: &Value,
        timeout: Duration,
    ) -> Result<Value, String> {
        let reply = self.call(&f.name, body, timeout).await?;
        for line in get_ci(&reply, "Logs")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            println!(
                "devhost function={} log: {}",
                f.name,
                line.as_str()
                    .map_or_else(|| line.to_string(), str::to_owned)
            );
        }
        let outputs = get_ci(&reply, "Outputs").cloned().unwrap_or(Value::Null);
        for out in &f.queue_outputs {
            // Only declared outputs count; unknown keys are dropped silently (host behaviour).
            let Some(value) = get_ci(&outputs, &out.name) else {
                continue;
            };
            for msg in queue_messages(value) {
                // An output binding failure fails the invocation, so the trigger retries it.
                self.queues
                    .send(&out.connection, &out.queue, &msg)
                    .await
                    .map_err(|e| format!("output {}: {e}", out.name))?;
            }
        }
        Ok(reply)
    }

    async fn call(&self, function: &str, body: &Value, timeout: Duration) -> Result<Value, String> {
        let port = self.port().await?;
        let bytes = serde_json::to_vec(body).map_err(|e| e.to_string())?;
        // A stream body has no Content-Length, so hyper sends it chunked, like the host.
        let stream = futures::stream::iter([Ok::<_, std::io::Error>(bytes)]);
        let invocation_id = uuid::Uuid::new_v4().to_string();
        let send = self
            .client
            .post(format!("http://127.0.0.1:{port}/{function}"))
            .header("Content-Type", "application/json; charset=utf-8")
            .header("X-Azure-Functions-InvocationId", &invocation_id)
            .header("X-Azure-Functions-HostVersion", HOST_VERSION)
            .header("User-Agent", format!("Azure-Functions-Host/{HOST_VERSION}"))
            .body(reqwest::Body::wrap_stream(stream))
            .timeout(timeout)
            .send();
        let res = send.await.map_err(|e| {
            if e.is_timeout() {
                format!("timed out after {timeout:?}")
            } else {
                format!("transport: {e}")
            }
        })?;
        let status = res.status();
        let ct = res
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_ascii_lowercase();
        let text = res
            .text()
            .await
            .map_err(|e| format!("reading reply: {e}"))?;
        judge(status.as_u16(), &ct, &text)
    }
}

/// The host's verdict on a reply (§4.1).
pub(crate) fn judge(status: u16, content_type: &str, body: &str) -> Result<Value, String> {
    if !(200..300).contains(&status) {
        return Err(format!("handler answered HTTP {status}"));
    }
    if body.trim().is_empty() || body.trim() == "null" {
        return Err(
            "empty or null 2xx body: the real host would hang until functionTimeout".into(),
        );
    }
    let media = content_type.split(';').next().unwrap_or_default().trim();
    if media != "application/json" && media != "text/json" {
        return Err(format!(
            "Invalid HttpResponseMessage: content type {content_type:?} is not JSON"
        ));
    }
    match serde_json::from_str::<Value>(body) {
        Ok(v @ Value::Object(_)) => match get_ci(&v, "Logs") {
            // `Logs` binds to a list of strings: anything else fails deserialization in the host.
            None | Some(Value::Null) => Ok(v),
            Some(Value::Array(items)) if items.iter().all(Value::is_string) => Ok(v),
            Some(_) => Err("Logs must be an array of strings".into()),
        },
        Ok(_) => Err("reply is not a JSON object".into()),
        Err(e) => Err(format!("Invalid HttpResponseMessage: malformed JSON: {e}")),
    }
}

#[cfg(test)]
mod tests {
    use super::judge;

    #[test]
    fn replies_are_judged_like_the_host() {
        assert!(judge(200, "application/json; charset=utf-8", "{}").is_ok());
        assert!(judge(200, "text/json", r#"{"Outputs":{}}"#).is_ok());
        assert!(judge(500, "application/json", "{}").is_err());
        assert!(judge(404, "application/json", "{}").is_err());
        assert!(judge(200, "text/plain", "{}").is_err());
        assert!(judge(200, "", "{}").is_err());
        assert!(judge(200, "application/json", "").is_err());
        assert!(judge(200, "application/json", "null").is_err());
        assert!(judge(200, "application/json", "{oops").is_err());
        assert!(judge(204, "application/json", "").is_err());
        assert!(judge(200, "application/json", "[]").is_err());
        assert!(judge(200, "application/json", r#"{"Logs":"x"}"#).is_err());
        assert!(judge(200, "application/json", r#"{"logs":[1]}"#).is_err());
        assert!(judge(200, "application/json", r#"{"Logs":null}"#).is_ok());
    }
}
