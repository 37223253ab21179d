//! The latest review shown beside recordings and sessions in the lists (and the evidence pack):
//! one `reviewlatest` partition query per distinct day of a page (never a read per row).

use super::model::{Kind, Review, Subject};
use super::period::latest_of_days;
use crate::azure::AzureError;
use crate::catalogue::days::DayRow;
use crate::catalogue::query::shape;
use crate::catalogue::recording::Recording;
use crate::dates::format_utc_millis;
use crate::tables::TableStore;

/// A listed row that can be reviewed: its subject and the partition of its latest review.
pub trait Reviewed {
    /// `(reviewlatest partition, subject)`; `None` for rows that are no subject.
    fn subject(&self) -> Option<(String, Subject)>;
}

impl Reviewed for Recording {
    fn subject(&self) -> Option<(String, Subject)> {
        Some((
            self.key.pk.clone(),
            Subject::new(Kind::Recording, self.id()),
        ))
    }
}

impl Reviewed for DayRow {
    fn subject(&self) -> Option<(String, Subject)> {
        Some((
            self.day(),
            Subject::new(Kind::Session, self.tunnel_id.clone()),
        ))
    }
}

impl Reviewed for Review {
    fn subject(&self) -> Option<(String, Subject)> {
        None
    }
}

/// Each row's latest review, in order (`None`: unreviewed).
pub async fn latest<R: Reviewed>(
    tables: &dyn TableStore,
    rows: &[R],
) -> Result<Vec<Option<shape::Review>>, AzureError> {
    let keys: Vec<Option<(String, Subject)>> = rows.iter().map(Reviewed::subject).collect();
    let days: Vec<String> = keys.iter().flatten().map(|(d, _)| d.clone()).collect();
    let latest = latest_of_days(tables, &days).await?;
    Ok(keys
        .into_iter()
        .map(|k| {
            let r = latest.get(&k?.1.latest_rk())?;
            Some(shape::Review {
                verdict: r.verdict.as_str().to_owned(),
                reviewer: r.reviewer.clone(),
                at: format_utc_millis(r.at),
            })
        })
        .collect())
}
