//! PIM for Groups from Microsoft Graph (`AUTHZ_PIM_GROUPS`): which groups to read ([`held`]: each
//! group holding a role, seen in the PIM schedules or kept, that reaches a session's VM during the
//! decided span), each group's member instances read once a check ([`read`]: at most
//! [`MAX_GROUPS`] groups, one list each, its pages aside), and an instance as evidence
//! ([`of_instance`]: an `activated` membership is a group activation, an `assigned` one a
//! standing membership); and the same groups' transitive members ([`read_members`]: once per
//! group per check, kept an hour, [`super::members`]). A group not read is said per group, so a
//! session only its role could cover is `unknown`, never `none`.

use std::collections::{BTreeMap, BTreeSet};

use time::{Duration, OffsetDateTime};

use super::decide::reaches;
use super::evidence::{Evidence, Kind, Source, last, low};
use super::members::Members;
use super::store;
use crate::clock::Clock;
use crate::dates::timestamp;
use crate::graph::Directory;
use crate::graph::groups::GroupInstance;
use crate::tables::TableStore;

/// Most groups one check reads (one Graph list each).
pub const MAX_GROUPS: usize = 100;
/// A group's members kept are read again after this long (a member added or removed is seen
/// within it).
pub const MEMBERS_AGAIN: Duration = Duration::hours(1);

/// The groups holding a role (PIM or standing) at a scope reaching one of `vms` in a window that
/// overlaps `[from, until]`.
pub fn held<'a>(
    all: impl IntoIterator<Item = &'a Evidence>,
    vms: &BTreeSet<String>,
    (from, until): (OffsetDateTime, OffsetDateTime),
) -> BTreeSet<String> {
    all.into_iter()
        .filter(|e| e.group_principal && !e.principal.is_empty())
        .filter(|e| matches!(e.kind, Some(Kind::Pim | Kind::Standing)))
        .filter(|e| e.start.is_none_or(|s| s <= until) && e.end.is_none_or(|end| end >= from))
        .filter(|e| vms.iter().any(|vm| reaches(e, vm)))
        .map(|e| e.principal.clone())
        .collect()
}

/// A member instance as evidence (`None` for an owner's, or one naming no group).
pub fn of_instance(i: &GroupInstance) -> Option<Evidence> {
    let member = i
        .access_id
        .as_deref()
        .is_some_and(|a| a.eq_ignore_ascii_case("member"));
    let group = low(i.group_id.as_deref());
    if !member || group.is_empty() {
        return None;
    }
    let activated = i
        .assignment_type
        .as_deref()
        .is_some_and(|t| t.eq_ignore_ascii_case("activated"));
    let upn = i
        .principal
        .as_ref()
        .and_then(|p| p.user_principal_name.clone());
    Some(Evidence {
        id: low(Some(&i.id)),
        source: Some(Source::GroupInstances),
        kind: Some(if activated {
            Kind::GroupActivation
        } else {
            Kind::GroupMember
        }),
        principal: low(i.principal_id.as_deref()),
        names: upn.into_iter().filter(|n| !n.trim().is_empty()).collect(),
        seen_under: group.clone(),
        group,
        start: i.start_date_time.as_deref().and_then(timestamp),
        end: i.end_date_time.as_deref().and_then(timestamp),
        schedule: last(i.assignment_schedule_id.as_deref()),
        ..Evidence::default()
    })
}

/// What one check read of the groups.
#[derive(Debug, Default)]
pub struct Read {
    /// The instances seen.
    pub seen: Vec<Evidence>,
    /// Per group read whole: the instance ids its list showed.
    pub listed: BTreeMap<String, BTreeSet<String>>,
    /// `(group, why)` of each group not read.
    pub failed: Vec<(String, String)>,
    /// Graph lists asked (first pages).
    pub calls: usize,
}

/// Reads each of `groups` once, one after another, from `graph`.
pub async fn read(graph: &dyn Directory, groups: &BTreeSet<String>) -> Read {
    let mut out = Read::default();
    for g in groups.iter().take(MAX_GROUPS) {
        out.calls += 1;
        match graph.group_members(g).await {
            Ok(list) => {
                let seen: Vec<Evidence> = list.iter().filter_map(of_instance).collect();
                out.listed
                    .insert(g.clone(), seen.iter().map(|e| e.id.clone()).collect());
                out.seen.extend(seen);
            }
            Err(e) => out.failed.push((
                g.clone(),
                format!("PIM for Groups memberships not read from Microsoft Graph: {e}"),
            )),
        }
    }
    out.failed.extend(beyond(groups));
    out
}

/// `(group, why)` of each group past the first [`MAX_GROUPS`], not read this check.
fn beyond(groups: &BTreeSet<String>) -> impl Iterator<Item = (String, String)> + '_ {
    let why = format!("more than {MAX_GROUPS} groups to read in one check");
    (groups.iter().skip(MAX_GROUPS)).map(move |g| (g.clone(), why.clone()))
}

/// What one check read of the groups' members ([`super::members`]).
#[derive(Debug, Default)]
pub struct MembersRead {
    /// Each group read, or kept from a read within [`MEMBERS_AGAIN`].
    pub members: BTreeMap<String, Members>,
    /// `(group, why)` of each group whose members could not be read.
    pub failed: Vec<(String, String)>,
    /// Graph lists asked (first pages).
    pub calls: usize,
    /// What could not be kept.
    pub unkept: Vec<String>,
}

/// The members of each of `groups` at `now`: kept from a read within [`MEMBERS_AGAIN`], else
/// read from `graph` (once each, its transitive members list) and kept.
pub async fn read_members(
    (tables, clock): (&dyn TableStore, &dyn Clock),
    graph: &dyn Directory,
    groups: &BTreeSet<String>,
    now: OffsetDateTime,
) -> MembersRead {
    let mut out = MembersRead::default();
    for g in groups.iter().take(MAX_GROUPS) {
        match store::members_of(tables, g).await {
            Ok(Some((at, kept))) if at + MEMBERS_AGAIN > now => {
                out.members.insert(g.clone(), Members::new(at, &kept));
                continue;
            }
            Ok(_) => {}
            Err(e) => out
                .unkept
                .push(format!("members of group {g} not read back: {e}")),
        }
        out.calls += 1;
        match graph.transitive_members(g).await {
            Ok(list) => {
                let at = clock.now();
                if let Err(e) = store::keep_members(tables, g, &list, at).await {
                    out.unkept
                        .push(format!("members of group {g} not kept: {e}"));
                }
                out.members.insert(g.clone(), Members::new(at, &list));
            }
            Err(e) => out.failed.push((
                g.clone(),
                format!("its members could not be read from Microsoft Graph: {e}"),
            )),
        }
    }
    out.failed.extend(beyond(groups));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::graph::groups::Principal;
    use time::macros::datetime;

    fn role(
        group: &str,
        scope: &str,
        window: (Option<OffsetDateTime>, Option<OffsetDateTime>),
    ) -> Evidence {
        Evidence {
            id: format!("r-{group}"),
            kind: Some(Kind::Pim),
            principal: group.into(),
            group_principal: true,
            scope: scope.into(),
            start: window.0,
            end: window.1,
            ..Evidence::default()
        }
    }

    #[test]
    fn only_groups_whose_role_reaches_a_session_vm_in_the_span_are_read() {
        let rg = "/subscriptions/s1/resourcegroups/rg";
        let vm = format!("{rg}/providers/microsoft.compute/virtualmachines/vm1");
        let span = (
            datetime!(2026-11-20 0:00 UTC),
            datetime!(2026-11-27 0:00 UTC),
        );
        let all = [
            role("g-here", rg, (Some(datetime!(2026-11-25 7:00 UTC)), None)),
            role("g-elsewhere", "/subscriptions/s2", (None, None)),
            role(
                "g-expired",
                rg,
                (None, Some(datetime!(2026-11-01 0:00 UTC))),
            ),
            Evidence {
                group_principal: false,
                ..role("user", rg, (None, None))
            },
        ];
        let vms = BTreeSet::from([vm]);
        assert_eq!(
            held(&all, &vms, span),
            BTreeSet::from(["g-here".to_owned()])
        );
    }

    #[test]
    fn an_activated_membership_is_a_group_activation_and_an_owner_is_nothing() {
        let i = GroupInstance {
            id: "G1_member_X".into(),
            principal_id: Some("P1".into()),
            group_id: Some("G1".into()),
            access_id: Some("member".into()),
            assignment_type: Some("Activated".into()),
            start_date_time: Some("2026-11-25T07:50:00Z".into()),
            end_date_time: Some("2026-11-25T15:50:00Z".into()),
            principal: Some(Principal {
                user_principal_name: Some("Alice@Contoso.com".into()),
            }),
            ..GroupInstance::default()
        };
        let e = of_instance(&i).expect("member");
        assert_eq!(e.kind, Some(Kind::GroupActivation));
        assert_eq!((e.group.as_str(), e.principal.as_str()), ("g1", "p1"));
        assert_eq!(e.names, ["Alice@Contoso.com"]);
        assert_eq!(e.end, Some(datetime!(2026-11-25 15:50 UTC)));
        let assigned = GroupInstance {
            assignment_type: Some("Assigned".into()),
            ..i.clone()
        };
        assert_eq!(
            of_instance(&assigned).and_then(|e| e.kind),
            Some(Kind::GroupMember)
        );
        let owner = GroupInstance {
            access_id: Some("owner".into()),
            ..i
        };
        assert_eq!(of_instance(&owner), None);
    }
}
