//! Reading reviews: the log of a period, streamed page by page in time order ([`Period`], what the
//! evidence pack exports), and the latest reviews of subjects ([`latest`], [`latest_of_days`]).

use std::collections::{BTreeSet, HashMap};

use time::OffsetDateTime;

use super::model::{LATEST_TABLE, REVIEWS_TABLE, Review, Subject};
use crate::azure::{AzureError, found};
use crate::dates::{format_date, format_utc_millis};
use crate::tables::filter::Op;
use crate::tables::ops::query_all;
use crate::tables::{Filter, TableStore, get_str};

/// The reviews recorded in `[from, to)`, oldest first, one page (≤ 1000 rows) at a time.
#[derive(Debug, Clone)]
pub struct Period {
    from: OffsetDateTime,
    to: OffsetDateTime,
    day: Option<time::Date>,
    last: time::Date,
    next: Option<String>,
}

impl Period {
    /// The reviews with `from <= ReviewedAt < to` (millisecond precision).
    pub fn new(from: OffsetDateTime, to: OffsetDateTime) -> Self {
        let last = crate::dates::last_day(to);
        Self {
            from,
            to,
            day: (to > from).then(|| from.date()),
            last,
            next: None,
        }
    }

    /// The next non-empty page in time order, `None` when the period is exhausted.
    pub async fn next_page(
        &mut self,
        tables: &dyn TableStore,
    ) -> Result<Option<Vec<Review>>, AzureError> {
        while let Some(day) = self.day.filter(|d| *d <= self.last) {
            let filter = Filter::And(vec![
                Filter::partition(&format_date(day)),
                Filter::str("RowKey", Op::Ge, format_utc_millis(self.from)),
                Filter::str("RowKey", Op::Lt, format_utc_millis(self.to)),
            ]);
            let page = tables.query(REVIEWS_TABLE, Some(&filter), Some(1000), self.next.take());
            let Some(page) = found(page.await)? else {
                return Ok(None);
            };
            self.next = page.next;
            if self.next.is_none() {
                self.day = day.next_day();
            }
            let rows: Vec<Review> = page
                .items
                .iter()
                .filter_map(|s| Review::from_entity(&s.entity))
                .collect();
            if !rows.is_empty() {
                return Ok(Some(rows));
            }
        }
        Ok(None)
    }
}

/// The latest review of `subject`, whose `reviewlatest` partition is `day`.
pub async fn latest(
    tables: &dyn TableStore,
    day: &str,
    subject: &Subject,
) -> Result<Option<Review>, AzureError> {
    let row = crate::tables::ops::get(tables, LATEST_TABLE, day, &subject.latest_rk()).await?;
    Ok(row.and_then(|r| Review::from_entity(&r.entity)))
}

/// The latest reviews of the subjects of several days (each day read once), by row key.
pub async fn latest_of_days(
    tables: &dyn TableStore,
    days: &[String],
) -> Result<HashMap<String, Review>, AzureError> {
    let days: BTreeSet<&String> = days.iter().filter(|d| !d.is_empty()).collect();
    let mut out = HashMap::new();
    for day in days {
        let rows = query_all(tables, LATEST_TABLE, &Filter::partition(day), usize::MAX).await?;
        out.extend(rows.iter().filter_map(|s| {
            let rk = get_str(&s.entity, "RowKey")?.to_owned();
            Some((rk, Review::from_entity(&s.entity)?))
        }));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use time::macros::datetime;

    use super::*;
    use crate::reviews::model::{Context, Kind, Subject, Verdict};
    use crate::tables::WriteMode;
    use crate::tables::ops::write_creating_table;
    use crate::testkit::tables::memory::InMemoryTables;

    fn review(id: &str, at: OffsetDateTime) -> Review {
        Review {
            id: id.into(),
            subject: Subject {
                kind: Kind::Session,
                id: format!("t-{id}"),
            },
            verdict: Verdict::Ok,
            comment: String::new(),
            ticket: String::new(),
            reviewer: "r".into(),
            reviewer_person: crate::catalogue::person::Person::new(["r"], None),
            identity: String::new(),
            at,
            context: Context::default(),
        }
    }

    #[tokio::test]
    async fn a_period_streams_its_reviews_in_time_order_and_nothing_outside() {
        let t = InMemoryTables::new();
        let times = [
            datetime!(2025-03-01 00:00 UTC),
            datetime!(2025-03-02 23:59:59.999 UTC),
            datetime!(2025-03-02 00:00:00.001 UTC),
            datetime!(2025-03-04 00:00 UTC),
            datetime!(2025-02-28 23:59:59.999 UTC),
            datetime!(2025-03-03 12:00 UTC),
        ];
        assert_eq!(
            Period::new(times[0], times[3]).next_page(&t).await.ok(),
            Some(None)
        );
        for (i, at) in times.iter().enumerate() {
            let r = review(&format!("r{i}"), *at);
            let mut e = r.to_entity();
            e.insert("PartitionKey".into(), r.log_pk().into());
            e.insert("RowKey".into(), r.log_rk().into());
            write_creating_table(&t, REVIEWS_TABLE, &e, WriteMode::Insert)
                .await
                .expect("write");
        }
        let mut p = Period::new(times[0], times[3]);
        let mut got = Vec::new();
        while let Some(page) = p.next_page(&t).await.expect("page") {
            got.extend(page.into_iter().map(|r| r.id));
        }
        assert_eq!(got, ["r0", "r2", "r1", "r5"]);
    }
}
