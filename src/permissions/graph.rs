//! The Microsoft Graph calls the app makes and the application permission each needs (Learn's
//! "Get user" page, graph/api/user-get, and "List assignmentScheduleInstances",
//! graph/api/privilegedaccessgroup-list-assignmentscheduleinstances, and "List group transitive
//! members", graph/api/group-list-transitivemembers: the least privileged application
//! permission), with the
//! permission's app role id on the Microsoft Graph service principal (Learn's permissions
//! reference), which the one grant command in infra/README.md assigns. The permission drift test
//! files every Graph request the functions make through `GraphOperation::of_request`: a URL no
//! operation knows, or a permission infra does not grant, is drift.

/// A Microsoft Graph operation the app performs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum GraphOperation {
    /// Get user (`GET /v1.0/users/{id | userPrincipalName}`).
    GetUser,
    /// List assignmentScheduleInstances of PIM for Groups
    /// (`GET /v1.0/identityGovernance/privilegedAccess/group/assignmentScheduleInstances`).
    ListGroupAssignmentInstances,
    /// List group transitive members, cast to users
    /// (`GET /v1.0/groups/{id}/transitiveMembers/microsoft.graph.user`).
    ListTransitiveMembers,
}

/// The PIM for Groups instances' list path.
pub const GROUP_INSTANCES_PATH: &str =
    "/v1.0/identityGovernance/privilegedAccess/group/assignmentScheduleInstances";

impl GraphOperation {
    /// The operation a request is (`path` without the query), if the app makes such requests.
    pub fn of_request(method: &str, path: &str) -> Option<Self> {
        if method.eq_ignore_ascii_case("GET") && path == GROUP_INSTANCES_PATH {
            return Some(Self::ListGroupAssignmentInstances);
        }
        let members = (path.strip_prefix("/v1.0/groups/"))
            .and_then(|p| p.strip_suffix("/transitiveMembers/microsoft.graph.user"));
        if method.eq_ignore_ascii_case("GET") && members.is_some_and(|g| !g.contains('/')) {
            return Some(Self::ListTransitiveMembers);
        }
        let user = path.strip_prefix("/v1.0/users/")?;
        (method.eq_ignore_ascii_case("GET") && !user.is_empty() && !user.contains('/'))
            .then_some(Self::GetUser)
    }

    /// Its name in Microsoft's reference, the application permission it needs, and the
    /// permission's app role id on the Microsoft Graph service principal.
    pub fn spec(self) -> (&'static str, &'static str, &'static str) {
        match self {
            Self::GetUser => (
                "Get user",
                "User.ReadBasic.All",
                "97235f07-e226-4f63-ace3-39588e11d3a1",
            ),
            Self::ListGroupAssignmentInstances => (
                "List assignmentScheduleInstances (PIM for Groups)",
                "PrivilegedAssignmentSchedule.Read.AzureADGroup",
                "cd4161cb-f098-48f8-a884-1eda9a42434c",
            ),
            Self::ListTransitiveMembers => (
                "List group transitive members",
                "GroupMember.Read.All",
                "98830695-27a2-44f7-8c18-0c3ebc9698f6",
            ),
        }
    }

    /// What a 403 names: the permission, and where its grant is described.
    pub fn missing(self) -> String {
        let (name, permission, _) = self.spec();
        format!(
            "{permission} (Microsoft Graph application permission of the app's identity, for {name}; granted by the command in infra/README.md)"
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn get_user_is_known_by_its_path_and_nothing_else_is() {
        let op = GraphOperation::of_request("GET", "/v1.0/users/alice%23EXT%23@contoso.com");
        assert_eq!(op, Some(GraphOperation::GetUser));
        assert_eq!(op.map(|o| o.spec().1), Some("User.ReadBasic.All"));
        assert_eq!(
            GraphOperation::of_request("GET", "/v1.0/users/a/memberOf"),
            None
        );
        assert_eq!(GraphOperation::of_request("PATCH", "/v1.0/users/a"), None);
        assert_eq!(GraphOperation::of_request("GET", "/v1.0/groups/a"), None);
        let op = GraphOperation::of_request("GET", GROUP_INSTANCES_PATH);
        assert_eq!(
            op.map(|o| o.spec().1),
            Some("PrivilegedAssignmentSchedule.Read.AzureADGroup")
        );
        let other = format!("{GROUP_INSTANCES_PATH}/x");
        assert_eq!(GraphOperation::of_request("GET", &other), None);
        let members = "/v1.0/groups/2b5ed229-4072-478d-9504-a047ebd4b07d/transitiveMembers/microsoft.graph.user";
        assert_eq!(
            GraphOperation::of_request("GET", members).map(|o| o.spec().1),
            Some("GroupMember.Read.All")
        );
        let nested = "/v1.0/groups/a/b/transitiveMembers/microsoft.graph.user";
        assert_eq!(GraphOperation::of_request("GET", nested), None);
    }
}
