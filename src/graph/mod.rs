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

pub mod client;
pub mod groups;
pub mod members;
pub mod settings;

use async_trait::async_trait;
use reqwest::Method;
use serde::Deserialize;

pub use self::client::GraphClient;
use crate::azure::http::Request;
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

/// The part of the user resource asked for (`$select=id,userPrincipalName`).
#[derive(Deserialize)]
struct User {
    id: Option<String>,
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
        let role = GraphOperation::ListGroupAssignmentInstances.missing();
        let url = self.group_instances_url(group)?;
        self.pages(url, &role, "Graph PIM for Groups").await
    }

    async fn transitive_members(&self, group: &str) -> Result<Vec<members::Member>, AzureError> {
        let role = GraphOperation::ListTransitiveMembers.missing();
        let url = self.transitive_members_url(group)?;
        self.pages(url, &role, "Graph group transitive members")
            .await
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use url::Url;

    use super::*;
    use crate::azure::http::{Auth, Client};
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
