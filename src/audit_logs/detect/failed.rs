//! `login.failed.burst`: failed logins per (user or client IP, VM) in a tumbling window, one row
//! per attempt (RK = tunnelId, so a replay never double-counts). Partitions to check are durable
//! rows in `~pending`, upserted before the chunk's offset is saved and deleted `If-Match` only after
//! a successful check, so a failed check or a dead tick is retried next tick.

use crate::azure::AzureError;
use crate::sources::Sources;

use serde_json::Value;
use time::{Duration, OffsetDateTime, UtcOffset};

use super::burst::{self, CLIENT_IP, HOST, MARKER, USER, digest};
use crate::audit_logs::repo::FAILED_TABLE;
use crate::audit_logs::sessions::SessionRecord;
use crate::dates::format_utc;
use crate::notify::Notification;
use crate::tables::keys::{MAX_KEY_BYTES, Spelling, key};
use crate::tables::ops::{query_all, upsert_batched, write_creating_table};
use crate::tables::{Entity, Filter, TableStore, WriteMode, get_str};
use crate::telemetry::redact;
use tracing::error;

/// The marker's property saying the digest left with a tick's outputs.
const SETTLED: &str = "Settled";
/// Partition of the "check this partition" rows (`~` is outside base64url: no collision).
pub const UNCHECKED: &str = "~pending";
/// Most unchecked partitions checked per run (the rest wait for the next tick).
const UNCHECKED_PER_RUN: usize = 500;

/// One failed attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FailedLogin {
    /// Tunnel id of the attempt.
    pub tunnel_id: String,
    /// Window start.
    pub window: OffsetDateTime,
    /// Target VM (or target IP when unknown).
    pub vm: String,
    /// Attempted user name (or e-mail), if any.
    pub user: String,
    /// Client IP, if any.
    pub client_ip: String,
    /// The Bastion host the attempt went through, if known.
    pub host: String,
}

/// Floors `t` to the start of its `window`-long bucket (aligned on the Unix epoch).
pub fn bucket(t: OffsetDateTime, window: Duration) -> OffsetDateTime {
    let w = window.whole_seconds().max(1);
    let s = t.unix_timestamp();
    OffsetDateTime::from_unix_timestamp(s - s.rem_euclid(w)).unwrap_or(t)
}

impl FailedLogin {
    /// The attempt described by a one-record session, if it has a time and a target.
    pub fn from_session(
        s: &SessionRecord,
        time: Option<OffsetDateTime>,
        window: Duration,
    ) -> Option<Self> {
        let vm = if s.target_vm.is_empty() {
            s.target_ip.clone()
        } else {
            s.target_vm.clone()
        };
        let user = if s.user_name.is_empty() {
            s.user_email.to_ascii_lowercase()
        } else {
            s.user_name.to_ascii_lowercase()
        };
        Some(Self {
            tunnel_id: s.tunnel_id.clone(),
            window: bucket(time?, window),
            vm,
            user,
            client_ip: s.client_ip.clone(),
            host: s.bastion_host.clone(),
        })
    }

    /// The partitions this attempt counts in: one per dimension that is known.
    pub fn partitions(&self) -> Vec<String> {
        let w = format_utc(self.window);
        [("user", &self.user), ("ip", &self.client_ip)]
            .into_iter()
            .filter(|(_, v)| !v.is_empty())
            .map(|(d, v)| {
                let fact = format!("{w}|{d}|{}|{}", fit(v), fit(&self.vm));
                // Fitted, the fact stays spelled out (the digest reads it back from the key).
                key(&fact, Spelling::Encoded, MAX_KEY_BYTES)
            })
            .collect()
    }
}

/// Longest user, address or VM name kept whole in a partition key.
const MAX_PART: usize = 200;

/// `text`, or past [`MAX_PART`] bytes its start and a digest: a key stays under 1 KiB and two long
/// names still count apart.
fn fit(text: &str) -> std::borrow::Cow<'_, str> {
    if text.len() <= MAX_PART {
        return text.into();
    }
    let mut cut = MAX_PART - 24;
    while !text.is_char_boundary(cut) {
        cut -= 1;
    }
    let digest = <sha2::Sha256 as sha2::Digest>::digest(text.as_bytes());
    format!("{}…#{}", &text[..cut], hex::encode(&digest[..8])).into()
}

/// Stores one attempt (idempotent); returns the partitions touched.
pub async fn record(tables: &dyn TableStore, f: &FailedLogin) -> Result<Vec<String>, AzureError> {
    let parts = f.partitions();
    for pk in &parts {
        let mut e = Entity::new();
        e.insert("PartitionKey".into(), Value::String(pk.clone()));
        let rk = crate::audit_logs::sessions::tunnel_key(&f.tunnel_id);
        e.insert("RowKey".into(), Value::String(rk));
        e.insert("Window".into(), Value::String(format_utc(f.window)));
        // What the digest names besides the partition's own dimension.
        for (prop, v) in [(USER, &f.user), (CLIENT_IP, &f.client_ip), (HOST, &f.host)] {
            e.insert(prop.into(), Value::String(v.clone()));
        }
        write_creating_table(tables, FAILED_TABLE, &e, WriteMode::Upsert).await?;
    }
    Ok(parts)
}

/// Marks `partitions` as needing a burst check (idempotent batched upserts).
pub async fn mark_unchecked<'p>(
    tables: &dyn TableStore,
    partitions: impl IntoIterator<Item = &'p String>,
) -> Result<(), AzureError> {
    let rows: Vec<Entity> = partitions
        .into_iter()
        .map(|pk| {
            let mut e = Entity::new();
            e.insert("PartitionKey".into(), Value::String(UNCHECKED.to_owned()));
            e.insert("RowKey".into(), Value::String(pk.clone()));
            e
        })
        .collect();
    upsert_batched(tables, FAILED_TABLE, &rows).await?;
    Ok(())
}

/// Checks every unchecked partition (a failed check is logged and stays unchecked); never fails, so
/// the digests already won reach the caller's outputs.
pub async fn run_unchecked(
    tables: &dyn TableStore,
    sources: &Sources,
    threshold: usize,
    window: Duration,
) -> Vec<Notification> {
    let mut out = Vec::new();
    let unchecked = match query_all(
        tables,
        FAILED_TABLE,
        &Filter::partition(UNCHECKED),
        UNCHECKED_PER_RUN,
    )
    .await
    {
        Ok(rows) => rows,
        Err(e) => {
            error!(error.cause_chain = %redact(&e.to_string()), "listing unchecked failed-login checks failed; retried next tick");
            return out;
        }
    };
    let mut checked = Vec::new();
    for row in &unchecked {
        let Some(pk) = get_str(&row.entity, "RowKey") else {
            continue;
        };
        match check(tables, pk, threshold, window).await {
            Ok(n) => {
                out.extend(n.into_iter().map(|d| super::burst::with_portal(d, sources)));
                checked.push((pk, row.etag.as_str()));
            }
            Err(e) => {
                error!(error.cause_chain = %redact(&e.to_string()), "failed-login burst check failed; kept unchecked, retried next tick");
            }
        }
    }
    settle(tables, &checked).await;
    out
}

/// Removes the unchecked rows of the partitions checked, each `If-Match` its ETag as read, 100 to a
/// transaction; a refused transaction (one row marked again or settled since) is removed row by
/// row. A row marked again since stays (412), one another tick settled is gone (404); any other
/// failure leaves it unchecked, checked again next tick.
async fn settle(tables: &dyn TableStore, checked: &[(&str, &str)]) {
    for chunk in checked.chunks(crate::tables::MAX_BATCH) {
        let deletes: Vec<(Entity, WriteMode)> = chunk
            .iter()
            .map(|(pk, etag)| {
                let mut e = Entity::new();
                e.insert("PartitionKey".into(), Value::String(UNCHECKED.to_owned()));
                e.insert("RowKey".into(), Value::String((*pk).to_owned()));
                (e, WriteMode::Delete((*etag).to_owned()))
            })
            .collect();
        if chunk.len() > 1 && tables.batch(FAILED_TABLE, &deletes).await.is_ok() {
            continue;
        }
        for (pk, etag) in chunk {
            match tables.delete(FAILED_TABLE, UNCHECKED, pk, Some(etag)).await {
                // 412: an attempt was stored since the read, 404: another tick settled it.
                Ok(()) | Err(AzureError::PreconditionFailed | AzureError::NotFound) => {}
                Err(e) => {
                    error!(error.cause_chain = %redact(&e.to_string()), "settling a failed-login burst check failed; kept unchecked, checked again next tick");
                }
            }
        }
    }
}

/// Lists the attempts partition `pk` under its window's day (idempotent; none without a window).
pub(super) async fn list(tables: &dyn TableStore, pk: &str) -> Result<(), AzureError> {
    let Some(start) = burst::window_of(pk) else {
        return Ok(());
    };
    let day = start.to_offset(UtcOffset::UTC).date();
    let mut e = Entity::new();
    e.insert("PartitionKey".into(), burst::list_pk(day).into());
    e.insert("RowKey".into(), pk.into());
    write_creating_table(tables, FAILED_TABLE, &e, WriteMode::Upsert).await?;
    Ok(())
}

/// Emits the digest for partition `pk` when it reached `threshold` and no tick settled it yet: the
/// marker is inserted unsettled and settled by the tick that emits, so one found unsettled (a lost
/// answer, a dead tick) is emitted again under the same id: at least once, never lost.
pub async fn check(
    tables: &dyn TableStore,
    pk: &str,
    threshold: usize,
    window: Duration,
) -> Result<Option<Notification>, AzureError> {
    let (marker, attempts) = burst::partition(tables, pk).await?;
    if marker.as_ref().is_some_and(|m| settled(&m.entity)) {
        return Ok(None);
    }
    if attempts.len() < threshold {
        return Ok(None);
    }
    let etag = match marker {
        Some(m) => m.etag.clone(),
        None => {
            // Listed under its day before the marker exists, so no detection is ever unlisted.
            list(tables, pk).await?;
            let row = marker_row(pk, false);
            match write_creating_table(tables, FAILED_TABLE, &row, WriteMode::Insert).await {
                Ok(etag) => etag,
                Err(AzureError::Conflict) => match tables.get(FAILED_TABLE, pk, MARKER).await? {
                    Some(m) if !settled(&m.entity) => m.etag,
                    _ => return Ok(None),
                },
                Err(e) => return Err(e),
            }
        }
    };
    let settled = WriteMode::IfMatch(etag);
    if let Err(e) = tables
        .write(FAILED_TABLE, &marker_row(pk, true), settled)
        .await
    {
        // Emitted all the same: the worst case is that a later tick emits it again, same id.
        error!(error.cause_chain = %redact(&e.to_string()), "settling a failed-login marker failed; the digest may be emitted again under the same id");
    }
    let attempts: Vec<&Entity> = attempts.iter().collect();
    Ok(Some(digest(pk, &attempts, window)))
}

fn settled(marker: &Entity) -> bool {
    marker.get(SETTLED) == Some(&Value::Bool(true))
}

fn marker_row(pk: &str, settled: bool) -> Entity {
    let mut marker = Entity::new();
    marker.insert("PartitionKey".into(), Value::String(pk.to_owned()));
    marker.insert("RowKey".into(), Value::String(MARKER.to_owned()));
    marker.insert(SETTLED.into(), Value::Bool(settled));
    marker
}

#[cfg(test)]
mod fit_tests {
    use super::*;

    #[test]
    fn long_names_fit_a_key_and_stay_apart() {
        let a = format!("{}a", "u".repeat(3000));
        let b = format!("{}b", "u".repeat(3000));
        assert_ne!(fit(&a), fit(&b));
        assert!(fit(&a).len() <= MAX_PART + 4);
        assert_eq!(fit("alice@contoso.com"), "alice@contoso.com");
        let wide = "é".repeat(400);
        assert!(fit(&wide).len() <= MAX_PART + 4);
        let fact = format!("2025-03-14T09:00:00Z|user|{}|{}", fit(&a), fit(&b));
        let k = key(&fact, Spelling::Encoded, MAX_KEY_BYTES);
        assert!(crate::tables::keys::is_valid_key(&k), "{}", k.len());
        assert_eq!(
            crate::tables::keys::decode_key(&k),
            Some(fact),
            "spelled out"
        );
    }
}
