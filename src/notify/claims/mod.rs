//! Exactly-once per destination, as far as HTTP allows: the `deliveries` table as a claim.
//!
//! One row per (notification id = PartitionKey, destination = RowKey), `state` ∈ `pending`,
//! `delivered`, `failed`. Before posting, an instance *claims* the row: an insert (only one
//! writer can win it), or — when the row is `pending` with an expired lease (a crashed or timed-out
//! holder) — an ETag-conditional takeover. A live `pending` lease means another instance is
//! delivering right now: this one backs off (retryable) instead of posting twice. After a 2xx the
//! row becomes `delivered`, after a permanent refusal `failed`; both end the destination for
//! every later redelivery. A claim write whose answer was lost (stored, then the connection dropped)
//! is recognised by its owner when read back, so the claimant does not mistake its own claim for
//! another instance's live lease. A transient failure *releases* the claim (lease set to now) so the
//! next redelivery can take it at once.
//!
//! Why this is the strongest guarantee possible: the POST and the table write cannot be one atomic
//! step. If the process dies after the receiver accepted the POST but before `delivered` is
//! written, the lease expires and a redelivery posts again. Receivers close that gap themselves:
//! Standard Webhooks receivers dedupe on `webhook-id` (the notification id); for Slack and Teams
//! the window is one request, and a duplicate chat message is the lesser failure than a lost one.

use std::time::Duration;

use time::OffsetDateTime;

use super::routes::Destination;
use crate::dates::{format_utc_millis, timestamp};
use crate::tables::ops::write_creating_table;
use crate::tables::{Entity, TableError, TableStore, WriteMode, get_str};

/// The claim table.
pub const DELIVERIES_TABLE: &str = "deliveries";

/// Attempts at the insert / take-over race before reporting the row as busy.
const CLAIM_ATTEMPTS: usize = 4;

/// The result of trying to claim one destination of one notification.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Claim {
    /// This instance holds the claim (row ETag): post, then [`Claims::finish`] or [`Claims::release`].
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

    /// Tries to claim `dest` of notification `id` for `lease`, at `now`.
    ///
    /// # Errors
    /// Transient or permanent table failures.
    pub async fn claim(
        &self,
        id: &str,
        dest: Destination,
        now: OffsetDateTime,
        lease: Duration,
    ) -> Result<Claim, TableError> {
        let until = now + lease;
        let row = self.row(id, dest, "pending", until, None);
        for _ in 0..CLAIM_ATTEMPTS {
            match write_creating_table(self.tables, DELIVERIES_TABLE, &row, WriteMode::Insert).await
            {
                Ok(etag) => return Ok(Claim::Acquired(etag)),
                Err(TableError::Conflict) => {}
                Err(e) => return self.after_lost_answer(id, dest, e).await,
            }
            let Some(stored) = self.tables.get(DELIVERIES_TABLE, id, dest.as_str()).await? else {
                continue; // deleted in between (manual replay): insert again
            };
            match get_str(&stored.entity, "state") {
                Some("delivered") => return Ok(Claim::Delivered),
                Some("failed") => return Ok(Claim::Failed),
                _ => {}
            }
            // Our own pending row: an insert or take-over of this claimant whose answer was lost,
            // met again by the client's retry. It is this claim, not another instance's.
            if self.holds(&stored.entity) {
                return Ok(Claim::Acquired(stored.etag));
            }
            let held_until = get_str(&stored.entity, "leaseUntil")
                .unwrap_or_default()
                .to_owned();
            if timestamp(&held_until).is_some_and(|t| t > now) {
                return Ok(Claim::Busy(held_until));
            }
            // Expired (or unreadable) lease: take over, unless someone else does first.
            match self
                .tables
                .write(DELIVERIES_TABLE, &row, WriteMode::IfMatch(stored.etag))
                .await
            {
                Ok(etag) => return Ok(Claim::Acquired(etag)),
                Err(TableError::PreconditionFailed | TableError::NotFound) => {}
                Err(e) => return self.after_lost_answer(id, dest, e).await,
            }
        }
        Err(TableError::Transient(format!(
            "claim on {DELIVERIES_TABLE}/{id}/{dest} kept changing"
        )))
    }

    /// A claim write failed with `e`. A transient failure may have been a lost answer to a write
    /// the service stored: if the row now is this claimant's pending claim, the claim is held (and
    /// giving up would leave it to block every redelivery until the lease runs out).
    async fn after_lost_answer(
        &self,
        id: &str,
        dest: Destination,
        e: TableError,
    ) -> Result<Claim, TableError> {
        if !e.is_transient() {
            return Err(e);
        }
        match self.tables.get(DELIVERIES_TABLE, id, dest.as_str()).await {
            Ok(Some(stored)) if self.holds(&stored.entity) => Ok(Claim::Acquired(stored.etag)),
            _ => Err(e),
        }
    }

    /// True for a pending row written by this claimant.
    fn holds(&self, row: &Entity) -> bool {
        get_str(row, "state") == Some("pending") && get_str(row, "owner") == Some(self.owner)
    }

    /// Records how a claimed delivery ended.
    ///
    /// # Errors
    /// `PreconditionFailed` when the claim was taken over meanwhile (the lease ran out), or table
    /// failures.
    pub async fn finish(
        &self,
        id: &str,
        dest: Destination,
        etag: &str,
        now: OffsetDateTime,
        how: &Finish,
    ) -> Result<(), TableError> {
        let row = match how {
            Finish::Delivered => self.row(id, dest, "delivered", now, None),
            Finish::Failed(reason) => self.row(id, dest, "failed", now, Some(reason)),
        };
        self.tables
            .write(DELIVERIES_TABLE, &row, WriteMode::IfMatch(etag.to_owned()))
            .await
            .map(|_| ())
    }

    /// Gives a claim back after a transient failure, so a redelivery need not wait for the lease.
    ///
    /// # Errors
    /// Table failures (the lease then simply runs out).
    pub async fn release(
        &self,
        id: &str,
        dest: Destination,
        etag: &str,
        now: OffsetDateTime,
        reason: &str,
    ) -> Result<(), TableError> {
        let row = self.row(id, dest, "pending", now, Some(reason));
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
        let mut e = Entity::new();
        e.insert("PartitionKey".into(), id.into());
        e.insert("RowKey".into(), dest.as_str().into());
        e.insert("state".into(), state.into());
        e.insert("leaseUntil".into(), format_utc_millis(lease_until).into());
        e.insert("owner".into(), self.owner.into());
        if let Some(r) = reason {
            // Table string properties hold up to 64 KiB; keep well below.
            e.insert("reason".into(), super::render::truncate(r, 4000).into());
        }
        e
    }
}

/// True when `id` can be a claim's PartitionKey as it is: the one encoder keeps it (at most 512
/// bytes, none of `/ \ # ?` or control characters); another message is refused, never re-keyed.
pub fn valid_key(id: &str) -> bool {
    use crate::tables::keys::{Spelling, key};
    !id.is_empty() && key(id, Spelling::Verbatim, 512) == id
}

#[cfg(test)]
mod tests;
