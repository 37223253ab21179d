//! Where a pack's rows come from: [`Source`] hands out each file's rows for the period in bounded
//! chunks (a day partition, a table page), in file order.

use serde_json::{Value, json};
use time::Duration;

use super::custody::{self, CUSTODY_COLUMNS, RELEASE_COLUMNS};
use super::hosts::HostFilter;
use super::options::PackOptions;
use super::records::{ACCESS_COLUMNS, BURST_COLUMNS, DELETION_COLUMNS, HOLD_COLUMNS};
use super::rows::{Kind, Row};
use super::{listed, records};
use crate::catalogue::days::DayRow;
use crate::catalogue::query::shape::Shape;
use crate::catalogue::query::{MAX_LIMIT, Query};
use crate::catalogue::recording::Recording;
use crate::ports::Ports;
use crate::retention::hold::HOLDS_TABLE;
use crate::retention::tombstone::DELETIONS_TABLE;
use crate::reviews::refusal::{REFUSAL_COLUMNS, REFUSALS_TABLE};
use crate::reviews::{Period, REVIEWS_TABLE, Review};

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

    /// The column names of `kind`'s file.
    pub fn columns(kind: Kind) -> Vec<&'static str> {
        let names = |list| records::columns(list).map(|(n, _)| n).collect();
        match kind {
            Kind::Reviews => Review::columns(),
            Kind::Sessions => DayRow::columns(),
            Kind::Bursts => [vec!["notificationId"], names(BURST_COLUMNS)].concat(),
            Kind::Recordings => Recording::columns(),
            Kind::Holds => names(HOLD_COLUMNS),
            Kind::Deletions => names(DELETION_COLUMNS),
            Kind::AccessAudit => names(ACCESS_COLUMNS),
            Kind::RefusedReviews => names(REFUSAL_COLUMNS),
            Kind::HoldReleases => names(RELEASE_COLUMNS),
            Kind::Custody => names(CUSTODY_COLUMNS),
        }
    }

    /// The `chunk`-th chunk of `kind`'s rows (asked for in order); `None` after the last.
    ///
    /// # Errors
    /// Storage failures.
    pub async fn chunk(&mut self, kind: Kind, chunk: usize) -> anyhow::Result<Option<Vec<Row>>> {
        let (tables, q) = (self.ports.tables.as_ref(), &self.query);
        let host = self.host.as_mut();
        let days = match kind {
            Kind::Recordings => q.recording_days(),
            _ => q.days(),
        };
        let day = days.get(chunk).map(String::as_str);
        let first = chunk == 0;
        Ok(match (kind, day) {
            (Kind::Reviews, _) => records::reviews(tables, &mut self.reviews, host).await?,
            (Kind::Sessions, Some(day)) => Some(listed::sessions(tables, q, day).await?),
            (Kind::Recordings, Some(day)) => Some(listed::recordings(tables, q, day).await?),
            (Kind::AccessAudit, Some(day)) => {
                Some(records::accesses(tables, q, day, host, &mut self.names).await?)
            }
            // After the days: the storage accounts' own log of the containers' requests.
            (Kind::AccessAudit, None) if chunk == days.len() => match &self.custody {
                Some(c) => Some(records::storage_accesses(c, &self.containers(), q).await),
                None => None,
            },
            (Kind::Bursts, _) if first => {
                let host = host.map(|h| &*h);
                Some(records::bursts(tables, q, self.burst_bucket, host).await?)
            }
            (Kind::Holds, _) if first => Some(records::holds(tables, q, host).await?),
            (Kind::Deletions, _) if first || self.deletions_next.is_some() => {
                let token = self.deletions_next.take();
                let (rows, next) = records::deletions(tables, q, token, host).await?;
                self.deletions_next = next;
                Some(rows)
            }
            (Kind::RefusedReviews, Some(day)) => {
                Some(custody::refused(tables, q, day, host.map(|h| &*h)).await?)
            }
            (Kind::HoldReleases, _) if first => Some(custody::releases(tables, q, host).await?),
            (Kind::Custody, _) if first || self.custody_next.is_some() => {
                let token = self.custody_next.take();
                let (rows, next) = custody::custody(tables, q, token, host.map(|h| &*h)).await?;
                self.custody_next = next;
                Some(rows)
            }
            _ => None,
        })
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
