//! Writes whose verdict a later estate check may change, judged again by it. A write is judged by
//! the identities in force at its time ([`super::identity`]); when a host's identity then is not
//! read yet (the write came after the host's last check, or no host was read), an `OAuth` write
//! that is not by an identity in force then is judged provisionally (`vouches` when by the
//! identity the host's last check read, else `vouches-identity-unknown`) and its row is listed in
//! table `identitywaits` (PK: `<account>/<container>` as in `recordingidentities`, RK: the
//! recording id through the key encoder; `RecordingId`, the write's `RequestId`, `Etag` and time
//! `WrittenAt`, and `Basis`: the identities it was judged against), written before the row's
//! verdict. Each estate check, after reading every host, runs [`container`] once per watched
//! container: one query of its partition; each listed row whose identities at its write's time
//! differ from its `Basis` is judged again from the writer its row keeps (the logged
//! `RequesterObjectId`, never the listing), by the identities in force at the write's time:
//!
//! - by an identity in force then: `vouches`, no longer listed;
//! - by another principal, every host's identity then read: `writer-not-recording-identity`,
//!   `JoinDue` now, so the next `AuditLogTail` pass makes the match `suspect` and its tick raises
//!   `recording.suspect` once, as for a write judged so when read; no longer listed;
//! - no observation of a host covers the write's time (the host's identity changed between its
//!   last check before the write and the next one): `vouches-identity-unobserved`, never judged
//!   by the later identity; no longer listed;
//! - still waiting (a host's identity then still not read): the row names the identities now
//!   known, and stays listed with the new `Basis`.
//!
//! A row whose writer or content changed meanwhile (another write recorded, the blob replaced or
//! deleted), or whose write no longer vouches, is no longer listed, untouched.

use time::OffsetDateTime;

use super::identity::{self, Identities};
use super::key::RecordingKey;
use super::recording::STATUS_CATALOGUED;
use super::repo::CatalogueRepo;
use super::writer::{VOUCHES, VOUCHES_IDENTITY_UNOBSERVED, Writer};
use crate::azure::AzureError;
use crate::dates::timestamp;
use crate::tables::keys::MAX_KEY_BYTES;
use crate::tables::ops::{query_all, remove, write_creating_table, write_unless_changed};
use crate::tables::{Filter, Stored, TableStore, WriteMode, get_str};

/// The table.
pub const TABLE: &str = "identitywaits";
/// Listed rows one container's pass reads at most (the rest the next pass).
pub const PER_PASS: usize = 1000;

/// Lists the row `key` in `account`/`container`, whose writer `w` was judged against `ids` while
/// a later check may still change its verdict, to be judged again (an upsert).
///
/// # Errors
/// Table errors.
pub async fn wait(
    tables: &dyn TableStore,
    (account, container): (&str, &str),
    key: &RecordingKey,
    w: &Writer,
    ids: &Identities,
) -> Result<(), AzureError> {
    let e = crate::tables::entity(serde_json::json!({
        "PartitionKey": identity::partition(account, container), "RowKey": key.id_key(MAX_KEY_BYTES),
        "RecordingId": key.id(), "RequestId": w.request_id, "Etag": w.etag, "WrittenAt": w.at,
        "Basis": ids.basis(),
    }));
    write_creating_table(tables, TABLE, &e, WriteMode::Upsert).await?;
    Ok(())
}

/// What one container's pass did.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Rejudged {
    /// Rows whose writer now vouches (a recording identity in force at its time).
    pub vouched: usize,
    /// Rows no observation of a host covers at their write's time: not ruled out, final.
    pub unobserved: usize,
    /// Rows whose writer is now `writer-not-recording-identity` (due for the join).
    pub suspect: usize,
    /// Rows still not ruled out, or not judged again (the identities unchanged since).
    pub waiting: usize,
}

/// Judges again the rows of `account`/`container` listed while a later check could change their
/// verdict, if the identities at their write's time changed since (module doc): one query of the
/// listing, and, with rows listed, one of the identities.
///
/// # Errors
/// Table errors (a listed row stays listed until judged).
pub async fn container(
    tables: &dyn TableStore,
    repo: &CatalogueRepo,
    (account, container): (&str, &str),
    now: OffsetDateTime,
) -> Result<Rejudged, AzureError> {
    let pk = identity::partition(account, container);
    let listed = query_all(tables, TABLE, &Filter::partition(&pk), PER_PASS).await?;
    let mut out = Rejudged::default();
    if listed.is_empty() {
        return Ok(out);
    }
    let observed = identity::of(tables, account, container).await?;
    for l in listed {
        let at = get_str(&l.entity, "WrittenAt").and_then(timestamp);
        let ids = observed.at(at);
        let basis = ids.basis();
        if get_str(&l.entity, "Basis") == Some(basis.as_str()) {
            out.waiting += 1;
            continue;
        }
        match one(repo, &l, &ids, now).await? {
            Some(w) if ids.waits_for(&w.authentication, &w.object_id) => {
                out.waiting += 1;
                let mut e = l.entity.clone();
                e.insert("Basis".into(), basis.into());
                write_unless_changed(tables, TABLE, &e, l.etag.clone()).await?;
                continue;
            }
            Some(w) if w.verdict == VOUCHES => out.vouched += 1,
            Some(w) if w.verdict == VOUCHES_IDENTITY_UNOBSERVED => out.unobserved += 1,
            Some(_) => out.suspect += 1,
            None => {}
        }
        let (pk, rk) = (
            get_str(&l.entity, "PartitionKey").unwrap_or_default(),
            get_str(&l.entity, "RowKey").unwrap_or_default(),
        );
        // A listed row changed or removed meanwhile (another instance) is left to it.
        remove(tables, TABLE, pk, rk, Some(&l.etag)).await?;
    }
    Ok(out)
}

/// Judges listed row `l` again against `ids`: its writer now, or `None` when its row no longer
/// holds the write listed (the row gone, another writer, another content, a doubt found).
async fn one(
    repo: &CatalogueRepo,
    l: &Stored,
    ids: &Identities,
    now: OffsetDateTime,
) -> Result<Option<Writer>, AzureError> {
    let g = |k: &str| get_str(&l.entity, k).unwrap_or_default();
    let Some(key) = RecordingKey::parse(g("RecordingId")) else {
        return Ok(None);
    };
    let (request, etag) = (g("RequestId"), g("Etag"));
    let read = repo.get(&key).await?;
    let mut verdict = None;
    repo.update(&key, read, |cur| {
        verdict = None;
        let cur = cur.filter(|c| c.status == STATUS_CATALOGUED)?;
        let w = cur.writer.as_ref().filter(|w| {
            w.vouches() && w.request_id == request && w.etag == etag && w.wrote(&cur.etag)
        })?;
        let next = w.clone().judged(ids);
        verdict = Some(next.clone());
        if next == *w {
            return None;
        }
        let mut row = cur.clone();
        if !next.vouches() {
            row.due_again(now);
        }
        row.writer = Some(next);
        Some(row)
    })
    .await?;
    Ok(verdict)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit::tables::memory::InMemoryTables;

    #[tokio::test]
    async fn a_container_without_its_table_has_nothing_to_judge() {
        let t = std::sync::Arc::new(InMemoryTables::new());
        let repo = crate::testkit::tables::catalogue(t.clone());
        let now = time::macros::datetime!(2026-03-14 09:00 UTC);
        let r = container(t.as_ref(), &repo, ("stweu", "recordings"), now).await;
        assert_eq!(r.expect("no table"), Rejudged::default());
    }
}
