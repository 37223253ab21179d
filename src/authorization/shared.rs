//! Shared VM accounts (pure): one VM account on one VM used by two or more people (the sessions'
//! `UserEmail`, compared in every form a name has: case, a guest's `#EXT#` UPN) within
//! `SHARED_ACCOUNT_DAYS`. Each is a `shared-account` finding naming the VM, the account, the
//! people and the first and last use, unless the VM signs people in with Entra ID (its
//! `AADSSHLoginForLinux` or `AADLoginForWindows` extension present: each person logs in as
//! themself), which the caller reads ([`ENTRA_LOGIN`]).

use std::collections::{BTreeMap, BTreeSet};

use time::OffsetDateTime;

use crate::catalogue::days::DayRow;
use crate::catalogue::person::forms;
use crate::catalogue::session::outcome::CONNECTED;

/// The VM extensions that sign people in with their own Entra ID.
pub const ENTRA_LOGIN: [&str; 2] = ["AADSSHLoginForLinux", "AADLoginForWindows"];

/// One VM account used by several people.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Shared {
    /// The VM's resource id (lower-case).
    pub vm: String,
    /// The VM's name.
    pub vm_name: String,
    /// The VM account (lower-case).
    pub account: String,
    /// The people (their names as first seen, one per person).
    pub people: Vec<String>,
    /// The first use in the window.
    pub first: OffsetDateTime,
    /// The last use.
    pub last: OffsetDateTime,
}

/// One VM account's uses so far.
#[derive(Debug)]
struct Uses {
    name: String,
    people: BTreeMap<String, String>,
    first: OffsetDateTime,
    last: OffsetDateTime,
}

/// The accounts' uses, counted as the sessions pass (memory: one entry per VM account, not per
/// session), so the evidence pack streams a period through it.
#[derive(Debug, Default)]
pub struct Accounts {
    by: BTreeMap<(String, String), Uses>,
}

impl Accounts {
    /// Counts session `r` (a failed login, or one without a VM, account or person, is left out).
    pub fn add(&mut self, r: &DayRow) {
        let (vm, account) = (
            r.target_resource_id.to_ascii_lowercase(),
            r.user_name.to_lowercase(),
        );
        if r.outcome != CONNECTED
            || vm.is_empty()
            || account.trim().is_empty()
            || r.user_email.trim().is_empty()
        {
            return;
        }
        let u = self.by.entry((vm, account)).or_insert_with(|| Uses {
            name: r.vm.clone(),
            people: BTreeMap::new(),
            first: r.start,
            last: r.start,
        });
        u.first = u.first.min(r.start);
        u.last = u.last.max(r.start);
        // A person is known by the last form of their name (a guest's address, else the name).
        let person = forms(&r.user_email).pop().unwrap_or_default();
        u.people
            .entry(person)
            .or_insert_with(|| r.user_email.clone());
    }

    /// The accounts used by two or more people, VM and account order.
    pub fn finish(self) -> Vec<Shared> {
        self.by
            .into_iter()
            .filter(|(_, u)| u.people.len() >= 2)
            .map(|((vm, account), u)| Shared {
                vm,
                vm_name: u.name,
                account,
                people: u
                    .people
                    .into_values()
                    .collect::<BTreeSet<_>>()
                    .into_iter()
                    .collect(),
                first: u.first,
                last: u.last,
            })
            .collect()
    }
}

/// The accounts of `rows` (successful sessions) used by two or more people.
pub fn shared(rows: &[DayRow]) -> Vec<Shared> {
    let mut accounts = Accounts::default();
    for r in rows {
        accounts.add(r);
    }
    accounts.finish()
}
