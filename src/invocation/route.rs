//! The axum glue that runs every payload-mode invocation the same way.
//!
//! Reads the raw body (so even malformed JSON can be quarantined verbatim — axum's `Json` extractor
//! would answer 400/422, which the host turns into a failure and Event Grid into 24 h of retries),
//! up to [`MAX_BODY_BYTES`] ([`super::body`]) rather than axum's 2 MB default (a 1 MiB message of quotes, encoded
//! twice as the host sends queue messages, is 4 MiB): a longer body is Poison, its first
//! [`MAX_BODY_BYTES`] kept in quarantine with the reason, never refused unread,
//! opens one span per invocation, runs the function, catches panics, maps the ending to the host's
//! response and logs it exactly once.

use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::time::Instant;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodRouter, post};
use futures::FutureExt as _;
use serde_json::json;
use tracing::{Instrument as _, debug, error, info, warn};

use super::body::{MAX_BODY_BYTES, Read, read_body};
use super::failure::Failure;
use super::outcome::Outcome;
use super::outputs::Outputs;
use super::quarantine::Quarantine;
use super::request::InvokeRequest;
use super::response::InvokeResponse;
use crate::telemetry::redact;

/// Header carrying the invocation id.
pub const INVOCATION_ID_HEADER: &str = "x-azure-functions-invocationid";
/// Header carrying the host version.
pub const HOST_VERSION_HEADER: &str = "x-azure-functions-hostversion";

/// Application state that can reach the quarantine.
pub trait HasQuarantine {
    /// The quarantine for poison payloads.
    fn quarantine(&self) -> &Quarantine;

    /// Notes how an invocation of `function` ended (`processed`, `skipped`, `poisoned`, `failed`).
    /// Runs on every invocation, so it must not do I/O (see [`crate::health`]).
    fn heartbeat(&self, _function: &str, _outcome: &str) {}
}

/// One decoded invocation, as handed to a function.
#[derive(Debug, Clone)]
pub struct Invocation {
    /// Function (folder) name.
    pub function: &'static str,
    /// `X-Azure-Functions-InvocationId`, else `sys.RandGuid`, else a fresh GUID.
    pub id: String,
    /// `X-Azure-Functions-HostVersion`, when sent.
    pub host_version: Option<String>,
    /// The decoded envelope.
    pub request: InvokeRequest,
    /// The raw body, kept for quarantine.
    pub raw: Bytes,
}

/// A `POST /<function>` route that runs `handler` under the shared outcome policy.
pub fn invocation_route<S, F, Fut>(function: &'static str, handler: F) -> MethodRouter<S>
where
    S: HasQuarantine + Clone + Send + Sync + 'static,
    F: Fn(S, Invocation) -> Fut + Clone + Send + Sync + 'static,
    Fut: Future<Output = Result<Outcome, Failure>> + Send + 'static,
{
    post(
        move |State(state): State<S>, headers: HeaderMap, body: axum::body::Body| {
            let handler = handler.clone();
            async move {
                match read_body(body, MAX_BODY_BYTES).await {
                    Ok(Read::Whole(raw)) => run(function, state, headers, raw, handler).await,
                    Ok(Read::Cut(head)) => {
                        let id = header(&headers, INVOCATION_ID_HEADER)
                            .unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
                        let reason = format!(
                            "invocation body larger than {MAX_BODY_BYTES} bytes (the first {MAX_BODY_BYTES} kept)"
                        );
                        let poison = Err(Failure::poison(reason));
                        finish(function, &id, &state, &head, poison, Instant::now()).await
                    }
                    Err(e) => {
                        warn!(function, error = %e, "invocation body not read; the host retries");
                        fail("invocation body not read")
                    }
                }
            }
        },
    )
}

async fn run<S, F, Fut>(
    function: &'static str,
    state: S,
    headers: HeaderMap,
    raw: Bytes,
    handler: F,
) -> Response
where
    S: HasQuarantine + Clone + Send + Sync + 'static,
    F: Fn(S, Invocation) -> Fut,
    Fut: Future<Output = Result<Outcome, Failure>> + Send + 'static,
{
    let started = Instant::now();
    let parsed = InvokeRequest::parse(&raw);
    let id = header(&headers, INVOCATION_ID_HEADER)
        .or_else(|| parsed.as_ref().ok().and_then(|r| r.sys().rand_guid))
        .unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
    let host_version = header(&headers, HOST_VERSION_HEADER);
    let span = tracing::info_span!(
        "invocation",
        function,
        invocation.id = %id,
        host.version = host_version.as_deref().unwrap_or(""),
        event.id = tracing::field::Empty,
        event.type = tracing::field::Empty,
        blob.name = tracing::field::Empty,
    );
    // One instrumented future for the function and its ending: the span is entered once per poll,
    // not once per stage.
    async move {
        let result = match parsed {
            Err(e) => Err(Failure::from(e)),
            Ok(request) => {
                let inv = Invocation {
                    function,
                    id: id.clone(),
                    host_version,
                    request,
                    raw: raw.clone(),
                };
                match AssertUnwindSafe(handler(state.clone(), inv))
                    .catch_unwind()
                    .await
                {
                    Ok(r) => r,
                    // A panic is a bug triggered by this input; retrying would loop for 24 h, so
                    // the payload is kept in quarantine for a replay after the fix.
                    Err(_) => Err(Failure::poison("handler panicked")),
                }
            }
        };
        finish(function, &id, &state, &raw, result, started).await
    }
    .instrument(span)
    .await
}

/// Header `name` as text, when sent.
fn header(headers: &HeaderMap, name: &str) -> Option<String> {
    headers.get(name)?.to_str().ok().map(str::to_owned)
}

/// Records the decoded event on the current invocation span (`event.id`, `event.type`,
/// `blob.name`, declared empty when the span opens); no blob leaves `blob.name` empty.
///
/// One record for the three: the JSON layer writes all of a span's fields out again on every
/// record, so three `Span::record` calls would write them three times.
pub fn record_event(id: &str, event_type: &str, blob: Option<&str>) {
    let span = tracing::Span::current();
    let Some(fields) = span.metadata().map(|m| m.fields()) else {
        return;
    };
    let names = ["event.id", "event.type", "blob.name"];
    let [Some(f_id), Some(f_type), Some(f_blob)] = names.map(|n| fields.field(n)) else {
        return;
    };
    span.record_all(&fields.value_set(&[
        (&f_id, Some(&id as &dyn tracing::Value)),
        (&f_type, Some(&event_type as &dyn tracing::Value)),
        (&f_blob, blob.as_ref().map(|b| b as &dyn tracing::Value)),
    ]));
}

async fn finish<S: HasQuarantine>(
    function: &str,
    id: &str,
    state: &S,
    raw: &[u8],
    result: Result<Outcome, Failure>,
    started: Instant,
) -> Response {
    // Whole microseconds: the clock's nanoseconds would print as 1.6542219999999999.
    let elapsed = || started.elapsed().as_micros() as f64 / 1000.0;
    // Fields of the closing line, not span records: the JSON layer rewrites the span on every record.
    let end = |outcome: &'static str| {
        state.heartbeat(function, outcome);
        (outcome, elapsed())
    };
    match result {
        Ok(Outcome::Processed { outputs, summary }) => {
            let (outcome, duration_ms) = end("processed");
            info!(outcome, duration_ms, summary = %summary, "invocation processed");
            ok(outputs, summary)
        }
        Ok(Outcome::Skipped { reason }) => {
            let (outcome, duration_ms) = end("skipped");
            debug!(outcome, duration_ms, reason = %reason, "invocation skipped");
            ok(Outputs::default(), format!("skipped: {reason}"))
        }
        Err(Failure::Poison { reason, source }) => {
            let cause = source
                .map(|e| redact(&format!("{e:#}")))
                .unwrap_or_default();
            let kept = state.quarantine().put(function, id, None, &reason, raw);
            match kept.await {
                Ok(blob) => {
                    let (outcome, duration_ms) = end("poisoned");
                    warn!(outcome, duration_ms, stage = "receiving", reason = %reason, error.cause_chain = %cause, quarantine.blob = %blob, "invocation poisoned");
                    let log = format!("poisoned: {reason}; quarantined as {blob}");
                    ok(Outputs::default(), log)
                }
                Err(e) => {
                    let (outcome, duration_ms) = end("failed");
                    error!(outcome, duration_ms, stage = "processing", reason = %reason, error.cause_chain = %redact(&e.to_string()), "quarantine write failed; invocation failed so the trigger redelivers");
                    fail("quarantine write failed")
                }
            }
        }
        Err(Failure::Retryable { stage, source }) => {
            let (outcome, duration_ms) = end("failed");
            let chain = redact(&format!("{source:#}"));
            error!(outcome, duration_ms, stage = stage.as_str(), error.cause_chain = %chain, "invocation failed");
            fail(&chain)
        }
    }
}

/// A 200 with the output bindings and one line for the host's invocation log.
fn ok(outputs: Outputs, log: String) -> Response {
    let body = InvokeResponse {
        outputs,
        logs: vec![log],
        ..Default::default()
    };
    json_response(StatusCode::OK, &body)
}

/// A 500 with a JSON body for humans; the host ignores it but fails the invocation.
fn fail(message: &str) -> Response {
    let body = json!({ "error": message });
    json_response(StatusCode::INTERNAL_SERVER_ERROR, &body)
}

fn json_response(status: StatusCode, body: &impl serde::Serialize) -> Response {
    let body = serde_json::to_vec(body).unwrap_or_else(|_| b"{}".to_vec());
    let json = [(header::CONTENT_TYPE, "application/json; charset=utf-8")];
    (status, json, body).into_response()
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use tracing::field::{Field, Visit};
    use tracing::span::{Id, Record};
    use tracing_subscriber::layer::{Context, Layer, SubscriberExt as _};

    use super::*;

    /// One record's field names and values.
    type Fields = Vec<(String, String)>;

    /// Collects each record's fields, one entry per record.
    #[derive(Clone, Default)]
    struct Records(Arc<Mutex<Vec<Fields>>>);

    impl<S: tracing::Subscriber> Layer<S> for Records {
        fn on_record(&self, _: &Id, values: &Record<'_>, _: Context<'_, S>) {
            struct Names(Fields);
            impl Visit for Names {
                fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
                    self.0.push((field.name().to_owned(), format!("{value:?}")));
                }
            }
            let mut names = Names(Vec::new());
            values.record(&mut names);
            self.0.lock().expect("lock").push(names.0);
        }
    }

    fn records_of(record: impl FnOnce()) -> Vec<Fields> {
        let records = Records::default();
        let subscriber = tracing_subscriber::registry().with(records.clone());
        tracing::subscriber::with_default(subscriber, || {
            let span = tracing::info_span!(
                "invocation",
                event.id = tracing::field::Empty,
                event.type = tracing::field::Empty,
                blob.name = tracing::field::Empty,
            );
            span.in_scope(record);
        });
        records.0.lock().expect("lock").clone()
    }

    #[test]
    fn the_event_is_recorded_in_one_record() {
        let pair = |k: &str, v: &str| (k.to_owned(), format!("{v:?}"));
        assert_eq!(
            records_of(|| record_event("e1", "T", Some("a/b"))),
            vec![vec![
                pair("event.id", "e1"),
                pair("event.type", "T"),
                pair("blob.name", "a/b")
            ]]
        );
        assert_eq!(
            records_of(|| record_event("n1", "K", None)),
            vec![vec![pair("event.id", "n1"), pair("event.type", "K")]]
        );
        // Outside an invocation span there is nothing to record into.
        assert!(
            records_of(|| tracing::info_span!("other").in_scope(|| record_event("x", "y", None)))
                .is_empty()
        );
    }
}
