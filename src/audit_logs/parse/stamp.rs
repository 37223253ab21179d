//! Record timestamps: a fast path for what Azure Monitor writes (`YYYY-MM-DDTHH:MM:SS[.f…]Z`); any
//! other form goes to [`dates::timestamp`], so results never differ (the general parser costs
//! more than the rest of a record).

use time::{Date, Month, OffsetDateTime, PrimitiveDateTime, Time};

use crate::dates;

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
    let month = Month::try_from(u8::try_from(digits(&b[5..7])?).ok()?).ok()?;
    let day = u8::try_from(digits(&b[8..10])?).ok()?;
    let (h, m, s) = (
        digits(&b[11..13])?,
        digits(&b[14..16])?,
        digits(&b[17..19])?,
    );
    if s > 59 {
        return None; // leap second: the general parser decides
    }
    let date = Date::from_calendar_date(year, month, day).ok()?;
    let time = Time::from_hms_nano(
        u8::try_from(h).ok()?,
        u8::try_from(m).ok()?,
        u8::try_from(s).ok()?,
        nanos,
    )
    .ok()?;
    Some(PrimitiveDateTime::new(date, time).assume_utc())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fast_path_agrees_with_the_general_parser() {
        let cases = [
            "2025-03-14T09:03:54.776Z",
            "2025-03-14T09:03:54Z",
            "2025-03-14T09:03:54.1Z",
            "2025-03-14T09:03:54.0000000Z",
            "2025-03-14T09:03:54.123456789Z",
            "2025-03-14T09:03:54.1234567891Z",
            "2025-03-14T09:03:54.Z",
            "2024-02-29T23:59:59.999Z",
            "2025-02-29T00:00:00Z",
            "2025-04-31T00:00:00Z",
            "2025-13-01T00:00:00Z",
            "2025-00-01T00:00:00Z",
            "2025-03-00T00:00:00Z",
            "2025-03-14T24:00:00Z",
            "2025-03-14T23:60:00Z",
            "2016-12-31T23:59:60Z",
            "0000-01-01T00:00:00Z",
            "9999-12-31T23:59:59.999999999Z",
            "2025-03-14t09:03:54Z",
            "2025-03-14T09:03:54z",
            "2025-03-14 09:03:54Z",
            "2025-03-14T09:03:54+01:00",
            "2025-03-14T09:03:54.5-05:30",
            "2025-03-14T09:03:54",
            "2025-03-14T09:03:54.776",
            " 2025-03-14T09:03:54Z ",
            "2025-3-14T09:03:54Z",
            "2025-03-14T09:03:5aZ",
            "+025-03-14T09:03:54Z",
            "2025-03-14T09:03:54.7a6Z",
            "",
            "Z",
            "not a time",
        ];
        for c in cases {
            assert_eq!(timestamp(c), dates::timestamp(c), "{c:?}");
        }
        assert!(
            utc_fixed(b"2025-03-14T09:03:54.776Z").is_some(),
            "fast path used"
        );
        assert!(utc_fixed(b"2025-03-14T09:03:54+01:00").is_none());
    }

    #[test]
    fn fraction_digits_scale_to_nanoseconds() {
        let t = timestamp("2025-03-14T09:03:54.5Z").expect("time");
        assert_eq!(t.nanosecond(), 500_000_000);
        let t = timestamp("2025-03-14T09:03:54.000000007Z").expect("time");
        assert_eq!(t.nanosecond(), 7);
    }
}
