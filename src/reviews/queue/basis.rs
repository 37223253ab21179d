//! What the queue's scores assume besides the sessions: the scoring settings and the hosts with an
//! open estate finding, kept in one row (`reviewqueue`, PK and RK `basis`). When either differs at
//! the start of a run, the sessions whose score that changes are recorded as changed before the
//! row is updated (a crash in between repeats the step): the queued sessions of the hosts whose
//! finding opened or cleared and those hosts' sessions since the day before (every host's when
//! the settings changed).

use std::collections::BTreeSet;

use time::{Duration, OffsetDateTime};

use super::entry::QUEUE_TABLE;
use super::read::ranked;
use crate::catalogue::changes;
use crate::catalogue::window::{self, Span};
use crate::reviews::settings::ReviewSettings;
use crate::tables::filter::Op;
use crate::tables::ops::{get, query_all, write_creating_table};
use crate::tables::{Entity, Filter, TableError, TableStore, WriteMode, get_str};

/// The basis row's keys.
const BASIS: &str = "basis";

/// Records as changed the sessions a new basis re-scores, then stores the basis.
///
/// # Errors
/// Table errors.
pub async fn rebase(
    tables: &dyn TableStore,
    settings: &ReviewSettings,
    flagged: &BTreeSet<String>,
    now: OffsetDateTime,
) -> Result<(), TableError> {
    let digest = settings.digest();
    let stored = get(tables, QUEUE_TABLE, BASIS, BASIS).await?;
    let was = stored.as_ref().map(|s| {
        let hosts: BTreeSet<String> = get_str(&s.entity, "Hosts")
            .and_then(|h| serde_json::from_str(h).ok())
            .unwrap_or_default();
        (get_str(&s.entity, "Settings").unwrap_or_default(), hosts)
    });
    let hosts: Vec<Option<&str>> = match &was {
        // First run: nothing was derived under another basis.
        None => Vec::new(),
        Some((d, hosts)) if *d == digest => {
            let touched: Vec<_> = hosts.symmetric_difference(flagged).collect();
            if touched.is_empty() {
                return Ok(());
            }
            touched.into_iter().map(|h| Some(h.as_str())).collect()
        }
        Some(_) => vec![None],
    };
    let since = Span {
        from: (now - Duration::days(1)).date().midnight().assume_utc(),
        until: now,
    };
    let mut sessions = Vec::new();
    for host in hosts {
        let queued = Filter::And(ranked(host));
        for row in query_all(tables, QUEUE_TABLE, &queued, usize::MAX).await? {
            let s = |k: &str| get_str(&row.entity, k).unwrap_or_default().to_owned();
            sessions.push((s("SessionDay"), s("TunnelId")));
        }
        let of_host: Vec<Filter> = host
            .map(|h| Filter::str("BastionHost", Op::Eq, h))
            .into_iter()
            .collect();
        for w in window::started_within(tables, since, &of_host).await? {
            sessions.push((w.day(), w.tunnel_id));
        }
    }
    changes::record(tables, &sessions).await?;
    let mut row = Entity::new();
    row.insert("PartitionKey".into(), BASIS.into());
    row.insert("RowKey".into(), BASIS.into());
    row.insert("Settings".into(), digest.into());
    let hosts = serde_json::to_string(flagged).unwrap_or_default();
    row.insert("Hosts".into(), hosts.into());
    write_creating_table(tables, QUEUE_TABLE, &row, WriteMode::Upsert)
        .await
        .map(drop)
}
