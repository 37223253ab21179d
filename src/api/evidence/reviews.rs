//! The pack's `reviews.csv`: the period's reviews from the append-only log, streamed page by page
//! in time order ([`crate::reviews::Period`]) with `GET /api/reviews`'s columns and cells, so the
//! file is that listing's CSV export of the period.

use std::sync::Mutex;

use crate::evidence::source::{Facts, Row};
use crate::ports::Ports;
use crate::reviews::model::COLUMNS as REVIEW_COLUMNS;
use crate::reviews::{Period, REVIEWS_TABLE};

/// The review table.
pub const TABLE: &str = REVIEWS_TABLE;
/// The columns of `reviews.csv`.
pub const COLUMNS: &[&str] = REVIEW_COLUMNS;

/// The period's reviews, page after page (the pack asks for chunks in order).
pub struct Reviews {
    period: Mutex<Period>,
    bastion: Option<String>,
}

impl Reviews {
    /// Reviews made in `[from, to)`, of one Bastion host when `bastion` (lower-cased) is given.
    pub fn new(
        from: time::OffsetDateTime,
        to: time::OffsetDateTime,
        bastion: Option<String>,
    ) -> Self {
        Self {
            period: Mutex::new(Period::new(from, to)),
            bastion,
        }
    }

    /// The next page, `None` after the last.
    ///
    /// # Errors
    /// Storage failures.
    pub async fn next(&self, ports: &Ports) -> anyhow::Result<Option<Vec<Row>>> {
        let mut period = self
            .period
            .lock()
            .map_err(|_| anyhow::anyhow!("lock poisoned"))?
            .clone();
        let page = period.next_page(ports.tables.as_ref()).await?;
        *self
            .period
            .lock()
            .map_err(|_| anyhow::anyhow!("lock poisoned"))? = period;
        Ok(page.map(|reviews| {
            reviews
                .into_iter()
                .filter(|r| {
                    self.bastion
                        .as_ref()
                        .is_none_or(|b| r.context.bastion_host.to_lowercase() == *b)
                })
                .map(|r| {
                    let item = r.to_json();
                    Row {
                        cells: COLUMNS
                            .iter()
                            .map(|c| item[*c].as_str().unwrap_or_default().to_owned())
                            .collect(),
                        facts: Facts::Review {
                            subject: r.subject.id.clone(),
                            at: r.at,
                            verdict: r.verdict.as_str().to_owned(),
                            reviewer: r.reviewer.clone(),
                        },
                    }
                })
                .collect()
        }))
    }
}
