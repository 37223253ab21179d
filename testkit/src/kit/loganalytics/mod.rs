//! A loopback fake of the Logs Query API: workspaces of
//! `MicrosoftAzureBastionAuditLogs` rows (and `StorageBlobLogs` rows: module `blobs`;
//! `AzureActivity` rows: module `activity`; `AuditLogs` rows: module `auditlogs`), each with its `ingestion_time()` and the moment it
//! becomes visible to queries. It serves the window the query sends — the `ingestion_time()`
//! bounds, `take` (refused above the service's 500,000 rows), the `endswith` host filter, the
//! `project` list — and the request's `timespan` on `TimeGenerated`, in the documented answer shape
//! with the table's column types (`SessionEndTime` a string, `Duration` null while open) and
//! datetimes as Kusto writes them (whole seconds without a fraction). Documented answers on demand:
//! 429 with `Retry-After` or without, a partial result (an `error` beside the truncated tables), a
//! 504 once the request's `Prefer: wait` (or the fault's own delay, if shorter) has passed, any
//! status (after [`Fault::Pass`]es, to fail a later request); 204 without a body for a workspace
//! holding no row at all; a workspace can be forbidden (403) and unknown ones answer 404. Served
//! over HTTP ([`serve`]) or called in-process (it is a [`LogsQuery`]).

pub mod activity;
pub mod answers;
pub mod auditlogs;
pub mod blobs;

use std::collections::{BTreeMap, HashSet, VecDeque};
use std::sync::{Arc, Mutex, PoisonError};

use async_trait::async_trait;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use time::OffsetDateTime;

pub use answers::{FakeRow, answer_body};
use bastion_recordings::azure::AzureError;
use bastion_recordings::dates::timestamp;
use bastion_recordings::loganalytics::{Answer, LogsQuery};
use blobs::{BlobQuery, is_blob_row};

/// A fault served instead of (or with) the next answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fault {
    /// No fault: the request is answered normally (places a fault after some good answers).
    Pass,
    /// 429 with `Retry-After` seconds.
    Throttle(u64),
    /// 429 without `Retry-After`.
    ThrottleBare,
    /// The query runs past the server wait: 504 (`GatewayTimeout`) after the request's
    /// `Prefer: wait` or this delay, whichever is shorter.
    Timeout(std::time::Duration),
    /// The rows truncated to half and an `error` beside the tables.
    Partial,
    /// The answer's body broken off half-way (a connection cut while it streams).
    Cut,
    /// This HTTP status with an error body.
    Status(u16),
}

/// One query as received.
#[derive(Debug, Clone)]
pub struct Received {
    /// The workspace.
    pub workspace: String,
    /// The KQL.
    pub query: String,
    /// The `Authorization` header's token, if any.
    pub token: Option<String>,
    /// Rows answered.
    pub rows: usize,
    /// The `Prefer: wait` the request asked for, in seconds (`None`: no header).
    pub wait: Option<u64>,
}

#[derive(Default)]
struct Inner {
    rows: BTreeMap<String, Vec<FakeRow>>,
    audit_kept: BTreeMap<String, OffsetDateTime>,
    forbidden: HashSet<String>,
    faults: VecDeque<Fault>,
    received: Vec<Received>,
}

/// Decides whether a request's bearer token (`None`: no `Authorization`) is accepted.
pub type TokenCheck = Arc<dyn Fn(Option<&str>) -> bool + Send + Sync>;

/// The fake; clones share it.
#[derive(Clone, Default)]
pub struct FakeLogs {
    inner: Arc<Mutex<Inner>>,
    /// Checks a request's bearer token (HTTP only); `None` accepts any request.
    token_check: Option<TokenCheck>,
}

impl std::fmt::Debug for FakeLogs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FakeLogs").finish_non_exhaustive()
    }
}

/// The table's column types (the Logs Query API's names).
fn column_type(name: &str) -> &'static str {
    match name {
        "IngestedAt" | "TimeGenerated" | "Time" | "SessionStartTime" => "datetime",
        "ClientPort" => "int",
        "Duration" => "long",
        _ => "string",
    }
}

impl FakeLogs {
    /// A fake whose HTTP requests must carry a token `check` accepts (401 otherwise).
    #[must_use]
    pub fn with_token_check(mut self, check: TokenCheck) -> Self {
        self.token_check = Some(check);
        self
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Creates `workspace` (empty) so it answers 200 rather than 404.
    pub fn workspace(&self, workspace: &str) {
        self.lock().rows.entry(workspace.to_owned()).or_default();
    }

    /// Ingests `row` into `workspace`.
    pub fn ingest(&self, workspace: &str, row: FakeRow) {
        self.lock()
            .rows
            .entry(workspace.to_owned())
            .or_default()
            .push(row);
    }

    /// Makes `workspace` hold `AuditLogs` only from `since` on (its retention, or Entra's
    /// diagnostic setting made then): rows generated before are gone, and the table's earliest
    /// `TimeGenerated` is no earlier ([`auditlogs`]).
    pub fn audit_logs_kept_since(&self, workspace: &str, since: OffsetDateTime) {
        self.lock().audit_kept.insert(workspace.to_owned(), since);
    }

    /// Makes `workspace` answer 403 (or stop doing so).
    pub fn forbid(&self, workspace: &str, forbidden: bool) {
        let mut g = self.lock();
        if forbidden {
            g.forbidden.insert(workspace.to_owned());
        } else {
            g.forbidden.remove(workspace);
        }
    }

    /// Serves `faults`, one per request, before answering normally again.
    pub fn faults(&self, faults: impl IntoIterator<Item = Fault>) {
        self.lock().faults.extend(faults);
    }

    /// Faults not served yet.
    pub fn faults_left(&self) -> usize {
        self.lock().faults.len()
    }

    /// Every query received.
    pub fn received(&self) -> Vec<Received> {
        self.lock().received.clone()
    }

    /// Answers one query: `Err((status, retry_after, body))` for a fault (a 204 is
    /// `Err((204, None, Null))`), else the answer body; `Slow(delay)` first when the query is to
    /// time out.
    fn answer(
        &self,
        workspace: &str,
        body: &Value,
        token: Option<&str>,
        wait: Option<u64>,
    ) -> Answered {
        let query = body["query"].as_str().unwrap_or_default().to_owned();
        let mut g = self.lock();
        let fault = g.faults.pop_front();
        g.received.push(Received {
            workspace: workspace.to_owned(),
            query: query.clone(),
            token: token.map(str::to_owned),
            rows: 0,
            wait,
        });
        let err = |status: u16, code: &str| {
            let body =
                json!({"error": {"code": code, "message": format!("{code} (loopback fake)")}});
            Answered::Failed(status, None, body)
        };
        match fault {
            Some(Fault::Throttle(s)) => {
                return Answered::Failed(
                    429,
                    Some(s),
                    json!({"error": {"code": "ThrottledError",
                    "message": "Your request was throttled (loopback fake)"}}),
                );
            }
            Some(Fault::ThrottleBare) => return err(429, "ThrottledError"),
            Some(Fault::Status(s)) => return err(s, "FaultInjected"),
            Some(Fault::Timeout(delay)) => {
                // The service gives up when the request's wait runs out (its default: 3 min).
                let waited = std::time::Duration::from_secs(wait.unwrap_or(180)).min(delay);
                return Answered::TimedOut(waited);
            }
            _ => {}
        }
        if g.forbidden.contains(workspace) {
            return err(403, "InsufficientAccessError");
        }
        let Some(stored) = g.rows.get(workspace) else {
            return err(404, "PathNotFoundError");
        };
        if stored.is_empty() {
            // A workspace holding no data answers 204 without a body.
            return Answered::Failed(204, None, Value::Null);
        }
        if query.starts_with(activity::TABLE) {
            let now = OffsetDateTime::now_utc();
            let rows: Vec<&FakeRow> = stored
                .iter()
                .filter(|r| r.visible_from <= now && r.is_of(activity::TABLE))
                .collect();
            let partial = fault == Some(Fault::Partial);
            let Some(out) = activity::answer(&query, body["timespan"].as_str(), &rows, partial)
            else {
                return err(400, "BadArgumentError");
            };
            return Answered::Body(out);
        }
        if query.starts_with(auditlogs::UNION) {
            let now = OffsetDateTime::now_utc();
            let rows: Vec<&FakeRow> = stored
                .iter()
                .filter(|r| r.visible_from <= now && auditlogs::is_audit_row(r))
                .collect();
            let partial = fault == Some(Fault::Partial);
            let kept = g.audit_kept.get(workspace).copied();
            let Some(out) =
                auditlogs::answer(&query, body["timespan"].as_str(), (&rows, kept), partial)
            else {
                return err(400, "BadArgumentError");
            };
            return Answered::Body(out);
        }
        if query.contains(blobs::TABLE) {
            let Some(q) = BlobQuery::new(&query, body["timespan"].as_str()) else {
                return err(400, "BadArgumentError");
            };
            let now = OffsetDateTime::now_utc();
            let mut rows: Vec<&FakeRow> = stored
                .iter()
                .filter(|r| r.visible_from <= now && q.matches(r))
                .collect();
            rows.sort_by_key(|r| q.order(r));
            rows.truncate(q.limit);
            let partial = fault == Some(Fault::Partial);
            if partial {
                rows.truncate(rows.len() / 2);
            }
            let n = rows.len();
            let out = q.body(&rows, partial);
            if let Some(last) = g.received.last_mut() {
                last.rows = n;
            }
            return Answered::Body(out);
        }
        let Some(q) = Parsed::new(&query, body["timespan"].as_str()) else {
            return err(400, "BadArgumentError");
        };
        if q.take > bastion_recordings::loganalytics::ROW_CAP {
            return err(400, "BadArgumentError");
        }
        let now = OffsetDateTime::now_utc();
        let mut rows: Vec<&FakeRow> = stored
            .iter()
            .filter(|r| {
                r.visible_from <= now
                    && !is_blob_row(r)
                    && !r.is_of(activity::TABLE)
                    && !auditlogs::is_audit_row(r)
                    && q.matches(r)
            })
            .collect();
        rows.sort_by_key(|r| r.ingested);
        rows.truncate(q.take);
        let partial = fault == Some(Fault::Partial);
        if partial {
            rows.truncate(rows.len() / 2);
        }
        let n = rows.len();
        let mut out = q.body(&rows, partial);
        if fault == Some(Fault::Cut) {
            out.truncate(out.len() / 2);
        }
        if let Some(last) = g.received.last_mut() {
            last.rows = n;
        }
        Answered::Body(out)
    }
}

/// What the fake answers a query.
enum Answered {
    /// 200 with this body.
    Body(Vec<u8>),
    /// This status, `Retry-After` and error body (`Null`: no body).
    Failed(u16, Option<u64>, Value),
    /// 504 after this wait.
    TimedOut(std::time::Duration),
}

/// The body of the 504 a query past its wait gets.
fn timed_out_body() -> Value {
    json!({"error": {"code": "GatewayTimeout", "message": "The query exceeded the request's time limit (loopback fake)"}})
}

/// What the fake understands of the query.
struct Parsed {
    lo: OffsetDateTime,
    hi: OffsetDateTime,
    take: usize,
    host: Option<String>,
    columns: Vec<String>,
    span: Option<(OffsetDateTime, OffsetDateTime)>,
}

fn between<'a>(text: &'a str, start: &str, end: &str) -> Option<&'a str> {
    let from = text.find(start)? + start.len();
    let len = text[from..].find(end)?;
    Some(&text[from..from + len])
}

impl Parsed {
    fn new(query: &str, timespan: Option<&str>) -> Option<Self> {
        let lo = timestamp(between(query, "ingestion_time() >= datetime(", ")")?)?;
        let hi = timestamp(between(query, "ingestion_time() < datetime(", ")")?)?;
        let take = query.rsplit("| take ").next()?.trim().parse().ok()?;
        let host = between(query, "endswith \"/bastionhosts/", "\"").map(str::to_owned);
        let columns = between(query, "| project ", "\n")?
            .split(',')
            .map(|c| c.trim().to_owned())
            .collect();
        let span = timespan.and_then(|t| {
            let (a, b) = t.split_once('/')?;
            Some((timestamp(a)?, timestamp(b)?))
        });
        Some(Self {
            lo,
            hi,
            take,
            host,
            columns,
            span,
        })
    }

    fn matches(&self, r: &FakeRow) -> bool {
        let generated = r
            .values
            .get("TimeGenerated")
            .and_then(Value::as_str)
            .and_then(timestamp);
        let in_span = self
            .span
            .is_none_or(|(a, b)| generated.is_some_and(|g| g >= a && g < b));
        let host = self.host.as_ref().is_none_or(|h| {
            r.values
                .get("_ResourceId")
                .and_then(Value::as_str)
                .is_some_and(|id| {
                    id.to_ascii_lowercase()
                        .ends_with(&format!("/bastionhosts/{h}"))
                })
        });
        r.ingested >= self.lo && r.ingested < self.hi && in_span && host
    }

    fn body(&self, rows: &[&FakeRow], partial: bool) -> Vec<u8> {
        let cell = |r: &FakeRow, c: &str| match c {
            "IngestedAt" => json!(answers::format_utc_ticks(r.ingested)),
            c => r.values.get(c).cloned().unwrap_or(Value::Null),
        };
        answer_body(&self.columns, column_type, rows, cell, partial)
    }
}

#[async_trait]
impl LogsQuery for FakeLogs {
    async fn query(
        &self,
        workspace: &str,
        query: &str,
        timespan: &str,
        wait: std::time::Duration,
    ) -> Result<Answer, AzureError> {
        let body = bastion_recordings::loganalytics::request_body(query, timespan);
        match self.answer(workspace, &body, None, Some(wait.as_secs().max(1))) {
            Answered::Body(b) => Ok(Answer::from_bytes(b)),
            Answered::TimedOut(after) => {
                tokio::time::sleep(after).await;
                Err(AzureError::ServerTimeout {
                    code: "GatewayTimeout".into(),
                })
            }
            Answered::Failed(204, ..) => Ok(Answer::empty()),
            Answered::Failed(403, ..) => Err(AzureError::Forbidden {
                role: format!(
                    "{} on workspace {workspace}",
                    bastion_recordings::loganalytics::ROLE
                ),
            }),
            Answered::Failed(404, ..) => Err(AzureError::NotFound),
            Answered::Failed(429, s, _) => Err(AzureError::Throttled {
                retry_after: s.map(std::time::Duration::from_secs),
            }),
            Answered::Failed(status, ..) => Err(AzureError::Rejected {
                status,
                code: "FaultInjected".into(),
                message: String::new(),
            }),
        }
    }
}

/// The fake's HTTP router: `POST /v1/workspaces/{id}/query`.
pub fn router(fake: FakeLogs) -> axum::Router {
    axum::Router::new()
        .route("/v1/workspaces/{id}/query", axum::routing::post(http_query))
        .with_state(fake)
}

/// Serves the fake on a free loopback port; returns its base URL.
///
/// # Errors
/// The port cannot be bound.
pub async fn serve(fake: FakeLogs) -> std::io::Result<String> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let url = format!("http://{}", listener.local_addr()?);
    tokio::spawn(async move { axum::serve(listener, router(fake)).await });
    Ok(url)
}

async fn http_query(
    State(fake): State<FakeLogs>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    let token = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    if let Some(check) = &fake.token_check
        && !check(token)
    {
        let body =
            json!({"error": {"code": "InvalidTokenError", "message": "token missing or invalid"}});
        return (StatusCode::UNAUTHORIZED, axum::Json(body)).into_response();
    }
    let Ok(body) = serde_json::from_slice::<Value>(&body) else {
        // A POST without its JSON body: the service answers an empty 200.
        return StatusCode::OK.into_response();
    };
    let wait = headers
        .get("prefer")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().strip_prefix("wait="))
        .and_then(|v| v.trim().parse::<u64>().ok());
    match fake.answer(&id, &body, token, wait) {
        Answered::Body(b) => {
            ([("content-type", "application/json; charset=utf-8")], b).into_response()
        }
        Answered::TimedOut(after) => {
            tokio::time::sleep(after).await;
            (StatusCode::GATEWAY_TIMEOUT, axum::Json(timed_out_body())).into_response()
        }
        Answered::Failed(status, _, Value::Null) => StatusCode::from_u16(status)
            .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
            .into_response(),
        Answered::Failed(status, retry_after, b) => {
            let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            let mut res = (status, axum::Json(b)).into_response();
            if let Some(s) = retry_after.and_then(|s| s.to_string().parse().ok()) {
                res.headers_mut().insert("retry-after", s);
            }
            res
        }
    }
}
