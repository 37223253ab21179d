//! One piece of authorization evidence, whatever its source: a window in which a principal held
//! a role at a scope (a PIM activation, a standing assignment), a person's membership of a group
//! (PIM for Groups), a just-in-time request to a VM, or an approval. Built from the Resource
//! Manager schedules here ([`of_instance`], [`of_request`]); from `AuditLogs` rows in
//! [`super::auditlogs`]; from the doors' just-in-time events in [`super::read`]; from Graph's PIM
//! for Groups instances in [`super::groups`].

use time::{Duration, OffsetDateTime};

use crate::arm::{ScheduleInstance, ScheduleRequest};
use crate::dates::timestamp;
use crate::names::named;

named! {
    /// What a piece of evidence shows.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
    pub enum Kind {
        /// A role activated through PIM (Azure RBAC).
        Pim = "pim",
        /// A role assigned outside PIM activation (permanent or admin-assigned).
        Standing = "standing",
        /// A person's activated membership of a group (PIM for Groups): `group` names it.
        GroupActivation = "group-activation",
        /// A person's standing membership of a group.
        GroupMember = "group-member",
        /// A Defender just-in-time request opening the VM (`scope`) to the Bastion subnet.
        Jit = "jit",
        /// An approval of a PIM request (`principal` the person, `approver` who approved).
        Approval = "approval",
        /// A person added to a group (`AuditLogs` "Add member to group"): `group` names it,
        /// `start` and `end` are when. It covers no session itself: it tells a membership at a
        /// session's start.
        MemberAdded = "member-added",
        /// A person removed from a group ("Remove member from group"), as [`Kind::MemberAdded`].
        MemberRemoved = "member-removed",
    }
}

named! {
    /// Where it was read.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
    pub enum Source {
        /// Resource Manager `roleAssignmentScheduleInstances`.
        Instances = "schedule-instances",
        /// Resource Manager `roleAssignmentScheduleRequests`.
        Requests = "schedule-requests",
        /// The Entra `AuditLogs` table.
        AuditLogs = "auditlogs",
        /// The Activity log's just-in-time requests (the other doors' read).
        Jit = "jit",
        /// Microsoft Graph's PIM for Groups membership instances.
        GroupInstances = "group-instances",
    }
}

/// One piece of evidence. Ids and scopes are lower-case; empty text is "not known".
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Evidence {
    /// Stable id: the source's own (instance or request id, `AuditLogs` `Id`, the Activity log
    /// operation's correlation id and VM).
    pub id: String,
    /// Where it was read.
    pub source: Option<Source>,
    /// What it shows.
    pub kind: Option<Kind>,
    /// The principal's object id (a person's, or a group's for a role held by a group).
    pub principal: String,
    /// The principal's names (UPN, e-mail).
    pub names: Vec<String>,
    /// The principal is a group.
    pub group_principal: bool,
    /// For a membership: the group.
    pub group: String,
    /// The scope (a role's), or the VM (a just-in-time request's).
    pub scope: String,
    /// The list that showed it: a subscription's (a management-group scope covers its VMs), or a
    /// group's (PIM for Groups).
    pub seen_under: String,
    /// The role definition id (or name).
    pub role: String,
    /// Window start.
    pub start: Option<OffsetDateTime>,
    /// Window end (`None`: open or permanent).
    pub end: Option<OffsetDateTime>,
    /// Who approved.
    pub approver: String,
    /// The requester's reason.
    pub justification: String,
    /// `ticketInfo`: `system:number`, or the number.
    pub ticket: String,
    /// The schedule a request targets or an instance belongs to (their join).
    pub schedule: String,
    /// For a just-in-time request: the VM's ports it opened (empty: not known).
    pub ports: Vec<u16>,
}

/// Lower-case and trimmed.
pub fn low(s: Option<&str>) -> String {
    s.unwrap_or_default().trim().to_ascii_lowercase()
}

/// The last segment of an id (a schedule is named by its GUID on one side, its id on the other).
pub fn last(s: Option<&str>) -> String {
    low(s).rsplit('/').next().unwrap_or_default().to_owned()
}

/// A ticket from `ticketInfo`'s parts.
pub fn ticket(system: Option<&str>, number: Option<&str>) -> String {
    let number = number.unwrap_or_default().trim();
    match system.map(str::trim).filter(|s| !s.is_empty()) {
        Some(s) if !number.is_empty() => format!("{s}:{number}"),
        _ => number.to_owned(),
    }
}

/// The evidence fields of assignment `p` (an instance's or a request's properties): principal,
/// its e-mail, whether a group, scope, role.
macro_rules! assigned {
    ($p:expr, $subscription:expr) => {
        Evidence {
            principal: low($p.principal_id.as_deref()),
            names: Vec::from_iter($p.expanded_properties.principal.email.clone()),
            group_principal: ($p.principal_type.as_deref())
                .is_some_and(|t| t.eq_ignore_ascii_case("Group")),
            scope: low($p.scope.as_deref()),
            seen_under: low(Some($subscription)),
            role: low($p.role_definition_id.as_deref()),
            ..Evidence::default()
        }
    };
}

/// An instance seen in `subscription`'s list: `Activated` is PIM, anything else standing.
pub fn of_instance(i: &ScheduleInstance, subscription: &str) -> Evidence {
    let p = &i.properties;
    let activated = p
        .assignment_type
        .as_deref()
        .is_some_and(|t| t.eq_ignore_ascii_case("Activated"));
    Evidence {
        id: low(Some(&i.id)),
        source: Some(Source::Instances),
        kind: Some(if activated { Kind::Pim } else { Kind::Standing }),
        start: p.start_date_time.as_deref().and_then(timestamp),
        end: p.end_date_time.as_deref().and_then(timestamp),
        schedule: last(p.role_assignment_schedule_id.as_deref()),
        ..assigned!(p, subscription)
    }
}

/// A provisioned request seen in `subscription`'s list (a denied or pending one is `None`):
/// a self-activation is PIM, an admin assignment standing; its window from `scheduleInfo`.
pub fn of_request(r: &ScheduleRequest, subscription: &str) -> Option<Evidence> {
    let p = &r.properties;
    let provisioned = p
        .status
        .as_deref()
        .is_some_and(|s| s.eq_ignore_ascii_case("Provisioned"));
    let kind = match p.request_type.as_deref().map(str::to_ascii_lowercase) {
        Some(t) if t == "selfactivate" || t == "selfextend" || t == "selfrenew" => Kind::Pim,
        Some(t) if t.starts_with("admin") && !t.contains("remove") => Kind::Standing,
        _ => return None,
    };
    if !provisioned {
        return None;
    }
    let info = &p.schedule_info;
    let start = info.start_date_time.as_deref().and_then(timestamp);
    let end = info
        .expiration
        .end_date_time
        .as_deref()
        .and_then(timestamp)
        .or_else(|| {
            let d = info.expiration.duration.as_deref().and_then(iso_duration)?;
            Some(start? + d)
        });
    Some(Evidence {
        id: low(Some(&r.id)),
        source: Some(Source::Requests),
        kind: Some(kind),
        start,
        end,
        approver: String::new(),
        justification: p.justification.clone().unwrap_or_default(),
        ticket: ticket(
            p.ticket_info.ticket_system.as_deref(),
            p.ticket_info.ticket_number.as_deref(),
        ),
        schedule: last(p.target_role_assignment_schedule_id.as_deref()),
        ..assigned!(p, subscription)
    })
}

/// An ISO 8601 duration of weeks, days, hours, minutes and seconds (`P1D`, `PT8H`, `PT30M`),
/// a day 24 hours.
pub fn iso_duration(s: &str) -> Option<Duration> {
    let span = (jiff::fmt::temporal::SpanParser::new().parse_span(s.trim())).ok()?;
    let seconds = jiff::SpanTotal::from(jiff::Unit::Second).days_are_24_hours();
    let total = span.total(seconds).ok()?;
    (total > 0.0).then(|| Duration::seconds_f64(total))
}

named! {
    /// Whether MFA was satisfied.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub enum Mfa {
        /// It was.
        Satisfied = "satisfied",
        /// A single factor sufficed.
        NotSatisfied = "not-satisfied",
        /// `SigninLogs` could not be read and no sign-in was found.
        Unknown = "unknown",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_of_the_schedule_info() {
        assert_eq!(iso_duration("PT8H"), Some(Duration::hours(8)));
        assert_eq!(
            iso_duration("P1DT30M"),
            Some(Duration::minutes(24 * 60 + 30))
        );
        assert_eq!(iso_duration("PT1.5H"), Some(Duration::minutes(90)));
        assert_eq!(iso_duration("8H"), None);
        assert_eq!(iso_duration("PT"), None);
        assert_eq!(iso_duration("PTXH"), None);
    }
}
