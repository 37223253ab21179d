//! The doors' episodes as table `estate` holds them (one row per VM and door, `door:*` above
//! `info`: its latest episode and the earlier ones it keeps), for whoever asks whether a VM had another way in open over a span: the review
//! queue and the evidence pack.

use std::collections::BTreeMap;

use time::OffsetDateTime;

use crate::azure::AzureError;
use crate::dates::timestamp;
use crate::estate::findings::Level;
use crate::estate::store;
use crate::spine::kinds;
use crate::tables::TableStore;

/// One door's episode on one VM.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Episode {
    /// The finding code (`door:<name>`).
    pub door: String,
    /// `high` or `medium`.
    pub severity: String,
    /// When it opened.
    pub opened: OffsetDateTime,
    /// When it cleared (`None`: open).
    pub closed: Option<OffsetDateTime>,
    /// What was seen (the actor where a log names one).
    pub evidence: String,
}

impl Episode {
    /// True when it was open at some instant of `[from, until]`.
    pub fn overlaps(&self, from: OffsetDateTime, until: OffsetDateTime) -> bool {
        self.opened <= until && self.closed.is_none_or(|c| c >= from)
    }
}

/// The door episodes of each VM (lower-case resource id).
///
/// # Errors
/// Table errors.
pub async fn episodes(
    tables: &dyn TableStore,
) -> Result<BTreeMap<String, Vec<Episode>>, AzureError> {
    Ok(of_rows(store::list(tables).await?.rows))
}

/// The door episodes among the estate's `rows`, per VM (lower-case resource id): each row's
/// earlier episodes (oldest first) and its latest.
pub fn of_rows(rows: impl IntoIterator<Item = store::Row>) -> BTreeMap<String, Vec<Episode>> {
    let info = Level::Info.as_str();
    let mut out: BTreeMap<String, Vec<Episode>> = BTreeMap::new();
    for r in rows {
        if kinds::estate_code(&r.finding).pack != Some(kinds::OTHER_DOORS) {
            continue;
        }
        let list = out.entry(r.host.to_ascii_lowercase()).or_default();
        for e in r.earlier.iter().filter(|e| e.severity != info) {
            let (Some(opened), Some(closed)) = (timestamp(&e.opened_at), timestamp(&e.resolved_at))
            else {
                continue;
            };
            list.push(Episode {
                door: r.finding.clone(),
                severity: e.severity.clone(),
                opened,
                closed: Some(closed),
                evidence: e.evidence.clone(),
            });
        }
        if r.severity == info {
            continue;
        }
        let Some(opened) = timestamp(&r.first_seen) else {
            continue;
        };
        let closed = match (r.status.as_str(), r.resolved_at.as_deref()) {
            ("open", _) => None,
            (_, Some(at)) => timestamp(at),
            _ => continue,
        };
        list.push(Episode {
            door: r.finding,
            severity: r.severity,
            opened,
            closed,
            evidence: r.evidence,
        });
    }
    out.retain(|_, l| !l.is_empty());
    out
}

/// The actor a door's evidence names, as `(caller, caller IP)` (either empty when the log named
/// none): the text after " by " that [`super::doors::actor`] wrote, read by the same rule as the
/// Sentinel rule `other-door` (a caller is a UPN, with `@`, or an object id; the address follows
/// " from ").
pub fn actor_of(evidence: &str) -> (String, String) {
    let stop = |c: char| c == ' ' || c == ';' || c == ',' || c == '(' || c == ')';
    for (at, _) in evidence.match_indices(" by ") {
        let rest = &evidence[at + 4..];
        let caller = rest.split(stop).next().unwrap_or_default();
        if !(caller.contains('@') || is_object_id(caller)) {
            continue;
        }
        let ip = rest[caller.len()..]
            .strip_prefix(" from ")
            .map(|r| {
                r.split(|c: char| !(c.is_ascii_hexdigit() || c == ':' || c == '.'))
                    .next()
                    .unwrap_or_default()
            })
            .unwrap_or_default();
        return (caller.to_owned(), ip.to_owned());
    }
    (String::new(), String::new())
}

/// True for the 8-4-4-4-12 hex form of an Entra object id.
fn is_object_id(s: &str) -> bool {
    let groups: Vec<&str> = s.split('-').collect();
    groups.iter().map(|g| g.len()).eq([8, 4, 4, 4, 12])
        && groups
            .iter()
            .all(|g| g.chars().all(|c| c.is_ascii_hexdigit()))
}

#[cfg(test)]
mod tests {
    use time::macros::datetime;

    use super::*;

    #[test]
    fn an_episode_overlaps_a_span_it_was_open_in() {
        let e = Episode {
            door: "door:public-ip".into(),
            severity: "medium".into(),
            opened: datetime!(2026-11-25 10:00 UTC),
            closed: Some(datetime!(2026-11-25 12:00 UTC)),
            evidence: String::new(),
        };
        let at = |h: u8| datetime!(2026-11-25 00:00 UTC) + time::Duration::hours(h.into());
        assert!(e.overlaps(at(9), at(10)));
        assert!(e.overlaps(at(11), at(11)));
        assert!(e.overlaps(at(12), at(13)));
        assert!(!e.overlaps(at(8), at(9)));
        assert!(!e.overlaps(at(13), at(14)));
        let open = Episode { closed: None, ..e };
        assert!(open.overlaps(at(20), at(21)));
    }

    #[test]
    fn the_actor_is_read_back_from_the_evidence_the_doors_write() {
        use crate::activity::events::{Event, Outcome};
        let event = |caller: &str, ip: &str| Event {
            operation: "microsoft.compute/virtualmachines/runcommand/action".into(),
            resource:
                "/subscriptions/s/resourcegroups/g/providers/microsoft.compute/virtualmachines/vm1"
                    .into(),
            correlation: "c".into(),
            outcome: Outcome::Succeeded,
            at: datetime!(2026-11-25 10:00 UTC),
            caller: caller.into(),
            caller_ip: ip.into(),
            properties: serde_json::Value::Null,
            jit: None,
        };
        let said = |e| {
            format!(
                "Run Command: 1 use(s) in the Activity log read; latest succeeded at 2026-11-25T10:00:00Z by {} (op, correlation c)",
                crate::estate::bypass::doors::actor(&e)
            )
        };
        assert_eq!(
            actor_of(&said(event("alice@contoso.com", "203.0.113.7"))),
            ("alice@contoso.com".into(), "203.0.113.7".into())
        );
        let app = "0f8fad5b-d9cb-469f-a165-70867728950e";
        assert_eq!(
            actor_of(&said(event(app, "2001:db8::1"))),
            (app.into(), "2001:db8::1".into())
        );
        assert_eq!(
            actor_of(&said(event("bob@contoso.com", ""))),
            ("bob@contoso.com".into(), String::new())
        );
        // No caller named, or a word that is neither a UPN nor an object id: no actor.
        assert_eq!(
            actor_of(&said(event("", "198.51.100.1"))),
            (String::new(), String::new())
        );
        assert_eq!(
            actor_of(
                "a public IP address on the VM's network interface, a way in beside Bastion: pip on NIC nic (ipconfig1)"
            ),
            (String::new(), String::new())
        );
        // The network path's writer comes after the rules.
        assert_eq!(
            actor_of("a network path to SSH/RDP from outside the Bastion subnet: 22 from * by rule r; latest rule write r at t by carol@contoso.com from 198.51.100.9").0,
            "carol@contoso.com"
        );
    }
}
