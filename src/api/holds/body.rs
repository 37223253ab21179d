//! The request body of `POST`/`DELETE /api/holds` (and the CLI's `hold set|release`): parsing and
//! validation, pure. Exactly one target — `recording` (catalogue id), `blobUrl`, or `bulk`
//! (day range of session starts plus optional user / VM / session) — and a non-empty, bounded `reason`.
//! Unknown fields are rejected so a misspelt target never turns into another one.

use serde::Deserialize;
use sha2::{Digest, Sha256};

use crate::catalogue::recording::RecordingKey;
use crate::dates::parse_date;
use crate::retention::hold::bulk::Selector;
use crate::retention::hold::{Target, is_valid_id};

/// Largest accepted body.
pub const MAX_BODY: usize = 64 * 1024;
/// Longest reason, in characters.
pub const MAX_REASON: usize = 1024;
/// Widest bulk range, in days (inclusive).
pub const MAX_BULK_DAYS: i64 = 366;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct Raw {
    reason: Option<String>,
    hold_id: Option<String>,
    recording: Option<String>,
    blob_url: Option<String>,
    bulk: Option<RawBulk>,
    request: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawBulk {
    from: String,
    to: String,
    user: Option<String>,
    vm: Option<String>,
    session: Option<String>,
}

/// What a hold request addresses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HoldTarget {
    /// One recording (by id or blob URL).
    One(Target),
    /// Every recording a selector matches.
    Bulk(Selector),
}

/// A validated hold request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HoldRequest {
    /// Caller-chosen hold id (e.g. a case number); `None` = derived from the target.
    pub hold_id: Option<String>,
    /// Why (trimmed).
    pub reason: String,
    /// What.
    pub target: HoldTarget,
    /// A release only: the two-person release request it approves (its `requestId`).
    pub request: Option<String>,
}

impl HoldRequest {
    /// The caller's hold id, else the one derived from the target (`key`: the resolved recording).
    pub fn id(&self, key: Option<&RecordingKey>) -> String {
        self.hold_id
            .clone()
            .unwrap_or_else(|| derived_id(&self.target, key))
    }
}

/// Parses and validates a body.
///
/// # Errors
/// A message for the caller (names the field; never echoes more than the field name and limits).
pub fn parse(bytes: &[u8]) -> Result<HoldRequest, String> {
    if bytes.len() > MAX_BODY {
        return Err(format!("body larger than {MAX_BODY} bytes"));
    }
    let raw: Raw = serde_json::from_slice(bytes).map_err(|e| {
        // serde's message names the field or position, never internal state.
        format!("body is not a valid hold request: {e}")
    })?;
    let reason = raw.reason.as_deref().map(str::trim).unwrap_or_default();
    if reason.is_empty() {
        return Err("reason: required".into());
    }
    if reason.chars().count() > MAX_REASON {
        return Err(format!("reason: at most {MAX_REASON} characters"));
    }
    if let Some(id) = &raw.hold_id {
        valid_hold_id(id)?;
    }
    let target = match (raw.recording, raw.blob_url, raw.bulk) {
        (Some(r), None, None) => HoldTarget::One(Target::Key(
            RecordingKey::parse(r.trim()).ok_or("recording: not a recording id")?,
        )),
        (None, Some(u), None) => HoldTarget::One(Target::Url(valid_url(u.trim())?)),
        (None, None, Some(b)) => HoldTarget::Bulk(selector(b)?),
        (None, None, None) => return Err("one of recording, blobUrl or bulk is required".into()),
        _ => return Err("only one of recording, blobUrl or bulk may be given".into()),
    };
    let request = match raw.request.map(|r| r.trim().to_owned()) {
        Some(r) if r.is_empty() || r.len() > 64 => {
            return Err("request: a release request id (1-64 characters)".into());
        }
        other => other,
    };
    Ok(HoldRequest {
        hold_id: raw.hold_id,
        reason: reason.to_owned(),
        target,
        request,
    })
}

/// A hold id by [`is_valid_id`]'s rule (1–64 of `A-Z a-z 0-9 - _ .`).
///
/// # Errors
/// A message naming the rule.
pub fn valid_hold_id(id: &str) -> Result<(), String> {
    is_valid_id(id)
        .then_some(())
        .ok_or_else(|| "holdId: 1-64 of A-Z a-z 0-9 - _ .".into())
}

fn valid_url(u: &str) -> Result<String, String> {
    let parsed = url::Url::parse(u).map_err(|_| "blobUrl: not a URL".to_owned())?;
    let segments = parsed.path().trim_matches('/').split('/').count();
    if !matches!(parsed.scheme(), "https" | "http") || parsed.host_str().is_none() || segments < 2 {
        return Err("blobUrl: must be http(s)://host/container/blob".into());
    }
    Ok(u.to_owned())
}

fn day(field: &str, v: &str) -> Result<time::Date, String> {
    parse_date(v.trim()).ok_or_else(|| format!("bulk.{field}: YYYY-MM-DD"))
}

fn selector(b: RawBulk) -> Result<Selector, String> {
    let (from, to) = (day("from", &b.from)?, day("to", &b.to)?);
    if to < from {
        return Err("bulk.to: must not be before bulk.from".into());
    }
    if (to - from).whole_days() >= MAX_BULK_DAYS {
        return Err(format!("bulk: at most {MAX_BULK_DAYS} days"));
    }
    let opt = |name: &str, v: Option<String>| -> Result<Option<String>, String> {
        match v.map(|s| s.trim().to_owned()) {
            Some(s) if s.is_empty() => Err(format!("bulk.{name}: empty")),
            Some(s) if s.len() > 512 => Err(format!("bulk.{name}: too long")),
            other => Ok(other),
        }
    };
    Ok(Selector {
        from_day: b.from.trim().to_owned(),
        to_day: b.to.trim().to_owned(),
        user: opt("user", b.user)?,
        // Stored lower-case by the pipeline; the bulk query is exact-match.
        vm: opt("vm", b.vm)?.map(|v| v.to_lowercase()),
        session: opt("session", b.session)?.map(|v| v.to_lowercase()),
    })
}

/// The hold id a request without `holdId` gets: stable per target, so repeating a request (or
/// releasing with the same target) addresses the same hold.
pub fn derived_id(target: &HoldTarget, key: Option<&RecordingKey>) -> String {
    let (prefix, text) = match (target, key) {
        (HoldTarget::One(_), Some(k)) => ("rec", k.id()),
        (HoldTarget::One(Target::Key(k)), None) => ("rec", k.id()),
        (HoldTarget::One(Target::Url(u)), None) => ("url", u.clone()),
        (HoldTarget::Bulk(s), _) => ("bulk", serde_json::to_string(s).unwrap_or_default()),
    };
    format!(
        "{prefix}-{}",
        hex::encode(&Sha256::digest(text.as_bytes())[..8])
    )
}
