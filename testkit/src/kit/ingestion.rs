//! A loopback fake of the Logs Ingestion API, checking what the service
//! checks: `api-version=2023-01-01`; a bearer token (a JWT, unexpired) for the configured
//! audience; the rule's immutable id; a stream the declaration names; `Content-Type:
//! application/json`; the size limit, on the gzip body and on the JSON it expands to alike (413
//! above it, or, [`FakeIngestion::aborting_when_too_large`], the connection closed without an
//! answer: the service's two documented answers); `Content-Encoding: gzip` bodies that decompress
//! to a JSON array of objects. Accepted: **204** without a body.
//!
//! A record that does not match its stream's declaration (an unknown column, a value not of its
//! column's type) is not refused in the answer, as the service does not: the call is accepted and
//! the record goes to the rule's error log ([`FakeIngestion::dcr_errors`], as `DCRLogErrors`
//! shows such records after the fact), not to the table. The drift test between the rows the code
//! builds and the declaration is what keeps such records from being made.
//!
//! Faults on demand, one per request ([`Fault`]): 429 with or without `Retry-After`, any status
//! with the service's error shape (`{"error":{"code","message"}}` and `x-ms-error-code`), and a
//! lost answer (the records are kept, then the connection is dropped without a response); an
//! outage answers 503 to everything until it ends. Error bodies beyond that shape are not
//! established and are not relied on.

use std::collections::VecDeque;
use std::io::Read as _;
use std::sync::{Arc, Mutex, PoisonError};

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Map, Value, json};

use bastion_recordings::ingestion::ABORT_CODE as ABORT;
use bastion_recordings::ingestion::pack::MAX_CALL_BYTES;
use bastion_recordings::ingestion::schema::{ColumnType, Declaration, TableDecl};

/// The service's limit as the fake applies it by default (1 MiB: a client within 1 MB passes
/// either reading), to the body as sent and to the JSON it expands to.
pub const LIMIT: usize = 1_048_576;

/// A fault served instead of the next answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// Answer normally (places a fault after some good answers).
    Pass,
    /// 429 with `Retry-After` seconds.
    Throttle(u64),
    /// 429 without `Retry-After`.
    ThrottleBare,
    /// This status, with an error body.
    Status(u16),
    /// Accept the records, then drop the connection without an answer.
    LoseAnswer,
}

/// One record the fake accepted.
#[derive(Debug, Clone, PartialEq)]
pub struct Accepted {
    /// Stream.
    pub stream: String,
    /// Which request carried it (0-based, over all requests).
    pub request: usize,
    /// The record.
    pub record: Map<String, Value>,
}

/// A record the rule could not ingest, as its error log shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct DcrError {
    /// Stream.
    pub stream: String,
    /// Which request carried it.
    pub request: usize,
    /// Why.
    pub message: String,
    /// The record.
    pub record: Map<String, Value>,
}

/// One request as received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Received {
    /// Stream.
    pub stream: String,
    /// The answer's status (0: none, the connection was dropped).
    pub status: u16,
    /// Body bytes as sent.
    pub body_bytes: usize,
    /// JSON bytes after decompression (0 when not decompressed).
    pub json_bytes: usize,
    /// Records in the body (0 when not read).
    pub records: usize,
}

#[derive(Default)]
struct Inner {
    faults: VecDeque<Fault>,
    outage: bool,
    accepted: Vec<Accepted>,
    dcr_errors: Vec<DcrError>,
    received: Vec<Received>,
}

/// The fake; clones share it.
#[derive(Clone)]
pub struct FakeIngestion {
    inner: Arc<Mutex<Inner>>,
    declaration: Arc<Declaration>,
    dcr: String,
    audience: Option<String>,
    limit: usize,
    too_large: TooLarge,
}

/// How the fake answers a call too large.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum TooLarge {
    /// 413 `RequestEntityTooLarge`.
    Status,
    /// The connection closed without an answer.
    Abort,
    /// An error `TimeoutExpired` whose message is `ReadyBody_ClientConnectionAbort` (Learn's
    /// tutorial names the pair; its status is not documented: 500 here).
    TimedOut,
}

impl std::fmt::Debug for FakeIngestion {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FakeIngestion")
            .field("dcr", &self.dcr)
            .field("audience", &self.audience)
            .finish_non_exhaustive()
    }
}

/// What one request is answered with (an error with status 0: no answer, the connection closed).
type Answer = Result<(), (u16, Option<u64>, &'static str, String)>;

impl FakeIngestion {
    /// A fake of the rule `dcr` whose streams are `declaration`'s, accepting any request token
    /// (see [`with_audience`](Self::with_audience)), answering 413 above [`LIMIT`].
    pub fn new(declaration: Declaration, dcr: &str) -> Self {
        Self {
            inner: Arc::default(),
            declaration: Arc::new(declaration),
            dcr: dcr.to_owned(),
            audience: None,
            limit: LIMIT,
            too_large: TooLarge::Status,
        }
    }

    /// Requests must carry an unexpired JWT whose `aud` is `audience` (401 otherwise).
    #[must_use]
    pub fn with_audience(mut self, audience: &str) -> Self {
        self.audience = Some(audience.to_owned());
        self
    }

    /// Refuses calls of more than `bytes` (gzip or JSON).
    #[must_use]
    pub fn with_limit(mut self, bytes: usize) -> Self {
        self.limit = bytes;
        self
    }

    /// Answers a call too large by closing the connection without an answer, not by a 413.
    #[must_use]
    pub fn aborting_when_too_large(mut self) -> Self {
        self.too_large = TooLarge::Abort;
        self
    }

    /// Answers a call too large with the error `TimeoutExpired` /
    /// `ReadyBody_ClientConnectionAbort` in the body (status 500), not by a 413.
    #[must_use]
    pub fn timing_out_when_too_large(mut self) -> Self {
        self.too_large = TooLarge::TimedOut;
        self
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Serves `faults`, one per request, before answering normally again.
    pub fn faults(&self, faults: impl IntoIterator<Item = Fault>) {
        self.lock().faults.extend(faults);
    }

    /// Starts (`true`) or ends an outage: 503 to every request meanwhile.
    pub fn outage(&self, on: bool) {
        self.lock().outage = on;
    }

    /// Every record accepted, in arrival order.
    pub fn accepted(&self) -> Vec<Accepted> {
        self.lock().accepted.clone()
    }

    /// Every record the rule could not ingest (its error log), in arrival order.
    pub fn dcr_errors(&self) -> Vec<DcrError> {
        self.lock().dcr_errors.clone()
    }

    /// Every request received.
    pub fn received(&self) -> Vec<Received> {
        self.lock().received.clone()
    }

    /// The `id` column of every record accepted on `stream`, in arrival order.
    pub fn ids(&self, stream: &str) -> Vec<String> {
        let id = by_stream(&self.declaration, stream)
            .map(|t| t.id.clone())
            .unwrap_or_default();
        self.lock()
            .accepted
            .iter()
            .filter(|a| a.stream == stream)
            .map(|a| {
                a.record
                    .get(&id)
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_owned()
            })
            .collect()
    }

    /// Checks and (unless a fault says otherwise) accepts one request.
    fn answer(&self, dcr: &str, stream: &str, headers: &HeaderMap, body: &[u8]) -> (Answer, bool) {
        let header = |n: &str| headers.get(n).and_then(|v| v.to_str().ok()).unwrap_or("");
        let mut g = self.lock();
        let index = g.received.len();
        g.received.push(Received {
            stream: stream.to_owned(),
            status: 0,
            body_bytes: body.len(),
            json_bytes: 0,
            records: 0,
        });
        let fault = g.faults.pop_front().unwrap_or(Fault::Pass);
        let err = |status: u16, code: &'static str, message: String| (status, None, code, message);
        if let Some(aud) = &self.audience
            && !token_for(header("authorization"), aud)
        {
            let m = "the bearer token is missing, expired or for another audience".to_owned();
            return (Err(err(401, "InvalidToken", m)), false);
        }
        if g.outage {
            let m = "service unavailable (loopback fake outage)".to_owned();
            return (Err(err(503, "ServiceUnavailable", m)), false);
        }
        match fault {
            Fault::Throttle(s) => {
                let m = "too many requests".to_owned();
                return (Err((429, Some(s), "TooManyRequests", m)), false);
            }
            Fault::ThrottleBare => {
                let m = "too many requests".to_owned();
                return (Err(err(429, "TooManyRequests", m)), false);
            }
            Fault::Status(403) => {
                let m = format!(
                    "The authentication token provided does not have access to ingest data for the data collection rule with immutable Id '{dcr}'."
                );
                return (Err(err(403, "OperationFailed", m)), false);
            }
            Fault::Status(s) => {
                return (
                    Err(err(s, "FaultInjected", format!("{s} (loopback fake)"))),
                    false,
                );
            }
            Fault::Pass | Fault::LoseAnswer => {}
        }
        if dcr != self.dcr {
            let m = format!("no data collection rule {dcr}");
            return (Err(err(404, "DataCollectionRuleNotFound", m)), false);
        }
        let Some(table) = by_stream(&self.declaration, stream) else {
            let m = format!("stream {stream} is not declared by the rule");
            return (Err(err(400, "InvalidStream", m)), false);
        };
        if !header("content-type").starts_with("application/json") {
            let m = "Content-Type must be application/json".to_owned();
            return (Err(err(415, "UnsupportedMediaType", m)), false);
        }
        let json = if header("content-encoding").eq_ignore_ascii_case("gzip") {
            let mut out = Vec::new();
            // Read at most one byte past the limit: a larger body is refused without inflating it.
            let read = flate2::read::GzDecoder::new(body)
                .take((self.limit.max(MAX_CALL_BYTES) * 64) as u64)
                .read_to_end(&mut out);
            if read.is_err() {
                let m = "the body is not gzip".to_owned();
                return (Err(err(400, "InvalidContentEncoding", m)), false);
            }
            out
        } else {
            body.to_vec()
        };
        g.received[index].json_bytes = json.len();
        let size = body.len().max(json.len());
        if size > self.limit {
            let m = format!("the request is {size} bytes, more than {}", self.limit);
            let answer = match self.too_large {
                TooLarge::Abort => err(0, "", String::new()),
                TooLarge::TimedOut => err(500, "TimeoutExpired", ABORT.to_owned()),
                TooLarge::Status => err(413, "RequestEntityTooLarge", m),
            };
            return (Err(answer), false);
        }
        let Ok(Value::Array(items)) = serde_json::from_slice::<Value>(&json) else {
            let m = "the body is not a JSON array".to_owned();
            return (Err(err(400, "InvalidPayload", m)), false);
        };
        let mut records = Vec::with_capacity(items.len());
        for item in items {
            let Value::Object(record) = item else {
                let m = "an item is not a JSON object".to_owned();
                return (Err(err(400, "InvalidPayload", m)), false);
            };
            records.push(record);
        }
        g.received[index].records = records.len();
        for record in records {
            match check_record(table, &record) {
                Ok(()) => g.accepted.push(Accepted {
                    stream: stream.to_owned(),
                    request: index,
                    record,
                }),
                Err(message) => g.dcr_errors.push(DcrError {
                    stream: stream.to_owned(),
                    request: index,
                    message,
                    record,
                }),
            }
        }
        (Ok(()), fault == Fault::LoseAnswer)
    }

    fn answered(&self, status: u16) {
        if let Some(last) = self.lock().received.last_mut() {
            last.status = status;
        }
    }
}

/// True for `Bearer <JWT>` whose `aud` is `audience` and whose `exp` is in the future.
fn token_for(authorization: &str, audience: &str) -> bool {
    let Some(jwt) = authorization.strip_prefix("Bearer ") else {
        return false;
    };
    let Some(claims) = jwt.split('.').nth(1) else {
        return false;
    };
    let Ok(claims) = URL_SAFE_NO_PAD.decode(claims.trim_end_matches('=')) else {
        return false;
    };
    let Ok(claims) = serde_json::from_slice::<Value>(&claims) else {
        return false;
    };
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    claims["aud"].as_str() == Some(audience) && claims["exp"].as_i64().is_some_and(|e| e > now)
}

/// The fake's router: `POST /dataCollectionRules/{id}/streams/{stream}`.
pub fn router(fake: FakeIngestion) -> axum::Router {
    axum::Router::new()
        .route(
            "/dataCollectionRules/{dcr}/streams/{stream}",
            axum::routing::post(upload),
        )
        .with_state(fake)
}

/// Serves the fake on a free loopback port; returns its base URL.
///
/// # Errors
/// The port cannot be bound.
pub async fn serve(fake: FakeIngestion) -> std::io::Result<String> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let url = format!("http://{}", listener.local_addr()?);
    tokio::spawn(async move { axum::serve(listener, router(fake)).await });
    Ok(url)
}

async fn upload(
    State(fake): State<FakeIngestion>,
    Path((dcr, stream)): Path<(String, String)>,
    Query(query): Query<std::collections::HashMap<String, String>>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    if query.get("api-version").map(String::as_str)
        != Some(bastion_recordings::ingestion::API_VERSION)
    {
        let body = json!({"error": {"code": "InvalidApiVersion", "message": "api-version 2023-01-01 is required"}});
        return (StatusCode::BAD_REQUEST, axum::Json(body)).into_response();
    }
    let (answer, lose) = fake.answer(&dcr, &stream, &headers, &body);
    if lose || matches!(answer, Err((0, ..))) {
        // Committed (or refused as too large), never answered: ending the connection's task drops
        // the connection without a response (resume_unwind runs no panic hook, so nothing is
        // printed).
        std::panic::resume_unwind(Box::new("loopback fake: answer lost"));
    }
    match answer {
        Ok(()) => {
            fake.answered(204);
            StatusCode::NO_CONTENT.into_response()
        }
        Err((status, retry_after, code, message)) => {
            fake.answered(status);
            let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            let body = json!({"error": {"code": code, "message": message}});
            let mut res = (status, axum::Json(body)).into_response();
            if let Ok(v) = code.parse() {
                res.headers_mut().insert("x-ms-error-code", v);
            }
            if let Some(v) = retry_after.and_then(|s| s.to_string().parse().ok()) {
                res.headers_mut().insert("retry-after", v);
            }
            res
        }
    }
}
/// The table of `declaration` fed by `stream`.
fn by_stream<'a>(declaration: &'a Declaration, stream: &str) -> Option<&'a TableDecl> {
    declaration.tables.iter().find(|t| t.stream == stream)
}

/// Whether `v` is a value of type `kind` (`null` is a value of every type).
fn accepts(kind: ColumnType, v: &Value) -> bool {
    match (kind, v) {
        (_, Value::Null) | (ColumnType::Dynamic, _) | (ColumnType::String, Value::String(_)) => {
            true
        }
        (ColumnType::Int, Value::Number(n)) => n.as_i64().is_some_and(|i| i32::try_from(i).is_ok()),
        (ColumnType::Long, Value::Number(n)) => n.is_i64() || n.is_u64(),
        (ColumnType::Real, Value::Number(_)) | (ColumnType::Boolean, Value::Bool(_)) => true,
        (ColumnType::Datetime, Value::String(s)) => {
            bastion_recordings::dates::timestamp(s).is_some()
        }
        _ => false,
    }
}

/// Holds `record` to `table`'s columns: every property a declared column, of its type.
///
/// # Errors
/// The first property that is not declared or not of its column's type (named, never its value).
pub fn check_record(table: &TableDecl, record: &Map<String, Value>) -> Result<(), String> {
    for (name, value) in record {
        let Some(c) = table.columns.iter().find(|c| c.name == *name) else {
            return Err(format!("{}: unknown column {name}", table.stream));
        };
        if !accepts(c.kind, value) {
            return Err(format!(
                "{}: column {name} is {:?}, the value is not",
                table.stream, c.kind
            ));
        }
    }
    Ok(())
}
