//! Writes logged before their recording's row existed (the changes pass read the log row before
//! `BlobCreated` was handled): table `earlywrites` keeps each (PK: `<account>/<container>`, RK:
//! the name, request id and operation, through the key encoder) while the blob exists, and each
//! changes pass first judges those whose row now exists, as the writer check judges any write
//! ([`super::writer`]). A kept write waits at most [`WAIT`]: Event Grid retries a `BlobCreated`
//! delivery for up to 24 hours, so a row not made by then is not made by its event; the daily
//! listing catalogues such a blob, and its writer is then not checked.

use time::{Duration, OffsetDateTime};

use super::Recordings;
use crate::azure::AzureError;
use crate::custody::query::Access;
use crate::dates::{format_utc, timestamp};
use crate::sources::Source;
use crate::tables::filter::Op;
use crate::tables::keys::{MAX_KEY_BYTES, Spelling, key};
use crate::tables::ops::{query_all, write_creating_table};
use crate::tables::{Entity, Filter, TableStore, WriteMode, get_str};

/// The table.
pub const TABLE: &str = "earlywrites";
/// How long a kept write waits for its row.
pub const WAIT: Duration = Duration::hours(24);
/// Kept writes one pass reads at most (the rest the next pass).
pub const PER_PASS: usize = 500;

/// The `Access` fields a kept write holds, by property.
const FIELDS: [&str; 10] = [
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
];

fn values(a: &Access) -> [&str; 10] {
    [
        &a.at,
        &a.operation,
        &a.authentication,
        &a.auth_hash,
        &a.upn,
        &a.object_id,
        &a.app_id,
        &a.caller_ip,
        &a.correlation_id,
        &a.etag,
    ]
}

fn access_of(e: &Entity) -> Access {
    let s = |k: &str| get_str(e, k).unwrap_or_default().to_owned();
    Access {
        at: s(FIELDS[0]),
        operation: s(FIELDS[1]),
        authentication: s(FIELDS[2]),
        auth_hash: s(FIELDS[3]),
        upn: s(FIELDS[4]),
        object_id: s(FIELDS[5]),
        app_id: s(FIELDS[6]),
        caller_ip: s(FIELDS[7]),
        correlation_id: s(FIELDS[8]),
        etag: s(FIELDS[9]),
        ..Access::default()
    }
}

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
        match source.store.properties(&source.blob(name.to_owned())).await {
            Err(AzureError::NotFound) => return Ok(()),
            other => other?,
        };
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
        for (k, v) in FIELDS.into_iter().zip(values(a)) {
            e.insert(k.into(), v.into());
        }
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
                    let a = access_of(e);
                    let at = timestamp(&a.at).unwrap_or(now);
                    match self.row_named(source, g("Name"), at).await? {
                        None => expired,
                        Some(_) => {
                            let blob = source.blob(g("Name").to_owned());
                            match source.store.properties(&blob).await {
                                Ok(p) => {
                                    self.record_writer(source, g("Name"), &a, &p, at).await?;
                                    judged += 1;
                                }
                                Err(AzureError::NotFound) => {}
                                Err(e) => return Err(e),
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
