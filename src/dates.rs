//! Time as text, in one place: the timestamp forms the host and Event Grid send, and the forms the
//! product writes (RFC 3339 UTC, fixed width, so text order is time order in tables and tags).

use time::format_description::well_known::Rfc3339;
use time::macros::format_description;
use time::{Date, OffsetDateTime, PrimitiveDateTime, UtcOffset};

/// Parses a host or event timestamp: RFC 3339 with any number of fractional digits, or the host's
/// offset-less `DateTime` form (`0001-01-01T00:00:00`, taken as UTC).
pub fn timestamp(s: &str) -> Option<OffsetDateTime> {
    let s = s.trim();
    if let Ok(t) = OffsetDateTime::parse(s, &Rfc3339) {
        return Some(t);
    }
    let fmt = format_description!(
        version = 2,
        "[year]-[month]-[day][first [T] [ ]][hour]:[minute]:[second][optional [.[subsecond]]]"
    );
    PrimitiveDateTime::parse(s, &fmt)
        .ok()
        .map(PrimitiveDateTime::assume_utc)
}

/// RFC 3339 UTC with whole seconds (`2025-03-14T09:42:17Z`).
pub fn format_utc(t: OffsetDateTime) -> String {
    let fmt = format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]Z");
    t.to_offset(UtcOffset::UTC).format(&fmt).unwrap_or_default()
}

/// RFC 3339 UTC with milliseconds (`2025-03-14T09:42:17.123Z`).
pub fn format_utc_millis(t: OffsetDateTime) -> String {
    let fmt =
        format_description!("[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z");
    t.to_offset(UtcOffset::UTC).format(&fmt).unwrap_or_default()
}

/// `YYYY-MM-DD`: partition keys, `retainUntil` tags.
pub fn format_date(d: Date) -> String {
    d.format(format_description!("[year]-[month]-[day]"))
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use time::macros::{date, datetime};

    use super::*;

    #[test]
    fn written_forms_are_fixed_width_utc() {
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
            format_utc_millis(datetime!(2025-03-14 09:42:17.9 UTC)),
            "2025-03-14T09:42:17.900Z"
        );
        assert_eq!(format_date(date!(2025 - 03 - 04)), "2025-03-04");
    }

    #[test]
    fn timestamps_parse_with_or_without_fraction_and_offset() {
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
    }
}
