//! Table `actorlookups`: one row per alert whose actor is still looked for (RK the alert's id),
//! removed once the row holds the actor and the follow-up went out on two passes.

use time::OffsetDateTime;

use crate::azure::AzureError;
use crate::dates::{format_utc, timestamp};
use crate::names::named;
use crate::tables::ops::{insert_once, query_all};
use crate::tables::{Entity, Filter, TableStore, get_i64, get_str, int64};

/// The table.
pub const LOOKUPS_TABLE: &str = "actorlookups";
const PARTITION: &str = "pending";

named! {
    /// What was done to the recording: which requests of the logs can have done it.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub enum Change {
        /// `recording.deleted`: a `DeleteBlob`.
        Deleted = "deleted",
        /// `recording.replaced`: a write of the blob's content.
        Replaced = "replaced",
    }
}

/// One awaited lookup.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lookup {
    /// The alert's `notificationId` (the follow-up's id is this + `.actor`).
    pub alert_id: String,
    /// The recording.
    pub recording_id: String,
    /// Deletion or replacement.
    pub change: Change,
    /// The event's time (the request's time, within the event's latency).
    pub at: OffsetDateTime,
    /// The storage request id the event reported (empty when none).
    pub request_id: String,
    /// Queries sent so far.
    pub attempts: i64,
    /// The last query's failure, if any.
    pub last_error: String,
    /// The burst (its partition in `alertbursts`) the alert was folded into; empty when it went
    /// out alone. A folded alert's actor is named by its burst, not by a follow-up of its own.
    pub burst: String,
    etag: String,
}

impl Lookup {
    /// A new lookup (not stored yet).
    pub fn new(
        alert_id: &str,
        recording_id: &str,
        change: Change,
        at: OffsetDateTime,
        request_id: &str,
    ) -> Self {
        Self {
            alert_id: alert_id.to_owned(),
            recording_id: recording_id.to_owned(),
            change,
            at,
            request_id: request_id.to_owned(),
            attempts: 0,
            last_error: String::new(),
            burst: String::new(),
            etag: String::new(),
        }
    }

    /// The same lookup of an alert folded into burst `burst`.
    #[must_use]
    pub fn folded_into(mut self, burst: &str) -> Self {
        burst.clone_into(&mut self.burst);
        self
    }

    fn entity(&self) -> Entity {
        let mut e = crate::tables::entity(serde_json::json!({
            "PartitionKey": PARTITION, "RowKey": self.alert_id, "RecordingId": self.recording_id,
            "Change": self.change.as_str(), "EventTime": format_utc(self.at),
            "RequestId": self.request_id, "LastError": self.last_error, "Burst": self.burst,
        }));
        int64(&mut e, "Attempts", self.attempts);
        e
    }

    fn read(s: crate::tables::Stored) -> Option<Self> {
        let e = &s.entity;
        let g = |k: &str| get_str(e, k).unwrap_or_default().to_owned();
        Some(Self {
            alert_id: get_str(e, "RowKey")?.to_owned(),
            recording_id: g("RecordingId"),
            change: Change::parse(get_str(e, "Change")?)?,
            at: timestamp(get_str(e, "EventTime")?)?,
            request_id: g("RequestId"),
            attempts: get_i64(e, "Attempts").unwrap_or(0),
            last_error: g("LastError"),
            burst: g("Burst"),
            etag: s.etag,
        })
    }
}

/// Records `lookup` unless it is already there (a redelivery of the alert keeps the first).
///
/// # Errors
/// Table errors.
pub async fn add(tables: &dyn TableStore, lookup: &Lookup) -> Result<(), AzureError> {
    insert_once(tables, LOOKUPS_TABLE, &lookup.entity()).await?;
    Ok(())
}

/// Most awaited lookups read to choose a pass's share from.
pub const SCAN: usize = 10_000;

/// At most `limit` awaited lookups, oldest first with a fair share per recording ([`fair`]),
/// chosen among the first [`SCAN`] stored (a row that no longer parses is skipped).
///
/// # Errors
/// Table errors.
pub async fn awaiting(tables: &dyn TableStore, limit: u32) -> Result<Vec<Lookup>, AzureError> {
    let rows = query_all(tables, LOOKUPS_TABLE, &Filter::partition(PARTITION), SCAN).await?;
    let all = rows.into_iter().filter_map(Lookup::read).collect();
    Ok(fair(all, usize::try_from(limit).unwrap_or(usize::MAX)))
}

/// `limit` lookups in rounds: each round takes the oldest waiting lookup of every recording, the
/// rounds oldest first; a storm on one recording then costs the others one place per round.
pub fn fair(mut all: Vec<Lookup>, limit: usize) -> Vec<Lookup> {
    all.sort_by(|a, b| (a.at, &a.alert_id).cmp(&(b.at, &b.alert_id)));
    let mut round_of: std::collections::HashMap<String, usize> = std::collections::HashMap::new();
    let mut ranked: Vec<(usize, usize, Lookup)> = all
        .into_iter()
        .enumerate()
        .map(|(i, l)| {
            let n = round_of.entry(l.recording_id.clone()).or_insert(0);
            *n += 1;
            (*n, i, l)
        })
        .collect();
    ranked.sort_by_key(|(round, i, _)| (*round, *i));
    ranked.into_iter().take(limit).map(|(_, _, l)| l).collect()
}

/// Stores `lookup`'s attempts and last error (`If-Match`: a lost race leaves it).
///
/// # Errors
/// Table errors other than a lost race.
pub async fn note(tables: &dyn TableStore, lookup: &Lookup) -> Result<(), AzureError> {
    crate::tables::ops::write_unless_changed(
        tables,
        LOOKUPS_TABLE,
        &lookup.entity(),
        lookup.etag.clone(),
    )
    .await
}

/// Removes `lookup` as read.
///
/// # Errors
/// Table errors other than a row already gone or changed.
pub async fn done(tables: &dyn TableStore, lookup: &Lookup) -> Result<(), AzureError> {
    let (id, etag) = (&lookup.alert_id, Some(lookup.etag.as_str()));
    crate::tables::ops::remove(tables, LOOKUPS_TABLE, PARTITION, id, etag).await
}

#[cfg(test)]
mod tests {
    use time::macros::datetime;

    use super::*;

    #[test]
    fn a_storm_on_one_recording_waits_its_turn() {
        let t = datetime!(2025-03-14 09:00 UTC);
        let mut all: Vec<Lookup> = (0..1000)
            .map(|i| {
                let at = t + time::Duration::milliseconds(i);
                Lookup::new(
                    &format!("storm-{i:04}"),
                    "2025-03-14~A",
                    Change::Replaced,
                    at,
                    "",
                )
            })
            .collect();
        let late = t + time::Duration::minutes(5);
        all.push(Lookup::new(
            "0-real",
            "2025-03-14~B",
            Change::Deleted,
            late,
            "r",
        ));
        all.reverse();
        let taken = fair(all, 50);
        assert_eq!(taken.len(), 50);
        assert_eq!(taken[0].alert_id, "storm-0000", "oldest first");
        assert_eq!(
            taken[1].alert_id, "0-real",
            "its first round, before the storm's second"
        );
        assert_eq!(taken[2].alert_id, "storm-0001");
    }
}
