//! Plain group membership (with `AUTHZ_PIM_GROUPS`): the transitive user members of each group
//! holding a role that reaches a session's VM ([`super::groups::held`]), read from Microsoft
//! Graph at most once per group per check and kept with their read time in `authzwindows`
//! ([`super::store::members_of`]; read again after [`AGAIN`]). A session that nothing else covers
//! and whose person is among them is `standing` through the group; one whose person is not, with
//! the group's members and PIM for Groups instances read, is `none`; a group whose members could
//! not be read (Graph not set up, a 403 naming `GroupMember.Read.All`, a failure) leaves it
//! `unknown`, never `none` ([`super::decide`]).

use std::collections::{BTreeMap, BTreeSet};

use time::{Duration, OffsetDateTime};

use super::decide::Session;
use super::groups::MAX_GROUPS;
use super::store;
use crate::catalogue::person::forms;
use crate::clock::Clock;
use crate::graph::Directory;
use crate::graph::members::Member;
use crate::tables::TableStore;

/// A group's members kept are read again after this long (a member added or removed is seen
/// within it).
pub const AGAIN: Duration = Duration::hours(1);

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

    /// The object id of the member who is `s`'s person (by object id when the session has one,
    /// else by any form of its UPN).
    pub fn member(&self, s: &Session) -> Option<&str> {
        let oid = s.object_id.trim().to_ascii_lowercase();
        if !oid.is_empty() {
            return self.ids.get(&oid).map(String::as_str);
        }
        (forms(&s.upn).iter()).find_map(|f| self.names.get(f).map(String::as_str))
    }
}

/// What one check read of the groups' members.
#[derive(Debug, Default)]
pub struct Read {
    /// Each group read, or kept from a read within [`AGAIN`].
    pub members: BTreeMap<String, Members>,
    /// `(group, why)` of each group whose members could not be read.
    pub failed: Vec<(String, String)>,
    /// Graph lists asked (first pages).
    pub calls: usize,
    /// What could not be kept.
    pub unkept: Vec<String>,
}

/// The members of each of `groups` at `now`: kept from a read within [`AGAIN`], else read from
/// `graph` (once each) and kept.
pub async fn read(
    (tables, clock): (&dyn TableStore, &dyn Clock),
    graph: &dyn Directory,
    groups: &BTreeSet<String>,
    now: OffsetDateTime,
) -> Read {
    let mut out = Read::default();
    for (n, g) in groups.iter().enumerate() {
        if n >= MAX_GROUPS {
            let why = format!("more than {MAX_GROUPS} groups to read in one check");
            out.failed.push((g.clone(), why));
            continue;
        }
        match store::members_of(tables, g).await {
            Ok(Some((at, kept))) if at + AGAIN > now => {
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
    out
}
