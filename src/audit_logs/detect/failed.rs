//! Table `failedlogins`, its one writer. The one definition of a failed-login burst: at least
//! `FAILED_LOGIN_THRESHOLD` failed logins by one user, or from one client IP, on any VMs, in one
//! fixed window of `FAILED_LOGIN_WINDOW_MINUTES` ([`crate::dates::bucket`]). Its rows: each
//! attempt in each partition it counts in, (window, user) and (window, client IP) (RK = tunnelId,
//! so a replay never double-counts); the `~pending` rows of the partitions to check; each
//! detection's marker, its listing under its window's day, and its attempts' sessions recorded as
//! changed, so the review queue ranks them (and the sessions right after) by it.

use serde_json::{Value, json};
use time::{Date, Duration, OffsetDateTime, UtcOffset};
use tracing::error;

use crate::audit_logs::repo::FAILED_TABLE;
use crate::audit_logs::sessions::SessionRecord;
use crate::azure::AzureError;
use crate::catalogue::session::fill;
use crate::dates::{bucket, format_date, format_utc};
use crate::tables::keys::{MAX_KEY_BYTES, Spelling, decode_key, key};
use crate::tables::ops::{
    Once, insert_once, query_all, remove, upsert_batched, write_creating_table,
};
use crate::tables::{Entity, Filter, Stored, TableStore, WriteMode, get_str};
use crate::telemetry::{redact, text::char_floor};

/// One failed attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FailedLogin {
    /// Tunnel id of the attempt.
    pub tunnel_id: String,
    /// Window start.
    pub window: OffsetDateTime,
    /// The session's start day (its `sessionwindows` partition).
    pub day: String,
    /// Target VM (or target IP when unknown).
    pub vm: String,
    /// Attempted user name (or e-mail), if any.
    pub user: String,
    /// Client IP, if any.
    pub client_ip: String,
    /// The Bastion host the attempt went through, if known.
    pub host: String,
}

/// The user an attempt counts for: its VM user name, else its portal e-mail, in lower case.
pub fn user_of(user_name: &str, user_email: &str) -> String {
    let mut user = user_name.to_ascii_lowercase();
    fill(&mut user, user_email, true);
    user
}

impl FailedLogin {
    /// The attempt described by a one-record session, if it has a time and a target.
    pub fn from_session(
        s: &SessionRecord,
        time: Option<OffsetDateTime>,
        window: Duration,
    ) -> Option<Self> {
        let mut vm = s.target_vm.clone();
        fill(&mut vm, &s.target_ip, false);
        Some(Self {
            tunnel_id: s.tunnel_id.clone(),
            window: bucket(time?, window),
            day: crate::catalogue::days::day_of(s).unwrap_or_default(),
            vm,
            user: user_of(&s.user_name, &s.user_email),
            client_ip: s.client_ip.clone(),
            host: s.bastion_host.clone(),
        })
    }

    /// The partitions this attempt counts in: one per dimension that is known, whatever its VM.
    pub fn partitions(&self) -> Vec<String> {
        let w = format_utc(self.window);
        [("user", &self.user), ("ip", &self.client_ip)]
            .into_iter()
            .filter(|(_, v)| !v.is_empty())
            .map(|(d, v)| {
                let fact = format!("{w}|{d}|{}", fit(v));
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
pub(super) fn fit(text: &str) -> std::borrow::Cow<'_, str> {
    if text.len() <= MAX_PART {
        return text.into();
    }
    let cut = char_floor(text, MAX_PART - 24);
    let digest = <sha2::Sha256 as sha2::Digest>::digest(text.as_bytes());
    format!("{}…#{}", &text[..cut], hex::encode(&digest[..8])).into()
}

/// Stores `attempts` (idempotent), each in every partition it counts in, then marks the
/// partitions touched as needing a burst check (batched upserts): attempts before marks.
///
/// # Errors
/// Table errors.
pub async fn store(tables: &dyn TableStore, attempts: &[&FailedLogin]) -> Result<(), AzureError> {
    let mut touched = std::collections::BTreeSet::new();
    for f in attempts {
        let rk = crate::audit_logs::sessions::tunnel_key(&f.tunnel_id);
        for pk in f.partitions() {
            // What the digest names besides the partition's own dimension.
            let e = crate::tables::entity(json!({
                "PartitionKey": pk, "RowKey": rk, "Window": format_utc(f.window),
                USER: f.user, CLIENT_IP: f.client_ip, HOST: f.host, VM: f.vm, DAY: f.day,
            }));
            write_creating_table(tables, FAILED_TABLE, &e, WriteMode::Upsert).await?;
            touched.insert(pk);
        }
    }
    let marks: Vec<Entity> = touched
        .into_iter()
        .map(|pk| crate::tables::keyed(UNCHECKED, pk))
        .collect();
    upsert_batched(tables, FAILED_TABLE, &marks).await.map(drop)
}

/// Properties of an attempt row: the user, the client IP, the Bastion host, the VM and the
/// session's day.
pub const USER: &str = "User";
/// See [`USER`].
pub const CLIENT_IP: &str = "ClientIp";
/// See [`USER`].
pub const HOST: &str = "Host";
/// See [`USER`].
pub const VM: &str = "Vm";
/// See [`USER`].
pub const DAY: &str = "Day";

/// The marker's property saying the digest left with a tick's outputs.
const SETTLED: &str = "Settled";
/// Partition of the "check this partition" rows (`~` is outside base64url: no collision).
pub const UNCHECKED: &str = "~pending";
/// Row key of the marker written when a burst is emitted: its partition is a detection.
pub const MARKER: &str = "~notified";
/// Prefix of the per-day lists (`~` is outside base64url: no attempts partition starts with it).
const LISTS: &str = "~bursts-";
/// Most attempts read per burst (as the detector's own check).
const ATTEMPTS: usize = 10_000;

/// Removes the unchecked rows of the partitions checked, each `If-Match` its ETag as read, 100 to a
/// transaction; a refused transaction (one row marked again or settled since) is removed row by
/// row. A row marked again since stays (412), one another tick settled is gone (404); any other
/// failure leaves it unchecked, checked again next tick.
pub async fn settle(tables: &dyn TableStore, checked: &[(&str, &str)]) {
    for chunk in checked.chunks(crate::tables::MAX_BATCH) {
        let deletes: Vec<(Entity, WriteMode)> = chunk
            .iter()
            .map(|(pk, etag)| {
                let e = crate::tables::keyed(UNCHECKED, *pk);
                (e, WriteMode::Delete((*etag).to_owned()))
            })
            .collect();
        if chunk.len() > 1 && tables.batch(FAILED_TABLE, &deletes).await.is_ok() {
            continue;
        }
        for (pk, etag) in chunk {
            // 412: an attempt was stored since the read, 404: another tick settled it.
            if let Err(e) = remove(tables, FAILED_TABLE, UNCHECKED, pk, Some(etag)).await {
                error!(error.cause_chain = %redact(&e.to_string()), "settling a failed-login burst check failed; kept unchecked, checked again next tick");
            }
        }
    }
}

/// Lists the attempts partition `pk` under its window's day (idempotent; none without a window).
pub async fn list(tables: &dyn TableStore, pk: &str) -> Result<(), AzureError> {
    let Some(start) = window_of(pk) else {
        return Ok(());
    };
    let day = start.to_offset(UtcOffset::UTC).date();
    let e = crate::tables::keyed(list_pk(day), pk);
    write_creating_table(tables, FAILED_TABLE, &e, WriteMode::Upsert).await?;
    Ok(())
}

/// The window start an attempts partition stands for.
pub fn window_of(pk: &str) -> Option<OffsetDateTime> {
    decode_key(pk).and_then(|fact| fact.split('|').next().and_then(crate::dates::timestamp))
}

/// The partition of the day list of `day`.
pub fn list_pk(day: Date) -> String {
    format!("{LISTS}{}", format_date(day))
}

/// The marker row of attempts partition `pk`, if any, and its attempts.
pub async fn partition(
    tables: &dyn TableStore,
    pk: &str,
) -> Result<(Option<Stored>, Vec<Entity>), AzureError> {
    let rows = query_all(tables, FAILED_TABLE, &Filter::partition(pk), ATTEMPTS).await?;
    let (mut marker, attempts): (Vec<Stored>, Vec<Stored>) = (rows.into_iter())
        .filter(|r| get_str(&r.entity, "RowKey").is_some())
        .partition(|r| get_str(&r.entity, "RowKey") == Some(MARKER));
    Ok((
        marker.pop(),
        attempts.into_iter().map(|r| r.entity).collect(),
    ))
}

/// The attempts of partition `pk` when it reached `threshold` and no tick settled it yet: the
/// marker is inserted unsettled and settled here, by the tick that emits the digest, so one found
/// unsettled (a lost answer, a dead tick) is emitted again under the same id: at least once,
/// never lost.
pub async fn claim(
    tables: &dyn TableStore,
    pk: &str,
    threshold: usize,
) -> Result<Option<Vec<Entity>>, AzureError> {
    let (marker, attempts) = partition(tables, pk).await?;
    if marker.as_ref().is_some_and(|m| settled(&m.entity)) || attempts.len() < threshold {
        return Ok(None);
    }
    let etag = match marker {
        Some(m) => m.etag.clone(),
        None => {
            // Listed under its day before the marker exists, so no detection is ever unlisted;
            // its sessions recorded as changed before it is settled, so none is ranked without it.
            list(tables, pk).await?;
            changed(tables, &attempts).await?;
            let row = marker_row(pk, false);
            match insert_once(tables, FAILED_TABLE, &row).await? {
                Once::Inserted(etag) => etag,
                Once::Existed => match tables.get(FAILED_TABLE, pk, MARKER).await? {
                    Some(m) if !settled(&m.entity) => m.etag,
                    _ => return Ok(None),
                },
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
    Ok(Some(attempts))
}

/// Records the sessions of `attempts` as changed (attempts stored before their day was: none).
async fn changed(tables: &dyn TableStore, attempts: &[Entity]) -> Result<(), AzureError> {
    let sessions: Vec<(String, String)> = (attempts.iter())
        .filter_map(|a| Some((get_str(a, DAY)?, get_str(a, "RowKey")?)))
        .filter(|(day, _)| !day.is_empty())
        .map(|(day, tunnel)| (day.to_owned(), tunnel.to_owned()))
        .collect();
    crate::catalogue::changes::record(tables, &sessions).await
}

fn settled(marker: &Entity) -> bool {
    marker.get(SETTLED) == Some(&Value::Bool(true))
}

fn marker_row(pk: &str, settled: bool) -> Entity {
    let mut marker = crate::tables::keyed(pk, MARKER);
    marker.insert(SETTLED.into(), Value::Bool(settled));
    marker
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tables::keys::{MAX_KEY_BYTES, Spelling, key};

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
