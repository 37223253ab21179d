//! The row of table `sessions` (PK = tunnel id, RK = [`SESSION_ROW`]): one [`SessionRecord`] per
//! Bastion session, merged from its audit records in any order (the fold from records is
//! `audit_logs::sessions`'s; merging two partial views, the entity and the field limits are here).
//!
//! Why PK = tunnel id rather than Bastion host: a recording that carries a GUID must find its
//! session with one point read without knowing the host, and the tail upserts by tunnel id alone.
//! Time- and host-bounded lookups go through the `sessionwindows` index ([`super::days`]); the
//! one writer of both rows is [`mod@write`].

pub mod record;
pub mod write;

#[cfg(test)]
mod race_tests;

use crate::azure::AzureError;
use crate::tables::ops;
use crate::tables::{Entity, TableStore};

pub use record::{
    MAX_FIELD, MAX_RAW_VALUES, SESSION_ROW, SESSIONS_TABLE, SessionRecord, outcome, tunnel_key,
};
pub(crate) use record::{add_raw, fill, max_time, min_time, outcome_rank};

/// Reads a session row.
///
/// # Errors
/// Table errors.
pub async fn get(
    tables: &dyn TableStore,
    tunnel: &str,
) -> Result<Option<SessionRecord>, AzureError> {
    let stored = ops::get(
        tables,
        SESSIONS_TABLE,
        &tunnel.to_ascii_lowercase(),
        SESSION_ROW,
    )
    .await?;
    Ok(stored.and_then(|s| SessionRecord::from_entity(&s.entity)))
}

/// Session `tunnel`'s row as stored (its key is the id as it is), without the service's
/// annotations: the detail shows it, a review copies its names.
///
/// # Errors
/// Table errors.
pub async fn row(tables: &dyn TableStore, tunnel: &str) -> Result<Option<Entity>, AzureError> {
    let stored = ops::get(tables, SESSIONS_TABLE, &tunnel_key(tunnel), SESSION_ROW).await?;
    Ok(stored.map(|s| s.entity))
}
