//! Table `recordingidentities`: who each Bastion host records into a watched container as, as the
//! estate check last read the host (PK: `<account>/<container>` of the recording source, RK: the
//! host's resource id, both through the key encoder). Written by the estate check (the host's API
//! 2026-01-01 `sessionRecordingConfiguration.identity`, resolved to the object id of the host's
//! system-assigned or named user-assigned identity), read by the writer check
//! ([`super::writer`]): an `OAuth` write by another object id does not vouch.
//!
//! A row whose `PrincipalId` is empty says the host's answer names no recording identity (a SAS
//! target, or an answer without the property, as from an older API version): that host's identity
//! is unknown, and so is who records there when no host has been read yet. The known identities
//! still decide for a write by one of them; a write by any other Entra principal cannot be ruled
//! out while one host's identity is unknown (it may be that host's).

use time::OffsetDateTime;

use crate::azure::AzureError;
use crate::dates::format_utc;
use crate::tables::keys::{MAX_KEY_BYTES, Spelling, key};
use crate::tables::ops::{query_all, write_creating_table};
use crate::tables::{Entity, Filter, TableStore, WriteMode, get_str};

/// The table.
pub const TABLE: &str = "recordingidentities";
/// Most hosts one container is read for.
const MAX_HOSTS: usize = 100;

/// What the hosts recording into one container say about who writes there.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Identities {
    /// The object ids of the recording identities known (lower-case, sorted).
    pub principals: Vec<String>,
    /// No host read yet, or one read whose answer names no recording identity.
    pub unknown: bool,
    /// The hosts (resource ids, lower-case, sorted) read whose answer names no recording identity.
    pub unknown_hosts: Vec<String>,
}

/// What [`Identities::unknown_text`] says when no host recording into the container was read.
pub const NO_HOST_READ: &str = "no host read";

impl Identities {
    /// Nothing known: no host read yet.
    pub fn unknown() -> Self {
        Self {
            principals: Vec::new(),
            unknown: true,
            unknown_hosts: Vec::new(),
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

    /// What a judgement against these identities rests on (known and unknown), as one text: two
    /// reads that give the same text judge every write alike.
    pub fn basis(&self) -> String {
        [self.principals.join(","), self.unknown_text()].join("\n")
    }

    /// True when `object_id` is one of the recording identities.
    pub fn holds(&self, object_id: &str) -> bool {
        let id = object_id.trim();
        !id.is_empty() && self.principals.iter().any(|p| p.eq_ignore_ascii_case(id))
    }
}

pub(super) fn partition(account: &str, container: &str) -> String {
    let text = format!("{account}/{container}").to_ascii_lowercase();
    key(&text, Spelling::Encoded, MAX_KEY_BYTES)
}

/// Records what host `host` (resource id) records into `account`/`container` as: `principal`, or
/// `None` when its answer names no recording identity (an upsert: the last read wins).
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
    let mut e = Entity::new();
    let rk = key(&host.to_ascii_lowercase(), Spelling::Encoded, MAX_KEY_BYTES);
    e.insert("PartitionKey".into(), partition(account, container).into());
    e.insert("RowKey".into(), rk.into());
    e.insert("Account".into(), account.into());
    e.insert("Container".into(), container.into());
    e.insert("Host".into(), host.into());
    let principal = principal.map(str::trim).unwrap_or_default();
    e.insert("PrincipalId".into(), principal.to_ascii_lowercase().into());
    e.insert("ReadAt".into(), format_utc(at).into());
    write_creating_table(tables, TABLE, &e, WriteMode::Upsert).await?;
    Ok(())
}

/// What the hosts read so far record into `account`/`container` as (an absent table: unknown).
///
/// # Errors
/// Table errors.
pub async fn of(
    tables: &dyn TableStore,
    account: &str,
    container: &str,
) -> Result<Identities, AzureError> {
    let pk = partition(account, container);
    let rows = match query_all(tables, TABLE, &Filter::partition(&pk), MAX_HOSTS).await {
        Err(AzureError::NotFound) => return Ok(Identities::unknown()),
        other => other?,
    };
    let mut out = Identities {
        unknown: rows.is_empty(),
        ..Identities::default()
    };
    for r in rows {
        match get_str(&r.entity, "PrincipalId").map(str::trim) {
            Some(p) if !p.is_empty() => out.principals.push(p.to_ascii_lowercase()),
            _ => {
                out.unknown = true;
                let host = get_str(&r.entity, "Host").unwrap_or_default();
                out.unknown_hosts.push(host.to_ascii_lowercase());
            }
        }
    }
    out.principals.sort();
    out.principals.dedup();
    out.unknown_hosts.sort();
    Ok(out)
}

#[cfg(test)]
mod tests {
    use time::macros::datetime;

    use super::*;
    use crate::tables::memory::InMemoryTables;

    #[tokio::test]
    async fn a_container_knows_its_hosts_recording_identities_or_says_it_does_not() {
        let t = InMemoryTables::new();
        let at = datetime!(2026-03-14 09:00 UTC);
        let c = ("stweu", "recordings");
        assert_eq!(of(&t, c.0, c.1).await.expect("read"), Identities::unknown());
        record(&t, c, "/subscriptions/s/hosts/b1", Some("AAAA-1"), at)
            .await
            .expect("write");
        let known = of(&t, "STWEU", "recordings").await.expect("read");
        assert_eq!(known.principals, ["aaaa-1"]);
        assert!(!known.unknown);
        assert!(known.holds("aaaa-1") && known.holds("AAAA-1") && !known.holds(""));
        assert!(!known.holds("bbbb-2"));
        // A second host whose answer names no identity: unknown again, the first still known.
        record(&t, c, "/subscriptions/s/hosts/b2", None, at)
            .await
            .expect("write");
        let mixed = of(&t, c.0, c.1).await.expect("read");
        assert!(mixed.unknown && mixed.holds("aaaa-1"));
        assert_eq!(mixed.unknown_text(), "/subscriptions/s/hosts/b2");
        assert_eq!(mixed.basis(), "aaaa-1\n/subscriptions/s/hosts/b2");
        assert_eq!(Identities::unknown().unknown_text(), NO_HOST_READ);
        assert_eq!(known.unknown_text(), "");
        // Another container is its own.
        assert!(of(&t, c.0, "other").await.expect("read").unknown);
    }
}
