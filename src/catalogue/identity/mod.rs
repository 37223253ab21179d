//! Table `recordingidentities`: who each Bastion host records into a watched container as, as the
//! estate checks read the host (PK: `<account>/<container>` of the recording source, RK: the
//! host's resource id, both through the key encoder). Written by the estate check only (the
//! host's API 2026-01-01 `sessionRecordingConfiguration.identity`, resolved to the object id of
//! the host's system-assigned or named user-assigned identity), read by the writer check
//! ([`super::writer`]) and the re-judgement ([`super::rejudge`]): an `OAuth` write by another
//! object id does not vouch.
//!
//! Each row keeps the host's identities over time ([`history`], `History`: at most
//! [`history::MAX_RUNS`] runs, each with the first and last check that read it), besides the last
//! read (`PrincipalId`, `ReadAt`). A write is judged by the identities in force at its time
//! ([`Observed::at`]): a run of a host covering it names that host's identity then; a write after
//! a host's last check is judged by what that check read, not yet confirmed (judged again by the
//! next check); a write no observation of a host covers (before its first run kept, or between
//! two runs that differ) is never judged by a later identity of that host: it cannot be ruled out,
//! and says so (`vouches-identity-unobserved`).
//!
//! An empty principal says the host's answer names no recording identity (a SAS target, or an
//! answer without the property, as from an older API version): that host's identity is unknown
//! then, and so is who records there when no host has been read. A host read recording somewhere
//! else, or no longer configured, gets a run [`history::NOT_HERE`]: from then on it is not among
//! the hosts writing here.

use std::collections::BTreeSet;

use time::OffsetDateTime;

use crate::azure::AzureError;
use crate::dates::{format_utc, timestamp};
use crate::tables::filter::Op;
use crate::tables::keys::{MAX_KEY_BYTES, Spelling, key};
use crate::tables::ops::{query_all, update};
use crate::tables::{Entity, Filter, Stored, TableStore, get_str};

pub mod history;

use history::{At, NOT_HERE, Run};

/// The table.
pub const TABLE: &str = "recordingidentities";
/// Most hosts one container is read for.
const MAX_HOSTS: usize = 100;
/// Most rows the estate check reads to find hosts no longer recording into a container.
const MAX_ROWS: usize = 1000;

/// Who could write into one container at one time, as the hosts' observed identities say.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Identities {
    /// The object ids of the recording identities in force then (lower-case, sorted): a run of a
    /// host covers the time.
    pub principals: Vec<String>,
    /// The identities hosts named at their last check before the time, not read again since
    /// (lower-case, sorted): a write by one vouches until the next check says otherwise.
    pub provisional: Vec<String>,
    /// Not ruled out: a host named no recording identity then, a host's identity then is not read
    /// yet, or no host was read.
    pub unknown: bool,
    /// The hosts (resource ids, lower-case, sorted) that named no recording identity then, or
    /// whose identity then is not read yet.
    pub unknown_hosts: Vec<String>,
    /// The hosts (resource ids, lower-case, sorted) whose identity no observation covers then
    /// (before their first run kept, or between two runs that differ).
    pub unobserved_hosts: Vec<String>,
    /// A later check may still tell: a host's identity then is not read yet, or no host was read.
    pub pending: bool,
}

/// What [`Identities::unknown_text`] says when no host recording into the container was read.
pub const NO_HOST_READ: &str = "no host read";

impl Identities {
    /// Nothing known: no host read yet.
    pub fn unknown() -> Self {
        Self {
            unknown: true,
            pending: true,
            ..Self::default()
        }
    }

    /// Whose identity is unknown, as text: the hosts, comma-separated, or [`NO_HOST_READ`]; empty
    /// when every host read names its identity.
    pub fn unknown_text(&self) -> String {
        if !self.unknown {
            String::new()
        } else if self.unknown_hosts.is_empty() {
            NO_HOST_READ.to_owned()
        } else {
            self.unknown_hosts.join(",")
        }
    }

    /// The identities a write is compared with: in force, and provisional (comma-separated).
    pub fn expected(&self) -> String {
        let mut all: Vec<&str> = self
            .principals
            .iter()
            .chain(&self.provisional)
            .map(String::as_str)
            .collect();
        all.sort_unstable();
        all.dedup();
        all.join(",")
    }

    /// What a judgement against these identities rests on, as one text: two reads that give the
    /// same text judge a write alike.
    pub fn basis(&self) -> String {
        [
            self.principals.join(","),
            self.provisional.join(","),
            self.unknown_text(),
            self.unobserved_hosts.join(","),
            self.pending.to_string(),
        ]
        .join("\n")
    }

    /// True when `object_id` is a recording identity in force then.
    pub fn holds(&self, object_id: &str) -> bool {
        let id = object_id.trim();
        !id.is_empty() && self.principals.iter().any(|p| p.eq_ignore_ascii_case(id))
    }

    /// True when `object_id` is a provisional identity (named at a host's last check).
    pub fn provisionally_holds(&self, object_id: &str) -> bool {
        let id = object_id.trim();
        !id.is_empty() && self.provisional.iter().any(|p| p.eq_ignore_ascii_case(id))
    }

    /// True when a later check may change the verdict of an `OAuth` write by `object_id`: it is
    /// not an identity in force then, and a host's identity then is not read yet.
    pub fn waits_for(&self, authentication: &str, object_id: &str) -> bool {
        self.pending && authentication.eq_ignore_ascii_case("OAuth") && !self.holds(object_id)
    }
}

/// Every host's observed identities for one container.
#[derive(Debug, Clone, Default)]
pub struct Observed {
    /// `(host, its runs)`, hosts lower-case.
    hosts: Vec<(String, Vec<Run>)>,
}

impl Observed {
    /// Who could write there at `t` (module doc); `None` (a write whose time is not known): no
    /// observation covers it.
    pub fn at(&self, t: Option<OffsetDateTime>) -> Identities {
        let mut out = Identities::default();
        let mut any = false;
        for (host, runs) in &self.hosts {
            let state = t.map_or(At::Unobserved, |t| history::at(runs, t));
            match state {
                At::Named(NOT_HERE) | At::After(NOT_HERE) => continue,
                At::Named("") => {
                    out.unknown = true;
                    out.unknown_hosts.push(host.clone());
                }
                At::Named(p) => out.principals.push(p.to_owned()),
                At::After(p) => {
                    out.unknown = true;
                    out.pending = true;
                    out.unknown_hosts.push(host.clone());
                    if !p.is_empty() {
                        out.provisional.push(p.to_owned());
                    }
                }
                At::Unobserved => out.unobserved_hosts.push(host.clone()),
            }
            any = true;
        }
        if !any {
            return Identities::unknown();
        }
        for list in [
            &mut out.principals,
            &mut out.provisional,
            &mut out.unknown_hosts,
            &mut out.unobserved_hosts,
        ] {
            list.sort();
            list.dedup();
        }
        out
    }
}

/// `at` to the second, as stored.
fn whole_seconds(at: OffsetDateTime) -> OffsetDateTime {
    at.replace_nanosecond(0).unwrap_or(at)
}

pub(crate) fn partition(account: &str, container: &str) -> String {
    let text = format!("{account}/{container}").to_ascii_lowercase();
    key(&text, Spelling::Encoded, MAX_KEY_BYTES)
}

/// A row's runs: its `History`, or (a row written before histories were kept) its last read.
fn runs_of(e: &Entity) -> Vec<Run> {
    if let Some(text) = get_str(e, "History") {
        return history::from_text(text);
    }
    let read = get_str(e, "ReadAt").and_then(timestamp);
    let principal = get_str(e, "PrincipalId").unwrap_or_default().trim();
    read.map(|at| Run {
        principal: principal.to_ascii_lowercase(),
        from: at,
        to: at,
    })
    .into_iter()
    .collect()
}

/// Records that the check at `at` read host `host` (resource id) recording into
/// `account`/`container` as `principal`, naming none (`None`) or recording elsewhere
/// ([`NOT_HERE`]), into its history (a conditional update; a check not newer than the last one
/// read changes nothing).
///
/// # Errors
/// Table errors.
pub async fn record(
    tables: &dyn TableStore,
    (account, container): (&str, &str),
    host: &str,
    principal: Option<&str>,
    at: OffsetDateTime,
) -> Result<(), AzureError> {
    let pk = partition(account, container);
    let rk = key(&host.to_ascii_lowercase(), Spelling::Encoded, MAX_KEY_BYTES);
    let principal = principal.unwrap_or_default().trim().to_ascii_lowercase();
    let at = whole_seconds(at);
    let mut change = |cur: Option<&Stored>| {
        let mut runs = cur.map(|s| runs_of(&s.entity)).unwrap_or_default();
        if !history::observe(&mut runs, &principal, at) {
            return None;
        }
        let last = if principal == NOT_HERE {
            ""
        } else {
            &principal
        };
        Some(crate::tables::entity(serde_json::json!({
            "Account": account, "Container": container, "Host": host, "PrincipalId": last,
            "ReadAt": format_utc(at), "History": history::to_text(&runs),
        })))
    };
    update(tables, TABLE, &pk, &rk, &mut change).await?;
    Ok(())
}

/// What the hosts read so far record into `account`/`container` as, over time (an absent table:
/// none read).
///
/// # Errors
/// Table errors.
pub async fn of(
    tables: &dyn TableStore,
    account: &str,
    container: &str,
) -> Result<Observed, AzureError> {
    let pk = partition(account, container);
    let rows = query_all(tables, TABLE, &Filter::partition(&pk), MAX_HOSTS).await?;
    let hosts = rows
        .iter()
        .map(|r| {
            let host = get_str(&r.entity, "Host").unwrap_or_default();
            (host.to_ascii_lowercase(), runs_of(&r.entity))
        })
        .collect();
    Ok(Observed { hosts })
}

/// After the check at `at`: every host row not read by it whose host is no longer configured
/// (`configured`) or was read (`read`, lower-case) recording elsewhere gets a run [`NOT_HERE`];
/// a host not in `read` (its read failed, or the write of what it read did) keeps its rows as they
/// are, so the time until its next check stays covered once that check reads the same identity.
/// One query of the table (at most 1,000 rows).
///
/// # Errors
/// Table errors.
pub async fn close_absent(
    tables: &dyn TableStore,
    configured: &BTreeSet<String>,
    read: &BTreeSet<String>,
    at: OffsetDateTime,
) -> Result<usize, AzureError> {
    let at = whole_seconds(at);
    // Rows this check read carry its time.
    let older = Filter::str("ReadAt", Op::Lt, format_utc(at));
    let rows = query_all(tables, TABLE, &older, MAX_ROWS).await?;
    let mut closed = 0;
    for r in rows {
        let g = |k: &str| get_str(&r.entity, k).unwrap_or_default();
        let host = g("Host").to_ascii_lowercase();
        let open = runs_of(&r.entity)
            .last()
            .is_some_and(|l| l.to < at && l.principal != NOT_HERE);
        if open && (read.contains(&host) || !configured.contains(&host)) {
            let container = (g("Account"), g("Container"));
            record(tables, container, &host, Some(NOT_HERE), at).await?;
            closed += 1;
        }
    }
    Ok(closed)
}

#[cfg(test)]
mod tests {
    use time::Duration;
    use time::macros::datetime;

    use super::*;
    use crate::testkit::tables::memory::InMemoryTables;

    const B1: &str = "/subscriptions/s/hosts/b1";
    const B2: &str = "/subscriptions/s/hosts/b2";

    #[tokio::test]
    async fn a_container_knows_its_hosts_recording_identities_at_a_time_or_says_it_does_not() {
        let t = InMemoryTables::new();
        let t0 = datetime!(2026-03-14 09:00 UTC);
        let m = |n: i64| Some(t0 + Duration::minutes(n));
        let c = ("stweu", "recordings");
        let read = |a: &'static str, b: &'static str| of(&t, a, b);
        assert_eq!(
            read(c.0, c.1).await.expect("read").at(m(0)),
            Identities::unknown()
        );
        record(&t, c, B1, Some("AAAA-1"), t0).await.expect("write");
        record(&t, c, B1, Some("AAAA-1"), t0 + Duration::minutes(15))
            .await
            .expect("write");
        let known = read("STWEU", "recordings").await.expect("read");
        let at = known.at(m(5));
        assert_eq!(at.principals, ["aaaa-1"]);
        assert!(!at.unknown && !at.pending);
        assert!(at.holds("aaaa-1") && at.holds("AAAA-1") && !at.holds(""));
        assert!(!at.holds("bbbb-2"));
        // After the last check: the identity it read, not yet confirmed.
        let after = known.at(m(20));
        assert!(after.principals.is_empty() && after.pending && after.unknown);
        assert!(after.provisionally_holds("aaaa-1"));
        assert_eq!(after.unknown_text(), B1);
        // Before the first check: unobserved, never the later identity.
        let before = known.at(m(-5));
        assert_eq!(
            (before.unobserved_hosts.as_slice(), before.unknown),
            ([B1.to_owned()].as_slice(), false)
        );
        assert!(!before.holds("aaaa-1"));
        // A second host whose answer names no identity: unknown then, the first still known.
        record(&t, c, B2, None, t0).await.expect("write");
        let mixed = read(c.0, c.1).await.expect("read").at(m(0));
        assert!(mixed.unknown && mixed.holds("aaaa-1") && !mixed.pending);
        assert_eq!(mixed.unknown_text(), B2);
        assert_eq!(Identities::unknown().unknown_text(), NO_HOST_READ);
        assert_eq!(at.unknown_text(), "");
        // Another container is its own.
        assert!(read(c.0, "other").await.expect("read").at(m(0)).unknown);
    }

    #[tokio::test]
    async fn a_host_no_longer_recording_here_stops_counting_from_the_check_that_saw_it() {
        let t = InMemoryTables::new();
        let t0 = datetime!(2026-03-14 09:00 UTC);
        let c = ("stweu", "recordings");
        for (h, p) in [(B1, "aaaa-1"), (B2, "bbbb-2")] {
            record(&t, c, h, Some(p), t0).await.expect("write");
        }
        let t1 = t0 + Duration::minutes(15);
        record(&t, c, B1, Some("aaaa-1"), t1).await.expect("write");
        let configured: BTreeSet<String> = [B1.to_owned()].into();
        let read: BTreeSet<String> = [B1.to_owned()].into();
        // b2 is no longer configured: closed; b1, read by this check, is not.
        assert_eq!(
            close_absent(&t, &configured, &read, t1)
                .await
                .expect("closed"),
            1
        );
        assert_eq!(
            close_absent(&t, &configured, &read, t1)
                .await
                .expect("again"),
            0
        );
        let o = of(&t, c.0, c.1).await.expect("read");
        let later = o.at(Some(t1 + Duration::minutes(5)));
        assert_eq!(later.provisional, ["aaaa-1"]);
        assert_eq!(
            later.unknown_hosts,
            [B1.to_owned()],
            "b2 writes here no more"
        );
        let between = o.at(Some(t0 + Duration::minutes(5)));
        assert_eq!(between.principals, ["aaaa-1"]);
        assert_eq!(
            between.unobserved_hosts,
            [B2.to_owned()],
            "b2 not read again before leaving"
        );
    }
}
