//! The filter language of `GET /api/recordings` (and the CLI): parsing, validation, matching.
//!
//! Parameters: `from`, `to` (required; `YYYY-MM-DD` or RFC 3339; a bare `to` date is inclusive),
//! `user` (name or e-mail), `ip`, `vm` (name or resource id), `protocol`, `status`, `class`
//! (retention class), `confidence` (`exact`/`heuristic`/`ambiguous`/`awaiting`, or `none` for unjoined rows),
//! `limit` (1–1000, default 100), `continuation`, `format` (`json`/`csv`); `code` (the function key)
//! is ignored. Unknown parameters are rejected so a typo never silently widens a query. Matching is
//! case-insensitive equality (resource ids and UPNs are case-insensitive in Azure).

use std::collections::HashMap;

use sha2::{Digest, Sha256};
use time::format_description::well_known::Rfc3339;
use time::{Date, Duration, OffsetDateTime, Time};

use super::problem::ApiError;
use crate::catalogue::recording::{partition_days, sort_time};
use crate::dates::format_date;
use crate::dates::{days, last_day, parse_date};
use crate::tables::{Entity, get_str};

/// Default page size.
pub const DEFAULT_LIMIT: usize = 100;
/// Largest page size (one table page).
pub const MAX_LIMIT: usize = 1000;

/// Output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// `application/json`.
    Json,
    /// `text/csv`.
    Csv,
}

impl Format {
    /// The `format` parameter, else the `Accept` header (`text/csv`), else JSON.
    ///
    /// # Errors
    /// 400 for a `format` other than `json` or `csv`.
    pub fn of(format: Option<&str>, accept: Option<&str>) -> Result<Self, ApiError> {
        match format.map(str::to_ascii_lowercase).as_deref() {
            Some("csv") => Ok(Self::Csv),
            Some("json") => Ok(Self::Json),
            Some(_) => Err(ApiError::bad("format", "json or csv")),
            None if accept.is_some_and(|a| a.to_ascii_lowercase().contains("text/csv")) => {
                Ok(Self::Csv)
            }
            None => Ok(Self::Json),
        }
    }
}

/// Property filters: (parameter, catalogue properties any of which may match).
const FILTERS: &[(&str, &[&str])] = &[
    ("user", &["UserName", "UserEmail"]),
    ("ip", &["ClientIp"]),
    ("vm", &["TargetVm", "TargetResourceId"]),
    ("protocol", &["Protocol"]),
    ("status", &["Status"]),
    ("class", &["RetentionClass"]),
    ("confidence", &["MatchConfidence"]),
    // The session's host once joined, else the host the recording's source is tied to.
    ("bastion", &["BastionHost", "SourceBastion"]),
    ("account", &["Account"]),
];
const OTHER_PARAMS: &[&str] = &["from", "to", "limit", "continuation", "format", "code"];

/// A validated query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Query {
    /// Inclusive start.
    pub from: OffsetDateTime,
    /// Exclusive end.
    pub to: OffsetDateTime,
    /// `(parameter, lower-cased value)` property filters.
    pub filters: Vec<(&'static str, String)>,
    /// Page size.
    pub limit: usize,
    /// Opaque continuation from a previous page.
    pub continuation: Option<String>,
    /// Output format.
    pub format: Format,
}

impl Query {
    /// Parses and validates parameters; `accept` is the `Accept` header.
    ///
    /// # Errors
    /// 400 naming the first bad parameter.
    pub fn parse(
        params: &HashMap<String, String>,
        accept: Option<&str>,
        max_days: u32,
    ) -> Result<Self, ApiError> {
        let names: Vec<&'static str> = FILTERS.iter().map(|(p, _)| *p).collect();
        Self::parse_for(params, accept, max_days, &names)
    }

    /// [`Query::parse`] with another set of filter parameters (`/api/sessions` has no `class` or
    /// `confidence`); the range, paging and format rules are the same.
    ///
    /// # Errors
    /// 400 naming the first bad parameter.
    pub fn parse_for(
        params: &HashMap<String, String>,
        accept: Option<&str>,
        max_days: u32,
        names: &[&'static str],
    ) -> Result<Self, ApiError> {
        if let Some(k) = params
            .keys()
            .find(|k| !OTHER_PARAMS.contains(&k.as_str()) && !names.contains(&k.as_str()))
        {
            return Err(ApiError::bad(k, "unknown parameter"));
        }
        let get = |k: &str| params.get(k).map(|v| v.trim()).filter(|v| !v.is_empty());
        let from = bound("from", get("from"), false)?;
        let to = bound("to", get("to"), true)?;
        if to <= from {
            return Err(ApiError::bad("to", "must be after from"));
        }
        if to - from > Duration::days(i64::from(max_days)) {
            return Err(ApiError::bad(
                "to",
                format_args!("the range may span at most {max_days} days"),
            ));
        }
        let mut filters = Vec::new();
        for p in names {
            if let Some(v) = get(p) {
                if v.len() > 512 {
                    return Err(ApiError::bad(p, "too long"));
                }
                filters.push((*p, v.to_lowercase()));
            }
        }
        let limit = limit(params, DEFAULT_LIMIT, MAX_LIMIT)?;
        let format = Format::of(get("format"), accept)?;
        Ok(Self {
            from,
            to,
            filters,
            limit,
            continuation: get("continuation").map(str::to_owned),
            format,
        })
    }

    /// The days the range covers, in order: the partitions of a table keyed by the day rows sort
    /// on (`sessionwindows`). For `recordings` use [`Self::recording_days`].
    pub fn days(&self) -> Vec<String> {
        days_between(self.from.date(), self.last_day())
    }

    /// The `recordings` partitions that can hold a row of the range ([`partition_days`]).
    pub fn recording_days(&self) -> Vec<String> {
        let (first, last) = partition_days(self.from.date(), self.last_day());
        days_between(first, last)
    }

    fn last_day(&self) -> Date {
        last_day(self.to)
    }

    /// True when a row passes every filter and its sort time lies in the range.
    pub fn matches(&self, e: &Entity) -> bool {
        sort_time(e).is_some_and(|t| t >= self.from && t < self.to)
            && self.filters.iter().all(|(p, want)| {
                let props = FILTERS
                    .iter()
                    .find(|(n, _)| n == p)
                    .map_or(&[][..], |(_, props)| *props);
                if *p == "confidence" && want == "none" {
                    return get_str(e, "MatchConfidence").is_none_or(str::is_empty);
                }
                props
                    .iter()
                    .any(|prop| get_str(e, prop).is_some_and(|v| v.to_lowercase() == *want))
            })
    }

    /// A digest of everything but paging and format: binds continuation tokens to their query.
    pub fn fingerprint(&self) -> String {
        let mut h = Sha256::new();
        h.update(self.from.format(&Rfc3339).unwrap_or_default());
        h.update(b"\0");
        h.update(self.to.format(&Rfc3339).unwrap_or_default());
        for (p, v) in &self.filters {
            h.update(format!("\0{p}={v}"));
        }
        hex::encode(&h.finalize()[..8])
    }
}

/// The `limit` parameter: `default` when absent or blank, else 1 to `max`.
///
/// # Errors
/// 400 for anything else.
pub fn limit(
    params: &HashMap<String, String>,
    default: usize,
    max: usize,
) -> Result<usize, ApiError> {
    match params
        .get("limit")
        .map(|v| v.trim())
        .filter(|v| !v.is_empty())
    {
        None => Ok(default),
        Some(l) => l
            .parse::<usize>()
            .ok()
            .filter(|n| (1..=max).contains(n))
            .ok_or_else(|| ApiError::bad("limit", format_args!("1 to {max}"))),
    }
}

/// Every day from `first` to `last`, inclusive, as `YYYY-MM-DD`.
fn days_between(first: Date, last: Date) -> Vec<String> {
    days(first, last).map(format_date).collect()
}

fn bound(name: &str, v: Option<&str>, end: bool) -> Result<OffsetDateTime, ApiError> {
    let v = v.ok_or_else(|| ApiError::bad(name, "required (YYYY-MM-DD or RFC 3339)"))?;
    if let Some(d) = parse_date(v) {
        let d = if end {
            d.next_day()
                .ok_or_else(|| ApiError::bad(name, "out of range"))?
        } else {
            d
        };
        return Ok(d.with_time(Time::MIDNIGHT).assume_utc());
    }
    OffsetDateTime::parse(v, &Rfc3339)
        .map(|t| t.to_offset(time::UtcOffset::UTC))
        .map_err(|_| ApiError::bad(name, "not a date (YYYY-MM-DD) or RFC 3339 time"))
}
