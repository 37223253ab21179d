//! Shared VM accounts (pure): one VM account on one VM used by two or more people (the sessions'
//! `UserEmail`, compared in every form a name has: case, a guest's `#EXT#` UPN) within
//! `SHARED_ACCOUNT_DAYS`. Each is a `shared-account` finding naming the VM, the account, the
//! people and the first and last use, unless the VM signs people in with Entra ID (its
//! `AADSSHLoginForLinux` or `AADLoginForWindows` extension present: each person logs in as
//! themself), which the caller reads ([`ENTRA_LOGIN`]). The uses are counted and told by
//! [`super::shared_store::add`] and [`super::shared_store::shared`], for the kept state and the
//! evidence pack alike.

use time::OffsetDateTime;

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
