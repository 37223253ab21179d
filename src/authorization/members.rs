//! Plain group membership (with `AUTHZ_PIM_GROUPS`): a group's transitive user members as read
//! (pure; read from Microsoft Graph at most once per group per check and kept with their read time
//! in `authzwindows` by [`super::groups::read_members`], read again after
//! [`super::groups::MEMBERS_AGAIN`]). A session that nothing else covers
//! and whose person is among them is `standing` through the group; one whose person is not, with
//! the group's members and PIM for Groups instances read, is `none`; a group whose members could
//! not be read (Graph not set up, a 403 naming `GroupMember.Read.All`, a failure) leaves it
//! `unknown`, never `none` ([`super::decide`]). Its membership at a session's start is the members
//! as read undone by Entra's `AuditLogs` membership changes between the read and the start
//! ([`member_at_start`]).

use std::collections::{BTreeMap, BTreeSet};

use time::OffsetDateTime;

use super::evidence::{Evidence, Kind};
use crate::catalogue::person::forms;
use crate::graph::members::Member;

/// A group's members as read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Members {
    /// When they were read.
    pub read_at: OffsetDateTime,
    /// Each name form of a member (UPN; a guest's address) → its object id.
    names: BTreeMap<String, String>,
    /// The members' object ids (lower-case).
    ids: BTreeSet<String>,
    /// Members Graph returned without a UPN (limited information: `User.ReadBasic.All` missing).
    pub unnamed: usize,
}

impl Members {
    /// The members of one read at `read_at`.
    pub fn new(read_at: OffsetDateTime, members: &[Member]) -> Self {
        let mut out = Self {
            read_at,
            names: BTreeMap::new(),
            ids: BTreeSet::new(),
            unnamed: 0,
        };
        for m in members {
            let id = m.id.trim().to_ascii_lowercase();
            out.ids.insert(id.clone());
            let upn = m.user_principal_name.as_deref().unwrap_or_default();
            if upn.trim().is_empty() {
                out.unnamed += 1;
            }
            for f in forms(upn).into_iter().filter(|f| !f.is_empty()) {
                out.names.insert(f, id.clone());
            }
        }
        out
    }

    /// The object id of the member who is a session's person (`upn`, `object_id`): by object id
    /// when the session has one, else by any form of its UPN.
    pub fn member(&self, upn: &str, object_id: &str) -> Option<&str> {
        let oid = object_id.trim().to_ascii_lowercase();
        if !oid.is_empty() {
            return self.ids.get(&oid).map(String::as_str);
        }
        (forms(upn).iter()).find_map(|f| self.names.get(f).map(String::as_str))
    }
}

/// A session's person: its UPN and object id.
pub type Person<'a> = (&'a str, &'a str);

/// Whether the session's person was a member of group `g` at its start `t` (their member id),
/// and what the record says of it (`mine`: a change names the session's person): the members as read at `m.read_at`, undone by the person's
/// membership changes of `g` (`AuditLogs`) between that read and `t`. Read after `t`: the first
/// change after `t` decides (added then: not a member at `t`; removed: a member). Read before `t`:
/// the last change before `t` (added: a member; removed: not). With no change between, the members
/// as read hold. This needs the changes read since before both (`changes_from`); otherwise the
/// members as read stand, and one read after `t` says who was a member at `t` is not seen.
pub fn member_at_start(
    (g, m): (&str, &Members),
    ((upn, object_id), mine): (Person<'_>, &dyn Fn(&Evidence) -> bool),
    t: OffsetDateTime,
    (all, changes_from): (&[Evidence], Option<OffsetDateTime>),
) -> (Option<String>, Option<String>) {
    let now = m.member(upn, object_id).map(str::to_owned);
    let read = crate::dates::format_utc_millis(m.read_at);
    let after = m.read_at > t;
    if changes_from.is_none_or(|from| from > t.min(m.read_at)) {
        let why = format!(
            "group {g}'s members as read at {read}, after the session's start: who was a member at its start is not seen (its membership changes are not read back to it)"
        );
        return (now, after.then_some(why));
    }
    let (lo, hi) = (t.min(m.read_at), t.max(m.read_at));
    let mut changes: Vec<&Evidence> = (all.iter())
        .filter(|e| e.group == g && matches!(e.kind, Some(Kind::MemberAdded | Kind::MemberRemoved)))
        .filter(|e| e.end.is_some_and(|at| at > lo && at <= hi) && mine(e))
        .collect();
    changes.sort_by_key(|e| (e.end, e.id.clone()));
    let decisive = if after {
        changes.first()
    } else {
        changes.last()
    };
    let Some(c) = decisive else {
        let why = format!(
            "group {g}'s members as read at {read}, with no change of the person's membership in AuditLogs between that read and the session's start"
        );
        return (now, after.then_some(why));
    };
    let at = c
        .end
        .map(crate::dates::format_utc_millis)
        .unwrap_or_default();
    let added = c.kind == Some(Kind::MemberAdded);
    let (when, member) = (if after { "after" } else { "before" }, after != added);
    let how = if added { "added" } else { "removed" };
    let is = if member { "a member" } else { "not a member" };
    let why = format!(
        "group {g}: the person was {how} at {at} ({}), {when} the session's start: {is} at its start",
        c.id
    );
    if !member {
        return (None, Some(why));
    }
    let name = || c.names.first().cloned().unwrap_or_default();
    let id = now.unwrap_or_else(|| {
        Some(c.principal.clone())
            .filter(|p| !p.is_empty())
            .unwrap_or_else(name)
    });
    (Some(id), Some(why))
}
