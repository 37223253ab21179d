//! Writes judged while who records into their container was unknown, judged again when its
//! recording identities change. A write by an Entra principal that is none of the known recording
//! identities, while a host recording there has no known identity (or none has been read), is
//! `vouches-identity-unknown` ([`super::writer`]): it cannot be ruled out yet. Its row is listed in
//! table `identitywaits` (PK: `<account>/<container>` as in `recordingidentities`, RK: the
//! recording id through the key encoder; `RecordingId`, the write's `RequestId` and `Etag`, and
//! `Basis`: the identities it was judged against), written before the row's verdict. Each time
//! the estate check records a host's identity for the container, [`container`] reads that
//! partition only; a listed row whose `Basis` differs from the identities now known is judged
//! again from the writer its row keeps (the logged `RequesterObjectId`, never the listing):
//!
//! - by a known recording identity: `vouches` (the match stands), no longer listed;
//! - by another principal, every host now known: `writer-not-recording-identity`, `JoinDue` now,
//!   so the next `AuditLogTail` pass makes the match `suspect` and its tick raises
//!   `recording.suspect` once, as for a write judged so when read; no longer listed;
//! - still not ruled out (a host still unknown): the row names the identities now known, and stays
//!   listed with the new `Basis`.
//!
//! A row whose writer or content changed meanwhile (another write recorded, the blob replaced or
//! deleted) is no longer listed, untouched.

use time::OffsetDateTime;

use super::identity::{self, Identities};
use super::key::RecordingKey;
use super::recording::STATUS_CATALOGUED;
use super::repo::CatalogueRepo;
use super::writer::{VOUCHES_IDENTITY_UNKNOWN, Writer};
use crate::azure::AzureError;
use crate::tables::keys::MAX_KEY_BYTES;
use crate::tables::ops::{query_all, write_creating_table};
use crate::tables::{Entity, Filter, Stored, TableStore, WriteMode, get_str};

/// The table.
pub const TABLE: &str = "identitywaits";
/// Listed rows one container's pass reads at most (the rest the next pass).
pub const PER_PASS: usize = 1000;

/// The identities writer `w` was judged against (as [`Identities::basis`] gives them).
fn basis_of(w: &Writer) -> String {
    [w.expected.as_str(), &w.unknown_hosts].join("\n")
}

/// Lists the row `key` in `account`/`container`, whose writer `w` was judged
/// `vouches-identity-unknown`, to be judged again when the identities change (an upsert).
///
/// # Errors
/// Table errors.
pub async fn wait(
    tables: &dyn TableStore,
    (account, container): (&str, &str),
    key: &RecordingKey,
    w: &Writer,
) -> Result<(), AzureError> {
    let mut e = Entity::new();
    e.insert(
        "PartitionKey".into(),
        identity::partition(account, container).into(),
    );
    e.insert("RowKey".into(), key.id_key(MAX_KEY_BYTES).into());
    e.insert("RecordingId".into(), key.id().into());
    e.insert("RequestId".into(), w.request_id.clone().into());
    e.insert("Etag".into(), w.etag.clone().into());
    e.insert("Basis".into(), basis_of(w).into());
    write_creating_table(tables, TABLE, &e, WriteMode::Upsert).await?;
    Ok(())
}

/// What one container's pass did.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Rejudged {
    /// Rows whose writer now vouches (a known recording identity).
    pub vouched: usize,
    /// Rows whose writer is now `writer-not-recording-identity` (due for the join).
    pub suspect: usize,
    /// Rows still not ruled out, or not judged again (the identities unchanged since).
    pub waiting: usize,
}

/// Judges again the rows of `account`/`container` listed while its identities were unknown, if
/// those identities changed since (module doc).
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
    let listed = match query_all(tables, TABLE, &Filter::partition(&pk), PER_PASS).await {
        Err(AzureError::NotFound) => return Ok(Rejudged::default()),
        other => other?,
    };
    let mut out = Rejudged::default();
    if listed.is_empty() {
        return Ok(out);
    }
    let ids = identity::of(tables, account, container).await?;
    let basis = ids.basis();
    for l in listed {
        if get_str(&l.entity, "Basis") == Some(basis.as_str()) {
            out.waiting += 1;
            continue;
        }
        match one(repo, &l, &ids, now).await?.as_deref() {
            Some(VOUCHES_IDENTITY_UNKNOWN) => {
                out.waiting += 1;
                let mut e = l.entity.clone();
                e.insert("Basis".into(), basis.clone().into());
                settle(
                    tables
                        .write(TABLE, &e, WriteMode::IfMatch(l.etag.clone()))
                        .await,
                )?;
                continue;
            }
            Some(super::writer::VOUCHES) => out.vouched += 1,
            Some(_) => out.suspect += 1,
            None => {}
        }
        let (pk, rk) = (
            get_str(&l.entity, "PartitionKey").unwrap_or_default(),
            get_str(&l.entity, "RowKey").unwrap_or_default(),
        );
        settle(
            tables
                .delete(TABLE, pk, rk, Some(&l.etag))
                .await
                .map(|()| String::new()),
        )?;
    }
    Ok(out)
}

/// A listed row changed or removed meanwhile (another instance): left to it.
fn settle(r: Result<String, AzureError>) -> Result<(), AzureError> {
    match r {
        Ok(_) | Err(AzureError::NotFound | AzureError::PreconditionFailed) => Ok(()),
        Err(e) => Err(e),
    }
}

/// Judges listed row `l` again against `ids`: the verdict its writer has now, or `None` when its
/// row no longer holds the write listed (the row gone, another writer, another content).
async fn one(
    repo: &CatalogueRepo,
    l: &Stored,
    ids: &Identities,
    now: OffsetDateTime,
) -> Result<Option<String>, AzureError> {
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
            w.verdict == VOUCHES_IDENTITY_UNKNOWN
                && w.request_id == request
                && w.etag == etag
                && w.wrote(&cur.etag)
        })?;
        let next = w.clone().judged(ids);
        verdict = Some(next.verdict.clone());
        if next == *w {
            return None;
        }
        let mut row = cur.clone();
        if !next.vouches() {
            row.join_due = Some(now);
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
    use crate::tables::memory::InMemoryTables;

    #[test]
    fn a_writers_basis_is_the_identities_it_was_judged_against() {
        let ids = Identities {
            principals: vec!["0b5e".into()],
            unknown: true,
            unknown_hosts: vec!["/s/hosts/b2".into()],
        };
        let w = Writer {
            authentication: "OAuth".into(),
            object_id: "9a8b".into(),
            ..Writer::default()
        }
        .judged(&ids);
        assert_eq!(basis_of(&w), ids.basis());
        assert_ne!(basis_of(&w), Identities::unknown().basis());
    }

    #[tokio::test]
    async fn a_container_without_its_table_has_nothing_to_judge() {
        let t = std::sync::Arc::new(InMemoryTables::new());
        let repo = CatalogueRepo::new(t.clone());
        let now = time::macros::datetime!(2026-03-14 09:00 UTC);
        let r = container(t.as_ref(), &repo, ("stweu", "recordings"), now).await;
        assert_eq!(r.expect("no table"), Rejudged::default());
    }
}
