//! The writer check of the changes pass (`CustodyActor`, custody workspace set): a logged write on
//! a catalogued name that made the content the blob holds now is recorded on the row as its
//! writer, judged against the recording identities of the hosts recording into its container
//! ([`crate::catalogue::writer`], [`crate::catalogue::identity`]), and the row falls due for the
//! join, which makes its match `suspect` when the write could not be Bastion's
//! (`written-by-other-principal`: an account key, anonymous; `writer-not-recording-identity`: an
//! Entra identity other than the hosts' recording identity, once that is known); the audit-log
//! tick then alerts `recording.suspect` once, as for the other doubts. Until the log row is read
//! (they arrive minutes late) the match stands. The identities applied are those in force at the
//! write's time (`TimeGenerated`); a write whose verdict a later estate check may change (a host's
//! identity then not read yet) is listed to be judged again ([`crate::catalogue::rejudge`]). Only a committing write decides
//! ([`crate::custody::changes::commits`]): a staged block changes no content.

use time::OffsetDateTime;

use super::created::Recordings;
use crate::azure::AzureError;
use crate::catalogue::recording::STATUS_CATALOGUED;
use crate::catalogue::writer::Writer;
use crate::custody::query::Access;
use crate::sources::Source;
use crate::storage::{BlobProps, normalize_etag};

/// True when request `a` made the content whose ETag is `etag`: its logged `Etag` is that one (a
/// row without one is taken as the writer of what the blob holds when read: a page's last write).
pub fn made(a: &Access, etag: &str) -> bool {
    a.etag.trim().is_empty() || normalize_etag(&a.etag) == normalize_etag(etag)
}

/// The writer of content `etag` as request `a` logged it.
pub fn writer_of(a: &Access, etag: &str) -> Writer {
    Writer {
        etag: normalize_etag(etag).to_owned(),
        operation: a.operation.clone(),
        authentication: a.authentication.clone(),
        auth_hash: a.auth_hash.clone(),
        upn: a.upn.clone(),
        object_id: a.object_id.clone(),
        app_id: a.app_id.clone(),
        caller_ip: a.caller_ip.clone(),
        at: a.at.clone(),
        request_id: a.correlation_id.clone(),
        ..Writer::default()
    }
}

impl Recordings {
    /// Records `a` as the writer of `name`'s current content `p` on its catalogue row (kept as is
    /// when a write that does not vouch is already recorded for that content), due for the join.
    ///
    /// # Errors
    /// Table errors.
    pub(super) async fn record_writer(
        &self,
        source: &Source,
        name: &str,
        a: &Access,
        p: &BlobProps,
        at: OffsetDateTime,
    ) -> Result<(), AzureError> {
        // Only a committing write decides (a staged block, kept from before, does not).
        if !crate::custody::changes::commits(&a.operation) || !made(a, &p.etag) {
            return Ok(());
        }
        let Some(row) = (self.row_named(source, name, at).await?).map(|r| r.value) else {
            return Ok(());
        };
        let tables = self.ports.tables.as_ref();
        let observed =
            crate::catalogue::identity::of(tables, source.account(), &source.container).await?;
        let w = writer_of(a, &p.etag);
        let ids = observed.at(crate::dates::timestamp(&w.at));
        let w = w.judged(&ids);
        if ids.waits_for(&w.authentication, &w.object_id) {
            // Listed before the verdict is stored: judged again by the next estate checks.
            let container = (source.account(), source.container.as_str());
            crate::catalogue::rejudge::wait(tables, container, &row.key, &w, &ids).await?;
        }
        let now = self.ports.clock.now();
        let repo = self.ports.catalogue();
        // The row as stored (its ETag): `update` takes `None` for a row that does not exist.
        let read = repo.get(&row.key).await?;
        repo.update(&row.key, read, |cur| {
            let cur = cur.filter(|c| {
                c.status == STATUS_CATALOGUED && normalize_etag(&c.etag) == normalize_etag(&p.etag)
            })?;
            let keep = Writer::keep_or(cur.writer.as_ref(), &w);
            if cur.writer.as_ref() == Some(keep) {
                return None;
            }
            let mut next = cur.clone();
            next.writer = Some(keep.clone());
            next.due_again(now);
            Some(next)
        })
        .await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_request_made_the_content_its_etag_names() {
        let p = "\"0x8D1\"";
        let mut a = Access::default();
        assert!(made(&a, p), "no Etag logged: the last write read");
        a.etag = "\"0x8D1\"".into();
        assert!(made(&a, p));
        a.etag = "0x8D1".into();
        assert!(made(&a, p));
        a.etag = "\"0x8D0\"".into();
        assert!(!made(&a, p), "an earlier content");
        a.authentication = "AccountKey".into();
        a.caller_ip = "198.51.100.23:50112".into();
        let w = writer_of(&a, p);
        assert_eq!(w.etag, "0x8D1", "quotes dropped");
        assert!(!w.vouches() && w.wrote(p));
        assert_eq!(w.caller_ip, "198.51.100.23:50112");
    }
}
