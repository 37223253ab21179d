//! Closing a burst ([`super::burst`]): once its window and [`GRACE`] have passed, the folded
//! alerts of the window are counted into one burst alert of the same type (its id:
//! [`super::burst::burst_id`]), sent on two passes (delivery drops the repeat), naming the actors found so far
//! ([`super::burst_actors`]); the head row is marked sent. Without a custody workspace no actor
//! is looked up (no lookup is left for any alert): the burst alert says so (`actorLookups`
//! false, no actor unknown) and its head is marked as if its actors' follow-up had gone out, so
//! none ever does.

use serde_json::{Value, json};
use time::OffsetDateTime;

use super::burst::{GRACE, HEAD, TABLE, WINDOW, alone_ids, folded};
use crate::azure::AzureError;
use crate::dates::{format_utc, timestamp};
use crate::spine::kinds::{RECORDING_REPLACED_BURST, named};
use crate::spine::{Finding, Severity};
use crate::tables::ops::query_all;
use crate::tables::{Entity, Filter, TableStore, get_i64, get_str, int64};

/// Folded alert ids listed in the burst alert (all are in the table).
const LISTED: usize = 100;
/// Folded recordings the burst alert names (blob and session); the rest are counted
/// (`moreItems`) and listed by the catalogue API its link opens.
pub const NAMED: usize = 20;

/// The burst alerts of windows closed by `now` (each sent on two passes, the same id: delivery
/// drops the repeat), their heads marked; `lookups`: a custody workspace is configured, so each
/// folded alert left an actor lookup and the burst's actors' follow-up is still to come.
///
/// # Errors
/// Table errors.
pub async fn close(
    tables: &dyn TableStore,
    now: OffsetDateTime,
    lookups: bool,
) -> Result<Vec<Finding>, AzureError> {
    let open = Filter::And(vec![
        Filter::str("RowKey", crate::tables::filter::Op::Eq, HEAD),
        Filter::int("Sent", crate::tables::filter::Op::Lt, 2),
    ]);
    let heads = query_all(tables, TABLE, &open, 1000).await?;
    let mut out = Vec::new();
    for h in heads {
        let e = &h.entity;
        let Some(window) = get_str(e, "Window").and_then(timestamp) else {
            continue;
        };
        if now < window + WINDOW + GRACE {
            continue;
        }
        let folded = folded(tables, e).await?;
        if !folded.is_empty() {
            out.push(burst(e, &folded, window, lookups));
        }
        let mut marked = e.clone();
        let n = |k: &str| get_i64(e, k).unwrap_or(0);
        let sent = if folded.is_empty() { 2 } else { n("Sent") + 1 };
        int64(&mut marked, "Sent", sent);
        // The actors' follow-up ([`super::burst_actors`]) is still to come for folded alerts
        // whose lookups were left; without lookups none comes.
        let done = folded.is_empty() || !lookups;
        let actors_sent = if done { 2 } else { n("ActorsSent") };
        int64(&mut marked, "ActorsSent", actors_sent);
        crate::tables::ops::write_unless_changed(tables, TABLE, &marked, h.etag.clone()).await?;
    }
    Ok(out)
}

/// The burst alert of a window: its head and folded alerts, counted; the actors found so far
/// when `lookups` were left (else none is looked up, and none is unknown).
fn burst(head: &Entity, folded: &[Entity], window: OffsetDateTime, lookups: bool) -> Finding {
    let g = |k: &str| get_str(head, k).unwrap_or_default().to_owned();
    let (kind, container) = (g("Kind"), g("Container"));
    let count = folded.len() + alone_ids(head).len();
    let ids: Vec<&str> = folded
        .iter()
        .filter_map(|m| get_str(m, "AlertId"))
        .take(LISTED)
        .collect();
    let data: Vec<Value> = (folded.iter())
        .filter_map(|m| serde_json::from_str::<Value>(get_str(m, "Data")?).ok())
        .collect();
    let recordings: std::collections::BTreeMap<&str, &Value> = (data.iter())
        .filter_map(|d| Some((d["recordingId"].as_str()?, d)))
        .collect();
    // Each folded recording by name and session (the first [`NAMED`]), so that no decoy hides
    // which recordings went: the rest are counted.
    let items: Vec<Value> = (recordings.values())
        .take(NAMED)
        .map(|d| json!({"blob": d["blobName"], "session": d["sessionId"]}))
        .collect();
    let (actors, unknown) = if lookups {
        super::burst_actors::actors(folded)
    } else {
        (Vec::new(), 0)
    };
    let data = json!({
        "account": g("Account"), "container": container, "count": count,
        "windowStart": format_utc(window), "windowEnd": format_utc(window + WINDOW),
        "firstAlertId": g("AlertId"), "aloneAlertIds": alone_ids(head), "foldedAlertIds": ids,
        "foldedRecordings": recordings.len(), "folded": true,
        "items": items, "moreItems": recordings.len().saturating_sub(NAMED),
        "actorLookups": lookups, "actors": actors, "actorsPending": unknown,
    });
    // A burst is of deletions or of replacements (the head's kind).
    let declared = named(&kind, "burst").unwrap_or(&RECORDING_REPLACED_BURST);
    let key = ["burst\n", &g("PartitionKey")].concat();
    let f = Finding::new(
        declared,
        key,
        format_utc(window + WINDOW),
        Severity::Critical,
        data,
    );
    f.word("count", count.to_string())
        .word("minutes", WINDOW.whole_minutes().to_string())
}

#[cfg(test)]
mod tests {
    use serde_json::json;
    use time::macros::datetime;

    use super::super::burst::admit_tests::alert;
    use super::super::burst::{GRACE, admit};
    use super::super::burst_actors::{LATE, follow_ups};
    use super::*;
    use crate::testkit::tables::memory::InMemoryTables;

    /// Without a custody workspace no folded alert left a lookup: the burst alert goes out (twice,
    /// one id), promising no actor, and no actors' follow-up ever does.
    #[tokio::test]
    async fn without_actor_lookups_the_burst_goes_out_and_promises_no_actor() {
        let t = InMemoryTables::new();
        let at = datetime!(2025-03-14 09:41 UTC);
        for i in 0..8 {
            admit(&t, &alert(i), at).await.expect("admit");
        }
        let closed = at + WINDOW + GRACE;
        let first = close(&t, closed, false).await.expect("closed");
        assert_eq!(first.len(), 1, "{first:?}");
        let d = &first[0].evidence;
        assert_eq!(d["count"], 8, "{d}");
        assert_eq!(d["actorLookups"], false, "{d}");
        assert_eq!(d["actorsPending"], 0, "no lookup is left: {d}");
        assert_eq!(d["actors"], json!([]), "{d}");
        let again = close(&t, closed, false).await.expect("second pass");
        assert_eq!(again.len(), 1, "sent on two passes");
        assert_eq!(again[0].id(), first[0].id());
        assert!(close(&t, closed, false).await.expect("done").is_empty());
        // However late, and even were the follow-ups run: none promises actors never looked up.
        let late = closed + time::Duration::days(2) + LATE;
        let wait = time::Duration::minutes(60);
        assert!(follow_ups(&t, late, wait).await.expect("none").is_empty());
    }

    /// Five decoys go out alone; the burst names every recording it folds, by blob and session,
    /// up to [`NAMED`], then counts the rest, and links to the account's recordings in the API.
    #[tokio::test]
    async fn the_burst_names_the_recordings_it_folds() {
        let t = InMemoryTables::new();
        let at = datetime!(2025-03-14 09:41 UTC);
        for i in 0..(5 + NAMED + 3) {
            let mut a = alert(i);
            a.evidence["blobName"] = json!(format!("rec/{i:02}.webm"));
            a.evidence["sessionId"] = json!(format!("tunnel-{i:02}"));
            admit(&t, &a, at).await.expect("admit");
        }
        let closed = close(&t, at + WINDOW + GRACE, true).await.expect("closed");
        let d = &closed[0].evidence;
        let items = d["items"].as_array().expect("items");
        assert_eq!((items.len(), &d["moreItems"]), (NAMED, &json!(3)), "{d}");
        assert!(
            (items.iter()).all(|i| {
                let blob = i["blob"].as_str().unwrap_or_default();
                let n = blob.trim_start_matches("rec/").trim_end_matches(".webm");
                n.parse::<usize>().is_ok_and(|n| n >= 5) && i["session"] == format!("tunnel-{n}")
            }),
            "only folded ones, each with its session: {d}"
        );
        let opts = crate::notify::render::ContentOptions {
            include_pii: false,
            catalogue_base_url: Some("https://rec.example".into()),
        };
        let c = crate::notify::render::Content::of(&closed[0].told(), &opts);
        let shown = c
            .facts
            .iter()
            .find(|f| f.key == "items")
            .expect("items shown");
        assert!(
            shown.value.contains("blob rec/05.webm, session tunnel-05"),
            "{shown:?}"
        );
        let link = c
            .links
            .iter()
            .find(|l| l.key == "recordings")
            .expect("link");
        assert_eq!(
            link.url,
            "https://rec.example/api/recordings?from=2025-02-13&to=2025-03-14&account=a&status=deleted-outside-retention"
        );
    }
}
