//! PIM for Groups through Microsoft Graph: a group's membership assignment schedule instances
//! (Learn "List assignmentScheduleInstances", graph/api/privilegedaccessgroup-list-assignmentscheduleinstances:
//! `GET /v1.0/identityGovernance/privilegedAccess/group/assignmentScheduleInstances`, whose
//! `$filter` must name a `groupId` or `principalId`), asked as `groupId eq '{id}' and accessId eq
//! 'member'` with `$expand=principal` (the member's `userPrincipalName`: a session names its person
//! by UPN), every `@odata.nextLink` page followed on Graph's own endpoint, each page one request on
//! the one client (its deadline, 429/`Retry-After`, a 403 naming
//! `PrivilegedAssignmentSchedule.Read.AzureADGroup`). An instance lists only what is active now:
//! the caller keeps what it saw.

use serde::Deserialize;
use url::Url;

use super::client::GraphClient;
use crate::azure::AzureError;

/// The expanded principal of an instance (a `directoryObject`; a user's carries its UPN).
#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct Principal {
    /// Its UPN (a user).
    pub user_principal_name: Option<String>,
}

/// One `privilegedAccessGroupAssignmentScheduleInstance`, in its documented property names.
#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct GroupInstance {
    /// Its id.
    pub id: String,
    /// The member's object id.
    pub principal_id: Option<String>,
    /// The group.
    pub group_id: Option<String>,
    /// `member` or `owner`.
    pub access_id: Option<String>,
    /// `assigned` or `activated` (Learn's examples write `Assigned`: any case).
    pub assignment_type: Option<String>,
    /// `direct` or `group`.
    pub member_type: Option<String>,
    /// Window start.
    pub start_date_time: Option<String>,
    /// Window end (`null`: permanent).
    pub end_date_time: Option<String>,
    /// The schedule it belongs to.
    pub assignment_schedule_id: Option<String>,
    /// `$expand=principal`.
    #[serde(default)]
    pub principal: Option<Principal>,
}

/// `id` when it is a group id as Graph names objects (a GUID): nothing else goes into a filter
/// or a path.
///
/// # Errors
/// `Permanent` otherwise.
pub fn object_id(id: &str) -> Result<&str, AzureError> {
    let guid = id.len() == 36 && id.chars().all(|c| c.is_ascii_hexdigit() || c == '-');
    guid.then_some(id)
        .ok_or_else(|| AzureError::Permanent(format!("group {id:?} is not an object id")))
}

impl GraphClient {
    /// The first page's URL of `group`'s member instances.
    ///
    /// # Errors
    /// `Permanent` when `group` is not an object id or the endpoint cannot carry a path.
    pub fn group_instances_url(&self, group: &str) -> Result<Url, AzureError> {
        let group = object_id(group)?;
        let mut url = self.path(&[
            "v1.0",
            "identityGovernance",
            "privilegedAccess",
            "group",
            "assignmentScheduleInstances",
        ])?;
        url.set_query(Some(&format!(
            "$filter=groupId eq '{group}' and accessId eq 'member'&$expand=principal"
        )));
        Ok(url)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_filter_names_the_group_and_members_and_only_an_object_id_is_asked() {
        let g = crate::graph::tests::client();
        let url = g
            .group_instances_url("2b5ed229-4072-478d-9504-a047ebd4b07d")
            .expect("url");
        assert_eq!(
            url.path(),
            "/v1.0/identityGovernance/privilegedAccess/group/assignmentScheduleInstances"
        );
        let query = url
            .query()
            .unwrap_or_default()
            .replace("%20", " ")
            .replace("%27", "'");
        assert_eq!(
            query,
            "$filter=groupId eq '2b5ed229-4072-478d-9504-a047ebd4b07d' and accessId eq 'member'&$expand=principal"
        );
        assert!(g.group_instances_url("x' or groupId ne '").is_err());
    }

    #[test]
    fn an_instance_reads_in_learns_example_shape() {
        // Learn "List assignmentScheduleInstances", the response example (principal expanded).
        let page: crate::graph::client::Page<GroupInstance> = serde_json::from_value(serde_json::json!({
            "@odata.context": "https://graph.microsoft.com/v1.0/$metadata#identityGovernance/privilegedAccess/group/assignmentScheduleInstances",
            "value": [{
                "id": "2b5ed229-4072-478d-9504-a047ebd4b07d_member_365163ce-df68-40b8-a782-1824c9eb7bcc",
                "principalId": "6be4b305-b75e-4efc-bfcc-31bd3b53a5f8",
                "startDateTime": "2023-09-29T15:48:00.273Z", "endDateTime": null,
                "assignmentType": "Assigned", "accessId": "member",
                "groupId": "2b5ed229-4072-478d-9504-a047ebd4b07d", "memberType": "Direct",
                "assignmentScheduleId": "2b5ed229-4072-478d-9504-a047ebd4b07d_member_f13739ce-d5f9-4a5a-845a-22fbccf0e14f",
                "principal": {"@odata.type": "#microsoft.graph.user", "id": "6be4b305-b75e-4efc-bfcc-31bd3b53a5f8",
                    "userPrincipalName": "alice@contoso.com"}
            }]
        }))
        .expect("page");
        assert!(page.next.is_none());
        let i = &page.value[0];
        assert_eq!(i.access_id.as_deref(), Some("member"));
        assert_eq!(i.end_date_time, None);
        assert_eq!(
            i.principal
                .as_ref()
                .and_then(|p| p.user_principal_name.as_deref()),
            Some("alice@contoso.com")
        );
    }
}
