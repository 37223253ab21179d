//! A lease on one table row: its owner works alone across instances, and an owner that dies frees
//! it when its time runs out. Taken and freed with ETag-conditional writes (a lease taken over
//! meanwhile stays its new owner's); the row may carry the owner's own properties.

use time::{Duration, OffsetDateTime};

use super::entity::get_str;
use super::ops::update_from;
use super::port::{Entity, Stored, TableStore};
use crate::azure::AzureError;
use crate::dates::{format_utc_millis, timestamp};

/// A lease this caller has.
#[derive(Debug)]
pub struct Lease {
    table: &'static str,
    row: Stored,
}

impl Lease {
    /// The row as taken (with the owner's properties as they were written).
    #[cfg(test)]
    pub fn row(&self) -> &Entity {
        &self.row.entity
    }

    /// Frees the lease at `now`, writing `props` into the row.
    pub async fn release(
        self,
        tables: &dyn TableStore,
        now: OffsetDateTime,
        props: Entity,
    ) -> Result<(), AzureError> {
        let mut e = self.row.entity;
        e.extend(props);
        e.insert("Owner".into(), "".into());
        e.insert("Until".into(), format_utc_millis(now).into());
        super::ops::write_unless_changed(tables, self.table, &e, self.row.etag).await
    }
}

/// Takes the lease of row `(pk, rk)` until `now + term`, starting from `read` (the row as just
/// read); `None` while another owner's lease runs.
pub async fn take(
    tables: &dyn TableStore,
    table: &'static str,
    (pk, rk): (&str, &str),
    read: Option<Stored>,
    now: OffsetDateTime,
    term: Duration,
) -> Result<Option<Lease>, AzureError> {
    let owner = uuid::Uuid::new_v4().to_string();
    let taken = update_from(tables, table, pk, rk, read, &mut |cur| {
        let mut e = cur.map(|c| c.entity.clone()).unwrap_or_default();
        let until = get_str(&e, "Until").and_then(timestamp);
        if until.is_some_and(|u| u > now) {
            return None;
        }
        e.insert("Owner".into(), owner.clone().into());
        e.insert("Until".into(), format_utc_millis(now + term).into());
        Some(e)
    })
    .await;
    match taken {
        Ok(Some(row)) if get_str(&row.entity, "Owner") == Some(owner.as_str()) => {
            Ok(Some(Lease { table, row }))
        }
        Ok(_) => Ok(None),
        // Another taker won every attempt between our read and our write.
        Err(AzureError::Transient(_)) => Ok(None),
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use time::macros::datetime;

    use super::*;
    use crate::testkit::tables::memory::InMemoryTables;

    const T: OffsetDateTime = datetime!(2025-03-14 10:00 UTC);

    #[tokio::test]
    async fn one_owner_at_a_time_and_a_dead_one_frees_it_when_its_time_runs_out() {
        let t = InMemoryTables::new();
        let key = ("p", "r");
        let first = take(&t, "leases", key, None, T, Duration::minutes(5))
            .await
            .expect("take")
            .expect("free");
        let read = super::super::ops::get(&t, "leases", "p", "r")
            .await
            .expect("get");
        assert!(
            take(&t, "leases", key, read.clone(), T, Duration::minutes(5))
                .await
                .expect("take")
                .is_none()
        );
        let later = T + Duration::minutes(6);
        let second = take(&t, "leases", key, read, later, Duration::minutes(5))
            .await
            .expect("take")
            .expect("expired");
        // The first owner's release leaves the second's lease alone.
        let mut props = Entity::new();
        props.insert("Cursor".into(), "a".into());
        first
            .release(&t, later, props.clone())
            .await
            .expect("release");
        let read = super::super::ops::get(&t, "leases", "p", "r")
            .await
            .expect("get");
        assert!(
            take(&t, "leases", key, read.clone(), later, Duration::minutes(5))
                .await
                .expect("take")
                .is_none()
        );
        second.release(&t, later, props).await.expect("release");
        let read = super::super::ops::get(&t, "leases", "p", "r")
            .await
            .expect("get");
        let third = take(&t, "leases", key, read, later, Duration::minutes(5))
            .await
            .expect("take")
            .expect("freed");
        assert_eq!(
            get_str(third.row(), "Cursor"),
            Some("a"),
            "the owner's properties stay"
        );
    }
}
