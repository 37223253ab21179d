//! Bulk holds (days plus session, user or VM of the joined session; re-running picks up late
//! joins).

use serde::Serialize;
use serde_json::json;
use time::Date;

use super::member::{hold_member, release_member};
use super::rows::{self, Actor, HOLDS_TABLE};
use crate::azure::AzureError;
use crate::catalogue::query::{Listed as _, partition_days};
use crate::catalogue::recording::RecordingKey;
use crate::catalogue::repo;
use crate::dates::{format_date, parse_date};
use crate::ports::{Ports, RequestError};
use crate::tables::filter::Op;
use crate::tables::{Filter, ops};

/// Which recordings a bulk hold covers: session-start (else event) days plus equality filters.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Selector {
    /// First day, `YYYY-MM-DD`.
    pub from_day: String,
    /// Last day (inclusive).
    pub to_day: String,
    /// Session (`TunnelId`).
    pub session: Option<String>,
    /// User name or e-mail.
    pub user: Option<String>,
    /// Target VM name.
    pub vm: Option<String>,
}

impl Selector {
    /// The first and last selected day.
    fn days(&self) -> Result<(Date, Date), RequestError> {
        match (parse_date(&self.from_day), parse_date(&self.to_day)) {
            (Some(from), Some(to)) if from <= to => Ok((from, to)),
            _ => Err(RequestError::Invalid(
                "fromDay/toDay must be YYYY-MM-DD with fromDay <= toDay".into(),
            )),
        }
    }

    /// The table filter for the selected days `from..=to` ([`partition_days`]).
    fn filter(&self, from: Date, to: Date) -> Filter {
        let (first, last) = partition_days(from, to);
        let mut parts = vec![
            Filter::str("PartitionKey", Op::Ge, format_date(first)),
            Filter::str("PartitionKey", Op::Le, format_date(last)),
        ];
        if let Some(s) = &self.session {
            parts.push(Filter::str("TunnelId", Op::Eq, s));
        }
        if let Some(v) = &self.vm {
            parts.push(Filter::str("TargetVm", Op::Eq, v));
        }
        if let Some(u) = &self.user {
            parts.push(Filter::Or(vec![
                Filter::str("UserName", Op::Eq, u),
                Filter::str("UserEmail", Op::Eq, u),
            ]));
        }
        Filter::And(parts)
    }
}

/// Puts every recording the selector matches under hold `hold_id`; returns how many.
///
/// # Errors
/// `Invalid`, `Storage`.
pub async fn hold_bulk(
    ports: &Ports,
    hold_id: &str,
    selector: &Selector,
    actor: &Actor,
) -> Result<usize, RequestError> {
    actor.validate()?;
    rows::validate_id(hold_id)?;
    let (from, to) = selector.days()?;
    let filter = selector.filter(from, to);
    // The filter reads a day more on each side (a session may cross midnight).
    let days = from..=to;
    rows::write_header(ports, hold_id, "bulk", &json!(selector), actor).await?;
    let mut cont = None;
    let mut n = 0;
    loop {
        let (found, next) = match repo::page(&*ports.tables, &filter, cont).await {
            Err(AzureError::NotFound) => return Ok(n),
            other => other?,
        };
        for (r, _) in found {
            if days.contains(&r.time().date()) {
                hold_member(ports, hold_id, &r.key, actor).await?;
                n += 1;
            }
        }
        match next {
            Some(c) => cont = Some(c),
            None => return Ok(n),
        }
    }
}

/// Releases hold `hold_id` on every member; returns how many members were released.
///
/// # Errors
/// `NotFound` for an unknown hold, `Storage`.
pub async fn release_hold(
    ports: &Ports,
    hold_id: &str,
    actor: &Actor,
) -> Result<usize, RequestError> {
    actor.validate()?;
    rows::validate_id(hold_id)?;
    let filter = active_filter(hold_id);
    let mut n = 0;
    loop {
        // Released members drop out of the filter, so the first page is always re-read.
        let page = match ports
            .tables
            .query(HOLDS_TABLE, Some(&filter), Some(1000), None)
            .await
        {
            Err(AzureError::NotFound) => {
                return Err(RequestError::NotFound(format!("hold {hold_id}")));
            }
            other => other?,
        };
        if page.items.is_empty() {
            break;
        }
        for s in &page.items {
            let Some(key) = RecordingKey::of_row(&s.entity) else {
                continue;
            };
            release_member(ports, hold_id, &key, actor).await?;
            n += 1;
        }
    }
    rows::release_header(ports, hold_id, actor).await?;
    Ok(n)
}

/// Up to `limit` recording ids still actively held by `hold_id` (one partition query).
///
/// # Errors
/// `Invalid` for a bad id, `Storage`.
pub async fn active_members(
    ports: &Ports,
    hold_id: &str,
    limit: u32,
) -> Result<Vec<String>, RequestError> {
    rows::validate_id(hold_id)?;
    let filter = active_filter(hold_id);
    let page = ops::page(&*ports.tables, HOLDS_TABLE, &filter, limit, None).await?;
    Ok(page
        .items
        .iter()
        .filter_map(|s| RecordingKey::of_row(&s.entity).map(|k| k.id()))
        .collect())
}

/// The members of hold `hold_id` still held.
fn active_filter(hold_id: &str) -> Filter {
    Filter::And(vec![
        Filter::partition(&rows::member_pk(hold_id)),
        Filter::bool("Active", true),
    ])
}
