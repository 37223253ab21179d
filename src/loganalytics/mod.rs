//! The Log Analytics Logs Query API (`POST {endpoint}/v1/workspaces/{id}/query`) over
//! [`crate::azure::http`], the answer read as a stream (module `answer`). A trait, so tests and the
//! benchmark can put a loopback fake or a counting decorator in its place. A query's bounds on
//! `ingestion_time()` and the cursor they advance are [`mod@slice`].

mod answer;
pub mod row;
pub mod slice;

use std::sync::Arc;

use async_trait::async_trait;
use reqwest::Method;
use serde_json::json;
use url::Url;

use crate::azure::AzureError;

pub use answer::{Answer, Item};

use crate::azure::http::{Client, Request};

/// The token scope of the query API in the public cloud.
pub const SCOPE: &str = "https://api.loganalytics.io/.default";
/// The public cloud's endpoint (`LOGANALYTICS_ENDPOINT`'s default).
pub const DEFAULT_ENDPOINT: &str = "https://api.loganalytics.azure.com";
/// The most rows one query may return (the query limits of Log Analytics: 500,000 rows a result).
pub const ROW_CAP: usize = 500_000;
/// The longest server wait the service allows (`Prefer: wait`, seconds): 10 minutes.
pub const MAX_WAIT: std::time::Duration = std::time::Duration::from_secs(600);

/// The token scope for `endpoint`: the US Government and 21Vianet clouds have their own audience,
/// any other host (private link, loopback) is the public cloud's.
pub fn scope_for(endpoint: &Url) -> &'static str {
    let host = endpoint.host_str().unwrap_or_default().to_ascii_lowercase();
    let host = host.trim_end_matches('.');
    if host == "loganalytics.us" || host.ends_with(".loganalytics.us") {
        "https://api.loganalytics.us/.default"
    } else if host == "loganalytics.azure.cn" || host.ends_with(".loganalytics.azure.cn") {
        "https://api.loganalytics.azure.cn/.default"
    } else {
        SCOPE
    }
}
/// The role a refused query names: infra's table read grant, or the whole-workspace fallback.
pub const ROLE: &str = "Bastion workspace table reader (or Log Analytics Reader)";

/// Runs KQL queries against workspaces.
#[async_trait]
pub trait LogsQuery: Send + Sync {
    /// Sends `query` over `timespan` (ISO 8601 interval) to `workspace` (its customer id), asking
    /// the service to give up after `wait` (`Prefer: wait`); the answer's rows are read as they
    /// arrive.
    ///
    /// # Errors
    /// [`AzureError`] (403 names the role, 404 the workspace, 429 after the retries is `Throttled`,
    /// the service's timeout is `ServerTimeout`).
    async fn query(
        &self,
        workspace: &str,
        query: &str,
        timespan: &str,
        wait: std::time::Duration,
    ) -> Result<Answer, AzureError>;
}

/// The request body of a query (what the client sends and the fake answers).
pub fn request_body(query: &str, timespan: &str) -> serde_json::Value {
    json!({ "query": query, "timespan": timespan })
}

/// The client for one endpoint.
#[derive(Debug, Clone)]
pub struct LogsClient {
    http: Client,
    endpoint: Url,
}

impl LogsClient {
    /// A client of `endpoint` (checked by the caller: https, or loopback http when allowed).
    pub fn new(http: Client, endpoint: Url) -> Self {
        Self { http, endpoint }
    }

    /// The query URL of `workspace`.
    ///
    /// # Errors
    /// A workspace id that is not one path segment.
    pub fn url(&self, workspace: &str) -> Result<Url, AzureError> {
        let mut url = self.endpoint.clone();
        url.path_segments_mut()
            .map_err(|()| AzureError::Transient("the endpoint cannot be a base".into()))?
            .pop_if_empty()
            .extend(["v1", "workspaces", workspace, "query"]);
        Ok(url)
    }
}

#[async_trait]
impl LogsQuery for LogsClient {
    async fn query(
        &self,
        workspace: &str,
        query: &str,
        timespan: &str,
        wait: std::time::Duration,
    ) -> Result<Answer, AzureError> {
        let body = request_body(query, timespan);
        let role = format!("{ROLE} on workspace {workspace}");
        let req = Request::new(Method::POST, self.url(workspace)?, &role)
            .op("Logs Query")
            .json(&body)
            .server_wait(wait.min(MAX_WAIT));
        let res = self.http.send(&req).await?;
        if res.status() == reqwest::StatusCode::NO_CONTENT {
            // A workspace without data: no body, no rows.
            return Ok(Answer::empty());
        }
        Ok(Answer::from_response(res))
    }
}

/// A shared client.
pub type SharedLogs = Arc<dyn LogsQuery>;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::azure::http::Auth;
    use crate::azure::{Policy, Timeouts};

    #[test]
    fn each_cloud_has_its_own_token_audience() {
        for (endpoint, scope) in [
            (
                "https://api.loganalytics.azure.com",
                "https://api.loganalytics.io/.default",
            ),
            (
                "https://api.loganalytics.io/",
                "https://api.loganalytics.io/.default",
            ),
            (
                "https://api.loganalytics.us",
                "https://api.loganalytics.us/.default",
            ),
            (
                "https://API.LogAnalytics.Azure.CN/",
                "https://api.loganalytics.azure.cn/.default",
            ),
            (
                "http://127.0.0.1:8080",
                "https://api.loganalytics.io/.default",
            ),
            (
                "https://evil-loganalytics.us.example",
                "https://api.loganalytics.io/.default",
            ),
        ] {
            assert_eq!(
                scope_for(&Url::parse(endpoint).expect("url")),
                scope,
                "{endpoint}"
            );
        }
    }

    #[test]
    fn the_query_url_is_under_the_endpoint() {
        let endpoint = Url::parse("https://api.loganalytics.azure.com/").expect("url");
        let c = LogsClient::new(
            Client::new(
                "logs",
                Some(&endpoint),
                Auth::None,
                Timeouts::CONTROL,
                Policy::CONTROL,
            )
            .expect("client"),
            endpoint.clone(),
        );
        assert_eq!(
            c.url("a1b2").expect("url").as_str(),
            "https://api.loganalytics.azure.com/v1/workspaces/a1b2/query"
        );
    }
}
