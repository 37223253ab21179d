//! The actors of a burst's folded alerts ([`super::burst`]): each folded alert keeps its actor
//! lookup (taken oldest first with a fair share per recording, like any other); when the lookup
//! ends, the actor is recorded on the recording's row as for any alert and, instead of a follow-up
//! of its own, on the alert's row in `alertbursts` (`Actor`). The burst alert names the actors
//! found by the time it goes out; once every folded alert has its actor, one `recording.actor`
//! follow-up of the burst (its id: the burst alert's id + `.actor`, sent on two passes: delivery
//! drops the repeat) names them all, so no alert is sent again and none alone. A lookup ends
//! `CUSTODY_ACTOR_WAIT_MINUTES` after its change at the latest (the actor unknown, with the
//! reason); one that has not ended [`LATE`] after that (its lookup lost, or every query throttled)
//! does not hold the follow-up back: it goes out then, counting such alerts in `actorsPending`.

use std::collections::BTreeMap;

use super::burst::{HEAD, TABLE, WINDOW};
use crate::azure::AzureError;
use crate::catalogue::writer::Actor;
use crate::dates::{format_utc, timestamp};
use crate::spine::kinds::RECORDING_ACTOR_BURST;
use crate::spine::{Finding, Severity};
use crate::tables::filter::Op;
use crate::tables::keys::{MAX_KEY_BYTES, Spelling, key};
use crate::tables::ops::{get, query_all};
use crate::tables::{Entity, Filter, TableStore, get_i64, get_str, int64};
use serde_json::{Value, json};

/// Distinct actors a burst alert lists (the rest are counted).
const LISTED: usize = 20;
/// How long after its lookups' wait a burst's follow-up waits for folded alerts without an actor.
pub const LATE: time::Duration = time::Duration::HOUR;

/// The part of an actor a burst lists: who and from where, as logged.
fn summary(a: &Actor) -> Value {
    json!({
        "actorStatus": a.status, "authenticationType": a.authentication,
        "requesterUpn": a.upn, "requesterObjectId": a.object_id, "requesterAppId": a.app_id,
        "callerIpAddress": a.caller_ip,
    })
}

/// Records `actor` on folded alert `alert_id`'s row of burst `burst` (`If-Match`; a row gone or
/// changed meanwhile is left: the next pass records it again).
///
/// # Errors
/// Table errors.
pub async fn note(
    tables: &dyn TableStore,
    burst: &str,
    alert_id: &str,
    actor: &Actor,
) -> Result<(), AzureError> {
    let rk = key(alert_id, Spelling::Verbatim, MAX_KEY_BYTES);
    let Some(member) = get(tables, TABLE, burst, &rk).await? else {
        return Ok(());
    };
    let text = summary(actor).to_string();
    if get_str(&member.entity, "Actor") == Some(text.as_str()) {
        return Ok(());
    }
    let mut e = member.entity.clone();
    e.insert("Actor".into(), Value::String(text));
    crate::tables::ops::write_unless_changed(tables, TABLE, &e, member.etag).await
}

/// The actors of `folded` alert rows: the distinct ones with how many alerts each (most first, at
/// most `LISTED`, 20), and how many alerts have none yet.
pub fn actors(folded: &[Entity]) -> (Vec<Value>, usize) {
    let mut counts: BTreeMap<String, usize> = BTreeMap::new();
    let mut unknown = 0;
    for m in folded {
        match get_str(m, "Actor") {
            Some(a) => *counts.entry(a.to_owned()).or_default() += 1,
            None => unknown += 1,
        }
    }
    let mut list: Vec<(String, usize)> = counts.into_iter().collect();
    list.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    let listed = list
        .into_iter()
        .take(LISTED)
        .filter_map(|(text, n)| {
            let mut v: Value = serde_json::from_str(&text).ok()?;
            v["alerts"] = json!(n);
            Some(v)
        })
        .collect();
    (listed, unknown)
}

/// The follow-ups of bursts sent whose folded alerts all have their actor, or whose window ended
/// `wait` (the lookups' wait) plus [`LATE`] before `now` (each on two passes), their heads marked
/// (`ActorsSent`).
///
/// # Errors
/// Table errors.
pub async fn follow_ups(
    tables: &dyn TableStore,
    now: time::OffsetDateTime,
    wait: time::Duration,
) -> Result<Vec<Finding>, AzureError> {
    let due = Filter::And(vec![
        Filter::str("RowKey", Op::Eq, HEAD),
        Filter::int("Sent", Op::Ge, 1),
        Filter::int("ActorsSent", Op::Lt, 2),
    ]);
    let heads = query_all(tables, TABLE, &due, 1000).await?;
    let mut out = Vec::new();
    for h in heads {
        let folded = super::burst::folded(tables, &h.entity).await?;
        let (listed, unknown) = actors(&folded);
        let window = get_str(&h.entity, "Window").and_then(timestamp);
        let late = window.is_none_or(|w| now >= w + WINDOW + super::burst::GRACE + wait + LATE);
        if unknown > 0 && !late {
            continue;
        }
        if !folded.is_empty() {
            out.push(follow_up(&h.entity, folded.len(), listed, unknown));
        }
        let mut marked = h.entity.clone();
        let sent = get_i64(&h.entity, "ActorsSent").unwrap_or(0) + 1;
        let sent = if folded.is_empty() { 2 } else { sent };
        int64(&mut marked, "ActorsSent", sent);
        crate::tables::ops::write_unless_changed(tables, TABLE, &marked, h.etag).await?;
    }
    Ok(out)
}

/// `recording.actor` of a burst: the actors of its folded alerts, under the burst alert's id +
/// `.actor`.
fn follow_up(head: &Entity, folded: usize, listed: Vec<Value>, unknown: usize) -> Finding {
    let g = |k: &str| get_str(head, k).unwrap_or_default().to_owned();
    let burst = super::burst::burst_id(&g("Kind"), &g("PartitionKey"));
    let window = get_str(head, "Window").and_then(timestamp);
    let data = json!({
        "account": g("Account"), "container": g("Container"), "alertId": burst,
        "windowStart": window.map(format_utc), "windowEnd": window.map(|w| format_utc(w + WINDOW)),
        "foldedAlerts": folded, "actors": listed, "folded": true, "actorsPending": unknown,
    });
    let at = window.map(|w| format_utc(w + WINDOW)).unwrap_or_default();
    let f = Finding::new(&RECORDING_ACTOR_BURST, burst, at, Severity::Critical, data);
    f.word("count", folded.to_string())
}

#[cfg(test)]
mod tests {
    use time::macros::datetime;

    use super::super::burst::{Fold, GRACE, admit, burst_id, burst_of, close};
    use super::*;
    use crate::testkit::tables::memory::InMemoryTables;

    const WAIT: time::Duration = time::Duration::minutes(20);

    fn alert(i: usize) -> Finding {
        Finding::new(
            &crate::spine::kinds::RECORDING_REPLACED,
            format!("r{i}"),
            "2025-03-14T09:41:00Z",
            crate::spine::Severity::Critical,
            json!({"account": "a", "container": "c", "recordingId": format!("r{i}")}),
        )
    }

    fn who(upn: &str) -> Actor {
        Actor {
            status: "found".into(),
            authentication: "OAuth".into(),
            upn: upn.into(),
            caller_ip: "203.0.113.7:50112".into(),
            ..Actor::default()
        }
    }

    #[tokio::test]
    async fn the_burst_names_the_actors_of_its_folded_alerts_and_follows_up_once_all_are_known() {
        let t = InMemoryTables::new();
        let at = datetime!(2025-03-14 09:41 UTC);
        let alerts: Vec<Finding> = (0..8).map(alert).collect();
        for n in &alerts {
            admit(&t, n, at).await.expect("admit");
        }
        assert_eq!(admit(&t, &alerts[7], at).await.ok(), Some(Fold::Folded));
        let pk = burst_of(&alerts[5], at);
        note(&t, &pk, &alerts[5].id(), &who("m@x"))
            .await
            .expect("note");
        note(&t, &pk, &alerts[6].id(), &who("m@x"))
            .await
            .expect("note");
        // Noted twice: one row, one count.
        note(&t, &pk, &alerts[6].id(), &who("m@x"))
            .await
            .expect("note");
        assert!(
            follow_ups(&t, at, WAIT).await.expect("none yet").is_empty(),
            "not sent yet"
        );
        let burst = close(&t, at + WINDOW + GRACE, true).await.expect("closed");
        assert_eq!(burst.len(), 1);
        let d = &burst[0].evidence;
        assert_eq!(d["actorsPending"], 1, "{d}");
        assert_eq!(d["actors"][0]["requesterUpn"], "m@x");
        assert_eq!(d["actors"][0]["alerts"], 2);
        assert_eq!(burst[0].id(), burst_id("recording.replaced", &pk));
        assert!(
            follow_ups(&t, at, WAIT).await.expect("unknown").is_empty(),
            "one still looked for"
        );
        note(&t, &pk, &alerts[7].id(), &who("e@y"))
            .await
            .expect("note");
        let first = follow_ups(&t, at, WAIT).await.expect("due");
        assert_eq!(first.len(), 1, "{first:?}");
        let f = &first[0];
        assert_eq!(f.kind.name, "recording.actor");
        assert_eq!(f.id(), format!("{}.actor", burst[0].id()));
        assert_eq!(f.evidence["actors"].as_array().map(Vec::len), Some(2));
        assert_eq!(f.evidence["foldedAlerts"], 3);
        let again = follow_ups(&t, at, WAIT).await.expect("second pass");
        assert_eq!(again.len(), 1, "sent on two passes");
        assert_eq!(again[0].id(), f.id(), "under one id");
        assert!(follow_ups(&t, at, WAIT).await.expect("done").is_empty());
    }

    #[tokio::test]
    async fn a_burst_whose_lookups_never_end_follows_up_late_counting_them() {
        let t = InMemoryTables::new();
        let at = datetime!(2025-03-14 09:41 UTC);
        let alerts: Vec<Finding> = (0..7).map(alert).collect();
        for n in &alerts {
            admit(&t, n, at).await.expect("admit");
        }
        let pk = burst_of(&alerts[5], at);
        note(&t, &pk, &alerts[5].id(), &who("m@x"))
            .await
            .expect("note");
        assert_eq!(
            close(&t, at + WINDOW + GRACE, true)
                .await
                .expect("closed")
                .len(),
            1
        );
        let end = datetime!(2025-03-14 09:50 UTC) + GRACE + WAIT + LATE;
        let early = end - time::Duration::SECOND;
        assert!(follow_ups(&t, early, WAIT).await.expect("waits").is_empty());
        let late = follow_ups(&t, end, WAIT).await.expect("late");
        assert_eq!(late.len(), 1, "{late:?}");
        assert_eq!(late[0].evidence["actorsPending"], 1);
        assert_eq!(late[0].evidence["actors"][0]["requesterUpn"], "m@x");
    }
}
