//! Exactly-once per destination, as far as HTTP allows: table `deliveries`, one row per
//! (notification id, destination), `state` `pending` (a lease), `delivered` or `failed`. An
//! instance claims the row (insert, or takeover of an expired lease) before posting, and backs off
//! while another's lease runs. A POST and a table write cannot be atomic: a crash between them
//! posts again after the lease, which receivers dedupe on `webhook-id`.

use std::time::Duration;

use time::OffsetDateTime;

use super::routes::Destination;
use crate::azure::AzureError;
use crate::dates::{format_utc_millis, timestamp};
use crate::tables::ops::update_from;
use crate::tables::{Entity, Stored, TableStore, WriteMode, get_str};

/// The claim table.
pub const DELIVERIES_TABLE: &str = "deliveries";

/// The result of trying to claim one destination of one notification.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Claim {
    /// This instance holds the claim (row ETag): post, then [`Claims::finish`].
    Acquired(String),
    /// Already delivered: nothing to do.
    Delivered,
    /// Refused permanently before: nothing to do.
    Failed,
    /// Another instance holds a live lease until this time.
    Busy(String),
}

/// How a claimed delivery ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Finish {
    /// 2xx.
    Delivered,
    /// Permanently refused; the reason (status and redacted response excerpt).
    Failed(String),
    /// Not delivered now: the claim is given back after a transient failure, so a redelivery
    /// need not wait for the lease; the reason.
    Released(String),
}

/// Claim operations on the `deliveries` table.
#[derive(Clone, Copy)]
pub struct Claims<'a> {
    tables: &'a dyn TableStore,
    /// Who claims (invocation id), for diagnosis.
    owner: &'a str,
}

crate::telemetry::debug_fields!(Claims<'_> { owner });

impl<'a> Claims<'a> {
    /// Claims made by `owner` in `tables`.
    pub fn new(tables: &'a dyn TableStore, owner: &'a str) -> Self {
        Self { tables, owner }
    }

    /// Tries to claim `dest` of notification `id` for `lease`, at `now` (insert, or take over an
    /// expired claim).
    ///
    /// # Errors
    /// Transient or permanent table failures.
    pub async fn claim(
        &self,
        id: &str,
        dest: Destination,
        now: OffsetDateTime,
        lease: Duration,
    ) -> Result<Claim, AzureError> {
        let row = self.row(id, dest, "pending", now + lease, None);
        let mut take = |cur: Option<&Stored>| {
            let Some(cur) = cur else {
                return Some(row.clone());
            };
            let e = &cur.entity;
            let done = matches!(get_str(e, "state"), Some("delivered" | "failed"));
            let held = get_str(e, "leaseUntil").and_then(timestamp);
            // Another claimant's expired (or unreadable) lease is taken over.
            let expired = !done && !self.holds(e) && held.is_none_or(|t| t <= now);
            expired.then(|| row.clone())
        };
        let rk = dest.as_str();
        let stored = update_from(self.tables, DELIVERIES_TABLE, id, rk, None, &mut take).await;
        let stored = match stored {
            Ok(Some(stored)) => stored,
            Ok(None) => return Err(AzureError::Transient("claim row vanished".into())),
            Err(e) => return self.after_lost_answer(id, dest, e).await,
        };
        Ok(match get_str(&stored.entity, "state") {
            Some("delivered") => Claim::Delivered,
            Some("failed") => Claim::Failed,
            // Ours: just written, or an earlier write of this claimant whose answer was lost.
            _ if self.holds(&stored.entity) => Claim::Acquired(stored.etag),
            _ => Claim::Busy(
                get_str(&stored.entity, "leaseUntil")
                    .unwrap_or_default()
                    .to_owned(),
            ),
        })
    }

    /// A claim write failed with `e`: a transient failure whose write was stored is still ours.
    async fn after_lost_answer(
        &self,
        id: &str,
        dest: Destination,
        e: AzureError,
    ) -> Result<Claim, AzureError> {
        if !e.is_retryable() {
            return Err(e);
        }
        match self.tables.get(DELIVERIES_TABLE, id, dest.as_str()).await {
            Ok(Some(stored)) if self.holds(&stored.entity) => Ok(Claim::Acquired(stored.etag)),
            _ => Err(e),
        }
    }

    /// True for a claimed row (state `pending`) written by this claimant.
    fn holds(&self, row: &Entity) -> bool {
        get_str(row, "state") == Some("pending") && get_str(row, "owner") == Some(self.owner)
    }

    /// Records how a claimed delivery ended.
    ///
    /// # Errors
    /// `PreconditionFailed` when the claim was taken over meanwhile, or table failures (a claim
    /// not given back then simply runs out its lease).
    pub async fn finish(
        &self,
        id: &str,
        dest: Destination,
        etag: &str,
        now: OffsetDateTime,
        how: &Finish,
    ) -> Result<(), AzureError> {
        let row = match how {
            Finish::Delivered => self.row(id, dest, "delivered", now, None),
            Finish::Failed(reason) => self.row(id, dest, "failed", now, Some(reason)),
            Finish::Released(reason) => self.row(id, dest, "pending", now, Some(reason)),
        };
        self.tables
            .write(DELIVERIES_TABLE, &row, WriteMode::IfMatch(etag.to_owned()))
            .await
            .map(|_| ())
    }

    fn row(
        &self,
        id: &str,
        dest: Destination,
        state: &str,
        lease_until: OffsetDateTime,
        reason: Option<&str>,
    ) -> Entity {
        let mut e = crate::tables::keyed(id, dest.as_str());
        e.insert("state".into(), state.into());
        e.insert("leaseUntil".into(), format_utc_millis(lease_until).into());
        e.insert("owner".into(), self.owner.into());
        if let Some(r) = reason {
            // Table string properties hold up to 64 KiB; keep well below.
            e.insert(
                "reason".into(),
                crate::telemetry::truncate(r, 4000, super::render::CUT).into(),
            );
        }
        e
    }
}

/// True when `id` can be a claim's PartitionKey as it is (a message is refused, never re-keyed).
pub fn valid_key(id: &str) -> bool {
    use crate::tables::keys::{Spelling, key};
    !id.is_empty() && key(id, Spelling::Verbatim, 512) == id
}

#[cfg(test)]
mod tests;
