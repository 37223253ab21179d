//! The record of changed sessions (table `sessionchanges`): written by the join pass before it
//! clears its marks (a crash leaves them set), drained by the review queue.

use crate::azure::AzureError;
use crate::tables::keys::{MAX_KEY_BYTES, Spelling, key};
use crate::tables::ops::{page, upsert_batched};
use crate::tables::{Entity, Filter, MAX_BATCH, TableStore, WriteMode, get_str};

/// Table of changed sessions.
pub const CHANGES_TABLE: &str = "sessionchanges";

/// One recorded change, as read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    /// The session's `sessionwindows` partition.
    pub day: String,
    /// Its tunnel id (a stored id is its own key).
    pub tunnel: String,
    etag: String,
}

fn row(tunnel: &str, day: &str) -> Entity {
    let tunnel = key(tunnel, Spelling::Verbatim, MAX_KEY_BYTES);
    let row = serde_json::json!({"PartitionKey": "changed", "RowKey": tunnel, "Day": day});
    crate::tables::entity(row)
}

/// Records `sessions`, `(start day, tunnel id)`, as changed, 100 to a transaction.
pub async fn record(
    tables: &dyn TableStore,
    sessions: &[(String, String)],
) -> Result<(), AzureError> {
    let rows: Vec<Entity> = sessions.iter().map(|(day, t)| row(t, day)).collect();
    upsert_batched(tables, CHANGES_TABLE, &rows).await.map(drop)
}

/// At most `limit` recorded changes.
pub async fn marked(tables: &dyn TableStore, limit: u32) -> Result<Vec<Change>, AzureError> {
    let all = Filter::partition("changed");
    let rows = page(tables, CHANGES_TABLE, &all, limit, None).await?;
    let change = |s: crate::tables::Stored| {
        let (day, tunnel) = (get_str(&s.entity, "Day")?, get_str(&s.entity, "RowKey")?);
        Some(Change {
            day: day.to_owned(),
            tunnel: tunnel.to_owned(),
            etag: s.etag,
        })
    };
    Ok(rows.items.into_iter().filter_map(change).collect())
}

/// Removes `done` as read, 100 to a transaction; one holding a change recorded again since is
/// refused whole, and its changes are derived again by the next reader.
pub async fn clear(tables: &dyn TableStore, done: &[Change]) -> Result<(), AzureError> {
    for chunk in done.chunks(MAX_BATCH) {
        let mode = |c: &Change| WriteMode::Delete(c.etag.clone());
        let deletes: Vec<_> = chunk
            .iter()
            .map(|c| (row(&c.tunnel, &c.day), mode(c)))
            .collect();
        match tables.batch(CHANGES_TABLE, &deletes).await {
            Ok(_) | Err(AzureError::PreconditionFailed | AzureError::NotFound) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use async_trait::async_trait;
    use time::macros::datetime;

    use super::*;
    use crate::catalogue::days::{self, Before, DAYS_TABLE, DayRow, Span};
    use crate::catalogue::session::SessionRecord;
    use crate::tables::ops::get;
    use crate::testkit::tables::intercept::{BeforeTableCall, Intercepted, TableCall};
    use crate::testkit::tables::memory::InMemoryTables;

    /// Refuses every write of `sessionwindows` after the first (the row's own).
    struct SettleFails;

    #[async_trait]
    impl BeforeTableCall for SettleFails {
        async fn before(&self, call: TableCall<'_>) -> Result<(), AzureError> {
            match call {
                TableCall::Batch(DAYS_TABLE, _)
                | TableCall::Write(DAYS_TABLE, WriteMode::IfMatch(_), _) => {
                    Err(AzureError::Transient("down".into()))
                }
                _ => Ok(()),
            }
        }
    }

    #[tokio::test]
    async fn a_session_is_recorded_as_changed_before_its_join_is_written_and_cleared_as_read() {
        let inner = std::sync::Arc::new(InMemoryTables::new());
        let t = Intercepted::with(inner.clone(), SettleFails);
        let mut s = SessionRecord::new("t-1");
        s.session_start = Some(datetime!(2025-03-09 21:30 UTC));
        s.outcome = "connected".into();
        let span = Span::at(datetime!(2025-03-09 21:40 UTC));
        let off = crate::export::Outbox::off();
        days::put(
            &t,
            &off,
            &s,
            datetime!(2025-03-13 12:00 UTC),
            Before::New,
            Some(span),
            None,
        )
        .await
        .expect("row");
        let read = get(&t, DAYS_TABLE, "2025-03-09", "t-1")
            .await
            .expect("read")
            .expect("row");
        // The join's write fails after the record: the session stays pending and recorded.
        assert!(
            days::put_recorded(
                &t,
                &off,
                vec![(read, days::Derived::default(), true)],
                datetime!(2025-03-13 12:00 UTC)
            )
            .await
            .is_err()
        );
        let row = get(&t, DAYS_TABLE, "2025-03-09", "t-1")
            .await
            .expect("read")
            .expect("row");
        let row = DayRow::from_entity(&row.entity).expect("window");
        assert_eq!(row.pending, Some(span), "still pending");
        let recorded = marked(&t, 10).await.expect("record");
        assert_eq!(
            recorded
                .iter()
                .map(|c| (c.day.as_str(), c.tunnel.as_str()))
                .collect::<Vec<_>>(),
            [("2025-03-09", "t-1")]
        );
        // Recorded again meanwhile: a reader clearing what it read keeps the new record.
        record(&t, &[("2025-03-09".into(), "t-1".into())])
            .await
            .expect("again");
        clear(&t, &recorded).await.expect("clear");
        assert_eq!(marked(&t, 10).await.expect("record").len(), 1);
        clear(&t, &marked(&t, 10).await.expect("record"))
            .await
            .expect("clear");
        assert!(marked(&t, 10).await.expect("record").is_empty());
    }
}
