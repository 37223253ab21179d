//! Microsoft Graph, for the one read the product makes there: a user's Entra object id by their
//! UPN (`GET {endpoint}/v1.0/users/{userPrincipalName}?$select=id,userPrincipalName`, Learn "Get
//! user", graph/api/user-get), so that segregation-of-duties checks compare people by object id
//! (`reviews::people`). Over the one REST client: a token for the endpoint's `/.default` scope
//! from the app's managed identity, the per-try and total deadline, the one retry policy (429 and
//! 503 with `Retry-After`), and a 403 that names the application permission the call needs
//! ([`GraphOperation`]).
//!
//! The second read, PIM for Groups membership instances, is [`groups`]; the third, a group's
//! transitive members, [`members`]. Both follow every `@odata.nextLink` page (`GraphClient::pages`).
//!
//! The UPN is one path segment, percent-encoded (a guest's `…#EXT#@…` UPN carries a `#`); a UPN
//! that begins with `$` is written `users('$…')`, as the Get user page asks. A 404
//! (`Request_ResourceNotFound`: no such user, or renamed since) is `None`.

pub mod groups;
pub mod members;
pub mod settings;

use async_trait::async_trait;
use reqwest::Method;
use serde::Deserialize;
use serde::de::DeserializeOwned;
use url::Url;

use crate::azure::http::lro::MAX_PAGES;
use crate::azure::http::{Client, Request};
use crate::azure::{AzureError, found};
use crate::permissions::graph::GraphOperation;

/// Looks people up in the directory.
#[async_trait]
pub trait Directory: Send + Sync {
    /// The object id of the user whose UPN is `upn`; `None` when the directory has no such user.
    ///
    /// # Errors
    /// A read that failed (403 naming the permission, throttled past the call's end, transient).
    async fn object_id(&self, upn: &str) -> Result<Option<String>, AzureError>;

    /// Every PIM for Groups member instance of `group` (active memberships, assigned or
    /// activated).
    ///
    /// # Errors
    /// A page not read (403 naming the permission, throttled past its deadline, transient).
    async fn group_members(&self, group: &str) -> Result<Vec<groups::GroupInstance>, AzureError>;

    /// Every user member of `group`, direct or through nested groups.
    ///
    /// # Errors
    /// A page not read (403 naming `GroupMember.Read.All`, throttled past its deadline, transient).
    async fn transitive_members(&self, group: &str) -> Result<Vec<members::Member>, AzureError>;
}

/// One page of a Graph collection.
#[derive(Deserialize)]
struct Page<T> {
    #[serde(default = "Vec::new")]
    value: Vec<T>,
    #[serde(rename = "@odata.nextLink")]
    next: Option<String>,
}

/// The part of the user resource asked for (`$select=id,userPrincipalName`).
#[derive(Deserialize)]
struct User {
    id: Option<String>,
}

/// Microsoft Graph over the REST client.
#[derive(Clone)]
pub struct GraphClient {
    http: Client,
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
    fn path(&self, segments: &[&str]) -> Result<Url, AzureError> {
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
    async fn pages<T: DeserializeOwned>(
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
        let mut url = self.base.clone();
        let bad = || AzureError::Permanent("GRAPH_ENDPOINT: not a base URL".into());
        {
            let mut path = url.path_segments_mut().map_err(|()| bad())?;
            path.pop_if_empty().extend(["v1.0"]);
            if upn.starts_with('$') {
                path.push(&format!("users('{}')", upn.replace('\'', "''")));
            } else {
                path.extend(["users", upn]);
            }
        }
        url.set_query(Some("$select=id,userPrincipalName"));
        Ok(url)
    }
}

#[async_trait]
impl Directory for GraphClient {
    async fn object_id(&self, upn: &str) -> Result<Option<String>, AzureError> {
        let role = GraphOperation::GetUser.missing();
        let req = Request::new(Method::GET, self.user_url(upn)?, &role).op("Graph Get user");
        let Some(user) = found(self.http.json::<User>(&req).await)? else {
            return Ok(None);
        };
        user.id
            .filter(|id| !id.trim().is_empty())
            .map(Some)
            .ok_or_else(|| AzureError::Transient("Graph Get user: an answer without id".into()))
    }

    async fn group_members(&self, group: &str) -> Result<Vec<groups::GroupInstance>, AzureError> {
        self.group_instances(group).await
    }

    async fn transitive_members(&self, group: &str) -> Result<Vec<members::Member>, AzureError> {
        GraphClient::transitive_members(self, group).await
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::azure::http::Auth;
    use crate::azure::{Policy, Timeouts};

    /// A client of the global endpoint, for building URLs.
    pub(crate) fn client() -> GraphClient {
        let base = Url::parse("https://graph.microsoft.com").expect("url");
        let http = Client::new(
            "Graph",
            Some(&base),
            Auth::None,
            Timeouts::CONTROL,
            Policy::CONTROL,
        )
        .expect("client");
        GraphClient::new(http, &base)
    }

    #[test]
    fn a_upn_is_one_encoded_segment_and_a_dollar_upn_is_quoted() {
        let g = client();
        let url = |u: &str| g.user_url(u).expect("url").to_string();
        assert_eq!(
            url("alice@contoso.com"),
            "https://graph.microsoft.com/v1.0/users/alice@contoso.com?$select=id,userPrincipalName"
        );
        assert_eq!(
            url("alice_fabrikam.com#EXT#@contoso.onmicrosoft.com"),
            "https://graph.microsoft.com/v1.0/users/alice_fabrikam.com%23EXT%23@contoso.onmicrosoft.com?$select=id,userPrincipalName"
        );
        assert_eq!(
            url("a/b?c@contoso.com"),
            "https://graph.microsoft.com/v1.0/users/a%2Fb%3Fc@contoso.com?$select=id,userPrincipalName"
        );
        assert!(url("$adele@contoso.com").contains("/v1.0/users('$adele@contoso.com')?"));
    }
}
