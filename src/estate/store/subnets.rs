//! The Bastion subnets each host's own `EstateCheck` unit read of it, kept on the host's marker
//! row (`~checked`, written by [`super::apply_host`]) so the other doors' pass takes them from
//! there instead of reading every host again; a marker from an earlier period, or from a check
//! that could not read its host, holds none to take.

use std::collections::{BTreeMap, BTreeSet};

use time::OffsetDateTime;

use super::table::{CHECKED, ESTATE_TABLE, MAX_ROWS};
use crate::azure::AzureError;
use crate::tables::filter::Op;
use crate::tables::ops::query_all;
use crate::tables::{Filter, TableStore, get_list, get_str};

/// The marker's property of the host's Bastion subnet ids (lower-case, comma-separated; present
/// only when that check read the host).
pub const BASTION_SUBNETS: &str = "BastionSubnets";

/// Each host (lower-case id) whose check at or after `since` read its Bastion subnets, with
/// them: one query over every host's marker.
///
/// # Errors
/// Table errors.
pub async fn since(
    tables: &dyn TableStore,
    since: OffsetDateTime,
) -> Result<BTreeMap<String, BTreeSet<String>>, AzureError> {
    // The check times share one format, so their text orders as their times do.
    let markers = Filter::And(vec![
        Filter::str("RowKey", Op::Eq, CHECKED),
        Filter::str("CheckedAt", Op::Ge, crate::dates::format_utc_millis(since)),
    ]);
    let mut out = BTreeMap::new();
    for s in query_all(tables, ESTATE_TABLE, &markers, MAX_ROWS).await? {
        let e = &s.entity;
        let (Some(host), Some(_)) = (get_str(e, "Host"), get_str(e, BASTION_SUBNETS)) else {
            continue;
        };
        let ids = get_list(e, BASTION_SUBNETS).map(str::to_owned);
        out.insert(host.to_ascii_lowercase(), ids.collect());
    }
    Ok(out)
}
