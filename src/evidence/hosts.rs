//! `--bastion` for the rows that name no host: a hold, tombstone or access-audit row is a host's
//! through the recording it is about, whose catalogue row (kept after deletion) names the host
//! (a session read's, through its session's row), read once through the pack's [`Names`];
//! and [`check_bastion`], which refuses a name no host goes by before anything is written.

use std::collections::BTreeSet;

use super::named::Names;
use super::options::PackOptions;
use crate::catalogue::days::DayRow;
use crate::catalogue::query::{Query, page};
use crate::catalogue::recording::RecordingKey;
use crate::ports::Ports;
use crate::retention::hold::{HOLDS_TABLE, member_pk};
use crate::tables::ops::query_all;
use crate::tables::{Filter, TableStore};

/// Hold members read per hold (a bulk hold of more recordings is judged by these).
const MEMBERS: usize = 100_000;

/// What a row is about.
#[derive(Debug, Clone, Copy)]
pub enum About<'a> {
    /// A hold (by id).
    Hold(&'a str),
    /// A recording (by id): a tombstone's.
    Recording(&'a str),
    /// An access-audit row's target: a recording, or a pack (`evidence …`).
    Access(&'a str),
}

/// Decides which rows belong to one Bastion host.
pub struct HostFilter {
    /// The host, lower-cased.
    bastion: String,
}

/// True when the row `about` describes is `host`'s (always without one: a pack of every host).
///
/// # Errors
/// Storage failures.
pub async fn keeps(
    host: Option<&HostFilter>,
    names: &mut Names,
    tables: &dyn TableStore,
    about: About<'_>,
) -> anyhow::Result<bool> {
    let Some(host) = host else { return Ok(true) };
    match about {
        About::Hold(id) => {
            let members = Filter::partition(&member_pk(id));
            for m in query_all(tables, HOLDS_TABLE, &members, MEMBERS).await? {
                if let Some(rec) = RecordingKey::of_row(&m.entity)
                    && host.recording(names, tables, &rec.id()).await?
                {
                    return Ok(true);
                }
            }
            Ok(false)
        }
        About::Access(target) if target.starts_with("evidence ") => {
            Ok(target.split(' ').any(|p| p == host.pack_target()))
        }
        About::Recording(id) | About::Access(id) => host.recording(names, tables, id).await,
    }
}

impl HostFilter {
    /// Rows of `bastion` (compared case-insensitively).
    pub fn new(bastion: &str) -> Self {
        Self {
            bastion: bastion.to_lowercase(),
        }
    }

    /// True when `host` (a session's or recording's host) is this host.
    pub fn is(&self, host: &str) -> bool {
        host.to_lowercase() == self.bastion
    }

    /// The audit target of a pack of this host (`evidence …` rows name the host they were cut for).
    pub fn pack_target(&self) -> String {
        format!("bastion={}", self.bastion)
    }

    /// True when recording `id` is catalogued under this host (or session `id` went through it:
    /// a `session.read`).
    async fn recording(
        &self,
        names: &mut Names,
        tables: &dyn TableStore,
        id: &str,
    ) -> anyhow::Result<bool> {
        Ok((names.of(tables, id).await?).is_some_and(|n| self.is(&n.host)))
    }
}

/// Why a pack of one host is not made.
#[derive(Debug, thiserror::Error)]
pub enum BastionCheck {
    /// No session of the period and no recording source names the host.
    #[error(
        "no Bastion host is named {name:?}: the hosts of the period's sessions and of the recording sources are {}",
        list(.known)
    )]
    Unknown {
        /// The name asked for.
        name: String,
        /// The hosts that exist (lower-cased, sorted).
        known: Vec<String>,
    },
    /// The sessions could not be read.
    #[error("reading the period's sessions: {0}")]
    Storage(#[from] crate::azure::AzureError),
}

fn list(known: &[String]) -> String {
    if known.is_empty() {
        "none".to_owned()
    } else {
        let quoted: Vec<String> = known.iter().map(|h| format!("{h:?}")).collect();
        quoted.join(", ")
    }
}

/// With `--bastion`: `Ok` when a recording source or a session of the period names that host
/// (compared case-insensitively), else the hosts that exist; without one, `Ok`. Reads the
/// period's day partitions until the host is found (all of them for a name that matches nothing).
///
/// # Errors
/// [`BastionCheck::Unknown`] naming the hosts there are; storage failures.
pub async fn check_bastion(ports: &Ports, opts: &PackOptions) -> Result<(), BastionCheck> {
    match opts.bastion.as_deref() {
        Some(name) => known_bastion(ports, name, opts.from, opts.to).await,
        None => Ok(()),
    }
}

/// `Ok` when a recording source or a session from `from` to `to` names host `name` (compared
/// case-insensitively), else the hosts that exist: the pack's check, and that of the catalogue
/// commands' `--bastion`.
///
/// # Errors
/// [`BastionCheck::Unknown`] naming the hosts there are; storage failures.
pub async fn known_bastion(
    ports: &Ports,
    name: &str,
    from: time::OffsetDateTime,
    to: time::OffsetDateTime,
) -> Result<(), BastionCheck> {
    let want = HostFilter::new(name);
    let mut known: BTreeSet<String> = ports
        .sources
        .recordings()
        .iter()
        .filter_map(|s| s.bastion.clone())
        .collect();
    if known.iter().any(|h| want.is(h)) {
        return Ok(());
    }
    let q = Query {
        from,
        to,
        filters: Vec::new(),
        limit: crate::catalogue::query::MAX_LIMIT,
        continuation: None,
    };
    for day in q.days() {
        let rows: Vec<DayRow> = page::day(ports.tables.as_ref(), &day, &q).await?;
        for w in rows.iter().filter(|w| !w.host.is_empty()) {
            if want.is(&w.host) {
                return Ok(());
            }
            known.insert(w.host.to_lowercase());
        }
    }
    Err(BastionCheck::Unknown {
        name: name.to_owned(),
        known: known.into_iter().collect(),
    })
}
