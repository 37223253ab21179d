//! Where a pack's rows come from: the files read from the tables ([`Kind`], one CSV file each) and
//! [`Source`], which hands out each file's rows for the period in bounded chunks (a day partition,
//! a table page), in file order; the sessions and recordings a day at a time through the
//! catalogue's one query with the lists' filter, order and cells (`integrity.csv` derived from the
//! recordings).

use std::collections::HashMap;

use anyhow::Context as _;
use serde_json::{Value, json};
use time::Duration;

use super::custody::{self, CUSTODY_COLUMNS, REFUSAL_COLUMNS, RELEASE_COLUMNS};
use super::hosts::HostFilter;
use super::options::PackOptions;
use super::records::{self, ACCESS_COLUMNS, BURST_COLUMNS, DELETION_COLUMNS, HOLD_COLUMNS};
use super::rows::{Facts, Row};
use crate::catalogue::days::DayRow;
use crate::catalogue::query::shape::{self, Shape};
use crate::catalogue::query::{MAX_LIMIT, Query, page};
use crate::catalogue::recording::Recording;
use crate::names::named;
use crate::ports::Ports;
use crate::retention::hold::HOLDS_TABLE;
use crate::retention::tombstone::DELETIONS_TABLE;
use crate::reviews::annotate::latest;
use crate::reviews::refusal::REFUSALS_TABLE;
use crate::reviews::{Period, REVIEWS_TABLE, Review};
use crate::tables::TableStore;

named! {
    /// One CSV file of rows read from the tables, named by its file, in the order a pack reads them
    /// (reviews first: the sessions' coverage needs them).
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub enum Kind {
        /// Reviews of sessions and recordings.
        Reviews = "reviews.csv",
        /// Bastion sessions from the audit logs.
        Sessions = "sessions.csv",
        /// The failed-login bursts the detector raised.
        Bursts = "bursts.csv",
        /// Catalogued recordings (`integrity.csv` is derived from the same rows).
        Recordings = "recordings.csv",
        /// Legal holds.
        Holds = "holds.csv",
        /// Deletion tombstones.
        Deletions = "deletions.csv",
        /// Who read which recording.
        AccessAudit = "accessaudit.csv",
        /// Self-reviews refused.
        RefusedReviews = "refusedreviews.csv",
        /// Two-person hold release requests and approvals.
        HoldReleases = "holdreleases.csv",
        /// Recordings deleted outside retention or replaced.
        Custody = "custody.csv",
    }
}

impl Kind {
    /// The file's name and its columns.
    pub fn file(self) -> (&'static str, Vec<&'static str>) {
        let names = |list| records::columns(list).map(|(n, _)| n).collect();
        let columns = match self {
            Self::Reviews => Review::columns(),
            Self::Sessions => DayRow::columns(),
            Self::Bursts => [vec!["notificationId"], names(BURST_COLUMNS)].concat(),
            Self::Recordings => Recording::columns(),
            Self::Holds => names(HOLD_COLUMNS),
            Self::Deletions => names(DELETION_COLUMNS),
            Self::AccessAudit => names(ACCESS_COLUMNS),
            Self::RefusedReviews => names(REFUSAL_COLUMNS),
            Self::HoldReleases => names(RELEASE_COLUMNS),
            Self::Custody => names(CUSTODY_COLUMNS),
        };
        (self.as_str(), columns)
    }
}

/// The rows of one pack's period (of one host with `--bastion`), read from the app's tables.
pub struct Source {
    ports: Ports,
    /// The period, with the host as the lists' `bastion` filter.
    query: Query,
    /// The reviews not read yet.
    reviews: Period,
    /// With `--bastion`: which holds, tombstones and accesses are that host's.
    host: Option<HostFilter>,
    /// The failed-login window (the detections' digests are rebuilt with it).
    burst_bucket: Duration,
    /// The continuation of the paged deletions scan.
    deletions_next: Option<String>,
    /// The continuation of the paged custody scan.
    custody_next: Option<String>,
    /// The custody workspace whose requests join the access file.
    custody: Option<super::options::PackCustody>,
    /// The access rows' recordings, named.
    names: super::named::Names,
}

impl Source {
    /// The rows of the pack `opts` describes.
    pub fn new(ports: Ports, opts: &PackOptions) -> Self {
        let filters = opts.bastion.iter().map(|b| ("bastion", b.to_lowercase()));
        Self {
            query: Query {
                from: opts.from,
                to: opts.to,
                filters: filters.collect(),
                limit: MAX_LIMIT,
                continuation: None,
            },
            reviews: Period::new(opts.from, opts.to),
            host: opts.bastion.as_deref().map(HostFilter::new),
            burst_bucket: opts.burst_bucket,
            deletions_next: None,
            custody_next: None,
            custody: opts.custody.clone(),
            names: super::named::Names::default(),
            ports,
        }
    }

    /// The `chunk`-th chunk of `kind`'s rows (asked for in order); `None` after the last.
    ///
    /// # Errors
    /// Storage failures.
    pub async fn chunk(&mut self, kind: Kind, chunk: usize) -> anyhow::Result<Option<Vec<Row>>> {
        let (tables, q) = (self.ports.tables.as_ref(), &self.query);
        let (host, names) = (self.host.as_ref(), &mut self.names);
        let days = match kind {
            Kind::Recordings => q.recording_days(),
            _ => q.days(),
        };
        let day = days.get(chunk).map(String::as_str);
        let first = chunk == 0;
        Ok(match (kind, day) {
            (Kind::Reviews, _) => records::reviews(tables, &mut self.reviews, host).await?,
            (Kind::Sessions, Some(day)) => Some(sessions(tables, q, day).await?),
            (Kind::Recordings, Some(day)) => Some(recordings(tables, q, day).await?),
            (Kind::AccessAudit, Some(day)) => {
                Some(records::accesses(tables, q, day, host, names).await?)
            }
            // After the days: the storage accounts' own log of the containers' requests.
            (Kind::AccessAudit, None) if chunk == days.len() => match &self.custody {
                Some(c) => Some(records::storage_accesses(c, &self.containers(), q).await),
                None => None,
            },
            (Kind::Bursts, _) if first => {
                Some(records::bursts(tables, q, self.burst_bucket, host).await?)
            }
            (Kind::Holds, _) if first => Some(records::holds(tables, q, host, names).await?),
            (Kind::Deletions, _) if first || self.deletions_next.is_some() => {
                let token = self.deletions_next.take();
                let (rows, next) = records::deletions(tables, q, token, host, names).await?;
                self.deletions_next = next;
                Some(rows)
            }
            (Kind::RefusedReviews, Some(day)) => {
                Some(custody::refused(tables, q, day, host).await?)
            }
            (Kind::HoldReleases, _) if first => {
                Some(custody::releases(tables, q, host, names).await?)
            }
            (Kind::Custody, _) if first || self.custody_next.is_some() => {
                let token = self.custody_next.take();
                let (rows, next) = custody::custody(tables, q, token, host).await?;
                self.custody_next = next;
                Some(rows)
            }
            _ => None,
        })
    }

    /// Every row of `kinds`, in order, its facts handed to `each` (the figures the API answers
    /// without writing a pack).
    ///
    /// # Errors
    /// Storage failures.
    pub async fn each(
        &mut self,
        kinds: &[Kind],
        mut each: impl FnMut(&Facts),
    ) -> anyhow::Result<()> {
        for &kind in kinds {
            let mut chunk = 0;
            while let Some(rows) = (self.chunk(kind, chunk).await)
                .with_context(|| format!("reading the rows of {}", kind.as_str()))?
            {
                rows.iter().for_each(|r| each(&r.facts));
                chunk += 1;
            }
        }
        Ok(())
    }

    /// The recording sources of the pack: with `--bastion`, its own and the ones tied to no host.
    fn sources(&self) -> impl Iterator<Item = &crate::sources::Source> {
        self.ports.sources.recordings().iter().filter(|s| {
            s.bastion
                .as_deref()
                .is_none_or(|b| self.host.as_ref().is_none_or(|h| h.is(b)))
        })
    }

    /// The recording containers of the pack (`/<account>/<container>`).
    fn containers(&self) -> Vec<String> {
        let mut out: Vec<String> = self
            .sources()
            .map(|s| format!("/{}/{}", s.account(), s.container))
            .collect();
        out.dedup();
        out
    }

    /// Where the rows come from (tables, accounts), for the manifest.
    pub fn describe(&self) -> Value {
        let sources = self.ports.sources.recordings();
        let account = sources.first().map(|s| s.account().to_owned());
        json!({
            "tables": crate::catalogue::PACKED_TABLES.iter().chain(&[crate::audit_logs::repo::FAILED_TABLE, HOLDS_TABLE, DELETIONS_TABLE, REVIEWS_TABLE, REFUSALS_TABLE, crate::integrity::checks::CHECKS_TABLE, crate::estate::store::ESTATE_TABLE]).collect::<Vec<_>>(),
            // A host's pack names only its own sources (and the ones tied to no host).
            "recordingSources": self.sources()
                .map(|s| json!({"container": s.container, "bastion": s.bastion})).collect::<Vec<_>>(),
            "defaultRecordingsAccount": account,
            // The custody workspace whose StorageBlobLogs requests join accessaudit.csv.
            "storageLogsWorkspace": self.custody.as_ref().map(|c| c.workspace.clone()),
        })
    }
}

/// The columns of `integrity.csv`, separated by spaces.
pub const INTEGRITY_COLUMNS: &str = "id bastionHost blobName contentLength sha256 hashedLength status state lastVerifiedAt verification";

/// The sessions of `q` that started on `day`.
///
/// # Errors
/// Storage failures.
pub async fn sessions(tables: &dyn TableStore, q: &Query, day: &str) -> anyhow::Result<Vec<Row>> {
    let rows: Vec<DayRow> = page::day(tables, day, q).await?;
    let reviews = latest(tables, &rows).await?;
    Ok(rows
        .into_iter()
        .zip(reviews)
        .map(|(w, review)| Row {
            cells: w.csv_cells(review.as_ref()),
            facts: Facts::Session(Box::new(w)),
        })
        .collect())
}

/// The recordings of `q` created on `day`.
///
/// # Errors
/// Storage failures.
pub async fn recordings(tables: &dyn TableStore, q: &Query, day: &str) -> anyhow::Result<Vec<Row>> {
    let rows: Vec<Recording> = page::day(tables, day, q).await?;
    let reviews = latest(tables, &rows).await?;
    // Results are keyed as the catalogue rows: the same day partition.
    let checks = if rows.is_empty() {
        HashMap::new()
    } else {
        crate::integrity::checks::of_day(tables, day).await?
    };
    Ok(rows
        .into_iter()
        .zip(reviews)
        .map(|(r, review)| {
            let check = checks.get(&r.key.rk);
            recording_row(r, review.as_ref(), check)
        })
        .collect())
}

/// A recording's row; `check` is its latest verification (at, result).
fn recording_row(
    r: Recording,
    review: Option<&shape::Review>,
    check: Option<&(String, String)>,
) -> Row {
    let state = match &r.hash {
        None => "unhashed",
        Some(h) if h.length != r.content_length => "length-mismatch",
        Some(_) => "hashed",
    };
    let verification = check.map_or_else(|| "never".to_owned(), |c| c.1.clone());
    let hash = r.hash.as_ref();
    let integrity_cells = vec![
        r.id(),
        r.bastion().to_owned(),
        format!("{}/{}", r.container, r.blob_name),
        r.content_length.to_string(),
        hash.map(|h| h.sha256.clone()).unwrap_or_default(),
        hash.map(|h| h.length.to_string()).unwrap_or_default(),
        r.status.clone(),
        state.to_owned(),
        check.map(|c| c.0.clone()).unwrap_or_default(),
        verification.clone(),
    ];
    Row {
        cells: r.csv_cells(review),
        facts: Facts::Recording {
            row: Box::new(r),
            integrity: state,
            verification,
            integrity_cells,
        },
    }
}
