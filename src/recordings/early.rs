//! Writes logged before their recording's row existed (the changes pass read the log row before
//! `BlobCreated` was handled): table `earlywrites` keeps each (PK: `<account>/<container>`, RK:
//! the name, request id and operation, through the key encoder) while the blob exists, and each
//! changes pass first judges those whose row now exists, as the writer check judges any write
//! ([`super::writer`]). A kept write waits at most [`WAIT`]: Event Grid retries a `BlobCreated`
//! delivery for up to 24 hours, so a row not made by then is not made by its event; the daily
//! listing catalogues such a blob, and its writer is then not checked.

use time::{Duration, OffsetDateTime};

use super::created::Recordings;
use crate::azure::{AzureError, found};
use crate::custody::query::Access;
use crate::dates::{format_utc, timestamp};
use crate::sources::Source;
use crate::tables::filter::Op;
use crate::tables::keys::{MAX_KEY_BYTES, Spelling, key};
use crate::tables::ops::{query_all, write_creating_table};
use crate::tables::{Filter, TableStore, WriteMode, get_record, get_str, put_record};

/// The table.
pub const TABLE: &str = "earlywrites";
/// How long a kept write waits for its row.
pub const WAIT: Duration = Duration::hours(24);
/// Kept writes one pass reads at most (the rest the next pass).
pub const PER_PASS: usize = 500;

impl Recordings {
    /// Keeps write `a` of `name`, which has no row yet, while its blob exists (a spelling of the
    /// name that names no blob is not kept).
    ///
    /// # Errors
    /// Table or storage errors.
    pub(super) async fn keep_early(
        &self,
        source: &Source,
        name: &str,
        a: &Access,
        now: OffsetDateTime,
    ) -> Result<(), AzureError> {
        if found(source.store.properties(&source.blob(name.to_owned())).await)?.is_none() {
            return Ok(());
        }
        let pk = key(
            &format!("{}/{}", source.account(), source.container),
            Spelling::Encoded,
            MAX_KEY_BYTES,
        );
        let rk = [name, &a.correlation_id, &a.operation].join("\n");
        let mut e = crate::tables::keyed(pk, key(&rk, Spelling::Encoded, MAX_KEY_BYTES));
        e.insert("Account".into(), source.account().into());
        e.insert("Container".into(), source.container.clone().into());
        e.insert("Name".into(), name.into());
        e.insert("KeptAt".into(), format_utc(now).into());
        put_record(&mut e, a);
        write_creating_table(self.ports.tables.as_ref(), TABLE, &e, WriteMode::Upsert).await?;
        Ok(())
    }

    /// Judges the kept writes whose row now exists, and drops them, those whose blob is gone and
    /// those that waited [`WAIT`]; returns how many were judged.
    ///
    /// # Errors
    /// Table or storage errors (a kept write stays until handled).
    pub(super) async fn early_writes(&self, now: OffsetDateTime) -> Result<usize, AzureError> {
        let tables: &dyn TableStore = self.ports.tables.as_ref();
        let before = Filter::str("KeptAt", Op::Le, format_utc(now));
        let kept = query_all(tables, TABLE, &before, PER_PASS).await?;
        let mut judged = 0;
        for k in kept {
            let e = &k.entity;
            let g = |p: &str| get_str(e, p).unwrap_or_default();
            let source = self.ports.sources.recording(g("Account"), g("Container"));
            let expired = timestamp(g("KeptAt")).is_none_or(|t| now >= t + WAIT);
            let done = match source {
                None => true,
                Some(source) => {
                    let a: Access = get_record(e);
                    let at = timestamp(&a.at).unwrap_or(now);
                    match self.row_named(source, g("Name"), at).await? {
                        None => expired,
                        Some(_) => {
                            let blob = source.blob(g("Name").to_owned());
                            if let Some(p) = found(source.store.properties(&blob).await)? {
                                self.record_writer(source, g("Name"), &a, &p, at).await?;
                                judged += 1;
                            }
                            true
                        }
                    }
                }
            };
            if done {
                let (pk, rk) = (g("PartitionKey"), g("RowKey"));
                crate::tables::ops::remove(tables, TABLE, pk, rk, Some(&k.etag)).await?;
            }
        }
        Ok(judged)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tables::Entity;

    #[test]
    fn a_kept_write_is_stored_under_the_same_properties_and_read_back() {
        let a = Access {
            at: "2025-03-14T09:00:00Z".into(),
            operation: "PutBlob".into(),
            status: "201".into(),
            authentication: "OAuth".into(),
            upn: "u@example.com".into(),
            object_id: "oid".into(),
            app_id: "app".into(),
            caller_ip: "203.0.113.7:50112".into(),
            user_agent: "azcopy".into(),
            correlation_id: "r1".into(),
            object_key: "/acct/rec/a.mp4".into(),
            source_uri: "https://x".into(),
            ingested_at: "2025-03-14T09:01:00Z".into(),
            etag: "\"0x1\"".into(),
            auth_hash: String::new(),
        };
        let mut e = Entity::new();
        e.insert("KeptAt".into(), "2025-03-14T09:02:00Z".into());
        put_record(&mut e, &a);
        let names: Vec<_> = e.keys().map(String::as_str).collect();
        let mut want = [
            "At",
            "Operation",
            "AuthType",
            "AuthHash",
            "Upn",
            "ObjectId",
            "AppId",
            "CallerIp",
            "RequestId",
            "Etag",
            "KeptAt",
        ];
        want.sort_unstable();
        assert_eq!(names, want, "the fields a kept write holds, empty ones too");
        assert_eq!(e["AuthType"], "OAuth");
        assert_eq!(e["RequestId"], "r1");
        assert_eq!(e["Etag"], "\"0x1\"");
        assert_eq!(e["AuthHash"], "");
        let back: Access = get_record(&e);
        let kept = Access {
            status: String::new(),
            user_agent: String::new(),
            object_key: String::new(),
            source_uri: String::new(),
            ingested_at: String::new(),
            ..a.clone()
        };
        assert_eq!(back, kept);
        assert_eq!(
            a.json()["requestId"],
            "r1",
            "the public JSON keeps its names"
        );
        assert_eq!(a.json()["authenticationType"], "OAuth");
    }
}
