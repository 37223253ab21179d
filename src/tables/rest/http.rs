//! One Table REST request: authorisation, standard headers, bounded retries, error classification.
//!
//! Retries connect errors, timeouts, 408, 429 and 5xx a few times (`backon`, honouring
//! `Retry-After` up to a cap), then reports `Transient` so the invocation is retried by the host
//! instead of sitting in back-off; the caller's total deadline bounds the whole. Error texts are
//! redacted (request URLs carry the SAS).

use std::sync::Arc;
use std::time::Duration;

use azure_core::credentials::TokenCredential;
use backon::{ExponentialBuilder, Retryable as _};
use reqwest::header::{HeaderMap, HeaderValue};
use reqwest::{Method, Response, StatusCode};

use crate::storage::identity;
use crate::storage::sas::SasSigner;
use crate::tables::{Entity, TableError, strip_annotations};
use crate::telemetry::redact;

/// REST version: the oldest that supports Entra ID tokens; accepted by Azurite 3.35 and Azure.
const VERSION: &str = "2019-02-02";
/// Retries per request after the first try.
const RETRIES: usize = 2;
/// First back-off; each next one is four times longer (200 ms, 800 ms), jittered.
const FIRST_DELAY: Duration = Duration::from_millis(200);
/// Longest single back-off, whatever `Retry-After` asks for.
const MAX_DELAY: Duration = Duration::from_secs(2);

/// How requests are authorised.
pub(crate) enum Auth {
    /// Account SAS (`ss=t`) in the query string.
    Sas(SasSigner),
    /// Bearer token from a credential (managed identity).
    Token(Arc<dyn TokenCredential>),
}

/// A request to send: everything needed to rebuild it for a retry.
pub(crate) struct Call<'a> {
    /// HTTP method.
    pub method: Method,
    /// Path below the service URL (`Tables`, `t(PartitionKey='…',RowKey='…')`, `t()`).
    pub path: &'a str,
    /// Already encoded query parameters.
    pub query: Vec<String>,
    /// Extra headers (`If-Match`, `Prefer`, …).
    pub headers: HeaderMap,
    /// JSON body, if any.
    pub body: Option<Vec<u8>>,
}

impl<'a> Call<'a> {
    /// A request without query parameters, extra headers or body.
    pub(crate) fn new(method: Method, path: &'a str) -> Self {
        let (query, headers, body) = (Vec::new(), HeaderMap::new(), None);
        Self {
            method,
            path,
            query,
            headers,
            body,
        }
    }
}

/// A failed try, with the wait the service asked for.
struct Failed {
    error: TableError,
    retry_after: Option<Duration>,
}

/// The back-off between tries.
fn policy() -> ExponentialBuilder {
    ExponentialBuilder::new()
        .with_min_delay(FIRST_DELAY)
        .with_factor(4.0)
        .with_max_delay(MAX_DELAY)
        .with_max_times(RETRIES)
        .with_jitter()
}

/// Sends `call`, retrying transient failures; returns the response for any non-retryable status.
pub(crate) async fn send(
    http: &reqwest::Client,
    base: &str,
    auth: &Auth,
    call: &Call<'_>,
) -> Result<Response, TableError> {
    let attempt = || async {
        match try_once(http, base, auth, call).await {
            Ok(res) if !retryable(res.status()) => Ok(res),
            Ok(res) => {
                let retry_after = crate::retry_after::of(res.headers());
                let error = TableError::from_status(res.status().as_u16(), error_code(res).await);
                Err(Failed { error, retry_after })
            }
            Err(error) => Err(Failed {
                error,
                retry_after: None,
            }),
        }
    };
    attempt
        .retry(policy())
        .sleep(tokio::time::sleep)
        .when(|f| f.error.is_transient())
        // The service's own wait wins over the back-off, capped: beyond the cap the caller's
        // deadline would pass anyway, and the host retries the whole invocation later.
        .adjust(|f, backoff| backoff.map(|d| f.retry_after.map_or(d, |a| a.min(MAX_DELAY))))
        .await
        .map_err(|f| f.error)
}

async fn try_once(
    http: &reqwest::Client,
    base: &str,
    auth: &Auth,
    call: &Call<'_>,
) -> Result<Response, TableError> {
    let mut query = call.query.clone();
    if let Auth::Sas(signer) = auth {
        query.push(signer.token());
    }
    let mut url = format!("{}/{}", base.trim_end_matches('/'), call.path);
    if !query.is_empty() {
        url = format!("{url}?{}", query.join("&"));
    }
    let date = httpdate_now();
    let mut rb = http
        .request(call.method.clone(), &url)
        .header("x-ms-version", VERSION)
        .header("x-ms-date", date)
        .header("DataServiceVersion", "3.0")
        .header("MaxDataServiceVersion", "3.0;NetFx")
        .header("Accept", "application/json;odata=minimalmetadata")
        .headers(call.headers.clone());
    if let Some(body) = &call.body {
        // A batch brings its own (multipart) content type.
        if !call.headers.contains_key(reqwest::header::CONTENT_TYPE) {
            rb = rb.header("Content-Type", "application/json");
        }
        rb = rb.body(body.clone());
    }
    if let Auth::Token(cred) = auth {
        let token = identity::bearer(cred.as_ref(), "https://storage.azure.com/.default").await;
        rb = rb.bearer_auth(token.map_err(TableError::Transient)?);
    }
    rb.send().await.map_err(|e| {
        let builder = e.is_builder();
        let text = redact(&e.without_url().to_string());
        if builder {
            TableError::Permanent(text)
        } else {
            TableError::Transient(text)
        }
    })
}

fn retryable(status: StatusCode) -> bool {
    matches!(status.as_u16(), 408 | 429 | 500..=599)
}

/// The service's error code (`EntityAlreadyExists`, `UpdateConditionNotSatisfied`, …), for messages.
pub(crate) async fn error_code(res: Response) -> String {
    let header = res
        .headers()
        .get("x-ms-error-code")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let body = res.text().await.unwrap_or_default();
    let from_body = serde_json::from_str::<serde_json::Value>(&body)
        .ok()
        .and_then(|v| {
            v.pointer("/odata.error/code")
                .and_then(|c| c.as_str())
                .map(str::to_owned)
        });
    redact(
        &header
            .or(from_body)
            .unwrap_or_else(|| "(no error code)".to_owned()),
    )
}

/// Maps a non-success response to an error.
pub(crate) async fn fail(res: Response) -> TableError {
    let status = res.status().as_u16();
    TableError::from_status(status, error_code(res).await)
}

/// `res` when its status is a success, else its failure (see [`fail`]).
pub(crate) async fn success(res: Response) -> Result<Response, TableError> {
    if res.status().is_success() {
        Ok(res)
    } else {
        Err(fail(res).await)
    }
}

/// A header value from text we produced (ETags echo what the service sent).
pub(crate) fn header(v: &str) -> Result<HeaderValue, TableError> {
    HeaderValue::from_str(v).map_err(|_| TableError::Permanent("invalid ETag value".to_owned()))
}

fn httpdate_now() -> String {
    let fmt = time::macros::format_description!(
        "[weekday repr:short], [day] [month repr:short] [year] [hour]:[minute]:[second] GMT"
    );
    time::OffsetDateTime::now_utc()
        .format(&fmt)
        .unwrap_or_default()
}

/// The `ETag` response header.
pub(crate) fn etag_of(res: &reqwest::Response) -> Result<String, TableError> {
    res.headers()
        .get("etag")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
        .ok_or_else(|| TableError::Permanent("response without ETag".to_owned()))
}

/// Removes what the service adds to every entity so results compare equal across implementations.
pub(crate) fn clean(mut entity: Entity) -> Entity {
    strip_annotations(&mut entity);
    entity.remove("Timestamp");
    entity
}

pub(crate) fn if_match(etag: &str) -> Result<HeaderMap, TableError> {
    let mut h = HeaderMap::new();
    h.insert("If-Match", header(etag)?);
    Ok(h)
}

pub(crate) fn json(entity: &Entity) -> Result<Vec<u8>, TableError> {
    serde_json::to_vec(entity).map_err(|e| TableError::Permanent(format!("entity: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_is_short_and_bounded() {
        use backon::BackoffBuilder as _;
        let delays: Vec<Duration> = policy().build().collect();
        assert_eq!(delays.len(), RETRIES);
        let total: Duration = delays.iter().sum();
        // Jitter adds at most one more delay's worth to each.
        assert!(total <= 2 * (FIRST_DELAY + 4 * FIRST_DELAY), "{delays:?}");
        assert!(delays.iter().all(|d| *d <= 2 * MAX_DELAY), "{delays:?}");
        assert!(
            retryable(StatusCode::SERVICE_UNAVAILABLE) && retryable(StatusCode::TOO_MANY_REQUESTS)
        );
        assert!(!retryable(StatusCode::PRECONDITION_FAILED) && !retryable(StatusCode::CONFLICT));
    }

    #[test]
    fn dates_use_the_http_format() {
        let d = httpdate_now();
        assert!(d.ends_with(" GMT") && d.len() == 29, "{d}");
    }
}
