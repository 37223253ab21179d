//! The evidence pack's rows, read through the catalogue API's own queries: sessions and recordings
//! day by day with the listings' filters, order and CSV cells ([`crate::api::sessions`],
//! [`crate::api::search`], [`crate::api::render`]), so a pack's files are the API's exports of the
//! same period, each row with its latest review as the listings show it. Holds, tombstones and access-audit rows are read from their tables here; with `--bastion` they
//! are kept when they are about a recording of that host ([`super::hosts`]).

use std::sync::Mutex;

use async_trait::async_trait;
use serde_json::{Value, json};

use super::hosts::{About, HostFilter};
use crate::api::detail::ACCESS_AUDIT_TABLE;
use crate::api::query::{Format, MAX_LIMIT, Query};
use crate::api::search::{View, day_rows, view_rows};
use crate::api::{render, sessions};
use crate::catalogue::RECORDINGS_TABLE;
use crate::catalogue::window::WINDOWS_TABLE;
use crate::evidence::source::{Facts, Kind, Row, RowSource};
use crate::ports::Ports;
use crate::retention::hold::HOLDS_TABLE;
use crate::retention::tombstone::DELETIONS_TABLE;
use crate::reviews::annotate::{Rows, annotate};
use crate::tables::filter::Op;
use crate::tables::ops::query_all;
use crate::tables::{Entity, Filter, TableError, get_i64, get_list, get_str};

const HOLD_COLUMNS: &[(&str, &str)] = &[
    ("holdId", "RowKey"),
    ("scope", "Scope"),
    ("status", "Status"),
    ("setBy", "SetBy"),
    ("setAt", "SetAt"),
    ("reason", "Reason"),
    ("selector", "Selector"),
    ("releasedBy", "ReleasedBy"),
    ("releasedAt", "ReleasedAt"),
];
const DELETION_COLUMNS: &[(&str, &str)] = &[
    ("id", "TombstoneId"),
    ("deletedAt", "DeletedAt"),
    ("outcome", "Outcome"),
    ("reason", "Reason"),
    ("retentionClass", "RetentionClass"),
    ("retainUntil", "RetainUntil"),
    ("sha256", "Sha256"),
    ("blobUrl", "BlobUrl"),
    ("catalogueKey", "CatalogueKey"),
    ("invocationId", "InvocationId"),
    ("etag", "ETag"),
];
const ACCESS_COLUMNS: &[(&str, &str)] = &[
    ("at", "At"),
    ("who", "Who"),
    ("action", "Action"),
    ("target", "Target"),
    ("outcome", "Outcome"),
    ("clientIp", "ClientIp"),
    ("userAgent", "UserAgent"),
    ("link", "Link"),
];
/// `bursts.csv`: the notification id, then each column with the digest's field that fills it.
const BURST_COLUMNS: &[(&str, &str)] = &[
    ("windowStart", "windowStart"),
    ("windowEnd", "windowEnd"),
    ("dimension", "dimension"),
    ("value", "value"),
    ("targetVm", "targetVm"),
    ("bastionHost", "bastionHost"),
    ("attempts", "count"),
];
const INTEGRITY_COLUMNS: &[&str] = &[
    "id",
    "bastionHost",
    "blobName",
    "contentLength",
    "sha256",
    "hashedLength",
    "status",
    "state",
    "lastVerifiedAt",
    "verification",
];

/// The period's rows from the app's tables.
pub struct TablesSource {
    ports: Ports,
    query: Query,
    /// The continuation of the paged deletions scan.
    deletions_next: Mutex<Option<String>>,
    reviews: super::reviews::Reviews,
    /// With `--bastion`: which holds, tombstones and accesses are that host's.
    host: Option<HostFilter>,
    /// The failed-login window (the detections' digests are rebuilt with it).
    burst_window: time::Duration,
}

impl TablesSource {
    /// Rows of `[from, to)`, of one Bastion host when `bastion` is given.
    pub fn new(
        ports: Ports,
        from: time::OffsetDateTime,
        to: time::OffsetDateTime,
        bastion: Option<&str>,
        burst_window: time::Duration,
    ) -> Self {
        let filters = bastion
            .map(|b| vec![("bastion", b.to_lowercase())])
            .unwrap_or_default();
        let reviews = super::reviews::Reviews::new(from, to, bastion.map(str::to_lowercase));
        Self {
            reviews,
            ports,
            query: Query {
                from,
                to,
                filters,
                limit: MAX_LIMIT,
                continuation: None,
                format: Format::Csv,
            },
            deletions_next: Mutex::new(None),
            host: bastion.map(HostFilter::new),
            burst_window,
        }
    }

    /// True when a row is this pack's host's (always, without `--bastion`).
    async fn keeps(&self, about: About<'_>) -> anyhow::Result<bool> {
        match &self.host {
            None => Ok(true),
            Some(h) => h.about(self.ports.tables.as_ref(), about).await,
        }
    }

    async fn sessions(&self, day: &str) -> anyhow::Result<Vec<Row>> {
        let q = &self.query;
        let view = View {
            keep: &|e| sessions::matches(q, e),
            time: sessions::start_time,
        };
        let tables = self.ports.tables.as_ref();
        let mut rows = view_rows(tables, WINDOWS_TABLE, day, &view)
            .await
            .map_err(api_error)?;
        annotate(tables, &mut rows, Rows::Sessions).await?;
        Ok(rows.iter().filter_map(session_row).collect())
    }

    async fn recordings(&self, day: &str) -> anyhow::Result<Vec<Row>> {
        let tables = self.ports.tables.as_ref();
        let mut rows = day_rows(tables, RECORDINGS_TABLE, day, &self.query)
            .await
            .map_err(api_error)?;
        annotate(tables, &mut rows, Rows::Recordings).await?;
        // Results are keyed as the catalogue rows: the same day partition.
        let checks = if rows.is_empty() {
            std::collections::HashMap::new()
        } else {
            crate::integrity::checks::of_day(tables, day).await?
        };
        Ok(rows
            .iter()
            .map(|e| {
                let check = get_str(e, "RowKey").and_then(|rk| checks.get(rk));
                recording_row(e, check)
            })
            .collect())
    }

    /// Every page of `filter` on `table` (a missing table is empty).
    async fn all(&self, table: &str, filter: &Filter) -> anyhow::Result<Vec<Entity>> {
        let rows = query_all(&*self.ports.tables, table, filter, usize::MAX).await?;
        Ok(rows.into_iter().map(|s| s.entity).collect())
    }

    /// The `login.failed.burst` detections of the period, as the detector stored them.
    async fn bursts(&self) -> anyhow::Result<Vec<Row>> {
        let found = crate::audit_logs::detect::stored::bursts(
            self.ports.tables.as_ref(),
            self.query.from,
            self.query.to,
            self.burst_window,
        )
        .await?;
        let text = |v: &Value| match v {
            Value::String(s) => s.clone(),
            Value::Null => String::new(),
            other => other.to_string(),
        };
        Ok(found
            .into_iter()
            .filter_map(|n| {
                let d = &n.data;
                let hosts: Vec<String> = d["bastionHost"]
                    .as_str()
                    .unwrap_or_default()
                    .split(", ")
                    .filter(|h| !h.is_empty())
                    .map(str::to_owned)
                    .collect();
                if let Some(h) = &self.host
                    && !hosts.iter().any(|x| h.is(x))
                {
                    return None;
                }
                let mut cells = vec![n.notification_id.clone()];
                cells.extend(BURST_COLUMNS.iter().map(|(_, k)| text(&d[*k])));
                Some(Row {
                    cells,
                    facts: Facts::Burst { hosts },
                })
            })
            .collect())
    }

    /// Holds set before the end and not released before the start (one small partition).
    async fn holds(&self) -> anyhow::Result<Vec<Row>> {
        let (from, to) = (
            crate::dates::format_utc(self.query.from),
            crate::dates::format_utc(self.query.to),
        );
        let rows = self.all(HOLDS_TABLE, &Filter::partition("hold")).await?;
        let mut out = Vec::new();
        for e in rows
            .iter()
            .filter(|e| get_str(e, "SetAt").unwrap_or_default() < to.as_str())
            .filter(|e| get_str(e, "ReleasedAt").is_none_or(|r| r.is_empty() || r >= from.as_str()))
        {
            let id = s(e, "RowKey");
            if self.keeps(About::Hold(&id)).await? {
                out.push(Row {
                    cells: cells(e, HOLD_COLUMNS),
                    facts: Facts::Hold {
                        id,
                        status: s(e, "Status"),
                    },
                });
            }
        }
        Ok(out)
    }

    /// One page of tombstones whose deletion lies in the period: a filtered scan of `deletions`
    /// (tombstones are keyed by the blob's creation day, which can be years before its deletion).
    async fn deletions(&self, chunk: usize) -> anyhow::Result<Option<Vec<Row>>> {
        let token = {
            let next = self
                .deletions_next
                .lock()
                .map_err(|_| anyhow::anyhow!("lock poisoned"))?;
            if chunk > 0 && next.is_none() {
                return Ok(None);
            }
            next.clone()
        };
        let filter = Filter::And(vec![
            Filter::str(
                "DeletedAt",
                Op::Ge,
                crate::dates::format_utc(self.query.from),
            ),
            Filter::str("DeletedAt", Op::Lt, crate::dates::format_utc(self.query.to)),
        ]);
        let page = match self
            .ports
            .tables
            .query(DELETIONS_TABLE, Some(&filter), Some(1000), token)
            .await
        {
            Err(TableError::NotFound) => return Ok((chunk == 0).then(Vec::new)),
            other => other?,
        };
        *self
            .deletions_next
            .lock()
            .map_err(|_| anyhow::anyhow!("lock poisoned"))? = page.next;
        let mut out = Vec::new();
        for e in page.items.iter().map(|st| &st.entity) {
            let id = s(e, "TombstoneId");
            if !id.is_empty() && self.keeps(About::Recording(&id)).await? {
                out.push(Row {
                    cells: cells(e, DELETION_COLUMNS),
                    facts: Facts::Deletion {
                        class: s(e, "RetentionClass"),
                    },
                });
            }
        }
        Ok(Some(out))
    }

    async fn accesses(&self, day: &str) -> anyhow::Result<Vec<Row>> {
        let (from, to) = (
            crate::dates::format_utc_millis(self.query.from),
            crate::dates::format_utc_millis(self.query.to),
        );
        let rows = self
            .all(ACCESS_AUDIT_TABLE, &Filter::partition(day))
            .await?;
        let mut out = Vec::new();
        for e in rows
            .iter()
            .filter(|e| get_str(e, "At").is_some_and(|a| a >= from.as_str() && a < to.as_str()))
        {
            let target = s(e, "Target");
            if self.keeps(About::Access(&target)).await? {
                out.push(Row {
                    cells: cells(e, ACCESS_COLUMNS),
                    facts: Facts::Access {
                        who: s(e, "Who"),
                        target,
                        action: s(e, "Action"),
                        at: s(e, "At"),
                    },
                });
            }
        }
        Ok(out)
    }
}

fn s(e: &Entity, k: &str) -> String {
    get_str(e, k).unwrap_or_default().to_owned()
}

fn cells(e: &Entity, columns: &[(&str, &str)]) -> Vec<String> {
    columns
        .iter()
        .map(|(_, p)| match e.get(*p) {
            Some(Value::String(v)) => v.clone(),
            None | Some(Value::Null) => String::new(),
            Some(v) => v.to_string(),
        })
        .collect()
}

fn session_row(e: &Entity) -> Option<Row> {
    Some(Row {
        cells: sessions::csv_cells(e),
        facts: Facts::Session {
            id: s(e, "RowKey"),
            host: s(e, "BastionHost"),
            start: sessions::start(e)?,
            outcome: sessions::outcome(e),
            recorded: sessions::recorded(e),
            recordings: get_list(e, "RecordingIds").map(str::to_owned).collect(),
        },
    })
}

/// A recording's row; `check` is its latest verification (at, result).
fn recording_row(e: &Entity, check: Option<&(String, String)>) -> Row {
    let cells = render::csv_cells(e);
    let col = |name: &str| {
        render::COLUMNS
            .iter()
            .position(|(n, _)| *n == name)
            .and_then(|i| cells.get(i).cloned())
            .unwrap_or_default()
    };
    let hashed = get_str(e, "Sha256").is_some_and(|h| !h.is_empty());
    let state = match (
        hashed,
        get_i64(e, "HashedLength"),
        get_i64(e, "ContentLength"),
    ) {
        (false, ..) => "unhashed",
        (true, Some(h), Some(c)) if h != c => "length-mismatch",
        (true, ..) => "hashed",
    };
    let integrity_cells = vec![
        col("id"),
        col("bastionHost"),
        format!("{}/{}", col("container"), col("blobName")),
        col("contentLength"),
        col("sha256"),
        col("hashedLength"),
        col("status"),
        state.to_owned(),
        check.map(|c| c.0.clone()).unwrap_or_default(),
        check.map_or_else(|| "never".to_owned(), |c| c.1.clone()),
    ];
    Row {
        facts: Facts::Recording {
            id: col("id"),
            host: col("bastionHost"),
            status: col("status"),
            class: col("retentionClass"),
            retain_until: Some(col("retainUntil")).filter(|r| !r.is_empty()),
            integrity: state,
            held: e.get("LegalHold").and_then(Value::as_bool).unwrap_or(false),
            verification: check.map_or_else(|| "never".to_owned(), |c| c.1.clone()),
            integrity_cells,
        },
        cells,
    }
}

#[async_trait]
impl RowSource for TablesSource {
    fn columns(&self, kind: Kind) -> Vec<String> {
        let names: Vec<&str> = match kind {
            Kind::Reviews => super::reviews::COLUMNS.to_vec(),
            Kind::Sessions => sessions::COLUMNS.to_vec(),
            Kind::Bursts => std::iter::once("notificationId")
                .chain(BURST_COLUMNS.iter().map(|(c, _)| *c))
                .collect(),
            Kind::Recordings => render::COLUMNS.iter().map(|(n, _)| *n).collect(),
            Kind::Holds => HOLD_COLUMNS.iter().map(|(n, _)| *n).collect(),
            Kind::Deletions => DELETION_COLUMNS.iter().map(|(n, _)| *n).collect(),
            Kind::AccessAudit => ACCESS_COLUMNS.iter().map(|(n, _)| *n).collect(),
        };
        names.into_iter().map(str::to_owned).collect()
    }

    fn integrity_columns(&self) -> Vec<String> {
        INTEGRITY_COLUMNS.iter().map(|c| (*c).to_owned()).collect()
    }

    async fn chunk(&self, kind: Kind, chunk: usize) -> anyhow::Result<Option<Vec<Row>>> {
        let q = &self.query;
        match kind {
            Kind::Reviews => self.reviews.next(&self.ports).await,
            Kind::Sessions => match q.days().get(chunk) {
                Some(day) => self.sessions(day).await.map(Some),
                None => Ok(None),
            },
            Kind::Recordings => match q.recording_days().get(chunk) {
                Some(day) => self.recordings(day).await.map(Some),
                None => Ok(None),
            },
            Kind::Bursts => match chunk {
                0 => self.bursts().await.map(Some),
                _ => Ok(None),
            },
            Kind::Holds => match chunk {
                0 => self.holds().await.map(Some),
                _ => Ok(None),
            },
            Kind::Deletions => self.deletions(chunk).await,
            Kind::AccessAudit => match q.days().get(chunk) {
                Some(day) => self.accesses(day).await.map(Some),
                None => Ok(None),
            },
        }
    }

    fn describe(&self) -> Value {
        let account = self
            .ports
            .sources
            .recordings()
            .first()
            .map(|s| s.account().to_owned());
        json!({
            "tables": [WINDOWS_TABLE, crate::audit_logs::repo::FAILED_TABLE, RECORDINGS_TABLE, HOLDS_TABLE, DELETIONS_TABLE, ACCESS_AUDIT_TABLE, super::reviews::TABLE, crate::integrity::checks::CHECKS_TABLE],
            // A host's pack names only its own sources (and the ones tied to no host).
            "recordingSources": self.ports.sources.recordings().iter()
                .filter(|s| s.bastion.as_deref().is_none_or(|b| self.host.as_ref().is_none_or(|h| h.is(b))))
                .map(|s| json!({"container": s.container, "bastion": s.bastion})).collect::<Vec<_>>(),
            "defaultRecordingsAccount": account,
        })
    }
}

/// The listings' error as a pack error (storage details were logged where it was mapped).
fn api_error(e: crate::api::problem::ApiError) -> anyhow::Error {
    anyhow::anyhow!("catalogue read failed: {e:?}")
}
