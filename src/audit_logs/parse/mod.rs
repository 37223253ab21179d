//! Tolerant, streaming parsing of `PT1H.json` content (pure): JSON Lines (LF or CRLF, optional
//! BOM), one record a line, into borrowed records of only the fields the product reads. A wrongly typed field degrades to text rather than costing the line; memory is
//! bounded by the slice given, never by the blob.
//!
//! Lenient scalar types for audit records: [`Text`] borrows strings from the input when it can and
//! turns numbers/booleans into text; [`Num`] accepts numbers and numeric strings. Objects or arrays
//! where a scalar is expected are consumed and read as empty, so one odd field never costs the record.
//! Record timestamps ([`timestamp`]): a fast path for what Azure Monitor writes
//! (`YYYY-MM-DDTHH:MM:SS[.f…]Z`); any other form goes to [`dates::timestamp`], so results never
//! differ (the general parser costs more than the rest of a record).

use std::borrow::Cow;

use serde::Deserialize;
use serde::de::{Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use time::{Date, Month, OffsetDateTime, PrimitiveDateTime, Time};

use crate::dates;

/// A string value, borrowed from the input unless it contained escapes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Text<'a>(pub Cow<'a, str>);

impl Text<'_> {
    /// The text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

struct TextVisitor;

impl<'de> Visitor<'de> for TextVisitor {
    type Value = Text<'de>;
    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a string")
    }
    fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Self::Value, E> {
        Ok(Text(Cow::Borrowed(v)))
    }
    fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
        Ok(Text(Cow::Owned(v.to_owned())))
    }
    fn visit_string<E>(self, v: String) -> Result<Self::Value, E> {
        Ok(Text(Cow::Owned(v)))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Self::Value, E> {
        Ok(Text(Cow::Owned(v.to_string())))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Self::Value, E> {
        Ok(Text(Cow::Owned(v.to_string())))
    }
    fn visit_f64<E>(self, v: f64) -> Result<Self::Value, E> {
        Ok(Text(Cow::Owned(v.to_string())))
    }
    fn visit_bool<E>(self, v: bool) -> Result<Self::Value, E> {
        Ok(Text(Cow::Owned(v.to_string())))
    }
    fn visit_map<M: MapAccess<'de>>(self, map: M) -> Result<Self::Value, M::Error> {
        IgnoredAny.visit_map(map).map(|_| Text::default())
    }
    fn visit_seq<S: SeqAccess<'de>>(self, seq: S) -> Result<Self::Value, S::Error> {
        IgnoredAny.visit_seq(seq).map(|_| Text::default())
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for Text<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(TextVisitor)
    }
}

/// An integer given as a number or a numeric string; anything else reads as `None` inside.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Num(pub Option<i64>);

impl Num {
    /// A numeric string (integer or decimal, surrounding spaces ignored); `Num(None)` otherwise.
    pub fn from_text(v: &str) -> Self {
        let t = v.trim();
        Self(
            t.parse::<i64>()
                .ok()
                .or_else(|| t.parse::<f64>().ok().and_then(float_to_int)),
        )
    }
}

struct NumVisitor;

impl<'de> Visitor<'de> for NumVisitor {
    type Value = Num;
    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a number")
    }
    fn visit_i64<E>(self, v: i64) -> Result<Num, E> {
        Ok(Num(Some(v)))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Num, E> {
        Ok(Num(i64::try_from(v).ok()))
    }
    fn visit_f64<E>(self, v: f64) -> Result<Num, E> {
        Ok(Num(float_to_int(v)))
    }
    fn visit_str<E>(self, v: &str) -> Result<Num, E> {
        Ok(Num::from_text(v))
    }
    fn visit_bool<E>(self, _: bool) -> Result<Num, E> {
        Ok(Num(None))
    }
    fn visit_map<M: MapAccess<'de>>(self, map: M) -> Result<Num, M::Error> {
        IgnoredAny.visit_map(map).map(|_| Num(None))
    }
    fn visit_seq<S: SeqAccess<'de>>(self, seq: S) -> Result<Num, S::Error> {
        IgnoredAny.visit_seq(seq).map(|_| Num(None))
    }
}

#[allow(clippy::cast_possible_truncation)]
fn float_to_int(v: f64) -> Option<i64> {
    // `as` saturates; durations and ports are far inside i64.
    v.is_finite().then_some(v as i64)
}

impl<'de> Deserialize<'de> for Num {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(NumVisitor)
    }
}

/// Parses a timestamp like [`dates::timestamp`], faster for the common UTC form.
pub fn timestamp(text: &str) -> Option<OffsetDateTime> {
    utc_fixed(text.as_bytes()).or_else(|| dates::timestamp(text))
}

/// The value of the ASCII digits `b`, or `None` when one is not a digit.
fn digits(b: &[u8]) -> Option<u32> {
    b.iter().try_fold(0u32, |acc, &c| {
        c.is_ascii_digit().then(|| acc * 10 + u32::from(c - b'0'))
    })
}

/// `YYYY-MM-DDTHH:MM:SS[.f{1,9}]Z` only.
fn utc_fixed(b: &[u8]) -> Option<OffsetDateTime> {
    if b.len() < 20 || b.len() > 30 || b.last() != Some(&b'Z') {
        return None;
    }
    let seps = [(4, b'-'), (7, b'-'), (10, b'T'), (13, b':'), (16, b':')];
    if seps.iter().any(|&(i, c)| b[i] != c) {
        return None;
    }
    let nanos = match &b[19..b.len() - 1] {
        [] => 0,
        [b'.', frac @ ..] if !frac.is_empty() => {
            let scale = 10u32.pow(9u32.checked_sub(u32::try_from(frac.len()).ok()?)?);
            digits(frac)? * scale
        }
        _ => return None,
    };
    let year = i32::try_from(digits(&b[0..4])?).ok()?;
    let two = |at: usize| u8::try_from(digits(&b[at..at + 2])?).ok();
    let (month, day, h, m, s) = (two(5)?, two(8)?, two(11)?, two(14)?, two(17)?);
    if s > 59 {
        return None; // leap second: the general parser decides
    }
    let date = Date::from_calendar_date(year, Month::try_from(month).ok()?, day).ok()?;
    let time = Time::from_hms_nano(h, m, s, nanos).ok()?;
    Some(PrimitiveDateTime::new(date, time).assume_utc())
}

/// The UTF-8 byte order mark some writers put at the start of a blob.
pub const BOM: &[u8] = b"\xEF\xBB\xBF";

/// One audit record (top level), with only the fields the product reads.
#[derive(Debug, Default, Deserialize, PartialEq)]
#[serde(default)]
pub struct Record<'a> {
    /// Log timestamp (receive/generation time as written by Azure Monitor).
    #[serde(borrow, alias = "Time")]
    pub time: Option<Text<'a>>,
    /// The Bastion host resource id (upper-case).
    #[serde(borrow, rename = "resourceId", alias = "ResourceId")]
    pub resource_id: Option<Text<'a>>,
    /// Open enum: `Microsoft.Network/BastionHost/connect`, others kept raw.
    #[serde(borrow, rename = "operationName", alias = "OperationName")]
    pub operation_name: Option<Text<'a>>,
    /// `BastionAuditLogs`.
    #[serde(borrow, alias = "Category")]
    pub category: Option<Text<'a>>,
    /// The Bastion-specific part.
    #[serde(borrow, alias = "Properties")]
    pub properties: Properties<'a>,
}

/// `properties` of a Bastion audit record. Session start/end/duration names are unconfirmed in raw
/// storage records: the Log Analytics names are accepted in camelCase and PascalCase.
#[derive(Debug, Default, Deserialize, PartialEq)]
#[serde(default)]
pub struct Properties<'a> {
    /// User name used on the VM (attempted name for failed logins).
    #[serde(borrow, rename = "userName", alias = "UserName")]
    pub user_name: Option<Text<'a>>,
    /// Entra UPN of the portal user; may be absent.
    #[serde(borrow, rename = "userEmail", alias = "UserEmail")]
    pub user_email: Option<Text<'a>>,
    /// Browser's public IP.
    #[serde(borrow, rename = "clientIpAddress", alias = "ClientIpAddress")]
    pub client_ip: Option<Text<'a>>,
    /// Browser's port (number or numeric string).
    #[serde(rename = "clientPort", alias = "ClientPort")]
    pub client_port: Option<Num>,
    /// `ssh` / `rdp` (case varies by source).
    #[serde(borrow, alias = "Protocol")]
    pub protocol: Option<Text<'a>>,
    /// Target VM resource id (upper-case).
    #[serde(borrow, rename = "targetResourceId", alias = "TargetResourceId")]
    pub target_resource_id: Option<Text<'a>>,
    /// Target private IP.
    #[serde(
        borrow,
        rename = "targetVMIPAddress",
        alias = "TargetVMIPAddress",
        alias = "targetVmIpAddress"
    )]
    pub target_ip: Option<Text<'a>>,
    /// `VM`, `VMSS`, ….
    #[serde(borrow, rename = "resourceType", alias = "ResourceType")]
    pub resource_type: Option<Text<'a>>,
    /// Subscription of the target.
    #[serde(borrow, rename = "subscriptionId", alias = "SubscriptionId")]
    pub subscription_id: Option<Text<'a>>,
    /// Open enum: `Successfully Connected.`, `Login Failed`, others kept raw.
    #[serde(borrow, alias = "Message")]
    pub message: Option<Text<'a>>,
    /// Bastion connection GUID: the session key.
    #[serde(borrow, rename = "tunnelId", alias = "TunnelId")]
    pub tunnel_id: Option<Text<'a>>,
    /// Session start (LA `SessionStartTime`).
    #[serde(borrow, rename = "sessionStartTime", alias = "SessionStartTime")]
    pub session_start: Option<Text<'a>>,
    /// Session end (LA `SessionEndTime`, a string, possibly empty).
    #[serde(borrow, rename = "sessionEndTime", alias = "SessionEndTime")]
    pub session_end: Option<Text<'a>>,
    /// Duration in ms (LA `Duration`), number or numeric string.
    #[serde(alias = "Duration", alias = "durationMs", alias = "DurationMs")]
    pub duration: Option<Num>,
}

/// Why one line could not be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("corrupt audit line at byte {offset}: {reason}")]
pub struct LineError {
    /// Absolute offset of the line in the blob.
    pub offset: u64,
    /// serde's message (no record content).
    pub reason: String,
}

/// Position just past the last `\n` in `buf` (0 when none): the end of the complete lines.
pub fn complete_len(buf: &[u8]) -> usize {
    memchr::memrchr(b'\n', buf).map_or(0, |i| i + 1)
}

/// Calls `on_record`/`on_error` for the complete lines of `buf` (starting at a line boundary at
/// blob offset `base`); returns the bytes consumed, up to and including the last `\n`.
pub fn parse_lines<'a>(
    buf: &'a [u8],
    base: u64,
    on_record: &mut dyn FnMut(u64, Record<'a>),
    on_error: &mut dyn FnMut(LineError, &'a [u8]),
) -> usize {
    let end = complete_len(buf);
    let mut start = 0;
    for nl in memchr::memchr_iter(b'\n', &buf[..end]) {
        let offset = base + start as u64;
        let line = trim_line(&buf[start..nl]);
        start = nl + 1;
        if line.is_empty() {
            continue;
        }
        match parse_line(line) {
            Ok(r) => on_record(offset, r),
            Err(reason) => on_error(LineError { offset, reason }, line),
        }
    }
    end
}

/// True when `line` (trimmed) is one complete JSON object: a whole record even without its newline.
pub fn is_complete_object(line: &[u8]) -> bool {
    line.first() == Some(&b'{') && serde_json::from_slice::<IgnoredAny>(line).is_ok()
}

/// Strips a trailing `\r`, a leading BOM and surrounding ASCII whitespace.
pub fn trim_line(line: &[u8]) -> &[u8] {
    let line = line.strip_prefix(BOM).unwrap_or(line);
    line.trim_ascii()
}

/// Parses one complete line: a record.
///
/// # Errors
/// serde's message when the line is not a JSON object of the expected shape.
pub fn parse_line(line: &[u8]) -> Result<Record<'_>, String> {
    if line.first() != Some(&b'{') {
        // serde would accept a JSON array as a struct (by position): only objects are records.
        return Err("not a JSON object".to_owned());
    }
    // One UTF-8 check of the line is cheaper than serde's per string; a line failing it is read as
    // bytes (a stray byte in an unknown field is then skipped).
    let record = match std::str::from_utf8(line) {
        Ok(text) => serde_json::from_str(text),
        Err(_) => serde_json::from_slice(line),
    };
    record.map_err(|e| e.to_string())
}

#[cfg(test)]
mod stamp_tests;
#[cfg(test)]
mod tests;
