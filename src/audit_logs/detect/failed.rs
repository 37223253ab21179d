//! `login.failed.burst`: failed logins per (user or client IP, VM) in a tumbling window, one row
//! per attempt (RK = tunnelId, so a replay never double-counts). Partitions to check are durable
//! rows in `~pending`, upserted before the chunk's offset is saved and deleted `If-Match` only after
//! a successful check, so a failed check or a dead tick is retried next tick.
//!
//! The `login.failed.burst` digest of one partition (per user or per client IP), from its key and
//! the attempts stored in it; and the detections as stored, read back for a period (the evidence
//! pack counts these, so its figures are the detector's): the detector lists each partition with a
//! [`MARKER`] under its window's day first, so a period costs a query per day and two per detection.

use std::collections::BTreeSet;

use futures::StreamExt as _;
use serde_json::{Value, json};
use time::{Date, Duration, OffsetDateTime, UtcOffset};
use tracing::error;

use crate::audit_logs::repo::FAILED_TABLE;
use crate::audit_logs::sessions::SessionRecord;
use crate::azure::AzureError;
use crate::catalogue::session::fill;
use crate::dates::{days, format_date, format_utc};
use crate::notify::{Notification, Severity};
use crate::sources::Sources;
use crate::tables::keys::{MAX_KEY_BYTES, Spelling, decode_key, key};
use crate::tables::ops::{query_all, remove, upsert_batched, write_creating_table};
use crate::tables::{Entity, Filter, IN_FLIGHT, Stored, TableStore, WriteMode, get_str};
use crate::telemetry::redact;

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
        let (mut vm, mut user) = (s.target_vm.clone(), s.user_name.to_ascii_lowercase());
        fill(&mut vm, &s.target_ip, false);
        fill(&mut user, &s.user_email, true);
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
        let rk = crate::audit_logs::sessions::tunnel_key(&f.tunnel_id);
        // What the digest names besides the partition's own dimension.
        let e = crate::tables::entity(json!({
            "PartitionKey": pk, "RowKey": rk, "Window": format_utc(f.window),
            USER: f.user, CLIENT_IP: f.client_ip, HOST: f.host,
        }));
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
        .map(|pk| crate::tables::keyed(UNCHECKED, pk.clone()))
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
    // The partitions are checked a few at once, their results taken in order. Built eagerly: a
    // lazily mapped stream of borrowing futures trips the `Send` check of the route.
    let checks: Vec<_> = unchecked
        .iter()
        .filter_map(|row| Some((get_str(&row.entity, "RowKey")?, row)))
        .map(|(pk, row)| async move { (pk, row, check(tables, pk, threshold, window).await) })
        .collect();
    let results: Vec<_> = futures::stream::iter(checks)
        .buffered(IN_FLIGHT)
        .collect()
        .await;
    let mut checked = Vec::new();
    for (pk, row, result) in results {
        match result {
            Ok(n) => {
                out.extend(n.into_iter().map(|d| with_portal(d, sources)));
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
pub(super) async fn list(tables: &dyn TableStore, pk: &str) -> Result<(), AzureError> {
    let Some(start) = window_of(pk) else {
        return Ok(());
    };
    let day = start.to_offset(UtcOffset::UTC).date();
    let e = crate::tables::keyed(list_pk(day), pk);
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
    let (marker, attempts) = partition(tables, pk).await?;
    if marker.as_ref().is_some_and(|m| settled(&m.entity)) || attempts.len() < threshold {
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
    let mut marker = crate::tables::keyed(pk, MARKER);
    marker.insert(SETTLED.into(), Value::Bool(settled));
    marker
}

/// Properties of an attempt row: the user, the client IP and the Bastion host.
pub const USER: &str = "User";
/// See [`USER`].
pub const CLIENT_IP: &str = "ClientIp";
/// See [`USER`].
pub const HOST: &str = "Host";
/// Most tunnel ids, users or addresses listed in one digest.
const MAX_LISTED: usize = 50;

/// The digest of partition `pk` over its `attempts` (rows keyed by tunnel id).
pub fn digest(pk: &str, attempts: &[&Entity], window: Duration) -> Notification {
    let fact = decode_key(pk).unwrap_or_default();
    let mut parts = fact.splitn(4, '|');
    let mut part = || parts.next().unwrap_or("");
    let (start, dim, value, vm) = (part(), part(), part(), part());
    let end = crate::dates::timestamp(start)
        .map(|s| format_utc(s + window))
        .unwrap_or_default();
    let seen = |prop: &str| -> Vec<&str> {
        let values: BTreeSet<&str> = attempts
            .iter()
            .filter_map(|a| get_str(a, prop))
            .filter(|v| !v.is_empty())
            .collect();
        values.into_iter().take(MAX_LISTED).collect()
    };
    let tunnels: Vec<&str> = attempts
        .iter()
        .filter_map(|a| get_str(a, "RowKey"))
        .collect();
    let (key, others, other_prop, who) = match dim {
        "ip" => ("clientIp", "userNames", USER, "from one client IP"),
        _ => ("userName", "clientIps", CLIENT_IP, "by one user"),
    };
    let mut data = json!({
        "dimension": if dim == "ip" { "clientIp" } else { "user" },
        "value": value, "targetVm": vm, "windowStart": start, "windowEnd": end,
        "count": attempts.len(), "tunnelIds": tunnels.iter().take(MAX_LISTED).collect::<Vec<_>>(),
    });
    data[key] = Value::String(value.to_owned());
    data[others] = json!(seen(other_prop));
    let hosts = seen(HOST);
    if !hosts.is_empty() {
        data["bastionHost"] = Value::String(hosts.join(", "));
    }
    Notification::new(
        "login.failed.burst",
        &fact,
        start.to_owned(),
        Severity::Warning,
        format!(
            "{} failed Bastion logins {who} to {} within {} min",
            attempts.len(),
            crate::telemetry::text::isolate(vm),
            window.whole_minutes()
        ),
        data,
    )
}

/// `n` with its host's resource id (the portal link) when the burst is on one known host.
pub fn with_portal(mut n: Notification, sources: &Sources) -> Notification {
    let id = n.data["bastionHost"]
        .as_str()
        .filter(|h| !h.contains(','))
        .and_then(|h| sources.bastion_id(h));
    if let Some(id) = id {
        n.data["bastionResourceId"] = Value::String(id.to_owned());
    }
    n
}

/// Row key of the marker written when a burst is emitted: its partition is a detection.
pub const MARKER: &str = "~notified";
/// Most listed detections read at once (far above any period's bursts).
const MARKERS: usize = 1_000_000;
/// Most attempts read per burst (as the detector's own check).
const ATTEMPTS: usize = 10_000;
/// Prefix of the per-day lists (`~` is outside base64url: no attempts partition starts with it).
const LISTS: &str = "~bursts-";

/// The window start an attempts partition stands for.
pub(super) fn window_of(pk: &str) -> Option<OffsetDateTime> {
    decode_key(pk).and_then(|fact| fact.split('|').next().and_then(crate::dates::timestamp))
}

pub(super) fn list_pk(day: Date) -> String {
    format!("{LISTS}{}", format_date(day))
}

/// The marker row of attempts partition `pk`, if any, and its attempts.
pub async fn partition(
    tables: &dyn TableStore,
    pk: &str,
) -> Result<(Option<Stored>, Vec<Entity>), AzureError> {
    let rows = query_all(tables, FAILED_TABLE, &Filter::partition(pk), ATTEMPTS).await?;
    let (mut marker, mut attempts) = (None, Vec::new());
    for r in rows {
        match get_str(&r.entity, "RowKey") {
            Some(MARKER) => marker = Some(r),
            Some(_) => attempts.push(r.entity),
            None => {}
        }
    }
    Ok((marker, attempts))
}

/// The detections whose window starts in `[from, to)`, in window order, as the detector's digests
/// (`window` is `FAILED_LOGIN_WINDOW_MINUTES`).
///
/// # Errors
/// Table errors (an absent table holds none).
pub async fn bursts(
    tables: &dyn TableStore,
    from: OffsetDateTime,
    to: OffsetDateTime,
    window: Duration,
) -> Result<Vec<Notification>, AzureError> {
    let mut listed = BTreeSet::new();
    let last = to.to_offset(UtcOffset::UTC).date();
    for d in days(from.to_offset(UtcOffset::UTC).date(), last) {
        let rows = query_all(
            tables,
            FAILED_TABLE,
            &Filter::partition(&list_pk(d)),
            MARKERS,
        )
        .await?;
        listed.extend(
            rows.iter()
                .filter_map(|r| get_str(&r.entity, "RowKey").map(str::to_owned)),
        );
    }
    let mut found = Vec::new();
    for pk in &listed {
        let start = window_of(pk);
        if !start.is_some_and(|s| s >= from && s < to) {
            continue;
        }
        // Listed, then the marker: a detector that stopped in between detected nothing.
        if let (Some(_), attempts) = partition(tables, pk).await? {
            found.push((
                start,
                digest(pk, &attempts.iter().collect::<Vec<_>>(), window),
            ));
        }
    }
    found.sort_by(|a, b| (a.0, &a.1.notification_id).cmp(&(b.0, &b.1.notification_id)));
    Ok(found.into_iter().map(|(_, n)| n).collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tables::keys::{MAX_KEY_BYTES, Spelling, key};

    fn attempt(tunnel: &str, user: &str, ip: &str, host: &str) -> Entity {
        let mut e = Entity::new();
        for (k, v) in [
            ("RowKey", tunnel),
            (USER, user),
            (CLIENT_IP, ip),
            (HOST, host),
        ] {
            e.insert(k.into(), Value::String(v.into()));
        }
        e
    }

    #[test]
    fn the_two_digests_of_one_burst_say_who_from_where_and_on_which_host() {
        let rows = [
            attempt("t1", "alice", "203.0.113.7", "bas-weu"),
            attempt("t2", "alice", "198.51.100.2", "bas-weu"),
            attempt("t3", "bob", "203.0.113.7", "bas-weu"),
        ];
        let of = |dim: &str, value: &str, rows: &[&Entity]| {
            let fact = format!("2025-03-14T09:00:00Z|{dim}|{value}|vm-01");
            let pk = key(&fact, Spelling::Encoded, MAX_KEY_BYTES);
            digest(&pk, rows, Duration::minutes(10))
        };
        let user = of("user", "alice", &[&rows[0], &rows[1]]);
        let ip = of("ip", "203.0.113.7", &[&rows[0], &rows[2]]);
        assert_ne!(user.title, ip.title);
        assert_eq!(user.data["userName"], "alice");
        assert_eq!(
            user.data["clientIps"],
            json!(["198.51.100.2", "203.0.113.7"])
        );
        assert_eq!(ip.data["clientIp"], "203.0.113.7");
        assert_eq!(ip.data["userNames"], json!(["alice", "bob"]));
        for d in [&user, &ip] {
            assert_eq!(d.data["count"], 2);
            assert_eq!(d.data["bastionHost"], "bas-weu");
            assert_eq!(d.data["windowEnd"], "2025-03-14T09:10:00Z");
        }
        // The portal link, when a source names the (one) host by resource id.
        let id =
            "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Network/bastionHosts/bas-weu";
        let store =
            std::sync::Arc::new(crate::storage::testing::memory::InMemoryBlobStore::new("a"));
        let sources = Sources::single(
            crate::sources::Source::new(store.clone(), "rec")
                .with_bastion(Some("BAS-WEU".into()))
                .with_bastion_id(Some(id.into())),
            crate::sources::Source::new(store, "logs"),
        );
        assert_eq!(
            with_portal(user.clone(), &sources).data["bastionResourceId"],
            id
        );
        let mut two = ip.clone();
        two.data["bastionHost"] = json!("bas-weu, bas-neu");
        assert!(
            with_portal(two, &sources)
                .data
                .get("bastionResourceId")
                .is_none()
        );
        // Attempts stored before these properties existed still count.
        let bare = Entity::from_iter([("RowKey".to_owned(), json!("t9"))]);
        let old = of("user", "carol", &[&bare]);
        assert_eq!(
            (old.data["count"].clone(), old.data.get("bastionHost")),
            (json!(1), None)
        );
    }
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
