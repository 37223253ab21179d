//! The Log Analytics Logs Query API (`POST {endpoint}/v1/workspaces/{id}/query`, body
//! `{"query","timespan"}`, bearer token for `https://api.loganalytics.io/.default`) over
//! [`crate::rest`], with the answer read as a stream (module `answer`). A trait, so tests and the
//! benchmark can put a loopback fake or a counting decorator in its place.

mod answer;
#[cfg(feature = "test-support")]
pub mod fake;

use std::sync::Arc;

use async_trait::async_trait;
use reqwest::Method;
use serde_json::json;
use url::Url;

pub use answer::{Answer, Item};

use crate::rest::{Body, RestClient, RestError, RestRequest};

/// The token scope of the query API.
pub const SCOPE: &str = "https://api.loganalytics.io/.default";
/// The public cloud's endpoint (`LOGANALYTICS_ENDPOINT`'s default).
pub const DEFAULT_ENDPOINT: &str = "https://api.loganalytics.azure.com";
/// The role a refused query names.
pub const ROLE: &str = "Log Analytics Reader";

/// Runs KQL queries against workspaces.
#[async_trait]
pub trait LogsQuery: Send + Sync {
    /// Sends `query` over `timespan` (ISO 8601 interval) to `workspace` (its customer id); the
    /// answer's rows are read as they arrive.
    ///
    /// # Errors
    /// [`RestError`] (403 names the role, 404 the workspace, 429 after the deadline is `Throttled`).
    async fn query(
        &self,
        workspace: &str,
        query: &str,
        timespan: &str,
    ) -> Result<Answer, RestError>;
}

/// The request body of a query (what the client sends and the fake answers).
pub fn request_body(query: &str, timespan: &str) -> serde_json::Value {
    json!({ "query": query, "timespan": timespan })
}

/// The client for one endpoint.
#[derive(Debug, Clone)]
pub struct LogsClient {
    rest: RestClient,
    endpoint: Url,
}

impl LogsClient {
    /// A client of `endpoint` (checked by the caller: https, or loopback http when allowed).
    pub fn new(rest: RestClient, endpoint: Url) -> Self {
        Self { rest, endpoint }
    }

    /// The query URL of `workspace`.
    ///
    /// # Errors
    /// A workspace id that is not one path segment.
    pub fn url(&self, workspace: &str) -> Result<Url, RestError> {
        let mut url = self.endpoint.clone();
        url.path_segments_mut()
            .map_err(|()| RestError::Transient("the endpoint cannot be a base".into()))?
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
    ) -> Result<Answer, RestError> {
        let body = request_body(query, timespan);
        let role = format!("{ROLE} on workspace {workspace}");
        let res = self
            .rest
            .send(RestRequest {
                method: Method::POST,
                url: self.url(workspace)?,
                body: Some(Body::Json(&body)),
                role: &role,
            })
            .await?;
        Ok(Answer::from_response(res))
    }
}

/// A shared client.
pub type SharedLogs = Arc<dyn LogsQuery>;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rest::RestLimits;

    #[test]
    fn the_query_url_is_under_the_endpoint() {
        let c = LogsClient::new(
            RestClient::new(None, SCOPE, RestLimits::default()),
            Url::parse("https://api.loganalytics.azure.com/").expect("url"),
        );
        assert_eq!(
            c.url("a1b2").expect("url").as_str(),
            "https://api.loganalytics.azure.com/v1/workspaces/a1b2/query"
        );
    }
}
