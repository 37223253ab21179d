//! The Microsoft Graph client over the one REST client: its endpoint, the paths on it, and every
//! `@odata.nextLink` page of a collection followed on Graph's own endpoint.

use reqwest::Method;
use serde::Deserialize;
use serde::de::DeserializeOwned;
use url::Url;

use crate::azure::AzureError;
use crate::azure::http::lro::MAX_PAGES;
use crate::azure::http::{Client, Request};

/// One page of a Graph collection.
#[derive(Deserialize)]
pub(super) struct Page<T> {
    #[serde(default = "Vec::new")]
    pub(super) value: Vec<T>,
    #[serde(rename = "@odata.nextLink")]
    pub(super) next: Option<String>,
}

/// Microsoft Graph over the REST client.
#[derive(Clone)]
pub struct GraphClient {
    pub(super) http: Client,
    base: Url,
}

impl GraphClient {
    /// A client of `endpoint` (`https://graph.microsoft.com`, or a loopback fake in tests).
    pub fn new(http: Client, endpoint: &Url) -> Self {
        Self {
            http,
            base: endpoint.clone(),
        }
    }

    /// The endpoint with `segments` as its path.
    ///
    /// # Errors
    /// `Permanent` when the endpoint cannot carry a path.
    pub(super) fn path(&self, segments: &[&str]) -> Result<Url, AzureError> {
        let mut url = self.base.clone();
        url.path_segments_mut()
            .map_err(|()| AzureError::Permanent("GRAPH_ENDPOINT: not a base URL".into()))?
            .pop_if_empty()
            .extend(segments);
        Ok(url)
    }

    /// Every item of the collection at `url`: each page one request on the one client (its
    /// deadline, 429/`Retry-After`, a 403 naming `role`), every `@odata.nextLink` followed on
    /// Graph's own endpoint.
    ///
    /// # Errors
    /// A page not read, a link leaving the endpoint, or more than [`MAX_PAGES`] pages.
    pub(super) async fn pages<T: DeserializeOwned>(
        &self,
        mut url: Url,
        role: &str,
        op: &'static str,
    ) -> Result<Vec<T>, AzureError> {
        let mut out = Vec::new();
        for _ in 0..MAX_PAGES {
            let req = Request::new(Method::GET, url.clone(), role).op(op);
            let page: Page<T> = self.http.json(&req).await?;
            out.extend(page.value);
            let Some(next) = page.next.filter(|l| !l.is_empty()) else {
                return Ok(out);
            };
            url = Url::parse(&next)
                .ok()
                .filter(|u| u.origin() == self.base.origin())
                .ok_or_else(|| {
                    AzureError::Transient("an @odata.nextLink leaving the Graph endpoint".into())
                })?;
        }
        Err(AzureError::Transient(format!(
            "more than {MAX_PAGES} pages"
        )))
    }

    /// The Get user URL of `upn`.
    ///
    /// # Errors
    /// `Permanent` when the endpoint cannot carry a path.
    pub fn user_url(&self, upn: &str) -> Result<Url, AzureError> {
        let quoted = format!("users('{}')", upn.replace('\'', "''"));
        let segments = match upn.starts_with('$') {
            true => vec!["v1.0", quoted.as_str()],
            false => vec!["v1.0", "users", upn],
        };
        let mut url = self.path(&segments)?;
        url.set_query(Some("$select=id,userPrincipalName"));
        Ok(url)
    }
}
