//! The `login.failed.burst` finding of one partition (per user or per client IP, on any VMs), from
//! its key and the attempts stored in it, and the sessions a burst concerns ([`concerns`]).

use std::collections::BTreeSet;

use serde_json::{Value, json};
use time::{Duration, OffsetDateTime};

use super::failed::{CLIENT_IP, HOST, USER, VM, fit, user_of};
use crate::dates::format_utc;
use crate::sources::Sources;
use crate::spine::kinds::LOGIN_FAILED_BURST;
use crate::spine::{Finding, Severity};
use crate::tables::keys::decode_key;
use crate::tables::{Entity, get_str};

/// Most tunnel ids, users or addresses listed in one digest.
const MAX_LISTED: usize = 50;

/// The digest of partition `pk` over its `attempts` (rows keyed by tunnel id).
pub fn digest(pk: &str, attempts: &[&Entity], window: Duration) -> Finding {
    let fact = decode_key(pk).unwrap_or_default();
    let mut parts = fact.splitn(4, '|');
    let mut part = || parts.next().unwrap_or("");
    // A key of before the bursts spanned VMs names its one VM.
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
    let vm = if vm.is_empty() {
        seen(VM).join(", ")
    } else {
        vm.to_owned()
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
    Finding::new(&LOGIN_FAILED_BURST, &fact, start, Severity::Warning, data)
        .word("count", attempts.len().to_string())
        .word("who", who)
        .word("vm", vm)
        .word("minutes", window.whole_minutes().to_string())
}

/// Whether burst `f` concerns a session (its user name and e-mail, client IP and start): it has
/// the burst's user (or client IP) and starts within the burst's window or the next one (part
/// of it, or right after it). The review queue ranks a session by this, never by its own count.
pub fn concerns(f: &Finding, user: (&str, &str), ip: &str, at: OffsetDateTime) -> bool {
    let e = &f.evidence;
    let who = match e["dimension"].as_str() {
        Some("clientIp") => ip.to_owned(),
        _ => user_of(user.0, user.1),
    };
    let time = |k: &str| e[k].as_str().and_then(crate::dates::timestamp);
    let (Some(start), Some(end)) = (time("windowStart"), time("windowEnd")) else {
        return false;
    };
    !who.is_empty() && e["value"] == *fit(&who) && start <= at && at < end + (end - start)
}

/// `f` with its host's resource id (the portal link) when the burst is on one known host.
pub fn with_portal(f: Finding, sources: &Sources) -> Finding {
    let id = f.evidence["bastionHost"]
        .as_str()
        .filter(|h| !h.contains(','))
        .and_then(|h| sources.bastion_id(h));
    f.portal(id)
}

#[cfg(test)]
mod tests {
    use super::*;
    fn alert(f: crate::spine::Finding) -> crate::spine::Notification {
        f.told()
    }
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
        let (user_found, ip_found) = (
            of("user", "alice", &[&rows[0], &rows[1]]),
            of("ip", "203.0.113.7", &[&rows[0], &rows[2]]),
        );
        let (user, ip) = (alert(user_found.clone()), alert(ip_found.clone()));
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
            std::sync::Arc::new(crate::testkit::storage::memory::InMemoryBlobStore::new("a"));
        let sources = Sources::single(
            crate::sources::Source {
                bastion: Some("bas-weu".into()),
                bastion_id: Some(id.into()),
                ..crate::sources::Source::new(store.clone(), "rec")
            },
            crate::sources::Source::new(store, "logs"),
        );
        assert_eq!(
            with_portal(user_found, &sources).evidence["bastionResourceId"],
            id
        );
        let mut two = ip_found;
        two.evidence["bastionHost"] = json!("bas-weu, bas-neu");
        assert!(
            with_portal(two, &sources)
                .evidence
                .get("bastionResourceId")
                .is_none()
        );
        // Attempts stored before these properties existed still count.
        let bare = Entity::from_iter([("RowKey".to_owned(), json!("t9"))]);
        let old = alert(of("user", "carol", &[&bare]));
        assert_eq!(
            (old.data["count"].clone(), old.data.get("bastionHost")),
            (json!(1), None)
        );
    }
}
