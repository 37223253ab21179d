//! The links of a notification: the timeline page (`<base>/ui?…`, the signed-in page, not a JSON
//! endpoint), for a burst of folded recording changes the catalogue API's list of the account's
//! recordings (`<base>/api/recordings?…`), and the host's portal blade, built from validated,
//! query-encoded parts.

use serde_json::{Map, Value};
use time::{Duration, OffsetDateTime, format_description::well_known::Rfc3339};

use crate::arm::portal_recordings_link;

/// A link rendered as a button / `Action.OpenUrl`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Link {
    /// Button text.
    pub title: &'static str,
    /// Absolute https URL.
    pub url: String,
    /// Key of the link in the webhook body's `links`.
    pub key: &'static str,
}

/// Options that shape content.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ContentOptions {
    /// Add [`PII_FIELDS`](super::content::PII_FIELDS).
    pub include_pii: bool,
    /// Base URL of the catalogue API (`CATALOGUE_BASE_URL`).
    pub catalogue_base_url: Option<String>,
}

/// How far around a point in time (a catalogued recording, a check) the page link searches.
const AROUND: Duration = Duration::hours(1);
/// How far before a burst the list of its account's recordings reaches (within the API's default
/// widest range, 31 days): a recording is listed by its session's day.
const BURST_BACK: Duration = Duration::days(29);

/// The links for a notification of `kind` at `time` with `data`.
pub(super) fn of(
    kind: &str,
    time: &str,
    data: &Map<String, Value>,
    opts: &ContentOptions,
) -> Vec<Link> {
    let mut out = Vec::new();
    let encoded = |q: Vec<(&str, String)>| {
        let mut query = url::form_urlencoded::Serializer::new(String::new());
        query.extend_pairs(q).finish()
    };
    let link = |title, key, url| Link { title, url, key };
    if let Some(base) = &opts.catalogue_base_url {
        if let Some(query) = page_query(kind, time, data, opts.include_pii) {
            let url = format!("{base}/ui?{}", encoded(query));
            out.push(link("Open timeline", "timeline", url));
        }
        if let Some(query) = burst_query(kind, data) {
            let url = format!("{base}/api/recordings?{}", encoded(query));
            out.push(link("Recordings changed", "recordings", url));
        }
    }
    if let Some(url) = data
        .get("bastionResourceId")
        .and_then(Value::as_str)
        .and_then(portal_recordings_link)
    {
        out.push(link("Session recordings", "sessionRecordings", url));
    }
    out
}

/// The page's parameters for the notification's subject; `None` without a usable time range.
fn page_query(
    kind: &str,
    time: &str,
    data: &Map<String, Value>,
    include_pii: bool,
) -> Option<Vec<(&'static str, String)>> {
    let at = |key: &str| data.get(key).and_then(Value::as_str).and_then(parse);
    let (from, to) = match (
        at("windowStart"),
        at("sessionStart"),
        at("noRecordingSince"),
    ) {
        (Some(start), ..) => (start, at("windowEnd").unwrap_or(start + AROUND)),
        (None, Some(start), _) => (start, at("sessionEnd").unwrap_or(start + AROUND)),
        (None, None, Some(since)) => (since, parse(time).unwrap_or(since + AROUND)),
        (None, None, None) => {
            let t = parse(time)?;
            (t - AROUND, t + AROUND)
        }
    };
    let mut q = vec![
        ("from", format(from)?),
        ("to", format(to.max(from + Duration::minutes(1)))?),
    ];
    let text = |key: &str| {
        data.get(key)
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
    };
    let optional = [
        ("bastion", text("bastionHost")),
        ("vm", text("vm").or_else(|| text("targetVm"))),
        ("user", text("userName").or_else(|| text("user"))),
        // The client IP is personal data: it enters a URL only where the card may show it.
        ("ip", text("clientIp").filter(|_| include_pii)),
    ];
    q.extend(
        optional
            .into_iter()
            .filter_map(|(k, v)| Some((k, v?.to_owned()))),
    );
    match kind {
        "session.unrecorded" => q.push(("session", "unrecorded".to_owned())),
        "login.failed.burst" => q.push(("session", "failed-login".to_owned())),
        "retention.deleted" => q.push(("status", "deleted".to_owned())),
        _ => {}
    }
    Some(q)
}

/// The catalogue API's parameters listing the recordings of a burst's account (deleted ones for a
/// deletion burst) up to its window; `None` but for a folded `recording.deleted`/`.replaced`.
fn burst_query(kind: &str, data: &Map<String, Value>) -> Option<Vec<(&'static str, String)>> {
    let folded = data.get("folded").and_then(Value::as_bool) == Some(true);
    let deleted = kind == "recording.deleted";
    if !folded || !(deleted || kind == "recording.replaced") {
        return None;
    }
    let at = |key: &str| data.get(key).and_then(Value::as_str).and_then(parse);
    let (start, end) = (at("windowStart")?, at("windowEnd")?);
    let day = |t: OffsetDateTime| crate::dates::format_date(t.date());
    let account = data.get("account").and_then(Value::as_str)?;
    let mut q = vec![
        ("from", day(start - BURST_BACK)),
        ("to", day(end)),
        ("account", account.to_owned()),
    ];
    if deleted {
        let status = crate::catalogue::recording::STATUS_DELETED_OUTSIDE;
        q.push(("status", status.to_owned()));
    }
    Some(q)
}

fn parse(s: &str) -> Option<OffsetDateTime> {
    OffsetDateTime::parse(s, &Rfc3339).ok()
}

fn format(t: OffsetDateTime) -> Option<String> {
    t.format(&Rfc3339).ok()
}
