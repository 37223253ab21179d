//! Bulk holds (days plus session, user or VM of the joined session; re-running picks up late
//! joins) and the explicit, logged retention override.

use serde::Serialize;
use serde_json::json;
use time::Date;

use super::marks;
use super::rows::{self, Actor, HOLDS_TABLE};
use super::{Target, hold_member, release_member, resolve};
use crate::azure::AzureError;
use crate::catalogue::query::{Listed as _, partition_days};
use crate::catalogue::recording::RecordingKey;
use crate::catalogue::repo;
use crate::dates::{format_date, format_utc, parse_date};
use crate::ports::{Ports, RequestError};
use crate::retention::policy::{Retention, is_tag_safe};
use crate::retention::{TAG_CLASS, TAG_UNTIL};
use crate::storage::update_tags;
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
    let filter = Filter::And(vec![
        Filter::partition(&rows::member_pk(hold_id)),
        Filter::bool("Active", true),
    ]);
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
    let filter = Filter::And(vec![
        Filter::partition(&rows::member_pk(hold_id)),
        Filter::bool("Active", true),
    ]);
    let page = ops::page(&*ports.tables, HOLDS_TABLE, &filter, limit, None).await?;
    Ok(page
        .items
        .iter()
        .filter_map(|s| RecordingKey::of_row(&s.entity).map(|k| k.id()))
        .collect())
}

/// Sets a recording's retention explicitly, the only path that may shorten it: logged with
/// who/why, refused while held, and pinned against the sweep's policy re-evaluation.
///
/// # Errors
/// `Invalid` (held, bad class or date), `NotFound`, `Storage`.
pub async fn override_retention(
    ports: &Ports,
    target: &Target,
    new: &Retention,
    actor: &Actor,
) -> Result<RecordingKey, RequestError> {
    actor.validate()?;
    let valid_date = parse_date(&new.until).is_some();
    if !is_tag_safe(&new.class)
        || new.class.is_empty()
        || !valid_date
        || new.class == crate::catalogue::LEGAL_HOLD
    {
        return Err(RequestError::Invalid(
            "override needs a class name and a YYYY-MM-DD date (holds use hold())".into(),
        ));
    }
    let key = resolve(ports, target).await?;
    let repo = ports.catalogue();
    let row = repo
        .get(&key)
        .await?
        .ok_or_else(|| RequestError::NotFound(format!("recording {}", key.id())))?;
    if row.value.held() {
        return Err(RequestError::Invalid(format!(
            "recording {} is under legal hold; release it first",
            key.id()
        )));
    }
    // The room left by `~` and the nanosecond time (at most 20 characters).
    let rk = format!(
        "{}~{}",
        key.id_key(crate::tables::keys::MAX_KEY_BYTES - 21),
        actor.at.unix_timestamp_nanos()
    );
    let log = json!({"PartitionKey": "override", "RowKey": rk,
        "RecordingId": key.id(), "FromClass": row.value.retention_class, "FromUntil": row.value.retain_until,
        "ToClass": new.class, "ToUntil": new.until, "By": actor.who, "Reason": actor.why, "At": format_utc(actor.at)});
    rows::log_override(ports, &crate::retention::row(log)).await?;
    let (source, blob) = ports
        .sources
        .blob_of_row(&row.value)
        .map_err(RequestError::Invalid)?;
    marks::update_row(&repo, row, |r| {
        // Pins the row: the sweep's policy re-evaluation would otherwise lengthen it straight back.
        r.hold.overridden = true;
        r.retention_class = new.class.clone();
        r.retain_until = new.until.clone();
    })
    .await?;
    update_tags(&*source.store, &blob, false, |tags| {
        let mut tags = tags.clone();
        tags.insert(TAG_CLASS.into(), new.class.clone());
        tags.insert(TAG_UNTIL.into(), new.until.clone());
        (tags, ())
    })
    .await?;
    tracing::warn!(recording = %key.id(), class = %new.class, retain_until = %new.until, who = %actor.who, "retention overridden explicitly");
    Ok(key)
}
