//! The query itself: its parameters validated ([`Query`], or why not: [`Invalid`]), the page
//! size's bounds, and the row type a list reads and matches ([`Listed`]).

use std::collections::HashMap;
use std::fmt;

use sha2::{Digest, Sha256};
use time::format_description::well_known::Rfc3339;
use time::{Date, Duration, OffsetDateTime, Time};

use crate::dates::{days, format_date, last_day, parse_date};
use crate::tables::Entity;

/// Default page size.
pub const DEFAULT_LIMIT: usize = 100;
/// Largest page size (one table page).
pub const MAX_LIMIT: usize = 1000;
/// Longest filter value.
const MAX_VALUE: usize = 512;

/// A parameter the caller must fix, and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{param}: {reason}")]
pub struct Invalid {
    /// The parameter.
    pub param: String,
    /// What is wrong with it.
    pub reason: String,
}

impl Invalid {
    /// `param` is wrong because of `reason`.
    pub fn new(param: &str, reason: impl fmt::Display) -> Self {
        let (param, reason) = (param.to_owned(), reason.to_string());
        Self { param, reason }
    }
}

/// A validated query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Query {
    /// Inclusive start.
    pub from: OffsetDateTime,
    /// Exclusive end.
    pub to: OffsetDateTime,
    /// `(parameter, lower-cased value)` filters, in the row type's order.
    pub filters: Vec<(&'static str, String)>,
    /// Page size.
    pub limit: usize,
    /// Opaque continuation from a previous page.
    pub continuation: Option<String>,
}

impl Query {
    /// Parses and validates `params`; `passed` are parameters the caller reads itself.
    ///
    /// # Errors
    /// The first bad parameter: an unknown one, then `from`, `to`, the filters, `limit`.
    pub fn parse(
        params: &HashMap<String, String>,
        max_days: u32,
        names: &[&'static str],
        passed: &[&str],
    ) -> Result<Self, Invalid> {
        const OWN: &[&str] = &["from", "to", "limit", "continuation"];
        if let Some(k) = params.keys().find(|k| {
            let k = k.as_str();
            !OWN.contains(&k) && !passed.contains(&k) && !names.contains(&k)
        }) {
            return Err(Invalid::new(k, "unknown parameter"));
        }
        let get = |k: &str| params.get(k).map(|v| v.trim()).filter(|v| !v.is_empty());
        let from = bound("from", get("from"), false)?;
        let to = bound("to", get("to"), true)?;
        if to <= from {
            return Err(Invalid::new("to", "must be after from"));
        }
        if to - from > Duration::days(i64::from(max_days)) {
            return Err(Invalid::new(
                "to",
                format_args!("the range may span at most {max_days} days"),
            ));
        }
        let mut filters = Vec::new();
        for p in names {
            if let Some(v) = get(p) {
                if v.len() > MAX_VALUE {
                    return Err(Invalid::new(p, "too long"));
                }
                if *p == "ip" && v.parse::<std::net::IpAddr>().is_err() {
                    let why = "not an IP address (e.g. 203.0.113.7 or 2001:db8::7)";
                    return Err(Invalid::new(p, why));
                }
                filters.push((*p, v.to_lowercase()));
            }
        }
        Ok(Self {
            from,
            to,
            filters,
            limit: limit(params, DEFAULT_LIMIT, MAX_LIMIT)?,
            continuation: get("continuation").map(str::to_owned),
        })
    }

    /// The value filter `param` asks for.
    pub fn wants(&self, param: &str) -> Option<&str> {
        self.filters
            .iter()
            .find(|(p, _)| *p == param)
            .map(|(_, v)| v.as_str())
    }

    /// The days the range covers, in order.
    pub fn days(&self) -> Vec<String> {
        days_between(self.from.date(), last_day(self.to))
    }

    /// The `recordings` partitions that can hold a row of the range ([`partition_days`]).
    pub fn recording_days(&self) -> Vec<String> {
        let (first, last) = partition_days(self.from.date(), last_day(self.to));
        days_between(first, last)
    }

    /// True when `row`'s time lies in the range and it passes every filter.
    pub fn matches<R: Listed>(&self, row: &R) -> bool {
        let t = row.time();
        t >= self.from && t < self.to && self.filters.iter().all(|(p, v)| row.matches(p, v))
    }

    /// A digest of everything but paging: binds continuation tokens to their query.
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

/// A row type the lists read: its table, filters, time and the partitions of a range.
pub trait Listed: Sized + Send {
    /// Its table.
    const TABLE: &'static str;
    /// Its filter parameters, in the order they are read (and fingerprinted).
    const FILTERS: &'static [&'static str];
    /// Filters served from index rows ([`crate::catalogue::key::index_keys`]), the first given wins.
    const INDEXED: &'static [&'static str] = &[];
    /// Binds continuation tokens to this list: a token of one list is refused by another.
    const SCOPE: &'static str;

    /// Reads a stored row; `None` when it is not one.
    fn from_entity(e: &Entity) -> Option<Self>;

    /// The time the range applies to and rows sort by.
    fn time(&self) -> OffsetDateTime;

    /// Its `RowKey`: the order of rows of the same time.
    fn row_key(&self) -> String;

    /// The values filter `param` compares (any may match).
    fn values(&self, param: &str) -> Vec<&str>;

    /// True when filter `param` takes the row for the lower-cased `want`.
    fn matches(&self, param: &str, want: &str) -> bool {
        any_is(&self.values(param), want)
    }

    /// Checks the filters' values beyond their length: an error for a value never taken.
    fn check(_q: &Query) -> Result<(), Invalid> {
        Ok(())
    }

    /// The partitions a range's rows can live in.
    fn days(q: &Query) -> Vec<String> {
        q.days()
    }
}

/// True when one of `values` is `want` (lower-cased), ignoring case.
pub fn any_is(values: &[&str], want: &str) -> bool {
    values.iter().any(|v| v.to_lowercase() == want)
}

/// The partitions (creation days) that can hold a recording timed from `first` to `last`: one more
/// day each side, since a session may start before midnight and be recorded after it.
pub fn partition_days(first: Date, last: Date) -> (Date, Date) {
    (
        first.previous_day().unwrap_or(first),
        last.next_day().unwrap_or(last),
    )
}

/// The `limit` parameter: `default` when absent or blank, else 1 to `max` (an error otherwise).
pub fn limit(
    params: &HashMap<String, String>,
    default: usize,
    max: usize,
) -> Result<usize, Invalid> {
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
            .ok_or_else(|| Invalid::new("limit", format_args!("1 to {max}"))),
    }
}

/// Every day from `first` to `last`, inclusive, as `YYYY-MM-DD`.
fn days_between(first: Date, last: Date) -> Vec<String> {
    days(first, last).map(format_date).collect()
}

fn bound(name: &str, v: Option<&str>, end: bool) -> Result<OffsetDateTime, Invalid> {
    let v = v.ok_or_else(|| Invalid::new(name, "required (YYYY-MM-DD or RFC 3339)"))?;
    if let Some(d) = parse_date(v) {
        let d = if end {
            d.next_day()
                .ok_or_else(|| Invalid::new(name, "out of range"))?
        } else {
            d
        };
        return Ok(d.with_time(Time::MIDNIGHT).assume_utc());
    }
    OffsetDateTime::parse(v, &Rfc3339)
        .map(|t| t.to_offset(time::UtcOffset::UTC))
        .map_err(|_| Invalid::new(name, "not a date (YYYY-MM-DD) or RFC 3339 time"))
}
