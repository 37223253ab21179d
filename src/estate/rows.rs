//! The estate's rows by host: the partition of a host's rows, the live-sessions table and a
//! host's rows of it, and the one conditional mark of a row (of two instances, one wins).

use crate::azure::AzureError;
use crate::tables::{Stored, TableStore};

/// The live-sessions table (PK = [`host_key`], RK = the encoded session id).
pub const LIVE_TABLE: &str = "livesessions";

/// The partition of a host's rows (`estate`, `livesessions`): its encoded lower-case resource id.
pub fn host_key(host: &str) -> String {
    use crate::tables::keys::{MAX_KEY_BYTES, Spelling, key};
    key(&host.to_ascii_lowercase(), Spelling::Encoded, MAX_KEY_BYTES)
}

/// Host `host`'s live-session rows (table [`LIVE_TABLE`]), as read.
///
/// # Errors
/// Table errors.
pub async fn of_host(tables: &dyn TableStore, host: &str) -> Result<Vec<Stored>, AzureError> {
    let pk = crate::tables::Filter::partition(&host_key(host));
    crate::tables::ops::query_all(tables, LIVE_TABLE, &pk, 5000).await
}

/// Sets `prop` to `value` on row `r` of `table` (ETag-conditional) if the row as stored still
/// passes `open`: true when this call wrote it (of two instances, one wins).
pub(super) async fn mark(
    tables: &dyn crate::tables::TableStore,
    table: &str,
    r: &crate::tables::Stored,
    open: &(dyn Fn(&crate::tables::Entity) -> bool + Sync),
    (prop, value): (&str, serde_json::Value),
) -> Result<bool, crate::azure::AzureError> {
    use crate::tables::get_str;
    let pk = get_str(&r.entity, "PartitionKey").unwrap_or_default();
    let rk = get_str(&r.entity, "RowKey").unwrap_or_default();
    let mut won = false;
    crate::tables::ops::update_from(tables, table, pk, rk, Some(r.clone()), &mut |cur| {
        let cur = cur?;
        won = open(&cur.entity);
        won.then(|| {
            let mut e = cur.entity.clone();
            e.insert(prop.into(), value.clone());
            e
        })
    })
    .await?;
    Ok(won)
}
