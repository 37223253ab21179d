//! The Azure Monitor Logs Ingestion API: `POST {endpoint}/dataCollectionRules/{immutableId}/
//! streams/{stream}?api-version=2023-01-01`, a gzip-compressed JSON array of records, a bearer
//! token for `https://monitor.azure.com/.default` (`.us`, `.cn` in those clouds), **204** without a
//! body when accepted. Over the one REST client, [`crate::azure::http`] (the run's end, the one
//! retry policy: 429 with `Retry-After`, 5xx and timeouts tried again, and the 403 that names the
//! role), and a trait, so the drain, the tests and the benchmark can
//! put the loopback fake (the test kit's `ingestion`) or a counting decorator in its place.
//!
//! - [`schema`]: a declaration of tables and streams, and the check of one record against it.
//! - [`pack`]: records into calls of at most 1 MB of JSON, fields cut at 64 KB.
//!
//! A call too large is answered 413, by the connection being aborted, or by an answer whose error
//! is `TimeoutExpired` or names `ReadyBody_ClientConnectionAbort` (Learn's Logs Ingestion
//! tutorial, `tutorial-logs-ingestion-code.md`, troubleshooting: "the message is too large"):
//! the client returns each as the refusal `Rejected` 413, never tried again with the same body,
//! so the drain halves the call.

pub mod pack;
pub mod schema;

use std::time::Instant;

use async_trait::async_trait;
use reqwest::Method;
use reqwest::header::{CONTENT_ENCODING, HeaderValue};
use url::{Host, Url};

pub use pack::{Call, MAX_CALL_BYTES};

use crate::azure::AzureError;
use crate::azure::http::{Client, Request};
use crate::permissions::Operation;

/// The API version the client speaks.
pub const API_VERSION: &str = "2023-01-01";
/// The role a refused call names.
pub const ROLE: &str = "Monitoring Metrics Publisher";
/// The public cloud's token scope.
pub const PUBLIC_SCOPE: &str = "https://monitor.azure.com/.default";

/// Sends batches of records to one data collection rule.
#[async_trait]
pub trait LogsIngestion: Send + Sync {
    /// Posts one gzip body (a JSON array of records) to `stream`; every try and wait ends by
    /// `until`.
    ///
    /// # Errors
    /// [`AzureError`]: `Forbidden` (403, naming Monitoring Metrics Publisher on the rule),
    /// `Rejected` with status 413 (too large, answered so, by an aborted connection or by an
    /// error `TimeoutExpired` / `ReadyBody_ClientConnectionAbort`: split it)
    /// or 400, `NotFound` (no such rule),
    /// `Permanent` for another 4xx (401), `Throttled` when the service's wait passes `until`,
    /// `Transient` after retries of 5xx and timeouts.
    async fn upload(&self, stream: &str, gzip: &[u8], until: Instant) -> Result<(), AzureError>;
}

/// The error code of the service's other answer to a call too large: an aborted connection.
pub const ABORT_CODE: &str = "ReadyBody_ClientConnectionAbort";
/// The error code Learn's tutorial gives with [`ABORT_CODE`] for a call too large.
pub const TIMEOUT_CODE: &str = "TimeoutExpired";

/// The token scope of a Logs Ingestion endpoint: `https://monitor.azure.<tld>/.default`, with the
/// endpoint's cloud (`…ingest.monitor.azure.us`, `.cn`); the public cloud's for any other host.
pub fn scope_of(endpoint: &Url) -> String {
    let host = match endpoint.host() {
        Some(Host::Domain(d)) => d.to_ascii_lowercase(),
        _ => String::new(),
    };
    match host.rsplit('.').take(2).collect::<Vec<_>>().as_slice() {
        ["us", "azure"] => "https://monitor.azure.us/.default".to_owned(),
        ["cn", "azure"] => "https://monitor.azure.cn/.default".to_owned(),
        _ => PUBLIC_SCOPE.to_owned(),
    }
}

/// The client of one data collection rule.
#[derive(Debug)]
pub struct IngestionClient {
    http: Client,
    endpoint: Url,
    dcr: String,
}

impl IngestionClient {
    /// A client of `endpoint` (checked by the caller: https, or loopback http when allowed) and
    /// the rule whose immutable id is `dcr`; `http` carries the token scope ([`scope_of`]), the
    /// timeouts and the policy.
    pub fn new(http: Client, endpoint: Url, dcr: &str) -> Self {
        Self {
            http,
            endpoint,
            dcr: dcr.to_owned(),
        }
    }

    /// The URL of `stream`.
    ///
    /// # Errors
    /// An endpoint that cannot be a base.
    pub fn url(&self, stream: &str) -> Result<Url, AzureError> {
        let mut url = self.endpoint.clone();
        url.path_segments_mut()
            .map_err(|()| AzureError::Transient("the endpoint cannot be a base".into()))?
            .pop_if_empty()
            .extend(["dataCollectionRules", &self.dcr, "streams", stream]);
        url.query_pairs_mut()
            .append_pair("api-version", API_VERSION);
        Ok(url)
    }
}

#[async_trait]
impl LogsIngestion for IngestionClient {
    async fn upload(&self, stream: &str, gzip: &[u8], until: Instant) -> Result<(), AzureError> {
        let role = format!("{ROLE} on data collection rule {}", self.dcr);
        // JSON text already gzip-compressed, sent as it is by every try.
        let req = Request::new(Method::POST, self.url(stream)?, &role)
            .op(Operation::UploadLogs.name())
            .body(bytes::Bytes::copy_from_slice(gzip), "application/json")
            .header(CONTENT_ENCODING, HeaderValue::from_static("gzip"))
            .until(Some(until))
            .abort_is(413, ABORT_CODE, &[TIMEOUT_CODE]);
        self.http.send(&req).await.map(|_| ())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::azure::http::Auth;
    use crate::azure::{Policy, Timeouts};

    #[test]
    fn the_url_names_rule_and_stream_with_the_api_version() {
        let endpoint =
            Url::parse("https://dce-x.westeurope-1.ingest.monitor.azure.com").expect("url");
        let http = Client::new(
            "Logs Ingestion",
            Some(&endpoint),
            Auth::None,
            Timeouts::CONTROL,
            Policy::CONTROL,
        )
        .expect("client");
        let c = IngestionClient::new(
            http,
            Url::parse("https://dce-x.westeurope-1.ingest.monitor.azure.com").expect("url"),
            "dcr-0123456789abcdef0123456789abcdef",
        );
        assert_eq!(
            c.url("Custom-BastionReviews").expect("url").as_str(),
            "https://dce-x.westeurope-1.ingest.monitor.azure.com/dataCollectionRules/dcr-0123456789abcdef0123456789abcdef/streams/Custom-BastionReviews?api-version=2023-01-01"
        );
    }

    #[test]
    fn the_audience_follows_the_endpoints_cloud() {
        let scope = |u: &str| scope_of(&Url::parse(u).expect("url"));
        assert_eq!(
            scope("https://x.westeurope-1.ingest.monitor.azure.com"),
            "https://monitor.azure.com/.default"
        );
        assert_eq!(
            scope("https://x.usgovvirginia-1.ingest.monitor.azure.us/"),
            "https://monitor.azure.us/.default"
        );
        assert_eq!(
            scope("https://x.chinanorth3-1.ingest.monitor.azure.cn"),
            "https://monitor.azure.cn/.default"
        );
        assert_eq!(scope("http://127.0.0.1:9"), PUBLIC_SCOPE);
    }
}
