//! Plain group membership (with `AUTHZ_PIM_GROUPS`): a group's transitive user members as read
//! (pure; read from Microsoft Graph at most once per group per check and kept with their read time
//! in `authzwindows` by [`super::groups::read_members`], read again after
//! [`super::groups::MEMBERS_AGAIN`]). A session that nothing else covers
//! and whose person is among them is `standing` through the group; one whose person is not, with
//! the group's members and PIM for Groups instances read, is `none`; a group whose members could
//! not be read (Graph not set up, a 403 naming `GroupMember.Read.All`, a failure) leaves it
//! `unknown`, never `none` ([`super::decide`]).

use std::collections::{BTreeMap, BTreeSet};

use time::OffsetDateTime;

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
