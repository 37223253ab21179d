//! Closing a burst ([`super::burst`]): once its window and [`GRACE`] have passed, the folded
//! alerts of the window are counted into one burst alert of the same type (its id:
//! [`super::burst::burst_id`]), sent on two passes (delivery drops the repeat), naming the actors found so far
//! ([`super::burst_actors`]); the head row is marked sent.

use serde_json::{Value, json};
use time::OffsetDateTime;

use super::burst::{GRACE, HEAD, TABLE, WINDOW, alone_ids};
use crate::azure::AzureError;
use crate::dates::{format_utc, timestamp};
use crate::notify::{Notification, Severity};
use crate::tables::ops::query_all;
use crate::tables::{Entity, Filter, TableStore, WriteMode, get_i64, get_str, int64};

/// Folded alert ids listed in the burst alert (all are in the table).
const LISTED: usize = 100;

/// The burst alerts of windows closed by `now` (each sent on two passes, the same id: delivery
/// drops the repeat), their heads marked.
///
/// # Errors
/// Table errors.
pub async fn close(
    tables: &dyn TableStore,
    now: OffsetDateTime,
) -> Result<Vec<Notification>, AzureError> {
    let open = Filter::And(vec![
        Filter::str("RowKey", crate::tables::filter::Op::Eq, HEAD),
        Filter::int("Sent", crate::tables::filter::Op::Lt, 2),
    ]);
    let heads = match query_all(tables, TABLE, &open, 1000).await {
        Err(AzureError::NotFound) => return Ok(Vec::new()),
        other => other?,
    };
    let mut out = Vec::new();
    for h in heads {
        let e = &h.entity;
        let Some(window) = get_str(e, "Window").and_then(timestamp) else {
            continue;
        };
        if now < window + WINDOW + GRACE {
            continue;
        }
        let pk = get_str(e, "PartitionKey").unwrap_or_default().to_owned();
        let members = query_all(tables, TABLE, &Filter::partition(&pk), usize::MAX).await?;
        let folded: Vec<&Entity> = members
            .iter()
            .map(|s| &s.entity)
            .filter(|m| get_str(m, "RowKey") != Some(HEAD))
            .collect();
        if !folded.is_empty() {
            out.push(burst(e, &folded, window));
        }
        let keep = |k: &str| Value::String(get_str(e, k).unwrap_or_default().to_owned());
        let mut marked: Entity = [
            "PartitionKey",
            "RowKey",
            "AlertId",
            "Kind",
            "Account",
            "Container",
            "Window",
            "AloneIds",
        ]
        .into_iter()
        .map(|k| (k.to_owned(), keep(k)))
        .collect();
        let sent = get_i64(e, "Sent").unwrap_or(0) + 1;
        int64(
            &mut marked,
            "Sent",
            if folded.is_empty() { 2 } else { sent },
        );
        // The actors' follow-up ([`super::burst_actors`]) is still to come for folded alerts.
        let actors_sent = get_i64(e, "ActorsSent").unwrap_or(0);
        int64(
            &mut marked,
            "ActorsSent",
            if folded.is_empty() { 2 } else { actors_sent },
        );
        match tables
            .write(TABLE, &marked, WriteMode::IfMatch(h.etag.clone()))
            .await
        {
            Ok(_) | Err(AzureError::PreconditionFailed | AzureError::NotFound) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(out)
}

/// The burst alert of a window: its head and folded alerts, counted.
fn burst(head: &Entity, folded: &[&Entity], window: OffsetDateTime) -> Notification {
    let g = |k: &str| get_str(head, k).unwrap_or_default().to_owned();
    let (kind, container) = (g("Kind"), g("Container"));
    let count = folded.len() + alone_ids(head).len();
    let ids: Vec<&str> = folded
        .iter()
        .filter_map(|m| get_str(m, "AlertId"))
        .take(LISTED)
        .collect();
    let recordings: std::collections::BTreeSet<String> = folded
        .iter()
        .filter_map(|m| serde_json::from_str::<Value>(get_str(m, "Data")?).ok())
        .filter_map(|d| d["recordingId"].as_str().map(str::to_owned))
        .collect();
    let verb = if kind == "recording.deleted" {
        "deleted"
    } else {
        "replaced"
    };
    let (actors, pending) = super::burst_actors::actors(folded);
    let data = json!({
        "account": g("Account"), "container": container, "count": count,
        "windowStart": format_utc(window), "windowEnd": format_utc(window + WINDOW),
        "firstAlertId": g("AlertId"), "aloneAlertIds": alone_ids(head), "foldedAlertIds": ids,
        "foldedRecordings": recordings.len(), "folded": true,
        "actors": actors, "actorsPending": pending,
    });
    Notification::new(
        &kind,
        &["burst\n", &g("PartitionKey")].concat(),
        format_utc(window + WINDOW),
        Severity::Critical,
        format!(
            "{count} recording changes ({verb} outside retention) in one container within {} minutes",
            WINDOW.whole_minutes()
        ),
        data,
    )
}
