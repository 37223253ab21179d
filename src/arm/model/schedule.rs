//! PIM's Azure RBAC schedules (`Microsoft.Authorization`, api-version 2020-10-01), as the REST
//! specification's examples `GetRoleAssignmentScheduleInstancesByScope.json` and
//! `GetRoleAssignmentScheduleRequestByScope.json` give them (Azure/azure-rest-api-specs
//! `specification/authorization/resource-manager/Microsoft.Authorization/stable/2020-10-01/examples/`):
//! an instance is one active assignment (`assignmentType` `Activated` through PIM, `Assigned`
//! otherwise) with its window; a request carries the justification, ticket and approval.

use serde::Deserialize;

use super::nullable::nullable;

/// One item of a schedule list: its id, name and `properties`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default, bound(deserialize = "P: Default + Deserialize<'de>"))]
pub struct Schedule<P> {
    /// Resource id.
    pub id: String,
    /// Name (a GUID).
    pub name: String,
    /// `properties`.
    #[serde(deserialize_with = "nullable")]
    pub properties: P,
}

/// One `roleAssignmentScheduleInstances` item.
pub type ScheduleInstance = Schedule<ScheduleInstanceProperties>;

/// `properties` of an instance.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ScheduleInstanceProperties {
    /// Where the role is assigned.
    pub scope: Option<String>,
    /// The role definition's id.
    pub role_definition_id: Option<String>,
    /// The principal's object id.
    pub principal_id: Option<String>,
    /// `User`, `Group`, `ServicePrincipal`, …
    pub principal_type: Option<String>,
    /// `Activated` (PIM) or `Assigned`.
    pub assignment_type: Option<String>,
    /// `Direct`, `Group` or `Inherited`.
    pub member_type: Option<String>,
    /// The schedule it belongs to (a request's `targetRoleAssignmentScheduleId`).
    pub role_assignment_schedule_id: Option<String>,
    /// The eligibility it was activated from.
    pub linked_role_eligibility_schedule_id: Option<String>,
    /// Window start.
    pub start_date_time: Option<String>,
    /// Window end (`null`: permanent).
    pub end_date_time: Option<String>,
    /// `expandedProperties`.
    #[serde(deserialize_with = "nullable")]
    pub expanded_properties: Expanded,
}

/// `expandedProperties`: the principal's e-mail and the role's name.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Expanded {
    /// `principal`.
    #[serde(deserialize_with = "nullable")]
    pub principal: Named,
    /// `roleDefinition`.
    #[serde(deserialize_with = "nullable")]
    pub role_definition: Named,
}

/// An expanded principal or role.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Named {
    /// Its display name.
    pub display_name: Option<String>,
    /// A principal's e-mail.
    pub email: Option<String>,
    /// `User`, `Group`, `BuiltInRole`, …
    #[serde(rename = "type")]
    pub kind: Option<String>,
}

/// One `roleAssignmentScheduleRequests` item.
pub type ScheduleRequest = Schedule<ScheduleRequestProperties>;

/// `properties` of a request.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ScheduleRequestProperties {
    /// Where the role is asked for.
    pub scope: Option<String>,
    /// The role definition's id.
    pub role_definition_id: Option<String>,
    /// The principal's object id.
    pub principal_id: Option<String>,
    /// `User`, `Group`, …
    pub principal_type: Option<String>,
    /// `SelfActivate`, `AdminAssign`, `SelfExtend`, …
    pub request_type: Option<String>,
    /// `Provisioned`, `Denied`, `PendingApproval`, …
    pub status: Option<String>,
    /// The approval, when one was required.
    pub approval_id: Option<String>,
    /// The schedule it targets (an instance's `roleAssignmentScheduleId`).
    pub target_role_assignment_schedule_id: Option<String>,
    /// `scheduleInfo`.
    #[serde(deserialize_with = "nullable")]
    pub schedule_info: ScheduleInfo,
    /// `ticketInfo`.
    #[serde(deserialize_with = "nullable")]
    pub ticket_info: TicketInfo,
    /// The requester's reason.
    pub justification: Option<String>,
    /// Who asked.
    pub requestor_id: Option<String>,
    /// `expandedProperties`.
    #[serde(deserialize_with = "nullable")]
    pub expanded_properties: Expanded,
}

/// `scheduleInfo`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ScheduleInfo {
    /// Start.
    pub start_date_time: Option<String>,
    /// `expiration`.
    #[serde(deserialize_with = "nullable")]
    pub expiration: Expiration,
}

/// `scheduleInfo.expiration`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Expiration {
    /// `AfterDuration`, `AfterDateTime` or `NoExpiration`.
    #[serde(rename = "type")]
    pub kind: Option<String>,
    /// End, for `AfterDateTime`.
    pub end_date_time: Option<String>,
    /// ISO 8601 duration (`PT8H`), for `AfterDuration`.
    pub duration: Option<String>,
}

/// `ticketInfo`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct TicketInfo {
    /// The ticket number.
    pub ticket_number: Option<String>,
    /// The ticket system.
    pub ticket_system: Option<String>,
}
