//! Tail cursors (table `auditcursors`): one row per `PT1H.json`, PK = the hour's day, RK =
//! base64url(`account:container/blob`).
//! A tick claims a cursor with an ETag-conditional `LeaseUntil` and advances `Offset` on the
//! claim's ETag; session upserts are idempotent, so a crash in between only repeats work.

use std::sync::Arc;

use serde_json::{Value, json};
use time::{Duration, OffsetDateTime};

use super::tables::CURSORS_TABLE;
use crate::azure::AzureError;
use crate::dates::{format_date, format_utc_millis, timestamp};
use crate::tables::keys::{MAX_KEY_BYTES, Spelling, key};
use crate::tables::ops::{Once, insert_once, query_all};
use crate::tables::{Entity, Filter, TableStore, WriteMode, filter::Op, get_i64, get_str, int64};

/// One tail cursor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cursor {
    /// The audit-log source's account and container.
    pub account: String,
    /// See `account`.
    pub container: String,
    /// Blob name in the audit-log container.
    pub blob: String,
    /// Start of the blob's hour.
    pub hour: OffsetDateTime,
    /// Bytes of the blob already processed (always at a line boundary).
    pub offset: u64,
    /// When the cursor was registered (event time).
    pub created_at: OffsetDateTime,
    /// Bastion host, lower-case.
    pub bastion_host: String,
    /// Retired: no more reads.
    pub done: bool,
    /// A claimed tick holds the cursor until then.
    pub lease_until: Option<OffsetDateTime>,
    /// Last time a tick read this blob.
    pub last_read_at: Option<OffsetDateTime>,
    /// The blob's length when a read last reached its end (bytes past it are growth).
    pub seen_length: u64,
    /// Growth left unread since then (a tick's budget was spent first); `None` when read.
    pub grown_at: Option<OffsetDateTime>,
    /// Records processed so far.
    pub records: u64,
    /// Corrupt lines quarantined so far.
    pub corrupt: u64,
    /// An over-long line is being skipped: discard bytes up to the next newline.
    pub skip_to_newline: bool,
    /// ETag the row was read with (empty for a new cursor).
    pub etag: String,
}

impl Cursor {
    /// A new cursor at offset 0.
    pub fn new(blob: &str, hour: OffsetDateTime, created_at: OffsetDateTime, host: &str) -> Self {
        Self {
            account: String::new(),
            container: String::new(),
            blob: blob.to_owned(),
            hour,
            offset: 0,
            created_at,
            bastion_host: host.to_owned(),
            done: false,
            lease_until: None,
            last_read_at: None,
            seen_length: 0,
            grown_at: None,
            records: 0,
            corrupt: 0,
            skip_to_newline: false,
            etag: String::new(),
        }
    }

    /// The same cursor in the source `account`/`container`.
    #[must_use]
    pub fn in_source(mut self, (account, container): (String, String)) -> Self {
        self.account = account;
        self.container = container;
        self
    }

    /// Partition key.
    pub fn pk(&self) -> String {
        format_date(self.hour.date())
    }

    /// Row key.
    pub fn rk(&self) -> String {
        let path = [&self.account, ":", &self.container, "/", &self.blob].concat();
        key(&path, Spelling::Encoded, MAX_KEY_BYTES)
    }

    /// True once the cursor is `window` past its hour.
    pub fn expired(&self, now: OffsetDateTime, window: Duration) -> bool {
        now >= self.hour + Duration::hours(1) + window
    }

    fn to_entity(&self) -> Entity {
        let t = |v: Option<OffsetDateTime>| v.map(format_utc_millis).unwrap_or_default();
        let mut e = crate::tables::entity(json!({
            "PartitionKey": self.pk(), "RowKey": self.rk(), "Blob": self.blob,
            "Hour": format_utc_millis(self.hour), "CreatedAt": format_utc_millis(self.created_at),
            "BastionHost": self.bastion_host, "Done": self.done, "LeaseUntil": t(self.lease_until),
            "LastReadAt": t(self.last_read_at), "SkipToNewline": self.skip_to_newline,
            "GrownAt": t(self.grown_at),
            "Account": self.account, "Container": self.container,
        }));
        let n = |v: u64| i64::try_from(v).unwrap_or(i64::MAX);
        int64(&mut e, "Offset", n(self.offset));
        int64(&mut e, "SeenLength", n(self.seen_length));
        int64(&mut e, "Records", n(self.records));
        int64(&mut e, "Corrupt", n(self.corrupt));
        e
    }

    fn from_entity(e: &Entity, etag: String) -> Option<Self> {
        let t = |k: &str| get_str(e, k).and_then(timestamp);
        let n = |k: &str| get_i64(e, k).map_or(0, |v| u64::try_from(v).unwrap_or(0));
        let b = |k: &str| e.get(k).and_then(Value::as_bool).unwrap_or(false);
        let s = |k: &str| get_str(e, k).unwrap_or_default().to_owned();
        Some(Self {
            account: s("Account"),
            container: s("Container"),
            blob: get_str(e, "Blob")?.to_owned(),
            hour: t("Hour")?,
            offset: n("Offset"),
            created_at: t("CreatedAt")?,
            bastion_host: s("BastionHost"),
            done: b("Done"),
            lease_until: t("LeaseUntil"),
            last_read_at: t("LastReadAt"),
            seen_length: n("SeenLength"),
            grown_at: t("GrownAt"),
            records: n("Records"),
            corrupt: n("Corrupt"),
            skip_to_newline: b("SkipToNewline"),
            etag,
        })
    }
}

/// Reads and writes cursors.
#[derive(Clone)]
pub struct CursorRepo {
    tables: Arc<dyn TableStore>,
}

impl CursorRepo {
    /// A repository over `tables`.
    pub fn new(tables: Arc<dyn TableStore>) -> Self {
        Self { tables }
    }

    /// Reads the cursor of `blob` of the source `source` (see [`Cursor::in_source`]) in the hour
    /// `hour`.
    pub async fn get(
        &self,
        source: (String, String),
        blob: &str,
        hour: OffsetDateTime,
    ) -> Result<Option<Cursor>, AzureError> {
        let probe = Cursor::new(blob, hour, hour, "").in_source(source);
        let stored =
            crate::tables::ops::get(&*self.tables, CURSORS_TABLE, &probe.pk(), &probe.rk()).await?;
        Ok(stored.and_then(|s| Cursor::from_entity(&s.entity, s.etag)))
    }

    /// Registers a cursor; returns it as stored (with its ETag) when inserted now, `None` when it
    /// already existed (duplicate event: keep its offset).
    pub async fn register(&self, cursor: &Cursor) -> Result<Option<Cursor>, AzureError> {
        let e = cursor.to_entity();
        Ok(
            match insert_once(self.tables.as_ref(), CURSORS_TABLE, &e).await? {
                Once::Inserted(etag) => Some(Cursor {
                    etag,
                    ..cursor.clone()
                }),
                Once::Existed => None,
            },
        )
    }

    /// Writes `cursor` if nobody changed it since it was read; returns it with the new ETag.
    ///
    /// # Errors
    /// `PreconditionFailed` when another instance won; other table errors.
    pub async fn save(&self, cursor: &Cursor) -> Result<Cursor, AzureError> {
        let etag = self
            .tables
            .write(
                CURSORS_TABLE,
                &cursor.to_entity(),
                WriteMode::IfMatch(cursor.etag.clone()),
            )
            .await?;
        Ok(Cursor {
            etag,
            ..cursor.clone()
        })
    }

    /// Claims `cursor` for `lease` from `now` (`LeaseUntil`, `If-Match` the cursor as read);
    /// `None` when another instance holds or just took it.
    ///
    /// # Errors
    /// Table errors other than a lost race.
    pub async fn claim(
        &self,
        cursor: &Cursor,
        now: OffsetDateTime,
        lease: Duration,
    ) -> Result<Option<Cursor>, AzureError> {
        if cursor.lease_until.is_some_and(|l| l > now) {
            return Ok(None);
        }
        let claimed = Cursor {
            lease_until: Some(now + lease),
            last_read_at: Some(now),
            ..cursor.clone()
        };
        match self.save(&claimed).await {
            Ok(c) => Ok(Some(c)),
            Err(AzureError::PreconditionFailed | AzureError::NotFound) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Every cursor not yet retired whose hour lies within `window` (+ one day of slack) before
    /// `now`, by hour; with `host`, those of the Bastion hosts named `host` only (lower-case;
    /// hosts of that name in other subscriptions or sources too).
    pub async fn active(
        &self,
        now: OffsetDateTime,
        window: Duration,
        host: Option<&str>,
    ) -> Result<Vec<Cursor>, AzureError> {
        let from = format_date((now - window - Duration::days(1)).date());
        let mut and = vec![
            Filter::str("PartitionKey", Op::Ge, from),
            Filter::bool("Done", false),
        ];
        and.extend(host.map(|h| Filter::str("BastionHost", Op::Eq, h.to_ascii_lowercase())));
        let filter = Filter::And(and);
        let rows = query_all(&*self.tables, CURSORS_TABLE, &filter, usize::MAX).await?;
        let mut cursors: Vec<Cursor> = rows
            .into_iter()
            .filter_map(|s| Cursor::from_entity(&s.entity, s.etag))
            .collect();
        cursors.sort_by_key(|c| c.hour);
        Ok(cursors)
    }
}
