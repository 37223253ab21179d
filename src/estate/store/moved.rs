//! VMs that moved to another resource group or subscription. A VM's findings are keyed by its
//! current resource id (what sessions, people and the API name); its identity across a move is its
//! `vmId` (the Compute API's unique id, which a move keeps while the resource id changes). One row
//! per move in table `estate` (the old id's partition, row key [`MOVED`], never a finding: not
//! listed, exported or announced) names the new id and the `vmId` read there, so a VM watched
//! under its old id (its sessions name it for the whole lookback) stays watched under the new one
//! ([`current`]), and [`super::rekey`] carries its findings over.

use std::collections::BTreeMap;

use serde_json::json;
use time::OffsetDateTime;

use super::table::ESTATE_TABLE;
use crate::azure::AzureError;
use crate::dates::{format_utc_millis, timestamp};
use crate::tables::filter::Op;
use crate::tables::ops::query_all;
use crate::tables::{Entity, Filter, TableStore, get_str};

/// Row key of a VM's move (`~` sorts after every finding code; never a finding).
pub const MOVED: &str = "~moved";
/// Most moves one read takes.
pub const MAX_ROWS: usize = 100_000;
/// Most moves followed from one id (a chain longer than this stops there).
pub const MAX_HOPS: usize = 16;

/// One move of one VM.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Moved {
    /// The resource id it had (lower-case).
    pub from: String,
    /// The resource id it has since (lower-case).
    pub to: String,
    /// Its `vmId`, as Resource Manager answered for `to`.
    pub vm_id: String,
    /// When the move's Activity log row was generated.
    pub at: OffsetDateTime,
}

/// The row of move `m` (the same row for the same move).
pub fn entity(m: &Moved) -> Option<Entity> {
    let e = json!({"PartitionKey": crate::estate::rows::host_key(&m.from), "RowKey": MOVED,
        "Host": m.from, "To": m.to, "VmId": m.vm_id, "MovedAt": format_utc_millis(m.at)});
    e.as_object().cloned()
}

/// Every recorded move, by the id moved from.
///
/// # Errors
/// Table errors (a missing table holds none).
pub async fn all(tables: &dyn TableStore) -> Result<BTreeMap<String, Moved>, AzureError> {
    let filter = Filter::str("RowKey", Op::Eq, MOVED);
    let rows = query_all(tables, ESTATE_TABLE, &filter, MAX_ROWS).await?;
    Ok(rows
        .iter()
        .filter_map(|s| {
            let e = &s.entity;
            let text = |k: &str| get_str(e, k).map(str::to_ascii_lowercase);
            Some(Moved {
                from: text("Host")?,
                to: text("To")?,
                vm_id: get_str(e, "VmId")?.to_owned(),
                at: timestamp(get_str(e, "MovedAt")?)?,
            })
        })
        .map(|m| (m.from.clone(), m))
        .collect())
}

/// Where VM `vm` (lower-case id) is now, following the recorded `moves`.
pub fn current(vm: &str, moves: &BTreeMap<String, Moved>) -> String {
    let mut at = vm.to_owned();
    for _ in 0..MAX_HOPS {
        match moves.get(&at) {
            Some(m) if m.to != at => at = m.to.clone(),
            _ => break,
        }
    }
    at
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_vm_is_followed_through_its_moves() {
        let m = |from: &str, to: &str| Moved {
            from: from.into(),
            to: to.into(),
            vm_id: "id".into(),
            at: OffsetDateTime::UNIX_EPOCH,
        };
        let moves: BTreeMap<String, Moved> = [m("a", "b"), m("b", "c"), m("x", "x")]
            .into_iter()
            .map(|m| (m.from.clone(), m))
            .collect();
        assert_eq!(current("a", &moves), "c");
        assert_eq!(current("c", &moves), "c");
        assert_eq!(current("x", &moves), "x");
        let mut cycle = moves.clone();
        cycle.insert("c".into(), m("c", "a"));
        assert!(["a", "b", "c"].contains(&current("a", &cycle).as_str()));
    }
}
