//! Value decoding rules of the Functions host (functions-host-protocol.md §3.2).
//!
//! Top-level `Data.<name>` / `Metadata.<key>` values arrive as JSON objects, as double-encoded JSON
//! strings (`"\"text\""`, numbers as `"1"`), or as base64 (bytes). Which one is decided by the
//! binding type, never by sniffing. Dates lose their `Z` and sub-second digits on the way, so they
//! are parsed leniently.

use base64::Engine as _;
use serde::de::DeserializeOwned;
use serde_json::Value;
use time::format_description::well_known::Rfc3339;
use time::{OffsetDateTime, PrimitiveDateTime};

/// Why a value could not be decoded. Always poison: the same payload will never decode.
#[derive(Debug, thiserror::Error)]
pub enum DecodeError {
    /// The binding or metadata key is absent.
    #[error("`{0}` is missing")]
    Missing(String),
    /// Present, but of the wrong shape.
    #[error("`{name}` is malformed: {detail}")]
    Malformed {
        /// Binding or key name.
        name: String,
        /// What was wrong (no payload content, which may hold personal data).
        detail: String,
    },
}

impl DecodeError {
    pub(crate) fn malformed(name: &str, detail: impl std::fmt::Display) -> Self {
        Self::Malformed {
            name: name.to_owned(),
            detail: detail.to_string(),
        }
    }
}

/// Decodes an object-shaped binding (Event Grid event, `TimerInfo`): an object as is, or a JSON
/// string containing the object (tolerated because no raw capture has settled the shape yet).
pub fn object<T: DeserializeOwned>(name: &str, v: &Value) -> Result<T, DecodeError> {
    match v {
        Value::String(s) => {
            let inner: Value =
                serde_json::from_str(s).map_err(|e| DecodeError::malformed(name, e))?;
            // A double-encoded string holding the JSON text: unwrap once more.
            let inner = match inner {
                Value::String(s2) => {
                    serde_json::from_str(&s2).map_err(|e| DecodeError::malformed(name, e))?
                }
                other => other,
            };
            serde_json::from_value(inner).map_err(|e| DecodeError::malformed(name, e))
        }
        other => T::deserialize(other).map_err(|e| DecodeError::malformed(name, e)),
    }
}

/// Decodes a string binding (queue message text, string metadata): the JSON string is parsed once;
/// if that yields a string it was double-encoded and the inner text is the original. Text that is
/// not JSON at all is returned unchanged (single-encoded strings exist in older hosts).
pub fn text(name: &str, v: &Value) -> Result<String, DecodeError> {
    match v {
        Value::String(s) => match serde_json::from_str::<Value>(s) {
            Ok(Value::String(inner)) => Ok(inner),
            Ok(Value::Number(n)) => Ok(n.to_string()),
            Ok(Value::Bool(b)) => Ok(b.to_string()),
            _ => Ok(s.clone()),
        },
        Value::Number(n) => Ok(n.to_string()),
        Value::Bool(b) => Ok(b.to_string()),
        Value::Null => Err(DecodeError::Missing(name.to_owned())),
        other => Ok(other.to_string()),
    }
}

/// Decodes a numeric metadata value (`DequeueCount: "1"`, or a plain number).
pub fn number(name: &str, v: &Value) -> Result<i64, DecodeError> {
    let s = text(name, v)?;
    s.trim()
        .parse()
        .map_err(|e| DecodeError::malformed(name, e))
}

/// Decodes a bytes binding (blob content, octet-stream bodies): base64 text.
pub fn bytes(name: &str, v: &Value) -> Result<Vec<u8>, DecodeError> {
    let s = v
        .as_str()
        .ok_or_else(|| DecodeError::malformed(name, "expected a base64 string"))?;
    base64::engine::general_purpose::STANDARD
        .decode(s.trim())
        .map_err(|e| DecodeError::malformed(name, e))
}

/// Parses a host or event timestamp: RFC 3339 with any number of fractional digits, or the host's
/// offset-less `DateTime` form (`0001-01-01T00:00:00`, taken as UTC).
pub fn timestamp(s: &str) -> Option<OffsetDateTime> {
    let s = s.trim();
    if let Ok(t) = OffsetDateTime::parse(s, &Rfc3339) {
        return Some(t);
    }
    let fmt = time::macros::format_description!(
        version = 2,
        "[year]-[month]-[day][first [T] [ ]][hour]:[minute]:[second][optional [.[subsecond]]]"
    );
    PrimitiveDateTime::parse(s, &fmt)
        .ok()
        .map(PrimitiveDateTime::assume_utc)
}

/// Formats a timestamp as RFC 3339 UTC with whole seconds (`2025-03-14T09:42:17Z`): sortable as text.
pub fn format_utc(t: OffsetDateTime) -> String {
    let t = t.to_offset(time::UtcOffset::UTC);
    let mut out = String::with_capacity(20);
    if push_date(&mut out, t.date()) {
        for (sep, n) in [('T', t.hour()), (':', t.minute()), (':', t.second())] {
            out.push(sep);
            push_digits(&mut out, n.into(), 2);
        }
        out.push('Z');
        return out;
    }
    let fmt = time::macros::format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]Z");
    t.format(&fmt).unwrap_or_default()
}

/// Appends `YYYY-MM-DD`; returns false, writing nothing, outside years 0–9999.
///
/// Digits are written by hand (every real timestamp is in range): `time`'s format-description
/// engine cost about 1.5k instructions per timestamp and `write!` with padding about 1.2k, with
/// four or five timestamps per catalogued recording.
pub fn push_date(out: &mut String, d: time::Date) -> bool {
    let Some(year) = u32::try_from(d.year()).ok().filter(|y| *y <= 9999) else {
        return false;
    };
    push_digits(out, year, 4);
    out.push('-');
    push_digits(out, u8::from(d.month()).into(), 2);
    out.push('-');
    push_digits(out, d.day().into(), 2);
    true
}

/// Appends the last `width` (≤ 4) decimal digits of `n`, zero-padded.
fn push_digits(out: &mut String, mut n: u32, width: usize) {
    let mut digits = [b'0'; 4];
    for d in digits[..width].iter_mut().rev() {
        *d = b'0' + (n % 10) as u8;
        n /= 10;
    }
    out.extend(digits[..width].iter().map(|&b| char::from(b)));
}

/// Formats a timestamp with milliseconds (`2025-03-14T09:42:17.123Z`), still sortable as text.
pub fn format_utc_millis(t: OffsetDateTime) -> String {
    let t = t.to_offset(time::UtcOffset::UTC);
    let fmt = time::macros::format_description!(
        "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z"
    );
    t.format(&fmt).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn utc_timestamps_have_whole_seconds_and_fixed_width() {
        use time::macros::datetime;
        assert_eq!(
            format_utc(datetime!(2025-03-14 09:42:17.999 UTC)),
            "2025-03-14T09:42:17Z"
        );
        assert_eq!(
            format_utc(datetime!(2025-03-14 01:00:00 +02:00)),
            "2025-03-13T23:00:00Z"
        );
        assert_eq!(
            format_utc(datetime!(0007-01-02 03:04:05 UTC)),
            "0007-01-02T03:04:05Z"
        );
        assert_eq!(
            format_utc(datetime!(9999-12-31 23:59:59 UTC)),
            "9999-12-31T23:59:59Z"
        );
        // Outside 0–9999 the format-description engine writes it, as before.
        let early = datetime!(-0001-06-01 00:00:00 UTC);
        let fmt =
            time::macros::format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]Z");
        assert_eq!(format_utc(early), early.format(&fmt).unwrap_or_default());
    }

    #[test]
    fn hand_written_digits_match_the_format_engine_across_years_0_to_9999() {
        use time::macros::{datetime, format_description};
        let fmt = format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]Z");
        let mut t = Some(datetime!(0000-01-01 00:00:00 UTC));
        // A step of 29 days and 1:01:01 walks every day of the month and every hour, minute
        // and second many times over; 126k timestamps.
        while let Some(now) = t.filter(|t| t.year() <= 9999) {
            assert_eq!(format_utc(now), now.format(&fmt).unwrap_or_default());
            let date = now.date();
            assert_eq!(
                crate::retention::policy::format_date(date),
                now.format(format_description!("[year]-[month]-[day]"))
                    .unwrap_or_default()
            );
            t = now.checked_add(time::Duration::seconds(29 * 86_400 + 3_661));
        }
    }

    #[test]
    fn double_encoded_strings_are_unwrapped() {
        assert_eq!(text("m", &json!("\"aaaaa\"")).expect("text"), "aaaaa");
        assert_eq!(
            text("m", &json!("\"{\\\"a\\\":1}\"")).expect("text"),
            "{\"a\":1}"
        );
        assert_eq!(text("m", &json!("plain text")).expect("text"), "plain text");
        assert_eq!(number("DequeueCount", &json!("1")).expect("n"), 1);
        assert_eq!(number("attempt", &json!("\"2\"")).expect("n"), 2);
        assert_eq!(number("n", &json!(3)).expect("n"), 3);
        assert!(number("n", &json!("x")).is_err());
    }

    #[test]
    fn objects_arrive_as_objects_or_strings() {
        #[derive(serde::Deserialize)]
        struct E {
            a: u8,
        }
        assert_eq!(object::<E>("e", &json!({"a": 1})).expect("obj").a, 1);
        assert_eq!(object::<E>("e", &json!("{\"a\":2}")).expect("str").a, 2);
        assert_eq!(
            object::<E>("e", &json!("\"{\\\"a\\\":3}\""))
                .expect("double")
                .a,
            3
        );
        assert!(object::<E>("e", &json!("not json")).is_err());
        assert!(object::<E>("e", &json!(5)).is_err());
    }

    #[test]
    fn bytes_are_base64() {
        assert_eq!(bytes("b", &json!("aGVsbG8=")).expect("b64"), b"hello");
        assert!(bytes("b", &json!("***")).is_err());
        assert!(bytes("b", &json!(1)).is_err());
    }

    #[test]
    fn dates_parse_with_or_without_fraction_and_offset() {
        for s in [
            "2025-03-14T09:42:18.2345678Z",
            "2025-03-15T02:00:00+00:00",
            "2025-03-15T17:21:09.403838+00:00",
            "0001-01-01T00:00:00",
            "2019-10-01T00:00:00.123",
            "2022-06-20T06:00:06+13:00",
        ] {
            assert!(timestamp(s).is_some(), "{s}");
        }
        assert!(timestamp("yesterday").is_none());
        let t = timestamp("2025-03-14T09:42:17.9Z").expect("t");
        assert_eq!(format_utc(t), "2025-03-14T09:42:17Z");
        assert_eq!(format_utc_millis(t), "2025-03-14T09:42:17.900Z");
    }
}
