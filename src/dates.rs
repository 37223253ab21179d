//! Time as text, in one place: the timestamp forms the host and Event Grid send, and the forms the
//! product writes (RFC 3339 UTC, fixed width, so text order is time order in tables and tags);
//! fixed time windows ([`bucket`]).

use std::num::NonZeroU8;

use time::format_description::BorrowedFormatItem;
use time::format_description::well_known::iso8601::{
    Config, EncodedConfig, FormattedComponents, TimePrecision,
};
use time::format_description::well_known::{Iso8601, Rfc3339};
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

// The written forms go through `time`'s ISO 8601 formatter, configured to the same text as the
// format descriptions (a test holds them equal) and several times faster (an event writes a dozen);
// the descriptions remain for years outside 0000–9999, which that formatter refuses.
const UTC: Config = Config::DEFAULT.set_year_is_six_digits(false);
const SECONDS: EncodedConfig = UTC
    .set_time_precision(TimePrecision::Second {
        decimal_digits: None,
    })
    .encode();
const MILLIS: EncodedConfig = UTC
    .set_time_precision(TimePrecision::Second {
        decimal_digits: NonZeroU8::new(3),
    })
    .encode();
const DATE: EncodedConfig = UTC
    .set_formatted_components(FormattedComponents::Date)
    .encode();

/// The start of the fixed window of length `window` holding `t` (windows aligned on the Unix
/// epoch): the one windowing of the product's bursts (failed logins, custody alerts).
pub fn bucket(t: OffsetDateTime, window: time::Duration) -> OffsetDateTime {
    let w = window.whole_seconds().max(1);
    let s = t.unix_timestamp();
    OffsetDateTime::from_unix_timestamp(s - s.rem_euclid(w)).unwrap_or(t)
}

/// RFC 3339 UTC with whole seconds (`2025-03-14T09:42:17Z`).
pub fn format_utc(t: OffsetDateTime) -> String {
    utc_text::<SECONDS>(
        t,
        format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]Z"),
    )
}

/// A time as a reader is shown it (`2026-11-29 07:02:35Z`: a space for the `T`, whole seconds),
/// when `s` is one [`timestamp`] reads; `None` for any other text.
pub fn readable_utc(s: &str) -> Option<String> {
    timestamp(s).map(|t| format_utc(t).replacen('T', " ", 1))
}

/// RFC 3339 UTC with milliseconds (`2025-03-14T09:42:17.123Z`).
pub fn format_utc_millis(t: OffsetDateTime) -> String {
    utc_text::<MILLIS>(
        t,
        format_description!("[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z"),
    )
}

/// `t` in UTC through the ISO 8601 configuration `C`, else through `fallback`.
fn utc_text<const C: EncodedConfig>(
    t: OffsetDateTime,
    fallback: &[BorrowedFormatItem<'_>],
) -> String {
    let t = t.to_offset(UtcOffset::UTC);
    t.format(&Iso8601::<C>)
        .or_else(|_| t.format(fallback))
        .unwrap_or_default()
}

/// `YYYY-MM-DD`: partition keys, `retainUntil` tags.
pub fn format_date(d: Date) -> String {
    d.format(&Iso8601::<DATE>)
        .or_else(|_| d.format(format_description!("[year]-[month]-[day]")))
        .unwrap_or_default()
}

/// `YYYY-MM-DD` exactly (no sign, no spaces): the form dates are written in.
pub fn parse_date(s: &str) -> Option<Date> {
    let fmt = format_description!("[year]-[month]-[day]");
    Date::parse(s, fmt).ok().filter(|_| s.len() == 10)
}

/// A timestamp as a service may write it beyond RFC 3339: [`timestamp`]'s forms, and the same
/// with date and time fields not padded to two digits (`2019-1-1T12:00:00.0000Z`, the documented
/// example of Bastion's `startTime`), a space for `T`, and `Z`, an offset or nothing (UTC) after
/// it. `None` for anything else: the caller keeps the text and goes on without the time.
pub fn timestamp_lenient(s: &str) -> Option<OffsetDateTime> {
    let s = s.trim();
    if let Some(t) = timestamp(s) {
        return Some(t);
    }
    let (date, rest) = s.split_once(['T', 't', ' '])?;
    let (clock, zone) = match rest.find(['Z', 'z', '+']).or_else(|| rest.rfind('-')) {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, ""),
    };
    let pad = |part: &str, width: usize| -> Option<String> {
        (!part.is_empty() && part.len() <= width && part.bytes().all(|b| b.is_ascii_digit()))
            .then(|| format!("{part:0>width$}"))
    };
    let ymd: Vec<&str> = date.split('-').collect();
    let [y, m, d] = ymd.as_slice() else {
        return None;
    };
    let hms: Vec<&str> = clock.split(':').collect();
    let (h, mi, sec) = match hms.as_slice() {
        [h, mi] => (*h, *mi, "0"),
        [h, mi, sec] => (*h, *mi, *sec),
        _ => return None,
    };
    let (whole, fraction) = sec.split_once('.').unwrap_or((sec, ""));
    if !fraction.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let zone = match zone {
        "" | "z" => "Z",
        z => z,
    };
    let dot = if fraction.is_empty() { "" } else { "." };
    let text = format!(
        "{}-{}-{}T{}:{}:{}{dot}{fraction}{zone}",
        pad(y, 4)?,
        pad(m, 2)?,
        pad(d, 2)?,
        pad(h, 2)?,
        pad(mi, 2)?,
        pad(whole, 2)?
    );
    OffsetDateTime::parse(&text, &Rfc3339).ok()
}

/// Every day from `first` to `last`, both included (none when `last` is before `first`).
pub fn days(first: Date, last: Date) -> impl Iterator<Item = Date> {
    std::iter::successors(Some(first), |d| d.next_day()).take_while(move |d| *d <= last)
}

/// The last UTC day an exclusive end `to` reaches into (its own day unless it is that day's midnight).
pub fn last_day(to: OffsetDateTime) -> Date {
    (to.to_offset(UtcOffset::UTC) - time::Duration::NANOSECOND).date()
}

#[cfg(test)]
mod tests {
    use time::macros::{date, datetime};

    use super::*;

    #[test]
    fn windows_are_aligned() {
        let ten = time::Duration::minutes(10);
        assert_eq!(
            bucket(datetime!(2025-03-14 09:47:59 UTC), ten),
            datetime!(2025-03-14 09:40 UTC)
        );
        assert_eq!(
            bucket(datetime!(2025-03-14 09:40 UTC), ten),
            datetime!(2025-03-14 09:40 UTC)
        );
    }

    /// A time as a reader is shown it: a space for the `T`, whole seconds; other text is not one.
    #[test]
    fn a_readable_time_has_a_space_for_its_t() {
        assert_eq!(
            readable_utc("2026-11-29T07:02:35.123Z").as_deref(),
            Some("2026-11-29 07:02:35Z")
        );
        assert_eq!(
            readable_utc("2026-11-29T07:02:35+01:00").as_deref(),
            Some("2026-11-29 06:02:35Z")
        );
        for other in ["2026-11-29", "bob@contoso.com", "administrator", ""] {
            assert_eq!(readable_utc(other), None, "{other}");
        }
    }

    #[test]
    fn lenient_timestamps_read_unpadded_fields_and_refuse_the_rest() {
        for (text, want) in [
            ("2019-1-1T12:00:00.0000Z", datetime!(2019-01-01 12:00 UTC)),
            (
                "2025-03-14T09:03:54.0000Z",
                datetime!(2025-03-14 09:03:54 UTC),
            ),
            ("2025-3-4 9:3:5Z", datetime!(2025-03-04 09:03:05 UTC)),
            ("2025-3-4T9:03", datetime!(2025-03-04 09:03 UTC)),
            (
                "2025-3-4T09:03:05.5+01:00",
                datetime!(2025-03-04 08:03:05.5 UTC),
            ),
            (
                "2025-3-4T09:03:05-02:00",
                datetime!(2025-03-04 11:03:05 UTC),
            ),
        ] {
            assert_eq!(timestamp_lenient(text), Some(want), "{text}");
        }
        for bad in [
            "",
            "soon",
            "2025-13-1T00:00:00Z",
            "2025-1-1",
            "1/1/2019 12:00",
            "2025-1-1T1:2:3.x",
        ] {
            assert_eq!(timestamp_lenient(bad), None, "{bad}");
        }
    }

    #[test]
    fn days_dates_and_the_last_day_of_an_exclusive_end() {
        assert_eq!(parse_date("2025-03-04"), Some(date!(2025 - 03 - 04)));
        for bad in ["+2025-03-04", "2025-3-4", " 2025-03-04", "2025-02-30", ""] {
            assert_eq!(parse_date(bad), None, "{bad:?}");
        }
        let got: Vec<Date> = days(date!(2024 - 02 - 28), date!(2024 - 03 - 01)).collect();
        assert_eq!(
            got,
            [
                date!(2024 - 02 - 28),
                date!(2024 - 02 - 29),
                date!(2024 - 03 - 01)
            ]
        );
        assert_eq!(
            days(date!(2024 - 03 - 02), date!(2024 - 03 - 01)).count(),
            0
        );
        assert_eq!(days(Date::MAX, Date::MAX).count(), 1);
        assert_eq!(
            last_day(datetime!(2025-04-01 00:00 UTC)),
            date!(2025 - 03 - 31)
        );
        assert_eq!(
            last_day(datetime!(2025-04-01 00:00:01 UTC)),
            date!(2025 - 04 - 01)
        );
    }

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

    /// The ISO 8601 configurations write exactly what the format descriptions write, from year 0
    /// to 9999 and at every sub-second digit; outside that range the descriptions take over.
    #[test]
    fn the_fast_forms_equal_the_format_descriptions() {
        let secs = format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]Z");
        let millis = format_description!(
            "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z"
        );
        let mut t = datetime!(0000-01-01 00:00:00.000000001 UTC);
        let step = time::Duration::new(86_400 * 365 * 7 + 3_607, 123_456_789);
        let mut checked = 0;
        while t.year() <= 9999 {
            for probe in [
                t,
                t.to_offset(time::macros::offset!(+13:45)),
                t.replace_nanosecond(999_999_999).expect("ns"),
            ] {
                let utc = probe.to_offset(UtcOffset::UTC);
                assert_eq!(
                    format_utc(probe),
                    utc.format(secs).expect("secs"),
                    "{probe}"
                );
                assert_eq!(
                    format_utc_millis(probe),
                    utc.format(millis).expect("ms"),
                    "{probe}"
                );
                let date = format_description!("[year]-[month]-[day]");
                assert_eq!(
                    format_date(probe.date()),
                    probe.date().format(date).expect("date")
                );
                checked += 1;
            }
            match t.checked_add(step) {
                Some(next) => t = next,
                None => break,
            }
        }
        assert!(checked > 1000, "{checked}");
        let early = datetime!(-0001-12-31 23:59:59.5 UTC);
        assert_eq!(format_utc(early), "-0001-12-31T23:59:59Z");
        assert_eq!(format_utc_millis(early), "-0001-12-31T23:59:59.500Z");
        assert_eq!(format_date(early.date()), "-0001-12-31");
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
