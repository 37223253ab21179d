//! Pure decisions of the actor lookup: the logged request with the event's request id (`found`),
//! else the nearest successful one within [`NEAR`] (`probable`, with the reason: a guess by time,
//! not the event's own request); the row's [`Actor`] and the follow-up.

use serde_json::json;
use time::Duration;

use super::awaited::{Change, Lookup};
use super::changes::{OVERWRITES, REMOVES};
use super::query::{Access, Found};
use crate::catalogue::recording::Recording;
use crate::catalogue::writer::{ACTOR_FOUND, ACTOR_PROBABLE, ACTOR_UNKNOWN, Actor};
use crate::dates::{format_utc, timestamp};
use crate::spine::kinds::RECORDING_ACTOR;
use crate::spine::{Finding, Severity};

/// How far from the event a request without the event's request id may lie and still be taken.
pub const NEAR: Duration = Duration::minutes(5);
/// How far around the event the query looks (`timespan`).
pub const SPAN: Duration = Duration::minutes(30);

/// The operations that can have made `change`: a removal of the name, or a write that commits a
/// whole content (a staged block commits nothing, so it is never the replacement's actor).
pub fn operations(change: Change) -> &'static [&'static str] {
    match change {
        Change::Deleted => REMOVES,
        Change::Replaced => OVERWRITES,
    }
}

/// How a log row was tied to the event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tie {
    /// [`ACTOR_FOUND`] (the event's request id) or [`ACTOR_PROBABLE`] (nearest in time).
    pub status: &'static str,
    /// How, in words (the row's `ActorReason`).
    pub how: String,
}

/// The request that made the change, and how it was matched.
pub fn pick<'a>(found: &'a Found, lookup: &Lookup) -> Option<(&'a Access, Tie)> {
    let ops = operations(lookup.change);
    let of_change = |a: &&Access| ops.contains(&a.operation.as_str());
    if !lookup.request_id.is_empty()
        && let Some(a) = found
            .rows
            .iter()
            .filter(of_change)
            .find(|a| a.correlation_id.eq_ignore_ascii_case(&lookup.request_id))
    {
        let how = "the log row of the event's storage request id".to_owned();
        let status = ACTOR_FOUND;
        return Some((a, Tie { status, how }));
    }
    let missing = if lookup.request_id.is_empty() {
        "the event carries no storage request id".to_owned()
    } else {
        format!(
            "no log row carries the event's storage request id {}",
            lookup.request_id
        )
    };
    let distance = |a: &Access| timestamp(&a.at).map(|t| (t - lookup.at).abs());
    found
        .rows
        .iter()
        .filter(of_change)
        .filter(|a| a.succeeded())
        .filter_map(|a| Some((a, distance(a)?)))
        .filter(|(_, d)| *d <= NEAR)
        .min_by_key(|(_, d)| *d)
        .map(|(a, _)| {
            let how = format!(
                "probable, not proven: {missing}; taken is the successful {} request on the blob \
                 nearest to the event (within {} minutes), which another request could have been",
                a.operation,
                NEAR.whole_minutes()
            );
            let status = ACTOR_PROBABLE;
            (a, Tie { status, how })
        })
}

/// The actor of a matched request (`tie`: found or probable, and how).
pub fn found(access: &Access, tie: &Tie, alert_id: &str) -> Actor {
    Actor {
        status: tie.status.to_owned(),
        operation: access.operation.clone(),
        authentication: access.authentication.clone(),
        upn: access.upn.clone(),
        object_id: access.object_id.clone(),
        app_id: access.app_id.clone(),
        caller_ip: access.caller_ip.clone(),
        user_agent: access.user_agent.clone(),
        at: access.at.clone(),
        reason: tie.how.clone(),
        alert_id: alert_id.to_owned(),
    }
}

/// The actor recorded when the lookup gives up.
pub fn unknown(reason: String, alert_id: &str) -> Actor {
    Actor {
        status: ACTOR_UNKNOWN.to_owned(),
        reason,
        alert_id: alert_id.to_owned(),
        ..Actor::default()
    }
}

/// Why nothing was found after the last query (its rows, `partial` error, the wait).
pub fn why_unknown(lookup: &Lookup, found: Option<&Found>, wait: Duration) -> String {
    let ops = operations(lookup.change).join(", ");
    let minutes = wait.whole_minutes();
    match found {
        None if lookup.last_error.is_empty() => {
            format!("no query of the workspace succeeded within {minutes} minutes")
        }
        None => format!(
            "the workspace could not be queried within {minutes} minutes: {}",
            lookup.last_error
        ),
        Some(f) => {
            let partial = f
                .partial
                .as_ref()
                .map(|p| format!(" (the last answer was partial: {p})"))
                .unwrap_or_default();
            format!(
                "no StorageBlobLogs row of a {ops} request on the blob within {} minutes of the event arrived within {minutes} minutes{partial}: the account may not send these logs to the workspace",
                NEAR.whole_minutes()
            )
        }
    }
}

/// When the row says the change happened (the deletion's or the replacement's time).
fn change_time(row: &Recording, change: Change) -> String {
    let at = match change {
        Change::Deleted => row.deletion.as_ref().map(|d| d.at.clone()),
        Change::Replaced => row.replaced.as_ref().map(|r| r.at.clone()),
    };
    at.unwrap_or_else(|| format_utc(row.blob_created))
}

/// The follow-up of alert `actor.alert_id`: the same id + `.actor`, type `recording.actor`.
pub fn finding(row: &Recording, change: Change, actor: &Actor) -> Finding {
    let who = [&actor.upn, &actor.object_id, &actor.app_id]
        .into_iter()
        .find(|v| !v.is_empty());
    let auth = Some(actor.authentication.as_str()).filter(|a| !a.is_empty());
    let auth = auth.unwrap_or("logged");
    let how = match (actor.status.as_str(), who) {
        (ACTOR_FOUND, Some(_)) => ": the storage logs name the requester".to_owned(),
        (ACTOR_PROBABLE, Some(_)) => {
            ": the storage logs name a probable requester (not the event's own request)".to_owned()
        }
        (ACTOR_PROBABLE, None) => {
            format!(": probably a {auth} request (not the event's own; no identity in the logs)")
        }
        (ACTOR_FOUND, None) => format!(" by a {auth} request (no identity in the logs)"),
        _ => ": actor unknown".to_owned(),
    };
    // One field per fact, so every channel labels each (UPN and address are PII-gated in chat).
    let data = json!({
        "recordingId": row.id(), "account": row.account, "container": row.container,
        "blobName": row.blob_name, "change": change.as_str(), "alertId": actor.alert_id,
        "actorStatus": actor.status, "operation": actor.operation,
        "authenticationType": actor.authentication, "requesterUpn": actor.upn,
        "requesterObjectId": actor.object_id, "requesterAppId": actor.app_id,
        "callerIpAddress": actor.caller_ip, "userAgent": actor.user_agent,
        "requestTime": actor.at, "reason": actor.reason,
    });
    let at = if actor.at.is_empty() {
        change_time(row, change)
    } else {
        actor.at.clone()
    };
    let f = Finding::new(
        &RECORDING_ACTOR,
        &actor.alert_id,
        at,
        Severity::Critical,
        data,
    );
    f.word("change", change.as_str()).word("how", how)
}

#[cfg(test)]
mod tests {
    use time::macros::datetime;

    use super::*;

    fn row(op: &str, at: &str, status: &str, corr: &str) -> Access {
        Access {
            at: at.into(),
            operation: op.into(),
            status: status.into(),
            authentication: "OAuth".into(),
            upn: "<b>m</b>@x".into(),
            correlation_id: corr.into(),
            ..Access::default()
        }
    }

    fn lookup(request: &str) -> Lookup {
        Lookup::new(
            "11111111-2222-3333-4444-555555555555",
            "2025-03-14~x",
            Change::Deleted,
            datetime!(2025-03-14 09:00 UTC),
            request,
        )
    }

    #[test]
    fn the_event_request_id_wins_then_the_nearest_success() {
        let f = Found {
            rows: vec![
                row("GetBlob", "2025-03-14T08:59:59Z", "200", "r0"),
                row("DeleteBlob", "2025-03-14T08:58:00Z", "202", "r1"),
                row("DeleteBlob", "2025-03-14T08:59:30Z", "404", "r2"),
                row("DeleteBlob", "2025-03-14T09:03:00Z", "202", "R3"),
            ],
            ..Found::default()
        };
        assert_eq!(
            pick(&f, &lookup("r3")).map(|p| p.0.correlation_id.as_str()),
            Some("R3")
        );
        let (exact, tie) = pick(&f, &lookup("r3")).expect("exact");
        assert_eq!((exact.correlation_id.as_str(), tie.status), ("R3", "found"));
        // Not the event's own request: the nearest success is only probable, and says why.
        let (near, tie) = pick(&f, &lookup("zz")).expect("near");
        assert_eq!(
            (near.correlation_id.as_str(), tie.status),
            ("r1", "probable")
        );
        assert!(tie.how.contains("request id zz"), "{}", tie.how);
        let a = found(near, &tie, "alert-1");
        assert_eq!(a.status, "probable");
        let r = crate::testkit::audit::recording_row("x", datetime!(2025-03-14 09:00 UTC));
        let n = finding(&r, Change::Deleted, &a).told();
        assert_eq!(n.data["actorStatus"], "probable");
        assert!(n.title.contains("probable"), "{}", n.title);
        assert!(
            n.data["reason"]
                .as_str()
                .is_some_and(|r| r.contains("probable")),
            "{}",
            n.data
        );
        let (_, none) = pick(&f, &lookup("")).expect("near");
        assert!(
            none.how.contains("carries no storage request id"),
            "{}",
            none.how
        );
        let far = Found {
            rows: vec![row("DeleteBlob", "2025-03-14T09:06:00Z", "202", "r9")],
            ..Found::default()
        };
        assert_eq!(pick(&far, &lookup("")), None);
        assert_eq!(pick(&Found::default(), &lookup("r3")), None);
    }

    #[test]
    fn a_replacement_is_a_write_of_the_content_not_a_delete_or_read() {
        let mut l = lookup("");
        l.change = Change::Replaced;
        let f = Found {
            rows: vec![
                row("DeleteBlob", "2025-03-14T09:00:00Z", "202", "d"),
                row("GetBlob", "2025-03-14T09:00:00Z", "200", "g"),
                // Staged by someone nearer the event, committed by the next row: not the actor.
                row("PutBlock", "2025-03-14T09:00:01Z", "201", "b"),
                row("PutBlockList", "2025-03-14T09:00:30Z", "201", "w"),
            ],
            ..Found::default()
        };
        let (a, _) = pick(&f, &l).expect("picked");
        assert_eq!(a.operation, "PutBlockList");
        let r = crate::testkit::audit::recording_row("x", datetime!(2025-03-14 09:00 UTC));
        let tie = Tie {
            status: ACTOR_FOUND,
            how: "how".into(),
        };
        let n = finding(&r, Change::Replaced, &found(a, &tie, "alert-r")).told();
        assert_eq!(n.notification_id, "alert-r.actor");
        assert_eq!(n.data["change"], "replaced");
        // Through the Data Lake endpoint: the event (`FlushWithClose`) carries the request id of
        // the logged `FlushFile`, which committed the content.
        let mut l = lookup("f");
        l.change = Change::Replaced;
        let dfs = Found {
            rows: vec![
                row("CreatePathFile", "2025-03-14T09:00:00Z", "201", "c"),
                row("AppendFile", "2025-03-14T09:00:01Z", "202", "a"),
                row("FlushFile", "2025-03-14T09:00:02Z", "200", "f"),
            ],
            ..Found::default()
        };
        let (a, tie) = pick(&dfs, &l).expect("the flush");
        assert_eq!(
            (a.operation.as_str(), tie.status),
            ("FlushFile", ACTOR_FOUND)
        );
    }

    #[test]
    fn the_follow_up_has_the_alerts_id_and_keeps_values_as_data() {
        let mut r =
            crate::testkit::audit::recording_row("<img src=x>", datetime!(2025-03-14 09:00 UTC));
        r.account = "a".into();
        let tie = Tie {
            status: ACTOR_FOUND,
            how: "how".into(),
        };
        let a = found(
            &row("DeleteBlob", "2025-03-14T09:00:01Z", "202", "r"),
            &tie,
            "id-1",
        );
        let n = finding(&r, Change::Deleted, &a).told();
        assert_eq!(n.notification_id, "id-1.actor");
        assert_eq!(n.kind, "recording.actor");
        assert_eq!(n.data["requesterUpn"], "<b>m</b>@x");
        assert!(!n.title.contains("<b>"), "{}", n.title);
        let u = unknown("why".into(), "id-1");
        assert!(
            finding(&r, Change::Deleted, &u)
                .told()
                .title
                .ends_with("actor unknown")
        );
    }
}
