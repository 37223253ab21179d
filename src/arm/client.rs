//! The Resource Manager calls over [`crate::rest::RestClient`] (bearer token for
//! `{ARM_ENDPOINT}/.default`, deadlines, 429/5xx retries, 403 as the missing role): `nextLink`
//! paging and the long-running `getActiveSessions` (200, or 202 with `Location` /
//! `Azure-AsyncOperation` polled until done). A `nextLink` or polling URL is followed only on the
//! configured endpoint, so the token never leaves Resource Manager.

use std::time::{Duration, Instant};

use async_trait::async_trait;
use reqwest::Method;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};
use url::Url;

use super::model::Page;
use super::{
    ActiveSession, ArmError, BASTION_API, BastionHost, BlobService, Container, DIAGNOSTICS_API,
    DiagnosticSetting, DisconnectResult, ResourceManager, STORAGE_API,
};
use crate::rest::{Body, RestClient, RestRequest};

/// Most pages one list follows (a runaway `nextLink` chain stops here).
const MAX_PAGES: usize = 50;
/// How long a long-running operation may take before the call gives up.
const LRO_BUDGET: Duration = Duration::from_secs(60);
/// Poll interval when the service names none; and the longest one honoured.
const POLL_DEFAULT: Duration = Duration::from_secs(1);
const POLL_MAX: Duration = Duration::from_secs(10);

/// Resource Manager over the REST client.
#[derive(Clone)]
pub struct ArmClient {
    rest: RestClient,
    base: Url,
}

/// `api-version` of `Microsoft.OperationalInsights/workspaces`.
const WORKSPACE_API: &str = "2023-09-01";

/// The part of a workspace resource the estate check reads.
#[derive(serde::Deserialize)]
struct Workspace {
    #[serde(default)]
    properties: WorkspaceProperties,
}

/// `properties.customerId`: the workspace id queries name.
#[derive(serde::Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct WorkspaceProperties {
    customer_id: Option<String>,
}

impl ArmClient {
    /// A client for `endpoint` (already checked by the settings).
    ///
    /// # Errors
    /// When `endpoint` is not a URL.
    pub fn new(rest: RestClient, endpoint: &str) -> Result<Self, url::ParseError> {
        Ok(Self {
            rest,
            base: Url::parse(endpoint)?,
        })
    }

    /// `{endpoint}{path}?api-version={api}` (plus `extra` query pairs).
    fn url(&self, path: &str, api: &str, extra: &[(&str, &str)]) -> Result<Url, ArmError> {
        let mut url = self
            .base
            .join(path)
            .map_err(|_| ArmError::Transient("not a resource path".into()))?;
        url.query_pairs_mut()
            .append_pair("api-version", api)
            .extend_pairs(extra);
        Ok(url)
    }

    /// A URL the service handed back (`nextLink`, `Location`): followed only on our endpoint.
    fn same_endpoint(&self, link: &str) -> Result<Url, ArmError> {
        let url = self
            .base
            .join(link)
            .map_err(|_| ArmError::Transient("a link that is not a URL".into()))?;
        if url.origin() == self.base.origin() {
            Ok(url)
        } else {
            Err(ArmError::Transient(
                "a link leaving the Resource Manager endpoint was not followed".into(),
            ))
        }
    }

    async fn get<T: DeserializeOwned>(&self, url: Url, role: &str) -> Result<T, ArmError> {
        let req = RestRequest {
            method: Method::GET,
            url,
            body: None,
            role,
        };
        self.rest.json(req).await
    }

    /// Every item of a list, following `nextLink` (GET) from `first`'s page.
    async fn rest_of<T: DeserializeOwned>(
        &self,
        mut page: Page<T>,
        role: &str,
    ) -> Result<Vec<T>, ArmError> {
        let mut out = std::mem::take(&mut page.value);
        let mut next = page.next_link.take();
        for _ in 0..MAX_PAGES {
            let Some(link) = next.filter(|l| !l.is_empty()) else {
                return Ok(out);
            };
            let mut p: Page<T> = self.get(self.same_endpoint(&link)?, role).await?;
            out.append(&mut p.value);
            next = p.next_link;
        }
        Err(ArmError::Transient(format!("more than {MAX_PAGES} pages")))
    }

    /// A POST that may run long: the first page of its result.
    async fn long_running(&self, url: Url, body: &Value, role: &str) -> Result<Value, ArmError> {
        let req = RestRequest {
            method: Method::POST,
            url,
            body: Some(Body::Json(body)),
            role,
        };
        let mut res = self.rest.send(req).await?;
        let deadline = Instant::now() + LRO_BUDGET;
        loop {
            if res.status() != reqwest::StatusCode::ACCEPTED {
                return res
                    .json()
                    .await
                    .map_err(|e| ArmError::Transient(format!("operation result: {e}")));
            }
            let header = |name: &str| {
                res.headers()
                    .get(name)
                    .and_then(|v| v.to_str().ok())
                    .map(str::to_owned)
            };
            let wait = crate::retry_after::of(res.headers())
                .unwrap_or(POLL_DEFAULT)
                .min(POLL_MAX);
            let (location, status_url) = (header("location"), header("azure-asyncoperation"));
            if Instant::now() + wait > deadline {
                return Err(ArmError::Transient(
                    "long-running operation still running at the deadline".into(),
                ));
            }
            tokio::time::sleep(wait).await;
            if let (Some(op), None) = (&status_url, &location) {
                // Only the status monitor: poll it; the result is the monitor's `properties`.
                let v: Value = self.get(self.same_endpoint(op)?, role).await?;
                match v["status"].as_str() {
                    Some("Succeeded") => return Ok(v["properties"].clone()),
                    Some("Failed" | "Canceled") => {
                        return Err(ArmError::Transient(format!(
                            "operation {}",
                            v["status"].as_str().unwrap_or_default()
                        )));
                    }
                    _ => {
                        res = self.poll(op, role).await?;
                        continue;
                    }
                }
            }
            let Some(location) = location else {
                return Err(ArmError::Transient(
                    "202 without Location or Azure-AsyncOperation".into(),
                ));
            };
            res = self.poll(&location, role).await?;
        }
    }

    async fn poll(&self, link: &str, role: &str) -> Result<reqwest::Response, ArmError> {
        let req = RestRequest {
            method: Method::GET,
            url: self.same_endpoint(link)?,
            body: None,
            role,
        };
        self.rest.send(req).await
    }
}

fn page<T: DeserializeOwned>(v: Value) -> Result<Page<T>, ArmError> {
    serde_json::from_value(v).map_err(|e| ArmError::Transient(format!("unexpected page: {e}")))
}

#[async_trait]
impl ResourceManager for ArmClient {
    async fn workspace_customer_id(&self, workspace_id: &str) -> Result<Option<String>, ArmError> {
        let role =
            format!("Reader (Microsoft.OperationalInsights/workspaces/read) on {workspace_id}");
        match self
            .get::<Workspace>(self.url(workspace_id, WORKSPACE_API, &[])?, &role)
            .await
        {
            Ok(w) => Ok(w.properties.customer_id),
            Err(ArmError::NotFound { .. }) => Ok(None),
            Err(e) => Err(e),
        }
    }

    async fn bastion_host(&self, host_id: &str) -> Result<BastionHost, ArmError> {
        let role = format!("Reader (Microsoft.Network/bastionHosts/read) on {host_id}");
        self.get(self.url(host_id, BASTION_API, &[])?, &role).await
    }

    async fn diagnostic_settings(
        &self,
        resource_id: &str,
    ) -> Result<Vec<DiagnosticSetting>, ArmError> {
        let role = format!("Microsoft.Insights/diagnosticSettings/read on {resource_id}");
        let path = format!(
            "{}/providers/Microsoft.Insights/diagnosticSettings",
            resource_id.trim_end_matches('/')
        );
        let first = self
            .get(self.url(&path, DIAGNOSTICS_API, &[])?, &role)
            .await?;
        self.rest_of(first, &role).await
    }

    async fn blob_service(&self, account_id: &str) -> Result<BlobService, ArmError> {
        let role = format!("Microsoft.Storage/storageAccounts/blobServices/read on {account_id}");
        let path = format!("{}/blobServices/default", account_id.trim_end_matches('/'));
        self.get(self.url(&path, STORAGE_API, &[])?, &role).await
    }

    async fn container(&self, account_id: &str, container: &str) -> Result<Container, ArmError> {
        let role = format!(
            "Microsoft.Storage/storageAccounts/blobServices/containers/read on {account_id}"
        );
        let path = format!(
            "{}/blobServices/default/containers/{container}",
            account_id.trim_end_matches('/')
        );
        self.get(self.url(&path, STORAGE_API, &[])?, &role).await
    }

    async fn active_sessions(&self, host_id: &str) -> Result<Vec<ActiveSession>, ArmError> {
        let role = format!("Microsoft.Network/bastionHosts/getactivesessions/action on {host_id}");
        let path = format!("{}/getActiveSessions", host_id.trim_end_matches('/'));
        let first = self
            .long_running(self.url(&path, BASTION_API, &[])?, &json!({}), &role)
            .await?;
        self.rest_of(page(first)?, &role).await
    }

    async fn disconnect_sessions(
        &self,
        host_id: &str,
        session_ids: &[String],
    ) -> Result<Vec<DisconnectResult>, ArmError> {
        let role =
            format!("Microsoft.Network/bastionHosts/disconnectactivesessions/action on {host_id}");
        let path = format!("{}/disconnectActiveSessions", host_id.trim_end_matches('/'));
        let body = json!({ "sessionIds": session_ids });
        let req = RestRequest {
            method: Method::POST,
            url: self.url(&path, BASTION_API, &[])?,
            body: Some(Body::Json(&body)),
            role: &role,
        };
        let first: Value = self.rest.json(req).await?;
        self.rest_of(page(first)?, &role).await
    }
}
