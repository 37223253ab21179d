//! A group's transitive members that are users (Learn "List group transitive members",
//! graph/api/group-list-transitivemembers: `GET /v1.0/groups/{id}/transitiveMembers/microsoft.graph.user`,
//! least privileged application permission `GroupMember.Read.All`), asked with
//! `$select=id,userPrincipalName` (a session names its person by UPN; a user's UPN is of its
//! basic profile, read under `User.ReadBasic.All`, which Get user already needs: without it Graph
//! returns a member with its id only), every `@odata.nextLink` page followed
//! (`GraphClient::pages`). Every member of the group, direct or through nested groups, whether
//! added in PIM for Groups or outside it.

use serde::Deserialize;
use url::Url;

use super::client::GraphClient;
use crate::azure::AzureError;

/// One member (a `microsoft.graph.user`, its selected properties).
#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct Member {
    /// Its object id.
    pub id: String,
    /// Its UPN (`None` when Graph returned the member with limited information).
    pub user_principal_name: Option<String>,
}

impl GraphClient {
    /// The first page's URL of `group`'s transitive user members.
    ///
    /// # Errors
    /// `Permanent` when `group` is not an object id or the endpoint cannot carry a path.
    pub fn transitive_members_url(&self, group: &str) -> Result<Url, AzureError> {
        let group = super::groups::object_id(group)?;
        let segments = [
            "v1.0",
            "groups",
            group,
            "transitiveMembers",
            "microsoft.graph.user",
        ];
        let mut url = self.path(&segments)?;
        url.set_query(Some("$select=id,userPrincipalName"));
        Ok(url)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_url_names_the_group_and_casts_to_users_and_a_member_reads_in_learns_shape() {
        let g = crate::graph::tests::client();
        let url = g
            .transitive_members_url("2b5ed229-4072-478d-9504-a047ebd4b07d")
            .expect("url");
        assert_eq!(
            url.as_str(),
            "https://graph.microsoft.com/v1.0/groups/2b5ed229-4072-478d-9504-a047ebd4b07d/transitiveMembers/microsoft.graph.user?$select=id,userPrincipalName"
        );
        assert!(g.transitive_members_url("x/../users").is_err());
        // Learn "List group transitive members": a user in a `value` page.
        let m: Member = serde_json::from_value(serde_json::json!({
            "@odata.type": "#microsoft.graph.user",
            "id": "11111111-2222-3333-4444-555555555555", "userPrincipalName": "alice@contoso.com"
        }))
        .expect("member");
        assert_eq!(m.user_principal_name.as_deref(), Some("alice@contoso.com"));
    }
}
