//! The per-source part of `/api/health`: whether each watched account answers, whether a
//! recording source's `recordings.stalled` episode is open, and each workspace's last reading.

use serde_json::{Value, json};

use crate::audit_logs::detect::stalled::{MARKER_PK, marker_key};
use crate::audit_logs::repo::STATE_TABLE;
use crate::azure::AzureError;
use crate::sources::{Source, Sources};
use crate::tables::ops::get;
use crate::tables::{TableStore, get_str};

/// A name no blob has: its properties prove the account answers and may be read, for one 404.
const PROBE: &str = ".health-probe";

/// What the sources say.
#[derive(Debug, Default)]
pub struct SourceHealth {
    /// One document per source.
    pub docs: Vec<Value>,
    /// Labels (the Bastion host, else `account/container`) of recording sources whose episode is open.
    pub stalled: Vec<String>,
    /// `since` of the first open episode.
    pub since: Option<String>,
    /// Labels of sources whose account did not answer.
    pub unreachable: Vec<String>,
}

/// Probes every source and reads every recording source's stalled marker.
///
/// # Errors
/// Table errors (the markers); an unreachable source is a finding, not an error.
pub async fn check(tables: &dyn TableStore, sources: &Sources) -> Result<SourceHealth, AzureError> {
    let mut out = SourceHealth::default();
    for (kind, list) in [
        ("recordings", sources.recordings()),
        ("auditLogs", sources.audit_logs()),
    ] {
        for source in list {
            let mut doc = json!({"kind": kind, "account": source.account(),
                "container": source.container, "bastionHost": source.bastion});
            let name = source.bastion.clone().unwrap_or_else(|| source.label());
            match probe(source).await {
                Ok(()) => doc["reachable"] = Value::Bool(true),
                Err(e) => {
                    doc["reachable"] = Value::Bool(false);
                    doc["error"] = Value::String(e);
                    out.unreachable.push(name.clone());
                }
            }
            if kind == "recordings" {
                let marker = get(tables, STATE_TABLE, MARKER_PK, &marker_key(source)).await?;
                let active = marker
                    .as_ref()
                    .and_then(|s| s.entity.get("Active"))
                    .and_then(Value::as_bool)
                    .unwrap_or(false);
                let since = marker
                    .as_ref()
                    .and_then(|s| get_str(&s.entity, "Since"))
                    .filter(|_| active)
                    .map(str::to_owned);
                if active {
                    out.stalled.push(name);
                    out.since = out.since.or(since.clone());
                }
                doc["stalled"] = json!({"active": active, "since": since});
            }
            out.docs.push(doc);
        }
    }
    for s in crate::audit_logs::query::store::statuses(tables).await? {
        let failing = s.error.is_some();
        out.docs
            .push(json!({"kind": "workspace", "workspace": s.workspace,
            "reachable": !failing, "error": s.error, "at": s.at,
            "retryAfter": s.retry_after.map(crate::dates::format_utc)}));
        if failing {
            out.unreachable.push(format!("workspace {}", s.workspace));
        }
    }
    Ok(out)
}

/// `Ok` when the account answered (404 included); else the kind of failure, safe to show.
async fn probe(source: &Source) -> Result<(), String> {
    match source.store.properties(&source.blob(PROBE)).await {
        Ok(_) | Err(AzureError::NotFound) => Ok(()),
        Err(AzureError::Transient(_)) => Err("the account did not answer".into()),
        Err(AzureError::Rejected { .. } | AzureError::Permanent(_)) => {
            Err("the account refused the request (permissions, SAS or identity)".into())
        }
        Err(_) => Err("unexpected answer".into()),
    }
}
