//! Bursts: `recording.deleted` / `recording.replaced` alerts of one container within one
//! [`WINDOW`] (by the change's time) beyond the first [`ALONE`] are folded into one alert of the
//! same type with the count, sent once the window has closed; the first [`ALONE`] go out at once,
//! each on its own (a few changes are no storm). Table `alertbursts` keeps each folded alert (PK:
//! type, container and window through the key encoder; RK: the alert's id, its time and data),
//! beside the window's head row (the ids sent alone). Folded alerts keep their actor lookups;
//! their actors are named by the burst alert and its follow-up ([`super::burst_actors`]). This
//! file admits an alert; [`super::burst_close`] sends the burst alert of a closed window.

use serde_json::{Value, json};
use time::{Duration, OffsetDateTime};

use crate::azure::AzureError;
use crate::dates::{bucket, format_utc};
use crate::spine::Finding;

pub use super::burst_close::close;
use crate::tables::keys::{MAX_KEY_BYTES, Spelling, key};
use crate::tables::ops::{get, query_all, update, write_creating_table};
use crate::tables::{Entity, Filter, Stored, TableStore, WriteMode, get_i64, get_str, int64};

/// The table.
pub const TABLE: &str = "alertbursts";
/// A burst's window.
pub const WINDOW: Duration = Duration::minutes(10);
/// How long after its window a burst is folded (late deliveries of the window still count).
pub const GRACE: Duration = Duration::minutes(5);
/// Alerts of one window sent on their own before the rest are folded.
pub const ALONE: usize = 5;
/// Row key of a window's head (the alerts sent alone).
pub(super) const HEAD: &str = "head";

/// Whether an alert goes out on its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fold {
    /// Sent now (the window's first, or one arriving after its burst was sent).
    Alone,
    /// Kept in the burst; its window's burst alert counts it.
    Folded,
}

fn partition(kind: &str, account: &str, container: &str, window: OffsetDateTime) -> String {
    let text = format!("{kind}\n{account}/{container}\n{}", format_utc(window));
    key(&text, Spelling::Encoded, MAX_KEY_BYTES)
}

/// The burst (its partition in [`TABLE`]) finding `f` (its evidence names `account` and
/// `container`) of a change at `at` belongs to.
pub fn burst_of(f: &Finding, at: OffsetDateTime) -> String {
    let text = |k: &str| f.evidence[k].as_str().unwrap_or_default().to_owned();
    partition(
        f.kind.name,
        &text("account"),
        &text("container"),
        bucket(at, WINDOW),
    )
}

/// The id of the burst alert of type `kind` whose partition is `pk` (the one [`close`] sends).
pub fn burst_id(kind: &str, pk: &str) -> String {
    crate::spine::stable_id(kind, &["burst\n", pk].concat())
}

/// Admits finding `f` (its evidence names `account` and `container`) of a change at `at`.
///
/// # Errors
/// Table errors.
pub async fn admit(
    tables: &dyn TableStore,
    f: &Finding,
    at: OffsetDateTime,
) -> Result<Fold, AzureError> {
    let text = |k: &str| f.evidence[k].as_str().unwrap_or_default().to_owned();
    let (account, container) = (text("account"), text("container"));
    let window = bucket(at, WINDOW);
    let pk = burst_of(f, at);
    let id = f.id();
    let id = id.as_str();
    let mut fold = Fold::Alone;
    let mut change = |cur: Option<&Stored>| -> Option<Entity> {
        let alone = cur.map(|c| alone_ids(&c.entity)).unwrap_or_default();
        let sent = cur.is_some_and(|c| get_i64(&c.entity, "Sent").unwrap_or(0) > 0);
        // Sent alone before (a redelivery), or after its burst went out: alone, unchanged.
        fold = if alone.iter().any(|a| a == id) || sent {
            Fold::Alone
        } else if alone.len() < ALONE {
            let mut head = cur.map(|c| c.entity.clone()).unwrap_or_else(|| {
                let fresh = json!({
                    "AlertId": id, "Kind": f.kind.name, "Account": account, "Container": container,
                    "Window": format_utc(window),
                });
                crate::tables::entity(fresh)
            });
            let mut ids = alone.clone();
            ids.push(id.to_owned());
            head.insert("AloneIds".into(), Value::String(ids.join("\n")));
            int64(&mut head, "Sent", 0);
            int64(&mut head, "ActorsSent", 0);
            return Some(head);
        } else {
            Fold::Folded
        };
        None
    };
    update(tables, TABLE, &pk, HEAD, &mut change).await?;
    if fold == Fold::Alone {
        return Ok(Fold::Alone);
    }
    let member = json!({
        "PartitionKey": pk, "RowKey": key(id, Spelling::Verbatim, MAX_KEY_BYTES),
        "AlertId": id, "Time": f.at,
        "Data": serde_json::to_string(&f.evidence).unwrap_or_default(),
    });
    let member = crate::tables::entity(member);
    write_creating_table(tables, TABLE, &member, WriteMode::Upsert).await?;
    // Written first, then checked: a burst already sent cannot have counted it, so it goes alone.
    let sent = get(tables, TABLE, &pk, HEAD)
        .await?
        .is_some_and(|h| get_i64(&h.entity, "Sent").unwrap_or(0) > 0);
    Ok(if sent { Fold::Alone } else { Fold::Folded })
}

/// The folded alert rows of the burst whose head is `head` (its partition but the head).
pub(super) async fn folded(
    tables: &dyn TableStore,
    head: &Entity,
) -> Result<Vec<Entity>, AzureError> {
    let pk = get_str(head, "PartitionKey").unwrap_or_default();
    let rows = query_all(tables, TABLE, &Filter::partition(pk), usize::MAX).await?;
    let members = rows.into_iter().map(|s| s.entity);
    Ok(members
        .filter(|m| get_str(m, "RowKey") != Some(HEAD))
        .collect())
}

/// The ids of a head's alerts sent alone (a head from before [`ALONE`]: its one alert).
pub(super) fn alone_ids(head: &Entity) -> Vec<String> {
    match get_str(head, "AloneIds") {
        Some(ids) => ids
            .split('\n')
            .filter(|i| !i.is_empty())
            .map(str::to_owned)
            .collect(),
        None => get_str(head, "AlertId")
            .map(|a| vec![a.to_owned()])
            .unwrap_or_default(),
    }
}

#[cfg(test)]
pub(super) mod admit_tests {
    use serde_json::json;
    use time::macros::datetime;

    use crate::custody::burst::{ALONE, Finding, Fold, GRACE, WINDOW, admit, close};
    use crate::testkit::tables::memory::InMemoryTables;

    /// The `i`th deletion alert of one container, all at one time (also `burst_close`'s tests').
    pub(crate) fn alert(i: usize) -> Finding {
        Finding::new(
            &crate::spine::kinds::RECORDING_DELETED,
            format!("r{i}"),
            "2025-03-14T09:41:00Z",
            crate::spine::Severity::Critical,
            json!({"account": "a", "container": "c", "recordingId": format!("r{i}")}),
        )
    }

    #[tokio::test]
    async fn the_first_five_go_alone_redeliveries_keep_their_answer_and_the_burst_counts_all() {
        let t = InMemoryTables::new();
        let at = datetime!(2025-03-14 09:41 UTC);
        let mut answers = Vec::new();
        for i in 0..7 {
            answers.push(admit(&t, &alert(i), at).await.expect("admit"));
        }
        let alone = answers.iter().filter(|f| **f == Fold::Alone).count();
        assert_eq!(alone, ALONE, "{answers:?}");
        assert_eq!(answers[ALONE], Fold::Folded);
        // Redeliveries: the same answer each time.
        assert_eq!(admit(&t, &alert(0), at).await.ok(), Some(Fold::Alone));
        assert_eq!(admit(&t, &alert(6), at).await.ok(), Some(Fold::Folded));
        // Another container's window is its own.
        let mut other = alert(9);
        other.evidence["container"] = json!("d");
        assert_eq!(admit(&t, &other, at).await.ok(), Some(Fold::Alone));
        assert!(close(&t, at, true).await.expect("open").is_empty());
        let burst = close(&t, at + WINDOW + GRACE, true).await.expect("closed");
        assert_eq!(burst.len(), 1, "{burst:?}");
        assert_eq!(burst[0].evidence["count"], 7);
        assert_eq!(
            burst[0].evidence["aloneAlertIds"].as_array().map(Vec::len),
            Some(5)
        );
        // After its burst went out, a late one of the window goes alone.
        assert_eq!(admit(&t, &alert(8), at).await.ok(), Some(Fold::Alone));
    }
}
