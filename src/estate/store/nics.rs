//! What the other-doors check last read of a watched VM whose NICs no list reads (they lie in a
//! resource group that is neither the VM's nor a `BYPASS_SCOPES` entry): its NICs as Resource
//! Manager answered (their ids, IP configurations with subnet and public IP, NSG, `etag`), when
//! they were read and when a read was last tried. One row per such VM in table `estate` (the VM's
//! partition, row key [`NICS`]), so a later pass re-reads a NIC only when it may have changed.
//! The row is written by [`super::put`]; this file reads and encodes it.

use std::collections::BTreeMap;

use serde_json::{Value, json};
use time::OffsetDateTime;

use super::table::ESTATE_TABLE;
use crate::arm::NetworkInterface;
use crate::azure::AzureError;
use crate::dates::{format_utc_millis, timestamp};
use crate::tables::filter::Op;
use crate::tables::ops::query_all;
use crate::tables::{Entity, Filter, TableStore, get_str};

/// Row key of a VM's remembered NICs (`~` sorts after every finding code; never a finding).
pub const NICS: &str = "~nics";
/// Most characters the NICs' text takes (a table string property holds 32 Ki UTF-16 units): a VM
/// whose NICs take more is not remembered (read every pass).
pub const MAX_CHARS: usize = 30_000;
/// Most rows one read of them takes.
pub const MAX_ROWS: usize = 100_000;

/// One VM's remembered NICs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Remembered {
    /// The VM (lower-case resource id).
    pub vm: String,
    /// Its NICs as last read (empty: none, or the VM is gone).
    pub nics: Vec<NetworkInterface>,
    /// When they were read (`None`: never read whole: the VM is undecided).
    pub read_at: Option<OffsetDateTime>,
    /// When a read was last tried (succeeded or not).
    pub tried_at: OffsetDateTime,
}

/// The row of `r`; `None` when its NICs' text is longer than [`MAX_CHARS`].
pub fn entity(r: &Remembered) -> Option<Entity> {
    let text = serde_json::to_string(&r.nics).ok()?;
    if text.len() > MAX_CHARS {
        return None;
    }
    let mut e = json!({
        "PartitionKey": crate::estate::rows::host_key(&r.vm), "RowKey": NICS, "Host": r.vm,
        "Nics": text, "TriedAt": format_utc_millis(r.tried_at),
    });
    if let Some(at) = r.read_at {
        e["ReadAt"] = Value::from(format_utc_millis(at));
    }
    e.as_object().cloned()
}

/// The remembered NICs row `e` holds (`None`: not such a row, or text this code did not write).
pub fn of(e: &Entity) -> Option<Remembered> {
    Some(Remembered {
        vm: get_str(e, "Host")?.to_ascii_lowercase(),
        nics: serde_json::from_str(get_str(e, "Nics")?).ok()?,
        read_at: get_str(e, "ReadAt").and_then(timestamp),
        tried_at: timestamp(get_str(e, "TriedAt")?)?,
    })
}

/// Every VM's remembered NICs, by VM (lower-case): one query (and its continuations).
///
/// # Errors
/// Table errors (a missing table holds none).
pub async fn remembered(
    tables: &dyn TableStore,
) -> Result<BTreeMap<String, Remembered>, AzureError> {
    let filter = Filter::str("RowKey", Op::Eq, NICS);
    let rows = query_all(tables, ESTATE_TABLE, &filter, MAX_ROWS).await?;
    Ok(rows
        .iter()
        .filter_map(|s| of(&s.entity))
        .map(|r| (r.vm.clone(), r))
        .collect())
}

#[cfg(test)]
mod tests {
    use time::macros::datetime;

    use super::*;

    #[test]
    fn a_vms_nics_are_kept_as_read_with_their_etag_and_times() {
        let nic: NetworkInterface = serde_json::from_value(json!({
            "id": "/subscriptions/s/resourceGroups/rg-far/providers/Microsoft.Network/networkInterfaces/n1",
            "etag": "W/\"00000000-0000-0000-0000-000000000001\"",
            "properties": {"ipConfigurations": [{"name": "ipconfig1", "properties": {
                "privateIPAddress": "10.0.1.4", "subnet": {"id": "/subscriptions/s/x/subnets/app"},
                "publicIPAddress": {"id": "/subscriptions/s/x/publicIPAddresses/p"}}}],
                "networkSecurityGroup": {"id": "/subscriptions/s/x/networkSecurityGroups/g"},
                "virtualMachine": {"id": "/subscriptions/s/vm"}}}))
        .expect("nic");
        let r = Remembered {
            vm: "/subscriptions/s/vm".into(),
            nics: vec![nic],
            read_at: Some(datetime!(2026-11-25 12:00 UTC)),
            tried_at: datetime!(2026-11-25 12:00 UTC),
        };
        let e = entity(&r).expect("fits");
        assert_eq!(of(&e), Some(r.clone()));
        let never = Remembered {
            read_at: None,
            nics: vec![],
            ..r.clone()
        };
        assert_eq!(of(&entity(&never).expect("fits")), Some(never));
        let huge = Remembered {
            nics: vec![r.nics[0].clone(); 200],
            ..r
        };
        assert_eq!(entity(&huge), None, "too long for one property");
    }
}
