//! The `login.failed.burst` digest of one partition (per user or per client IP), from its key and
//! the attempts stored in it; and the detections as stored, read back for a period (the evidence
//! pack counts these, so its figures are the detector's): the detector lists each partition with a
//! [`MARKER`] under its window's day first, so a period costs a query per day and two per detection.

use std::collections::BTreeSet;

use serde_json::{Value, json};
use time::{Date, Duration, OffsetDateTime, UtcOffset};

use crate::audit_logs::repo::FAILED_TABLE;
use crate::azure::AzureError;
use crate::dates::{days, format_date, format_utc};
use crate::notify::{Notification, Severity};
use crate::sources::Sources;
use crate::tables::keys::decode_key;
use crate::tables::ops::query_all;
use crate::tables::{Entity, Filter, Stored, TableStore, get_str};

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
    let (start, dim, value, vm) = (
        parts.next().unwrap_or(""),
        parts.next().unwrap_or(""),
        parts.next().unwrap_or(""),
        parts.next().unwrap_or(""),
    );
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
        let store = std::sync::Arc::new(crate::storage::memory::InMemoryBlobStore::new("a"));
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
